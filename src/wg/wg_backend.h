/* wg_backend.h: what the WireGuard backends share beyond the plan
 * (wg_plan.h): the removal mode found per device. */
#ifndef WGRS_WG_BACKEND_H
#define WGRS_WG_BACKEND_H

#include <net/if.h>
#include <stdbool.h>

#include "backend.h"
#include "wg_plan.h"

/* The removal mode found for each device, by name (a list per backend). */
struct wg_dev_mode {
	char name[IF_NAMESIZE];
	enum wg_remove_mode mode;
	struct wg_dev_mode *next;
};
/* ifname's entry, made (WG_REMOVE_UNKNOWN) when missing; NULL: no memory. */
struct wg_dev_mode *wg_dev_mode_of(struct wg_dev_mode **list, const char *ifname);
enum wg_remove_mode wg_dev_mode_get(const struct wg_dev_mode *list, const char *ifname);
/* A device that went may come back as another kernel's or daemon's. */
void wg_dev_mode_forget(struct wg_dev_mode **list, const char *ifname);
void wg_dev_mode_free_all(struct wg_dev_mode **list);

/* Family, then address bytes, then length: a plain total order. */
int wg_prefix_cmp(const struct prefix *a, const struct prefix *b);

#endif
