/* pollturn.c: a change or the poll read first (pollturn.h). */
#include "pollturn.h"

enum poll_turn pollturn_decide(const struct pollturn *p, bool reading)
{
	if (!reading)
		return POLL_TURN_ROUND;
	return p->abandoned < POLL_MAX_ABANDONED ? POLL_TURN_ABANDON : POLL_TURN_WAIT;
}

void pollturn_read_ended(struct pollturn *p, bool abandoned)
{
	p->abandoned = abandoned ? p->abandoned + 1 : 0;
}
