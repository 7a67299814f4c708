/* test_redump.c: when a torn route dump is read again, and when a torn
 * dump must do as it is (src/daemon/redump.h). */
#include "redump.h"
#include "testutil.h"

static void test_clean_dump_needs_no_other(void **state)
{
	struct redump r = {0};

	(void)state;
	assert_true(redump_done(&r, 1000, false, true));
	assert_true(redump_done(&r, 1000, false, false));
	assert_int_equal(redump_due(&r, 5000, true), 0);
	assert_int_equal(redump_due(&r, 5000, false), 0);
}

/* Read again once the events have stopped for REDUMP_QUIET_MS, or at the
 * latest REDUMP_RETRY_MS after the torn dump, doubling while they stay torn,
 * up to REDUMP_RETRY_MAX_MS; a clean dump ends it. */
static void test_again_once_quiet_or_later(void **state)
{
	struct redump r = {0};
	uint64_t t = 10000;

	(void)state;
	assert_false(redump_done(&r, t, true, true));
	/* Events went on until t + 50: quiet 200 ms after. */
	assert_int_equal(redump_due(&r, t + 50, true), t + 50 + REDUMP_QUIET_MS);
	/* None since the dump: not before 200 ms after it either. */
	assert_int_equal(redump_due(&r, t - 5000, true), t + REDUMP_QUIET_MS);
	/* They never stop: a second later all the same. */
	assert_int_equal(redump_due(&r, t + 5000, true), t + REDUMP_RETRY_MS);
	t += REDUMP_RETRY_MS;
	assert_false(redump_done(&r, t, true, true));
	assert_int_equal(redump_due(&r, t + 5000, true), t + 2 * REDUMP_RETRY_MS);
	for (int i = 0; i < 20; i++)
		assert_false(redump_done(&r, t, true, true));
	assert_int_equal(redump_due(&r, t + 100000, true), t + REDUMP_RETRY_MAX_MS);
	assert_true(redump_done(&r, t + 1, false, true));
	assert_int_equal(redump_due(&r, t + 100000, true), 0);
}

/* Rounds that wait for the dump (no confirmed picture) wait at most
 * REDUMP_HOLD_MS after the first torn dump: a dump is due then, and taken
 * as complete, torn or not. The dumps go on after it until a clean one. */
static void test_hold_is_bounded(void **state)
{
	struct redump r = {0};
	uint64_t t = 10000, end = t + REDUMP_HOLD_MS;

	(void)state;
	assert_false(redump_done(&r, t, true, false));
	assert_int_equal(redump_due(&r, t + 50, false), t + 50 + REDUMP_QUIET_MS);
	assert_int_equal(redump_due(&r, t + 100000, false), t + REDUMP_RETRY_MS);
	assert_false(redump_done(&r, t + REDUMP_RETRY_MS, true, false));
	assert_false(redump_done(&r, end - REDUMP_RETRY_MS, true, false));
	/* The next would be 4 s later; the hold ends sooner. */
	assert_int_equal(redump_due(&r, t + 100000, false), end);
	assert_true(redump_done(&r, end, true, false));
	/* Confirmed by it: the dumps go on, the fourth torn one 8 s later. */
	assert_int_equal(redump_due(&r, end + 100000, true), end + 8 * REDUMP_RETRY_MS);
	assert_true(redump_done(&r, end + 10, false, true));
	assert_int_equal(redump_due(&r, end + 100000, true), 0);
}

/* The hold bounds how long rounds go without a picture of the table: a
 * row of torn dumps that began while the picture stood does not shorten
 * the hold that starts when it is lost (lost events, rec_routes_doubt),
 * since what the earlier dumps saw was thrown away with it. */
static void test_hold_restarts_when_the_picture_is_lost(void **state)
{
	struct redump r = {0};
	uint64_t t = 20000, end = t + REDUMP_HOLD_MS;

	(void)state;
	assert_false(redump_done(&r, 10000, true, true));
	/* Lost 10 s into the row: the first torn dump since holds the rounds. */
	assert_false(redump_done(&r, t, true, false));
	/* The third of the row is due 2 s later, within the hold. */
	assert_int_equal(redump_due(&r, t + 100000, false), t + 2 * REDUMP_RETRY_MS);
	assert_false(redump_done(&r, t + 2 * REDUMP_RETRY_MS, true, false));
	/* The fourth would be 4 s later; the hold ends sooner. */
	assert_int_equal(redump_due(&r, t + 100000, false), end);
	assert_true(redump_done(&r, end, true, false));
	/* Confirmed by it, and lost again: a fresh hold. */
	assert_false(redump_done(&r, end + 5000, true, true));
	assert_false(redump_done(&r, end + 10000, true, false));
	assert_true(redump_done(&r, end + 10000 + REDUMP_HOLD_MS, true, false));
	/* A clean dump ends the row and the hold. */
	assert_true(redump_done(&r, end + 20000, false, true));
	assert_int_equal(redump_due(&r, end + 100000, false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_dump_needs_no_other),
		cmocka_unit_test(test_again_once_quiet_or_later),
		cmocka_unit_test(test_hold_is_bounded),
		cmocka_unit_test(test_hold_restarts_when_the_picture_is_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
