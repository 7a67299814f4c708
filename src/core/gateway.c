/* gateway.c: gateway claims and the destinations routed through each
 * gateway. The users of one gateway are an open-addressing pointer set
 * (linear probing, backward-shift deletion): about 12 bytes per route, O(1)
 * per change, no position to keep in the destination. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "vec.h"
#include "prefix_trie.h"

struct ptrset {
	size_t n, cap; /* cap: 0 or a power of two */
	void **slot;
};

struct claimants {
	size_t n, cap;
	uint32_t *peer;
};

struct gw {
	struct prefix addr;
	struct claimants claim[GW_STRENGTHS];
	struct ptrset users;
};

struct gw_table {
	struct ptrie *by_addr;
	size_t ambiguous;
	size_t bytes; /* records and their arrays */
};

static size_t ptr_hash(const void *p, size_t mask)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 29;
	return (size_t)x & mask;
}

static int ptrset_grow(struct ptrset *s, size_t *bytes)
{
	size_t cap = s->cap ? s->cap * 2 : 4;
	void **slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->slot[i])
			continue;
		for (j = ptr_hash(s->slot[i], cap - 1); slot[j]; j = (j + 1) & (cap - 1))
			;
		slot[j] = s->slot[i];
	}
	*bytes += (cap - s->cap) * sizeof(*slot);
	free(s->slot);
	s->slot = slot;
	s->cap = cap;
	return 0;
}

static int ptrset_add(struct ptrset *s, void *p, size_t *bytes)
{
	size_t j;

	if ((s->n + 1) * 4 > s->cap * 3 && ptrset_grow(s, bytes) < 0)
		return -ENOMEM;
	for (j = ptr_hash(p, s->cap - 1); s->slot[j]; j = (j + 1) & (s->cap - 1))
		if (s->slot[j] == p)
			return 0;
	s->slot[j] = p;
	s->n++;
	return 0;
}

static void ptrset_del(struct ptrset *s, void *p)
{
	size_t mask = s->cap - 1, i, j;

	if (!s->cap)
		return;
	for (i = ptr_hash(p, mask); s->slot[i] != p; i = (i + 1) & mask)
		if (!s->slot[i])
			return;
	/* Backward shift: move later members of the probe run into the hole
	 * when their home slot does not lie between the hole and them. */
	for (j = (i + 1) & mask; s->slot[j]; j = (j + 1) & mask) {
		size_t home = ptr_hash(s->slot[j], mask);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			s->slot[i] = s->slot[j];
			i = j;
		}
	}
	s->slot[i] = NULL;
	s->n--;
}

struct gw_table *gw_table_new(void)
{
	struct gw_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->by_addr = ptrie_new();
	if (!t->by_addr) {
		free(t);
		return NULL;
	}
	return t;
}

static void gw_destroy(void *v)
{
	struct gw *g = v;

	for (int s = 0; s < GW_STRENGTHS; s++)
		free(g->claim[s].peer);
	free(g->users.slot);
	free(g);
}

void gw_table_free(struct gw_table *t)
{
	if (!t)
		return;
	ptrie_free(t->by_addr, gw_destroy);
	free(t);
}

const struct prefix *gw_addr(const struct gw *g)
{
	return &g->addr;
}

static struct gw *gw_get_or_new(struct gw_table *t, const struct prefix *addr)
{
	struct gw *g = ptrie_get(t->by_addr, addr);

	if (g)
		return g;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->addr = *addr;
	prefix_normalise(&g->addr);
	if (ptrie_set(t->by_addr, addr, g) < 0) {
		free(g);
		return NULL;
	}
	t->bytes += sizeof(*g);
	return g;
}

/* Drops a record nobody claims or uses. */
static void gw_maybe_free(struct gw_table *t, struct gw *g)
{
	if (g->users.n || g->claim[GW_EXPLICIT].n || g->claim[GW_DERIVED].n)
		return;
	ptrie_del(t->by_addr, &g->addr);
	t->bytes -= sizeof(*g) + g->users.cap * sizeof(void *);
	for (int s = 0; s < GW_STRENGTHS; s++)
		t->bytes -= g->claim[s].cap * sizeof(uint32_t);
	gw_destroy(g);
}

uint32_t gw_owner(const struct gw *g)
{
	for (int s = 0; s < GW_STRENGTHS; s++) {
		if (g->claim[s].n == 1)
			return g->claim[s].peer[0];
		if (g->claim[s].n > 1)
			return GW_PEER_AMBIGUOUS;
	}
	return GW_PEER_NONE;
}

static bool gw_is_ambiguous(const struct gw *g)
{
	return gw_owner(g) == GW_PEER_AMBIGUOUS;
}

/* Keeps the ambiguity count; 1 when g has just become ambiguous. */
static int note_ambiguity(struct gw_table *t, bool before, bool after)
{
	if (before == after)
		return 0;
	if (after) {
		t->ambiguous++;
		return 1;
	}
	t->ambiguous--;
	return 0;
}

int gw_claim(struct gw_table *t, const struct prefix *addr, enum gw_strength s,
	     uint32_t peer)
{
	struct gw *g = gw_get_or_new(t, addr);
	struct claimants *c;
	bool before;

	if (!g)
		return -ENOMEM;
	before = gw_is_ambiguous(g);
	c = &g->claim[s];
	for (uint32_t i = 0; i < c->n; i++)
		if (c->peer[i] == peer)
			return 0;
	size_t had = c->cap;

	if (vec_push(c->peer, c->n, c->cap, peer)) {
		gw_maybe_free(t, g);
		return -ENOMEM;
	}
	t->bytes += (c->cap - had) * sizeof(*c->peer);
	return note_ambiguity(t, before, gw_is_ambiguous(g));
}

int gw_unclaim(struct gw_table *t, const struct prefix *addr, enum gw_strength s,
	       uint32_t peer)
{
	struct gw *g = ptrie_get(t->by_addr, addr);
	struct claimants *c;
	bool before;

	if (!g)
		return 0;
	before = gw_is_ambiguous(g);
	c = &g->claim[s];
	for (uint32_t i = 0; i < c->n; i++) {
		if (c->peer[i] != peer)
			continue;
		/* Keep claim order: the survivor of an ambiguity is well defined. */
		memmove(&c->peer[i], &c->peer[i + 1], (c->n - i - 1) * sizeof(*c->peer));
		c->n--;
		break;
	}
	note_ambiguity(t, before, gw_is_ambiguous(g));
	gw_maybe_free(t, g);
	return 0;
}

size_t gw_ambiguous_count(const struct gw_table *t)
{
	return t->ambiguous;
}

struct gw *gw_use(struct gw_table *t, const struct prefix *addr, void *user)
{
	struct gw *g = gw_get_or_new(t, addr);

	if (!g)
		return NULL;
	if (ptrset_add(&g->users, user, &t->bytes) < 0) {
		gw_maybe_free(t, g);
		return NULL;
	}
	return g;
}

void gw_unuse(struct gw_table *t, struct gw *g, void *user)
{
	ptrset_del(&g->users, user);
	gw_maybe_free(t, g);
}

struct users_walk {
	gw_user_fn fn;
	void *ctx;
};

static int visit_users(const struct prefix *key, void *value, void *ctx)
{
	struct gw *g = value;
	struct users_walk *w = ctx;

	(void)key;
	for (size_t i = 0; i < g->users.cap; i++)
		if (g->users.slot[i])
			w->fn(g->users.slot[i], w->ctx);
	return 0;
}

void gw_users_within(const struct gw_table *t, const struct prefix *outer, gw_user_fn fn,
		     void *ctx)
{
	struct users_walk w = {fn, ctx};

	ptrie_walk_within(t->by_addr, outer, visit_users, &w);
}

size_t gw_table_memory(const struct gw_table *t)
{
	return t->bytes + ptrie_memory(t->by_addr) + sizeof(*t);
}
