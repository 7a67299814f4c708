/* dest.h (internal to the core): the per-destination record and its pool.
 * One record per prefix that has a route in table T or is an AllowedIP.
 * 48 bytes, with the common single-route, single-nexthop case inline; the
 * records come from a slab pool so that a million of them cost exactly
 * 48 MB, without malloc headers. */
#ifndef WGRS_DEST_H
#define WGRS_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway.h"
#include "prefix.h"

/* dest.flags */
#define DF_DIRTY     0x01 /* on the dirty list (or all are dirty) */
#define DF_SEEN	     0x02 /* in the last WireGuard snapshot (epoch parity) */
#define DF_LEARNED   0x04 /* the holder got it from us (in L) */
#define DF_CONFLICT  0x08 /* counted as a conflict */
#define DF_FILTERED  0x10 /* counted as refused by learn_filter */
#define DF_OVER	     0x20 /* counted as over max_learned_prefixes */
#define DF_DISPLACED 0x40 /* has an entry in the displaced map */

/* dest.flags2 */
/* An exclusive add of our route was refused (EEXIST): a route the model has
 * not seen stands there. No route of ours is wanted for the destination
 * until a route event for it or a complete dump shows what it is. */
#define D2_UNSEEN_ROUTE 0x01

/* rroute.nh */
#define RN_COUNT 0x3f /* next hops through the interface (at most 63 kept) */
/* Seen in a dump since the last complete one ended (epoch parity; a dump
 * after a tentative one keeps the parity, so that what either saw stays). */
#define RN_SEEN 0x40
#define RN_OURS 0x80 /* protocol P, every next hop through the interface */

/* rroute.type: the route's type (RTN_*; one above 127 is kept as 127, which
 * is as much not unicast to the core) and RT_DUMPED. */
#define RT_TYPE	  0x7f
#define RT_DUMPED 0x80 /* listed by the dump under way (cleared at its end) */

/* One route of table T. Only next hops through the interface are kept (a
 * gateway NULL: no gateway); one inline, more in an array. */
struct rroute {
	uint32_t metric;
	uint8_t tos, protocol, type, nh;
	union {
		struct gw *one;
		struct gw **many;
	} gw;
};

struct dest {
	struct prefix dst;
	uint8_t flags;
	uint8_t flags2;
	uint32_t holder; /* peer id holding dst in its AllowedIPs, 0: none */
	uint32_t cand;	 /* peer the routes name (last evaluation), 0: none */
	uint16_t n_routes;
	union {
		struct rroute one;
		struct rroute *many;
	} r;
};

static inline struct rroute *dest_routes(struct dest *d)
{
	return d->n_routes <= 1 ? &d->r.one : d->r.many;
}

static inline unsigned rroute_nh_count(const struct rroute *rt)
{
	return rt->nh & RN_COUNT;
}

static inline struct gw *const *rroute_gws(const struct rroute *rt)
{
	return rroute_nh_count(rt) <= 1 ? &rt->gw.one : rt->gw.many;
}

struct dest_pool {
	char **slabs;
	size_t n_slabs, cap_slabs;
	size_t used_in_last; /* records handed out of the last slab */
	struct dest *free_list;
	size_t live;
};

struct dest *dest_alloc(struct dest_pool *p);
void dest_release(struct dest_pool *p, struct dest *d);
void dest_pool_free(struct dest_pool *p);
size_t dest_pool_memory(const struct dest_pool *p);

#endif
