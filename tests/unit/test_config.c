/* test_config.c: the YAML configuration: every key, defaults, per-interface
 * overrides, names, durations, and the one-line errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "convert.h"
#include "names.h"
#include "testutil.h"

#define EXAMPLE_KEY "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

static char tmp_path[64];
static char err[1024];

/* Writes text to a temporary file and loads it; the file is removed again. */
static struct config *load_text(const char *text)
{
	struct config *c;
	FILE *f;
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/wgrs-config-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	memset(err, 'x', sizeof(err));
	c = config_load(tmp_path, err, sizeof(err));
	unlink(tmp_path);
	return c;
}

/* Loads text and returns the settings for ifname. */
static void settings_from(const char *text, const char *ifname, struct settings *s)
{
	struct config *c = load_text(text);

	if (!c)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(config_settings_for(c, ifname, s), 0);
	config_free(c);
}

static void assert_prefix(const struct prefix *p, const char *text)
{
	struct prefix want = P(text);

	assert_true(prefix_equal(p, &want));
}

static void assert_addr(const struct prefix *p, const char *text)
{
	struct prefix want = A(text);

	assert_true(prefix_equal(p, &want));
}

static bool permits(const struct settings *s, const char *text)
{
	struct prefix dst = P(text);

	return settings_filter_permits(s, &dst);
}

static void assert_defaults(const struct settings *s)
{
	assert_true(s->sync_routes);
	assert_int_equal(s->routing_table, 254);
	assert_true(s->watch_routes);
	assert_int_equal(s->route_protocol, 98);
	assert_int_equal(s->n_prefixes, 2);
	assert_prefix(&s->prefixes[0], "fc2f:9a4d::/32");
	assert_prefix(&s->prefixes[1], "10.237.0.0/16");
	assert_int_equal(s->n_learn_protocols, 0);
	assert_int_equal(s->n_learn_filter, 0);
	assert_int_equal(s->max_learned_prefixes, 0);
	assert_int_equal(s->conflict, CONFLICT_STATIC_WINS);
	assert_true(s->install_routes);
	assert_false(s->install_default_routes);
	assert_int_equal(s->route_metric, 0);
	assert_int_equal(s->wg_poll_interval_ms, 1000);
	assert_int_equal(s->wg_poll_budget, 50); /* 0.5% */
	assert_int_equal(s->resync_interval_ms, 300000);
	assert_int_equal(s->batch_delay_ms, 0);
	assert_string_equal(s->state_dir, "/run/wg-rtsync");
	assert_false(s->cleanup_on_exit);
	assert_int_equal(s->log_level, LOG_LEVEL_INFO);
	assert_int_equal(s->n_peers, 0);
}

static void test_defaults(void **state)
{
	struct config *c = config_default();
	struct settings s;

	(void)state;
	assert_non_null(c);
	assert_int_equal(config_settings_for(c, "wg0", &s), 0);
	assert_defaults(&s);
	assert_false(config_lists_interfaces(c));
	assert_true(config_manages(c, "wg0"));
	assert_true(config_manages(c, "anything"));
	settings_free(&s);
	config_free(c);

	assert_int_equal(settings_defaults(&s), 0);
	assert_defaults(&s);
	settings_free(&s);
}

/* An empty file, or one of comments only, is the defaults. */
static void test_empty_file(void **state)
{
	static const char *const texts[] = {"", "# nothing\n\n", "---\n", "~\n"};
	struct settings s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		settings_from(texts[i], "wg0", &s);
		assert_defaults(&s);
		settings_free(&s);
	}
}

/* The example of docs/spec.md 8.11, verbatim. */
static void test_example(void **state)
{
	struct config *c =
		config_load(src_path("tests/config/example.yaml"), err, sizeof(err));
	struct settings s;
	struct wg_key key = K(EXAMPLE_KEY);

	(void)state;
	if (!c)
		fail_msg("example refused: %s", err);
	assert_true(config_lists_interfaces(c));
	assert_true(config_manages(c, "wg0"));
	assert_true(config_manages(c, "wg-mesh"));
	assert_false(config_manages(c, "wg1"));
	assert_false(config_manages(c, "eth0"));

	assert_int_equal(config_settings_for(c, "wg-mesh", &s), 0);
	assert_int_equal(s.routing_table, 254);
	assert_false(s.install_routes);
	assert_int_equal(s.n_learn_filter, 2);
	assert_true(s.learn_filter[0].permit);
	assert_prefix(&s.learn_filter[0].prefix, "2001:db8::/32");
	assert_int_equal(s.learn_filter[0].ge, 32);
	assert_int_equal(s.learn_filter[0].le, 64);
	assert_false(s.learn_filter[1].permit);
	assert_prefix(&s.learn_filter[1].prefix, "0.0.0.0/0");
	assert_int_equal(s.learn_filter[1].ge, 0);
	assert_int_equal(s.learn_filter[1].le, 32);
	assert_int_equal(s.n_peers, 1);
	assert_memory_equal(&s.peers[0].key, &key, sizeof(key));
	assert_int_equal(s.peers[0].n_gateways, 2);
	assert_addr(&s.peers[0].gateways[0], "fe80::2");
	assert_addr(&s.peers[0].gateways[1], "192.0.2.2");
	settings_free(&s);

	assert_int_equal(config_settings_for(c, "wg0", &s), 0);
	assert_int_equal(s.routing_table, 100);
	assert_true(s.install_routes);
	/* Apart from the two overrides, the example spells out the defaults. */
	s.routing_table = 254;
	s.n_learn_filter = 0;
	s.n_peers = 0;
	{
		struct settings copy = s;

		assert_defaults(&copy);
	}
	s.n_learn_filter = 2;
	s.n_peers = 1;
	settings_free(&s);
	config_free(c);
}

/* Every key, set to something other than its default. */
static void test_every_key(void **state)
{
	static const char text[] = "sync_routes: false\n"
				   "routing_table: 1000\n"
				   "watch_routes: no\n"
				   "route_protocol: 0x63\n"
				   "prefixes: [fe80::/64]\n"
				   "learn_protocols: [bird, static, 186]\n"
				   "learn_filter:\n"
				   "  - action: deny\n"
				   "    prefix: 10.0.0.0/8\n"
				   "    ge: 24\n"
				   "  - {action: permit, prefix: 10.0.0.0/8}\n"
				   "max_learned_prefixes: 1000\n"
				   "conflict: learned-wins\n"
				   "install_routes: off\n"
				   "install_default_routes: true\n"
				   "route_metric: 4294967295\n"
				   "wg_poll_interval: 200ms\n"
				   "wg_poll_budget: 2.5%\n"
				   "resync_interval: 5m\n"
				   "batch_delay: 2\n"
				   "state_dir: /var/lib/wg-rtsync\n"
				   "cleanup_on_exit: yes\n"
				   "log_level: debug\n"
				   "peers:\n"
				   "  " EXAMPLE_KEY ":\n"
				   "    gateways:\n"
				   "      - 2001:db8::1\n"
				   "  yAt0z6CubZ7rA1MomWueBwiagfeKAtJNkwFUUebvZk0=:\n";
	struct settings s;

	(void)state;
	settings_from(text, "wg0", &s);
	assert_int_equal(s.wg_poll_budget, 250);
	assert_false(s.sync_routes);
	assert_int_equal(s.routing_table, 1000);
	assert_false(s.watch_routes);
	assert_int_equal(s.route_protocol, 99);
	assert_int_equal(s.n_prefixes, 1);
	assert_prefix(&s.prefixes[0], "fe80::/64");
	assert_int_equal(s.n_learn_protocols, 3);
	assert_int_equal(s.learn_protocols[0], 12);
	assert_int_equal(s.learn_protocols[1], 4);
	assert_int_equal(s.learn_protocols[2], 186);
	assert_int_equal(s.n_learn_filter, 2);
	assert_false(s.learn_filter[0].permit);
	assert_int_equal(s.learn_filter[0].ge, 24);
	assert_int_equal(s.learn_filter[0].le, 32); /* ge alone reaches the maximum */
	assert_true(s.learn_filter[1].permit);
	assert_int_equal(s.learn_filter[1].ge, 8); /* neither: exactly the prefix */
	assert_int_equal(s.learn_filter[1].le, 8);
	assert_int_equal(s.max_learned_prefixes, 1000);
	assert_int_equal(s.conflict, CONFLICT_LEARNED_WINS);
	assert_false(s.install_routes);
	assert_true(s.install_default_routes);
	assert_int_equal(s.route_metric, 4294967295u);
	assert_int_equal(s.wg_poll_interval_ms, 200);
	assert_int_equal(s.resync_interval_ms, 300000);
	assert_int_equal(s.batch_delay_ms, 2000);
	assert_string_equal(s.state_dir, "/var/lib/wg-rtsync");
	assert_true(s.cleanup_on_exit);
	assert_int_equal(s.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(s.n_peers, 2);
	assert_int_equal(s.peers[0].n_gateways, 1);
	assert_addr(&s.peers[0].gateways[0], "2001:db8::1");
	assert_int_equal(s.peers[1].n_gateways, 0); /* listed without gateways */
	settings_free(&s);
}

static void test_empty_lists(void **state)
{
	struct settings s;

	(void)state;
	settings_from("prefixes: []\nlearn_protocols: []\nlearn_filter: []\npeers: {}\n",
		      "wg0", &s);
	assert_int_equal(s.n_prefixes, 0);
	assert_int_equal(s.n_learn_protocols, 0);
	assert_int_equal(s.n_learn_filter, 0);
	assert_int_equal(s.n_peers, 0);
	settings_free(&s);
}

static void test_log_levels(void **state)
{
	static const struct {
		const char *text;
		enum log_level level;
	} cases[] = {{"log_level: error\n", LOG_LEVEL_ERROR},
		     {"log_level: warning\n", LOG_LEVEL_WARN},
		     {"log_level: info\n", LOG_LEVEL_INFO},
		     {"log_level: debug\n", LOG_LEVEL_DEBUG}};
	struct settings s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		settings_from(cases[i].text, "wg0", &s);
		assert_int_equal(s.log_level, cases[i].level);
		settings_free(&s);
	}
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		uint32_t ms;
	} good[] = {{"200ms", 200},
		    {"1s", 1000},
		    {"5m", 300000},
		    {"1h", 3600000},
		    {"7", 7000},
		    {"0", 0},
		    {"0ms", 0},
		    {"300s", 300000},
		    {"4294967295ms", 4294967295u},
		    {"1193h", 1193u * 3600000u}};
	static const char *const bad[] = {"",	 "s",	"ms",	"1.5s", "-1s",
					  "+1s", "1 s", "1d",	"1S",	"1sec",
					  " 1s", "1s ", "0x10", "abc"};
	static const char *const too_long[] = {"4294967296ms", "4294968s", "1194h",
					       "99999999999999999999999s"};
	uint32_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = 12345;
		assert_int_equal(parse_duration_ms(good[i].text, &ms), 0);
		assert_int_equal(ms, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 12345;
		assert_int_equal(parse_duration_ms(bad[i], &ms), -EINVAL);
		assert_int_equal(ms, 12345);
	}
	for (i = 0; i < sizeof(too_long) / sizeof(too_long[0]); i++)
		assert_int_equal(parse_duration_ms(too_long[i], &ms), -ERANGE);
	assert_int_equal(parse_duration_ms(NULL, &ms), -EINVAL);
}

/* wg_poll_budget's percentages: at most two decimals, 0% to 100%. */
static void test_percentages(void **state)
{
	static const struct {
		const char *text;
		uint32_t v;
	} good[] = {{"1%", 100},    {"0.5%", 50},    {"0%", 0},	    {"100%", 10000},
		    {"2.25%", 225}, {"0.01%", 1},    {"10%", 1000}, {"100.00%", 10000},
		    {"007%", 700},  {"99.99%", 9999}};
	static const char *const bad[] = {"",	    "%",    "1",   "1.%", ".5%",
					  "1.234%", "-1%",  "1 %", "1%%", "one%",
					  "1.5",    "0x1%", " 1%", "1% ", "+1%"};
	static const char *const too_large[] = {"101%", "100.01%", "1000%",
						"99999999999999999999%"};
	uint32_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		assert_int_equal(parse_percent(good[i].text, &v), 0);
		assert_int_equal(v, good[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		assert_int_equal(parse_percent(bad[i], &v), -EINVAL);
		assert_int_equal(v, 12345);
	}
	for (i = 0; i < sizeof(too_large) / sizeof(too_large[0]); i++)
		assert_int_equal(parse_percent(too_large[i], &v), -ERANGE);
	assert_int_equal(parse_percent(NULL, &v), -EINVAL);
}

/* Exact names and glob patterns; entries apply in file order, each only
 * with the keys it sets. */
static void test_overrides(void **state)
{
	static const char text[] = "route_metric: 1\n"
				   "routing_table: 10\n"
				   "prefixes: [10.237.0.0/16]\n"
				   "peers: {" EXAMPLE_KEY ": {gateways: [fe80::1]}}\n"
				   "interfaces:\n"
				   "  \"wg*\":\n"
				   "    route_metric: 5\n"
				   "    install_routes: false\n"
				   "  wg0: {route_metric: 7, prefixes: []}\n"
				   "  \"wg[0-9]\": {routing_table: 20, peers: {}}\n"
				   "  \"*-mesh\": {routing_table: main}\n"
				   "  wg1:\n";
	struct config *c = load_text(text);
	struct settings s;

	(void)state;
	if (!c)
		fail_msg("unexpected error: %s", err);
	assert_true(config_lists_interfaces(c));
	assert_true(config_manages(c, "wg1"));
	assert_true(config_manages(c, "wgx"));
	assert_true(config_manages(c, "eth-mesh"));
	assert_false(config_manages(c, "eth0"));

	/* wg0: "wg*", then wg0, then "wg[0-9]" */
	assert_int_equal(config_settings_for(c, "wg0", &s), 0);
	assert_int_equal(s.route_metric, 7);
	assert_false(s.install_routes);
	assert_int_equal(s.n_prefixes, 0);
	assert_int_equal(s.routing_table, 20);
	assert_int_equal(s.n_peers, 0);
	settings_free(&s);

	/* wg5: "wg*" and "wg[0-9]" */
	assert_int_equal(config_settings_for(c, "wg5", &s), 0);
	assert_int_equal(s.route_metric, 5);
	assert_int_equal(s.n_prefixes, 1);
	assert_int_equal(s.routing_table, 20);
	assert_int_equal(s.n_peers, 0);
	settings_free(&s);

	/* wgx: "wg*" only; the top-level peers stay */
	assert_int_equal(config_settings_for(c, "wgx", &s), 0);
	assert_int_equal(s.route_metric, 5);
	assert_int_equal(s.routing_table, 10);
	assert_int_equal(s.n_peers, 1);
	assert_int_equal(s.peers[0].n_gateways, 1);
	settings_free(&s);

	/* a name no entry matches gets the top level */
	assert_int_equal(config_settings_for(c, "eth0", &s), 0);
	assert_int_equal(s.route_metric, 1);
	assert_true(s.install_routes);
	assert_int_equal(s.routing_table, 10);
	settings_free(&s);

	assert_int_equal(config_settings_for(c, "eth-mesh", &s), 0);
	assert_int_equal(s.routing_table, 254);
	settings_free(&s);
	config_free(c);
}

static void test_names_from_files(void **state)
{
	struct settings s;
	char text[256];

	(void)state;
	names_set_root(src_path("tests/config/iproute2"));
	settings_from("routing_table: wgtab\n"
		      "route_protocol: myproto\n"
		      "learn_protocols: [wgproto, bird, 5]\n"
		      "interfaces: {wg0: {routing_table: dtab}}\n",
		      "wg0", &s);
	assert_int_equal(s.routing_table, 200);
	assert_int_equal(s.route_protocol, 77);
	assert_int_equal(s.n_learn_protocols, 3);
	assert_int_equal(s.learn_protocols[0], 99);
	assert_int_equal(s.learn_protocols[1], 12);
	assert_int_equal(s.learn_protocols[2], 5);
	settings_free(&s);

	/* Names that the files do not define are refused. */
	assert_null(load_text("routing_table: usronly\n"));
	snprintf(text, sizeof(text), "%s:1:16: routing_table: ", tmp_path);
	assert_non_null(strstr(err, text));
	names_set_root(NULL);
}

static void test_filter(void **state)
{
	struct settings s;

	(void)state;
	settings_from("learn_filter:\n"
		      "  - {action: deny, prefix: 2001:db8:1::/48, le: 128}\n"
		      "  - {action: permit, prefix: 2001:db8::/32, le: 64}\n"
		      "  - {action: permit, prefix: 10.0.0.0/8, ge: 16, le: 24}\n"
		      "  - {action: permit, prefix: 192.0.2.0/24}\n",
		      "wg0", &s);
	assert_false(permits(&s, "2001:db8:1::/64"));
	assert_true(permits(&s, "2001:db8:2::/64"));
	assert_true(permits(&s, "2001:db8::/32"));
	assert_false(permits(&s, "2001:db8::/65"));
	assert_false(permits(&s, "2001:db9::/48"));
	assert_false(permits(&s, "10.0.0.0/8"));
	assert_true(permits(&s, "10.1.0.0/16"));
	assert_true(permits(&s, "10.1.2.0/24"));
	assert_false(permits(&s, "10.1.2.0/25"));
	assert_true(permits(&s, "192.0.2.0/24"));
	assert_false(permits(&s, "192.0.2.0/25"));
	/* no rule matches: deny */
	assert_false(permits(&s, "198.51.100.0/24"));
	settings_free(&s);

	/* an empty list permits everything */
	assert_int_equal(settings_defaults(&s), 0);
	assert_true(permits(&s, "0.0.0.0/0"));
	assert_true(permits(&s, "2001:db8::1/128"));
	settings_free(&s);
}

static void test_learns_protocol(void **state)
{
	struct settings s;

	(void)state;
	assert_int_equal(settings_defaults(&s), 0);
	assert_true(settings_learns_protocol(&s, 12));
	assert_true(settings_learns_protocol(&s, 4));
	assert_false(settings_learns_protocol(&s, 98)); /* our own */
	settings_free(&s);

	settings_from("learn_protocols: [bird, 98]\n", "wg0", &s);
	assert_true(settings_learns_protocol(&s, 12));
	assert_false(settings_learns_protocol(&s, 4));
	assert_false(settings_learns_protocol(&s, 98));
	settings_free(&s);
}

/* A copy owns its arrays. */
static void test_copy(void **state)
{
	struct config *c =
		config_load(src_path("tests/config/example.yaml"), err, sizeof(err));
	struct settings a, b;

	(void)state;
	assert_non_null(c);
	assert_int_equal(config_settings_for(c, "wg0", &a), 0);
	config_free(c);
	assert_int_equal(settings_copy(&b, &a), 0);
	assert_ptr_not_equal(a.prefixes, b.prefixes);
	assert_ptr_not_equal(a.peers[0].gateways, b.peers[0].gateways);
	assert_ptr_not_equal(a.state_dir, b.state_dir);
	assert_memory_equal(a.learn_filter, b.learn_filter,
			    a.n_learn_filter * sizeof(*a.learn_filter));
	assert_string_equal(a.state_dir, b.state_dir);
	settings_free(&a);
	assert_int_equal(b.n_peers, 1);
	assert_int_equal(b.peers[0].n_gateways, 2);
	assert_int_equal(b.n_prefixes, 2);
	settings_free(&b);
	settings_free(&b); /* twice is harmless */
}

/* ---- errors: each refused with "FILE:LINE:COLUMN: KEY: what" ---- */

struct bad_case {
	const char *text;
	unsigned line, column;
	const char *key;  /* the KEY part, exactly */
	const char *what; /* a part of the reason */
};

static const struct bad_case bad_cases[] = {
	/* unknown keys, at every level */
	{"sync_routes: true\nsync_route: true\n", 2, 1, "sync_route", "unknown key"},
	{"interfaces:\n  wg0:\n    routing_table: 100\n    bogus: 1\n", 4, 5,
	 "interfaces.wg0.bogus", "unknown key"},
	{"interfaces: {wg0: {interfaces: {}}}\n", 1, 20, "interfaces.wg0.interfaces",
	 "unknown key"},
	{"learn_filter:\n  - {action: permit, prefix: 10.0.0.0/8, lee: 24}\n", 2, 42,
	 "learn_filter[0].lee", "unknown key"},
	{"peers:\n  " EXAMPLE_KEY ":\n    gateway: [fe80::1]\n", 3, 5,
	 "peers." EXAMPLE_KEY ".gateway", "unknown key"},
	/* wrong kinds of node */
	{"prefixes: 10.237.0.0/16\n", 1, 11, "prefixes", "expected a list"},
	{"sync_routes: [true]\n", 1, 14, "sync_routes", "expected a single value"},
	{"learn_filter: {action: permit}\n", 1, 15, "learn_filter", "expected a list"},
	{"learn_filter: [permit]\n", 1, 16, "learn_filter[0]", "expected a mapping"},
	{"interfaces: [wg0]\n", 1, 13, "interfaces", "expected a mapping"},
	{"interfaces: {wg0: true}\n", 1, 19, "interfaces.wg0", "expected a mapping"},
	{"peers: [" EXAMPLE_KEY "]\n", 1, 8, "peers", "expected a mapping"},
	{"- sync_routes\n", 1, 1, "top level", "expected a mapping"},
	/* values */
	{"prefixes: [fc2f:9a4d::/32, 10.237.0.0/33]\n", 1, 28, "prefixes[1]",
	 "not a prefix"},
	{"prefixes: [10.0.0.1/32]\n", 1, 12, "prefixes[0]", "no bits"},
	{"peers:\n  " EXAMPLE_KEY ": {gateways: [fe80::1, 192.0.2.256]}\n", 2, 70,
	 "peers." EXAMPLE_KEY ".gateways[1]", "not an address"},
	{"peers:\n  notakey: {gateways: [fe80::1]}\n", 2, 3, "peers.notakey",
	 "not a WireGuard public key"},
	{"peers:\n  \"" EXAMPLE_KEY "\": {}\n  " EXAMPLE_KEY ": {}\n", 3, 3,
	 "peers." EXAMPLE_KEY, "duplicate peer"},
	{"wg_poll_interval: 1 s\n", 1, 19, "wg_poll_interval", "not a duration"},
	{"resync_interval: 5d\n", 1, 18, "resync_interval", "not a duration"},
	{"batch_delay: 4294968s\n", 1, 14, "batch_delay", "too long"},
	{"wg_poll_interval: 0ms\n", 1, 19, "wg_poll_interval", "more than 0"},
	{"wg_poll_budget: 1\n", 1, 17, "wg_poll_budget", "not a percentage"},
	{"wg_poll_budget: 101%\n", 1, 17, "wg_poll_budget", "more than 100%"},
	{"conflict: static_wins\n", 1, 11, "conflict", "static-wins or learned-wins"},
	{"log_level: verbose\n", 1, 12, "log_level", "error, warning, info or debug"},
	{"learn_filter: [{action: allow, prefix: 10.0.0.0/8}]\n", 1, 25,
	 "learn_filter[0].action", "permit or deny"},
	{"learn_filter: [{action: permit, prefix: 10.0.0.0/8, ge: 24, le: 16}]\n", 1, 57,
	 "learn_filter[0].ge", "greater than le"},
	{"learn_filter: [{action: permit, prefix: 10.0.0.0/8, ge: 4}]\n", 1, 57,
	 "learn_filter[0].ge", "shorter than the prefix"},
	{"learn_filter: [{action: permit, prefix: 10.0.0.0/8, le: 33}]\n", 1, 57,
	 "learn_filter[0].le", "from 8 to 32"},
	{"learn_filter: [{action: permit, prefix: 2001:db8::/32, le: 129}]\n", 1, 60,
	 "learn_filter[0].le", "from 32 to 128"},
	{"learn_filter: [{action: permit, prefix: 10.0.0.0/33}]\n", 1, 41,
	 "learn_filter[0].prefix", "not a prefix"},
	{"learn_filter: [{action: permit, ge: 8}]\n", 1, 16, "learn_filter[0].prefix",
	 "missing"},
	{"sync_routes: maybe\n", 1, 14, "sync_routes", "not true or false"},
	{"max_learned_prefixes: -1\n", 1, 23, "max_learned_prefixes", "not a number"},
	{"route_metric: 4294967296\n", 1, 15, "route_metric", "too large"},
	{"routing_table: nosuchtable\n", 1, 16, "routing_table", "unknown table name"},
	{"routing_table: 0\n", 1, 16, "routing_table", "not a table"},
	{"route_protocol: 256\n", 1, 17, "route_protocol", "not a protocol"},
	{"route_protocol: boot\n", 1, 17, "route_protocol", "reserved"},
	{"learn_protocols: [bird, nosuchproto]\n", 1, 25, "learn_protocols[1]",
	 "unknown protocol name"},
	{"state_dir: run/wg-rtsync\n", 1, 12, "state_dir", "absolute path"},
	/* structure */
	{"route_metric: 1\nroute_metric: 2\n", 2, 1, "route_metric", "duplicate key"},
	{"peers: {}\npeers: {}\n", 2, 1, "peers", "duplicate key"},
	{"interfaces: {wg0: {}}\ninterfaces: {}\n", 2, 1, "interfaces", "duplicate key"},
	{"interfaces: {wg0: {peers: {}, peers: {}}}\n", 1, 31, "interfaces.wg0.peers",
	 "duplicate key"},
	{"[1, 2]: x\n", 1, 1, "top level", "a key is a name, not a list"},
	{"interfaces:\n  wg0: {}\n  wg0: {}\n", 3, 3, "interfaces.wg0",
	 "duplicate interface"},
	{"interfaces:\n  wg0: {route_metric: x}\n", 2, 23, "interfaces.wg0.route_metric",
	 "not a number"},
	{"interfaces:\n  \"wg-*\":\n    peers:\n      " EXAMPLE_KEY ": {gateways: [x]}\n",
	 4, 65, "interfaces.wg-*.peers." EXAMPLE_KEY ".gateways[0]", "not an address"},
};

/* Returns whether the case gave the expected line; prints it if not. */
static bool check_error(const struct bad_case *bc)
{
	char want[600];
	struct config *c = load_text(bc->text);

	if (c) {
		config_free(c);
		print_message("accepted: %s", bc->text);
		return false;
	}
	snprintf(want, sizeof(want), "%s:%u:%u: %s: ", tmp_path, bc->line, bc->column,
		 bc->key);
	if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, bc->what) ||
	    strchr(err, '\n')) {
		print_message("for %s got: %s\nwant: %s...%s\n", bc->text, err, want,
			      bc->what);
		return false;
	}
	return true;
}

static void test_errors(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		failed += !check_error(&bad_cases[i]);
	assert_int_equal(failed, 0);
}

static void test_syntax_errors(void **state)
{
	char want[128];

	(void)state;
	assert_null(load_text("routing_table: 100\n  route_protocol: 98\n"));
	snprintf(want, sizeof(want), "%s:2:17: ", tmp_path);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "syntax"));

	assert_null(load_text("routing_table: [100\n"));
	snprintf(want, sizeof(want), "%s:2:", tmp_path);
	assert_non_null(strstr(err, want));

	assert_null(load_text("routing_table: 100\n---\nroute_metric: 1\n"));
	snprintf(want, sizeof(want), "%s:2:1: ", tmp_path);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "one YAML document"));
}

static void test_fixture_errors(void **state)
{
	static const struct {
		const char *file, *where, *what;
	} cases[] = {
		{"tests/config/bad-unknown-key.yaml",
		 ":6:5: interfaces.wg0.instal_routes: ", "unknown key"},
		{"tests/config/bad-prefix.yaml", ":4:5: prefixes[1]: ", "not a prefix"},
		{"tests/config/bad-syntax.yaml", ":3:", "syntax"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = src_path(cases[i].file);
		char copy[4096];

		snprintf(copy, sizeof(copy), "%s", path);
		assert_null(config_load(copy, err, sizeof(err)));
		assert_int_equal(strncmp(err, copy, strlen(copy)), 0);
		assert_non_null(strstr(err, cases[i].where));
		assert_non_null(strstr(err, cases[i].what));
	}
}

static void test_file_errors(void **state)
{
	char small[16];

	(void)state;
	assert_null(config_load("/nonexistent/wg-rtsync.yaml", err, sizeof(err)));
	assert_string_equal(
		err,
		"/nonexistent/wg-rtsync.yaml: cannot open: No such file or directory");
	assert_null(config_load("/", err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	/* A short buffer is cut, not overrun; no buffer at all is fine. */
	memset(small, 'x', sizeof(small));
	assert_null(config_load("/nonexistent/wg-rtsync.yaml", small, 10));
	assert_int_equal(strlen(small), 9);
	assert_int_equal(small[10], 'x');
	assert_null(config_load("/nonexistent/wg-rtsync.yaml", NULL, 0));
}

/* ---- bad files: kinds, bounds, echoed text ---- */

/* A FIFO is refused at once, not waited on; a regression here would block
 * for ever, so an alarm ends the test instead. */
static void test_fifo_refused(void **state)
{
	char dir[] = "/tmp/wgrs-config-XXXXXX", path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	assert_null(config_load(path, err, sizeof(err)));
	alarm(0);
	unlink(path);
	rmdir(dir);
	assert_non_null(strstr(err, "not a regular file"));
	assert_non_null(strstr(err, "a FIFO"));
	assert_null(strchr(err, '\n'));

	assert_null(config_load("/dev/zero", err, sizeof(err)));
	assert_string_equal(err, "/dev/zero: not a regular file (a character device)");
	assert_null(config_load("/", err, sizeof(err)));
	assert_string_equal(err, "/: not a regular file (a directory)");
}

/* At most 16 MiB (a sparse file: nothing is written). */
static void test_size_bound(void **state)
{
	char path[] = "/tmp/wgrs-config-XXXXXX", want[64];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (16 << 20) + 1), 0);
	close(fd);
	assert_null(config_load(path, err, sizeof(err)));
	unlink(path);
	snprintf(want, sizeof(want), "%s: larger than 16 MiB", path);
	assert_string_equal(err, want);
}

/* /dev/null is the empty file: the built-in defaults. */
static void test_dev_null(void **state)
{
	struct config *c = config_load("/dev/null", err, sizeof(err));
	struct settings s;

	(void)state;
	if (!c)
		fail_msg("refused: %s", err);
	assert_false(config_lists_interfaces(c));
	assert_int_equal(config_settings_for(c, "wg0", &s), 0);
	assert_defaults(&s);
	settings_free(&s);
	config_free(c);
}

/* Text of n opening brackets after prefix, and as many closing ones. */
static char *nested(const char *prefix, size_t n)
{
	size_t len = strlen(prefix);
	char *text = malloc(len + 2 * n + 2);

	assert_non_null(text);
	memcpy(text, prefix, len);
	memset(text + len, '[', n);
	memset(text + len + n, ']', n);
	strcpy(text + len + 2 * n, "\n");
	return text;
}

/* Nesting is refused past 64 levels (the top-level mapping is the first),
 * at the first collection too deep, before the document is converted. */
static void test_nesting_bound(void **state)
{
	char want[128], *text;

	(void)state;
	text = nested("prefixes: ", 200000);
	assert_null(load_text(text));
	free(text);
	snprintf(want, sizeof(want), "%s:1:74: nesting deeper than 64 levels", tmp_path);
	assert_string_equal(err, want);

	/* 64 levels pass the bound and meet the schema. */
	text = nested("prefixes: ", 63);
	assert_null(load_text(text));
	free(text);
	assert_non_null(
		strstr(err, ":1:12: prefixes[0]: expected a single value, not a list"));
}

/* At most 1 048 576 nodes, counting every use of an alias in full. */
static void test_node_bound(void **state)
{
	static const char unit[] = "1,";
	size_t n = (1u << 20) + 1, i, len = strlen("learn_protocols: [");
	char *text = malloc(len + n * 2 + 3), want[128];
	struct buf_text {
		char *p;
		size_t len;
	} bomb = {NULL, 0};
	FILE *f;

	(void)state;
	assert_non_null(text);
	memcpy(text, "learn_protocols: [", len);
	for (i = 0; i < n; i++, len += 2)
		memcpy(text + len, unit, 2);
	strcpy(text + len - 1, "]\n");
	assert_null(load_text(text));
	free(text);
	assert_non_null(strstr(err, "more than 1048576 nodes"));

	/* An alias bomb that the schema would take: 1 000 peers, repeated in
	 * 200 interface entries. */
	f = open_memstream(&bomb.p, &bomb.len);
	assert_non_null(f);
	fprintf(f, "peers: &p\n");
	for (i = 0; i < 1000; i++) {
		char b64[WG_KEY_B64_LEN];
		struct wg_key k = key_n((unsigned)i + 1);

		fprintf(f, "  \"%s\": {gateways: [fe80::1, 192.0.2.1]}\n",
			wg_key_to_base64(&k, b64));
	}
	fprintf(f, "interfaces:\n");
	for (i = 0; i < 200; i++)
		fprintf(f, "  wg%zu: {peers: *p}\n", i);
	assert_int_equal(fclose(f), 0);
	assert_null(load_text(bomb.p));
	free(bomb.p);
	/* wg173, the 174th entry, is the first past the bound: 6 005 nodes
	 * before the entries, then 6 004 each (three and *p's 6 001). */
	snprintf(want, sizeof(want), "%s:1176:18: more than 1048576 nodes", tmp_path);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
}

/* Anchors and aliases work anywhere, as a repeat of the anchored node. */
static void test_aliases(void **state)
{
	struct settings s;
	char want[128];

	(void)state;
	settings_from("route_metric: &m 7\n"
		      "batch_delay: *m\n"
		      "prefixes: &p [10.1.0.0/16]\n"
		      "peers: &peers {" EXAMPLE_KEY ": {gateways: &g [fe80::1]}}\n"
		      "interfaces:\n"
		      "  wg0: &e {prefixes: *p, routing_table: 5, peers: *peers}\n"
		      "  wg1: *e\n",
		      "wg1", &s);
	assert_int_equal(s.route_metric, 7);
	assert_int_equal(s.batch_delay_ms, 7000);
	assert_int_equal(s.n_prefixes, 1);
	assert_prefix(&s.prefixes[0], "10.1.0.0/16");
	assert_int_equal(s.routing_table, 5);
	assert_int_equal(s.n_peers, 1);
	assert_int_equal(s.peers[0].n_gateways, 1);
	settings_free(&s);

	/* A bad value met through an alias is reported where it is written. */
	assert_null(load_text(
		"prefixes: &p [10.1.0.0/33]\ninterfaces: {wg0: {prefixes: *p}}\n"));
	snprintf(want, sizeof(want), "%s:1:15: prefixes[0]: ", tmp_path);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);

	assert_null(load_text("route_metric: *nowhere\n"));
	snprintf(want, sizeof(want), "%s:1:15: alias *nowhere names no anchor before it",
		 tmp_path);
	assert_string_equal(err, want);
	assert_null(load_text("peers: &a {" EXAMPLE_KEY ": &a {}}\n"));
	snprintf(want, sizeof(want), "%s:1:58: anchor &a is defined twice", tmp_path);
	assert_string_equal(err, want);
	assert_null(load_text("learn_filter: &a [*a]\n"));
	snprintf(want, sizeof(want), "%s:1:19: alias *a is inside its own anchor",
		 tmp_path);
	assert_string_equal(err, want);
}

/* Every byte of file text echoed into an error stays on one line: control
 * characters, C1 controls and Unicode line separators are escaped. */
static void test_escaped_errors(void **state)
{
	static const struct {
		const char *text, *shown;
	} cases[] = {
		{"\"bad\\nkey\": 1\n", ": bad\\nkey: unknown key"},
		{"state_dir: \"run\\e[31m\\r\"\n",
		 "'run\\x1b[31m\\r' is not an absolute path"},
		{"state_dir: \"\\trun\\x7f\"\n", "'\\trun\\x7f' is not"},
		{"log_level: \"in\\x9bfo\"\n", "'in\\u009bfo' is not error"},
		{"log_level: \"in\\Lfo\\P\"\n", "'in\\u2028fo\\u2029' is not error"},
		{"interfaces: {\"wg\\n0\": {route_metric: x}}\n",
		 "interfaces.wg\\n0.route_metric: 'x' is not a number"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *c;

		assert_null(load_text(cases[i].text));
		if (!strstr(err, cases[i].shown))
			fail_msg("for %s got: %s", cases[i].text, err);
		for (c = err; *c; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	}

	/* The file's own name, too. */
	assert_null(config_load("/nonexistent/a\nb.yaml", err, sizeof(err)));
	assert_string_equal(
		err, "/nonexistent/a\\nb.yaml: cannot open: No such file or directory");
	assert_null(config_load("/nonexistent/\xff.yaml", err, sizeof(err)));
	assert_string_equal(
		err, "/nonexistent/\\xff.yaml: cannot open: No such file or directory");
}

/* A value holding a NUL is refused, not cut short at it. */
static void test_nul_in_value(void **state)
{
	char want[128];

	(void)state;
	assert_null(load_text("state_dir: \"/run/wg\\0x\"\n"));
	snprintf(want, sizeof(want),
		 "%s:1:12: state_dir: '/run/wg\\0x' holds a NUL character", tmp_path);
	assert_string_equal(err, want);
	assert_null(load_text("\"sync_routes\\0\": true\n"));
	assert_non_null(strstr(
		err, ":1:1: top level: key 'sync_routes\\0' holds a NUL character"));
}

/* Many peers and entries: every one kept, a repeat found at the end. */
static void test_many_peers(void **state)
{
	char *text = NULL, want[128];
	size_t len = 0, i;
	struct settings s;
	struct wg_key k;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	fprintf(f, "peers:\n");
	for (i = 0; i < 20000; i++) {
		char b64[WG_KEY_B64_LEN];

		k = key_n((unsigned)i + 1);
		fprintf(f, "  \"%s\": {gateways: [192.0.2.%zu]}\n",
			wg_key_to_base64(&k, b64), i % 250 + 1);
	}
	fprintf(f, "interfaces:\n");
	for (i = 0; i < 5000; i++)
		fprintf(f, "  wg%zu: {route_metric: %zu}\n", i, i);
	assert_int_equal(fflush(f), 0);
	settings_from(text, "wg4999", &s);
	assert_int_equal(s.n_peers, 20000);
	k = key_n(20000);
	assert_memory_equal(&s.peers[19999].key, &k, sizeof(k));
	assert_int_equal(s.route_metric, 4999);
	settings_free(&s);

	fprintf(f, "  wg17: {}\n");
	assert_int_equal(fclose(f), 0);
	assert_null(load_text(text));
	free(text);
	snprintf(want, sizeof(want), "%s:25003:3: interfaces.wg17: duplicate interface",
		 tmp_path);
	assert_string_equal(err, want);
}

static void test_minimal_fixture(void **state)
{
	struct config *c =
		config_load(src_path("tests/config/minimal.yaml"), err, sizeof(err));
	struct settings s;

	(void)state;
	if (!c)
		fail_msg("refused: %s", err);
	assert_true(config_manages(c, "wg0"));
	assert_true(config_manages(c, "wg1"));
	assert_false(config_manages(c, "wg2"));
	assert_int_equal(config_settings_for(c, "wg0", &s), 0);
	assert_defaults(&s);
	settings_free(&s);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_empty_lists),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_percentages),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_names_from_files),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_learns_protocol),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_fixture_errors),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_minimal_fixture),
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_dev_null),
		cmocka_unit_test(test_nesting_bound),
		cmocka_unit_test(test_node_bound),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_escaped_errors),
		cmocka_unit_test(test_nul_in_value),
		cmocka_unit_test(test_many_peers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
