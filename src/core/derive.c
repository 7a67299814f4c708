/* derive.c: cunicu's gateway address of a peer, from its public key. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "derive.h"

/* cunicu's fixed SipHash key (pkg/crypto, addrHashKey). */
static const uint8_t cunicu_key[crypto_shorthash_siphashx24_KEYBYTES] = {
	0x67, 0x67, 0x2c, 0x05, 0xd1, 0x3e, 0x11, 0x94,
	0xbb, 0x38, 0x91, 0xff, 0x4f, 0x80, 0xb3, 0x97,
};

/* Shifts a big-endian number of n bytes right by shift bits (any amount). */
static void shift_right(uint8_t *num, size_t n, unsigned shift)
{
	size_t bytes = shift / 8;
	unsigned bits = shift % 8;

	for (size_t i = n; i-- > 0;) {
		unsigned hi = i >= bytes ? num[i - bytes] : 0;
		unsigned lo = i >= bytes + 1 ? num[i - bytes - 1] : 0;

		num[i] = (uint8_t)(bits ? (hi >> bits) | (lo << (8 - bits)) : hi);
	}
}

int derive_address(const struct wg_key *key, const struct prefix *prefix,
		   struct prefix *out)
{
	uint8_t digest[crypto_shorthash_siphashx24_BYTES];
	unsigned bits = prefix ? prefix_family_bits(prefix->family) : 0;
	size_t n = bits / 8;
	struct prefix net;

	if (!key || !out || !bits || prefix->len > bits)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EINVAL;
	crypto_shorthash_siphashx24(digest, key->b, WG_KEY_LEN, cunicu_key);
	shift_right(digest, n, prefix->len);

	net = prefix_truncate(prefix, prefix->len);
	for (size_t i = 0; i < n; i++)
		net.addr[i] |= digest[i];
	net.len = (uint8_t)bits;
	*out = net;
	return 0;
}
