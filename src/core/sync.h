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
	/* Of the failed: route adds refused (EEXIST) by a route the model
	 * lacks. The table is to be read again (rec_fail holds them till then). */
	size_t unseen_routes;
};

/* Write-ahead of ownership (docs/design.md, "Commit"): before the AllowedIP
 * changes of a pass are applied, record() gets the entries that its learned
 * adds will own (rec_own_intent), so that the caller can make them durable
 * first. A non-zero return holds those adds back: they fail with it, and
 * the next round tries again. Removals and give-backs go ahead: a crash
 * after one of them leaves a record that the device contradicts, which
 * loading drops, and nothing that looks static. */
struct sync_intents {
	int (*record)(void *ctx, const struct own_entry *v, size_t n);
	void *ctx;
};

/* With dry_run the changes are only planned (and left in *plan). plan may be
 * NULL when the caller does not want the list; intents NULL when it keeps
 * no record. Returns 0 when every change applied, else the first error (the
 * rest were still tried). */
int sync_round(struct rec *r, struct wg_backend *wg, struct route_backend *rt,
	       const char *ifname, bool full, bool dry_run, struct change_list *plan,
	       const struct sync_intents *intents, struct sync_result *res);

#endif
