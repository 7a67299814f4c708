/* sync.h: one round for one interface: a reconcile pass, the changes applied
 * through the backends (AllowedIPs first, then routes as one batch), and each
 * success committed back into the reconciler. */
#ifndef WGRS_SYNC_H
#define WGRS_SYNC_H

#include <stdbool.h>

#include "backend.h"
#include "reconcile.h"

struct sync_result {
	size_t planned, applied, failed;
};

/* With dry_run the changes are only planned (and left in *plan). plan may be
 * NULL when the caller does not want the list. Returns 0 when every change
 * applied, else the first error (the rest were still tried). */
int sync_round(struct rec *r, struct wg_backend *wg, struct route_backend *rt,
	       const char *ifname, bool full, bool dry_run, struct change_list *plan,
	       struct sync_result *res);

#endif
