/* wg_genl.h: the WireGuard backend over the kernel's generic netlink
 * family "wireguard" (libmnl). get() is one WG_CMD_GET_DEVICE dump, a peer
 * continued over several messages merged as wg(8) does; get_changed() (the
 * idle poll) hashes the dump as it arrives and dumps again for a snapshot
 * only when the device differs from what the caller knows; apply() sends
 * WG_CMD_SET_DEVICE with WGPEER_F_UPDATE_ONLY, long lists split over
 * messages as wg(8) does. Removal: WGALLOWEDIP_F_REMOVE_ME where the kernel
 * has it (policy dump, else a probe on the temporary peer), else the
 * temporary peer, else WGPEER_F_REPLACE_ALLOWEDIPS. The messages are
 * genl_codec.h's. */
#ifndef WGRS_WG_GENL_H
#define WGRS_WG_GENL_H

#include <libmnl/libmnl.h>

#include "backend.h"
#include "wg_backend.h"

/* Sends the request at req (one message) and feeds every reply message to
 * cb until NLMSG_DONE or the ACK. 0, or a negative errno (the kernel's). */
typedef int (*wg_genl_exchange_fn)(void *ctx, const struct nlmsghdr *req, mnl_cb_t cb,
				   void *data);

/* The backend over a NETLINK_GENERIC socket. get() returns -ENODEV when the
 * family is missing or the device is not a kernel WireGuard device. Each
 * reply is read in full (a stale one, of an earlier request, is skipped);
 * one that does not come within 10 s fails the request with -ETIMEDOUT. */
struct wg_backend *wg_genl_backend_new(void);
/* The same logic over another transport (tests); msg_max: the size set
 * requests are split at (0: WG_GENL_MSG_MAX). */
struct wg_backend *wg_genl_backend_new_exchange(wg_genl_exchange_fn fn, void *ctx,
						size_t msg_max);
enum wg_remove_mode wg_genl_remove_mode(struct wg_backend *b, const char *ifname);

#endif
