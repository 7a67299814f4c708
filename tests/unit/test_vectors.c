/* test_vectors.c: runs the conformance vectors of tests/vectors/ (format in
 * docs/conformance.md), one cmocka test per file. Each vector builds a fake
 * world and a reconciler, replays its steps through sync_round, compares
 * the changes exactly (order included) and the expected state, and checks
 * the invariants of docs/spec.md section 10 on the way and at the end. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_fake.h"
#include "reconcile.h"
#include "sync.h"
#include "testutil.h"
#include "vector_load.h"

#define IFNAME "wg0"

struct run {
	const struct vector *v;
	struct fake_world *w;
	struct wg_backend *wgb;
	struct route_backend *rtb;
	struct rec *rec;
	struct settings cur; /* settings in force */
	const struct prefix *addrs;
	size_t n_addrs;
};

/* ---- formatting, in the vector's own syntax so that a line can be pasted ---- */

static const char *key_str(const struct wg_key *k, char *buf)
{
	return wg_key_to_base64(k, buf);
}

static void fmt_change(const struct change *c, char *buf, size_t len)
{
	char k[WG_KEY_B64_LEN], d[PREFIX_STRLEN], g[PREFIX_STRLEN];
	const struct route_spec *r = &c->route;

	switch (c->op) {
	case CHANGE_ALLOWED_ADD:
	case CHANGE_ALLOWED_DEL:
		snprintf(buf, len, "{op: %s, peer: %s, prefix: %s%s}",
			 c->op == CHANGE_ALLOWED_ADD ? "allowed-add" : "allowed-del",
			 key_str(&c->peer, k), prefix_format(&c->dst, d),
			 c->op == CHANGE_ALLOWED_ADD && c->learned ? ", learned: true"
								   : "");
		return;
	case CHANGE_ROUTE_ADD:
	case CHANGE_ROUTE_DEL:
		snprintf(buf, len,
			 "{op: %s, dst: %s, gw: %s, table: %u, protocol: %u, tos: %u, "
			 "metric: %u, oif: %d%s}",
			 c->op == CHANGE_ROUTE_ADD ? "route-add" : "route-del",
			 prefix_format(&r->dst, d),
			 r->gw.family ? addr_format(&r->gw, g) : "~", r->table,
			 r->protocol, r->tos, r->metric, r->oif,
			 c->op == CHANGE_ROUTE_ADD && r->replace ? ", replace: true"
								 : "");
		return;
	}
	snprintf(buf, len, "{op: ?%d}", (int)c->op);
}

static void print_changes(const char *title, const struct change *c, size_t n)
{
	char buf[512];

	printf("  %s (%zu):\n", title, n);
	for (size_t i = 0; i < n; i++) {
		fmt_change(&c[i], buf, sizeof(buf));
		printf("    - %s\n", buf);
	}
}

/* ---- comparisons ---- */

static bool spec_equal(const struct route_spec *a, const struct route_spec *b)
{
	return prefix_equal(&a->dst, &b->dst) && a->table == b->table &&
	       a->protocol == b->protocol && a->tos == b->tos && a->metric == b->metric &&
	       a->oif == b->oif && a->gw.family == b->gw.family &&
	       (!a->gw.family || prefix_equal(&a->gw, &b->gw));
}

static bool change_equal(const struct change *a, const struct change *b)
{
	if (a->op != b->op)
		return false;
	switch (a->op) {
	case CHANGE_ALLOWED_ADD:
		if (a->learned != b->learned)
			return false;
		/* fall through */
	case CHANGE_ALLOWED_DEL:
		return prefix_equal(&a->dst, &b->dst) && !wg_key_cmp(&a->peer, &b->peer);
	case CHANGE_ROUTE_ADD:
		if (a->route.replace != b->route.replace)
			return false;
		/* fall through */
	case CHANGE_ROUTE_DEL:
		return spec_equal(&a->route, &b->route);
	}
	return false;
}

static void check_changes(const char *name, size_t step, const struct vec_step *s,
			  const struct change_list *got)
{
	bool same = got->n == s->n_changes;

	for (size_t i = 0; same && i < got->n; i++)
		same = change_equal(&got->v[i], &s->changes[i]);
	if (same)
		return;
	printf("%s: step %zu: changes differ\n", name, step);
	print_changes("expected", s->changes, s->n_changes);
	print_changes("got", got->v, got->n);
	fail_msg("%s: step %zu: changes differ (see above)", name, step);
}

static int cmp_prefix_v(const void *a, const void *b)
{
	return prefix_cmp(a, b);
}

static int cmp_peer_v(const void *a, const void *b)
{
	return wg_key_cmp(&((const struct wg_peer *)a)->key,
			  &((const struct wg_peer *)b)->key);
}

static int cmp_own_v(const void *a, const void *b)
{
	const struct own_entry *x = a, *y = b;
	int c = wg_key_cmp(&x->peer, &y->peer);

	return c ? c : prefix_cmp(&x->dst, &y->dst);
}

static void sort_device(struct wg_device *d)
{
	sort_items(d->peers, d->n_peers, sizeof(*d->peers), cmp_peer_v);
	for (size_t i = 0; i < d->n_peers; i++)
		sort_items(d->peers[i].allowed, d->peers[i].n_allowed,
			   sizeof(struct prefix), cmp_prefix_v);
}

static void print_device(const char *title, const struct wg_device *d)
{
	char k[WG_KEY_B64_LEN], p[PREFIX_STRLEN];

	printf("  %s:\n", title);
	for (size_t i = 0; i < d->n_peers; i++) {
		printf("    - {key: %s, allowed_ips: [", key_str(&d->peers[i].key, k));
		for (size_t j = 0; j < d->peers[i].n_allowed; j++)
			printf("%s%s", j ? ", " : "",
			       prefix_format(&d->peers[i].allowed[j], p));
		printf("]}\n");
	}
}

static bool device_equal(const struct wg_device *a, const struct wg_device *b)
{
	if (a->n_peers != b->n_peers)
		return false;
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct wg_peer *x = &a->peers[i], *y = &b->peers[i];

		if (wg_key_cmp(&x->key, &y->key) || x->n_allowed != y->n_allowed)
			return false;
		for (size_t j = 0; j < x->n_allowed; j++)
			if (!prefix_equal(&x->allowed[j], &y->allowed[j]))
				return false;
	}
	return true;
}

/* ---- the world's routes ---- */

struct route_set {
	size_t n, cap;
	struct kroute *v; /* deep copies */
};

static int collect_route(const struct kroute *rt, void *ctx)
{
	struct route_set *s = ctx;
	struct kroute *c;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		assert_non_null(s->v);
	}
	c = &s->v[s->n++];
	*c = *rt;
	c->nexthops = NULL;
	if (rt->n_nexthops) {
		c->nexthops = malloc(rt->n_nexthops * sizeof(*c->nexthops));
		assert_non_null(c->nexthops);
		memcpy(c->nexthops, rt->nexthops, rt->n_nexthops * sizeof(*c->nexthops));
	}
	return 0;
}

static void route_set_free(struct route_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].nexthops);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void world_routes(struct run *r, struct route_set *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(fake_route_walk(r->w, 0, collect_route, s), 0);
}

static const struct kroute *find_route(const struct route_set *s, uint32_t table,
				       const struct prefix *dst, uint8_t tos,
				       uint32_t metric)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct kroute *rt = &s->v[i];

		if (rt->table == table && prefix_equal(&rt->dst, dst) && rt->tos == tos &&
		    rt->metric == metric)
			return rt;
	}
	return NULL;
}

/* docs/spec.md 2.4: protocol P, unicast, every next hop through wg0. */
static bool route_is_ours(const struct run *r, const struct kroute *rt)
{
	if (rt->protocol != r->cur.route_protocol || rt->type != ROUTE_TYPE_UNICAST ||
	    !rt->n_nexthops)
		return false;
	for (size_t i = 0; i < rt->n_nexthops; i++)
		if (rt->nexthops[i].oif != r->v->ifindex)
			return false;
	return true;
}

/* ---- building the world and a reconciler over it ---- */

static int upsert_cb(const struct kroute *rt, void *ctx)
{
	return rec_route_upsert(ctx, rt);
}

static void feed_wg(struct run *r, struct rec *rec)
{
	struct wg_device dev;

	memset(&dev, 0, sizeof(dev));
	assert_int_equal(fake_wg_get(r->w, IFNAME, &dev), 0);
	assert_int_equal(rec_set_wg(rec, &dev), 0);
	wg_device_free(&dev);
}

/* A reconciler that starts on the world as it is now: what the daemon does
 * at start, with the ownership its state file would hold. */
static struct rec *start_rec(struct run *r, const struct own_entry *own, size_t n_own)
{
	struct rec *rec = rec_new(&r->cur, r->v->ifindex);

	assert_non_null(rec);
	assert_int_equal(rec_set_addresses(rec, r->addrs, r->n_addrs), 0);
	assert_int_equal(rec_own_load(rec, own, n_own), 0);
	feed_wg(r, rec);
	rec_routes_begin(rec);
	assert_int_equal(fake_route_walk(r->w, 0, upsert_cb, rec), 0);
	assert_int_equal(rec_routes_end(rec), 0);
	return rec;
}

static void build_world(struct run *r)
{
	const struct vector *v = r->v;

	r->w = fake_world_new();
	assert_non_null(r->w);
	assert_int_equal(fake_wg_add_device(r->w, IFNAME, &v->wg.pubkey), 0);
	for (size_t i = 0; i < v->wg.n_peers; i++) {
		const struct wg_peer *p = &v->wg.peers[i];

		assert_int_equal(fake_wg_add_peer(r->w, IFNAME, &p->key), 0);
		for (size_t j = 0; j < p->n_allowed; j++)
			assert_int_equal(
				fake_wg_allow(r->w, IFNAME, &p->key, &p->allowed[j]), 0);
	}
	for (size_t i = 0; i < v->n_routes; i++)
		assert_int_equal(fake_route_add(r->w, &v->routes[i]), 0);
	r->wgb = fake_wg_backend(r->w);
	r->rtb = fake_route_backend(r->w);
	assert_non_null(r->wgb);
	assert_non_null(r->rtb);
}

/* ---- events ---- */

static void route_del_event(struct run *r, const struct kroute *id)
{
	struct route_set s;
	const struct kroute *rt;
	char d[PREFIX_STRLEN];

	world_routes(r, &s);
	rt = find_route(&s, id->table, &id->dst, id->tos, id->metric);
	if (!rt)
		fail_msg("%s: route-del of %s table %u metric %u: no such route in the "
			 "world",
			 r->v->name, prefix_format(&id->dst, d), id->table, id->metric);
	/* The kernel reports the whole route that went, as the world held it. */
	assert_int_equal(fake_route_del(r->w, rt), 0);
	assert_int_equal(rec_route_remove(r->rec, rt), 0);
	route_set_free(&s);
}

static void apply_event(struct run *r, const struct vec_event *e)
{
	switch (e->kind) {
	case VEV_ROUTE_ADD:
		assert_int_equal(fake_route_add(r->w, &e->route), 0);
		assert_int_equal(rec_route_upsert(r->rec, &e->route), 0);
		return;
	case VEV_ROUTE_DEL:
		route_del_event(r, &e->route);
		return;
	case VEV_PEER_ADD:
		assert_int_equal(fake_wg_add_peer(r->w, IFNAME, &e->peer), 0);
		break;
	case VEV_PEER_DEL:
		assert_int_equal(fake_wg_del_peer(r->w, IFNAME, &e->peer), 0);
		break;
	case VEV_ALLOWED_ADD:
		assert_int_equal(fake_wg_allow(r->w, IFNAME, &e->peer, &e->prefix), 0);
		break;
	case VEV_ALLOWED_DEL:
		assert_int_equal(fake_wg_disallow(r->w, IFNAME, &e->peer, &e->prefix), 0);
		break;
	case VEV_ADDRESSES:
		r->addrs = e->addrs;
		r->n_addrs = e->n_addrs;
		assert_int_equal(rec_set_addresses(r->rec, e->addrs, e->n_addrs), 0);
		return;
	case VEV_SETTINGS:
		settings_free(&r->cur);
		assert_int_equal(settings_copy(&r->cur, &e->settings), 0);
		assert_int_equal(rec_set_settings(r->rec, &r->cur), 0);
		/* As the daemon does after a reload: the table may be another. */
		rec_routes_begin(r->rec);
		assert_int_equal(fake_route_walk(r->w, 0, upsert_cb, r->rec), 0);
		assert_int_equal(rec_routes_end(r->rec), 0);
		return;
	}
	/* A WireGuard change reaches the reconciler through the next poll. */
	feed_wg(r, r->rec);
}

/* ---- invariants on one round's plan (docs/spec.md 10.1 and 10.2) ---- */

static bool owned_has(const struct own_entry *own, size_t n, const struct wg_key *peer,
		      const struct prefix *dst)
{
	for (size_t i = 0; i < n; i++)
		if (!wg_key_cmp(&own[i].peer, peer) && prefix_equal(&own[i].dst, dst))
			return true;
	return false;
}

static const struct wg_peer *holder_of(const struct wg_device *dev,
				       const struct prefix *d)
{
	for (size_t i = 0; i < dev->n_peers; i++)
		for (size_t j = 0; j < dev->peers[i].n_allowed; j++)
			if (prefix_equal(&dev->peers[i].allowed[j], d))
				return &dev->peers[i];
	return NULL;
}

/* Called before the plan is applied: own, dev and routes are the state the
 * plan was made from. */
static void check_plan(struct run *r, const struct change_list *plan,
		       const struct own_entry *own, size_t n_own,
		       const struct wg_device *dev, const struct route_set *routes)
{
	char buf[512];

	for (size_t i = 0; i < plan->n; i++) {
		const struct change *c = &plan->v[i];
		const struct route_spec *s = &c->route;
		const struct wg_peer *h;
		const struct kroute *old;

		fmt_change(c, buf, sizeof(buf));
		switch (c->op) {
		case CHANGE_ALLOWED_DEL:
			if (!owned_has(own, n_own, &c->peer, &c->dst))
				fail_msg("%s: removes a static AllowedIP: %s", r->v->name,
					 buf);
			break;
		case CHANGE_ALLOWED_ADD:
			h = holder_of(dev, &c->dst);
			if (h && wg_key_cmp(&h->key, &c->peer) &&
			    !owned_has(own, n_own, &h->key, &c->dst) &&
			    r->cur.conflict != CONFLICT_LEARNED_WINS)
				fail_msg("%s: takes a static AllowedIP under "
					 "static-wins: %s",
					 r->v->name, buf);
			break;
		case CHANGE_ROUTE_ADD:
		case CHANGE_ROUTE_DEL:
			if (s->protocol != r->cur.route_protocol ||
			    s->oif != r->v->ifindex)
				fail_msg("%s: change to a route not ours: %s", r->v->name,
					 buf);
			old = find_route(routes, s->table, &s->dst, s->tos, s->metric);
			if (old && old->protocol != r->cur.route_protocol)
				fail_msg("%s: touches a foreign route: %s", r->v->name,
					 buf);
			/* An add replaces only a route the core knows is ours;
			 * any other would be refused (EEXIST): a route the
			 * model missed. */
			if (c->op == CHANGE_ROUTE_ADD && s->replace &&
			    (!old || !route_is_ours(r, old)))
				fail_msg("%s: replaces a route not ours: %s", r->v->name,
					 buf);
			if (c->op == CHANGE_ROUTE_ADD && !s->replace && old)
				fail_msg("%s: adds where a route stands: %s", r->v->name,
					 buf);
			if (c->op == CHANGE_ROUTE_DEL && !old)
				fail_msg("%s: deletes a route that does not exist: %s",
					 r->v->name, buf);
			break;
		}
	}
}

/* ---- expected state ---- */

static void check_state(struct run *r, size_t step, const struct vec_state *want)
{
	const char *name = r->v->name;

	if (want->has_peers) {
		struct wg_device got, exp;

		memset(&got, 0, sizeof(got));
		assert_int_equal(fake_wg_get(r->w, IFNAME, &got), 0);
		exp = want->peers; /* sorted in place: the vector is ours */
		sort_device(&exp);
		sort_device(&got);
		if (!device_equal(&got, &exp)) {
			printf("%s: step %zu: peers differ\n", name, step);
			print_device("expected", &exp);
			print_device("got", &got);
			wg_device_free(&got);
			fail_msg("%s: step %zu: AllowedIPs differ (see above)", name,
				 step);
		}
		wg_device_free(&got);
	}
	if (want->has_routes) {
		struct route_set s;
		struct change *got, *exp;
		size_t n = 0;
		bool same;

		world_routes(r, &s);
		got = calloc(s.n + 1, sizeof(*got));
		exp = calloc(want->n_routes + 1, sizeof(*exp));
		assert_true(got && exp);
		for (size_t i = 0; i < s.n; i++) {
			const struct kroute *rt = &s.v[i];
			struct route_spec *sp = &got[n].route;

			if (rt->protocol != r->cur.route_protocol ||
			    rt->table != r->cur.routing_table)
				continue;
			got[n].op = CHANGE_ROUTE_ADD;
			sp->dst = rt->dst;
			sp->table = rt->table;
			sp->protocol = rt->protocol;
			sp->tos = rt->tos;
			sp->metric = rt->metric;
			if (rt->n_nexthops) {
				sp->gw = rt->nexthops[0].gw;
				sp->oif = rt->nexthops[0].oif;
			}
			n++;
		}
		for (size_t i = 0; i < want->n_routes; i++) {
			exp[i].op = CHANGE_ROUTE_ADD;
			exp[i].route = want->routes[i];
		}
		same = n == want->n_routes;
		for (size_t i = 0; same && i < n; i++) {
			same = false;
			for (size_t j = 0; j < n && !same; j++)
				same = spec_equal(&got[i].route, &exp[j].route);
		}
		if (!same) {
			printf("%s: step %zu: our routes differ (as route-add lines)\n",
			       name, step);
			print_changes("expected", exp, want->n_routes);
			print_changes("got", got, n);
		}
		free(got);
		free(exp);
		route_set_free(&s);
		if (!same)
			fail_msg("%s: step %zu: our routes differ (see above)", name,
				 step);
	}
	if (want->has_owned) {
		struct own_entry *own = NULL;
		size_t n = 0;
		bool same;

		assert_int_equal(rec_own_export(r->rec, &own, &n), 0);
		sort_items(own, n, sizeof(*own), cmp_own_v);
		sort_items(want->owned, want->n_owned, sizeof(*want->owned), cmp_own_v);
		same = n == want->n_owned;
		for (size_t i = 0; same && i < n; i++)
			same = !cmp_own_v(&own[i], &want->owned[i]) &&
			       !wg_key_cmp(&own[i].displaced, &want->owned[i].displaced);
		if (!same) {
			char k[WG_KEY_B64_LEN], p[PREFIX_STRLEN];

			printf("%s: step %zu: owned differs; got:\n", name, step);
			for (size_t i = 0; i < n; i++)
				printf("    - {peer: %s, prefix: %s}\n",
				       key_str(&own[i].peer, k),
				       prefix_format(&own[i].dst, p));
		}
		free(own);
		if (!same)
			fail_msg("%s: step %zu: owned prefixes differ", name, step);
	}
}

/* ---- one round ---- */

static void round_checked(struct run *r, size_t step, const struct vec_step *s)
{
	struct change_list plan = {0};
	struct sync_result res = {0};
	struct own_entry *own = NULL;
	size_t n_own = 0;
	struct wg_device dev;
	struct route_set routes;
	int ret;

	memset(&dev, 0, sizeof(dev));
	assert_int_equal(rec_own_export(r->rec, &own, &n_own), 0);
	assert_int_equal(fake_wg_get(r->w, IFNAME, &dev), 0);
	world_routes(r, &routes);

	ret = sync_round(r->rec, r->wgb, r->rtb, IFNAME, s->full, false, &plan, NULL,
			 &res);
	if (ret != 0 || res.failed)
		fail_msg("%s: step %zu: sync_round returned %d, %zu failed", r->v->name,
			 step, ret, res.failed);
	check_plan(r, &plan, own, n_own, &dev, &routes);
	check_changes(r->v->name, step, s, &plan);
	change_list_free(&plan);
	free(own);
	wg_device_free(&dev);
	route_set_free(&routes);
	check_state(r, step, &s->state);
}

/* After the last step: a second round (incremental, then full) changes
 * nothing, and neither does a fresh start on the final world with the final
 * ownership (docs/spec.md 10.4 and 10.5). */
static void check_converged(struct run *r)
{
	struct change_list plan = {0};
	struct sync_result res = {0};
	struct own_entry *own = NULL;
	size_t n_own = 0;
	struct rec *fresh = NULL;
	const char *what[] = {"a second incremental round", "a second full round",
			      "a fresh reconciler on the final world"};

	for (int i = 0; i < 3; i++) {
		struct rec *rec = r->rec;

		if (i == 2) {
			assert_int_equal(rec_own_export(r->rec, &own, &n_own), 0);
			fresh = start_rec(r, own, n_own);
			rec = fresh;
		}
		assert_int_equal(sync_round(rec, r->wgb, r->rtb, IFNAME, i > 0, true,
					    &plan, NULL, &res),
				 0);
		if (plan.n) {
			printf("%s: %s changes something\n", r->v->name, what[i]);
			print_changes("got", plan.v, plan.n);
			fail_msg("%s: %s changes something", r->v->name, what[i]);
		}
	}
	rec_free(fresh);
	free(own);
	change_list_free(&plan);
}

static void run_vector(void **state)
{
	const char *path = *state;
	struct vector v;
	struct run r;
	char err[512];

	memset(&r, 0, sizeof(r));
	if (vector_load(path, &v, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	r.v = &v;
	r.addrs = v.addrs;
	r.n_addrs = v.n_addrs;
	assert_int_equal(settings_copy(&r.cur, &v.settings), 0);
	build_world(&r);
	r.rec = start_rec(&r, v.owned, v.n_owned);
	for (size_t i = 0; i < v.n_steps; i++) {
		for (size_t j = 0; j < v.steps[i].n_events; j++)
			apply_event(&r, &v.steps[i].events[j]);
		round_checked(&r, i, &v.steps[i]);
	}
	check_converged(&r);
	rec_free(r.rec);
	r.wgb->destroy(r.wgb);
	r.rtb->destroy(r.rtb);
	fake_world_free(r.w);
	settings_free(&r.cur);
	vector_free(&v);
}

int main(void)
{
	glob_t g;
	char pattern[4096];
	int ret;

	snprintf(pattern, sizeof(pattern), "%s", src_path("tests/vectors/*.yaml"));
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		fprintf(stderr, "no vectors match %s (set WGRS_SRCDIR)\n", pattern);
		return 1;
	}
	{
		/* A VLA, so that cmocka_run_group_tests can count it. */
		struct CMUnitTest tests[g.gl_pathc];
		char *names[g.gl_pathc];

		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *base = strrchr(g.gl_pathv[i], '/');

			names[i] = strdup(base ? base + 1 : g.gl_pathv[i]);
			tests[i] = (struct CMUnitTest){
				.name = names[i],
				.test_func = run_vector,
				.initial_state = g.gl_pathv[i],
			};
		}
		ret = cmocka_run_group_tests(tests, NULL, NULL);
		for (size_t i = 0; i < g.gl_pathc; i++)
			free(names[i]);
	}
	globfree(&g);
	return ret;
}
