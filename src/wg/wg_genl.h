/* wg_genl.h: the WireGuard backend over the kernel's generic netlink
 * family "wireguard" (libmnl). get() is one WG_CMD_GET_DEVICE dump, a peer
 * continued over several messages merged as wg(8) does; get_changed() (the
 * idle poll) hashes the dump as it arrives and dumps again for a snapshot
 * only when the device differs from what the caller knows; apply() sends
 * WG_CMD_SET_DEVICE with WGPEER_F_UPDATE_ONLY, long lists split over
 * messages as wg(8) does. Removal: WGALLOWEDIP_F_REMOVE_ME where the kernel
 * has it (policy dump, else a probe on the temporary peer), else the
 * temporary peer, else WGPEER_F_REPLACE_ALLOWEDIPS. The encoders and
 * decoders are public so that tests can check them against byte fixtures. */
#ifndef WGRS_WG_GENL_H
#define WGRS_WG_GENL_H

#include <libmnl/libmnl.h>
#include <linux/wireguard.h>

#include "backend.h"
#include "wg_backend.h"
#include "buf.h"

/* Linux 6.16 added these; older headers lack them. */
#ifndef WGALLOWEDIP_A_FLAGS
#define WGALLOWEDIP_A_FLAGS 4
#endif
#ifndef WGALLOWEDIP_F_REMOVE_ME
#define WGALLOWEDIP_F_REMOVE_ME (1U << 0)
#endif

/* wg(8) splits at the ideal libmnl buffer size: a page, at most 8 KiB. */
#define WG_GENL_MSG_MAX 4096

/* One peer entry of a WG_CMD_SET_DEVICE request. */
struct wg_genl_ip {
	struct prefix dst;
	bool remove;   /* WGALLOWEDIP_F_REMOVE_ME */
	size_t change; /* index of the change it serves (SIZE_MAX: none) */
	size_t msg;    /* out: the message it went into */
};
struct wg_genl_peer {
	struct wg_key key;
	uint32_t flags; /* WGPEER_F_*; REPLACE_ALLOWEDIPS goes on the first part only */
	size_t n_ips;
	struct wg_genl_ip *ips;
	size_t msg_last; /* out: the message holding its last part */
};

/* Appends the requests for peers[0..n-1] to out, as consecutive netlink
 * messages of at most msg_max bytes each (sequence numbers seq, seq+1, ...),
 * split like wg(8): a peer whose list does not fit is continued in the
 * next message with its key and its flags less REPLACE_ALLOWEDIPS. The
 * msg fields of peers and ips are filled in.
 * *n_msgs receives the number of messages. 0, -ENOMEM, or -EMSGSIZE when
 * msg_max cannot hold even one entry. */
int wg_genl_encode_set(struct buf *out, uint16_t family, uint32_t seq, const char *ifname,
		       struct wg_genl_peer *peers, size_t n, size_t msg_max,
		       size_t *n_msgs);

/* The other requests, appended to out as one message each. */
int wg_genl_encode_get(struct buf *out, uint16_t family, uint32_t seq,
		       const char *ifname);
int wg_genl_encode_getfamily(struct buf *out, uint32_t seq);
/* CTRL_CMD_GETPOLICY for WG_CMD_SET_DEVICE of the family. */
int wg_genl_encode_getpolicy(struct buf *out, uint16_t family, uint32_t seq);

/* Decoding. Each takes a sequence of messages as received (NLMSG_DONE or
 * an ACK ends it) and returns 0, the kernel's negative errno, -EAGAIN when
 * the dump was interrupted by a change (NLM_F_DUMP_INTR), or -EBADMSG for
 * malformed or truncated input. */
struct wg_genl_dump {
	struct wg_device *dev;
	size_t peers_cap, allowed_cap;
	bool in_temp, temp_found, done, interrupted;
	struct wg_key last; /* the peer begun last: a continuation repeats it */
	bool have_last;
	/* Fingerprint only: no peers are stored, fp sums what they hold. */
	bool fp_only;
	uint64_t fp, peer_fp;
};
void wg_genl_dump_init(struct wg_genl_dump *d, struct wg_device *dev);
/* The same, for dev->pubkey and the fingerprint (d->fp, as
 * wg_device_fingerprint() gives it) only: the idle poll builds no snapshot. */
void wg_genl_dump_init_fingerprint(struct wg_genl_dump *d, struct wg_device *dev);
/* An mnl callback: feed it every message of the dump (data: the dump). */
int wg_genl_dump_cb(const struct nlmsghdr *nlh, void *data);
int wg_genl_parse_dump(const void *buf, size_t len, struct wg_device *dev,
		       bool *temp_found);
/* The fingerprint of a dump without building the device; counters,
 * endpoints and handshake times do not enter it. The temporary peer is
 * left out and reported. */
int wg_genl_parse_fingerprint(const void *buf, size_t len, struct wg_key *pubkey,
			      uint64_t *fp, bool *temp_found);
int wg_genl_parse_family(const void *buf, size_t len, uint16_t *family);
/* Whether the kernel's policy for WG_CMD_SET_DEVICE lists
 * WGALLOWEDIP_A_FLAGS: NATIVE (listed), TEMP_PEER (the allowed-IP policy is
 * listed, without it) or UNKNOWN (not listed this deep: probe). */
int wg_genl_parse_policy(const void *buf, size_t len, enum wg_remove_mode *mode);

/* Sends the request at req (one message) and feeds every reply message to
 * cb until NLMSG_DONE or the ACK. 0, or a negative errno (the kernel's). */
typedef int (*wg_genl_exchange_fn)(void *ctx, const struct nlmsghdr *req, mnl_cb_t cb,
				   void *data);

/* The backend over a NETLINK_GENERIC socket. get() returns -ENODEV when the
 * family is missing or the device is not a kernel WireGuard device. Each
 * reply is read in full (a stale one, of an earlier request, is skipped);
 * one that does not come within 10 s fails the request with -ETIMEDOUT. */
struct wg_backend *wg_genl_backend_new(void);
/* The same logic over another transport (tests); msg_max as above. */
struct wg_backend *wg_genl_backend_new_exchange(wg_genl_exchange_fn fn, void *ctx,
						size_t msg_max);
enum wg_remove_mode wg_genl_remove_mode(struct wg_backend *b, const char *ifname);

#endif
