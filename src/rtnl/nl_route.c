/* nl_route.c: the route backend over rtnetlink: sockets, dumps, events,
 * the nexthop table and apply. See nl_route.h; the messages themselves are
 * rtnl_codec.c's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "fault.h"
#include "log.h"
#include "nl_route.h"

#define BAD (-EBADMSG)
/* Receive buffers: a dump part is at most 32 KiB; one link message can be
 * several KiB. */
#define RECV_BUF_SIZE (64 * 1024)
/* One sendmsg carries at most this much; the acks of one batch must fit in
 * the request socket's receive buffer. */
#define BATCH_LIMIT (16 * 1024)
#define REQ_RCVBUF  (4 * 1024 * 1024)
/* Each route notification takes about 1 KiB of it: 256 MiB holds the events
 * of several seconds of a 1 000 000-route storm, so that the daemon reading
 * a large device (about a second at that size) loses none. Memory is only
 * taken while events wait. */
#define EVENT_RCVBUF   (256 * 1024 * 1024)
#define ACK_TIMEOUT_MS 5000
#define DUMP_RETRIES   3
/* The watch of a route dump reads what it hears (a change of another table
 * is no tear): its buffer holds what comes between two reads of the dump
 * (it is read after each), a busy routing daemon's churn included (a route
 * notification takes about 1 KiB of it). An overflow tears the dump. Memory
 * is only taken while messages wait. */
#define WATCH_RCVBUF (4 * 1024 * 1024)
/* Datagrams read from the watch after each part of a dump: changes that
 * come faster than they are read overflow it (a tear) rather than stall
 * the dump. */
#define WATCH_READ_MAX 1024

/* ---------------------------------------------------------------------- */
/* Nexthop table and the index of routes that need tracking                */

/* Identity of a route: (family, table, dst, tos, metric). Zero-filled so
 * that it can be hashed and compared as bytes. */
struct route_key {
	uint32_t table;
	uint32_t metric;
	uint8_t family, dst_len, tos, pad;
	uint8_t addr[16];
};

/* A route we must remember: one through a nexthop object (re-delivered when
 * the object changes, removed when it goes), or an IPv6 multipath route
 * (whose hops the kernel deletes one at a time). */
struct route_rec {
	struct route_key key;
	uint8_t protocol, type;
	uint32_t nh_id; /* 0: an IPv6 multipath route with hops[] */
	size_t n_hops;
	struct knexthop *hops;
	struct route_rec *hnext;	 /* hash chain */
	struct route_rec *nprev, *nnext; /* routes of the same nexthop id */
};

struct nh_entry {
	struct nl_nexthop nh;
	bool known; /* false: only routes refer to it so far */
	struct nh_entry *hnext;
	struct route_rec *routes;
};

struct hash {
	void **b;
	size_t nb, n;
};

struct nl_route {
	struct route_backend be; /* first: the backend pointer is nr */
	struct mnl_socket *req, *ev;
	int watch;	      /* hears route changes during a route dump; -1: not yet */
	bool watching;	      /* a route dump is being watched */
	bool watch_heard;     /* ... and it heard a change that tears it */
	uint32_t watch_table; /* the table dumped (0: every table) */
	size_t forged;	      /* messages dropped for not coming from the kernel */
	unsigned req_portid;
	uint32_t seq;
	char *reqbuf, *evbuf, *batchbuf, *watchbuf;
	struct hash nhs;  /* struct nh_entry by id */
	struct hash recs; /* struct route_rec by key */
};

static uint32_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static uint32_t nh_hash(uint32_t id)
{
	return hash_bytes(&id, sizeof(id));
}

static struct nh_entry *nh_find(const struct nl_route *nr, uint32_t id)
{
	struct nh_entry *e;

	if (!nr->nhs.nb)
		return NULL;
	e = nr->nhs.b[nh_hash(id) & (nr->nhs.nb - 1)];
	while (e && e->nh.id != id)
		e = e->hnext;
	return e;
}

static struct route_rec *rec_find(const struct nl_route *nr, const struct route_key *k)
{
	struct route_rec *r;

	if (!nr->recs.nb)
		return NULL;
	r = nr->recs.b[hash_bytes(k, sizeof(*k)) & (nr->recs.nb - 1)];
	while (r && memcmp(&r->key, k, sizeof(*k)) != 0)
		r = r->hnext;
	return r;
}

/* Grows h when it is full; rehash(item) gives an item's hash, next its
 * chain link. */
static int hash_grow(struct hash *h, uint32_t (*rehash)(const void *),
		     void **(*next)(void *))
{
	size_t nb = h->nb ? h->nb * 2 : 64;
	void **b;

	if (h->n < h->nb)
		return 0;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < h->nb; i++) {
		void *item = h->b[i];

		while (item) {
			void *following = *next(item);
			size_t slot = rehash(item) & (nb - 1);

			*next(item) = b[slot];
			b[slot] = item;
			item = following;
		}
	}
	free(h->b);
	h->b = b;
	h->nb = nb;
	return 0;
}

static uint32_t nh_rehash(const void *item)
{
	return nh_hash(((const struct nh_entry *)item)->nh.id);
}

static void **nh_next(void *item)
{
	return (void **)&((struct nh_entry *)item)->hnext;
}

static uint32_t rec_rehash(const void *item)
{
	const struct route_rec *r = item;

	return hash_bytes(&r->key, sizeof(r->key));
}

static void **rec_next(void *item)
{
	return (void **)&((struct route_rec *)item)->hnext;
}

static struct nh_entry *nh_get(struct nl_route *nr, uint32_t id)
{
	struct nh_entry *e = nh_find(nr, id);
	size_t slot;

	if (e)
		return e;
	if (hash_grow(&nr->nhs, nh_rehash, nh_next))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->nh.id = id;
	slot = nh_hash(id) & (nr->nhs.nb - 1);
	e->hnext = nr->nhs.b[slot];
	nr->nhs.b[slot] = e;
	nr->nhs.n++;
	return e;
}

/* Frees e when nothing needs it any more. */
static void nh_put(struct nl_route *nr, struct nh_entry *e)
{
	struct nh_entry **pp;

	if (e->known || e->routes)
		return;
	pp = (struct nh_entry **)&nr->nhs.b[nh_hash(e->nh.id) & (nr->nhs.nb - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	nr->nhs.n--;
	nl_nexthop_release(&e->nh);
	free(e);
}

static void rec_unlink_nh(struct nl_route *nr, struct route_rec *r)
{
	struct nh_entry *e;

	if (!r->nh_id)
		return;
	e = nh_find(nr, r->nh_id);
	if (r->nprev)
		r->nprev->nnext = r->nnext;
	else if (e)
		e->routes = r->nnext;
	if (r->nnext)
		r->nnext->nprev = r->nprev;
	r->nprev = r->nnext = NULL;
	r->nh_id = 0;
	if (e)
		nh_put(nr, e);
}

static int rec_link_nh(struct nl_route *nr, struct route_rec *r, uint32_t id)
{
	struct nh_entry *e;

	if (r->nh_id == id)
		return 0;
	rec_unlink_nh(nr, r);
	e = nh_get(nr, id);
	if (!e)
		return -ENOMEM;
	r->nh_id = id;
	r->nnext = e->routes;
	if (e->routes)
		e->routes->nprev = r;
	e->routes = r;
	return 0;
}

static void rec_drop(struct nl_route *nr, struct route_rec *r)
{
	struct route_rec **pp;

	rec_unlink_nh(nr, r);
	pp = (struct route_rec **)&nr->recs.b[rec_rehash(r) & (nr->recs.nb - 1)];
	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
	nr->recs.n--;
	free(r->hops);
	free(r);
}

static struct route_rec *rec_get(struct nl_route *nr, const struct route_key *k)
{
	struct route_rec *r = rec_find(nr, k);
	size_t slot;

	if (r)
		return r;
	if (hash_grow(&nr->recs, rec_rehash, rec_next))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->key = *k;
	slot = rec_rehash(r) & (nr->recs.nb - 1);
	r->hnext = nr->recs.b[slot];
	nr->recs.b[slot] = r;
	nr->recs.n++;
	return r;
}

static void recs_clear(struct nl_route *nr)
{
	for (size_t i = 0; i < nr->recs.nb; i++)
		while (nr->recs.b[i])
			rec_drop(nr, nr->recs.b[i]);
}

static void nhs_clear(struct nl_route *nr)
{
	recs_clear(nr);
	for (size_t i = 0; i < nr->nhs.nb; i++)
		while (nr->nhs.b[i]) {
			struct nh_entry *e = nr->nhs.b[i];

			e->known = false;
			nh_put(nr, e);
		}
}

static void key_of(const struct kroute *rt, struct route_key *k)
{
	memset(k, 0, sizeof(*k));
	k->table = rt->table;
	k->metric = rt->metric;
	k->family = rt->dst.family;
	k->dst_len = rt->dst.len;
	k->tos = rt->tos;
	memcpy(k->addr, rt->dst.addr, sizeof(k->addr));
}

static void kroute_of_rec(const struct route_rec *r, struct kroute *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->dst.family = r->key.family;
	rt->dst.len = r->key.dst_len;
	memcpy(rt->dst.addr, r->key.addr, sizeof(rt->dst.addr));
	rt->table = r->key.table;
	rt->metric = r->key.metric;
	rt->tos = r->key.tos;
	rt->protocol = r->protocol;
	rt->type = r->type;
}

/* Sets rt's next hops to those of nexthop object id, when it is known
 * (else rt keeps the hops its message carried). Group members in kernel
 * order; blackholes and unknown members give no hop. */
static int resolve(const struct nl_route *nr, uint32_t id, struct kroute *rt)
{
	const struct nh_entry *e = nh_find(nr, id);
	struct knexthop *hops;
	size_t n = 0;

	if (!e || !e->known)
		return 0;
	hops = calloc(e->nh.n_group ? e->nh.n_group : 1, sizeof(*hops));
	if (!hops)
		return -ENOMEM;
	if (e->nh.n_group) {
		for (size_t i = 0; i < e->nh.n_group; i++) {
			const struct nh_entry *m = nh_find(nr, e->nh.group[i].id);

			if (!m || !m->known || m->nh.blackhole || m->nh.n_group)
				continue;
			hops[n].gw = m->nh.gw;
			hops[n++].oif = m->nh.oif;
		}
	} else if (!e->nh.blackhole) {
		hops[0].gw = e->nh.gw;
		hops[n++].oif = e->nh.oif;
	}
	free(rt->nexthops);
	rt->nexthops = hops;
	rt->n_nexthops = n;
	return 0;
}

/* Where tracked routes go: the dump callback or the event handler. */
typedef int (*route_out_fn)(void *ctx, bool removed, const struct kroute *rt);

static bool hop_equal(const struct knexthop *a, const struct knexthop *b)
{
	return a->oif == b->oif && prefix_equal(&a->gw, &b->gw);
}

/* An IPv6 delete names the hops that went; the rest of the route stays. */
static size_t rec_remove_hops(struct route_rec *r, const struct kroute *gone)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->n_hops; i++) {
		bool match = false;

		for (size_t j = 0; j < gone->n_nexthops && !match; j++)
			match = hop_equal(&r->hops[i], &gone->nexthops[j]);
		if (!match)
			r->hops[kept++] = r->hops[i];
	}
	r->n_hops = kept;
	return kept;
}

static int deliver_rec(struct nl_route *nr, const struct route_rec *r, bool removed,
		       route_out_fn out, void *ctx)
{
	struct kroute rt;
	int err;

	kroute_of_rec(r, &rt);
	if (r->nh_id) {
		err = resolve(nr, r->nh_id, &rt);
		if (err)
			return err;
	} else if (r->n_hops) {
		rt.nexthops = malloc(r->n_hops * sizeof(*rt.nexthops));
		if (!rt.nexthops)
			return -ENOMEM;
		memcpy(rt.nexthops, r->hops, r->n_hops * sizeof(*rt.nexthops));
		rt.n_nexthops = r->n_hops;
	}
	err = out(ctx, removed, &rt);
	nl_kroute_release(&rt);
	return err;
}

static int track_upsert(struct nl_route *nr, struct route_rec *r, struct kroute *rt,
			uint32_t nh_id)
{
	r->protocol = rt->protocol;
	r->type = rt->type;
	if (nh_id) {
		free(r->hops);
		r->hops = NULL;
		r->n_hops = 0;
		if (rec_link_nh(nr, r, nh_id))
			return -ENOMEM;
		return resolve(nr, nh_id, rt);
	}
	rec_unlink_nh(nr, r);
	free(r->hops);
	r->hops = malloc(rt->n_nexthops * sizeof(*r->hops));
	r->n_hops = 0;
	if (!r->hops)
		return -ENOMEM;
	memcpy(r->hops, rt->nexthops, rt->n_nexthops * sizeof(*r->hops));
	r->n_hops = rt->n_nexthops;
	return 0;
}

/* Keeps the index up to date with one route message and hands the route
 * (resolved) to out. */
static int track_route(struct nl_route *nr, bool removed, struct kroute *rt,
		       uint32_t nh_id, route_out_fn out, void *ctx)
{
	bool v6_multi = rt->dst.family == AF_INET6 && !nh_id && rt->n_nexthops > 1;
	struct route_key k;
	struct route_rec *r;
	int err;

	key_of(rt, &k);
	r = rec_find(nr, &k);
	if (!removed) {
		if (nh_id || v6_multi) {
			r = rec_get(nr, &k);
			if (!r)
				return -ENOMEM;
			err = track_upsert(nr, r, rt, nh_id);
			if (err)
				return err;
		} else if (r) {
			rec_drop(nr, r);
		}
		return out(ctx, false, rt);
	}
	if (r && !r->nh_id && !nh_id && r->n_hops && rec_remove_hops(r, rt) > 0)
		return deliver_rec(nr, r, false, out, ctx);
	if (nh_id) {
		err = resolve(nr, nh_id, rt);
		if (err)
			return err;
	}
	if (r)
		rec_drop(nr, r);
	return out(ctx, true, rt);
}

static bool group_has(const struct nl_nexthop *g, uint32_t id)
{
	for (size_t i = 0; i < g->n_group; i++)
		if (g->group[i].id == id)
			return true;
	return false;
}

static int deliver_nh_routes(struct nl_route *nr, const struct nh_entry *e,
			     route_out_fn out, void *ctx)
{
	for (const struct route_rec *r = e->routes; r; r = r->nnext) {
		int err = deliver_rec(nr, r, false, out, ctx);

		if (err < 0)
			return err;
	}
	return 0;
}

/* The routes through id, and through every group holding id, again. */
static int redeliver(struct nl_route *nr, uint32_t id, route_out_fn out, void *ctx)
{
	const struct nh_entry *e = nh_find(nr, id);
	int err = e ? deliver_nh_routes(nr, e, out, ctx) : 0;

	for (size_t i = 0; i < nr->nhs.nb && err >= 0; i++)
		for (const struct nh_entry *g = nr->nhs.b[i]; g && err >= 0; g = g->hnext)
			if (g->known && group_has(&g->nh, id))
				err = deliver_nh_routes(nr, g, out, ctx);
	return err;
}

static void group_remove(struct nl_nexthop *g, uint32_t id)
{
	size_t kept = 0;

	for (size_t i = 0; i < g->n_group; i++)
		if (g->group[i].id != id)
			g->group[kept++] = g->group[i];
	g->n_group = kept;
}

/* A nexthop object went. The kernel removes the routes through it (for
 * IPv4 without any route event) and takes it out of its groups. */
static int nexthop_gone(struct nl_route *nr, uint32_t id, route_out_fn out, void *ctx)
{
	struct nh_entry *e = nh_find(nr, id);
	int err = 0;

	if (!e)
		return 0;
	e->known = true; /* keeps e alive while its routes are dropped */
	while (e->routes) {
		struct route_rec *r = e->routes;

		err = deliver_rec(nr, r, true, out, ctx);
		rec_drop(nr, r);
		if (err < 0)
			return err;
	}
	e->known = false;
	nl_nexthop_release(&e->nh);
	nh_put(nr, e);
	/* The groups that held it lose it; their routes stay. */
	for (size_t i = 0; i < nr->nhs.nb && err >= 0; i++)
		for (struct nh_entry *g = nr->nhs.b[i]; g && err >= 0; g = g->hnext)
			if (g->known && group_has(&g->nh, id)) {
				group_remove(&g->nh, id);
				err = deliver_nh_routes(nr, g, out, ctx);
			}
	return err;
}

/* Takes ownership of nh's group array. */
static int track_nexthop(struct nl_route *nr, bool removed, struct nl_nexthop *nh,
			 route_out_fn out, void *ctx)
{
	struct nh_entry *e;

	if (removed) {
		nl_nexthop_release(nh);
		return out ? nexthop_gone(nr, nh->id, out, ctx) : 0;
	}
	e = nh_get(nr, nh->id);
	if (!e) {
		nl_nexthop_release(nh);
		return -ENOMEM;
	}
	nl_nexthop_release(&e->nh);
	e->nh = *nh;
	e->known = true;
	memset(nh, 0, sizeof(*nh));
	return out ? redeliver(nr, e->nh.id, out, ctx) : 0;
}

const struct nl_nexthop *nl_route_nexthop(const struct nl_route *nr, uint32_t id)
{
	const struct nh_entry *e = nh_find(nr, id);

	return e && e->known ? &e->nh : NULL;
}

/* ---------------------------------------------------------------------- */
/* Sockets, dumps                                                          */

static void set_rcvbuf(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static struct mnl_socket *open_socket(int rcvbuf)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int one = 1;

	if (!nl)
		return NULL;
	/* Acks without the request echoed; errors with a message. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	set_rcvbuf(mnl_socket_get_fd(nl), rcvbuf);
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

/* One datagram from the kernel. Another process with CAP_NET_ADMIN can
 * send to our ports (and so forge events, dump parts or acks): what does
 * not come from port 0 is dropped. MSG_TRUNC: -1 with ENOSPC. */
static ssize_t recv_kernel(struct nl_route *nr, int fd, void *buf, size_t len, int flags)
{
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = {buf, len};
		struct msghdr msg = {.msg_name = &sa,
				     .msg_namelen = sizeof(sa),
				     .msg_iov = &iov,
				     .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &msg, flags);

		if (n < 0)
			return -1;
		if (msg.msg_namelen == sizeof(sa) && sa.nl_family == AF_NETLINK &&
		    sa.nl_pid == 0) {
			if (msg.msg_flags & MSG_TRUNC) {
				errno = ENOSPC;
				return -1;
			}
			return n;
		}
		/* Said once: a sender that repeats itself fills no log. */
		if (nr->forged++ == 0)
			log_warn("rtnetlink: dropping a message from port %u, which is "
				 "not the kernel",
				 msg.msg_namelen == sizeof(sa) ? sa.nl_pid : 0);
		else
			log_debug("rtnetlink: dropping a message that is not the "
				  "kernel's (%zu so far)",
				  nr->forged);
	}
}

/* One dump: type with family; each message goes to msg_fn. */
struct dump_ctx {
	struct nl_route *nr;
	int (*msg_fn)(struct dump_ctx *d, const struct nlmsghdr *nlh);
	int result;	  /* first non-zero callback result */
	bool interrupted; /* NLM_F_DUMP_INTR */
	/* per dump kind */
	uint32_t table;
	kroute_fn route_fn;
	nl_link_fn link_fn;
	nl_addr_fn addr_fn;
	void *ctx;
};

static void dump_msg(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;

	/* Read the whole dump even after a callback stopped it, so that no
	 * stale part is left on the socket. */
	if (d->result == 0)
		d->result = d->msg_fn(d, nlh);
}

/* Drops anything a failed request left on the request socket (the rest of
 * an aborted dump, late acks), so that the next answer is read cleanly. */
static void flush_req(struct nl_route *nr)
{
	while (recv(mnl_socket_get_fd(nr->req), nr->reqbuf, RECV_BUF_SIZE,
		    MSG_DONTWAIT) >= 0 ||
	       errno == EINTR || errno == ENOBUFS)
		;
}

static bool watch_read(struct nl_route *nr, unsigned max);

/* Sends the dump request and reads its replies to the end. Our own walk
 * (nl_dump_read), not libmnl's mnl_cb_run: that one fails a message that
 * carries NLM_F_DUMP_INTR with EINTR before the callback sees it, and
 * leaves the rest of the dump on the socket. */
static int dump_once(struct dump_ctx *d, uint16_t type, int family, size_t hdr_len)
{
	struct nl_route *nr = d->nr;
	char req[MNL_NLMSG_HDRLEN + 32];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	uint32_t seq = ++nr->seq;
	int fd = mnl_socket_get_fd(nr->req);
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	/* Every family header starts with its family byte. */
	*(uint8_t *)mnl_nlmsg_put_extra_header(nlh, hdr_len) = (uint8_t)family;
	d->interrupted = false;
	flush_req(nr);
	if (mnl_socket_sendto(nr->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = recv_kernel(nr, fd, nr->reqbuf, RECV_BUF_SIZE, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = nl_dump_read(nr->reqbuf, (size_t)n, seq, nr->req_portid, dump_msg,
				   d, &d->interrupted);
		/* Read as the dump goes, so that a busy table elsewhere does
		 * not overflow the watch. */
		if (nr->watching)
			nr->watch_heard |= watch_read(nr, WATCH_READ_MAX);
	} while (ret == NL_DUMP_MORE);
	return ret < 0 ? ret : 0;
}

/* Runs a dump again when the kernel says it was interrupted by a change
 * (links and addresses: small, and read at once by their users). */
static int dump(struct dump_ctx *d, uint16_t type, int family, size_t hdr_len)
{
	for (int attempt = 0;; attempt++) {
		int err = dump_once(d, type, family, hdr_len);

		if (err)
			return err;
		if (d->result)
			return d->result;
		if (!d->interrupted)
			return 0;
		if (attempt == DUMP_RETRIES)
			return -EAGAIN;
	}
}

/* ---- watching a route dump ---- */

/* The kernel's route dump is no snapshot: when routes change while it runs,
 * an IPv6 dump resumes by counting entries and can skip routes that stood
 * all along, or list some twice, and it does not say so (NLM_F_DUMP_INTR
 * is never set for routes). So a socket of its own listens to the route
 * and nexthop groups while a route dump runs, and reads what it hears as
 * the dump goes: a change that can have made the kernel skip or repeat
 * routes of the table dumped makes the dump torn (nl_route_tears_dump: one
 * of that table, or of a nexthop object; a change of another table cannot).
 * An overflow (ENOBUFS) or a message cut short counts as a tear. */
static const int watched_groups[] = {RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
				     RTNLGRP_NEXTHOP};

/* Whether a datagram the watch read tears the dump of nr->watch_table. */
static bool watch_tears(const struct nl_route *nr, size_t len)
{
	struct nl_msgs m = {(const uint8_t *)nr->watchbuf, len};
	const struct nlmsghdr *nlh;
	bool tears = false;

	while ((nlh = nl_msgs_next(&m)))
		tears |= nl_route_tears_dump(nlh, nlh->nlmsg_len, nr->watch_table);
	return tears || m.left;
}

/* Reads what the watch socket holds, at most max datagrams (0: until it is
 * empty); true when the kernel had sent something that tears the dump of
 * nr->watch_table. */
static bool watch_read(struct nl_route *nr, unsigned max)
{
	bool heard = false;

	for (unsigned got = 0; !max || got < max; got++) {
		ssize_t n = recv_kernel(nr, nr->watch, nr->watchbuf, RECV_BUF_SIZE,
					MSG_DONTWAIT);

		if (n >= 0) {
			heard |= watch_tears(nr, (size_t)n);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == ENOBUFS || errno == ENOSPC) {
			heard = true;
			continue;
		}
		break;
	}
	return heard;
}

static void watch_groups(struct nl_route *nr, int opt)
{
	for (size_t i = 0; i < sizeof(watched_groups) / sizeof(watched_groups[0]); i++)
		/* A kernel without nexthop objects has no such group. */
		setsockopt(nr->watch, SOL_NETLINK, opt, &watched_groups[i],
			   sizeof(watched_groups[i]));
}

/* Starts listening for changes that tear a dump of table (0: every table). */
static int watch_begin(struct nl_route *nr, uint32_t table)
{
	if (nr->watch < 0) {
		struct sockaddr_nl sa = {.nl_family = AF_NETLINK};

		nr->watch = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (nr->watch < 0)
			return -errno;
		set_rcvbuf(nr->watch, WATCH_RCVBUF);
		if (bind(nr->watch, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int err = -errno;

			close(nr->watch);
			nr->watch = -1;
			return err;
		}
	}
	watch_read(nr, 0); /* nothing is queued; a forged message would be */
	nr->watch_table = table;
	nr->watch_heard = false;
	nr->watching = true;
	watch_groups(nr, NETLINK_ADD_MEMBERSHIP);
	return 0;
}

/* Whether changes that tear the dump came since watch_begin; stops
 * listening. What is queued is read after leaving the groups, so that the
 * read ends however busy the tables are (what came after the dump's end
 * counts too). */
static bool watch_end(struct nl_route *nr)
{
	bool heard;

	watch_groups(nr, NETLINK_DROP_MEMBERSHIP);
	heard = watch_read(nr, 0) || nr->watch_heard;
	nr->watching = false;
	return heard;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int nl_route_wait_quiet(struct nl_route *nr, uint32_t table, int quiet_ms, int max_ms)
{
	uint64_t now = mono_ms(), end = now + (uint64_t)(max_ms > 0 ? max_ms : 0);
	uint64_t quiet_from = now;
	int err = watch_begin(nr, table);

	if (err)
		return err;
	for (;;) {
		struct pollfd p = {.fd = nr->watch, .events = POLLIN};
		uint64_t due = quiet_from + (uint64_t)quiet_ms;

		now = mono_ms();
		if (now >= due) {
			err = 0;
			break;
		}
		if (now >= end) {
			err = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)((due < end ? due : end) - now)) > 0 &&
		    watch_read(nr, WATCH_READ_MAX))
			quiet_from = mono_ms();
	}
	watch_end(nr);
	return err;
}

static int link_msg(struct dump_ctx *d, const struct nlmsghdr *nlh)
{
	struct nl_link link;
	int err = nl_decode_link(nlh, nlh->nlmsg_len, &link);

	if (err < 0)
		log_warn("rtnetlink: skipping a malformed link message");
	return err == 0 ? d->link_fn(&link, d->ctx) : 0;
}

static int addr_msg(struct dump_ctx *d, const struct nlmsghdr *nlh)
{
	struct nl_addr addr;
	int err = nl_decode_addr(nlh, nlh->nlmsg_len, &addr);

	if (err < 0)
		log_warn("rtnetlink: skipping a malformed address message");
	return err == 0 ? d->addr_fn(&addr, d->ctx) : 0;
}

static int nexthop_msg(struct dump_ctx *d, const struct nlmsghdr *nlh)
{
	struct nl_nexthop nh;
	int err = nl_decode_nexthop(nlh, nlh->nlmsg_len, &nh);

	if (err < 0)
		log_warn("rtnetlink: skipping a malformed nexthop message");
	if (err)
		return 0;
	err = track_nexthop(d->nr, false, &nh, NULL, NULL);
	nl_nexthop_release(&nh);
	return err;
}

static int dump_route_out(void *ctx, bool removed, const struct kroute *rt)
{
	struct dump_ctx *d = ctx;

	(void)removed;
	if (d->table && rt->table != d->table)
		return 0;
	return d->route_fn(rt, d->ctx);
}

static int route_msg(struct dump_ctx *d, const struct nlmsghdr *nlh)
{
	struct kroute rt;
	uint32_t nh_id;
	int err = nl_decode_route(nlh, nlh->nlmsg_len, &rt, &nh_id);

	if (err < 0)
		log_warn("rtnetlink: skipping a malformed route message");
	if (err)
		return 0;
	err = track_route(d->nr, false, &rt, nh_id, dump_route_out, d);
	nl_kroute_release(&rt);
	return err;
}

int nl_route_dump_links(struct nl_route *nr, nl_link_fn fn, void *ctx)
{
	struct dump_ctx d = {.nr = nr, .msg_fn = link_msg, .link_fn = fn, .ctx = ctx};

	return dump(&d, RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg));
}

int nl_route_dump_addrs(struct nl_route *nr, nl_addr_fn fn, void *ctx)
{
	struct dump_ctx d = {.nr = nr, .msg_fn = addr_msg, .addr_fn = fn, .ctx = ctx};

	return dump(&d, RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg));
}

/* Reloads the nexthop table; *intr as the route dump's. */
static int reload_nexthops(struct nl_route *nr, bool *intr)
{
	struct dump_ctx d = {.nr = nr, .msg_fn = nexthop_msg};
	int err;

	/* Reload: forget the objects, keep the routes' references. */
	for (size_t i = 0; i < nr->nhs.nb; i++)
		for (struct nh_entry *e = nr->nhs.b[i]; e; e = e->hnext) {
			e->known = false;
			nl_nexthop_release(&e->nh);
		}
	err = dump_once(&d, RTM_GETNEXTHOP, AF_UNSPEC, sizeof(struct nhmsg));
	*intr |= d.interrupted;
	for (size_t i = 0; i < nr->nhs.nb; i++) {
		struct nh_entry *e = nr->nhs.b[i];

		while (e) {
			struct nh_entry *next = e->hnext;

			nh_put(nr, e);
			e = next;
		}
	}
	return err ? err : d.result;
}

/* The route dump is not run again when torn (the caller is told, and reads
 * again once the changes are over): at once, it would most likely be torn
 * again. */
static int nlr_dump(struct route_backend *b, uint32_t table, kroute_fn fn, void *ctx,
		    bool *torn)
{
	struct nl_route *nr = (struct nl_route *)b;
	struct dump_ctx d = {.nr = nr,
			     .msg_fn = route_msg,
			     .table = table,
			     .route_fn = fn,
			     .ctx = ctx};
	bool intr = false, heard;
	int err = watch_begin(nr, table);

	if (err)
		return err;
	/* The dump rebuilds the index from scratch, nexthops first. */
	nhs_clear(nr);
	err = reload_nexthops(nr, &intr);
	/* A kernel without nexthop objects answers EOPNOTSUPP or EINVAL. */
	if (err == -EOPNOTSUPP || err == -EINVAL)
		err = 0;
	if (!err)
		err = dump_once(&d, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg));
	intr |= d.interrupted;
	if (!err && !d.result)
		err = dump_once(&d, RTM_GETROUTE, AF_INET6, sizeof(struct rtmsg));
	intr |= d.interrupted;
	heard = watch_end(nr);
	if (torn)
		*torn = intr || heard;
	return err ? err : d.result;
}

/* ---------------------------------------------------------------------- */
/* Apply                                                                   */

#define ACK_PENDING 1

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 0;
}

/* Records the acks found in one read; returns how many were new. */
static size_t take_acks(const char *buf, size_t len, uint32_t first_seq, size_t count,
			const size_t *idx, int *err)
{
	struct nl_msgs m = {(const uint8_t *)buf, len};
	const struct nlmsghdr *nlh;
	size_t taken = 0;

	while ((nlh = nl_msgs_next(&m))) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
		uint32_t j = nlh->nlmsg_seq - first_seq;

		if (nlh->nlmsg_type != NLMSG_ERROR ||
		    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) || j >= count ||
		    err[idx[j]] != ACK_PENDING)
			continue;
		err[idx[j]] = nl_error_code(e->error);
		taken++;
	}
	return taken;
}

/* Sends one batch (messages j in [first, first + count) of this apply) and
 * waits for all its acks. Acks lost are reported as -ENOBUFS or -ETIMEDOUT. */
static void send_batch(struct nl_route *nr, const void *buf, size_t size,
		       uint32_t base_seq, size_t first, size_t count, const size_t *idx,
		       int *err)
{
	int fd = mnl_socket_get_fd(nr->req);
	int fail = 0;
	size_t acked = 0;

	for (size_t j = first; j < first + count; j++)
		err[idx[j]] = ACK_PENDING;
	if (mnl_socket_sendto(nr->req, buf, size) < 0)
		fail = -errno;
	FAULT_POINT("route-batch"); /* the kernel has applied the batch */
	while (!fail && acked < count) {
		ssize_t n;

		fail = wait_readable(fd, ACK_TIMEOUT_MS);
		if (fail)
			break;
		n = recv_kernel(nr, fd, nr->reqbuf, RECV_BUF_SIZE, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EINTR && errno != EAGAIN)
				fail = -errno;
			continue;
		}
		acked += take_acks(nr->reqbuf, (size_t)n, base_seq + (uint32_t)first,
				   count, idx + first, err);
	}
	for (size_t j = first; j < first + count && fail; j++)
		if (err[idx[j]] == ACK_PENDING)
			err[idx[j]] = fail;
}

static bool is_route_change(const struct change *c)
{
	return c->op == CHANGE_ROUTE_ADD || c->op == CHANGE_ROUTE_DEL;
}

static int nlr_apply(struct route_backend *b, const struct change *ch, size_t n, int *err)
{
	struct nl_route *nr = (struct nl_route *)b;
	struct mnl_nlmsg_batch *batch;
	uint32_t base_seq = nr->seq + 1;
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	size_t msgs = 0, first = 0;
	int result = 0;

	if (!idx)
		return -ENOMEM;
	flush_req(nr);
	batch = mnl_nlmsg_batch_start(nr->batchbuf, BATCH_LIMIT);
	for (size_t i = 0; i < n; i++) {
		char *cur = mnl_nlmsg_batch_current(batch);
		size_t room =
			(size_t)(nr->batchbuf + BATCH_LIMIT + NL_ROUTE_MSG_MAX - cur);
		int len;

		err[i] = 0;
		if (!is_route_change(&ch[i]))
			continue;
		len = nl_encode_route(cur, room, ch[i].op == CHANGE_ROUTE_ADD,
				      &ch[i].route, base_seq + (uint32_t)msgs);
		if (len < 0) {
			err[i] = len;
			continue;
		}
		idx[msgs++] = i;
		if (!mnl_nlmsg_batch_next(batch)) {
			/* The message just written no longer fits: send the
			 * others; reset moves it to the front. */
			send_batch(nr, mnl_nlmsg_batch_head(batch),
				   mnl_nlmsg_batch_size(batch), base_seq, first,
				   msgs - 1 - first, idx, err);
			first = msgs - 1;
			mnl_nlmsg_batch_reset(batch);
		}
	}
	if (msgs > first)
		send_batch(nr, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch),
			   base_seq, first, msgs - first, idx, err);
	nr->seq = base_seq + (uint32_t)msgs;
	mnl_nlmsg_batch_stop(batch);
	free(idx);
	for (size_t i = 0; i < n && !result; i++)
		result = err[i];
	return result;
}

/* ---------------------------------------------------------------------- */
/* Events                                                                  */

int nl_route_events_open(struct nl_route *nr, int rcvbuf)
{
	static int groups[] = {RTNLGRP_LINK,	RTNLGRP_IPV4_ROUTE,  RTNLGRP_IPV6_ROUTE,
			       RTNLGRP_NEXTHOP, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR};
	struct mnl_socket *nl;
	int fd;

	if (nr->ev)
		return 0;
	nl = open_socket(rcvbuf > 0 ? rcvbuf : EVENT_RCVBUF);
	if (!nl)
		return -errno;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &groups[i],
					  sizeof(groups[i])) < 0)
			goto fail;
	fd = mnl_socket_get_fd(nl);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	nr->ev = nl;
	return 0;
fail:
	fd = -errno;
	mnl_socket_close(nl);
	return fd;
}

int nl_route_events_fd(const struct nl_route *nr)
{
	return nr->ev ? mnl_socket_get_fd(nr->ev) : -1;
}

struct event_out {
	const struct nl_route_handlers *h;
	int delivered;
};

static int event_route_out(void *ctx, bool removed, const struct kroute *rt)
{
	struct event_out *o = ctx;

	o->delivered++;
	return o->h->route ? o->h->route(o->h->ctx, removed, rt) : 0;
}

static int event_route(struct nl_route *nr, const struct nlmsghdr *nlh,
		       struct event_out *o)
{
	struct kroute rt;
	uint32_t nh_id;
	int err = nl_decode_route(nlh, nlh->nlmsg_len, &rt, &nh_id);

	if (err)
		return err;
	err = track_route(nr, nlh->nlmsg_type == RTM_DELROUTE, &rt, nh_id,
			  event_route_out, o);
	nl_kroute_release(&rt);
	return err;
}

static int event_nexthop(struct nl_route *nr, const struct nlmsghdr *nlh,
			 struct event_out *o)
{
	bool removed = nlh->nlmsg_type == RTM_DELNEXTHOP;
	struct nl_nexthop nh;
	int err = nl_decode_nexthop(nlh, nlh->nlmsg_len, &nh);

	if (err)
		return err;
	if (o->h->nexthop) {
		o->delivered++;
		err = o->h->nexthop(o->h->ctx, removed, &nh);
		if (err < 0) {
			nl_nexthop_release(&nh);
			return err;
		}
	}
	return track_nexthop(nr, removed, &nh, event_route_out, o);
}

static int event_one(struct nl_route *nr, const struct nlmsghdr *nlh, struct event_out *o)
{
	const struct nl_route_handlers *h = o->h;
	struct nl_link link;
	struct nl_addr addr;
	int err;

	switch (nlh->nlmsg_type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return event_route(nr, nlh, o);
	case RTM_NEWNEXTHOP:
	case RTM_DELNEXTHOP:
		return event_nexthop(nr, nlh, o);
	case RTM_NEWLINK:
	case RTM_DELLINK:
		err = nl_decode_link(nlh, nlh->nlmsg_len, &link);
		if (err || !h->link)
			return err;
		o->delivered++;
		return h->link(h->ctx, nlh->nlmsg_type == RTM_DELLINK, &link);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		err = nl_decode_addr(nlh, nlh->nlmsg_len, &addr);
		if (err || !h->addr)
			return err;
		o->delivered++;
		return h->addr(h->ctx, nlh->nlmsg_type == RTM_DELADDR, &addr);
	default:
		return 0;
	}
}

/* One read's worth of messages. A malformed one is logged and skipped, and
 * so is the rest of a read that is no whole message; a handler's error stops
 * the drain. */
static int events_batch(struct nl_route *nr, size_t len, struct event_out *o)
{
	struct nl_msgs m = {(const uint8_t *)nr->evbuf, len};
	const struct nlmsghdr *nlh;

	while ((nlh = nl_msgs_next(&m))) {
		int err = event_one(nr, nlh, o);

		if (err == BAD)
			log_warn("rtnetlink: skipping a malformed message (type %u)",
				 nlh->nlmsg_type);
		else if (err < 0)
			return err;
	}
	if (m.left)
		log_warn("rtnetlink: skipping %zu bytes that are no whole message",
			 m.left);
	return 0;
}

int nl_route_events_drain(struct nl_route *nr, const struct nl_route_handlers *h)
{
	struct event_out o = {.h = h};
	bool lost = false;

	if (!nr->ev)
		return -ENOTCONN;
	for (;;) {
		ssize_t n = recv_kernel(nr, mnl_socket_get_fd(nr->ev), nr->evbuf,
					RECV_BUF_SIZE, 0);
		int err;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				lost = true;
				continue;
			}
			if (errno == ENOSPC) { /* a message larger than our buffer */
				log_warn("rtnetlink: skipping a truncated message");
				continue;
			}
			return -errno;
		}
		err = events_batch(nr, (size_t)n, &o);
		if (err < 0)
			return err;
	}
	return lost ? -ENOBUFS : o.delivered;
}

/* ---------------------------------------------------------------------- */
/* Life cycle                                                              */

static void nlr_destroy(struct route_backend *b)
{
	struct nl_route *nr = (struct nl_route *)b;

	nhs_clear(nr);
	free(nr->nhs.b);
	free(nr->recs.b);
	if (nr->req)
		mnl_socket_close(nr->req);
	if (nr->ev)
		mnl_socket_close(nr->ev);
	if (nr->watch >= 0)
		close(nr->watch);
	free(nr->reqbuf);
	free(nr->evbuf);
	free(nr->batchbuf);
	free(nr->watchbuf);
	free(nr);
}

struct nl_route *nl_route_new(void)
{
	struct nl_route *nr = calloc(1, sizeof(*nr));

	if (!nr)
		return NULL;
	nr->be.name = "rtnetlink";
	nr->be.dump = nlr_dump;
	nr->be.apply = nlr_apply;
	nr->be.destroy = nlr_destroy;
	nr->watch = -1;
	nr->seq = (uint32_t)time(NULL);
	nr->reqbuf = malloc(RECV_BUF_SIZE);
	nr->evbuf = malloc(RECV_BUF_SIZE);
	nr->batchbuf = malloc(BATCH_LIMIT + NL_ROUTE_MSG_MAX);
	nr->watchbuf = malloc(RECV_BUF_SIZE);
	nr->req = open_socket(REQ_RCVBUF);
	if (!nr->reqbuf || !nr->evbuf || !nr->batchbuf || !nr->watchbuf || !nr->req) {
		int err = errno ? errno : ENOMEM;

		nlr_destroy(&nr->be);
		errno = err;
		return NULL;
	}
	nr->req_portid = mnl_socket_get_portid(nr->req);
	return nr;
}

struct route_backend *nl_route_backend(struct nl_route *nr)
{
	return &nr->be;
}
