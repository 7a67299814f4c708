/* nl_route.h: the route side of the kernel backend, over rtnetlink (libmnl).
 * Nothing outside nl_route.c sees a netlink message. It offers:
 *  - decoders: one rtnetlink message (route, nexthop object, link, address)
 *    into a plain struct; every attribute is validated, and a truncated or
 *    malformed message gives -EBADMSG, never an out-of-bounds read;
 *  - an encoder for one route change (add = NEWROUTE CREATE|REPLACE, del =
 *    DELROUTE with the route's identity);
 *  - struct nl_route: a struct route_backend (dump of both families, apply
 *    as netlink batches with one ack per route, errors per route), which
 *    keeps the kernel's nexthop objects so that a route through a nexthop id
 *    or group arrives with its next hops resolved, in kernel order;
 *  - an event socket (links, routes, nexthops, addresses) drained into
 *    callbacks; lost events are reported as -ENOBUFS (then do a full resync).
 * Nexthop changes re-deliver the routes using them from an index nh id ->
 * routes (the kernel sends no IPv4 route event when a nexthop object changes
 * or goes). IPv6 deletes that remove one hop of a multipath route are turned
 * into an upsert with the hops that remain. */
#ifndef WGRS_NL_ROUTE_H
#define WGRS_NL_ROUTE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"

/* Decoders return 0, NL_ROUTE_SKIP for a well-formed message that carries
 * nothing for us (another family, a cached clone, another message type), or
 * a negative errno (-EBADMSG: malformed or truncated). */
#define NL_ROUTE_SKIP 1

struct nl_link {
	int ifindex;
	char name[IF_NAMESIZE]; /* "" when the message had none */
	unsigned flags;		/* IFF_* */
	bool up;		/* IFF_UP */
	bool running;		/* IFF_RUNNING */
	char kind[32];		/* IFLA_INFO_KIND ("wireguard", "veth"), or "" */
};

struct nl_addr {
	int ifindex;
	struct prefix addr; /* host bits kept, len = the prefix length */
	uint32_t flags;	    /* IFA_F_* */
};

struct nl_nh_member {
	uint32_t id;
	uint16_t weight; /* as the kernel reports it (weight - 1 on the wire) */
};

/* A nexthop object: a single next hop (gateway and/or device), a blackhole,
 * or a group of other nexthop objects. */
struct nl_nexthop {
	uint32_t id;
	uint8_t family; /* nh_family: AF_INET, AF_INET6, or 0 for a group */
	bool blackhole;
	int oif;
	struct prefix gw; /* family 0: none */
	size_t n_group;
	struct nl_nh_member *group; /* kernel order; NULL when not a group */
};

/* RTM_NEWROUTE / RTM_DELROUTE. rt->nexthops is allocated (free it with
 * nl_kroute_release); *nh_id receives RTA_NH_ID (0: none). The nexthops are
 * the ones in the message (RTA_MULTIPATH, or RTA_GATEWAY/RTA_VIA/RTA_OIF). */
int nl_decode_route(const void *buf, size_t len, struct kroute *rt, uint32_t *nh_id);
void nl_kroute_release(struct kroute *rt);
/* RTM_NEWNEXTHOP / RTM_DELNEXTHOP. Free with nl_nexthop_release. */
int nl_decode_nexthop(const void *buf, size_t len, struct nl_nexthop *nh);
void nl_nexthop_release(struct nl_nexthop *nh);
/* RTM_NEWLINK / RTM_DELLINK. */
int nl_decode_link(const void *buf, size_t len, struct nl_link *link);
/* RTM_NEWADDR / RTM_DELADDR (IPv4 and IPv6). */
int nl_decode_addr(const void *buf, size_t len, struct nl_addr *addr);

/* Writes one request for a route change into buf (size bytes) with
 * NLM_F_REQUEST|NLM_F_ACK and seq. add: RTM_NEWROUTE CREATE|REPLACE; else
 * RTM_DELROUTE. Returns the message length, -ENOSPC when it does not fit,
 * -EINVAL for a bad spec. */
int nl_encode_route(void *buf, size_t size, bool add, const struct route_spec *rs,
		    uint32_t seq);

struct nl_route;

/* Opens the request socket. NULL on failure (errno set). */
struct nl_route *nl_route_new(void);
/* The route_backend of nr; its destroy frees nr (and closes the sockets). */
struct route_backend *nl_route_backend(struct nl_route *nr);
void nl_route_free(struct nl_route *nr);

typedef int (*nl_link_fn)(const struct nl_link *link, void *ctx);
typedef int (*nl_addr_fn)(const struct nl_addr *addr, void *ctx);
typedef int (*nl_nexthop_fn)(const struct nl_nexthop *nh, void *ctx);

/* Dumps. A callback returning non-zero stops the dump with that value. The
 * route dump (route_backend.dump) first reloads the nexthop table. */
int nl_route_dump_links(struct nl_route *nr, nl_link_fn fn, void *ctx);
int nl_route_dump_addrs(struct nl_route *nr, nl_addr_fn fn, void *ctx);
/* Reloads the nexthop table; fn (may be NULL) sees every object. */
int nl_route_dump_nexthops(struct nl_route *nr, nl_nexthop_fn fn, void *ctx);
/* The nexthop object id from the table, or NULL. */
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
