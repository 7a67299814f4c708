/* testutil.h: helpers shared by the cmocka tests. */
#ifndef WGRS_TESTUTIL_H
#define WGRS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "prefix.h"
#include "wgkey.h"

/* Parses or fails the test. */
struct prefix P(const char *text);
struct prefix A(const char *text);
struct wg_key K(const char *base64);
/* A deterministic key from a small number (for tests that need many). */
struct wg_key key_n(unsigned n);
/* Path of a file under the source tree (WGRS_SRCDIR); static buffer. */
const char *src_path(const char *rel);
/* The whole of a non-empty file under the source tree, malloc'd to exactly
 * *len bytes (no NUL after it, so that valgrind sees any read past the end),
 * or the test fails. */
void *read_source_file(const char *rel, size_t *len);

/* qsort for a list that may be empty and then NULL: qsort's base must not
 * be NULL even for no elements (UBSan's nonnull-attribute). */
void sort_items(void *base, size_t n, size_t size,
		int (*cmp)(const void *, const void *));

/* Runs prog with the words of the formatted line as its arguments (no
 * shell); its output (stdout and stderr) goes to out (size bytes, NUL
 * terminated; out may be NULL). Returns the exit status, 128 if killed. */
int run_program(const char *prog, char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* What is written to stderr (the log) goes to a temporary file between
 * start and stop; log_capture_lines counts its lines that start with level
 * and contain what; log_capture_clear empties it. */
struct log_capture {
	FILE *f;
	int saved_stderr;
};
void log_capture_start(struct log_capture *c);
void log_capture_stop(struct log_capture *c);
size_t log_capture_lines(struct log_capture *c, const char *level, const char *what);
void log_capture_clear(struct log_capture *c);

#endif
