/* settings.c: the settings of one interface (settings.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "settings.h"

const char *const settings_key_names[K_COUNT] = {
#define KEY_NAME(key, member, type, def, check) [K_##key] = #key,
	SETTINGS_KEYS(KEY_NAME)
#undef KEY_NAME
};

const struct prefix settings_default_prefixes[2] = {
	{.family = AF_INET6, .len = 32, .addr = {0xfc, 0x2f, 0x9a, 0x4d}},
	{.family = AF_INET, .len = 16, .addr = {10, 237}},
};

/* A copy of n elements of size bytes into the array at *dstp (any pointer
 * type) and its count at *dst_n: NULL and 0 when n is 0 or memory is out. */
static int dup_items(void *dstp, size_t *dst_n, const void *src, size_t n, size_t size)
{
	void *copy = n > 0 ? malloc(n * size) : NULL;

	if (copy)
		memcpy(copy, src, n * size);
	memcpy(dstp, &copy, sizeof(copy));
	*dst_n = copy ? n : 0;
	return n > 0 && !copy ? -ENOMEM : 0;
}

static void free_peers(struct peer_gateways *peers, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(peers[i].gateways);
	free(peers);
}

static int copy_peers(struct peer_gateways **dst, size_t *dst_n,
		      const struct peer_gateways *src, size_t n)
{
	size_t i;

	*dst = NULL;
	*dst_n = 0;
	if (n == 0)
		return 0;
	*dst = calloc(n, sizeof(**dst));
	if (!*dst)
		return -ENOMEM;
	*dst_n = n;
	for (i = 0; i < n; i++) {
		(*dst)[i].key = src[i].key;
		if (dup_items(&(*dst)[i].gateways, &(*dst)[i].n_gateways, src[i].gateways,
			      src[i].n_gateways, sizeof(*src[i].gateways)))
			return -ENOMEM;
	}
	return 0;
}

/* What each way of holding a value (SETTING_STORE_ in settings.h) means for
 * the defaults, a copy of one key (freeing what dst held) and free. */
#define DEFAULT_value(s, m, def) ((s)->m = (def), 0)
#define DEFAULT_list(s, m, items, n)                                                     \
	dup_items(&(s)->m, &(s)->n_##m, (items), (n), sizeof(*(s)->m))
#define DEFAULT_string(s, m, def)     (((s)->m = strdup(def)) ? 0 : -ENOMEM)
#define DEFAULT_peers(s, m, items, n) 0

#define COPY_value(d, s, m) ((d)->m = (s)->m, 0)
#define COPY_list(d, s, m)                                                               \
	(free((d)->m),                                                                   \
	 dup_items(&(d)->m, &(d)->n_##m, (s)->m, (s)->n_##m, sizeof(*(s)->m)))
#define COPY_string(d, s, m)                                                             \
	(free((d)->m), (d)->m = (s)->m ? strdup((s)->m) : NULL,                          \
	 (s)->m && !(d)->m ? -ENOMEM : 0)
#define COPY_peers(d, s, m)                                                              \
	(free_peers((d)->m, (d)->n_##m),                                                 \
	 copy_peers(&(d)->m, &(d)->n_##m, (s)->m, (s)->n_##m))

#define FREE_value(s, m)
#define FREE_list(s, m)	  free((s)->m);
#define FREE_string(s, m) free((s)->m);
#define FREE_peers(s, m)  free_peers((s)->m, (s)->n_##m);

int settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof(*s));
#define SET_DEFAULT(key, member, type, def, check)                                       \
	if (SETTING_BY_STORE(DEFAULT, type, s, member, def))                             \
		goto oom;
	SETTINGS_KEYS(SET_DEFAULT)
#undef SET_DEFAULT
	return 0;
oom:
	settings_free(s);
	return -ENOMEM;
}

void settings_free(struct settings *s)
{
	if (!s)
		return;
#define FREE_KEY(key, member, type, def, check) SETTING_BY_STORE(FREE, type, s, member)
	SETTINGS_KEYS(FREE_KEY)
#undef FREE_KEY
	memset(s, 0, sizeof(*s));
}

/* Copies the value of one key from src into dst, freeing what dst held. */
static int copy_key(struct settings *dst, const struct settings *src, enum setting_key k)
{
	switch (k) {
#define COPY_KEY(key, member, type, def, check)                                          \
	case K_##key:                                                                    \
		return SETTING_BY_STORE(COPY, type, dst, src, member);
		SETTINGS_KEYS(COPY_KEY)
#undef COPY_KEY
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
