/* peers.c: the peer table of peers.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "peers.h"
#include "vec.h"

/* Real keys are uniform, but test keys need not be: mix every byte. */
static uint32_t key_hash(const struct wg_key *k)
{
	uint64_t h = 0, w;

	for (size_t i = 0; i < WG_KEY_LEN; i += sizeof(w)) {
		memcpy(&w, k->b + i, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ (h >> 32));
}

void peers_init(struct peer_table *t)
{
	memset(t, 0, sizeof(*t));
	t->next_id = 1;
}

static void peer_destroy(struct peer *p)
{
	free(p->derived);
	ptrie_free(p->cands, NULL);
	free(p);
}

void peers_free(struct peer_table *t)
{
	for (uint32_t i = 1; i < t->next_id; i++)
		if (t->by_id[i])
			peer_destroy(t->by_id[i]);
	free(t->by_id);
	free(t->free_ids);
	free(t->slots);
	peers_init(t);
}

static uint32_t *slot_of(const struct peer_table *t, const struct wg_key *key)
{
	uint32_t mask = t->n_slots - 1;

	for (uint32_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
		uint32_t id = t->slots[i];

		if (!id || !wg_key_cmp(&t->by_id[id]->key, key))
			return &t->slots[i];
	}
}

struct peer *peers_find(const struct peer_table *t, const struct wg_key *key)
{
	uint32_t *s;

	if (!t->n_slots)
		return NULL;
	s = slot_of(t, key);
	return *s ? t->by_id[*s] : NULL;
}

static int grow_slots(struct peer_table *t)
{
	uint32_t n = t->n_slots ? t->n_slots * 2 : 16, *old = t->slots,
		 old_n = t->n_slots;

	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	t->n_slots = n;
	for (uint32_t i = 0; i < old_n; i++)
		if (old[i])
			*slot_of(t, &t->by_id[old[i]]->key) = old[i];
	free(old);
	return 0;
}

static uint32_t take_id(struct peer_table *t)
{
	if (t->n_free)
		return t->free_ids[--t->n_free];
	if (t->next_id == t->cap_ids || !t->by_id) {
		size_t had = t->cap_ids;

		if (vec_reserve(t->by_id, t->cap_ids, t->next_id + 1u))
			return 0;
		memset(t->by_id + had, 0, (t->cap_ids - had) * sizeof(*t->by_id));
	}
	return t->next_id++;
}

static int give_id(struct peer_table *t, uint32_t id)
{
	return vec_push(t->free_ids, t->n_free, t->cap_free, id);
}

struct peer *peers_add(struct peer_table *t, const struct wg_key *key)
{
	struct peer *p;

	if ((t->count + 1) * 2 > t->n_slots && grow_slots(t) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->key = *key;
	p->id = take_id(t);
	if (!p->id) {
		free(p);
		return NULL;
	}
	t->by_id[p->id] = p;
	*slot_of(t, key) = p->id;
	t->count++;
	return p;
}

void peers_del(struct peer_table *t, struct peer *p)
{
	uint32_t mask = t->n_slots - 1, i, j;

	i = (uint32_t)(slot_of(t, &p->key) - t->slots);
	/* Backward-shift deletion keeps every probe run unbroken. */
	for (j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
		uint32_t home = key_hash(&t->by_id[t->slots[j]]->key) & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = 0;
	t->by_id[p->id] = NULL;
	/* An id that cannot be recycled is simply never reused. */
	give_id(t, p->id);
	t->count--;
	peer_destroy(p);
}

size_t peers_memory(const struct peer_table *t)
{
	size_t bytes = t->cap_ids * sizeof(*t->by_id) + t->cap_free * sizeof(uint32_t) +
		       t->n_slots * sizeof(uint32_t);

	for (uint32_t i = 1; i < t->next_id; i++) {
		const struct peer *p = t->by_id[i];

		if (!p)
			continue;
		bytes += sizeof(*p) + p->n_derived * sizeof(struct prefix);
		if (p->cands)
			bytes += ptrie_memory(p->cands);
	}
	return bytes;
}
