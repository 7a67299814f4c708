/* fuzz_genl_dump.c: kernel WireGuard's reply to WG_CMD_GET_DEVICE, a dump
 * (genl_codec.c), and on the same bytes the controller's replies the
 * backend reads before it (the family, the policy). The dump whole
 * (wg_genl_parse_dump) and fed one message at a time as the socket hands
 * them over (wg_genl_reply_feed, wg_genl_dump_cb) give the same result and
 * the same device; the fingerprint read alone (wg_genl_parse_fingerprint)
 * is the device's (wg_device_fingerprint). A device holds normalised
 * AllowedIPs and not the temporary peer; after an error, nothing. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_wg.h"
#include "genl_codec.h"

static bool dump_result(int r)
{
	return r == 0 || r == -EAGAIN || r == -EBADMSG || r == -ENOMEM ||
	       fuzz_wg_is_errno(r);
}

/* The reply fed a message at a time, as parse_all does with the whole. */
static int parse_by_message(const uint8_t *data, size_t size, struct wg_device *dev,
			    struct wg_genl_dump *d)
{
	struct wg_genl_reply reply = {.cb = wg_genl_dump_cb, .data = d};
	size_t at = 0;
	int r = 0;

	wg_genl_dump_init(d, dev);
	while (at < size && !reply.complete && r == 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(data + at);
		size_t n = size - at;

		/* A whole message when its length says so, else the rest (for
		 * the feed to refuse). */
		if (n >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
		    nlh->nlmsg_len <= n)
			n = NLMSG_ALIGN(nlh->nlmsg_len) < n ? NLMSG_ALIGN(nlh->nlmsg_len)
							    : n;
		r = wg_genl_reply_feed(&reply, data + at, n);
		at += n;
	}
	if (r || !reply.complete)
		r = -EBADMSG;
	else
		r = reply.err				    ? reply.err
		    : (reply.interrupted || d->interrupted) ? -EAGAIN
							    : 0;
	if (r) {
		wg_device_free(dev);
		memset(dev, 0, sizeof(*dev));
	}
	return r;
}

static void check_dump(const uint8_t *data, size_t size)
{
	struct wg_device dev, fed;
	struct wg_genl_dump d;
	struct wg_key pubkey;
	uint64_t fp = 0;
	bool temp = false, temp_fp = false;
	int r = wg_genl_parse_dump(data, size, &dev, &temp);

	FUZZ_CHECK(dump_result(r));
	if (r)
		fuzz_wg_check_empty(&dev);
	else
		fuzz_wg_check_device(&dev);

	FUZZ_CHECK(parse_by_message(data, size, &fed, &d) == r);
	if (!r) {
		FUZZ_CHECK(d.temp_found == temp);
		fuzz_wg_check_same(&dev, &fed);
	}
	wg_device_free(&fed);

	FUZZ_CHECK(wg_genl_parse_fingerprint(data, size, &pubkey, &fp, &temp_fp) == r);
	if (!r)
		FUZZ_CHECK(wg_key_cmp(&pubkey, &dev.pubkey) == 0 &&
			   fp == wg_device_fingerprint(&dev) && temp_fp == temp);
	wg_device_free(&dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t family = 0;
	enum wg_remove_mode mode;
	int r;

	check_dump(data, size);
	r = wg_genl_parse_family(data, size, &family);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM || fuzz_wg_is_errno(r));
	r = wg_genl_parse_policy(data, size, &mode);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM || fuzz_wg_is_errno(r));
	return 0;
}
