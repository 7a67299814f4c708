/* test_pollturn.c: a round's WireGuard changes before the device's poll
 * read, within the bound of abandoned reads (src/daemon/pollturn.h). */
#include "pollturn.h"
#include "testutil.h"

/* Without a read of the device in progress, the round goes, whatever the
 * count. */
static void test_no_read_no_conflict(void **state)
{
	struct pollturn p = {0};

	(void)state;
	assert_int_equal(pollturn_decide(&p, false), POLL_TURN_ROUND);
	p.abandoned = POLL_MAX_ABANDONED + 5;
	assert_int_equal(pollturn_decide(&p, false), POLL_TURN_ROUND);
}

/* The change first, POLL_MAX_ABANDONED times in a row; then the read
 * completes before the next change; a completed read starts the count
 * again. */
static void test_bound_of_abandoned_reads(void **state)
{
	struct pollturn p = {0};

	(void)state;
	assert_int_equal(POLL_MAX_ABANDONED, 3);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < POLL_MAX_ABANDONED; i++) {
			assert_int_equal(pollturn_decide(&p, true), POLL_TURN_ABANDON);
			pollturn_read_ended(&p, true);
		}
		assert_int_equal(pollturn_decide(&p, true), POLL_TURN_WAIT);
		assert_int_equal(pollturn_decide(&p, true), POLL_TURN_WAIT);
		assert_int_equal(pollturn_decide(&p, false), POLL_TURN_ROUND);
		pollturn_read_ended(&p, false);
		assert_int_equal(pollturn_decide(&p, true), POLL_TURN_ABANDON);
	}
}

/* A read that ends without being abandoned (also a failed one) clears
 * the count, wherever it stood. */
static void test_completed_read_clears(void **state)
{
	struct pollturn p = {0};

	(void)state;
	pollturn_read_ended(&p, true);
	pollturn_read_ended(&p, true);
	pollturn_read_ended(&p, false);
	assert_int_equal(p.abandoned, 0);
	for (int i = 0; i < POLL_MAX_ABANDONED - 1; i++)
		pollturn_read_ended(&p, true);
	assert_int_equal(pollturn_decide(&p, true), POLL_TURN_ABANDON);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_read_no_conflict),
		cmocka_unit_test(test_bound_of_abandoned_reads),
		cmocka_unit_test(test_completed_read_clears),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
