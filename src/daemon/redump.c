/* redump.c: when a torn route dump is read again (see redump.h). */
#include "redump.h"

bool redump_done(struct redump *r, uint64_t now, bool torn, bool confirmed)
{
	if (!torn) {
		*r = (struct redump){0};
		return true;
	}
	if (!r->torn_since)
		r->torn_since = now ? now : 1;
	r->torn++;
	r->dumped = now;
	if (confirmed) {
		r->hold_since = 0; /* a picture stands: nothing is held */
		return false;
	}
	if (!r->hold_since)
		r->hold_since = now ? now : 1;
	if (now < r->hold_since + REDUMP_HOLD_MS)
		return false;
	r->hold_since = 0; /* the dump confirms the picture */
	return true;
}

uint64_t redump_due(const struct redump *r, uint64_t last_event, bool confirmed)
{
	uint64_t retry = REDUMP_RETRY_MAX_MS, quiet;
	unsigned shift = r->torn ? r->torn - 1 : 0;

	if (!r->torn_since)
		return 0;
	if (shift < 16 && ((uint64_t)REDUMP_RETRY_MS << shift) < retry)
		retry = (uint64_t)REDUMP_RETRY_MS << shift;
	retry += r->dumped;
	/* Rounds wait for it: no later than the end of the hold. */
	if (!confirmed && r->hold_since && retry > r->hold_since + REDUMP_HOLD_MS)
		retry = r->hold_since + REDUMP_HOLD_MS;
	quiet = (last_event > r->dumped ? last_event : r->dumped) + REDUMP_QUIET_MS;
	return quiet < retry ? quiet : retry;
}
