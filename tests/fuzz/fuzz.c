/* fuzz.c: the checks the fuzz targets share (fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "fuzz.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	abort();
}

void fuzz_check_prefix(const struct prefix *p)
{
	struct prefix norm = *p;

	FUZZ_CHECK(p->family == AF_INET || p->family == AF_INET6);
	FUZZ_CHECK(p->len <= prefix_family_bits(p->family));
	prefix_normalise(&norm);
	FUZZ_CHECK(memcmp(&norm, p, sizeof(norm)) == 0);
}

void fuzz_check_addr(const struct prefix *a)
{
	FUZZ_CHECK(a->len == prefix_family_bits(a->family));
	fuzz_check_prefix(a);
}

void fuzz_check_line(const char *text)
{
	char escaped[4096];
	size_t len = strlen(text);

	FUZZ_CHECK(len > 0 && len < sizeof(escaped));
	FUZZ_CHECK(escape_text(escaped, sizeof(escaped), text, len) == len);
	FUZZ_CHECK(memcmp(escaped, text, len) == 0);
}
