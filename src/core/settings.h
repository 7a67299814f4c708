/* settings.h: what governs one interface, as plain data: the keys of the
 * configuration (docs/spec.md section 8) resolved for it. The config module fills
 * it from YAML; the core only reads it. */
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
	uint32_t resync_interval_ms;
	uint32_t batch_delay_ms;
	char *state_dir;
	bool cleanup_on_exit;
	enum log_level log_level;
	size_t n_peers;
	struct peer_gateways *peers;
};

/* The settings keys, in the order of docs/spec.md 8.2. A bit per key records
 * which ones an `interfaces:` entry sets. */
enum setting_key {
	K_SYNC_ROUTES,
	K_ROUTING_TABLE,
	K_WATCH_ROUTES,
	K_ROUTE_PROTOCOL,
	K_PREFIXES,
	K_LEARN_PROTOCOLS,
	K_LEARN_FILTER,
	K_MAX_LEARNED_PREFIXES,
	K_CONFLICT,
	K_INSTALL_ROUTES,
	K_INSTALL_DEFAULT_ROUTES,
	K_ROUTE_METRIC,
	K_WG_POLL_INTERVAL,
	K_RESYNC_INTERVAL,
	K_BATCH_DELAY,
	K_STATE_DIR,
	K_CLEANUP_ON_EXIT,
	K_LOG_LEVEL,
	K_PEERS,
	K_COUNT
};

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
