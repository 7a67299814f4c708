/* wg_backend.h: a WireGuard backend (backend.h) over a transport that
 * only encodes requests and moves bytes: the kernel's generic netlink
 * (wg_genl.c) or the UAPI socket (wg_uapi.c). Done here once for both:
 * the rounds of a list of changes and their requests (wg_plan.h), how each
 * device removes an AllowedIP (detected at its first removal, remembered,
 * forgotten when the device goes), the temporary peer (removed when a read
 * finds it and when a round that used it failed), which change failed. */
#ifndef WGRS_WG_BACKEND_H
#define WGRS_WG_BACKEND_H

#include "backend.h"
#include "wg_plan.h"

struct wg_transport {
	const char *name; /* the backend's: "kernel", "uapi" */
	/* Reads ifname into dev, without the temporary peer (*temp_found
	 * tells whether it was there), in one request to the device (an
	 * interrupted dump is asked again). With known (the idle poll), a
	 * device that holds what known says (wg_device_fingerprint) and no
	 * temporary peer may be answered with *same and dev->pubkey alone.
	 * 0 or a negative errno (-ENODEV: no such device). */
	int (*read)(void *ctx, const char *ifname, const uint64_t *known,
		    struct wg_device *dev, bool *temp_found, bool *same);
	/* Optional: the idle poll's read (read with known) in pieces, as
	 * backend.h's poll_start, poll_step and poll_abort; read_step fills
	 * *temp_found as read does. One at a time; read_abort closes what the
	 * read used, which frees the device (wireguard-go holds its device
	 * lock while it writes a reply). */
	int (*read_start)(void *ctx, const char *ifname, uint64_t known, int *fd);
	int (*read_step)(void *ctx, int *fd, struct wg_device *dev, bool *temp_found,
			 bool *same);
	void (*read_abort)(void *ctx);
	/* Sends s as one or more messages, noting in s which one carried each
	 * part and how each went (wg_set). A negative errno: nothing went. */
	int (*send)(void *ctx, const char *ifname, struct wg_set *s);
	/* Optional: the removal mode the device tells without a probe (the
	 * kernel's policy), or WG_REMOVE_UNKNOWN. */
	enum wg_remove_mode (*mode_hint)(void *ctx, const char *ifname);
	void (*destroy)(void *ctx);
	/* It reads a peer's AllowedIPs only once it has found or made the
	 * peer (the kernel): wg_plan_probe_native()'s make_peer. */
	bool probe_makes_peer;
};

/* The backend over t; it owns ctx from now on (t->destroy), also when it
 * fails (NULL). */
struct wg_backend *wg_transport_backend_new(const struct wg_transport *t, void *ctx);

#endif
