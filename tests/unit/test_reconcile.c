/* test_reconcile.c: the reconciler's interface beyond what the conformance
 * vectors state: teardown, counters, warnings, failures and retries, bad
 * input, limits of the model. The rules themselves are the vectors' job
 * (test_vectors.c) and the property test's (test_property.c). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakeenv.h"
#include "reconcile.h"
#include "sync.h"
#include "testutil.h"

#define IF	FAKEENV_IF
#define IFINDEX FAKEENV_IFINDEX

struct env {
	struct fake_env f;
	char warnings[8][512];
	size_t n_warnings;
};

static void on_warning(void *ctx, const char *msg)
{
	struct env *e = ctx;

	if (e->n_warnings < 8)
		snprintf(e->warnings[e->n_warnings], sizeof(e->warnings[0]), "%s", msg);
	e->n_warnings++;
}

static void poll_wg(struct env *e)
{
	fake_env_poll(&e->f);
}

static void dump_routes(struct env *e)
{
	fake_env_dump(&e->f);
}

/* fakeenv.h's world; the reconciler's warnings kept. */
static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	fake_env_init(&e->f);
	rec_set_warn(e->f.rec, on_warning, e);
	return e;
}

static void env_free(struct env *e)
{
	fake_env_free(&e->f);
	free(e);
}

/* A fresh reconciler for the same world, as after a restart. */
static void restart_rec(struct env *e)
{
	rec_free(e->f.rec);
	e->f.rec = rec_new(&e->f.s, IFINDEX);
	assert_non_null(e->f.rec);
}

static size_t round_(struct env *e, bool full)
{
	struct sync_result res;

	assert_int_equal(
		sync_round(e->f.rec, e->f.wg, e->f.rt, IF, full, false, NULL, NULL, &res),
		0);
	assert_int_equal(res.failed, 0);
	return res.applied;
}

static void add_route(struct env *e, const char *dst, const char *gw, uint8_t proto)
{
	struct knexthop h = {A(gw), IFINDEX};
	struct kroute r = {.dst = P(dst),
			   .table = 254,
			   .protocol = proto,
			   .type = ROUTE_TYPE_UNICAST,
			   .metric = 32,
			   .n_nexthops = 1,
			   .nexthops = &h};

	assert_int_equal(fake_route_add(e->f.w, &r), 0);
	assert_int_equal(rec_route_upsert(e->f.rec, &r), 0);
}

static void del_route(struct env *e, const char *dst)
{
	struct kroute r = {.dst = P(dst), .table = 254, .metric = 32};

	assert_int_equal(fake_route_del(e->f.w, &r), 0);
	assert_int_equal(rec_route_remove(e->f.rec, &r), 0);
}

static void allow(struct env *e, const struct wg_key *k, const char *dst)
{
	struct prefix p = P(dst);

	assert_int_equal(fake_wg_allow(e->f.w, IF, k, &p), 0);
	poll_wg(e);
}

static size_t allowed_of(struct env *e, const struct wg_key *k)
{
	struct wg_device d;
	size_t n = 0;

	assert_int_equal(fake_wg_get(e->f.w, IF, &d), 0);
	for (size_t i = 0; i < d.n_peers; i++)
		if (!wg_key_cmp(&d.peers[i].key, k))
			n = d.peers[i].n_allowed;
	wg_device_free(&d);
	return n;
}

struct count_proto {
	uint8_t proto;
	size_t n;
};

static int count_proto_cb(const struct kroute *rt, void *ctx)
{
	struct count_proto *c = ctx;

	c->n += rt->protocol == c->proto;
	return 0;
}

static size_t routes_of_proto(struct env *e, uint8_t proto)
{
	struct count_proto c = {proto, 0};

	fake_route_walk(e->f.w, 0, count_proto_cb, &c);
	return c.n;
}

/* ---- tests ---- */

static void test_teardown_undoes_our_work_only(void **state)
{
	struct env *e = env_new();
	struct change_list l = {0};
	int *err;

	(void)state;
	e->f.s.conflict = CONFLICT_LEARNED_WINS;
	assert_int_equal(rec_set_settings(e->f.rec, &e->f.s), 0);
	dump_routes(e);
	allow(e, &e->f.a, "2001:db8:a::/48");		/* static: our route */
	allow(e, &e->f.b, "2001:db8:b::/48");		/* static, taken by a below */
	add_route(e, "2001:db8:1::/48", "fe80::a", 12); /* learned by a */
	add_route(e, "2001:db8:b::/48", "fe80::a", 12);
	round_(e, true);
	assert_int_equal(allowed_of(e, &e->f.a), 3);
	assert_int_equal(allowed_of(e, &e->f.b), 0);
	assert_int_equal(routes_of_proto(e, 98), 1);

	assert_int_equal(rec_teardown(e->f.rec, &l), 0);
	assert_int_equal(l.n, 3);
	err = calloc(l.n, sizeof(*err));
	assert_non_null(err);
	e->f.wg->apply(e->f.wg, IF, l.v, l.n, err);
	e->f.rt->apply(e->f.rt, l.v, l.n, err);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(err[i], 0);
		assert_int_equal(rec_commit(e->f.rec, &l.v[i]), 0);
	}
	/* a keeps its static prefix, b gets its own back, nothing of ours. */
	assert_int_equal(allowed_of(e, &e->f.a), 1);
	assert_int_equal(allowed_of(e, &e->f.b), 1);
	assert_int_equal(routes_of_proto(e, 98), 0);
	assert_int_equal(routes_of_proto(e, 12), 2);
	free(err);
	change_list_free(&l);
	env_free(e);
}

static void test_stats_count_what_the_model_holds(void **state)
{
	struct env *e = env_new();
	struct rec_stats st;

	(void)state;
	allow(e, &e->f.a, "2001:db8:a::/48");
	allow(e, &e->f.b, "2001:db8:c::/48");
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);	 /* learn */
	add_route(e, "2001:db8:c::/48", "fe80::a", 12);	 /* conflict: b's static */
	add_route(e, "2001:db8:2::/48", "fe80::99", 12); /* unknown gateway */
	round_(e, false);
	rec_get_stats(e->f.rec, &st);
	assert_int_equal(st.peers, 2);
	assert_int_equal(st.allowed_ips, 3);
	assert_int_equal(st.learned, 1);
	assert_int_equal(st.routes, 4); /* three foreign, one of ours */
	assert_int_equal(st.installed, 1);
	assert_int_equal(st.conflicts, 1);
	assert_int_equal(st.ambiguous_gateways, 0);
	/* The conflict ends with its route. */
	del_route(e, "2001:db8:c::/48");
	round_(e, false);
	rec_get_stats(e->f.rec, &st);
	assert_int_equal(st.conflicts, 0);
	assert_int_equal(st.installed, 2);
	assert_true(rec_memory(e->f.rec) > 0);
	env_free(e);
}

static void test_conflict_warned_once(void **state)
{
	struct env *e = env_new();

	(void)state;
	allow(e, &e->f.b, "2001:db8:c::/48");
	add_route(e, "2001:db8:c::/48", "fe80::a", 12);
	round_(e, false);
	assert_int_equal(e->n_warnings, 1);
	assert_non_null(strstr(e->warnings[0], "2001:db8:c::/48"));
	assert_non_null(strstr(e->warnings[0], "static-wins"));
	/* More passes over the same conflict do not repeat it. */
	round_(e, true);
	round_(e, true);
	assert_int_equal(e->n_warnings, 1);
	env_free(e);
}

static void test_ambiguous_gateway_warned_and_counted(void **state)
{
	struct env *e = env_new();
	struct rec_stats st;

	(void)state;
	e->f.s.peers[1].gateways[0] = A("fe80::a"); /* b claims a's address too */
	assert_int_equal(rec_set_settings(e->f.rec, &e->f.s), 0);
	dump_routes(e);
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	assert_int_equal(round_(e, false), 0);
	rec_get_stats(e->f.rec, &st);
	assert_int_equal(st.ambiguous_gateways, 1);
	assert_int_equal(e->n_warnings, 1);
	assert_non_null(strstr(e->warnings[0], "fe80::a"));
	env_free(e);
}

static void test_failed_change_is_retried(void **state)
{
	struct env *e = env_new();
	struct sync_result res;

	(void)state;
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	fake_fail_next(e->f.w, 1, -EIO);
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, NULL,
				    NULL, &res),
			 -EIO);
	assert_int_equal(res.failed, 1);
	assert_int_equal(allowed_of(e, &e->f.a), 0);
	/* Nothing else happened, yet the next round tries again. */
	assert_int_equal(round_(e, false), 1);
	assert_int_equal(allowed_of(e, &e->f.a), 1);
	env_free(e);
}

/* A learned addition whose reply was lost (the UAPI connection closed in
 * the middle of it) may have been made: the next read of the device that
 * shows it makes it learned, so that the end of its route withdraws it. One
 * that was not made is tried again, and a prefix the operator gives another
 * peer meanwhile stays that peer's static one. */
static void test_failed_learned_add_made_all_the_same(void **state)
{
	struct env *e = env_new();
	struct prefix p = P("2001:db8:1::/48");
	struct sync_result res;
	struct rec_stats st;

	(void)state;
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	fake_fail_next(e->f.w, 1, -EPIPE);
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, NULL,
				    NULL, &res),
			 -EPIPE);
	assert_int_equal(fake_wg_allow(e->f.w, IF, &e->f.a, &p), 0); /* made after all */
	poll_wg(e);
	rec_get_stats(e->f.rec, &st);
	assert_int_equal(st.learned, 1);
	assert_int_equal(round_(e, false), 0);
	del_route(e, "2001:db8:1::/48");
	assert_int_equal(round_(e, false), 1);
	assert_int_equal(allowed_of(e, &e->f.a), 0);

	add_route(e, "2001:db8:2::/48", "fe80::a", 12);
	fake_fail_next(e->f.w, 1, -EPIPE);
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, NULL,
				    NULL, &res),
			 -EPIPE);
	allow(e, &e->f.b, "2001:db8:2::/48"); /* the operator's, read by a poll */
	rec_get_stats(e->f.rec, &st);
	assert_int_equal(st.learned, 0);
	del_route(e, "2001:db8:2::/48");
	round_(e, false);
	assert_int_equal(allowed_of(e, &e->f.b), 1);
	assert_int_equal(allowed_of(e, &e->f.a), 0);
	env_free(e);
}

/* What such an addition leaves pending is listed (the state file keeps it
 * as an open intent) until the next read of the device settles it. */
static void test_own_pending_until_the_device_is_read(void **state)
{
	struct env *e = env_new();
	struct prefix p = P("2001:db8:1::/48");
	const struct own_entry *v;
	struct sync_result res;
	size_t n;

	(void)state;
	rec_own_pending(e->f.rec, &v, &n);
	assert_int_equal(n, 0);
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	fake_fail_next(e->f.w, 1, -EPIPE);
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, NULL,
				    NULL, &res),
			 -EPIPE);
	rec_own_pending(e->f.rec, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(wg_key_cmp(&v[0].peer, &e->f.a), 0);
	assert_true(prefix_equal(&v[0].dst, &p));
	assert_true(wg_key_is_zero(&v[0].displaced));
	assert_int_equal(fake_wg_allow(e->f.w, IF, &e->f.a, &p), 0);
	poll_wg(e);
	rec_own_pending(e->f.rec, &v, &n);
	assert_int_equal(n, 0);
	env_free(e);
}

static void test_failed_allowed_ip_holds_back_its_route_change(void **state)
{
	struct env *e = env_new();
	struct sync_result res;
	struct change_list plan = {0};

	(void)state;
	e->f.s.conflict = CONFLICT_LEARNED_WINS;
	assert_int_equal(rec_set_settings(e->f.rec, &e->f.s), 0);
	dump_routes(e);
	allow(e, &e->f.b, "2001:db8:b::/48");
	round_(e, true); /* our route for b's prefix */
	assert_int_equal(routes_of_proto(e, 98), 1);
	add_route(e, "2001:db8:b::/48", "fe80::a", 12);
	fake_fail_next(e->f.w, 1, -EIO);
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, &plan,
				    NULL, &res),
			 -EIO);
	/* The take failed, so the change to our route for the same prefix
	 * waits: it was planned on the take having happened. */
	assert_int_equal(plan.n, 2);
	assert_int_equal(plan.v[0].op, CHANGE_ALLOWED_ADD);
	assert_int_equal(plan.v[1].op, CHANGE_ROUTE_DEL);
	assert_int_equal(res.failed, 2);
	assert_int_equal(routes_of_proto(e, 98), 1);
	/* The next round does both. */
	assert_int_equal(round_(e, false), 2);
	assert_int_equal(routes_of_proto(e, 98), 0);
	change_list_free(&plan);
	env_free(e);
}

static void test_bad_input_is_refused_without_change(void **state)
{
	struct env *e = env_new();
	struct prefix bad = {AF_INET6, 129, {0}};
	struct prefix none = {0};
	struct kroute r = {
		.dst = bad, .table = 254, .protocol = 12, .type = ROUTE_TYPE_UNICAST};
	struct wg_peer p = {e->f.a, 1, &bad};
	struct wg_device d = {{{0}}, 1, &p};
	struct own_entry own = {e->f.a, bad, {{0}}};
	struct change c = {.op = CHANGE_ALLOWED_ADD, .dst = none, .peer = e->f.a};
	struct knexthop h = {bad, IFINDEX};
	struct rec_stats st;

	(void)state;
	assert_int_equal(rec_route_upsert(e->f.rec, &r), 0); /* ignored: not a prefix */
	r.dst = P("2001:db8::/32");
	r.n_nexthops = 1;
	r.nexthops = &h;
	assert_int_equal(rec_route_upsert(e->f.rec, &r), -EINVAL);
	assert_int_equal(rec_set_wg(e->f.rec, &d), -EINVAL);
	assert_int_equal(rec_own_load(e->f.rec, &own, 1), -EINVAL);
	assert_int_equal(rec_commit(e->f.rec, &c), -EINVAL);
	rec_get_stats(e->f.rec, &st);
	assert_int_equal(st.routes, 0);
	assert_int_equal(st.peers, 2);
	assert_int_equal(round_(e, true), 0);
	env_free(e);
}

static void test_many_next_hops_are_capped(void **state)
{
	struct env *e = env_new();
	struct knexthop h[100];
	struct kroute r = {.dst = P("2001:db8:1::/48"),
			   .table = 254,
			   .protocol = 12,
			   .type = ROUTE_TYPE_UNICAST,
			   .n_nexthops = 100,
			   .nexthops = h};

	(void)state;
	for (int i = 0; i < 100; i++) {
		h[i].oif = IFINDEX;
		h[i].gw = A("fe80::99");
		h[i].gw.addr[14] = (uint8_t)i;
	}
	h[99].gw = A("fe80::a"); /* beyond what is kept */
	assert_int_equal(fake_route_add(e->f.w, &r), 0);
	assert_int_equal(rec_route_upsert(e->f.rec, &r), 0);
	assert_int_equal(round_(e, false), 0);
	h[10].gw = A("fe80::b"); /* the first known gateway names b */
	assert_int_equal(fake_route_add(e->f.w, &r), 0);
	assert_int_equal(rec_route_upsert(e->f.rec, &r), 0);
	assert_int_equal(round_(e, false), 1);
	assert_int_equal(allowed_of(e, &e->f.b), 1);
	env_free(e);
}

static void test_snapshot_listing_a_prefix_twice(void **state)
{
	struct env *e = env_new();
	struct prefix p = P("2001:db8:1::/48");
	struct wg_peer peers[2] = {{e->f.a, 1, &p}, {e->f.b, 1, &p}};
	struct wg_device d = {{{0}}, 2, peers};
	struct change_list l = {0};

	(void)state;
	assert_int_equal(rec_set_wg(e->f.rec, &d), 0);
	/* The later listing stands: b holds it, statically. */
	allow(e, &e->f.b, "2001:db8:1::/48");
	assert_int_equal(rec_pass(e->f.rec, true, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].op, CHANGE_ROUTE_ADD);
	assert_true(prefix_equal(&l.v[0].route.gw, &e->f.s.peers[1].gateways[0]));
	change_list_free(&l);
	env_free(e);
}

static void test_ownership_load_and_dirty_flag(void **state)
{
	struct env *e = env_new();
	struct own_entry own[2] = {{e->f.a, P("2001:db8:1::/48"), {{0}}},
				   {e->f.a, P("2001:db8:2::/48"), {{0}}}};
	struct own_entry *out;
	size_t n;

	(void)state;
	restart_rec(e);
	assert_int_equal(fake_wg_allow(e->f.w, IF, &e->f.a, &own[0].dst), 0);
	assert_int_equal(rec_own_load(e->f.rec, own, 2), 0);
	poll_wg(e);
	dump_routes(e);
	/* The second entry is not in the device: dropped, so the file changes. */
	assert_true(rec_own_take_dirty(e->f.rec));
	assert_false(rec_own_take_dirty(e->f.rec));
	assert_int_equal(rec_own_export(e->f.rec, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_true(prefix_equal(&out[0].dst, &own[0].dst));
	free(out);
	/* No route for the owned prefix: it is withdrawn. */
	assert_int_equal(round_(e, true), 1);
	assert_int_equal(allowed_of(e, &e->f.a), 0);
	assert_true(rec_own_take_dirty(e->f.rec));
	env_free(e);
}

static bool device_unchanged(struct env *e)
{
	struct wg_device d;
	bool same;

	assert_int_equal(fake_wg_get(e->f.w, IF, &d), 0);
	same = rec_wg_unchanged(e->f.rec, &d);
	wg_device_free(&d);
	return same;
}

/* The poll's shortcut: the model's fingerprint of the device follows every
 * way the device changes, ours (commits) and the operator's (snapshots). */
static void test_device_fingerprint_follows_the_model(void **state)
{
	struct env *e = env_new();
	struct prefix p = P("2001:db8:7::/48");
	struct wg_key c = key_n(3);

	(void)state;
	assert_true(device_unchanged(e));
	/* Our changes: a learned prefix, a route installed for a static one. */
	add_route(e, "2001:db8:1::/48", "fe80::a", 4);
	allow(e, &e->f.b, "2001:db8:2::/48");
	round_(e, false);
	assert_true(device_unchanged(e));
	/* A learned prefix moved to the other peer by its route, and withdrawn. */
	add_route(e, "2001:db8:1::/48", "fe80::b", 4);
	round_(e, false);
	assert_true(device_unchanged(e));
	del_route(e, "2001:db8:1::/48");
	round_(e, false);
	assert_true(device_unchanged(e));
	/* The operator's: added, moved, removed, a peer added and removed. */
	assert_int_equal(fake_wg_allow(e->f.w, IF, &e->f.a, &p), 0);
	assert_false(device_unchanged(e));
	poll_wg(e);
	assert_true(device_unchanged(e));
	assert_int_equal(fake_wg_allow(e->f.w, IF, &e->f.b, &p), 0);
	assert_false(device_unchanged(e));
	poll_wg(e);
	assert_int_equal(fake_wg_disallow(e->f.w, IF, &e->f.b, &p), 0);
	assert_false(device_unchanged(e));
	poll_wg(e);
	assert_int_equal(fake_wg_add_peer(e->f.w, IF, &c), 0);
	assert_false(device_unchanged(e));
	poll_wg(e);
	assert_true(device_unchanged(e));
	assert_int_equal(fake_wg_del_peer(e->f.w, IF, &c), 0);
	assert_false(device_unchanged(e));
	poll_wg(e);
	assert_true(device_unchanged(e));

	/* A backend without its own get_changed (the fake): the same answer,
	 * the snapshot given back only when it differs. */
	uint64_t fp;
	struct wg_device d;
	bool same = false;

	assert_true(rec_wg_fingerprint(e->f.rec, &fp));
	assert_int_equal(wg_backend_get_changed(e->f.wg, IF, fp, &d, &same), 0);
	assert_true(same);
	assert_int_equal(d.n_peers, 0);
	assert_int_equal(fake_wg_allow(e->f.w, IF, &e->f.a, &p), 0);
	assert_int_equal(wg_backend_get_changed(e->f.wg, IF, fp, &d, &same), 0);
	assert_false(same);
	assert_int_equal(d.n_peers, 2);
	wg_device_free(&d);
	env_free(e);
}

/* Which peer holds dst on the fake device: 'a', 'b', or 0. */
static char holder_of(struct env *e, const char *dst)
{
	struct prefix p = P(dst);
	struct wg_device d;
	char who = 0;

	assert_int_equal(fake_wg_get(e->f.w, IF, &d), 0);
	for (size_t i = 0; i < d.n_peers; i++)
		for (size_t j = 0; j < d.peers[i].n_allowed; j++)
			if (prefix_equal(&d.peers[i].allowed[j], &p))
				who = wg_key_cmp(&d.peers[i].key, &e->f.a) ? 'b' : 'a';
	wg_device_free(&d);
	return who;
}

static const struct own_entry *own_find(const struct own_entry *v, size_t n,
					const char *dst)
{
	struct prefix p = P(dst);

	for (size_t i = 0; i < n; i++)
		if (prefix_equal(&v[i].dst, &p))
			return &v[i];
	return NULL;
}

/* rec_own_intent says, before a change is applied, the entry its commit
 * records: a learn, a move that keeps the displaced peer, a learned-wins
 * take; and nothing for a give-back or a removal. */
static void test_own_intent_is_what_the_commit_records(void **state)
{
	struct env *e = env_new();
	struct change_list plan = {0};
	struct own_entry want[4], *out;
	struct wg_key c = key_n(3);
	size_t n_want = 0, n;
	struct sync_result res;

	(void)state;
	e->f.s.conflict = CONFLICT_LEARNED_WINS;
	assert_int_equal(rec_set_settings(e->f.rec, &e->f.s), 0);
	dump_routes(e);
	allow(e, &e->f.b, "2001:db8:b::/48");
	assert_int_equal(fake_wg_add_peer(e->f.w, IF, &c), 0);
	allow(e, &c, "fe80::c/128");
	round_(e, true);
	add_route(e, "2001:db8:1::/48", "fe80::a", 12); /* a learn */
	add_route(e, "2001:db8:b::/48", "fe80::a", 12); /* a take from b */
	for (int step = 0; step < 3; step++) {
		change_list_clear(&plan);
		/* Planning clears the dirty marks: full passes plan and apply. */
		assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, true, true,
					    &plan, NULL, &res),
				 0);
		for (size_t i = 0; i < plan.n; i++) {
			struct own_entry x;
			bool learns =
				plan.v[i].op == CHANGE_ALLOWED_ADD && plan.v[i].learned;

			assert_int_equal(rec_own_intent(e->f.rec, &plan.v[i], &x),
					 learns);
			if (learns)
				want[n_want++] = x;
		}
		assert_int_equal(n_want, step < 2 ? 2 : 0);
		for (size_t i = 0; i < n_want; i++)
			assert_int_equal(wg_key_is_zero(&want[i].displaced),
					 want[i].dst.addr[5] != 0xb);
		round_(e, true);
		assert_int_equal(rec_own_export(e->f.rec, &out, &n), 0);
		for (size_t i = 0; i < n_want; i++) {
			char text[PREFIX_STRLEN];
			const struct own_entry *got =
				own_find(out, n, prefix_format(&want[i].dst, text));

			if (!got)
				fail_msg("step %d: %s not owned", step, text);
			assert_memory_equal(got, &want[i], sizeof(*got));
		}
		free(out);
		n_want = 0;
		if (step == 0) {
			/* Both move: the learn to b, the take to c (whose
			 * gateway is its by cryptokey), keeping the peer it
			 * displaced. */
			del_route(e, "2001:db8:1::/48");
			add_route(e, "2001:db8:1::/48", "fe80::b", 12);
			del_route(e, "2001:db8:b::/48");
			add_route(e, "2001:db8:b::/48", "fe80::c", 12);
		} else if (step == 1) {
			/* ... and go: a removal and a give-back, no intents. */
			del_route(e, "2001:db8:1::/48");
			del_route(e, "2001:db8:b::/48");
		}
	}
	assert_int_equal(holder_of(e, "2001:db8:1::/48"), 0);
	assert_int_equal(holder_of(e, "2001:db8:b::/48"), 'b');
	change_list_free(&plan);
	env_free(e);
}

struct intent_log {
	struct env *e;
	int fail; /* the record's result */
	size_t calls, n;
	struct own_entry v[8];
	char held_then; /* holder of 2001:db8:1::/48 when recorded */
};

static int record_cb(void *ctx, const struct own_entry *v, size_t n)
{
	struct intent_log *l = ctx;

	l->calls++;
	l->held_then = holder_of(l->e, "2001:db8:1::/48");
	for (size_t i = 0; i < n && l->n < 8; i++)
		l->v[l->n++] = v[i];
	return l->fail;
}

/* The write-ahead hook runs before WireGuard hears of the learned adds; if
 * it fails they wait (and their route changes with them), while a
 * withdrawal of the same pass goes ahead. */
static void test_intents_recorded_before_the_change(void **state)
{
	struct env *e = env_new();
	struct intent_log log = {.e = e};
	struct sync_intents hook = {record_cb, &log};
	struct prefix learn = P("2001:db8:1::/48");
	struct sync_result res;

	(void)state;
	add_route(e, "2001:db8:2::/48", "fe80::b", 12);
	round_(e, false);
	assert_int_equal(holder_of(e, "2001:db8:2::/48"), 'b');
	del_route(e, "2001:db8:2::/48");
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	log.fail = -ENOSPC;
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, NULL,
				    &hook, &res),
			 -ENOSPC);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.n, 1);
	assert_int_equal(wg_key_cmp(&log.v[0].peer, &e->f.a), 0);
	assert_true(prefix_equal(&log.v[0].dst, &learn));
	assert_int_equal(res.failed, 1);
	assert_int_equal(holder_of(e, "2001:db8:1::/48"), 0); /* held back */
	assert_int_equal(holder_of(e, "2001:db8:2::/48"), 0); /* withdrawn */
	log.fail = 0;
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, NULL,
				    &hook, &res),
			 0);
	assert_int_equal(log.calls, 2);
	assert_int_equal(log.held_then, 0); /* recorded before it was applied */
	assert_int_equal(holder_of(e, "2001:db8:1::/48"), 'a');
	/* A round with nothing to learn records nothing. */
	del_route(e, "2001:db8:1::/48");
	round_(e, false);
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, NULL,
				    &hook, &res),
			 0);
	assert_int_equal(log.calls, 2);
	env_free(e);
}

/* Loaded after the entries, each intent counts only where the device shows
 * that its add happened, and then overrides the entry it moved. */
static void test_own_load_checks_intents_against_the_device(void **state)
{
	struct env *e = env_new();
	struct own_entry own[] = {
		/* entries */
		{e->f.a, P("2001:db8:1::/48"), {{0}}},
		{e->f.a, P("2001:db8:2::/48"), {{0}}},
		/* intents of the round a crash cut short */
		{e->f.b, P("2001:db8:1::/48"), {{0}}},	/* a move that happened */
		{e->f.b, P("2001:db8:2::/48"), {{0}}},	/* a move that did not */
		{e->f.a, P("2001:db8:3::/48"), {{0}}},	/* a learn that happened */
		{e->f.b, P("2001:db8:4::/48"), {{0}}},	/* a learn that did not */
		{e->f.a, P("2001:db8:5::/48"), e->f.b}, /* a take that happened */
		{e->f.a, P("2001:db8:6::/48"), e->f.b}, /* a take that did not */
	};
	const struct {
		const char *dst;
		const struct wg_key *holder;
		const struct wg_key *owner, *displaced;
	} device[] = {
		{"2001:db8:1::/48", &e->f.b, &e->f.b, NULL},
		{"2001:db8:2::/48", &e->f.a, &e->f.a, NULL},
		{"2001:db8:3::/48", &e->f.a, &e->f.a, NULL},
		{"2001:db8:5::/48", &e->f.a, &e->f.a, &e->f.b},
		{"2001:db8:6::/48", &e->f.b, NULL, NULL},
	};
	struct own_entry *out;
	size_t n;

	(void)state;
	restart_rec(e);
	for (size_t i = 0; i < sizeof(device) / sizeof(device[0]); i++) {
		struct prefix p = P(device[i].dst);

		assert_int_equal(fake_wg_allow(e->f.w, IF, device[i].holder, &p), 0);
	}
	assert_int_equal(rec_own_load(e->f.rec, own, sizeof(own) / sizeof(own[0])), 0);
	poll_wg(e);
	assert_int_equal(rec_own_export(e->f.rec, &out, &n), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < sizeof(device) / sizeof(device[0]); i++) {
		const struct own_entry *got = own_find(out, n, device[i].dst);

		if (!device[i].owner) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		assert_int_equal(wg_key_cmp(&got->peer, device[i].owner), 0);
		if (device[i].displaced)
			assert_int_equal(wg_key_cmp(&got->displaced, device[i].displaced),
					 0);
		else
			assert_true(wg_key_is_zero(&got->displaced));
	}
	free(out);
	env_free(e);
}

/* Crashes simulated at each step of many rounds: a restart reads the file
 * (the entries the last round ended with, then the intents written since)
 * and the device as the crash left it. Right after the intents, before
 * WireGuard changed, it must own what the running reconciler owns; right
 * after the round's last WireGuard change, what it owns once the round is
 * done: never a learned prefix unowned, never an owned one it did not add. */
struct crash_sim {
	struct env *e;
	struct wg_backend wrap; /* the fake backend, checking after each apply */
	struct own_entry *file;
	size_t n_file, n_intents;
	struct own_entry intents[256];
	struct own_entry *after; /* a restart's ownership after the last apply */
	size_t n_after;
	size_t intent_checks, apply_checks;
};

static int cmp_own_entry(const void *a, const void *b)
{
	const struct own_entry *x = a, *y = b;
	int c = prefix_cmp(&x->dst, &y->dst);

	return c ? c : memcmp(x, y, sizeof(*x));
}

/* What a restart would own now: a fresh reconciler, the file, the device. */
static void restart_owns(struct crash_sim *c, struct own_entry **out, size_t *n)
{
	struct rec *r = rec_new(&c->e->f.s, IFINDEX);
	struct own_entry *all = calloc(c->n_file + c->n_intents + 1, sizeof(*all));
	struct wg_device d;

	assert_non_null(r);
	assert_non_null(all);
	if (c->n_file)
		memcpy(all, c->file, c->n_file * sizeof(*all));
	if (c->n_intents)
		memcpy(all + c->n_file, c->intents, c->n_intents * sizeof(*all));
	assert_int_equal(rec_own_load(r, all, c->n_file + c->n_intents), 0);
	assert_int_equal(fake_wg_get(c->e->f.w, IF, &d), 0);
	assert_int_equal(rec_set_wg(r, &d), 0);
	wg_device_free(&d);
	assert_int_equal(rec_own_export(r, out, n), 0);
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_own_entry);
	rec_free(r);
	free(all);
}

static void assert_same_ownership(struct own_entry *want, size_t n_want,
				  const struct own_entry *got, size_t n_got)
{
	if (n_want)
		qsort(want, n_want, sizeof(*want), cmp_own_entry);
	assert_int_equal(n_got, n_want);
	for (size_t i = 0; i < n_got; i++)
		assert_memory_equal(&got[i], &want[i], sizeof(*got));
}

static int crash_record(void *ctx, const struct own_entry *v, size_t n)
{
	struct crash_sim *c = ctx;
	struct own_entry *now, *restarted;
	size_t n_now, n_restarted;

	assert_true(c->n_intents + n <= 256);
	if (n)
		memcpy(c->intents + c->n_intents, v, n * sizeof(*v));
	c->n_intents += n;
	/* A crash here: nothing of this pass has happened yet. */
	restart_owns(c, &restarted, &n_restarted);
	assert_int_equal(rec_own_export(c->e->f.rec, &now, &n_now), 0);
	assert_same_ownership(now, n_now, restarted, n_restarted);
	free(now);
	free(restarted);
	c->intent_checks++;
	return 0;
}

static int crash_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		       size_t n, int *err)
{
	struct crash_sim *c =
		(struct crash_sim *)((char *)b - offsetof(struct crash_sim, wrap));
	int r = c->e->f.wg->apply(c->e->f.wg, ifname, ch, n, err);

	free(c->after);
	restart_owns(c, &c->after, &c->n_after);
	return r;
}

static int crash_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct crash_sim *c =
		(struct crash_sim *)((char *)b - offsetof(struct crash_sim, wrap));

	return c->e->f.wg->get(c->e->f.wg, ifname, dev);
}

static void crash_round(struct crash_sim *c)
{
	struct sync_intents hook = {crash_record, c};
	struct own_entry *now;
	size_t n_now;
	struct sync_result res;

	free(c->after);
	c->after = NULL;
	assert_int_equal(sync_round(c->e->f.rec, &c->wrap, c->e->f.rt, IF, false, false,
				    NULL, &hook, &res),
			 0);
	assert_int_equal(rec_own_export(c->e->f.rec, &now, &n_now), 0);
	if (c->after) {
		/* A crash after the last WireGuard change of the round. */
		struct own_entry *copy = calloc(n_now + 1, sizeof(*copy));

		assert_non_null(copy);
		if (n_now)
			memcpy(copy, now, n_now * sizeof(*now));
		assert_same_ownership(copy, n_now, c->after, c->n_after);
		free(copy);
		c->apply_checks++;
	}
	/* The round's block settles the intents: the file is what it owns. */
	free(c->file);
	c->file = now;
	c->n_file = n_now;
	c->n_intents = 0;
}

static void crash_anywhere(enum conflict_policy policy, unsigned seed)
{
	struct crash_sim c = {.e = env_new()};
	const struct wg_key *peers[2];
	char dst[32];
	bool route[12] = {0};

	c.wrap = (struct wg_backend){
		.name = "crash", .get = crash_get, .apply = crash_apply};
	peers[0] = &c.e->f.a;
	peers[1] = &c.e->f.b;
	c.e->f.s.conflict = policy;
	assert_int_equal(rec_set_settings(c.e->f.rec, &c.e->f.s), 0);
	dump_routes(c.e);
	srand(seed);
	for (int step = 0; step < 400; step++) {
		unsigned i = (unsigned)rand() % 12, peer = (unsigned)rand() % 2;
		int what = rand() % 8;
		struct prefix p;

		snprintf(dst, sizeof(dst), "2001:db8:%x::/48", i + 1);
		p = P(dst);
		if (what < 5) { /* a route appears or moves */
			if (route[i])
				del_route(c.e, dst);
			add_route(c.e, dst, peer ? "fe80::b" : "fe80::a", 12);
			route[i] = true;
		} else if (what < 7 && route[i]) { /* it goes */
			del_route(c.e, dst);
			route[i] = false;
		} else if (what == 7) { /* the operator sets a static AllowedIP */
			if (fake_wg_allow(c.e->f.w, IF, peers[peer], &p) == 0)
				poll_wg(c.e);
		}
		crash_round(&c);
	}
	/* Both kinds of crash happened often (about 70 and 90 times). */
	assert_true(c.intent_checks > 30 && c.apply_checks > 50);
	free(c.file);
	free(c.after);
	env_free(c.e);
}

static void test_crash_anywhere_keeps_ownership(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 5; seed++) {
		crash_anywhere(CONFLICT_STATIC_WINS, seed);
		crash_anywhere(CONFLICT_LEARNED_WINS, seed);
	}
}

/* ---- route adds: exclusive unless they replace our own route ---- */

/* One round's plan (applied), and its result. */
static int round_plan(struct env *e, struct change_list *plan, struct sync_result *res)
{
	change_list_clear(plan);
	return sync_round(e->f.rec, e->f.wg, e->f.rt, IF, false, false, plan, NULL, res);
}

static void put_route(struct env *e, const char *dst, const char *gw, int oif,
		      uint8_t proto, uint32_t metric, bool tell)
{
	struct knexthop h = {gw ? A(gw) : (struct prefix){0}, oif};
	struct kroute r = {.dst = P(dst),
			   .table = 254,
			   .protocol = proto,
			   .type = ROUTE_TYPE_UNICAST,
			   .metric = metric,
			   .n_nexthops = 1,
			   .nexthops = &h};

	assert_int_equal(fake_route_add(e->f.w, &r), 0);
	if (tell)
		assert_int_equal(rec_route_upsert(e->f.rec, &r), 0);
}

struct find_route {
	struct prefix dst;
	int protocol; /* -1: none */
};

static int find_route_cb(const struct kroute *rt, void *ctx)
{
	struct find_route *f = ctx;

	if (prefix_equal(&rt->dst, &f->dst))
		f->protocol = rt->protocol;
	return 0;
}

/* The protocol of the route of table 254 with destination dst in the world
 * (one at most in these tests), or -1. */
static int proto_of(struct env *e, const char *dst)
{
	struct find_route f = {P(dst), -1};

	fake_route_walk(e->f.w, 254, find_route_cb, &f);
	return f.protocol;
}

static void test_route_add_replaces_only_our_route(void **state)
{
	struct env *e = env_new();
	struct change_list plan = {0};
	struct sync_result res;

	(void)state;
	allow(e, &e->f.a, "2001:db8:a::/48");
	assert_int_equal(round_plan(e, &plan, &res), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.v[0].op, CHANGE_ROUTE_ADD);
	assert_false(plan.v[0].route.replace);
	/* Our route of the same identity with another gateway: replaced in
	 * place, and the add says so. */
	put_route(e, "2001:db8:a::/48", "fe80::99", IFINDEX, 98, 1024, true);
	assert_int_equal(round_plan(e, &plan, &res), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.v[0].op, CHANGE_ROUTE_ADD);
	assert_true(plan.v[0].route.replace);
	assert_int_equal(plan.v[0].route.gw.family, AF_INET6);
	/* Of another metric (route_metric changed): deleted, and the new one
	 * is exclusive. */
	e->f.s.route_metric = 7;
	assert_int_equal(rec_set_settings(e->f.rec, &e->f.s), 0);
	assert_int_equal(round_plan(e, &plan, &res), 0);
	assert_int_equal(plan.n, 2);
	assert_int_equal(plan.v[0].op, CHANGE_ROUTE_DEL);
	assert_int_equal(plan.v[1].op, CHANGE_ROUTE_ADD);
	assert_false(plan.v[1].route.replace);
	assert_int_equal(plan.v[1].route.metric, 7);
	change_list_free(&plan);
	env_free(e);
}

/* A foreign route the model missed (a torn dump) stands where our route is
 * to go, with its identity: the exclusive add is refused, and the model
 * holds that destination's add until it knows what stands there, instead
 * of trying it every pass (or replacing it). */
static void test_unseen_route_holds_the_add(void **state)
{
	struct env *e = env_new();
	struct change_list plan = {0};
	struct sync_result res;

	(void)state;
	put_route(e, "2001:db8:a::/48", NULL, 3, 4, 1024, false);
	allow(e, &e->f.a, "2001:db8:a::/48");
	assert_int_equal(round_plan(e, &plan, &res), -EEXIST);
	assert_int_equal(plan.n, 1);
	assert_false(plan.v[0].route.replace);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.unseen_routes, 1);
	assert_int_equal(proto_of(e, "2001:db8:a::/48"), 4);
	/* Held: no pass tries it again, incremental or full. */
	assert_int_equal(round_plan(e, &plan, &res), 0);
	assert_int_equal(plan.n, 0);
	change_list_clear(&plan);
	assert_int_equal(sync_round(e->f.rec, e->f.wg, e->f.rt, IF, true, false, &plan,
				    NULL, &res),
			 0);
	assert_int_equal(plan.n, 0);
	/* A dump that may have missed it again keeps the hold. */
	rec_routes_begin(e->f.rec);
	rec_routes_end_tentative(e->f.rec);
	assert_int_equal(round_plan(e, &plan, &res), 0);
	assert_int_equal(plan.n, 0);
	/* A complete dump shows it: a foreign route, no route of ours. */
	dump_routes(e);
	assert_int_equal(round_plan(e, &plan, &res), 0);
	assert_int_equal(plan.n, 0);
	assert_int_equal(proto_of(e, "2001:db8:a::/48"), 4);
	/* It goes: ours comes. */
	{
		struct kroute r = {
			.dst = P("2001:db8:a::/48"), .table = 254, .metric = 1024};

		assert_int_equal(fake_route_del(e->f.w, &r), 0);
		assert_int_equal(rec_route_remove(e->f.rec, &r), 0);
	}
	assert_int_equal(round_plan(e, &plan, &res), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(proto_of(e, "2001:db8:a::/48"), 98);

	/* An event for the destination ends a hold too, even one for a
	 * route the model never had (it went before a dump showed it). */
	put_route(e, "2001:db8:b::/48", NULL, 3, 4, 1024, false);
	allow(e, &e->f.a, "2001:db8:b::/48");
	assert_int_equal(round_plan(e, &plan, &res), -EEXIST);
	{
		struct kroute r = {
			.dst = P("2001:db8:b::/48"), .table = 254, .metric = 1024};

		assert_int_equal(fake_route_del(e->f.w, &r), 0);
		assert_int_equal(rec_route_remove(e->f.rec, &r), 0);
	}
	assert_int_equal(round_plan(e, &plan, &res), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(proto_of(e, "2001:db8:b::/48"), 98);
	change_list_free(&plan);
	env_free(e);
}

/* ---- torn dumps ---- */

struct dump_but {
	struct rec *rec;
	struct prefix skip[2];
	size_t n_skip;
	bool twice; /* every route twice, as a dump that walked back */
};

static int dump_but_cb(const struct kroute *rt, void *ctx)
{
	const struct dump_but *b = ctx;

	for (size_t i = 0; i < b->n_skip; i++)
		if (prefix_equal(&rt->dst, &b->skip[i]))
			return 0;
	if (b->twice)
		assert_int_equal(rec_route_upsert(b->rec, rt), 0);
	return rec_route_upsert(b->rec, rt);
}

/* A dump of the world that misses skip (NULL: none). */
static void dump_missing(struct env *e, const char *skip, bool tentative)
{
	struct dump_but b = {.rec = e->f.rec};

	if (skip)
		b.skip[b.n_skip++] = P(skip);
	rec_routes_begin(e->f.rec);
	assert_int_equal(fake_route_walk(e->f.w, 0, dump_but_cb, &b), 0);
	if (tentative)
		rec_routes_end_tentative(e->f.rec);
	else
		assert_int_equal(rec_routes_end(e->f.rec), 0);
}

/* A learned prefix whose route a torn dump lacked stays: the tentative end
 * removes nothing. A complete dump that lacks it withdraws it. */
static void test_tentative_dump_removes_nothing(void **state)
{
	struct env *e = env_new();

	(void)state;
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	round_(e, false);
	assert_int_equal(allowed_of(e, &e->f.a), 1);
	dump_missing(e, "2001:db8:1::/48", true);
	assert_true(rec_routes_confirmed(e->f.rec));
	assert_int_equal(round_(e, true), 0);
	assert_int_equal(allowed_of(e, &e->f.a), 1);
	/* The route went without an event (a link went down): only a
	 * complete dump can tell. */
	{
		struct kroute r = {
			.dst = P("2001:db8:1::/48"), .table = 254, .metric = 32};

		assert_int_equal(fake_route_del(e->f.w, &r), 0);
	}
	dump_missing(e, NULL, true);
	assert_int_equal(round_(e, true), 0);
	assert_int_equal(allowed_of(e, &e->f.a), 1);
	dump_missing(e, NULL, false);
	assert_int_equal(round_(e, false), 1);
	assert_int_equal(allowed_of(e, &e->f.a), 0);
	env_free(e);
}

/* After a torn dump, the next complete one removes only what neither saw
 * (a route one of them saw, and no event took away, stands). A lost event
 * (rec_routes_doubt) ends that: what the torn one saw may have gone. */
static void test_dumps_after_a_torn_one_add_up(void **state)
{
	struct env *e = env_new();

	(void)state;
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	add_route(e, "2001:db8:2::/48", "fe80::a", 12);
	round_(e, false);
	assert_int_equal(allowed_of(e, &e->f.a), 2);
	dump_missing(e, "2001:db8:2::/48", true);
	dump_missing(e, "2001:db8:1::/48", false);
	assert_int_equal(round_(e, true), 0);
	assert_int_equal(allowed_of(e, &e->f.a), 2);
	/* A complete dump after a complete one stands alone. */
	dump_missing(e, "2001:db8:1::/48", false);
	assert_int_equal(round_(e, false), 1);
	assert_int_equal(allowed_of(e, &e->f.a), 1);

	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	round_(e, false);
	assert_int_equal(allowed_of(e, &e->f.a), 2);
	dump_missing(e, "2001:db8:2::/48", true);
	rec_routes_doubt(e->f.rec);
	dump_missing(e, "2001:db8:1::/48", false);
	assert_int_equal(round_(e, false), 1);
	assert_int_equal(allowed_of(e, &e->f.a), 1);
	env_free(e);
}

/* A route listed twice in one dump makes it torn (the kernel walked a part
 * of the table again); one upsert per dump, or events, do not. */
static void test_route_listed_twice_tears_the_dump(void **state)
{
	struct env *e = env_new();
	struct dump_but twice = {.rec = e->f.rec, .twice = true};
	struct kroute r;
	struct knexthop h = {A("fe80::a"), IFINDEX};

	(void)state;
	add_route(e, "2001:db8:1::/48", "fe80::a", 12);
	add_route(e, "2001:db8:2::/48", "fe80::b", 12);
	dump_missing(e, NULL, false);
	assert_false(rec_routes_doubled(e->f.rec));
	rec_routes_begin(e->f.rec);
	assert_int_equal(fake_route_walk(e->f.w, 0, dump_but_cb, &twice), 0);
	assert_true(rec_routes_doubled(e->f.rec));
	rec_routes_end_tentative(e->f.rec);
	/* The next dump starts clean, though the last one saw everything. */
	dump_missing(e, NULL, false);
	assert_false(rec_routes_doubled(e->f.rec));
	/* Events between dumps repeat routes all the time. */
	r = (struct kroute){.dst = P("2001:db8:1::/48"),
			    .table = 254,
			    .protocol = 12,
			    .type = ROUTE_TYPE_UNICAST,
			    .metric = 32,
			    .n_nexthops = 1,
			    .nexthops = &h};
	assert_int_equal(rec_route_upsert(e->f.rec, &r), 0);
	assert_int_equal(rec_route_upsert(e->f.rec, &r), 0);
	rec_routes_begin(e->f.rec);
	assert_false(rec_routes_doubled(e->f.rec));
	/* Two routes of one identity with different next hops (IPv6 keeps
	 * such a pair apart): no walk back. */
	assert_int_equal(rec_route_upsert(e->f.rec, &r), 0);
	h.gw = A("fe80::b");
	assert_int_equal(rec_route_upsert(e->f.rec, &r), 0);
	assert_false(rec_routes_doubled(e->f.rec));
	assert_int_equal(rec_routes_end(e->f.rec), 0);
	env_free(e);
}

/* No complete dump since the model lost its routes: not confirmed, and the
 * daemon holds its rounds (docs/design.md, "Torn dumps"). */
static void test_routes_confirmed_by_a_complete_dump(void **state)
{
	struct env *e = env_new();
	struct rec *fresh = rec_new(&e->f.s, IFINDEX);

	(void)state;
	assert_non_null(fresh);
	assert_false(rec_routes_confirmed(fresh));
	rec_routes_begin(fresh);
	rec_routes_end_tentative(fresh);
	assert_false(rec_routes_confirmed(fresh));
	rec_routes_begin(fresh);
	assert_int_equal(rec_routes_end(fresh), 0);
	assert_true(rec_routes_confirmed(fresh));
	rec_free(fresh);

	assert_true(rec_routes_confirmed(e->f.rec));
	rec_routes_doubt(e->f.rec);
	assert_false(rec_routes_confirmed(e->f.rec));
	dump_missing(e, NULL, false);
	assert_true(rec_routes_confirmed(e->f.rec));
	/* Another table: its routes are unknown until dumped. */
	e->f.s.routing_table = 100;
	assert_int_equal(rec_set_settings(e->f.rec, &e->f.s), 0);
	assert_false(rec_routes_confirmed(e->f.rec));
	dump_missing(e, NULL, false);
	assert_true(rec_routes_confirmed(e->f.rec));
	/* Settings that keep the table keep the picture. */
	e->f.s.route_metric = 5;
	assert_int_equal(rec_set_settings(e->f.rec, &e->f.s), 0);
	assert_true(rec_routes_confirmed(e->f.rec));
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_teardown_undoes_our_work_only),
		cmocka_unit_test(test_device_fingerprint_follows_the_model),
		cmocka_unit_test(test_stats_count_what_the_model_holds),
		cmocka_unit_test(test_conflict_warned_once),
		cmocka_unit_test(test_ambiguous_gateway_warned_and_counted),
		cmocka_unit_test(test_failed_change_is_retried),
		cmocka_unit_test(test_failed_learned_add_made_all_the_same),
		cmocka_unit_test(test_own_pending_until_the_device_is_read),
		cmocka_unit_test(test_failed_allowed_ip_holds_back_its_route_change),
		cmocka_unit_test(test_bad_input_is_refused_without_change),
		cmocka_unit_test(test_many_next_hops_are_capped),
		cmocka_unit_test(test_snapshot_listing_a_prefix_twice),
		cmocka_unit_test(test_ownership_load_and_dirty_flag),
		cmocka_unit_test(test_own_intent_is_what_the_commit_records),
		cmocka_unit_test(test_intents_recorded_before_the_change),
		cmocka_unit_test(test_own_load_checks_intents_against_the_device),
		cmocka_unit_test(test_crash_anywhere_keeps_ownership),
		cmocka_unit_test(test_route_add_replaces_only_our_route),
		cmocka_unit_test(test_unseen_route_holds_the_add),
		cmocka_unit_test(test_tentative_dump_removes_nothing),
		cmocka_unit_test(test_dumps_after_a_torn_one_add_up),
		cmocka_unit_test(test_route_listed_twice_tears_the_dump),
		cmocka_unit_test(test_routes_confirmed_by_a_complete_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
