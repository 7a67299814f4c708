/* reader.h: a configuration file as YAML events (libyaml), read twice.
 * The first reading checks the file as a whole before any of it is used:
 * its syntax, that it holds one document, and the bounds below (nesting
 * makes libyaml's scanner slow, and aliases can repeat a node without
 * end). The second hands the events to the converter one at a time, each
 * alias replaced by the events of the node it names, so that a file is read
 * in time and memory linear in its size. Every error is one line:
 * "FILE:LINE:COLUMN: KEY: what is wrong", with the file's text escaped. */
#ifndef WGRS_READER_H
#define WGRS_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#define READER_MAX_DEPTH 64	    /* nested collections, the top level included */
#define READER_MAX_NODES (1u << 20) /* each use of an alias counts its nodes */
#define PATH_TEXT_LEN	 512

/* An event as the converter sees it; text stays valid until the reader is
 * freed or, for events read from the file, until the next event. */
struct event {
	yaml_event_type_t type;
	yaml_mark_t mark; /* where it starts */
	const char *text; /* a scalar's value: len bytes, then a NUL */
	size_t len;
	bool plain; /* a plain scalar, which can be null */
};

struct reader {
	const char *file; /* as errors name it */
	char *err;
	size_t errlen;
	const char *text;
	size_t len;
	struct event ev; /* the current event */

	/* the rest is reader.c's */
	yaml_parser_t parser;
	bool parsing;
	yaml_event_t raw; /* the parser's event behind ev */
	bool have_raw;
	unsigned depth;
	size_t nodes;
	void *anchors;		  /* a tsearch tree, by name */
	struct open_anchor *open; /* anchored collections not yet ended */
	size_t n_open, cap_open;
	struct event *recorded; /* the events of anchored nodes */
	size_t n_recorded, cap_recorded;
	size_t replay, replay_end; /* recorded events to hand out next */
};

/* The first reading: 0, or -1 with the error set. */
int reader_check(struct reader *r);
/* The second: the current event becomes the first of the root node, or
 * YAML_STREAM_END when the file holds no document. 0 or -1. */
int reader_start(struct reader *r);
int reader_next(struct reader *r);
void reader_free(struct reader *r);

/* Sets the error at mark (no position when NULL) for key (may be NULL) and
 * returns -1. */
int reader_fail(struct reader *r, const yaml_mark_t *mark, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Moves to the next key of the mapping being read: 1 at a key, 0 at the
 * mapping's end, -1 on error. */
int reader_next_key(struct reader *r);
/* The current event as the name of a key of the mapping at path: what says
 * what names a key there ("a peer is named by its public key"), for the
 * error when it is not a single value. 0 or -1. */
int reader_key(struct reader *r, const char *path, const char *what, const char **name);
/* The current event as a single value for path. 0 or -1. */
int reader_scalar(struct reader *r, const char *path, const char **text);

/* "a mapping", "a list" or "a single value". */
const char *event_kind(const struct event *e);
/* YAML's null: a plain empty scalar, "~" or "null". */
bool event_is_null(const struct event *e);

/* Paths name a key for the operator: "interfaces.wg0.learn_filter[1].le",
 * cut short rather than overflow their PATH_TEXT_LEN buffers. */
void path_join(char *out, const char *base, const char *key);
void path_index(char *out, const char *base, size_t index);

#endif
