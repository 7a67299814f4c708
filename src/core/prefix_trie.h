/* prefix_trie.h: a map from prefixes (both families) to non-NULL pointers,
 * with exact lookup, longest-prefix match and ordered walks. Path-compressed
 * binary trie: every operation costs O(prefix length). */
#ifndef WGRS_PREFIX_TRIE_H
#define WGRS_PREFIX_TRIE_H

#include "prefix.h"

struct ptrie;

struct ptrie *ptrie_new(void);
/* Frees the trie; calls free_value on every value when it is not NULL. */
void ptrie_free(struct ptrie *t, void (*free_value)(void *value));

/* Inserts or replaces. key is normalised first. Returns 0 or -ENOMEM. */
int ptrie_set(struct ptrie *t, const struct prefix *key, void *value);
/* The value stored under exactly key, or NULL. */
void *ptrie_get(const struct ptrie *t, const struct prefix *key);
/* Removes key; returns its value, or NULL when it was absent. */
void *ptrie_del(struct ptrie *t, const struct prefix *key);
/* The value of the longest key that contains p (p may be an address or a
 * prefix; keys longer than p never match). Stores that key in *match when
 * match is not NULL. NULL when none contains p. */
void *ptrie_lpm(const struct ptrie *t, const struct prefix *p, struct prefix *match);

size_t ptrie_count(const struct ptrie *t);
/* Nodes in use, branching ones included (at most 2 per entry); for tests. */
size_t ptrie_node_count(const struct ptrie *t);
/* Bytes the trie itself holds (nodes and bookkeeping, not the values). */
size_t ptrie_memory(const struct ptrie *t);

/* Visitor: return 0 to go on, anything else to stop the walk and have the
 * walk return it. The trie must not be changed during a walk. */
typedef int (*ptrie_visit_fn)(const struct prefix *key, void *value, void *ctx);
/* All entries in prefix_cmp order. */
int ptrie_walk(const struct ptrie *t, ptrie_visit_fn fn, void *ctx);
/* The entries whose key lies within outer (outer itself included), in
 * prefix_cmp order; costs O(length + entries visited). */
int ptrie_walk_within(const struct ptrie *t, const struct prefix *outer,
		      ptrie_visit_fn fn, void *ctx);

#endif
