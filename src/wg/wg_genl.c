/* wg_genl.c: the WireGuard backend over generic netlink (libmnl). See
 * wg_genl.h and docs/backends.md. */
#include <errno.h>
#include <limits.h>
#include <linux/genetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "wg_genl.h"

#define GENL_RECV_SIZE 65536
#define DUMP_RETRIES   5
/* How long a reply may take before the request counts as lost. */
#define GENL_TIMEOUT_S 10

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
 * The messages answering one request: data messages, then NLMSG_DONE (a
 * dump) or the acknowledgement (NLMSG_ERROR). Read in full even after an
 * error, so that nothing of it is left on the socket for the next request;
 * messages of another sequence number (an earlier request given up on) are
 * skipped. libmnl's mnl_cb_run() is not used: it stops at the first error,
 * and it fails an interrupted dump with EINTR before the callback sees it. */
struct reply {
	uint32_t seq; /* 0: take every message (the decoders of captured bytes) */
	mnl_cb_t cb;
	void *data;
	int err;	  /* the kernel's error, else the callback's first */
	bool interrupted; /* NLM_F_DUMP_INTR: the dump changed under us */
	bool complete;	  /* NLMSG_DONE or the acknowledgement arrived */
	char kmsg[96];	  /* the kernel's extended ACK text, if it gave one */
};

static int ext_ack_attr(const struct nlattr *a, void *data)
{
	struct reply *r = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		snprintf(r->kmsg, sizeof(r->kmsg), "%s", mnl_attr_get_str(a));
	return 0;
}

/* NLMSG_ERROR: error 0 is the acknowledgement. The extended ACK attributes
 * follow the original request, of which NETLINK_CAP_ACK leaves the header. */
static int reply_error(struct reply *r, const struct nlmsghdr *nlh)
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
static int reply_done(struct reply *r, const struct nlmsghdr *nlh)
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

static void reply_data(struct reply *r, const struct nlmsghdr *nlh)
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

/* Feeds the messages in buf to r, up to the one that completes it. 0, or
 * -EBADMSG when buf does not hold whole, well-formed messages. */
static int reply_feed(struct reply *r, const void *buf, size_t len)
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

static int reply_result(const struct reply *r)
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
	struct reply r = {.cb = cb, .data = data};
	int bad = reply_feed(&r, buf, len);

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

static int push_allowed(struct wg_genl_dump *d, const struct prefix *a)
{
	struct wg_peer *p = &d->dev->peers[d->dev->n_peers - 1];

	if (p->n_allowed == d->allowed_cap) {
		size_t ncap = d->allowed_cap ? d->allowed_cap * 2 : 8;
		struct prefix *v = realloc(p->allowed, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->allowed = v;
		d->allowed_cap = ncap;
	}
	p->allowed[p->n_allowed++] = *a;
	return 0;
}

static int allowedip_entry(const struct nlattr *a, void *data)
{
	struct wg_genl_dump *d = data;
	struct prefix p;

	if (decode_ip(a, &p))
		return -EBADMSG;
	if (d->in_temp)
		return 0;
	if (d->fp_only) {
		d->fp += wg_fp_entry(d->peer_fp, &p);
		return 0;
	}
	return push_allowed(d, &p);
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
	if (dev->n_peers == d->peers_cap) {
		size_t ncap = d->peers_cap ? d->peers_cap * 2 : 8;
		struct wg_peer *v = realloc(dev->peers, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		dev->peers = v;
		d->peers_cap = ncap;
	}
	memset(&dev->peers[dev->n_peers], 0, sizeof(dev->peers[0]));
	dev->peers[dev->n_peers++].key = *k;
	d->allowed_cap = 0;
	return 0;
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

int wg_genl_parse_dump(const void *buf, size_t len, struct wg_device *dev,
		       bool *temp_found)
{
	struct wg_genl_dump d;
	int r;

	wg_genl_dump_init(&d, dev);
	r = parse_all(buf, len, wg_genl_dump_cb, &d);
	if (!r && d.interrupted)
		r = -EAGAIN;
	if (r) {
		wg_device_free(dev);
		memset(dev, 0, sizeof(*dev));
	}
	if (temp_found)
		*temp_found = !r && d.temp_found;
	return r;
}

int wg_genl_parse_fingerprint(const void *buf, size_t len, struct wg_key *pubkey,
			      uint64_t *fp, bool *temp_found)
{
	struct wg_genl_dump d;
	struct wg_device dev;
	int r;

	wg_genl_dump_init_fingerprint(&d, &dev);
	r = parse_all(buf, len, wg_genl_dump_cb, &d);
	if (!r && d.interrupted)
		r = -EAGAIN;
	memset(pubkey, 0, sizeof(*pubkey));
	*fp = 0;
	if (!r) {
		*pubkey = dev.pubkey;
		*fp = d.fp;
	}
	if (temp_found)
		*temp_found = !r && d.temp_found;
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

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return cb_result(walk_msg(nlh, family_attr, data));
}

int wg_genl_parse_family(const void *buf, size_t len, uint16_t *family)
{
	int r;

	*family = 0;
	r = parse_all(buf, len, family_cb, family);
	if (!r && !*family)
		r = -EBADMSG;
	return r;
}

/* ---- CTRL_CMD_GETPOLICY ---- */

struct pol_entry {
	uint32_t policy, attr, type, sub; /* sub: nested policy, or UINT32_MAX */
};

struct pol_table {
	struct pol_entry *v;
	size_t n, cap;
	uint32_t do_policy;
	bool have_op;
	/* walking state */
	uint32_t cur_policy, cur_attr;
	struct pol_entry *cur;
};

static int pol_type_attr(const struct nlattr *a, void *data)
{
	struct pol_entry *e = data;
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
	struct pol_table *t = data;
	struct pol_entry e = {t->cur_policy, mnl_attr_get_type(a), 0, UINT32_MAX};
	int r = walk_nested(a, pol_type_attr, &e);

	if (r)
		return r;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		struct pol_entry *v = realloc(t->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = ncap;
	}
	t->v[t->n++] = e;
	return 0;
}

static int pol_policy_entry(const struct nlattr *a, void *data)
{
	struct pol_table *t = data;

	t->cur_policy = mnl_attr_get_type(a);
	return walk_nested(a, pol_attr_entry, t);
}

static int pol_op_attr(const struct nlattr *a, void *data)
{
	struct pol_table *t = data;

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

static int policy_cb(const struct nlmsghdr *nlh, void *data)
{
	return cb_result(walk_msg(nlh, pol_msg_attr, data));
}

static const struct pol_entry *pol_find(const struct pol_table *t, uint32_t policy,
					uint32_t attr)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].policy == policy && t->v[i].attr == attr)
			return &t->v[i];
	return NULL;
}

static bool pol_has_policy(const struct pol_table *t, uint32_t policy)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].policy == policy)
			return true;
	return false;
}

/* device policy -> WGDEVICE_A_PEERS -> peer policy -> WGPEER_A_ALLOWEDIPS
 * -> allowed-IP policy: does it list WGALLOWEDIP_A_FLAGS? */
static enum wg_remove_mode pol_decide(const struct pol_table *t)
{
	const struct pol_entry *e =
		pol_find(t, t->have_op ? t->do_policy : 0, WGDEVICE_A_PEERS);

	if (!e || e->sub == UINT32_MAX)
		return WG_REMOVE_UNKNOWN;
	e = pol_find(t, e->sub, WGPEER_A_ALLOWEDIPS);
	if (!e || e->sub == UINT32_MAX || !pol_has_policy(t, e->sub))
		return WG_REMOVE_UNKNOWN;
	return pol_find(t, e->sub, WGALLOWEDIP_A_FLAGS) ? WG_REMOVE_NATIVE
							: WG_REMOVE_TEMP_PEER;
}

int wg_genl_parse_policy(const void *buf, size_t len, enum wg_remove_mode *mode)
{
	struct pol_table t = {0};
	int r = parse_all(buf, len, policy_cb, &t);

	*mode = r ? WG_REMOVE_UNKNOWN : pol_decide(&t);
	free(t.v);
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
static bool put_ip(struct nlmsghdr *nlh, size_t max, const struct wg_genl_ip *ip)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, max, 0);
	uint16_t family = ip->dst.family;
	size_t alen = family == AF_INET ? 4 : 16;

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
static bool fill_set(struct nlmsghdr *nlh, size_t max, struct wg_genl_peer *peers,
		     size_t n, size_t *pi, size_t *ii, bool *started, size_t msg)
{
	struct nlattr *peers_nest = mnl_attr_nest_start_check(nlh, max, WGDEVICE_A_PEERS);
	bool progress = false;

	if (!peers_nest)
		return false;
	for (; *pi < n; (*pi)++, *ii = 0, *started = false) {
		struct wg_genl_peer *p = &peers[*pi];
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
		       struct wg_genl_peer *peers, size_t n, size_t msg_max,
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

/* ---- the socket ---- */

struct genl_backend {
	struct wg_backend base;
	wg_genl_exchange_fn exchange;
	void *ctx;
	struct mnl_socket *nl; /* own transport only */
	char *rbuf;
	size_t msg_max;
	uint16_t family;
	uint32_t seq;
	struct buf req;
	struct wg_dev_mode *ifaces; /* removal mode per device */
};

/* Reads the whole reply, whatever happens to it, so that the socket is
 * clean for the next request: a dump left half read would also make the
 * kernel refuse the next dump with EBUSY. The receive timeout (SO_RCVTIMEO)
 * keeps a lost reply from blocking the daemon. An interrupted dump is
 * returned as 0: the dump callback sees NLM_F_DUMP_INTR itself. */
static int socket_exchange(void *ctx, const struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct genl_backend *g = ctx;
	struct reply r = {.seq = req->nlmsg_seq, .cb = cb, .data = data};

	if (mnl_socket_sendto(g->nl, req, req->nlmsg_len) < 0)
		return -errno;
	while (!r.complete) {
		ssize_t got = mnl_socket_recvfrom(g->nl, g->rbuf, GENL_RECV_SIZE);
		int bad;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;
		if (got < 0) /* ENOBUFS: the reply is lost; ENOSPC: cut short */
			return errno == ENOBUFS ? -EAGAIN : -errno;
		bad = reply_feed(&r, g->rbuf, (size_t)got);
		if (bad)
			return bad;
	}
	if (r.err && r.kmsg[0])
		log_debug("generic netlink: %s (%s)", strerror(-r.err), r.kmsg);
	return r.err;
}

static int ignore_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

struct family_ctx {
	uint16_t id;
};

static int family_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	return family_cb(nlh, &((struct family_ctx *)data)->id);
}

static int ensure_family(struct genl_backend *g)
{
	struct family_ctx fc = {0};
	int r;

	if (g->family)
		return 0;
	g->req.len = 0;
	r = wg_genl_encode_getfamily(&g->req, ++g->seq);
	r = r
		    ?: g->exchange(g->ctx, (struct nlmsghdr *)g->req.data,
				   family_reply_cb, &fc);
	if (r == -ENOENT)
		return -ENODEV; /* no WireGuard module: not a kernel device */
	if (r)
		return r;
	if (!fc.id)
		return -EBADMSG;
	g->family = fc.id;
	return 0;
}

/* One WG_CMD_SET_DEVICE message. EOPNOTSUPP: the device is not WireGuard. */
static int set_exchange(struct genl_backend *g, const struct nlmsghdr *nlh)
{
	int r = g->exchange(g->ctx, nlh, ignore_cb, NULL);

	return r == -EOPNOTSUPP ? -ENODEV : r;
}

static int send_set(struct genl_backend *g, const char *ifname,
		    struct wg_genl_peer *peers, size_t n, int *msg_err, size_t *n_msgs)
{
	size_t off = 0, msgs = 0;
	int r, first = 0;

	g->req.len = 0;
	r = wg_genl_encode_set(&g->req, g->family, g->seq + 1, ifname, peers, n,
			       g->msg_max, &msgs);
	if (r)
		return r;
	g->seq += (uint32_t)msgs;
	for (size_t m = 0; m < msgs; m++) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(g->req.data + off);

		r = set_exchange(g, nlh);
		if (msg_err)
			msg_err[m] = r;
		if (r && !first)
			first = r;
		off += MNL_ALIGN(nlh->nlmsg_len);
	}
	if (n_msgs)
		*n_msgs = msgs;
	return first;
}

static int remove_temp_peer(struct genl_backend *g, const char *ifname)
{
	struct wg_genl_peer p = {.key = wg_temp_peer_key, .flags = WGPEER_F_REMOVE_ME};

	return send_set(g, ifname, &p, 1, NULL, NULL);
}

/* One dump of the device into dev, or with fp_only into dev->pubkey and
 * d->fp only; d is the dump's state at its end (temp_found, fp). */
static int dump_device(struct genl_backend *g, const char *ifname, struct wg_device *dev,
		       bool fp_only, struct wg_genl_dump *d)
{
	int r = ensure_family(g);

	memset(dev, 0, sizeof(*dev));
	for (int attempt = 0; !r && attempt < DUMP_RETRIES; attempt++) {
		g->req.len = 0;
		r = wg_genl_encode_get(&g->req, g->family, ++g->seq, ifname);
		if (r)
			return r;
		if (fp_only)
			wg_genl_dump_init_fingerprint(d, dev);
		else
			wg_genl_dump_init(d, dev);
		r = g->exchange(g->ctx, (struct nlmsghdr *)g->req.data, wg_genl_dump_cb,
				d);
		if (!r && d->interrupted)
			r = -EAGAIN; /* changed while dumping: read again */
		if (r) {
			wg_device_free(dev);
			memset(dev, 0, sizeof(*dev));
			if (r == -EAGAIN) {
				r = 0;
				continue;
			}
			break;
		}
		return 0;
	}
	if (r == -EOPNOTSUPP)
		r = -ENODEV; /* a device, but not a kernel WireGuard one */
	if (r == -ENOENT) {
		g->family = 0; /* the module went away: ask for the family again */
		r = -ENODEV;
	}
	return r ? r : -EAGAIN;
}

static int get_device(struct genl_backend *g, const char *ifname, struct wg_device *dev,
		      bool *temp_found)
{
	struct wg_genl_dump d;
	int r = dump_device(g, ifname, dev, false, &d);

	*temp_found = !r && d.temp_found;
	return r;
}

static int genl_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct genl_backend *g = (struct genl_backend *)b;
	bool temp_found = false;
	int r = get_device(g, ifname, dev, &temp_found);

	if (r == -ENODEV)
		wg_dev_mode_forget(&g->ifaces,
				   ifname); /* a new device may be another kernel */
	if (r || !temp_found)
		return r;
	if (b->read_only) {
		log_warn("%s: wg-rtsync's temporary peer is left from an earlier run "
			 "(dry run: left in place)",
			 ifname);
		return 0;
	}
	log_warn("%s: removing wg-rtsync's temporary peer left from an earlier run",
		 ifname);
	r = remove_temp_peer(g, ifname);
	if (r)
		log_warn("%s: cannot remove the temporary peer: %s", ifname,
			 strerror(-r));
	return 0;
}

/* The idle poll: the dump is hashed as it arrives, and read again into a
 * snapshot only when it differs from what the caller knows (or holds the
 * temporary peer, which genl_get() removes). */
static int genl_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			    struct wg_device *dev, bool *same)
{
	struct genl_backend *g = (struct genl_backend *)b;
	struct wg_genl_dump d;
	int r = dump_device(g, ifname, dev, true, &d);

	*same = false;
	if (r == -ENODEV)
		wg_dev_mode_forget(&g->ifaces, ifname);
	if (r)
		return r;
	if (!d.temp_found && d.fp == known) {
		*same = true;
		return 0;
	}
	return genl_get(b, ifname, dev);
}

/* ---- detecting how to remove ---- */

static int policy_mode(struct genl_backend *g, enum wg_remove_mode *mode)
{
	struct pol_table t = {0};
	int r;

	g->req.len = 0;
	r = wg_genl_encode_getpolicy(&g->req, g->family, ++g->seq);
	r = r ?: g->exchange(g->ctx, (struct nlmsghdr *)g->req.data, policy_cb, &t);
	*mode = r ? WG_REMOVE_UNKNOWN : pol_decide(&t);
	free(t.v);
	return r;
}

/* After a probe that failed: the temporary peer may exist now. */
static void probe_cleanup(struct genl_backend *g, const char *ifname)
{
	int r = remove_temp_peer(g, ifname);

	if (r && r != -ENODEV)
		log_warn("%s: cannot remove the temporary peer: %s", ifname,
			 strerror(-r));
}

/* The temporary peer is made, asked to drop with the flag a prefix it does
 * not hold, and removed, in one message. A kernel without the flag refuses
 * the allowed IP with EINVAL (it parses a peer's allowed IPs only after
 * finding or making the peer, so the peer exists then): then it is removed
 * on its own. Never a real peer: a refused request may be half applied. */
static int probe_flag(struct genl_backend *g, const char *ifname,
		      enum wg_remove_mode *mode)
{
	struct wg_genl_ip ip = {.remove = true, .change = SIZE_MAX};
	struct wg_genl_peer p[2] = {
		{.key = wg_temp_peer_key, .n_ips = 1, .ips = &ip},
		{.key = wg_temp_peer_key, .flags = WGPEER_F_REMOVE_ME},
	};
	int r;

	ip.dst = (struct prefix){.family = AF_INET, .len = 32};
	memcpy(ip.dst.addr, (uint8_t[]){192, 0, 2, 255}, 4);
	r = send_set(g, ifname, p, 2, NULL, NULL);
	if (!r) {
		*mode = WG_REMOVE_NATIVE;
		return 0;
	}
	probe_cleanup(g, ifname);
	if (r == -EINVAL)
		*mode = WG_REMOVE_TEMP_PEER;
	else if (r == -E2BIG) /* the device's peer limit: no room for it */
		*mode = WG_REMOVE_REPLACE;
	else
		return r;
	return 0;
}

/* Made and removed in one message: can the temporary peer exist? */
static int probe_temp_peer(struct genl_backend *g, const char *ifname,
			   enum wg_remove_mode *mode)
{
	struct wg_genl_peer p[2] = {
		{.key = wg_temp_peer_key},
		{.key = wg_temp_peer_key, .flags = WGPEER_F_REMOVE_ME},
	};
	int r = send_set(g, ifname, p, 2, NULL, NULL);

	if (r)
		probe_cleanup(g, ifname);
	if (r && r != -E2BIG)
		return r;
	*mode = r ? WG_REMOVE_REPLACE : WG_REMOVE_TEMP_PEER;
	return 0;
}

/* Sets *mode only when it could decide; a failed probe is tried again at
 * the next removal. */
static int detect_mode(struct genl_backend *g, const char *ifname,
		       enum wg_remove_mode *mode)
{
	enum wg_remove_mode m;
	int r;

	if (policy_mode(g, &m))
		m = WG_REMOVE_UNKNOWN; /* no CTRL_CMD_GETPOLICY (before 5.10): probe */
	if (m == WG_REMOVE_NATIVE)
		r = 0;
	else if (m == WG_REMOVE_TEMP_PEER)
		r = probe_temp_peer(g, ifname, &m);
	else
		r = probe_flag(g, ifname, &m);
	if (r)
		return r;
	if (m == WG_REMOVE_REPLACE)
		log_warn("%s: the temporary peer cannot be made: removing AllowedIPs by "
			 "replacing whole lists",
			 ifname);
	*mode = m;
	return 0;
}

/* ---- apply ---- */

static const struct wg_peer *find_peer(const struct wg_device *d, const struct wg_key *k)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (!memcmp(d->peers[i].key.b, k->b, WG_KEY_LEN))
			return &d->peers[i];
	return NULL;
}

static int cmp_prefix(const void *a, const void *b)
{
	return wg_prefix_cmp(a, b);
}

struct plan {
	struct wg_genl_peer *peers; /* room for one per change, and two more */
	size_t n_peers;
	size_t temp_take; /* index of the temporary peer's first entry, or SIZE_MAX */
};

static void plan_free(struct plan *pl)
{
	for (size_t i = 0; i < pl->n_peers; i++)
		free(pl->peers[i].ips);
	free(pl->peers);
}

static struct wg_genl_peer *plan_add(struct plan *pl, const struct wg_key *k,
				     uint32_t flags, size_t max_ips)
{
	struct wg_genl_peer *p = &pl->peers[pl->n_peers];

	memset(p, 0, sizeof(*p));
	p->key = *k;
	p->flags = flags;
	p->ips = calloc(max_ips ? max_ips : 1, sizeof(*p->ips));
	if (!p->ips)
		return NULL;
	pl->n_peers++;
	return p;
}

/* One peer's entry: its adds and native removals, or under REPLACE its
 * current list less its removals, then its adds. */
static int plan_peer(struct plan *pl, const struct change *ch, const size_t *idx,
		     size_t n, enum wg_remove_mode mode, const struct wg_device *cur)
{
	const struct wg_peer *now = NULL;
	struct wg_genl_peer *p;
	bool has_del = false, has_add = false;
	size_t nd = 0;
	struct prefix *dels = NULL;

	for (size_t i = 0; i < n; i++) {
		has_del |= ch[idx[i]].op == CHANGE_ALLOWED_DEL;
		has_add |= ch[idx[i]].op == CHANGE_ALLOWED_ADD;
	}
	if (!has_add && (!has_del || mode == WG_REMOVE_TEMP_PEER))
		return 0;
	if (has_del && mode == WG_REMOVE_REPLACE) {
		now = find_peer(cur, &ch[idx[0]].peer);
		dels = calloc(n, sizeof(*dels));
		if (!dels)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (ch[idx[i]].op == CHANGE_ALLOWED_DEL)
				dels[nd++] = ch[idx[i]].dst;
		qsort(dels, nd, sizeof(*dels), cmp_prefix);
	}
	p = plan_add(pl, &ch[idx[0]].peer,
		     WGPEER_F_UPDATE_ONLY | (now ? WGPEER_F_REPLACE_ALLOWEDIPS : 0),
		     n + (now ? now->n_allowed : 0));
	if (!p) {
		free(dels);
		return -ENOMEM;
	}
	for (size_t i = 0; now && i < now->n_allowed; i++)
		if (!bsearch(&now->allowed[i], dels, nd, sizeof(*dels), cmp_prefix))
			p->ips[p->n_ips++] = (struct wg_genl_ip){.dst = now->allowed[i],
								 .change = SIZE_MAX};
	free(dels);
	for (size_t i = 0; i < n; i++) {
		const struct change *c = &ch[idx[i]];
		if (c->op == CHANGE_ALLOWED_ADD || mode == WG_REMOVE_NATIVE)
			p->ips[p->n_ips++] =
				(struct wg_genl_ip){.dst = c->dst,
						    .remove = c->op == CHANGE_ALLOWED_DEL,
						    .change = idx[i]};
	}
	return 0;
}

static int plan_round(struct plan *pl, const struct change *ch, const size_t *idx,
		      size_t n, enum wg_remove_mode mode, const struct wg_device *cur)
{
	size_t *sorted = malloc((n ? n : 1) * sizeof(*sorted)), nd = 0;
	int r = 0;

	pl->n_peers = 0;
	pl->temp_take = SIZE_MAX;
	pl->peers = calloc(n + 2, sizeof(*pl->peers));
	if (!sorted || !pl->peers) {
		free(sorted);
		return -ENOMEM;
	}
	memcpy(sorted, idx, n * sizeof(*sorted));
	wg_sort_by_peer(sorted, n, ch);
	for (size_t i = 0; !r && i < n;) {
		size_t j = i + 1;
		while (j < n &&
		       !memcmp(ch[sorted[j]].peer.b, ch[sorted[i]].peer.b, WG_KEY_LEN))
			j++;
		r = plan_peer(pl, ch, sorted + i, j - i, mode, cur);
		i = j;
	}
	free(sorted);
	for (size_t i = 0; i < n; i++)
		nd += ch[idx[i]].op == CHANGE_ALLOWED_DEL;
	if (!r && nd && mode == WG_REMOVE_TEMP_PEER) {
		/* The temporary peer takes them (made if missing), then goes. */
		struct wg_genl_peer *t = plan_add(pl, &wg_temp_peer_key, 0, nd);
		if (!t)
			return -ENOMEM;
		pl->temp_take = pl->n_peers - 1;
		for (size_t i = 0; i < n; i++)
			if (ch[idx[i]].op == CHANGE_ALLOWED_DEL)
				t->ips[t->n_ips++] = (struct wg_genl_ip){
					.dst = ch[idx[i]].dst, .change = idx[i]};
		if (!plan_add(pl, &wg_temp_peer_key, WGPEER_F_REMOVE_ME, 0))
			return -ENOMEM;
	}
	return r;
}

/* Each change fails when a message that carried its part failed. */
static void attribute_errors(const struct plan *pl, const int *msg_err, const size_t *idx,
			     size_t n, const struct change *ch, int *err)
{
	for (size_t k = 0; k < pl->n_peers; k++) {
		const struct wg_genl_peer *p = &pl->peers[k];
		bool replace = p->flags & WGPEER_F_REPLACE_ALLOWEDIPS;
		int peer_err = 0;

		/* A replace fails as a whole: any of the peer's messages. */
		for (size_t m = p->n_ips ? p->ips[0].msg : p->msg_last;
		     replace && m <= p->msg_last; m++)
			peer_err = peer_err ?: msg_err[m];
		for (size_t i = 0; i < p->n_ips; i++) {
			size_t c = p->ips[i].change;
			int e = msg_err[p->ips[i].msg];

			if (k == pl->temp_take && !e)
				e = msg_err[pl->peers[k + 1].msg_last]; /* the removal */
			if (c != SIZE_MAX && !err[c])
				err[c] = e ?: peer_err;
		}
		if (replace)
			for (size_t i = 0; i < n; i++)
				if (ch[idx[i]].op == CHANGE_ALLOWED_DEL && !err[idx[i]] &&
				    !memcmp(ch[idx[i]].peer.b, p->key.b, WG_KEY_LEN))
					err[idx[i]] = peer_err;
	}
}

static int apply_round(struct genl_backend *g, struct wg_dev_mode *ifc,
		       const char *ifname, const struct change *ch, const size_t *idx,
		       size_t n, int *err)
{
	struct wg_device cur = {0};
	struct plan pl = {0};
	bool has_del = false;
	size_t msgs = 0;
	int *msg_err = NULL, r;
	enum wg_remove_mode mode;

	for (size_t i = 0; i < n; i++)
		has_del |= ch[idx[i]].op == CHANGE_ALLOWED_DEL;
	if (has_del && ifc->mode == WG_REMOVE_UNKNOWN) {
		r = detect_mode(g, ifname, &ifc->mode);
		if (r)
			return r;
		log_info("%s: AllowedIP removal: %s", ifname,
			 wg_remove_mode_name(ifc->mode));
	}
	mode = has_del ? ifc->mode : WG_REMOVE_NATIVE;
	if (mode == WG_REMOVE_REPLACE) {
		bool temp;
		r = get_device(g, ifname, &cur, &temp);
		if (r)
			return r;
	}
	r = plan_round(&pl, ch, idx, n, mode, &cur);
	wg_device_free(&cur);
	if (!r) {
		g->req.len = 0;
		r = wg_genl_encode_set(&g->req, g->family, g->seq + 1, ifname, pl.peers,
				       pl.n_peers, g->msg_max, &msgs);
	}
	if (!r) {
		msg_err = calloc(msgs ? msgs : 1, sizeof(*msg_err));
		r = msg_err ? 0 : -ENOMEM;
	}
	if (!r) {
		size_t off = 0;

		g->seq += (uint32_t)msgs;
		for (size_t m = 0; m < msgs; m++) {
			const struct nlmsghdr *nlh =
				(const struct nlmsghdr *)(g->req.data + off);
			msg_err[m] = set_exchange(g, nlh);
			off += MNL_ALIGN(nlh->nlmsg_len);
		}
	}
	if (!r) {
		attribute_errors(&pl, msg_err, idx, n, ch, err);
		for (size_t i = 0; i < n && !r; i++)
			r = err[idx[i]];
		if (r && mode == WG_REMOVE_TEMP_PEER) {
			remove_temp_peer(g, ifname); /* never leave it behind */
			ifc->mode = WG_REMOVE_UNKNOWN;
		}
		free(msg_err);
		plan_free(&pl);
		return r ? 1 : 0; /* errors are already in err[] */
	}
	free(msg_err);
	plan_free(&pl);
	return r;
}

static int genl_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		      size_t n, int *err)
{
	struct genl_backend *g = (struct genl_backend *)b;
	struct wg_rounds rounds;
	size_t *members = NULL;
	int first;

	for (size_t i = 0; i < n; i++)
		err[i] = 0;
	first = wg_rounds_plan(&rounds, ch, n);
	if (!first) {
		members = malloc((rounds.n_sel ? rounds.n_sel : 1) * sizeof(*members));
		first = members ? 0 : -ENOMEM;
	}
	first = first ?: ensure_family(g);
	if (first) {
		for (size_t i = 0; i < rounds.n_sel; i++)
			err[rounds.sel[i]] = first;
		free(members);
		wg_rounds_free(&rounds);
		return first;
	}
	for (unsigned k = 0; k < rounds.n_rounds; k++) {
		size_t m = wg_rounds_members(&rounds, k, members);
		struct wg_dev_mode *ifc = wg_dev_mode_of(&g->ifaces, ifname);
		int r = ifc ? apply_round(g, ifc, ifname, ch, members, m, err) : -ENOMEM;

		if (r < 0) /* nothing of the round was sent */
			for (size_t i = 0; i < m; i++)
				err[members[i]] = r;
	}
	for (size_t i = 0; i < n && !first; i++)
		first = err[i];
	if (first == -ENODEV)
		wg_dev_mode_forget(&g->ifaces,
				   ifname); /* a new device may be another kernel */
	free(members);
	wg_rounds_free(&rounds);
	return first;
}

static void genl_destroy(struct wg_backend *b)
{
	struct genl_backend *g = (struct genl_backend *)b;

	if (!b)
		return;
	wg_dev_mode_free_all(&g->ifaces);
	if (g->nl)
		mnl_socket_close(g->nl);
	free(g->rbuf);
	buf_free(&g->req);
	free(g);
}

struct wg_backend *wg_genl_backend_new_exchange(wg_genl_exchange_fn fn, void *ctx,
						size_t msg_max)
{
	struct genl_backend *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->base.name = "kernel";
	g->base.get = genl_get;
	g->base.get_changed = genl_get_changed;
	g->base.apply = genl_apply;
	g->base.destroy = genl_destroy;
	g->exchange = fn;
	g->ctx = ctx;
	g->msg_max = msg_max ? msg_max : WG_GENL_MSG_MAX;
	g->seq = (uint32_t)time(NULL);
	return &g->base;
}

struct wg_backend *wg_genl_backend_new(void)
{
	const struct timeval timeout = {.tv_sec = GENL_TIMEOUT_S};
	int one = 1;
	struct genl_backend *g;
	struct wg_backend *b = wg_genl_backend_new_exchange(socket_exchange, NULL, 0);

	if (!b)
		return NULL;
	g = (struct genl_backend *)b;
	g->ctx = g;
	g->rbuf = malloc(GENL_RECV_SIZE);
	g->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!g->rbuf || !g->nl || mnl_socket_bind(g->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(g->nl), SOL_SOCKET, SO_RCVTIMEO, &timeout,
		       sizeof(timeout)) < 0) {
		genl_destroy(b);
		return NULL;
	}
	/* Errors without the request echoed back, with the kernel's text. */
	mnl_socket_setsockopt(g->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(g->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	return b;
}

enum wg_remove_mode wg_genl_remove_mode(struct wg_backend *b, const char *ifname)
{
	struct genl_backend *g = (struct genl_backend *)b;

	return wg_dev_mode_get(g->ifaces, ifname);
}
