/* convert.c: settings from YAML events (convert.h): one converter per type
 * of the table in settings.h, with messages an operator can act on. */
#include <ctype.h>
#include <errno.h>
#include <search.h>
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

int parse_percent(const char *text, uint32_t *out)
{
	uint32_t whole = 0, frac = 0, scale = 100;
	const char *p = text;

	if (!text || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (uint32_t)(*p - '0');
		if (whole > 100)
			return -ERANGE;
	}
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale == 1)
				return -EINVAL; /* finer than 0.01% */
			scale /= 10;
			frac += (uint32_t)(*p - '0') * scale;
		}
	}
	if (strcmp(p, "%") != 0)
		return -EINVAL;
	if (whole * 100 + frac > 10000)
		return -ERANGE;
	*out = whole * 100 + frac;
	return 0;
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

/* ---- a value per type: the reader is at its first event ---- */

#define FAIL(r, path, ...) reader_fail((r), &(r)->ev.mark, (path), __VA_ARGS__)

/* The current value as one of words (n of them; fold: in any case) into
 * *index, or the error "'TEXT' is not EXPECTED". */
static int convert_word(struct reader *r, const char *path, const char *const *words,
			int n, bool fold, const char *expected, int *index)
{
	const char *text;

	if (reader_scalar(r, path, &text))
		return -1;
	for (*index = 0; *index < n; ++*index) {
		if ((fold ? strcasecmp : strcmp)(text, words[*index]) == 0)
			return 0;
	}
	return FAIL(r, path, "'%s' is not %s", text, expected);
}

static int convert_boolean(struct reader *r, const char *path, bool *out)
{
	static const char *const words[] = {"false", "true", "no", "yes", "off", "on"};
	int i;

	if (convert_word(r, path, words, 6, true, "true or false", &i))
		return -1;
	*out = i & 1;
	return 0;
}

/* The error a parser returned (err) on text, in the words of its format
 * for -ERANGE, for -ENOENT (an unknown name) or for any other; each format
 * takes the text. 0 when err is. */
static int parse_error(struct reader *r, const char *path, const char *text, int err,
		       const char *too_large, const char *unknown, const char *bad)
{
	if (err == 0)
		return 0;
	if (err == -ERANGE && too_large)
		return FAIL(r, path, too_large, text);
	return FAIL(r, path, err == -ENOENT && unknown ? unknown : bad, text);
}

static int convert_count(struct reader *r, const char *path, uint32_t *out)
{
	const char *text;

	if (reader_scalar(r, path, &text))
		return -1;
	return parse_error(r, path, text, parse_uint(text, UINT32_MAX, out),
			   "'%s' is too large", NULL, "'%s' is not a number");
}

static int convert_duration(struct reader *r, const char *path, uint32_t *out)
{
	const char *text;

	if (reader_scalar(r, path, &text))
		return -1;
	return parse_error(r, path, text, parse_duration_ms(text, out),
			   "'%s' is too long", NULL,
			   "'%s' is not a duration (like 200ms, 1s, 5m, 1h)");
}

static int convert_percent(struct reader *r, const char *path, uint32_t *out)
{
	const char *text;

	if (reader_scalar(r, path, &text))
		return -1;
	return parse_error(r, path, text, parse_percent(text, out),
			   "'%s' is more than 100%%", NULL,
			   "'%s' is not a percentage (like 1%%, 0.5%%; 0%%: none)");
}

static int convert_table(struct reader *r, const char *path, uint32_t *out)
{
	const char *text;

	if (reader_scalar(r, path, &text) ||
	    parse_error(r, path, text, name_to_table(text, out), NULL,
			"unknown table name '%s' (not in rt_tables)",
			"'%s' is not a table"))
		return -1;
	return *out == 0 ? FAIL(r, path, "table 0 (unspec) is not a table") : 0;
}

static int convert_protocol(struct reader *r, const char *path, uint8_t *out)
{
	const char *text;

	if (reader_scalar(r, path, &text))
		return -1;
	return parse_error(r, path, text, name_to_protocol(text, out), NULL,
			   "unknown protocol name '%s' (not in rt_protos)",
			   "'%s' is not a protocol (0-255 or a name)");
}

static int convert_conflict(struct reader *r, const char *path, enum conflict_policy *out)
{
	static const char *const words[] = {"static-wins", "learned-wins"};
	int i;

	if (convert_word(r, path, words, 2, false, "static-wins or learned-wins", &i))
		return -1;
	*out = i ? CONFLICT_LEARNED_WINS : CONFLICT_STATIC_WINS;
	return 0;
}

static int convert_log_level(struct reader *r, const char *path, enum log_level *out)
{
	static const char *const words[] = {"error", "warning", "info", "debug"};
	int i;

	if (convert_word(r, path, words, 4, false, "error, warning, info or debug", &i))
		return -1;
	*out = (enum log_level)i; /* in the order of enum log_level */
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

/* A mapping of fields: each of names (n of them) may appear once, in any
 * order, and read() reads its value (the reader at its first event). A key
 * that names no field is unknown, unless it is the extra one (field n).
 * *seen gets a bit per field present. 0 or -1. */
struct fields {
	const char *const *names;
	int n;
	const char *extra;
	int (*read)(struct reader *r, int field, const char *path, void *ctx);
	void *ctx;
};

static int read_fields(struct reader *r, const char *path, const struct fields *fs,
		       uint64_t *seen)
{
	char key_path[PATH_TEXT_LEN];
	int more;

	*seen = 0;
	while ((more = reader_next_key(r)) > 0) {
		yaml_mark_t key_mark = r->ev.mark;
		const char *name;
		int f;

		if (reader_key(r, path, "a key is a name", &name))
			return -1;
		path_join(key_path, path, name);
		for (f = 0; f < fs->n && strcmp(name, fs->names[f]) != 0; f++)
			;
		if (f == fs->n && !(fs->extra && strcmp(name, fs->extra) == 0))
			return reader_fail(r, &key_mark, key_path, "unknown key");
		if (*seen & (uint64_t)1 << f)
			return reader_fail(r, &key_mark, key_path, "duplicate key");
		*seen |= (uint64_t)1 << f;
		if (reader_next(r) || fs->read(r, f, key_path, fs->ctx))
			return -1;
	}
	return more;
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

static int read_rule_field(struct reader *r, int field, const char *path, void *ctx)
{
	struct rule_text *rt = ctx;
	const char *text;

	if (reader_scalar(r, path, &text))
		return -1;
	rt->text[field] = strdup(text);
	rt->at[field] = r->ev.mark;
	return rt->text[field] ? 0 : FAIL(r, path, "out of memory");
}

static int read_rule(struct reader *r, struct rule_text *rt)
{
	const struct fields fs = {rule_fields, RULE_FIELDS, NULL, read_rule_field, rt};
	char field_path[PATH_TEXT_LEN];
	uint64_t seen;
	int f;

	rt->mark = r->ev.mark;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return FAIL(r, rt->path, "expected a mapping, not %s",
			    event_kind(&r->ev));
	if (read_fields(r, rt->path, &fs, &seen))
		return -1;
	for (f = RULE_ACTION; f <= RULE_PREFIX; f++) {
		if (!rt->text[f]) {
			path_join(field_path, rt->path, rule_fields[f]);
			return reader_fail(r, &rt->mark, field_path,
					   "missing (required)");
		}
	}
	return 0;
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
	void *keys;		 /* of the peers read so far: a tsearch tree */
	struct prefix *gateways; /* of the peer being read: copied to fit, as there
				  * may be 100 000 peers of one or two each */
	size_t n_gateways, cap_gateways;
	struct peer_gateways *peer; /* being read */
};

static int key_cmp(const void *a, const void *b)
{
	return wg_key_cmp(a, b);
}

/* Adds a copy of key to the tree at *root: 0, 1 when it is there already,
 * or -ENOMEM. */
static int remember_key(void **root, const struct wg_key *key)
{
	struct wg_key *copy = malloc(sizeof(*copy)), **found;

	if (!copy)
		return -ENOMEM;
	*copy = *key;
	found = tsearch(copy, root, key_cmp);
	if (found && *found == copy)
		return 0;
	free(copy);
	return found ? 1 : -ENOMEM;
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

static int read_peer_field(struct reader *r, int field, const char *path, void *ctx)
{
	struct peers_reader *pr = ctx;

	(void)field; /* gateways, the only one */
	return read_gateways(r, path, pr, pr->peer);
}

/* The mapping of one peer (the reader is at its value) into peer. */
static int convert_peer(struct reader *r, const char *path, struct peers_reader *pr,
			struct peer_gateways *peer)
{
	static const char *const names[] = {"gateways"};
	const struct fields fs = {names, 1, NULL, read_peer_field, pr};
	uint64_t seen;

	if (event_is_null(&r->ev))
		return 0;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return FAIL(r, path, "expected a mapping, not %s", event_kind(&r->ev));
	pr->peer = peer;
	return read_fields(r, path, &fs, &seen);
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
		int seen;

		if (reader_key(r, path, "a peer is named by its public key", &name))
			return -1;
		path_join(peer_path, path, name);
		if (wg_key_from_base64(name, &peer.key))
			return FAIL(
				r, peer_path,
				"not a WireGuard public key (44 characters of base64)");
		seen = remember_key(&pr->keys, &peer.key);
		if (seen)
			return FAIL(r, peer_path,
				    seen > 0 ? "duplicate peer" : "out of memory");
		if (vec_push(*v, *n, cap, peer))
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

	tdestroy(pr.keys, free);
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

/* What a settings mapping is read into. */
struct settings_target {
	struct settings *s;
	convert_extra_fn read_extra;
	void *extra_ctx;
};

static int read_setting(struct reader *r, int k, const char *path, void *ctx)
{
	struct settings_target *t = ctx;

	if (k == K_COUNT)
		return t->read_extra(r, t->extra_ctx);
	return convert_key(r, k, path, t->s);
}

int convert_settings(struct reader *r, const char *path, struct settings *s,
		     uint32_t *mask, const char *extra, convert_extra_fn read_extra,
		     void *ctx)
{
	struct settings_target t = {s, read_extra, ctx};
	const struct fields fs = {settings_key_names, K_COUNT, extra, read_setting, &t};
	uint64_t seen;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = read_fields(r, path, &fs, &seen);
	*mask = (uint32_t)(seen & ((UINT64_C(1) << K_COUNT) - 1)); /* not the extra's */
	return ret;
}
