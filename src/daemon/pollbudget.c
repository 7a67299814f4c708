/* pollbudget.c: the poll interval a budget stretches (pollbudget.h). */
#include "pollbudget.h"

uint64_t pollbudget_interval_ms(uint32_t interval_ms, uint64_t read_ms, uint32_t budget)
{
	uint64_t stretched;

	if (!budget)
		return interval_ms;
	/* read_ms is the daemon's clock: far below 2^64 / 10 000. */
	stretched = (read_ms * 10000 + budget - 1) / budget;
	return stretched > interval_ms ? stretched : interval_ms;
}
