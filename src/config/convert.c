/* convert.c: settings from YAML events (convert.h): one converter per type
 * of the table in settings.h, with messages an operator can act on. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "names.h"
#include "vec.h"

/* ---- text ---- */

int parse_duration_ms(const char *text, uint32_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"", 1000}};
	unsigned long long v;
	char *end;
	size_t i;

	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT32_MAX / units[i].ms)
			return -ERANGE;
		*out = (uint32_t)(v * units[i].ms);
		return 0;
	}
	return -EINVAL;
}

/* Decimal digits only, at most max. */
static int parse_uint(const char *text, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* The index of text in words (n of them), or -1. */
static int word_index(const char *text, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(text, words[i]) == 0)
			return i;
	}
	return -1;
}

/* ---- a value per type: the reader is at its first event ---- */

#define FAIL(r, path, ...) reader_fail((r), &(r)->ev.mark, (path), __VA_ARGS__)

static int convert_boolean(struct reader *r, const char *path, bool *out)
{
	static const char *const words[] = {"false", "true", "no", "yes", "off", "on"};
	const char *text;
	int i;

	if (reader_scalar(r, path, &text))
		return -1;
	i = word_index(text, words, 6);
	if (i < 0)
		return FAIL(r, path, "'%s' is not true or false", text);
	*out = i & 1;
	return 0;
}

static int convert_count(struct reader *r, const char *path, uint32_t *out)
{
	const char *text;
	int err;

	if (reader_scalar(r, path, &text))
		return -1;
	err = parse_uint(text, UINT32_MAX, out);
	if (err == -ERANGE)
		return FAIL(r, path, "'%s' is too large", text);
	if (err)
		return FAIL(r, path, "'%s' is not a number", text);
	return 0;
}

static int convert_duration(struct reader *r, const char *path, uint32_t *out)
{
	const char *text;
	int err;

	if (reader_scalar(r, path, &text))
		return -1;
	err = parse_duration_ms(text, out);
	if (err == -ERANGE)
		return FAIL(r, path, "'%s' is too long", text);
	if (err)
		return FAIL(r, path, "'%s' is not a duration (like 200ms, 1s, 5m, 1h)",
			    text);
	return 0;
}

static int convert_table(struct reader *r, const char *path, uint32_t *out)
{
	const char *text;
	int err;

	if (reader_scalar(r, path, &text))
		return -1;
	err = name_to_table(text, out);
	if (err == -ENOENT)
		return FAIL(r, path, "unknown table name '%s' (not in rt_tables)", text);
	if (err)
		return FAIL(r, path, "'%s' is not a table", text);
	if (*out == 0)
		return FAIL(r, path, "table 0 (unspec) is not a table");
	return 0;
}

static int convert_protocol(struct reader *r, const char *path, uint8_t *out)
{
	const char *text;
	int err;

	if (reader_scalar(r, path, &text))
		return -1;
	err = name_to_protocol(text, out);
	if (err == -ENOENT)
		return FAIL(r, path, "unknown protocol name '%s' (not in rt_protos)",
			    text);
	if (err)
		return FAIL(r, path, "'%s' is not a protocol (0-255 or a name)", text);
	return 0;
}

static int convert_conflict(struct reader *r, const char *path, enum conflict_policy *out)
{
	const char *text;

	if (reader_scalar(r, path, &text))
		return -1;
	if (strcmp(text, "static-wins") == 0)
		*out = CONFLICT_STATIC_WINS;
	else if (strcmp(text, "learned-wins") == 0)
		*out = CONFLICT_LEARNED_WINS;
	else
		return FAIL(r, path, "'%s' is not static-wins or learned-wins", text);
	return 0;
}

static int convert_log_level(struct reader *r, const char *path, enum log_level *out)
{
	static const char *const levels[] = {"error", "warning", "info", "debug"};
	const char *text;
	int i;

	if (reader_scalar(r, path, &text))
		return -1;
	for (i = 0; i < 4 && strcmp(text, levels[i]) != 0; i++)
		;
	if (i == 4)
		return FAIL(r, path, "'%s' is not error, warning, info or debug", text);
	*out = (enum log_level)i;
	return 0;
}

static int convert_path(struct reader *r, const char *path, char **out)
{
	const char *text;

	if (reader_scalar(r, path, &text))
		return -1;
	if (text[0] != '/')
		return FAIL(r, path, "'%s' is not an absolute path", text);
	*out = strdup(text);
	return *out ? 0 : FAIL(r, path, "out of memory");
}

/* Steps into the list at the current event. 0 or -1. */
static int list_start(struct reader *r, const char *path)
{
	if (r->ev.type != YAML_SEQUENCE_START_EVENT)
		return FAIL(r, path, "expected a list, not %s", event_kind(&r->ev));
	return 0;
}

/* Moves to the next item: 1 at one, 0 at the end of the list, -1. */
static int list_next(struct reader *r)
{
	if (reader_next(r))
		return -1;
	return r->ev.type != YAML_SEQUENCE_END_EVENT;
}

static int convert_prefixes(struct reader *r, const char *path, struct prefix **v,
			    size_t *n)
{
	char item[PATH_TEXT_LEN];
	size_t cap = 0;
	int more;

	if (list_start(r, path))
		return -1;
	while ((more = list_next(r)) > 0) {
		struct prefix p;
		const char *text;

		path_index(item, path, *n);
		if (reader_scalar(r, item, &text))
			return -1;
		if (prefix_parse(text, &p))
			return FAIL(r, item, "'%s' is not a prefix", text);
		if (p.len == prefix_family_bits(p.family))
			return FAIL(r, item,
				    "'%s' leaves no bits to derive an address from",
				    text);
		if (vec_push(*v, *n, cap, p))
			return FAIL(r, item, "out of memory");
	}
	return more;
}

static int convert_protocols(struct reader *r, const char *path, uint8_t **v, size_t *n)
{
	char item[PATH_TEXT_LEN];
	size_t cap = 0;
	int more;

	if (list_start(r, path))
		return -1;
	while ((more = list_next(r)) > 0) {
		uint8_t protocol;

		path_index(item, path, *n);
		if (convert_protocol(r, item, &protocol))
			return -1;
		if (vec_push(*v, *n, cap, protocol))
			return FAIL(r, item, "out of memory");
	}
	return more;
}

/* ---- learn_filter: a list of rules ---- */

enum { RULE_ACTION, RULE_PREFIX, RULE_GE, RULE_LE, RULE_FIELDS };
static const char *const rule_fields[RULE_FIELDS] = {"action", "prefix", "ge", "le"};

/* A rule as written: each field's text (NULL when absent) and position. */
struct rule_text {
	char path[PATH_TEXT_LEN];
	yaml_mark_t mark; /* the rule's */
	char *text[RULE_FIELDS];
	yaml_mark_t at[RULE_FIELDS];
};

static int read_rule(struct reader *r, struct rule_text *rt)
{
	char field_path[PATH_TEXT_LEN];
	const char *name, *text;
	int more, f;

	rt->mark = r->ev.mark;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return FAIL(r, rt->path, "expected a mapping, not %s",
			    event_kind(&r->ev));
	while ((more = reader_next_key(r)) > 0) {
		yaml_mark_t key_mark = r->ev.mark;

		if (reader_key(r, rt->path, "a key is a name", &name))
			return -1;
		path_join(field_path, rt->path, name);
		for (f = 0; f < RULE_FIELDS && strcmp(name, rule_fields[f]) != 0; f++)
			;
		if (f == RULE_FIELDS)
			return reader_fail(r, &key_mark, field_path, "unknown key");
		if (rt->text[f])
			return reader_fail(r, &key_mark, field_path, "duplicate key");
		if (reader_next(r) || reader_scalar(r, field_path, &text))
			return -1;
		rt->text[f] = strdup(text);
		rt->at[f] = r->ev.mark;
		if (!rt->text[f])
			return FAIL(r, field_path, "out of memory");
	}
	for (f = RULE_ACTION; more == 0 && f <= RULE_PREFIX; f++) {
		if (!rt->text[f]) {
			path_join(field_path, rt->path, rule_fields[f]);
			return reader_fail(r, &rt->mark, field_path,
					   "missing (required)");
		}
	}
	return more;
}

/* Error at a field of the rule, or at the rule when the field is absent. */
__attribute__((format(printf, 4, 5))) static int
rule_fail(struct reader *r, const struct rule_text *rt, int field, const char *fmt, ...)
{
	char path[PATH_TEXT_LEN], what[512];
	va_list ap;

	path_join(path, rt->path, rule_fields[field]);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return reader_fail(r, rt->text[field] ? &rt->at[field] : &rt->mark, path, "%s",
			   what);
}

static int convert_rule(struct reader *r, const struct rule_text *rt,
			struct filter_rule *rule)
{
	const char *const *t = (const char *const *)rt->text;
	uint32_t max, ge = 0, le = 0;

	if (strcmp(t[RULE_ACTION], "permit") == 0)
		rule->permit = true;
	else if (strcmp(t[RULE_ACTION], "deny") == 0)
		rule->permit = false;
	else
		return rule_fail(r, rt, RULE_ACTION, "'%s' is not permit or deny",
				 t[RULE_ACTION]);
	if (prefix_parse(t[RULE_PREFIX], &rule->prefix))
		return rule_fail(r, rt, RULE_PREFIX, "'%s' is not a prefix",
				 t[RULE_PREFIX]);
	max = prefix_family_bits(rule->prefix.family);
	if (t[RULE_GE] && parse_uint(t[RULE_GE], max, &ge))
		return rule_fail(r, rt, RULE_GE, "'%s' is not a length from %u to %u",
				 t[RULE_GE], rule->prefix.len, max);
	if (t[RULE_LE] && parse_uint(t[RULE_LE], max, &le))
		return rule_fail(r, rt, RULE_LE, "'%s' is not a length from %u to %u",
				 t[RULE_LE], rule->prefix.len, max);
	/* Prefix-list semantics: ge alone reaches to the maximum, le alone
	 * starts at the prefix's own length, neither means exactly it. */
	if (!t[RULE_GE])
		ge = rule->prefix.len;
	if (!t[RULE_LE])
		le = t[RULE_GE] ? max : ge;
	if (ge < rule->prefix.len)
		return rule_fail(r, rt, RULE_GE, "%u is shorter than the prefix (/%u)",
				 ge, rule->prefix.len);
	if (le < rule->prefix.len)
		return rule_fail(r, rt, RULE_LE, "%u is shorter than the prefix (/%u)",
				 le, rule->prefix.len);
	if (ge > le)
		return rule_fail(r, rt, RULE_GE, "ge %u is greater than le %u", ge, le);
	rule->ge = (uint8_t)ge;
	rule->le = (uint8_t)le;
	return 0;
}

static int convert_filter(struct reader *r, const char *path, struct filter_rule **v,
			  size_t *n)
{
	size_t cap = 0;
	int more, f;

	if (list_start(r, path))
		return -1;
	while ((more = list_next(r)) > 0) {
		struct rule_text rt = {.text = {NULL}};
		struct filter_rule rule;
		int ret;

		path_index(rt.path, path, *n);
		ret = read_rule(r, &rt);
		if (ret == 0)
			ret = convert_rule(r, &rt, &rule);
		if (ret == 0 && vec_push(*v, *n, cap, rule))
			ret = reader_fail(r, &rt.mark, rt.path, "out of memory");
		for (f = 0; f < RULE_FIELDS; f++)
			free(rt.text[f]);
		if (ret)
			return -1;
	}
	return more;
}

/* ---- peers: a mapping of public keys ---- */

/* What reading one `peers:` mapping keeps from one peer to the next. */
struct peers_reader {
	struct index_set keys;	 /* of the peers read so far */
	struct prefix *gateways; /* of the peer being read: copied to fit, as there
				  * may be 100 000 peers of one or two each */
	size_t n_gateways, cap_gateways;
};

static bool peer_is(size_t index, const void *ctx)
{
	const void *const *pair = ctx; /* the peers, the key sought */

	return wg_key_cmp(&((const struct peer_gateways *)pair[0])[index].key, pair[1]) ==
	       0;
}

/* The list of gateways at the current event into peer. */
static int read_gateways(struct reader *r, const char *path, struct peers_reader *pr,
			 struct peer_gateways *peer)
{
	char item[PATH_TEXT_LEN];
	const char *text;
	int more;

	if (list_start(r, path))
		return -1;
	pr->n_gateways = 0;
	while ((more = list_next(r)) > 0) {
		struct prefix addr;

		path_index(item, path, pr->n_gateways);
		if (reader_scalar(r, item, &text))
			return -1;
		if (addr_parse(text, &addr))
			return FAIL(r, item, "'%s' is not an address", text);
		if (vec_push(pr->gateways, pr->n_gateways, pr->cap_gateways, addr))
			return FAIL(r, item, "out of memory");
	}
	if (more < 0 || pr->n_gateways == 0)
		return more;
	peer->gateways = malloc(pr->n_gateways * sizeof(*peer->gateways));
	if (!peer->gateways)
		return FAIL(r, path, "out of memory");
	memcpy(peer->gateways, pr->gateways, pr->n_gateways * sizeof(*peer->gateways));
	peer->n_gateways = pr->n_gateways;
	return 0;
}

/* The mapping of one peer (the reader is at its value) into peer. */
static int convert_peer(struct reader *r, const char *path, struct peers_reader *pr,
			struct peer_gateways *peer)
{
	char key_path[PATH_TEXT_LEN];
	const char *name;
	bool seen = false;
	int more;

	if (event_is_null(&r->ev))
		return 0;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return FAIL(r, path, "expected a mapping, not %s", event_kind(&r->ev));
	while ((more = reader_next_key(r)) > 0) {
		yaml_mark_t key_mark = r->ev.mark;

		if (reader_key(r, path, "a key is a name", &name))
			return -1;
		path_join(key_path, path, name);
		if (strcmp(name, "gateways") != 0)
			return reader_fail(r, &key_mark, key_path, "unknown key");
		if (seen)
			return reader_fail(r, &key_mark, key_path, "duplicate key");
		seen = true;
		if (reader_next(r) || read_gateways(r, key_path, pr, peer))
			return -1;
	}
	return more;
}

static int read_peers(struct reader *r, const char *path, struct peers_reader *pr,
		      struct peer_gateways **v, size_t *n)
{
	char peer_path[PATH_TEXT_LEN];
	size_t cap = 0;
	int more;

	if (event_is_null(&r->ev))
		return 0;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return FAIL(r, path, "expected a mapping of public keys, not %s",
			    event_kind(&r->ev));
	while ((more = reader_next_key(r)) > 0) {
		struct peer_gateways peer = {.n_gateways = 0};
		const char *name;
		const void *pair[] = {*v, &peer.key};
		uint64_t hash;

		if (reader_key(r, path, "a peer is named by its public key", &name))
			return -1;
		path_join(peer_path, path, name);
		if (wg_key_from_base64(name, &peer.key))
			return FAIL(
				r, peer_path,
				"not a WireGuard public key (44 characters of base64)");
		hash = index_hash(&peer.key, sizeof(peer.key));
		if (index_set_find(&pr->keys, hash, peer_is, pair) != SIZE_MAX)
			return FAIL(r, peer_path, "duplicate peer");
		if (vec_push(*v, *n, cap, peer) || index_set_add(&pr->keys, hash, *n - 1))
			return FAIL(r, peer_path, "out of memory");
		if (reader_next(r) || convert_peer(r, peer_path, pr, &(*v)[*n - 1]))
			return -1;
	}
	return more;
}

static int convert_peers(struct reader *r, const char *path, struct peer_gateways **v,
			 size_t *n)
{
	struct peers_reader pr = {.n_gateways = 0};
	int ret = read_peers(r, path, &pr, v, n);

	index_set_free(&pr.keys);
	free(pr.gateways);
	return ret;
}

/* ---- checks beyond the type (the table's last column) ---- */

#define check_any(r, path, value) 0

static int check_positive(struct reader *r, const char *path, const uint32_t *value)
{
	return *value == 0 ? FAIL(r, path, "must be more than 0") : 0;
}

static int check_not_kernel(struct reader *r, const char *path, const uint8_t *protocol)
{
	/* Routes with these protocols come from the kernel and `ip route`:
	 * claiming one would make wg-rtsync delete them as its own. */
	if (*protocol <= 4)
		return FAIL(
			r, path,
			"protocol %u is reserved for the kernel and ip-route (use 5-255)",
			*protocol);
	return 0;
}

/* ---- a settings mapping ---- */

/* The arguments a converter takes for a member, by how it is held. */
#define TARGET_value(s, m)  &(s)->m
#define TARGET_list(s, m)   &(s)->m, &(s)->n_##m
#define TARGET_string(s, m) &(s)->m
#define TARGET_peers(s, m)  &(s)->m, &(s)->n_##m

static int convert_key(struct reader *r, enum setting_key k, const char *path,
		       struct settings *s)
{
	switch (k) {
#define CONVERT_KEY(key, member, type, def, check)                                       \
	case K_##key:                                                                    \
		return convert_##type(r, path,                                           \
				      SETTING_BY_STORE(TARGET, type, s, member))         \
			       ? -1                                                      \
			       : check_##check(r, path, &s->member);
		SETTINGS_KEYS(CONVERT_KEY)
#undef CONVERT_KEY
	case K_COUNT:
		break;
	}
	return 0;
}

static int key_of(const char *name)
{
	int k;

	for (k = 0; k < K_COUNT && strcmp(name, settings_key_names[k]) != 0; k++)
		;
	return k < K_COUNT ? k : -1;
}

int convert_settings(struct reader *r, const char *path, struct settings *s,
		     uint32_t *mask, convert_other_fn other, void *ctx)
{
	char key_path[PATH_TEXT_LEN];
	int more;

	memset(s, 0, sizeof(*s));
	*mask = 0;
	while ((more = reader_next_key(r)) > 0) {
		yaml_mark_t key_mark = r->ev.mark;
		const char *name;
		int k, taken;

		if (reader_key(r, path, "a key is a name", &name))
			return -1;
		path_join(key_path, path, name);
		k = key_of(name);
		if (k < 0) {
			taken = other ? other(r, name, ctx) : 0;
			if (taken < 0)
				return -1;
			if (taken)
				continue;
			return reader_fail(r, &key_mark, key_path, "unknown key");
		}
		if (*mask & 1u << k)
			return reader_fail(r, &key_mark, key_path, "duplicate key");
		*mask |= 1u << k;
		if (reader_next(r) || convert_key(r, k, key_path, s))
			return -1;
	}
	return more;
}
