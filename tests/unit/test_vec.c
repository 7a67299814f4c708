/* test_vec.c: array growth (vec.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "vec.h"

struct pair {
	int a;
	long b;
};

/* Pushes keep every element, and the capacity grows by doubling. */
static void test_push_keeps_order(void **state)
{
	struct pair *v = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(vec_push(v, n, cap, ((struct pair){i, -i})), 0);
	assert_int_equal(n, 1000);
	assert_int_equal(cap, 1024);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(v[i].a, i);
		assert_int_equal(v[i].b, -i);
	}
	free(v);
}

/* A reserve within the capacity changes nothing; one beyond grows to the
 * next power of two from VEC_MIN_CAP. */
static void test_reserve(void **state)
{
	char *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(vec_reserve(v, cap, 0), 0);
	assert_null(v);
	assert_int_equal(vec_reserve(v, cap, 3), 0);
	assert_non_null(v);
	assert_int_equal(cap, VEC_MIN_CAP);
	char *same = v;
	assert_int_equal(vec_reserve(v, cap, VEC_MIN_CAP), 0);
	assert_ptr_equal(v, same);
	assert_int_equal(vec_reserve(v, cap, 100), 0);
	assert_int_equal(cap, 128);
	free(v);
}

/* A size that overflows fails and leaves the array as it was. */
static void test_overflow_fails(void **state)
{
	struct pair *v = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	assert_int_equal(vec_push(v, n, cap, ((struct pair){1, 2})), 0);
	struct pair *before = v;
	size_t cap_before = cap;
	assert_int_equal(vec_reserve(v, cap, SIZE_MAX / 2), -ENOMEM);
	assert_int_equal(vec_reserve(v, cap, SIZE_MAX), -ENOMEM);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, cap_before);
	assert_int_equal(v[0].a, 1);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_keeps_order),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_overflow_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
