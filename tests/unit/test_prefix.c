/* test_prefix: parsing, formatting, normalising, containment and order. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* A fixed-seed generator, so failures repeat. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct prefix random_prefix(void)
{
	struct prefix p;
	uint8_t bytes[16];

	for (int i = 0; i < 16; i++)
		bytes[i] = (uint8_t)rnd();
	addr_from_bytes(&p, rnd() & 1 ? AF_INET6 : AF_INET, bytes);
	return prefix_truncate(&p,
			       (unsigned)(rnd() % (prefix_family_bits(p.family) + 1)));
}

/* Pointers to parsed values, for one-line assertions (a small ring). */
static const struct prefix *pp(const char *text)
{
	static struct prefix ring[8];
	static unsigned next;
	struct prefix *p = &ring[next++ % 8];

	*p = P(text);
	return p;
}

static const struct prefix *pa(const char *text)
{
	static struct prefix ring[8];
	static unsigned next;
	struct prefix *p = &ring[next++ % 8];

	*p = A(text);
	return p;
}

static void test_parse_ipv4(void **state)
{
	struct prefix p;
	(void)state;

	assert_int_equal(prefix_parse("192.0.2.0/24", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 24);
	assert_memory_equal(p.addr, ((uint8_t[16]){192, 0, 2, 0}), 16);

	assert_int_equal(prefix_parse("198.51.100.7", &p), 0);
	assert_int_equal(p.len, 32);
	assert_memory_equal(p.addr, ((uint8_t[16]){198, 51, 100, 7}), 16);

	assert_int_equal(prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(prefix_parse("203.0.113.9/32", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(p.addr[3], 9);
}

static void test_parse_ipv6(void **state)
{
	struct prefix p;
	uint8_t expect[16];
	(void)state;

	assert_int_equal(prefix_parse("2001:db8::/32", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 32);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::", expect), 1);
	assert_memory_equal(p.addr, expect, 16);

	assert_int_equal(prefix_parse("::/0", &p), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(prefix_parse("2001:db8::1", &p), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(p.addr[15], 1);
	/* An IPv4-mapped address is IPv6. */
	assert_int_equal(prefix_parse("::ffff:192.0.2.1/128", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.addr[12], 192);
}

static void test_parse_clears_host_bits(void **state)
{
	struct prefix p;
	(void)state;

	assert_int_equal(prefix_parse("192.0.2.77/24", &p), 0);
	assert_true(prefix_equal(&p, &(struct prefix){AF_INET, 24, {192, 0, 2, 0}}));
	assert_int_equal(prefix_parse("192.0.2.255/25", &p), 0);
	assert_int_equal(p.addr[3], 128);
	assert_int_equal(prefix_parse("2001:db8:ffff::1/33", &p), 0);
	assert_int_equal(p.addr[4], 0x80);
	assert_int_equal(p.addr[5], 0);
	assert_int_equal(p.addr[15], 0);
	assert_int_equal(prefix_parse("255.255.255.255/0", &p), 0);
	assert_true(prefix_equal(&p, &(struct prefix){AF_INET, 0, {0}}));
}

static void test_parse_keep_host(void **state)
{
	struct prefix p;
	(void)state;

	assert_int_equal(prefix_parse_keep_host("fe80::1/64", &p), 0);
	assert_int_equal(p.len, 64);
	assert_int_equal(p.addr[15], 1);
	assert_int_equal(prefix_parse_keep_host("192.0.2.77/24", &p), 0);
	assert_int_equal(p.addr[3], 77);
	assert_int_equal(prefix_parse_keep_host("192.0.2.77", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(prefix_parse_keep_host("192.0.2.77/33", &p), -EINVAL);
}

static void test_parse_rejects_bad_text(void **state)
{
	static const char *const bad[] = {
		"",
		"/",
		"/24",
		"192.0.2.0/",
		"192.0.2.0/33",
		"2001:db8::/129",
		"192.0.2.0/24x",
		"192.0.2.0/ 24",
		" 192.0.2.0/24",
		"192.0.2.0/24 ",
		"192.0.2.0/-1",
		"192.0.2.0/+1",
		"192.0.2.0/24/24",
		"192.0.2",
		"192.0.2.256",
		"192.0.2.0.1",
		"2001:db8:::/32",
		"fe80::1%eth0",
		"192.0.2.0/1000",
		"192.0.2.0/0024",
		"2001:db8::/1x",
		"garbage",
		"192.0.2.0//24",
		"::/",
		":",
		"2001:db8::g",
		"192.0.2.0\n",
		"0123456789012345678901234567890123456789012345678901234567890/1",
	};
	struct prefix p = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (prefix_parse(bad[i], &p) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		if (prefix_parse_keep_host(bad[i], &p) != -EINVAL)
			fail_msg("accepted (keep host) \"%s\"", bad[i]);
		if (addr_parse(bad[i], &p) != -EINVAL)
			fail_msg("accepted as address \"%s\"", bad[i]);
	}
	assert_int_equal(prefix_parse(NULL, &p), -EINVAL);
	assert_int_equal(addr_parse(NULL, &p), -EINVAL);
}

static void test_addr_parse(void **state)
{
	struct prefix p;
	(void)state;

	assert_int_equal(addr_parse("192.0.2.1", &p), 0);
	assert_true(prefix_is_host(&p));
	assert_int_equal(addr_parse("fe80::2", &p), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(addr_parse("192.0.2.1/32", &p), -EINVAL);
	assert_int_equal(addr_parse("2001:db8::/128", &p), -EINVAL);
}

static void test_addr_from_bytes(void **state)
{
	struct prefix p;
	const uint8_t v4[4] = {198, 51, 100, 1};
	uint8_t v6[16];
	(void)state;

	memset(v6, 0xab, sizeof(v6));
	memset(&p, 0x55, sizeof(p));
	addr_from_bytes(&p, AF_INET, v4);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 32);
	assert_memory_equal(p.addr, ((uint8_t[16]){198, 51, 100, 1}), 16);
	assert_true(prefix_equal(&p, pa("198.51.100.1")));

	addr_from_bytes(&p, AF_INET6, v6);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 128);
	assert_memory_equal(p.addr, v6, 16);

	addr_from_bytes(&p, 0, v6);
	assert_int_equal(p.family, 0);
}

static void test_format(void **state)
{
	static const char *const texts[] = {
		"192.0.2.0/24",
		"0.0.0.0/0",
		"203.0.113.9/32",
		"2001:db8::/32",
		"::/0",
		"fe80::1/128",
		"2001:db8:1:2:3:4:5:6/128",
		"198.51.100.128/25",
	};
	char buf[PREFIX_STRLEN];
	struct prefix p;
	(void)state;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		assert_string_equal(prefix_format(pp(texts[i]), buf), texts[i]);
	assert_string_equal(addr_format(pa("192.0.2.1"), buf), "192.0.2.1");
	assert_string_equal(addr_format(pp("2001:db8::/32"), buf), "2001:db8::");
	memset(&p, 0, sizeof(p));
	assert_string_equal(prefix_format(&p, buf), "none");
	assert_string_equal(addr_format(&p, buf), "none");
	/* The longest text fits. */
	p = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_string_equal(prefix_format(&p, buf),
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

static void test_format_parse_roundtrip(void **state)
{
	char buf[PREFIX_STRLEN];
	(void)state;

	for (int i = 0; i < 5000; i++) {
		struct prefix p = random_prefix(), q;

		assert_int_equal(prefix_parse(prefix_format(&p, buf), &q), 0);
		assert_true(prefix_equal(&p, &q));
		assert_memory_equal(&p, &q, sizeof(p));
	}
}

static unsigned popcount_addr(const struct prefix *p)
{
	unsigned n = 0;

	for (int i = 0; i < 16; i++)
		n += (unsigned)__builtin_popcount(p->addr[i]);
	return n;
}

static void test_normalise(void **state)
{
	(void)state;

	for (unsigned len = 0; len <= 128; len++) {
		struct prefix p = {AF_INET6, (uint8_t)len, {0}};

		memset(p.addr, 0xff, 16);
		prefix_normalise(&p);
		assert_int_equal(popcount_addr(&p), len);
		for (unsigned b = 0; b < 128; b++)
			assert_int_equal(prefix_bit(&p, b), b < len);
	}
	for (unsigned len = 0; len <= 32; len++) {
		struct prefix p = {AF_INET, (uint8_t)len, {0}};

		memset(p.addr, 0xff, 16); /* bytes past 4 are cleared too */
		prefix_normalise(&p);
		assert_int_equal(popcount_addr(&p), len);
	}
}

static void test_truncate(void **state)
{
	struct prefix a = A("192.0.2.77"), t;
	(void)state;

	t = prefix_truncate(&a, 24);
	assert_true(prefix_equal(&t, pp("192.0.2.0/24")));
	t = prefix_truncate(&a, 0);
	assert_true(prefix_equal(&t, pp("0.0.0.0/0")));
	t = prefix_truncate(&a, 40); /* clamps to the family */
	assert_true(prefix_equal(&t, &a));
	/* The source stays as it was. */
	assert_int_equal(a.addr[3], 77);
	a = A("2001:db8::ffff");
	t = prefix_truncate(&a, 127);
	assert_true(prefix_equal(&t, pp("2001:db8::fffe/127")));
}

static void test_family_bits_and_host(void **state)
{
	(void)state;
	assert_int_equal(prefix_family_bits(AF_INET), 32);
	assert_int_equal(prefix_family_bits(AF_INET6), 128);
	assert_int_equal(prefix_family_bits(0), 0);
	assert_int_equal(prefix_family_bits(AF_UNIX), 0);
	assert_true(prefix_is_host(pp("192.0.2.1/32")));
	assert_false(prefix_is_host(pp("192.0.2.0/31")));
	assert_true(prefix_is_host(pp("::1/128")));
	assert_false(prefix_is_host(pp("::/127")));
	assert_false(prefix_is_host(&(struct prefix){0}));
}

static void test_equal(void **state)
{
	(void)state;
	assert_true(prefix_equal(pp("192.0.2.0/24"), pp("192.0.2.99/24")));
	assert_false(prefix_equal(pp("192.0.2.0/24"), pp("192.0.2.0/25")));
	/* Same bytes, other family. */
	assert_false(prefix_equal(pp("0.0.0.0/0"), pp("::/0")));
}

static bool contains(const char *outer, const char *inner)
{
	struct prefix o = P(outer), i = P(inner);

	return prefix_contains(&o, &i);
}

static void test_contains(void **state)
{
	(void)state;
	assert_true(contains("0.0.0.0/0", "192.0.2.1"));
	assert_true(contains("0.0.0.0/0", "0.0.0.0/0"));
	assert_true(contains("::/0", "2001:db8::/32"));
	assert_true(contains("192.0.2.0/24", "192.0.2.0/24"));
	assert_true(contains("192.0.2.0/24", "192.0.2.128/25"));
	assert_true(contains("192.0.2.0/24", "192.0.2.255"));
	assert_false(contains("192.0.2.0/24", "192.0.3.0"));
	assert_false(contains("192.0.2.0/25", "192.0.2.128"));
	assert_false(contains("192.0.2.0/25", "192.0.2.0/24"));
	assert_true(contains("192.0.2.1/32", "192.0.2.1/32"));
	assert_false(contains("192.0.2.1/32", "192.0.2.0/32"));
	assert_true(contains("2001:db8::1/128", "2001:db8::1"));
	assert_false(contains("2001:db8::1/128", "2001:db8::"));
	assert_true(contains("2001:db8::/127", "2001:db8::1"));
	assert_false(contains("2001:db8::/128", "2001:db8::/127"));
	/* The families never contain each other, not even /0 or mapped ones. */
	assert_false(contains("0.0.0.0/0", "::/0"));
	assert_false(contains("::/0", "0.0.0.0/0"));
	assert_false(contains("::/0", "192.0.2.1"));
	assert_false(contains("0.0.0.0/0", "::ffff:192.0.2.1"));
	assert_false(contains("::ffff:0:0/96", "192.0.2.1"));
	/* Nothing contains or lies within "none". */
	assert_false(prefix_contains(&(struct prefix){0}, &(struct prefix){0}));
}

static void test_contains_ignores_outer_host_bits(void **state)
{
	struct prefix iface, a;
	(void)state;

	assert_int_equal(prefix_parse_keep_host("fe80::1/64", &iface), 0);
	a = A("fe80::2");
	assert_true(prefix_contains(&iface, &a));
	a = A("fe80:0:0:1::2");
	assert_false(prefix_contains(&iface, &a));
	assert_int_equal(prefix_parse_keep_host("192.0.2.77/24", &iface), 0);
	a = A("192.0.2.1");
	assert_true(prefix_contains(&iface, &a));
}

static void test_contains_matches_bitwise_model(void **state)
{
	(void)state;
	for (int i = 0; i < 20000; i++) {
		struct prefix o = random_prefix(), in = random_prefix();
		bool expect;

		/* Often derive inner from outer so that containment happens. */
		if (i % 2) {
			in = o;
			in.len = (uint8_t)(o.len + rnd() % (prefix_family_bits(o.family) -
							    o.len + 1));
			for (unsigned b = o.len; b < in.len; b++)
				if (rnd() & 1)
					in.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			if (rnd() % 4 == 0 && o.len > 0) { /* flip one network bit */
				unsigned b = (unsigned)(rnd() % o.len);
				in.addr[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
			}
		}
		expect = o.family == in.family && in.len >= o.len;
		for (unsigned b = 0; expect && b < o.len; b++)
			expect = prefix_bit(&o, b) == prefix_bit(&in, b);
		assert_int_equal(prefix_contains(&o, &in), expect);
	}
}

static int cmp_qsort(const void *a, const void *b)
{
	return prefix_cmp(a, b);
}

static void test_cmp(void **state)
{
	static const char *const sorted[] = {
		"0.0.0.0/0",
		"0.0.0.0/1",
		"0.0.0.0/32",
		"10.0.0.0/8",
		"10.0.0.0/16",
		"10.128.0.0/9",
		"192.0.2.0/24",
		"192.0.2.0/25",
		"192.0.2.128/25",
		"255.255.255.255/32",
		"::/0",
		"::/128",
		"::1/128",
		"2001:db8::/32",
		"2001:db8::/64",
		"2001:db8::1/128",
		"2001:db8:1::/48",
		"fe80::/10",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	};
	size_t n = sizeof(sorted) / sizeof(sorted[0]);
	(void)state;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			struct prefix a = P(sorted[i]), b = P(sorted[j]);
			int c = prefix_cmp(&a, &b);

			assert_int_equal(c, i < j ? -1 : i > j ? 1 : 0);
		}
}

static void test_cmp_is_a_total_order(void **state)
{
	enum { COUNT = 3000 };
	struct prefix *list = calloc(COUNT, sizeof(*list));
	(void)state;

	assert_non_null(list);
	for (int i = 0; i < COUNT; i++)
		list[i] = random_prefix();
	list[7] = list[3]; /* a duplicate */
	qsort(list, COUNT, sizeof(*list), cmp_qsort);
	for (int i = 0; i + 1 < COUNT; i++) {
		const struct prefix *a = &list[i], *b = &list[i + 1];
		int c = prefix_cmp(a, b);

		assert_true(c <= 0);
		assert_int_equal(prefix_cmp(b, a), -c);
		assert_int_equal(c == 0, prefix_equal(a, b));
		/* IPv4 first; within a family, a prefix comes before all it contains. */
		assert_false(a->family == AF_INET6 && b->family == AF_INET);
		if (prefix_contains(b, a))
			assert_true(prefix_equal(a, b));
	}
	free(list);
}

static void test_link_local(void **state)
{
	(void)state;
	assert_true(addr_is_link_local(pa("fe80::1")));
	assert_true(addr_is_link_local(pa("febf:ffff::1")));
	assert_false(addr_is_link_local(pa("fec0::1")));
	assert_false(addr_is_link_local(pa("fe7f::1")));
	assert_false(addr_is_link_local(pa("2001:db8::1")));
	assert_true(addr_is_link_local(pp("fe80::/10")));
	assert_false(addr_is_link_local(pp("fe80::/9")));
	assert_true(addr_is_link_local(pa("169.254.0.1")));
	assert_true(addr_is_link_local(pa("169.254.255.255")));
	assert_false(addr_is_link_local(pa("169.255.0.1")));
	assert_false(addr_is_link_local(pa("192.0.2.1")));
	assert_true(addr_is_link_local(pp("169.254.0.0/16")));
	assert_false(addr_is_link_local(pp("169.254.0.0/15")));
	assert_false(addr_is_link_local(pa("::ffff:169.254.0.1")));
	assert_false(addr_is_link_local(&(struct prefix){0}));
}

static void test_prefix_bit(void **state)
{
	struct prefix p = A("128.0.0.1");
	(void)state;

	assert_int_equal(prefix_bit(&p, 0), 1);
	assert_int_equal(prefix_bit(&p, 1), 0);
	assert_int_equal(prefix_bit(&p, 30), 0);
	assert_int_equal(prefix_bit(&p, 31), 1);
	p = A("::1");
	assert_int_equal(prefix_bit(&p, 127), 1);
	assert_int_equal(prefix_bit(&p, 126), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_clears_host_bits),
		cmocka_unit_test(test_parse_keep_host),
		cmocka_unit_test(test_parse_rejects_bad_text),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_addr_from_bytes),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_family_bits_and_host),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_contains_ignores_outer_host_bits),
		cmocka_unit_test(test_contains_matches_bitwise_model),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_cmp_is_a_total_order),
		cmocka_unit_test(test_link_local),
		cmocka_unit_test(test_prefix_bit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
