/* rtnl_codec.h: rtnetlink messages to and from plain structs, as pure
 * functions over byte buffers (no sockets, no state), so that tests and
 * fuzz targets call them on any (buf, len). It offers:
 *  - decoders: one message (route, nexthop object, link, address) into a
 *    plain struct; every attribute is validated, and a truncated or
 *    malformed message gives -EBADMSG, never an out-of-bounds read;
 *  - an encoder for one route change (add = NEWROUTE CREATE|EXCL, or
 *    CREATE|REPLACE for an add that replaces our route; del = DELROUTE with
 *    the route's identity);
 *  - a walk over the messages of one read that never steps past it, and
 *    one over the replies of a dump. */
#ifndef WGRS_RTNL_CODEC_H
#define WGRS_RTNL_CODEC_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Decoders return 0, NL_ROUTE_SKIP for a well-formed message that carries
 * nothing for us (another family, a cached clone, another message type), or
 * a negative errno (-EBADMSG: malformed or truncated). */
#define NL_ROUTE_SKIP 1

/* The room nl_encode_route needs for one message. */
#define NL_ROUTE_MSG_MAX 256

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

struct nlmsghdr;

/* The messages of one read (a datagram holds one or more), in order. */
struct nl_msgs {
	const uint8_t *at;
	size_t left;
};

/* The next message, whole within what is left (nlmsg_len at least a header
 * and no more than left), stepping past it and its padding. NULL at the end,
 * or before bytes that are no whole message: then left > 0 (malformed).
 * libmnl's mnl_nlmsg_ok compares nlmsg_len as an int and lets a length of
 * 2^31 or more through; walk with this instead. */
const struct nlmsghdr *nl_msgs_next(struct nl_msgs *m);

/* The errno an NLMSG_ERROR or NLMSG_DONE carries, as read: 0 or -1..-4095
 * (the kernel's range); anything else is a malformed message, -EBADMSG. */
int nl_error_code(int32_t code);

/* nl_dump_read's results: read on, or the dump ended (NLMSG_DONE). */
#define NL_DUMP_MORE 0
#define NL_DUMP_DONE 1

typedef void (*nl_dump_fn)(const struct nlmsghdr *nlh, void *ctx);

/* One read of the replies to dump request seq from port portid: fn gets
 * each message of the dump, in order; messages of another request (seq or
 * port) are skipped; *intr is set when one carries NLM_F_DUMP_INTR (the
 * kernel saw its data change while it dumped). Returns NL_DUMP_MORE,
 * NL_DUMP_DONE, or a negative errno: the one an NLMSG_ERROR or the
 * NLMSG_DONE carries, -EBADMSG for bytes that are no whole message (the
 * messages before them were handed to fn). */
int nl_dump_read(const void *buf, size_t len, uint32_t seq, uint32_t portid,
		 nl_dump_fn fn, void *ctx, bool *intr);

/* RTM_NEWROUTE / RTM_DELROUTE. rt->nexthops is allocated (free it with
 * nl_kroute_release); *nh_id receives RTA_NH_ID (0: none). The nexthops are
 * the ones in the message (RTA_MULTIPATH, or RTA_GATEWAY/RTA_VIA/RTA_OIF). */
int nl_decode_route(const void *buf, size_t len, struct kroute *rt, uint32_t *nh_id);
void nl_kroute_release(struct kroute *rt);
/* The table of a route message (RTM_NEWROUTE / RTM_DELROUTE) into *table:
 * RTA_TABLE where it has one (the kernel always adds it; rtm_table is then
 * RT_TABLE_COMPAT for a table above 255), else rtm_table. 0, NL_ROUTE_SKIP
 * for another message type, or -EBADMSG (*table is then 0). */
int nl_route_table_of(const void *buf, size_t len, uint32_t *table);
/* Whether a message heard while the routes of table were dumped (0: of every
 * table) makes that dump torn, i.e. may have made the kernel skip or repeat
 * some of them: a route of that table (or of one the kernel walks with it:
 * the same slot of its table hash, main with local), a nexthop object's
 * change (routes of any table use it), and anything malformed or unknown.
 * A route of another table does not (docs/design.md, "Torn dumps"). */
bool nl_route_tears_dump(const void *buf, size_t len, uint32_t table);
/* RTM_NEWNEXTHOP / RTM_DELNEXTHOP. Free with nl_nexthop_release. */
int nl_decode_nexthop(const void *buf, size_t len, struct nl_nexthop *nh);
void nl_nexthop_release(struct nl_nexthop *nh);
/* RTM_NEWLINK / RTM_DELLINK. */
int nl_decode_link(const void *buf, size_t len, struct nl_link *link);
/* RTM_NEWADDR / RTM_DELADDR (IPv4 and IPv6). */
int nl_decode_addr(const void *buf, size_t len, struct nl_addr *addr);

/* Writes one request for a route change into buf (size bytes, at least
 * NL_ROUTE_MSG_MAX) with NLM_F_REQUEST|NLM_F_ACK and seq. add: RTM_NEWROUTE
 * CREATE|EXCL, or CREATE|REPLACE when rs->replace; else RTM_DELROUTE.
 * Returns the message length, -ENOSPC when it does not fit, -EINVAL for a
 * bad spec. */
int nl_encode_route(void *buf, size_t size, bool add, const struct route_spec *rs,
		    uint32_t seq);

#endif
