/* test_property.c: random event sequences against docs/spec.md section 10.
 *
 * Each sequence (fixed seeds) builds a fake world with one interface, then
 * applies random events in random batches: foreign routes (multipath, other
 * tables, other devices, blackholes, stale routes of our protocol), static
 * AllowedIPs set and removed by the operator, peers coming and going,
 * interface addresses and settings changing. After every batch:
 *  - the incremental pass and a full pass plan exactly the same changes;
 *  - no plan removes a static AllowedIP, takes one under static-wins, or
 *    touches a route that is not ours (invariants 1 and 2);
 *  - the round converges: a further full pass plans nothing (invariant 5).
 * At the end, the world equals what a fresh start on the final inputs (the
 * operator's static AllowedIPs, the peers, the foreign routes, the
 * settings) converges to (invariant 4), and a fresh reconciler on the final
 * world with the final ownership plans nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_fake.h"
#include "derive.h"
#include "reconcile.h"
#include "sync.h"
#include "testutil.h"

#define IFNAME	  "wg0"
#define IFINDEX	  5
#define OTHER_IF  7
#define PROTO	  98
#define N_KEYS	  4
#define SEQUENCES 1200
#define STEPS	  25

static uint64_t rng_state;
static bool trace; /* WGRS_PROPERTY_SEQ=N: run sequence N only, tracing it */

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *const dst_pool[] = {
	"2001:db8:1::/48",  "2001:db8:1:1::/64", "2001:db8:2::/48",
	"2001:db8:ff::/64", "2001:db8::/32",	 "::/0",
	"198.51.100.0/24",  "198.51.100.0/28",	 "203.0.113.0/24",
	"192.0.2.128/25",   "0.0.0.0/0",	 "10.237.0.0/16",
};
#define N_DST (sizeof(dst_pool) / sizeof(dst_pool[0]))

/* Gateways: explicit ones, cryptokey ones (inside the static prefixes
 * above), unknown ones; derived ones are added per key. */
static const char *const gw_pool[] = {
	"fe80::a",	  "fe80::b",	 "192.0.2.10", "198.51.100.5",
	"2001:db8:ff::5", "203.0.113.9", "fe80::99",   "2001:db8:1::1",
};
#define N_GW (sizeof(gw_pool) / sizeof(gw_pool[0]))

struct sim {
	struct fake_world *w;
	struct wg_backend *wgb;
	struct route_backend *rtb;
	struct rec *rec;
	struct settings s;
	struct wg_key keys[N_KEYS];
	bool present[N_KEYS];
	struct prefix gws[N_GW + 2 * N_KEYS];
	size_t n_gws;
	/* The operator's static AllowedIPs: static_of[d] = key index + 1. */
	int static_of[N_DST];
	struct prefix addrs[2];
	size_t n_addrs;
	unsigned seq;
	/* Peers added or removed in this batch: a peer removed and added back
	 * between two polls is invisible, so a batch does one or the other. */
	unsigned peers_flipped;
	/* Ownership as the state file's appended changes rebuild it. */
	struct own_entry *journal;
	size_t n_journal;
};

/* ---- settings ---- */

static void make_settings(struct sim *m, bool variant)
{
	struct peer_gateways *pg;

	assert_int_equal(settings_defaults(&m->s), 0);
	free(m->s.prefixes);
	m->s.prefixes = calloc(2, sizeof(*m->s.prefixes));
	assert_non_null(m->s.prefixes);
	m->s.prefixes[0] = P("fe80::/64");
	m->s.prefixes[1] = P("10.237.0.0/16");
	m->s.n_prefixes = 2;
	m->s.peers = pg = calloc(3, sizeof(*pg));
	assert_non_null(pg);
	m->s.n_peers = 3;
	/* key 0: fe80::a and 192.0.2.10; key 1: fe80::b; key 2: fe80::b in the
	 * variant (ambiguous with key 1), else nothing explicit. */
	pg[0].key = m->keys[0];
	pg[0].gateways = calloc(2, sizeof(struct prefix));
	assert_non_null(pg[0].gateways);
	pg[0].gateways[0] = A("fe80::a");
	pg[0].gateways[1] = A("192.0.2.10");
	pg[0].n_gateways = 2;
	pg[1].key = m->keys[1];
	pg[1].gateways = calloc(1, sizeof(struct prefix));
	assert_non_null(pg[1].gateways);
	pg[1].gateways[0] = A("fe80::b");
	pg[1].n_gateways = 1;
	pg[2].key = m->keys[2];
	pg[2].gateways = calloc(1, sizeof(struct prefix));
	assert_non_null(pg[2].gateways);
	pg[2].gateways[0] = A("fe80::b");
	pg[2].n_gateways = variant ? 1 : 0;
}

/* One random change of the settings (the caller reloads them). */
static void mutate_settings(struct sim *m)
{
	switch (pick(6)) {
	case 0:
		m->s.conflict = m->s.conflict == CONFLICT_STATIC_WINS
					? CONFLICT_LEARNED_WINS
					: CONFLICT_STATIC_WINS;
		break;
	case 1:
		m->s.max_learned_prefixes = m->s.max_learned_prefixes ? 0 : 1 + pick(3);
		break;
	case 2:
		m->s.install_routes = !m->s.install_routes;
		break;
	case 3:
		m->s.install_default_routes = !m->s.install_default_routes;
		break;
	case 4:
		if (m->s.n_learn_filter) {
			free(m->s.learn_filter);
			m->s.learn_filter = NULL;
			m->s.n_learn_filter = 0;
		} else {
			m->s.learn_filter = calloc(2, sizeof(*m->s.learn_filter));
			assert_non_null(m->s.learn_filter);
			m->s.learn_filter[0] = (struct filter_rule){
				false, P("2001:db8:1::/48"), 48, 128};
			m->s.learn_filter[1] =
				(struct filter_rule){true, P("::/0"), 0, 128};
			m->s.n_learn_filter = 2;
		}
		break;
	default:
		m->s.route_metric = m->s.route_metric ? 0 : 50;
		break;
	}
}

/* ---- the world ---- */

static int upsert_cb(const struct kroute *rt, void *ctx)
{
	return rec_route_upsert(ctx, rt);
}

static void feed_routes(struct sim *m, struct rec *rec)
{
	rec_routes_begin(rec);
	assert_int_equal(fake_route_walk(m->w, 0, upsert_cb, rec), 0);
	assert_int_equal(rec_routes_end(rec), 0);
}

static void feed_wg(struct fake_world *w, struct rec *rec)
{
	struct wg_device dev;

	assert_int_equal(fake_wg_get(w, IFNAME, &dev), 0);
	assert_int_equal(rec_set_wg(rec, &dev), 0);
	wg_device_free(&dev);
}

static size_t warnings;

/* Warnings are formatted in full, so their paths run too. */
static void count_warning(void *ctx, const char *msg)
{
	(void)ctx;
	assert_true(strlen(msg) > 10);
	warnings++;
}

static struct rec *start(struct sim *m, struct fake_world *w, const struct own_entry *own,
			 size_t n_own)
{
	struct rec *rec = rec_new(&m->s, IFINDEX);

	assert_non_null(rec);
	rec_set_warn(rec, count_warning, NULL);
	assert_int_equal(rec_set_addresses(rec, m->addrs, m->n_addrs), 0);
	assert_int_equal(rec_own_load(rec, own, n_own), 0);
	feed_wg(w, rec);
	rec_routes_begin(rec);
	assert_int_equal(fake_route_walk(w, 0, upsert_cb, rec), 0);
	assert_int_equal(rec_routes_end(rec), 0);
	return rec;
}

static struct prefix random_gw(struct sim *m, int dst_family)
{
	for (;;) {
		struct prefix g = m->gws[pick((unsigned)m->n_gws)];

		/* An IPv6 route cannot have an IPv4 gateway. */
		if (!(dst_family == AF_INET6 && g.family == AF_INET))
			return g;
	}
}

static void random_route(struct sim *m, struct kroute *rt, struct knexthop *hops)
{
	static const uint8_t protos[] = {3, 4, 12, 12, 186, PROTO};
	static const uint32_t metrics[] = {0, 100, 200};

	memset(rt, 0, sizeof(*rt));
	rt->dst = P(dst_pool[pick(N_DST)]);
	rt->table = pick(12) ? ROUTE_TABLE_MAIN : 100;
	rt->protocol = protos[pick(sizeof(protos))];
	rt->type = pick(10) ? ROUTE_TYPE_UNICAST : 6 /* blackhole */;
	rt->metric = metrics[pick(3)];
	rt->n_nexthops = rt->type == ROUTE_TYPE_UNICAST ? 1 + pick(3) / 2 : 0;
	for (size_t i = 0; i < rt->n_nexthops; i++) {
		hops[i].oif = pick(6) ? IFINDEX : OTHER_IF;
		hops[i].gw = pick(8) ? random_gw(m, rt->dst.family) : (struct prefix){0};
	}
	rt->nexthops = hops;
}

struct nth {
	size_t want, i;
	struct kroute copy;
	struct knexthop hops[4];
	bool found;
};

static int nth_route(const struct kroute *rt, void *ctx)
{
	struct nth *n = ctx;

	if (n->i++ != n->want)
		return 0;
	n->copy = *rt;
	n->copy.n_nexthops = rt->n_nexthops < 4 ? rt->n_nexthops : 4;
	if (n->copy.n_nexthops) /* memcpy must not see the NULL of no next hops */
		memcpy(n->hops, rt->nexthops, n->copy.n_nexthops * sizeof(*n->hops));
	n->copy.nexthops = n->hops;
	n->found = true;
	return 1;
}

static void event_route_add(struct sim *m)
{
	struct kroute rt;
	struct knexthop hops[4];

	random_route(m, &rt, hops);
	if (trace) {
		char d[PREFIX_STRLEN], g[PREFIX_STRLEN];

		printf("route add %s table %u proto %u type %u metric %u",
		       prefix_format(&rt.dst, d), rt.table, rt.protocol, rt.type,
		       rt.metric);
		for (size_t i = 0; i < rt.n_nexthops; i++)
			printf(" [%s dev %d]",
			       hops[i].gw.family ? addr_format(&hops[i].gw, g) : "-",
			       hops[i].oif);
		printf("\n");
	}
	assert_int_equal(fake_route_add(m->w, &rt), 0);
	assert_int_equal(rec_route_upsert(m->rec, &rt), 0);
}

static void event_route_del(struct sim *m)
{
	struct nth n = {0};

	if (!fake_route_count(m->w))
		return;
	n.want = pick((unsigned)fake_route_count(m->w));
	fake_route_walk(m->w, 0, nth_route, &n);
	assert_true(n.found);
	if (trace) {
		char d[PREFIX_STRLEN];

		printf("route del %s table %u metric %u\n", prefix_format(&n.copy.dst, d),
		       n.copy.table, n.copy.metric);
	}
	assert_int_equal(fake_route_del(m->w, &n.copy), 0);
	assert_int_equal(rec_route_remove(m->rec, &n.copy), 0);
}

static const struct wg_key *world_holder(struct sim *m, const struct prefix *p)
{
	static struct wg_key found;
	struct wg_device dev;
	bool hit = false;

	assert_int_equal(fake_wg_get(m->w, IFNAME, &dev), 0);
	for (size_t i = 0; i < dev.n_peers && !hit; i++)
		for (size_t j = 0; j < dev.peers[i].n_allowed && !hit; j++)
			if (prefix_equal(&dev.peers[i].allowed[j], p)) {
				found = dev.peers[i].key;
				hit = true;
			}
	wg_device_free(&dev);
	return hit ? &found : NULL;
}

static bool owned(const struct own_entry *v, size_t n, const struct wg_key *k,
		  const struct prefix *d);

static bool learned_by(struct sim *m, unsigned k, const struct prefix *p)
{
	struct own_entry *own;
	size_t n;
	bool hit;

	assert_int_equal(rec_own_export(m->rec, &own, &n), 0);
	hit = owned(own, n, &m->keys[k], p);
	free(own);
	return hit;
}

/* The operator adds a static AllowedIP (wg set: it moves from any peer). */
static bool event_allow(struct sim *m)
{
	unsigned k = pick(N_KEYS), d = pick(N_DST);
	struct prefix p = P(dst_pool[d]);
	const struct wg_key *h;

	if (!m->present[k])
		return false;
	/* Adding what the peer holds already changes nothing WireGuard shows:
	 * a learned prefix cannot become static that way (docs/design.md); nor
	 * can moving it away and back between two polls. */
	h = world_holder(m, &p);
	if ((h && !wg_key_cmp(h, &m->keys[k])) || learned_by(m, k, &p))
		return false;
	assert_int_equal(fake_wg_allow(m->w, IFNAME, &m->keys[k], &p), 0);
	if (trace)
		printf("allow key%u %s\n", k, dst_pool[d]);
	m->static_of[d] = (int)k + 1;
	return true;
}

/* The operator removes a static AllowedIP the peer holds now. */
static bool event_disallow(struct sim *m)
{
	unsigned d = pick(N_DST);
	const struct wg_key *h;
	struct prefix p = P(dst_pool[d]);
	int k = m->static_of[d] - 1;

	if (k < 0)
		return false;
	h = world_holder(m, &p);
	if (!h || wg_key_cmp(h, &m->keys[k]))
		return false;
	assert_int_equal(fake_wg_disallow(m->w, IFNAME, &m->keys[k], &p), 0);
	if (trace)
		printf("disallow key%d %s\n", k, dst_pool[d]);
	m->static_of[d] = 0;
	return true;
}

static bool event_peer(struct sim *m)
{
	unsigned k = pick(N_KEYS);

	if (m->peers_flipped & (1u << k))
		return false;
	m->peers_flipped |= 1u << k;
	if (trace)
		printf("peer %s key%u\n", m->present[k] ? "del" : "add", k);
	if (m->present[k]) {
		assert_int_equal(fake_wg_del_peer(m->w, IFNAME, &m->keys[k]), 0);
		m->present[k] = false;
		for (size_t d = 0; d < N_DST; d++)
			if (m->static_of[d] == (int)k + 1)
				m->static_of[d] = 0;
	} else {
		assert_int_equal(fake_wg_add_peer(m->w, IFNAME, &m->keys[k]), 0);
		m->present[k] = true;
	}
	return true;
}

static void event_addresses(struct sim *m)
{
	if (trace)
		printf("addresses %s\n",
		       m->n_addrs ? "none" : "192.0.2.1/24 2001:db8:ff::1/64");
	if (m->n_addrs) {
		m->n_addrs = 0;
	} else {
		assert_int_equal(prefix_parse_keep_host("192.0.2.1/24", &m->addrs[0]), 0);
		assert_int_equal(
			prefix_parse_keep_host("2001:db8:ff::1/64", &m->addrs[1]), 0);
		m->n_addrs = 2;
	}
	assert_int_equal(rec_set_addresses(m->rec, m->addrs, m->n_addrs), 0);
}

static void event_settings(struct sim *m)
{
	mutate_settings(m);
	if (trace)
		printf("settings: conflict %s max %u install %d default %d filter %zu "
		       "metric %u\n",
		       m->s.conflict ? "learned-wins" : "static-wins",
		       m->s.max_learned_prefixes, m->s.install_routes,
		       m->s.install_default_routes, m->s.n_learn_filter,
		       m->s.route_metric);
	assert_int_equal(rec_set_settings(m->rec, &m->s), 0);
	feed_routes(m, m->rec); /* as the daemon does after a reload */
}

/* ---- checks ---- */

static void fmt(const struct change *c, char *buf, size_t len)
{
	change_format(c, buf, len);
}

static bool same_changes(const struct change_list *a, const struct change_list *b)
{
	char x[256], y[256];

	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		fmt(&a->v[i], x, sizeof(x));
		fmt(&b->v[i], y, sizeof(y));
		if (strcmp(x, y))
			return false;
	}
	return true;
}

static void dump(const char *title, const struct change_list *l)
{
	char buf[256];

	printf("  %s (%zu):\n", title, l->n);
	for (size_t i = 0; i < l->n; i++)
		printf("    %s\n", (fmt(&l->v[i], buf, sizeof(buf)), buf));
}

static bool owned(const struct own_entry *v, size_t n, const struct wg_key *k,
		  const struct prefix *d)
{
	for (size_t i = 0; i < n; i++)
		if (!wg_key_cmp(&v[i].peer, k) && prefix_equal(&v[i].dst, d))
			return true;
	return false;
}

/* Invariants 1 and 2 on one plan, against the world it was made from. */
static void check_plan(struct sim *m, const struct change_list *l)
{
	struct own_entry *own;
	size_t n_own;
	char buf[256];

	assert_int_equal(rec_own_export(m->rec, &own, &n_own), 0);
	for (size_t i = 0; i < l->n; i++) {
		const struct change *c = &l->v[i];
		const struct wg_key *h;

		fmt(c, buf, sizeof(buf));
		switch (c->op) {
		case CHANGE_ALLOWED_DEL:
			if (!owned(own, n_own, &c->peer, &c->dst))
				fail_msg("seq %u: removes a static AllowedIP: %s", m->seq,
					 buf);
			break;
		case CHANGE_ALLOWED_ADD:
			h = world_holder(m, &c->dst);
			if (h && wg_key_cmp(h, &c->peer) &&
			    !owned(own, n_own, h, &c->dst) &&
			    m->s.conflict == CONFLICT_STATIC_WINS)
				fail_msg("seq %u: takes a static AllowedIP: %s", m->seq,
					 buf);
			break;
		default:
			if (c->route.protocol != PROTO || c->route.oif != IFINDEX ||
			    c->route.table != m->s.routing_table)
				fail_msg("seq %u: touches a route not ours: %s", m->seq,
					 buf);
			break;
		}
	}
	free(own);
}

static void apply(struct sim *m, const struct change_list *l)
{
	int *err = calloc(l->n + 1, sizeof(*err));

	assert_non_null(err);
	m->wgb->apply(m->wgb, IFNAME, l->v, l->n, err);
	m->rtb->apply(m->rtb, l->v, l->n, err);
	for (size_t i = 0; i < l->n; i++) {
		if (err[i])
			fail_msg("seq %u: change %zu failed in the fake: %d", m->seq, i,
				 err[i]);
		assert_int_equal(rec_commit(m->rec, &l->v[i]), 0);
	}
	free(err);
}

/* Incremental and full passes agree; apply until nothing is left. */
static void converge_checked(struct sim *m, unsigned step)
{
	for (int round = 0; round < 8; round++) {
		struct change_list inc = {0}, full = {0};

		assert_int_equal(rec_pass(m->rec, false, &inc), 0);
		assert_int_equal(rec_pass(m->rec, true, &full), 0);
		if (!same_changes(&inc, &full)) {
			printf("seq %u step %u round %d: incremental and full passes "
			       "differ\n",
			       m->seq, step, round);
			dump("incremental", &inc);
			dump("full", &full);
			fail_msg("seq %u: incremental != full", m->seq);
		}
		check_plan(m, &full);
		if (trace)
			dump("applied", &full);
		apply(m, &full);
		change_list_free(&inc);
		if (!full.n)
			return;
		change_list_free(&full);
	}
	fail_msg("seq %u step %u: no convergence in 8 rounds", m->seq, step);
}

static int cmp_own_dst(const void *a, const void *b)
{
	return prefix_cmp(&((const struct own_entry *)a)->dst,
			  &((const struct own_entry *)b)->dst);
}

/* The changes rec_own_take_changes hands out, applied to the ownership as
 * it was, give the ownership as it is (what the state file relies on). */
static void check_own_journal(struct sim *m)
{
	struct own_change *ch;
	struct own_entry *own;
	size_t n, n_own;

	assert_int_equal(rec_own_take_changes(m->rec, &ch, &n), 0);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		for (size_t j = 0; j < m->n_journal; j++)
			if (!prefix_equal(&m->journal[j].dst, &ch[i].e.dst))
				m->journal[k++] = m->journal[j];
		m->n_journal = k;
		if (ch[i].owned) {
			m->journal = realloc(m->journal, (k + 1) * sizeof(*m->journal));
			assert_non_null(m->journal);
			m->journal[m->n_journal++] = ch[i].e;
		}
	}
	free(ch);
	assert_int_equal(rec_own_export(m->rec, &own, &n_own), 0);
	sort_items(own, n_own, sizeof(*own), cmp_own_dst);
	sort_items(m->journal, m->n_journal, sizeof(*m->journal), cmp_own_dst);
	if (n_own != m->n_journal)
		fail_msg("seq %u: %zu owned, the changes rebuild %zu", m->seq, n_own,
			 m->n_journal);
	for (size_t i = 0; i < n_own; i++)
		if (memcmp(&own[i], &m->journal[i], sizeof(own[i])))
			fail_msg("seq %u: the changes rebuild another ownership", m->seq);
	free(own);
	/* Nothing new: nothing handed out. */
	assert_int_equal(rec_own_take_changes(m->rec, &ch, &n), 0);
	assert_int_equal(n, 0);
	free(ch);
}

/* After convergence the device holds what the model says: a poll may skip
 * its diff (rec_wg_unchanged), and a diff would indeed change nothing. */
static void check_fingerprint(struct sim *m)
{
	struct wg_device dev;

	assert_int_equal(fake_wg_get(m->w, IFNAME, &dev), 0);
	if (!rec_wg_unchanged(m->rec, &dev))
		fail_msg("seq %u: the model's fingerprint differs from the device",
			 m->seq);
	wg_device_free(&dev);
}

static void expect_no_plan(struct sim *m, struct rec *rec, const char *what)
{
	struct change_list l = {0};

	assert_int_equal(rec_pass(rec, true, &l), 0);
	if (l.n) {
		printf("seq %u: %s plans changes\n", m->seq, what);
		dump("plan", &l);
		fail_msg("seq %u: %s plans changes", m->seq, what);
	}
	change_list_free(&l);
}

/* ---- comparing two worlds ---- */

struct our_routes {
	char lines[256][128];
	size_t n;
};

static int collect_ours(const struct kroute *rt, void *ctx)
{
	struct our_routes *o = ctx;
	char d[PREFIX_STRLEN], g[PREFIX_STRLEN];

	if (rt->protocol != PROTO || rt->n_nexthops != 1 ||
	    rt->nexthops[0].oif != IFINDEX)
		return 0;
	assert_true(o->n < 256);
	snprintf(o->lines[o->n++], 128, "%s via %s table %u metric %u",
		 prefix_format(&rt->dst, d),
		 rt->nexthops[0].gw.family ? addr_format(&rt->nexthops[0].gw, g) : "-",
		 rt->table, rt->metric);
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int cmp_peer(const void *a, const void *b)
{
	return wg_key_cmp(&((const struct wg_peer *)a)->key,
			  &((const struct wg_peer *)b)->key);
}

/* AllowedIPs per peer (by key) and our routes: one text to compare. */
static void describe_world(struct fake_world *w, char *out, size_t len)
{
	struct wg_device dev;
	struct our_routes o = {0};
	size_t used = 0;
	char k[WG_KEY_B64_LEN], p[PREFIX_STRLEN];

	assert_int_equal(fake_wg_get(w, IFNAME, &dev), 0);
	sort_items(dev.peers, dev.n_peers, sizeof(*dev.peers), cmp_peer);
	for (size_t i = 0; i < dev.n_peers; i++) {
		used += (size_t)snprintf(out + used, len - used, "peer %s:",
					 wg_key_to_base64(&dev.peers[i].key, k));
		for (size_t j = 0; j < dev.peers[i].n_allowed; j++)
			used += (size_t)snprintf(
				out + used, len - used, " %s",
				prefix_format(&dev.peers[i].allowed[j], p));
		used += (size_t)snprintf(out + used, len - used, "\n");
	}
	wg_device_free(&dev);
	fake_route_walk(w, 0, collect_ours, &o);
	sort_items(o.lines, o.n, sizeof(o.lines[0]), cmp_line);
	for (size_t i = 0; i < o.n; i++)
		used += (size_t)snprintf(out + used, len - used, "route %s\n",
					 o.lines[i]);
}

/* Every route but ours (protocol P through the interface in table T). */
static int copy_foreign(const struct kroute *rt, void *ctx)
{
	bool ours = rt->table == ROUTE_TABLE_MAIN && rt->protocol == PROTO &&
		    rt->type == ROUTE_TYPE_UNICAST && rt->n_nexthops > 0;

	for (size_t i = 0; i < rt->n_nexthops; i++)
		ours = ours && rt->nexthops[i].oif == IFINDEX;
	return ours ? 0 : fake_route_add(ctx, rt);
}

/* Invariant 4: a fresh start on the final inputs ends in the same world. */
static void check_fresh_inputs(struct sim *m)
{
	struct fake_world *w2 = fake_world_new();
	struct wg_backend *wgb;
	struct route_backend *rtb;
	struct rec *rec;
	static char a[16384], b[16384];
	struct sync_result res;
	int round;

	assert_non_null(w2);
	assert_int_equal(fake_wg_add_device(w2, IFNAME, NULL), 0);
	for (unsigned k = 0; k < N_KEYS; k++)
		if (m->present[k])
			assert_int_equal(fake_wg_add_peer(w2, IFNAME, &m->keys[k]), 0);
	for (size_t d = 0; d < N_DST; d++) {
		struct prefix p = P(dst_pool[d]);

		if (m->static_of[d])
			assert_int_equal(fake_wg_allow(w2, IFNAME,
						       &m->keys[m->static_of[d] - 1], &p),
					 0);
	}
	assert_int_equal(fake_route_walk(m->w, 0, copy_foreign, w2), 0);
	wgb = fake_wg_backend(w2);
	rtb = fake_route_backend(w2);
	rec = start(m, w2, NULL, 0);
	for (round = 0; round < 8; round++) {
		struct change_list l = {0};

		assert_int_equal(sync_round(rec, wgb, rtb, IFNAME, round == 0, false, &l,
					    NULL, &res),
				 0);
		if (trace)
			dump("fresh start applied", &l);
		change_list_free(&l);
		if (!res.planned)
			break;
	}
	describe_world(m->w, a, sizeof(a));
	describe_world(w2, b, sizeof(b));
	if (strcmp(a, b)) {
		printf("seq %u: the world differs from a fresh start on the same inputs\n"
		       "--- after the sequence:\n%s--- fresh start:\n%s",
		       m->seq, a, b);
		fail_msg("seq %u: invariant 4 broken", m->seq);
	}
	rec_free(rec);
	wgb->destroy(wgb);
	rtb->destroy(rtb);
	fake_world_free(w2);
}

/* ---- one sequence ---- */

static void run_sequence(unsigned seq)
{
	struct sim m;
	struct own_entry *own;
	size_t n_own;
	struct rec *fresh;

	memset(&m, 0, sizeof(m));
	m.seq = seq;
	rng_state = 0x5eed0000ULL + seq;
	for (unsigned k = 0; k < N_KEYS; k++)
		m.keys[k] = key_n(1000 + k);
	make_settings(&m, pick(4) == 0);
	if (pick(2))
		m.s.conflict = CONFLICT_LEARNED_WINS;
	if (trace)
		for (unsigned k = 0; k < N_KEYS; k++) {
			char b64[WG_KEY_B64_LEN];

			printf("key%u = %s\n", k, wg_key_to_base64(&m.keys[k], b64));
		}
	if (trace)
		printf("conflict %s, ambiguous variant %zu\n",
		       m.s.conflict ? "learned-wins" : "static-wins",
		       m.s.peers[2].n_gateways);
	for (size_t i = 0; i < N_GW; i++)
		m.gws[m.n_gws++] = A(gw_pool[i]);
	for (unsigned k = 0; k < N_KEYS; k++)
		for (size_t i = 0; i < m.s.n_prefixes; i++)
			assert_int_equal(derive_address(&m.keys[k], &m.s.prefixes[i],
							&m.gws[m.n_gws++]),
					 0);
	m.w = fake_world_new();
	assert_non_null(m.w);
	assert_int_equal(fake_wg_add_device(m.w, IFNAME, NULL), 0);
	m.wgb = fake_wg_backend(m.w);
	m.rtb = fake_route_backend(m.w);
	m.rec = start(&m, m.w, NULL, 0);

	for (unsigned step = 0; step < STEPS; step++) {
		unsigned n = 1 + pick(3);
		bool wg_changed = false;

		m.peers_flipped = 0;
		for (unsigned e = 0; e < n; e++) {
			unsigned kind = pick(100);

			if (kind < 35)
				event_route_add(&m);
			else if (kind < 55)
				event_route_del(&m);
			else if (kind < 72)
				wg_changed |= event_allow(&m);
			else if (kind < 80)
				wg_changed |= event_disallow(&m);
			else if (kind < 90)
				wg_changed |= event_peer(&m);
			else if (kind < 95)
				event_addresses(&m);
			else
				event_settings(&m);
		}
		if (trace)
			printf("-- step %u\n", step);
		if (wg_changed)
			feed_wg(m.w, m.rec);
		converge_checked(&m, step);
		expect_no_plan(&m, m.rec, "a second pass");
		check_own_journal(&m);
		check_fingerprint(&m);
	}

	assert_int_equal(rec_own_export(m.rec, &own, &n_own), 0);
	fresh = start(&m, m.w, own, n_own);
	expect_no_plan(&m, fresh, "a fresh reconciler with the final ownership");
	rec_free(fresh);
	free(own);
	check_fresh_inputs(&m);

	rec_free(m.rec);
	free(m.journal);
	m.wgb->destroy(m.wgb);
	m.rtb->destroy(m.rtb);
	fake_world_free(m.w);
	settings_free(&m.s);
}

static void test_random_sequences(void **state)
{
	const char *only = getenv("WGRS_PROPERTY_SEQ");

	(void)state;
	if (only) {
		trace = true;
		run_sequence((unsigned)atoi(only));
		return;
	}
	for (unsigned seq = 0; seq < SEQUENCES; seq++)
		run_sequence(seq);
	/* Conflicts, ambiguities and limits do occur in these sequences. */
	assert_true(warnings > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sequences),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
