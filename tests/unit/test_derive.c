/* test_derive: cunicu's derived gateway address (docs/spec.md 2.12). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "derive.h"
#include "testutil.h"

#define VECTORS "tests/vectors/derived-addresses.txt"

static const uint8_t cunicu_key[16] = {0x67, 0x67, 0x2c, 0x05, 0xd1, 0x3e, 0x11, 0x94,
				       0xbb, 0x38, 0x91, 0xff, 0x4f, 0x80, 0xb3, 0x97};

static void test_vectors_file(void **state)
{
	char line[512], buf[PREFIX_STRLEN];
	unsigned checked = 0, lineno = 0;
	FILE *f = fopen(src_path(VECTORS), "r");
	(void)state;

	if (!f)
		fail_msg("cannot open %s", src_path(VECTORS));
	while (fgets(line, sizeof(line), f)) {
		char key[128], prefix[128], addr[128], extra[2];
		struct prefix pre, want, got;
		struct wg_key k;
		int n;

		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		n = sscanf(line, "%127s %127s %127s %1s", key, prefix, addr, extra);
		if (n != 3)
			fail_msg("line %u: want KEY PREFIX ADDRESS", lineno);
		k = K(key);
		pre = P(prefix);
		want = A(addr);
		assert_int_equal(derive_address(&k, &pre, &got), 0);
		if (!prefix_equal(&got, &want))
			fail_msg("line %u: %s %s gave %s, want %s", lineno, key, prefix,
				 addr_format(&got, buf), addr);
		checked++;
	}
	fclose(f);
	assert_true(checked >= 9);
}

/* Model: the digest as a 128-bit integer, shifted with C's own operators. */
static unsigned __int128 model_host_bits(const struct wg_key *k, unsigned bits,
					 unsigned len)
{
	uint8_t digest[16];
	unsigned __int128 v = 0;

	crypto_shorthash_siphashx24(digest, k->b, 32, cunicu_key);
	for (unsigned i = 0; i < bits / 8; i++)
		v = (v << 8) | digest[i];
	return len >= bits ? 0 : v >> len;
}

static unsigned __int128 addr_value(const struct prefix *p)
{
	unsigned __int128 v = 0;

	for (unsigned i = 0; i < prefix_family_bits(p->family) / 8; i++)
		v = (v << 8) | p->addr[i];
	return v;
}

static void check_all_lengths(const char *base_text)
{
	struct prefix base = A(base_text);
	unsigned bits = prefix_family_bits(base.family);

	for (unsigned n = 0; n < 40; n++) {
		struct wg_key k = key_n(n * 7919);

		for (unsigned len = 0; len <= bits; len++) {
			struct prefix pre = prefix_truncate(&base, len), out;
			unsigned __int128 want =
				addr_value(&pre) | model_host_bits(&k, bits, len);

			assert_int_equal(derive_address(&k, &pre, &out), 0);
			assert_int_equal(out.family, base.family);
			assert_int_equal(out.len, bits);
			assert_true(prefix_contains(&pre, &out));
			assert_true(addr_value(&out) == want);
			if (bits == 32)
				assert_memory_equal(out.addr + 4, (uint8_t[12]){0}, 12);
		}
	}
}

static void test_every_length_ipv4(void **state)
{
	(void)state;
	check_all_lengths("203.0.113.77");
	check_all_lengths("255.255.255.255");
}

static void test_every_length_ipv6(void **state)
{
	(void)state;
	check_all_lengths("2001:db8:ffff:1234:5678:9abc:def0:1");
	check_all_lengths("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void test_edges(void **state)
{
	struct wg_key k = key_n(1);
	struct prefix pre, out, whole;
	(void)state;

	/* /0 gives the digest itself; a full-length prefix gives itself. */
	pre = P("0.0.0.0/0");
	assert_int_equal(derive_address(&k, &pre, &whole), 0);
	assert_true(addr_value(&whole) == model_host_bits(&k, 32, 0));
	pre = P("192.0.2.1/32");
	assert_int_equal(derive_address(&k, &pre, &out), 0);
	assert_true(prefix_equal(&out, &(struct prefix){AF_INET, 32, {192, 0, 2, 1}}));
	pre = P("2001:db8::1/128");
	assert_int_equal(derive_address(&k, &pre, &out), 0);
	assert_true(prefix_equal(&out, &pre));
	/* A longer prefix takes the same digest, further right. */
	pre = P("10.237.0.0/16");
	assert_int_equal(derive_address(&k, &pre, &out), 0);
	assert_true(addr_value(&out) ==
		    ((addr_value(&whole) >> 16) | (10u << 24 | 237u << 16)));
	/* Host bits of the prefix do not leak into the result. */
	assert_int_equal(prefix_parse_keep_host("10.237.255.255/16", &pre), 0);
	assert_int_equal(derive_address(&k, &pre, &whole), 0);
	assert_true(prefix_equal(&whole, &out));
	/* Different keys, different addresses. */
	k = key_n(2);
	pre = P("10.237.0.0/16");
	assert_int_equal(derive_address(&k, &pre, &whole), 0);
	assert_false(prefix_equal(&whole, &out));
}

static void test_bad_prefix(void **state)
{
	struct wg_key k = key_n(1);
	struct prefix pre, out;
	(void)state;

	pre = (struct prefix){AF_INET, 33, {10}};
	assert_int_equal(derive_address(&k, &pre, &out), -EINVAL);
	pre = (struct prefix){AF_INET6, 129, {0xfc}};
	assert_int_equal(derive_address(&k, &pre, &out), -EINVAL);
	pre = (struct prefix){0, 0, {0}};
	assert_int_equal(derive_address(&k, &pre, &out), -EINVAL);
	pre = (struct prefix){AF_UNIX, 8, {0}};
	assert_int_equal(derive_address(&k, &pre, &out), -EINVAL);
	pre = P("10.0.0.0/8");
	assert_int_equal(derive_address(NULL, &pre, &out), -EINVAL);
	assert_int_equal(derive_address(&k, NULL, &out), -EINVAL);
	assert_int_equal(derive_address(&k, &pre, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_file),
		cmocka_unit_test(test_every_length_ipv4),
		cmocka_unit_test(test_every_length_ipv6),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_bad_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
