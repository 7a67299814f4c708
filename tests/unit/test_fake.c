/* test_fake.c: the in-memory backend behaves as the kernel does where the
 * core depends on it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend_fake.h"
#include "testutil.h"

#define IF "wg0"

static struct fake_world *world_with_peers(struct wg_key *a, struct wg_key *b)
{
	struct fake_world *w = fake_world_new();

	assert_non_null(w);
	*a = key_n(1);
	*b = key_n(2);
	assert_int_equal(fake_wg_add_device(w, IF, NULL), 0);
	assert_int_equal(fake_wg_add_peer(w, IF, a), 0);
	assert_int_equal(fake_wg_add_peer(w, IF, b), 0);
	return w;
}

static size_t count_of(const struct wg_device *d, size_t peer)
{
	return d->peers[peer].n_allowed;
}

static void test_allowed_ip_moves(void **state)
{
	struct wg_key a, b;
	struct fake_world *w = world_with_peers(&a, &b);
	struct prefix p = P("2001:db8:1::/48");
	struct wg_device d;

	(void)state;
	assert_int_equal(fake_wg_allow(w, IF, &a, &p), 0);
	assert_int_equal(fake_wg_allow(w, IF, &b, &p), 0);
	assert_int_equal(fake_wg_get(w, IF, &d), 0);
	assert_int_equal(d.n_peers, 2);
	assert_int_equal(count_of(&d, 0), 0);
	assert_int_equal(count_of(&d, 1), 1);
	assert_true(prefix_equal(&d.peers[1].allowed[0], &p));
	wg_device_free(&d);
	/* Removing from a peer that does not hold it changes nothing. */
	assert_int_equal(fake_wg_disallow(w, IF, &a, &p), 0);
	assert_int_equal(fake_wg_get(w, IF, &d), 0);
	assert_int_equal(count_of(&d, 1), 1);
	wg_device_free(&d);
	fake_world_free(w);
}

static void test_peer_removal_takes_its_allowed_ips(void **state)
{
	struct wg_key a, b;
	struct fake_world *w = world_with_peers(&a, &b);
	struct prefix p = P("192.0.2.0/24"), q = P("198.51.100.0/24");
	struct wg_device d;

	(void)state;
	assert_int_equal(fake_wg_allow(w, IF, &a, &p), 0);
	assert_int_equal(fake_wg_allow(w, IF, &b, &q), 0);
	assert_int_equal(fake_wg_del_peer(w, IF, &a), 0);
	assert_int_equal(fake_wg_del_peer(w, IF, &a), -ENOENT);
	assert_int_equal(fake_wg_get(w, IF, &d), 0);
	assert_int_equal(d.n_peers, 1);
	assert_int_equal(count_of(&d, 0), 1);
	wg_device_free(&d);
	/* The prefix is free again. */
	assert_int_equal(fake_wg_add_peer(w, IF, &a), 0);
	assert_int_equal(fake_wg_get(w, IF, &d), 0);
	assert_int_equal(count_of(&d, 1), 0);
	wg_device_free(&d);
	fake_world_free(w);
}

static void test_missing_device_and_bad_input(void **state)
{
	struct wg_key a, b;
	struct fake_world *w = world_with_peers(&a, &b);
	struct wg_device d;
	struct prefix bad = {AF_INET, 33, {0}};

	(void)state;
	assert_int_equal(fake_wg_get(w, "wg9", &d), -ENODEV);
	assert_int_equal(fake_wg_add_device(w, IF, NULL), -EEXIST);
	assert_int_equal(fake_wg_allow(w, IF, &a, &bad), -EINVAL);
	assert_int_equal(fake_wg_allow(w, IF, &(struct wg_key){{9}}, &(struct prefix){0}),
			 -ENOENT);
	assert_int_equal(fake_wg_del_device(w, IF), 0);
	assert_int_equal(fake_wg_get(w, IF, &d), -ENODEV);
	fake_world_free(w);
}

struct collected {
	size_t n;
	struct kroute v[8];
};

static int collect(const struct kroute *rt, void *ctx)
{
	struct collected *c = ctx;

	assert_true(c->n < 8);
	c->v[c->n++] = *rt;
	return 0;
}

static void test_route_identity_replace_and_delete(void **state)
{
	struct fake_world *w = fake_world_new();
	struct knexthop h1 = {A("fe80::1"), 5}, h2 = {A("fe80::2"), 5};
	struct kroute r = {.dst = P("2001:db8::/32"),
			   .table = 254,
			   .protocol = 12,
			   .type = ROUTE_TYPE_UNICAST,
			   .metric = 32,
			   .n_nexthops = 1,
			   .nexthops = &h1};
	struct collected c = {0};

	(void)state;
	assert_int_equal(fake_route_add(w, &r), 0);
	r.nexthops = &h2; /* same (table, dst, tos, metric): replaces */
	assert_int_equal(fake_route_add(w, &r), 0);
	assert_int_equal(fake_route_count(w), 1);
	r.metric = 64; /* another identity */
	assert_int_equal(fake_route_add(w, &r), 0);
	r.table = 100;
	assert_int_equal(fake_route_add(w, &r), 0);
	assert_int_equal(fake_route_count(w), 3);
	assert_int_equal(fake_route_walk(w, 254, collect, &c), 0);
	assert_int_equal(c.n, 2);
	assert_true(prefix_equal(&c.v[0].nexthops[0].gw, &h2.gw));
	assert_int_equal(c.v[0].metric, 32);
	r.table = 254;
	r.metric = 1;
	assert_int_equal(fake_route_del(w, &r), -ESRCH);
	r.metric = 32;
	assert_int_equal(fake_route_del(w, &r), 0);
	assert_int_equal(fake_route_count(w), 2);
	fake_world_free(w);
}

static void test_walk_order_is_stable(void **state)
{
	struct fake_world *w = fake_world_new();
	const char *dsts[] = {"2001:db8:2::/48", "192.0.2.0/24", "2001:db8:1::/48",
			      "198.51.100.0/24"};
	struct collected c = {0};

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct kroute r = {.dst = P(dsts[i]),
				   .table = 254,
				   .protocol = 4,
				   .type = ROUTE_TYPE_UNICAST};

		assert_int_equal(fake_route_add(w, &r), 0);
	}
	assert_int_equal(fake_route_walk(w, 0, collect, &c), 0);
	assert_int_equal(c.n, 4);
	for (size_t i = 1; i < c.n; i++)
		assert_true(prefix_cmp(&c.v[i - 1].dst, &c.v[i].dst) < 0);
	fake_world_free(w);
}

static void test_backends_and_injected_failures(void **state)
{
	struct wg_key a, b;
	struct fake_world *w = world_with_peers(&a, &b);
	struct wg_backend *wg = fake_wg_backend(w);
	struct route_backend *rt = fake_route_backend(w);
	struct change ch[3];
	int err[3] = {0};
	struct wg_device d;

	(void)state;
	memset(ch, 0, sizeof(ch));
	ch[0].op = CHANGE_ALLOWED_ADD;
	ch[0].peer = a;
	ch[0].dst = P("2001:db8:1::/48");
	ch[1].op = CHANGE_ROUTE_ADD;
	ch[1].dst = ch[1].route.dst = P("2001:db8:2::/48");
	ch[1].route.table = 254;
	ch[1].route.protocol = 98;
	ch[1].route.oif = 5;
	ch[2] = ch[0];
	ch[2].dst = P("2001:db8:3::/48");
	fake_fail_next(w, 1, -EIO);
	assert_int_equal(wg->apply(wg, IF, ch, 3, err), -EIO);
	assert_int_equal(err[0], -EIO);
	assert_int_equal(err[2], 0);
	assert_int_equal(rt->apply(rt, ch, 3, err), 0);
	assert_int_equal(err[1], 0);
	assert_int_equal(fake_route_count(w), 1);
	assert_int_equal(wg->get(wg, IF, &d), 0);
	assert_int_equal(count_of(&d, 0), 1); /* only the second add made it */
	assert_true(prefix_equal(&d.peers[0].allowed[0], &ch[2].dst));
	wg_device_free(&d);
	wg->destroy(wg);
	rt->destroy(rt);
	fake_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_ip_moves),
		cmocka_unit_test(test_peer_removal_takes_its_allowed_ips),
		cmocka_unit_test(test_missing_device_and_bad_input),
		cmocka_unit_test(test_route_identity_replace_and_delete),
		cmocka_unit_test(test_walk_order_is_stable),
		cmocka_unit_test(test_backends_and_injected_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
