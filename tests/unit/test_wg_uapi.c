/* test_wg_uapi: the UAPI text protocol and the backend logic above it.
 *
 * - get=1 replies captured from Debian's wireguard-go (tests/fixtures/uapi,
 *   see its README), and truncated, malformed and damaged variants of them:
 *   -EBADMSG, never a crash; buffers are exact-size and unterminated, so
 *   valgrind sees any read past them;
 * - the set=1 request planned and encoded for each removal mode, against the
 *   expected text;
 * - wg_rounds_plan, and the temporary peer's key (docs/spec.md 7.6);
 * - the backend's removal ordering (docs/spec.md 7.4) over a small model of
 *   wireguard-go's set=1 handling, with and without allowed_ip=-PREFIX;
 * - the automatic kernel/UAPI choice over stub backends;
 * - the socket transport's kept connection, against stand-in servers that
 *   serve many requests per connection (wireguard-go) or one (boringtun),
 *   and its idle poll: one get=1 per poll, whatever it finds.
 * No privileges needed. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "uapi_codec.h"
#include "wg_auto.h"
#include "wg_exchange.h"
#include "wg_testutil.h"
#include "wg_uapi.h"

#define KEY_DEV	 "v6eecaOUkwJnMdw/sdk3dxxV2t59MFh/sB7itOJiv0o="
#define KEY_A	 "FPI/ZBjENVcrVynzmR5tsWbLf/zWI5kP4BEH74nH+jA="
#define KEY_B	 "IBJlu/bEzmmzxj+EUGHZ8s/y40AOJ0NH9MJx7Dvjs0I="
#define KEY_C	 "CK4oTA0zwRnTes54PMPIaYyvnxJR4fiXSdn3WidCzgc="
#define HEX_A	 "14f23f6418c435572b5729f3991e6db166cb7ffcd623990fe01107ef89c7fa30"
#define HEX_B	 "201265bbf6c4ce69b3c63f845061d9f2cff2e3400e274347f4c271ec3be3b342"
#define HEX_TEMP "77672d727473796e632f74656d706f726172792d706565722f72656d6f76616c"

/* ---------------------------------------------------------------------- */
/* Fixtures                                                                */

struct text {
	char *data; /* exactly len bytes, no terminating NUL */
	size_t len;
};

static struct text load(const char *name)
{
	char rel[256];
	struct text t = {0};

	snprintf(rel, sizeof(rel), "tests/fixtures/uapi/%s", name);
	t.data = read_source_file(rel, &t.len);
	return t;
}

/* An exact-size copy of a string (no NUL). */
static struct text text_of(const char *s)
{
	struct text t = {malloc(strlen(s) ? strlen(s) : 1), strlen(s)};

	assert_non_null(t.data);
	memcpy(t.data, s, t.len);
	return t;
}

static void text_free(struct text *t)
{
	free(t->data);
	t->data = NULL;
}

static const struct wg_peer *peer_of(const struct wg_device *d, const char *b64)
{
	struct wg_key k = K(b64);

	for (size_t i = 0; i < d->n_peers; i++)
		if (!memcmp(d->peers[i].key.b, k.b, WG_KEY_LEN))
			return &d->peers[i];
	return NULL;
}

static void assert_allowed(const struct wg_peer *p, const char *const *want, size_t n)
{
	char buf[PREFIX_STRLEN];

	assert_non_null(p);
	if (p->n_allowed != n)
		fail_msg("%zu AllowedIPs, want %zu", p->n_allowed, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(prefix_format(&p->allowed[i], buf), want[i]))
			fail_msg("AllowedIP %zu is %s, want %s", i, buf, want[i]);
}

static int parse_fixture(const char *name, struct wg_device *dev, bool *temp)
{
	struct text t = load(name);
	int r = wg_uapi_parse_get(t.data, t.len, dev, temp);

	text_free(&t);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Parsing get=1                                                           */

static void test_parse_no_key_no_peers(void **state)
{
	struct wg_device dev;
	bool temp = true;

	(void)state;
	assert_int_equal(parse_fixture("get-nokey.txt", &dev, &temp), 0);
	assert_true(wg_key_is_zero(&dev.pubkey));
	assert_int_equal(dev.n_peers, 0);
	assert_false(temp);
	wg_device_free(&dev);

	assert_int_equal(parse_fixture("get-nopeers.txt", &dev, NULL), 0);
	/* The public key is derived from the private one. */
	struct wg_key want = K(KEY_DEV);
	assert_memory_equal(dev.pubkey.b, want.b, WG_KEY_LEN);
	assert_int_equal(dev.n_peers, 0);
	wg_device_free(&dev);
}

static void test_parse_one_peer(void **state)
{
	static const char *const a[] = {"192.0.2.2/32", "2001:db8:a::/48",
					"198.51.100.0/24"};
	struct wg_device dev;

	(void)state;
	assert_int_equal(parse_fixture("get-one-peer.txt", &dev, NULL), 0);
	assert_int_equal(dev.n_peers, 1);
	assert_allowed(peer_of(&dev, KEY_A), a, 3);
	wg_device_free(&dev);
}

static void test_parse_multi_peer(void **state)
{
	static const char *const a[] = {"192.0.2.2/32", "2001:db8:a::/48",
					"198.51.100.0/24"};
	static const char *const b[] = {"fe80::2/128", "2001:db8:b::/64", "0.0.0.0/0"};
	struct wg_device dev;
	bool temp = true;

	(void)state;
	assert_int_equal(parse_fixture("get-multi-peer.txt", &dev, &temp), 0);
	assert_false(temp);
	assert_int_equal(dev.n_peers, 3);
	assert_allowed(peer_of(&dev, KEY_A), a, 3);
	assert_allowed(peer_of(&dev, KEY_B), b, 3);
	assert_allowed(peer_of(&dev, KEY_C), NULL, 0);
	/* Kept in the order wireguard-go lists them. */
	struct wg_key ka = K(KEY_A), kc = K(KEY_C);
	assert_memory_equal(dev.peers[0].key.b, ka.b, WG_KEY_LEN);
	assert_memory_equal(dev.peers[2].key.b, kc.b, WG_KEY_LEN);
	wg_device_free(&dev);
}

static void test_parse_many_allowed(void **state)
{
	struct wg_device dev;
	const struct wg_peer *c;
	char buf[PREFIX_STRLEN], want[PREFIX_STRLEN];

	(void)state;
	assert_int_equal(parse_fixture("get-many-allowed.txt", &dev, NULL), 0);
	c = peer_of(&dev, KEY_C);
	assert_non_null(c);
	assert_int_equal(c->n_allowed, 1280);
	for (unsigned i = 0; i < 1280; i++) {
		if (i < 1024)
			snprintf(want, sizeof(want), "2001:db8:%x:%x::/64",
				 0x1000 + i / 256, i % 256);
		else
			snprintf(want, sizeof(want), "198.51.100.%u/32", i - 1024);
		/* "2001:db8:1000:0::/64" is printed "2001:db8:1000::/64". */
		struct prefix w = P(want);
		if (!prefix_equal(&c->allowed[i], &w))
			fail_msg("AllowedIP %u: %s, want %s", i,
				 prefix_format(&c->allowed[i], buf), want);
	}
	wg_device_free(&dev);
}

/* The temporary peer is noticed and left out. */
static void test_parse_temp_peer(void **state)
{
	struct wg_device dev;
	bool temp = false;

	(void)state;
	assert_int_equal(parse_fixture("get-temp-peer.txt", &dev, &temp), 0);
	assert_true(temp);
	assert_int_equal(dev.n_peers, 3);
	for (size_t i = 0; i < dev.n_peers; i++)
		assert_false(wg_is_temp_peer(&dev.peers[i].key));
	wg_device_free(&dev);
}

static void test_temp_peer_key(void **state)
{
	struct wg_key k = K("d2ctcnRzeW5jL3RlbXBvcmFyeS1wZWVyL3JlbW92YWw=");
	char hex[65];

	(void)state;
	assert_memory_equal(wg_temp_peer_key.b, k.b, WG_KEY_LEN);
	assert_memory_equal(wg_temp_peer_key.b, "wg-rtsync/temporary-peer/removal",
			    WG_KEY_LEN);
	assert_string_equal(wg_key_to_hex(&wg_temp_peer_key, hex), HEX_TEMP);
	assert_true(wg_is_temp_peer(&k));
	k.b[31] ^= 1;
	assert_false(wg_is_temp_peer(&k));
	assert_string_equal(wg_remove_mode_name(WG_REMOVE_NATIVE), "native");
	assert_string_equal(wg_remove_mode_name(WG_REMOVE_TEMP_PEER), "temporary peer");
	assert_string_equal(wg_remove_mode_name(WG_REMOVE_REPLACE), "replace whole list");
	assert_string_equal(wg_remove_mode_name(WG_REMOVE_UNKNOWN), "unknown");
}

static int parse_str(const char *s)
{
	struct text t = text_of(s);
	struct wg_device dev;
	int r = wg_uapi_parse_get(t.data, t.len, &dev, NULL);

	if (r)
		assert_int_equal(dev.n_peers, 0);
	else
		wg_device_free(&dev);
	text_free(&t);
	return r;
}

static int errno_str(const char *s)
{
	struct text t = text_of(s);
	int r = wg_uapi_parse_errno(t.data, t.len);

	text_free(&t);
	return r;
}

static void test_errno_replies(void **state)
{
	struct text t;

	(void)state;
	t = load("set-ok.txt");
	assert_int_equal(wg_uapi_parse_errno(t.data, t.len), 0);
	text_free(&t);
	t = load("set-remove-einval.txt");
	assert_int_equal(wg_uapi_parse_errno(t.data, t.len), -EINVAL);
	text_free(&t);
	/* boringtun and the protocol text write the errno positive. */
	assert_int_equal(errno_str("errno=22\n\n"), -EINVAL);
	assert_int_equal(errno_str("errno=-2\n\n"), -ENOENT);
	/* A get that fails carries only its errno. */
	assert_int_equal(parse_str("errno=-19\n\n"), -ENODEV);
	assert_int_equal(parse_str("private_key=" HEX_A "\nerrno=-5\n\n"), -EIO);
	/* Not an errno. */
	assert_int_equal(errno_str("errno=\n\n"), -EBADMSG);
	assert_int_equal(errno_str("errno=-\n\n"), -EBADMSG);
	assert_int_equal(errno_str("errno=x1\n\n"), -EBADMSG);
	assert_int_equal(errno_str("errno=1 \n\n"), -EBADMSG);
	assert_int_equal(errno_str("errno=-1234567\n\n"), -EBADMSG);
	assert_int_equal(errno_str("errno=99999\n\n"), -EPROTO);
	assert_int_equal(errno_str("\n"), -EBADMSG);
	assert_int_equal(errno_str(""), -EBADMSG);
	assert_int_equal(errno_str("errno=0\n"), -EBADMSG);
	assert_int_equal(wg_uapi_parse_errno(NULL, 0), -EBADMSG);
	assert_true(wg_uapi_reply_complete("errno=0\n\n", 9));
	assert_false(wg_uapi_reply_complete("errno=0\n", 8));
	assert_false(wg_uapi_reply_complete("\n", 1));
}

/* Keys the parser does not know are skipped, in both sections. */
static void test_unknown_keys(void **state)
{
	static const char text[] = "private_key=" HEX_A "\n"
				   "fwmark=7\n"
				   "some_future_key=x=y\n"
				   "public_key=" HEX_B "\n"
				   "endpoint=[2001:db8::1]:51820\n"
				   "allowed_ip=2001:db8::/32\n"
				   "boringtun_extra=\n"
				   "allowed_ip=192.0.2.0/24\n"
				   "errno=0\n\n";
	static const char *const b[] = {"2001:db8::/32", "192.0.2.0/24"};
	struct text t = text_of(text);
	struct wg_device dev;

	(void)state;
	assert_int_equal(wg_uapi_parse_get(t.data, t.len, &dev, NULL), 0);
	assert_int_equal(dev.n_peers, 1);
	assert_allowed(peer_of(&dev, KEY_B), b, 2);
	wg_device_free(&dev);
	text_free(&t);
}

static void test_malformed_text(void **state)
{
	static const char *const bad[] = {
		/* structure */
		"allowed_ip=192.0.2.0/24\nerrno=0\n\n", /* before any peer */
		"public_key=" HEX_A "\n\nerrno=0\n\n",	/* blank line inside */
		"public_key=" HEX_A "\n",		/* no end */
		"public_key=" HEX_A "\nallowed_ip=192.0.2.0/24\n\n", /* no errno */
		"errno=0\npublic_key=" HEX_A "\n\n",		     /* errno not last */
		"errno=0\nerrno=0\n\n",
		"no_equals_sign\nerrno=0\n\n",
		"=value\nerrno=0\n\n",
		"\n\n",
		/* keys */
		"public_key=" HEX_A "0\nerrno=0\n\n",
		"public_key=14f2\nerrno=0\n\n",
		"public_key=\nerrno=0\n\n",
		"public_key="
		"x4f23f6418c435572b5729f3991e6db166cb7ffcd623990fe01107ef89c7fa30\n"
		"errno=0\n\n",
		"private_key=zz\nerrno=0\n\n",
		"public_key=" HEX_A "\nprivate_key=" HEX_B
		"\nerrno=0\n\n", /* in a peer */
		/* prefixes */
		"public_key=" HEX_A "\nallowed_ip=192.0.2.256/32\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=192.0.2.1/33\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=192.0.2/24\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=192.0.2.1.1/32\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=192.0.2.1\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=192.0.2.1/\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=/24\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=192.0.2.1/0032\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=192.0.2.1/3a\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=-192.0.2.1/32\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=2001:db8::/129\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=2001:db8:::/64\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=2001:db8::1::/64\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=2001:db8:12345::/64\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=1:2:3:4:5:6:7:8:9/128\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=1:2:3:4:5:6:7/128\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=:1::/64\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=1::2:/64\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=fe80::1%eth0/128\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=1:2:3:4:5:6:7:1.2.3.4/128\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=::ffff:1.2.3/128\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=192.0.2.0/24\r\nerrno=0\n\n",
		"public_key=" HEX_A "\nallowed_ip=\nerrno=0\n\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_str(bad[i]);

		if (r != -EBADMSG)
			fail_msg("case %zu: %d, want -EBADMSG:\n%s", i, r, bad[i]);
	}
}

static void test_parse_prefix(void **state)
{
	static const struct {
		const char *text, *want;
	} good[] = {
		{"192.0.2.77/24", "192.0.2.0/24"}, /* host bits cleared */
		{"192.0.2.77/25", "192.0.2.0/25"},
		{"192.0.2.255/31", "192.0.2.254/31"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"255.255.255.255/32", "255.255.255.255/32"},
		{"::/0", "::/0"},
		{"::1/128", "::1/128"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:DB8:0:0:0:0:0:1/128", "2001:db8::1/128"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/33", "2001:db8:8000::/33"},
		{"fe80::1/64", "fe80::/64"},
		{"1::/16", "1::/16"},
		{"::ffff:192.0.2.1/128", "::ffff:192.0.2.1/128"},
		{"1:2:3:4:5:6:192.0.2.1/128", "1:2:3:4:5:6:c000:201/128"},
	};
	struct prefix p;
	char buf[PREFIX_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct text t = text_of(good[i].text);

		if (wg_uapi_parse_prefix(t.data, t.len, &p))
			fail_msg("%s refused", good[i].text);
		assert_string_equal(prefix_format(&p, buf), good[i].want);
		text_free(&t);
	}
	/* Only len bytes are read: the rest of the buffer does not count. */
	assert_int_equal(wg_uapi_parse_prefix("192.0.2.0/24junk", 12, &p), 0);
	assert_string_equal(prefix_format(&p, buf), "192.0.2.0/24");
	assert_int_equal(wg_uapi_parse_prefix("192.0.2.0/2", 11, &p), 0);
	assert_int_equal(p.len, 2);
	assert_int_equal(wg_uapi_parse_prefix("", 0, &p), -EINVAL);
	assert_int_equal(wg_uapi_parse_prefix("1.2.3.4", 7, &p), -EINVAL);
	assert_int_equal(wg_uapi_parse_prefix("1.2.3.4/", 8, &p), -EINVAL);
	assert_int_equal(wg_uapi_parse_prefix("01234.2.3.4/8", 13, &p), -EINVAL);
}

/* Cut anywhere before the end, a reply is incomplete: -EBADMSG. */
static void test_truncated(void **state)
{
	static const char *const files[] = {
		"get-nokey.txt",      "get-nopeers.txt",      "get-one-peer.txt",
		"get-multi-peer.txt", "get-many-allowed.txt", "get-temp-peer.txt",
		"set-ok.txt",	      "set-remove-einval.txt"};

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct text t = load(files[f]);
		/* The big one is cut at its first and last 2000 bytes only. */
		size_t step_from = t.len > 8000 ? 2000 : t.len,
		       step_to = t.len - step_from;

		for (size_t l = 0; l < t.len; l++) {
			struct wg_device dev;
			char *cut;
			int r;

			if (l > step_from && l < step_to)
				l = step_to;
			cut = malloc(l ? l : 1);
			assert_non_null(cut);
			memcpy(cut, t.data, l);
			r = wg_uapi_parse_get(cut, l, &dev, NULL);
			if (r != -EBADMSG)
				fail_msg("%s cut to %zu of %zu bytes: %d", files[f], l,
					 t.len, r);
			assert_int_equal(dev.n_peers, 0);
			assert_null(dev.peers);
			free(cut);
		}
		text_free(&t);
	}
}

static uint32_t rng_state = 0x9e3779b9;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Random damage: a clean result or a clean error, never a crash. */
static void test_random_damage(void **state)
{
	static const char *const files[] = {"get-one-peer.txt", "get-multi-peer.txt",
					    "get-temp-peer.txt", "set-remove-einval.txt"};
	static const char alphabet[] = "0123456789abcdef=:./-\n\r\0 x";

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct text t = load(files[f]);
		char *b = malloc(t.len);

		assert_non_null(b);
		for (int round = 0; round < 3000; round++) {
			struct wg_device dev;
			unsigned flips = 1 + rng() % 3;
			int r;

			memcpy(b, t.data, t.len);
			for (unsigned k = 0; k < flips; k++)
				b[rng() % t.len] =
					alphabet[rng() % (sizeof(alphabet) - 1)];
			r = wg_uapi_parse_get(b, t.len, &dev, NULL);
			assert_true(r <= 0);
			if (r == 0)
				wg_device_free(&dev);
			else
				assert_null(dev.peers);
		}
		free(b);
		text_free(&t);
	}
}

/* ---------------------------------------------------------------------- */
/* Encoding set=1                                                          */

static struct change allowed(bool add, const char *peer_b64, const char *dst)
{
	struct change c;

	memset(&c, 0, sizeof(c));
	c.op = add ? CHANGE_ALLOWED_ADD : CHANGE_ALLOWED_DEL;
	c.peer = K(peer_b64);
	c.dst = P(dst);
	return c;
}

static struct change route_add(const char *dst)
{
	struct change c;

	memset(&c, 0, sizeof(c));
	c.op = CHANGE_ROUTE_ADD;
	c.dst = P(dst);
	c.route.dst = c.dst;
	return c;
}

/* The set=1 request for ch[idx[0..n-1]], planned and encoded. */
static int encode_set(struct buf *out, const struct change *ch, const size_t *idx,
		      size_t n, enum wg_remove_mode mode, const struct wg_device *cur)
{
	struct wg_set s = {0};
	int r = wg_plan_build(&s, ch, idx, n, mode, cur)
			?: wg_uapi_encode_set(out, s.peers, s.n_peers);

	wg_set_free(&s);
	return r;
}

static void assert_encoded(const struct change *ch, size_t n, enum wg_remove_mode mode,
			   const struct wg_device *cur, const char *want)
{
	struct buf out = {0};
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));

	assert_non_null(idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	assert_int_equal(encode_set(&out, ch, idx, n, mode, cur), 0);
	assert_non_null(out.data);
	if (out.len != strlen(want) || memcmp(out.data, want, out.len))
		fail_msg("encoded (mode %s):\n%.*s\nwant:\n%s", wg_remove_mode_name(mode),
			 (int)out.len, out.data, want);
	buf_free(&out);
	free(idx);
}

/* Peer B's section comes after A's (keys in byte order); within a peer the
 * list order stays. */
static void test_encode_native(void **state)
{
	struct change ch[] = {
		allowed(true, KEY_B, "198.51.100.0/24"),
		allowed(false, KEY_A, "2001:db8:a::/48"),
		allowed(true, KEY_A, "203.0.113.0/24"),
		allowed(false, KEY_B, "fe80::2/128"),
	};

	(void)state;
	assert_encoded(ch, 4, WG_REMOVE_NATIVE, NULL,
		       "set=1\n"
		       "public_key=" HEX_A "\nupdate_only=true\n"
		       "allowed_ip=-2001:db8:a::/48\nallowed_ip=203.0.113.0/24\n"
		       "public_key=" HEX_B "\nupdate_only=true\n"
		       "allowed_ip=198.51.100.0/24\nallowed_ip=-fe80::2/128\n"
		       "\n");
}

/* The removals move onto the temporary peer, which goes in the same
 * transaction; a peer with only removals gets no section of its own. */
static void test_encode_temp_peer(void **state)
{
	struct change ch[] = {
		allowed(true, KEY_B, "198.51.100.0/24"),
		allowed(false, KEY_A, "2001:db8:a::/48"),
		allowed(false, KEY_A, "192.0.2.2/32"),
		allowed(false, KEY_B, "fe80::2/128"),
	};

	(void)state;
	assert_encoded(ch, 4, WG_REMOVE_TEMP_PEER, NULL,
		       "set=1\n"
		       "public_key=" HEX_B "\nupdate_only=true\n"
		       "allowed_ip=198.51.100.0/24\n"
		       "public_key=" HEX_TEMP "\n"
		       "allowed_ip=2001:db8:a::/48\nallowed_ip=192.0.2.2/32\n"
		       "allowed_ip=fe80::2/128\n"
		       "remove=true\n"
		       "\n");
	/* Adds only: no temporary peer at all. */
	assert_encoded(ch, 1, WG_REMOVE_TEMP_PEER, NULL,
		       "set=1\npublic_key=" HEX_B "\nupdate_only=true\n"
		       "allowed_ip=198.51.100.0/24\n\n");
}

/* The last resort: the peer's whole list less the removals, replacing. */
static void test_encode_replace(void **state)
{
	struct change ch[] = {
		allowed(false, KEY_A, "2001:db8:a::/48"),
		allowed(true, KEY_A, "203.0.113.0/24"),
		allowed(true, KEY_B, "198.51.100.128/25"),
		allowed(false, KEY_C, "192.0.2.9/32"), /* C is not on the device */
	};
	struct wg_device cur;

	(void)state;
	assert_int_equal(parse_fixture("get-one-peer.txt", &cur, NULL), 0);
	assert_encoded(
		ch, 4, WG_REMOVE_REPLACE, &cur,
		"set=1\n"
		"public_key="
		"08ae284c0d33c119d37ace783cc3c8698caf9f1251e1f89749d9f75a2742ce07\n"
		"update_only=true\n"
		"public_key=" HEX_A "\nupdate_only=true\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=192.0.2.2/32\nallowed_ip=198.51.100.0/24\n"
		"allowed_ip=203.0.113.0/24\n"
		"public_key=" HEX_B "\nupdate_only=true\n"
		"allowed_ip=198.51.100.128/25\n"
		"\n");
	wg_device_free(&cur);
}

static void test_encode_edges(void **state)
{
	struct change ch[] = {route_add("198.51.100.0/24"), allowed(true, KEY_A, "::/0")};
	struct buf out = {0};
	size_t idx[] = {1};

	(void)state;
	assert_int_equal(encode_set(&out, ch, idx, 1, WG_REMOVE_UNKNOWN, NULL), -EINVAL);
	buf_free(&out);
	assert_encoded(ch, 0, WG_REMOVE_NATIVE, NULL, "set=1\n\n");
	/* Only the selected entries; appended to what out holds. */
	assert_int_equal(buf_append(&out, "x", 1), 0);
	assert_int_equal(encode_set(&out, ch, idx, 1, WG_REMOVE_NATIVE, NULL), 0);
	assert_string_equal(out.data, "xset=1\npublic_key=" HEX_A
				      "\nupdate_only=true\nallowed_ip=::/0\n\n");
	buf_free(&out);
	assert_null(out.data);
}

/* ---------------------------------------------------------------------- */
/* Rounds                                                                  */

static void test_rounds(void **state)
{
	struct change ch[] = {
		allowed(true, KEY_A, "198.51.100.0/24"),  /* 0: X, round 0 */
		route_add("198.51.100.0/24"),		  /* 1: not selected */
		allowed(false, KEY_A, "192.0.2.0/24"),	  /* 2: Y, round 0 */
		allowed(true, KEY_B, "198.51.100.0/24"),  /* 3: X, round 1 */
		allowed(true, KEY_C, "198.51.100.0/25"),  /* 4: another prefix */
		allowed(false, KEY_B, "198.51.100.0/24"), /* 5: X, round 2 */
		allowed(true, KEY_B, "192.0.2.0/24"),	  /* 6: Y, round 1 */
	};
	struct wg_rounds r;
	size_t m[8], n;

	(void)state;
	assert_int_equal(wg_rounds_plan(&r, ch, 7), 0);
	assert_int_equal(r.n_sel, 6);
	assert_int_equal(r.n_rounds, 3);
	n = wg_rounds_members(&r, 0, m);
	assert_int_equal(n, 3);
	assert_int_equal(m[0], 0);
	assert_int_equal(m[1], 2);
	assert_int_equal(m[2], 4);
	n = wg_rounds_members(&r, 1, m);
	assert_int_equal(n, 2);
	assert_int_equal(m[0], 3);
	assert_int_equal(m[1], 6);
	n = wg_rounds_members(&r, 2, m);
	assert_int_equal(n, 1);
	assert_int_equal(m[0], 5);
	assert_int_equal(wg_rounds_members(&r, 3, m), 0);
	wg_rounds_free(&r);
	assert_null(r.sel);

	/* No AllowedIP changes: no rounds. */
	assert_int_equal(wg_rounds_plan(&r, ch + 1, 1), 0);
	assert_int_equal(r.n_sel, 0);
	assert_int_equal(r.n_rounds, 0);
	wg_rounds_free(&r);
	assert_int_equal(wg_rounds_plan(&r, NULL, 0), 0);
	assert_int_equal(r.n_rounds, 0);
	wg_rounds_free(&r);

	/* Sorting by peer keeps the list order within a peer. */
	size_t idx[] = {6, 5, 4, 3, 2, 0};
	wg_sort_by_peer(idx, 6, ch);
	assert_int_equal(idx[0], 4); /* C (its key starts 08) */
	assert_int_equal(idx[1], 0); /* A (14): 0, 2 */
	assert_int_equal(idx[2], 2);
	assert_int_equal(idx[3], 3); /* B (20): 3, 5, 6 */
	assert_int_equal(idx[4], 5);
	assert_int_equal(idx[5], 6);
}

/* ---------------------------------------------------------------------- */
/* The backend over a model of wireguard-go                                */

#define SIM_PEERS 8
#define SIM_IPS	  32

struct sim_peer {
	struct wg_key key;
	size_t n;
	struct prefix ip[SIM_IPS];
};

/* Applies set=1 line by line as wireguard-go does: a peer is made at its
 * public_key line, update_only undoes that, and the first bad line stops
 * the request with what came before it applied. */
struct sim {
	bool native;	      /* knows allowed_ip=-PREFIX */
	bool refuse_temp;     /* cannot make the temporary peer */
	int transport;	      /* an exchange error to return (0: none) */
	int fail_sets;	      /* answer this many set=1 with errno=-5 */
	int fail_at_remove;   /* stop this many times at the temporary peer's
			       * remove=true with -EIO */
	int temp_between;     /* exchanges that found the temporary peer there */
	unsigned rx_bytes;    /* printed per peer, counting up with every get */
	const char *bad_line; /* printed after the first peer's AllowedIPs */
	bool long_form;	      /* IPv6 AllowedIPs written out in full */
	struct wg_key priv;
	size_t n_peers;
	struct sim_peer peers[SIM_PEERS];
	size_t n_req;
	char *req[64];
};

static struct sim_peer *sim_find(struct sim *s, const struct wg_key *k)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (!memcmp(s->peers[i].key.b, k->b, WG_KEY_LEN))
			return &s->peers[i];
	return NULL;
}

static void sim_remove_peer(struct sim *s, struct sim_peer *p)
{
	size_t i = (size_t)(p - s->peers);

	memmove(&s->peers[i], &s->peers[i + 1], (s->n_peers - i - 1) * sizeof(*p));
	s->n_peers--;
}

static void sim_drop_ip(struct sim_peer *p, const struct prefix *a)
{
	for (size_t i = 0; i < p->n; i++)
		if (prefix_equal(&p->ip[i], a)) {
			memmove(&p->ip[i], &p->ip[i + 1], (p->n - i - 1) * sizeof(*a));
			p->n--;
			return;
		}
}

static void sim_add(struct sim *s, const char *peer_b64, const char *ip)
{
	struct wg_key k = K(peer_b64);
	struct sim_peer *p = sim_find(s, &k);
	struct prefix a = P(ip);

	if (!p) {
		p = &s->peers[s->n_peers++];
		memset(p, 0, sizeof(*p));
		p->key = k;
	}
	for (size_t i = 0; i < s->n_peers; i++)
		sim_drop_ip(&s->peers[i], &a);
	p->ip[p->n++] = a;
}

static int sim_set(struct sim *s, const char *text)
{
	struct sim_peer *cur = NULL;
	bool in_peer = false, created = false;
	const char *line = text;

	for (;;) {
		const char *nl = strchr(line, '\n');
		char key[64], val[128];
		const char *eq;

		assert_non_null(nl);
		if (nl == line)
			return 0;
		eq = memchr(line, '=', (size_t)(nl - line));
		assert_non_null(eq);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - line), line);
		snprintf(val, sizeof(val), "%.*s", (int)(nl - eq - 1), eq + 1);
		line = nl + 1;
		if (!strcmp(key, "public_key")) {
			struct wg_key k;

			assert_int_equal(wg_key_from_hex(val, &k), 0);
			in_peer = true;
			cur = sim_find(s, &k);
			created = !cur;
			if (!cur) {
				if (s->refuse_temp && wg_is_temp_peer(&k))
					return -EINVAL;
				assert_true(s->n_peers < SIM_PEERS);
				cur = &s->peers[s->n_peers++];
				memset(cur, 0, sizeof(*cur));
				cur->key = k;
			}
			continue;
		}
		if (!in_peer)
			continue; /* device keys */
		if (!strcmp(key, "update_only")) {
			if (created && cur)
				sim_remove_peer(s, cur);
			if (created)
				cur = NULL;
		} else if (!strcmp(key, "remove")) {
			if (s->fail_at_remove > 0 && cur && wg_is_temp_peer(&cur->key)) {
				s->fail_at_remove--;
				return -EIO; /* what came before stays applied */
			}
			if (cur)
				sim_remove_peer(s, cur);
			cur = NULL;
		} else if (!strcmp(key, "replace_allowed_ips")) {
			if (cur)
				cur->n = 0;
		} else if (!strcmp(key, "allowed_ip")) {
			struct prefix a;
			bool minus = val[0] == '-';

			if (minus && !s->native)
				return -EINVAL;
			if (prefix_parse(val + minus, &a))
				return -EINVAL;
			if (!cur)
				continue;
			if (minus) {
				sim_drop_ip(cur, &a);
				continue;
			}
			for (size_t i = 0; i < s->n_peers; i++)
				sim_drop_ip(&s->peers[i], &a);
			assert_true(cur->n < SIM_IPS);
			cur->ip[cur->n++] = a;
		}
	}
}

static void sim_allowed_line(const struct sim *s, const struct prefix *a, char *line,
			     size_t size)
{
	char buf[PREFIX_STRLEN];

	if (s->long_form && a->family == AF_INET6) {
		int n = snprintf(line, size, "allowed_ip=");

		for (int w = 0; w < 8; w++)
			n += snprintf(line + n, size - (size_t)n, "%s%04x", w ? ":" : "",
				      a->addr[2 * w] << 8 | a->addr[2 * w + 1]);
		snprintf(line + n, size - (size_t)n, "/%u\n", a->len);
		return;
	}
	snprintf(line, size, "allowed_ip=%s\n", prefix_format(a, buf));
}

static int sim_exchange(void *ctx, const char *ifname, const char *req, size_t len,
			struct buf *reply)
{
	struct sim *s = ctx;
	char line[256], hex[65];
	int r;

	assert_string_equal(ifname, "wgsim");
	assert_true(s->n_req < 64);
	/* What any other reader would see between two transactions. */
	s->temp_between += sim_find(s, &wg_temp_peer_key) != NULL;
	s->req[s->n_req] = strndup(req, len);
	assert_non_null(s->req[s->n_req]);
	s->n_req++;
	if (s->transport)
		return s->transport;
	reply->len = 0;
	if (len == 7 && !memcmp(req, "get=1\n\n", 7)) {
		snprintf(line, sizeof(line), "private_key=%s\nlisten_port=51820\n",
			 wg_key_to_hex(&s->priv, hex));
		assert_int_equal(buf_append(reply, line, strlen(line)), 0);
		for (size_t i = 0; i < s->n_peers; i++) {
			snprintf(line, sizeof(line),
				 "public_key=%s\nprotocol_version=1\nrx_bytes=%u\n",
				 wg_key_to_hex(&s->peers[i].key, hex), s->rx_bytes++);
			assert_int_equal(buf_append(reply, line, strlen(line)), 0);
			for (size_t j = 0; j < s->peers[i].n; j++) {
				sim_allowed_line(s, &s->peers[i].ip[j], line,
						 sizeof(line));
				assert_int_equal(buf_append(reply, line, strlen(line)),
						 0);
			}
			if (i == 0 && s->bad_line)
				assert_int_equal(buf_append(reply, s->bad_line,
							    strlen(s->bad_line)),
						 0);
		}
		return buf_append(reply, "errno=0\n\n", 9);
	}
	assert_true(len > 6 && !memcmp(req, "set=1\n", 6));
	assert_true(wg_uapi_reply_complete(req, len));
	if (s->fail_sets > 0) {
		s->fail_sets--;
		r = -EIO;
	} else {
		r = sim_set(s, s->req[s->n_req - 1] + 6);
	}
	snprintf(line, sizeof(line), "errno=%d\n\n", r);
	return buf_append(reply, line, strlen(line));
}

static void sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->n_req; i++)
		free(s->req[i]);
	s->n_req = 0;
}

static void sim_setup(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	memset(s->priv.b, 0x11, WG_KEY_LEN);
	sim_add(s, KEY_A, "192.0.2.2/32");
	sim_add(s, KEY_A, "2001:db8:a::/48");
	sim_add(s, KEY_A, "198.51.100.0/24");
	sim_add(s, KEY_B, "2001:db8:b::/64");
}

static void assert_sim_peer(struct sim *s, const char *peer_b64, const char *const *want,
			    size_t n)
{
	struct wg_key k = K(peer_b64);
	const struct sim_peer *p = sim_find(s, &k);
	char buf[PREFIX_STRLEN];

	assert_non_null(p);
	if (p->n != n)
		fail_msg("peer %s has %zu AllowedIPs, want %zu", peer_b64, p->n, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(prefix_format(&p->ip[i], buf), want[i]))
			fail_msg("peer %s AllowedIP %zu: %s, want %s", peer_b64, i, buf,
				 want[i]);
}

static bool sim_has_temp(struct sim *s)
{
	return sim_find(s, &wg_temp_peer_key) != NULL;
}

/* Debian's wireguard-go: the "-" form is refused, so the removal goes
 * through the temporary peer, in one transaction with the adds. */
static void test_backend_temp_peer_path(void **state)
{
	static const char *const a_left[] = {"192.0.2.2/32"};
	static const char *const b_now[] = {"2001:db8:b::/64", "203.0.113.0/24"};
	struct sim s;
	struct wg_backend *b;
	struct change ch[] = {
		allowed(true, KEY_B, "203.0.113.0/24"),
		route_add("198.51.100.0/24"),
		allowed(false, KEY_A, "198.51.100.0/24"),
		allowed(false, KEY_A, "2001:db8:a::/48"),
	};
	int err[4] = {7, 7, 7, 7};

	(void)state;
	sim_setup(&s);
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_UNKNOWN);
	assert_int_equal(b->apply(b, "wgsim", ch, 4, err), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(err[i], 0);
	assert_sim_peer(&s, KEY_A, a_left, 1);
	assert_sim_peer(&s, KEY_B, b_now, 2);
	assert_false(sim_has_temp(&s));
	assert_int_equal(s.temp_between, 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_TEMP_PEER);
	/* The probe (a placeholder peer, refused), the temporary peer made
	 * and removed in one go, then the change itself. */
	assert_int_equal(s.n_req, 3);
	assert_string_equal(s.req[0],
			    "set=1\npublic_key=" HEX_TEMP
			    "\nupdate_only=true\nallowed_ip=-192.0.2.255/32\n\n");
	assert_string_equal(s.req[1], "set=1\npublic_key=" HEX_TEMP "\nremove=true\n\n");
	assert_string_equal(s.req[2],
			    "set=1\npublic_key=" HEX_B "\nupdate_only=true\n"
			    "allowed_ip=203.0.113.0/24\n"
			    "public_key=" HEX_TEMP "\n"
			    "allowed_ip=198.51.100.0/24\nallowed_ip=2001:db8:a::/48\n"
			    "remove=true\n\n");

	/* Known from now on: one transaction per apply. */
	assert_int_equal(b->apply(b, "wgsim", &ch[0], 1, err), 0);
	assert_int_equal(s.n_req, 4);
	ch[0] = allowed(false, KEY_B, "203.0.113.0/24");
	assert_int_equal(b->apply(b, "wgsim", &ch[0], 1, err), 0);
	assert_int_equal(s.n_req, 5);
	static const char *const b_left[] = {"2001:db8:b::/64"};
	assert_sim_peer(&s, KEY_B, b_left, 1);
	assert_sim_peer(&s, KEY_A, a_left, 1);
	assert_int_equal(s.temp_between, 0);
	b->destroy(b);
	sim_free(&s);
}

/* A wireguard-go that knows allowed_ip=-PREFIX: used directly. */
static void test_backend_native_path(void **state)
{
	static const char *const a_left[] = {"192.0.2.2/32", "198.51.100.0/24"};
	struct sim s;
	struct wg_backend *b;
	struct change ch[] = {allowed(false, KEY_A, "2001:db8:a::/48")};
	int err[1];

	(void)state;
	sim_setup(&s);
	s.native = true;
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_NATIVE);
	assert_sim_peer(&s, KEY_A, a_left, 2);
	assert_false(sim_has_temp(&s));
	assert_int_equal(s.temp_between, 0);
	assert_int_equal(s.n_req, 2);
	assert_string_equal(s.req[1], "set=1\npublic_key=" HEX_A "\nupdate_only=true\n"
				      "allowed_ip=-2001:db8:a::/48\n\n");
	b->destroy(b);
	sim_free(&s);
}

/* Neither: the whole list less the removal, read just before. */
static void test_backend_replace_path(void **state)
{
	static const char *const a_left[] = {"192.0.2.2/32", "198.51.100.0/24"};
	struct sim s;
	struct wg_backend *b;
	struct change ch[] = {allowed(false, KEY_A, "2001:db8:a::/48")};
	int err[1];

	(void)state;
	sim_setup(&s);
	s.refuse_temp = true;
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_REPLACE);
	assert_sim_peer(&s, KEY_A, a_left, 2);
	assert_false(sim_has_temp(&s));
	assert_int_equal(s.temp_between, 0);
	/* probe, temporary peer refused, get, set */
	assert_int_equal(s.n_req, 4);
	assert_string_equal(s.req[2], "get=1\n\n");
	assert_string_equal(s.req[3],
			    "set=1\npublic_key=" HEX_A "\nupdate_only=true\n"
			    "replace_allowed_ips=true\n"
			    "allowed_ip=192.0.2.2/32\nallowed_ip=198.51.100.0/24\n\n");
	b->destroy(b);
	sim_free(&s);
}

/* Replacing whole lists while a prefix moves from B to A, which comes
 * first: B's new list leaves it out, or it would go back to B. */
static void test_backend_replace_move(void **state)
{
	static const char *const a_now[] = {"192.0.2.2/32", "2001:db8:a::/48",
					    "198.51.100.0/24", "203.0.113.0/24"};
	static const char *const b_now[] = {"192.0.2.9/32"};
	struct sim s;
	struct wg_backend *b;
	struct change ch[] = {allowed(false, KEY_B, "2001:db8:b::/64"),
			      allowed(true, KEY_A, "203.0.113.0/24")};
	int err[2];

	(void)state;
	sim_setup(&s);
	sim_add(&s, KEY_B, "203.0.113.0/24");
	sim_add(&s, KEY_B, "192.0.2.9/32");
	s.refuse_temp = true;
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(b->apply(b, "wgsim", ch, 2, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_REPLACE);
	assert_sim_peer(&s, KEY_A, a_now, 4);
	assert_sim_peer(&s, KEY_B, b_now, 1);
	b->destroy(b);
	sim_free(&s);
}

/* A temporary peer found by get (a crash between its steps) is removed,
 * and never reported. */
static void test_backend_get_removes_temp_peer(void **state)
{
	static const char *const a[] = {"192.0.2.2/32", "2001:db8:a::/48",
					"198.51.100.0/24"};
	struct sim s;
	struct wg_backend *b;
	struct wg_device dev;

	(void)state;
	sim_setup(&s);
	sim_add(&s, "d2ctcnRzeW5jL3RlbXBvcmFyeS1wZWVyL3JlbW92YWw=", "203.0.113.7/32");
	assert_true(sim_has_temp(&s));
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(b->get(b, "wgsim", &dev), 0);
	assert_int_equal(dev.n_peers, 2);
	for (size_t i = 0; i < dev.n_peers; i++)
		assert_false(wg_is_temp_peer(&dev.peers[i].key));
	assert_allowed(peer_of(&dev, KEY_A), a, 3);
	wg_device_free(&dev);
	assert_false(sim_has_temp(&s));
	assert_int_equal(s.n_req, 2);
	assert_string_equal(s.req[1], "set=1\npublic_key=" HEX_TEMP "\nremove=true\n\n");

	/* Gone: a second get sends nothing else. */
	assert_int_equal(b->get(b, "wgsim", &dev), 0);
	wg_device_free(&dev);
	assert_int_equal(s.n_req, 3);
	b->destroy(b);
	sim_free(&s);
}

static void test_backend_errors(void **state)
{
	struct sim s;
	struct wg_backend *b;
	struct wg_device dev;
	struct change ch[] = {
		allowed(true, KEY_B, "203.0.113.0/24"),
		route_add("198.51.100.0/24"),
		allowed(false, KEY_A, "198.51.100.0/24"),
	};
	int err[3];

	(void)state;
	sim_setup(&s);
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);

	/* No socket: -ENODEV everywhere; routes are not this backend's. */
	s.transport = -ENODEV;
	assert_int_equal(b->get(b, "wgsim", &dev), -ENODEV);
	assert_int_equal(dev.n_peers, 0);
	assert_int_equal(b->apply(b, "wgsim", ch, 3, err), -ENODEV);
	assert_int_equal(err[0], -ENODEV);
	assert_int_equal(err[1], 0);
	assert_int_equal(err[2], -ENODEV);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_UNKNOWN);

	/* Adds alone need no removal mode. */
	s.transport = 0;
	sim_free(&s);
	assert_int_equal(b->apply(b, "wgsim", ch, 2, err), 0);
	assert_int_equal(s.n_req, 1);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_UNKNOWN);

	/* The device refuses a temporary-peer transaction: each change of it
	 * fails with the errno, and the mode is found again next time. */
	assert_int_equal(b->apply(b, "wgsim", &ch[2], 1, err), 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_TEMP_PEER);
	ch[2] = allowed(false, KEY_A, "192.0.2.2/32");
	s.fail_sets = 1;
	assert_int_equal(b->apply(b, "wgsim", ch, 3, err), -EIO);
	assert_int_equal(err[0], -EIO);
	assert_int_equal(err[1], 0);
	assert_int_equal(err[2], -EIO);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_UNKNOWN);
	assert_int_equal(b->apply(b, "wgsim", &ch[2], 1, err), 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_TEMP_PEER);
	static const char *const a_left[] = {"2001:db8:a::/48"};
	assert_sim_peer(&s, KEY_A, a_left, 1);

	/* A get refused by the device. */
	s.fail_sets = 0;
	b->destroy(b);
	sim_free(&s);
}

/* A temporary-peer transaction that fails half way, after the temporary
 * peer took the prefix: the temporary peer is removed at once, not left
 * for the next read, and the mode is found again at the next removal. */
static void test_backend_temp_peer_failed_half_way(void **state)
{
	static const char *const a_left[] = {"192.0.2.2/32"};
	struct sim s;
	struct wg_backend *b;
	struct change ch[] = {allowed(false, KEY_A, "198.51.100.0/24")};
	int err[1];
	size_t before;

	(void)state;
	sim_setup(&s);
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_TEMP_PEER);
	ch[0] = allowed(false, KEY_A, "2001:db8:a::/48");
	s.fail_at_remove = 1;
	before = s.n_req;
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), -EIO);
	assert_int_equal(err[0], -EIO);
	assert_false(sim_has_temp(&s));
	assert_int_equal(s.n_req, before + 2);
	assert_string_equal(s.req[s.n_req - 1],
			    "set=1\npublic_key=" HEX_TEMP "\nremove=true\n\n");
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_UNKNOWN);
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_TEMP_PEER);
	assert_sim_peer(&s, KEY_A, a_left, 1);
	assert_false(sim_has_temp(&s));
	b->destroy(b);
	sim_free(&s);
}

/* A probe answered with an error that is no refusal (here EIO) decides
 * nothing: the change fails, the temporary peer is removed in case, and
 * the next removal probes again. */
static void test_backend_probe_error(void **state)
{
	struct sim s;
	struct wg_backend *b;
	struct change ch[] = {allowed(false, KEY_A, "2001:db8:a::/48")};
	int err[1];

	(void)state;
	sim_setup(&s);
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	s.fail_sets = 1;
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), -EIO);
	assert_int_equal(err[0], -EIO);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_UNKNOWN);
	assert_int_equal(s.n_req, 2);
	assert_string_equal(s.req[1], "set=1\npublic_key=" HEX_TEMP "\nremove=true\n\n");
	assert_false(sim_has_temp(&s));
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), 0);
	assert_int_equal(remove_mode(b, "wgsim"), WG_REMOVE_TEMP_PEER);
	b->destroy(b);
	sim_free(&s);
}

/* The same prefix twice in one list: separate transactions, in order. */
static void test_backend_rounds(void **state)
{
	static const char *const b_now[] = {"2001:db8:b::/64", "203.0.113.0/24"};
	struct sim s;
	struct wg_backend *b;
	struct change ch[] = {
		allowed(true, KEY_A, "203.0.113.0/24"),
		allowed(true, KEY_B, "203.0.113.0/24"),
	};
	int err[2];

	(void)state;
	sim_setup(&s);
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(b->apply(b, "wgsim", ch, 2, err), 0);
	assert_int_equal(s.n_req, 2);
	assert_sim_peer(&s, KEY_B, b_now, 2);
	b->destroy(b);
	sim_free(&s);
}

/* ---------------------------------------------------------------------- */
/* The automatic choice                                                    */

struct stub {
	struct wg_backend base;
	const char *const *devices; /* the interfaces it has */
	int gets, applies;
	int error; /* for every get when not 0 */
};

static bool stub_has(struct stub *s, const char *ifname)
{
	for (size_t i = 0; s->devices[i]; i++)
		if (!strcmp(s->devices[i], ifname))
			return true;
	return false;
}

static int stub_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct stub *s = (struct stub *)b;

	memset(dev, 0, sizeof(*dev));
	s->gets++;
	if (s->error)
		return s->error;
	return stub_has(s, ifname) ? 0 : -ENODEV;
}

static int stub_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		      size_t n, int *err)
{
	struct stub *s = (struct stub *)b;

	s->applies++;
	for (size_t i = 0; i < n; i++)
		err[i] = stub_has(s, ifname) ? 0 : -ENODEV;
	(void)ch;
	return stub_has(s, ifname) ? 0 : -ENODEV;
}

static int stubs_destroyed;

static void stub_destroy(struct wg_backend *b)
{
	(void)b;
	stubs_destroyed++;
}

static void test_auto_choice(void **state)
{
	static const char *kernel_devs[] = {"wgk", NULL, NULL};
	static const char *uapi_devs[] = {"wgu", NULL, NULL};
	struct stub genl = {{"genl", stub_get, stub_apply, stub_destroy, false, NULL,
			     NULL, NULL, NULL, NULL},
			    kernel_devs,
			    0,
			    0,
			    0};
	struct stub uapi = {{"uapi", stub_get, stub_apply, stub_destroy, false, NULL,
			     NULL, NULL, NULL, NULL},
			    uapi_devs,
			    0,
			    0,
			    0};
	struct wg_backend *a = wg_backend_auto_new_with(&genl.base, &uapi.base);
	struct change ch[] = {allowed(true, KEY_A, "192.0.2.0/24")};
	struct wg_device dev;
	int err[1];

	(void)state;
	assert_non_null(a);
	/* A kernel device: the kernel backend, from then on without asking
	 * the other. */
	assert_int_equal(a->get(a, "wgk", &dev), 0);
	assert_int_equal(a->get(a, "wgk", &dev), 0);
	assert_int_equal(a->apply(a, "wgk", ch, 1, err), 0);
	assert_int_equal(genl.gets, 2);
	assert_int_equal(genl.applies, 1);
	assert_int_equal(uapi.gets, 0);
	assert_int_equal(uapi.applies, 0);

	/* Not a kernel device: the UAPI socket. */
	assert_int_equal(a->get(a, "wgu", &dev), 0);
	assert_int_equal(uapi.gets, 1);
	assert_int_equal(a->apply(a, "wgu", ch, 1, err), 0);
	assert_int_equal(uapi.applies, 1);
	assert_int_equal(genl.gets, 3);

	/* An apply before any get chooses first. */
	uapi_devs[1] = "wgu2";
	assert_int_equal(a->apply(a, "wgu2", ch, 1, err), 0);
	assert_int_equal(uapi.applies, 2);

	/* Neither has it. */
	assert_int_equal(a->get(a, "wgnone", &dev), -ENODEV);
	err[0] = 0;
	assert_int_equal(a->apply(a, "wgnone", ch, 1, err), -ENODEV);
	assert_int_equal(err[0], -ENODEV);

	/* The device goes and comes back as the other kind: chosen again. */
	kernel_devs[0] = "gone";
	uapi_devs[0] = "wgk";
	int before = uapi.gets;
	assert_int_equal(a->get(a, "wgk", &dev), 0);
	assert_int_equal(uapi.gets, before + 1);
	assert_int_equal(a->apply(a, "wgk", ch, 1, err), 0);
	assert_int_equal(uapi.applies, 3);

	/* The kernel side fails in another way (no permission, say) for a
	 * UAPI device: the UAPI device is still found... */
	genl.error = -EPERM;
	uapi_devs[1] = "wgu3";
	assert_int_equal(a->get(a, "wgu3", &dev), 0);
	assert_int_equal(a->apply(a, "wgu3", ch, 1, err), 0);
	assert_int_equal(uapi.applies, 4);
	/* ...and for a device neither has, the kernel's error is told. */
	assert_int_equal(a->get(a, "wgnone2", &dev), -EPERM);
	genl.error = 0;
	kernel_devs[1] = "wgnone2";
	assert_int_equal(a->get(a, "wgnone2", &dev), 0);
	assert_int_equal(a->apply(a, "wgnone2", ch, 1, err), 0);
	assert_int_equal(genl.applies, 2);

	a->destroy(a);
	assert_int_equal(stubs_destroyed, 2);
}

/* Without a kernel backend (no generic netlink at all): UAPI only. */
static void test_auto_without_kernel(void **state)
{
	static const char *uapi_devs[] = {"wgu", NULL};
	struct stub uapi = {{"uapi", stub_get, stub_apply, stub_destroy, false, NULL,
			     NULL, NULL, NULL, NULL},
			    uapi_devs,
			    0,
			    0,
			    0};
	struct wg_backend *a = wg_backend_auto_new_with(NULL, &uapi.base);
	struct wg_device dev;

	(void)state;
	assert_non_null(a);
	stubs_destroyed = 0;
	assert_int_equal(a->get(a, "wgu", &dev), 0);
	assert_int_equal(a->get(a, "wgx", &dev), -ENODEV);
	a->destroy(a);
	assert_int_equal(stubs_destroyed, 1);
	assert_null(wg_backend_auto_new_with(NULL, NULL));
}

/* ---------------------------------------------------------------------- */
/* The idle poll's read: fingerprint first, snapshot only when it differs  */

static void test_parse_fingerprint_matches_snapshot(void **state)
{
	static const char *const names[] = {"get-one-peer.txt", "get-multi-peer.txt",
					    "get-many-allowed.txt", "get-temp-peer.txt",
					    "get-nopeers.txt"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct text t = load(names[i]);
		struct wg_device dev;
		struct wg_key pub;
		uint64_t fp = 1;
		bool temp1, temp2;

		assert_int_equal(wg_uapi_parse_get(t.data, t.len, &dev, &temp1), 0);
		assert_int_equal(
			wg_uapi_parse_fingerprint(t.data, t.len, &pub, &fp, &temp2), 0);
		assert_true(fp == wg_device_fingerprint(&dev));
		assert_int_equal(wg_key_cmp(&pub, &dev.pubkey), 0);
		assert_int_equal(temp1, temp2);
		wg_device_free(&dev);
		/* What the snapshot parser refuses, so does this one. */
		assert_int_equal(
			wg_uapi_parse_fingerprint(t.data, t.len - 1, &pub, &fp, &temp2),
			-EBADMSG);
		free(t.data);
	}
}

/* The reply fed in chunks of step bytes, as the backend reads the socket. */
static int parse_in_chunks(const char *text, size_t len, size_t step,
			   struct wg_device *dev)
{
	struct wg_uapi_get g;
	int fed = 0;

	wg_uapi_get_init(&g, dev, WG_UAPI_SNAPSHOT);
	for (size_t at = 0; at < len && fed == 0; at += step)
		fed = wg_uapi_get_feed(&g, text + at, len - at < step ? len - at : step);
	return wg_uapi_get_end(&g, fed);
}

/* A line longer than WG_UAPI_LINE_MAX (no reply has one) is refused however
 * the reply arrives: it was taken in one read and refused when a read split
 * it. The fuzz target found it (tests/fixtures/fuzz/README.md). A line of
 * exactly WG_UAPI_LINE_MAX bytes is taken either way. */
static void test_line_limit_however_split(void **state)
{
	static const size_t steps[] = {1, 7, 100, 4096};
	struct text t = {0};
	struct wg_device dev;
	char edge[WG_UAPI_LINE_MAX + 32];
	int n;

	(void)state;
	t.data = read_source_file("tests/fixtures/fuzz/uapi_get/long-line.txt", &t.len);
	assert_int_equal(wg_uapi_parse_get(t.data, t.len, &dev, NULL), -EBADMSG);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		assert_int_equal(parse_in_chunks(t.data, t.len, steps[i], &dev),
				 -EBADMSG);
	text_free(&t);

	n = snprintf(edge, sizeof(edge), "endpoint=%0*d\nerrno=0\n\n",
		     WG_UAPI_LINE_MAX - 9, 0);
	assert_true(n > 0 && (size_t)n < sizeof(edge));
	assert_ptr_equal(strchr(edge, '\n'), edge + WG_UAPI_LINE_MAX);
	assert_int_equal(wg_uapi_parse_get(edge, (size_t)n, &dev, NULL), 0);
	wg_device_free(&dev);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(parse_in_chunks(edge, (size_t)n, steps[i], &dev), 0);
		wg_device_free(&dev);
	}
}

static void test_backend_get_changed(void **state)
{
	struct sim s;
	struct wg_backend *b;
	struct wg_device dev, again;
	struct change ch[] = {allowed(true, KEY_B, "203.0.113.0/24")};
	uint64_t fp;
	bool same = true;
	int err[1];

	(void)state;
	sim_setup(&s);
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(b->get(b, "wgsim", &dev), 0);
	fp = wg_device_fingerprint(&dev);
	/* Unchanged: only the public key, no peers. */
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same), 0);
	assert_true(same);
	assert_int_equal(again.n_peers, 0);
	assert_null(again.peers);
	assert_int_equal(wg_key_cmp(&again.pubkey, &dev.pubkey), 0);
	/* Changed: the whole snapshot. */
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), 0);
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same), 0);
	assert_false(same);
	assert_int_equal(again.n_peers, dev.n_peers);
	assert_true(wg_device_fingerprint(&again) != fp);
	fp = wg_device_fingerprint(&again);
	wg_device_free(&again);
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same), 0);
	assert_true(same);
	/* A transport error is passed on. */
	s.transport = -ETIMEDOUT;
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same),
			 -ETIMEDOUT);
	assert_false(same);
	wg_device_free(&dev);
	b->destroy(b);
	sim_free(&s);
}

/* The poll's memo keys on the text, but what it answers is the content:
 * counters that move change nothing, the same AllowedIPs written another
 * way are the same device, and a text it has not seen is parsed (and
 * refused when bad) before anything is said of it. */
static void test_get_changed_memo(void **state)
{
	struct sim s;
	struct wg_backend *b;
	struct wg_device dev, again;
	struct change ch[] = {allowed(true, KEY_B, "203.0.113.0/24")};
	uint64_t fp;
	size_t before;
	bool same = false;
	int err[1];

	(void)state;
	sim_setup(&s);
	b = wg_uapi_backend_new_exchange(sim_exchange, &s);
	assert_non_null(b);
	assert_int_equal(b->get(b, "wgsim", &dev), 0);
	fp = wg_device_fingerprint(&dev);
	for (int i = 0; i < 3; i++) { /* rx_bytes differs every time */
		before = s.n_req;
		assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same),
				 0);
		assert_true(same);
		assert_int_equal(s.n_req, before + 1);
		assert_int_equal(wg_key_cmp(&again.pubkey, &dev.pubkey), 0);
	}
	/* The same text, another model: the snapshot, from that one read. */
	before = s.n_req;
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp ^ 1, &again, &same), 0);
	assert_false(same);
	assert_int_equal(s.n_req, before + 1);
	assert_true(wg_device_fingerprint(&again) == fp);
	wg_device_free(&again);
	/* Written out in full: another text, the same device. */
	s.long_form = true;
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same), 0);
	assert_true(same);
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp ^ 1, &again, &same), 0);
	assert_false(same);
	assert_true(wg_device_fingerprint(&again) == fp);
	wg_device_free(&again);
	/* Changed behind the model's back. */
	assert_int_equal(b->apply(b, "wgsim", ch, 1, err), 0);
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same), 0);
	assert_false(same);
	assert_true(wg_device_fingerprint(&again) != fp);
	fp = wg_device_fingerprint(&again);
	wg_device_free(&again);
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same), 0);
	assert_true(same);
	/* A bad line is found although the text before it was seen. */
	s.bad_line = "allowed_ip=2001:db8::zz/64\n";
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same), -EBADMSG);
	assert_false(same);
	assert_int_equal(again.n_peers, 0);
	s.bad_line = NULL;
	assert_int_equal(wg_backend_get_changed(b, "wgsim", fp, &again, &same), 0);
	assert_true(same);
	wg_device_free(&dev);
	b->destroy(b);
	sim_free(&s);
}

/* ---------------------------------------------------------------------- */
/* The socket transport                                                    */

/* What the stand-in server answers get=1 with (NULL: "errno=0"); it
 * writes it in small pieces, so that lines arrive split over reads. */
static struct text get_reply;

static void send_reply(int fd, bool get)
{
	if (!get || !get_reply.data) {
		if (write(fd, "errno=0\n\n", 9) != 9)
			_exit(1);
		return;
	}
	for (size_t at = 0; at < get_reply.len; at += 13) {
		size_t n = get_reply.len - at < 13 ? get_reply.len - at : 13;

		if (write(fd, get_reply.data + at, n) != (ssize_t)n)
			_exit(1);
		usleep(20);
	}
}

/* One request (up to its blank line) into buf: its length, 0 when the
 * client closed the connection before it, -1 for anything else. */
static ssize_t read_request(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);
		if (n <= 0)
			return n == 0 && len == 0 ? 0 : -1;
		len += (size_t)n;
		if (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n')
			return (ssize_t)len;
	}
	return -1;
}

/* A listening socket for dir/wgt0.sock (its address in *sun). */
static int listen_at(const char *dir, struct sockaddr_un *sun)
{
	int lfd;

	*sun = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/wgt0.sock", dir);
	unlink(sun->sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)sun, sizeof(*sun)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	return lfd;
}

/* A stand-in UAPI server: answers `total` requests, keeping each
 * connection for more (keep) or closing it after one reply, then reports
 * how many connections it accepted. */
static void serve(int lfd, int total, bool keep, int report)
{
	int accepted = 0, done = 0;

	while (done < total) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			_exit(1);
		accepted++;
		for (;;) {
			char buf[4096];

			if (read_request(fd, buf, sizeof(buf)) <= 0)
				break;
			send_reply(fd, !strncmp(buf, "get=1\n", 6));
			if (!keep || ++done == total)
				break;
		}
		if (!keep)
			done++;
		close(fd);
	}
	if (write(report, &accepted, sizeof(accepted)) != sizeof(accepted))
		_exit(1);
	_exit(0);
}

static int connections_for(const char *dir, int total, bool keep)
{
	struct sockaddr_un sun;
	struct wg_backend *b = wg_uapi_backend_new(dir);
	struct wg_device dev;
	int lfd, fds[2], accepted = -1, status;
	pid_t pid;

	assert_non_null(b);
	lfd = listen_at(dir, &sun);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		serve(lfd, total, keep, fds[1]);
	}
	close(fds[1]);
	close(lfd);
	for (int i = 0; i < total; i++) {
		assert_int_equal(b->get(b, "wgt0", &dev), 0);
		wg_device_free(&dev);
	}
	assert_int_equal(read(fds[0], &accepted, sizeof(accepted)), sizeof(accepted));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The server is gone and so is its socket: no such device. */
	unlink(sun.sun_path);
	assert_int_equal(b->get(b, "wgt0", &dev), -ENODEV);
	b->destroy(b);
	return accepted;
}

/* What a stand-in server that stays up until its client goes shares with
 * the test: which of two texts it answers get=1 with, and how many get=1
 * requests it has answered (counted before the reply goes out, so the
 * count is up to date once a read returns). */
struct poll_server {
	int variant;
	int gets, accepted;
};

static struct text get_variant[2];

static void serve_until_closed(int lfd, struct poll_server *sh)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(1);
	sh->accepted++;
	for (;;) {
		char buf[4096];
		ssize_t len = read_request(fd, buf, sizeof(buf));

		if (len == 0)
			_exit(0); /* the client went */
		if (len < 0 || strncmp(buf, "get=1\n", 6))
			_exit(1);
		get_reply = get_variant[sh->variant != 0];
		__atomic_add_fetch(&sh->gets, 1, __ATOMIC_SEQ_CST);
		send_reply(fd, true);
	}
}

/* A backend over dir and serve_until_closed() behind it, in *pid. */
static struct wg_backend *poll_server_start(const char *dir, struct poll_server *sh,
					    pid_t *pid)
{
	struct sockaddr_un sun;
	struct wg_backend *b;
	int lfd = listen_at(dir, &sun);

	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
		serve_until_closed(lfd, sh);
	}
	close(lfd);
	b = wg_uapi_backend_new(dir);
	assert_non_null(b);
	return b;
}

/* The backend gone, its connection closed: the server ends well. */
static void poll_server_stop(struct wg_backend *b, pid_t pid)
{
	int status;

	b->destroy(b);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* t with one AllowedIP more on its first peer: changed by hand. */
static struct text with_extra_allowed(struct text t)
{
	static const char extra[] = "allowed_ip=203.0.113.77/32\n";
	const char *pk = memmem(t.data, t.len, "public_key=", 11);
	const char *nl = pk ? memchr(pk, '\n', t.len - (size_t)(pk - t.data)) : NULL;
	size_t at = nl ? (size_t)(nl + 1 - t.data) : 0;
	struct text v = {malloc(t.len + sizeof(extra) - 1), t.len + sizeof(extra) - 1};

	assert_non_null(nl);
	assert_non_null(v.data);
	memcpy(v.data, t.data, at);
	memcpy(v.data + at, extra, sizeof(extra) - 1);
	memcpy(v.data + at + sizeof(extra) - 1, t.data + at, t.len - at);
	return v;
}

/* Memory the stand-in server (a child) and the test share. */
static void *shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		       0);

	assert_true(p != MAP_FAILED);
	memset(p, 0, size);
	return p;
}

/* In a new directory dir: serve_until_closed() answering get=1 with the
 * two variants of get-many-allowed.txt (sh->variant says which), and a
 * backend over it. */
static struct wg_backend *variants_start(char *dir, struct poll_server **sh, pid_t *pid)
{
	assert_non_null(mkdtemp(dir));
	get_variant[0] = load("get-many-allowed.txt");
	get_variant[1] = with_extra_allowed(get_variant[0]);
	*sh = shared(sizeof(**sh));
	return poll_server_start(dir, *sh, pid);
}

/* What variants_start() made, once its server has stopped. */
static void variants_end(const char *dir, struct poll_server *sh)
{
	char path[PATH_MAX];

	get_reply.data = NULL;
	for (int i = 0; i < 2; i++)
		free(get_variant[i].data);
	munmap(sh, sizeof(*sh));
	snprintf(path, sizeof(path), "%s/wgt0.sock", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* One poll over the socket, and the get=1 requests it cost. */
static int poll_gets(struct wg_backend *b, struct poll_server *sh, uint64_t known,
		     struct wg_device *dev, bool *same)
{
	int before = __atomic_load_n(&sh->gets, __ATOMIC_SEQ_CST);

	assert_int_equal(wg_backend_get_changed(b, "wgt0", known, dev, same), 0);
	return __atomic_load_n(&sh->gets, __ATOMIC_SEQ_CST) - before;
}

/* The idle poll over a real socket reads the device once, whatever it
 * finds: the text it hashed is the one parsed into a fingerprint when it
 * is new, and into the snapshot when that differs from the model's. One
 * kept connection throughout. */
static void test_socket_one_read_per_poll(void **state)
{
	char dir[] = "/tmp/wgrs-uapi-XXXXXX";
	struct poll_server *sh;
	struct wg_backend *b;
	struct wg_device dev, again;
	uint64_t fp, fp_more;
	bool same = false;
	pid_t pid;

	(void)state;
	b = variants_start(dir, &sh, &pid);
	assert_int_equal(b->get(b, "wgt0", &dev), 0);
	assert_true(dev.n_peers > 0);
	fp = wg_device_fingerprint(&dev);

	/* The first poll: no text seen yet, the model's fingerprint. */
	assert_int_equal(poll_gets(b, sh, fp, &again, &same), 1);
	assert_true(same);
	assert_int_equal(again.n_peers, 0);
	assert_int_equal(wg_key_cmp(&again.pubkey, &dev.pubkey), 0);
	/* Changed by hand: a new text, a new fingerprint, the snapshot. */
	sh->variant = 1;
	assert_int_equal(poll_gets(b, sh, fp, &again, &same), 1);
	assert_false(same);
	fp_more = wg_device_fingerprint(&again);
	assert_true(fp_more != fp);
	assert_int_equal(again.n_peers, dev.n_peers);
	wg_device_free(&again);
	/* Idle: the text seen before, hashed unparsed. */
	assert_int_equal(poll_gets(b, sh, fp_more, &again, &same), 1);
	assert_true(same);
	/* Changed by the daemon itself: a new text, the fingerprint the
	 * model already holds, no snapshot. */
	sh->variant = 0;
	assert_int_equal(poll_gets(b, sh, fp, &again, &same), 1);
	assert_true(same);
	assert_null(again.peers);
	/* A known text, another model: the snapshot of that text. */
	assert_int_equal(poll_gets(b, sh, fp ^ 1, &again, &same), 1);
	assert_false(same);
	assert_true(wg_device_fingerprint(&again) == fp);
	wg_device_free(&again);
	/* The first poll after a restart of the backend, the device changed:
	 * fingerprint and snapshot of one text. */
	poll_server_stop(b, pid);
	assert_int_equal(sh->accepted, 1);
	sh->variant = 1;
	b = poll_server_start(dir, sh, &pid);
	assert_int_equal(poll_gets(b, sh, fp, &again, &same), 1);
	assert_false(same);
	assert_true(wg_device_fingerprint(&again) == fp_more);
	wg_device_free(&again);
	poll_server_stop(b, pid);

	wg_device_free(&dev);
	variants_end(dir, sh);
}

/* A poll read in pieces to its end: the fd waited on (with a deadline)
 * between steps; the number of steps in *steps. */
static int poll_in_pieces(struct wg_backend *b, uint64_t known, struct wg_device *dev,
			  bool *same, int *steps)
{
	int fd, r = wg_backend_poll_start(b, "wgt0", known, &fd);

	*steps = 0;
	if (r)
		return r;
	do {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		assert_int_equal(poll(&p, 1, 5000), 1);
		r = b->poll_step(b, &fd, dev, same);
		++*steps;
	} while (r == 0);
	return r;
}

/* Read in pieces from the caller's loop, the idle poll finds what the
 * whole read finds, from one get=1 each, whichever text the device holds;
 * the read then leaves the connection as it was (blocking, kept). */
static void test_socket_poll_in_pieces(void **state)
{
	char dir[] = "/tmp/wgrs-uapi-XXXXXX";
	struct poll_server *sh;
	struct wg_backend *b;
	struct wg_device dev, whole, piece;
	bool same_whole, same_piece;
	uint64_t fp, fp_more, known[] = {0, 0, 0, 0, 0};
	int variant[] = {0, 1, 1, 0, 0}, steps, gets;
	pid_t pid;

	(void)state;
	b = variants_start(dir, &sh, &pid);
	assert_int_equal(b->get(b, "wgt0", &dev), 0);
	fp = wg_device_fingerprint(&dev);
	sh->variant = 1;
	assert_int_equal(b->get(b, "wgt0", &whole), 0);
	fp_more = wg_device_fingerprint(&whole);
	wg_device_free(&whole);
	/* First poll, changed by hand, idle, changed by the daemon, another
	 * model: the cases of test_socket_one_read_per_poll. */
	known[0] = fp;
	known[1] = fp;
	known[2] = fp_more;
	known[3] = fp;
	known[4] = fp ^ 1;
	for (int i = 0; i < 5; i++) {
		sh->variant = variant[i];
		assert_int_equal(poll_gets(b, sh, known[i], &whole, &same_whole), 1);
		gets = __atomic_load_n(&sh->gets, __ATOMIC_SEQ_CST);
		assert_int_equal(poll_in_pieces(b, known[i], &piece, &same_piece, &steps),
				 1);
		assert_int_equal(__atomic_load_n(&sh->gets, __ATOMIC_SEQ_CST), gets + 1);
		/* The stand-in writes 13 bytes at a time. */
		assert_true(steps > 1);
		assert_int_equal(same_piece, same_whole);
		assert_int_equal(wg_key_cmp(&piece.pubkey, &whole.pubkey), 0);
		assert_int_equal(piece.n_peers, whole.n_peers);
		if (!same_whole)
			assert_true(wg_device_fingerprint(&piece) ==
				    wg_device_fingerprint(&whole));
		wg_device_free(&whole);
		wg_device_free(&piece);
	}
	/* One connection throughout, blocking again for the whole reads. */
	poll_server_stop(b, pid);
	assert_int_equal(sh->accepted, 1);

	wg_device_free(&dev);
	variants_end(dir, sh);
}

/* A serial stand-in: one connection at a time, as wireguard-go serves
 * requests under its device lock: a get=1 is answered with a large text
 * in 64 KiB writes, and the next connection waits until that text is
 * written or the client closed its end. */
struct serial_server {
	int accepted, gets, sets;
	int cut_short; /* replies the client closed before they were written */
	bool held;     /* get=1: the text's first peer, a malformed AllowedIP,
			* and nothing more until the client closes */
};

static struct text big_text;

/* The held reply: it never ends; the client's close ends the connection. */
static void send_held(int fd)
{
	static const char bad[] = "allowed_ip=not-a-prefix\n";
	const char *pk = memmem(big_text.data, big_text.len, "public_key=", 11);
	const char *nl =
		pk ? memchr(pk, '\n', big_text.len - (size_t)(pk - big_text.data)) : NULL;
	size_t len = nl ? (size_t)(nl + 1 - big_text.data) : 0;
	char c;

	if (!nl || write(fd, big_text.data, len) != (ssize_t)len ||
	    write(fd, bad, sizeof(bad) - 1) != (ssize_t)sizeof(bad) - 1)
		_exit(1);
	while (read(fd, &c, 1) > 0)
		;
}

static void serve_serially(int lfd, struct serial_server *sh)
{
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			_exit(1);
		__atomic_add_fetch(&sh->accepted, 1, __ATOMIC_SEQ_CST);
		for (;;) {
			char buf[4096];
			ssize_t len = read_request(fd, buf, sizeof(buf));
			bool get = len > 0 && !strncmp(buf, "get=1\n", 6);
			size_t at = 0;

			if (len <= 0)
				break;
			if (!get) {
				__atomic_add_fetch(&sh->sets, 1, __ATOMIC_SEQ_CST);
				if (write(fd, "errno=0\n\n", 9) != 9)
					break;
				continue;
			}
			__atomic_add_fetch(&sh->gets, 1, __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&sh->held, __ATOMIC_SEQ_CST)) {
				send_held(fd);
				break;
			}
			while (at < big_text.len) {
				size_t n = big_text.len - at < 65536 ? big_text.len - at
								     : 65536;
				ssize_t w = send(fd, big_text.data + at, n, MSG_NOSIGNAL);

				if (w <= 0)
					break;
				at += (size_t)w;
			}
			if (at < big_text.len) {
				__atomic_add_fetch(&sh->cut_short, 1, __ATOMIC_SEQ_CST);
				break;
			}
		}
		close(fd);
	}
}

/* t with n AllowedIPs more on its first peer (198.18.0.0 onwards). */
static struct text with_many_allowed(struct text t, size_t n)
{
	const char *pk = memmem(t.data, t.len, "public_key=", 11);
	const char *nl = pk ? memchr(pk, '\n', t.len - (size_t)(pk - t.data)) : NULL;
	size_t at = nl ? (size_t)(nl + 1 - t.data) : 0;
	struct buf v = {0};

	assert_non_null(nl);
	assert_int_equal(buf_append(&v, t.data, at), 0);
	for (size_t i = 0; i < n; i++) {
		char line[64];

		snprintf(line, sizeof(line), "allowed_ip=198.%zu.%zu.%zu/32\n",
			 18 + i / 65536, i / 256 % 256, i % 256);
		assert_int_equal(buf_puts(&v, line), 0);
	}
	assert_int_equal(buf_append(&v, t.data + at, t.len - at), 0);
	return (struct text){v.data, v.len};
}

struct serial {
	char dir[32];
	struct serial_server *sh;
	struct wg_backend *b;
	pid_t pid;
	struct wg_device dev; /* the device read whole first */
};

static void serial_start(struct serial *s)
{
	struct sockaddr_un sun;
	struct text base = load("get-many-allowed.txt");
	int lfd;

	snprintf(s->dir, sizeof(s->dir), "/tmp/wgrs-uapi-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	big_text = with_many_allowed(base, 100000); /* about 3 MB */
	free(base.data);
	s->sh = shared(sizeof(*s->sh));
	lfd = listen_at(s->dir, &sun);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		serve_serially(lfd, s->sh);
	}
	close(lfd);
	s->b = wg_uapi_backend_new(s->dir);
	assert_non_null(s->b);
	assert_int_equal(s->b->get(s->b, "wgt0", &s->dev), 0);
	assert_true(s->dev.n_peers > 0);
}

static void serial_stop(struct serial *s)
{
	char path[PATH_MAX];
	int status;

	s->b->destroy(s->b);
	kill(s->pid, SIGTERM);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	wg_device_free(&s->dev);
	free(big_text.data);
	munmap(s->sh, sizeof(*s->sh));
	snprintf(path, sizeof(path), "%s/wgt0.sock", s->dir);
	unlink(path);
	assert_int_equal(rmdir(s->dir), 0);
}

/* A read started and one piece read, of a reply larger than the socket
 * holds: the stand-in is still writing it. */
static int started_read(struct serial *s)
{
	struct wg_device dev;
	struct pollfd p = {.events = POLLIN};
	bool same;

	assert_int_equal(wg_backend_poll_start(s->b, "wgt0",
					       wg_device_fingerprint(&s->dev), &p.fd),
			 0);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(s->b->poll_step(s->b, &p.fd, &dev, &same), 0);
	return p.fd;
}

/* Abandoning the read closes the connection: the stand-in's reply is cut
 * short, and it serves the next request, which is answered in full. */
static void test_socket_poll_abort_frees_server(void **state)
{
	struct serial s;
	struct wg_device dev;

	(void)state;
	serial_start(&s);
	started_read(&s);
	assert_int_equal(s.sh->cut_short, 0);
	s.b->poll_abort(s.b);
	assert_int_equal(s.b->get(s.b, "wgt0", &dev), 0);
	assert_int_equal(s.sh->cut_short, 1);
	assert_int_equal(s.sh->gets, 3);
	assert_int_equal(s.sh->accepted, 2);
	assert_true(wg_device_fingerprint(&dev) == wg_device_fingerprint(&s.dev));
	wg_device_free(&dev);
	serial_stop(&s);
}

/* A change to the device being read goes first: the read is abandoned
 * (its connection closed, which frees the stand-in), the change applied,
 * and the read says it was abandoned; the next one reads to its end. */
static void test_socket_apply_abandons_read(void **state)
{
	struct change ch[] = {allowed(true, KEY_A, "203.0.113.99/32")};
	struct wg_device dev;
	struct serial s;
	bool same;
	int err[1], fd, steps;

	(void)state;
	serial_start(&s);
	fd = started_read(&s);
	assert_int_equal(s.b->apply(s.b, "wgt0", ch, 1, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(s.sh->sets, 1);
	assert_int_equal(s.sh->cut_short, 1);
	assert_int_equal(s.b->poll_step(s.b, &fd, &dev, &same), -ECANCELED);
	assert_int_equal(s.b->poll_step(s.b, &fd, &dev, &same), -EINVAL);
	/* A poll after it, in pieces, to its end. */
	assert_int_equal(
		poll_in_pieces(s.b, wg_device_fingerprint(&s.dev), &dev, &same, &steps),
		1);
	assert_true(same);
	assert_true(steps > 1);
	assert_int_equal(s.sh->gets, 3);
	serial_stop(&s);
}

/* After a change of ours the device's next text is new anyway: that poll
 * parses it as it arrives, in the loop's pieces, instead of hashing it and
 * then parsing all of it at once after its last byte, while route events
 * wait. A device nobody changed is only hashed as it arrives. A malformed
 * AllowedIP shows which: after our change it fails the read at once; on
 * the unchanged device the read waits for the rest of the reply. */
static void test_socket_poll_after_set_parses_as_it_arrives(void **state)
{
	struct change ch[] = {allowed(true, KEY_A, "203.0.113.99/32")};
	struct pollfd p = {.events = POLLIN};
	struct wg_device dev;
	struct serial s;
	uint64_t fp;
	bool same;
	int err[1], steps, r;

	(void)state;
	serial_start(&s);
	fp = wg_device_fingerprint(&s.dev);
	assert_int_equal(poll_in_pieces(s.b, fp, &dev, &same, &steps), 1);
	assert_true(same);
	s.sh->held = true;

	assert_int_equal(wg_backend_poll_start(s.b, "wgt0", fp, &p.fd), 0);
	while (poll(&p, 1, 300) == 1)
		assert_int_equal(s.b->poll_step(s.b, &p.fd, &dev, &same), 0);
	s.b->poll_abort(s.b);

	assert_int_equal(s.b->apply(s.b, "wgt0", ch, 1, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(wg_backend_poll_start(s.b, "wgt0", fp, &p.fd), 0);
	do {
		assert_int_equal(poll(&p, 1, 5000), 1);
		r = s.b->poll_step(s.b, &p.fd, &dev, &same);
	} while (r == 0);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(s.sh->sets, 1);
	serial_stop(&s);
}

static void test_socket_connection_kept(void **state)
{
	char dir[] = "/tmp/wgrs-uapi-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* wireguard-go: one connection serves them all. */
	assert_int_equal(connections_for(dir, 20, true), 1);
	/* boringtun: a closed connection is noticed, the request sent again on
	 * a fresh one, and after twice every request gets a fresh one. */
	assert_int_equal(connections_for(dir, 20, false), 20);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_no_key_no_peers),
		cmocka_unit_test(test_parse_one_peer),
		cmocka_unit_test(test_parse_multi_peer),
		cmocka_unit_test(test_parse_many_allowed),
		cmocka_unit_test(test_parse_temp_peer),
		cmocka_unit_test(test_temp_peer_key),
		cmocka_unit_test(test_errno_replies),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_malformed_text),
		cmocka_unit_test(test_parse_prefix),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_random_damage),
		cmocka_unit_test(test_encode_native),
		cmocka_unit_test(test_encode_temp_peer),
		cmocka_unit_test(test_encode_replace),
		cmocka_unit_test(test_encode_edges),
		cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_backend_temp_peer_path),
		cmocka_unit_test(test_backend_native_path),
		cmocka_unit_test(test_backend_replace_path),
		cmocka_unit_test(test_backend_replace_move),
		cmocka_unit_test(test_backend_get_removes_temp_peer),
		cmocka_unit_test(test_backend_errors),
		cmocka_unit_test(test_backend_temp_peer_failed_half_way),
		cmocka_unit_test(test_backend_probe_error),
		cmocka_unit_test(test_backend_rounds),
		cmocka_unit_test(test_auto_choice),
		cmocka_unit_test(test_auto_without_kernel),
		cmocka_unit_test(test_socket_connection_kept),
		cmocka_unit_test(test_socket_one_read_per_poll),
		cmocka_unit_test(test_socket_poll_in_pieces),
		cmocka_unit_test(test_socket_poll_abort_frees_server),
		cmocka_unit_test(test_socket_apply_abandons_read),
		cmocka_unit_test(test_socket_poll_after_set_parses_as_it_arrives),
		cmocka_unit_test(test_parse_fingerprint_matches_snapshot),
		cmocka_unit_test(test_line_limit_however_split),
		cmocka_unit_test(test_backend_get_changed),
		cmocka_unit_test(test_get_changed_memo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
