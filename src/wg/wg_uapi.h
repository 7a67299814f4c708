/* wg_uapi.h: the WireGuard backend over the userspace UAPI socket
 * (IFNAME.sock in /var/run/wireguard: wireguard-go, boringtun), one
 * connection kept per device. The idle poll reads the device once: it
 * hashes the get=1 text as it arrives, and parses that same text (kept while
 * the poll runs) only when it is not the text read last time. */
#ifndef WGRS_WG_UAPI_H
#define WGRS_WG_UAPI_H

#include "backend.h"

#define WG_UAPI_SOCKDIR "/var/run/wireguard"

/* The backend over the sockets in sockdir (NULL: WG_UAPI_SOCKDIR). */
struct wg_backend *wg_uapi_backend_new(const char *sockdir);

#endif
