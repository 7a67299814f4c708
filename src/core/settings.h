/* settings.h: what governs one interface, as plain data: the keys of the
 * configuration (docs/spec.md section 8) resolved for it, and the one table of
 * keys. The config module fills it from YAML; the core only reads it. */
#ifndef WGRS_SETTINGS_H
#define WGRS_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "prefix.h"
#include "wgkey.h"

enum conflict_policy { CONFLICT_STATIC_WINS, CONFLICT_LEARNED_WINS };

/* A prefix-list entry: dst matches when it lies within prefix and its length
 * is in [ge, le]; without ge and le only prefix.len itself matches. */
struct filter_rule {
	bool permit;
	struct prefix prefix;
	uint8_t ge, le; /* already defaulted: ge = prefix.len, le = ge or max */
};

struct peer_gateways {
	struct wg_key key;
	size_t n_gateways;
	struct prefix *gateways; /* addresses, in configuration order */
};

/* Everything that governs one interface. Arrays are owned. */
struct settings {
	bool sync_routes;
	uint32_t routing_table;
	bool watch_routes;
	uint8_t route_protocol;
	size_t n_prefixes;
	struct prefix *prefixes;
	size_t n_learn_protocols;
	uint8_t *learn_protocols;
	size_t n_learn_filter;
	struct filter_rule *learn_filter;
	uint32_t max_learned_prefixes; /* 0: no limit */
	enum conflict_policy conflict;
	bool install_routes;
	bool install_default_routes;
	uint32_t route_metric;
	uint32_t wg_poll_interval_ms;
	uint32_t wg_poll_budget; /* hundredths of a percent; 0: none */
	uint32_t resync_interval_ms;
	uint32_t batch_delay_ms;
	char *state_dir;
	bool cleanup_on_exit;
	enum log_level log_level;
	size_t n_peers;
	struct peer_gateways *peers;
};

/* The keys, in the order of docs/spec.md 8.2: X(key, member, type, default,
 * check). Everything that lists the keys is made from this table: enum
 * setting_key (K_<key>), settings_key_names, the defaults, copy and free
 * (settings.c), and the loader's conversion (config/convert.c).
 *   key     the name in the file
 *   member  where struct settings holds the value
 *   type    how the loader reads it (convert_<type>) and how it is held
 *           (SETTING_STORE_<type> below)
 *   default the value of an empty file; a list's is SETTING_ITEMS(array) or
 *           SETTING_NO_ITEMS
 *   check   what the loader asks beyond the type (check_<check>)
 * A new key is one line here, plus a converter and a SETTING_STORE_ line
 * when its type is new. */
#define SETTINGS_KEYS(X)                                                                 \
	X(sync_routes, sync_routes, boolean, true, any)                                  \
	X(routing_table, routing_table, table, 254, any)                                 \
	X(watch_routes, watch_routes, boolean, true, any)                                \
	X(route_protocol, route_protocol, protocol, 98, not_kernel)                      \
	X(prefixes, prefixes, prefixes, SETTING_ITEMS(settings_default_prefixes), any)   \
	X(learn_protocols, learn_protocols, protocols, SETTING_NO_ITEMS, any)            \
	X(learn_filter, learn_filter, filter, SETTING_NO_ITEMS, any)                     \
	X(max_learned_prefixes, max_learned_prefixes, count, 0, any)                     \
	X(conflict, conflict, conflict, CONFLICT_STATIC_WINS, any)                       \
	X(install_routes, install_routes, boolean, true, any)                            \
	X(install_default_routes, install_default_routes, boolean, false, any)           \
	X(route_metric, route_metric, count, 0, any)                                     \
	X(wg_poll_interval, wg_poll_interval_ms, duration, 1000, positive)               \
	X(wg_poll_budget, wg_poll_budget, percent, 50, any)                              \
	X(resync_interval, resync_interval_ms, duration, 300 * 1000, positive)           \
	X(batch_delay, batch_delay_ms, duration, 0, any)                                 \
	X(state_dir, state_dir, path, "/run/wg-rtsync", any)                             \
	X(cleanup_on_exit, cleanup_on_exit, boolean, false, any)                         \
	X(log_level, log_level, log_level, LOG_LEVEL_INFO, any)                          \
	X(peers, peers, peers, SETTING_NO_ITEMS, any)

/* The default of `prefixes` (SETTING_ITEMS above): fc2f:9a4d::/32, 10.237.0.0/16. */
extern const struct prefix settings_default_prefixes[2];

/* How a value of each type is held:
 *   value   a member copied by assignment
 *   list    an array `member` of `n_member` elements
 *   string  a malloc'd string
 *   peers   a list of peers, each with a list of gateways */
#define SETTING_STORE_boolean	value
#define SETTING_STORE_table	value
#define SETTING_STORE_protocol	value
#define SETTING_STORE_count	value
#define SETTING_STORE_duration	value
#define SETTING_STORE_percent	value
#define SETTING_STORE_conflict	value
#define SETTING_STORE_log_level value
#define SETTING_STORE_prefixes	list
#define SETTING_STORE_protocols list
#define SETTING_STORE_filter	list
#define SETTING_STORE_path	string
#define SETTING_STORE_peers	peers

/* SETTING_BY_STORE(OP, type, args...) is OP_<how type is held>(args...). */
#define SETTING_BY_STORE(op, type, ...)                                                  \
	SETTING_BY_STORE_(op, SETTING_STORE_##type, __VA_ARGS__)
#define SETTING_BY_STORE_(op, store, ...)  SETTING_BY_STORE__(op, store, __VA_ARGS__)
#define SETTING_BY_STORE__(op, store, ...) op##_##store(__VA_ARGS__)
#define SETTING_ITEMS(array)		   (array), sizeof(array) / sizeof((array)[0])
#define SETTING_NO_ITEMS		   NULL, 0

/* clang-format off */
enum setting_key {
#define SETTING_ENUM(key, member, type, def, check) K_##key,
	SETTINGS_KEYS(SETTING_ENUM)
#undef SETTING_ENUM
	K_COUNT
};
/* clang-format on */

/* A bit per key records which ones an `interfaces:` entry sets. */
_Static_assert(K_COUNT <= 32, "the key masks are 32 bits");

/* The names of the keys, indexed by enum setting_key. */
extern const char *const settings_key_names[K_COUNT];

/* Fills s with the built-in defaults of docs/spec.md 8.2. 0 or -ENOMEM. */
int settings_defaults(struct settings *s);
int settings_copy(struct settings *dst, const struct settings *src);
void settings_free(struct settings *s);
/* True when the first matching rule permits dst, or the list is empty. */
bool settings_filter_permits(const struct settings *s, const struct prefix *dst);
bool settings_learns_protocol(const struct settings *s, uint8_t protocol);

/* Applies the keys in mask (a bit per enum setting_key) from src onto dst.
 * 0 or -ENOMEM. */
int settings_apply_keys(struct settings *dst, const struct settings *src, uint32_t mask);

#endif
