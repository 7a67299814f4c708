/* genl_codec.h: kernel WireGuard's generic netlink messages as pure
 * functions over byte buffers: the requests (set, get, getfamily,
 * getpolicy) encoded, the replies (a dump of the device, the family, the
 * policy, acknowledgements) decoded, whole or one message at a time as
 * they arrive. No sockets here (wg_genl.c has them). */
#ifndef WGRS_GENL_CODEC_H
#define WGRS_GENL_CODEC_H

#include <libmnl/libmnl.h>
#include <linux/wireguard.h>

#include "buf.h"
#include "model.h"
#include "wg_plan.h"

/* Linux 6.16 added these; older headers lack them. */
#ifndef WGALLOWEDIP_A_FLAGS
#define WGALLOWEDIP_A_FLAGS 4
#endif
#ifndef WGALLOWEDIP_F_REMOVE_ME
#define WGALLOWEDIP_F_REMOVE_ME (1U << 0)
#endif

/* wg(8) splits at the ideal libmnl buffer size: a page, at most 8 KiB. */
#define WG_GENL_MSG_MAX 4096

/* Appends the WG_CMD_SET_DEVICE requests for peers[0..n-1] to out, as
 * consecutive netlink messages of at most msg_max bytes each (sequence
 * numbers seq, seq+1, ...), split like wg(8): a peer whose list does not
 * fit is continued in the next message with its key and its flags less
 * REPLACE_ALLOWEDIPS. The msg fields of peers and ips are filled in.
 * *n_msgs receives the number of messages. 0, -ENOMEM, or -EMSGSIZE when
 * msg_max cannot hold even one entry. */
int wg_genl_encode_set(struct buf *out, uint16_t family, uint32_t seq, const char *ifname,
		       struct wg_set_peer *peers, size_t n, size_t msg_max,
		       size_t *n_msgs);

/* The other requests, appended to out as one message each. */
int wg_genl_encode_get(struct buf *out, uint16_t family, uint32_t seq,
		       const char *ifname);
int wg_genl_encode_getfamily(struct buf *out, uint32_t seq);
/* CTRL_CMD_GETPOLICY for WG_CMD_SET_DEVICE of the family. */
int wg_genl_encode_getpolicy(struct buf *out, uint16_t family, uint32_t seq);

/* The messages answering one request, fed as they arrive: data messages
 * go to cb, until NLMSG_DONE (a dump) or the acknowledgement completes the
 * reply. The rest of a reply is still read after an error, so that nothing
 * of it is left for the next request; messages of another sequence number
 * (an earlier request given up on) are skipped. */
struct wg_genl_reply {
	uint32_t seq; /* 0: take every message (captured bytes) */
	mnl_cb_t cb;
	void *data;
	int err;	  /* the kernel's error, else the callback's first */
	bool interrupted; /* NLM_F_DUMP_INTR: the dump changed under us */
	bool complete;	  /* NLMSG_DONE or the acknowledgement arrived */
	char kmsg[96];	  /* the kernel's extended ACK text, if it gave one */
};
/* Feeds the messages in buf, up to the one that completes the reply. 0, or
 * -EBADMSG when buf does not hold whole, well-formed messages. */
int wg_genl_reply_feed(struct wg_genl_reply *r, const void *buf, size_t len);

/* Decoding a whole reply (a sequence of messages as received, NLMSG_DONE
 * or an ACK ending it), for the unit and fuzz tests, which feed captured
 * replies; the backend decodes as the reply arrives (below). Each returns 0, the kernel's
 * negative errno, -EAGAIN when the dump was interrupted by a change (NLM_F_DUMP_INTR), or
 * -EBADMSG for malformed or truncated input. */
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

/* The same decoders one message at a time, as mnl callbacks (a reply's
 * cb). The dump: a peer continued over several messages is merged as
 * wg(8) merges it; the temporary peer is left out and noted. */
struct wg_genl_dump {
	struct wg_device *dev;
	size_t peers_cap, allowed_cap;
	bool in_temp, temp_found, interrupted;
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
int wg_genl_dump_cb(const struct nlmsghdr *nlh, void *data);
/* data: a uint16_t for the family id. */
int wg_genl_family_cb(const struct nlmsghdr *nlh, void *data);
struct wg_genl_policy {
	size_t n, cap;
	struct wg_genl_pol_entry *v;
	uint32_t do_policy;
	bool have_op;
	uint32_t cur_policy; /* while walking */
};
int wg_genl_policy_cb(const struct nlmsghdr *nlh, void *data);
/* What the policy tells, as wg_genl_parse_policy(); frees it. */
enum wg_remove_mode wg_genl_policy_mode(struct wg_genl_policy *p);

#endif
