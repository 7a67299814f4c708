/* pacing.c: see pacing.h. */
#include "pacing.h"

void pacing_event(struct pacing *p, bool withdrawal)
{
	/* Only withdrawals make a storm of rounds: a round that removes pays
	 * for the temporary peer, one that adds pays little. */
	if (withdrawal && p->events < UINT32_MAX)
		p->events++;
}

void pacing_round_begin(struct pacing *p, uint64_t now)
{
	p->round_start = now;
	p->round_end = now;
	p->round_events = p->events;
	p->events = 0;
}

void pacing_round_end(struct pacing *p, uint64_t now)
{
	p->round_end = now < p->round_start ? p->round_start : now;
}

uint64_t pacing_next_round(const struct pacing *p, uint64_t now, uint32_t batch_delay_ms)
{
	uint64_t due = now + batch_delay_ms, hold, until;

	/* A storm: withdrawals queued up while the last round ran, or that
	 * round had a storm's worth to do (rounds short enough to see none
	 * come in while they run, as against wireguard-go). */
	if (!p->round_start ||
	    (p->events < PACING_STORM_EVENTS && p->round_events < PACING_STORM_EVENTS))
		return due;
	hold = (p->round_end - p->round_start) * PACING_HOLD_FACTOR;
	if (hold < PACING_MIN_HOLD_MS)
		hold = PACING_MIN_HOLD_MS;
	if (hold > PACING_MAX_HOLD_MS)
		hold = PACING_MAX_HOLD_MS;
	until = p->round_end + hold;
	return until > due ? until : due;
}
