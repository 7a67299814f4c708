/* vector_load.c: conformance vectors, YAML (libcyaml) to model structs.
 *
 * Every scalar is read as text and parsed here, so that an absent field is
 * told apart from a zero one and bad text gets an error naming the field.
 * libcyaml cannot tell an absent list from an empty one, and for `prefixes`
 * the two differ (absent: the default; []: off), so the presence of the
 * settings lists is looked up in the libyaml document of the same file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>
#include <yaml.h>

#include "vector_load.h"

/* ---- raw form, as libcyaml fills it ---- */

struct raw_filter {
	char *action, *prefix, *ge, *le;
};

struct raw_peer_gw {
	char *key;
	char **gateways;
	unsigned gateways_count;
};

struct raw_settings {
	char *routing_table, *route_protocol, *max_learned_prefixes, *conflict;
	char *install_routes, *install_default_routes, *route_metric;
	char **prefixes;
	unsigned prefixes_count;
	char **learn_protocols;
	unsigned learn_protocols_count;
	struct raw_filter *learn_filter;
	unsigned learn_filter_count;
	struct raw_peer_gw *peers;
	unsigned peers_count;
};

struct raw_nexthop {
	char *gw, *oif;
};

/* An event, a change, a route or an expected route: one struct, several
 * schemas, each allowing only its own keys. */
struct raw_item {
	char *op, *dst, *prefix, *peer, *learned, *gw, *table, *protocol, *type;
	char *tos, *metric, *oif, *nhid, *displaced, *replace;
	struct raw_nexthop *nexthops;
	unsigned nexthops_count;
	char **addresses;
	unsigned addresses_count;
	struct raw_settings *settings;
};

struct raw_peer {
	char *key;
	char **allowed_ips;
	unsigned allowed_ips_count;
};

struct raw_state {
	struct raw_peer *peers;
	unsigned peers_count;
	struct raw_item *routes;
	unsigned routes_count;
	struct raw_item *owned;
	unsigned owned_count;
};

struct raw_step {
	char *full;
	struct raw_item *events;
	unsigned events_count;
	struct raw_item *changes;
	unsigned changes_count;
	struct raw_state *state;
};

struct raw_iface {
	char *ifindex;
	char **addresses;
	unsigned addresses_count;
};

struct raw_wg {
	char *pubkey;
	struct raw_peer *peers;
	unsigned peers_count;
};

struct raw_vector {
	char *name, *description;
	struct raw_settings *settings;
	struct raw_iface *interface;
	struct raw_wg *wireguard;
	struct raw_item *routes;
	unsigned routes_count;
	struct raw_item *owned;
	unsigned owned_count;
	struct raw_step *steps;
	unsigned steps_count;
};

/* ---- schema ---- */

#define OPT		CYAML_FLAG_OPTIONAL
#define STR(key, st, m) CYAML_FIELD_STRING_PTR(key, OPT, st, m, 0, CYAML_UNLIMITED)
#define STR_REQ(key, st, m)                                                              \
	CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_DEFAULT, st, m, 0, CYAML_UNLIMITED)
#define SEQ(key, flags, st, m, entry)                                                    \
	CYAML_FIELD_SEQUENCE(key, (flags) | CYAML_FLAG_POINTER, st, m, entry, 0,         \
			     CYAML_UNLIMITED)

static const cyaml_schema_value_t str_entry = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t filter_fields[] = {
	STR_REQ("action", struct raw_filter, action),
	STR_REQ("prefix", struct raw_filter, prefix),
	STR("ge", struct raw_filter, ge),
	STR("le", struct raw_filter, le),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t filter_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_filter, filter_fields),
};

static const cyaml_schema_field_t peer_gw_fields[] = {
	STR_REQ("key", struct raw_peer_gw, key),
	SEQ("gateways", OPT, struct raw_peer_gw, gateways, &str_entry),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t peer_gw_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_peer_gw, peer_gw_fields),
};

static const cyaml_schema_field_t settings_fields[] = {
	STR("routing_table", struct raw_settings, routing_table),
	STR("route_protocol", struct raw_settings, route_protocol),
	SEQ("prefixes", OPT, struct raw_settings, prefixes, &str_entry),
	SEQ("learn_protocols", OPT, struct raw_settings, learn_protocols, &str_entry),
	SEQ("learn_filter", OPT, struct raw_settings, learn_filter, &filter_entry),
	STR("max_learned_prefixes", struct raw_settings, max_learned_prefixes),
	STR("conflict", struct raw_settings, conflict),
	STR("install_routes", struct raw_settings, install_routes),
	STR("install_default_routes", struct raw_settings, install_default_routes),
	STR("route_metric", struct raw_settings, route_metric),
	SEQ("peers", OPT, struct raw_settings, peers, &peer_gw_entry),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t nexthop_fields[] = {
	STR("gw", struct raw_nexthop, gw),
	STR_REQ("oif", struct raw_nexthop, oif),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t nexthop_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_nexthop, nexthop_fields),
};

#define ROUTE_FIELDS                                                                     \
	STR("table", struct raw_item, table),                                            \
		STR("protocol", struct raw_item, protocol),                              \
		STR("type", struct raw_item, type), STR("tos", struct raw_item, tos),    \
		STR("metric", struct raw_item, metric),                                  \
		STR("nhid", struct raw_item, nhid),                                      \
		SEQ("nexthops", OPT, struct raw_item, nexthops, &nexthop_entry)

static const cyaml_schema_field_t route_fields[] = {
	STR_REQ("dst", struct raw_item, dst),
	ROUTE_FIELDS,
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t route_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_item, route_fields),
};

static const cyaml_schema_field_t event_fields[] = {
	STR_REQ("op", struct raw_item, op),
	STR("dst", struct raw_item, dst),
	ROUTE_FIELDS,
	STR("peer", struct raw_item, peer),
	STR("prefix", struct raw_item, prefix),
	SEQ("addresses", OPT, struct raw_item, addresses, &str_entry),
	CYAML_FIELD_MAPPING_PTR("settings", OPT, struct raw_item, settings,
				settings_fields),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t event_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_item, event_fields),
};

#define SPEC_FIELDS                                                                      \
	STR("gw", struct raw_item, gw), STR("table", struct raw_item, table),            \
		STR("protocol", struct raw_item, protocol),                              \
		STR("tos", struct raw_item, tos),                                        \
		STR("metric", struct raw_item, metric), STR("oif", struct raw_item, oif)

static const cyaml_schema_field_t change_fields[] = {
	STR_REQ("op", struct raw_item, op),
	STR("peer", struct raw_item, peer),
	STR("prefix", struct raw_item, prefix),
	STR("learned", struct raw_item, learned),
	STR("replace", struct raw_item, replace),
	STR("dst", struct raw_item, dst),
	SPEC_FIELDS,
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t change_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_item, change_fields),
};

static const cyaml_schema_field_t spec_fields[] = {
	STR_REQ("dst", struct raw_item, dst),
	SPEC_FIELDS,
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t spec_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_item, spec_fields),
};

static const cyaml_schema_field_t own_fields[] = {
	STR_REQ("peer", struct raw_item, peer),
	STR_REQ("prefix", struct raw_item, prefix),
	STR("displaced", struct raw_item, displaced),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t own_entry_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_item, own_fields),
};

static const cyaml_schema_field_t peer_fields[] = {
	STR_REQ("key", struct raw_peer, key),
	SEQ("allowed_ips", OPT, struct raw_peer, allowed_ips, &str_entry),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t peer_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_peer, peer_fields),
};

static const cyaml_schema_field_t state_fields[] = {
	SEQ("peers", OPT, struct raw_state, peers, &peer_entry),
	SEQ("routes", OPT, struct raw_state, routes, &spec_entry),
	SEQ("owned", OPT, struct raw_state, owned, &own_entry_schema),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t step_fields[] = {
	STR("full", struct raw_step, full),
	SEQ("events", OPT, struct raw_step, events, &event_entry),
	SEQ("changes", CYAML_FLAG_DEFAULT, struct raw_step, changes, &change_entry),
	CYAML_FIELD_MAPPING_PTR("state", OPT, struct raw_step, state, state_fields),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t step_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_step, step_fields),
};

static const cyaml_schema_field_t iface_fields[] = {
	STR_REQ("ifindex", struct raw_iface, ifindex),
	SEQ("addresses", OPT, struct raw_iface, addresses, &str_entry),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t wg_fields[] = {
	STR("pubkey", struct raw_wg, pubkey),
	SEQ("peers", OPT, struct raw_wg, peers, &peer_entry),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t vector_fields[] = {
	STR_REQ("name", struct raw_vector, name),
	STR("description", struct raw_vector, description),
	/* A place for YAML anchors (&A key) that the rest refers to (*A). */
	CYAML_FIELD_IGNORE("keys", OPT),
	CYAML_FIELD_MAPPING_PTR("settings", OPT, struct raw_vector, settings,
				settings_fields),
	CYAML_FIELD_MAPPING_PTR("interface", CYAML_FLAG_DEFAULT, struct raw_vector,
				interface, iface_fields),
	CYAML_FIELD_MAPPING_PTR("wireguard", CYAML_FLAG_DEFAULT, struct raw_vector,
				wireguard, wg_fields),
	SEQ("routes", OPT, struct raw_vector, routes, &route_entry),
	SEQ("owned", OPT, struct raw_vector, owned, &own_entry_schema),
	CYAML_FIELD_SEQUENCE("steps", CYAML_FLAG_POINTER, struct raw_vector, steps,
			     &step_entry, 1, CYAML_UNLIMITED),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t vector_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_vector, vector_fields),
};

/* ---- errors ---- */

struct ctx {
	const char *path;
	char *err;
	size_t errlen;
	char where[160];
	yaml_document_t doc;
	bool have_doc;
	const struct settings *cur; /* settings in force, for defaults */
	int ifindex;
};

static int fail(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s: %s", c->path, c->where, what);
	return -EINVAL;
}

static void where(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void where(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->where, sizeof(c->where), fmt, ap);
	va_end(ap);
}

/* ---- scalars ---- */

static int parse_u32(struct ctx *c, const char *field, const char *text, uint32_t max,
		     uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v > max)
		return fail(c, "%s: '%s' is not a number in 0..%u", field, text, max);
	*out = (uint32_t)v;
	return 0;
}

static int opt_u32(struct ctx *c, const char *field, const char *text, uint32_t max,
		   uint32_t dflt, uint32_t *out)
{
	if (!text) {
		*out = dflt;
		return 0;
	}
	return parse_u32(c, field, text, max, out);
}

static int opt_u8(struct ctx *c, const char *field, const char *text, uint8_t dflt,
		  uint8_t *out)
{
	uint32_t v = dflt;
	int ret = opt_u32(c, field, text, 255, dflt, &v);

	if (!ret)
		*out = (uint8_t)v;
	return ret;
}

static int parse_bool(struct ctx *c, const char *field, const char *text, bool *out)
{
	if (!strcmp(text, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(text, "false")) {
		*out = false;
		return 0;
	}
	return fail(c, "%s: '%s' is not true or false", field, text);
}

static int parse_key(struct ctx *c, const char *field, const char *text,
		     struct wg_key *out)
{
	if (!text)
		return fail(c, "%s: missing", field);
	if (wg_key_from_base64(text, out) != 0)
		return fail(c, "%s: '%s' is not a base64 public key", field, text);
	return 0;
}

static int parse_prefix(struct ctx *c, const char *field, const char *text,
			struct prefix *out)
{
	if (!text)
		return fail(c, "%s: missing", field);
	if (prefix_parse(text, out) != 0)
		return fail(c, "%s: '%s' is not a prefix", field, text);
	return 0;
}

static int parse_addr(struct ctx *c, const char *field, const char *text,
		      struct prefix *out)
{
	memset(out, 0, sizeof(*out));
	if (!text)
		return 0;
	if (addr_parse(text, out) != 0)
		return fail(c, "%s: '%s' is not an address", field, text);
	return 0;
}

static int parse_type(struct ctx *c, const char *text, uint8_t *out)
{
	static const char *names[] = {"unspec",	   "unicast",	  "local",
				      "broadcast", "anycast",	  "multicast",
				      "blackhole", "unreachable", "prohibit"};

	if (!text) {
		*out = ROUTE_TYPE_UNICAST;
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(text, names[i])) {
			*out = (uint8_t)i;
			return 0;
		}
	}
	return opt_u8(c, "type", text, ROUTE_TYPE_UNICAST, out);
}

static int parse_prefix_list(struct ctx *c, const char *field, char **text, unsigned n,
			     bool keep_host, struct prefix **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*n_out = n;
	for (unsigned i = 0; i < n; i++) {
		int ret = keep_host ? prefix_parse_keep_host(text[i], &(*out)[i])
				    : prefix_parse(text[i], &(*out)[i]);
		if (ret != 0)
			return fail(c, "%s[%u]: '%s' is not a prefix", field, i, text[i]);
	}
	return 0;
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static yaml_node_t *seq_get(yaml_document_t *d, yaml_node_t *s, size_t i)
{
	if (!s || s->type != YAML_SEQUENCE_NODE ||
	    i >= (size_t)(s->data.sequence.items.top - s->data.sequence.items.start))
		return NULL;
	return yaml_document_get_node(d, s->data.sequence.items.start[i]);
}

static int parse_filter(struct ctx *c, const struct raw_filter *r, struct filter_rule *f)
{
	uint32_t ge = 0, le = 0, max;

	if (!strcmp(r->action, "permit"))
		f->permit = true;
	else if (!strcmp(r->action, "deny"))
		f->permit = false;
	else
		return fail(c, "learn_filter: action '%s' is not permit or deny",
			    r->action);
	if (parse_prefix(c, "learn_filter: prefix", r->prefix, &f->prefix))
		return -EINVAL;
	max = prefix_family_bits(f->prefix.family);
	if (opt_u32(c, "learn_filter: ge", r->ge, max, f->prefix.len, &ge) ||
	    opt_u32(c, "learn_filter: le", r->le, max, r->ge ? max : ge, &le))
		return -EINVAL;
	if (ge < f->prefix.len || le < ge)
		return fail(c, "learn_filter: need len <= ge <= le");
	f->ge = (uint8_t)ge;
	f->le = (uint8_t)le;
	return 0;
}

/* Applies the keys present in r onto s; node is r's libyaml node, which tells
 * which lists were given (even empty ones). */
static int apply_settings(struct ctx *c, const struct raw_settings *r, yaml_node_t *node,
			  struct settings *s)
{
	yaml_document_t *d = &c->doc;
	int ret;

	if (!r)
		return 0;
	if (opt_u32(c, "routing_table", r->routing_table, UINT32_MAX, s->routing_table,
		    &s->routing_table) ||
	    opt_u8(c, "route_protocol", r->route_protocol, s->route_protocol,
		   &s->route_protocol) ||
	    opt_u32(c, "max_learned_prefixes", r->max_learned_prefixes, UINT32_MAX,
		    s->max_learned_prefixes, &s->max_learned_prefixes) ||
	    opt_u32(c, "route_metric", r->route_metric, UINT32_MAX, s->route_metric,
		    &s->route_metric))
		return -EINVAL;
	if (r->install_routes &&
	    parse_bool(c, "install_routes", r->install_routes, &s->install_routes))
		return -EINVAL;
	if (r->install_default_routes &&
	    parse_bool(c, "install_default_routes", r->install_default_routes,
		       &s->install_default_routes))
		return -EINVAL;
	if (r->conflict) {
		if (!strcmp(r->conflict, "static-wins"))
			s->conflict = CONFLICT_STATIC_WINS;
		else if (!strcmp(r->conflict, "learned-wins"))
			s->conflict = CONFLICT_LEARNED_WINS;
		else
			return fail(c,
				    "conflict: '%s' is not static-wins or learned-wins",
				    r->conflict);
	}
	if (map_get(d, node, "prefixes")) {
		free(s->prefixes);
		ret = parse_prefix_list(c, "prefixes", r->prefixes, r->prefixes_count,
					false, &s->prefixes, &s->n_prefixes);
		if (ret)
			return ret;
	}
	if (map_get(d, node, "learn_protocols")) {
		free(s->learn_protocols);
		s->n_learn_protocols = 0;
		s->learn_protocols = calloc(r->learn_protocols_count + 1, 1);
		if (!s->learn_protocols)
			return -ENOMEM;
		for (unsigned i = 0; i < r->learn_protocols_count; i++) {
			if (opt_u8(c, "learn_protocols", r->learn_protocols[i], 0,
				   &s->learn_protocols[i]))
				return -EINVAL;
			s->n_learn_protocols++;
		}
	}
	if (map_get(d, node, "learn_filter")) {
		free(s->learn_filter);
		s->n_learn_filter = 0;
		s->learn_filter =
			calloc(r->learn_filter_count + 1, sizeof(*s->learn_filter));
		if (!s->learn_filter)
			return -ENOMEM;
		for (unsigned i = 0; i < r->learn_filter_count; i++) {
			if (parse_filter(c, &r->learn_filter[i], &s->learn_filter[i]))
				return -EINVAL;
			s->n_learn_filter++;
		}
	}
	if (map_get(d, node, "peers")) {
		for (size_t i = 0; i < s->n_peers; i++)
			free(s->peers[i].gateways);
		free(s->peers);
		s->n_peers = 0;
		s->peers = calloc(r->peers_count + 1, sizeof(*s->peers));
		if (!s->peers)
			return -ENOMEM;
		for (unsigned i = 0; i < r->peers_count; i++) {
			struct peer_gateways *pg = &s->peers[i];
			const struct raw_peer_gw *rp = &r->peers[i];

			s->n_peers++;
			if (parse_key(c, "peers: key", rp->key, &pg->key))
				return -EINVAL;
			pg->gateways =
				calloc(rp->gateways_count + 1, sizeof(*pg->gateways));
			if (!pg->gateways)
				return -ENOMEM;
			for (unsigned j = 0; j < rp->gateways_count; j++) {
				if (addr_parse(rp->gateways[j], &pg->gateways[j]) != 0)
					return fail(
						c,
						"peers: gateways: '%s' is not an address",
						rp->gateways[j]);
				pg->n_gateways++;
			}
		}
	}
	return 0;
}

/* ---- routes, events, changes ---- */

/* The default metric of a route: 0, except for a route of protocol P: our
 * route_metric, which Linux stores at 1024 for IPv6 when it is 0. */
static uint32_t our_metric(const struct ctx *c, const struct kroute *rt)
{
	if (rt->protocol != c->cur->route_protocol)
		return 0;
	if (!c->cur->route_metric && rt->dst.family == AF_INET6)
		return 1024;
	return c->cur->route_metric;
}

static int parse_route(struct ctx *c, const struct raw_item *r, struct kroute *rt)
{
	uint32_t nhid;

	memset(rt, 0, sizeof(*rt));
	if (!r->protocol)
		return fail(c, "protocol: missing (every route names its protocol)");
	if (parse_prefix(c, "dst", r->dst, &rt->dst) ||
	    opt_u8(c, "protocol", r->protocol, 0, &rt->protocol) ||
	    opt_u32(c, "table", r->table, UINT32_MAX, c->cur->routing_table,
		    &rt->table) ||
	    parse_type(c, r->type, &rt->type) || opt_u8(c, "tos", r->tos, 0, &rt->tos) ||
	    opt_u32(c, "metric", r->metric, UINT32_MAX, our_metric(c, rt), &rt->metric) ||
	    opt_u32(c, "nhid", r->nhid, UINT32_MAX, 0, &nhid))
		return -EINVAL;
	if (r->nexthops_count == 0)
		return 0;
	rt->nexthops = calloc(r->nexthops_count, sizeof(*rt->nexthops));
	if (!rt->nexthops)
		return -ENOMEM;
	rt->n_nexthops = r->nexthops_count;
	for (unsigned i = 0; i < r->nexthops_count; i++) {
		uint32_t oif = 0;

		if (parse_addr(c, "nexthops: gw", r->nexthops[i].gw,
			       &rt->nexthops[i].gw) ||
		    parse_u32(c, "nexthops: oif", r->nexthops[i].oif, INT32_MAX, &oif))
			return -EINVAL;
		rt->nexthops[i].oif = (int)oif;
	}
	return 0;
}

static int parse_routes(struct ctx *c, const struct raw_item *r, unsigned n,
			struct kroute **out, size_t *n_out)
{
	*out = calloc(n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		where(c, "routes[%u]", i);
		(*n_out)++;
		if (parse_route(c, &r[i], &(*out)[i]))
			return -EINVAL;
	}
	return 0;
}

static int parse_owned(struct ctx *c, const struct raw_item *r, unsigned n,
		       struct own_entry **out, size_t *n_out)
{
	*out = calloc(n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*n_out = n;
	for (unsigned i = 0; i < n; i++) {
		struct own_entry *e = &(*out)[i];

		if (parse_key(c, "owned: peer", r[i].peer, &e->peer) ||
		    parse_prefix(c, "owned: prefix", r[i].prefix, &e->dst))
			return -EINVAL;
		if (r[i].displaced &&
		    parse_key(c, "owned: displaced", r[i].displaced, &e->displaced))
			return -EINVAL;
	}
	return 0;
}

static int parse_peers(struct ctx *c, const struct raw_peer *r, unsigned n,
		       struct wg_device *dev)
{
	dev->peers = calloc(n + 1, sizeof(*dev->peers));
	if (!dev->peers)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct wg_peer *p = &dev->peers[i];

		dev->n_peers++;
		if (parse_key(c, "peers: key", r[i].key, &p->key) ||
		    parse_prefix_list(c, "peers: allowed_ips", r[i].allowed_ips,
				      r[i].allowed_ips_count, false, &p->allowed,
				      &p->n_allowed))
			return -EINVAL;
	}
	return 0;
}

static void event_free(struct vec_event *e)
{
	free(e->route.nexthops);
	free(e->addrs);
	if (e->kind == VEV_SETTINGS)
		settings_free(&e->settings);
}

static int parse_event(struct ctx *c, const struct raw_item *r, yaml_node_t *node,
		       struct settings *cur, struct vec_event *e)
{
	const char *op = r->op;

	if (!strcmp(op, "route-add") || !strcmp(op, "route-del")) {
		e->kind = op[6] == 'a' ? VEV_ROUTE_ADD : VEV_ROUTE_DEL;
		if (e->kind == VEV_ROUTE_DEL && !r->protocol)
			/* A delete is found by identity; protocol is not part of it. */
			return parse_prefix(c, "dst", r->dst, &e->route.dst) ?:
			       opt_u32(c, "table", r->table, UINT32_MAX, cur->routing_table,
				       &e->route.table) ?:
			       opt_u8(c, "tos", r->tos, 0, &e->route.tos) ?:
			       opt_u32(c, "metric", r->metric, UINT32_MAX, 0, &e->route.metric);
		return parse_route(c, r, &e->route);
	}
	if (!strcmp(op, "peer-add") || !strcmp(op, "peer-del")) {
		e->kind = op[5] == 'a' ? VEV_PEER_ADD : VEV_PEER_DEL;
		return parse_key(c, "peer", r->peer, &e->peer);
	}
	if (!strcmp(op, "allowed-add") || !strcmp(op, "allowed-del")) {
		e->kind = op[8] == 'a' ? VEV_ALLOWED_ADD : VEV_ALLOWED_DEL;
		return parse_key(c, "peer", r->peer, &e->peer)
			       ?: parse_prefix(c, "prefix", r->prefix, &e->prefix);
	}
	if (!strcmp(op, "addresses")) {
		e->kind = VEV_ADDRESSES;
		return parse_prefix_list(c, "addresses", r->addresses, r->addresses_count,
					 true, &e->addrs, &e->n_addrs);
	}
	if (!strcmp(op, "settings")) {
		int ret;

		if (!r->settings)
			return fail(c, "settings: missing");
		e->kind = VEV_SETTINGS;
		ret = settings_copy(&e->settings, cur);
		if (ret)
			return ret;
		ret = apply_settings(c, r->settings, map_get(&c->doc, node, "settings"),
				     &e->settings);
		if (ret)
			return ret;
		settings_free(cur);
		return settings_copy(cur, &e->settings);
	}
	return fail(c, "op: unknown event '%s'", op);
}

static int parse_spec(struct ctx *c, const struct raw_item *r, struct route_spec *s)
{
	uint32_t oif = 0, metric;

	memset(s, 0, sizeof(*s));
	if (parse_prefix(c, "dst", r->dst, &s->dst))
		return -EINVAL;
	/* Our routes' metric: route_metric, which Linux stores at 1024 for
	 * IPv6 when it is 0. */
	metric = c->cur->route_metric;
	if (!metric && s->dst.family == AF_INET6)
		metric = 1024;
	if (parse_addr(c, "gw", r->gw, &s->gw) ||
	    opt_u32(c, "table", r->table, UINT32_MAX, c->cur->routing_table, &s->table) ||
	    opt_u8(c, "protocol", r->protocol, c->cur->route_protocol, &s->protocol) ||
	    opt_u8(c, "tos", r->tos, 0, &s->tos) ||
	    opt_u32(c, "metric", r->metric, UINT32_MAX, metric, &s->metric) ||
	    opt_u32(c, "oif", r->oif, INT32_MAX, (uint32_t)c->ifindex, &oif))
		return -EINVAL;
	s->oif = (int)oif;
	return 0;
}

static int parse_change(struct ctx *c, const struct raw_item *r, struct change *ch)
{
	const char *op = r->op;

	memset(ch, 0, sizeof(*ch));
	if (!strcmp(op, "allowed-add") || !strcmp(op, "allowed-del")) {
		ch->op = op[8] == 'a' ? CHANGE_ALLOWED_ADD : CHANGE_ALLOWED_DEL;
		if (r->dst || r->gw || r->table || r->protocol || r->metric || r->oif ||
		    r->tos || r->replace)
			return fail(c, "%s takes peer, prefix and learned only", op);
		if (r->learned && ch->op == CHANGE_ALLOWED_DEL)
			return fail(c, "allowed-del takes no learned");
		if (r->learned && parse_bool(c, "learned", r->learned, &ch->learned))
			return -EINVAL;
		return parse_key(c, "peer", r->peer, &ch->peer)
			       ?: parse_prefix(c, "prefix", r->prefix, &ch->dst);
	}
	if (!strcmp(op, "route-add") || !strcmp(op, "route-del")) {
		ch->op = op[6] == 'a' ? CHANGE_ROUTE_ADD : CHANGE_ROUTE_DEL;
		if (r->peer || r->prefix || r->learned)
			return fail(c,
				    "%s takes dst, gw, table, protocol, tos, metric, oif",
				    op);
		if (r->replace && ch->op == CHANGE_ROUTE_DEL)
			return fail(c, "route-del takes no replace");
		if (parse_spec(c, r, &ch->route))
			return -EINVAL;
		if (r->replace &&
		    parse_bool(c, "replace", r->replace, &ch->route.replace))
			return -EINVAL;
		ch->dst = ch->route.dst;
		return 0;
	}
	return fail(c, "op: unknown change '%s'", op);
}

static void state_free(struct vec_state *s)
{
	wg_device_free(&s->peers);
	free(s->routes);
	free(s->owned);
}

static int parse_state(struct ctx *c, const struct raw_state *r, yaml_node_t *node,
		       struct vec_state *s)
{
	if (!r)
		return 0;
	if (map_get(&c->doc, node, "peers")) {
		s->has_peers = true;
		if (parse_peers(c, r->peers, r->peers_count, &s->peers))
			return -EINVAL;
	}
	if (map_get(&c->doc, node, "routes")) {
		s->has_routes = true;
		s->routes = calloc(r->routes_count + 1, sizeof(*s->routes));
		if (!s->routes)
			return -ENOMEM;
		s->n_routes = r->routes_count;
		for (unsigned i = 0; i < r->routes_count; i++)
			if (parse_spec(c, &r->routes[i], &s->routes[i]))
				return -EINVAL;
	}
	if (map_get(&c->doc, node, "owned")) {
		s->has_owned = true;
		if (parse_owned(c, r->owned, r->owned_count, &s->owned, &s->n_owned))
			return -EINVAL;
	}
	return 0;
}

static int parse_step(struct ctx *c, const struct raw_step *r, yaml_node_t *node,
		      struct settings *cur, unsigned idx, struct vec_step *s)
{
	yaml_node_t *events = map_get(&c->doc, node, "events");
	int ret;

	c->cur = cur;
	s->full = idx == 0;
	where(c, "steps[%u]", idx);
	if (r->full && parse_bool(c, "full", r->full, &s->full))
		return -EINVAL;
	s->events = calloc(r->events_count + 1, sizeof(*s->events));
	s->changes = calloc(r->changes_count + 1, sizeof(*s->changes));
	if (!s->events || !s->changes)
		return -ENOMEM;
	for (unsigned i = 0; i < r->events_count; i++) {
		where(c, "steps[%u].events[%u]", idx, i);
		s->n_events++;
		ret = parse_event(c, &r->events[i], seq_get(&c->doc, events, i), cur,
				  &s->events[i]);
		if (ret)
			return ret;
	}
	/* Expected changes default to the settings in force after the events
	 * (c->cur is cur, which a settings event has updated). */
	for (unsigned i = 0; i < r->changes_count; i++) {
		where(c, "steps[%u].changes[%u]", idx, i);
		s->n_changes++;
		ret = parse_change(c, &r->changes[i], &s->changes[i]);
		if (ret)
			return ret;
	}
	where(c, "steps[%u].state", idx);
	return parse_state(c, r->state, map_get(&c->doc, node, "state"), &s->state);
}

static int load_doc(struct ctx *c)
{
	yaml_parser_t parser;
	FILE *f = fopen(c->path, "r");
	int ok;

	if (!f)
		return fail(c, "cannot open: %s", strerror(errno));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	ok = yaml_parser_load(&parser, &c->doc);
	yaml_parser_delete(&parser);
	fclose(f);
	if (!ok)
		return fail(c, "YAML does not parse");
	c->have_doc = true;
	return 0;
}

static const cyaml_config_t cyaml_cfg = {
	.log_fn = cyaml_log,
	.mem_fn = cyaml_mem,
	.log_level = CYAML_LOG_ERROR,
	.flags = CYAML_CFG_DEFAULT,
};

static int convert(struct ctx *c, const struct raw_vector *r, struct vector *v)
{
	yaml_node_t *root = yaml_document_get_root_node(&c->doc);
	yaml_node_t *steps = map_get(&c->doc, root, "steps");
	struct settings cur;
	uint32_t ifindex = 0;
	int ret;

	v->name = strdup(r->name);
	v->description = strdup(r->description ? r->description : "");
	v->ifname = "wg0";
	if (!v->name || !v->description)
		return -ENOMEM;
	where(c, "settings");
	ret = settings_defaults(&v->settings);
	if (ret)
		return ret;
	ret = apply_settings(c, r->settings, map_get(&c->doc, root, "settings"),
			     &v->settings);
	if (ret)
		return ret;
	where(c, "interface");
	if (parse_u32(c, "ifindex", r->interface->ifindex, INT32_MAX, &ifindex))
		return -EINVAL;
	v->ifindex = c->ifindex = (int)ifindex;
	ret = parse_prefix_list(c, "addresses", r->interface->addresses,
				r->interface->addresses_count, true, &v->addrs,
				&v->n_addrs);
	if (ret)
		return ret;
	where(c, "wireguard");
	if (r->wireguard->pubkey &&
	    parse_key(c, "pubkey", r->wireguard->pubkey, &v->wg.pubkey))
		return -EINVAL;
	ret = parse_peers(c, r->wireguard->peers, r->wireguard->peers_count, &v->wg);
	if (ret)
		return ret;
	c->cur = &v->settings;
	ret = parse_routes(c, r->routes, r->routes_count, &v->routes, &v->n_routes);
	if (ret)
		return ret;
	where(c, "owned");
	ret = parse_owned(c, r->owned, r->owned_count, &v->owned, &v->n_owned);
	if (ret)
		return ret;
	v->steps = calloc(r->steps_count, sizeof(*v->steps));
	if (!v->steps)
		return -ENOMEM;
	ret = settings_copy(&cur, &v->settings);
	if (ret)
		return ret;
	for (unsigned i = 0; i < r->steps_count && !ret; i++) {
		v->n_steps++;
		ret = parse_step(c, &r->steps[i], seq_get(&c->doc, steps, i), &cur, i,
				 &v->steps[i]);
	}
	settings_free(&cur);
	return ret;
}

int vector_load(const char *path, struct vector *v, char *err, size_t errlen)
{
	struct ctx c = {.path = path, .err = err, .errlen = errlen};
	struct raw_vector *raw = NULL;
	cyaml_err_t cerr;
	int ret;

	memset(v, 0, sizeof(*v));
	where(&c, "file");
	cerr = cyaml_load_file(path, &cyaml_cfg, &vector_schema, (cyaml_data_t **)&raw,
			       NULL);
	if (cerr != CYAML_OK)
		return fail(&c, "%s (libcyaml; its log above names the key)",
			    cyaml_strerror(cerr));
	ret = load_doc(&c);
	if (!ret)
		ret = convert(&c, raw, v);
	if (ret == -ENOMEM)
		fail(&c, "out of memory");
	if (ret)
		vector_free(v);
	if (c.have_doc)
		yaml_document_delete(&c.doc);
	cyaml_free(&cyaml_cfg, &vector_schema, raw, 0);
	return ret;
}

void vector_free(struct vector *v)
{
	free(v->name);
	free(v->description);
	settings_free(&v->settings);
	free(v->addrs);
	wg_device_free(&v->wg);
	for (size_t i = 0; i < v->n_routes; i++)
		free(v->routes[i].nexthops);
	free(v->routes);
	free(v->owned);
	for (size_t i = 0; i < v->n_steps; i++) {
		struct vec_step *s = &v->steps[i];

		for (size_t j = 0; j < s->n_events; j++)
			event_free(&s->events[j]);
		free(s->events);
		free(s->changes);
		state_free(&s->state);
	}
	free(v->steps);
	memset(v, 0, sizeof(*v));
}
