/* fuzz_rtnl_route.c: RTM_NEWROUTE/RTM_DELROUTE (nl_decode_route). A decoded
 * route has a normalised destination and next hops whose gateways are
 * addresses and whose devices are interface indexes (0: none); a
 * route the encoder can write (one next hop, unicast) decodes from the
 * encoder's bytes to the same route. nl_route_table_of reads a decoded
 * route's table, and every message tears a dump of every table
 * (nl_route_tears_dump), a decoded route one of its own table. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "fuzz.h"
#include "fuzz_rtnl.h"
#include "rtnl_codec.h"

/* The route the encoder writes for rs, read back: add carries the gateway,
 * a delete names the route by its identity and device. */
static void check_round_trip(const struct route_spec *rs, bool add)
{
	uint8_t msg[NL_ROUTE_MSG_MAX];
	struct kroute back;
	uint32_t nh_id;
	int len = nl_encode_route(msg, sizeof(msg), add, rs, 7);
	bool has_gw = add && rs->gw.family;

	if (len == -EINVAL)
		return; /* not a spec the encoder takes (an IPv6 route via IPv4) */
	FUZZ_CHECK(len > 0 && len <= NL_ROUTE_MSG_MAX);
	FUZZ_CHECK(nl_decode_route(msg, (size_t)len, &back, &nh_id) == 0);
	FUZZ_CHECK(prefix_equal(&back.dst, &rs->dst) && back.table == rs->table &&
		   back.protocol == rs->protocol && back.tos == rs->tos &&
		   back.metric == rs->metric && back.type == RTN_UNICAST && nh_id == 0);
	if (rs->oif > 0 || has_gw) {
		FUZZ_CHECK(back.n_nexthops == 1 && back.nexthops[0].oif == rs->oif);
		if (has_gw)
			FUZZ_CHECK(prefix_equal(&back.nexthops[0].gw, &rs->gw));
		else
			FUZZ_CHECK(back.nexthops[0].gw.family == 0);
	} else {
		FUZZ_CHECK(back.n_nexthops == 0);
	}
	nl_kroute_release(&back);
}

static void decode(const void *msg, size_t len)
{
	struct kroute rt;
	uint32_t nh_id, table;
	int r = nl_decode_route(msg, len, &rt, &nh_id);
	int t = nl_route_table_of(msg, len, &table);

	FUZZ_CHECK(t == 0 || t == NL_ROUTE_SKIP || t == -EBADMSG);
	FUZZ_CHECK(nl_route_tears_dump(msg, len, 0));
	if (r == 0)
		FUZZ_CHECK(t == 0 && table == rt.table &&
			   nl_route_tears_dump(msg, len, table));
	if (r != 0) {
		fuzz_rtnl_check_result(r);
		FUZZ_CHECK(!rt.nexthops && rt.n_nexthops == 0);
		return;
	}
	fuzz_check_prefix(&rt.dst);
	FUZZ_CHECK((rt.n_nexthops == 0) == (rt.nexthops == NULL));
	for (size_t i = 0; i < rt.n_nexthops; i++) {
		FUZZ_CHECK(rt.nexthops[i].oif >= 0);
		if (rt.nexthops[i].gw.family)
			fuzz_check_addr(&rt.nexthops[i].gw);
	}
	if (rt.type == RTN_UNICAST && rt.n_nexthops <= 1) {
		struct route_spec rs = {
			.dst = rt.dst,
			.table = rt.table,
			.protocol = rt.protocol,
			.tos = rt.tos,
			.metric = rt.metric,
			.oif = rt.n_nexthops ? rt.nexthops[0].oif : 0,
		};

		if (rt.n_nexthops)
			rs.gw = rt.nexthops[0].gw;
		check_round_trip(&rs, true);
		check_round_trip(&rs, false);
	}
	nl_kroute_release(&rt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rtnl_messages(data, size, decode);
	return 0;
}
