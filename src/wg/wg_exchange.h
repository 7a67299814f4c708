/* wg_exchange.h: the kernel and UAPI backends over another exchange than
 * their sockets (one request out, its reply back): the unit tests' models
 * of the kernel and of wireguard-go, and the live kernel test's checker
 * that reads the device after every message. */
#ifndef WGRS_WG_EXCHANGE_H
#define WGRS_WG_EXCHANGE_H

#include <libmnl/libmnl.h>

#include "backend.h"
#include "buf.h"

/* Sends the request at req (one message) and feeds every reply message to
 * cb until NLMSG_DONE or the ACK. 0, or a negative errno (the kernel's). */
typedef int (*wg_genl_exchange_fn)(void *ctx, const struct nlmsghdr *req, mnl_cb_t cb,
				   void *data);
/* msg_max: the size set requests are split at (0: WG_GENL_MSG_MAX). */
struct wg_backend *wg_genl_backend_new_exchange(wg_genl_exchange_fn fn, void *ctx,
						size_t msg_max);
/* The same, with the idle poll read in pieces (backend.h's poll_start)
 * over a socket dump_open(ctx) gives (a new one per dump, closed by the
 * backend): the dump request is sent on it, each datagram of the reply
 * read from it. A socket or a negative errno. */
typedef int (*wg_genl_dump_open_fn)(void *ctx);
struct wg_backend *wg_genl_backend_new_exchange_dump(wg_genl_exchange_fn fn,
						     wg_genl_dump_open_fn dump_open,
						     void *ctx, size_t msg_max);

/* Sends req (len bytes) to ifname's socket and reads the whole reply into
 * reply. 0 or a negative errno (-ENODEV when there is no such socket). */
typedef int (*wg_uapi_exchange_fn)(void *ctx, const char *ifname, const char *req,
				   size_t len, struct buf *reply);
struct wg_backend *wg_uapi_backend_new_exchange(wg_uapi_exchange_fn fn, void *ctx);

#endif
