/* test_trie: the prefix trie against a naive sorted-array model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prefix_trie.h"
#include "testutil.h"

/* A fixed-seed generator, so failures repeat. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Values are small integers disguised as pointers. */
#define V(n) ((void *)(uintptr_t)(n))

/* Pointers to parsed values, for one-line calls (a small ring). */
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

/* ---- collecting walks ---- */

struct seen {
	struct prefix keys[4096];
	uintptr_t values[4096];
	size_t n;
	size_t stop_after; /* 0: never stop */
};

static int collect(const struct prefix *key, void *value, void *ctx)
{
	struct seen *s = ctx;

	assert_true(s->n < 4096);
	s->keys[s->n] = *key;
	s->values[s->n] = (uintptr_t)value;
	s->n++;
	return s->stop_after && s->n == s->stop_after ? 77 : 0;
}

static struct seen *walk_all(const struct ptrie *t)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(ptrie_walk(t, collect, &s), 0);
	return &s;
}

static struct seen *walk_in(const struct ptrie *t, const struct prefix *outer)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(ptrie_walk_within(t, outer, collect, &s), 0);
	return &s;
}

static void assert_keys(const struct seen *s, const char *const *want, size_t n)
{
	char buf[PREFIX_STRLEN];

	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(prefix_format(&s->keys[i], buf), want[i]) != 0)
			fail_msg("walk item %zu: %s, want %s", i, buf, want[i]);
}

/* ---- fixed cases ---- */

static void test_empty(void **state)
{
	struct ptrie *t = ptrie_new();
	struct prefix p = P("192.0.2.0/24"), m;
	(void)state;

	assert_non_null(t);
	assert_int_equal(ptrie_count(t), 0);
	assert_int_equal(ptrie_node_count(t), 0);
	assert_null(ptrie_get(t, &p));
	assert_null(ptrie_del(t, &p));
	assert_null(ptrie_lpm(t, &p, &m));
	assert_int_equal(walk_all(t)->n, 0);
	assert_int_equal(walk_in(t, &p)->n, 0);
	assert_true(ptrie_memory(t) > 0);
	ptrie_free(t, NULL);
	ptrie_free(NULL, NULL);
}

static void test_set_get_replace_del(void **state)
{
	struct ptrie *t = ptrie_new();
	struct prefix a = P("192.0.2.0/24"), b = P("192.0.2.0/25"),
		      c = P("2001:db8::/32");
	struct prefix host_bits;
	(void)state;

	assert_int_equal(ptrie_set(t, &a, V(1)), 0);
	assert_int_equal(ptrie_set(t, &b, V(2)), 0);
	assert_int_equal(ptrie_set(t, &c, V(3)), 0);
	assert_int_equal(ptrie_count(t), 3);
	assert_ptr_equal(ptrie_get(t, &a), V(1));
	assert_ptr_equal(ptrie_get(t, &b), V(2));
	assert_ptr_equal(ptrie_get(t, &c), V(3));
	assert_null(ptrie_get(t, pp("192.0.2.0/23")));
	assert_null(ptrie_get(t, pp("192.0.2.128/25")));
	assert_null(ptrie_get(t, pp("192.0.2.0/26")));

	/* Keys are normalised: host bits do not matter. */
	assert_int_equal(prefix_parse_keep_host("192.0.2.99/24", &host_bits), 0);
	assert_ptr_equal(ptrie_get(t, &host_bits), V(1));
	assert_int_equal(ptrie_set(t, &host_bits, V(4)), 0);
	assert_int_equal(ptrie_count(t), 3);
	assert_ptr_equal(ptrie_get(t, &a), V(4));

	assert_ptr_equal(ptrie_del(t, &a), V(4));
	assert_null(ptrie_del(t, &a));
	assert_null(ptrie_get(t, &a));
	assert_ptr_equal(ptrie_get(t, &b), V(2));
	assert_int_equal(ptrie_count(t), 2);
	assert_ptr_equal(ptrie_del(t, &b), V(2));
	assert_ptr_equal(ptrie_del(t, &c), V(3));
	assert_int_equal(ptrie_count(t), 0);
	assert_int_equal(ptrie_node_count(t), 0);
	ptrie_free(t, NULL);
}

static void test_bad_arguments(void **state)
{
	struct ptrie *t = ptrie_new();
	struct prefix none = {0}, longer = {AF_INET, 33, {10}};
	struct prefix a = P("10.0.0.0/8");
	(void)state;

	assert_int_equal(ptrie_set(t, &a, NULL), -EINVAL);
	assert_int_equal(ptrie_set(t, &none, V(1)), -EINVAL);
	assert_int_equal(ptrie_set(t, &longer, V(1)), -EINVAL);
	assert_int_equal(ptrie_count(t), 0);
	assert_null(ptrie_get(t, &none));
	assert_null(ptrie_del(t, &none));
	assert_null(ptrie_lpm(t, &none, NULL));
	assert_int_equal(ptrie_walk_within(t, &none, collect, NULL), 0);
	ptrie_free(t, NULL);
}

static void test_edge_lengths(void **state)
{
	static const char *const keys[] = {
		"0.0.0.0/0", "0.0.0.0/32", "255.255.255.255/32",
		"::/0",	     "::/128",	   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		"8000::/1",  "::/1",
	};
	struct ptrie *t = ptrie_new();
	struct prefix m;
	(void)state;

	for (size_t i = 0; i < 8; i++)
		assert_int_equal(ptrie_set(t, pp(keys[i]), V(i + 1)), 0);
	for (size_t i = 0; i < 8; i++)
		assert_ptr_equal(ptrie_get(t, pp(keys[i])), V(i + 1));
	assert_ptr_equal(ptrie_lpm(t, pa("192.0.2.1"), &m), V(1));
	assert_true(prefix_equal(&m, pp("0.0.0.0/0")));
	assert_ptr_equal(ptrie_lpm(t, pa("0.0.0.0"), &m), V(2));
	assert_ptr_equal(ptrie_lpm(t, pa("::"), &m), V(5));
	assert_ptr_equal(ptrie_lpm(t, pa("::1"), &m), V(8));
	assert_ptr_equal(ptrie_lpm(t, pa("ffff::"), &m), V(7));
	assert_true(prefix_equal(&m, pp("8000::/1")));
	assert_ptr_equal(ptrie_lpm(t, pp("::/0"), &m), V(4));
	ptrie_free(t, NULL);
}

static void test_families_are_separate(void **state)
{
	struct ptrie *t = ptrie_new();
	struct prefix v4all = P("0.0.0.0/0"), v6all = P("::/0");
	(void)state;

	assert_int_equal(ptrie_set(t, &v4all, V(4)), 0);
	/* Same bytes and length, other family: another key. */
	assert_null(ptrie_get(t, &v6all));
	assert_null(ptrie_lpm(t, pa("::ffff:192.0.2.1"), NULL));
	assert_null(ptrie_lpm(t, pa("::"), NULL));
	assert_int_equal(ptrie_set(t, &v6all, V(6)), 0);
	assert_ptr_equal(ptrie_lpm(t, pa("0.0.0.0"), NULL), V(4));
	assert_ptr_equal(ptrie_lpm(t, pa("::"), NULL), V(6));
	assert_int_equal(walk_in(t, &v4all)->n, 1);
	assert_int_equal(walk_in(t, &v6all)->n, 1);
	assert_ptr_equal(ptrie_del(t, &v4all), V(4));
	assert_ptr_equal(ptrie_get(t, &v6all), V(6));
	ptrie_free(t, NULL);
}

static void test_lpm(void **state)
{
	struct ptrie *t = ptrie_new();
	struct prefix m;
	char buf[PREFIX_STRLEN];
	(void)state;

	assert_int_equal(ptrie_set(t, pp("10.0.0.0/8"), V(8)), 0);
	assert_int_equal(ptrie_set(t, pp("10.1.0.0/16"), V(16)), 0);
	assert_int_equal(ptrie_set(t, pp("10.1.2.0/24"), V(24)), 0);
	assert_int_equal(ptrie_set(t, pp("10.1.2.3/32"), V(32)), 0);

	assert_ptr_equal(ptrie_lpm(t, pa("10.1.2.3"), &m), V(32));
	assert_string_equal(prefix_format(&m, buf), "10.1.2.3/32");
	assert_ptr_equal(ptrie_lpm(t, pa("10.1.2.4"), &m), V(24));
	assert_string_equal(prefix_format(&m, buf), "10.1.2.0/24");
	assert_ptr_equal(ptrie_lpm(t, pa("10.1.3.4"), &m), V(16));
	assert_ptr_equal(ptrie_lpm(t, pa("10.2.3.4"), &m), V(8));
	assert_ptr_equal(ptrie_lpm(t, pa("10.1.2.3"), NULL), V(32));
	memset(&m, 0x5a, sizeof(m));
	assert_null(ptrie_lpm(t, pa("11.0.0.1"), &m));

	/* A prefix query: keys longer than it never match. */
	assert_ptr_equal(ptrie_lpm(t, pp("10.1.2.0/24"), &m), V(24));
	assert_ptr_equal(ptrie_lpm(t, pp("10.1.2.0/23"), &m), V(16));
	assert_ptr_equal(ptrie_lpm(t, pp("10.1.0.0/15"), &m), V(8));
	assert_null(ptrie_lpm(t, pp("10.0.0.0/7"), &m));
	assert_null(ptrie_lpm(t, pp("0.0.0.0/0"), &m));

	/* A query with host bits is read up to its length only. */
	struct prefix q;
	assert_int_equal(prefix_parse_keep_host("10.1.2.3/23", &q), 0);
	assert_ptr_equal(ptrie_lpm(t, &q, &m), V(16));

	/* Deleting an inner key falls back to the next shorter one. */
	assert_ptr_equal(ptrie_del(t, pp("10.1.2.0/24")), V(24));
	assert_ptr_equal(ptrie_lpm(t, pa("10.1.2.4"), &m), V(16));
	assert_ptr_equal(ptrie_lpm(t, pa("10.1.2.3"), &m), V(32));
	ptrie_free(t, NULL);
}

static void test_walk_order_and_stop(void **state)
{
	static const char *const sorted[] = {
		"0.0.0.0/0",	   "10.0.0.0/8",     "10.0.0.0/16",
		"10.128.0.0/9",	   "192.0.2.0/24",   "192.0.2.0/25",
		"192.0.2.128/25",  "203.0.113.7/32", "::/0",
		"2001:db8::/32",   "2001:db8::/64",  "2001:db8::1/128",
		"2001:db8:1::/48", "fe80::/10",
	};
	const size_t n = sizeof(sorted) / sizeof(sorted[0]);
	struct ptrie *t = ptrie_new();
	struct seen *s;
	(void)state;

	/* Insert in a scrambled order. */
	for (size_t i = 0; i < n; i++) {
		size_t j = (i * 5 + 3) % n;
		assert_int_equal(ptrie_set(t, pp(sorted[j]), V(j + 1)), 0);
	}
	s = walk_all(t);
	assert_keys(s, sorted, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->values[i], i + 1);

	/* A visitor's non-zero answer stops the walk and is returned. */
	s->n = 0;
	s->stop_after = 3;
	assert_int_equal(ptrie_walk(t, collect, s), 77);
	assert_int_equal(s->n, 3);
	s->n = 0;
	s->stop_after = 2;
	assert_int_equal(ptrie_walk_within(t, pp("2001:db8::/32"), collect, s), 77);
	assert_int_equal(s->n, 2);

	s = walk_in(t, pp("2001:db8::/32"));
	assert_keys(s, sorted + 9, 4);
	s = walk_in(t, pp("192.0.2.0/23")); /* outer not a key */
	assert_keys(s, sorted + 4, 3);
	s = walk_in(t, pp("10.0.0.0/8"));
	assert_keys(s, sorted + 1, 3);
	s = walk_in(t, pp("0.0.0.0/0"));
	assert_keys(s, sorted, 8);
	s = walk_in(t, pp("::/0"));
	assert_keys(s, sorted + 8, 6);
	s = walk_in(t, pp("203.0.113.7/32"));
	assert_keys(s, sorted + 7, 1);
	assert_int_equal(walk_in(t, pp("203.0.113.6/32"))->n, 0);
	assert_int_equal(walk_in(t, pp("172.16.0.0/12"))->n, 0);
	/* An outer with host bits set is read up to its length. */
	struct prefix outer;
	assert_int_equal(prefix_parse_keep_host("192.0.2.200/24", &outer), 0);
	assert_keys(walk_in(t, &outer), sorted + 4, 3);
	ptrie_free(t, NULL);
}

static unsigned freed;
static void count_free(void *value)
{
	freed++;
	free(value);
}

static void test_free_values(void **state)
{
	struct ptrie *t = ptrie_new();
	(void)state;

	for (unsigned i = 0; i < 300; i++) {
		struct prefix p = A("2001:db8::");

		p.addr[14] = (uint8_t)(i >> 8);
		p.addr[15] = (uint8_t)i;
		p = prefix_truncate(&p, 100 + i % 29);
		void *v = malloc(8);
		void *old = ptrie_get(t, &p);

		assert_non_null(v);
		free(old); /* replaced below */
		assert_int_equal(ptrie_set(t, &p, v), 0);
	}
	freed = 0;
	size_t count = ptrie_count(t);
	ptrie_free(t, count_free);
	assert_int_equal(freed, count);
}

/* ---- randomized comparison with a model ---- */

struct model {
	struct prefix keys[2048];
	uintptr_t values[2048];
	size_t n;
};

/* Index of key, or of where it would go (with *found false). */
static size_t model_find(const struct model *m, const struct prefix *key, bool *found)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = prefix_cmp(&m->keys[mid], key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void model_set(struct model *m, const struct prefix *key, uintptr_t v)
{
	bool found;
	size_t i = model_find(m, key, &found);

	if (!found) {
		assert_true(m->n < 2048);
		memmove(&m->keys[i + 1], &m->keys[i], (m->n - i) * sizeof(m->keys[0]));
		memmove(&m->values[i + 1], &m->values[i],
			(m->n - i) * sizeof(m->values[0]));
		m->keys[i] = *key;
		m->n++;
	}
	m->values[i] = v;
}

static uintptr_t model_del(struct model *m, const struct prefix *key)
{
	bool found;
	size_t i = model_find(m, key, &found);
	uintptr_t v;

	if (!found)
		return 0;
	v = m->values[i];
	memmove(&m->keys[i], &m->keys[i + 1], (m->n - i - 1) * sizeof(m->keys[0]));
	memmove(&m->values[i], &m->values[i + 1], (m->n - i - 1) * sizeof(m->values[0]));
	m->n--;
	return v;
}

static uintptr_t model_lpm(const struct model *m, const struct prefix *q,
			   struct prefix *match)
{
	uintptr_t best = 0;
	int best_len = -1;

	for (size_t i = 0; i < m->n; i++)
		if (prefix_contains(&m->keys[i], q) && m->keys[i].len <= q->len &&
		    m->keys[i].len > best_len) {
			best = m->values[i];
			best_len = m->keys[i].len;
			*match = m->keys[i];
		}
	return best;
}

/* Few base addresses per family, so that keys nest and part often. */
static struct prefix bases[2][6];

static struct prefix random_key(void)
{
	int fam = rnd() & 1;
	struct prefix p = bases[fam][rnd() % 6];
	unsigned bits = prefix_family_bits(p.family);

	if (rnd() % 3 == 0) { /* part from the base somewhere */
		unsigned b = (unsigned)(rnd() % bits);
		p.addr[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
	}
	if (rnd() % 8 == 0) /* now and then, anywhere */
		for (unsigned i = 0; i < bits / 8; i++)
			p.addr[i] = (uint8_t)rnd();
	return prefix_truncate(&p, (unsigned)(rnd() % (bits + 1)));
}

static void check_against_model(const struct ptrie *t, const struct model *m)
{
	char buf[PREFIX_STRLEN], buf2[PREFIX_STRLEN];
	struct seen *s;

	assert_int_equal(ptrie_count(t), m->n);
	/* Branching nodes always have two children: fewer than 2n nodes. */
	assert_true(ptrie_node_count(t) <= 2 * m->n);

	s = walk_all(t);
	assert_int_equal(s->n, m->n);
	for (size_t i = 0; i < m->n; i++) {
		if (!prefix_equal(&s->keys[i], &m->keys[i]))
			fail_msg("walk item %zu: %s, want %s", i,
				 prefix_format(&s->keys[i], buf),
				 prefix_format(&m->keys[i], buf2));
		assert_int_equal(s->values[i], m->values[i]);
	}

	for (int q = 0; q < 4; q++) {
		struct prefix key = random_key(), want_match, got_match;
		bool found;
		size_t i = model_find(m, &key, &found);
		uintptr_t want;

		/* get, for a key that may or may not be there, and one that is. */
		assert_ptr_equal(ptrie_get(t, &key), found ? V(m->values[i]) : NULL);
		if (m->n) {
			i = (size_t)(rnd() % m->n);
			assert_ptr_equal(ptrie_get(t, &m->keys[i]), V(m->values[i]));
		}

		/* lpm, for an address and for a prefix. */
		struct prefix addr = key;
		addr.len = (uint8_t)prefix_family_bits(key.family);
		for (unsigned b = key.len; b < addr.len; b++)
			if (rnd() & 1)
				addr.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		want = model_lpm(m, &addr, &want_match);
		assert_ptr_equal(ptrie_lpm(t, &addr, &got_match), want ? V(want) : NULL);
		if (want)
			assert_true(prefix_equal(&got_match, &want_match));
		want = model_lpm(m, &key, &want_match);
		assert_ptr_equal(ptrie_lpm(t, &key, &got_match), want ? V(want) : NULL);
		if (want)
			assert_true(prefix_equal(&got_match, &want_match));

		/* walk_within: the model's keys inside, in order. */
		struct prefix outer = random_key();
		size_t k = 0;

		s = walk_in(t, &outer);
		for (i = 0; i < m->n; i++) {
			if (!prefix_contains(&outer, &m->keys[i]))
				continue;
			assert_true(k < s->n);
			assert_true(prefix_equal(&s->keys[k], &m->keys[i]));
			assert_int_equal(s->values[k], m->values[i]);
			k++;
		}
		assert_int_equal(s->n, k);
	}
}

static void test_random_against_model(void **state)
{
	static struct model m;
	struct ptrie *t = ptrie_new();
	uintptr_t next_value = 1;
	(void)state;

	rng_state = 42;
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 6; i++) {
			uint8_t bytes[16];

			for (int j = 0; j < 16; j++)
				bytes[j] = (uint8_t)rnd();
			addr_from_bytes(&bases[f][i], f ? AF_INET6 : AF_INET, bytes);
		}
	memset(&m, 0, sizeof(m));

	for (int op = 0; op < 12000; op++) {
		unsigned r = (unsigned)(rnd() % 100);
		/* Grow for a while, then shrink, then grow again: both paths matter. */
		unsigned set_share = (op / 3000) % 2 ? 30 : 60;
		struct prefix key;

		if (r < set_share) {
			key = random_key();
			model_set(&m, &key, next_value);
			assert_int_equal(ptrie_set(t, &key, V(next_value)), 0);
			next_value++;
		} else {
			if (m.n && rnd() % 4 != 0)
				key = m.keys[rnd() % m.n];
			else
				key = random_key();
			uintptr_t want = model_del(&m, &key);
			assert_ptr_equal(ptrie_del(t, &key), want ? V(want) : NULL);
		}
		check_against_model(t, &m);
	}

	/* Deleting everything gives every node back. */
	size_t memory = ptrie_memory(t);
	while (m.n) {
		struct prefix key = m.keys[rnd() % m.n];
		uintptr_t want = model_del(&m, &key);

		assert_ptr_equal(ptrie_del(t, &key), V(want));
		check_against_model(t, &m);
	}
	assert_int_equal(ptrie_count(t), 0);
	assert_int_equal(ptrie_node_count(t), 0);
	assert_int_equal(ptrie_memory(t), memory); /* kept in the pool for reuse */
	ptrie_free(t, NULL);
}

static struct prefix random_net(int family, unsigned len)
{
	struct prefix p;
	uint8_t bytes[16];

	for (int i = 0; i < 16; i++)
		bytes[i] = (uint8_t)rnd();
	addr_from_bytes(&p, family, bytes);
	return prefix_truncate(&p, len);
}

static void test_delete_all_frees_nodes(void **state)
{
	enum { COUNT = 20000 };
	struct ptrie *t = ptrie_new();
	struct prefix *keys = calloc(COUNT, sizeof(*keys));
	size_t memory;
	(void)state;

	assert_non_null(keys);
	rng_state = 7;
	for (int i = 0; i < COUNT; i++) {
		keys[i] = random_net(i % 2 ? AF_INET6 : AF_INET,
				     i % 2 ? 16 + (unsigned)(rnd() % 113)
					   : (unsigned)(rnd() % 33));
		assert_int_equal(ptrie_set(t, &keys[i], V(i + 1)), 0);
	}
	assert_true(ptrie_node_count(t) >= ptrie_count(t));
	assert_true(ptrie_node_count(t) <= 2 * ptrie_count(t));
	memory = ptrie_memory(t);

	for (int i = COUNT - 1; i >= 0; i--) /* duplicates come back NULL */
		(void)ptrie_del(t, &keys[(i * 7919) % COUNT]);
	assert_int_equal(ptrie_count(t), 0);
	assert_int_equal(ptrie_node_count(t), 0);

	/* The same keys again fit in the freed nodes: the pool does not grow. */
	for (int i = 0; i < COUNT; i++)
		assert_int_equal(ptrie_set(t, &keys[i], V(i + 1)), 0);
	assert_int_equal(ptrie_memory(t), memory);
	for (int i = 0; i < COUNT; i++)
		assert_non_null(ptrie_get(t, &keys[i]));
	free(keys);
	ptrie_free(t, NULL);
}

/* The core's budget: about 64 bytes per prefix, branching nodes included. */
static void test_memory_per_prefix(void **state)
{
	enum { COUNT = 200000 };
	struct ptrie *t = ptrie_new();
	(void)state;

	rng_state = 99;
	for (int i = 0; i < COUNT; i++) {
		struct prefix p = random_net(AF_INET6, 64);

		assert_int_equal(ptrie_set(t, &p, V(1)), 0);
	}
	assert_int_equal(ptrie_count(t), COUNT);
	assert_true(ptrie_memory(t) <= (size_t)COUNT * 66);
	ptrie_free(t, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_set_get_replace_del),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_edge_lengths),
		cmocka_unit_test(test_families_are_separate),
		cmocka_unit_test(test_lpm),
		cmocka_unit_test(test_walk_order_and_stop),
		cmocka_unit_test(test_free_values),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_delete_all_frees_nodes),
		cmocka_unit_test(test_memory_per_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
