/* wg_plan.h: a WireGuard change planned once, for either backend. A set
 * request in the shape of wireguard-tools' struct wgdevice (peers with
 * flags, each with AllowedIPs that may carry a remove flag), built from
 * the reconciler's changes for a removal mode; the rounds a list of
 * changes is split into; which change failed, from the outcome of each
 * message; wg-rtsync's temporary peer and the probes that find how a
 * device removes an AllowedIP (docs/backends.md). No I/O here: the
 * backends encode a wg_set (genl_codec.h, uapi_codec.h) and move bytes. */
#ifndef WGRS_WG_PLAN_H
#define WGRS_WG_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* wg-rtsync's own temporary peer. Its 32 bytes spell
 * "wg-rtsync/temporary-peer/removal", base64
 * d2ctcnRzeW5jL3RlbXBvcmFyeS1wZWVyL3JlbW92YWw= : prefixes to be removed
 * are moved onto it, and it is removed in the same request. It never has
 * an endpoint, is never reported by a read, and is removed when found. */
extern const struct wg_key wg_temp_peer_key;
bool wg_is_temp_peer(const struct wg_key *k);

/* How a device removes an AllowedIP from a peer, best first. Detected once
 * per device, at its first removal. */
enum wg_remove_mode {
	WG_REMOVE_UNKNOWN,
	WG_REMOVE_NATIVE,    /* allowed_ip=-PREFIX / WGALLOWEDIP_F_REMOVE_ME */
	WG_REMOVE_TEMP_PEER, /* move onto the temporary peer, remove it */
	WG_REMOVE_REPLACE,   /* rewrite the peer's whole list (last resort) */
};
const char *wg_remove_mode_name(enum wg_remove_mode m);

/* Peer flags, with the kernel's numbers (WGPEER_F_*). */
enum {
	WG_PEER_REMOVE_ME = 1u << 0,	      /* remove=true */
	WG_PEER_REPLACE_ALLOWEDIPS = 1u << 1, /* replace_allowed_ips=true */
	WG_PEER_UPDATE_ONLY = 1u << 2,	      /* update_only=true: never made */
};

struct wg_set_ip {
	struct prefix dst;
	bool remove;   /* WGALLOWEDIP_F_REMOVE_ME, allowed_ip=-PREFIX */
	size_t change; /* index of the change it serves (SIZE_MAX: none) */
	size_t msg;    /* out: the message that carried it */
};

struct wg_set_peer {
	struct wg_key key;
	uint32_t flags; /* WG_PEER_* */
	size_t n_ips, ips_cap;
	struct wg_set_ip *ips;
	size_t msg_last; /* out: the message holding its last part */
};

/* One set request, its peers in order. The transport that sends it fills
 * in which message carried each part (msg, msg_last) and each message's
 * outcome (msg_err: 0 or a negative errno). */
struct wg_set {
	size_t n_peers, peers_cap;
	struct wg_set_peer *peers;
	size_t n_msgs, msgs_cap;
	int *msg_err;
};
void wg_set_clear(struct wg_set *s); /* no peers, no messages; memory kept */
void wg_set_free(struct wg_set *s);
/* Records the outcome of the next message. 0 or -ENOMEM. */
int wg_set_msg_result(struct wg_set *s, int err);
/* For a transport that sends the whole request as one message. */
int wg_set_one_message(struct wg_set *s, int err);
/* The first message's error, 0 when all went through. */
int wg_set_error(const struct wg_set *s);

/* The CHANGE_ALLOWED_* entries of a list are split into rounds in which no
 * prefix appears twice (the k-th change of a prefix goes into round k), so
 * that the order of the entries within one request cannot matter; usually
 * there is one round. */
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
/* Sorts change indices by (peer key, position): the order of the peers.
 * Public for its unit test. */
void wg_sort_by_peer(size_t *idx, size_t n, const struct change *ch);

/* Makes s the request for the changes ch[idx[0..n-1]] (one round: no prefix
 * twice) under the removal mode: per peer, in key order, an update-only
 * entry with its adds and (NATIVE) its removals flagged, in list order.
 * TEMP_PEER: the removals go last, in list order, onto the temporary peer,
 * which the next entry removes. REPLACE needs cur, the device as read just
 * before: a peer of it with removals gets replace-allowedips and its
 * current list first, less its removals and less every prefix the round
 * adds to any peer (a move is one add, which a replaced list holding the
 * prefix would undo). 0, -EINVAL (UNKNOWN) or -ENOMEM. */
int wg_plan_build(struct wg_set *s, const struct change *ch, const size_t *idx, size_t n,
		  enum wg_remove_mode mode, const struct wg_device *cur);

/* After s went out as built by wg_plan_build: err[c] of each change it
 * serves (left alone where already set) gets the error of the message that
 * carried its entry; a prefix the temporary peer took, also that of the
 * message removing it; a peer whose list is replaced fails as a whole, and
 * so does a removal under REPLACE (it has no entry of its own). */
void wg_plan_errors(const struct wg_set *s, enum wg_remove_mode mode,
		    const struct change *ch, const size_t *idx, size_t n, int *err);

/* The probes, on the temporary peer only: a refused request may be half
 * applied. Does the device remove an AllowedIP with the flag? The
 * temporary peer is asked to drop a prefix it does not hold; a device that
 * reads a peer's AllowedIPs only once it has found or made the peer (the
 * kernel) needs it made, and removed at the end (make_peer); one that
 * checks each line first (the UAPI) is asked with the peer a placeholder
 * (update-only), so that nothing is made at all. */
int wg_plan_probe_native(struct wg_set *s, bool make_peer);
/* Can the temporary peer exist? Made if missing and removed at once
 * (which also removes one that a refused probe made). */
int wg_plan_probe_temp_peer(struct wg_set *s);
int wg_plan_remove_temp_peer(struct wg_set *s);

#endif
