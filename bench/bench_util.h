/* bench_util.h: what the benchmark programs share. Times are
 * CLOCK_MONOTONIC seconds, the clock of Python's time.monotonic(), so that
 * bench/e2e.py can compare them with its own. */
#ifndef WGRS_BENCH_UTIL_H
#define WGRS_BENCH_UTIL_H

#include <time.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* qsort(3) order of doubles, for medians and percentiles. */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif
