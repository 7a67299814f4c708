/* wgkey.c: WireGuard keys in base64 (configuration, wg(8)) and hex (UAPI). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "wgkey.h"

#define WG_KEY_HEX_LEN (2 * WG_KEY_LEN)

int wg_key_from_base64(const char *text, struct wg_key *out)
{
	char again[WG_KEY_B64_LEN];
	struct wg_key k;
	const char *end = NULL;
	size_t len = 0;

	if (!text || !out || strlen(text) != WG_KEY_B64_LEN - 1)
		return -EINVAL;
	if (sodium_base642bin(k.b, sizeof(k.b), text, WG_KEY_B64_LEN - 1, NULL, &len,
			      &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != WG_KEY_LEN || end != text + WG_KEY_B64_LEN - 1)
		return -EINVAL;
	/* Only the canonical spelling: one key, one text, as wg(8) insists. */
	wg_key_to_base64(&k, again);
	if (strcmp(again, text) != 0)
		return -EINVAL;
	*out = k;
	return 0;
}

char *wg_key_to_base64(const struct wg_key *k, char *buf)
{
	return sodium_bin2base64(buf, WG_KEY_B64_LEN, k->b, WG_KEY_LEN,
				 sodium_base64_VARIANT_ORIGINAL);
}

int wg_key_from_hex(const char *text, struct wg_key *out)
{
	return text ? wg_key_from_hex_n(text, strlen(text), out) : -EINVAL;
}

int wg_key_from_hex_n(const char *text, size_t len, struct wg_key *out)
{
	struct wg_key k;
	const char *end = NULL;
	size_t bin_len = 0;

	if (!text || !out || len != WG_KEY_HEX_LEN)
		return -EINVAL;
	if (sodium_hex2bin(k.b, sizeof(k.b), text, WG_KEY_HEX_LEN, NULL, &bin_len,
			   &end) != 0 ||
	    bin_len != WG_KEY_LEN || end != text + WG_KEY_HEX_LEN)
		return -EINVAL;
	*out = k;
	return 0;
}

char *wg_key_to_hex(const struct wg_key *k, char *buf)
{
	return sodium_bin2hex(buf, WG_KEY_HEX_LEN + 1, k->b, WG_KEY_LEN);
}

int wg_key_cmp(const struct wg_key *a, const struct wg_key *b)
{
	int c = memcmp(a->b, b->b, WG_KEY_LEN);

	return c < 0 ? -1 : c > 0;
}

bool wg_key_is_zero(const struct wg_key *k)
{
	return sodium_is_zero(k->b, WG_KEY_LEN) == 1;
}
