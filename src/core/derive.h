/* derive.h: the gateway address cunicu derives from a peer's public key. */
#ifndef WGRS_DERIVE_H
#define WGRS_DERIVE_H

#include "prefix.h"
#include "wgkey.h"

/* SipHash-2-4 (128-bit output) of the key's 32 bytes under cunicu's fixed
 * key; the first 4 or 16 bytes of the digest, read big-endian, shifted right
 * by the prefix length and ORed into the prefix's network bits. The result is
 * an address (len 32 or 128). Returns 0, or -EINVAL for a bad prefix. */
int derive_address(const struct wg_key *key, const struct prefix *prefix,
		   struct prefix *out);

#endif
