/* test_doc_keys.c: every configuration key the code knows
 * (settings_key_names, and "interfaces") is documented in wg-rtsync.yaml(5)
 * (an entry "*KEY*:" at the start of a line) and set in the example
 * configuration with its default (a line "KEY:"). A key added to the code
 * and not to them fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "settings.h"
#include "testutil.h"

/* Whether a line of text (len bytes, no NUL) starts with line_start. */
static bool has_line(const char *text, size_t len, const char *line_start)
{
	size_t n = strlen(line_start);

	for (size_t i = 0; i + n <= len; i++)
		if ((i == 0 || text[i - 1] == '\n') && !memcmp(text + i, line_start, n))
			return true;
	return false;
}

static void check_keys(const char *rel, const char *fmt, bool commented_interfaces)
{
	size_t len;
	char *text = read_source_file(rel, &len);
	char want[64];

	for (int k = 0; k < K_COUNT; k++) {
		snprintf(want, sizeof(want), fmt, settings_key_names[k]);
		if (!has_line(text, len, want))
			fail_msg("%s: no line starting with \"%s\"", rel, want);
	}
	/* interfaces: restricts what is managed, so the example only shows it
	 * in a comment. */
	snprintf(want, sizeof(want), fmt, "interfaces");
	if (commented_interfaces) {
		char commented[80];

		snprintf(commented, sizeof(commented), "# %s", want);
		if (!has_line(text, len, commented))
			fail_msg("%s: no line starting with \"%s\"", rel, commented);
	} else if (!has_line(text, len, want)) {
		fail_msg("%s: no line starting with \"%s\"", rel, want);
	}
	free(text);
}

static void test_man_page_documents_every_key(void **state)
{
	(void)state;
	check_keys("man/wg-rtsync.yaml.5.scd", "*%s*:", false);
}

static void test_example_sets_every_key(void **state)
{
	(void)state;
	check_keys("examples/wg-rtsync.yaml", "%s:", true);
}

/* The check itself finds a missing key. */
static void test_missing_key_is_found(void **state)
{
	static const char text[] = "*sync_routes*: x\n  *peers*: y\n";

	(void)state;
	assert_true(has_line(text, sizeof(text) - 1, "*sync_routes*:"));
	assert_false(has_line(text, sizeof(text) - 1, "*peers*:"));
	assert_false(has_line(text, sizeof(text) - 1, "*routing_table*:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page_documents_every_key),
		cmocka_unit_test(test_example_sets_every_key),
		cmocka_unit_test(test_missing_key_is_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
