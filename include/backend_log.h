/* backend_log.h: a pair of backends that pass everything through to the
 * real ones and log each change they apply: done at info, failed at error
 * with the reason. A round's lines beyond a limit are summarised in one
 * line; a failure that the previous round logged already goes to debug,
 * so that one that persists (a downed link) is said once, not every poll. */
#ifndef WGRS_BACKEND_LOG_H
#define WGRS_BACKEND_LOG_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

struct backend_log {
	struct wg_backend wg;	 /* pass these to sync_round */
	struct route_backend rt;
	struct wg_backend *inner_wg;
	struct route_backend *inner_rt;
	char ifname[IF_NAMESIZE];
	size_t shown, hidden; /* lines of this round */
	size_t new_failures;  /* failures of this round not said before */
	/* hashes of the failures logged in the previous and this round */
	size_t n_prev, cap_prev, n_cur, cap_cur;
	uint64_t *prev, *cur;
};

void backend_log_init(struct backend_log *bl, struct wg_backend *wg,
		      struct route_backend *rt, const char *ifname);
void backend_log_round_begin(struct backend_log *bl);
/* Logs the summary of the lines not shown. Returns the number of failures
 * of the round that were not said before (a persisting one counts once). */
size_t backend_log_round_end(struct backend_log *bl);
void backend_log_free(struct backend_log *bl);

#endif
