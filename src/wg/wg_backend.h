/* wg_backend.h: what the WireGuard backends share: the temporary peer used
 * for removal, how removal is done, and the planning of a request. */
#ifndef WGRS_WG_BACKEND_H
#define WGRS_WG_BACKEND_H

#include <net/if.h>
#include <stdbool.h>

#include "backend.h"

/* wg-rtsync's own temporary peer. Its 32 bytes spell
 * "wg-rtsync/temporary-peer/removal", base64
 * d2ctcnRzeW5jL3RlbXBvcmFyeS1wZWVyL3JlbW92YWw= : prefixes to be removed
 * are moved onto it, and it is removed in the same request. It never has
 * an endpoint, is never reported by get(), and is removed when found. */
extern const struct wg_key wg_temp_peer_key;
bool wg_is_temp_peer(const struct wg_key *k);

/* How a backend removes an AllowedIP from a peer, best first. Detected
 * once per device, at the first removal. */
enum wg_remove_mode {
	WG_REMOVE_UNKNOWN,
	WG_REMOVE_NATIVE,    /* allowed_ip=-PREFIX / WGALLOWEDIP_F_REMOVE_ME */
	WG_REMOVE_TEMP_PEER, /* move onto the temporary peer, remove it */
	WG_REMOVE_REPLACE,   /* rewrite the peer's whole list (last resort) */
};
const char *wg_remove_mode_name(enum wg_remove_mode m);

/* The removal mode found for each device, by name (a list per backend). */
struct wg_dev_mode {
	char name[IF_NAMESIZE];
	enum wg_remove_mode mode;
	struct wg_dev_mode *next;
};
/* ifname's entry, made (WG_REMOVE_UNKNOWN) when missing; NULL: no memory. */
struct wg_dev_mode *wg_dev_mode_of(struct wg_dev_mode **list, const char *ifname);
enum wg_remove_mode wg_dev_mode_get(const struct wg_dev_mode *list, const char *ifname);
/* A device that went may come back as another kernel's or daemon's. */
void wg_dev_mode_forget(struct wg_dev_mode **list, const char *ifname);
void wg_dev_mode_free_all(struct wg_dev_mode **list);

/* Planning shared by the backends. The CHANGE_ALLOWED_* entries of a list
 * are split into rounds in which no prefix appears twice (the k-th change of
 * a prefix goes into round k), so that the order of the entries within one
 * request cannot matter; usually there is one round. */
struct wg_rounds {
	size_t n_sel;
	size_t *sel;	 /* indices of the CHANGE_ALLOWED_* entries, in list order */
	unsigned *round; /* round of sel[i] */
	unsigned n_rounds;
};
int wg_rounds_plan(struct wg_rounds *r, const struct change *ch, size_t n);
/* Writes the change indices of round k, in list order, to out; returns how many. */
size_t wg_rounds_members(const struct wg_rounds *r, unsigned k, size_t *out);
void wg_rounds_free(struct wg_rounds *r);
/* Sorts change indices by (peer key, position): the per-peer grouping. */
void wg_sort_by_peer(size_t *idx, size_t n, const struct change *ch);
/* Family, then address bytes, then length: a plain total order. */
int wg_prefix_cmp(const struct prefix *a, const struct prefix *b);

#endif
