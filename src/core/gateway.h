/* gateway.h: the gateway addresses of one interface. Per address: the peers
 * that claim it explicitly (config) or by derivation (cunicu address), hence
 * its owner or its ambiguity, and the set of destinations with a route
 * through it, so that a change of owner re-evaluates exactly those.
 * Cryptokey ownership (LPM over static AllowedIPs) is the caller's. Peers are
 * small integer ids (1-based); records live while claimed or used. */
#ifndef WGRS_GATEWAY_H
#define WGRS_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

enum gw_strength { GW_EXPLICIT, GW_DERIVED, GW_STRENGTHS };

#define GW_PEER_NONE	  0u
#define GW_PEER_AMBIGUOUS UINT32_MAX

struct gw_table;
struct gw;

struct gw_table *gw_table_new(void);
void gw_table_free(struct gw_table *t);

const struct prefix *gw_addr(const struct gw *g);

/* Claims. A peer claims an address at most once per strength (the caller
 * passes distinct addresses). Return 1 when the address has just become
 * ambiguous (warn once), 0 otherwise, or -ENOMEM. */
int gw_claim(struct gw_table *t, const struct prefix *addr, enum gw_strength s,
	     uint32_t peer);
int gw_unclaim(struct gw_table *t, const struct prefix *addr, enum gw_strength s,
	       uint32_t peer);
/* Owner by claims: explicit, else derived; GW_PEER_NONE when unclaimed
 * (the caller then asks cryptokey), GW_PEER_AMBIGUOUS when two peers claim it
 * at the strongest strength present. */
uint32_t gw_owner(const struct gw *g);
size_t gw_ambiguous_count(const struct gw_table *t);

/* Users: destinations (opaque pointers) with a route through the address.
 * gw_use returns the record (created if needed) or NULL on ENOMEM. */
struct gw *gw_use(struct gw_table *t, const struct prefix *addr, void *user);
void gw_unuse(struct gw_table *t, struct gw *g, void *user);
/* Calls fn for every user of the gateways within outer (outer itself
 * included), or of one address when outer is a host prefix. */
typedef void (*gw_user_fn)(void *user, void *ctx);
void gw_users_within(const struct gw_table *t, const struct prefix *outer, gw_user_fn fn,
		     void *ctx);

size_t gw_table_memory(const struct gw_table *t);

#endif
