/* wg_uapi.c: userspace WireGuard over its UAPI socket (wg_uapi.h): the
 * connections and the idle poll's reading; the text is uapi_codec.c's,
 * the logic wg_backend.c's. docs/backends.md. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "fault.h"
#include "uapi_codec.h"
#include "wg_backend.h"
#include "wg_exchange.h"
#include "wg_uapi.h"

#define UAPI_TIMEOUT_SEC 5
#define UAPI_READ_CHUNK	 65536
/* A device's text is about 32 bytes per AllowedIP. The request and reply
 * buffers are mappings of their own (buf_init_mapped): freeing them after
 * each large poll, as malloc'd blocks, raised glibc's mmap threshold and
 * slowed the daemon's other allocations (docs/benchmarks.md). They keep
 * their high-water mark; past this size, their pages are offered back to
 * the kernel after each request (buf_release: MADV_FREE). */
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

/* The idle poll's read in pieces (read_start), over d's connection made
 * non-blocking while it runs. */
struct uapi_read {
	struct uapi_dev *d; /* NULL: none in progress */
	uint64_t known;
	bool memo;   /* d's memo was valid when it began: the text is hashed */
	bool reused; /* on a kept connection: a close before any byte is a
		      * connection the server had closed, asked again once */
	bool got;    /* a byte of the reply came */
	struct wg_uapi_get g;
	struct wg_device dev;
};

struct uapi {
	char *dir;   /* the sockets' (the real transport), or NULL */
	char *chunk; /* UAPI_READ_CHUNK bytes: a reply read as it comes */
	wg_uapi_exchange_fn exchange;
	void *ctx;
	struct buf req, reply;
	struct buf text; /* the idle poll's get=1 text, kept while it runs */
	struct uapi_read rd;
	struct uapi_dev *devs;
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

/* Where a reply goes: into buf (kept whole), through a parser as it comes
 * (get), or both: the idle poll hashes the text as it arrives and keeps it,
 * to parse it again when it is new. */
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

		if (reply) { /* read straight into it: no copy */
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
		if (reply) {
			reply->len += (size_t)n;
			reply->data[reply->len] = '\0';
		}
		if (to->get) {
			r = wg_uapi_get_feed(to->get, at, (size_t)n);
			if (r == 0)
				continue;
			r = r > 0 ? 0 : r;
			break;
		}
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
		buf_release(&u->reply);
	if (u->req.cap > UAPI_KEEP_BUFFER)
		buf_release(&u->req);
	if (u->text.cap > UAPI_KEEP_BUFFER && !u->rd.d) /* not while it fills */
		buf_release(&u->text);
}

/* Where a whole idle poll (read_changed) keeps its text: the poll's
 * buffer over a socket, unless a read in pieces holds it (then the reply
 * buffer); the reply the exchange filled otherwise. */
static struct buf *kept_text(struct uapi *u)
{
	return u->dir && !u->rd.d ? &u->text : &u->reply;
}

/* One get=1 request, its reply parsed as what into g as it arrives (over a
 * socket) or once read (the exchange). With keep, its text stays in
 * kept_text(u) for read_kept(): the exchange keeps it anyway. */
static int read_fresh(struct uapi *u, const char *ifname, enum wg_uapi_read what,
		      bool keep, struct wg_device *dev, struct wg_uapi_get *g)
{
	int r;

	wg_uapi_get_init(g, dev, what);
	u->req.len = 0;
	r = buf_puts(&u->req, "get=1\n\n");
	if (!r && u->dir) {
		struct reply_dest to = {
			.buf = keep ? kept_text(u) : NULL, .get = g, .chunk = u->chunk};

		r = socket_request(u, ifname, u->req.data, u->req.len, &to);
		return wg_uapi_get_end(g, r ? r : 1);
	}
	r = r ?: u->exchange(u->ctx, ifname, u->req.data, u->req.len, &u->reply);
	return wg_uapi_get_end(g,
			       r ? r : wg_uapi_get_feed(g, u->reply.data, u->reply.len));
}

/* The text t kept, parsed again as what. */
static int read_kept(const struct buf *t, enum wg_uapi_read what, struct wg_device *dev,
		     struct wg_uapi_get *g)
{
	wg_uapi_get_init(g, dev, what);
	return wg_uapi_get_end(g, wg_uapi_get_feed(g, t->data, t->len));
}

/* The idle poll once its text is read (hashed with memo, else
 * fingerprinted, into g): the fingerprint from m's memo when the text is
 * the one seen last, else from the kept text; the snapshot when it
 * differs from known. */
static int after_text(const struct buf *t, struct uapi_dev *m, bool memo, uint64_t known,
		      struct wg_device *dev, struct wg_uapi_get *g, bool *same)
{
	uint64_t fp;
	int r;

	if (memo && g->text_hash == m->text_hash && !g->temp_found) {
		fp = m->fp;
	} else {
		if (memo && (r = read_kept(t, WG_UAPI_FINGERPRINT, dev, g)))
			return r;
		fp = g->fp;
		if (m) {
			m->memo_valid = true;
			m->text_hash = g->text_hash;
			m->fp = g->fp;
		}
	}
	*same = fp == known && !g->temp_found;
	return *same ? 0 : read_kept(t, WG_UAPI_SNAPSHOT, dev, g);
}

/* The idle poll, cheapest first, all from one get=1: the device's text
 * hashed as it arrives; when that text was not seen last time, the kept
 * text parsed into a fingerprint; and only when that differs from the
 * model's (or shows the temporary peer), into a snapshot. The text is kept
 * while the poll runs (25 to 55 bytes per AllowedIP), in a mapping kept
 * for the next poll whose pages the kernel may take back (shrink_buffers). */
static int read_changed(struct uapi *u, const char *ifname, uint64_t known,
			struct wg_device *dev, struct wg_uapi_get *g, bool *same)
{
	struct uapi_dev *m = dev_of(u, ifname);
	bool memo = m && m->memo_valid;
	int r = read_fresh(u, ifname, memo ? WG_UAPI_TEXT_HASH : WG_UAPI_FINGERPRINT,
			   true, dev, g);

	return r ? r : after_text(kept_text(u), m, memo, known, dev, g, same);
}

static int uapi_read(void *ctx, const char *ifname, const uint64_t *known,
		     struct wg_device *dev, bool *temp_found, bool *same)
{
	struct uapi *u = ctx;
	struct wg_uapi_get g;
	int r;

	*same = false;
	r = known ? read_changed(u, ifname, *known, dev, &g, same)
		  : read_fresh(u, ifname, WG_UAPI_SNAPSHOT, false, dev, &g);
	*temp_found = !r && !*same && g.temp_found;
	shrink_buffers(u);
	return r;
}

/* ---- the idle poll in pieces ---- */

/* Reads of UAPI_READ_CHUNK at most per step: the event loop's turn comes
 * at least every 1 MiB of text. */
#define UAPI_STEP_READS 16

static int set_nonblocking(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		return -errno;
	return 0;
}

/* get=1 on rd->d's connection (a fresh one when it has none), which is
 * then non-blocking. */
static int read_request(struct uapi *u, struct uapi_read *rd)
{
	static const char get[] = "get=1\n\n";
	struct uapi_dev *d = rd->d;
	int r;

	rd->reused = d->fd >= 0;
	rd->got = false;
	if (!rd->reused && (r = conn_open(u, d)))
		return r;
	r = write_all(d->fd, get, sizeof(get) - 1);
	if (r && rd->reused && (r == -EPIPE || r == -ECONNRESET)) {
		conn_close(d); /* the server had closed it: a fresh one */
		rd->reused = false;
		r = conn_open(u, d) ?: write_all(d->fd, get, sizeof(get) - 1);
	}
	return r ?: set_nonblocking(d->fd, true);
}

/* The read over: what it used given back (the connection closed when
 * fail, an error, is not 0: a reply may be left half read). */
static void read_end(struct uapi *u, int fail)
{
	struct uapi_read *rd = &u->rd;

	if (rd->d && fail == -ENODEV)
		dev_forget(u, rd->d);
	else if (rd->d && (fail || rd->d->single_shot))
		conn_close(rd->d);
	else if (rd->d)
		set_nonblocking(rd->d->fd, false);
	rd->d = NULL;
	shrink_buffers(u);
}

static int uapi_read_start(void *ctx, const char *ifname, uint64_t known, int *fd)
{
	struct uapi *u = ctx;
	struct uapi_read *rd = &u->rd;
	int r;

	if (!u->dir)
		return -EOPNOTSUPP; /* the exchange reads whole replies */
	if (rd->d)
		return -EBUSY;
	rd->d = dev_of(u, ifname);
	if (!rd->d)
		return -ENOMEM;
	rd->known = known;
	rd->memo = rd->d->memo_valid;
	memset(&rd->dev, 0, sizeof(rd->dev));
	wg_uapi_get_init(&rd->g, &rd->dev,
			 rd->memo ? WG_UAPI_TEXT_HASH : WG_UAPI_FINGERPRINT);
	u->text.len = 0;
	r = read_request(u, rd);
	if (r) {
		read_end(u, r);
		return r;
	}
	*fd = rd->d->fd;
	return 0;
}

/* The next bytes of the reply: 1 when it is complete, 0 for more, or a
 * negative errno. A kept connection the server had closed is replaced
 * once, the request sent again (*fd changes). */
static int read_more(struct uapi *u, int *fd)
{
	struct uapi_read *rd = &u->rd;

	for (int i = 0; i < UAPI_STEP_READS; i++) {
		ssize_t n;
		int r;

		if (buf_reserve(&u->text, UAPI_READ_CHUNK))
			return -ENOMEM;
		n = read(rd->d->fd, u->text.data + u->text.len, UAPI_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0 && !rd->got && rd->reused) {
			conn_close(rd->d);
			if ((r = read_request(u, rd)))
				return r;
			if (++rd->d->stale >= 2)
				rd->d->single_shot = true;
			*fd = rd->d->fd;
			return 0;
		}
		if (n == 0)
			return -EPIPE; /* closed before the blank line */
		rd->got = true;
		r = wg_uapi_get_feed(&rd->g, u->text.data + u->text.len, (size_t)n);
		u->text.len += (size_t)n;
		u->text.data[u->text.len] = '\0';
		if (r)
			return r;
	}
	return 0;
}

static int uapi_read_step(void *ctx, int *fd, struct wg_device *dev, bool *temp_found,
			  bool *same)
{
	struct uapi *u = ctx;
	struct uapi_read *rd = &u->rd;
	int r;

	*same = *temp_found = false;
	if (!rd->d)
		return -EINVAL;
	r = read_more(u, fd);
	if (r == 0)
		return 0;
	if (r > 0 && rd->reused)
		rd->d->stale = 0;
	r = wg_uapi_get_end(&rd->g, r > 0 ? 1 : r);
	r = r ?: after_text(&u->text, rd->d, rd->memo, rd->known, &rd->dev, &rd->g, same);
	*temp_found = !r && !*same && rd->g.temp_found;
	*dev = rd->dev;
	memset(&rd->dev, 0, sizeof(rd->dev));
	read_end(u, r);
	return r < 0 ? r : (r > 0 ? -r : 1);
}

static void uapi_read_abort(void *ctx)
{
	struct uapi *u = ctx;
	struct uapi_read *rd = &u->rd;

	if (!rd->d)
		return;
	/* Closing is what frees wireguard-go, blocked writing the reply. */
	wg_uapi_get_end(&rd->g, -ECANCELED);
	wg_device_free(&rd->dev);
	read_end(u, -ECANCELED);
}

/* One transaction: a single error for all of it. The device's next text
 * is new then, so its memo would only cost a hash and leave the whole text
 * to be parsed after its last byte, at once, in the event loop's time:
 * without it the next poll parses as the text arrives. */
static int uapi_send(void *ctx, const char *ifname, struct wg_set *s)
{
	struct uapi *u = ctx;
	struct uapi_dev *d = dev_of(u, ifname);
	int r;

	if (d)
		d->memo_valid = false;

	u->req.len = 0;
	r = wg_uapi_encode_set(&u->req, s->peers, s->n_peers)
		    ?: u->exchange(u->ctx, ifname, u->req.data, u->req.len, &u->reply);
	r = r ?: wg_set_one_message(s, wg_uapi_parse_errno(u->reply.data, u->reply.len));
	FAULT_POINT("wg-message");
	shrink_buffers(u);
	return r;
}

static void uapi_destroy(void *ctx)
{
	struct uapi *u = ctx;

	uapi_read_abort(u);
	while (u->devs)
		dev_forget(u, u->devs);
	buf_free(&u->req);
	buf_free(&u->reply);
	buf_free(&u->text);
	free(u->chunk);
	free(u->dir);
	free(u);
}

static const struct wg_transport uapi_transport = {
	.name = "uapi",
	.read = uapi_read,
	.read_start = uapi_read_start,
	.read_step = uapi_read_step,
	.read_abort = uapi_read_abort,
	.send = uapi_send,
	.destroy = uapi_destroy,
};

struct wg_backend *wg_uapi_backend_new_exchange(wg_uapi_exchange_fn fn, void *ctx)
{
	struct uapi *u = calloc(1, sizeof(*u));

	if (!u || sodium_init() < 0) {
		free(u);
		return NULL;
	}
	buf_init_mapped(&u->req);
	buf_init_mapped(&u->reply);
	buf_init_mapped(&u->text);
	u->exchange = fn;
	u->ctx = ctx;
	return wg_transport_backend_new(&uapi_transport, u);
}

struct wg_backend *wg_uapi_backend_new(const char *sockdir)
{
	struct uapi *u = calloc(1, sizeof(*u));

	if (u) {
		buf_init_mapped(&u->req);
		buf_init_mapped(&u->reply);
		buf_init_mapped(&u->text);
	}
	if (!u || sodium_init() < 0 ||
	    !(u->dir = strdup(sockdir ? sockdir : WG_UAPI_SOCKDIR)) ||
	    !(u->chunk = malloc(UAPI_READ_CHUNK))) {
		if (u)
			uapi_destroy(u);
		return NULL;
	}
	u->exchange = socket_exchange;
	u->ctx = u;
	return wg_transport_backend_new(&uapi_transport, u);
}
