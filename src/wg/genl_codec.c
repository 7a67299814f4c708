/* genl_codec.c: kernel WireGuard's generic netlink messages, encoded and
 * decoded (genl_codec.h). */
#include <errno.h>
#include <limits.h>
#include <linux/genetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genl_codec.h"
#include "vec.h"

/* wg_set_peer's flags are the kernel's, sent as they are. */
_Static_assert((unsigned)WG_PEER_REMOVE_ME == WGPEER_F_REMOVE_ME &&
		       (unsigned)WG_PEER_REPLACE_ALLOWEDIPS ==
			       WGPEER_F_REPLACE_ALLOWEDIPS &&
		       (unsigned)WG_PEER_UPDATE_ONLY == WGPEER_F_UPDATE_ONLY,
	       "WG_PEER_* are WGPEER_F_*");

/* ---- attribute walking with full validation ---- */

typedef int (*attr_fn)(const struct nlattr *a, void *data);

/* Calls fn for every attribute in [start, start + len); the attributes must
 * cover the range exactly. 0, fn's error, or -EBADMSG. */
static int walk_attrs(const void *start, size_t len, attr_fn fn, void *data)
{
	const struct nlattr *a = start;
	int r;

	while (len > 0) {
		size_t step;

		if (!mnl_attr_ok(a, (int)len))
			return -EBADMSG;
		r = fn(a, data);
		if (r)
			return r;
		step = MNL_ALIGN(a->nla_len);
		if (step >= len)
			break;
		len -= step;
		a = (const struct nlattr *)((const char *)a + step);
	}
	return 0;
}

static int walk_nested(const struct nlattr *nest, attr_fn fn, void *data)
{
	return walk_attrs(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), fn,
			  data);
}

static int walk_msg(const struct nlmsghdr *nlh, attr_fn fn, void *data)
{
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr)))
		return -EBADMSG;
	return walk_attrs(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct genlmsghdr)),
			  nlh->nlmsg_len - MNL_NLMSG_HDRLEN -
				  MNL_ALIGN(sizeof(struct genlmsghdr)),
			  fn, data);
}

static int cb_result(int r)
{
	if (!r)
		return MNL_CB_OK;
	errno = -r;
	return MNL_CB_ERROR;
}

/* ---- replies ----
 *
 * libmnl's mnl_cb_run() is not used: it stops at the first error, and it
 * fails an interrupted dump with EINTR before the callback sees it. */

static int ext_ack_attr(const struct nlattr *a, void *data)
{
	struct wg_genl_reply *r = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		snprintf(r->kmsg, sizeof(r->kmsg), "%s", mnl_attr_get_str(a));
	return 0;
}

/* NLMSG_ERROR: error 0 is the acknowledgement. The extended ACK attributes
 * follow the original request, of which NETLINK_CAP_ACK leaves the header. */
static int reply_error(struct wg_genl_reply *r, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t have = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);

	if (have < sizeof(*e) || e->error > 0 || e->error < -4095)
		return -EBADMSG;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(e->msg))
		off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(e->msg));
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < have)
		walk_attrs((const char *)e + off, have - off, ext_ack_attr, r);
	r->err = r->err ?: e->error;
	r->complete = true;
	return 0;
}

/* NLMSG_DONE carries the dump's error (0 when it went through). */
static int reply_done(struct wg_genl_reply *r, const struct nlmsghdr *nlh)
{
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(err))
		return -EBADMSG;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err > 0 || err < -4095)
		return -EBADMSG;
	r->err = r->err ?: err;
	r->complete = true;
	return 0;
}

static void reply_data(struct wg_genl_reply *r, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		r->interrupted = true;
	if (r->err || !r->cb)
		return;
	errno = 0;
	switch (r->cb(nlh, r->data)) {
	case MNL_CB_ERROR:
		r->err = errno ? -errno : -EBADMSG;
		break;
	case MNL_CB_STOP:
		r->cb = NULL; /* it has seen enough */
		break;
	}
}

int wg_genl_reply_feed(struct wg_genl_reply *r, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rest = len > INT_MAX ? INT_MAX : (int)len;

	for (; rest > 0 && !r->complete; nlh = mnl_nlmsg_next(nlh, &rest)) {
		int bad = 0;

		/* mnl_nlmsg_ok() alone takes a length of 2^31 or more for a
		 * negative one, and passes it. */
		if (!mnl_nlmsg_ok(nlh, rest) || nlh->nlmsg_len > (uint32_t)rest)
			return -EBADMSG;
		if (r->seq && nlh->nlmsg_seq != r->seq)
			continue;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			break;
		case NLMSG_ERROR:
			bad = reply_error(r, nlh);
			break;
		case NLMSG_DONE:
			bad = reply_done(r, nlh);
			break;
		case NLMSG_OVERRUN:
			bad = -EBADMSG;
			break;
		default:
			if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
				reply_data(r, nlh);
		}
		if (bad)
			return bad;
	}
	return 0;
}

static int reply_result(const struct wg_genl_reply *r)
{
	if (r->err)
		return r->err;
	return r->interrupted ? -EAGAIN : 0;
}

/* Decodes a complete reply held in buf (captured bytes): 0, the kernel's
 * or the callback's error, -EAGAIN for an interrupted dump, or -EBADMSG
 * when it is malformed or cut short. */
static int parse_all(const void *buf, size_t len, mnl_cb_t cb, void *data)
{
	struct wg_genl_reply r = {.cb = cb, .data = data};
	int bad = wg_genl_reply_feed(&r, buf, len);

	if (bad || !r.complete)
		return -EBADMSG;
	return reply_result(&r);
}

/* ---- GET_DEVICE dump ---- */

void wg_genl_dump_init(struct wg_genl_dump *d, struct wg_device *dev)
{
	memset(d, 0, sizeof(*d));
	memset(dev, 0, sizeof(*dev));
	d->dev = dev;
}

void wg_genl_dump_init_fingerprint(struct wg_genl_dump *d, struct wg_device *dev)
{
	wg_genl_dump_init(d, dev);
	d->fp_only = true;
}

struct ip_attrs {
	const struct nlattr *family, *addr, *cidr;
};

static int ip_attr(const struct nlattr *a, void *data)
{
	struct ip_attrs *ia = data;

	switch (mnl_attr_get_type(a)) {
	case WGALLOWEDIP_A_FAMILY:
		ia->family = a;
		break;
	case WGALLOWEDIP_A_IPADDR:
		ia->addr = a;
		break;
	case WGALLOWEDIP_A_CIDR_MASK:
		ia->cidr = a;
		break;
	}
	return 0;
}

static int decode_ip(const struct nlattr *nest, struct prefix *out)
{
	struct ip_attrs ia = {0};
	uint16_t family;
	size_t alen;
	uint8_t cidr;

	if (walk_nested(nest, ip_attr, &ia))
		return -EBADMSG;
	if (!ia.family || !ia.addr || !ia.cidr ||
	    mnl_attr_get_payload_len(ia.family) != sizeof(uint16_t) ||
	    mnl_attr_get_payload_len(ia.cidr) != sizeof(uint8_t))
		return -EBADMSG;
	family = mnl_attr_get_u16(ia.family);
	cidr = mnl_attr_get_u8(ia.cidr);
	alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	if (!alen || mnl_attr_get_payload_len(ia.addr) != alen || cidr > alen * 8)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	out->len = cidr;
	memcpy(out->addr, mnl_attr_get_payload(ia.addr), alen);
	if (cidr < alen * 8) { /* the kernel masks; be sure */
		out->addr[cidr >> 3] &= (uint8_t)(0xff00u >> (cidr & 7));
		memset(out->addr + (cidr >> 3) + 1, 0, 15 - (cidr >> 3));
	}
	return 0;
}

static int allowedip_entry(const struct nlattr *a, void *data)
{
	struct wg_genl_dump *d = data;
	struct wg_peer *last;
	struct prefix p;

	if (decode_ip(a, &p))
		return -EBADMSG;
	if (d->in_temp)
		return 0;
	if (d->fp_only) {
		d->fp += wg_fp_entry(d->peer_fp, &p);
		return 0;
	}
	last = &d->dev->peers[d->dev->n_peers - 1];
	return vec_push(last->allowed, last->n_allowed, d->allowed_cap, p);
}

struct peer_attrs {
	const struct nlattr *key, *ips;
};

static int peer_attr(const struct nlattr *a, void *data)
{
	struct peer_attrs *pa = data;

	if (mnl_attr_get_type(a) == WGPEER_A_PUBLIC_KEY)
		pa->key = a;
	else if (mnl_attr_get_type(a) == WGPEER_A_ALLOWEDIPS)
		pa->ips = a;
	return 0;
}

static int start_peer(struct wg_genl_dump *d, const struct wg_key *k)
{
	struct wg_device *dev = d->dev;

	d->in_temp = wg_is_temp_peer(k);
	if (d->in_temp) {
		d->temp_found = true;
		return 0;
	}
	/* A peer continued from the previous message: the same key again. */
	if (d->have_last && !memcmp(d->last.b, k->b, WG_KEY_LEN))
		return 0;
	d->last = *k;
	d->have_last = true;
	if (d->fp_only) {
		d->peer_fp = wg_fp_peer(k);
		d->fp += d->peer_fp;
		return 0;
	}
	d->allowed_cap = 0;
	return vec_push(dev->peers, dev->n_peers, d->peers_cap,
			(struct wg_peer){.key = *k});
}

static int peer_entry(const struct nlattr *a, void *data)
{
	struct wg_genl_dump *d = data;
	struct peer_attrs pa = {0};
	struct wg_key k;
	int r;

	if (walk_nested(a, peer_attr, &pa) || !pa.key ||
	    mnl_attr_get_payload_len(pa.key) != WG_KEY_LEN)
		return -EBADMSG;
	memcpy(k.b, mnl_attr_get_payload(pa.key), WG_KEY_LEN);
	r = start_peer(d, &k);
	if (r)
		return r;
	return pa.ips ? walk_nested(pa.ips, allowedip_entry, d) : 0;
}

static int device_attr(const struct nlattr *a, void *data)
{
	struct wg_genl_dump *d = data;

	switch (mnl_attr_get_type(a)) {
	case WGDEVICE_A_PUBLIC_KEY:
		if (mnl_attr_get_payload_len(a) != WG_KEY_LEN)
			return -EBADMSG;
		memcpy(d->dev->pubkey.b, mnl_attr_get_payload(a), WG_KEY_LEN);
		return 0;
	case WGDEVICE_A_PEERS:
		return walk_nested(a, peer_entry, d);
	}
	return 0;
}

int wg_genl_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct wg_genl_dump *d = data;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		d->interrupted = true;
	return cb_result(walk_msg(nlh, device_attr, d));
}

static int parse_dump_as(const void *buf, size_t len, struct wg_device *dev, bool fp_only,
			 bool *temp_found, struct wg_genl_dump *d)
{
	int r;

	if (fp_only)
		wg_genl_dump_init_fingerprint(d, dev);
	else
		wg_genl_dump_init(d, dev);
	r = parse_all(buf, len, wg_genl_dump_cb, d);
	if (!r && d->interrupted)
		r = -EAGAIN;
	if (r) {
		wg_device_free(dev);
		memset(dev, 0, sizeof(*dev));
	}
	if (temp_found)
		*temp_found = !r && d->temp_found;
	return r;
}

int wg_genl_parse_dump(const void *buf, size_t len, struct wg_device *dev,
		       bool *temp_found)
{
	struct wg_genl_dump d;

	return parse_dump_as(buf, len, dev, false, temp_found, &d);
}

int wg_genl_parse_fingerprint(const void *buf, size_t len, struct wg_key *pubkey,
			      uint64_t *fp, bool *temp_found)
{
	struct wg_genl_dump d;
	struct wg_device dev;
	int r = parse_dump_as(buf, len, &dev, true, temp_found, &d);

	*pubkey = dev.pubkey;
	*fp = r ? 0 : d.fp;
	return r;
}

/* ---- CTRL_CMD_GETFAMILY ---- */

static int family_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID) {
		if (mnl_attr_get_payload_len(a) != sizeof(uint16_t))
			return -EBADMSG;
		*(uint16_t *)data = mnl_attr_get_u16(a);
	}
	return 0;
}

int wg_genl_family_cb(const struct nlmsghdr *nlh, void *data)
{
	return cb_result(walk_msg(nlh, family_attr, data));
}

int wg_genl_parse_family(const void *buf, size_t len, uint16_t *family)
{
	int r;

	*family = 0;
	r = parse_all(buf, len, wg_genl_family_cb, family);
	if (!r && !*family)
		r = -EBADMSG;
	return r;
}

/* ---- CTRL_CMD_GETPOLICY ---- */

struct wg_genl_pol_entry {
	uint32_t policy, attr, type, sub; /* sub: nested policy, or UINT32_MAX */
};

static int pol_type_attr(const struct nlattr *a, void *data)
{
	struct wg_genl_pol_entry *e = data;
	uint16_t t = mnl_attr_get_type(a);

	if (t != NL_POLICY_TYPE_ATTR_TYPE && t != NL_POLICY_TYPE_ATTR_POLICY_IDX)
		return 0;
	if (mnl_attr_get_payload_len(a) != sizeof(uint32_t))
		return -EBADMSG;
	if (t == NL_POLICY_TYPE_ATTR_TYPE)
		e->type = mnl_attr_get_u32(a);
	else
		e->sub = mnl_attr_get_u32(a);
	return 0;
}

static int pol_attr_entry(const struct nlattr *a, void *data)
{
	struct wg_genl_policy *t = data;
	struct wg_genl_pol_entry e = {t->cur_policy, mnl_attr_get_type(a), 0, UINT32_MAX};
	int r = walk_nested(a, pol_type_attr, &e);

	return r ?: vec_push(t->v, t->n, t->cap, e);
}

static int pol_policy_entry(const struct nlattr *a, void *data)
{
	struct wg_genl_policy *t = data;

	t->cur_policy = mnl_attr_get_type(a);
	return walk_nested(a, pol_attr_entry, t);
}

static int pol_op_attr(const struct nlattr *a, void *data)
{
	struct wg_genl_policy *t = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_POLICY_DO) {
		if (mnl_attr_get_payload_len(a) != sizeof(uint32_t))
			return -EBADMSG;
		t->do_policy = mnl_attr_get_u32(a);
		t->have_op = true;
	}
	return 0;
}

static int pol_op_entry(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) != WG_CMD_SET_DEVICE)
		return 0;
	return walk_nested(a, pol_op_attr, data);
}

static int pol_msg_attr(const struct nlattr *a, void *data)
{
	switch (mnl_attr_get_type(a)) {
	case CTRL_ATTR_POLICY:
		return walk_nested(a, pol_policy_entry, data);
	case CTRL_ATTR_OP_POLICY:
		return walk_nested(a, pol_op_entry, data);
	}
	return 0;
}

int wg_genl_policy_cb(const struct nlmsghdr *nlh, void *data)
{
	return cb_result(walk_msg(nlh, pol_msg_attr, data));
}

static const struct wg_genl_pol_entry *pol_find(const struct wg_genl_policy *t,
						uint32_t policy, uint32_t attr)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].policy == policy && t->v[i].attr == attr)
			return &t->v[i];
	return NULL;
}

static bool pol_has_policy(const struct wg_genl_policy *t, uint32_t policy)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].policy == policy)
			return true;
	return false;
}

/* device policy -> WGDEVICE_A_PEERS -> peer policy -> WGPEER_A_ALLOWEDIPS
 * -> allowed-IP policy: does it list WGALLOWEDIP_A_FLAGS? */
static enum wg_remove_mode pol_decide(const struct wg_genl_policy *t)
{
	const struct wg_genl_pol_entry *e =
		pol_find(t, t->have_op ? t->do_policy : 0, WGDEVICE_A_PEERS);

	if (!e || e->sub == UINT32_MAX)
		return WG_REMOVE_UNKNOWN;
	e = pol_find(t, e->sub, WGPEER_A_ALLOWEDIPS);
	if (!e || e->sub == UINT32_MAX || !pol_has_policy(t, e->sub))
		return WG_REMOVE_UNKNOWN;
	return pol_find(t, e->sub, WGALLOWEDIP_A_FLAGS) ? WG_REMOVE_NATIVE
							: WG_REMOVE_TEMP_PEER;
}

enum wg_remove_mode wg_genl_policy_mode(struct wg_genl_policy *p)
{
	enum wg_remove_mode m = pol_decide(p);

	free(p->v);
	memset(p, 0, sizeof(*p));
	return m;
}

int wg_genl_parse_policy(const void *buf, size_t len, enum wg_remove_mode *mode)
{
	struct wg_genl_policy t = {0};
	int r = parse_all(buf, len, wg_genl_policy_cb, &t);
	enum wg_remove_mode m = wg_genl_policy_mode(&t);

	*mode = r ? WG_REMOVE_UNKNOWN : m;
	return r;
}

/* ---- encoders ---- */

static struct nlmsghdr *msg_start(struct buf *out, size_t max, uint16_t type,
				  uint16_t flags, uint32_t seq, uint8_t cmd,
				  uint8_t version)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	if (buf_reserve(out, max))
		return NULL;
	memset(out->data + out->len, 0, max);
	nlh = mnl_nlmsg_put_header(out->data + out->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

static void msg_end(struct buf *out, const struct nlmsghdr *nlh)
{
	out->len += nlh->nlmsg_len;
}

int wg_genl_encode_get(struct buf *out, uint16_t family, uint32_t seq, const char *ifname)
{
	struct nlmsghdr *nlh =
		msg_start(out, 256, family, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq,
			  WG_CMD_GET_DEVICE, WG_GENL_VERSION);

	if (!nlh)
		return -ENOMEM;
	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	msg_end(out, nlh);
	return 0;
}

int wg_genl_encode_getfamily(struct buf *out, uint32_t seq)
{
	struct nlmsghdr *nlh =
		msg_start(out, 256, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq,
			  CTRL_CMD_GETFAMILY, 1);

	if (!nlh)
		return -ENOMEM;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	msg_end(out, nlh);
	return 0;
}

int wg_genl_encode_getpolicy(struct buf *out, uint16_t family, uint32_t seq)
{
	struct nlmsghdr *nlh =
		msg_start(out, 256, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP,
			  seq, CTRL_CMD_GETPOLICY, 1);

	if (!nlh)
		return -ENOMEM;
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, family);
	mnl_attr_put_u32(nlh, CTRL_ATTR_OP, WG_CMD_SET_DEVICE);
	msg_end(out, nlh);
	return 0;
}

/* Puts one allowed-IP nest; false (and nothing left behind) when it does
 * not fit. */
static bool put_ip(struct nlmsghdr *nlh, size_t max, const struct wg_set_ip *ip)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, max, 0);
	uint16_t family = ip->dst.family;
	size_t alen = prefix_family_bits(family) / 8;

	if (!nest)
		return false;
	if (!mnl_attr_put_u16_check(nlh, max, WGALLOWEDIP_A_FAMILY, family) ||
	    !mnl_attr_put_check(nlh, max, WGALLOWEDIP_A_IPADDR, alen, ip->dst.addr) ||
	    !mnl_attr_put_u8_check(nlh, max, WGALLOWEDIP_A_CIDR_MASK, ip->dst.len) ||
	    (ip->remove && !mnl_attr_put_u32_check(nlh, max, WGALLOWEDIP_A_FLAGS,
						   WGALLOWEDIP_F_REMOVE_ME))) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* Fills one message from peer *pi, ip *ii on; advances them. *started
 * tells whether peer *pi went into an earlier message already: then this
 * is its continuation, which carries its key and its flags less
 * REPLACE_ALLOWEDIPS, as wg(8) splits. Returns whether anything was put. */
static bool fill_set(struct nlmsghdr *nlh, size_t max, struct wg_set_peer *peers,
		     size_t n, size_t *pi, size_t *ii, bool *started, size_t msg)
{
	struct nlattr *peers_nest = mnl_attr_nest_start_check(nlh, max, WGDEVICE_A_PEERS);
	bool progress = false;

	if (!peers_nest)
		return false;
	for (; *pi < n; (*pi)++, *ii = 0, *started = false) {
		struct wg_set_peer *p = &peers[*pi];
		struct nlattr *peer_nest = mnl_attr_nest_start_check(nlh, max, 0), *ips;
		uint32_t flags = p->flags;

		if (*started)
			flags &= ~(uint32_t)WGPEER_F_REPLACE_ALLOWEDIPS;
		if (!peer_nest)
			goto full;
		if (!mnl_attr_put_check(nlh, max, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN,
					p->key.b) ||
		    (flags && !mnl_attr_put_u32_check(nlh, max, WGPEER_A_FLAGS, flags))) {
			mnl_attr_nest_cancel(nlh, peer_nest);
			goto full;
		}
		progress = true;
		*started = true;
		if (*ii < p->n_ips) {
			ips = mnl_attr_nest_start_check(nlh, max, WGPEER_A_ALLOWEDIPS);
			if (!ips) {
				mnl_attr_nest_end(nlh, peer_nest);
				goto full;
			}
			for (; *ii < p->n_ips; (*ii)++) {
				if (!put_ip(nlh, max, &p->ips[*ii])) {
					mnl_attr_nest_end(nlh, ips);
					mnl_attr_nest_end(nlh, peer_nest);
					goto full;
				}
				p->ips[*ii].msg = msg;
			}
			mnl_attr_nest_end(nlh, ips);
		}
		p->msg_last = msg;
		mnl_attr_nest_end(nlh, peer_nest);
	}
full:
	mnl_attr_nest_end(nlh, peers_nest);
	return progress;
}

int wg_genl_encode_set(struct buf *out, uint16_t family, uint32_t seq, const char *ifname,
		       struct wg_set_peer *peers, size_t n, size_t msg_max,
		       size_t *n_msgs)
{
	size_t pi = 0, ii = 0, msgs = 0, start = out->len;
	bool started = false;

	if (n_msgs)
		*n_msgs = 0;
	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	if (msg_max > UINT32_MAX)
		return -EMSGSIZE;
	while (pi < n) {
		struct nlmsghdr *nlh = msg_start(
			out, msg_max, family, NLM_F_REQUEST | NLM_F_ACK,
			seq + (uint32_t)msgs, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
		size_t before_pi = pi, before_ii = ii;
		bool was_started = started;

		if (!nlh) {
			out->len = start;
			return -ENOMEM;
		}
		/* Progress: a peer finished, an allowed IP put, or a peer with
		 * nothing left but its key and flags (a continuation of a peer
		 * that did not get even one allowed IP in is none). */
		if (!mnl_attr_put_strz_check(nlh, msg_max, WGDEVICE_A_IFNAME, ifname) ||
		    !fill_set(nlh, msg_max, peers, n, &pi, &ii, &started, msgs) ||
		    (pi == before_pi && ii == before_ii && was_started)) {
			out->len = start;
			return -EMSGSIZE;
		}
		msg_end(out, nlh);
		msgs++;
	}
	if (n_msgs)
		*n_msgs = msgs;
	return 0;
}
