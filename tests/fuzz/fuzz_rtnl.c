/* fuzz_rtnl.c: the walk over the messages of one read (fuzz_rtnl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "fuzz.h"
#include "fuzz_rtnl.h"
#include "rtnl_codec.h"

void fuzz_rtnl_messages(const uint8_t *data, size_t size,
			void (*decode)(const void *msg, size_t len))
{
	struct nl_msgs m = {data, size};
	const struct nlmsghdr *nlh;

	decode(data, size);
	while ((nlh = nl_msgs_next(&m))) {
		void *copy = malloc(nlh->nlmsg_len);

		FUZZ_CHECK(copy);
		memcpy(copy, nlh, nlh->nlmsg_len);
		decode(copy, nlh->nlmsg_len);
		free(copy);
	}
	/* The walk stops at the end or before bytes that are no message. */
	FUZZ_CHECK(m.left <= size && m.at == data + (size - m.left));
}

void fuzz_rtnl_check_result(int r)
{
	FUZZ_CHECK(r == NL_ROUTE_SKIP || r == -EBADMSG || r == -ENOMEM);
}
