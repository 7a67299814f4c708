/* prefix_trie.c: path-compressed binary trie over prefixes, one root per
 * family.
 *
 * Every node holds a prefix (its key, stored once); a node's children lie
 * within it and branch on the bit right after its length. A node without a
 * value exists only to branch, so it always has two children: a trie of n
 * prefixes has fewer than 2n nodes.
 *
 * Memory: a million prefixes must fit in about 64 bytes each, internal nodes
 * included. So nodes are 28 bytes (16 address bytes, two 32-bit child
 * indices, and the length packed with a 24-bit value slot) and live in a pool
 * of fixed-size chunks, with a free list; values (8 bytes) live in a second
 * such pool and only valued nodes pay for one. Chunks keep the slack of
 * growth to one chunk and never move nodes once the pool is big. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prefix_trie.h"
#include "vec.h"

#define CHUNK_SHIFT 12
#define CHUNK_SIZE  (1u << CHUNK_SHIFT)	      /* elements per chunk */
#define FIRST_CHUNK 16u			      /* small tries start small */
#define SLOT_MAX    ((1u << 24) - 1)	      /* value slots fit in 24 bits */
#define NODE_MAX    (UINT32_MAX - CHUNK_SIZE) /* indices stay 32-bit */
#define NIL	    0u /* index 0 of each pool is never handed out */

/* A growable array of fixed-size elements addressed by 32-bit indices. */
struct pool {
	char **chunks;
	size_t nchunks, dir_cap;
	uint32_t first_cap; /* elements in chunk 0 while it is still growing */
	uint32_t used;	    /* high-water mark: elements 0..used-1 were handed out */
	uint32_t free_head; /* freed elements, linked through their first 4 bytes */
	uint32_t live;	    /* handed out and not freed, index 0 excluded */
	uint32_t max;	    /* grow no further once capacity passes this */
	size_t elem_size;
};

struct tnode {
	uint8_t addr[16];
	uint32_t child[2];
	uint32_t meta; /* bits 0-7: prefix length; bits 8-31: value slot, 0 = none */
};

struct ptrie {
	struct pool nodes, values;
	uint32_t root[2]; /* [0] IPv4, [1] IPv6 */
	size_t count;
};

static void *pool_at(const struct pool *p, uint32_t i)
{
	return p->chunks[i >> CHUNK_SHIFT] +
	       (size_t)(i & (CHUNK_SIZE - 1)) * p->elem_size;
}

static size_t pool_capacity(const struct pool *p)
{
	if (p->nchunks == 0)
		return 0;
	return p->nchunks == 1 ? p->first_cap : (size_t)p->nchunks * CHUNK_SIZE;
}

static size_t pool_bytes(const struct pool *p)
{
	return pool_capacity(p) * p->elem_size + (size_t)p->dir_cap * sizeof(char *);
}

static int pool_add_chunk(struct pool *p, uint32_t elems)
{
	if (vec_reserve(p->chunks, p->dir_cap, p->nchunks + 1))
		return -ENOMEM;
	p->chunks[p->nchunks] = malloc((size_t)elems * p->elem_size);
	if (!p->chunks[p->nchunks])
		return -ENOMEM;
	p->nchunks++;
	return 0;
}

/* Chunk 0 starts small and doubles up to a full chunk; then whole chunks
 * are added, so nodes of a big trie never move. */
static int pool_grow(struct pool *p)
{
	if (pool_capacity(p) > p->max)
		return -ENOMEM;
	if (p->nchunks == 0) {
		if (pool_add_chunk(p, FIRST_CHUNK) != 0)
			return -ENOMEM;
		p->first_cap = FIRST_CHUNK;
		p->used = 1; /* index 0 means "none" */
		return 0;
	}
	if (p->nchunks == 1 && p->first_cap < CHUNK_SIZE) {
		char *grown =
			realloc(p->chunks[0], (size_t)p->first_cap * 2 * p->elem_size);

		if (!grown)
			return -ENOMEM;
		p->chunks[0] = grown;
		p->first_cap *= 2;
		return 0;
	}
	return pool_add_chunk(p, CHUNK_SIZE);
}

/* Elements that can be taken without growing: never handed out, or freed. */
static size_t pool_room(const struct pool *p)
{
	if (p->nchunks == 0)
		return 0;
	return pool_capacity(p) - p->used + (p->used - 1 - p->live);
}

/* Makes room for n more elements, so that the caller can take them without
 * failing half-way through a change of the trie. */
static int pool_reserve(struct pool *p, uint32_t n)
{
	while (pool_room(p) < n)
		if (pool_grow(p) != 0)
			return -ENOMEM;
	return 0;
}

static uint32_t pool_take(struct pool *p)
{
	uint32_t i = p->free_head;

	if (i != NIL)
		memcpy(&p->free_head, pool_at(p, i), sizeof(uint32_t));
	else
		i = p->used++;
	p->live++;
	return i;
}

static void pool_put(struct pool *p, uint32_t i)
{
	memcpy(pool_at(p, i), &p->free_head, sizeof(uint32_t));
	p->free_head = i;
	p->live--;
}

static void pool_release(struct pool *p)
{
	for (uint32_t i = 0; i < p->nchunks; i++)
		free(p->chunks[i]);
	free(p->chunks);
	memset(p, 0, sizeof(*p));
}

/* ---- nodes ---- */

static struct tnode *N(const struct ptrie *t, uint32_t i)
{
	return pool_at(&t->nodes, i);
}

static unsigned node_len(const struct tnode *n)
{
	return n->meta & 0xff;
}

static uint32_t node_slot(const struct tnode *n)
{
	return n->meta >> 8;
}

static void *slot_value(const struct ptrie *t, uint32_t slot)
{
	return *(void **)pool_at(&t->values, slot);
}

static void *node_value(const struct ptrie *t, const struct tnode *n)
{
	return node_slot(n) ? slot_value(t, node_slot(n)) : NULL;
}

static unsigned addr_bit(const uint8_t *addr, unsigned i)
{
	return (addr[i >> 3] >> (7 - (i & 7))) & 1u;
}

/* Number of leading bits a and b share, at most max. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	for (unsigned i = 0; i * 8 < max; i++) {
		unsigned x = a[i] ^ b[i];

		if (x) {
			unsigned n = i * 8 + (unsigned)__builtin_clz(x) - 24;
			return n < max ? n : max;
		}
	}
	return max;
}

/* Takes a node (room must be reserved) holding the first len bits of addr. */
static uint32_t node_new(struct ptrie *t, const struct prefix *key, unsigned len)
{
	uint32_t i = pool_take(&t->nodes);
	struct tnode *n = N(t, i);
	struct prefix k = prefix_truncate(key, len);

	memcpy(n->addr, k.addr, sizeof(n->addr));
	n->child[0] = n->child[1] = NIL;
	n->meta = len;
	return i;
}

static void node_set_value(struct ptrie *t, struct tnode *n, void *value)
{
	uint32_t slot = node_slot(n);

	if (!slot) {
		slot = pool_take(&t->values);
		n->meta = (n->meta & 0xff) | (slot << 8);
		t->count++;
	}
	*(void **)pool_at(&t->values, slot) = value;
}

static void prefix_from_node(const struct tnode *n, int family, struct prefix *out)
{
	out->family = (uint8_t)family;
	out->len = (uint8_t)node_len(n);
	memcpy(out->addr, n->addr, sizeof(out->addr));
}

static uint32_t *root_of(struct ptrie *t, int family)
{
	if (family == AF_INET)
		return &t->root[0];
	if (family == AF_INET6)
		return &t->root[1];
	return NULL;
}

static uint32_t root_get(const struct ptrie *t, int family)
{
	return family == AF_INET ? t->root[0] : family == AF_INET6 ? t->root[1] : NIL;
}

/* Follows key's bits from the root while nodes are shorter than limit and a
 * child exists; returns the last node reached (NIL for an empty family). No
 * node on the way is compared with key: the caller compares the last one
 * once, which is enough because every node on the path lies within it. */
static uint32_t descend(const struct ptrie *t, const struct prefix *key, unsigned limit)
{
	uint32_t i = root_get(t, key->family);

	while (i != NIL) {
		const struct tnode *n = N(t, i);
		uint32_t next;

		if (node_len(n) >= limit)
			break;
		next = n->child[addr_bit(key->addr, node_len(n))];
		if (next == NIL)
			break;
		i = next;
	}
	return i;
}

/* ---- public interface ---- */

struct ptrie *ptrie_new(void)
{
	struct ptrie *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nodes.elem_size = sizeof(struct tnode);
	t->nodes.max = NODE_MAX;
	t->values.elem_size = sizeof(void *);
	t->values.max = SLOT_MAX;
	return t;
}

static void free_values(struct ptrie *t, uint32_t i, void (*free_value)(void *))
{
	while (i != NIL) {
		struct tnode *n = N(t, i);

		if (node_slot(n))
			free_value(node_value(t, n));
		free_values(t, n->child[0], free_value);
		i = n->child[1]; /* loop instead of a second recursion */
	}
}

void ptrie_free(struct ptrie *t, void (*free_value)(void *value))
{
	if (!t)
		return;
	if (free_value) {
		free_values(t, t->root[0], free_value);
		free_values(t, t->root[1], free_value);
	}
	pool_release(&t->nodes);
	pool_release(&t->values);
	free(t);
}

int ptrie_set(struct ptrie *t, const struct prefix *key_in, void *value)
{
	struct prefix key = *key_in;
	uint32_t *root = root_of(t, key.family);
	uint32_t *link, cur, last, fresh, branch;
	struct tnode *n;
	unsigned cpl;

	if (!root || !value || key.len > prefix_family_bits(key.family))
		return -EINVAL;
	prefix_normalise(&key);
	/* At most two new nodes and one value slot: reserve them first so the
	 * change cannot fail half-way, and no node moves while we hold it. */
	if (pool_reserve(&t->nodes, 2) != 0 || pool_reserve(&t->values, 1) != 0)
		return -ENOMEM;

	last = descend(t, &key, key.len);
	if (last == NIL) {
		*root = node_new(t, &key, key.len);
		node_set_value(t, N(t, *root), value);
		return 0;
	}
	n = N(t, last);
	cpl = common_bits(key.addr, n->addr,
			  key.len < node_len(n) ? key.len : node_len(n));

	/* Nodes shorter than cpl lie on key's path: find where key goes. */
	link = root;
	while (node_len(N(t, *link)) < cpl)
		link = &N(t, *link)->child[addr_bit(key.addr, node_len(N(t, *link)))];
	cur = *link;
	n = N(t, cur);

	if (node_len(n) == cpl) {
		if (cpl == key.len) { /* the node is key itself */
			node_set_value(t, n, value);
			return 0;
		}
		/* The node contains key and has no child on key's side. */
		fresh = node_new(t, &key, key.len);
		N(t, cur)->child[addr_bit(key.addr, cpl)] = fresh;
		node_set_value(t, N(t, fresh), value);
		return 0;
	}
	fresh = node_new(t, &key, key.len);
	node_set_value(t, N(t, fresh), value);
	if (cpl == key.len) { /* key contains the node: key becomes its parent */
		N(t, fresh)->child[addr_bit(N(t, cur)->addr, cpl)] = cur;
		*link = fresh;
		return 0;
	}
	/* key and the node part at bit cpl: a branching node joins them. */
	branch = node_new(t, &key, cpl);

	N(t, branch)->child[addr_bit(key.addr, cpl)] = fresh;
	N(t, branch)->child[addr_bit(N(t, cur)->addr, cpl)] = cur;
	*link = branch;
	return 0;
}

void *ptrie_get(const struct ptrie *t, const struct prefix *key_in)
{
	struct prefix key = *key_in;
	const struct tnode *n;
	uint32_t i;

	if (key.len > prefix_family_bits(key.family))
		return NULL;
	prefix_normalise(&key);
	i = descend(t, &key, key.len);
	if (i == NIL)
		return NULL;
	n = N(t, i);
	if (node_len(n) != key.len || memcmp(n->addr, key.addr, sizeof(key.addr)) != 0)
		return NULL;
	return node_value(t, n);
}

void *ptrie_del(struct ptrie *t, const struct prefix *key_in)
{
	struct prefix key = *key_in;
	uint32_t *link, *parent_link = NULL, x, parent = NIL;
	struct tnode *n;
	void *value;

	if (!root_of(t, key.family) || key.len > prefix_family_bits(key.family))
		return NULL;
	prefix_normalise(&key);
	link = root_of(t, key.family);
	while (*link != NIL && node_len(N(t, *link)) < key.len) {
		parent_link = link;
		parent = *link;
		link = &N(t, *link)->child[addr_bit(key.addr, node_len(N(t, *link)))];
	}
	x = *link;
	if (x == NIL)
		return NULL;
	n = N(t, x);
	if (node_len(n) != key.len || !node_slot(n) ||
	    memcmp(n->addr, key.addr, sizeof(key.addr)) != 0)
		return NULL;

	value = node_value(t, n);
	pool_put(&t->values, node_slot(n));
	n->meta &= 0xff;
	t->count--;
	if (n->child[0] != NIL && n->child[1] != NIL)
		return value; /* still needed to branch */

	/* Splice x out: its only child (or nothing) takes its place. */
	*link = n->child[0] != NIL ? n->child[0] : n->child[1];
	pool_put(&t->nodes, x);

	/* A valueless parent left with one child no longer branches. */
	if (parent != NIL && *link == NIL) {
		struct tnode *p = N(t, parent);

		if (!node_slot(p)) {
			*parent_link = p->child[0] != NIL ? p->child[0] : p->child[1];
			pool_put(&t->nodes, parent);
		}
	}
	return value;
}

void *ptrie_lpm(const struct ptrie *t, const struct prefix *p, struct prefix *match)
{
	uint32_t valued[130]; /* lengths strictly grow along a path: at most 129 */
	unsigned nvalued = 0;
	uint32_t i = root_get(t, p->family), last = NIL;
	unsigned cpl;

	if (p->len > prefix_family_bits(p->family))
		return NULL;
	/* Collect the valued nodes on p's path, then compare p once with the
	 * deepest node reached: all of them lie within it. */
	while (i != NIL) {
		const struct tnode *n = N(t, i);

		last = i;
		if (node_len(n) > p->len)
			break;
		if (node_slot(n))
			valued[nvalued++] = i;
		if (node_len(n) == p->len)
			break;
		i = n->child[addr_bit(p->addr, node_len(n))];
	}
	if (last == NIL)
		return NULL;
	cpl = common_bits(p->addr, N(t, last)->addr, p->len);
	while (nvalued > 0) {
		const struct tnode *n = N(t, valued[--nvalued]);

		if (node_len(n) <= cpl) {
			if (match)
				prefix_from_node(n, p->family, match);
			return node_value(t, n);
		}
	}
	return NULL;
}

size_t ptrie_count(const struct ptrie *t)
{
	return t->count;
}

size_t ptrie_node_count(const struct ptrie *t)
{
	return t->nodes.live;
}

size_t ptrie_memory(const struct ptrie *t)
{
	return sizeof(*t) + pool_bytes(&t->nodes) + pool_bytes(&t->values);
}

/* Pre-order, 0-side first: exactly prefix_cmp order within a family. */
static int walk_node(const struct ptrie *t, uint32_t i, int family, ptrie_visit_fn fn,
		     void *ctx)
{
	while (i != NIL) {
		const struct tnode *n = N(t, i);
		int rc;

		if (node_slot(n)) {
			struct prefix key;

			prefix_from_node(n, family, &key);
			rc = fn(&key, node_value(t, n), ctx);
			if (rc)
				return rc;
		}
		rc = walk_node(t, n->child[0], family, fn, ctx);
		if (rc)
			return rc;
		i = n->child[1];
	}
	return 0;
}

int ptrie_walk(const struct ptrie *t, ptrie_visit_fn fn, void *ctx)
{
	int rc = walk_node(t, t->root[0], AF_INET, fn, ctx);

	return rc ? rc : walk_node(t, t->root[1], AF_INET6, fn, ctx);
}

int ptrie_walk_within(const struct ptrie *t, const struct prefix *outer,
		      ptrie_visit_fn fn, void *ctx)
{
	const struct tnode *n;
	struct prefix top;
	uint32_t i;
	int rc;

	if (outer->len > prefix_family_bits(outer->family))
		return 0;
	/* The first node at least as long as outer heads the subtree. */
	i = root_get(t, outer->family);
	while (i != NIL && node_len(N(t, i)) < outer->len)
		i = N(t, i)->child[addr_bit(outer->addr, node_len(N(t, i)))];
	if (i == NIL)
		return 0;
	prefix_from_node(N(t, i), outer->family, &top);
	if (!prefix_contains(outer, &top))
		return 0;
	/* Walk that subtree only: its head's value, then both children. */
	n = N(t, i);
	if (node_slot(n)) {
		rc = fn(&top, node_value(t, n), ctx);
		if (rc)
			return rc;
	}
	rc = walk_node(t, n->child[0], outer->family, fn, ctx);
	return rc ? rc : walk_node(t, n->child[1], outer->family, fn, ctx);
}
