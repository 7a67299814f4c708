/* uapi_codec.c: the UAPI text protocol, parsed and encoded (uapi_codec.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi_codec.h"
#include "vec.h"

/* ---- parsing ---- */

int wg_uapi_parse_prefix(const char *s, size_t len, struct prefix *out)
{
	char text[PREFIX_STRLEN];

	/* prefix_parse() also takes a bare address, which WireGuard never
	 * prints, and a NUL would cut the text short. */
	if (len >= sizeof(text) || !memchr(s, '/', len) || memchr(s, '\0', len))
		return -EINVAL;
	memcpy(text, s, len);
	text[len] = '\0';
	return prefix_parse(text, out);
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

void wg_uapi_get_init(struct wg_uapi_get *g, struct wg_device *dev,
		      enum wg_uapi_read what)
{
	memset(g, 0, sizeof(*g));
	memset(dev, 0, sizeof(*dev));
	g->dev = dev;
	g->what = what;
}

static int start_peer(struct wg_uapi_get *g, const char *v, size_t vlen)
{
	struct wg_device *dev = g->dev;
	struct wg_key k;

	if (wg_key_from_hex_n(v, vlen, &k))
		return -EBADMSG;
	if (g->what != WG_UAPI_SNAPSHOT) {
		g->peer_text = text_mix(0, v, vlen);
		g->text_hash += g->peer_text;
	}
	g->in_peer = true;
	g->allowed_cap = 0;
	g->cur = NULL;
	if (wg_is_temp_peer(&k)) {
		g->temp_found = true;
		g->peer_fp = 0;
		return 0;
	}
	if (g->what != WG_UAPI_SNAPSHOT) {
		g->peer_fp = wg_fp_peer(&k);
		g->fp += g->peer_fp;
		return 0;
	}
	if (vec_push(dev->peers, dev->n_peers, g->peers_cap, (struct wg_peer){.key = k}))
		return -ENOMEM;
	g->cur = &dev->peers[dev->n_peers - 1];
	return 0;
}

static int parse_line(struct wg_uapi_get *g, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	const char *v;
	size_t klen, vlen;

	if (!eq || eq == line || g->have_errno)
		return -EBADMSG; /* errno must be the last line */
	klen = (size_t)(eq - line);
	v = eq + 1;
	vlen = len - klen - 1;
	/* The hot line first: a large device is almost all allowed_ip. */
	if (klen == 10 && !memcmp(line, "allowed_ip", 10)) {
		struct prefix a;

		if (!g->in_peer)
			return -EBADMSG;
		if (g->what != WG_UAPI_SNAPSHOT) {
			g->text_hash += text_mix(g->peer_text, v, vlen);
			if (g->what == WG_UAPI_TEXT_HASH)
				return 0;
		}
		if (wg_uapi_parse_prefix(v, vlen, &a))
			return -EBADMSG;
		if (g->what == WG_UAPI_FINGERPRINT) {
			g->fp += g->peer_fp ? wg_fp_entry(g->peer_fp, &a) : 0;
			return 0;
		}
		return g->cur ? vec_push(g->cur->allowed, g->cur->n_allowed,
					 g->allowed_cap, a)
			      : 0;
	}
	if (klen == 10 && !memcmp(line, "public_key", 10))
		return start_peer(g, v, vlen);
	if (klen == 11 && !memcmp(line, "private_key", 11)) {
		struct wg_key priv;

		if (g->in_peer || wg_key_from_hex_n(v, vlen, &priv))
			return -EBADMSG;
		if (crypto_scalarmult_base(g->dev->pubkey.b, priv.b))
			memset(&g->dev->pubkey, 0, sizeof(g->dev->pubkey));
		sodium_memzero(&priv, sizeof(priv));
		return 0;
	}
	if (klen == 5 && !memcmp(line, "errno", 5)) {
		g->err = parse_errno_value(v, vlen);
		if (g->err == -EBADMSG)
			return -EBADMSG;
		g->have_errno = true;
		return 0;
	}
	return 0; /* other keys (endpoint, counters, ...) are not needed */
}

int wg_uapi_get_feed(struct wg_uapi_get *g, const char *data, size_t n)
{
	const char *p = data, *end;

	if (n == 0) /* no pointer arithmetic on the NULL of nothing read */
		return 0;
	end = data + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t seg = (size_t)((nl ? nl : end) - p);
		const char *line = p;
		int r;

		if (g->len || !nl) { /* a line split over feeds */
			if (g->len + seg > sizeof(g->line))
				return -EBADMSG;
			memcpy(g->line + g->len, p, seg);
			g->len += seg;
			if (!nl)
				return 0;
			line = g->line;
			seg = g->len;
			g->len = 0;
		} else if (seg > sizeof(g->line)) {
			/* The same limit as for a line split over feeds: a reply
			 * does not depend on how the socket's reads cut it. */
			return -EBADMSG;
		}
		p = nl + 1;
		if (seg == 0) /* the blank line: the end, and nothing after it */
			return p == end ? 1 : -EBADMSG;
		r = parse_line(g, line, seg);
		if (r)
			return r;
	}
	return 0;
}

int wg_uapi_get_end(struct wg_uapi_get *g, int fed)
{
	int r = fed < 0 ? fed : !fed || !g->have_errno ? -EBADMSG : g->err;

	if (r) {
		wg_device_free(g->dev);
		memset(g->dev, 0, sizeof(*g->dev));
	}
	return r;
}

static int parse_whole(const char *text, size_t len, struct wg_device *dev,
		       enum wg_uapi_read what, struct wg_uapi_get *g)
{
	wg_uapi_get_init(g, dev, what);
	return wg_uapi_get_end(g, wg_uapi_get_feed(g, text, len));
}

int wg_uapi_parse_get(const char *text, size_t len, struct wg_device *dev,
		      bool *temp_found)
{
	struct wg_uapi_get g;
	int r = parse_whole(text, len, dev, WG_UAPI_SNAPSHOT, &g);

	if (temp_found)
		*temp_found = !r && g.temp_found;
	return r;
}

int wg_uapi_parse_fingerprint(const char *text, size_t len, struct wg_key *pubkey,
			      uint64_t *fp, bool *temp_found)
{
	struct wg_device dev;
	struct wg_uapi_get g;
	int r = parse_whole(text, len, &dev, WG_UAPI_FINGERPRINT, &g);

	*pubkey = dev.pubkey;
	if (temp_found)
		*temp_found = !r && g.temp_found;
	if (!r)
		*fp = g.fp;
	return r;
}

int wg_uapi_parse_errno(const char *text, size_t len)
{
	struct wg_device dev;
	int r = wg_uapi_parse_get(text, len, &dev, NULL);

	wg_device_free(&dev); /* a set reply has no peers: nothing */
	return r;
}

/* ---- encoding ---- */

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

int wg_uapi_encode_set(struct buf *out, const struct wg_set_peer *peers, size_t n)
{
	char hex[2 * WG_KEY_LEN + 1];
	int r = buf_puts(out, "set=1\n");

	for (size_t k = 0; !r && k < n; k++) {
		const struct wg_set_peer *p = &peers[k];
		/* The UAPI applies a section's lines in order: an entry that
		 * follows one of the same peer (the temporary peer's removal
		 * after its take) needs no key line of its own. */
		bool cont = k > 0 && !wg_key_cmp(&peers[k - 1].key, &p->key) &&
			    !(peers[k - 1].flags & WG_PEER_REMOVE_ME) &&
			    !(p->flags & WG_PEER_UPDATE_ONLY);

		if (!cont)
			r = buf_puts(out, "public_key=") ?: buf_puts(out, wg_key_to_hex(&p->key, hex))
						?: buf_puts(out, "\n");
		if (!r && (p->flags & WG_PEER_UPDATE_ONLY))
			r = buf_puts(out, "update_only=true\n");
		if (!r && (p->flags & WG_PEER_REPLACE_ALLOWEDIPS))
			r = buf_puts(out, "replace_allowed_ips=true\n");
		for (size_t i = 0; !r && i < p->n_ips; i++)
			r = put_prefix_line(out, &p->ips[i].dst, p->ips[i].remove);
		if (!r && (p->flags & WG_PEER_REMOVE_ME))
			r = buf_puts(out, "remove=true\n");
	}
	return r ?: buf_puts(out, "\n");
}
