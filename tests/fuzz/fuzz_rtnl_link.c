/* fuzz_rtnl_link.c: RTM_NEWLINK/RTM_DELLINK (nl_decode_link). A decoded
 * link has an index, a name and a kind that are strings within their
 * arrays, and up and running as its flags say. */
#include <net/if.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_rtnl.h"
#include "rtnl_codec.h"

static void decode(const void *msg, size_t len)
{
	struct nl_link link;
	int r = nl_decode_link(msg, len, &link);

	if (r != 0) {
		fuzz_rtnl_check_result(r);
		return;
	}
	FUZZ_CHECK(link.ifindex > 0);
	FUZZ_CHECK(strnlen(link.name, sizeof(link.name)) < sizeof(link.name));
	FUZZ_CHECK(strnlen(link.kind, sizeof(link.kind)) < sizeof(link.kind));
	FUZZ_CHECK(link.up == ((link.flags & IFF_UP) != 0));
	FUZZ_CHECK(link.running == ((link.flags & IFF_RUNNING) != 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rtnl_messages(data, size, decode);
	return 0;
}
