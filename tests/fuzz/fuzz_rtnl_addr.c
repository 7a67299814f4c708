/* fuzz_rtnl_addr.c: RTM_NEWADDR/RTM_DELADDR (nl_decode_addr). A decoded
 * address is an address of its family (host bits kept) with a prefix
 * length within the family, on an interface. */
#include "fuzz.h"
#include "fuzz_rtnl.h"
#include "rtnl_codec.h"

static void decode(const void *msg, size_t len)
{
	struct nl_addr addr;
	int r = nl_decode_addr(msg, len, &addr);
	struct prefix full;

	if (r != 0) {
		fuzz_rtnl_check_result(r);
		return;
	}
	FUZZ_CHECK(addr.ifindex > 0);
	FUZZ_CHECK(addr.addr.len <= prefix_family_bits(addr.addr.family));
	full = addr.addr;
	full.len = (uint8_t)prefix_family_bits(full.family);
	fuzz_check_addr(&full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rtnl_messages(data, size, decode);
	return 0;
}
