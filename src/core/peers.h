/* peers.h (internal to the core): the peers of one interface, by public key
 * and by a small integer id (1-based, reused after a peer goes), so that a
 * destination record names its holder in 4 bytes. */
#ifndef WGRS_PEERS_H
#define WGRS_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"
#include "prefix.h"
#include "prefix_trie.h"
#include "wgkey.h"

struct peer {
	struct wg_key key;
	uint64_t fp; /* wg_fp_peer(&key) */
	uint32_t id;
	bool seen;				  /* in the snapshot being applied */
	size_t n_held;				  /* destinations it holds */
	size_t n_learned;			  /* of those, in L */
	const struct peer_gateways *explicit_gws; /* from the settings, or NULL */
	size_t n_derived;
	struct prefix *derived; /* one per settings prefix */
	/* max_learned_prefixes only: the destinations whose learn target is
	 * this peer (prefix -> struct dest *), and whether their ranking
	 * changed since the last pass. */
	struct ptrie *cands;
	bool cands_changed;
};

struct peer_table {
	struct peer **by_id; /* [0] unused */
	size_t cap_ids;
	uint32_t *free_ids;
	size_t n_free, cap_free;
	uint32_t next_id;
	uint32_t *slots;  /* open addressing on the key: peer ids, 0 = empty */
	uint32_t n_slots; /* a power of two */
	size_t count;
};

void peers_init(struct peer_table *t);
void peers_free(struct peer_table *t);
struct peer *peers_find(const struct peer_table *t, const struct wg_key *key);
/* A new peer record (not yet present in any), or NULL on ENOMEM. */
struct peer *peers_add(struct peer_table *t, const struct wg_key *key);
/* Removes and frees p (the caller has released what it holds). */
void peers_del(struct peer_table *t, struct peer *p);
static inline struct peer *peers_get(const struct peer_table *t, uint32_t id)
{
	return id && id < t->next_id ? t->by_id[id] : NULL;
}
size_t peers_memory(const struct peer_table *t);

#endif
