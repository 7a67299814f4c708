/* iface.h: one managed WireGuard interface in the daemon: its reconciler,
 * its settings, its addresses and the bookkeeping of its rounds. It reads
 * the device and the routes through the backends, runs sync rounds, and
 * keeps the state file (docs/spec.md section 6) up to date. Scheduling (when to poll,
 * when to resync) is the daemon's. */
#ifndef WGRS_IFACE_H
#define WGRS_IFACE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "backend_log.h"
#include "settings.h"
#include "nl_route.h"
#include "pacing.h"
#include "pollturn.h"
#include "reconcile.h"
#include "redump.h"
#include "status.h"

/* What every interface shares. */
struct iface_env {
	struct wg_backend *wg; /* wg_backend_auto_new() */
	struct nl_route *nr;
	struct route_backend *rt; /* nl_route_backend(nr) */
	bool dry_run;		  /* plan on stdout, apply nothing */
};

struct iface {
	char name[IF_NAMESIZE];
	int ifindex;
	bool up;
	struct settings s;
	struct rec *rec;
	struct backend_log bl; /* the env's backends, logging each change */
	struct wg_key pubkey;
	size_t n_addrs, cap_addrs;
	struct prefix *addrs;
	/* The state file on disk is a full write of ours plus state_appended
	 * bytes of blocks; false: write it whole next time. */
	bool state_written;
	bool state_unsaved; /* the last write failed: write it again */
	bool intents_open;  /* an intent block that no change block settled yet */
	size_t state_appended;
	/* The entries the file holds (its last end N), which an intent block
	 * repeats; the model's count is ahead of it until the round's change
	 * block is written. */
	size_t state_entries;
	int state_fd; /* open for appending; -1: not yet, or the file was replaced */

	/* Set by events, cleared by the round that serves them. */
	bool touched;	  /* a sync round is due */
	bool need_dump;	  /* re-read the routes (and do a full pass) first */
	bool need_full;	  /* a full pass */
	bool lost_resync; /* the resync due is for lost events, not periodic */
	uint64_t sync_due, poll_due, resync_due; /* monotonic ms; 0: none */
	struct pacing pacing; /* of route events and rounds (the daemon's) */
	struct pollturn turn; /* its poll reads abandoned in a row */
	struct redump redump; /* after a torn route dump: the next one */
	/* Route events of its table: one came in the read being handled, and
	 * when the last came (monotonic ms; the daemon's). */
	bool route_heard;
	uint64_t route_event_at;

	struct iface_status status;
	struct iface *next;
};

/* Reads the device (-ENODEV: not there, or not yet; -EAGAIN: it has no
 * private key yet), loads the state file,
 * the addresses and the routes of the table, and runs the first full
 * round. On success *out is the interface; its first round may still have
 * failed changes (see status.last_failed). */
int iface_start(const struct iface_env *env, const char *name, int ifindex, bool up,
		const struct settings *s, struct iface **out);
void iface_free(struct iface *ifc);

/* Reads the device into the reconciler. -ENODEV: it went away. With
 * force, the snapshot is diffed even when it reads as before. */
int iface_poll(const struct iface_env *env, struct iface *ifc, bool force);
/* The idle poll as a read in pieces from the event loop (backend.h's
 * poll_start): *fd to wait on. -EOPNOTSUPP: poll with iface_poll. */
int iface_poll_start(const struct iface_env *env, struct iface *ifc, int *fd);
/* What a read of the device gave (r, and dev and same as get_changed
 * gives them) into the reconciler, as iface_poll does; frees dev. */
int iface_poll_read(const struct iface_env *env, struct iface *ifc, int r,
		    struct wg_device *dev, bool same, bool force);
/* New settings (config reload); the next round is a full one with a dump. */
int iface_set_settings(struct iface *ifc, const struct settings *s);
/* An address of the interface appeared or went. */
int iface_addr_event(struct iface *ifc, bool removed, const struct nl_addr *a);
/* Replaces the addresses with those of a fresh dump. */
int iface_load_addrs(const struct iface_env *env, struct iface *ifc);

/* A route event (ignored when of another table). */
int iface_route_event(struct iface *ifc, bool removed, const struct kroute *rt);
/* One route dump of both families fed to the reconcilers of v[0..n-1]
 * (each keeps the routes of its own table). A torn dump (routes changed
 * while it ran) removes nothing, and ifc->redump says when to read again
 * (docs/design.md, "Torn dumps"). */
int ifaces_dump_routes(const struct iface_env *env, struct iface **v, size_t n);
/* The rounds of ifc wait for a dump: no complete one has shown the table
 * since the reconciler lost its picture of it (the start, lost events, a
 * new table), so a route it lacks may be one a torn dump missed. */
bool iface_held(const struct iface *ifc);
/* What the reconciler holds of the routes may be wrong either way (lost or
 * failed route events): it is doubted, and the table read again. Its rounds
 * are held from then on, for a fresh REDUMP_HOLD_MS should the dumps be torn
 * (redump.h). */
void iface_doubt_routes(struct iface *ifc);

/* One sync round (full: every destination), the state file written when
 * ownership changed, the status updated. 0 when every change applied.
 * Nothing while iface_held. A route add refused by a route the reconciler
 * lacks (EEXIST) makes the table to be read again (need_dump). */
int iface_sync(const struct iface_env *env, struct iface *ifc, bool full);
/* cleanup_on_exit: removes our routes and the learned AllowedIPs. */
int iface_teardown(const struct iface_env *env, struct iface *ifc);

/* The status of the interface, counts and backend filled in. */
void iface_get_status(const struct iface_env *env, struct iface *ifc,
		      struct iface_status *out);
/* The per-peer counts into out->peers (sorted by key; the caller frees
 * them). 0 or -ENOMEM. */
int iface_get_peer_stats(const struct iface *ifc, struct iface_status *out);

#endif
