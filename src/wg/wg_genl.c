/* wg_genl.c: the WireGuard backend over generic netlink (libmnl); its
 * messages are genl_codec.c's. See wg_genl.h and docs/backends.md. */
#include <errno.h>
#include <linux/genetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "genl_codec.h"
#include "log.h"
#include "wg_genl.h"

#define GENL_RECV_SIZE 65536
#define DUMP_RETRIES   5
/* How long a reply may take before the request counts as lost. */
#define GENL_TIMEOUT_S 10

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
	struct wg_genl_reply r = {.seq = req->nlmsg_seq, .cb = cb, .data = data};

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
		bad = wg_genl_reply_feed(&r, g->rbuf, (size_t)got);
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

static int ensure_family(struct genl_backend *g)
{
	uint16_t id = 0;
	int r;

	if (g->family)
		return 0;
	g->req.len = 0;
	r = wg_genl_encode_getfamily(&g->req, ++g->seq);
	r = r
		    ?: g->exchange(g->ctx, (struct nlmsghdr *)g->req.data,
				   wg_genl_family_cb, &id);
	if (r == -ENOENT)
		return -ENODEV; /* no WireGuard module: not a kernel device */
	if (r)
		return r;
	if (!id)
		return -EBADMSG;
	g->family = id;
	return 0;
}

/* One WG_CMD_SET_DEVICE message. EOPNOTSUPP: the device is not WireGuard. */
static int set_exchange(struct genl_backend *g, const struct nlmsghdr *nlh)
{
	int r = g->exchange(g->ctx, nlh, ignore_cb, NULL);

	return r == -EOPNOTSUPP ? -ENODEV : r;
}

static int send_set(struct genl_backend *g, const char *ifname, struct wg_set_peer *peers,
		    size_t n, int *msg_err, size_t *n_msgs)
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
	struct wg_set_peer p = {.key = wg_temp_peer_key, .flags = WGPEER_F_REMOVE_ME};

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
	struct wg_genl_policy t = {0};
	enum wg_remove_mode m;
	int r;

	g->req.len = 0;
	r = wg_genl_encode_getpolicy(&g->req, g->family, ++g->seq);
	r = r
		    ?: g->exchange(g->ctx, (struct nlmsghdr *)g->req.data,
				   wg_genl_policy_cb, &t);
	m = wg_genl_policy_mode(&t);
	*mode = r ? WG_REMOVE_UNKNOWN : m;
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
	struct wg_set_ip ip = {.remove = true, .change = SIZE_MAX};
	struct wg_set_peer p[2] = {
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
	struct wg_set_peer p[2] = {
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
	struct wg_set_peer *peers; /* room for one per change, and two more */
	size_t n_peers;
	size_t temp_take; /* index of the temporary peer's first entry, or SIZE_MAX */
};

static void plan_free(struct plan *pl)
{
	for (size_t i = 0; i < pl->n_peers; i++)
		free(pl->peers[i].ips);
	free(pl->peers);
}

static struct wg_set_peer *plan_add(struct plan *pl, const struct wg_key *k,
				    uint32_t flags, size_t max_ips)
{
	struct wg_set_peer *p = &pl->peers[pl->n_peers];

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
	struct wg_set_peer *p;
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
			p->ips[p->n_ips++] = (struct wg_set_ip){.dst = now->allowed[i],
								.change = SIZE_MAX};
	free(dels);
	for (size_t i = 0; i < n; i++) {
		const struct change *c = &ch[idx[i]];
		if (c->op == CHANGE_ALLOWED_ADD || mode == WG_REMOVE_NATIVE)
			p->ips[p->n_ips++] =
				(struct wg_set_ip){.dst = c->dst,
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
		struct wg_set_peer *t = plan_add(pl, &wg_temp_peer_key, 0, nd);
		if (!t)
			return -ENOMEM;
		pl->temp_take = pl->n_peers - 1;
		for (size_t i = 0; i < n; i++)
			if (ch[idx[i]].op == CHANGE_ALLOWED_DEL)
				t->ips[t->n_ips++] = (struct wg_set_ip){
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
		const struct wg_set_peer *p = &pl->peers[k];
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
