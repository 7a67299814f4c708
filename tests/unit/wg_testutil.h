/* wg_testutil.h: helpers for the tests of the WireGuard backends. */
#ifndef WGRS_WG_TESTUTIL_H
#define WGRS_WG_TESTUTIL_H

#include <string.h>

#include "backend.h"
#include "wg_plan.h"

/* How b removes AllowedIPs on ifname, as its describe() tells status. */
static inline enum wg_remove_mode remove_mode(struct wg_backend *b, const char *ifname)
{
	const char *removal = "unknown";
	enum wg_remove_mode m = WG_REMOVE_UNKNOWN;

	b->describe(b, ifname, &removal);
	while (m < WG_REMOVE_REPLACE && strcmp(wg_remove_mode_name(m), removal))
		m++;
	return m;
}

#endif
