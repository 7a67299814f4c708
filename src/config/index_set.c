/* index_set.c: open addressing with linear probing, kept at most half full. */
#include <errno.h>
#include <stdlib.h>

#include "index_set.h"

struct index_slot {
	uint64_t hash;
	size_t index_1; /* index + 1; 0: empty */
};

uint64_t index_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 14695981039346656037u;

	while (len--)
		h = (h ^ *p++) * 1099511628211u;
	return h;
}

size_t index_set_find(const struct index_set *s, uint64_t hash,
		      bool (*is)(size_t index, const void *ctx), const void *ctx)
{
	size_t i;

	if (s->cap == 0)
		return SIZE_MAX;
	for (i = hash & (s->cap - 1); s->slots[i].index_1; i = (i + 1) & (s->cap - 1)) {
		if (s->slots[i].hash == hash && is(s->slots[i].index_1 - 1, ctx))
			return s->slots[i].index_1 - 1;
	}
	return SIZE_MAX;
}

static void put(struct index_slot *slots, size_t cap, uint64_t hash, size_t index_1)
{
	size_t i = hash & (cap - 1);

	while (slots[i].index_1)
		i = (i + 1) & (cap - 1);
	slots[i] = (struct index_slot){hash, index_1};
}

int index_set_add(struct index_set *s, uint64_t hash, size_t index)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16, i;
		struct index_slot *slots;

		if (cap > SIZE_MAX / 2 / sizeof(*slots))
			return -ENOMEM;
		slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		for (i = 0; i < s->cap; i++) {
			if (s->slots[i].index_1)
				put(slots, cap, s->slots[i].hash, s->slots[i].index_1);
		}
		free(s->slots);
		s->slots = slots;
		s->cap = cap;
	}
	put(s->slots, s->cap, hash, index + 1);
	s->n++;
	return 0;
}

void index_set_free(struct index_set *s)
{
	free(s->slots);
	*s = (struct index_set){0};
}
