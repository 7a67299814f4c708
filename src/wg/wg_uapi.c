/* wg_uapi.c: the WireGuard backend over the UAPI socket (wireguard-go,
 * boringtun); its text is uapi_codec.c's. See wg_uapi.h and
 * docs/backends.md. */
#include <errno.h>
#include <net/if.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "uapi_codec.h"
#include "wg_uapi.h"

#define UAPI_TIMEOUT_SEC 5
#define UAPI_READ_CHUNK	 65536
/* A device's text is about 32 bytes per AllowedIP: buffers grown past this
 * by a large device are given back after each request rather than kept. */
#define UAPI_KEEP_BUFFER (1024 * 1024)

/* What is kept per device. The real transport keeps one connection open:
 * wireguard-go serves any number of requests on one, and a new connection
 * costs it an accept and a goroutine, more than a small request itself. A
 * server that answers one request per connection (boringtun) closes it:
 * then every request gets a fresh one. The idle poll's memo: the hash of
 * the last text read there and what that text parsed to, so that the same
 * text, the usual answer of an idle device, is not parsed again. */
struct uapi_dev {
	char name[IF_NAMESIZE];
	int fd;
	unsigned stale;	  /* kept connections found closed, in a row */
	bool single_shot; /* the server closes after each reply */
	bool memo_valid;
	uint64_t text_hash, fp;
	struct uapi_dev *next;
};

struct uapi {
	struct wg_backend base;
	char *dir;   /* the sockets' (the real transport), or NULL */
	char *chunk; /* UAPI_READ_CHUNK bytes: a reply read as it comes */
	wg_uapi_exchange_fn exchange;
	void *ctx;
	struct buf req, reply;
	struct uapi_dev *devs;
	struct wg_dev_mode *ifaces; /* removal mode per device */
	struct wg_set set;
};

static struct uapi_dev *dev_of(struct uapi *u, const char *ifname)
{
	struct uapi_dev *d;

	for (d = u->devs; d; d = d->next)
		if (!strncmp(d->name, ifname, sizeof(d->name)))
			return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", ifname);
	d->fd = -1;
	d->next = u->devs;
	u->devs = d;
	return d;
}

static void conn_close(struct uapi_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* The device went away: a new server under that name starts afresh. */
static void dev_forget(struct uapi *u, struct uapi_dev *d)
{
	for (struct uapi_dev **pp = &u->devs; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			conn_close(d);
			free(d);
			return;
		}
	}
}

static int conn_open(const struct uapi *u, struct uapi_dev *d)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = UAPI_TIMEOUT_SEC};
	int fd, r;

	if (!d->name[0] || strchr(d->name, '/') ||
	    (size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", u->dir,
			     d->name) >= sizeof(sun.sun_path))
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		r = (errno == ENOENT || errno == ECONNREFUSED) ? -ENODEV : -errno;
		close(fd);
		return r;
	}
	d->fd = fd;
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Where a reply goes: whole into buf, or through a parser as it comes, so
 * that nothing of a large device's text is kept. */
struct reply_dest {
	struct buf *buf;
	struct wg_uapi_get *get;
	char *chunk;
};

/* One request on d's connection. *got tells whether any byte of a reply
 * came back (a request that got none may not have been read at all). */
static int conn_request(struct uapi_dev *d, const char *req, size_t len,
			const struct reply_dest *to, bool *got)
{
	struct buf *reply = to->buf;
	int r = write_all(d->fd, req, len);

	*got = false;
	if (reply)
		reply->len = 0;
	while (!r) {
		char *at = to->chunk;
		size_t room = UAPI_READ_CHUNK;
		ssize_t n;

		if (reply) {
			if (buf_reserve(reply, UAPI_READ_CHUNK)) {
				r = -ENOMEM;
				break;
			}
			at = reply->data + reply->len;
			room = reply->cap - reply->len - 1;
		}
		n = read(d->fd, at, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		if (n == 0) {
			r = -EPIPE; /* closed before the blank line */
			break;
		}
		*got = true;
		if (!reply) {
			r = wg_uapi_get_feed(to->get, at, (size_t)n);
			if (r == 0)
				continue;
			r = r > 0 ? 0 : r;
			break;
		}
		reply->len += (size_t)n;
		reply->data[reply->len] = '\0';
		/* No blank line occurs before the end of a reply. */
		if (wg_uapi_reply_complete(reply->data, reply->len))
			break;
	}
	return r;
}

static int socket_request(struct uapi *u, const char *ifname, const char *req, size_t len,
			  const struct reply_dest *to)
{
	struct uapi_dev *d = dev_of(u, ifname);
	bool reused, got;
	int r;

	if (!d)
		return -ENOMEM;
	reused = d->fd >= 0;
	if (!reused && (r = conn_open(u, d)))
		goto out;
	r = conn_request(d, req, len, to, &got);
	if (r && reused && !got && (r == -EPIPE || r == -ECONNRESET)) {
		/* The server had closed the connection we kept: the request was
		 * never read. Once more, on a fresh one; a server that does this
		 * twice in a row answers one request per connection. */
		conn_close(d);
		if ((r = conn_open(u, d)))
			goto out;
		r = conn_request(d, req, len, to, &got);
		if (!r && ++d->stale >= 2)
			d->single_shot = true;
	} else if (!r && reused) {
		d->stale = 0;
	}
out:
	if (r == -ENODEV)
		dev_forget(u, d);
	else if (r || d->single_shot)
		conn_close(d); /* an error may leave a reply half read */
	return r;
}

static int socket_exchange(void *ctx, const char *ifname, const char *req, size_t len,
			   struct buf *reply)
{
	struct reply_dest to = {.buf = reply};

	return socket_request(ctx, ifname, req, len, &to);
}

static void shrink_buffers(struct uapi *u)
{
	if (u->reply.cap > UAPI_KEEP_BUFFER)
		buf_free(&u->reply);
	if (u->req.cap > UAPI_KEEP_BUFFER)
		buf_free(&u->req);
}

/* One get=1 read through a parser of what: over a socket as it arrives,
 * else through the exchange (or, when !fresh, the reply read last again). */
static int read_as(struct uapi *u, const char *ifname, bool fresh, enum wg_uapi_read what,
		   struct wg_device *dev, struct wg_uapi_get *g)
{
	int r = 0;

	wg_uapi_get_init(g, dev, what);
	if (fresh) {
		u->req.len = 0;
		r = buf_puts(&u->req, "get=1\n\n");
	}
	if (!r && u->dir) {
		struct reply_dest to = {.get = g, .chunk = u->chunk};

		r = socket_request(u, ifname, u->req.data, u->req.len, &to);
		return wg_uapi_get_end(g, r ? r : 1);
	}
	if (!r && fresh)
		r = u->exchange(u->ctx, ifname, u->req.data, u->req.len, &u->reply);
	return wg_uapi_get_end(g,
			       r ? r : wg_uapi_get_feed(g, u->reply.data, u->reply.len));
}

/* The idle poll, cheapest first: the device's text hashed as it is; when
 * that text was not seen last time, parsed into a fingerprint; and only
 * when that differs from the model's (or shows the temporary peer), a
 * snapshot. Every read after the first of a poll goes over the socket again
 * (its text is not kept), else parses the reply already read. */
static int read_changed(struct uapi *u, const char *ifname, uint64_t known,
			struct wg_device *dev, struct wg_uapi_get *g, bool *same)
{
	struct uapi_dev *m = dev_of(u, ifname);
	bool again = u->dir != NULL, fresh = true;
	int r;

	if (m && m->memo_valid) {
		r = read_as(u, ifname, true, WG_UAPI_TEXT_HASH, dev, g);
		if (r)
			return r;
		fresh = again;
		if (g->text_hash == m->text_hash && !g->temp_found) {
			*same = m->fp == known;
			return *same ? 0
				     : read_as(u, ifname, again, WG_UAPI_SNAPSHOT, dev,
					       g);
		}
	}
	r = read_as(u, ifname, fresh, WG_UAPI_FINGERPRINT, dev, g);
	if (r)
		return r;
	if (m) {
		m->memo_valid = true;
		m->text_hash = g->text_hash;
		m->fp = g->fp;
	}
	*same = g->fp == known && !g->temp_found;
	return *same ? 0 : read_as(u, ifname, again, WG_UAPI_SNAPSHOT, dev, g);
}

/* Sends u->set, once built (0); returns a transport error (and sets
 * *replied false) or the reply's errno. */
static int transact(struct uapi *u, const char *ifname, int built, bool *replied)
{
	int r = built;

	*replied = false;
	u->req.len = 0;
	r = r ?: wg_uapi_encode_set(&u->req, u->set.peers, u->set.n_peers);
	r = r ?: u->exchange(u->ctx, ifname, u->req.data, u->req.len, &u->reply);
	if (r) {
		if (r == -ENODEV)
			wg_dev_mode_forget(
				&u->ifaces,
				ifname); /* a new daemon may remove differently */
		return r;
	}
	*replied = true;
	return wg_uapi_parse_errno(u->reply.data, u->reply.len);
}

static int remove_temp_peer(struct uapi *u, const char *ifname, bool *replied)
{
	return transact(u, ifname, wg_plan_remove_temp_peer(&u->set), replied);
}

/* Asks whether the "-" syntax is understood, on the temporary peer made
 * a placeholder by update_only: wireguard-go parses an allowed_ip line (and
 * refuses one it cannot parse) before it looks at the peer, so the probe
 * changes nothing and no peer outlives it, whatever the answer. Then
 * whether the temporary peer can be made and removed at all, again in one
 * transaction, so that no reader ever sees it. */
static int detect_mode(struct uapi *u, const char *ifname, enum wg_remove_mode *mode)
{
	bool replied;
	int r = transact(u, ifname, wg_plan_probe_native(&u->set, false), &replied);

	if (!r) {
		*mode = WG_REMOVE_NATIVE;
		return 0;
	}
	if (!replied)
		return r;
	r = remove_temp_peer(u, ifname, &replied);
	if (r && !replied)
		return r;
	*mode = r ? WG_REMOVE_REPLACE : WG_REMOVE_TEMP_PEER;
	if (r)
		log_warn(
			"%s: the temporary peer cannot be made (%s): removing AllowedIPs "
			"by replacing whole lists",
			ifname, strerror(-r));
	return 0;
}

/* After a read that found the temporary peer. */
static int temp_peer_found(struct wg_backend *b, const char *ifname)
{
	struct uapi *u = (struct uapi *)b;
	bool replied;
	int r;

	if (b->read_only) {
		log_warn("%s: wg-rtsync's temporary peer is left from an earlier run "
			 "(dry run: left in place)",
			 ifname);
		return 0;
	}
	/* Left behind by a crash or a failed request: its prefixes were
	 * being removed anyway. */
	log_warn("%s: removing wg-rtsync's temporary peer left from an earlier run",
		 ifname);
	r = remove_temp_peer(u, ifname, &replied);
	if (r)
		log_warn("%s: cannot remove the temporary peer: %s", ifname,
			 strerror(-r));
	return 0;
}

static int after_read(struct wg_backend *b, const char *ifname, int r, bool temp_found)
{
	struct uapi *u = (struct uapi *)b;

	if (r == -ENODEV)
		wg_dev_mode_forget(&u->ifaces, ifname);
	shrink_buffers(u);
	if (r || !temp_found)
		return r;
	return temp_peer_found(b, ifname);
}

static int uapi_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct wg_uapi_get g;
	int r = read_as((struct uapi *)b, ifname, true, WG_UAPI_SNAPSHOT, dev, &g);

	return after_read(b, ifname, r, !r && g.temp_found);
}

static int uapi_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			    struct wg_device *dev, bool *same)
{
	struct wg_uapi_get g;
	int r;

	*same = false;
	r = read_changed((struct uapi *)b, ifname, known, dev, &g, same);
	return after_read(b, ifname, r, !r && !*same && g.temp_found);
}

static int apply_phase(struct uapi *u, struct wg_dev_mode *ifc, const char *ifname,
		       const struct change *ch, const size_t *idx, size_t n)
{
	struct wg_device cur = {0};
	struct wg_uapi_get g;
	bool has_del = false, replied;
	int r;

	for (size_t i = 0; i < n; i++)
		has_del |= ch[idx[i]].op == CHANGE_ALLOWED_DEL;
	if (has_del && ifc->mode == WG_REMOVE_UNKNOWN) {
		r = detect_mode(u, ifname, &ifc->mode);
		if (r)
			return r;
		log_info("%s: AllowedIP removal: %s", ifname,
			 wg_remove_mode_name(ifc->mode));
	}
	if (has_del && ifc->mode == WG_REMOVE_REPLACE) {
		r = read_as(u, ifname, true, WG_UAPI_SNAPSHOT, &cur, &g);
		if (r)
			return r;
	}
	r = wg_plan_build(&u->set, ch, idx, n, has_del ? ifc->mode : WG_REMOVE_NATIVE,
			  &cur);
	wg_device_free(&cur);
	r = transact(u, ifname, r, &replied);
	if (r && replied && has_del && ifc->mode == WG_REMOVE_TEMP_PEER)
		ifc->mode = WG_REMOVE_UNKNOWN; /* detect again next time */
	return r;
}

static int uapi_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		      size_t n, int *err)
{
	struct uapi *u = (struct uapi *)b;
	struct wg_rounds rounds;
	size_t *members = NULL;
	int first = 0;

	for (size_t i = 0; i < n; i++)
		err[i] = 0;
	first = wg_rounds_plan(&rounds, ch, n);
	if (!first) {
		members = malloc((rounds.n_sel ? rounds.n_sel : 1) * sizeof(*members));
		first = members ? 0 : -ENOMEM;
	}
	if (first) { /* nothing was tried */
		for (size_t i = 0; i < n; i++)
			if (ch[i].op == CHANGE_ALLOWED_ADD ||
			    ch[i].op == CHANGE_ALLOWED_DEL)
				err[i] = first;
		wg_rounds_free(&rounds);
		return first;
	}
	for (unsigned k = 0; k < rounds.n_rounds; k++) {
		size_t m = wg_rounds_members(&rounds, k, members);
		struct wg_dev_mode *ifc = wg_dev_mode_of(&u->ifaces, ifname);
		int r = ifc ? apply_phase(u, ifc, ifname, ch, members, m) : -ENOMEM;

		/* A failed transaction fails each of its changes; later
		 * rounds are still tried. */
		for (size_t i = 0; r && i < m; i++)
			err[members[i]] = r;
		if (r && !first)
			first = r;
	}
	free(members);
	wg_rounds_free(&rounds);
	wg_set_clear(&u->set);
	shrink_buffers(u);
	return first;
}

static void uapi_destroy(struct wg_backend *b)
{
	struct uapi *u = (struct uapi *)b;

	if (!b)
		return;
	wg_dev_mode_free_all(&u->ifaces);
	while (u->devs)
		dev_forget(u, u->devs);
	wg_set_free(&u->set);
	buf_free(&u->req);
	buf_free(&u->reply);
	free(u->chunk);
	free(u->dir);
	free(u);
}

static struct uapi *uapi_new(wg_uapi_exchange_fn fn, void *ctx)
{
	struct uapi *u = calloc(1, sizeof(*u));

	if (!u || sodium_init() < 0) {
		free(u);
		return NULL;
	}
	u->base.name = "uapi";
	u->base.get = uapi_get;
	u->base.get_changed = uapi_get_changed;
	u->base.apply = uapi_apply;
	u->base.destroy = uapi_destroy;
	u->exchange = fn;
	u->ctx = ctx;
	return u;
}

struct wg_backend *wg_uapi_backend_new_exchange(wg_uapi_exchange_fn fn, void *ctx)
{
	struct uapi *u = uapi_new(fn, ctx);

	return u ? &u->base : NULL;
}

struct wg_backend *wg_uapi_backend_new(const char *sockdir)
{
	struct uapi *u = uapi_new(socket_exchange, NULL);

	if (!u)
		return NULL;
	u->ctx = u;
	if (!(u->dir = strdup(sockdir ? sockdir : WG_UAPI_SOCKDIR)) ||
	    !(u->chunk = malloc(UAPI_READ_CHUNK))) {
		uapi_destroy(&u->base);
		return NULL;
	}
	return &u->base;
}

enum wg_remove_mode wg_uapi_remove_mode(struct wg_backend *b, const char *ifname)
{
	struct uapi *u = (struct uapi *)b;

	return wg_dev_mode_get(u->ifaces, ifname);
}
