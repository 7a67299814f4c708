/* reader.c: the two readings of a configuration file (reader.h). */
#include <errno.h>
#include <search.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "reader.h"
#include "vec.h"

/* An anchored node: its events (second reading) or its number of nodes
 * (first reading) are [start, end). */
struct anchor {
	char *name;
	size_t start, end;
	bool open; /* the node has not ended yet */
};

struct open_anchor {
	struct anchor *anchor;
	unsigned depth; /* of the collection it anchors */
};

int reader_fail(struct reader *r, const yaml_mark_t *mark, const char *key,
		const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (!r->err || r->errlen == 0)
		return -1;
	if (mark)
		n = snprintf(line, sizeof(line), "%s:%zu:%zu: ", r->file, mark->line + 1,
			     mark->column + 1);
	else
		n = snprintf(line, sizeof(line), "%s: ", r->file);
	if (n >= 0 && (size_t)n < sizeof(line) && key)
		n += snprintf(line + n, sizeof(line) - n, "%s: ", key);
	if (n >= 0 && (size_t)n < sizeof(line)) {
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	/* Whatever of the file the line holds stays on one line. */
	escape_text(r->err, r->errlen, line, strlen(line));
	return -1;
}

static int syntax_error(struct reader *r, yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR)
		return reader_fail(r, NULL, NULL, "out of memory");
	return reader_fail(r, &p->problem_mark, NULL, "YAML syntax error: %s%s%s",
			   p->problem ? p->problem : "unknown", p->context ? " " : "",
			   p->context ? p->context : "");
}

static const char *anchor_of(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)e->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)e->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return (const char *)e->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

static int anchor_cmp(const void *a, const void *b)
{
	return strcmp(((const struct anchor *)a)->name, ((const struct anchor *)b)->name);
}

static struct anchor *anchor_find(const struct reader *r, const char *name)
{
	struct anchor key = {.name = (char *)name};
	struct anchor **found = tfind(&key, &r->anchors, anchor_cmp);

	return found ? *found : NULL;
}

static void anchor_free(void *a)
{
	free(((struct anchor *)a)->name);
	free(a);
}

/* Defines the anchor name of the node that starts at mark: its first event
 * or node is number start. A collection stays open until it ends. */
static int anchor_define(struct reader *r, const char *name, const yaml_mark_t *mark,
			 size_t start, bool collection)
{
	struct anchor *a = calloc(1, sizeof(*a)), **found = NULL;
	struct open_anchor o = {a, r->depth};

	if (a) {
		*a = (struct anchor){strdup(name), start, start + 1, collection};
		found = a->name ? tsearch(a, &r->anchors, anchor_cmp) : NULL;
	}
	if (!found || *found != a) {
		if (a)
			anchor_free(a);
		if (found)
			return reader_fail(r, mark, NULL, "anchor &%s is defined twice",
					   name);
		return reader_fail(r, NULL, NULL, "out of memory");
	}
	if (collection && vec_push(r->open, r->n_open, r->cap_open, o))
		return reader_fail(r, NULL, NULL, "out of memory");
	return 0;
}

/* Tracks the nesting and the anchor (may be NULL) of an event that is not
 * the end of a collection; count is what an anchor spans: nodes in the
 * first reading, recorded events in the second. */
static int track(struct reader *r, yaml_event_type_t type, const char *anchor,
		 const yaml_mark_t *mark, size_t count)
{
	bool collection =
		type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT;

	if (collection)
		r->depth++;
	return anchor ? anchor_define(r, anchor, mark, count, collection) : 0;
}

/* The end of a collection: the anchored one ends at end. */
static void track_end(struct reader *r, size_t end)
{
	while (r->n_open > 0 && r->open[r->n_open - 1].depth == r->depth) {
		struct anchor *a = r->open[--r->n_open].anchor;

		a->end = end;
		a->open = false;
	}
	r->depth--;
}

static void anchors_free(struct reader *r)
{
	tdestroy(r->anchors, anchor_free);
	r->anchors = NULL;
	free(r->open);
	r->open = NULL;
	r->n_open = r->cap_open = 0;
	r->depth = 0;
}

/* One event of the first reading: the bounds, the anchors and aliases. */
static int check_event(struct reader *r, const yaml_event_t *e, int *documents)
{
	const yaml_mark_t *mark = &e->start_mark;
	size_t before = r->nodes;
	struct anchor *a;

	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*documents > 1)
			return reader_fail(r, mark, NULL,
					   "only one YAML document is allowed");
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (r->depth >= READER_MAX_DEPTH)
			return reader_fail(r, mark, NULL, "nesting deeper than %d levels",
					   READER_MAX_DEPTH);
		/* fall through */
	case YAML_SCALAR_EVENT:
		r->nodes++;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		track_end(r, r->nodes);
		return 0;
	case YAML_ALIAS_EVENT:
		a = anchor_find(r, (const char *)e->data.alias.anchor);
		if (!a)
			return reader_fail(r, mark, NULL,
					   "alias *%s names no anchor before it",
					   e->data.alias.anchor);
		if (a->open)
			return reader_fail(r, mark, NULL,
					   "alias *%s is inside its own anchor",
					   e->data.alias.anchor);
		r->nodes += a->end - a->start;
		break;
	default:
		return 0;
	}
	if (r->nodes > READER_MAX_NODES)
		return reader_fail(
			r, mark, NULL,
			"more than %u nodes (each use of an alias counts its nodes)",
			READER_MAX_NODES);
	return track(r, e->type, anchor_of(e), mark, before);
}

int reader_check(struct reader *r)
{
	yaml_parser_t p;
	yaml_event_t e;
	int documents = 0, ret = 0;
	bool end = false;

	if (!yaml_parser_initialize(&p))
		return reader_fail(r, NULL, NULL, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)r->text, r->len);
	while (ret == 0 && !end) {
		if (!yaml_parser_parse(&p, &e)) {
			ret = syntax_error(r, &p);
			break;
		}
		end = e.type == YAML_STREAM_END_EVENT;
		ret = check_event(r, &e, &documents);
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	anchors_free(r);
	r->nodes = 0;
	return ret;
}

/* ---- the second reading ---- */

/* Keeps the current event when it belongs to an anchored node (anchored:
 * it is one itself). */
static int record(struct reader *r, bool anchored)
{
	struct event copy = r->ev;

	if (r->n_open == 0 && !anchored)
		return 0;
	if (copy.text) {
		char *text = malloc(copy.len + 1);

		if (!text)
			return reader_fail(r, NULL, NULL, "out of memory");
		memcpy(text, copy.text, copy.len + 1);
		copy.text = text;
	}
	if (vec_push(r->recorded, r->n_recorded, r->cap_recorded, copy)) {
		free((char *)copy.text);
		return reader_fail(r, NULL, NULL, "out of memory");
	}
	return 0;
}

/* The next event from the parser into r->raw; *anchor is its anchor. */
static int parse_next(struct reader *r, const char **anchor)
{
	yaml_event_t *e = &r->raw;

	if (r->have_raw)
		yaml_event_delete(e);
	r->have_raw = yaml_parser_parse(&r->parser, e);
	if (!r->have_raw)
		return syntax_error(r, &r->parser);
	*anchor = anchor_of(e);
	r->ev = (struct event){.type = e->type, .mark = e->start_mark};
	if (e->type == YAML_SCALAR_EVENT) {
		r->ev.text = (const char *)e->data.scalar.value;
		r->ev.len = e->data.scalar.length;
		r->ev.plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	}
	return 0;
}

int reader_next(struct reader *r)
{
	const char *anchor = NULL;
	struct anchor *a;

	if (r->replay == r->replay_end) {
		if (parse_next(r, &anchor))
			return -1;
		if (r->ev.type == YAML_ALIAS_EVENT) {
			a = anchor_find(r, (const char *)r->raw.data.alias.anchor);
			if (!a || a->open) /* the check saw to that */
				return reader_fail(r, &r->ev.mark, NULL, "bad alias");
			r->replay = a->start;
			r->replay_end = a->end;
		}
	}
	if (r->replay < r->replay_end)
		r->ev = r->recorded[r->replay++];
	if (r->ev.type == YAML_SEQUENCE_END_EVENT ||
	    r->ev.type == YAML_MAPPING_END_EVENT) {
		if (record(r, false))
			return -1;
		track_end(r, r->n_recorded);
		return 0;
	}
	if (track(r, r->ev.type, anchor, &r->ev.mark, r->n_recorded))
		return -1;
	return record(r, anchor != NULL);
}

int reader_start(struct reader *r)
{
	if (!yaml_parser_initialize(&r->parser))
		return reader_fail(r, NULL, NULL, "out of memory");
	r->parsing = true;
	yaml_parser_set_input_string(&r->parser, (const unsigned char *)r->text, r->len);
	if (reader_next(r) || reader_next(r)) /* STREAM-START, then DOCUMENT-START */
		return -1;
	return r->ev.type == YAML_DOCUMENT_START_EVENT ? reader_next(r) : 0;
}

void reader_free(struct reader *r)
{
	size_t i;

	if (r->have_raw)
		yaml_event_delete(&r->raw);
	r->have_raw = false;
	if (r->parsing)
		yaml_parser_delete(&r->parser);
	r->parsing = false;
	for (i = 0; i < r->n_recorded; i++)
		free((char *)r->recorded[i].text);
	free(r->recorded);
	r->recorded = NULL;
	r->n_recorded = r->cap_recorded = 0;
	anchors_free(r);
}

/* ---- for the converter ---- */

int reader_next_key(struct reader *r)
{
	if (reader_next(r))
		return -1;
	return r->ev.type != YAML_MAPPING_END_EVENT;
}

/* A scalar with a NUL inside would be read cut short at it: refused. */
static int has_nul(struct reader *r, const char *path, const char *what)
{
	char shown[256];

	if (strlen(r->ev.text) == r->ev.len)
		return 0;
	escape_text(shown, sizeof(shown), r->ev.text, r->ev.len);
	return reader_fail(r, &r->ev.mark, path, "%s'%s' holds a NUL character", what,
			   shown);
}

int reader_key(struct reader *r, const char *path, const char *what, const char **name)
{
	const char *where = *path ? path : "top level";

	if (r->ev.type != YAML_SCALAR_EVENT)
		return reader_fail(r, &r->ev.mark, where, "%s, not %s", what,
				   event_kind(&r->ev));
	if (has_nul(r, where, "key "))
		return -1;
	*name = r->ev.text;
	return 0;
}

int reader_scalar(struct reader *r, const char *path, const char **text)
{
	if (r->ev.type != YAML_SCALAR_EVENT)
		return reader_fail(r, &r->ev.mark, path,
				   "expected a single value, not %s", event_kind(&r->ev));
	if (has_nul(r, path, ""))
		return -1;
	*text = r->ev.text;
	return 0;
}

const char *event_kind(const struct event *e)
{
	switch (e->type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	default:
		return "a single value";
	}
}

bool event_is_null(const struct event *e)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	size_t i;

	if (e->type != YAML_SCALAR_EVENT || !e->plain)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		if (strcmp(e->text, nulls[i]) == 0)
			return true;
	}
	return false;
}

/* Copies text after the first n bytes of out, as much as fits. */
static void path_put(char *out, size_t n, const char *text)
{
	size_t len = strnlen(text, PATH_TEXT_LEN - 1 - n);

	memcpy(out + n, text, len);
	out[n + len] = '\0';
}

void path_join(char *out, const char *base, const char *key)
{
	size_t n;

	path_put(out, 0, base);
	n = strlen(out);
	if (n > 0 && n < PATH_TEXT_LEN - 1)
		out[n++] = '.';
	path_put(out, n, key);
}

void path_index(char *out, const char *base, size_t index)
{
	char text[32];

	snprintf(text, sizeof(text), "[%zu]", index);
	path_put(out, 0, base);
	path_put(out, strlen(out), text);
}
