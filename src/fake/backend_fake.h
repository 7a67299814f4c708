/* backend_fake.h: an in-memory WireGuard device and routing table behind the
 * backend interfaces, for unit tests, vectors and benchmarks. It behaves as
 * the kernel does where the core depends on it: an AllowedIP belongs to one
 * peer of a device at a time (adding it elsewhere moves it), and a route is
 * identified by (table, dst, tos, metric). */
#ifndef WGRS_BACKEND_FAKE_H
#define WGRS_BACKEND_FAKE_H

#include "backend.h"

struct fake_world;

struct fake_world *fake_world_new(void);
void fake_world_free(struct fake_world *w);

/* Devices */
int fake_wg_add_device(struct fake_world *w, const char *ifname,
		       const struct wg_key *pubkey);
int fake_wg_del_device(struct fake_world *w, const char *ifname);
int fake_wg_add_peer(struct fake_world *w, const char *ifname, const struct wg_key *peer);
int fake_wg_del_peer(struct fake_world *w, const char *ifname, const struct wg_key *peer);
/* Adds dst to peer (taking it from any other peer of the device). */
int fake_wg_allow(struct fake_world *w, const char *ifname, const struct wg_key *peer,
		  const struct prefix *dst);
int fake_wg_disallow(struct fake_world *w, const char *ifname, const struct wg_key *peer,
		     const struct prefix *dst);
int fake_wg_get(struct fake_world *w, const char *ifname, struct wg_device *dev);

/* Routes. add replaces a route with the same identity (as the kernel's
 * replace does; the route backend's exclusive adds answer -EEXIST there
 * instead). The nexthops are copied. */
int fake_route_add(struct fake_world *w, const struct kroute *rt);
int fake_route_del(struct fake_world *w, const struct kroute *rt);
/* Calls fn for every route of table (0: all) in a stable order. */
int fake_route_walk(struct fake_world *w, uint32_t table, kroute_fn fn, void *ctx);
size_t fake_route_count(const struct fake_world *w);

/* Backends over the world (the world must outlive them). Injected failures:
 * fake_fail_next makes the next n changes applied through either backend
 * fail with err; fake_fail_op makes every change of op fail with err,
 * until called again with 0. */
struct wg_backend *fake_wg_backend(struct fake_world *w);
struct route_backend *fake_route_backend(struct fake_world *w);
void fake_fail_next(struct fake_world *w, size_t n, int err);
void fake_fail_op(struct fake_world *w, enum change_op op, int err);

#endif
