/* fuzz_rtnl_dump.c: one read of a dump's replies (nl_dump_read), as the
 * route dump loop takes it. The request is the first message's seq and
 * port, so that the captured dumps match and a mutation of a later header
 * makes a message of another request. The result is read on, the end, or
 * an errno of the kernel's range; fn sees only the dump's own data
 * messages, whole, in order, within the read; a read that went to its end
 * handed on every such message and flagged an interrupted dump exactly
 * when one was. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <linux/netlink.h>

#include "fuzz.h"
#include "rtnl_codec.h"

struct seen {
	const uint8_t *data, *end, *next; /* the read; where a message may start */
	uint32_t seq, portid;
	size_t n;
};

static bool is_control(uint16_t type)
{
	return type == NLMSG_NOOP || type == NLMSG_ERROR || type == NLMSG_DONE ||
	       type == NLMSG_OVERRUN;
}

static void on_msg(const struct nlmsghdr *nlh, void *ctx)
{
	struct seen *s = ctx;
	const uint8_t *at = (const uint8_t *)nlh;

	FUZZ_CHECK(at >= s->next && at < s->end);
	FUZZ_CHECK(nlh->nlmsg_len >= sizeof(*nlh) &&
		   nlh->nlmsg_len <= (size_t)(s->end - at));
	FUZZ_CHECK(nlh->nlmsg_seq == s->seq && nlh->nlmsg_pid == s->portid);
	FUZZ_CHECK(!is_control(nlh->nlmsg_type));
	s->next = at + nlh->nlmsg_len;
	s->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {data, data + size, data, 0, 0, 0};
	struct nl_msgs m = {data, size};
	const struct nlmsghdr *nlh;
	size_t want = 0;
	bool intr = false, want_intr = false;
	int r;

	if (size >= sizeof(*nlh)) {
		memcpy(&s.seq, data + offsetof(struct nlmsghdr, nlmsg_seq), 4);
		memcpy(&s.portid, data + offsetof(struct nlmsghdr, nlmsg_pid), 4);
	}
	r = nl_dump_read(data, size, s.seq, s.portid, on_msg, &s, &intr);
	FUZZ_CHECK(r == NL_DUMP_MORE || r == NL_DUMP_DONE || (r < 0 && r >= -4095));
	if (r != NL_DUMP_MORE)
		return 0;
	/* Read to the end: every message of the request was seen. */
	while ((nlh = nl_msgs_next(&m))) {
		if (nlh->nlmsg_seq != s.seq || nlh->nlmsg_pid != s.portid)
			continue;
		want_intr |= (nlh->nlmsg_flags & NLM_F_DUMP_INTR) != 0;
		want += !is_control(nlh->nlmsg_type);
	}
	FUZZ_CHECK(m.left == 0);
	FUZZ_CHECK(s.n == want && intr == want_intr);
	return 0;
}
