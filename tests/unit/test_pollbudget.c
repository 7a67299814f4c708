/* test_pollbudget.c: the poll interval stretched by wg_poll_budget
 * (src/daemon/pollbudget.h). */
#include "pollbudget.h"
#include "testutil.h"

/* A read short for the budget: the interval as set. */
static void test_never_below_the_interval(void **state)
{
	(void)state;
	assert_int_equal(pollbudget_interval_ms(1000, 0, 100), 1000);
	assert_int_equal(pollbudget_interval_ms(1000, 5, 100), 1000);
	assert_int_equal(pollbudget_interval_ms(1000, 10, 100), 1000); /* 1% exactly */
	assert_int_equal(pollbudget_interval_ms(200, 1, 100), 200);
	assert_int_equal(pollbudget_interval_ms(30000, 250, 100), 30000);
}

/* A longer read stretches it: the read takes the budget's share. */
static void test_stretches_with_the_read(void **state)
{
	(void)state;
	assert_int_equal(pollbudget_interval_ms(1000, 11, 100), 1100);
	assert_int_equal(pollbudget_interval_ms(1000, 80, 100), 8000);	 /* 100 000, 1% */
	assert_int_equal(pollbudget_interval_ms(1000, 800, 100), 80000); /* 1 000 000 */
	assert_int_equal(pollbudget_interval_ms(1000, 800, 200), 40000); /* 2% */
	assert_int_equal(pollbudget_interval_ms(1000, 80, 50), 16000);	 /* 0.5% */
	assert_int_equal(pollbudget_interval_ms(1000, 7, 1), 70000);	 /* 0.01% */
	/* Rounded up: never over the budget. */
	assert_int_equal(pollbudget_interval_ms(1000, 33, 300), 1100);
	assert_int_equal(pollbudget_interval_ms(1000, 34, 300), 1134);
	/* 100%: only a read longer than the interval stretches it. */
	assert_int_equal(pollbudget_interval_ms(1000, 999, 10000), 1000);
	assert_int_equal(pollbudget_interval_ms(1000, 1500, 10000), 1500);
}

/* 0%: no budget, the interval as set, however long the read. */
static void test_no_budget(void **state)
{
	(void)state;
	assert_int_equal(pollbudget_interval_ms(1000, 100000, 0), 1000);
	assert_int_equal(pollbudget_interval_ms(200, 5000, 0), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_below_the_interval),
		cmocka_unit_test(test_stretches_with_the_read),
		cmocka_unit_test(test_no_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
