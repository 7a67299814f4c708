/* wg_uapi.h: the WireGuard backend over the userspace UAPI socket
 * (IFNAME.sock in /var/run/wireguard: wireguard-go, boringtun). A poll is
 * one `get=1` read into one reused buffer and parsed in place, without
 * per-line allocations. Removal: allowed_ip=-PREFIX where accepted, else
 * the temporary peer (wg_backend.h), else replace_allowed_ips. */
#ifndef WGRS_WG_UAPI_H
#define WGRS_WG_UAPI_H

#include <stddef.h>

#include "backend.h"
#include "buf.h"
#include "wg_backend.h"

#define WG_UAPI_SOCKDIR "/var/run/wireguard"

/* Parses a complete `get=1` reply (ending with "errno=N\n\n"). Unknown keys
 * are skipped. The device public key is derived from private_key. The
 * temporary peer is left out; *temp_found (may be NULL) tells whether it
 * was there. Returns 0, the reply's errno as a negative errno, or
 * -EBADMSG on malformed or truncated text (dev is then empty). */
int wg_uapi_parse_get(const char *text, size_t len, struct wg_device *dev,
		      bool *temp_found);
/* The same, for the device's public key and wg_device_fingerprint() only,
 * without building the snapshot (the temporary peer is left out as well). */
int wg_uapi_parse_fingerprint(const char *text, size_t len, struct wg_key *pubkey,
			      uint64_t *fp, bool *temp_found);
/* Parses a `set=1` reply ("errno=N\n\n"): 0, the negative errno, or -EBADMSG. */
int wg_uapi_parse_errno(const char *text, size_t len);
/* True when buf holds a complete reply (it ends with a blank line). */
bool wg_uapi_reply_complete(const char *text, size_t len);

/* Parses "ADDR/LEN" (len bytes, no NUL needed) as WireGuard prints it.
 * Host bits are cleared. 0 or -EINVAL. */
int wg_uapi_parse_prefix(const char *s, size_t len, struct prefix *out);

/* Appends the `set=1` request that applies the CHANGE_ALLOWED_* entries
 * ch[idx[0..n-1]] (no prefix twice) with the given removal mode. Adds and
 * native removals are grouped per peer (peers in key order, changes in list
 * order) with update_only=true; temporary-peer removals come last as one
 * section ending in remove=true. WG_REMOVE_REPLACE needs cur, the device
 * as read just before: each peer with removals gets replace_allowed_ips=true
 * and its current list less the removals. */
int wg_uapi_encode_set(struct buf *out, const struct change *ch, const size_t *idx,
		       size_t n, enum wg_remove_mode mode, const struct wg_device *cur);

/* Sends req (len bytes) to ifname's socket and reads the whole reply into
 * reply. 0 or a negative errno (-ENODEV when there is no such socket). */
typedef int (*wg_uapi_exchange_fn)(void *ctx, const char *ifname, const char *req,
				   size_t len, struct buf *reply);

/* The backend over real sockets in sockdir (NULL: WG_UAPI_SOCKDIR). */
struct wg_backend *wg_uapi_backend_new(const char *sockdir);
/* The same logic over another transport (tests). */
struct wg_backend *wg_uapi_backend_new_exchange(wg_uapi_exchange_fn fn, void *ctx);
/* The removal mode detected for ifname so far. */
enum wg_remove_mode wg_uapi_remove_mode(struct wg_backend *b, const char *ifname);

#endif
