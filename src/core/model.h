/* model.h: the plain data the core exchanges with the backends: a WireGuard
 * device's peers, a kernel route, and a change to make. No netlink here. */
#ifndef WGRS_MODEL_H
#define WGRS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"
#include "wgkey.h"

#define RTPROT_WGRS_DEFAULT 98
#define ROUTE_TABLE_MAIN    254
/* rtm_type values the core cares about (same numbers as linux/rtnetlink.h). */
#define ROUTE_TYPE_UNICAST 1

struct wg_peer {
	struct wg_key key;
	size_t n_allowed;
	struct prefix *allowed;
};

/* A snapshot of one WireGuard interface. */
struct wg_device {
	struct wg_key pubkey; /* the device's own public key; zero if unknown */
	size_t n_peers;
	struct wg_peer *peers;
};
void wg_device_free(struct wg_device *dev); /* frees the arrays, not dev */

/* A fingerprint of what a device holds: the sum of a 64-bit hash of each
 * peer's key and of each (peer, AllowedIP) pair, so independent of order
 * and kept up to date one term at a time (the reconciler keeps the same sum
 * for its model: a poll that reads what the model says costs a hash of
 * what it read, not a diff). Two different devices give the same value
 * with a chance of about 2^-64. */
uint64_t wg_fp_peer(const struct wg_key *key);
uint64_t wg_fp_entry(uint64_t peer_fp, const struct prefix *allowed);
uint64_t wg_device_fingerprint(const struct wg_device *dev);

/* One next hop of a kernel route: gateway (family 0 when none; its family
 * may differ from the destination's: RTA_VIA) and output interface. */
struct knexthop {
	struct prefix gw;
	int oif;
};

/* A kernel route as the core sees it. A route through a nexthop object or
 * group arrives with that object's next hops already filled in, in kernel
 * order. The identity of a route within its table is (dst, tos, metric). */
struct kroute {
	struct prefix dst;
	uint32_t table;
	uint8_t protocol;
	uint8_t type;
	uint8_t tos;
	uint32_t metric;
	size_t n_nexthops;
	struct knexthop *nexthops;
};

/* What a route change installs or deletes. gw.family 0: no gateway; a gw of
 * the other family than the destination: RTA_VIA. */
struct route_spec {
	struct prefix dst;
	uint32_t table;
	uint8_t protocol;
	uint8_t tos;
	uint32_t metric;
	int oif;
	struct prefix gw;
	/* CHANGE_ROUTE_ADD: the model holds a route of ours with this identity
	 * (dst, tos, metric), and the add replaces it in place (a wrong gateway
	 * fixed with no moment without a route). false: the add is exclusive,
	 * and the kernel refuses it (EEXIST) where any route of this identity
	 * stands, so that a route the model missed is never replaced. */
	bool replace;
};

enum change_op {
	CHANGE_ALLOWED_ADD, /* add dst to peer's AllowedIPs (moves it) */
	CHANGE_ALLOWED_DEL, /* remove dst from peer's AllowedIPs */
	CHANGE_ROUTE_ADD,   /* add our route (or replace it: route_spec.replace) */
	CHANGE_ROUTE_DEL,   /* delete our route */
};

struct change {
	enum change_op op;
	struct prefix dst;
	struct wg_key peer;	 /* ALLOWED_*: the peer */
	bool learned;		 /* ALLOWED_ADD: owned by us from now on */
	struct route_spec route; /* ROUTE_* */
};
/* An AllowedIP change (else a route change). */
bool change_is_allowed(const struct change *c);

struct change_list {
	size_t n, cap;
	struct change *v;
};
int change_list_push(struct change_list *l, const struct change *c);
void change_list_clear(struct change_list *l);
void change_list_free(struct change_list *l);
/* One line, as --dry-run prints it: "allowed-ip add PEER PREFIX (learned)",
 * "route add PREFIX via GW dev IFINDEX table T proto P metric M" ("route
 * replace ..." for an add that replaces our route). */
char *change_format(const struct change *c, char *buf, size_t len);

/* One owned (learned) AllowedIP, as the state file records it. displaced is
 * the peer that held dst statically before `conflict: learned-wins` took it
 * (zero key when none): it gets dst back on withdrawal. */
struct own_entry {
	struct wg_key peer;
	struct prefix dst;
	struct wg_key displaced;
};

/* A change of ownership: e.dst is now owned as e says, or (owned false) no
 * longer owned. */
struct own_change {
	struct own_entry e;
	bool owned;
};

#endif
