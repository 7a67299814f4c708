/* pollturn.h: who goes first when a round has WireGuard changes for a
 * device whose poll read is in progress (docs/spec.md section 5): the
 * change, the read abandoned and started again after it, at most
 * POLL_MAX_ABANDONED times in a row; then the read, the change waiting for
 * its end. Pure. */
#ifndef WGRS_POLLTURN_H
#define WGRS_POLLTURN_H

#include <stdbool.h>

/* Reads of one device abandoned in a row before one must complete. */
#define POLL_MAX_ABANDONED 3

enum poll_turn {
	POLL_TURN_ROUND,   /* no read of this device in progress: go ahead */
	POLL_TURN_ABANDON, /* the round now; the read abandoned, then again */
	POLL_TURN_WAIT,	   /* the round once the read is over */
};

struct pollturn {
	unsigned abandoned; /* reads of the device abandoned since one ended */
};

/* Whether the device's round may run now: reading, a read of that device
 * is in progress. */
enum poll_turn pollturn_decide(const struct pollturn *p, bool reading);
/* A read of the device ended: completed (or failed), or abandoned. */
void pollturn_read_ended(struct pollturn *p, bool abandoned);

#endif
