/* test_failures.c: faults injected through the fake backends (docs/spec.md
 * 5.11, docs/reliability.md "Faults from the kernel and WireGuard"). Each
 * refusal is logged once per cause (not per change, not per pass), retried
 * by every round, counted by cause, and never removes a static AllowedIP or
 * touches a foreign route; when it ends, one line says so and the rounds
 * converge. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_log.h"
#include "fakeenv.h"
#include "log.h"
#include "reconcile.h"
#include "sync.h"
#include "testutil.h"

#define IF     FAKEENV_IF
#define ROUNDS 5

/* The fake world of fakeenv.h, seen through the logging backends. */
struct env {
	struct fake_env f;
	struct backend_log bl;
	char last_error[256];
	double last_error_time;
	struct log_capture log;
};

static void route(struct env *e, const char *dst, const char *gw, uint8_t proto)
{
	struct knexthop h = {A(gw), FAKEENV_IFINDEX};
	struct kroute r = {.dst = P(dst),
			   .table = 254,
			   .protocol = proto,
			   .type = ROUTE_TYPE_UNICAST,
			   .metric = 1024,
			   .n_nexthops = 1,
			   .nexthops = &h};

	assert_int_equal(fake_route_add(e->f.w, &r), 0);
}

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	fake_env_init(&e->f);
	backend_log_init(&e->bl, e->f.wg, e->f.rt, IF, e->last_error,
			 sizeof(e->last_error), &e->last_error_time);
	log_set_level(LOG_LEVEL_DEBUG);
	log_capture_start(&e->log);
	return e;
}

static void env_free(struct env *e)
{
	log_capture_stop(&e->log);
	backend_log_free(&e->bl);
	fake_env_free(&e->f);
	free(e);
}

static void allow(struct env *e, const struct wg_key *k, const char *dst)
{
	struct prefix p = P(dst);

	assert_int_equal(fake_wg_allow(e->f.w, IF, k, &p), 0);
}

static bool holds(struct env *e, const struct wg_key *k, const char *dst)
{
	struct wg_device d;
	struct prefix p = P(dst);
	bool found = false;

	assert_int_equal(fake_wg_get(e->f.w, IF, &d), 0);
	for (size_t i = 0; i < d.n_peers; i++)
		for (size_t j = 0;
		     !wg_key_cmp(&d.peers[i].key, k) && j < d.peers[i].n_allowed; j++)
			found = found || prefix_equal(&d.peers[i].allowed[j], &p);
	wg_device_free(&d);
	return found;
}

struct route_seen {
	struct prefix dst;
	uint8_t protocol;
	bool found;
};

static int find_route(const struct kroute *rt, void *ctx)
{
	struct route_seen *s = ctx;

	if (prefix_equal(&rt->dst, &s->dst) &&
	    (!s->protocol || rt->protocol == s->protocol))
		s->found = true;
	return 0;
}

static bool has_route(struct env *e, const char *dst, uint8_t protocol)
{
	struct route_seen s = {P(dst), protocol, false};

	assert_int_equal(fake_route_walk(e->f.w, 254, find_route, &s), 0);
	return s.found;
}

/* One round as iface_sync runs it; its failures. */
static size_t round_(struct env *e)
{
	struct sync_result res;

	fake_env_poll(&e->f);
	fake_env_dump(&e->f);
	sync_round(e->f.rec, &e->bl.wg, &e->bl.rt, IF, false, false, NULL, NULL, &res);
	backend_log_round_end(&e->bl);
	return res.failed;
}

static size_t lines(struct env *e, const char *level, const char *what)
{
	return log_capture_lines(&e->log, level, what);
}

static const struct failure_cause *cause(struct env *e, enum failure_kind kind, int err)
{
	for (size_t i = 0; i < e->bl.failures.n; i++)
		if (e->bl.failures.v[i].kind == kind && e->bl.failures.v[i].err == err)
			return &e->bl.failures.v[i];
	return NULL;
}

/* The invariants: the static AllowedIPs are where they were, the foreign
 * route is there. */
static void assert_untouched(struct env *e)
{
	assert_true(holds(e, &e->f.a, "fe80::a/128"));
	assert_true(holds(e, &e->f.b, "fe80::b/128"));
	assert_true(holds(e, &e->f.b, "2001:db8:b::/48"));
	assert_true(has_route(e, "2001:db8:f::/48", 12));
}

static struct env *world(void)
{
	struct env *e = env_new();

	allow(e, &e->f.a, "fe80::a/128");
	allow(e, &e->f.b, "fe80::b/128");
	allow(e, &e->f.b, "2001:db8:b::/48");
	route(e, "2001:db8:f::/48", "fe80::99", 12); /* via no peer */
	return e;
}

/* Route additions refused, for each reason the kernel gives: the first
 * round says it once with the count; the next ones only at debug level;
 * each round tries again; the status counts every failure. */
static void test_route_add_refused(void **state)
{
	const int errs[] = {-EEXIST, -ENETUNREACH, -ENOBUFS, -EPERM, -ENETDOWN};

	(void)state;
	for (size_t k = 0; k < sizeof(errs) / sizeof(errs[0]); k++) {
		struct env *e = world();
		char name[16];
		const char *ename = failure_errno_name(errs[k], name, sizeof(name));
		const struct failure_cause *c;

		fake_fail_op(e->f.w, CHANGE_ROUTE_ADD, errs[k]);
		for (int r = 0; r < ROUNDS; r++)
			assert_int_equal(round_(e), 3); /* fe80::a, fe80::b, b's /48 */
		assert_int_equal(lines(e, "error:", "route add"), 1);
		assert_int_equal(lines(e, "error:", ename), 1);
		assert_int_equal(lines(e, "error:", "3 changes of this kind"), 1);
		assert_int_equal(lines(e, "debug:", "(again)"), 3 * ROUNDS - 1);
		c = cause(e, FAILURE_ROUTE_ADD, -errs[k]);
		assert_non_null(c);
		assert_int_equal(c->count, 3 * ROUNDS);
		assert_true(c->failing);
		assert_non_null(strstr(e->last_error, ename));
		assert_untouched(e);
		assert_false(has_route(e, "2001:db8:b::/48", 98));
		/* It ends: one line, and the next round does the work. */
		log_capture_clear(&e->log);
		fake_fail_op(e->f.w, CHANGE_ROUTE_ADD, 0);
		assert_int_equal(round_(e), 0);
		assert_int_equal(lines(e, "info:", "route add works again"), 1);
		assert_false(c->failing);
		assert_true(has_route(e, "2001:db8:b::/48", 98));
		assert_untouched(e);
		assert_int_equal(round_(e), 0);
		env_free(e);
	}
}

/* A route of ours that no AllowedIP wants any more, and its deletion
 * refused. */
static void test_route_del_refused(void **state)
{
	const int errs[] = {-EPERM, -ENOBUFS};

	(void)state;
	for (size_t k = 0; k < sizeof(errs) / sizeof(errs[0]); k++) {
		struct env *e = world();
		const struct failure_cause *c;

		assert_int_equal(round_(e), 0); /* our routes installed */
		route(e, "2001:db8:9::/48", "fe80::b", 98);
		log_capture_clear(&e->log);
		fake_fail_op(e->f.w, CHANGE_ROUTE_DEL, errs[k]);
		for (int r = 0; r < ROUNDS; r++)
			assert_int_equal(round_(e), 1);
		assert_int_equal(lines(e, "error:", "route del 2001:db8:9::/48"), 1);
		c = cause(e, FAILURE_ROUTE_DEL, -errs[k]);
		assert_non_null(c);
		assert_int_equal(c->count, ROUNDS);
		assert_untouched(e);
		fake_fail_op(e->f.w, CHANGE_ROUTE_DEL, 0);
		assert_int_equal(round_(e), 0);
		assert_false(has_route(e, "2001:db8:9::/48", 0));
		assert_untouched(e);
		env_free(e);
	}
}

/* WireGuard refuses the set that learns a route (wireguard-go's errno=-22,
 * kernel WireGuard's EINVAL or E2BIG): the learned prefix waits, nothing
 * else changes. A route whose own AllowedIP change failed waits with it,
 * and is no cause of its own. */
static void test_allowed_ip_set_refused(void **state)
{
	struct env *e = world();
	const struct failure_cause *c;

	(void)state;
	assert_int_equal(round_(e), 0);
	route(e, "2001:db8:1::/48", "fe80::a", 12);
	log_capture_clear(&e->log);
	fake_fail_op(e->f.w, CHANGE_ALLOWED_ADD, -EINVAL);
	for (int r = 0; r < ROUNDS; r++)
		assert_int_equal(round_(e), 1);
	assert_int_equal(lines(e, "error:", "allowed-ip add"), 1);
	assert_int_equal(lines(e, "error:", "EINVAL"), 1);
	c = cause(e, FAILURE_ALLOWED_ADD, EINVAL);
	assert_non_null(c);
	assert_int_equal(c->count, ROUNDS);
	assert_false(holds(e, &e->f.a, "2001:db8:1::/48"));
	assert_untouched(e);
	fake_fail_op(e->f.w, CHANGE_ALLOWED_ADD, 0);
	assert_int_equal(round_(e), 0);
	assert_true(holds(e, &e->f.a, "2001:db8:1::/48"));
	assert_untouched(e);
	env_free(e);
}

/* Two causes at once are two lines; a cause that ends while the other goes
 * on is said to end; nothing is said twice. */
static void test_causes_apart(void **state)
{
	struct env *e = world();

	(void)state;
	route(e, "2001:db8:1::/48", "fe80::a", 12);
	fake_fail_op(e->f.w, CHANGE_ALLOWED_ADD, -EIO);
	fake_fail_op(e->f.w, CHANGE_ROUTE_ADD, -ENETUNREACH);
	for (int r = 0; r < ROUNDS; r++)
		assert_int_equal(round_(e), 4);
	assert_int_equal(lines(e, "error:", ""), 2);
	assert_int_equal(lines(e, "error:", "EIO"), 1);
	assert_int_equal(lines(e, "error:", "ENETUNREACH"), 1);
	log_capture_clear(&e->log);
	fake_fail_op(e->f.w, CHANGE_ALLOWED_ADD, 0);
	for (int r = 0; r < ROUNDS; r++)
		assert_int_equal(round_(e), 3);
	assert_int_equal(lines(e, "info:", "allowed-ip add works again"), 1);
	assert_int_equal(lines(e, "info:", "route add works again"), 0);
	assert_int_equal(lines(e, "error:", ""), 0);
	assert_untouched(e);
	env_free(e);
}

/* The other kinds: said at once, once, and their end. */
static void test_operations(void **state)
{
	struct env *e = env_new();
	const struct failure_cause *c;

	(void)state;
	for (int r = 0; r < ROUNDS; r++)
		failures_op(&e->bl.failures, FAILURE_DEVICE_READ, -EPIPE, "Broken pipe");
	failures_op(&e->bl.failures, FAILURE_STATE_WRITE, -ENOSPC,
		    "state file /x/wg0.state not written");
	assert_int_equal(lines(e, "error:", "reading the device: Broken pipe (EPIPE)"),
			 1);
	assert_int_equal(lines(e, "error:", "retrying at every poll"), 1);
	assert_int_equal(lines(e, "error:", "not written (ENOSPC)"), 1);
	assert_int_equal(lines(e, "debug:", "(again)"), ROUNDS - 1);
	c = cause(e, FAILURE_DEVICE_READ, EPIPE);
	assert_int_equal(c->count, ROUNDS);
	assert_true(c->failing);
	assert_string_equal(e->last_error, "writing the state file: state file "
					   "/x/wg0.state not written (ENOSPC)");
	/* Another errno of the same kind is another cause, said too. */
	failures_op(&e->bl.failures, FAILURE_DEVICE_READ, -ETIMEDOUT, "timed out");
	assert_int_equal(lines(e, "error:", "ETIMEDOUT"), 1);
	assert_false(cause(e, FAILURE_DEVICE_READ, EPIPE)->failing);
	failures_op(&e->bl.failures, FAILURE_DEVICE_READ, 0, NULL);
	assert_int_equal(lines(e, "info:", "reading the device works again"), 1);
	assert_false(cause(e, FAILURE_DEVICE_READ, ETIMEDOUT)->failing);
	assert_true(cause(e, FAILURE_STATE_WRITE, ENOSPC)->failing);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_add_refused),
		cmocka_unit_test(test_route_del_refused),
		cmocka_unit_test(test_allowed_ip_set_refused),
		cmocka_unit_test(test_causes_apart),
		cmocka_unit_test(test_operations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
