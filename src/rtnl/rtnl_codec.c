/* rtnl_codec.c: rtnetlink messages to and from plain structs. See
 * rtnl_codec.h. The decoders are strict: every attribute is walked with
 * explicit length checks (mnl_attr_parse would stop silently at a bad one),
 * and every attribute we use is validated before it is read. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "rtnl_codec.h"
#include "vec.h"

#define BAD (-EBADMSG)

/* ---------------------------------------------------------------------- */
/* Attribute walking and validation                                        */

/* Fills tb[type] for each attribute in [start, start + len). Any attribute
 * that does not fit, or bytes left over after the last one, reject the whole
 * message. Types above max are ignored (newer kernels add attributes). */
static int attrs_parse(const void *start, size_t len, const struct nlattr **tb,
		       unsigned max)
{
	const char *p = start;
	size_t left = len;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (left >= sizeof(struct nlattr)) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step;

		/* Not mnl_attr_ok: it takes left as an int. */
		if (a->nla_len < sizeof(*a) || a->nla_len > left)
			return BAD;
		if (mnl_attr_get_type(a) <= max)
			tb[mnl_attr_get_type(a)] = a;
		step = MNL_ALIGN(a->nla_len);
		if (step > left)
			step = left;
		p += step;
		left -= step;
	}
	return left == 0 ? 0 : BAD;
}

static int attrs_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
			      unsigned max)
{
	return attrs_parse(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), tb,
			   max);
}

static int attr_u32(const struct nlattr *a, uint32_t *out)
{
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return BAD;
	*out = mnl_attr_get_u32(a);
	return 0;
}

/* An interface index (RTA_OIF, NHA_OIF): the kernel's are positive ints,
 * and 0 names none; one above INT_MAX would read as a negative index. */
static int attr_ifindex(const struct nlattr *a, int *out)
{
	uint32_t v;

	if (attr_u32(a, &v) || v > INT_MAX)
		return BAD;
	*out = (int)v;
	return 0;
}

/* An address attribute of the given family: exactly 4 or 16 bytes. */
static int attr_addr(const struct nlattr *a, int family, struct prefix *out)
{
	size_t alen = prefix_family_bits(family) / 8;

	if (alen == 0 || mnl_attr_validate2(a, MNL_TYPE_BINARY, alen) < 0)
		return BAD;
	addr_from_bytes(out, family, mnl_attr_get_payload(a));
	return 0;
}

/* RTA_VIA: struct rtvia, a family and an address of that family. */
static int attr_via(const struct nlattr *a, struct prefix *out)
{
	const struct rtvia *via;
	size_t alen;

	if (mnl_attr_get_payload_len(a) < sizeof(struct rtvia))
		return BAD;
	via = mnl_attr_get_payload(a);
	alen = prefix_family_bits(via->rtvia_family) / 8;
	if (alen == 0 || mnl_attr_get_payload_len(a) != sizeof(struct rtvia) + alen)
		return BAD;
	addr_from_bytes(out, via->rtvia_family, via->rtvia_addr);
	return 0;
}

/* Copies a string attribute (NUL-terminated or not) into out. */
static int attr_string(const struct nlattr *a, char *out, size_t size)
{
	size_t n = mnl_attr_get_payload_len(a);
	const char *s = mnl_attr_get_payload(a);

	n = strnlen(s, n);
	if (n >= size)
		return BAD;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* The message at p is whole within left bytes: the rule of the decoders and
 * of nl_msgs_next. */
static bool msg_whole(const void *p, size_t left)
{
	const struct nlmsghdr *nlh = p;

	return left >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= left;
}

const struct nlmsghdr *nl_msgs_next(struct nl_msgs *m)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)m->at;
	size_t step;

	if (!msg_whole(m->at, m->left))
		return NULL;
	step = MNL_ALIGN((size_t)nlh->nlmsg_len);
	if (step > m->left)
		step = m->left;
	m->at += step;
	m->left -= step;
	return nlh;
}

int nl_error_code(int32_t code)
{
	return code <= 0 && code >= -4095 ? code : BAD;
}

int nl_dump_read(const void *buf, size_t len, uint32_t seq, uint32_t portid,
		 nl_dump_fn fn, void *ctx, bool *intr)
{
	struct nl_msgs m = {buf, len};
	const struct nlmsghdr *nlh;

	while ((nlh = nl_msgs_next(&m))) {
		const void *payload = (const char *)nlh + MNL_NLMSG_HDRLEN;
		size_t plen = nlh->nlmsg_len - sizeof(*nlh);
		int32_t code = 0;

		/* A late part of an earlier request (flushed before each one,
		 * so only what raced the flush). */
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
			continue;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			*intr = true;
		switch (nlh->nlmsg_type) {
		case NLMSG_DONE:
			/* Its payload, where there is one, is the dump's
			 * outcome: 0, or the negative errno it stopped with. */
			if (plen >= sizeof(code))
				memcpy(&code, payload, sizeof(code));
			code = nl_error_code(code);
			return code < 0 ? code : NL_DUMP_DONE;
		case NLMSG_ERROR:
			if (plen < sizeof(struct nlmsgerr))
				return BAD;
			memcpy(&code, payload, sizeof(code));
			code = nl_error_code(code);
			if (code < 0)
				return code;
			continue; /* an ack: no part of a dump */
		case NLMSG_NOOP:
		case NLMSG_OVERRUN:
			continue;
		default:
			fn(nlh, ctx);
		}
	}
	return m.left ? BAD : NL_DUMP_MORE;
}

/* The message must be whole within len and hold the family header. */
static int msg_check(const void *buf, size_t len, size_t hdr)
{
	const struct nlmsghdr *nlh = buf;

	if (!buf || !msg_whole(buf, len))
		return BAD;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(hdr))
		return BAD;
	return 0;
}

static int msg_attrs(const struct nlmsghdr *nlh, size_t hdr, const struct nlattr **tb,
		     unsigned max)
{
	const char *start = (const char *)mnl_nlmsg_get_payload(nlh) + MNL_ALIGN(hdr);

	return attrs_parse(start, nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(hdr), tb,
			   max);
}

/* ---------------------------------------------------------------------- */
/* Route decoder                                                           */

static int hop_from_attrs(const struct nlattr **tb, int family, struct knexthop *hop)
{
	if (tb[RTA_GATEWAY])
		return attr_addr(tb[RTA_GATEWAY], family, &hop->gw);
	if (tb[RTA_VIA])
		return attr_via(tb[RTA_VIA], &hop->gw);
	return 0;
}

/* RTA_MULTIPATH: a struct rtnexthop per hop, each followed by its own
 * attributes. */
static int route_multipath(const struct nlattr *mp, int family, struct kroute *rt)
{
	const char *p = mnl_attr_get_payload(mp);
	size_t left = mnl_attr_get_payload_len(mp), cap = 0;

	while (left > 0) {
		const struct rtnexthop *rtnh = (const struct rtnexthop *)p;
		const struct nlattr *tb[RTA_MAX + 1];
		struct knexthop hop = {0};
		size_t step;
		int err;

		if (left < sizeof(*rtnh) || rtnh->rtnh_len < sizeof(*rtnh) ||
		    rtnh->rtnh_len > left || rtnh->rtnh_ifindex < 0)
			return BAD;
		err = attrs_parse((const char *)rtnh + sizeof(*rtnh),
				  rtnh->rtnh_len - sizeof(*rtnh), tb, RTA_MAX);
		if (!err)
			err = hop_from_attrs(tb, family, &hop);
		if (err)
			return err;
		hop.oif = rtnh->rtnh_ifindex;
		if (vec_push(rt->nexthops, rt->n_nexthops, cap, hop))
			return -ENOMEM;
		step = RTNH_ALIGN(rtnh->rtnh_len);
		if (step > left)
			step = left;
		p += step;
		left -= step;
	}
	return rt->n_nexthops > 0 ? 0 : BAD;
}

static int route_hops(const struct nlattr **tb, int family, struct kroute *rt)
{
	int oif = 0;

	if (tb[RTA_MULTIPATH])
		return route_multipath(tb[RTA_MULTIPATH], family, rt);
	if (tb[RTA_OIF] && attr_ifindex(tb[RTA_OIF], &oif))
		return BAD;
	if (!tb[RTA_OIF] && !tb[RTA_GATEWAY] && !tb[RTA_VIA])
		return 0;
	rt->nexthops = calloc(1, sizeof(*rt->nexthops));
	if (!rt->nexthops)
		return -ENOMEM;
	rt->n_nexthops = 1;
	rt->nexthops[0].oif = oif;
	return hop_from_attrs(tb, family, &rt->nexthops[0]);
}

static int route_fields(const struct nlmsghdr *nlh, struct kroute *rt, uint32_t *nh_id)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1];
	int family = rtm->rtm_family;
	int err;

	if (family != AF_INET && family != AF_INET6)
		return NL_ROUTE_SKIP;
	err = msg_attrs(nlh, sizeof(*rtm), tb, RTA_MAX);
	if (err)
		return err;
	if (rtm->rtm_dst_len > prefix_family_bits(family))
		return BAD;
	rt->dst.family = (uint8_t)family;
	if (tb[RTA_DST]) {
		if (attr_addr(tb[RTA_DST], family, &rt->dst))
			return BAD;
	} else if (rtm->rtm_dst_len != 0) {
		return BAD;
	}
	rt->dst.len = rtm->rtm_dst_len;
	prefix_normalise(&rt->dst);
	rt->table = rtm->rtm_table;
	if (tb[RTA_TABLE] && attr_u32(tb[RTA_TABLE], &rt->table))
		return BAD;
	if (tb[RTA_PRIORITY] && attr_u32(tb[RTA_PRIORITY], &rt->metric))
		return BAD;
	if (tb[RTA_NH_ID] && attr_u32(tb[RTA_NH_ID], nh_id))
		return BAD;
	rt->protocol = rtm->rtm_protocol;
	rt->type = rtm->rtm_type;
	rt->tos = rtm->rtm_tos;
	err = route_hops(tb, family, rt);
	if (err)
		return err;
	/* Cached clones (IPv6 exceptions, when asked for) are not routes. */
	return (rtm->rtm_flags & RTM_F_CLONED) ? NL_ROUTE_SKIP : 0;
}

void nl_kroute_release(struct kroute *rt)
{
	free(rt->nexthops);
	rt->nexthops = NULL;
	rt->n_nexthops = 0;
}

int nl_decode_route(const void *buf, size_t len, struct kroute *rt, uint32_t *nh_id)
{
	const struct nlmsghdr *nlh = buf;
	int err;

	memset(rt, 0, sizeof(*rt));
	*nh_id = 0;
	err = msg_check(buf, len, sizeof(struct rtmsg));
	if (err)
		return err;
	if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
		return NL_ROUTE_SKIP;
	err = route_fields(nlh, rt, nh_id);
	if (err)
		nl_kroute_release(rt);
	return err;
}

int nl_route_table_of(const void *buf, size_t len, uint32_t *table)
{
	const struct nlmsghdr *nlh = buf;
	const struct rtmsg *rtm;
	const struct nlattr *tb[RTA_MAX + 1];
	int err;

	*table = 0;
	err = msg_check(buf, len, sizeof(struct rtmsg));
	if (err)
		return err;
	if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
		return NL_ROUTE_SKIP;
	rtm = mnl_nlmsg_get_payload(nlh);
	err = msg_attrs(nlh, sizeof(*rtm), tb, RTA_MAX);
	if (err)
		return err;
	/* As the kernel reads a request, and as nl_decode_route does. */
	*table = rtm->rtm_table;
	if (tb[RTA_TABLE] && attr_u32(tb[RTA_TABLE], table)) {
		*table = 0;
		return BAD;
	}
	return 0;
}

/* Whether the kernel's dump of every table (inet_dump_fib, inet6_dump_fib)
 * can skip or repeat routes of table t when a route of table u changes. The
 * walk of one table resumes within that table (IPv4 by key in its trie, IPv6
 * by a count that only a change of that table's tree resets), and the
 * tables are taken in turn from a hash of 256 chains, resumed by position
 * within a chain: so u tears t when it is t, when it shares t's chain (the
 * first route of a new table u puts u at the head of the chain and shifts
 * the position), and for main and local, which share one IPv4 trie while
 * there are no policy rules (a leaf's routes of both are counted together). */
static bool tables_walk_together(uint32_t t, uint32_t u)
{
	if (t == u || ((t ^ u) & 0xff) == 0)
		return true;
	return (t == RT_TABLE_MAIN && u == RT_TABLE_LOCAL) ||
	       (t == RT_TABLE_LOCAL && u == RT_TABLE_MAIN);
}

bool nl_route_tears_dump(const void *buf, size_t len, uint32_t table)
{
	const struct nlmsghdr *nlh = buf;
	uint32_t of;

	if (!table || !msg_whole(buf, len))
		return true;
	switch (nlh->nlmsg_type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		/* 0 is no table the kernel names: make nothing of it. */
		return nl_route_table_of(buf, len, &of) != 0 || !of ||
		       tables_walk_together(table, of);
	default:
		/* A nexthop object's change changes the routes through it, in
		 * any table; and what we do not know, we fear. */
		return true;
	}
}

/* ---------------------------------------------------------------------- */
/* Nexthop, link and address decoders                                      */

void nl_nexthop_release(struct nl_nexthop *nh)
{
	free(nh->group);
	nh->group = NULL;
	nh->n_group = 0;
}

static int nexthop_group(const struct nlattr *a, struct nl_nexthop *nh)
{
	size_t plen = mnl_attr_get_payload_len(a);
	const struct nexthop_grp *g = mnl_attr_get_payload(a);
	size_t n = plen / sizeof(*g);

	if (plen == 0 || plen % sizeof(*g) != 0)
		return BAD;
	nh->group = calloc(n, sizeof(*nh->group));
	if (!nh->group)
		return -ENOMEM;
	nh->n_group = n;
	for (size_t i = 0; i < n; i++) {
		nh->group[i].id = g[i].id;
		/* Wire weight is weight - 1; newer kernels put the high byte
		 * of a 16-bit weight in the byte after it (resvd1 in older
		 * headers, weight_high in newer ones). */
		const uint8_t *raw = (const uint8_t *)&g[i];
		uint8_t high = raw[offsetof(struct nexthop_grp, weight) + 1];

		nh->group[i].weight = (uint16_t)(((high << 8) | g[i].weight) + 1);
	}
	return 0;
}

static int nexthop_fields(const struct nlmsghdr *nlh, struct nl_nexthop *nh)
{
	const struct nhmsg *nhm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NHA_MAX + 1];
	int err = msg_attrs(nlh, sizeof(*nhm), tb, NHA_MAX);

	if (err)
		return err;
	if (!tb[NHA_ID] || attr_u32(tb[NHA_ID], &nh->id) || nh->id == 0)
		return BAD;
	nh->family = nhm->nh_family;
	if (tb[NHA_BLACKHOLE]) {
		if (mnl_attr_validate(tb[NHA_BLACKHOLE], MNL_TYPE_FLAG) < 0)
			return BAD;
		nh->blackhole = true;
	}
	if (tb[NHA_OIF] && attr_ifindex(tb[NHA_OIF], &nh->oif))
		return BAD;
	if (tb[NHA_GATEWAY] && attr_addr(tb[NHA_GATEWAY], nhm->nh_family, &nh->gw))
		return BAD;
	if (tb[NHA_GROUP])
		return nexthop_group(tb[NHA_GROUP], nh);
	return 0;
}

int nl_decode_nexthop(const void *buf, size_t len, struct nl_nexthop *nh)
{
	const struct nlmsghdr *nlh = buf;
	int err;

	memset(nh, 0, sizeof(*nh));
	err = msg_check(buf, len, sizeof(struct nhmsg));
	if (err)
		return err;
	if (nlh->nlmsg_type != RTM_NEWNEXTHOP && nlh->nlmsg_type != RTM_DELNEXTHOP)
		return NL_ROUTE_SKIP;
	err = nexthop_fields(nlh, nh);
	if (err)
		nl_nexthop_release(nh);
	return err;
}

static int link_kind(const struct nlattr *info, struct nl_link *link)
{
	const struct nlattr *tb[IFLA_INFO_MAX + 1];

	if (attrs_parse_nested(info, tb, IFLA_INFO_MAX))
		return BAD;
	if (tb[IFLA_INFO_KIND])
		return attr_string(tb[IFLA_INFO_KIND], link->kind, sizeof(link->kind));
	return 0;
}

int nl_decode_link(const void *buf, size_t len, struct nl_link *link)
{
	const struct nlmsghdr *nlh = buf;
	const struct ifinfomsg *ifi;
	const struct nlattr *tb[IFLA_MAX + 1];
	int err;

	memset(link, 0, sizeof(*link));
	err = msg_check(buf, len, sizeof(*ifi));
	if (err)
		return err;
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return NL_ROUTE_SKIP;
	ifi = mnl_nlmsg_get_payload(nlh);
	err = msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX);
	if (err)
		return err;
	if (ifi->ifi_index <= 0)
		return BAD;
	link->ifindex = ifi->ifi_index;
	link->flags = ifi->ifi_flags;
	link->up = (ifi->ifi_flags & IFF_UP) != 0;
	link->running = (ifi->ifi_flags & IFF_RUNNING) != 0;
	if (tb[IFLA_IFNAME] &&
	    (mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0 ||
	     attr_string(tb[IFLA_IFNAME], link->name, sizeof(link->name))))
		return BAD;
	if (tb[IFLA_LINKINFO] && link_kind(tb[IFLA_LINKINFO], link))
		return BAD;
	/* Bridge port messages (AF_BRIDGE) repeat links we already know. */
	return ifi->ifi_family == AF_UNSPEC ? 0 : NL_ROUTE_SKIP;
}

int nl_decode_addr(const void *buf, size_t len, struct nl_addr *addr)
{
	const struct nlmsghdr *nlh = buf;
	const struct ifaddrmsg *ifa;
	const struct nlattr *tb[IFA_MAX + 1];
	const struct nlattr *a;
	int err;

	memset(addr, 0, sizeof(*addr));
	err = msg_check(buf, len, sizeof(*ifa));
	if (err)
		return err;
	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return NL_ROUTE_SKIP;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return NL_ROUTE_SKIP;
	err = msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX);
	if (err)
		return err;
	if (ifa->ifa_prefixlen > prefix_family_bits(ifa->ifa_family) ||
	    ifa->ifa_index == 0 || ifa->ifa_index > INT_MAX)
		return BAD;
	/* IFA_LOCAL is our end of a point-to-point link; IFA_ADDRESS the peer. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || attr_addr(a, ifa->ifa_family, &addr->addr))
		return BAD;
	addr->addr.len = ifa->ifa_prefixlen;
	addr->ifindex = (int)ifa->ifa_index;
	addr->flags = ifa->ifa_flags;
	if (tb[IFA_FLAGS] && attr_u32(tb[IFA_FLAGS], &addr->flags))
		return BAD;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Encoder                                                                 */

static bool spec_valid(const struct route_spec *rs)
{
	unsigned bits = prefix_family_bits(rs->dst.family);

	if (bits == 0 || rs->dst.len > bits || rs->oif < 0)
		return false;
	if (rs->gw.family == 0)
		return true;
	/* RTA_VIA exists for IPv4 routes only: IPv6 refuses it. */
	return rs->gw.family == AF_INET6 ||
	       (rs->gw.family == AF_INET && rs->dst.family == AF_INET);
}

static void put_gateway(struct nlmsghdr *nlh, const struct route_spec *rs)
{
	size_t alen = prefix_family_bits(rs->gw.family) / 8;
	/* struct rtvia ends in a flexible array: built as bytes. */
	uint8_t via[sizeof(struct rtvia) + 16];
	__kernel_sa_family_t family = rs->gw.family;

	if (rs->gw.family == rs->dst.family) {
		mnl_attr_put(nlh, RTA_GATEWAY, alen, rs->gw.addr);
		return;
	}
	/* A gateway of the other family: RTA_VIA (IPv4 via an IPv6 next hop). */
	memcpy(via + offsetof(struct rtvia, rtvia_family), &family, sizeof(family));
	memcpy(via + offsetof(struct rtvia, rtvia_addr), rs->gw.addr, alen);
	mnl_attr_put(nlh, RTA_VIA, sizeof(struct rtvia) + alen, via);
}

int nl_encode_route(void *buf, size_t size, bool add, const struct route_spec *rs,
		    uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!spec_valid(rs))
		return -EINVAL;
	if (size < NL_ROUTE_MSG_MAX)
		return -ENOSPC;
	/* libmnl 1.0.4 leaves attribute padding (RTA_VIA's) unwritten. */
	memset(buf, 0, NL_ROUTE_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	/* Without EXCL and REPLACE the kernel would append: an IPv6 route
	 * with a gateway becomes another next hop of one standing there. */
	if (add)
		nlh->nlmsg_flags |=
			NLM_F_CREATE | (rs->replace ? NLM_F_REPLACE : NLM_F_EXCL);
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = rs->dst.family;
	rtm->rtm_dst_len = rs->dst.len;
	rtm->rtm_tos = rs->tos;
	rtm->rtm_table = rs->table < 256 ? (uint8_t)rs->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = rs->protocol;
	rtm->rtm_type = RTN_UNICAST;
	/* A delete matches any scope; an add without gateway is on-link. */
	if (!add)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	else
		rtm->rtm_scope = rs->gw.family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	if (rs->dst.len > 0)
		mnl_attr_put(nlh, RTA_DST, prefix_family_bits(rs->dst.family) / 8,
			     rs->dst.addr);
	mnl_attr_put_u32(nlh, RTA_TABLE, rs->table);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, rs->metric);
	if (rs->oif > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)rs->oif);
	if (add && rs->gw.family)
		put_gateway(nlh, rs);
	return (int)nlh->nlmsg_len;
}
