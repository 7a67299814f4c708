/* uapi_codec.h: the UAPI text protocol of wireguard-go and boringtun as
 * pure functions over byte buffers: a get=1 reply parsed whole or as it
 * arrives, in place and without per-line allocations; a set=1 request
 * encoded from a wg_set; its errno reply. No sockets here (wg_uapi.c). */
#ifndef WGRS_UAPI_CODEC_H
#define WGRS_UAPI_CODEC_H

#include <stddef.h>

#include "buf.h"
#include "model.h"
#include "wg_plan.h"

/* Parses a complete `get=1` reply (ending with "errno=N\n\n"); the unit and
 * fuzz tests feed captured replies, the backend parses as it reads (below). Unknown keys
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
 * Host bits are cleared. 0 or -EINVAL. Public for its unit tests. */
int wg_uapi_parse_prefix(const char *s, size_t len, struct prefix *out);

/* A get=1 reply parsed as it arrives, in chunks of any size. */
enum wg_uapi_read {
	WG_UAPI_SNAPSHOT,    /* the peers and their AllowedIPs */
	WG_UAPI_FINGERPRINT, /* fp and text_hash only */
	WG_UAPI_TEXT_HASH,   /* text_hash only: the AllowedIPs not even parsed */
};
#define WG_UAPI_LINE_MAX 256 /* no line of a reply is longer */
struct wg_uapi_get {
	struct wg_device *dev; /* dev->pubkey; the peers for a SNAPSHOT */
	enum wg_uapi_read what;
	bool temp_found;
	uint64_t fp; /* FINGERPRINT: as wg_device_fingerprint() gives it */
	/* A hash of the public_key and allowed_ip lines as written, not of
	 * what they mean: the idle poll's memo keys on it. A sum over the
	 * lines, each hashed with its peer's key: wireguard-go lists the
	 * peers in no fixed order. */
	uint64_t text_hash;
	/* parsing state */
	struct wg_peer *cur; /* NULL before the first peer, or in the temp peer */
	size_t peers_cap, allowed_cap, len;
	bool in_peer, have_errno;
	int err;
	uint64_t peer_fp, peer_text;
	char line[WG_UAPI_LINE_MAX]; /* a line begun in an earlier chunk */
};
void wg_uapi_get_init(struct wg_uapi_get *g, struct wg_device *dev,
		      enum wg_uapi_read what);
/* The next n bytes: 1 once the reply is complete, 0 for more, or -EBADMSG
 * (-ENOMEM). */
int wg_uapi_get_feed(struct wg_uapi_get *g, const char *data, size_t n);
/* fed: what the last feed returned. 0, the reply's errno, or -EBADMSG for
 * a reply cut short; on any error, dev is emptied. */
int wg_uapi_get_end(struct wg_uapi_get *g, int fed);

/* Appends the `set=1` request for peers[0..n-1] to out: a section per
 * peer (an entry of the peer before continues its section), the flags
 * before the AllowedIPs, remove=true after them. */
int wg_uapi_encode_set(struct buf *out, const struct wg_set_peer *peers, size_t n);

#endif
