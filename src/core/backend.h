/* backend.h: how the daemon talks to WireGuard and to the routing table.
 * Each backend fills one of these structs; which one an interface uses is
 * chosen at run time (kernel generic netlink, UAPI socket, or the fake). */
#ifndef WGRS_BACKEND_H
#define WGRS_BACKEND_H

#include <stdbool.h>

#include "model.h"

struct wg_backend {
	const char *name;
	/* Reads the device. 0, or a negative errno (-ENODEV: no such device). */
	int (*get)(struct wg_backend *b, const char *ifname, struct wg_device *dev);
	/* Applies the CHANGE_ALLOWED_* entries of ch (others are skipped). err[i]
	 * receives 0 or a negative errno per change. Returns 0 when all succeeded,
	 * else the first error. */
	int (*apply)(struct wg_backend *b, const char *ifname, const struct change *ch,
		     size_t n, int *err);
	void (*destroy)(struct wg_backend *b);
	/* A dry run: get() leaves even a leftover temporary peer alone. */
	bool read_only;
	/* Optional (wg_backend_get_changed() does without): reads the device
	 * and, when it holds what known (a wg_device_fingerprint) says, sets
	 * *same and fills only dev->pubkey, building no snapshot of the peers;
	 * else fills dev as get() does. */
	int (*get_changed)(struct wg_backend *b, const char *ifname, uint64_t known,
			   struct wg_device *dev, bool *same);
	/* Optional: the idle poll (get_changed) as a read in pieces, driven
	 * from the caller's event loop; one at a time per backend.
	 * poll_start sends the request and gives in *fd what to wait on
	 * (readable): 0, -EOPNOTSUPP when this device cannot be read so
	 * (use get_changed), or another negative errno. poll_step reads what
	 * is there: 0 when more is to come (wait on *fd, which may have
	 * changed), 1 when done (dev and *same as get_changed gives them), or
	 * a negative errno (the read is over). poll_abort ends a read in
	 * progress and frees the device at once. An apply() to the device
	 * being read abandons the read first: poll_step then says -ECANCELED
	 * (and poll_reading() false). */
	int (*poll_start)(struct wg_backend *b, const char *ifname, uint64_t known,
			  int *fd);
	int (*poll_step)(struct wg_backend *b, int *fd, struct wg_device *dev,
			 bool *same);
	void (*poll_abort)(struct wg_backend *b);
	/* Optional, for status: which backend serves ifname ("kernel", "uapi";
	 * NULL while none has read it) and, in *removal, how it removes
	 * AllowedIPs ("native", "temporary peer", ..., "unknown"). */
	const char *(*describe)(struct wg_backend *b, const char *ifname,
				const char **removal);
};

/* b->get_changed, or get() and wg_backend_same(). */
int wg_backend_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			   struct wg_device *dev, bool *same);
/* b->poll_start, or -EOPNOTSUPP. */
int wg_backend_poll_start(struct wg_backend *b, const char *ifname, uint64_t known,
			  int *fd);
/* After a get() that returned r: when dev holds what known says (its
 * fingerprint), frees its peers, keeps its public key and sets *same.
 * Returns r. */
int wg_backend_same(int r, struct wg_device *dev, uint64_t known, bool *same);

typedef int (*kroute_fn)(const struct kroute *rt, void *ctx);

struct route_backend {
	const char *name;
	/* Calls fn for every route of both families in table (0: all tables).
	 * *torn (torn may be NULL) is set when the dump may have missed routes
	 * that stood all along or listed some twice: routes changed while it
	 * ran (docs/design.md, "Torn dumps"). */
	int (*dump)(struct route_backend *b, uint32_t table, kroute_fn fn, void *ctx,
		    bool *torn);
	/* Applies the CHANGE_ROUTE_* entries of ch as one batch; err as above.
	 * An add with route.replace false is exclusive: -EEXIST where a route of
	 * its identity stands. */
	int (*apply)(struct route_backend *b, const struct change *ch, size_t n,
		     int *err);
	void (*destroy)(struct route_backend *b);
};

#endif
