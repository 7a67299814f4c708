/* wg_auto.h: picks the WireGuard backend of an interface at run time:
 * kernel generic netlink when the kernel knows the device, else the UAPI
 * socket of wireguard-go or boringtun. */
#ifndef WGRS_WG_AUTO_H
#define WGRS_WG_AUTO_H

#include "wg_backend.h"

/* A backend that sends each interface to the kernel backend when the
 * kernel's "wireguard" family knows it, else to the UAPI backend (sockets
 * in uapi_sockdir, NULL for /var/run/wireguard). The choice is remembered
 * per interface and made again when the device goes away. */
struct wg_backend *wg_backend_auto_new(const char *uapi_sockdir);
/* The same choice between two given backends (it owns them; genl may be
 * NULL). A device is the kernel's when genl reads it, else the UAPI
 * backend's when that one reads it; it is re-chosen after -ENODEV. */
struct wg_backend *wg_backend_auto_new_with(struct wg_backend *genl,
					    struct wg_backend *uapi);
/* Which backend of b serves ifname ("kernel" or "uapi"; NULL when it has
 * not been read yet) and, in *mode, how it removes AllowedIPs (UNKNOWN
 * until the first removal). */
const char *wg_backend_auto_which(struct wg_backend *b, const char *ifname,
				  enum wg_remove_mode *mode);

#endif
