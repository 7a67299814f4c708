/* settings.c: the settings of one interface (settings.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "settings.h"

const char *const settings_key_names[K_COUNT] = {
	"sync_routes",
	"routing_table",
	"watch_routes",
	"route_protocol",
	"prefixes",
	"learn_protocols",
	"learn_filter",
	"max_learned_prefixes",
	"conflict",
	"install_routes",
	"install_default_routes",
	"route_metric",
	"wg_poll_interval",
	"resync_interval",
	"batch_delay",
	"state_dir",
	"cleanup_on_exit",
	"log_level",
	"peers",
};

int settings_defaults(struct settings *s)
{
	static const struct prefix default_prefixes[] = {
		{.family = AF_INET6, .len = 32, .addr = {0xfc, 0x2f, 0x9a, 0x4d}},
		{.family = AF_INET, .len = 16, .addr = {10, 237}},
	};

	memset(s, 0, sizeof(*s));
	s->sync_routes = true;
	s->routing_table = 254;
	s->watch_routes = true;
	s->route_protocol = 98;
	s->conflict = CONFLICT_STATIC_WINS;
	s->install_routes = true;
	s->wg_poll_interval_ms = 1000;
	s->resync_interval_ms = 300 * 1000;
	s->log_level = LOG_LEVEL_INFO;
	s->prefixes = malloc(sizeof(default_prefixes));
	s->state_dir = strdup("/run/wg-rtsync");
	if (!s->prefixes || !s->state_dir) {
		settings_free(s);
		return -ENOMEM;
	}
	memcpy(s->prefixes, default_prefixes, sizeof(default_prefixes));
	s->n_prefixes = 2;
	return 0;
}

void settings_free(struct settings *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_peers; i++)
		free(s->peers[i].gateways);
	free(s->peers);
	free(s->prefixes);
	free(s->learn_protocols);
	free(s->learn_filter);
	free(s->state_dir);
	memset(s, 0, sizeof(*s));
}

/* malloc + memcpy that maps an empty array to NULL. */
static int dup_array(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (n == 0)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

static int copy_peers(struct settings *dst, const struct settings *src)
{
	size_t i;

	dst->peers = NULL;
	dst->n_peers = 0;
	if (src->n_peers == 0)
		return 0;
	dst->peers = calloc(src->n_peers, sizeof(*dst->peers));
	if (!dst->peers)
		return -ENOMEM;
	dst->n_peers = src->n_peers;
	for (i = 0; i < src->n_peers; i++) {
		const struct peer_gateways *p = &src->peers[i];

		dst->peers[i].key = p->key;
		dst->peers[i].n_gateways = p->n_gateways;
		if (dup_array((void **)&dst->peers[i].gateways, p->gateways,
			      p->n_gateways, sizeof(*p->gateways)))
			return -ENOMEM;
	}
	return 0;
}

/* Copies the value of one key from src into dst, freeing what dst held. */
static int copy_key(struct settings *dst, const struct settings *src, enum setting_key k)
{
	switch (k) {
	case K_SYNC_ROUTES:
		dst->sync_routes = src->sync_routes;
		break;
	case K_ROUTING_TABLE:
		dst->routing_table = src->routing_table;
		break;
	case K_WATCH_ROUTES:
		dst->watch_routes = src->watch_routes;
		break;
	case K_ROUTE_PROTOCOL:
		dst->route_protocol = src->route_protocol;
		break;
	case K_PREFIXES:
		free(dst->prefixes);
		dst->n_prefixes = src->n_prefixes;
		return dup_array((void **)&dst->prefixes, src->prefixes, src->n_prefixes,
				 sizeof(*src->prefixes));
	case K_LEARN_PROTOCOLS:
		free(dst->learn_protocols);
		dst->n_learn_protocols = src->n_learn_protocols;
		return dup_array((void **)&dst->learn_protocols, src->learn_protocols,
				 src->n_learn_protocols, sizeof(*src->learn_protocols));
	case K_LEARN_FILTER:
		free(dst->learn_filter);
		dst->n_learn_filter = src->n_learn_filter;
		return dup_array((void **)&dst->learn_filter, src->learn_filter,
				 src->n_learn_filter, sizeof(*src->learn_filter));
	case K_MAX_LEARNED_PREFIXES:
		dst->max_learned_prefixes = src->max_learned_prefixes;
		break;
	case K_CONFLICT:
		dst->conflict = src->conflict;
		break;
	case K_INSTALL_ROUTES:
		dst->install_routes = src->install_routes;
		break;
	case K_INSTALL_DEFAULT_ROUTES:
		dst->install_default_routes = src->install_default_routes;
		break;
	case K_ROUTE_METRIC:
		dst->route_metric = src->route_metric;
		break;
	case K_WG_POLL_INTERVAL:
		dst->wg_poll_interval_ms = src->wg_poll_interval_ms;
		break;
	case K_RESYNC_INTERVAL:
		dst->resync_interval_ms = src->resync_interval_ms;
		break;
	case K_BATCH_DELAY:
		dst->batch_delay_ms = src->batch_delay_ms;
		break;
	case K_STATE_DIR:
		free(dst->state_dir);
		dst->state_dir = src->state_dir ? strdup(src->state_dir) : NULL;
		return src->state_dir && !dst->state_dir ? -ENOMEM : 0;
	case K_CLEANUP_ON_EXIT:
		dst->cleanup_on_exit = src->cleanup_on_exit;
		break;
	case K_LOG_LEVEL:
		dst->log_level = src->log_level;
		break;
	case K_PEERS: {
		struct settings old = {.peers = dst->peers, .n_peers = dst->n_peers};

		settings_free(&old);
		return copy_peers(dst, src);
	}
	case K_COUNT:
		break;
	}
	return 0;
}

/* Applies the keys in mask from src onto dst. */
int settings_apply_keys(struct settings *dst, const struct settings *src, uint32_t mask)
{
	int k;

	for (k = 0; k < K_COUNT; k++) {
		if ((mask & (1u << k)) && copy_key(dst, src, k))
			return -ENOMEM;
	}
	return 0;
}

int settings_copy(struct settings *dst, const struct settings *src)
{
	memset(dst, 0, sizeof(*dst));
	if (settings_apply_keys(dst, src, (1u << K_COUNT) - 1)) {
		settings_free(dst);
		return -ENOMEM;
	}
	return 0;
}

bool settings_filter_permits(const struct settings *s, const struct prefix *dst)
{
	size_t i;

	if (s->n_learn_filter == 0)
		return true;
	for (i = 0; i < s->n_learn_filter; i++) {
		const struct filter_rule *r = &s->learn_filter[i];

		if (prefix_contains(&r->prefix, dst) && dst->len >= r->ge &&
		    dst->len <= r->le)
			return r->permit;
	}
	return false;
}

bool settings_learns_protocol(const struct settings *s, uint8_t protocol)
{
	size_t i;

	/* A route with our own protocol is ours, never one to learn from. */
	if (protocol == s->route_protocol)
		return false;
	if (s->n_learn_protocols == 0)
		return true;
	for (i = 0; i < s->n_learn_protocols; i++) {
		if (s->learn_protocols[i] == protocol)
			return true;
	}
	return false;
}
