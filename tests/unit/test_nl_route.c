/* test_nl_route: the rtnetlink decoders, the route encoder and the walk over
 * the messages of a read (rtnl_codec.h) against byte fixtures captured from
 * the kernel (tests/fixtures/rtnl, see its README), and against truncated,
 * malformed and randomly damaged variants of every one of them. Every
 * message is handed to a decoder in a heap buffer of exactly its length, so
 * that valgrind or AddressSanitizer see any read past it. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "rtnl_codec.h"
#include "testutil.h"

/* In the capture namespace (README): lo 1, vb 2, va 3. */
#define IF_VA	       3
#define RTPROT_BIRD_ID 12

/* ---------------------------------------------------------------------- */
/* Fixtures                                                                */

struct fixture {
	uint8_t *data;
	size_t len;
};

static struct fixture load(const char *name)
{
	char rel[256];
	struct fixture f = {0};

	snprintf(rel, sizeof(rel), "tests/fixtures/rtnl/%s", name);
	f.data = read_source_file(rel, &f.len);
	return f;
}

static void unload(struct fixture *f)
{
	free(f->data);
	f->data = NULL;
}

/* Offsets of the messages in f (checked to be well-formed as a stream). */
static size_t msg_offsets(const struct fixture *f, size_t *off, size_t max)
{
	size_t n = 0, o = 0;

	while (o < f->len) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(f->data + o);

		assert_true(f->len - o >= sizeof(*nlh));
		assert_true(nlh->nlmsg_len >= sizeof(*nlh) &&
			    nlh->nlmsg_len <= f->len - o);
		assert_true(n < max);
		off[n++] = o;
		o += MNL_ALIGN(nlh->nlmsg_len);
	}
	return n;
}

/* Message i of f in a buffer of exactly its length. */
static uint8_t *msg_copy(const struct fixture *f, size_t i, size_t *len)
{
	size_t off[64];
	size_t n = msg_offsets(f, off, 64);
	const struct nlmsghdr *nlh;
	uint8_t *m;

	assert_true(i < n);
	nlh = (const struct nlmsghdr *)(f->data + off[i]);
	*len = nlh->nlmsg_len;
	m = malloc(*len);
	assert_non_null(m);
	memcpy(m, nlh, *len);
	return m;
}

static size_t msg_count(const struct fixture *f)
{
	size_t off[64];

	return msg_offsets(f, off, 64);
}

static uint16_t msg_type(const void *m)
{
	return ((const struct nlmsghdr *)m)->nlmsg_type;
}

/* The family header that follows the netlink header, by message type. */
static size_t family_hdr_len(uint16_t type)
{
	switch (type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return sizeof(struct rtmsg);
	case RTM_NEWNEXTHOP:
	case RTM_DELNEXTHOP:
		return sizeof(struct nhmsg);
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return sizeof(struct ifinfomsg);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return sizeof(struct ifaddrmsg);
	}
	fail_msg("unexpected message type %u", type);
	return 0;
}

/* Hands buf to the decoder of type (not the type in buf, which may be cut
 * off), releases what it allocated, and returns its result. When the result
 * is 0, checks that the decoded values are within their ranges. */
static int decode_any(uint16_t type, const void *buf, size_t len)
{
	struct kroute rt;
	struct nl_nexthop nh;
	struct nl_link link;
	struct nl_addr addr;
	uint32_t nh_id;
	int r;

	switch (type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		r = nl_decode_route(buf, len, &rt, &nh_id);
		if (r == 0) {
			assert_true(rt.dst.family == AF_INET ||
				    rt.dst.family == AF_INET6);
			assert_true(rt.dst.len <= prefix_family_bits(rt.dst.family));
			assert_true(rt.n_nexthops == 0 || rt.nexthops);
			for (size_t i = 0; i < rt.n_nexthops; i++)
				assert_true(rt.nexthops[i].gw.family == 0 ||
					    rt.nexthops[i].gw.family == AF_INET ||
					    rt.nexthops[i].gw.family == AF_INET6);
		} else {
			assert_null(rt.nexthops);
		}
		nl_kroute_release(&rt);
		return r;
	case RTM_NEWNEXTHOP:
	case RTM_DELNEXTHOP:
		r = nl_decode_nexthop(buf, len, &nh);
		if (r == 0)
			assert_true(nh.id != 0);
		else
			assert_null(nh.group);
		nl_nexthop_release(&nh);
		return r;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		r = nl_decode_link(buf, len, &link);
		if (r == 0) {
			assert_true(link.ifindex > 0);
			assert_true(strlen(link.name) < sizeof(link.name));
			assert_true(strlen(link.kind) < sizeof(link.kind));
		}
		return r;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		r = nl_decode_addr(buf, len, &addr);
		if (r == 0)
			assert_true(addr.addr.len <=
				    prefix_family_bits(addr.addr.family));
		return r;
	}
	fail_msg("unexpected message type %u", type);
	return 0;
}

static const char *const all_fixtures[] = {
	"link-veth-new.bin",
	"link-up.bin",
	"link-down.bin",
	"addr4-new.bin",
	"addr6-new.bin",
	"addr4-del.bin",
	"route4-gw.bin",
	"route6-gw.bin",
	"route4-via6.bin",
	"route4-multipath.bin",
	"route6-multipath.bin",
	"route4-table1000.bin",
	"route6-table1000.bin",
	"route4-default.bin",
	"route4-blackhole.bin",
	"route6-unreachable.bin",
	"route4-nogw.bin",
	"nexthop4.bin",
	"nexthop6.bin",
	"nexthop-dev.bin",
	"nexthop-group.bin",
	"nexthop-blackhole.bin",
	"route4-nhid.bin",
	"route6-nhid-group.bin",
	"route4-nhid-group6.bin",
	"route4-nhid-blackhole.bin",
	"dump-link.bin",
	"dump-addr.bin",
	"dump-route4.bin",
	"dump-route6.bin",
	"dump-nexthop.bin",
	"route4-gw-del.bin",
	"route6-multipath-hop-del.bin",
	"nexthop-group-del.bin",
};
#define N_FIXTURES (sizeof(all_fixtures) / sizeof(all_fixtures[0]))

/* Calls fn for every message of every fixture. */
static void for_each_message(void (*fn)(const char *name, size_t i, const uint8_t *m,
					size_t len))
{
	for (size_t k = 0; k < N_FIXTURES; k++) {
		struct fixture f = load(all_fixtures[k]);
		size_t n = msg_count(&f);

		for (size_t i = 0; i < n; i++) {
			size_t len;
			uint8_t *m = msg_copy(&f, i, &len);

			fn(all_fixtures[k], i, m, len);
			free(m);
		}
		unload(&f);
	}
}

/* ---------------------------------------------------------------------- */
/* Decoding the fixtures                                                   */

static void decode_route_fixture(const char *name, size_t i, struct kroute *rt,
				 uint32_t *nh_id, uint16_t *type)
{
	struct fixture f = load(name);
	size_t len;
	uint8_t *m = msg_copy(&f, i, &len);

	*type = msg_type(m);
	assert_int_equal(nl_decode_route(m, len, rt, nh_id), 0);
	free(m);
	unload(&f);
}

static void assert_prefix(const struct prefix *got, const char *want)
{
	char buf[PREFIX_STRLEN];
	struct prefix w = P(want);

	if (!prefix_equal(got, &w))
		fail_msg("got %s, want %s", prefix_format(got, buf), want);
}

static void assert_hop(const struct knexthop *hop, const char *gw, int oif)
{
	char buf[PREFIX_STRLEN];

	assert_int_equal(hop->oif, oif);
	if (!gw) {
		assert_int_equal(hop->gw.family, 0);
		return;
	}
	struct prefix w = A(gw);
	if (!prefix_equal(&hop->gw, &w))
		fail_msg("gateway %s, want %s", addr_format(&hop->gw, buf), gw);
}

static void test_route4_gateway(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	decode_route_fixture("route4-gw.bin", 0, &rt, &nh_id, &type);
	assert_int_equal(type, RTM_NEWROUTE);
	assert_prefix(&rt.dst, "198.51.100.0/24");
	assert_int_equal(rt.table, RT_TABLE_MAIN);
	assert_int_equal(rt.protocol, RTPROT_STATIC);
	assert_int_equal(rt.type, RTN_UNICAST);
	assert_int_equal(rt.metric, 100);
	assert_int_equal(rt.tos, 0);
	assert_int_equal(nh_id, 0);
	assert_int_equal(rt.n_nexthops, 1);
	assert_hop(&rt.nexthops[0], "192.0.2.2", IF_VA);
	nl_kroute_release(&rt);
	assert_null(rt.nexthops);
	assert_int_equal(rt.n_nexthops, 0);
}

static void test_route6_gateway(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	decode_route_fixture("route6-gw.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "2001:db8:100::/48");
	assert_int_equal(rt.table, RT_TABLE_MAIN);
	assert_int_equal(rt.protocol, RTPROT_STATIC);
	assert_int_equal(rt.type, RTN_UNICAST);
	assert_int_equal(rt.metric, 512);
	assert_int_equal(nh_id, 0);
	assert_int_equal(rt.n_nexthops, 1);
	assert_hop(&rt.nexthops[0], "fe80::2", IF_VA);
	nl_kroute_release(&rt);
}

static void test_route4_via_inet6(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	decode_route_fixture("route4-via6.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "203.0.113.0/24");
	assert_int_equal(rt.protocol, RTPROT_BIRD_ID);
	assert_int_equal(rt.metric, 0);
	assert_int_equal(rt.n_nexthops, 1);
	assert_hop(&rt.nexthops[0], "fe80::2", IF_VA);
	assert_int_equal(rt.nexthops[0].gw.family, AF_INET6);
	nl_kroute_release(&rt);
}

static void test_route4_multipath(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	decode_route_fixture("route4-multipath.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "198.51.100.128/25");
	assert_int_equal(rt.protocol, 98);
	assert_int_equal(nh_id, 0);
	assert_int_equal(rt.n_nexthops, 2);
	assert_hop(&rt.nexthops[0], "192.0.2.2", IF_VA);
	assert_hop(&rt.nexthops[1], "fe80::3", IF_VA); /* RTA_VIA inside the hop */
	nl_kroute_release(&rt);
}

static void test_route6_multipath(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	decode_route_fixture("route6-multipath.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "2001:db8:200::/48");
	assert_int_equal(rt.protocol, RTPROT_BIRD_ID);
	assert_int_equal(rt.metric, 1024);
	assert_int_equal(rt.n_nexthops, 2);
	assert_hop(&rt.nexthops[0], "fe80::2", IF_VA);
	assert_hop(&rt.nexthops[1], "fe80::3", IF_VA);
	nl_kroute_release(&rt);
}

static void test_route_table_above_255(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	decode_route_fixture("route4-table1000.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "198.51.100.64/26");
	assert_int_equal(rt.table, 1000);
	assert_int_equal(rt.protocol, 98);
	assert_int_equal(rt.metric, 7);
	assert_hop(&rt.nexthops[0], "192.0.2.2", IF_VA);
	nl_kroute_release(&rt);

	decode_route_fixture("route6-table1000.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "2001:db8:1000::/64");
	assert_int_equal(rt.table, 1000);
	assert_int_equal(rt.protocol, 98);
	assert_int_equal(rt.metric, 1024);
	assert_int_equal(rt.n_nexthops, 1);
	assert_hop(&rt.nexthops[0], NULL, IF_VA);
	nl_kroute_release(&rt);
}

static void test_route_default_and_types(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	decode_route_fixture("route4-default.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "0.0.0.0/0");
	assert_int_equal(rt.table, 100);
	assert_int_equal(rt.protocol, RTPROT_BOOT);
	assert_hop(&rt.nexthops[0], "192.0.2.254", IF_VA);
	nl_kroute_release(&rt);

	decode_route_fixture("route4-blackhole.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "203.0.113.64/26");
	assert_int_equal(rt.type, RTN_BLACKHOLE);
	assert_int_equal(rt.protocol, RTPROT_STATIC);
	assert_int_equal(rt.n_nexthops, 0);
	nl_kroute_release(&rt);

	decode_route_fixture("route6-unreachable.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "2001:db8:dead::/48");
	assert_int_equal(rt.type, RTN_UNREACHABLE);
	assert_int_equal(rt.metric, 9);
	assert_int_equal(rt.n_nexthops, 1);
	assert_hop(&rt.nexthops[0], NULL, 1); /* dev lo */
	nl_kroute_release(&rt);

	decode_route_fixture("route4-nogw.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "203.0.113.192/27");
	assert_int_equal(rt.protocol, 98);
	assert_int_equal(rt.n_nexthops, 1);
	assert_hop(&rt.nexthops[0], NULL, IF_VA);
	nl_kroute_release(&rt);
}

static void test_route_nh_id(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	/* The compat hops come with the id; the backend resolves the id. */
	decode_route_fixture("route4-nhid.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "203.0.113.128/25");
	assert_int_equal(nh_id, 10);
	assert_int_equal(rt.n_nexthops, 1);
	assert_hop(&rt.nexthops[0], "192.0.2.2", IF_VA);
	nl_kroute_release(&rt);

	decode_route_fixture("route6-nhid-group.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "2001:db8:300::/48");
	assert_int_equal(nh_id, 30);
	assert_int_equal(rt.protocol, RTPROT_BIRD_ID);
	assert_int_equal(rt.n_nexthops, 2);
	assert_hop(&rt.nexthops[0], "fe80::2", IF_VA);
	assert_hop(&rt.nexthops[1], "fe80::3", IF_VA);
	nl_kroute_release(&rt);

	decode_route_fixture("route4-nhid-group6.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "198.51.100.192/26");
	assert_int_equal(nh_id, 30);
	assert_int_equal(rt.n_nexthops, 2);
	assert_hop(&rt.nexthops[0], "fe80::2", IF_VA);
	assert_hop(&rt.nexthops[1], "fe80::3", IF_VA);
	nl_kroute_release(&rt);

	decode_route_fixture("route4-nhid-blackhole.bin", 0, &rt, &nh_id, &type);
	assert_prefix(&rt.dst, "198.51.100.32/27");
	assert_int_equal(nh_id, 40);
	assert_int_equal(rt.type, RTN_BLACKHOLE);
	nl_kroute_release(&rt);
}

static void test_route_deletes(void **state)
{
	struct kroute rt;
	uint32_t nh_id;
	uint16_t type;

	(void)state;
	decode_route_fixture("route4-gw-del.bin", 0, &rt, &nh_id, &type);
	assert_int_equal(type, RTM_DELROUTE);
	assert_prefix(&rt.dst, "198.51.100.0/24");
	assert_int_equal(rt.metric, 100);
	assert_hop(&rt.nexthops[0], "192.0.2.2", IF_VA);
	nl_kroute_release(&rt);

	/* Deleting one hop of an IPv6 multipath route names only that hop. */
	decode_route_fixture("route6-multipath-hop-del.bin", 0, &rt, &nh_id, &type);
	assert_int_equal(type, RTM_DELROUTE);
	assert_prefix(&rt.dst, "2001:db8:200::/48");
	assert_int_equal(rt.n_nexthops, 1);
	assert_hop(&rt.nexthops[0], "fe80::3", IF_VA);
	nl_kroute_release(&rt);

	/* Deleting a group: the nexthop first, then the IPv6 route only. */
	struct fixture f = load("nexthop-group-del.bin");
	size_t len;
	uint8_t *m;
	struct nl_nexthop nh;

	assert_int_equal(msg_count(&f), 2);
	m = msg_copy(&f, 0, &len);
	assert_int_equal(msg_type(m), RTM_DELNEXTHOP);
	assert_int_equal(nl_decode_nexthop(m, len, &nh), 0);
	assert_int_equal(nh.id, 30);
	nl_nexthop_release(&nh);
	free(m);
	m = msg_copy(&f, 1, &len);
	assert_int_equal(msg_type(m), RTM_DELROUTE);
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), 0);
	assert_prefix(&rt.dst, "2001:db8:300::/48");
	assert_int_equal(nh_id, 30);
	nl_kroute_release(&rt);
	free(m);
	unload(&f);
}

static void decode_nh_fixture(const char *name, struct nl_nexthop *nh)
{
	struct fixture f = load(name);
	size_t len;
	uint8_t *m = msg_copy(&f, 0, &len);

	assert_int_equal(msg_type(m), RTM_NEWNEXTHOP);
	assert_int_equal(nl_decode_nexthop(m, len, nh), 0);
	free(m);
	unload(&f);
}

static void test_nexthops(void **state)
{
	struct nl_nexthop nh;
	char buf[PREFIX_STRLEN];

	(void)state;
	decode_nh_fixture("nexthop4.bin", &nh);
	assert_int_equal(nh.id, 10);
	assert_int_equal(nh.family, AF_INET);
	assert_false(nh.blackhole);
	assert_int_equal(nh.oif, IF_VA);
	assert_string_equal(addr_format(&nh.gw, buf), "192.0.2.2");
	assert_int_equal(nh.n_group, 0);
	assert_null(nh.group);
	nl_nexthop_release(&nh);

	decode_nh_fixture("nexthop6.bin", &nh);
	assert_int_equal(nh.id, 11);
	assert_int_equal(nh.family, AF_INET6);
	assert_int_equal(nh.oif, IF_VA);
	assert_string_equal(addr_format(&nh.gw, buf), "fe80::2");
	nl_nexthop_release(&nh);

	decode_nh_fixture("nexthop-dev.bin", &nh);
	assert_int_equal(nh.id, 13);
	assert_int_equal(nh.oif, IF_VA);
	assert_int_equal(nh.gw.family, 0);
	nl_nexthop_release(&nh);

	decode_nh_fixture("nexthop-group.bin", &nh);
	assert_int_equal(nh.id, 30);
	assert_int_equal(nh.oif, 0);
	assert_int_equal(nh.gw.family, 0);
	assert_int_equal(nh.n_group, 2);
	assert_int_equal(nh.group[0].id, 11);
	assert_int_equal(nh.group[0].weight, 3);
	assert_int_equal(nh.group[1].id, 12);
	assert_int_equal(nh.group[1].weight, 1);
	nl_nexthop_release(&nh);
	assert_null(nh.group);

	decode_nh_fixture("nexthop-blackhole.bin", &nh);
	assert_int_equal(nh.id, 40);
	assert_true(nh.blackhole);
	assert_int_equal(nh.gw.family, 0);
	nl_nexthop_release(&nh);
}

static void test_links(void **state)
{
	struct fixture f = load("link-veth-new.bin");
	struct nl_link link;
	size_t len;
	uint8_t *m;

	(void)state;
	assert_int_equal(msg_count(&f), 2);
	m = msg_copy(&f, 0, &len);
	assert_int_equal(nl_decode_link(m, len, &link), 0);
	assert_int_equal(link.ifindex, 2);
	assert_string_equal(link.name, "vb");
	assert_string_equal(link.kind, "veth");
	assert_false(link.up);
	free(m);
	m = msg_copy(&f, 1, &len);
	assert_int_equal(nl_decode_link(m, len, &link), 0);
	assert_int_equal(link.ifindex, IF_VA);
	assert_string_equal(link.name, "va");
	assert_string_equal(link.kind, "veth");
	free(m);
	unload(&f);

	f = load("link-up.bin");
	m = msg_copy(&f, 0, &len);
	assert_int_equal(nl_decode_link(m, len, &link), 0);
	assert_int_equal(link.ifindex, IF_VA);
	assert_true(link.up);
	assert_false(link.running); /* vb is still down */
	assert_true(link.flags & IFF_UP);
	free(m);
	unload(&f);

	f = load("link-down.bin");
	m = msg_copy(&f, 0, &len);
	assert_int_equal(nl_decode_link(m, len, &link), 0);
	assert_int_equal(link.ifindex, IF_VA);
	assert_false(link.up);
	assert_false(link.running);
	free(m);
	unload(&f);

	f = load("dump-link.bin");
	assert_int_equal(msg_count(&f), 3);
	m = msg_copy(&f, 0, &len);
	assert_int_equal(nl_decode_link(m, len, &link), 0);
	assert_int_equal(link.ifindex, 1);
	assert_string_equal(link.name, "lo");
	assert_string_equal(link.kind, ""); /* no IFLA_LINKINFO */
	assert_true(link.up && link.running);
	free(m);
	m = msg_copy(&f, 2, &len);
	assert_int_equal(nl_decode_link(m, len, &link), 0);
	assert_string_equal(link.name, "va");
	assert_string_equal(link.kind, "veth");
	assert_true(link.up && link.running);
	free(m);
	unload(&f);
}

static void test_addresses(void **state)
{
	struct fixture f = load("addr4-new.bin");
	struct nl_addr addr;
	char buf[PREFIX_STRLEN];
	size_t len;
	uint8_t *m;

	(void)state;
	m = msg_copy(&f, 0, &len);
	assert_int_equal(nl_decode_addr(m, len, &addr), 0);
	assert_int_equal(addr.ifindex, IF_VA);
	assert_string_equal(prefix_format(&addr.addr, buf),
			    "192.0.2.1/24"); /* host bits kept */
	assert_true(addr.flags & IFA_F_PERMANENT);
	free(m);
	unload(&f);

	f = load("addr6-new.bin");
	m = msg_copy(&f, 0, &len);
	assert_int_equal(nl_decode_addr(m, len, &addr), 0);
	assert_int_equal(addr.ifindex, IF_VA);
	assert_string_equal(prefix_format(&addr.addr, buf), "2001:db8:1::1/64");
	assert_true(addr.flags & IFA_F_NODAD);
	free(m);
	unload(&f);

	f = load("addr4-del.bin");
	m = msg_copy(&f, 0, &len);
	assert_int_equal(msg_type(m), RTM_DELADDR);
	assert_int_equal(nl_decode_addr(m, len, &addr), 0);
	assert_string_equal(prefix_format(&addr.addr, buf), "192.0.2.99/24");
	assert_true(addr.flags & IFA_F_SECONDARY);
	free(m);
	unload(&f);

	f = load("dump-addr.bin");
	assert_int_equal(msg_count(&f), 5);
	size_t seen = 0;
	for (size_t i = 0; i < 5; i++) {
		m = msg_copy(&f, i, &len);
		assert_int_equal(nl_decode_addr(m, len, &addr), 0);
		prefix_format(&addr.addr, buf);
		seen += !strcmp(buf, "127.0.0.1/8") + !strcmp(buf, "::1/128") +
			!strcmp(buf, "192.0.2.1/24") + !strcmp(buf, "2001:db8:1::1/64") +
			!strcmp(buf, "fe80::1/64");
		free(m);
	}
	assert_int_equal(seen, 5);
	unload(&f);
}

/* Every route of the dumps decodes; the ones made above are there. */
static void test_dumps(void **state)
{
	static const char *const want4[] = {"198.51.100.0/24",	 "203.0.113.0/24",
					    "198.51.100.128/25", "198.51.100.64/26",
					    "0.0.0.0/0",	 "203.0.113.64/26",
					    "203.0.113.192/27",	 "203.0.113.128/25",
					    "198.51.100.192/26", "198.51.100.32/27"};
	static const char *const want6[] = {"2001:db8:100::/48", "2001:db8:200::/48",
					    "2001:db8:1000::/64", "2001:db8:dead::/48",
					    "2001:db8:300::/48"};
	const char *const *want[2] = {want4, want6};
	size_t n_want[2] = {10, 5};
	const char *files[2] = {"dump-route4.bin", "dump-route6.bin"};

	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		struct fixture f = load(files[fam]);
		size_t n = msg_count(&f), found = 0;
		bool local = false;

		for (size_t i = 0; i < n; i++) {
			struct kroute rt;
			uint32_t nh_id;
			char buf[PREFIX_STRLEN];
			size_t len;
			uint8_t *m = msg_copy(&f, i, &len);

			assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), 0);
			assert_int_equal(rt.dst.family, fam ? AF_INET6 : AF_INET);
			local |= rt.table == RT_TABLE_LOCAL;
			prefix_format(&rt.dst, buf);
			for (size_t k = 0; k < n_want[fam]; k++)
				found += !strcmp(buf, want[fam][k]) &&
					 rt.table != RT_TABLE_LOCAL;
			nl_kroute_release(&rt);
			free(m);
		}
		assert_int_equal(found, n_want[fam]);
		assert_true(local);
		unload(&f);
	}

	struct fixture f = load("dump-nexthop.bin");
	uint32_t ids[6];
	assert_int_equal(msg_count(&f), 6);
	for (size_t i = 0; i < 6; i++) {
		struct nl_nexthop nh;
		size_t len;
		uint8_t *m = msg_copy(&f, i, &len);

		assert_int_equal(nl_decode_nexthop(m, len, &nh), 0);
		ids[i] = nh.id;
		nl_nexthop_release(&nh);
		free(m);
	}
	assert_int_equal(ids[0], 10);
	assert_int_equal(ids[4], 30);
	assert_int_equal(ids[5], 40);
	unload(&f);
}

/* A decoder handed another kind of message says so without reading it. */
static void test_other_types_skipped(void **state)
{
	struct fixture fl = load("link-up.bin"), fr = load("route4-gw.bin");
	struct kroute rt;
	struct nl_nexthop nh;
	struct nl_addr addr;
	struct nl_link link;
	uint32_t nh_id;
	size_t len, rlen;
	uint8_t *m = msg_copy(&fl, 0, &len), *r = msg_copy(&fr, 0, &rlen);

	(void)state;
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), NL_ROUTE_SKIP);
	assert_null(rt.nexthops);
	assert_int_equal(nl_decode_nexthop(m, len, &nh), NL_ROUTE_SKIP);
	assert_int_equal(nl_decode_addr(m, len, &addr), NL_ROUTE_SKIP);
	assert_int_equal(nl_decode_link(r, rlen, &link), NL_ROUTE_SKIP);

	/* Another family: a link message of a bridge port, a route of
	 * AF_MPLS, an address of AF_PACKET. */
	((struct ifinfomsg *)NLMSG_DATA(m))->ifi_family = AF_BRIDGE;
	assert_int_equal(nl_decode_link(m, len, &link), NL_ROUTE_SKIP);
	((struct rtmsg *)NLMSG_DATA(r))->rtm_family = 28; /* AF_MPLS */
	assert_int_equal(nl_decode_route(r, rlen, &rt, &nh_id), NL_ROUTE_SKIP);
	assert_null(rt.nexthops);
	free(m);
	free(r);

	struct fixture fa = load("addr4-new.bin");
	m = msg_copy(&fa, 0, &len);
	((struct ifaddrmsg *)NLMSG_DATA(m))->ifa_family = AF_PACKET;
	assert_int_equal(nl_decode_addr(m, len, &addr), NL_ROUTE_SKIP);
	free(m);

	/* A cached IPv6 clone is not a route. */
	struct fixture f6 = load("route6-gw.bin");
	m = msg_copy(&f6, 0, &len);
	((struct rtmsg *)NLMSG_DATA(m))->rtm_flags |= RTM_F_CLONED;
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), NL_ROUTE_SKIP);
	assert_null(rt.nexthops);
	free(m);
	unload(&f6);
	unload(&fa);
	unload(&fl);
	unload(&fr);
}

/* ---------------------------------------------------------------------- */
/* Truncated and malformed variants                                        */

static void decode_null_and_tiny(void **state)
{
	struct kroute rt;
	struct nl_nexthop nh;
	struct nl_link link;
	struct nl_addr addr;
	uint32_t nh_id;

	(void)state;
	assert_int_equal(nl_decode_route(NULL, 0, &rt, &nh_id), -EBADMSG);
	assert_int_equal(nl_decode_nexthop(NULL, 100, &nh), -EBADMSG);
	assert_int_equal(nl_decode_link(NULL, 0, &link), -EBADMSG);
	assert_int_equal(nl_decode_addr(NULL, 0, &addr), -EBADMSG);
}

/* The buffer ends before the message does: always -EBADMSG. */
static void cut_buffer(const char *name, size_t i, const uint8_t *m, size_t len)
{
	uint16_t type = msg_type(m);

	for (size_t l = 0; l < len; l++) {
		uint8_t *cut = malloc(l ? l : 1);
		int r;

		assert_non_null(cut);
		memcpy(cut, m, l);
		r = decode_any(type, cut, l);
		if (r != -EBADMSG)
			fail_msg("%s message %zu cut to %zu of %zu bytes: %d", name, i, l,
				 len, r);
		free(cut);
	}
	/* The whole message decodes (0, or skipped for a local route). */
	assert_true(decode_any(type, m, len) >= 0);
}

static void test_truncated_buffer(void **state)
{
	(void)state;
	for_each_message(cut_buffer);
}

/* Where a message whose nlmsg_len says it ends at l is still well formed:
 * right after the family header, and at the end of each attribute with or
 * without its padding. */
static bool attr_boundary(const uint8_t *m, size_t len, size_t l)
{
	size_t o = NLMSG_HDRLEN + MNL_ALIGN(family_hdr_len(msg_type(m)));

	if (l == o)
		return true;
	while (o + sizeof(struct nlattr) <= len) {
		const struct nlattr *a = (const struct nlattr *)(m + o);

		if (l >= o + a->nla_len && l <= o + MNL_ALIGN(a->nla_len))
			return true;
		o += MNL_ALIGN(a->nla_len);
	}
	return false;
}

/* The message says it is shorter (nlmsg_len cut): -EBADMSG unless the cut
 * falls between two attributes, and never a crash. */
static void cut_nlmsg_len(const char *name, size_t i, const uint8_t *m, size_t len)
{
	uint16_t type = msg_type(m);

	for (size_t l = sizeof(struct nlmsghdr); l < len; l++) {
		uint8_t *cut = malloc(l);
		int r;

		assert_non_null(cut);
		memcpy(cut, m, l);
		((struct nlmsghdr *)cut)->nlmsg_len = (uint32_t)l;
		r = decode_any(type, cut, l);
		if (l < NLMSG_HDRLEN + MNL_ALIGN(family_hdr_len(type)) ||
		    !attr_boundary(m, len, l)) {
			if (r != -EBADMSG)
				fail_msg("%s message %zu, nlmsg_len %zu of %zu: %d", name,
					 i, l, len, r);
		} else {
			assert_true(r == 0 || r == NL_ROUTE_SKIP || r == -EBADMSG);
		}
		free(cut);
	}
}

static void test_truncated_nlmsg_len(void **state)
{
	(void)state;
	for_each_message(cut_nlmsg_len);
}

/* A copy of m that ends where an inaccessible page begins (give or take the
 * alignment to 4 bytes), so that reading past it faults in any build, not
 * only under AddressSanitizer or valgrind. */
struct guarded {
	uint8_t *map, *data;
	size_t size;
};

static struct guarded guard_copy(const void *m, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t room = (len / page + 1) * page;
	struct guarded g = {.size = room + page};

	g.map = mmap(NULL, g.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	assert_true(g.map != MAP_FAILED);
	assert_int_equal(mprotect(g.map + room, page, PROT_NONE), 0);
	g.data = g.map + ((room - len) & ~(size_t)3);
	if (len)
		memcpy(g.data, m, len);
	return g;
}

static void unguard(struct guarded *g)
{
	munmap(g->map, g->size);
}

/* Message kinds a test went through: route, nexthop, link, address. */
static bool kind_seen[4];

static void see_kind(uint16_t type)
{
	kind_seen[type == RTM_NEWROUTE || type == RTM_DELROUTE	     ? 0
		  : type == RTM_NEWNEXTHOP || type == RTM_DELNEXTHOP ? 1
		  : type == RTM_NEWLINK || type == RTM_DELLINK	     ? 2
								     : 3] = true;
}

static void assert_every_kind_seen(void)
{
	for (size_t k = 0; k < 4; k++)
		assert_true(kind_seen[k]);
	memset(kind_seen, 0, sizeof(kind_seen));
}

/* The first len bytes of m, saying (nlmsg_len) that the message is nlmsg_len
 * bytes long: -EBADMSG, and no byte read past them, in a buffer of exactly
 * len bytes (for the sanitizers) and in one that ends where a page that
 * faults begins. */
static void decode_past(const char *name, size_t i, const uint8_t *m, size_t len,
			uint32_t nlmsg_len)
{
	uint8_t *b = malloc(len);
	struct guarded g;
	int r;

	assert_non_null(b);
	memcpy(b, m, len);
	((struct nlmsghdr *)b)->nlmsg_len = nlmsg_len;
	r = decode_any(msg_type(m), b, len);
	if (r != -EBADMSG)
		fail_msg("%s message %zu cut to %zu bytes, nlmsg_len %#x: %d", name, i,
			 len, nlmsg_len, r);
	g = guard_copy(b, len);
	assert_int_equal(decode_any(msg_type(m), g.data, len), -EBADMSG);
	unguard(&g);
	free(b);
}

/* nlmsg_len says the message goes on past the buffer: by a little, or by
 * 2^31 bytes and more, which libmnl's mnl_nlmsg_ok lets through (it
 * compares as an int). The buffer ends after the netlink header, after the
 * family header, or where the message does. */
static void len_past_buffer(const char *name, size_t i, const uint8_t *m, size_t len)
{
	const size_t cuts[] = {NLMSG_HDRLEN, NLMSG_HDRLEN + family_hdr_len(msg_type(m)),
			       len};

	see_kind(msg_type(m));
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		const uint32_t l = (uint32_t)cuts[c];
		const uint32_t lens[] = {l + 1,		 l + 4,	     2 * l,
					 0xffff,	 0x7fffffff, 0x80000000,
					 0x80000000 + l, 0x80000100, 0xc0000000,
					 0xfffffff0,	 0xffffffff};

		assert_true(cuts[c] <= len);
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
			decode_past(name, i, m, cuts[c], lens[k]);
	}
}

static void test_nlmsg_len_past_buffer(void **state)
{
	(void)state;
	for_each_message(len_past_buffer);
	assert_every_kind_seen();
}

/* ---------------------------------------------------------------------- */
/* Walking the messages of one read                                        */

/* Walks buf (len bytes, guarded) and checks that the messages come at the
 * offsets want[0..n) and that left bytes are left over. */
static void assert_walk(const void *buf, size_t len, const size_t *want, size_t n,
			size_t left)
{
	struct guarded g = guard_copy(buf, len);
	struct nl_msgs it = {g.data, len};
	const struct nlmsghdr *nlh;
	size_t k = 0;

	while ((nlh = nl_msgs_next(&it))) {
		assert_true(k < n);
		assert_ptr_equal(nlh, g.data + want[k++]);
	}
	assert_int_equal(k, n);
	assert_int_equal(it.left, left);
	/* At the end it stays at the end. */
	assert_null(nl_msgs_next(&it));
	assert_int_equal(it.left, left);
	unguard(&g);
}

static void test_msgs_walk_dumps(void **state)
{
	static const char *const dumps[] = {"dump-link.bin", "dump-addr.bin",
					    "dump-route4.bin", "dump-route6.bin",
					    "dump-nexthop.bin"};

	(void)state;
	for (size_t d = 0; d < sizeof(dumps) / sizeof(dumps[0]); d++) {
		struct fixture f = load(dumps[d]);
		size_t off[64], n = msg_offsets(&f, off, 64);

		assert_true(n > 1);
		assert_walk(f.data, f.len, off, n, 0);
		unload(&f);
	}
	assert_walk(NULL, 0, NULL, 0, 0);
	assert_null(nl_msgs_next(&(struct nl_msgs){NULL, 0}));
}

/* Lengths that make a message with left bytes from its start to the end of
 * the read no whole message: shorter than a header, or longer than what is
 * left (by a byte, or by 2^31 and more, which libmnl's mnl_nlmsg_ok lets
 * through). */
static size_t bad_lengths(uint32_t left, uint32_t *out)
{
	const uint32_t lens[] = {0,	     1,		 sizeof(struct nlmsghdr) - 1,
				 left + 1,   left + 4,	 0x10000,
				 0x7fffffff, 0x80000000, 0x80000000 + left,
				 0xfffffff0, 0xffffffff};

	memcpy(out, lens, sizeof(lens));
	return sizeof(lens) / sizeof(lens[0]);
}

/* A message that is no whole message stops the walk before it. */
static void test_msgs_walk_stops_at_bad_length(void **state)
{
	uint8_t buf[2 * 64] = {0};
	struct nlmsghdr *first = (struct nlmsghdr *)buf;
	struct nlmsghdr *second = (struct nlmsghdr *)(buf + 64);
	const size_t want[] = {0};
	uint32_t lens[16];
	size_t n;

	(void)state;
	first->nlmsg_type = second->nlmsg_type = RTM_NEWROUTE;
	first->nlmsg_len = 64;
	n = bad_lengths(64, lens);
	for (size_t k = 0; k < n; k++) {
		second->nlmsg_len = lens[k];
		assert_walk(buf, sizeof(buf), want, 1, 64);
	}
	n = bad_lengths(sizeof(buf), lens);
	for (size_t k = 0; k < n; k++) {
		first->nlmsg_len = lens[k];
		assert_walk(buf, sizeof(buf), NULL, 0, sizeof(buf));
	}
}

static void test_msgs_walk_ends(void **state)
{
	uint8_t buf[64 + sizeof(struct nlmsghdr)] = {0};
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	const size_t want[] = {0, 24};

	(void)state;
	/* Bytes after the last message that are no header. */
	nlh->nlmsg_len = 24;
	for (size_t extra = 1; extra < sizeof(struct nlmsghdr); extra++)
		assert_walk(buf, 24 + extra, want, 1, extra);
	/* A last message without its padding is whole; one with the padding
	 * steps over it. */
	nlh->nlmsg_len = 21;
	assert_walk(buf, 21, want, 1, 0);
	assert_walk(buf, 24, want, 1, 0);
	((struct nlmsghdr *)(buf + 24))->nlmsg_len = sizeof(struct nlmsghdr);
	assert_walk(buf, 24 + sizeof(struct nlmsghdr), want, 2, 0);
}

/* Runs the decoder on a copy of m with the 16-bit length at offset off set
 * to v; the result must be -EBADMSG (want_bad) or anything but a crash. */
static void with_len16(const char *what, const uint8_t *m, size_t len, size_t off,
		       uint16_t v, bool want_bad)
{
	uint8_t *b = malloc(len);
	int r;

	assert_non_null(b);
	memcpy(b, m, len);
	memcpy(b + off, &v, sizeof(v));
	r = decode_any(msg_type(m), b, len);
	if (want_bad && r != -EBADMSG)
		fail_msg("%s: length at %zu set to %u: %d, want -EBADMSG", what, off, v,
			 r);
	assert_true(r == 0 || r == NL_ROUTE_SKIP || r == -EBADMSG);
	free(b);
}

/* Nested attributes the decoders look into: RTA_MULTIPATH (rtnexthops
 * holding attributes) and IFLA_LINKINFO. */
static void damage_nested(const char *name, const uint8_t *m, size_t len, size_t o,
			  const struct nlattr *a)
{
	uint16_t type = msg_type(m), at = mnl_attr_get_type(a);
	size_t end = o + a->nla_len;

	if ((type == RTM_NEWROUTE || type == RTM_DELROUTE) && at == RTA_MULTIPATH) {
		size_t h = o + sizeof(*a);

		while (h + sizeof(struct rtnexthop) <= end) {
			const struct rtnexthop *rtnh = (const struct rtnexthop *)(m + h);
			size_t hop_end = h + rtnh->rtnh_len;

			with_len16(name, m, len, h, 0, true);
			with_len16(name, m, len, h, sizeof(*rtnh) - 1, true);
			with_len16(name, m, len, h, (uint16_t)(end - h + 1), true);
			with_len16(name, m, len, h, (uint16_t)(end - h + 4), true);
			/* The attributes inside the hop overflow it. */
			for (size_t in = h + sizeof(*rtnh); in + sizeof(*a) <= hop_end;) {
				const struct nlattr *ia = (const struct nlattr *)(m + in);

				with_len16(name, m, len, in, 3, true);
				with_len16(name, m, len, in, (uint16_t)(hop_end - in + 1),
					   true);
				with_len16(name, m, len, in, (uint16_t)(hop_end - in + 4),
					   true);
				in += MNL_ALIGN(ia->nla_len);
			}
			h += RTNH_ALIGN(rtnh->rtnh_len);
		}
	}
	if ((type == RTM_NEWLINK || type == RTM_DELLINK) && at == IFLA_LINKINFO) {
		for (size_t in = o + sizeof(*a); in + sizeof(*a) <= end;) {
			const struct nlattr *ia = (const struct nlattr *)(m + in);

			with_len16(name, m, len, in, 2, true);
			with_len16(name, m, len, in, (uint16_t)(end - in + 1), true);
			with_len16(name, m, len, in, (uint16_t)(end - in + 8), true);
			in += MNL_ALIGN(ia->nla_len);
		}
	}
}

static void bad_attr_lengths(const char *name, size_t i, const uint8_t *m, size_t len)
{
	size_t o = NLMSG_HDRLEN + MNL_ALIGN(family_hdr_len(msg_type(m)));

	(void)i;
	while (o + sizeof(struct nlattr) <= len) {
		const struct nlattr *a = (const struct nlattr *)(m + o);

		for (uint16_t v = 0; v < sizeof(struct nlattr); v++)
			with_len16(name, m, len, o, v, true);
		with_len16(name, m, len, o, (uint16_t)(len - o + 1), true);
		with_len16(name, m, len, o, (uint16_t)(len - o + 4), true);
		with_len16(name, m, len, o, 0xffff, true);
		/* One byte short: the rest is read as the next attribute. */
		if (a->nla_len > sizeof(*a))
			with_len16(name, m, len, o, (uint16_t)(a->nla_len - 1), false);
		damage_nested(name, m, len, o, a);
		o += MNL_ALIGN(a->nla_len);
	}
	/* Bytes after the last attribute that do not make one. */
	for (size_t extra = 1; extra < sizeof(struct nlattr); extra++) {
		uint8_t *b = calloc(1, len + extra);

		assert_non_null(b);
		memcpy(b, m, len);
		((struct nlmsghdr *)b)->nlmsg_len = (uint32_t)(len + extra);
		assert_int_equal(decode_any(msg_type(m), b, len + extra), -EBADMSG);
		free(b);
	}
}

static void test_bad_attribute_lengths(void **state)
{
	(void)state;
	for_each_message(bad_attr_lengths);
}

/* A deterministic generator, so that a failure can be reproduced. */
static uint32_t rng_state = 0x2545f491;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void random_damage(const char *name, size_t i, const uint8_t *m, size_t len)
{
	uint8_t *b = malloc(len);

	(void)name;
	(void)i;
	assert_non_null(b);
	for (int round = 0; round < 300; round++) {
		unsigned flips = 1 + rng() % 4;

		memcpy(b, m, len);
		for (unsigned k = 0; k < flips; k++) {
			size_t at = rng() % len;

			if (at < 4) /* keep nlmsg_len: that is the cut tests' job */
				at = 4 + at;
			b[at % len] = (uint8_t)rng();
		}
		if (((struct nlmsghdr *)b)->nlmsg_type != msg_type(m))
			((struct nlmsghdr *)b)->nlmsg_type = msg_type(m);
		int r = decode_any(msg_type(m), b, len);
		assert_true(r == 0 || r == NL_ROUTE_SKIP || r == -EBADMSG);
	}
	free(b);
}

static void test_random_damage(void **state)
{
	(void)state;
	for_each_message(random_damage);
}

/* ---------------------------------------------------------------------- */
/* Building messages with one attribute replaced                           */

struct attr_edit {
	uint16_t type;	  /* attribute to replace or drop */
	const void *data; /* NULL: drop it */
	size_t len;
	bool add; /* append it instead (the message has none) */
};

/* A copy of message m with edit applied, in a buffer of exactly its size. */
static uint8_t *rebuild(const uint8_t *m, size_t len, const struct attr_edit *e,
			size_t *out_len)
{
	size_t hdr = NLMSG_HDRLEN + MNL_ALIGN(family_hdr_len(msg_type(m)));
	uint8_t *b = calloc(1, len + MNL_ALIGN(e->len) + 64);
	struct nlmsghdr *nlh = (struct nlmsghdr *)b;
	size_t o = hdr;
	bool found = false;
	uint8_t *exact;

	assert_non_null(b);
	memcpy(b, m, hdr);
	nlh->nlmsg_len = (uint32_t)hdr;
	while (o + sizeof(struct nlattr) <= len) {
		const struct nlattr *a = (const struct nlattr *)(m + o);

		if (mnl_attr_get_type(a) == e->type && !e->add) {
			found = true;
			if (e->data)
				mnl_attr_put(nlh, e->type, e->len, e->data);
		} else {
			memcpy(b + nlh->nlmsg_len, a, a->nla_len);
			nlh->nlmsg_len += MNL_ALIGN(a->nla_len);
		}
		o += MNL_ALIGN(a->nla_len);
	}
	if (e->add)
		mnl_attr_put(nlh, e->type, e->len, e->data);
	else
		assert_true(found);
	*out_len = nlh->nlmsg_len;
	exact = malloc(*out_len);
	assert_non_null(exact);
	memcpy(exact, b, *out_len);
	free(b);
	return exact;
}

static int decode_edited(const char *fixture, const struct attr_edit *e)
{
	struct fixture f = load(fixture);
	size_t len, elen;
	uint8_t *m = msg_copy(&f, 0, &len);
	uint8_t *b = rebuild(m, len, e, &elen);
	int r = decode_any(msg_type(m), b, elen);

	free(b);
	free(m);
	unload(&f);
	return r;
}

static void test_bad_attribute_payloads(void **state)
{
	static const uint8_t zero[20];
	static const uint8_t via_bad_family[] = {0x07, 0x00, 1, 2, 3, 4};
	static const uint8_t via_short[] = {AF_INET6, 0x00, 0xfe, 0x80};
	static const uint8_t via_one[] = {AF_INET6};
	static const uint8_t name_no_nul[4] = {'v', 'a', 'x', 'y'};
	static const char name_long[] = "a-name-longer-than-ifnamsiz";
	static const uint8_t group_ragged[12] = {11, 0, 0, 0, 2};
	static const struct {
		const char *fixture;
		struct attr_edit e;
	} bad[] = {
		/* Routes: addresses of the wrong size, short integers. */
		{"route4-gw.bin", {RTA_DST, zero, 3, false}},
		{"route4-gw.bin", {RTA_DST, zero, 16, false}},
		{"route4-gw.bin", {RTA_GATEWAY, zero, 5, false}},
		{"route4-gw.bin", {RTA_GATEWAY, zero, 0, false}},
		{"route6-gw.bin", {RTA_DST, zero, 4, false}},
		{"route6-gw.bin", {RTA_GATEWAY, zero, 15, false}},
		{"route4-gw.bin", {RTA_OIF, zero, 2, false}},
		{"route4-gw.bin", {RTA_PRIORITY, zero, 8, false}},
		{"route4-table1000.bin", {RTA_TABLE, zero, 3, false}},
		{"route4-nhid.bin", {RTA_NH_ID, zero, 1, false}},
		{"route4-via6.bin",
		 {RTA_VIA, via_bad_family, sizeof(via_bad_family), false}},
		{"route4-via6.bin", {RTA_VIA, via_short, sizeof(via_short), false}},
		{"route4-via6.bin", {RTA_VIA, via_one, sizeof(via_one), false}},
		{"route4-via6.bin", {RTA_VIA, zero, 18, false}},
		/* A prefix length with no RTA_DST; an empty multipath. */
		{"route4-gw.bin", {RTA_DST, NULL, 0, false}},
		{"route4-multipath.bin", {RTA_MULTIPATH, zero, 0, false}},
		{"route4-multipath.bin", {RTA_MULTIPATH, zero, 4, false}},
		/* Nexthops. */
		{"nexthop4.bin", {NHA_ID, NULL, 0, false}},
		{"nexthop4.bin", {NHA_ID, zero, 4, false}}, /* id 0 */
		{"nexthop4.bin", {NHA_ID, zero, 2, false}},
		{"nexthop4.bin", {NHA_GATEWAY, zero, 16, false}},
		{"nexthop6.bin", {NHA_GATEWAY, zero, 4, false}},
		{"nexthop4.bin", {NHA_OIF, zero, 1, false}},
		{"nexthop-group.bin", {NHA_GROUP, zero, 0, false}},
		{"nexthop-group.bin",
		 {NHA_GROUP, group_ragged, sizeof(group_ragged), false}},
		{"nexthop-blackhole.bin", {NHA_BLACKHOLE, zero, 4, false}},
		{"nexthop-group.bin", {NHA_GATEWAY, zero, 4, true}}, /* family 0 */
		/* Links. */
		{"link-up.bin", {IFLA_IFNAME, name_no_nul, sizeof(name_no_nul), false}},
		{"link-up.bin", {IFLA_IFNAME, name_long, sizeof(name_long), false}},
		{"link-up.bin", {IFLA_LINKINFO, zero, 3, false}},
		/* Addresses. */
		{"addr4-new.bin", {IFA_LOCAL, zero, 16, false}},
		{"addr6-new.bin", {IFA_ADDRESS, zero, 4, false}},
		{"addr6-new.bin", {IFA_ADDRESS, NULL, 0, false}},
		{"addr4-new.bin", {IFA_FLAGS, zero, 2, false}},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = decode_edited(bad[i].fixture, &bad[i].e);

		if (r != -EBADMSG)
			fail_msg("case %zu (%s, attribute %u): %d, want -EBADMSG", i,
				 bad[i].fixture, bad[i].e.type, r);
	}
}

/* Header fields out of range. */
static void test_bad_headers(void **state)
{
	struct fixture f;
	size_t len;
	uint8_t *m;
	struct kroute rt;
	struct nl_link link;
	struct nl_addr addr;
	uint32_t nh_id;

	(void)state;
	f = load("route4-gw.bin");
	m = msg_copy(&f, 0, &len);
	((struct rtmsg *)NLMSG_DATA(m))->rtm_dst_len = 33;
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), -EBADMSG);
	assert_null(rt.nexthops);
	free(m);
	unload(&f);

	f = load("route6-gw.bin");
	m = msg_copy(&f, 0, &len);
	((struct rtmsg *)NLMSG_DATA(m))->rtm_dst_len = 129;
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), -EBADMSG);
	free(m);
	unload(&f);

	f = load("link-up.bin");
	m = msg_copy(&f, 0, &len);
	((struct ifinfomsg *)NLMSG_DATA(m))->ifi_index = 0;
	assert_int_equal(nl_decode_link(m, len, &link), -EBADMSG);
	((struct ifinfomsg *)NLMSG_DATA(m))->ifi_index = -4;
	assert_int_equal(nl_decode_link(m, len, &link), -EBADMSG);
	free(m);
	unload(&f);

	f = load("addr4-new.bin");
	m = msg_copy(&f, 0, &len);
	((struct ifaddrmsg *)NLMSG_DATA(m))->ifa_prefixlen = 33;
	assert_int_equal(nl_decode_addr(m, len, &addr), -EBADMSG);
	((struct ifaddrmsg *)NLMSG_DATA(m))->ifa_prefixlen = 24;
	((struct ifaddrmsg *)NLMSG_DATA(m))->ifa_index = 0;
	assert_int_equal(nl_decode_addr(m, len, &addr), -EBADMSG);
	free(m);
	unload(&f);

	/* nlmsg_len larger than the buffer, smaller than its header. */
	f = load("route4-gw.bin");
	m = msg_copy(&f, 0, &len);
	((struct nlmsghdr *)m)->nlmsg_len = (uint32_t)len + 4;
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), -EBADMSG);
	((struct nlmsghdr *)m)->nlmsg_len = NLMSG_HDRLEN + 4;
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), -EBADMSG);
	((struct nlmsghdr *)m)->nlmsg_len = 3;
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), -EBADMSG);
	free(m);
	unload(&f);
}

/* ---------------------------------------------------------------------- */
/* Encoder                                                                 */

/* The payload of attribute type in message m (NULL when absent). */
static const struct nlattr *find_attr(const uint8_t *m, uint16_t type)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)m;
	size_t o = NLMSG_HDRLEN + MNL_ALIGN(family_hdr_len(nlh->nlmsg_type));

	while (o + sizeof(struct nlattr) <= nlh->nlmsg_len) {
		const struct nlattr *a = (const struct nlattr *)(m + o);

		if (mnl_attr_get_type(a) == type)
			return a;
		o += MNL_ALIGN(a->nla_len);
	}
	return NULL;
}

/* Interface indexes are positive ints in the kernel: one above INT_MAX (or
 * a negative one in RTA_MULTIPATH) is malformed, not a device -N. The first
 * three are what the fuzz targets found (tests/fixtures/fuzz/README.md). */
static void test_ifindex_above_int_max(void **state)
{
	struct fixture f;
	size_t len;
	uint8_t *m;
	struct kroute rt;
	struct nl_nexthop nh;
	struct nl_addr addr;
	uint32_t nh_id;

	(void)state;
	m = read_source_file("tests/fixtures/fuzz/rtnl_route/oif-above-int-max.bin",
			     &len);
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), -EBADMSG);
	assert_null(rt.nexthops);
	free(m);
	m = read_source_file("tests/fixtures/fuzz/rtnl_nexthop/oif-above-int-max.bin",
			     &len);
	assert_int_equal(nl_decode_nexthop(m, len, &nh), -EBADMSG);
	free(m);
	m = read_source_file("tests/fixtures/fuzz/rtnl_addr/ifindex-above-int-max.bin",
			     &len);
	assert_int_equal(nl_decode_addr(m, len, &addr), -EBADMSG);
	free(m);

	f = load("addr4-new.bin");
	m = msg_copy(&f, 0, &len);
	((struct ifaddrmsg *)NLMSG_DATA(m))->ifa_index = 0x80000000u;
	assert_int_equal(nl_decode_addr(m, len, &addr), -EBADMSG);
	((struct ifaddrmsg *)NLMSG_DATA(m))->ifa_index = INT_MAX;
	assert_int_equal(nl_decode_addr(m, len, &addr), 0);
	assert_int_equal(addr.ifindex, INT_MAX);
	free(m);
	unload(&f);

	f = load("route4-multipath.bin");
	m = msg_copy(&f, 0, &len);
	struct rtnexthop *rtnh =
		(struct rtnexthop *)mnl_attr_get_payload(find_attr(m, RTA_MULTIPATH));
	rtnh->rtnh_ifindex = -3;
	assert_int_equal(nl_decode_route(m, len, &rt, &nh_id), -EBADMSG);
	assert_null(rt.nexthops);
	free(m);
	unload(&f);
}

static void assert_same_attr(const uint8_t *enc, const uint8_t *kern, uint16_t type)
{
	const struct nlattr *a = find_attr(enc, type), *b = find_attr(kern, type);

	if (!a || !b)
		fail_msg("attribute %u: encoded %s, kernel %s", type,
			 a ? "has it" : "lacks it", b ? "has it" : "lacks it");
	assert_int_equal(a->nla_len, b->nla_len);
	assert_memory_equal(mnl_attr_get_payload(a), mnl_attr_get_payload(b),
			    mnl_attr_get_payload_len(a));
}

static void assert_kroute_equal(const struct kroute *a, const struct kroute *b)
{
	assert_true(prefix_equal(&a->dst, &b->dst));
	assert_int_equal(a->table, b->table);
	assert_int_equal(a->protocol, b->protocol);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->tos, b->tos);
	assert_int_equal(a->metric, b->metric);
	assert_int_equal(a->n_nexthops, b->n_nexthops);
	for (size_t i = 0; i < a->n_nexthops; i++) {
		assert_int_equal(a->nexthops[i].oif, b->nexthops[i].oif);
		assert_true(a->nexthops[i].gw.family == b->nexthops[i].gw.family);
		if (a->nexthops[i].gw.family)
			assert_true(prefix_equal(&a->nexthops[i].gw, &b->nexthops[i].gw));
	}
}

/* Encodes spec as an add, checks the request, decodes it, and compares it
 * with the kernel's notification for the same route made by ip(8): the same
 * route when decoded, and byte-identical attributes. */
static void encode_like_kernel(const char *fixture, const struct route_spec *rs,
			       const uint16_t *same, size_t n_same, uint8_t scope)
{
	struct fixture f = load(fixture);
	size_t klen;
	uint8_t *kern = msg_copy(&f, 0, &klen);
	uint8_t buf[512] = {0};
	struct kroute want, got;
	uint32_t nh_id;
	int len = nl_encode_route(buf, sizeof(buf), true, rs, 4711);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct rtmsg *rtm = NLMSG_DATA(buf);
	uint8_t *exact;

	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_len, len);
	/* Every byte is written, padding too: the same request whatever the
	 * buffer held before. */
	uint8_t dirty[512];
	memset(dirty, 0xa5, sizeof(dirty));
	assert_int_equal(nl_encode_route(dirty, sizeof(dirty), true, rs, 4711), len);
	assert_memory_equal(dirty, buf, (size_t)len);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	/* Exclusive: a route of the same identity that is not ours is never
	 * replaced (nor, for IPv6, joined as another next hop). */
	assert_int_equal(nlh->nlmsg_flags,
			 NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	assert_int_equal(nlh->nlmsg_seq, 4711);
	assert_int_equal(rtm->rtm_family, rs->dst.family);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	assert_int_equal(rtm->rtm_scope, scope);
	assert_int_equal(rtm->rtm_protocol, rs->protocol);
	assert_int_equal(rtm->rtm_table, rs->table < 256 ? rs->table : RT_TABLE_UNSPEC);
	/* The decoder reads it back as the kernel's own message. */
	exact = malloc((size_t)len);
	assert_non_null(exact);
	memcpy(exact, buf, (size_t)len);
	assert_int_equal(nl_decode_route(exact, (size_t)len, &got, &nh_id), 0);
	assert_int_equal(nl_decode_route(kern, klen, &want, &nh_id), 0);
	assert_kroute_equal(&got, &want);
	for (size_t i = 0; i < n_same; i++)
		assert_same_attr(exact, kern, same[i]);
	nl_kroute_release(&got);
	nl_kroute_release(&want);
	free(exact);
	free(kern);
	unload(&f);
}

static void test_encode_matches_kernel(void **state)
{
	static const uint16_t gw_attrs[] = {RTA_DST, RTA_TABLE, RTA_PRIORITY, RTA_OIF,
					    RTA_GATEWAY};
	static const uint16_t via_attrs[] = {RTA_DST, RTA_TABLE, RTA_OIF, RTA_VIA};
	static const uint16_t dev_attrs[] = {RTA_DST, RTA_TABLE, RTA_OIF};
	static const uint16_t default_attrs[] = {RTA_TABLE, RTA_OIF, RTA_GATEWAY};
	struct route_spec rs;

	(void)state;
	rs = (struct route_spec){.dst = P("198.51.100.64/26"),
				 .table = 1000,
				 .protocol = 98,
				 .metric = 7,
				 .oif = IF_VA,
				 .gw = A("192.0.2.2")};
	encode_like_kernel("route4-table1000.bin", &rs, gw_attrs, 5, RT_SCOPE_UNIVERSE);

	rs = (struct route_spec){.dst = P("198.51.100.0/24"),
				 .table = RT_TABLE_MAIN,
				 .protocol = RTPROT_STATIC,
				 .metric = 100,
				 .oif = IF_VA,
				 .gw = A("192.0.2.2")};
	encode_like_kernel("route4-gw.bin", &rs, gw_attrs, 5, RT_SCOPE_UNIVERSE);

	rs = (struct route_spec){.dst = P("2001:db8:100::/48"),
				 .table = RT_TABLE_MAIN,
				 .protocol = RTPROT_STATIC,
				 .metric = 512,
				 .oif = IF_VA,
				 .gw = A("fe80::2")};
	encode_like_kernel("route6-gw.bin", &rs, gw_attrs, 5, RT_SCOPE_UNIVERSE);

	/* IPv4 via an IPv6 next hop: RTA_VIA, as the kernel reports it. */
	rs = (struct route_spec){.dst = P("203.0.113.0/24"),
				 .table = RT_TABLE_MAIN,
				 .protocol = RTPROT_BIRD_ID,
				 .oif = IF_VA,
				 .gw = A("fe80::2")};
	encode_like_kernel("route4-via6.bin", &rs, via_attrs, 4, RT_SCOPE_UNIVERSE);

	/* No gateway: a link-scope route through the device. */
	rs = (struct route_spec){.dst = P("203.0.113.192/27"),
				 .table = RT_TABLE_MAIN,
				 .protocol = 98,
				 .oif = IF_VA};
	encode_like_kernel("route4-nogw.bin", &rs, dev_attrs, 3, RT_SCOPE_LINK);

	rs = (struct route_spec){.dst = P("2001:db8:1000::/64"),
				 .table = 1000,
				 .protocol = 98,
				 .metric = 1024,
				 .oif = IF_VA};
	encode_like_kernel("route6-table1000.bin", &rs, dev_attrs, 3, RT_SCOPE_LINK);

	/* A default route has no RTA_DST, like the kernel's. */
	rs = (struct route_spec){.dst = P("0.0.0.0/0"),
				 .table = 100,
				 .protocol = RTPROT_BOOT,
				 .oif = IF_VA,
				 .gw = A("192.0.2.254")};
	encode_like_kernel("route4-default.bin", &rs, default_attrs, 3,
			   RT_SCOPE_UNIVERSE);
	uint8_t buf[512];
	assert_true(nl_encode_route(buf, sizeof(buf), true, &rs, 1) > 0);
	assert_null(find_attr(buf, RTA_DST));
}

/* Only an add the core says replaces our route replaces. */
static void test_encode_replace(void **state)
{
	struct route_spec rs = {.dst = P("198.51.100.0/24"),
				.table = 254,
				.protocol = 98,
				.oif = IF_VA,
				.gw = A("192.0.2.2"),
				.replace = true};
	uint8_t buf[512], excl[512];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len;

	(void)state;
	len = nl_encode_route(buf, sizeof(buf), true, &rs, 3);
	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_flags,
			 NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	/* Nothing else differs from the exclusive add. */
	rs.replace = false;
	assert_int_equal(nl_encode_route(excl, sizeof(excl), true, &rs, 3), len);
	((struct nlmsghdr *)excl)->nlmsg_flags = nlh->nlmsg_flags;
	assert_memory_equal(buf, excl, (size_t)len);
	/* A delete is a delete. */
	rs.replace = true;
	assert_true(nl_encode_route(buf, sizeof(buf), false, &rs, 4) > 0);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
}

/* ---------------------------------------------------------------------- */
/* The replies of a dump (nl_dump_read)                                   */

struct dump_seen {
	size_t n;
	uint16_t types[64];
};

static void dump_seen_fn(const struct nlmsghdr *nlh, void *ctx)
{
	struct dump_seen *d = ctx;

	if (d->n < 64)
		d->types[d->n] = nlh->nlmsg_type;
	d->n++;
}

/* A dump fixture (seq 1, port 7809), and room after it for more. */
static uint8_t *dump_reply(const char *name, size_t *len, size_t room)
{
	struct fixture f = load(name);
	uint8_t *buf = calloc(1, f.len + room);

	assert_non_null(buf);
	memcpy(buf, f.data, f.len);
	*len = f.len;
	unload(&f);
	return buf;
}

/* Appends a message of type with a 4-byte payload (an errno, or the first
 * word of an nlmsgerr). */
static size_t put_msg(uint8_t *at, uint16_t type, uint16_t flags, uint32_t seq,
		      uint32_t pid, int32_t code, size_t payload)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)at;

	memset(at, 0, NLMSG_HDRLEN + payload);
	nlh->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + payload);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = pid;
	if (payload >= sizeof(code))
		memcpy(at + NLMSG_HDRLEN, &code, sizeof(code));
	return NLMSG_ALIGN(NLMSG_HDRLEN + payload);
}

/* ---------------------------------------------------------------------- */
/* Which changes heard during a route dump tear it                          */

/* Message i of fixture name in a buffer of exactly its length. */
static uint8_t *fixture_msg(const char *name, size_t i, size_t *len)
{
	struct fixture f = load(name);
	uint8_t *m = msg_copy(&f, i, len);

	unload(&f);
	return m;
}

/* nl_route_table_of on message i of a fixture. */
static int table_of(const char *name, size_t i, uint32_t *table)
{
	size_t len;
	uint8_t *m = fixture_msg(name, i, &len);
	int r = nl_route_table_of(m, len, table);

	free(m);
	return r;
}

/* nl_route_tears_dump on message i of a fixture, for a dump of table. */
static bool tears(const char *name, size_t i, uint32_t table)
{
	size_t len;
	uint8_t *m = fixture_msg(name, i, &len);
	bool r = nl_route_tears_dump(m, len, table);

	free(m);
	return r;
}

/* A route message without RTA_TABLE, its table in rtm_table. */
static size_t route_without_rta_table(uint8_t *buf, uint8_t rtm_table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = rtm_table;
	mnl_attr_put_u32(nlh, RTA_OIF, IF_VA);
	return nlh->nlmsg_len;
}

static void test_route_table_of(void **state)
{
	uint8_t buf[256];
	uint32_t table = 7;
	size_t len;
	const struct rtmsg *rtm;
	uint8_t *m;

	(void)state;
	assert_int_equal(table_of("route4-table1000.bin", 0, &table), 0);
	assert_int_equal(table, 1000);
	/* The kernel's rtm_table says only "above 255" there. */
	m = fixture_msg("route4-table1000.bin", 0, &len);
	rtm = mnl_nlmsg_get_payload((const struct nlmsghdr *)m);
	assert_int_equal(rtm->rtm_table, RT_TABLE_COMPAT);
	assert_int_equal(nl_route_table_of(m, len - 1, &table), -EBADMSG);
	assert_int_equal(table, 0);
	free(m);
	assert_int_equal(table_of("route6-table1000.bin", 0, &table), 0);
	assert_int_equal(table, 1000);
	assert_int_equal(table_of("route4-gw.bin", 0, &table), 0);
	assert_int_equal(table, RT_TABLE_MAIN);
	assert_int_equal(table_of("route6-gw.bin", 0, &table), 0);
	assert_int_equal(table, RT_TABLE_MAIN);
	assert_int_equal(table_of("route4-default.bin", 0, &table), 0);
	assert_int_equal(table, 100);
	assert_int_equal(table_of("route4-gw-del.bin", 0, &table), 0);
	assert_int_equal(table, RT_TABLE_MAIN);

	len = route_without_rta_table(buf, 100);
	assert_int_equal(nl_route_table_of(buf, len, &table), 0);
	assert_int_equal(table, 100);
	/* An RTA_TABLE that is no u32 is malformed. */
	mnl_attr_put_u16((struct nlmsghdr *)buf, RTA_TABLE, 1000);
	len = ((struct nlmsghdr *)buf)->nlmsg_len;
	assert_int_equal(nl_route_table_of(buf, len, &table), -EBADMSG);
	assert_int_equal(table, 0);
	assert_true(nl_route_tears_dump(buf, len, 1000));

	assert_int_equal(table_of("nexthop4.bin", 0, &table), NL_ROUTE_SKIP);
	assert_int_equal(table, 0);
	assert_int_equal(table_of("link-up.bin", 0, &table), NL_ROUTE_SKIP);
}

/* The local table's routes are in the fixture of the IPv4 dump (README). */
static size_t local_route_in_dump(void)
{
	struct fixture f = load("dump-route4.bin");
	size_t n = msg_count(&f);

	unload(&f);
	for (size_t i = 0; i < n; i++) {
		uint32_t table;

		if (table_of("dump-route4.bin", i, &table) == 0 &&
		    table == RT_TABLE_LOCAL)
			return i;
	}
	fail_msg("no route of the local table in dump-route4.bin");
	return 0;
}

static void test_dump_torn_by_its_table_only(void **state)
{
	(void)state;
	/* A dump of table 1000 is torn by a change of table 1000 ... */
	assert_true(tears("route4-table1000.bin", 0, 1000));
	assert_true(tears("route6-table1000.bin", 0, 1000));
	/* ... and not by one of main, or of table 100, added or deleted. */
	assert_false(tears("route4-gw.bin", 0, 1000));
	assert_false(tears("route6-gw.bin", 0, 1000));
	assert_false(tears("route4-gw-del.bin", 0, 1000));
	assert_false(tears("route6-multipath-hop-del.bin", 0, 1000));
	assert_false(tears("route4-default.bin", 0, 1000));
	assert_false(tears("route4-table1000.bin", 0, 1001));
	/* main's dump is torn by main's changes, not by table 1000's. */
	assert_true(tears("route4-gw.bin", 0, RT_TABLE_MAIN));
	assert_false(tears("route4-table1000.bin", 0, RT_TABLE_MAIN));
	/* main and local share the IPv4 kernel's trie (without policy
	 * rules); a table in the same slot of the table hash moves the dump's
	 * place among the tables when it is made (1000 & 255 == 232). */
	assert_true(tears("dump-route4.bin", local_route_in_dump(), RT_TABLE_MAIN));
	assert_true(tears("route4-gw.bin", 0, RT_TABLE_LOCAL));
	assert_true(tears("route4-table1000.bin", 0, 232));
	/* A nexthop object's change tears the dump of any table. */
	assert_true(tears("nexthop4.bin", 0, 1000));
	assert_true(tears("nexthop-group.bin", 0, 1000));
	assert_true(tears("nexthop-group-del.bin", 0, 1000));
	/* What is not understood tears: another type, a message cut short. */
	assert_true(tears("link-up.bin", 0, 1000));
	{
		size_t len;
		uint8_t *m = fixture_msg("route4-gw.bin", 0, &len);

		assert_true(nl_route_tears_dump(m, len - 1, 1000));
		assert_true(nl_route_tears_dump(m, 8, 1000));
		free(m);
	}
}

/* Every message of every fixture tears a dump of every table (0), and each
 * route message one of its own table. */
static void check_tears_own_table(const char *name, size_t i, const uint8_t *m,
				  size_t len)
{
	uint32_t table;

	if (!nl_route_tears_dump(m, len, 0))
		fail_msg("%s #%zu does not tear a dump of every table", name, i);
	if (nl_route_table_of(m, len, &table) == 0 && !nl_route_tears_dump(m, len, table))
		fail_msg("%s #%zu does not tear a dump of its table %u", name, i, table);
}

static void test_dump_torn_by_every_change_of_its_table(void **state)
{
	(void)state;
	for_each_message(check_tears_own_table);
}

static void test_dump_read(void **state)
{
	size_t len, n;
	uint8_t *buf = dump_reply("dump-route6.bin", &len, 256);
	struct dump_seen seen = {0};
	bool intr = false;

	(void)state;
	/* A part of the dump: every message to fn, in order; read on. */
	assert_int_equal(nl_dump_read(buf, len, 1, 7809, dump_seen_fn, &seen, &intr),
			 NL_DUMP_MORE);
	n = seen.n;
	assert_int_equal(n, 12);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(seen.types[i], RTM_NEWROUTE);
	assert_false(intr);

	/* Another request's parts are skipped, its seq or its port. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(nl_dump_read(buf, len, 2, 7809, dump_seen_fn, &seen, &intr),
			 NL_DUMP_MORE);
	assert_int_equal(nl_dump_read(buf, len, 1, 7810, dump_seen_fn, &seen, &intr),
			 NL_DUMP_MORE);
	assert_int_equal(seen.n, 0);

	/* NLMSG_DONE ends it; a message flagged NLM_F_DUMP_INTR says the data
	 * changed under it, and is still handed on. */
	((struct nlmsghdr *)buf)->nlmsg_flags |= NLM_F_DUMP_INTR;
	put_msg(buf + len, NLMSG_DONE, NLM_F_MULTI, 1, 7809, 0, 4);
	assert_int_equal(nl_dump_read(buf, len + 20, 1, 7809, dump_seen_fn, &seen, &intr),
			 NL_DUMP_DONE);
	assert_int_equal(seen.n, n);
	assert_true(intr);
	/* Without a payload too (old kernels). */
	intr = false;
	put_msg(buf, NLMSG_DONE, NLM_F_MULTI, 1, 7809, 0, 0);
	assert_int_equal(nl_dump_read(buf, 16, 1, 7809, dump_seen_fn, &seen, &intr),
			 NL_DUMP_DONE);
	assert_false(intr);

	/* A dump that failed: the errno its NLMSG_DONE or NLMSG_ERROR
	 * carries. An ack (error 0) is no part of a dump. */
	put_msg(buf, NLMSG_DONE, NLM_F_MULTI, 1, 7809, -EMSGSIZE, 4);
	assert_int_equal(nl_dump_read(buf, 20, 1, 7809, dump_seen_fn, &seen, &intr),
			 -EMSGSIZE);
	put_msg(buf, NLMSG_ERROR, 0, 1, 7809, -EPERM, sizeof(struct nlmsgerr));
	assert_int_equal(nl_dump_read(buf, NLMSG_HDRLEN + sizeof(struct nlmsgerr), 1,
				      7809, dump_seen_fn, &seen, &intr),
			 -EPERM);
	put_msg(buf, NLMSG_ERROR, 0, 1, 7809, 0, sizeof(struct nlmsgerr));
	assert_int_equal(nl_dump_read(buf, NLMSG_HDRLEN + sizeof(struct nlmsgerr), 1,
				      7809, dump_seen_fn, &seen, &intr),
			 NL_DUMP_MORE);
	/* An errno beyond the kernel's (0 and -1..-4095) is malformed: the
	 * caller would otherwise negate INT_MIN for strerror. */
	put_msg(buf, NLMSG_DONE, NLM_F_MULTI, 1, 7809, INT32_MIN, 4);
	assert_int_equal(nl_dump_read(buf, 20, 1, 7809, dump_seen_fn, &seen, &intr),
			 -EBADMSG);
	put_msg(buf, NLMSG_DONE, NLM_F_MULTI, 1, 7809, -4096, 4);
	assert_int_equal(nl_dump_read(buf, 20, 1, 7809, dump_seen_fn, &seen, &intr),
			 -EBADMSG);
	put_msg(buf, NLMSG_DONE, NLM_F_MULTI, 1, 7809, -4095, 4);
	assert_int_equal(nl_dump_read(buf, 20, 1, 7809, dump_seen_fn, &seen, &intr),
			 -4095);
	put_msg(buf, NLMSG_ERROR, 0, 1, 7809, INT32_MIN, sizeof(struct nlmsgerr));
	assert_int_equal(nl_dump_read(buf, NLMSG_HDRLEN + sizeof(struct nlmsgerr), 1,
				      7809, dump_seen_fn, &seen, &intr),
			 -EBADMSG);
	put_msg(buf, NLMSG_ERROR, 0, 1, 7809, EPERM, sizeof(struct nlmsgerr));
	assert_int_equal(nl_dump_read(buf, NLMSG_HDRLEN + sizeof(struct nlmsgerr), 1,
				      7809, dump_seen_fn, &seen, &intr),
			 -EBADMSG);
	/* An error too short to hold its nlmsgerr is malformed. */
	put_msg(buf, NLMSG_ERROR, 0, 1, 7809, -EPERM, 4);
	assert_int_equal(nl_dump_read(buf, 20, 1, 7809, dump_seen_fn, &seen, &intr),
			 -EBADMSG);
	free(buf);

	/* Bytes that are no whole message: what came before them is handed
	 * on, then the read is refused. */
	buf = dump_reply("dump-route6.bin", &len, 256);
	memset(&seen, 0, sizeof(seen));
	((struct nlmsghdr *)(buf + len))->nlmsg_len = 0x80000000u;
	assert_int_equal(nl_dump_read(buf, len + 16, 1, 7809, dump_seen_fn, &seen, &intr),
			 -EBADMSG);
	assert_int_equal(seen.n, n);
	free(buf);
}

/* The errno of an NLMSG_ERROR or NLMSG_DONE, as every reader takes it. */
static void test_error_code(void **state)
{
	struct dump_seen seen = {0};
	bool intr = false;
	size_t len;
	uint8_t *m;

	(void)state;
	/* What fuzz_rtnl_dump found: an NLMSG_ERROR (seq 1, port 0xff000081)
	 * of error -57857, handed up as an errno. */
	m = read_source_file("tests/fixtures/fuzz/rtnl_dump/error-beyond-errno-range.bin",
			     &len);
	assert_int_equal(nl_dump_read(m, len, 1, 0xff000081, dump_seen_fn, &seen, &intr),
			 -EBADMSG);
	free(m);
	assert_int_equal(nl_error_code(0), 0);
	assert_int_equal(nl_error_code(-ENOENT), -ENOENT);
	assert_int_equal(nl_error_code(-4095), -4095);
	assert_int_equal(nl_error_code(-4096), -EBADMSG);
	assert_int_equal(nl_error_code(INT32_MIN), -EBADMSG);
	assert_int_equal(nl_error_code(EPERM), -EBADMSG);
	assert_int_equal(nl_error_code(INT32_MAX), -EBADMSG);
}

static void test_encode_delete(void **state)
{
	struct route_spec rs = {.dst = P("198.51.100.64/26"),
				.table = 1000,
				.protocol = 98,
				.metric = 7,
				.oif = IF_VA,
				.gw = A("192.0.2.2")};
	uint8_t buf[512];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct rtmsg *rtm = NLMSG_DATA(buf);
	const struct nlattr *a;
	struct kroute rt;
	uint32_t nh_id;
	int len;

	(void)state;
	len = nl_encode_route(buf, sizeof(buf), false, &rs, 9);
	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_type, RTM_DELROUTE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(nlh->nlmsg_seq, 9);
	/* The identity of our route, and only ours: protocol, table, metric,
	 * device; any scope; no gateway needed. */
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_NOWHERE);
	assert_int_equal(rtm->rtm_protocol, 98);
	assert_int_equal(rtm->rtm_dst_len, 26);
	assert_null(find_attr(buf, RTA_GATEWAY));
	assert_null(find_attr(buf, RTA_VIA));
	a = find_attr(buf, RTA_TABLE);
	assert_non_null(a);
	assert_int_equal(mnl_attr_get_u32(a), 1000);
	a = find_attr(buf, RTA_PRIORITY);
	assert_non_null(a);
	assert_int_equal(mnl_attr_get_u32(a), 7);
	a = find_attr(buf, RTA_OIF);
	assert_non_null(a);
	assert_int_equal(mnl_attr_get_u32(a), IF_VA);
	assert_int_equal(nl_decode_route(buf, (size_t)len, &rt, &nh_id), 0);
	assert_prefix(&rt.dst, "198.51.100.64/26");
	assert_int_equal(rt.table, 1000);
	nl_kroute_release(&rt);

	/* No device: no RTA_OIF. */
	rs.oif = 0;
	assert_true(nl_encode_route(buf, sizeof(buf), false, &rs, 10) > 0);
	assert_null(find_attr(buf, RTA_OIF));
}

static void test_encode_refuses_bad_specs(void **state)
{
	uint8_t buf[512];
	struct route_spec good = {.dst = P("198.51.100.0/24"),
				  .table = 254,
				  .protocol = 98,
				  .oif = IF_VA,
				  .gw = A("192.0.2.2")};
	struct route_spec rs;

	(void)state;
	assert_true(nl_encode_route(buf, sizeof(buf), true, &good, 1) > 0);
	rs = good;
	rs.dst.family = 0;
	assert_int_equal(nl_encode_route(buf, sizeof(buf), true, &rs, 1), -EINVAL);
	rs = good;
	rs.dst.len = 33;
	assert_int_equal(nl_encode_route(buf, sizeof(buf), true, &rs, 1), -EINVAL);
	rs = good;
	rs.gw.family = 99;
	assert_int_equal(nl_encode_route(buf, sizeof(buf), true, &rs, 1), -EINVAL);
	rs = good;
	rs.oif = -1;
	assert_int_equal(nl_encode_route(buf, sizeof(buf), true, &rs, 1), -EINVAL);
	/* IPv6 has no RTA_VIA: an IPv6 route cannot go via an IPv4 address. */
	rs = good;
	rs.dst = P("2001:db8::/32");
	assert_int_equal(nl_encode_route(buf, sizeof(buf), true, &rs, 1), -EINVAL);
	/* Too small a buffer. */
	assert_int_equal(nl_encode_route(buf, 40, true, &good, 1), -ENOSPC);
	assert_int_equal(nl_encode_route(buf, 0, true, &good, 1), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route4_gateway),
		cmocka_unit_test(test_route6_gateway),
		cmocka_unit_test(test_route4_via_inet6),
		cmocka_unit_test(test_route4_multipath),
		cmocka_unit_test(test_route6_multipath),
		cmocka_unit_test(test_route_table_above_255),
		cmocka_unit_test(test_route_default_and_types),
		cmocka_unit_test(test_route_nh_id),
		cmocka_unit_test(test_route_deletes),
		cmocka_unit_test(test_nexthops),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_dumps),
		cmocka_unit_test(test_other_types_skipped),
		cmocka_unit_test(decode_null_and_tiny),
		cmocka_unit_test(test_truncated_buffer),
		cmocka_unit_test(test_truncated_nlmsg_len),
		cmocka_unit_test(test_nlmsg_len_past_buffer),
		cmocka_unit_test(test_msgs_walk_dumps),
		cmocka_unit_test(test_msgs_walk_stops_at_bad_length),
		cmocka_unit_test(test_msgs_walk_ends),
		cmocka_unit_test(test_bad_attribute_lengths),
		cmocka_unit_test(test_random_damage),
		cmocka_unit_test(test_bad_attribute_payloads),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_ifindex_above_int_max),
		cmocka_unit_test(test_encode_matches_kernel),
		cmocka_unit_test(test_encode_replace),
		cmocka_unit_test(test_dump_read),
		cmocka_unit_test(test_error_code),
		cmocka_unit_test(test_route_table_of),
		cmocka_unit_test(test_dump_torn_by_its_table_only),
		cmocka_unit_test(test_dump_torn_by_every_change_of_its_table),
		cmocka_unit_test(test_encode_delete),
		cmocka_unit_test(test_encode_refuses_bad_specs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
