/* fuzz_rtnl_nexthop.c: RTM_NEWNEXTHOP/RTM_DELNEXTHOP (nl_decode_nexthop). A
 * decoded object has an id, a device that is an interface index (0: none),
 * a gateway of its own family, and a group only when it has members. */
#include "fuzz.h"
#include "fuzz_rtnl.h"
#include "rtnl_codec.h"

static void decode(const void *msg, size_t len)
{
	struct nl_nexthop nh;
	int r = nl_decode_nexthop(msg, len, &nh);

	if (r != 0) {
		fuzz_rtnl_check_result(r);
		FUZZ_CHECK(!nh.group && nh.n_group == 0);
		return;
	}
	FUZZ_CHECK(nh.id != 0 && nh.oif >= 0);
	if (nh.gw.family) {
		fuzz_check_addr(&nh.gw);
		FUZZ_CHECK(nh.gw.family == nh.family);
	}
	FUZZ_CHECK((nh.n_group == 0) == (nh.group == NULL));
	nl_nexthop_release(&nh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rtnl_messages(data, size, decode);
	return 0;
}
