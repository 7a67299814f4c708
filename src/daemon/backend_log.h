/* backend_log.h: a pair of backends that pass everything through to the
 * real ones and log each change they apply at info. At most
 * BACKEND_LOG_LINES lines a second are said per interface; the rest go to
 * debug and are counted, and the count is said in one line at most once a
 * second (a storm of small rounds would otherwise write a line per change,
 * or per round). Failed changes go to the interface's failures
 * (failures.h), which say each cause once, not once per change or pass.
 * It also counts the changes by kind. */
#ifndef WGRS_BACKEND_LOG_H
#define WGRS_BACKEND_LOG_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "failures.h"

#define CHANGE_OP_COUNT (CHANGE_ROUTE_DEL + 1)

#define BACKEND_LOG_LINES     100
#define BACKEND_LOG_WINDOW_MS 1000

struct backend_log {
	struct wg_backend wg; /* pass these to sync_round */
	struct route_backend rt;
	struct wg_backend *inner_wg;
	struct route_backend *inner_rt;
	char ifname[IF_NAMESIZE];
	struct failures failures; /* of the interface, by cause */
	/* Changes by enum change_op, since the interface was picked up. */
	uint64_t applied[CHANGE_OP_COUNT], failed[CHANGE_OP_COUNT];
	uint64_t window_start;	    /* ms: the second the line budget is for */
	size_t window_shown;	    /* lines said in it */
	size_t hidden;		    /* lines not said, not yet summarised */
	uint64_t last_summary;	    /* ms */
	uint64_t (*clock_ms)(void); /* monotonic; replaceable for tests */
};

/* last_error (last_error_len bytes) and *last_error_time get the line of a
 * failure's cause when it arises (the interface's status). */
void backend_log_init(struct backend_log *bl, struct wg_backend *wg,
		      struct route_backend *rt, const char *ifname, char *last_error,
		      size_t last_error_len, double *last_error_time);
/* Logs the summary of the lines not said, when the last one is a second
 * old, and the failures' causes that arose or ended in the round. Returns
 * how many arose. */
size_t backend_log_round_end(struct backend_log *bl);
void backend_log_free(struct backend_log *bl);

#endif
