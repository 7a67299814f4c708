/* test_nl_route_live: the rtnetlink route backend against this kernel.
 *
 * Needs root: every test moves this process into a network namespace of
 * its own (unshare(CLONE_NEWNET)) with a veth pair va/vb, and changes
 * routes there with ip(8) and through the backend. The namespaces are
 * anonymous: they go with the last socket and process in them, so nothing
 * is left behind, whatever the outcome. Without root (or without
 * namespaces) the test is skipped (exit 77) with a message.
 * Events are waited for by polling the event socket with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "nl_route.h"
#include "testutil.h"

#define WAIT_MS	   5000
#define PROTO_OURS 98

static const char *ip_path;

/* ---------------------------------------------------------------------- */
/* Running ip(8)                                                           */

static const char *find_ip(void)
{
	static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip",
					    "/bin/ip"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* Runs ip with the words of the formatted command line (no shell); the
 * output goes to out (size bytes, may be NULL). Returns the exit status. */
#define ip_run(out, size, ...) run_program(ip_path, out, size, __VA_ARGS__)

#define IP(...)                                                                          \
	do {                                                                             \
		char out_[2048];                                                         \
		if (ip_run(out_, sizeof(out_), __VA_ARGS__) != 0)                        \
			fail_msg("ip failed: %s", out_);                                 \
	} while (0)

/* ip -batch with the lines in text. */
static void ip_batch(const char *text)
{
	char path[] = "/tmp/wgrs-nl-live-XXXXXX", out[2048];
	int fd = mkstemp(path);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	int r = ip_run(out, sizeof(out), "-batch %s", path);
	unlink(path);
	if (r != 0)
		fail_msg("ip -batch failed: %s", out);
}

/* ---------------------------------------------------------------------- */
/* A namespace per test                                                    */

struct live {
	struct nl_route *nr;
	struct route_backend *be;
	int va, vb;
};

static int setup_ns(void **state)
{
	struct live *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	if (unshare(CLONE_NEWNET) != 0)
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	IP("link set lo up");
	IP("link add va type veth peer name vb");
	IP("link set va addrgenmode none");
	IP("link set vb addrgenmode none");
	IP("link set va up");
	IP("link set vb up");
	IP("addr add 192.0.2.1/24 dev va");
	IP("addr add 2001:db8:1::1/64 dev va nodad");
	IP("addr add fe80::1/64 dev va nodad");
	l->va = (int)if_nametoindex("va");
	l->vb = (int)if_nametoindex("vb");
	assert_true(l->va > 0 && l->vb > 0);
	l->nr = nl_route_new();
	assert_non_null(l->nr);
	l->be = nl_route_backend(l->nr);
	*state = l;
	return 0;
}

static int teardown_ns(void **state)
{
	struct live *l = *state;

	if (l) {
		if (l->be)
			l->be->destroy(l->be);
		free(l);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Collecting dumps and events                                             */

struct route_copy {
	bool removed;
	struct kroute rt;
};

struct link_copy {
	bool removed;
	struct nl_link link;
};

struct addr_copy {
	bool removed;
	struct nl_addr addr;
};

struct record {
	size_t n_routes, n_links, n_addrs, n_nexthops;
	struct route_copy *routes;
	struct link_copy *links;
	struct addr_copy *addrs;
};

static void record_route(struct record *r, bool removed, const struct kroute *rt)
{
	struct route_copy *c;

	r->routes = realloc(r->routes, (r->n_routes + 1) * sizeof(*r->routes));
	assert_non_null(r->routes);
	c = &r->routes[r->n_routes++];
	c->removed = removed;
	c->rt = *rt;
	c->rt.nexthops = NULL;
	if (rt->n_nexthops) {
		c->rt.nexthops = malloc(rt->n_nexthops * sizeof(*rt->nexthops));
		assert_non_null(c->rt.nexthops);
		memcpy(c->rt.nexthops, rt->nexthops,
		       rt->n_nexthops * sizeof(*rt->nexthops));
	}
}

static void record_clear(struct record *r)
{
	for (size_t i = 0; i < r->n_routes; i++)
		free(r->routes[i].rt.nexthops);
	free(r->routes);
	free(r->links);
	free(r->addrs);
	memset(r, 0, sizeof(*r));
}

static int on_dump_route(const struct kroute *rt, void *ctx)
{
	record_route(ctx, false, rt);
	return 0;
}

static int on_route(void *ctx, bool removed, const struct kroute *rt)
{
	record_route(ctx, removed, rt);
	return 0;
}

static int on_link(void *ctx, bool removed, const struct nl_link *link)
{
	struct record *r = ctx;

	r->links = realloc(r->links, (r->n_links + 1) * sizeof(*r->links));
	assert_non_null(r->links);
	r->links[r->n_links++] = (struct link_copy){removed, *link};
	return 0;
}

static int on_addr(void *ctx, bool removed, const struct nl_addr *addr)
{
	struct record *r = ctx;

	r->addrs = realloc(r->addrs, (r->n_addrs + 1) * sizeof(*r->addrs));
	assert_non_null(r->addrs);
	r->addrs[r->n_addrs++] = (struct addr_copy){removed, *addr};
	return 0;
}

static int on_nexthop(void *ctx, bool removed, const struct nl_nexthop *nh)
{
	struct record *r = ctx;

	(void)removed;
	(void)nh;
	r->n_nexthops++;
	return 0;
}

static void dump_all(struct live *l, uint32_t table, struct record *r)
{
	record_clear(r);
	assert_int_equal(l->be->dump(l->be, table, on_dump_route, r, NULL), 0);
}

/* The last entry about dst at or after index from (NULL: none). With
 * removed_too false, only a route that is there. */
static const struct route_copy *last_route(const struct record *r, size_t from,
					   const char *dst, uint32_t table)
{
	struct prefix p = P(dst);
	const struct route_copy *found = NULL;

	for (size_t i = from; i < r->n_routes; i++)
		if (prefix_equal(&r->routes[i].rt.dst, &p) &&
		    (table == 0 || r->routes[i].rt.table == table))
			found = &r->routes[i];
	return found;
}

static size_t count_table(const struct record *r, uint32_t table, uint8_t proto)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_routes; i++)
		n += r->routes[i].rt.table == table && r->routes[i].rt.protocol == proto;
	return n;
}

static void assert_hops(const struct kroute *rt, int oif, const char *const *gws,
			size_t n)
{
	char buf[PREFIX_STRLEN];

	if (rt->n_nexthops != n)
		fail_msg("%s: %zu next hops, want %zu", prefix_format(&rt->dst, buf),
			 rt->n_nexthops, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rt->nexthops[i].oif, oif);
		if (!gws[i]) {
			assert_int_equal(rt->nexthops[i].gw.family, 0);
			continue;
		}
		struct prefix want = A(gws[i]);
		if (!prefix_equal(&rt->nexthops[i].gw, &want))
			fail_msg("%s hop %zu: %s, want %s", prefix_format(&rt->dst, buf),
				 i, addr_format(&rt->nexthops[i].gw, buf), gws[i]);
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

typedef bool (*done_fn)(const struct record *r, const void *arg);

/* Drains events into r until done says so, or fails at the deadline. */
static void wait_events(struct live *l, struct record *r, done_fn done, const void *arg,
			const char *what)
{
	struct nl_route_handlers h = {on_route, on_link, on_addr, on_nexthop, r};
	long deadline = now_ms() + WAIT_MS;
	struct pollfd p = {.fd = nl_route_events_fd(l->nr), .events = POLLIN};

	assert_true(p.fd >= 0);
	for (;;) {
		int n = nl_route_events_drain(l->nr, &h);

		if (n < 0)
			fail_msg("waiting for %s: drain: %s", what, strerror(-n));
		if (done(r, arg))
			return;
		long left = deadline - now_ms();
		if (left <= 0)
			fail_msg("no %s within %d ms", what, WAIT_MS);
		poll(&p, 1, (int)left);
	}
}

/* Waiting for the last word on dst (after index from) to be: there with
 * exactly the hops gws through oif (gws NULL: any hops), or removed. */
struct route_wait {
	size_t from;
	const char *dst;
	bool removed;
	int oif;
	const char *const *gws;
	size_t n_hops;
};

static bool hops_are(const struct kroute *rt, int oif, const char *const *gws, size_t n)
{
	if (rt->n_nexthops != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct prefix want = gws[i] ? A(gws[i]) : (struct prefix){0};

		if (rt->nexthops[i].oif != oif ||
		    rt->nexthops[i].gw.family != want.family ||
		    (want.family && !prefix_equal(&rt->nexthops[i].gw, &want)))
			return false;
	}
	return true;
}

static bool route_seen(const struct record *r, const void *arg)
{
	const struct route_wait *w = arg;
	const struct route_copy *c = last_route(r, w->from, w->dst, 0);

	return c && c->removed == w->removed &&
	       (!w->gws || hops_are(&c->rt, w->oif, w->gws, w->n_hops));
}

static const struct route_copy *wait_route(struct live *l, struct record *r, size_t from,
					   const char *dst, const char *const *gws,
					   size_t n_hops)
{
	struct route_wait w = {from, dst, false, l->va, gws, n_hops};
	char what[128];

	snprintf(what, sizeof(what), "route %s with %zu hops", dst, n_hops);
	wait_events(l, r, route_seen, &w, what);
	return last_route(r, from, dst, 0);
}

static const struct route_copy *wait_removal(struct live *l, struct record *r,
					     size_t from, const char *dst)
{
	struct route_wait w = {from, dst, true, 0, NULL, 0};
	char what[128];

	snprintf(what, sizeof(what), "removal of %s", dst);
	wait_events(l, r, route_seen, &w, what);
	return last_route(r, from, dst, 0);
}

/* ---------------------------------------------------------------------- */
/* Dumps                                                                   */

static void test_dump_both_families(void **state)
{
	struct live *l = *state;
	struct record r = {0};
	const struct route_copy *c;
	static const char *const gw2[] = {"192.0.2.2"};
	static const char *const ll2[] = {"fe80::2"};
	static const char *const mp6[] = {"fe80::2", "fe80::3"};
	static const char *const mp4[] = {"192.0.2.2", "fe80::3"};
	static const char *const none[] = {NULL};

	IP("route add 198.51.100.0/24 via 192.0.2.2 dev va proto static metric 100");
	IP("route add 203.0.113.0/24 via inet6 fe80::2 dev va proto bird");
	IP("route add 198.51.100.128/25 proto 98 nexthop via 192.0.2.2 dev va nexthop "
	   "via "
	   "inet6 fe80::3 dev va");
	IP("route add 198.51.100.64/26 via 192.0.2.2 dev va table 1000 proto 98 metric "
	   "7");
	IP("-6 route add 2001:db8:100::/48 via fe80::2 dev va proto static metric 512");
	IP("-6 route add 2001:db8:200::/48 proto bird nexthop via fe80::2 dev va nexthop "
	   "via "
	   "fe80::3 dev va");
	IP("-6 route add 2001:db8:1000::/64 dev va table 1000 proto 98");
	IP("route add blackhole 203.0.113.64/26 table 1000");

	dump_all(l, 0, &r);
	c = last_route(&r, 0, "198.51.100.0/24", RT_TABLE_MAIN);
	assert_non_null(c);
	assert_int_equal(c->rt.protocol, RTPROT_STATIC);
	assert_int_equal(c->rt.metric, 100);
	assert_int_equal(c->rt.type, RTN_UNICAST);
	assert_hops(&c->rt, l->va, gw2, 1);
	c = last_route(&r, 0, "203.0.113.0/24", RT_TABLE_MAIN);
	assert_non_null(c);
	assert_hops(&c->rt, l->va, ll2, 1);
	c = last_route(&r, 0, "198.51.100.128/25", RT_TABLE_MAIN);
	assert_non_null(c);
	assert_hops(&c->rt, l->va, mp4, 2);
	c = last_route(&r, 0, "198.51.100.64/26", 1000);
	assert_non_null(c);
	assert_int_equal(c->rt.metric, 7);
	c = last_route(&r, 0, "2001:db8:100::/48", RT_TABLE_MAIN);
	assert_non_null(c);
	assert_int_equal(c->rt.metric, 512);
	assert_hops(&c->rt, l->va, ll2, 1);
	c = last_route(&r, 0, "2001:db8:200::/48", RT_TABLE_MAIN);
	assert_non_null(c);
	assert_hops(&c->rt, l->va, mp6, 2);
	c = last_route(&r, 0, "2001:db8:1000::/64", 1000);
	assert_non_null(c);
	assert_hops(&c->rt, l->va, none, 1);
	c = last_route(&r, 0, "203.0.113.64/26", 1000);
	assert_non_null(c);
	assert_int_equal(c->rt.type, RTN_BLACKHOLE);
	/* The kernel's own routes are there too (table local). */
	assert_non_null(last_route(&r, 0, "192.0.2.1/32", RT_TABLE_LOCAL));

	/* One table only. */
	dump_all(l, 1000, &r);
	assert_int_equal(r.n_routes, 3);
	for (size_t i = 0; i < r.n_routes; i++)
		assert_int_equal(r.routes[i].rt.table, 1000);
	record_clear(&r);
}

static int count_link(const struct nl_link *link, void *ctx)
{
	struct record *r = ctx;

	return on_link(r, false, link);
}

static int count_addr(const struct nl_addr *addr, void *ctx)
{
	return on_addr(ctx, false, addr);
}

static int stop_at_first(const struct kroute *rt, void *ctx)
{
	(void)rt;
	(*(int *)ctx)++;
	return 42;
}

static void test_dump_links_addrs(void **state)
{
	struct live *l = *state;
	struct record r = {0};
	bool va = false, vb = false, lo = false, v4 = false, v6 = false;
	char buf[PREFIX_STRLEN];
	int calls = 0;

	assert_int_equal(nl_route_dump_links(l->nr, count_link, &r), 0);
	for (size_t i = 0; i < r.n_links; i++) {
		const struct nl_link *k = &r.links[i].link;

		if (!strcmp(k->name, "va")) {
			va = true;
			assert_int_equal(k->ifindex, l->va);
			assert_string_equal(k->kind, "veth");
			assert_true(k->up);
		}
		vb |= !strcmp(k->name, "vb") && k->ifindex == l->vb;
		lo |= !strcmp(k->name, "lo") && k->ifindex == 1;
	}
	/* (A kernel with tunnel modules loaded adds its fallback devices.) */
	assert_true(va && vb && lo);
	assert_int_equal(nl_route_dump_addrs(l->nr, count_addr, &r), 0);
	for (size_t i = 0; i < r.n_addrs; i++) {
		prefix_format(&r.addrs[i].addr.addr, buf);
		if (r.addrs[i].addr.ifindex != l->va)
			continue;
		v4 |= !strcmp(buf, "192.0.2.1/24");
		v6 |= !strcmp(buf, "2001:db8:1::1/64");
	}
	assert_true(v4 && v6);
	record_clear(&r);

	/* A callback's non-zero result stops the dump and is returned; the
	 * socket stays usable. */
	assert_int_equal(l->be->dump(l->be, 0, stop_at_first, &calls, NULL), 42);
	assert_int_equal(calls, 1);
	dump_all(l, 0, &r);
	assert_true(r.n_routes > 0);
	record_clear(&r);
}

/* A storm of other route changes tears IPv6 dumps (standing routes missed
 * or listed twice, with no NLM_F_DUMP_INTR: the kernel resumes an IPv6 dump
 * by counting entries). The backend must call every such dump torn, and
 * one during which nothing changed clean. The storm's routes sort before
 * the standing ones, which is where a change shifts the count. */
enum { STANDING = 1024, STORM = 500 };

struct standing_seen {
	unsigned char n[STANDING];
	uint32_t table; /* of the standing routes; 0: main */
};

static int on_standing(const struct kroute *rt, void *ctx)
{
	struct standing_seen *s = ctx;

	if (rt->dst.family == AF_INET6 && rt->dst.len == 64 && rt->dst.addr[4] == 0 &&
	    rt->dst.addr[5] == 2 && rt->table == (s->table ? s->table : RT_TABLE_MAIN)) {
		unsigned i = (unsigned)(rt->dst.addr[6] << 8 | rt->dst.addr[7]);

		if (i < STANDING && s->n[i] < 255)
			s->n[i]++;
	}
	return 0;
}

/* Runs the shell command cmd over and over, in a process group of its own
 * (stop_storm). */
static pid_t start_loop(const char *cmd)
{
	char loop[512];
	pid_t pid;

	snprintf(loop, sizeof(loop), "while :; do %s; done", cmd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", loop, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static pid_t start_storm(const char *batch)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "%s -6 -force -batch %s", ip_path, batch);
	return start_loop(cmd);
}

static void stop_storm(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The STANDING routes 2001:db8:2:N::/64 via va, with the words of where
 * ("table 1000 ", or "" for main). */
static void add_standing(const char *where)
{
	char fixed[] = "/tmp/wgrs-nl-fixed-XXXXXX";
	int fd = mkstemp(fixed);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	for (unsigned i = 0; i < STANDING; i++)
		fprintf(f, "route add 2001:db8:2:%x::/64 dev va %sproto static\n", i,
			where);
	fclose(f);
	IP("-6 -batch %s", fixed);
	unlink(fixed);
}

static void test_dump_torn_by_changes(void **state)
{
	struct live *l = *state;
	char path[] = "/tmp/wgrs-nl-storm-XXXXXX";
	FILE *f;
	int fd;
	unsigned torn_seen = 0, wrong_seen = 0, dumps = 0;
	long deadline;
	pid_t storm;

	add_standing("");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	for (int verb = 0; verb < 2; verb++)
		for (unsigned i = 0; i < STORM; i++)
			fprintf(f, "route %s 2001:db8:1:%x::/64 dev va proto static\n",
				verb ? "del" : "add", i);
	fclose(f);

	/* Quiet: clean, and whole. */
	for (int k = 0; k < 3; k++) {
		struct standing_seen seen = {0};
		bool torn = true;

		assert_int_equal(l->be->dump(l->be, 0, on_standing, &seen, &torn), 0);
		assert_false(torn);
		for (unsigned i = 0; i < STANDING; i++)
			assert_int_equal(seen.n[i], 1);
	}

	storm = start_storm(path);
	/* Under valgrind on a loaded machine a dump during the storm took 2 s:
	 * the loop ends at the fifth torn dump, the deadline only on a hang. */
	deadline = now_ms() + 60000;
	/* Every dump that lacked or doubled a standing route is torn; go on
	 * until the storm has torn a few (it runs all the while). */
	while (torn_seen < 5 && now_ms() < deadline) {
		struct standing_seen seen = {0};
		bool torn = false, wrong = false;
		int r = l->be->dump(l->be, 0, on_standing, &seen, &torn);

		if (r) {
			stop_storm(storm);
			fail_msg("dump: %s", strerror(-r));
		}
		dumps++;
		for (unsigned i = 0; i < STANDING; i++)
			wrong |= seen.n[i] != 1;
		if (wrong && !torn) {
			stop_storm(storm);
			fail_msg("dump %u lacked or doubled a standing route and was "
				 "not called torn",
				 dumps);
		}
		torn_seen += torn;
		wrong_seen += wrong;
	}
	stop_storm(storm);
	unlink(path);
	print_message("%u dumps during the storm: %u torn, %u of them wrong\n", dumps,
		      torn_seen, wrong_seen);
	assert_true(torn_seen >= 5);

	/* Quiet again: clean. */
	{
		struct standing_seen seen = {0};
		bool torn = true;

		assert_int_equal(l->be->dump(l->be, 0, on_standing, &seen, &torn), 0);
		assert_false(torn);
	}
}

/* Changes of main, one after another all the while (one ip(8) each: as fast
 * as a slow reader, valgrind's, still reads them), tear no dump of table
 * 1000: a change of another table cannot make the kernel skip or repeat
 * routes of this one (each table is walked on its own), so that a busy main
 * table (a BGP feed) leaves the dumps of T whole, and clean. Dumps of every
 * table meanwhile are torn: the changes go on. */
static void test_dump_not_torn_by_another_table(void **state)
{
	struct live *l = *state;
	char cmd[256];
	unsigned all_torn = 0, dumps = 0;
	long deadline;
	pid_t churn;

	add_standing("table 1000 ");
	snprintf(
		cmd, sizeof(cmd),
		"%s -6 route add 2001:db8:1::/64 dev va; %s -6 route del 2001:db8:1::/64 "
		"dev va",
		ip_path, ip_path);
	churn = start_loop(cmd);
	deadline = now_ms() + 60000; /* a hang's; the loop ends at its counts */
	while ((dumps < 30 || all_torn < 3) && now_ms() < deadline) {
		struct standing_seen seen = {.table = 1000};
		bool torn = true;
		int r = l->be->dump(l->be, 1000, on_standing, &seen, &torn);

		if (!r && !torn)
			for (unsigned i = 0; i < STANDING; i++)
				if (seen.n[i] != 1)
					r = -EPROTO;
		if (r || torn) {
			stop_storm(churn);
			fail_msg("dump %u of table 1000: %s", dumps,
				 r ? strerror(-r) : "torn by changes of main");
		}
		dumps++;
		r = l->be->dump(l->be, 0, on_standing, &seen, &torn);
		if (r) {
			stop_storm(churn);
			fail_msg("dump of every table: %s", strerror(-r));
		}
		all_torn += torn;
	}
	stop_storm(churn);
	print_message("%u dumps of table 1000 while main changed, none torn; %u of "
		      "every table torn\n",
		      dumps, all_torn);
	assert_true(dumps >= 10);
	assert_true(all_torn >= 3);
}

/* ---------------------------------------------------------------------- */
/* Apply                                                                   */

static struct change route_change(bool add, const char *dst, const char *gw, int oif,
				  uint32_t table, uint32_t metric)
{
	struct change c;

	memset(&c, 0, sizeof(c));
	c.op = add ? CHANGE_ROUTE_ADD : CHANGE_ROUTE_DEL;
	c.dst = P(dst);
	c.route.dst = c.dst;
	c.route.table = table;
	c.route.protocol = PROTO_OURS;
	c.route.metric = metric;
	c.route.oif = oif;
	if (gw)
		c.route.gw = A(gw);
	return c;
}

static void test_apply_batch_per_route_errors(void **state)
{
	struct live *l = *state;
	struct record r = {0};
	const struct route_copy *c;
	struct change ch[9];
	int err[9];
	char out[4096];
	static const char *const gw2[] = {"192.0.2.2"};
	static const char *const ll2[] = {"fe80::2"};
	static const char *const none[] = {NULL};

	/* A foreign route our delete must not touch. */
	IP("route add 203.0.113.0/24 via 192.0.2.3 dev va proto static");

	ch[0] = route_change(true, "198.51.100.0/24", "192.0.2.2", l->va, 254, 0);
	ch[1] = route_change(true, "198.51.100.128/25", NULL, 9999, 254, 0);
	memset(&ch[2], 0, sizeof(ch[2]));
	ch[2].op = CHANGE_ALLOWED_ADD; /* not a route: skipped */
	ch[2].dst = P("192.0.2.0/24");
	ch[3] = route_change(true, "203.0.113.128/25", "fe80::2", l->va, 1000, 20);
	ch[4] = route_change(true, "2001:db8:100::/48", "fe80::2", l->va, 254, 30);
	ch[5] = route_change(false, "2001:db8:dead::/48", NULL, l->va, 254, 0);
	ch[6] = route_change(false, "203.0.113.0/24", NULL, l->va, 254, 0);
	ch[7] = route_change(true, "2001:db8:1000::/64", NULL, l->va, 1000, 0);
	/* Refused before it is sent: IPv6 cannot go via an IPv4 address. */
	ch[8] = route_change(true, "2001:db8:400::/48", "192.0.2.2", l->va, 254, 0);
	for (size_t i = 0; i < 9; i++)
		err[i] = 12345;

	assert_int_equal(l->be->apply(l->be, ch, 9, err), -ENODEV);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], -ENODEV); /* no such device */
	assert_int_equal(err[2], 0);
	assert_int_equal(err[3], 0);
	assert_int_equal(err[4], 0);
	assert_int_equal(err[5], -ESRCH); /* no such route */
	assert_int_equal(err[6], -ESRCH); /* only a foreign one */
	assert_int_equal(err[7], 0);
	assert_int_equal(err[8], -EINVAL);

	/* What the kernel has, seen by ip(8) and by the dump. */
	assert_int_equal(ip_run(out, sizeof(out), "-4 route show table all proto 98"), 0);
	assert_non_null(strstr(out, "198.51.100.0/24 via 192.0.2.2 dev va"));
	assert_non_null(
		strstr(out, "203.0.113.128/25 via inet6 fe80::2 dev va table 1000"));
	assert_null(strstr(out, "198.51.100.128/25"));
	assert_int_equal(ip_run(out, sizeof(out), "-4 route show 203.0.113.0/24"), 0);
	assert_non_null(strstr(out, "203.0.113.0/24 via 192.0.2.3 dev va proto static"));
	dump_all(l, 0, &r);
	c = last_route(&r, 0, "198.51.100.0/24", 254);
	assert_non_null(c);
	assert_int_equal(c->rt.protocol, PROTO_OURS);
	assert_hops(&c->rt, l->va, gw2, 1);
	c = last_route(&r, 0, "203.0.113.128/25", 1000);
	assert_non_null(c);
	assert_int_equal(c->rt.metric, 20);
	assert_hops(&c->rt, l->va, ll2, 1);
	c = last_route(&r, 0, "2001:db8:100::/48", 254);
	assert_non_null(c);
	assert_int_equal(c->rt.metric, 30);
	assert_int_equal(c->rt.protocol, PROTO_OURS);
	c = last_route(&r, 0, "2001:db8:1000::/64", 1000);
	assert_non_null(c);
	assert_hops(&c->rt, l->va, none, 1);

	/* An add is exclusive: where a route of its identity stands, ours
	 * (198.51.100.0/24) or a foreign one (203.0.113.0/24, protocol static,
	 * metric 0 as ours), the kernel refuses it and changes nothing. */
	ch[0] = route_change(true, "198.51.100.0/24", "192.0.2.9", l->va, 254, 0);
	ch[1] = route_change(true, "203.0.113.0/24", "192.0.2.9", l->va, 254, 0);
	assert_int_equal(l->be->apply(l->be, ch, 2, err), -EEXIST);
	assert_int_equal(err[0], -EEXIST);
	assert_int_equal(err[1], -EEXIST);
	assert_int_equal(ip_run(out, sizeof(out), "-4 route show table main"), 0);
	assert_non_null(strstr(out, "198.51.100.0/24 via 192.0.2.2 dev va proto 98"));
	assert_non_null(strstr(out, "203.0.113.0/24 via 192.0.2.3 dev va proto static"));

	/* An add with replace replaces our route in place; deletes go. */
	ch[0] = route_change(true, "198.51.100.0/24", "192.0.2.9", l->va, 254, 0);
	ch[0].route.replace = true;
	ch[1] = route_change(false, "203.0.113.128/25", NULL, l->va, 1000, 20);
	ch[2] = route_change(false, "2001:db8:100::/48", NULL, l->va, 254, 30);
	ch[3] = route_change(false, "2001:db8:1000::/64", NULL, l->va, 1000, 0);
	assert_int_equal(l->be->apply(l->be, ch, 4, err), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(err[i], 0);
	dump_all(l, 0, &r);
	c = last_route(&r, 0, "198.51.100.0/24", 254);
	assert_non_null(c);
	static const char *const gw9[] = {"192.0.2.9"};
	assert_hops(&c->rt, l->va, gw9, 1);
	assert_int_equal(count_table(&r, 254, PROTO_OURS), 1);
	assert_int_equal(count_table(&r, 1000, PROTO_OURS), 0);
	assert_non_null(last_route(&r, 0, "203.0.113.0/24", 254));
	record_clear(&r);

	/* Nothing to do. */
	assert_int_equal(l->be->apply(l->be, ch, 0, err), 0);
}

/* More routes than one sendmsg carries, with one bad route in a later
 * batch: it alone fails. */
static void test_apply_many_batches(void **state)
{
	enum { N = 3000, BAD = 2500 };
	struct live *l = *state;
	struct change *ch = calloc(N, sizeof(*ch));
	int *err = calloc(N, sizeof(*err));
	struct record r = {0};
	char dst[64];

	assert_non_null(ch);
	assert_non_null(err);
	for (int i = 0; i < N; i++) {
		snprintf(dst, sizeof(dst), "2001:db8:%x:%x::/64", 0x100 + i / 256,
			 i % 256);
		ch[i] = route_change(true, dst, "fe80::2", i == BAD ? 9999 : l->va, 254,
				     0);
	}
	assert_int_equal(l->be->apply(l->be, ch, N, err), -ENODEV);
	for (int i = 0; i < N; i++)
		if (err[i] != (i == BAD ? -ENODEV : 0))
			fail_msg("route %d: %d", i, err[i]);
	dump_all(l, RT_TABLE_MAIN, &r);
	assert_int_equal(count_table(&r, RT_TABLE_MAIN, PROTO_OURS), N - 1);

	for (int i = 0; i < N; i++)
		ch[i].op = CHANGE_ROUTE_DEL;
	assert_int_equal(l->be->apply(l->be, ch, N, err), -ESRCH);
	for (int i = 0; i < N; i++)
		if (err[i] != (i == BAD ? -ESRCH : 0))
			fail_msg("delete %d: %d", i, err[i]);
	dump_all(l, RT_TABLE_MAIN, &r);
	assert_int_equal(count_table(&r, RT_TABLE_MAIN, PROTO_OURS), 0);
	record_clear(&r);
	free(ch);
	free(err);
}

/* ---------------------------------------------------------------------- */
/* Nexthop objects                                                         */

static void set_compat_mode(int on)
{
	int fd = open("/proc/sys/net/ipv4/nexthop_compat_mode", O_WRONLY);

	if (fd < 0) /* older kernels: always in compat mode */
		return;
	assert_int_equal(write(fd, on ? "1\n" : "0\n", 2), 2);
	close(fd);
}

/* Routes through nexthop objects arrive with the object's hops, in the
 * order of the group, with and without the kernel's compat hops. */
static void nexthop_dump(struct live *l, bool compat)
{
	struct record r = {0};
	const struct route_copy *c;
	static const char *const g21[] = {"fe80::3", "fe80::2"};
	static const char *const one[] = {"192.0.2.2"};
	const struct nl_nexthop *nh;

	set_compat_mode(compat);
	IP("nexthop add id 1 via fe80::2 dev va");
	IP("nexthop add id 2 via fe80::3 dev va");
	IP("nexthop add id 3 group 2/1");
	IP("nexthop add id 4 via 192.0.2.2 dev va");
	IP("nexthop add id 5 blackhole");
	IP("route add 198.51.100.0/24 nhid 3 proto bird");
	IP("-6 route add 2001:db8:300::/48 nhid 3 proto bird");
	IP("route add 203.0.113.0/24 nhid 4 proto static");
	IP("route add 198.51.100.128/25 nhid 5");
	dump_all(l, 0, &r);
	c = last_route(&r, 0, "198.51.100.0/24", 254);
	assert_non_null(c);
	assert_hops(&c->rt, l->va, g21, 2);
	c = last_route(&r, 0, "2001:db8:300::/48", 254);
	assert_non_null(c);
	assert_hops(&c->rt, l->va, g21, 2);
	c = last_route(&r, 0, "203.0.113.0/24", 254);
	assert_non_null(c);
	assert_hops(&c->rt, l->va, one, 1);
	c = last_route(&r, 0, "198.51.100.128/25", 254);
	assert_non_null(c);
	assert_int_equal(c->rt.type, RTN_BLACKHOLE);
	assert_int_equal(c->rt.n_nexthops, 0);

	/* The table the dump loaded. */
	nh = nl_route_nexthop(l->nr, 3);
	assert_non_null(nh);
	assert_int_equal(nh->n_group, 2);
	assert_int_equal(nh->group[0].id, 2);
	assert_int_equal(nh->group[1].id, 1);
	nh = nl_route_nexthop(l->nr, 5);
	assert_non_null(nh);
	assert_true(nh->blackhole);
	assert_null(nl_route_nexthop(l->nr, 77));
	record_clear(&r);
}

static void test_nexthop_dump_compat(void **state)
{
	nexthop_dump(*state, true);
}

static void test_nexthop_dump_no_compat(void **state)
{
	nexthop_dump(*state, false);
}

/* A group or member change re-delivers the routes through it; a member
 * that goes leaves the group; the group going removes its routes (IPv4
 * ones without any route event from the kernel). */
static void nexthop_events(struct live *l, bool compat)
{
	struct record r = {0};
	size_t mark;
	static const char *const g21[] = {"fe80::3", "fe80::2"};
	static const char *const g12[] = {"fe80::2", "fe80::3"};
	static const char *const g43[] = {"fe80::4", "fe80::3"};
	static const char *const g4[] = {"fe80::4"};

	set_compat_mode(compat);
	IP("nexthop add id 1 via fe80::2 dev va");
	IP("nexthop add id 2 via fe80::3 dev va");
	IP("nexthop add id 3 group 2/1");
	assert_int_equal(nl_route_events_open(l->nr, 0), 0);
	dump_all(l, 0, &r); /* loads the nexthop table */
	record_clear(&r);

	IP("route add 198.51.100.0/24 nhid 3 proto bird");
	IP("-6 route add 2001:db8:300::/48 nhid 3 proto bird");
	wait_route(l, &r, 0, "198.51.100.0/24", g21, 2);
	wait_route(l, &r, 0, "2001:db8:300::/48", g21, 2);

	/* The routes follow a change of the group's order. */
	mark = r.n_routes;
	IP("nexthop replace id 3 group 1/2");
	wait_route(l, &r, mark, "198.51.100.0/24", g12, 2);
	wait_route(l, &r, mark, "2001:db8:300::/48", g12, 2);

	/* And a change of a member. */
	mark = r.n_routes;
	IP("nexthop replace id 1 via fe80::4 dev va");
	wait_route(l, &r, mark, "198.51.100.0/24", g43, 2);
	wait_route(l, &r, mark, "2001:db8:300::/48", g43, 2);

	/* A member goes: the group's routes stay with the other one. */
	mark = r.n_routes;
	IP("nexthop del id 2");
	wait_route(l, &r, mark, "198.51.100.0/24", g4, 1);
	wait_route(l, &r, mark, "2001:db8:300::/48", g4, 1);

	/* The group goes: so do its routes. */
	mark = r.n_routes;
	IP("nexthop del id 3");
	wait_removal(l, &r, mark, "198.51.100.0/24");
	wait_removal(l, &r, mark, "2001:db8:300::/48");
	dump_all(l, 0, &r);
	assert_null(last_route(&r, 0, "198.51.100.0/24", 0));
	assert_null(last_route(&r, 0, "2001:db8:300::/48", 0));
	record_clear(&r);
}

static void test_nexthop_events_compat(void **state)
{
	nexthop_events(*state, true);
}

static void test_nexthop_events_no_compat(void **state)
{
	nexthop_events(*state, false);
}

/* ---------------------------------------------------------------------- */
/* Events                                                                  */

static void test_route_events(void **state)
{
	struct live *l = *state;
	struct record r = {0};
	const struct route_copy *c;
	size_t mark;
	static const char *const gw2[] = {"192.0.2.2"};
	static const char *const via[] = {"fe80::2"};
	static const char *const mp[] = {"fe80::2", "fe80::3"};
	static const char *const mp2[] = {"fe80::2"};

	assert_int_equal(nl_route_events_open(l->nr, 0), 0);
	assert_int_equal(nl_route_events_open(l->nr, 0), 0); /* already open */
	IP("route add 198.51.100.0/24 via 192.0.2.2 dev va proto static metric 5 table "
	   "1000");
	c = wait_route(l, &r, 0, "198.51.100.0/24", gw2, 1);
	assert_int_equal(c->rt.table, 1000);
	assert_int_equal(c->rt.metric, 5);
	assert_int_equal(c->rt.protocol, RTPROT_STATIC);
	IP("route add 203.0.113.0/24 via inet6 fe80::2 dev va proto bird");
	c = wait_route(l, &r, 0, "203.0.113.0/24", via, 1);
	assert_int_equal(c->rt.nexthops[0].gw.family, AF_INET6);

	mark = r.n_routes;
	IP("route del 198.51.100.0/24 table 1000");
	c = wait_removal(l, &r, mark, "198.51.100.0/24");
	assert_int_equal(c->rt.table, 1000);

	/* IPv6 multipath: a hop deleted is an update with the hops left. */
	IP("-6 route add 2001:db8:200::/48 proto bird nexthop via fe80::2 dev va nexthop "
	   "via "
	   "fe80::3 dev va");
	wait_route(l, &r, 0, "2001:db8:200::/48", mp, 2);
	mark = r.n_routes;
	IP("-6 route del 2001:db8:200::/48 via fe80::3 dev va");
	wait_route(l, &r, mark, "2001:db8:200::/48", mp2, 1);
	mark = r.n_routes;
	IP("-6 route del 2001:db8:200::/48");
	wait_removal(l, &r, mark, "2001:db8:200::/48");
	record_clear(&r);
}

struct link_wait {
	int ifindex;
	bool up;
};

static bool link_seen(const struct record *r, const void *arg)
{
	const struct link_wait *w = arg;

	for (size_t i = r->n_links; i-- > 0;)
		if (r->links[i].link.ifindex == w->ifindex)
			return r->links[i].link.up == w->up && !r->links[i].removed;
	return false;
}

static bool link_removed(const struct record *r, const void *arg)
{
	for (size_t i = 0; i < r->n_links; i++)
		if (r->links[i].link.ifindex == *(const int *)arg && r->links[i].removed)
			return true;
	return false;
}

struct addr_wait {
	const char *addr;
	bool removed;
};

static bool addr_seen(const struct record *r, const void *arg)
{
	const struct addr_wait *w = arg;
	char buf[PREFIX_STRLEN];

	for (size_t i = 0; i < r->n_addrs; i++)
		if (!strcmp(prefix_format(&r->addrs[i].addr.addr, buf), w->addr) &&
		    r->addrs[i].removed == w->removed)
			return true;
	return false;
}

static void test_link_and_address_events(void **state)
{
	struct live *l = *state;
	struct record r = {0};

	assert_int_equal(nl_route_events_open(l->nr, 0), 0);
	IP("link set va down");
	wait_events(l, &r, link_seen, &(struct link_wait){l->va, false}, "link down");
	IP("link set va up");
	wait_events(l, &r, link_seen, &(struct link_wait){l->va, true}, "link up");
	for (size_t i = 0; i < r.n_links; i++)
		if (r.links[i].link.ifindex == l->va) {
			assert_string_equal(r.links[i].link.name, "va");
			assert_string_equal(r.links[i].link.kind, "veth");
		}

	IP("addr add 198.51.100.7/24 dev va");
	wait_events(l, &r, addr_seen, &(struct addr_wait){"198.51.100.7/24", false},
		    "IPv4 address");
	IP("addr add 2001:db8:5::7/64 dev va nodad");
	wait_events(l, &r, addr_seen, &(struct addr_wait){"2001:db8:5::7/64", false},
		    "IPv6 address");
	IP("addr del 198.51.100.7/24 dev va");
	wait_events(l, &r, addr_seen, &(struct addr_wait){"198.51.100.7/24", true},
		    "IPv4 address removal");

	/* A link that goes (and its veth peer with it). */
	IP("link del vb");
	wait_events(l, &r, link_removed, &l->va, "link removal");
	record_clear(&r);
}

/* A receive buffer too small for a burst: the drain says events were lost;
 * a dump then has every route, and the socket goes on working. */
static void test_enobufs(void **state)
{
	enum { N = 5000 };
	struct live *l = *state;
	struct nl_route_handlers h;
	struct record r = {0};
	size_t cap = (size_t)N * 64, len = 0;
	char *text = malloc(cap);
	struct pollfd p;
	long deadline;
	int n = 0;
	static const char *const gw2[] = {"192.0.2.2"};

	assert_non_null(text);
	assert_int_equal(nl_route_events_open(l->nr, 4096), 0);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(
			text + len, cap - len,
			"route add 2001:db8:%x:%x::/64 via fe80::2 dev va "
			"proto bird\n",
			0x100 + i / 256, i % 256);
	ip_batch(text);
	free(text);

	h = (struct nl_route_handlers){on_route, on_link, on_addr, on_nexthop, &r};
	p = (struct pollfd){.fd = nl_route_events_fd(l->nr), .events = POLLIN};
	deadline = now_ms() + WAIT_MS;
	while ((n = nl_route_events_drain(l->nr, &h)) >= 0) {
		long left = deadline - now_ms();

		if (left <= 0)
			fail_msg("no ENOBUFS after %d routes (%zu events seen)", N,
				 r.n_routes);
		poll(&p, 1, (int)left);
	}
	assert_int_equal(n, -ENOBUFS);
	assert_true(r.n_routes < N);

	dump_all(l, RT_TABLE_MAIN, &r);
	assert_int_equal(count_table(&r, RT_TABLE_MAIN, RTPROT_BIRD), N);
	record_clear(&r);

	IP("route add 198.51.100.0/24 via 192.0.2.2 dev va");
	wait_route(l, &r, 0, "198.51.100.0/24", gw2, 1);
	record_clear(&r);
}

/* Messages another process sends to the event socket (CAP_NET_ADMIN may
 * send to any port): a well-formed route (forged: it would be learned) and
 * datagrams whose first message says it is longer than the datagram (by
 * 2^31 and more, which libmnl's mnl_nlmsg_ok lets through) or shorter than
 * a header, from another socket of this (root) process. None is delivered,
 * and the kernel's events after them still come. */
static void test_events_take_only_the_kernels(void **state)
{
	const uint32_t lens[] = {0,	     8,		 NLMSG_HDRLEN + 64, 0x7fffffff,
				 0x80000000, 0x80000020, 0xfffffff0,	    0xffffffff};
	struct live *l = *state;
	struct record r = {0};
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	socklen_t to_len = sizeof(to);
	uint8_t msg[NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg))] = {0};
	struct nlmsghdr *nlh = (struct nlmsghdr *)msg;
	struct rtmsg *rtm = NLMSG_DATA(nlh);
	static const char *const gw2[] = {"192.0.2.2"};
	int fd;

	assert_int_equal(nl_route_events_open(l->nr, 0), 0);
	assert_int_equal(
		getsockname(nl_route_events_fd(l->nr), (struct sockaddr *)&to, &to_len),
		0);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	assert_true(fd >= 0);
	{
		uint8_t buf[NL_ROUTE_MSG_MAX];
		struct route_spec rs = {.dst = P("203.0.113.0/24"),
					.table = RT_TABLE_MAIN,
					.protocol = RTPROT_STATIC,
					.oif = l->va,
					.gw = A("192.0.2.2")};
		int len = nl_encode_route(buf, sizeof(buf), true, &rs, 1);

		assert_true(len > 0);
		if (sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) !=
		    len)
			fail_msg("sendto the event socket: %s", strerror(errno));
	}
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm->rtm_family = AF_INET;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		nlh->nlmsg_len = lens[i];
		if (sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)) !=
		    (ssize_t)sizeof(msg))
			fail_msg("sendto the event socket: %s", strerror(errno));
	}
	close(fd);
	IP("route add 198.51.100.0/24 via 192.0.2.2 dev va");
	wait_route(l, &r, 0, "198.51.100.0/24", gw2, 1);
	/* Read as routes, they would be 0.0.0.0/0 in table 0. */
	assert_null(last_route(&r, 0, "0.0.0.0/0", 0));
	assert_null(last_route(&r, 0, "203.0.113.0/24", 0));
	record_clear(&r);
}

static void test_events_not_open(void **state)
{
	struct live *l = *state;
	struct nl_route_handlers h = {0};

	assert_int_equal(nl_route_events_fd(l->nr), -1);
	assert_int_equal(nl_route_events_drain(l->nr, &h), -ENOTCONN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dump_both_families, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_dump_links_addrs, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_dump_torn_by_changes, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_dump_not_torn_by_another_table,
						setup_ns, teardown_ns),
		cmocka_unit_test_setup_teardown(test_apply_batch_per_route_errors,
						setup_ns, teardown_ns),
		cmocka_unit_test_setup_teardown(test_apply_many_batches, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_nexthop_dump_compat, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_nexthop_dump_no_compat, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_nexthop_events_compat, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_nexthop_events_no_compat, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_route_events, setup_ns, teardown_ns),
		cmocka_unit_test_setup_teardown(test_link_and_address_events, setup_ns,
						teardown_ns),
		cmocka_unit_test_setup_teardown(test_enobufs, setup_ns, teardown_ns),
		cmocka_unit_test_setup_teardown(test_events_take_only_the_kernels,
						setup_ns, teardown_ns),
		cmocka_unit_test_setup_teardown(test_events_not_open, setup_ns,
						teardown_ns),
	};

	if (geteuid() != 0) {
		printf("test_nl_route_live: skipped: needs root (network namespaces)\n");
		return 77;
	}
	ip_path = find_ip();
	if (!ip_path) {
		printf("test_nl_route_live: skipped: ip(8) not found (iproute2)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("test_nl_route_live: skipped: no network namespaces: %s\n",
		       strerror(errno));
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
