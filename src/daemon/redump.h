/* redump.h: after a torn route dump (docs/design.md, "Torn dumps"), when
 * the routes are read again, and when a torn dump must do as it is. The
 * next dump comes once no route event has arrived for REDUMP_QUIET_MS (nor
 * a dump ended), and at the latest REDUMP_RETRY_MS after the torn one,
 * doubling with each torn dump in a row up to REDUMP_RETRY_MAX_MS. An
 * interface whose reconciler has no confirmed picture of its table (at
 * start, after lost events) holds its rounds meanwhile, but not longer than
 * REDUMP_HOLD_MS after the first torn dump without the picture: from then on
 * a dump is taken as complete, torn or not (with what every dump since the
 * routes were last doubted saw), so that a storm that never ends still lets
 * it act; the dumps go on until one is clean. A row that began while the
 * picture stood does not shorten the hold: losing the picture throws away
 * what its dumps saw, and the hold starts afresh. Pure: the caller gives
 * the times. */
#ifndef WGRS_REDUMP_H
#define WGRS_REDUMP_H

#include <stdbool.h>
#include <stdint.h>

#define REDUMP_QUIET_MS	    200
#define REDUMP_HOLD_MS	    3000
#define REDUMP_RETRY_MS	    1000
#define REDUMP_RETRY_MAX_MS 60000

struct redump {
	uint64_t torn_since; /* monotonic ms: the first torn dump of the row; 0: none */
	uint64_t hold_since; /* the first torn one without the picture; 0: none */
	unsigned torn;	     /* torn dumps in a row */
	uint64_t dumped;     /* when the last of them ended */
};

/* A dump ended at now, torn or clean; confirmed: the reconciler's picture
 * (rec_routes_confirmed). True when the dump is to be taken as complete:
 * a clean one, or a torn one that may hold the rounds no longer. */
bool redump_done(struct redump *r, uint64_t now, bool torn, bool confirmed);
/* When the next dump is due (monotonic ms; 0: none is), with route events
 * last heard at last_event. */
uint64_t redump_due(const struct redump *r, uint64_t last_event, bool confirmed);

#endif
