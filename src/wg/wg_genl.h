/* wg_genl.h: the WireGuard backend over the kernel's generic netlink
 * family "wireguard" (libmnl): WG_CMD_GET_DEVICE dumps, WG_CMD_SET_DEVICE
 * messages split as wg(8) splits them, and the family's policy, which may
 * tell how the kernel removes an AllowedIP before any probe. */
#ifndef WGRS_WG_GENL_H
#define WGRS_WG_GENL_H

#include "backend.h"

/* get() returns -ENODEV when the family is missing or the device is not a
 * kernel WireGuard device. Each reply is read in full (a stale one, of an
 * earlier request, is skipped); one that does not come within 10 s fails
 * the request with -ETIMEDOUT. NULL without generic netlink. */
struct wg_backend *wg_genl_backend_new(void);

#endif
