/* wg_uapi.h: the WireGuard backend over the userspace UAPI socket
 * (IFNAME.sock in /var/run/wireguard: wireguard-go, boringtun), one
 * connection kept per device. The idle poll hashes the get=1 text as it
 * arrives and parses it only when it is not the text read last time; the
 * text is uapi_codec.h's. Removal: allowed_ip=-PREFIX where accepted, else
 * the temporary peer (wg_plan.h), else replace_allowed_ips. */
#ifndef WGRS_WG_UAPI_H
#define WGRS_WG_UAPI_H

#include <stddef.h>

#include "backend.h"
#include "buf.h"
#include "wg_backend.h"

#define WG_UAPI_SOCKDIR "/var/run/wireguard"

/* Sends req (len bytes) to ifname's socket and reads the whole reply into
 * reply. 0 or a negative errno (-ENODEV when there is no such socket). */
typedef int (*wg_uapi_exchange_fn)(void *ctx, const char *ifname, const char *req,
				   size_t len, struct buf *reply);

/* The backend over real sockets in sockdir (NULL: WG_UAPI_SOCKDIR). */
struct wg_backend *wg_uapi_backend_new(const char *sockdir);
/* The same logic over another transport (tests). */
struct wg_backend *wg_uapi_backend_new_exchange(wg_uapi_exchange_fn fn, void *ctx);
/* The removal mode detected for ifname so far. */
enum wg_remove_mode wg_uapi_remove_mode(struct wg_backend *b, const char *ifname);

#endif
