/* wg_uapi.c: the WireGuard backend over the UAPI socket (wireguard-go,
 * boringtun). See wg_uapi.h and docs/backends.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
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
#include "wg_uapi.h"

#define UAPI_TIMEOUT_SEC 5
#define UAPI_READ_CHUNK	 65536
/* A device's text is about 32 bytes per AllowedIP: buffers grown past this
 * by a large device are given back after each request rather than kept. */
#define UAPI_KEEP_BUFFER (1024 * 1024)

/* ---- parsing ---- */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex_key(const char *s, size_t len, struct wg_key *k)
{
	if (len != 2 * WG_KEY_LEN)
		return -EINVAL;
	for (size_t i = 0; i < WG_KEY_LEN; i++) {
		int hi = hexval((unsigned char)s[2 * i]);
		int lo = hexval((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		k->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_ipv4(const char *s, size_t len, uint8_t *out)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		if (part > 0) {
			if (i >= len || s[i] != '.')
				return -EINVAL;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return -EINVAL;
		out[part] = (uint8_t)v;
	}
	return i == len ? 0 : -EINVAL;
}

/* RFC 4291 text, with "::" and a trailing dotted IPv4 part. */
static int parse_ipv6(const char *s, size_t len, uint8_t *out)
{
	uint16_t words[8];
	int n = 0, gap = -1;
	size_t i = 0;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (len >= 1 && s[0] == ':') {
		return -EINVAL;
	}
	while (i < len) {
		size_t start = i;
		unsigned v = 0;
		int h;

		while (i < len && i - start < 5 &&
		       (h = hexval((unsigned char)s[i])) >= 0) {
			v = v << 4 | (unsigned)h;
			i++;
		}
		if (i < len && s[i] == '.') { /* embedded IPv4: the last 32 bits */
			uint8_t v4[4];
			if (n > 6 || parse_ipv4(s + start, len - start, v4))
				return -EINVAL;
			words[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
			words[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
			break;
		}
		if (i == start || i - start > 4 || n >= 8)
			return -EINVAL;
		words[n++] = (uint16_t)v;
		if (i == len)
			break;
		if (s[i] != ':')
			return -EINVAL;
		i++;
		if (i < len && s[i] == ':') {
			if (gap >= 0)
				return -EINVAL;
			gap = n;
			i++;
		} else if (i == len) {
			return -EINVAL; /* a trailing single ':' */
		}
	}
	if (gap < 0 && n != 8)
		return -EINVAL;
	if (gap >= 0 && n > 7)
		return -EINVAL;
	memset(out, 0, 16);
	for (int k = 0; k < n; k++) {
		int pos = (gap >= 0 && k >= gap) ? k + (8 - n) : k;
		out[2 * pos] = (uint8_t)(words[k] >> 8);
		out[2 * pos + 1] = (uint8_t)words[k];
	}
	return 0;
}

int wg_uapi_parse_prefix(const char *s, size_t len, struct prefix *out)
{
	const char *slash = memchr(s, '/', len);
	size_t alen, llen;
	unsigned plen = 0, bits;
	bool v6;

	if (!slash)
		return -EINVAL;
	alen = (size_t)(slash - s);
	llen = len - alen - 1;
	if (llen == 0 || llen > 3)
		return -EINVAL;
	for (size_t i = 0; i < llen; i++) {
		if (slash[1 + i] < '0' || slash[1 + i] > '9')
			return -EINVAL;
		plen = plen * 10 + (unsigned)(slash[1 + i] - '0');
	}
	memset(out, 0, sizeof(*out));
	v6 = memchr(s, ':', alen) != NULL;
	if (v6 ? parse_ipv6(s, alen, out->addr) : parse_ipv4(s, alen, out->addr))
		return -EINVAL;
	bits = v6 ? 128 : 32;
	if (plen > bits)
		return -EINVAL;
	out->family = v6 ? AF_INET6 : AF_INET;
	out->len = (uint8_t)plen;
	if (plen < bits) { /* clear the host bits */
		out->addr[plen >> 3] &= (uint8_t)(0xff00u >> (plen & 7));
		memset(out->addr + (plen >> 3) + 1, 0, 15 - (plen >> 3));
	}
	return 0;
}

static int parse_errno_value(const char *s, size_t len)
{
	long v = 0;
	size_t i = len > 0 && s[0] == '-';

	if (i == len || len - i > 5)
		return -EBADMSG;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 4095)
		return -EPROTO;
	/* wireguard-go writes -22, boringtun and the protocol text 22. */
	return (int)-v;
}

bool wg_uapi_reply_complete(const char *text, size_t len)
{
	return len >= 2 && text[len - 1] == '\n' && text[len - 2] == '\n';
}

static int peer_push_allowed(struct wg_peer *p, size_t *cap, const struct prefix *a)
{
	if (p->n_allowed == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct prefix *v = realloc(p->allowed, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->allowed = v;
		*cap = ncap;
	}
	p->allowed[p->n_allowed++] = *a;
	return 0;
}

struct get_parser {
	struct wg_device *dev;
	size_t peers_cap, allowed_cap;
	struct wg_peer *cur; /* NULL before the first peer, or in the temp peer */
	bool in_peer, temp_found, have_errno;
	int err;
	/* Fingerprint only: no peers are stored, fp sums what they hold, and
	 * text_hash hashes the public_key and allowed_ip values as written;
	 * text_only: that hash alone, the AllowedIPs not even parsed. */
	bool fp_only, text_only;
	uint64_t fp, peer_fp, text_hash, peer_text;
};

/* A hash of text as written, not of what it means: the idle poll's memo
 * (uapi_get_changed) keys on it. A device's text hash is a sum over its
 * lines, each hashed with its peer's key, because wireguard-go lists the
 * peers in no fixed order. */
static uint64_t text_mix(uint64_t h, const char *s, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	w = (uint64_t)n << 56;
	memcpy(&w, s, n); /* n < 8: the length byte stays */
	h = (h ^ w) * k;
	return h ^ (h >> 29);
}

static int start_peer(struct get_parser *ps, const char *v, size_t vlen)
{
	struct wg_device *dev = ps->dev;
	struct wg_key k;

	if (parse_hex_key(v, vlen, &k))
		return -EBADMSG;
	if (ps->fp_only) {
		ps->peer_text = text_mix(0, v, vlen);
		ps->text_hash += ps->peer_text;
	}
	ps->in_peer = true;
	ps->allowed_cap = 0;
	if (wg_is_temp_peer(&k)) {
		ps->temp_found = true;
		ps->cur = NULL;
		ps->peer_fp = 0;
		return 0;
	}
	if (ps->fp_only) {
		ps->peer_fp = wg_fp_peer(&k);
		ps->fp += ps->peer_fp;
		return 0;
	}
	if (dev->n_peers == ps->peers_cap) {
		size_t ncap = ps->peers_cap ? ps->peers_cap * 2 : 8;
		struct wg_peer *np = realloc(dev->peers, ncap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		dev->peers = np;
		ps->peers_cap = ncap;
	}
	ps->cur = &dev->peers[dev->n_peers++];
	memset(ps->cur, 0, sizeof(*ps->cur));
	ps->cur->key = k;
	return 0;
}

static int parse_line(struct get_parser *ps, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	const char *v;
	size_t klen, vlen;

	if (!eq || eq == line || ps->have_errno)
		return -EBADMSG; /* errno must be the last line */
	klen = (size_t)(eq - line);
	v = eq + 1;
	vlen = len - klen - 1;
	/* The hot line first: a large device is almost all allowed_ip. */
	if (klen == 10 && !memcmp(line, "allowed_ip", 10)) {
		struct prefix a;
		if (!ps->in_peer)
			return -EBADMSG;
		if (ps->fp_only) {
			ps->text_hash += text_mix(ps->peer_text, v, vlen);
			if (ps->text_only)
				return 0;
		}
		if (wg_uapi_parse_prefix(v, vlen, &a))
			return -EBADMSG;
		if (ps->fp_only) {
			ps->fp += ps->peer_fp ? wg_fp_entry(ps->peer_fp, &a) : 0;
			return 0;
		}
		return ps->cur ? peer_push_allowed(ps->cur, &ps->allowed_cap, &a) : 0;
	}
	if (klen == 10 && !memcmp(line, "public_key", 10))
		return start_peer(ps, v, vlen);
	if (klen == 11 && !memcmp(line, "private_key", 11)) {
		struct wg_key priv;
		if (ps->in_peer || parse_hex_key(v, vlen, &priv))
			return -EBADMSG;
		if (crypto_scalarmult_base(ps->dev->pubkey.b, priv.b))
			memset(&ps->dev->pubkey, 0, sizeof(ps->dev->pubkey));
		sodium_memzero(&priv, sizeof(priv));
		return 0;
	}
	if (klen == 5 && !memcmp(line, "errno", 5)) {
		ps->err = parse_errno_value(v, vlen);
		if (ps->err == -EBADMSG)
			return -EBADMSG;
		ps->have_errno = true;
		return 0;
	}
	return 0; /* other keys (endpoint, counters, ...) are not needed */
}

/* A whole reply through ps: 0, the reply's errno, or -EBADMSG. */
static int parse_text(const char *text, size_t len, struct get_parser *ps)
{
	const char *p = text, *end = text + len;
	int r = 0;

	if (!wg_uapi_reply_complete(text, len))
		return -EBADMSG;
	end--; /* the final blank line */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || nl == p)
			return -EBADMSG; /* an empty line before the end */
		r = parse_line(ps, p, (size_t)(nl - p));
		if (r)
			return r;
		p = nl + 1;
	}
	return ps->have_errno ? ps->err : -EBADMSG;
}

static int parse_get(const char *text, size_t len, struct wg_device *dev,
		     bool *temp_found, uint64_t *fp)
{
	struct get_parser ps = {.dev = dev, .fp_only = fp != NULL};
	int r;

	memset(dev, 0, sizeof(*dev));
	if (temp_found)
		*temp_found = false;
	r = parse_text(text, len, &ps);
	if (r) {
		wg_device_free(dev);
		memset(dev, 0, sizeof(*dev));
		return r;
	}
	if (temp_found)
		*temp_found = ps.temp_found;
	if (fp)
		*fp = ps.fp;
	return 0;
}

/* The same parser, fed a reply as it arrives (the idle poll's fingerprint,
 * without keeping a large device's text). No line of a reply is longer. */
#define STREAM_LINE_MAX 256

struct get_stream {
	struct get_parser ps;
	char line[STREAM_LINE_MAX];
	size_t len; /* of a line begun in an earlier chunk */
};

static int get_stream_feed(void *ctx, const char *data, size_t n)
{
	struct get_stream *s = ctx;
	const char *p = data, *end = data + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t seg = (size_t)((nl ? nl : end) - p);
		const char *line = p;
		int r;

		if (s->len || !nl) { /* a line split over reads */
			if (s->len + seg > sizeof(s->line))
				return -EBADMSG;
			memcpy(s->line + s->len, p, seg);
			s->len += seg;
			if (!nl)
				return 0;
			line = s->line;
			seg = s->len;
			s->len = 0;
		}
		p = nl + 1;
		if (seg == 0) /* the blank line: the end, and nothing after it */
			return p == end ? 1 : -EBADMSG;
		r = parse_line(&s->ps, line, seg);
		if (r)
			return r;
	}
	return 0;
}

int wg_uapi_parse_get(const char *text, size_t len, struct wg_device *dev,
		      bool *temp_found)
{
	return parse_get(text, len, dev, temp_found, NULL);
}

int wg_uapi_parse_fingerprint(const char *text, size_t len, struct wg_key *pubkey,
			      uint64_t *fp, bool *temp_found)
{
	struct wg_device dev;
	int r = parse_get(text, len, &dev, temp_found, fp);

	*pubkey = dev.pubkey;
	wg_device_free(&dev);
	return r;
}

int wg_uapi_parse_errno(const char *text, size_t len)
{
	struct wg_device dev;
	int r = wg_uapi_parse_get(text, len, &dev, NULL);

	if (!r)
		wg_device_free(&dev); /* a set reply has no peers: nothing */
	return r;
}

/* ---- encoding ---- */

static int put_key_line(struct buf *out, const char *name, const struct wg_key *k)
{
	static const char hex[] = "0123456789abcdef";
	char line[16 + 2 * WG_KEY_LEN + 2];
	size_t n = strlen(name);

	memcpy(line, name, n);
	line[n++] = '=';
	for (size_t i = 0; i < WG_KEY_LEN; i++) {
		line[n++] = hex[k->b[i] >> 4];
		line[n++] = hex[k->b[i] & 15];
	}
	line[n++] = '\n';
	return buf_append(out, line, n);
}

static int put_prefix_line(struct buf *out, const struct prefix *a, bool minus)
{
	char addr[INET6_ADDRSTRLEN], line[80];
	int n;

	if (!inet_ntop(a->family, a->addr, addr, sizeof(addr)))
		return -EINVAL;
	n = snprintf(line, sizeof(line), "allowed_ip=%s%s/%u\n", minus ? "-" : "", addr,
		     a->len);
	return buf_append(out, line, (size_t)n);
}

static int cmp_prefix_qsort(const void *a, const void *b)
{
	return wg_prefix_cmp(a, b);
}

static const struct wg_peer *find_peer(const struct wg_device *d, const struct wg_key *k)
{
	for (size_t i = 0; d && i < d->n_peers; i++)
		if (!memcmp(d->peers[i].key.b, k->b, WG_KEY_LEN))
			return &d->peers[i];
	return NULL;
}

/* One peer's section: its adds, and its removals in NATIVE or REPLACE mode. */
static int encode_peer(struct buf *out, const struct change *ch, const size_t *idx,
		       size_t n, enum wg_remove_mode mode, const struct wg_device *cur)
{
	bool has_del = false;
	int r;

	for (size_t i = 0; i < n; i++)
		has_del |= ch[idx[i]].op == CHANGE_ALLOWED_DEL;
	if (mode == WG_REMOVE_TEMP_PEER) {
		bool has_add = false;
		for (size_t i = 0; i < n; i++)
			has_add |= ch[idx[i]].op == CHANGE_ALLOWED_ADD;
		if (!has_add)
			return 0;
	}
	r = put_key_line(out, "public_key", &ch[idx[0]].peer);
	r = r ?: buf_puts(out, "update_only=true\n");
	/* A peer the device did not have when read has nothing to remove;
	 * replacing its list would wipe one it got since. */
	if (!r && has_del && mode == WG_REMOVE_REPLACE &&
	    find_peer(cur, &ch[idx[0]].peer)) {
		const struct wg_peer *p = find_peer(cur, &ch[idx[0]].peer);
		struct prefix *dels = calloc(n, sizeof(*dels));
		size_t nd = 0;

		if (!dels)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (ch[idx[i]].op == CHANGE_ALLOWED_DEL)
				dels[nd++] = ch[idx[i]].dst;
		qsort(dels, nd, sizeof(*dels), cmp_prefix_qsort);
		r = buf_puts(out, "replace_allowed_ips=true\n");
		for (size_t i = 0; !r && i < p->n_allowed; i++)
			if (!bsearch(&p->allowed[i], dels, nd, sizeof(*dels),
				     cmp_prefix_qsort))
				r = put_prefix_line(out, &p->allowed[i], false);
		free(dels);
	}
	for (size_t i = 0; !r && i < n; i++) {
		const struct change *c = &ch[idx[i]];
		if (c->op == CHANGE_ALLOWED_ADD)
			r = put_prefix_line(out, &c->dst, false);
		else if (mode == WG_REMOVE_NATIVE)
			r = put_prefix_line(out, &c->dst, true);
	}
	return r;
}

int wg_uapi_encode_set(struct buf *out, const struct change *ch, const size_t *idx,
		       size_t n, enum wg_remove_mode mode, const struct wg_device *cur)
{
	size_t *sorted;
	bool any_del = false;
	int r;

	if (mode == WG_REMOVE_UNKNOWN)
		return -EINVAL;
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, idx, n * sizeof(*sorted));
	wg_sort_by_peer(sorted, n, ch);
	r = buf_puts(out, "set=1\n");
	for (size_t i = 0; !r && i < n;) {
		size_t j = i + 1;
		while (j < n &&
		       !memcmp(ch[sorted[j]].peer.b, ch[sorted[i]].peer.b, WG_KEY_LEN))
			j++;
		r = encode_peer(out, ch, sorted + i, j - i, mode, cur);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		any_del |= ch[idx[i]].op == CHANGE_ALLOWED_DEL;
	if (!r && any_del && mode == WG_REMOVE_TEMP_PEER) {
		/* In list order: the temporary peer takes them, then goes. */
		r = put_key_line(out, "public_key", &wg_temp_peer_key);
		for (size_t i = 0; !r && i < n; i++)
			if (ch[idx[i]].op == CHANGE_ALLOWED_DEL)
				r = put_prefix_line(out, &ch[idx[i]].dst, false);
		r = r ?: buf_puts(out, "remove=true\n");
	}
	r = r ?: buf_puts(out, "\n");
	free(sorted);
	return r;
}

/* ---- transport over the unix socket ---- */

struct uapi_backend {
	struct wg_backend base;
	struct socket_transport *sockets; /* the real transport, or NULL */
	wg_uapi_exchange_fn exchange;
	void *ctx;
	struct buf req, reply;
	struct wg_dev_mode *ifaces; /* removal mode per device */
	struct poll_memo *memos;
};

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

/* The real transport keeps one connection per interface open: wireguard-go
 * serves any number of requests on one connection, and a new connection
 * costs it an accept and a goroutine, more than a small request itself.
 * A server that answers one request per connection (boringtun) closes it:
 * then every request gets a fresh one. */
struct uapi_conn {
	char name[IFNAMSIZ];
	int fd;
	unsigned stale;	  /* kept connections found closed, in a row */
	bool single_shot; /* the server closes after each reply */
	struct uapi_conn *next;
};

struct socket_transport {
	char *dir;
	struct uapi_conn *conns;
	char *chunk; /* UAPI_READ_CHUNK bytes: a reply read as it comes */
};

/* Where a reply goes: whole into buf, or through feed as it comes (feed
 * returns 1 once the reply is complete, 0 for more, or a negative errno),
 * so that nothing of a large device's text is kept. */
struct reply_dest {
	struct buf *buf;
	int (*feed)(void *ctx, const char *data, size_t len);
	void *ctx;
	char *chunk;
};

static struct uapi_conn *conn_of(struct socket_transport *t, const char *ifname)
{
	struct uapi_conn *c;

	for (c = t->conns; c; c = c->next)
		if (!strncmp(c->name, ifname, sizeof(c->name)))
			return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", ifname);
	c->fd = -1;
	c->next = t->conns;
	t->conns = c;
	return c;
}

static void conn_close(struct uapi_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* The device went away: a new server under that name starts afresh. */
static void conn_forget(struct socket_transport *t, struct uapi_conn *c)
{
	for (struct uapi_conn **pp = &t->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			conn_close(c);
			free(c);
			return;
		}
	}
}

static int conn_open(const struct socket_transport *t, struct uapi_conn *c)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = UAPI_TIMEOUT_SEC};
	int fd, r;

	if (!c->name[0] || strchr(c->name, '/') ||
	    (size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", t->dir,
			     c->name) >= sizeof(sun.sun_path))
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
	c->fd = fd;
	return 0;
}

/* One request on c's connection. *got tells whether any byte of a reply
 * came back (a request that got none may not have been read at all). */
static int conn_request(struct uapi_conn *c, const char *req, size_t len,
			const struct reply_dest *to, bool *got)
{
	struct buf *reply = to->buf;
	int r = write_all(c->fd, req, len);

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
		n = read(c->fd, at, room);
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
			r = to->feed(to->ctx, at, (size_t)n);
			if (r > 0)
				r = 0;
			else if (r == 0)
				continue;
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

static int socket_request(struct socket_transport *t, const char *ifname, const char *req,
			  size_t len, const struct reply_dest *to)
{
	struct uapi_conn *c = conn_of(t, ifname);
	bool reused, got;
	int r;

	if (!c)
		return -ENOMEM;
	reused = c->fd >= 0;
	if (!reused && (r = conn_open(t, c)))
		goto out;
	r = conn_request(c, req, len, to, &got);
	if (r && reused && !got && (r == -EPIPE || r == -ECONNRESET)) {
		/* The server had closed the connection we kept: the request was
		 * never read. Once more, on a fresh one; a server that does this
		 * twice in a row answers one request per connection. */
		conn_close(c);
		if ((r = conn_open(t, c)))
			goto out;
		r = conn_request(c, req, len, to, &got);
		if (!r && ++c->stale >= 2)
			c->single_shot = true;
	} else if (!r && reused) {
		c->stale = 0;
	}
out:
	if (r == -ENODEV)
		conn_forget(t, c);
	else if (r || c->single_shot)
		conn_close(c); /* an error may leave a reply half read */
	return r;
}

static int socket_exchange(void *ctx, const char *ifname, const char *req, size_t len,
			   struct buf *reply)
{
	struct reply_dest to = {.buf = reply};

	return socket_request(ctx, ifname, req, len, &to);
}

static void socket_transport_free(struct socket_transport *t)
{
	if (!t)
		return;
	while (t->conns) {
		struct uapi_conn *next = t->conns->next;
		conn_close(t->conns);
		free(t->conns);
		t->conns = next;
	}
	free(t->chunk);
	free(t->dir);
	free(t);
}

static void shrink_buffers(struct uapi_backend *u)
{
	if (u->reply.cap > UAPI_KEEP_BUFFER)
		buf_free(&u->reply);
	if (u->req.cap > UAPI_KEEP_BUFFER)
		buf_free(&u->req);
}

/* Sends u->req; returns a transport error (and sets *replied false) or the
 * reply's errno. */
static int transact(struct uapi_backend *u, const char *ifname, bool *replied)
{
	int r = u->exchange(u->ctx, ifname, u->req.data, u->req.len, &u->reply);

	*replied = false;
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

static int set_text(struct uapi_backend *u, const char *text)
{
	u->req.len = 0;
	return buf_puts(&u->req, text);
}

static int remove_temp_peer(struct uapi_backend *u, const char *ifname, bool *replied)
{
	int r = set_text(u, "set=1\n");

	*replied = false;
	r = r ?: put_key_line(&u->req, "public_key", &wg_temp_peer_key);
	r = r ?: buf_puts(&u->req, "remove=true\n\n");
	return r ?: transact(u, ifname, replied);
}

/* Asks whether the "-" syntax is understood, on the temporary peer made
 * a placeholder by update_only: wireguard-go parses an allowed_ip line (and
 * refuses one it cannot parse) before it looks at the peer, so the probe
 * changes nothing and no peer outlives it, whatever the answer. Then
 * whether the temporary peer can be made and removed at all, again in one
 * transaction, so that no reader ever sees it. */
static int detect_mode(struct uapi_backend *u, const char *ifname,
		       enum wg_remove_mode *mode)
{
	bool replied;
	int r = set_text(u, "set=1\n");

	r = r ?: put_key_line(&u->req, "public_key", &wg_temp_peer_key);
	r = r ?: buf_puts(&u->req, "update_only=true\nallowed_ip=-192.0.2.255/32\n\n");
	if (r)
		return r;
	r = transact(u, ifname, &replied);
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

static int uapi_get_raw(struct uapi_backend *u, const char *ifname, struct wg_device *dev,
			bool *temp_found)
{
	int r = set_text(u, "get=1\n\n");

	memset(dev, 0, sizeof(*dev));
	if (r)
		return r;
	r = u->exchange(u->ctx, ifname, u->req.data, u->req.len, &u->reply);
	if (r) {
		if (r == -ENODEV)
			wg_dev_mode_forget(&u->ifaces, ifname);
		return r;
	}
	return wg_uapi_parse_get(u->reply.data, u->reply.len, dev, temp_found);
}

/* After a read that found the temporary peer. */
static int temp_peer_found(struct wg_backend *b, const char *ifname)
{
	struct uapi_backend *u = (struct uapi_backend *)b;
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

static int uapi_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct uapi_backend *u = (struct uapi_backend *)b;
	bool temp_found;
	int r = uapi_get_raw(u, ifname, dev, &temp_found);

	shrink_buffers(u);
	if (r || !temp_found)
		return r;
	return temp_peer_found(b, ifname);
}

/* The idle poll's memo of a device: the hash of the last text it read
 * there and what that text parsed to, so that the same text, the usual
 * answer of an idle device, is not parsed again. */
struct poll_memo {
	char name[IFNAMSIZ];
	bool valid;
	uint64_t text_hash, fp;
	struct poll_memo *next;
};

static struct poll_memo *memo_of(struct uapi_backend *u, const char *ifname)
{
	struct poll_memo *m;

	for (m = u->memos; m; m = m->next)
		if (!strncmp(m->name, ifname, sizeof(m->name)))
			return m;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL; /* the poll goes without */
	snprintf(m->name, sizeof(m->name), "%s", ifname);
	m->next = u->memos;
	u->memos = m;
	return m;
}

/* Reads the device (or, when !fresh and without sockets, parses the last
 * reply again) through a fingerprint-only parser; dev gets the public key. */
static int read_summary(struct uapi_backend *u, const char *ifname, bool fresh,
			bool text_only, struct wg_device *dev, struct get_parser *ps)
{
	int r = 0;

	memset(dev, 0, sizeof(*dev));
	*ps = (struct get_parser){.dev = dev, .fp_only = true, .text_only = text_only};
	if (u->sockets) {
		/* Hashed as it arrives: nothing of a large device's text is kept. */
		struct get_stream gs = {.ps = *ps};
		struct reply_dest to = {
			.feed = get_stream_feed, .ctx = &gs, .chunk = u->sockets->chunk};

		r = set_text(u, "get=1\n\n");
		if (!r)
			r = socket_request(u->sockets, ifname, u->req.data, u->req.len,
					   &to);
		if (!r)
			r = gs.ps.have_errno ? gs.ps.err : -EBADMSG;
		*ps = gs.ps;
	} else {
		if (fresh)
			r = set_text(u, "get=1\n\n");
		if (fresh && !r)
			r = u->exchange(u->ctx, ifname, u->req.data, u->req.len,
					&u->reply);
		if (!r)
			r = parse_text(u->reply.data, u->reply.len, ps);
	}
	if (r == -ENODEV)
		wg_dev_mode_forget(&u->ifaces, ifname);
	if (r)
		memset(dev, 0, sizeof(*dev));
	return r;
}

/* The device's snapshot: read again over a socket, else parsed from the
 * reply read last. */
static int read_snapshot(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct uapi_backend *u = (struct uapi_backend *)b;
	bool temp_found;
	int r;

	if (u->sockets)
		return uapi_get(b, ifname, dev);
	r = wg_uapi_parse_get(u->reply.data, u->reply.len, dev, &temp_found);
	shrink_buffers(u);
	if (r || !temp_found)
		return r;
	return temp_peer_found(b, ifname);
}

/* The idle poll, cheapest first: the device's text hashed as it is; when
 * that text was not seen last time, parsed into a fingerprint; and only
 * when that differs from the model's, a snapshot. */
static int uapi_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			    struct wg_device *dev, bool *same)
{
	struct uapi_backend *u = (struct uapi_backend *)b;
	struct poll_memo *m = memo_of(u, ifname);
	struct get_parser ps;
	bool fresh = true;
	int r;

	*same = false;
	if (m && m->valid) {
		r = read_summary(u, ifname, true, true, dev, &ps);
		if (r)
			goto out;
		fresh = u->sockets != NULL;
		if (ps.text_hash == m->text_hash && !ps.temp_found) {
			if (m->fp == known) {
				*same = true;
				goto out;
			}
			return read_snapshot(b, ifname, dev);
		}
	}
	r = read_summary(u, ifname, fresh, false, dev, &ps);
	if (r)
		goto out;
	if (m) {
		m->valid = true;
		m->text_hash = ps.text_hash;
		m->fp = ps.fp;
	}
	if (ps.fp == known && !ps.temp_found) {
		*same = true;
		goto out;
	}
	return read_snapshot(b, ifname, dev);
out:
	if (!u->sockets)
		shrink_buffers(u);
	return r;
}

static int apply_phase(struct uapi_backend *u, struct wg_dev_mode *ifc,
		       const char *ifname, const struct change *ch, const size_t *idx,
		       size_t n)
{
	struct wg_device cur = {0};
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
		r = uapi_get_raw(u, ifname, &cur, NULL);
		if (r)
			return r;
	}
	u->req.len = 0;
	r = wg_uapi_encode_set(&u->req, ch, idx, n,
			       has_del ? ifc->mode : WG_REMOVE_NATIVE, &cur);
	wg_device_free(&cur);
	if (r)
		return r;
	r = transact(u, ifname, &replied);
	if (r && replied && has_del && ifc->mode == WG_REMOVE_TEMP_PEER)
		ifc->mode = WG_REMOVE_UNKNOWN; /* detect again next time */
	return r;
}

static int uapi_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		      size_t n, int *err)
{
	struct uapi_backend *u = (struct uapi_backend *)b;
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
	shrink_buffers(u);
	return first;
}

static void uapi_destroy(struct wg_backend *b)
{
	struct uapi_backend *u = (struct uapi_backend *)b;

	if (!b)
		return;
	wg_dev_mode_free_all(&u->ifaces);
	while (u->memos) {
		struct poll_memo *next = u->memos->next;

		free(u->memos);
		u->memos = next;
	}
	buf_free(&u->req);
	buf_free(&u->reply);
	socket_transport_free(u->sockets);
	free(u);
}

struct wg_backend *wg_uapi_backend_new_exchange(wg_uapi_exchange_fn fn, void *ctx)
{
	struct uapi_backend *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	if (sodium_init() < 0) {
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
	return &u->base;
}

struct wg_backend *wg_uapi_backend_new(const char *sockdir)
{
	struct socket_transport *t = calloc(1, sizeof(*t));
	struct wg_backend *b;

	if (!t || !(t->dir = strdup(sockdir ? sockdir : WG_UAPI_SOCKDIR)) ||
	    !(t->chunk = malloc(UAPI_READ_CHUNK))) {
		if (t)
			free(t->dir);
		free(t);
		return NULL;
	}
	b = wg_uapi_backend_new_exchange(socket_exchange, t);
	if (!b) {
		socket_transport_free(t);
		return NULL;
	}
	((struct uapi_backend *)b)->sockets = t;
	return b;
}

enum wg_remove_mode wg_uapi_remove_mode(struct wg_backend *b, const char *ifname)
{
	struct uapi_backend *u = (struct uapi_backend *)b;

	for (struct wg_dev_mode *i = u->ifaces; i; i = i->next)
		if (!strncmp(i->name, ifname, sizeof(i->name)))
			return i->mode;
	return WG_REMOVE_UNKNOWN;
}
