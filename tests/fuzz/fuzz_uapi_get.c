/* fuzz_uapi_get.c: the reply of wireguard-go (and boringtun) to `get=1`
 * (uapi_codec.c). Whole (wg_uapi_parse_get) and as it arrives in chunks of
 * any size (wg_uapi_get_feed, as the backend reads the socket) give the same
 * result and the same device; the fingerprint read alone
 * (wg_uapi_parse_fingerprint) is the device's (wg_device_fingerprint), and
 * the text hash is the same whether the AllowedIPs are parsed or not. A
 * device holds normalised AllowedIPs and not the temporary peer; after an
 * error, nothing. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_wg.h"
#include "uapi_codec.h"

/* The reply fed in chunks of step bytes (the last one shorter) until the
 * parser has it all; *used gets the bytes it was given (a reply that ends
 * with a chunk leaves what follows unread, in the socket). */
static int parse_chunked(const char *text, size_t len, size_t step, struct wg_device *dev,
			 enum wg_uapi_read what, struct wg_uapi_get *g, size_t *used)
{
	size_t at = 0, n = 0;
	int fed = 0;

	wg_uapi_get_init(g, dev, what);
	for (; at < len && fed == 0; at += n) {
		n = len - at < step ? len - at : step;
		fed = wg_uapi_get_feed(g, text + at, n);
	}
	*used = at;
	return wg_uapi_get_end(g, fed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	/* The chunk size comes from the input, so that every split is tried. */
	size_t step = size ? 1 + data[size - 1] % 97 : 1;
	struct wg_device dev, chunked, fp_dev, head;
	struct wg_uapi_get g, g_fp, g_text;
	struct wg_key pubkey;
	uint64_t fp = 0;
	bool temp = false, temp_fp = false, temp_head = false;
	size_t used, used_fp;
	int r = wg_uapi_parse_get(text, size, &dev, &temp), r2;

	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM || r == -EPROTO ||
		   fuzz_wg_is_errno(r));
	if (r)
		fuzz_wg_check_empty(&dev);
	else
		fuzz_wg_check_device(&dev);

	/* In chunks, the same as whole for what the parser was given. */
	r2 = parse_chunked(text, size, step, &chunked, WG_UAPI_SNAPSHOT, &g, &used);
	FUZZ_CHECK(used == size || r2 == 0 || fuzz_wg_is_errno(r2));
	FUZZ_CHECK(wg_uapi_parse_get(text, used, &head, &temp_head) == r2);
	if (!r2) {
		FUZZ_CHECK(g.temp_found == temp_head);
		fuzz_wg_check_same(&head, &chunked);
	}
	wg_device_free(&head);
	wg_device_free(&chunked);

	FUZZ_CHECK(wg_uapi_parse_fingerprint(text, size, &pubkey, &fp, &temp_fp) == r);
	if (!r) {
		FUZZ_CHECK(wg_key_cmp(&pubkey, &dev.pubkey) == 0);
		FUZZ_CHECK(fp == wg_device_fingerprint(&dev) && temp_fp == temp);
		/* The idle poll's memo: the same hash of the text, AllowedIPs
		 * parsed (FINGERPRINT) or not (TEXT_HASH). */
		FUZZ_CHECK(parse_chunked(text, size, step, &fp_dev, WG_UAPI_FINGERPRINT,
					 &g_fp, &used_fp) == 0);
		FUZZ_CHECK(g_fp.fp == fp);
		wg_device_free(&fp_dev);
		FUZZ_CHECK(parse_chunked(text, size, size ? size : 1, &fp_dev,
					 WG_UAPI_TEXT_HASH, &g_text, &used_fp) == 0);
		FUZZ_CHECK(g_text.text_hash == g_fp.text_hash);
		wg_device_free(&fp_dev);
	}
	wg_device_free(&dev);
	return 0;
}
