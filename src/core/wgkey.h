/* wgkey.h: WireGuard public keys and their base64 form (libsodium). */
#ifndef WGRS_WGKEY_H
#define WGRS_WGKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_KEY_LEN     32
#define WG_KEY_B64_LEN 45 /* 44 characters and NUL */

struct wg_key {
	uint8_t b[WG_KEY_LEN];
};

/* Parses standard base64 (44 characters, one '=' padding). 0 or -EINVAL. */
int wg_key_from_base64(const char *text, struct wg_key *out);
/* Writes the 44-character base64 form into buf and returns buf. */
char *wg_key_to_base64(const struct wg_key *k, char *buf);
/* Lowercase hex, as the UAPI protocol uses: 64 characters (upper case is
 * read too). NUL-terminated, as the tests hold keys. */
int wg_key_from_hex(const char *text, struct wg_key *out);
/* The same from the len bytes at text (no NUL needed): a UAPI line's value. */
int wg_key_from_hex_n(const char *text, size_t len, struct wg_key *out);
char *wg_key_to_hex(const struct wg_key *k, char *buf /* 65 bytes */);
int wg_key_cmp(const struct wg_key *a, const struct wg_key *b);
bool wg_key_is_zero(const struct wg_key *k);

#endif
