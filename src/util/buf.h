/* buf.h: a growable byte buffer, kept NUL-terminated after each append;
 * in malloc's heap, or (buf_init_mapped) in a mapping of its own. */
#ifndef WGRS_BUF_H
#define WGRS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;
	bool mapped; /* data is a mapping of its own: buf_init_mapped() */
};
/* An empty buffer whose storage is a private mapping (mmap, grown by
 * mremap, given back by munmap) rather than malloc's: for a large buffer
 * filled over and over, such as a device's whole reply. Freeing a large
 * malloc'd block raises glibc's dynamic mmap threshold, which moves later
 * allocations into the heap and makes it grow and trim; this one never
 * touches malloc. */
void buf_init_mapped(struct buf *b);
/* Empties b. A mapped buffer keeps its mapping (its high-water mark) for
 * the next use, but the kernel may take its pages back when memory is
 * short (MADV_FREE); malloc'd storage is kept as it is. */
void buf_release(struct buf *b);
/* Room for more bytes (and the NUL) after len. 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t more);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s); /* without its NUL */
/* Appends what fd holds up to its end (EINTR retried): 0, -EFBIG when len
 * would pass max, -ENOMEM or -errno. expect: the size to make room for at
 * once (fstat's, which may have changed since), or 0. */
int buf_read_fd(struct buf *b, int fd, size_t expect, size_t max);
/* Gives the storage back; b stays of its kind (mapped or not), empty. */
void buf_free(struct buf *b);

#endif
