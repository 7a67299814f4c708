/* wg_genl.c: kernel WireGuard over a generic netlink socket (wg_genl.h):
 * the socket, the family id, sequence numbers and retries; the messages
 * are genl_codec.c's, the logic wg_backend.c's. docs/backends.md. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <linux/genetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "genl_codec.h"
#include "log.h"
#include "vec.h"
#include "wg_backend.h"
#include "wg_exchange.h"
#include "wg_genl.h"

#define GENL_RECV_SIZE 65536
#define DUMP_RETRIES   5
/* How long a reply may take before the request counts as lost. */
#define GENL_TIMEOUT_S 10
/* A dump kept for a snapshot is 28 (IPv4) or 40 bytes per AllowedIP, in a
 * mapping of its own kept at its high-water mark (as wg_uapi.c's reply, and
 * for the same reason); past this size, its pages are offered back to the
 * kernel after the poll (buf_release: MADV_FREE). */
#define GENL_KEEP_BUFFER (1024 * 1024)

/* The idle poll's dump in pieces (read_start), on a socket of its own so
 * that changes go out on the other one meanwhile. */
struct genl_read {
	bool on;
	int fd;
	struct mnl_socket *nl; /* own transport: the socket of fd */
	char ifname[IF_NAMESIZE];
	uint64_t known;
	int attempts;
	struct wg_genl_reply reply;
	struct wg_genl_dump d;
	struct wg_device dev;
};

struct genl {
	wg_genl_exchange_fn exchange;
	wg_genl_dump_open_fn dump_open; /* the tests' dump socket, or NULL */
	void *ctx;
	struct mnl_socket *nl; /* own transport only */
	char *rbuf;
	size_t msg_max;
	uint16_t family;
	uint32_t seq;
	struct buf req;
	struct buf kept; /* the idle poll's dump, its data messages as read */
	struct genl_read rd;
};

/* Reads the whole reply, whatever happens to it, so that the socket is
 * clean for the next request: a dump left half read would also make the
 * kernel refuse the next dump with EBUSY. The receive timeout (SO_RCVTIMEO)
 * keeps a lost reply from blocking the daemon. An interrupted dump is
 * returned as 0: the dump callback sees NLM_F_DUMP_INTR itself. */
static int socket_exchange(void *ctx, const struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct genl *g = ctx;
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

static int exchange(struct genl *g, mnl_cb_t cb, void *data)
{
	return g->exchange(g->ctx, (struct nlmsghdr *)g->req.data, cb, data);
}

static int ensure_family(struct genl *g)
{
	uint16_t id = 0;
	int r;

	if (g->family)
		return 0;
	g->req.len = 0;
	r = wg_genl_encode_getfamily(&g->req, ++g->seq)
		    ?: exchange(g, wg_genl_family_cb, &id);
	if (r == -ENOENT)
		return -ENODEV; /* no WireGuard module: not a kernel device */
	if (r)
		return r;
	if (!id)
		return -EBADMSG;
	g->family = id;
	return 0;
}

/* The idle poll's dump: fingerprinted as it arrives, and kept. */
struct keeping_dump {
	struct wg_genl_dump *d;
	struct buf *kept;
};

static int keep_cb(const struct nlmsghdr *nlh, void *data)
{
	static const char pad[MNL_ALIGNTO];
	struct keeping_dump *k = data;

	/* Aligned as in the datagram, for mnl_nlmsg_next() over them. */
	if (buf_append(k->kept, nlh, nlh->nlmsg_len) ||
	    buf_append(k->kept, pad, MNL_ALIGN(nlh->nlmsg_len) - nlh->nlmsg_len)) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return wg_genl_dump_cb(nlh, k->d);
}

/* A dump's error as the caller takes it: not a kernel WireGuard device,
 * or the module gone (the family asked again next time), is -ENODEV. */
static int dump_error(struct genl *g, int r)
{
	if (r == -EOPNOTSUPP)
		return -ENODEV;
	if (r == -ENOENT) {
		g->family = 0;
		return -ENODEV;
	}
	return r;
}

/* One dump of the device into dev, or with fp_only into dev->pubkey and
 * d->fp only, its messages then kept in g->kept for snapshot_of_kept(); d
 * is the dump's state at its end (temp_found, fp). */
static int dump_device(struct genl *g, const char *ifname, struct wg_device *dev,
		       bool fp_only, struct wg_genl_dump *d)
{
	struct keeping_dump keeping = {.d = d, .kept = &g->kept};
	int r = ensure_family(g);

	memset(dev, 0, sizeof(*dev));
	for (int attempt = 0; !r && attempt < DUMP_RETRIES; attempt++) {
		g->req.len = 0;
		r = wg_genl_encode_get(&g->req, g->family, ++g->seq, ifname);
		if (r)
			return r;
		g->kept.len = 0;
		if (fp_only)
			wg_genl_dump_init_fingerprint(d, dev);
		else
			wg_genl_dump_init(d, dev);
		r = fp_only ? exchange(g, keep_cb, &keeping)
			    : exchange(g, wg_genl_dump_cb, d);
		if (!r && d->interrupted)
			r = -EAGAIN; /* changed while dumping: read again */
		if (!r)
			return 0;
		wg_device_free(dev);
		memset(dev, 0, sizeof(*dev));
		if (r == -EAGAIN)
			r = 0;
	}
	return r ? dump_error(g, r) : -EAGAIN;
}

/* The snapshot of the dump dump_device() kept. */
static int snapshot_of_kept(struct genl *g, struct wg_device *dev, struct wg_genl_dump *d)
{
	struct wg_genl_reply reply = {.cb = wg_genl_dump_cb, .data = d};
	int r;

	wg_genl_dump_init(d, dev);
	r = wg_genl_reply_feed(&reply, g->kept.data, g->kept.len) ?: reply.err;
	if (r) {
		wg_device_free(dev);
		memset(dev, 0, sizeof(*dev));
	}
	return r;
}

/* The idle poll dumps the device once: it hashes the dump as it arrives,
 * and builds a snapshot from that same dump (kept while the poll runs) only
 * when it differs from what the caller knows (or holds the temporary
 * peer). */
static int genl_read(void *ctx, const char *ifname, const uint64_t *known,
		     struct wg_device *dev, bool *temp_found, bool *same)
{
	struct genl *g = ctx;
	struct wg_genl_dump d;
	int r;

	*same = *temp_found = false;
	if (known) {
		r = dump_device(g, ifname, dev, true, &d);
		*same = !r && !d.temp_found && d.fp == *known;
		if (!r && !*same)
			r = snapshot_of_kept(g, dev, &d);
		if (g->kept.cap > GENL_KEEP_BUFFER)
			buf_release(&g->kept);
	} else {
		r = dump_device(g, ifname, dev, false, &d);
	}
	*temp_found = !r && !*same && d.temp_found;
	return r;
}

/* ---- the idle poll in pieces ---- */

/* Datagrams read per step at most: the event loop's turn comes at least
 * every 4 MiB of dump. */
#define GENL_STEP_RECVS 64

static int keep_read_cb(const struct nlmsghdr *nlh, void *data)
{
	struct genl *g = data;
	struct keeping_dump k = {.d = &g->rd.d, .kept = &g->kept};

	return keep_cb(nlh, &k);
}

static void read_close(struct genl *g)
{
	struct genl_read *rd = &g->rd;

	if (rd->nl)
		mnl_socket_close(rd->nl); /* the kernel ends the dump */
	else if (rd->fd >= 0)
		close(rd->fd);
	rd->nl = NULL;
	rd->fd = -1;
}

/* The dump socket: the tests' (dump_open) or a netlink socket of its own,
 * non-blocking. */
static int read_open(struct genl *g)
{
	struct genl_read *rd = &g->rd;
	int one = 1;

	if (g->dump_open) {
		rd->fd = g->dump_open(g->ctx);
		return rd->fd < 0 ? rd->fd : 0;
	}
	rd->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!rd->nl || mnl_socket_bind(rd->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;

		read_close(g);
		return r ? r : -ENOMEM;
	}
	mnl_socket_setsockopt(rd->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(rd->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	rd->fd = mnl_socket_get_fd(rd->nl);
	return 0;
}

/* The dump request (again, for a dump that was interrupted). */
static int read_request(struct genl *g)
{
	struct genl_read *rd = &g->rd;
	const struct nlmsghdr *nlh;
	int r;

	g->req.len = 0;
	r = wg_genl_encode_get(&g->req, g->family, ++g->seq, rd->ifname);
	if (r)
		return r;
	nlh = (const struct nlmsghdr *)g->req.data;
	rd->reply = (struct wg_genl_reply){
		.seq = nlh->nlmsg_seq, .cb = keep_read_cb, .data = g};
	wg_device_free(&rd->dev);
	memset(&rd->dev, 0, sizeof(rd->dev));
	wg_genl_dump_init_fingerprint(&rd->d, &rd->dev);
	g->kept.len = 0;
	if (send(rd->fd, nlh, nlh->nlmsg_len, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static void read_end(struct genl *g)
{
	read_close(g);
	wg_device_free(&g->rd.dev);
	memset(&g->rd.dev, 0, sizeof(g->rd.dev));
	g->rd.on = false;
	if (g->kept.cap > GENL_KEEP_BUFFER)
		buf_release(&g->kept);
}

static int genl_read_start(void *ctx, const char *ifname, uint64_t known, int *fd)
{
	struct genl *g = ctx;
	struct genl_read *rd = &g->rd;
	int r;

	if (rd->on)
		return -EBUSY;
	if (!g->dump_open && !g->nl)
		return -EOPNOTSUPP; /* the tests' exchange reads whole dumps */
	if (!g->rbuf && !(g->rbuf = malloc(GENL_RECV_SIZE)))
		return -ENOMEM;
	r = ensure_family(g);
	if (r)
		return r;
	snprintf(rd->ifname, sizeof(rd->ifname), "%s", ifname);
	rd->known = known;
	rd->attempts = 0;
	rd->fd = -1;
	rd->on = true;
	r = read_open(g) ?: read_request(g);
	if (r) {
		read_end(g);
		return r;
	}
	*fd = rd->fd;
	return 0;
}

/* The next datagrams of the dump: 1 once it is complete (and not
 * interrupted), 0 for more, or a negative errno. An interrupted or lost
 * dump is asked again (*fd stays), at most DUMP_RETRIES times in all. */
static int read_more(struct genl *g)
{
	struct genl_read *rd = &g->rd;

	for (int i = 0; i < GENL_STEP_RECVS; i++) {
		ssize_t n = recv(rd->fd, g->rbuf, GENL_RECV_SIZE, MSG_DONTWAIT);
		bool again = false;
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno != ENOBUFS)
			return -errno;
		if (n == 0)
			return -EPIPE;
		if (n > 0) {
			r = wg_genl_reply_feed(&rd->reply, g->rbuf, (size_t)n);
			if (r)
				return r;
			if (!rd->reply.complete)
				continue;
			if (rd->reply.err)
				return dump_error(g, rd->reply.err);
			again = rd->reply.interrupted || rd->d.interrupted;
			if (!again)
				return 1;
		}
		/* Interrupted by a change, or lost (ENOBUFS): once more, on a
		 * fresh socket (a lost dump may still be under way). */
		if (++rd->attempts >= DUMP_RETRIES)
			return -EAGAIN;
		read_close(g);
		if ((r = read_open(g)) || (r = read_request(g)))
			return r;
		return 2;
	}
	return 0;
}

static int genl_read_step(void *ctx, int *fd, struct wg_device *dev, bool *temp_found,
			  bool *same)
{
	struct genl *g = ctx;
	struct genl_read *rd = &g->rd;
	int r;

	*same = *temp_found = false;
	memset(dev, 0, sizeof(*dev));
	if (!rd->on)
		return -EINVAL;
	r = read_more(g);
	if (r == 2) { /* asked again: a new socket */
		*fd = rd->fd;
		return 0;
	}
	if (r == 0)
		return 0;
	if (r == 1) {
		*same = !rd->d.temp_found && rd->d.fp == rd->known;
		dev->pubkey = rd->dev.pubkey;
		r = *same ? 0 : snapshot_of_kept(g, dev, &rd->d);
		*temp_found = !r && !*same && rd->d.temp_found;
	}
	read_end(g);
	return r < 0 ? r : 1;
}

static void genl_read_abort(void *ctx)
{
	struct genl *g = ctx;

	if (g->rd.on)
		read_end(g); /* closing the socket ends the kernel's dump */
}

static int ignore_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int genl_send(void *ctx, const char *ifname, struct wg_set *s)
{
	struct genl *g = ctx;
	size_t msgs = 0, off = 0;
	int r = ensure_family(g);

	g->req.len = 0;
	s->n_msgs = 0;
	if (!r)
		r = wg_genl_encode_set(&g->req, g->family, g->seq + 1, ifname, s->peers,
				       s->n_peers, g->msg_max, &msgs);
	/* Room for every message's outcome before the first goes out. */
	if (!r && vec_reserve(s->msg_err, s->msgs_cap, msgs))
		r = -ENOMEM;
	if (r)
		return r;
	g->seq += (uint32_t)msgs;
	for (size_t m = 0; m < msgs; m++) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(g->req.data + off);
		int e = g->exchange(g->ctx, nlh, ignore_cb, NULL);

		off += MNL_ALIGN(nlh->nlmsg_len);
		/* EOPNOTSUPP: the device is not WireGuard. */
		wg_set_msg_result(s, e == -EOPNOTSUPP ? -ENODEV : e);
		FAULT_POINT("wg-message");
	}
	return 0;
}

/* CTRL_CMD_GETPOLICY (Linux 5.10 and later): where the kernel lists the
 * allowed-IP attributes, whether WGALLOWEDIP_A_FLAGS is among them. */
static enum wg_remove_mode genl_mode_hint(void *ctx, const char *ifname)
{
	struct genl *g = ctx;
	struct wg_genl_policy policy = {0};
	enum wg_remove_mode m;
	int r = ensure_family(g);

	(void)ifname; /* the family's, for every device */
	g->req.len = 0;
	r = r ?: wg_genl_encode_getpolicy(&g->req, g->family, ++g->seq);
	r = r ?: exchange(g, wg_genl_policy_cb, &policy);
	m = wg_genl_policy_mode(&policy);
	return r ? WG_REMOVE_UNKNOWN : m;
}

static void genl_destroy(void *ctx)
{
	struct genl *g = ctx;

	genl_read_abort(g);
	if (g->nl)
		mnl_socket_close(g->nl);
	free(g->rbuf);
	buf_free(&g->req);
	buf_free(&g->kept);
	free(g);
}

static const struct wg_transport genl_transport = {
	.name = "kernel",
	.read = genl_read,
	.read_start = genl_read_start,
	.read_step = genl_read_step,
	.read_abort = genl_read_abort,
	.send = genl_send,
	.mode_hint = genl_mode_hint,
	.destroy = genl_destroy,
	.probe_makes_peer = true,
};

static struct genl *genl_new(wg_genl_exchange_fn fn, void *ctx, size_t msg_max)
{
	struct genl *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	buf_init_mapped(&g->kept);
	g->exchange = fn;
	g->ctx = ctx;
	g->msg_max = msg_max ? msg_max : WG_GENL_MSG_MAX;
	g->seq = (uint32_t)time(NULL);
	return g;
}

struct wg_backend *wg_genl_backend_new_exchange(wg_genl_exchange_fn fn, void *ctx,
						size_t msg_max)
{
	return wg_genl_backend_new_exchange_dump(fn, NULL, ctx, msg_max);
}

struct wg_backend *wg_genl_backend_new_exchange_dump(wg_genl_exchange_fn fn,
						     wg_genl_dump_open_fn dump_open,
						     void *ctx, size_t msg_max)
{
	struct genl *g = genl_new(fn, ctx, msg_max);

	if (!g)
		return NULL;
	g->dump_open = dump_open;
	return wg_transport_backend_new(&genl_transport, g);
}

struct wg_backend *wg_genl_backend_new(void)
{
	const struct timeval timeout = {.tv_sec = GENL_TIMEOUT_S};
	struct genl *g = genl_new(socket_exchange, NULL, 0);
	int one = 1;

	if (!g)
		return NULL;
	g->ctx = g;
	g->rbuf = malloc(GENL_RECV_SIZE);
	g->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!g->rbuf || !g->nl || mnl_socket_bind(g->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(g->nl), SOL_SOCKET, SO_RCVTIMEO, &timeout,
		       sizeof(timeout)) < 0) {
		genl_destroy(g);
		return NULL;
	}
	/* Errors without the request echoed back, with the kernel's text. */
	mnl_socket_setsockopt(g->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(g->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	return wg_transport_backend_new(&genl_transport, g);
}
