/* backend_log.h: a pair of backends that pass everything through to the
 * real ones and log each change they apply: done at info, failed at error
 * with the reason. At most BACKEND_LOG_LINES lines a second are said per
 * interface; the rest go to debug and are counted, and the count is said in
 * one line at most once a second (a storm of small rounds would otherwise
 * write a line per change, or per round). A failure that the previous round
 * logged already goes to debug, so that one that persists (a downed link)
 * is said once, not every poll. It also counts the changes by kind. */
#ifndef WGRS_BACKEND_LOG_H
#define WGRS_BACKEND_LOG_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define CHANGE_OP_COUNT (CHANGE_ROUTE_DEL + 1)

#define BACKEND_LOG_LINES     100
#define BACKEND_LOG_WINDOW_MS 1000

struct backend_log {
	struct wg_backend wg; /* pass these to sync_round */
	struct route_backend rt;
	struct wg_backend *inner_wg;
	struct route_backend *inner_rt;
	char ifname[IF_NAMESIZE];
	size_t new_failures; /* failures of this round not said before */
	/* Changes by enum change_op, since the interface was picked up. */
	uint64_t applied[CHANGE_OP_COUNT], failed[CHANGE_OP_COUNT];
	uint64_t window_start;	    /* ms: the second the line budget is for */
	size_t window_shown;	    /* lines said in it */
	size_t hidden;		    /* lines not said, not yet summarised */
	uint64_t last_summary;	    /* ms */
	uint64_t (*clock_ms)(void); /* monotonic; replaceable for tests */
	/* hashes of the failures logged in the previous and this round */
	size_t n_prev, cap_prev, n_cur, cap_cur;
	uint64_t *prev, *cur;
};

void backend_log_init(struct backend_log *bl, struct wg_backend *wg,
		      struct route_backend *rt, const char *ifname);
void backend_log_round_begin(struct backend_log *bl);
/* Logs the summary of the lines not said, when the last one is a second
 * old. Returns the number of failures of the round that were not said
 * before (a persisting one counts once). */
size_t backend_log_round_end(struct backend_log *bl);
void backend_log_free(struct backend_log *bl);

#endif
