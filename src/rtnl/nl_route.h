/* nl_route.h: the route side of the kernel backend, over rtnetlink (libmnl).
 * The messages are rtnl_codec.h's; this module owns the sockets. It offers:
 *  - struct nl_route: a struct route_backend (dump of both families, apply
 *    as netlink batches with one ack per route, errors per route), which
 *    keeps the kernel's nexthop objects so that a route through a nexthop id
 *    or group arrives with its next hops resolved, in kernel order; a dump
 *    is torn when events that can tear it came while it ran (a socket of
 *    its own hears them: nl_route_tears_dump) or the kernel flagged it
 *    NLM_F_DUMP_INTR;
 *  - an event socket (links, routes, nexthops, addresses) drained into
 *    callbacks; lost events are reported as -ENOBUFS (then do a full resync).
 * Nexthop changes re-deliver the routes using them from an index nh id ->
 * routes (the kernel sends no IPv4 route event when a nexthop object changes
 * or goes). IPv6 deletes that remove one hop of a multipath route are turned
 * into an upsert with the hops that remain. Every socket takes only the
 * kernel's messages (source port 0): another process with CAP_NET_ADMIN
 * can send to ours, and could forge events, dump parts or acks. */
#ifndef WGRS_NL_ROUTE_H
#define WGRS_NL_ROUTE_H

#include <stdbool.h>

#include "backend.h"
#include "rtnl_codec.h"

struct nl_route;

/* Opens the request socket. NULL on failure (errno set). */
struct nl_route *nl_route_new(void);
/* The route_backend of nr; its destroy frees nr (and closes the sockets). */
struct route_backend *nl_route_backend(struct nl_route *nr);

typedef int (*nl_link_fn)(const struct nl_link *link, void *ctx);
typedef int (*nl_addr_fn)(const struct nl_addr *addr, void *ctx);

/* Dumps. A callback returning non-zero stops the dump with that value; a
 * reply that is no whole message fails it with -EBADMSG. The route dump
 * (route_backend.dump) first reloads the nexthop table. */
int nl_route_dump_links(struct nl_route *nr, nl_link_fn fn, void *ctx);
int nl_route_dump_addrs(struct nl_route *nr, nl_addr_fn fn, void *ctx);
/* Waits until no change that would tear a dump of table (0: every table;
 * nl_route_tears_dump) has come for quiet_ms: 0; or -ETIMEDOUT after
 * max_ms. For a reader without the event socket (--oneshot) whose dump was
 * torn (route_backend.dump's torn). */
int nl_route_wait_quiet(struct nl_route *nr, uint32_t table, int quiet_ms, int max_ms);
/* The nexthop object id from the table, or NULL: for the live test that
 * checks the table against the kernel's. */
const struct nl_nexthop *nl_route_nexthop(const struct nl_route *nr, uint32_t id);

/* Event handlers; any may be NULL. removed: the DEL message. A handler
 * returning a negative value stops the drain with it. */
struct nl_route_handlers {
	int (*route)(void *ctx, bool removed, const struct kroute *rt);
	int (*link)(void *ctx, bool removed, const struct nl_link *link);
	int (*addr)(void *ctx, bool removed, const struct nl_addr *addr);
	int (*nexthop)(void *ctx, bool removed, const struct nl_nexthop *nh);
	void *ctx;
};

/* Opens the non-blocking event socket, subscribed to LINK, IPV4_ROUTE,
 * IPV6_ROUTE, NEXTHOP, IPV4_IFADDR, IPV6_IFADDR, with a receive buffer of
 * rcvbuf bytes (0: 256 MiB; SO_RCVBUFFORCE, else SO_RCVBUF). */
int nl_route_events_open(struct nl_route *nr, int rcvbuf);
/* The fd to poll for POLLIN, or -1 when not open. */
int nl_route_events_fd(const struct nl_route *nr);
/* Reads every message waiting and hands each event to h. Returns the number
 * of events delivered, -ENOBUFS when the kernel dropped events (the rest
 * were still drained and delivered: resync now), or another negative errno.
 * Malformed messages are skipped and logged. */
int nl_route_events_drain(struct nl_route *nr, const struct nl_route_handlers *h);

#endif
