/* wg_auto.h: picks the WireGuard backend of an interface at run time:
 * kernel generic netlink when the kernel knows the device, else the UAPI
 * socket of wireguard-go or boringtun. Built on backend.h alone. */
#ifndef WGRS_WG_AUTO_H
#define WGRS_WG_AUTO_H

#include "backend.h"

/* A backend that sends each interface to the kernel backend when the
 * kernel's "wireguard" family knows it, else to the UAPI backend (sockets
 * in uapi_sockdir, NULL for /var/run/wireguard). The choice is remembered
 * per interface and made again when the device goes away; describe()
 * tells the chosen backend's. */
struct wg_backend *wg_backend_auto_new(const char *uapi_sockdir);
/* The same choice between two given backends (it owns them; genl may be
 * NULL). A device is the kernel's when genl reads it, else the UAPI
 * backend's when that one reads it; it is re-chosen after -ENODEV. The
 * tests' way in, with backends they control. */
struct wg_backend *wg_backend_auto_new_with(struct wg_backend *genl,
					    struct wg_backend *uapi);

#endif
