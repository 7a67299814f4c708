/* buf.c: the growable byte buffer of buf.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"

/* The smallest buffer (a page, for a mapped one). */
#define FIRST_CAP 4096

void buf_init_mapped(struct buf *b)
{
	*b = (struct buf){.mapped = true};
}

/* A mapping of cap bytes (a multiple of the page size) holding what b
 * held: mremap moves its pages rather than copying them. */
static char *remap(struct buf *b, size_t cap)
{
	void *p = b->data ? mremap(b->data, b->cap, cap, MREMAP_MAYMOVE)
			  : mmap(NULL, cap, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->cap - b->len > more)
		return 0;
	cap = b->cap ? b->cap : FIRST_CAP;
	while (cap - b->len <= more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = b->mapped ? remap(b, cap) : realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len))
		return -ENOMEM;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_read_fd(struct buf *b, int fd, size_t expect, size_t max)
{
	size_t start = b->len;
	ssize_t n;

	for (;;) {
		size_t want =
			b->len - start < expect ? expect - (b->len - start) : 1 << 16;

		if (buf_reserve(b, want))
			return -ENOMEM;
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len - start > max)
			return -EFBIG;
	}
	b->data[b->len] = '\0';
	return 0;
}

void buf_release(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
	if (b->mapped) {
		/* Past the first page, which holds the NUL. MADV_FREE came
		 * with Linux 4.5; before it, the pages are given back at once. */
		size_t page = (size_t)sysconf(_SC_PAGESIZE);

		if (b->cap > page && madvise(b->data + page, b->cap - page, MADV_FREE))
			madvise(b->data + page, b->cap - page, MADV_DONTNEED);
	}
}

void buf_free(struct buf *b)
{
	if (b->mapped && b->data)
		munmap(b->data, b->cap);
	else if (!b->mapped)
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
