/* config.c: the YAML configuration.
 *
 * Two passes over the file:
 *  1. libyaml loads the document tree. It reports syntax errors with their
 *     position, and keeps the position of every node, so that a bad value
 *     found later can be reported at its line and column. It also lists the
 *     entries of the two mappings whose keys are data, not field names
 *     (`interfaces:` and `peers:`), which a libcyaml schema cannot describe.
 *  2. libcyaml loads each settings mapping (the top level, each interface
 *     entry) and each peer entry against a schema. Every other byte of the
 *     file is blanked to spaces first, so that the mapping keeps its line and
 *     column. The schema takes every scalar as text; the values are checked
 *     here, with messages an operator can act on.
 * libcyaml's own error messages (unknown key, wrong kind of node) are
 * captured and turned into the same one-line form. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cyaml/cyaml.h>
#include <yaml.h>

#include "config.h"
#include "names.h"

#define MAX_FILE_SIZE	(16u << 20)
#define MAX_CYAML_LINES 16
#define PATH_TEXT_LEN	512

/* An `interfaces:` entry: the keys it sets (mask) and their values. */
struct iface_override {
	char *pattern;
	uint32_t mask;
	struct settings values;
};

struct config {
	struct settings top;
	bool lists_interfaces;
	size_t n_overrides;
	struct iface_override *overrides;
};

/* ---- schema: what libcyaml loads (all scalars as text) ---- */

struct raw_rule {
	char *action, *prefix, *ge, *le;
};

struct raw_settings {
	char *sync_routes, *routing_table, *watch_routes, *route_protocol;
	char **prefixes;
	unsigned prefixes_count;
	char **learn_protocols;
	unsigned learn_protocols_count;
	struct raw_rule *learn_filter;
	unsigned learn_filter_count;
	char *max_learned_prefixes, *conflict, *install_routes, *install_default_routes;
	char *route_metric, *wg_poll_interval, *resync_interval, *batch_delay, *state_dir;
	char *cleanup_on_exit, *log_level;
};

struct raw_peer {
	char **gateways;
	unsigned gateways_count;
};

static const cyaml_schema_value_t text_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

#define TEXT_FIELD(key, type, member)                                                    \
	CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_OPTIONAL, type, member, 0, CYAML_UNLIMITED)
#define TEXT_LIST_FIELD(key, type, member)                                               \
	CYAML_FIELD_SEQUENCE(key, CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER, type,        \
			     member, &text_schema, 0, CYAML_UNLIMITED)

static const cyaml_schema_field_t rule_fields[] = {
	CYAML_FIELD_STRING_PTR("action", CYAML_FLAG_POINTER, struct raw_rule, action, 0,
			       CYAML_UNLIMITED),
	CYAML_FIELD_STRING_PTR("prefix", CYAML_FLAG_POINTER, struct raw_rule, prefix, 0,
			       CYAML_UNLIMITED),
	TEXT_FIELD("ge", struct raw_rule, ge),
	TEXT_FIELD("le", struct raw_rule, le),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t rule_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_rule, rule_fields),
};

/* Fields of a settings mapping; the top level adds `interfaces`. */
#define SETTINGS_FIELDS                                                                  \
	TEXT_FIELD("sync_routes", struct raw_settings, sync_routes),                     \
		TEXT_FIELD("routing_table", struct raw_settings, routing_table),         \
		TEXT_FIELD("watch_routes", struct raw_settings, watch_routes),           \
		TEXT_FIELD("route_protocol", struct raw_settings, route_protocol),       \
		TEXT_LIST_FIELD("prefixes", struct raw_settings, prefixes),              \
		TEXT_LIST_FIELD("learn_protocols", struct raw_settings,                  \
				learn_protocols),                                        \
		CYAML_FIELD_SEQUENCE("learn_filter",                                     \
				     CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER,           \
				     struct raw_settings, learn_filter, &rule_schema, 0, \
				     CYAML_UNLIMITED),                                   \
		TEXT_FIELD("max_learned_prefixes", struct raw_settings,                  \
			   max_learned_prefixes),                                        \
		TEXT_FIELD("conflict", struct raw_settings, conflict),                   \
		TEXT_FIELD("install_routes", struct raw_settings, install_routes),       \
		TEXT_FIELD("install_default_routes", struct raw_settings,                \
			   install_default_routes),                                      \
		TEXT_FIELD("route_metric", struct raw_settings, route_metric),           \
		TEXT_FIELD("wg_poll_interval", struct raw_settings, wg_poll_interval),   \
		TEXT_FIELD("resync_interval", struct raw_settings, resync_interval),     \
		TEXT_FIELD("batch_delay", struct raw_settings, batch_delay),             \
		TEXT_FIELD("state_dir", struct raw_settings, state_dir),                 \
		TEXT_FIELD("cleanup_on_exit", struct raw_settings, cleanup_on_exit),     \
		TEXT_FIELD("log_level", struct raw_settings, log_level),                 \
		CYAML_FIELD_IGNORE("peers", CYAML_FLAG_OPTIONAL)

static const cyaml_schema_field_t top_fields[] = {
	SETTINGS_FIELDS,
	CYAML_FIELD_IGNORE("interfaces", CYAML_FLAG_OPTIONAL),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t override_fields[] = {
	SETTINGS_FIELDS,
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t top_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_settings, top_fields),
};

static const cyaml_schema_value_t override_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_settings, override_fields),
};

static const cyaml_schema_field_t peer_fields[] = {
	TEXT_LIST_FIELD("gateways", struct raw_peer, gateways),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t peer_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_peer, peer_fields),
};

/* ---- scalar parsers ---- */

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

static int parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- the loader: file text, document tree, error line ---- */

struct cyaml_capture {
	size_t n;
	char *lines[MAX_CYAML_LINES];
};

struct loader {
	const char *file;
	char *text;
	size_t len;
	char *scratch; /* the text with everything but one node blanked */
	yaml_document_t doc;
	bool have_doc;
	char *err;
	size_t errlen;
	struct cyaml_capture capture;
	cyaml_config_t cycfg;
};

static void set_error(struct loader *ld, const yaml_mark_t *mark, const char *key,
		      const char *fmt, va_list ap)
{
	char what[512];
	int n = 0;

	vsnprintf(what, sizeof(what), fmt, ap);
	if (!ld->err || ld->errlen == 0)
		return;
	if (mark)
		n = snprintf(ld->err, ld->errlen, "%s:%zu:%zu: ", ld->file,
			     mark->line + 1, mark->column + 1);
	else
		n = snprintf(ld->err, ld->errlen, "%s: ", ld->file);
	if (n < 0 || (size_t)n >= ld->errlen)
		return;
	snprintf(ld->err + n, ld->errlen - n, "%s%s%s", key ? key : "", key ? ": " : "",
		 what);
}

/* Records the error at node (its position; none when NULL) and returns -1. */
__attribute__((format(printf, 4, 5))) static int
fail_at(struct loader *ld, const yaml_node_t *node, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(ld, node ? &node->start_mark : NULL, key, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 4, 5))) static int fail_at_mark(struct loader *ld,
							      const yaml_mark_t *mark,
							      const char *key,
							      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(ld, mark, key, fmt, ap);
	va_end(ap);
	return -1;
}

/* Paths name a key for the operator: "interfaces.wg0.learn_filter[1].le".
 * They live in PATH_TEXT_LEN buffers and are cut short rather than overflow. */
static void path_push(char *path, const char *key)
{
	size_t n = strnlen(path, PATH_TEXT_LEN - 1);

	snprintf(path + n, PATH_TEXT_LEN - n, "%s%s", n ? "." : "", key);
}

static void path_push_index(char *path, size_t index)
{
	size_t n = strnlen(path, PATH_TEXT_LEN - 1);

	snprintf(path + n, PATH_TEXT_LEN - n, "[%zu]", index);
}

static void join_path(char *out, const char *base, const char *key)
{
	snprintf(out, PATH_TEXT_LEN, "%s", base);
	path_push(out, key);
}

static yaml_node_t *node_at(struct loader *ld, int index)
{
	return yaml_document_get_node(&ld->doc, index);
}

/* The nth pair (counting from 0) of map whose key is name, or NULL. */
static yaml_node_pair_t *find_pair(struct loader *ld, yaml_node_t *map, const char *name,
				   int nth)
{
	yaml_node_pair_t *pair;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *key = node_at(ld, pair->key);

		if (key && key->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)key->data.scalar.value, name) == 0 && nth-- == 0)
			return pair;
	}
	return NULL;
}

static yaml_node_t *find_value(struct loader *ld, yaml_node_t *map, const char *name)
{
	yaml_node_pair_t *pair = find_pair(ld, map, name, 0);

	return pair ? node_at(ld, pair->value) : NULL;
}

static yaml_node_t *sequence_item(struct loader *ld, yaml_node_t *seq, size_t i)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	if (i >= (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start))
		return NULL;
	return node_at(ld, seq->data.sequence.items.start[i]);
}

/* A plain empty scalar, "~" or "null": YAML's null. */
static bool node_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a single value";
	}
}

/* ---- libcyaml errors ---- */

static void capture_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct cyaml_capture *cap = ctx;
	char line[512];
	size_t len;

	if (level < CYAML_LOG_ERROR || cap->n >= MAX_CYAML_LINES)
		return;
	vsnprintf(line, sizeof(line), fmt, args);
	len = strlen(line);
	while (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	cap->lines[cap->n] = strdup(line);
	if (cap->lines[cap->n])
		cap->n++;
}

static void capture_clear(struct cyaml_capture *cap)
{
	while (cap->n > 0)
		free(cap->lines[--cap->n]);
}

/* Text after prefix in line, or NULL. */
static const char *after(const char *line, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(line, prefix, n) == 0 ? line + n : NULL;
}

/* "  in mapping field 'NAME' (line..." -> NAME into out. */
static bool quoted_name(const char *rest, char *out, size_t outlen)
{
	const char *end = strchr(rest, '\'');
	size_t n;

	if (!end)
		return false;
	n = (size_t)(end - rest);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, rest, n);
	out[n] = '\0';
	return true;
}

/* "Expecting SEQUENCE, got event: SCALAR" in the operator's words. */
static void describe_expecting(const char *rest, char *out, size_t outlen)
{
	const char *want = "a single value";

	if (strncmp(rest, "SEQUENCE", 8) == 0)
		want = "a list";
	else if (strncmp(rest, "MAPPING", 7) == 0)
		want = "a mapping";
	if (strstr(rest, "event: SEQUENCE_START"))
		snprintf(out, outlen, "expected %s, not a list", want);
	else if (strstr(rest, "event: MAPPING_START"))
		snprintf(out, outlen, "expected %s, not a mapping", want);
	else
		snprintf(out, outlen, "expected %s, not a single value", want);
}

/* Turns the captured libcyaml error (a message, then a backtrace from the
 * innermost node out) into the one-line form, locating the node in the
 * document tree below root. */
static int cyaml_failure(struct loader *ld, yaml_node_t *root, const char *base,
			 cyaml_err_t err)
{
	struct cyaml_capture *cap = &ld->capture;
	char path[PATH_TEXT_LEN], name[256], what[320];
	const char *msg = NULL, *rest;
	yaml_node_t *node = root, *subject;
	size_t i, trace = cap->n, first_trace = cap->n;

	for (i = 0; i < cap->n; i++) {
		if (after(cap->lines[i], "Load: Backtrace:")) {
			trace = i + 1;
			break;
		}
		if (!msg)
			msg = cap->lines[i];
	}
	first_trace = trace;
	snprintf(path, sizeof(path), "%s", base);
	/* For these two the innermost entry is the last field seen, not a
	 * step on the path to the mapping at fault. */
	if (msg &&
	    (after(msg, "Load: Missing required mapping field: ") ||
	     after(msg, "Load: Mapping field already seen: ")) &&
	    cap->n > trace && strstr(cap->lines[trace], "in mapping field '"))
		first_trace++;

	/* Walk the backtrace from the outermost entry in. */
	for (i = cap->n; i > first_trace; i--) {
		const char *line = cap->lines[i - 1];

		if ((rest = strstr(line, "in mapping field '")) &&
		    quoted_name(rest + 18, name, sizeof(name))) {
			node = find_value(ld, node, name);
			path_push(path, name);
		} else if ((rest = strstr(line, "in sequence entry '")) &&
			   quoted_name(rest + 19, name, sizeof(name))) {
			size_t index = strtoul(name, NULL, 10);

			node = index > 0 ? sequence_item(ld, node, index - 1) : NULL;
			path_push_index(path, index ? index - 1 : 0);
		}
		if (!node)
			node = root; /* the tree disagrees: fall back to the mapping */
	}

	subject = node;
	if (!msg) {
		snprintf(what, sizeof(what), "%s", cyaml_strerror(err));
	} else if ((rest = after(msg, "Load: Unexpected key: "))) {
		yaml_node_pair_t *pair = find_pair(ld, node, rest, 0);

		subject = pair ? node_at(ld, pair->key) : node;
		path_push(path, rest);
		snprintf(what, sizeof(what), "unknown key");
	} else if ((rest = after(msg, "Load: Mapping field already seen: "))) {
		yaml_node_pair_t *pair = find_pair(ld, node, rest, 1);

		subject = pair ? node_at(ld, pair->key) : node;
		path_push(path, rest);
		snprintf(what, sizeof(what), "duplicate key");
	} else if ((rest = after(msg, "Load: Missing required mapping field: "))) {
		path_push(path, rest);
		snprintf(what, sizeof(what), "missing (required)");
	} else if ((rest = after(msg, "Load: Expecting "))) {
		describe_expecting(rest, what, sizeof(what));
	} else {
		rest = after(msg, "Load: ") ? msg + 6 : msg;
		snprintf(what, sizeof(what), "%s", rest);
		what[0] = (char)tolower((unsigned char)what[0]);
	}
	capture_clear(cap);
	return fail_at(ld, subject, *path ? path : "top level", "%s", what);
}

/* Byte offset of a mark. libyaml counts columns in characters, so walk the
 * UTF-8 text rather than trusting the mark's index. */
static size_t mark_offset(const struct loader *ld, const yaml_mark_t *mark)
{
	size_t off = 0, line = 0, col = 0;

	while (off < ld->len && line < mark->line) {
		char c = ld->text[off++];

		if (c == '\n' || (c == '\r' && (off >= ld->len || ld->text[off] != '\n')))
			line++;
	}
	while (off < ld->len && col < mark->column && ld->text[off] != '\n' &&
	       ld->text[off] != '\r') {
		off++;
		while (off < ld->len && (ld->text[off] & 0xc0) == 0x80)
			off++; /* UTF-8 continuation byte */
		col++;
	}
	return off;
}

/* Loads node with libcyaml: the text outside it becomes spaces (line breaks
 * stay), so the node is the document, at its own line and column. */
static int cyaml_load_node(struct loader *ld, yaml_node_t *node, const char *path,
			   const cyaml_schema_value_t *schema, void **out)
{
	size_t start = mark_offset(ld, &node->start_mark);
	size_t end = mark_offset(ld, &node->end_mark);
	cyaml_err_t err;
	size_t i;

	for (i = 0; i < ld->len; i++) {
		char c = ld->text[i];

		ld->scratch[i] =
			(i >= start && i < end) || c == '\n' || c == '\r' ? c : ' ';
	}
	*out = NULL;
	err = cyaml_load_data((const uint8_t *)ld->scratch, ld->len, &ld->cycfg, schema,
			      out, NULL);
	if (err == CYAML_OK) {
		capture_clear(&ld->capture);
		return 0;
	}
	if (err == CYAML_ERR_OOM) {
		capture_clear(&ld->capture);
		return fail_at(ld, node, path[0] ? path : NULL, "out of memory");
	}
	return cyaml_failure(ld, node, path, err);
}

/* ---- values ---- */

/* The settings mapping being converted, for locating its keys. */
struct settings_src {
	struct loader *ld;
	yaml_node_t *map;
	const char *path;
};

/* Reports an error at key (or at item `index` of its list, when >= 0). */
__attribute__((format(printf, 4, 5))) static int bad_value(const struct settings_src *src,
							   const char *key, long index,
							   const char *fmt, ...)
{
	char path[PATH_TEXT_LEN];
	yaml_node_t *node = find_value(src->ld, src->map, key);
	va_list ap;

	join_path(path, src->path, key);
	if (index >= 0) {
		node = sequence_item(src->ld, node, (size_t)index);
		path_push_index(path, (size_t)index);
	}
	va_start(ap, fmt);
	set_error(src->ld, node ? &node->start_mark : NULL, path, fmt, ap);
	va_end(ap);
	return -1;
}

static int convert_bool(const struct settings_src *src, const char *key, const char *text,
			bool *out)
{
	if (text && parse_bool(text, out))
		return bad_value(src, key, -1, "'%s' is not true or false", text);
	return 0;
}

static int convert_uint(const struct settings_src *src, const char *key, const char *text,
			uint32_t *out)
{
	int err;

	if (!text)
		return 0;
	err = parse_uint(text, UINT32_MAX, out);
	if (err == -ERANGE)
		return bad_value(src, key, -1, "'%s' is too large", text);
	if (err)
		return bad_value(src, key, -1, "'%s' is not a number", text);
	return 0;
}

static int convert_duration(const struct settings_src *src, const char *key,
			    const char *text, bool allow_zero, uint32_t *out)
{
	int err;

	if (!text)
		return 0;
	err = parse_duration_ms(text, out);
	if (err == -ERANGE)
		return bad_value(src, key, -1, "'%s' is too long", text);
	if (err)
		return bad_value(src, key, -1,
				 "'%s' is not a duration (like 200ms, 1s, 5m, 1h)", text);
	if (!allow_zero && *out == 0)
		return bad_value(src, key, -1, "must be more than 0");
	return 0;
}

static int convert_protocol(const struct settings_src *src, const char *key, long index,
			    const char *text, uint8_t *out)
{
	int err = name_to_protocol(text, out);

	if (err == -ENOENT)
		return bad_value(src, key, index,
				 "unknown protocol name '%s' (not in rt_protos)", text);
	if (err)
		return bad_value(src, key, index,
				 "'%s' is not a protocol (0-255 or a name)", text);
	return 0;
}

static int convert_table(const struct settings_src *src, const char *text, uint32_t *out)
{
	int err;

	if (!text)
		return 0;
	err = name_to_table(text, out);
	if (err == -ENOENT)
		return bad_value(src, "routing_table", -1,
				 "unknown table name '%s' (not in rt_tables)", text);
	if (err)
		return bad_value(src, "routing_table", -1, "'%s' is not a table", text);
	if (*out == 0)
		return bad_value(src, "routing_table", -1,
				 "table 0 (unspec) is not a table");
	return 0;
}

static int convert_route_protocol(const struct settings_src *src, const char *text,
				  uint8_t *out)
{
	if (!text)
		return 0;
	if (convert_protocol(src, "route_protocol", -1, text, out))
		return -1;
	/* Routes with these protocols come from the kernel and `ip route`:
	 * claiming one would make wg-rtsync delete them as its own. */
	if (*out <= 4)
		return bad_value(
			src, "route_protocol", -1,
			"protocol %u is reserved for the kernel and ip-route (use 5-255)",
			*out);
	return 0;
}

static int convert_prefixes(const struct settings_src *src, struct raw_settings *raw,
			    struct settings *s)
{
	unsigned i;

	if (raw->prefixes_count == 0)
		return 0;
	s->prefixes = calloc(raw->prefixes_count, sizeof(*s->prefixes));
	if (!s->prefixes)
		return bad_value(src, "prefixes", -1, "out of memory");
	s->n_prefixes = raw->prefixes_count;
	for (i = 0; i < raw->prefixes_count; i++) {
		if (prefix_parse(raw->prefixes[i], &s->prefixes[i]))
			return bad_value(src, "prefixes", i, "'%s' is not a prefix",
					 raw->prefixes[i]);
		if (s->prefixes[i].len == prefix_family_bits(s->prefixes[i].family))
			return bad_value(src, "prefixes", i,
					 "'%s' leaves no bits to derive an address from",
					 raw->prefixes[i]);
	}
	return 0;
}

static int convert_learn_protocols(const struct settings_src *src,
				   struct raw_settings *raw, struct settings *s)
{
	unsigned i;

	if (raw->learn_protocols_count == 0)
		return 0;
	s->learn_protocols =
		calloc(raw->learn_protocols_count, sizeof(*s->learn_protocols));
	if (!s->learn_protocols)
		return bad_value(src, "learn_protocols", -1, "out of memory");
	s->n_learn_protocols = raw->learn_protocols_count;
	for (i = 0; i < raw->learn_protocols_count; i++) {
		if (convert_protocol(src, "learn_protocols", i, raw->learn_protocols[i],
				     &s->learn_protocols[i]))
			return -1;
	}
	return 0;
}

/* Error at field `field` of rule `index` of learn_filter. */
__attribute__((format(printf, 4, 5))) static int bad_rule(const struct settings_src *src,
							  unsigned index,
							  const char *field,
							  const char *fmt, ...)
{
	char path[PATH_TEXT_LEN];
	yaml_node_t *rule = sequence_item(
		src->ld, find_value(src->ld, src->map, "learn_filter"), index);
	yaml_node_t *node = find_value(src->ld, rule, field);
	va_list ap;

	join_path(path, src->path, "learn_filter");
	path_push_index(path, index);
	path_push(path, field);
	va_start(ap, fmt);
	set_error(src->ld,
		  node	 ? &node->start_mark
		  : rule ? &rule->start_mark
			 : NULL,
		  path, fmt, ap);
	va_end(ap);
	return -1;
}

static int convert_rule(const struct settings_src *src, unsigned index,
			const struct raw_rule *raw, struct filter_rule *rule)
{
	uint32_t max, ge = 0, le = 0;

	if (strcmp(raw->action, "permit") == 0)
		rule->permit = true;
	else if (strcmp(raw->action, "deny") == 0)
		rule->permit = false;
	else
		return bad_rule(src, index, "action", "'%s' is not permit or deny",
				raw->action);
	if (prefix_parse(raw->prefix, &rule->prefix))
		return bad_rule(src, index, "prefix", "'%s' is not a prefix",
				raw->prefix);
	max = prefix_family_bits(rule->prefix.family);
	if (raw->ge && parse_uint(raw->ge, max, &ge))
		return bad_rule(src, index, "ge", "'%s' is not a length from %u to %u",
				raw->ge, rule->prefix.len, max);
	if (raw->le && parse_uint(raw->le, max, &le))
		return bad_rule(src, index, "le", "'%s' is not a length from %u to %u",
				raw->le, rule->prefix.len, max);
	/* Prefix-list semantics: ge alone reaches to the maximum, le alone
	 * starts at the prefix's own length, neither means exactly it. */
	if (!raw->ge)
		ge = rule->prefix.len;
	if (!raw->le)
		le = raw->ge ? max : ge;
	if (ge < rule->prefix.len)
		return bad_rule(src, index, "ge", "%u is shorter than the prefix (/%u)",
				ge, rule->prefix.len);
	if (le < rule->prefix.len)
		return bad_rule(src, index, "le", "%u is shorter than the prefix (/%u)",
				le, rule->prefix.len);
	if (ge > le)
		return bad_rule(src, index, "ge", "ge %u is greater than le %u", ge, le);
	rule->ge = (uint8_t)ge;
	rule->le = (uint8_t)le;
	return 0;
}

static int convert_learn_filter(const struct settings_src *src, struct raw_settings *raw,
				struct settings *s)
{
	unsigned i;

	if (raw->learn_filter_count == 0)
		return 0;
	s->learn_filter = calloc(raw->learn_filter_count, sizeof(*s->learn_filter));
	if (!s->learn_filter)
		return bad_value(src, "learn_filter", -1, "out of memory");
	s->n_learn_filter = raw->learn_filter_count;
	for (i = 0; i < raw->learn_filter_count; i++) {
		if (convert_rule(src, i, &raw->learn_filter[i], &s->learn_filter[i]))
			return -1;
	}
	return 0;
}

static int convert_enums(const struct settings_src *src, struct raw_settings *raw,
			 struct settings *s)
{
	static const char *const levels[] = {"error", "warning", "info", "debug"};
	int i;

	if (raw->conflict) {
		if (strcmp(raw->conflict, "static-wins") == 0)
			s->conflict = CONFLICT_STATIC_WINS;
		else if (strcmp(raw->conflict, "learned-wins") == 0)
			s->conflict = CONFLICT_LEARNED_WINS;
		else
			return bad_value(src, "conflict", -1,
					 "'%s' is not static-wins or learned-wins",
					 raw->conflict);
	}
	if (raw->log_level) {
		for (i = 0; i < 4 && strcmp(raw->log_level, levels[i]) != 0; i++)
			;
		if (i == 4)
			return bad_value(src, "log_level", -1,
					 "'%s' is not error, warning, info or debug",
					 raw->log_level);
		s->log_level = (enum log_level)i;
	}
	return 0;
}

static int convert_state_dir(const struct settings_src *src, const char *text,
			     struct settings *s)
{
	if (!text)
		return 0;
	if (text[0] != '/')
		return bad_value(src, "state_dir", -1, "'%s' is not an absolute path",
				 text);
	s->state_dir = strdup(text);
	if (!s->state_dir)
		return bad_value(src, "state_dir", -1, "out of memory");
	return 0;
}

/* raw -> s (zeroed by the caller; only the keys present are filled). */
static int convert_settings(const struct settings_src *src, struct raw_settings *raw,
			    struct settings *s)
{
	if (convert_bool(src, "sync_routes", raw->sync_routes, &s->sync_routes) ||
	    convert_table(src, raw->routing_table, &s->routing_table) ||
	    convert_bool(src, "watch_routes", raw->watch_routes, &s->watch_routes) ||
	    convert_route_protocol(src, raw->route_protocol, &s->route_protocol) ||
	    convert_prefixes(src, raw, s) || convert_learn_protocols(src, raw, s) ||
	    convert_learn_filter(src, raw, s) ||
	    convert_uint(src, "max_learned_prefixes", raw->max_learned_prefixes,
			 &s->max_learned_prefixes) ||
	    convert_enums(src, raw, s) ||
	    convert_bool(src, "install_routes", raw->install_routes,
			 &s->install_routes) ||
	    convert_bool(src, "install_default_routes", raw->install_default_routes,
			 &s->install_default_routes) ||
	    convert_uint(src, "route_metric", raw->route_metric, &s->route_metric) ||
	    convert_duration(src, "wg_poll_interval", raw->wg_poll_interval, false,
			     &s->wg_poll_interval_ms) ||
	    convert_duration(src, "resync_interval", raw->resync_interval, false,
			     &s->resync_interval_ms) ||
	    convert_duration(src, "batch_delay", raw->batch_delay, true,
			     &s->batch_delay_ms) ||
	    convert_state_dir(src, raw->state_dir, s) ||
	    convert_bool(src, "cleanup_on_exit", raw->cleanup_on_exit,
			 &s->cleanup_on_exit))
		return -1;
	return 0;
}

/* ---- peers ---- */

static int convert_peer(struct loader *ld, yaml_node_t *key_node, yaml_node_t *value,
			const char *base, struct settings *s, struct peer_gateways *peer)
{
	const char *key_text = (const char *)key_node->data.scalar.value;
	char path[PATH_TEXT_LEN], item[PATH_TEXT_LEN];
	struct raw_peer *raw = NULL;
	size_t i;
	int ret = 0;

	join_path(path, base, key_text);
	if (wg_key_from_base64(key_text, &peer->key))
		return fail_at(ld, key_node, path,
			       "not a WireGuard public key (44 characters of base64)");
	for (i = 0; s->peers + i < peer; i++) {
		if (wg_key_cmp(&s->peers[i].key, &peer->key) == 0)
			return fail_at(ld, key_node, path, "duplicate peer");
	}
	if (node_is_null(value))
		return 0;
	if (value->type != YAML_MAPPING_NODE)
		return fail_at(ld, value, path, "expected a mapping, not %s",
			       node_kind(value));
	if (cyaml_load_node(ld, value, path, &peer_schema, (void **)&raw))
		return -1;
	if (raw->gateways_count > 0) {
		peer->gateways = calloc(raw->gateways_count, sizeof(*peer->gateways));
		if (!peer->gateways)
			ret = fail_at(ld, value, path, "out of memory");
		peer->n_gateways = peer->gateways ? raw->gateways_count : 0;
	}
	for (i = 0; ret == 0 && i < peer->n_gateways; i++) {
		if (addr_parse(raw->gateways[i], &peer->gateways[i]) == 0)
			continue;
		snprintf(item, sizeof(item), "%s", path);
		path_push(item, "gateways");
		path_push_index(item, i);
		ret = fail_at(ld, sequence_item(ld, find_value(ld, value, "gateways"), i),
			      item, "'%s' is not an address", raw->gateways[i]);
	}
	cyaml_free(&ld->cycfg, &peer_schema, raw, 0);
	return ret;
}

static int convert_peers(struct loader *ld, yaml_node_t *map, const char *base,
			 struct settings *s)
{
	char path[PATH_TEXT_LEN];
	yaml_node_t *peers = find_value(ld, map, "peers");
	yaml_node_pair_t *pair;
	size_t n;

	join_path(path, base, "peers");
	if (!peers || node_is_null(peers))
		return 0;
	if (peers->type != YAML_MAPPING_NODE)
		return fail_at(ld, peers, path,
			       "expected a mapping of public keys, not %s",
			       node_kind(peers));
	n = (size_t)(peers->data.mapping.pairs.top - peers->data.mapping.pairs.start);
	if (n == 0)
		return 0;
	s->peers = calloc(n, sizeof(*s->peers));
	if (!s->peers)
		return fail_at(ld, peers, path, "out of memory");
	for (pair = peers->data.mapping.pairs.start; pair < peers->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *key = node_at(ld, pair->key);

		if (key->type != YAML_SCALAR_NODE)
			return fail_at(ld, key, path,
				       "a peer is named by its public key, not %s",
				       node_kind(key));
		if (convert_peer(ld, key, node_at(ld, pair->value), path, s,
				 &s->peers[s->n_peers++]))
			return -1;
	}
	return 0;
}

/* ---- one settings mapping ---- */

static uint32_t keys_present(struct loader *ld, yaml_node_t *map)
{
	uint32_t mask = 0;
	int k;

	for (k = 0; k < K_COUNT; k++) {
		if (find_pair(ld, map, settings_key_names[k], 0))
			mask |= 1u << k;
	}
	return mask;
}

/* Loads a settings mapping into s (zeroed; only keys present are filled) and
 * sets *mask to the keys present. */
static int load_settings(struct loader *ld, yaml_node_t *map, const char *path,
			 const cyaml_schema_value_t *schema, struct settings *s,
			 uint32_t *mask)
{
	struct settings_src src = {ld, map, path};
	struct raw_settings *raw = NULL;
	int ret;

	memset(s, 0, sizeof(*s));
	*mask = 0;
	if (cyaml_load_node(ld, map, path, schema, (void **)&raw))
		return -1;
	ret = convert_settings(&src, raw, s);
	cyaml_free(&ld->cycfg, schema, raw, 0);
	if (ret == 0)
		ret = convert_peers(ld, map, path, s);
	*mask = keys_present(ld, map);
	return ret;
}

static int load_interfaces(struct loader *ld, yaml_node_t *root, struct config *c)
{
	yaml_node_t *ifaces = find_value(ld, root, "interfaces");
	char path[PATH_TEXT_LEN];
	yaml_node_pair_t *pair;
	size_t n, i;

	if (!ifaces || node_is_null(ifaces))
		return 0;
	if (ifaces->type != YAML_MAPPING_NODE)
		return fail_at(ld, ifaces, "interfaces",
			       "expected a mapping of interface names, not %s",
			       node_kind(ifaces));
	n = (size_t)(ifaces->data.mapping.pairs.top - ifaces->data.mapping.pairs.start);
	c->lists_interfaces = n > 0;
	if (n == 0)
		return 0;
	c->overrides = calloc(n, sizeof(*c->overrides));
	if (!c->overrides)
		return fail_at(ld, ifaces, "interfaces", "out of memory");
	for (pair = ifaces->data.mapping.pairs.start;
	     pair < ifaces->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = node_at(ld, pair->key),
			    *value = node_at(ld, pair->value);
		struct iface_override *ov = &c->overrides[c->n_overrides];
		const char *name;

		if (key->type != YAML_SCALAR_NODE || !*key->data.scalar.value)
			return fail_at(
				ld, key, "interfaces",
				"an entry is named by an interface name or pattern");
		name = (const char *)key->data.scalar.value;
		join_path(path, "interfaces", name);
		for (i = 0; i < c->n_overrides; i++) {
			if (strcmp(c->overrides[i].pattern, name) == 0)
				return fail_at(ld, key, path, "duplicate interface");
		}
		ov->pattern = strdup(name);
		if (!ov->pattern)
			return fail_at(ld, key, path, "out of memory");
		c->n_overrides++;
		if (node_is_null(value))
			continue; /* listed, nothing overridden */
		if (value->type != YAML_MAPPING_NODE)
			return fail_at(ld, value, path,
				       "expected a mapping of settings, not %s",
				       node_kind(value));
		if (load_settings(ld, value, path, &override_schema, &ov->values,
				  &ov->mask))
			return -1;
	}
	return 0;
}

/* ---- files ---- */

static int read_text(struct loader *ld, const char *path)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	size_t n;

	if (!f)
		return fail_at(ld, NULL, NULL, "cannot open: %s", strerror(errno));
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
		fclose(f);
		return fail_at(ld, NULL, NULL, "not a regular file of at most 16 MiB");
	}
	ld->text = malloc((size_t)st.st_size + 1);
	ld->scratch = malloc((size_t)st.st_size + 1);
	if (!ld->text || !ld->scratch) {
		fclose(f);
		return fail_at(ld, NULL, NULL, "out of memory");
	}
	n = fread(ld->text, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		fclose(f);
		return fail_at(ld, NULL, NULL, "cannot read: %s", strerror(errno));
	}
	fclose(f);
	ld->text[n] = '\0';
	ld->len = n;
	return 0;
}

static int parse_document(struct loader *ld)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int ret = 0;

	if (!yaml_parser_initialize(&parser))
		return fail_at(ld, NULL, NULL, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)ld->text, ld->len);
	if (!yaml_parser_load(&parser, &ld->doc)) {
		ret = fail_at_mark(
			ld, &parser.problem_mark, NULL, "YAML syntax error: %s%s%s",
			parser.problem ? parser.problem : "unknown",
			parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return ret;
	}
	ld->have_doc = true;
	root = yaml_document_get_root_node(&ld->doc);
	if (root) {
		/* A second document would be silently ignored: refuse it. */
		if (!yaml_parser_load(&parser, &extra)) {
			ret = fail_at_mark(ld, &parser.problem_mark, NULL,
					   "YAML syntax error: %s",
					   parser.problem ? parser.problem : "unknown");
		} else {
			if (yaml_document_get_root_node(&extra))
				ret = fail_at_mark(ld, &extra.start_mark, NULL,
						   "only one YAML document is allowed");
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&parser);
	return ret;
}

static void loader_free(struct loader *ld)
{
	if (ld->have_doc)
		yaml_document_delete(&ld->doc);
	capture_clear(&ld->capture);
	free(ld->text);
	free(ld->scratch);
}

static struct config *config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (c && settings_defaults(&c->top)) {
		free(c);
		return NULL;
	}
	return c;
}

static int load_root(struct loader *ld, struct config *c)
{
	yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
	struct settings top;
	uint32_t mask;
	int ret;

	if (!root || node_is_null(root))
		return 0; /* an empty file: the defaults */
	if (root->type != YAML_MAPPING_NODE)
		return fail_at(ld, root, "top level",
			       "expected a mapping of settings, not %s", node_kind(root));
	ret = load_settings(ld, root, "", &top_schema, &top, &mask);
	if (ret == 0 && settings_apply_keys(&c->top, &top, mask))
		ret = fail_at(ld, root, NULL, "out of memory");
	settings_free(&top);
	if (ret == 0)
		ret = load_interfaces(ld, root, c);
	return ret;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	struct loader ld = {.file = path, .err = err, .errlen = errlen};
	struct config *c = NULL;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ld.cycfg.log_fn = capture_log;
	ld.cycfg.log_ctx = &ld.capture;
	ld.cycfg.mem_fn = cyaml_mem;
	ld.cycfg.log_level = CYAML_LOG_ERROR;
	ld.cycfg.flags = CYAML_CFG_DEFAULT;

	ret = read_text(&ld, path);
	if (ret == 0)
		ret = parse_document(&ld);
	if (ret == 0) {
		c = config_new();
		ret = c ? load_root(&ld, c) : fail_at(&ld, NULL, NULL, "out of memory");
	}
	loader_free(&ld);
	if (ret) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *config_default(void)
{
	return config_new();
}

void config_free(struct config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_overrides; i++) {
		free(c->overrides[i].pattern);
		settings_free(&c->overrides[i].values);
	}
	free(c->overrides);
	settings_free(&c->top);
	free(c);
}

int config_settings_for(const struct config *c, const char *ifname, struct settings *out)
{
	size_t i;

	if (settings_copy(out, &c->top))
		return -ENOMEM;
	for (i = 0; i < c->n_overrides; i++) {
		const struct iface_override *ov = &c->overrides[i];

		if (fnmatch(ov->pattern, ifname, 0) != 0)
			continue;
		if (settings_apply_keys(out, &ov->values, ov->mask)) {
			settings_free(out);
			return -ENOMEM;
		}
	}
	return 0;
}

int config_settings_top(const struct config *c, struct settings *out)
{
	return settings_copy(out, &c->top) ? -ENOMEM : 0;
}

bool config_lists_interfaces(const struct config *c)
{
	return c->lists_interfaces;
}

bool config_manages(const struct config *c, const char *ifname)
{
	size_t i;

	if (!c->lists_interfaces)
		return true;
	for (i = 0; i < c->n_overrides; i++) {
		if (fnmatch(c->overrides[i].pattern, ifname, 0) == 0)
			return true;
	}
	return false;
}
