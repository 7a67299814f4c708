/* buf.h: a growable byte buffer, kept NUL-terminated after each append. */
#ifndef WGRS_BUF_H
#define WGRS_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;
};
/* Room for more bytes (and the NUL) after len. 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t more);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s); /* without its NUL */
/* Appends what fd holds up to its end (EINTR retried): 0, -EFBIG when len
 * would pass max, -ENOMEM or -errno. expect: the size to make room for at
 * once (fstat's, which may have changed since), or 0. */
int buf_read_fd(struct buf *b, int fd, size_t expect, size_t max);
void buf_free(struct buf *b);

#endif
