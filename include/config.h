/* config.h: the YAML configuration (libcyaml) and the settings it resolves
 * to for each interface. */
#ifndef WGRS_CONFIG_H
#define WGRS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"
#include "wgkey.h"

#define EXIT_CONFIG 78 /* EX_CONFIG */

enum conflict_policy { CONFLICT_STATIC_WINS, CONFLICT_LEARNED_WINS };
enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

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

struct config; /* opaque: the parsed file */

/* Fills s with the built-in defaults of SPEC section 8. 0 or -ENOMEM. */
int settings_defaults(struct settings *s);
int settings_copy(struct settings *dst, const struct settings *src);
void settings_free(struct settings *s);
/* True when the first matching rule permits dst, or the list is empty. */
bool settings_filter_permits(const struct settings *s, const struct prefix *dst);
bool settings_learns_protocol(const struct settings *s, uint8_t protocol);

/* Loads and checks path. On error returns NULL and writes one line into err:
 * "FILE:LINE:COLUMN: KEY: what is wrong" (line and column where known). */
struct config *config_load(const char *path, char *err, size_t errlen);
/* The built-in defaults, as if from an empty file. */
struct config *config_default(void);
void config_free(struct config *c);
/* Settings for ifname: the top level, then every matching `interfaces:`
 * entry in file order (so a later entry overrides an earlier one).
 * Returns 0 or -ENOMEM. */
int config_settings_for(const struct config *c, const char *ifname, struct settings *out);
/* The top-level settings alone (daemon-wide ones such as state_dir). */
int config_settings_top(const struct config *c, struct settings *out);
/* True when the file names interfaces (so only those are managed). */
bool config_lists_interfaces(const struct config *c);
bool config_manages(const struct config *c, const char *ifname);

/* Duration text ("200ms", "1s", "5m", "1h", bare number = seconds) to ms. */
int parse_duration_ms(const char *text, uint32_t *out);

#endif
