/* test_wgkey: base64 and hex forms of WireGuard keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const char *const spec_key = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

/* Model base64 (RFC 4648, standard alphabet), written out independently. */
static void model_base64(const uint8_t *in, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned o = 0;

	for (unsigned i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		unsigned have = 32 - i >= 3 ? 3 : 32 - i;

		if (have > 1)
			v |= (unsigned)in[i + 1] << 8;
		if (have > 2)
			v |= in[i + 2];
		for (unsigned c = 0; c < 4; c++)
			out[o++] = c <= have ? abc[(v >> (18 - 6 * c)) & 63] : '=';
	}
	out[o] = '\0';
}

static struct wg_key pattern_key(unsigned seed)
{
	struct wg_key k;

	for (unsigned i = 0; i < WG_KEY_LEN; i++)
		k.b[i] = (uint8_t)(seed * 131 + i * 29 + (seed >> 3));
	return k;
}

static void test_base64_roundtrip(void **state)
{
	char buf[WG_KEY_B64_LEN], want[WG_KEY_B64_LEN];
	struct wg_key k, back;
	(void)state;

	for (unsigned seed = 0; seed < 2000; seed++) {
		k = seed < 1000 ? pattern_key(seed) : key_n(seed * 2654435761u);
		assert_ptr_equal(wg_key_to_base64(&k, buf), buf);
		model_base64(k.b, want);
		assert_string_equal(buf, want);
		assert_int_equal(strlen(buf), 44);
		assert_int_equal(wg_key_from_base64(buf, &back), 0);
		assert_memory_equal(back.b, k.b, WG_KEY_LEN);
	}
}

static void test_base64_known(void **state)
{
	char buf[WG_KEY_B64_LEN];
	struct wg_key k;
	(void)state;

	assert_int_equal(wg_key_from_base64(spec_key, &k), 0);
	assert_string_equal(wg_key_to_base64(&k, buf), spec_key);
	assert_int_equal(
		wg_key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", &k),
		0);
	assert_true(wg_key_is_zero(&k));
	assert_int_equal(
		wg_key_from_base64("//////////////////////////////////////////8=", &k),
		0);
	for (int i = 0; i < WG_KEY_LEN; i++)
		assert_int_equal(k.b[i], 0xff);
}

static void test_base64_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"=",
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg",	  /* no padding */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D=",	  /* 43 characters */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg==",  /* 45 */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= ",  /* trailing space */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n", /* trailing newline */
		" xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",  /* leading space */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dgx",	  /* no '=' at the end */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D==",	  /* 31 bytes */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=",	  /* stray low bits */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D*=",	  /* not base64 */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8_g=",	  /* URL-safe alphabet */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZq=8Dg=",	  /* '=' inside */
		"xTIBA5rboUvnH4htodjb 6e697QjLERt1NAB4mZqp8Dg=",  /* space inside */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8DgAAAA=",
	};
	struct wg_key k;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&k, 0xaa, sizeof(k));
		if (wg_key_from_base64(bad[i], &k) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		/* A refused key leaves out alone. */
		for (int j = 0; j < WG_KEY_LEN; j++)
			assert_int_equal(k.b[j], 0xaa);
	}
	assert_int_equal(wg_key_from_base64(NULL, &k), -EINVAL);
}

static void test_hex(void **state)
{
	char buf[65], want[65];
	struct wg_key k = K(spec_key), back;
	(void)state;

	for (int i = 0; i < WG_KEY_LEN; i++)
		snprintf(want + 2 * i, 3, "%02x", k.b[i]);
	assert_ptr_equal(wg_key_to_hex(&k, buf), buf);
	assert_string_equal(buf, want);
	assert_int_equal(wg_key_from_hex(buf, &back), 0);
	assert_memory_equal(back.b, k.b, WG_KEY_LEN);

	/* Upper case is the same key. */
	for (int i = 0; buf[i]; i++)
		if (buf[i] >= 'a' && buf[i] <= 'f')
			buf[i] = (char)(buf[i] - 'a' + 'A');
	assert_int_equal(wg_key_from_hex(buf, &back), 0);
	assert_memory_equal(back.b, k.b, WG_KEY_LEN);

	for (unsigned seed = 0; seed < 500; seed++) {
		k = pattern_key(seed);
		assert_int_equal(wg_key_from_hex(wg_key_to_hex(&k, buf), &back), 0);
		assert_int_equal(wg_key_cmp(&k, &back), 0);
	}
}

static void test_hex_rejects(void **state)
{
	char good[65], bad[80];
	struct wg_key k = K(spec_key);
	(void)state;

	wg_key_to_hex(&k, good);
	assert_int_equal(wg_key_from_hex("", &k), -EINVAL);
	assert_int_equal(wg_key_from_hex(NULL, &k), -EINVAL);
	snprintf(bad, sizeof(bad), "%.63s", good); /* 63 */
	assert_int_equal(wg_key_from_hex(bad, &k), -EINVAL);
	snprintf(bad, sizeof(bad), "%s0", good); /* 65 */
	assert_int_equal(wg_key_from_hex(bad, &k), -EINVAL);
	snprintf(bad, sizeof(bad), "%s\n", good);
	assert_int_equal(wg_key_from_hex(bad, &k), -EINVAL);
	for (int pos = 0; pos < 64; pos += 9) {
		snprintf(bad, sizeof(bad), "%s", good);
		bad[pos] = 'g';
		assert_int_equal(wg_key_from_hex(bad, &k), -EINVAL);
		bad[pos] = ' ';
		assert_int_equal(wg_key_from_hex(bad, &k), -EINVAL);
	}
	/* base64 is not hex. */
	assert_int_equal(wg_key_from_hex(spec_key, &k), -EINVAL);
}

/* A UAPI line's value: len bytes at text, no NUL; an exact-size copy, so
 * that valgrind sees any read past it. */
static int from_hex_n(const char *text, size_t len, struct wg_key *k)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, text, len);
	r = wg_key_from_hex_n(copy, len, k);
	free(copy);
	return r;
}

static void test_hex_n(void **state)
{
	char good[65], bad[80];
	struct wg_key k = K(spec_key), back;
	(void)state;

	wg_key_to_hex(&k, good);
	assert_int_equal(from_hex_n(good, 64, &back), 0);
	assert_int_equal(wg_key_cmp(&k, &back), 0);
	/* Only len bytes count: what follows is another line. */
	snprintf(bad, sizeof(bad), "%s\nallowed_ip=", good);
	assert_int_equal(wg_key_from_hex_n(bad, 64, &back), 0);
	assert_int_equal(wg_key_cmp(&k, &back), 0);
	assert_int_equal(wg_key_from_hex_n(bad, 65, &back), -EINVAL);
	assert_int_equal(from_hex_n(good, 63, &back), -EINVAL);
	assert_int_equal(from_hex_n(good, 0, &back), -EINVAL);
	assert_int_equal(wg_key_from_hex_n(NULL, 64, &back), -EINVAL);
	/* A NUL or a stray byte inside: refused, the key left alone. */
	k = pattern_key(7);
	for (int pos = 0; pos < 64; pos += 7) {
		snprintf(bad, sizeof(bad), "%s", good);
		bad[pos] = '\0';
		assert_int_equal(from_hex_n(bad, 64, &k), -EINVAL);
		bad[pos] = 'x';
		assert_int_equal(from_hex_n(bad, 64, &k), -EINVAL);
	}
	back = pattern_key(7);
	assert_int_equal(wg_key_cmp(&k, &back), 0);
}

static void test_cmp(void **state)
{
	struct wg_key a, b;
	(void)state;

	for (unsigned seed = 0; seed < 300; seed++) {
		a = pattern_key(seed);
		b = pattern_key(seed * 7 + 1);
		int want = memcmp(a.b, b.b, WG_KEY_LEN);

		want = want < 0 ? -1 : want > 0;
		assert_int_equal(wg_key_cmp(&a, &b), want);
		assert_int_equal(wg_key_cmp(&b, &a), -want);
		assert_int_equal(wg_key_cmp(&a, &a), 0);
	}
	/* The first byte weighs most. */
	memset(&a, 0, sizeof(a));
	memset(&b, 0xff, sizeof(b));
	a.b[0] = 1;
	b.b[0] = 0;
	assert_true(wg_key_cmp(&a, &b) > 0);
	a = key_n(1);
	b = key_n(2);
	assert_true(wg_key_cmp(&a, &b) < 0);
}

static void test_is_zero(void **state)
{
	struct wg_key k;
	(void)state;

	memset(&k, 0, sizeof(k));
	assert_true(wg_key_is_zero(&k));
	for (int i = 0; i < WG_KEY_LEN; i++) {
		k.b[i] = 0x01;
		assert_false(wg_key_is_zero(&k));
		k.b[i] = 0x80;
		assert_false(wg_key_is_zero(&k));
		k.b[i] = 0;
	}
	k = K(spec_key);
	assert_false(wg_key_is_zero(&k));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_roundtrip),
		cmocka_unit_test(test_base64_known),
		cmocka_unit_test(test_base64_rejects),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hex_rejects),
		cmocka_unit_test(test_hex_n),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_is_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
