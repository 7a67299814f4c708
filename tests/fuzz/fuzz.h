/* fuzz.h: what the fuzz targets share. Each target is one
 * LLVMFuzzerTestOneInput over one parser; it checks what the parser promises
 * beyond not crashing, and a broken promise aborts, which libFuzzer reports
 * as a finding (and replay.c, the same target over its corpus without
 * libFuzzer, as a failed test). */
#ifndef WGRS_FUZZ_H
#define WGRS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the file, line and condition when cond is false. */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))
_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* A prefix as the parsers promise them: IPv4 or IPv6, len within the
 * family, host bits clear. */
void fuzz_check_prefix(const struct prefix *p);
/* An address (a gateway, a next hop): a prefix of the family's full length. */
void fuzz_check_addr(const struct prefix *a);
/* One line of text for the operator: non-empty, and nothing in it that
 * escape_text (config/escape.h) would escape: no control character, no
 * line separator, UTF-8. */
void fuzz_check_line(const char *text);

#endif
