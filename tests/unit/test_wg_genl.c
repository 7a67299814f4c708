/* test_wg_genl: the kernel WireGuard backend (generic netlink).
 *
 * - The decoders against messages captured from kernel WireGuard 6.12
 *   (tests/fixtures/genl, README there), checked against what wg(8) printed
 *   for the same device: a peer continued over several dump messages, the
 *   temporary peer filtered and reported, the family id, the policy.
 * - Truncated and corrupted input: an error, never a crash (run it under
 *   valgrind or ASan).
 * - wg_genl_encode_set splits like wg(8).
 * - The backend logic over a fake kernel that behaves like 6.12 (or 6.16)
 *   does: removal detection, the temporary peer, the last resort. */
#include <errno.h>
#include <linux/genetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "genl_codec.h"
#include "testutil.h"
#include "wg_exchange.h"
#include "wg_testutil.h"

static const char *temp_b64 = "d2ctcnRzeW5jL3RlbXBvcmFyeS1wZWVyL3JlbW92YWw=";

/* ---- fixtures ---- */

struct blob {
	char *data;
	size_t len;
};

static struct blob load(const char *name)
{
	char rel[256];
	struct blob b = {0};
	FILE *f;
	long n;

	snprintf(rel, sizeof(rel), "tests/fixtures/genl/%s", name);
	f = fopen(src_path(rel), "rb");
	if (!f)
		fail_msg("cannot open fixture %s", rel);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.len = (size_t)n;
	b.data = malloc(b.len ? b.len : 1);
	assert_non_null(b.data);
	assert_int_equal(fread(b.data, 1, b.len, f), b.len);
	fclose(f);
	return b;
}

/* The messages of a fixture, one by one. */
static size_t count_msgs(const struct blob *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->data;
	int rest = (int)b->len;
	size_t n = 0;

	for (; mnl_nlmsg_ok(nlh, rest); nlh = mnl_nlmsg_next(nlh, &rest))
		n++;
	assert_int_equal(rest, 0);
	return n;
}

static const struct nlmsghdr *nth_msg(const struct blob *b, size_t i)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->data;
	int rest = (int)b->len;

	while (i--)
		nlh = mnl_nlmsg_next(nlh, &rest);
	assert_true(mnl_nlmsg_ok(nlh, rest));
	return nlh;
}

/* What `wg show IF dump` printed for the device (the capture's oracle). */
struct wg_text {
	struct wg_key pubkey;
	size_t n_peers;
	struct wg_peer peers[16];
};

static void load_wg_dump(const char *name, struct wg_text *t)
{
	struct blob b = load(name);
	char *save = NULL, *line;
	bool first = true;

	memset(t, 0, sizeof(*t));
	b.data = realloc(b.data, b.len + 1);
	b.data[b.len] = 0;
	for (line = strtok_r(b.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[9] = {0}, *fs = NULL;
		int nf = 0;

		for (char *x = strtok_r(line, "\t", &fs); x && nf < 9;
		     x = strtok_r(NULL, "\t", &fs))
			f[nf++] = x;
		if (first) {
			assert_int_equal(nf, 4);
			if (strcmp(f[1], "(none)"))
				t->pubkey = K(f[1]);
			first = false;
			continue;
		}
		assert_int_equal(nf, 8);
		assert_true(t->n_peers < 16);
		struct wg_peer *p = &t->peers[t->n_peers++];
		p->key = K(f[0]);
		if (!strcmp(f[3], "(none)"))
			continue;
		p->allowed = calloc(strlen(f[3]), sizeof(*p->allowed));
		char *is = NULL;
		for (char *x = strtok_r(f[3], ",", &is); x; x = strtok_r(NULL, ",", &is))
			p->allowed[p->n_allowed++] = P(x);
	}
	free(b.data);
}

static void free_wg_text(struct wg_text *t)
{
	for (size_t i = 0; i < t->n_peers; i++)
		free(t->peers[i].allowed);
}

static int cmp_prefix(const void *a, const void *b)
{
	return prefix_cmp(a, b);
}

static const struct wg_peer *find_peer(const struct wg_device *d, const struct wg_key *k)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (!wg_key_cmp(&d->peers[i].key, k))
			return &d->peers[i];
	return NULL;
}

/* dev equals what wg(8) printed, less the temporary peer. */
static void assert_device_matches(const struct wg_device *dev, struct wg_text *t)
{
	size_t expect = 0;

	assert_memory_equal(dev->pubkey.b, t->pubkey.b, WG_KEY_LEN);
	for (size_t i = 0; i < t->n_peers; i++) {
		struct wg_peer *want = &t->peers[i];
		const struct wg_peer *got = find_peer(dev, &want->key);
		struct prefix *sorted;

		if (wg_is_temp_peer(&want->key)) {
			assert_null(got);
			continue;
		}
		expect++;
		assert_non_null(got);
		assert_int_equal(got->n_allowed, want->n_allowed);
		if (!got->n_allowed)
			continue;
		sorted = malloc(got->n_allowed * sizeof(*sorted));
		memcpy(sorted, got->allowed, got->n_allowed * sizeof(*sorted));
		qsort(sorted, got->n_allowed, sizeof(*sorted), cmp_prefix);
		qsort(want->allowed, want->n_allowed, sizeof(*want->allowed), cmp_prefix);
		for (size_t j = 0; j < got->n_allowed; j++)
			assert_true(prefix_equal(&sorted[j], &want->allowed[j]));
		free(sorted);
	}
	assert_int_equal(dev->n_peers, expect);
}

/* ---- decoders against the captured messages ---- */

static uint16_t fixture_family(void)
{
	struct blob b = load("family.bin");
	uint16_t id = 0;

	assert_int_equal(wg_genl_parse_family(b.data, b.len, &id), 0);
	free(b.data);
	return id;
}

static void test_family(void **state)
{
	struct blob get = load("get-wgc0.bin"), missing = load("family-missing.bin");
	uint16_t id = fixture_family(), other = 1;

	(void)state;
	/* The id the controller gave is the one the dump came with. */
	assert_true(id >= GENL_MIN_ID);
	assert_int_equal(nth_msg(&get, 0)->nlmsg_type, id);
	assert_int_equal(wg_genl_parse_family(missing.data, missing.len, &other),
			 -ENOENT);
	assert_int_equal(other, 0);
	free(get.data);
	free(missing.data);
}

/* The temporary peer's key appears in the dump: the capture left it there. */
static size_t msgs_holding_key(const struct blob *b, const struct wg_key *k)
{
	size_t n = count_msgs(b), with = 0;

	for (size_t i = 0; i < n; i++) {
		const struct nlmsghdr *nlh = nth_msg(b, i);
		if (memmem(nlh, nlh->nlmsg_len, k->b, WG_KEY_LEN))
			with++;
	}
	return with;
}

static void check_dump_fixture(const char *bin, size_t min_msgs_for_b)
{
	struct blob b = load(bin);
	struct wg_text t;
	struct wg_device dev;
	bool temp = false;
	struct wg_key peer_b = K("dEyUc0XSDrgMK9Jj/dV0zmOc8wfKsfxHB7ZjD8vSeEI="),
		      tk = K(temp_b64);

	load_wg_dump("get-wgc0.wg-dump.txt", &t);
	/* The fixture really splits peer b and really holds the temporary peer. */
	assert_true(msgs_holding_key(&b, &peer_b) >= min_msgs_for_b);
	assert_int_equal(msgs_holding_key(&b, &tk), 1);
	assert_int_equal(t.n_peers, 5);

	assert_int_equal(wg_genl_parse_dump(b.data, b.len, &dev, &temp), 0);
	assert_true(temp);
	assert_device_matches(&dev, &t);
	/* Kernel order, the temporary peer taken out. */
	assert_int_equal(dev.n_peers, 4);
	assert_memory_equal(dev.peers[0].key.b,
			    K("ORnIeyfXALf3Zf9xIzuw0WT7eH0F/WjoEwFE8jRydW4=").b,
			    WG_KEY_LEN);
	assert_memory_equal(dev.peers[1].key.b, peer_b.b, WG_KEY_LEN);
	assert_int_equal(dev.peers[1].n_allowed, 600);
	assert_int_equal(dev.peers[2].n_allowed, 0);
	assert_int_equal(dev.peers[3].n_allowed, 2);
	wg_device_free(&dev);
	free_wg_text(&t);
	free(b.data);
}

static void test_dump_split_peer(void **state)
{
	(void)state;
	check_dump_fixture("get-wgc0.bin", 5);
}

static void test_dump_large_messages(void **state)
{
	(void)state;
	check_dump_fixture("get-wgc0-large.bin", 2);
}

static void test_dump_empty_device(void **state)
{
	struct blob b = load("get-wgc1-empty.bin");
	struct wg_text t;
	struct wg_device dev;
	bool temp = true;

	(void)state;
	load_wg_dump("get-wgc1.wg-dump.txt", &t);
	assert_int_equal(wg_genl_parse_dump(b.data, b.len, &dev, &temp), 0);
	assert_false(temp);
	assert_device_matches(&dev, &t);
	assert_true(wg_key_is_zero(&dev.pubkey));
	wg_device_free(&dev);
	free(b.data);
}

static void test_dump_errors(void **state)
{
	static const struct {
		const char *file;
		int err;
	} cases[] = {
		{"get-missing.bin", -ENODEV},  {"get-veth.bin", -EOPNOTSUPP},
		{"probe.bin", -EINVAL},	       {"set-missing.bin", -ENODEV},
		{"set-bad-attr.bin", -EINVAL}, /* with extended ACK attributes */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct blob b = load(cases[i].file);
		struct wg_device dev;
		bool temp = true;

		assert_int_equal(wg_genl_parse_dump(b.data, b.len, &dev, &temp),
				 cases[i].err);
		assert_false(temp);
		assert_int_equal(dev.n_peers, 0);
		assert_null(dev.peers);
		free(b.data);
	}
}

static void test_ack(void **state)
{
	struct blob b = load("remove-temp.bin");
	struct wg_device dev;
	uint16_t id;

	(void)state;
	/* An ACK completes a reply: nothing in it, no error. */
	assert_int_equal(wg_genl_parse_dump(b.data, b.len, &dev, NULL), 0);
	assert_int_equal(dev.n_peers, 0);
	/* No family id in it, though. */
	assert_int_equal(wg_genl_parse_family(b.data, b.len, &id), -EBADMSG);
	free(b.data);
}

static void test_dump_interrupted(void **state)
{
	struct blob b = load("get-wgc0.bin");
	struct wg_device dev;
	bool temp = true;

	(void)state;
	((struct nlmsghdr *)nth_msg(&b, 2))->nlmsg_flags |= NLM_F_DUMP_INTR;
	assert_int_equal(wg_genl_parse_dump(b.data, b.len, &dev, &temp), -EAGAIN);
	assert_false(temp);
	assert_null(dev.peers);
	free(b.data);
}

/* ---- the fingerprint of a dump ---- */

/* The fingerprint decoder gives what the snapshot's fingerprint is, for
 * the real captures (the temporary peer left out and reported). */
static void test_fingerprint_fixtures(void **state)
{
	static const char *files[] = {"get-wgc0.bin", "get-wgc0-large.bin",
				      "get-wgc1-empty.bin"};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct blob b = load(files[i]);
		struct wg_device dev;
		struct wg_key pubkey;
		uint64_t fp = 1;
		bool temp = false, temp_fp = !temp;

		assert_int_equal(wg_genl_parse_dump(b.data, b.len, &dev, &temp), 0);
		assert_int_equal(
			wg_genl_parse_fingerprint(b.data, b.len, &pubkey, &fp, &temp_fp),
			0);
		assert_true(fp == wg_device_fingerprint(&dev));
		assert_memory_equal(pubkey.b, dev.pubkey.b, WG_KEY_LEN);
		assert_int_equal(temp_fp, temp);
		assert_int_equal(temp, i < 2);
		if (i < 2)
			assert_true(fp != 0);
		wg_device_free(&dev);
		free(b.data);
	}
}

/* Rewrites, in the messages of a captured dump, every peer attribute
 * that traffic changes (counters, handshake time, endpoint) and the
 * keepalive, with bytes derived from seed. Returns how many it changed. */
static size_t scramble_traffic(struct blob *b, uint8_t seed)
{
	size_t n = count_msgs(b), changed = 0;

	for (size_t i = 0; i < n; i++) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)nth_msg(b, i);
		struct nlattr *a, *peer, *pa;

		if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
			continue;
		mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		{
			if (mnl_attr_get_type(a) != WGDEVICE_A_PEERS)
				continue;
			mnl_attr_for_each_nested(peer, a)
			{
				mnl_attr_for_each_nested(pa, peer)
				{
					uint8_t *v = mnl_attr_get_payload(pa);
					size_t len = mnl_attr_get_payload_len(pa);

					switch (mnl_attr_get_type(pa)) {
					case WGPEER_A_RX_BYTES:
					case WGPEER_A_TX_BYTES:
					case WGPEER_A_LAST_HANDSHAKE_TIME:
					case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
						for (size_t j = 0; j < len; j++)
							v[j] = (uint8_t)(seed + j);
						changed++;
						break;
					case WGPEER_A_ENDPOINT:
						/* the port and address, not the family */
						for (size_t j = 2; j < len; j++)
							v[j] = (uint8_t)(seed ^ j);
						changed++;
						break;
					}
				}
			}
		}
	}
	return changed;
}

/* The same peers and allowed IPs with other counters, handshake times and
 * endpoints: the same fingerprint. */
static void test_fingerprint_ignores_traffic(void **state)
{
	struct blob b = load("get-wgc0.bin");
	struct wg_key k0, k1;
	uint64_t fp0, fp1;
	bool temp;

	(void)state;
	assert_int_equal(wg_genl_parse_fingerprint(b.data, b.len, &k0, &fp0, &temp), 0);
	/* every peer has counters and a handshake time; a and d endpoints */
	assert_true(scramble_traffic(&b, 0x5a) >= 5 * 3 + 2);
	assert_int_equal(wg_genl_parse_fingerprint(b.data, b.len, &k1, &fp1, &temp), 0);
	assert_true(fp0 == fp1);
	assert_memory_equal(k0.b, k1.b, WG_KEY_LEN);
	scramble_traffic(&b, 0xc3);
	assert_int_equal(wg_genl_parse_fingerprint(b.data, b.len, &k1, &fp1, &temp), 0);
	assert_true(fp0 == fp1);
	free(b.data);
}

/* A dump of one message: peers 1..n_peers, peer i with the documentation
 * prefixes nth_prefix(100 * i + j), j < ips[i - 1]; rx counts traffic;
 * then NLMSG_DONE. Returns its length. */
static struct prefix nth_prefix(unsigned i);

static size_t make_dump(char *buf, size_t max, const size_t *ips, size_t n_peers,
			uint64_t rx)
{
	struct nlmsghdr *nlh, *done;
	struct nlattr *peers;

	memset(buf, 0, max);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = 0x23;
	nlh->nlmsg_flags = NLM_F_MULTI;
	((struct genlmsghdr *)mnl_nlmsg_put_extra_header(nlh, 4))->cmd =
		WG_CMD_GET_DEVICE;
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, key_n(500).b);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	for (size_t i = 1; i <= n_peers; i++) {
		struct nlattr *peer = mnl_attr_nest_start(nlh, 0), *list;

		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key_n((unsigned)i).b);
		mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, rx * i);
		list = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		for (size_t j = 0; j < ips[i - 1]; j++) {
			struct nlattr *ip = mnl_attr_nest_start(nlh, 0);
			struct prefix p = nth_prefix((unsigned)(100 * i + j));

			mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, p.family);
			mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR,
				     p.family == AF_INET ? 4 : 16, p.addr);
			mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, p.len);
			mnl_attr_nest_end(nlh, ip);
		}
		mnl_attr_nest_end(nlh, list);
		mnl_attr_nest_end(nlh, peer);
	}
	mnl_attr_nest_end(nlh, peers);
	assert_true(MNL_ALIGN(nlh->nlmsg_len) + 20 <= max);
	done = (struct nlmsghdr *)(buf + MNL_ALIGN(nlh->nlmsg_len));
	done->nlmsg_len = 20;
	done->nlmsg_type = NLMSG_DONE;
	return MNL_ALIGN(nlh->nlmsg_len) + 20;
}

static uint64_t fp_of(const char *buf, size_t len)
{
	struct wg_device dev;
	struct wg_key k;
	uint64_t fp;
	bool temp = true;

	assert_int_equal(wg_genl_parse_fingerprint(buf, len, &k, &fp, &temp), 0);
	assert_false(temp);
	assert_memory_equal(k.b, key_n(500).b, WG_KEY_LEN);
	/* and it is the snapshot's */
	assert_int_equal(wg_genl_parse_dump(buf, len, &dev, NULL), 0);
	assert_true(fp == wg_device_fingerprint(&dev));
	wg_device_free(&dev);
	return fp;
}

/* What the model compares changes the fingerprint; traffic does not. */
static void test_fingerprint_content(void **state)
{
	char buf[8192];
	size_t ips[3] = {3, 2, 0};
	uint64_t base, other;

	(void)state;
	base = fp_of(buf, make_dump(buf, sizeof(buf), ips, 3, 1000));
	/* Other counters: the same. */
	assert_true(fp_of(buf, make_dump(buf, sizeof(buf), ips, 3, 77777)) == base);
	/* An allowed IP added, or taken away: another one. */
	ips[2] = 1;
	other = fp_of(buf, make_dump(buf, sizeof(buf), ips, 3, 1000));
	assert_true(other != base);
	ips[2] = 0;
	ips[0] = 2;
	assert_true(fp_of(buf, make_dump(buf, sizeof(buf), ips, 3, 1000)) != base);
	ips[0] = 3;
	/* A peer more, even without allowed IPs; or one less. */
	assert_true(fp_of(buf, make_dump(buf, sizeof(buf), (size_t[]){3, 2, 0, 0}, 4,
					 1000)) != base);
	assert_true(fp_of(buf, make_dump(buf, sizeof(buf), ips, 2, 1000)) != base);
	/* Back as it was: the same again. */
	assert_true(fp_of(buf, make_dump(buf, sizeof(buf), ips, 3, 5)) == base);
}

static void test_policy_612(void **state)
{
	const char *files[] = {"policy.bin", "policy-family.bin"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct blob b = load(files[i]);
		enum wg_remove_mode mode = WG_REMOVE_NATIVE;

		/* 6.12 lists WGDEVICE_A_PEERS as a plain nest: it cannot tell. */
		assert_int_equal(wg_genl_parse_policy(b.data, b.len, &mode), 0);
		assert_int_equal(mode, WG_REMOVE_UNKNOWN);
		free(b.data);
	}
}

/* A policy dump as a kernel with nested policies sends it (one message per
 * attribute, as the controller does): device policy 0, WGDEVICE_A_PEERS ->
 * peer policy 1, WGPEER_A_ALLOWEDIPS -> allowed-IP policy 2, which lists
 * WGALLOWEDIP_A_FLAGS or not. */
static struct blob policy_nested(bool with_flags)
{
	static const struct {
		uint32_t policy, attr, type, sub;
	} rows[] = {
		{0, WGDEVICE_A_IFNAME, NL_ATTR_TYPE_NUL_STRING, UINT32_MAX},
		{0, WGDEVICE_A_PEERS, NL_ATTR_TYPE_NESTED_ARRAY, 1},
		{1, WGPEER_A_PUBLIC_KEY, NL_ATTR_TYPE_BINARY, UINT32_MAX},
		{1, WGPEER_A_ALLOWEDIPS, NL_ATTR_TYPE_NESTED_ARRAY, 2},
		{2, WGALLOWEDIP_A_FAMILY, NL_ATTR_TYPE_U16, UINT32_MAX},
		{2, WGALLOWEDIP_A_IPADDR, NL_ATTR_TYPE_BINARY, UINT32_MAX},
		{2, WGALLOWEDIP_A_CIDR_MASK, NL_ATTR_TYPE_U8, UINT32_MAX},
		{2, WGALLOWEDIP_A_FLAGS, NL_ATTR_TYPE_U32, UINT32_MAX},
	};
	struct blob b = {calloc(1, 8192), 0};
	size_t n = sizeof(rows) / sizeof(rows[0]) - (with_flags ? 0 : 1);

	for (size_t i = 0; i <= n + 1; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(b.data + b.len);
		struct genlmsghdr *g;

		nlh->nlmsg_flags = NLM_F_MULTI;
		if (i == n + 1) {
			nlh->nlmsg_type = NLMSG_DONE;
			mnl_nlmsg_put_extra_header(nlh, sizeof(int));
			b.len += nlh->nlmsg_len;
			break;
		}
		nlh->nlmsg_type = GENL_ID_CTRL;
		g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		g->cmd = CTRL_CMD_GETPOLICY;
		mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x23);
		if (i == 0) {
			struct nlattr *ops =
				mnl_attr_nest_start(nlh, CTRL_ATTR_OP_POLICY);
			struct nlattr *op = mnl_attr_nest_start(nlh, WG_CMD_SET_DEVICE);
			mnl_attr_put_u32(nlh, CTRL_ATTR_POLICY_DO, 0);
			mnl_attr_nest_end(nlh, op);
			mnl_attr_nest_end(nlh, ops);
		} else {
			struct nlattr *pol = mnl_attr_nest_start(nlh, CTRL_ATTR_POLICY);
			struct nlattr *idx =
				mnl_attr_nest_start(nlh, (uint16_t)rows[i - 1].policy);
			struct nlattr *attr =
				mnl_attr_nest_start(nlh, (uint16_t)rows[i - 1].attr);
			mnl_attr_put_u32(nlh, NL_POLICY_TYPE_ATTR_TYPE, rows[i - 1].type);
			if (rows[i - 1].sub != UINT32_MAX)
				mnl_attr_put_u32(nlh, NL_POLICY_TYPE_ATTR_POLICY_IDX,
						 rows[i - 1].sub);
			mnl_attr_nest_end(nlh, attr);
			mnl_attr_nest_end(nlh, idx);
			mnl_attr_nest_end(nlh, pol);
		}
		b.len += MNL_ALIGN(nlh->nlmsg_len);
	}
	return b;
}

static void test_policy_nested(void **state)
{
	struct blob with = policy_nested(true), without = policy_nested(false);
	enum wg_remove_mode mode;

	(void)state;
	assert_int_equal(wg_genl_parse_policy(with.data, with.len, &mode), 0);
	assert_int_equal(mode, WG_REMOVE_NATIVE);
	assert_int_equal(wg_genl_parse_policy(without.data, without.len, &mode), 0);
	assert_int_equal(mode, WG_REMOVE_TEMP_PEER);
	free(with.data);
	free(without.data);
}

/* ---- bad input ---- */

/* Every decoder on buf: must not crash, and must not claim success with a
 * result when bytes are missing. Returns the dump decoder's result. */
static int decode_all(const void *buf, size_t len)
{
	struct wg_device dev;
	enum wg_remove_mode mode;
	uint16_t id;
	bool temp;
	int r = wg_genl_parse_dump(buf, len, &dev, &temp);

	if (!r)
		wg_device_free(&dev);
	else
		assert_null(dev.peers);
	struct wg_key pubkey;
	uint64_t fp;
	int rf = wg_genl_parse_fingerprint(buf, len, &pubkey, &fp, &temp);

	/* The two decoders of a dump agree on what is well formed. */
	assert_int_equal(rf, r);
	wg_genl_parse_family(buf, len, &id);
	wg_genl_parse_policy(buf, len, &mode);
	return r;
}

static const char *all_fixtures[] = {
	"get-wgc0.bin",	      "get-wgc0-large.bin", "get-wgc1-empty.bin",
	"get-missing.bin",    "get-veth.bin",	    "family.bin",
	"family-missing.bin", "policy.bin",	    "policy-family.bin",
	"probe.bin",	      "remove-temp.bin",    "set-missing.bin",
	"set-bad-attr.bin",
};
#define N_FIXTURES (sizeof(all_fixtures) / sizeof(all_fixtures[0]))

/* Cut short anywhere: never a success (the end of the reply is missing),
 * never a read past the end (each cut is a copy of exactly that size, so
 * valgrind and ASan see an overrun). */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t f = 0; f < N_FIXTURES; f++) {
		struct blob b = load(all_fixtures[f]);
		size_t step = b.len > 2048 ? 13 : 1;

		for (size_t cut = 0; cut < b.len; cut += (cut < 256 ? 1 : step)) {
			char *copy = malloc(cut ? cut : 1);
			memcpy(copy, b.data, cut);
			assert_int_equal(decode_all(copy, cut), -EBADMSG);
			free(copy);
		}
		free(b.data);
	}
}

/* Corrupted bytes: any result but a crash, an overrun or a leak. The
 * length fields are hit with the worst values on purpose. */
static void test_corrupted(void **state)
{
	static const uint8_t values[] = {0x00, 0x01, 0x04, 0x7f, 0xff};

	(void)state;
	for (size_t f = 0; f < N_FIXTURES; f++) {
		struct blob b = load(all_fixtures[f]);
		/* The big dumps: every byte of the first 2 KiB, where the
		 * device and the first peers are; the rest is more of the same. */
		char *copy = malloc(b.len);

		for (size_t pos = 0; pos < b.len; pos += pos < 2048 ? 1 : 11) {
			for (size_t v = 0; v < sizeof(values); v++) {
				memcpy(copy, b.data, b.len);
				copy[pos] = (char)values[v];
				decode_all(copy, b.len);
			}
		}
		free(copy);
		free(b.data);
	}
}

/* Hand-made attribute trouble in a real dump message. */
static void test_malformed_attrs(void **state)
{
	struct blob b = load("get-wgc1-empty.bin");
	struct wg_device dev;
	char buf[512];
	struct nlmsghdr *nlh;
	struct nlattr *peers, *peer, *ips, *ip;
	const uint16_t family = nth_msg(&b, 0)->nlmsg_type;

	(void)state;
#define START()                                                                          \
	do {                                                                             \
		memset(buf, 0, sizeof(buf));                                             \
		nlh = mnl_nlmsg_put_header(buf);                                         \
		nlh->nlmsg_type = family;                                                \
		nlh->nlmsg_flags = NLM_F_MULTI;                                          \
		((struct genlmsghdr *)mnl_nlmsg_put_extra_header(nlh, 4))->cmd =         \
			WG_CMD_GET_DEVICE;                                               \
	} while (0)
#define FINISH()                                                                         \
	do {                                                                             \
		struct nlmsghdr *done =                                                  \
			(struct nlmsghdr *)(buf + MNL_ALIGN(nlh->nlmsg_len));            \
		memset(done, 0, 20);                                                     \
		done->nlmsg_len = 20;                                                    \
		done->nlmsg_type = NLMSG_DONE;                                           \
	} while (0)
#define LEN() (MNL_ALIGN(nlh->nlmsg_len) + 20)

	/* A peer without its key. */
	START();
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	FINISH();
	assert_int_equal(wg_genl_parse_dump(buf, LEN(), &dev, NULL), -EBADMSG);

	/* A key of 31 bytes. */
	START();
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 31, key_n(1).b);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	FINISH();
	assert_int_equal(wg_genl_parse_dump(buf, LEN(), &dev, NULL), -EBADMSG);

	/* Allowed IPs: IPv4 family with 16 address bytes; /33; no mask. */
	for (int bad = 0; bad < 3; bad++) {
		uint8_t addr[16] = {192, 0, 2, 1};

		START();
		peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		peer = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, key_n(1).b);
		ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		ip = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, bad == 0 ? 16 : 4, addr);
		if (bad != 2)
			mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, bad == 1 ? 33 : 32);
		mnl_attr_nest_end(nlh, ip);
		mnl_attr_nest_end(nlh, ips);
		mnl_attr_nest_end(nlh, peer);
		mnl_attr_nest_end(nlh, peers);
		FINISH();
		assert_int_equal(wg_genl_parse_dump(buf, LEN(), &dev, NULL), -EBADMSG);
	}

	/* A nest whose length runs past its parent. */
	START();
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, key_n(1).b);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	peer->nla_len += 8;
	FINISH();
	assert_int_equal(wg_genl_parse_dump(buf, LEN(), &dev, NULL), -EBADMSG);

	/* The same message, well formed, goes through (the cases above fail
	 * for their flaw, not for the scaffolding). */
	peer->nla_len -= 8;
	assert_int_equal(wg_genl_parse_dump(buf, LEN(), &dev, NULL), 0);
	assert_int_equal(dev.n_peers, 1);
	wg_device_free(&dev);
	free(b.data);
#undef START
#undef FINISH
#undef LEN
}

/* ---- the encoder ---- */

/* What one SET message says, decoded independently of the library. */
struct set_ip {
	struct prefix dst;
	bool flagged;
};
struct set_peer {
	struct wg_key key;
	uint32_t flags;
	bool has_flags;
	size_t n_ips;
	struct set_ip ips[1024];
};
struct set_msg {
	char ifname[IFNAMSIZ];
	size_t n_peers;
	struct set_peer peers[8];
};

static void decode_ip_nest(const struct nlattr *ipn, struct set_ip *out)
{
	const struct nlattr *a;
	uint16_t family = 0;

	memset(out, 0, sizeof(*out));
	mnl_attr_for_each_nested(a, ipn)
	{
		switch (mnl_attr_get_type(a)) {
		case WGALLOWEDIP_A_FAMILY:
			family = mnl_attr_get_u16(a);
			break;
		case WGALLOWEDIP_A_IPADDR:
			memcpy(out->dst.addr, mnl_attr_get_payload(a),
			       mnl_attr_get_payload_len(a));
			break;
		case WGALLOWEDIP_A_CIDR_MASK:
			out->dst.len = mnl_attr_get_u8(a);
			break;
		case WGALLOWEDIP_A_FLAGS:
			assert_int_equal(mnl_attr_get_u32(a), WGALLOWEDIP_F_REMOVE_ME);
			out->flagged = true;
			break;
		default:
			fail_msg("unexpected allowed-IP attribute %u",
				 mnl_attr_get_type(a));
		}
	}
	out->dst.family = (uint8_t)family;
}

static void decode_set(const struct nlmsghdr *nlh, struct set_msg *m)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *pa, *ia;

	memset(m, 0, sizeof(*m));
	assert_int_equal(g->cmd, WG_CMD_SET_DEVICE);
	assert_int_equal(g->version, WG_GENL_VERSION);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	mnl_attr_for_each(a, nlh, sizeof(*g))
	{
		if (mnl_attr_get_type(a) == WGDEVICE_A_IFNAME) {
			snprintf(m->ifname, sizeof(m->ifname), "%s", mnl_attr_get_str(a));
			continue;
		}
		assert_int_equal(mnl_attr_get_type(a), WGDEVICE_A_PEERS);
		mnl_attr_for_each_nested(pa, a)
		{
			struct set_peer *p = &m->peers[m->n_peers++];
			assert_true(m->n_peers <= 8);
			mnl_attr_for_each_nested(ia, pa)
			{
				switch (mnl_attr_get_type(ia)) {
				case WGPEER_A_PUBLIC_KEY:
					memcpy(p->key.b, mnl_attr_get_payload(ia),
					       WG_KEY_LEN);
					break;
				case WGPEER_A_FLAGS:
					p->flags = mnl_attr_get_u32(ia);
					p->has_flags = true;
					break;
				case WGPEER_A_ALLOWEDIPS: {
					const struct nlattr *ipn;
					mnl_attr_for_each_nested(ipn, ia)
					{
						assert_true(p->n_ips < 1024);
						decode_ip_nest(ipn, &p->ips[p->n_ips++]);
					}
					break;
				}
				default:
					fail_msg("unexpected peer attribute");
				}
			}
			assert_false(wg_key_is_zero(&p->key));
		}
	}
}

/* Distinct documentation prefixes: the first 256 of every third IPv4. */
static struct prefix nth_prefix(unsigned i)
{
	struct prefix p;

	if (i % 3 == 0 && i / 3 < 256) {
		p = P("198.51.100.0/32");
		p.addr[3] = (uint8_t)(i / 3);
	} else {
		p = P("2001:db8::/64");
		p.addr[4] = (uint8_t)(i >> 8);
		p.addr[5] = (uint8_t)i;
	}
	return p;
}

/* At every message size from tiny to large, for a mix of peers: each
 * message within the size, consecutive sequence numbers; every allowed IP
 * exactly once, in order, in the message its msg field names; each peer's
 * first part carries its flags, its continuations its key and its flags
 * less REPLACE_ALLOWEDIPS (wg(8)'s split); msg_last right. */
static void test_encode_split(void **state)
{
	static const size_t n_ips[] = {300, 0, 2, 120};
	static const uint32_t flags[] = {
		WGPEER_F_UPDATE_ONLY | WGPEER_F_REPLACE_ALLOWEDIPS,
		WGPEER_F_REMOVE_ME,
		0,
		WGPEER_F_UPDATE_ONLY,
	};
	struct wg_set_peer peers[4];
	struct set_msg *m = malloc(sizeof(*m));

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		peers[i] = (struct wg_set_peer){.key = key_n((unsigned)i + 1),
						.flags = flags[i]};
		peers[i].n_ips = n_ips[i];
		peers[i].ips = calloc(n_ips[i] + 1, sizeof(*peers[i].ips));
		for (size_t j = 0; j < n_ips[i]; j++)
			peers[i].ips[j] =
				(struct wg_set_ip){.dst = nth_prefix((unsigned)j),
						   .remove = i == 3 && j % 2};
	}
	for (size_t max = 140; max <= 9000; max += max < 400 ? 1 : 97) {
		struct buf out = {0};
		size_t msgs = 0, off = 0, pi = 0, ii = 0;
		bool started = false; /* peers[pi] had its first part */

		assert_int_equal(wg_genl_encode_set(&out, 0x23, 1000, "wg-split", peers,
						    4, max, &msgs),
				 0);
		assert_true(msgs >= 1);
		for (size_t k = 0; k < msgs; k++) {
			const struct nlmsghdr *nlh =
				(const struct nlmsghdr *)(out.data + off);

			assert_true(nlh->nlmsg_len <= max);
			assert_int_equal(nlh->nlmsg_seq, 1000 + k);
			assert_int_equal(nlh->nlmsg_type, 0x23);
			decode_set(nlh, m);
			assert_string_equal(m->ifname, "wg-split");
			assert_true(m->n_peers >= 1);
			for (size_t q = 0; q < m->n_peers; q++) {
				struct set_peer *sp = &m->peers[q];
				uint32_t want;

				if (started &&
				    !memcmp(sp->key.b, peers[pi].key.b, WG_KEY_LEN)) {
					/* a continuation opens a message */
					assert_int_equal(q, 0);
					want = flags[pi] &
					       ~(uint32_t)WGPEER_F_REPLACE_ALLOWEDIPS;
				} else {
					if (started) {
						assert_int_equal(ii, n_ips[pi]);
						pi++, ii = 0;
					}
					assert_true(pi < 4);
					assert_memory_equal(sp->key.b, peers[pi].key.b,
							    WG_KEY_LEN);
					want = flags[pi];
					started = true;
				}
				assert_int_equal(sp->has_flags, want != 0);
				assert_int_equal(sp->flags, want);
				for (size_t j = 0; j < sp->n_ips; j++, ii++) {
					assert_true(ii < n_ips[pi]);
					assert_true(prefix_equal(&sp->ips[j].dst,
								 &peers[pi].ips[ii].dst));
					assert_int_equal(sp->ips[j].flagged,
							 peers[pi].ips[ii].remove);
					assert_int_equal(peers[pi].ips[ii].msg, k);
				}
				if (ii == n_ips[pi])
					assert_int_equal(peers[pi].msg_last, k);
			}
			off += MNL_ALIGN(nlh->nlmsg_len);
		}
		assert_int_equal(off, out.len);
		assert_int_equal(pi, 3);
		assert_int_equal(ii, n_ips[3]);
		buf_free(&out);
	}
	for (size_t i = 0; i < 4; i++)
		free(peers[i].ips);
	free(m);
}

/* The flags of a peer whose key still fits at the end of a message but
 * none of its allowed IPs do: REPLACE goes there, not again. */
static void test_encode_replace_once(void **state)
{
	struct wg_set_ip ips[40];
	struct wg_set_peer peers[2] = {
		{.key = key_n(1), .n_ips = 40, .ips = ips},
		{.key = key_n(2),
		 .flags = WGPEER_F_REPLACE_ALLOWEDIPS | WGPEER_F_UPDATE_ONLY,
		 .n_ips = 40,
		 .ips = ips},
	};
	struct set_msg *m = malloc(sizeof(*m));
	size_t found = 0;

	(void)state;
	for (size_t j = 0; j < 40; j++)
		ips[j] = (struct wg_set_ip){.dst = nth_prefix((unsigned)j)};
	for (size_t max = 200; max < 3000; max++) {
		struct buf out = {0};
		size_t msgs, off = 0, replace = 0, parts = 0;

		assert_int_equal(
			wg_genl_encode_set(&out, 0x23, 1, "wg0", peers, 2, max, &msgs),
			0);
		for (size_t k = 0; k < msgs; k++) {
			const struct nlmsghdr *nlh =
				(const struct nlmsghdr *)(out.data + off);
			decode_set(nlh, m);
			for (size_t q = 0; q < m->n_peers; q++) {
				if (memcmp(m->peers[q].key.b, peers[1].key.b, 32))
					continue;
				parts++;
				assert_true(m->peers[q].flags & WGPEER_F_UPDATE_ONLY);
				if (m->peers[q].flags & WGPEER_F_REPLACE_ALLOWEDIPS) {
					assert_int_equal(parts, 1);
					replace++;
				}
				if (parts == 1 && m->peers[q].n_ips == 0)
					found++; /* the case this test is about */
			}
			off += MNL_ALIGN(nlh->nlmsg_len);
		}
		assert_int_equal(replace, 1);
		buf_free(&out);
	}
	assert_true(found > 0);
	free(m);
}

static void test_encode_limits(void **state)
{
	struct wg_set_ip ip = {.dst = P("192.0.2.0/24")};
	struct wg_set_peer p = {.key = key_n(1), .n_ips = 1, .ips = &ip};
	struct buf out = {0};
	size_t msgs = 7;

	(void)state;
	/* Room for the header and the name, not for a peer with one IP. */
	assert_int_equal(wg_genl_encode_set(&out, 0x23, 1, "wg0", &p, 1, 64, &msgs),
			 -EMSGSIZE);
	assert_int_equal(out.len, 0);
	assert_int_equal(wg_genl_encode_set(&out, 0x23, 1, "wg0", &p, 1, 90, &msgs),
			 -EMSGSIZE);
	assert_int_equal(out.len, 0);
	assert_int_equal(wg_genl_encode_set(&out, 0x23, 1, "a-name-too-long-for-linux",
					    &p, 1, 4096, &msgs),
			 -EINVAL);
	/* Nothing to say: no message. */
	assert_int_equal(wg_genl_encode_set(&out, 0x23, 1, "wg0", &p, 0, 4096, &msgs), 0);
	assert_int_equal(msgs, 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/* ---- the backend over a fake kernel ---- */

#define FK_PEERS 8
#define FK_IPS	 4096

struct fk_peer {
	struct wg_key key;
	size_t n;
	struct prefix ip[FK_IPS];
};

struct fk_guard {
	struct wg_key key;
	struct prefix ip;
};

/* What one SET message did. */
struct fk_set_log {
	int result;
	bool real_peer;	   /* named a peer other than the temporary one */
	bool temp_take;	   /* gave the temporary peer allowed IPs */
	bool temp_make;	   /* made the temporary peer */
	bool temp_remove;  /* removed the temporary peer */
	bool replace;	   /* REPLACE_ALLOWEDIPS */
	bool flag_on_real; /* WGALLOWEDIP_A_FLAGS on a real peer's IP */
};

struct fake_kernel {
	/* behaviour */
	bool no_family, no_device, not_wireguard, native, temp_e2big;
	struct blob policy; /* GETPOLICY's answer; none: EOPNOTSUPP (before 5.10) */
	unsigned fail_set;  /* the n-th SET message fails (1-based; 0: none) */
	int fail_err;
	unsigned intr_dumps; /* this many dumps come back interrupted */
	size_t dump_max;
	struct blob family;
	uint16_t family_id;
	struct wg_key pubkey;
	/* state */
	struct fk_peer *peer[FK_PEERS];
	size_t n_peers;
	struct fk_guard guard[FK_IPS];
	size_t n_guard;
	/* what happened */
	unsigned n_family, n_get, n_policy, n_set, guard_violations;
	struct fk_set_log log[4096];
};

static struct fake_kernel *fk_new(void)
{
	struct fake_kernel *k = calloc(1, sizeof(*k));

	k->family = load("family.bin");
	assert_int_equal(
		wg_genl_parse_family(k->family.data, k->family.len, &k->family_id), 0);
	k->dump_max = 1024;
	k->pubkey = key_n(999);
	return k;
}

static void fk_free(struct fake_kernel *k)
{
	for (size_t i = 0; i < k->n_peers; i++)
		free(k->peer[i]);
	free(k->family.data);
	free(k->policy.data);
	free(k);
}

static struct fk_peer *fk_find(struct fake_kernel *k, const struct wg_key *key)
{
	for (size_t i = 0; i < k->n_peers; i++)
		if (!wg_key_cmp(&k->peer[i]->key, key))
			return k->peer[i];
	return NULL;
}

static struct fk_peer *fk_add_peer(struct fake_kernel *k, const struct wg_key *key)
{
	struct fk_peer *p = calloc(1, sizeof(*p));

	assert_true(k->n_peers < FK_PEERS);
	p->key = *key;
	k->peer[k->n_peers++] = p;
	return p;
}

static void fk_remove_peer(struct fake_kernel *k, struct fk_peer *p)
{
	for (size_t i = 0; i < k->n_peers; i++)
		if (k->peer[i] == p) {
			memmove(&k->peer[i], &k->peer[i + 1],
				(k->n_peers - i - 1) * sizeof(p));
			k->n_peers--;
			free(p);
			return;
		}
}

static bool fk_holds(const struct fk_peer *p, const struct prefix *ip)
{
	for (size_t i = 0; i < p->n; i++)
		if (prefix_equal(&p->ip[i], ip))
			return true;
	return false;
}

static void fk_drop_ip(struct fk_peer *p, const struct prefix *ip)
{
	for (size_t i = 0; i < p->n; i++)
		if (prefix_equal(&p->ip[i], ip)) {
			p->ip[i] = p->ip[--p->n];
			return;
		}
}

/* An allowed IP belongs to one peer: adding it moves it. */
static void fk_insert(struct fake_kernel *k, struct fk_peer *p, const struct prefix *ip)
{
	for (size_t i = 0; i < k->n_peers; i++)
		if (k->peer[i] != p)
			fk_drop_ip(k->peer[i], ip);
	if (!fk_holds(p, ip)) {
		assert_true(p->n < FK_IPS);
		p->ip[p->n++] = *ip;
	}
}

static void fk_guard(struct fake_kernel *k, const struct wg_key *key, const char *ip)
{
	struct fk_peer *p = fk_find(k, key);

	k->guard[k->n_guard++] = (struct fk_guard){*key, P(ip)};
	fk_insert(k, p ? p : fk_add_peer(k, key), &k->guard[k->n_guard - 1].ip);
}

static void fk_check_guards(struct fake_kernel *k)
{
	for (size_t i = 0; i < k->n_guard; i++) {
		struct fk_peer *p = fk_find(k, &k->guard[i].key);
		if (!p || !fk_holds(p, &k->guard[i].ip))
			k->guard_violations++;
	}
}

/* One peer of a SET message, as set_peer() in the kernel's netlink.c does
 * it: find or make the peer, then its flags, then its allowed IPs one by
 * one, stopping at the first bad one (what came before stays applied). */
static int fk_set_peer(struct fake_kernel *k, const struct nlattr *pa,
		       struct fk_set_log *log)
{
	const struct nlattr *a, *key = NULL, *ips = NULL;
	uint32_t flags = 0;
	struct wg_key wk;
	struct fk_peer *p;
	bool temp;

	mnl_attr_for_each_nested(a, pa)
	{
		if (mnl_attr_get_type(a) == WGPEER_A_PUBLIC_KEY)
			key = a;
		else if (mnl_attr_get_type(a) == WGPEER_A_FLAGS)
			flags = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == WGPEER_A_ALLOWEDIPS)
			ips = a;
	}
	if (!key || mnl_attr_get_payload_len(key) != WG_KEY_LEN)
		return -EINVAL;
	memcpy(wk.b, mnl_attr_get_payload(key), WG_KEY_LEN);
	temp = wg_is_temp_peer(&wk);
	log->real_peer |= !temp;
	p = fk_find(k, &wk);
	if (!p) {
		if (flags & (WGPEER_F_REMOVE_ME | WGPEER_F_UPDATE_ONLY))
			return 0;
		if (temp && k->temp_e2big)
			return -E2BIG;
		p = fk_add_peer(k, &wk);
		log->temp_make |= temp;
	}
	if (flags & WGPEER_F_REMOVE_ME) {
		log->temp_remove |= temp;
		fk_remove_peer(k, p);
		return 0;
	}
	if (flags & WGPEER_F_REPLACE_ALLOWEDIPS) {
		log->replace = true;
		p->n = 0;
	}
	if (!ips)
		return 0;
	mnl_attr_for_each_nested(a, ips)
	{
		struct set_ip ip;

		decode_ip_nest(a, &ip);
		if (ip.flagged) {
			log->flag_on_real |= !temp;
			if (!k->native)
				return -EINVAL; /* 6.12: WGALLOWEDIP_A_MAX is 3 */
			if (fk_holds(p, &ip.dst))
				fk_drop_ip(p, &ip.dst);
			continue;
		}
		log->temp_take |= temp;
		fk_insert(k, p, &ip.dst);
	}
	return 0;
}

static int fk_set(struct fake_kernel *k, const struct nlmsghdr *req)
{
	struct fk_set_log *log = &k->log[k->n_set++];
	const struct nlattr *a, *pa;
	int r = 0;

	assert_true(k->n_set < 4096);
	assert_int_equal(req->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	if (k->no_device)
		r = -ENODEV;
	else if (k->not_wireguard)
		r = -EOPNOTSUPP;
	else if (k->fail_set == k->n_set)
		r = k->fail_err;
	mnl_attr_for_each(a, req, sizeof(struct genlmsghdr))
	{
		if (r || mnl_attr_get_type(a) != WGDEVICE_A_PEERS)
			continue;
		mnl_attr_for_each_nested(pa, a)
		{
			r = fk_set_peer(k, pa, log);
			if (r)
				break;
		}
	}
	fk_check_guards(k);
	log->result = r;
	return r;
}

/* The dump as the kernel makes it: device attributes in the first message,
 * then peers; a peer whose allowed IPs do not fit is continued in the next
 * message with its key only. */
static int fk_dump(struct fake_kernel *k, uint32_t seq, mnl_cb_t cb, void *data)
{
	char *buf = malloc(k->dump_max);
	size_t pi = 0, ii = 0;
	bool first = true, intr = k->intr_dumps > 0;
	int r = MNL_CB_OK;

	if (k->intr_dumps)
		k->intr_dumps--;
	do {
		struct nlmsghdr *nlh;
		struct nlattr *peers;
		struct genlmsghdr *g;

		memset(buf, 0, k->dump_max);
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = k->family_id;
		nlh->nlmsg_flags = NLM_F_MULTI | (intr ? NLM_F_DUMP_INTR : 0);
		nlh->nlmsg_seq = seq;
		g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		g->cmd = WG_CMD_GET_DEVICE;
		g->version = WG_GENL_VERSION;
		if (first) {
			mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg-fake");
			mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, k->pubkey.b);
			mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
			first = false;
		}
		peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		for (; pi < k->n_peers; pi++, ii = 0) {
			struct fk_peer *p = k->peer[pi];
			struct nlattr *pn = mnl_attr_nest_start_check(nlh, k->dump_max,
								      0),
				      *ips;

			if (!pn ||
			    !mnl_attr_put_check(nlh, k->dump_max, WGPEER_A_PUBLIC_KEY,
						WG_KEY_LEN, p->key.b)) {
				if (pn)
					mnl_attr_nest_cancel(nlh, pn);
				break;
			}
			if (ii == 0)
				mnl_attr_put_u32_check(nlh, k->dump_max,
						       WGPEER_A_PROTOCOL_VERSION, 1);
			ips = mnl_attr_nest_start_check(nlh, k->dump_max,
							WGPEER_A_ALLOWEDIPS);
			for (; ips && ii < p->n; ii++) {
				struct nlattr *in =
					mnl_attr_nest_start_check(nlh, k->dump_max, 0);
				int fam = p->ip[ii].family;
				if (!in ||
				    !mnl_attr_put_u16_check(nlh, k->dump_max,
							    WGALLOWEDIP_A_FAMILY,
							    (uint16_t)fam) ||
				    !mnl_attr_put_check(
					    nlh, k->dump_max, WGALLOWEDIP_A_IPADDR,
					    fam == AF_INET ? 4 : 16, p->ip[ii].addr) ||
				    !mnl_attr_put_u8_check(nlh, k->dump_max,
							   WGALLOWEDIP_A_CIDR_MASK,
							   p->ip[ii].len)) {
					if (in)
						mnl_attr_nest_cancel(nlh, in);
					break;
				}
				mnl_attr_nest_end(nlh, in);
			}
			if (ips)
				mnl_attr_nest_end(nlh, ips);
			mnl_attr_nest_end(nlh, pn);
			if (!ips || ii < p->n)
				break;
		}
		mnl_attr_nest_end(nlh, peers);
		if (r == MNL_CB_OK)
			r = cb(nlh, data);
	} while (pi < k->n_peers);
	free(buf);
	return r == MNL_CB_ERROR ? (errno ? -errno : -EBADMSG) : 0;
}

/* Feeds the data messages of a captured reply to cb, renumbered. */
static int fk_replay(const struct blob *b, mnl_cb_t cb, void *data)
{
	size_t n = count_msgs(b);

	for (size_t i = 0; i < n; i++) {
		const struct nlmsghdr *nlh = nth_msg(b, i);
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && cb(nlh, data) == MNL_CB_ERROR)
			return errno ? -errno : -EBADMSG;
	}
	return 0;
}

static int fake_exchange(void *ctx, const struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct fake_kernel *k = ctx;
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(req);

	assert_true(req->nlmsg_flags & NLM_F_REQUEST);
	if (req->nlmsg_type == GENL_ID_CTRL && g->cmd == CTRL_CMD_GETFAMILY) {
		k->n_family++;
		return k->no_family ? -ENOENT : fk_replay(&k->family, cb, data);
	}
	if (req->nlmsg_type == GENL_ID_CTRL && g->cmd == CTRL_CMD_GETPOLICY) {
		k->n_policy++;
		return k->policy.data ? fk_replay(&k->policy, cb, data) : -EOPNOTSUPP;
	}
	assert_int_equal(req->nlmsg_type, k->family_id);
	if (g->cmd == WG_CMD_GET_DEVICE) {
		assert_true(req->nlmsg_flags & NLM_F_DUMP);
		k->n_get++;
		if (k->no_device || k->not_wireguard)
			return k->no_device ? -ENODEV : -EOPNOTSUPP;
		return fk_dump(k, req->nlmsg_seq, cb, data);
	}
	assert_int_equal(g->cmd, WG_CMD_SET_DEVICE);
	return fk_set(k, req);
}

static const struct wg_key key_a = {{0xa}}, key_b = {{0xb}};

/* Peer a: two guarded (static) prefixes plus n_extra more; peer b: one. */
static struct fake_kernel *fk_standard(size_t n_extra)
{
	struct fake_kernel *k = fk_new();
	struct fk_peer *a;

	fk_guard(k, &key_a, "192.0.2.1/32");
	fk_guard(k, &key_a, "2001:db8:a::/48");
	fk_guard(k, &key_b, "192.0.2.2/32");
	a = fk_find(k, &key_a);
	for (size_t i = 0; i < n_extra; i++) {
		struct prefix p = nth_prefix((unsigned)i);
		fk_insert(k, a, &p);
	}
	return k;
}

static struct change del_of(const struct wg_key *peer, struct prefix dst)
{
	return (struct change){.op = CHANGE_ALLOWED_DEL, .peer = *peer, .dst = dst};
}

static struct change add_of(const struct wg_key *peer, struct prefix dst)
{
	return (struct change){.op = CHANGE_ALLOWED_ADD, .peer = *peer, .dst = dst};
}

static void test_backend_get(void **state)
{
	struct fake_kernel *k = fk_standard(0);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct wg_device dev;
	struct fk_peer *t;

	(void)state;
	/* Left by a crash between the steps of a removal. */
	t = fk_add_peer(k, &wg_temp_peer_key);
	t->ip[t->n++] = P("203.0.113.7/32");
	k->dump_max = 200; /* every peer over several messages */

	assert_int_equal(b->get(b, "wg-fake", &dev), 0);
	assert_int_equal(dev.n_peers, 2);
	assert_memory_equal(dev.pubkey.b, k->pubkey.b, WG_KEY_LEN);
	assert_non_null(find_peer(&dev, &key_a));
	assert_int_equal(find_peer(&dev, &key_a)->n_allowed, 2);
	assert_null(find_peer(&dev, &wg_temp_peer_key));
	wg_device_free(&dev);
	/* ... and removed, by a message naming nothing else. */
	assert_null(fk_find(k, &wg_temp_peer_key));
	assert_int_equal(k->n_set, 1);
	assert_true(k->log[0].temp_remove);
	assert_false(k->log[0].real_peer);
	assert_int_equal(k->n_family, 1);

	/* A dump that changed while it ran is read again. */
	k->intr_dumps = 1;
	assert_int_equal(b->get(b, "wg-fake", &dev), 0);
	assert_int_equal(k->n_get, 3);
	assert_int_equal(dev.n_peers, 2);
	wg_device_free(&dev);
	/* ... but not forever. */
	k->intr_dumps = 100;
	assert_int_equal(b->get(b, "wg-fake", &dev), -EAGAIN);
	assert_null(dev.peers);
	assert_int_equal(k->n_family, 1); /* the family id is kept */
	b->destroy(b);
	fk_free(k);
}

/* ---- the idle poll in pieces, the test playing the kernel ---- */

/* The kernel's end of the dump socket the backend opened last, and the
 * messages of the dump it asked for, sent one per datagram as the test
 * says. */
static int kernel_end = -1, dumps_opened;
static struct buf queued[4096];
static size_t n_queued, next_queued;

static int pair_open(void *ctx)
{
	int sv[2];

	(void)ctx;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (kernel_end >= 0)
		close(kernel_end);
	kernel_end = sv[1];
	dumps_opened++;
	return sv[0];
}

static int queue_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	assert_true(n_queued < sizeof(queued) / sizeof(queued[0]));
	queued[n_queued].len = 0;
	assert_int_equal(buf_append(&queued[n_queued++], nlh, nlh->nlmsg_len), 0);
	return MNL_CB_OK;
}

/* Reads the backend's dump request and queues k's answer, NLMSG_DONE
 * last: how many messages. */
static size_t kernel_answer(struct fake_kernel *k)
{
	char req[4096];
	ssize_t n = recv(kernel_end, req, sizeof(req), 0);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)req;
	struct nlmsghdr done = {.nlmsg_len = NLMSG_LENGTH(sizeof(int)),
				.nlmsg_type = NLMSG_DONE,
				.nlmsg_flags = NLM_F_MULTI};
	char done_msg[NLMSG_LENGTH(sizeof(int))] = {0};

	assert_true(n >= (ssize_t)sizeof(*nlh));
	assert_true(nlh->nlmsg_flags & NLM_F_DUMP);
	n_queued = next_queued = 0;
	k->n_get++;
	assert_int_equal(fk_dump(k, nlh->nlmsg_seq, queue_cb, NULL), 0);
	done.nlmsg_seq = nlh->nlmsg_seq;
	memcpy(done_msg, &done, sizeof(done));
	queue_cb((const struct nlmsghdr *)done_msg, NULL);
	return n_queued;
}

static void kernel_send(size_t n)
{
	for (; n && next_queued < n_queued; n--, next_queued++)
		assert_int_equal(send(kernel_end, queued[next_queued].data,
				      queued[next_queued].len, 0),
				 (ssize_t)queued[next_queued].len);
}

static void kernel_reset(void)
{
	for (size_t i = 0; i < sizeof(queued) / sizeof(queued[0]); i++)
		buf_free(&queued[i]);
	if (kernel_end >= 0)
		close(kernel_end);
	kernel_end = -1;
	dumps_opened = 0;
}

/* A poll read in pieces: the dump sent in two halves, a step after each. */
static int poll_in_halves(struct wg_backend *b, struct fake_kernel *k, uint64_t known,
			  struct wg_device *dev, bool *same)
{
	size_t n;
	int fd;

	assert_int_equal(wg_backend_poll_start(b, "wg-fake", known, &fd), 0);
	n = kernel_answer(k);
	assert_true(n > 2);
	kernel_send(n / 2);
	assert_int_equal(b->poll_step(b, &fd, dev, same), 0);
	kernel_send(n);
	return b->poll_step(b, &fd, dev, same);
}

/* Read in pieces, the idle poll finds what the whole read finds, from one
 * dump each: the device as the model holds it, and changed by hand. */
static void test_backend_poll_in_pieces(void **state)
{
	struct fake_kernel *k = fk_standard(50);
	struct wg_backend *b =
		wg_genl_backend_new_exchange_dump(fake_exchange, pair_open, k, 0);
	struct prefix extra = P("203.0.113.64/26");
	struct wg_device dev, whole;
	unsigned gets;
	uint64_t known;
	bool same = true;

	(void)state;
	k->dump_max = 200; /* every peer over several messages */
	assert_int_equal(b->get(b, "wg-fake", &whole), 0);
	known = wg_device_fingerprint(&whole);

	gets = k->n_get;
	assert_int_equal(poll_in_halves(b, k, known, &dev, &same), 1);
	assert_true(same);
	assert_int_equal(k->n_get, gets + 1);
	assert_null(dev.peers);
	assert_memory_equal(dev.pubkey.b, k->pubkey.b, WG_KEY_LEN);

	fk_insert(k, fk_find(k, &key_b), &extra);
	wg_device_free(&whole);
	assert_int_equal(b->get(b, "wg-fake", &whole), 0);
	gets = k->n_get;
	assert_int_equal(poll_in_halves(b, k, known, &dev, &same), 1);
	assert_false(same);
	assert_int_equal(k->n_get, gets + 1);
	assert_true(wg_device_fingerprint(&dev) == wg_device_fingerprint(&whole));
	assert_int_equal(dev.n_peers, whole.n_peers);
	assert_int_equal(find_peer(&dev, &key_b)->n_allowed, 2);
	assert_int_equal(dumps_opened, 2);
	wg_device_free(&dev);
	wg_device_free(&whole);
	b->destroy(b);
	kernel_reset();
	fk_free(k);
}

/* A dump the kernel flags NLM_F_DUMP_INTR (the device changed while it
 * ran) is asked again, on a fresh socket, up to the same bound as a whole
 * read's; then the read fails with -EAGAIN. */
static void test_backend_poll_interrupted(void **state)
{
	struct fake_kernel *k = fk_standard(50);
	struct wg_backend *b =
		wg_genl_backend_new_exchange_dump(fake_exchange, pair_open, k, 0);
	struct wg_device dev;
	uint64_t known;
	bool same = false;
	int fd, r = 0;

	(void)state;
	k->dump_max = 200;
	assert_int_equal(b->get(b, "wg-fake", &dev), 0);
	known = wg_device_fingerprint(&dev);
	wg_device_free(&dev);

	k->intr_dumps = 1;
	assert_int_equal(wg_backend_poll_start(b, "wg-fake", known, &fd), 0);
	kernel_send(kernel_answer(k));
	assert_int_equal(b->poll_step(b, &fd, &dev, &same), 0);
	assert_int_equal(dumps_opened, 2); /* asked again on a fresh socket */
	kernel_send(kernel_answer(k));
	assert_int_equal(b->poll_step(b, &fd, &dev, &same), 1);
	assert_true(same);

	k->intr_dumps = 100;
	assert_int_equal(wg_backend_poll_start(b, "wg-fake", known, &fd), 0);
	for (int i = 0; i < 10 && r == 0; i++) {
		kernel_send(kernel_answer(k));
		r = b->poll_step(b, &fd, &dev, &same);
	}
	assert_int_equal(r, -EAGAIN);
	assert_null(dev.peers);
	b->destroy(b);
	kernel_reset();
	fk_free(k);
}

/* A change to the device being read goes first: the dump's socket is
 * closed (the kernel sees its end, and ends the dump), the change goes
 * out, the read says it was abandoned; the next read finds the change. */
static void test_backend_apply_abandons_poll(void **state)
{
	struct fake_kernel *k = fk_standard(50);
	struct wg_backend *b =
		wg_genl_backend_new_exchange_dump(fake_exchange, pair_open, k, 0);
	struct change ch[] = {add_of(&key_b, P("198.51.100.0/24"))};
	struct wg_device dev;
	uint64_t known;
	bool same = false;
	char byte;
	int fd, err[1];
	size_t n;

	(void)state;
	k->dump_max = 200;
	assert_int_equal(b->get(b, "wg-fake", &dev), 0);
	known = wg_device_fingerprint(&dev);
	wg_device_free(&dev);

	assert_int_equal(wg_backend_poll_start(b, "wg-fake", known, &fd), 0);
	n = kernel_answer(k);
	kernel_send(n / 2);
	assert_int_equal(b->poll_step(b, &fd, &dev, &same), 0);
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(recv(kernel_end, &byte, 1, MSG_DONTWAIT), 0);
	assert_int_equal(b->poll_step(b, &fd, &dev, &same), -ECANCELED);

	assert_int_equal(poll_in_halves(b, k, known, &dev, &same), 1);
	assert_false(same);
	assert_int_equal(find_peer(&dev, &key_b)->n_allowed, 2);
	wg_device_free(&dev);
	b->destroy(b);
	kernel_reset();
	fk_free(k);
}

/* The idle poll: one dump per poll, hashed as it arrives; a snapshot,
 * built from that same dump, only when the device holds something else than
 * the caller knows. */
static void test_backend_get_changed(void **state)
{
	struct fake_kernel *k = fk_standard(5);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct prefix extra = P("203.0.113.64/26");
	struct wg_device dev;
	struct fk_peer *t;
	unsigned gets, sets;
	uint64_t known;
	bool same = false;

	(void)state;
	assert_non_null(b->get_changed);
	k->dump_max = 200; /* every peer over several messages */
	assert_int_equal(b->get(b, "wg-fake", &dev), 0);
	known = wg_device_fingerprint(&dev);
	wg_device_free(&dev);

	gets = k->n_get;
	assert_int_equal(wg_backend_get_changed(b, "wg-fake", known, &dev, &same), 0);
	assert_true(same);
	assert_int_equal(k->n_get, gets + 1);
	assert_null(dev.peers);
	assert_int_equal(dev.n_peers, 0);
	assert_memory_equal(dev.pubkey.b, k->pubkey.b, WG_KEY_LEN);

	/* An allowed IP more: the snapshot, from the dump already read. */
	fk_insert(k, fk_find(k, &key_b), &extra);
	assert_int_equal(wg_backend_get_changed(b, "wg-fake", known, &dev, &same), 0);
	assert_false(same);
	assert_int_equal(k->n_get, gets + 2);
	assert_int_equal(dev.n_peers, 2);
	assert_int_equal(find_peer(&dev, &key_b)->n_allowed, 2);
	assert_int_equal(find_peer(&dev, &key_a)->n_allowed, 7);
	assert_true(wg_device_fingerprint(&dev) != known);
	known = wg_device_fingerprint(&dev);
	wg_device_free(&dev);

	/* The temporary peer (a crash between the steps of a removal): never
	 * "the same", and removed, though the rest reads as known. */
	t = fk_add_peer(k, &wg_temp_peer_key);
	t->ip[t->n++] = P("203.0.113.7/32");
	sets = k->n_set;
	gets = k->n_get;
	assert_int_equal(wg_backend_get_changed(b, "wg-fake", known, &dev, &same), 0);
	assert_false(same);
	assert_int_equal(k->n_get, gets + 1);
	assert_true(wg_device_fingerprint(&dev) == known);
	assert_null(fk_find(k, &wg_temp_peer_key));
	assert_int_equal(k->n_set, sets + 1);
	assert_true(k->log[sets].temp_remove);
	assert_false(k->log[sets].real_peer);
	wg_device_free(&dev);

	/* A dump that changed while it ran is read again. */
	k->intr_dumps = 1;
	gets = k->n_get;
	assert_int_equal(wg_backend_get_changed(b, "wg-fake", known, &dev, &same), 0);
	assert_true(same);
	assert_int_equal(k->n_get, gets + 2);
	/* ... and a snapshot is built from the dump that went through alone. */
	fk_drop_ip(fk_find(k, &key_b), &extra);
	k->intr_dumps = 1;
	gets = k->n_get;
	assert_int_equal(wg_backend_get_changed(b, "wg-fake", known, &dev, &same), 0);
	assert_false(same);
	assert_int_equal(k->n_get, gets + 2);
	assert_int_equal(dev.n_peers, 2);
	assert_int_equal(find_peer(&dev, &key_b)->n_allowed, 1);
	assert_int_equal(find_peer(&dev, &key_a)->n_allowed, 7);
	known = wg_device_fingerprint(&dev);
	wg_device_free(&dev);

	/* Gone. */
	k->no_device = true;
	same = true;
	assert_int_equal(wg_backend_get_changed(b, "wg-fake", known, &dev, &same),
			 -ENODEV);
	assert_false(same);
	assert_null(dev.peers);
	b->destroy(b);
	fk_free(k);
}

static void test_backend_no_device(void **state)
{
	struct fake_kernel *k = fk_standard(0);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change ch[1] = {add_of(&key_a, P("203.0.113.0/24"))};
	struct wg_device dev;
	int err[1];

	(void)state;
	k->no_device = true;
	assert_int_equal(b->get(b, "wg-fake", &dev), -ENODEV);
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), -ENODEV);
	assert_int_equal(err[0], -ENODEV);
	/* A device, but not a WireGuard one: the kernel says EOPNOTSUPP. */
	k->no_device = false;
	k->not_wireguard = true;
	assert_int_equal(b->get(b, "wg-fake", &dev), -ENODEV);
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), -ENODEV);
	assert_int_equal(err[0], -ENODEV);
	/* No "wireguard" family at all (no module): not a kernel device. */
	b->destroy(b);
	b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	k->no_family = true;
	assert_int_equal(b->get(b, "wg-fake", &dev), -ENODEV);
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), -ENODEV);
	assert_int_equal(err[0], -ENODEV);
	assert_int_equal(k->n_set, 2); /* only the first two applies got that far */
	b->destroy(b);
	fk_free(k);
}

static void test_backend_add_only(void **state)
{
	struct fake_kernel *k = fk_standard(0);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change ch[3] = {
		add_of(&key_a, P("203.0.113.0/24")),
		{.op = CHANGE_ROUTE_ADD}, /* not ours: skipped */
		add_of(&key_b, P("2001:db8:b::/48")),
	};
	int err[3] = {1, 1, 1};

	(void)state;
	assert_int_equal(b->apply(b, "wg-fake", ch, 3, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], 0);
	assert_int_equal(err[2], 0);
	/* One message, no policy query, no probe. */
	assert_int_equal(k->n_set, 1);
	assert_int_equal(k->n_policy, 0);
	assert_true(fk_holds(fk_find(k, &key_a), &ch[0].dst));
	assert_true(fk_holds(fk_find(k, &key_b), &ch[2].dst));
	assert_int_equal(k->guard_violations, 0);
	assert_int_equal(remove_mode(b, "wg-fake"), WG_REMOVE_UNKNOWN);

	/* UPDATE_ONLY: a peer that is gone is not made again. */
	ch[0].peer = key_n(77);
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), 0);
	assert_null(fk_find(k, &ch[0].peer));
	b->destroy(b);
	fk_free(k);
}

/* 6.12: GETPOLICY cannot tell; the probe on the temporary peer is refused
 * (EINVAL), the peer removed; removal moves onto the temporary peer and
 * removes it in the same message. */
static void test_backend_remove_612(void **state)
{
	struct fake_kernel *k = fk_standard(3);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change ch[2] = {
		del_of(&key_a, nth_prefix(0)),
		add_of(&key_b, P("203.0.113.0/24")),
	};
	int err[2] = {1, 1};
	unsigned before;

	(void)state;
	k->policy = load("policy.bin");
	assert_int_equal(b->apply(b, "wg-fake", ch, 2, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], 0);
	assert_int_equal(remove_mode(b, "wg-fake"), WG_REMOVE_TEMP_PEER);
	assert_int_equal(k->n_policy, 1);
	/* The probe: the temporary peer only, refused, then removed. */
	assert_int_equal(k->n_set, 3);
	assert_false(k->log[0].real_peer);
	assert_true(k->log[0].temp_make);
	assert_int_equal(k->log[0].result, -EINVAL);
	assert_false(k->log[1].real_peer);
	assert_true(k->log[1].temp_remove);
	/* The change: one message, the move and the removal in it. */
	assert_int_equal(k->log[2].result, 0);
	assert_true(k->log[2].temp_take);
	assert_true(k->log[2].temp_remove);
	assert_false(k->log[2].replace);
	for (unsigned i = 0; i < k->n_set; i++)
		assert_false(k->log[i].flag_on_real);
	assert_null(fk_find(k, &wg_temp_peer_key));
	assert_false(fk_holds(fk_find(k, &key_a), &ch[0].dst));
	assert_true(fk_holds(fk_find(k, &key_a), (struct prefix[]){nth_prefix(1)}));
	assert_true(fk_holds(fk_find(k, &key_b), &ch[1].dst));
	assert_int_equal(k->guard_violations, 0);

	/* The next removal: no second probe. */
	before = k->n_set;
	ch[0] = del_of(&key_a, nth_prefix(1));
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), 0);
	assert_int_equal(k->n_set, before + 1);
	assert_int_equal(k->n_policy, 1);
	assert_false(fk_holds(fk_find(k, &key_a), &ch[0].dst));
	assert_null(fk_find(k, &wg_temp_peer_key));
	b->destroy(b);
	fk_free(k);
}

/* Without CTRL_CMD_GETPOLICY (before 5.10) the probe decides alone. */
static void test_backend_remove_no_policy(void **state)
{
	struct fake_kernel *k = fk_standard(1);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change ch[1] = {del_of(&key_a, nth_prefix(0))};
	int err[1];

	(void)state;
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), 0);
	assert_int_equal(k->n_policy, 1);
	assert_int_equal(remove_mode(b, "wg-fake"), WG_REMOVE_TEMP_PEER);
	assert_false(k->log[0].real_peer);
	assert_false(fk_holds(fk_find(k, &key_a), &ch[0].dst));
	assert_null(fk_find(k, &wg_temp_peer_key));
	assert_int_equal(k->guard_violations, 0);
	b->destroy(b);
	fk_free(k);
}

/* 6.16: the probe goes through (made, flag accepted, removed in one
 * message), and removals name the real peer with the flag. */
static void test_backend_remove_native_probe(void **state)
{
	struct fake_kernel *k = fk_standard(2);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change ch[1] = {del_of(&key_a, nth_prefix(0))};
	int err[1];

	(void)state;
	k->native = true;
	k->policy = load("policy.bin");
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), 0);
	assert_int_equal(remove_mode(b, "wg-fake"), WG_REMOVE_NATIVE);
	assert_int_equal(k->n_set, 2);
	assert_false(k->log[0].real_peer);
	assert_true(k->log[0].temp_make && k->log[0].temp_remove);
	assert_int_equal(k->log[0].result, 0);
	assert_true(k->log[1].flag_on_real);
	assert_false(k->log[1].temp_make);
	assert_false(fk_holds(fk_find(k, &key_a), &ch[0].dst));
	assert_true(fk_holds(fk_find(k, &key_a), (struct prefix[]){nth_prefix(1)}));
	assert_null(fk_find(k, &wg_temp_peer_key));
	assert_int_equal(k->guard_violations, 0);
	b->destroy(b);
	fk_free(k);
}

/* A policy that lists the allowed-IP attributes decides without a probe
 * when it has WGALLOWEDIP_A_FLAGS; without it, only whether the temporary
 * peer can exist is tried. */
static void test_backend_remove_by_policy(void **state)
{
	for (int with_flags = 0; with_flags < 2; with_flags++) {
		struct fake_kernel *k = fk_standard(2);
		struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
		struct change ch[1] = {del_of(&key_a, nth_prefix(0))};
		int err[1];

		(void)state;
		k->native = with_flags;
		k->policy = policy_nested(with_flags);
		assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), 0);
		assert_int_equal(remove_mode(b, "wg-fake"),
				 with_flags ? WG_REMOVE_NATIVE : WG_REMOVE_TEMP_PEER);
		if (with_flags) {
			assert_int_equal(k->n_set, 1);
			assert_true(k->log[0].flag_on_real);
		} else {
			assert_int_equal(k->n_set, 2);
			assert_true(k->log[0].temp_make && k->log[0].temp_remove);
			assert_false(k->log[0].real_peer);
			assert_false(k->log[1].flag_on_real);
		}
		assert_false(fk_holds(fk_find(k, &key_a), &ch[0].dst));
		assert_null(fk_find(k, &wg_temp_peer_key));
		assert_int_equal(k->guard_violations, 0);
		b->destroy(b);
		fk_free(k);
	}
}

/* The temporary peer cannot be made: the whole list is replaced, the last
 * resort. The peer keeps everything else. */
static void test_backend_remove_replace(void **state)
{
	struct fake_kernel *k = fk_standard(5);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change ch[2] = {del_of(&key_a, nth_prefix(0)),
			       del_of(&key_a, nth_prefix(3))};
	int err[2] = {1, 1};

	(void)state;
	k->temp_e2big = true;
	assert_int_equal(b->apply(b, "wg-fake", ch, 2, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], 0);
	assert_int_equal(remove_mode(b, "wg-fake"), WG_REMOVE_REPLACE);
	assert_true(k->log[k->n_set - 1].replace);
	assert_true(k->log[k->n_set - 1].real_peer);
	assert_int_equal(fk_find(k, &key_a)->n, 2 + 5 - 2);
	assert_false(fk_holds(fk_find(k, &key_a), &ch[0].dst));
	assert_false(fk_holds(fk_find(k, &key_a), &ch[1].dst));
	assert_true(fk_holds(fk_find(k, &key_a), (struct prefix[]){nth_prefix(4)}));
	assert_int_equal(k->guard_violations, 0);
	assert_null(fk_find(k, &wg_temp_peer_key));
	b->destroy(b);
	fk_free(k);
}

/* Replacing whole lists while a prefix moves: B loses one prefix and
 * another of its goes to A (an add there, no removal from B). A's key
 * comes first, so were B's new list to keep the moved prefix, the
 * replacement would move it back to B. In either order of the two peers
 * it ends on its new holder only. */
static void test_backend_replace_move(void **state)
{
	for (int a_takes = 0; a_takes < 2; a_takes++) {
		const struct wg_key *from = a_takes ? &key_b : &key_a,
				    *to = a_takes ? &key_a : &key_b;
		struct fake_kernel *k = fk_standard(0);
		struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
		struct prefix gone = nth_prefix(0), moved = nth_prefix(1),
			      kept = nth_prefix(2);
		struct change ch[2] = {del_of(from, gone), add_of(to, moved)};
		int err[2] = {1, 1};

		(void)state;
		k->temp_e2big = true;
		fk_insert(k, fk_find(k, from), &gone);
		fk_insert(k, fk_find(k, from), &moved);
		fk_insert(k, fk_find(k, from), &kept);
		assert_int_equal(b->apply(b, "wg-fake", ch, 2, err), 0);
		assert_int_equal(err[0], 0);
		assert_int_equal(err[1], 0);
		assert_int_equal(remove_mode(b, "wg-fake"), WG_REMOVE_REPLACE);
		assert_true(fk_holds(fk_find(k, to), &moved));
		assert_false(fk_holds(fk_find(k, from), &moved));
		assert_false(fk_holds(fk_find(k, from), &gone));
		assert_true(fk_holds(fk_find(k, from), &kept));
		assert_int_equal(k->guard_violations, 0);
		b->destroy(b);
		fk_free(k);
	}
}

/* Many removals: the moves go over several messages, the removal of the
 * temporary peer with the last of them; nothing else ever goes missing. */
static void test_backend_remove_many(void **state)
{
	const size_t n = 1500;
	struct fake_kernel *k = fk_standard(n + 10);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change *ch = calloc(n, sizeof(*ch));
	int *err = calloc(n, sizeof(*err));
	unsigned before;

	(void)state;
	for (size_t i = 0; i < n; i++)
		ch[i] = del_of(&key_a, nth_prefix((unsigned)i));
	/* Settle the mode first. */
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), 0);
	before = k->n_set;
	assert_int_equal(b->apply(b, "wg-fake", ch + 1, n - 1, err), 0);
	assert_true(k->n_set - before >= 3);
	for (unsigned i = before; i < k->n_set; i++) {
		assert_int_equal(k->log[i].result, 0);
		assert_true(k->log[i].temp_take || i == k->n_set - 1);
		assert_int_equal(k->log[i].temp_remove, i == k->n_set - 1);
		assert_false(k->log[i].real_peer);
	}
	assert_int_equal(fk_find(k, &key_a)->n, 2 + 10);
	assert_null(fk_find(k, &wg_temp_peer_key));
	assert_int_equal(k->guard_violations, 0);
	b->destroy(b);
	free(ch);
	free(err);
	fk_free(k);
}

/* A message that fails halfway: its changes fail, the temporary peer does
 * not stay behind, and the mode is found again next time. */
static void test_backend_remove_fails(void **state)
{
	const size_t n = 600;
	struct fake_kernel *k = fk_standard(n);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change *ch = calloc(n, sizeof(*ch));
	int *err = calloc(n, sizeof(*err));
	size_t failed = 0, ok = 0;

	(void)state;
	for (size_t i = 0; i < n; i++)
		ch[i] = del_of(&key_a, nth_prefix((unsigned)i));
	assert_int_equal(b->apply(b, "wg-fake", ch, 1, err), 0);
	k->fail_set = k->n_set + 2;
	k->fail_err = -ENOMEM;
	assert_int_equal(b->apply(b, "wg-fake", ch + 1, n - 1, err), -ENOMEM);
	for (size_t i = 0; i < n - 1; i++) {
		assert_true(err[i] == 0 || err[i] == -ENOMEM);
		failed += err[i] != 0;
		ok += err[i] == 0;
		/* a change reported done is done */
		if (!err[i])
			assert_false(fk_holds(fk_find(k, &key_a), &ch[i + 1].dst));
	}
	/* Only the failed message's share failed. */
	assert_true(failed > 0);
	assert_true(ok > 0);
	assert_null(fk_find(k, &wg_temp_peer_key));
	assert_int_equal(remove_mode(b, "wg-fake"), WG_REMOVE_UNKNOWN);
	assert_int_equal(k->guard_violations, 0);
	b->destroy(b);
	free(ch);
	free(err);
	fk_free(k);
}

/* The same prefix twice in one list: the changes apply in list order. */
static void test_backend_rounds(void **state)
{
	struct fake_kernel *k = fk_standard(1);
	struct wg_backend *b = wg_genl_backend_new_exchange(fake_exchange, k, 0);
	struct change ch[2] = {del_of(&key_a, nth_prefix(0)),
			       add_of(&key_b, nth_prefix(0))};
	int err[2];

	(void)state;
	assert_int_equal(b->apply(b, "wg-fake", ch, 2, err), 0);
	assert_true(fk_holds(fk_find(k, &key_b), &ch[1].dst));
	assert_false(fk_holds(fk_find(k, &key_a), &ch[1].dst));
	ch[0] = add_of(&key_a, nth_prefix(0));
	ch[1] = del_of(&key_a, nth_prefix(0));
	assert_int_equal(b->apply(b, "wg-fake", ch, 2, err), 0);
	assert_false(fk_holds(fk_find(k, &key_a), &ch[1].dst));
	assert_false(fk_holds(fk_find(k, &key_b), &ch[1].dst));
	assert_int_equal(k->guard_violations, 0);
	b->destroy(b);
	fk_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family),
		cmocka_unit_test(test_dump_split_peer),
		cmocka_unit_test(test_dump_large_messages),
		cmocka_unit_test(test_dump_empty_device),
		cmocka_unit_test(test_dump_errors),
		cmocka_unit_test(test_ack),
		cmocka_unit_test(test_dump_interrupted),
		cmocka_unit_test(test_fingerprint_fixtures),
		cmocka_unit_test(test_fingerprint_ignores_traffic),
		cmocka_unit_test(test_fingerprint_content),
		cmocka_unit_test(test_policy_612),
		cmocka_unit_test(test_policy_nested),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_malformed_attrs),
		cmocka_unit_test(test_encode_split),
		cmocka_unit_test(test_encode_replace_once),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_backend_get),
		cmocka_unit_test(test_backend_get_changed),
		cmocka_unit_test(test_backend_poll_in_pieces),
		cmocka_unit_test(test_backend_poll_interrupted),
		cmocka_unit_test(test_backend_apply_abandons_poll),
		cmocka_unit_test(test_backend_no_device),
		cmocka_unit_test(test_backend_add_only),
		cmocka_unit_test(test_backend_remove_612),
		cmocka_unit_test(test_backend_remove_no_policy),
		cmocka_unit_test(test_backend_remove_native_probe),
		cmocka_unit_test(test_backend_remove_by_policy),
		cmocka_unit_test(test_backend_remove_replace),
		cmocka_unit_test(test_backend_replace_move),
		cmocka_unit_test(test_backend_remove_many),
		cmocka_unit_test(test_backend_remove_fails),
		cmocka_unit_test(test_backend_rounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
