/* bench_core.c: the speed and memory of the core, in memory (no kernel).
 *
 * For each N: 1000 peers on one interface, N foreign routes (half IPv6, half
 * IPv4 via an IPv6 next hop) spread over the peers through their derived
 * link-local gateways. Reports the time to feed the routes, the first full
 * pass (which plans N AllowedIP additions), a full pass after convergence,
 * the single-event incremental pass (one route added or removed, its pass,
 * median and 99th percentile over 1000 events), and the heap bytes per
 * prefix the reconciler holds.
 *
 * usage: bench_core [N...]      (default: 10000 100000 1000000) */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_fake.h"
#include "bench_util.h"
#include "derive.h"
#include "reconcile.h"

#define IFNAME	"wg0"
#define IFINDEX 5
#define PEERS	1000
#define EVENTS	1000

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static struct wg_key peer_key(unsigned i)
{
	struct wg_key k;

	memset(&k, 0x5a, sizeof(k));
	memcpy(k.b, &i, sizeof(i));
	return k;
}

/* Destination i: 2001:db8:HHHH:LLLL::/64 for even i, 10.x.y.z/32 for odd. */
static struct prefix dest(unsigned i)
{
	struct prefix p;

	memset(&p, 0, sizeof(p));
	if (i % 2 == 0) {
		unsigned v = i / 2;

		p.family = AF_INET6;
		p.len = 64;
		p.addr[0] = 0x20;
		p.addr[1] = 0x01;
		p.addr[2] = 0x0d;
		p.addr[3] = 0xb8;
		p.addr[4] = (uint8_t)(v >> 24);
		p.addr[5] = (uint8_t)(v >> 16);
		p.addr[6] = (uint8_t)(v >> 8);
		p.addr[7] = (uint8_t)v;
	} else {
		unsigned v = i / 2;

		p.family = AF_INET;
		p.len = 32;
		p.addr[0] = 10;
		p.addr[1] = (uint8_t)(v >> 16);
		p.addr[2] = (uint8_t)(v >> 8);
		p.addr[3] = (uint8_t)v;
	}
	return p;
}

struct bench {
	struct settings s;
	struct prefix gw[PEERS];
	struct fake_world *w;
	struct wg_backend *wgb;
	struct rec *rec;
};

static void route_of(const struct bench *b, unsigned i, struct kroute *rt,
		     struct knexthop *hop)
{
	memset(rt, 0, sizeof(*rt));
	hop->gw = b->gw[i % PEERS];
	hop->oif = IFINDEX;
	rt->dst = dest(i);
	rt->table = ROUTE_TABLE_MAIN;
	rt->protocol = 12; /* bird */
	rt->type = ROUTE_TYPE_UNICAST;
	rt->metric = 32;
	rt->n_nexthops = 1;
	rt->nexthops = hop;
}

static int fail(const char *what)
{
	fprintf(stderr, "bench_core: %s failed\n", what);
	exit(1);
}

/* Applies the AllowedIP changes to the fake, then commits them; returns
 * the seconds the commits took (the fake's own work is not ours). */
static double apply(struct bench *b, const struct change_list *l)
{
	int *err = calloc(l->n + 1, sizeof(*err));
	double t0;

	if (!err)
		fail("calloc");
	b->wgb->apply(b->wgb, IFNAME, l->v, l->n, err);
	t0 = now();
	for (size_t i = 0; i < l->n; i++)
		if (err[i] || rec_commit(b->rec, &l->v[i]))
			fail("apply");
	t0 = now() - t0;
	free(err);
	return t0;
}

static void run(unsigned n)
{
	struct bench b;
	struct wg_device dev;
	struct change_list l = {0};
	struct kroute rt;
	struct knexthop hop;
	struct prefix ll = {AF_INET6, 64, {0xfe, 0x80}};
	static double ev[EVENTS];
	size_t heap0, heap1;
	double t0, t_feed, t_full, t_idle, t_apply;
	struct rec_stats st;

	memset(&b, 0, sizeof(b));
	if (settings_defaults(&b.s))
		fail("settings");
	b.s.prefixes[0] = ll; /* derived gateways: link-local */
	b.s.n_prefixes = 1;
	b.w = fake_world_new();
	if (!b.w || fake_wg_add_device(b.w, IFNAME, NULL))
		fail("world");
	for (unsigned p = 0; p < PEERS; p++) {
		struct wg_key k = peer_key(p);

		if (fake_wg_add_peer(b.w, IFNAME, &k) ||
		    derive_address(&k, &ll, &b.gw[p]))
			fail("peer");
	}
	b.wgb = fake_wg_backend(b.w);

	heap0 = heap_used();
	b.rec = rec_new(&b.s, IFINDEX);
	if (!b.rec || fake_wg_get(b.w, IFNAME, &dev) || rec_set_wg(b.rec, &dev))
		fail("start");
	wg_device_free(&dev);

	t0 = now();
	rec_routes_begin(b.rec);
	for (unsigned i = 0; i < n; i++) {
		route_of(&b, i, &rt, &hop);
		if (rec_route_upsert(b.rec, &rt))
			fail("upsert");
	}
	rec_routes_end(b.rec);
	t_feed = now() - t0;

	t0 = now();
	if (rec_pass(b.rec, true, &l) || l.n != n)
		fail("first full pass");
	t_full = now() - t0;
	/* The model, not the plan (committing adds nothing to the model; the
	 * fake device grows then, which is not ours to count). */
	heap1 = heap_used() - l.cap * sizeof(*l.v);
	t_apply = apply(&b, &l);
	change_list_clear(&l);

	t0 = now();
	if (rec_pass(b.rec, true, &l) || l.n)
		fail("idle full pass");
	t_idle = now() - t0;

	/* One event at a time: a new route appears (learn), or goes (withdraw). */
	for (unsigned e = 0; e < EVENTS; e++) {
		unsigned i = n + e / 2;
		double t;

		route_of(&b, i, &rt, &hop);
		t = now();
		if ((e % 2 == 0 ? rec_route_upsert(b.rec, &rt)
				: rec_route_remove(b.rec, &rt)) ||
		    rec_pass(b.rec, false, &l) || l.n != 1)
			fail("event");
		ev[e] = now() - t;
		apply(&b, &l);
		change_list_clear(&l);
	}
	qsort(ev, EVENTS, sizeof(ev[0]), cmp_double);
	rec_get_stats(b.rec, &st);

	printf("| %7u | %7.1f | %7.1f | %7.1f | %7.1f | %6.2f | %6.2f | %5.0f | %5.0f "
	       "|\n",
	       n, t_feed * 1e3, t_full * 1e3, t_apply * 1e3, t_idle * 1e3,
	       ev[EVENTS / 2] * 1e6, ev[EVENTS * 99 / 100] * 1e6,
	       (double)(heap1 - heap0) / n, (double)rec_memory(b.rec) / n);
	fflush(stdout);
	if (st.learned != n)
		fail("learned count");

	change_list_free(&l);
	rec_free(b.rec);
	b.wgb->destroy(b.wgb);
	fake_world_free(b.w);
	settings_free(&b.s);
}

int main(int argc, char **argv)
{
	static const unsigned defaults[] = {10000, 100000, 1000000};

	printf("| routes | feed ms | full pass ms | commit ms | idle full pass ms | "
	       "event p50 us | event p99 us | heap B/prefix | model B/prefix |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			run((unsigned)strtoul(argv[i], NULL, 10));
	else
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			run(defaults[i]);
	return 0;
}
