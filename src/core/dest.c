/* dest.c: the slab pool of destination records (see dest.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "vec.h"

#define SLAB_RECORDS 1024

_Static_assert(sizeof(struct dest) <= 48, "keep the destination record small");

struct dest *dest_alloc(struct dest_pool *p)
{
	struct dest *d;

	if (p->free_list) {
		void *next;

		/* A free record holds the next free one in its first bytes. */
		d = p->free_list;
		memcpy(&next, d, sizeof(next));
		p->free_list = next;
	} else {
		if (p->n_slabs == 0 || p->used_in_last == SLAB_RECORDS) {
			char *slab;

			if (vec_reserve(p->slabs, p->cap_slabs, p->n_slabs + 1))
				return NULL;
			slab = malloc(SLAB_RECORDS * sizeof(struct dest));
			if (!slab)
				return NULL;
			p->slabs[p->n_slabs++] = slab;
			p->used_in_last = 0;
		}
		d = (struct dest *)(p->slabs[p->n_slabs - 1] +
				    p->used_in_last++ * sizeof(struct dest));
	}
	memset(d, 0, sizeof(*d));
	p->live++;
	return d;
}

void dest_release(struct dest_pool *p, struct dest *d)
{
	void *next = p->free_list;

	memcpy(d, &next, sizeof(next));
	p->free_list = d;
	p->live--;
}

void dest_pool_free(struct dest_pool *p)
{
	for (size_t i = 0; i < p->n_slabs; i++)
		free(p->slabs[i]);
	free(p->slabs);
	memset(p, 0, sizeof(*p));
}

size_t dest_pool_memory(const struct dest_pool *p)
{
	return p->n_slabs * SLAB_RECORDS * sizeof(struct dest) +
	       p->cap_slabs * sizeof(char *);
}
