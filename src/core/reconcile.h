/* reconcile.h: the core. One reconciler per WireGuard interface holds a model
 * of the interface (peers, AllowedIPs, owned prefixes, addresses) and of the
 * routes of its table. Inputs mark what they touch as dirty; a pass turns the
 * dirty destinations (or all of them) into the minimal list of changes, in
 * prefix order. The caller applies the changes and reports each success with
 * rec_commit(), which is what updates the model. No I/O, no netlink. */
#ifndef WGRS_RECONCILE_H
#define WGRS_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "settings.h"
#include "model.h"

struct rec;

struct rec_stats {
	size_t peers;
	size_t allowed_ips;	   /* all AllowedIPs of all peers */
	size_t learned;		   /* |L| over all peers */
	size_t routes;		   /* routes of table T the model holds */
	size_t installed;	   /* our routes (protocol P, through the interface) */
	size_t conflicts;	   /* destinations held back by a static AllowedIP */
	size_t ambiguous_gateways; /* addresses claimed by two peers */
	size_t over_limit;	   /* destinations not learned: max_learned_prefixes */
	size_t filtered;	   /* destinations refused by learn_filter */
};

/* The reconciler copies settings. ifindex identifies the interface in routes. */
struct rec *rec_new(const struct settings *s, int ifindex);
void rec_free(struct rec *r);
/* New settings (config reload): everything is re-evaluated on the next pass. */
int rec_set_settings(struct rec *r, const struct settings *s);
/* The interface's own addresses, with their prefix lengths (host bits kept).
 * A gateway is used for an installed route only when it is link-local or
 * lies within one of them. */
int rec_set_addresses(struct rec *r, const struct prefix *addrs, size_t n);

/* A full snapshot of the device, diffed against the model. */
int rec_set_wg(struct rec *r, const struct wg_device *dev);
/* True when dev holds what the model says the device holds (same peers,
 * same AllowedIPs each; by wg_device_fingerprint): then rec_set_wg would
 * change nothing. O(size of dev), without lookups. */
bool rec_wg_unchanged(const struct rec *r, const struct wg_device *dev);
/* The fingerprint itself (false before the first snapshot). */
bool rec_wg_fingerprint(const struct rec *r, uint64_t *fp);

/* Route events. Routes of other tables are ignored. upsert replaces the route
 * with the same identity (dst, tos, metric). */
int rec_route_upsert(struct rec *r, const struct kroute *rt);
int rec_route_remove(struct rec *r, const struct kroute *rt);
/* A full route dump: begin, upsert every route, end. end removes the routes
 * the dump did not contain (after tentative dumps: that none of them did).
 * The kernel's dump is no snapshot: changes while it runs can make it skip
 * routes that stand, or list some twice (docs/design.md, "Torn dumps"). A
 * dump that may be torn so ends with end_tentative instead: it adds what it
 * saw and removes nothing, and the next dump adds to it. */
void rec_routes_begin(struct rec *r);
int rec_routes_end(struct rec *r);
void rec_routes_end_tentative(struct rec *r);
/* The dump under way (or the last one) listed a route twice: torn. */
bool rec_routes_doubled(const struct rec *r);
/* True once a complete dump has ended since the model was made, since its
 * routes were dropped (a change of table, protocol or interface) and since
 * rec_routes_doubt. Until then a missing route may only be one the dumps
 * missed: a round would withdraw and install on no evidence. */
bool rec_routes_confirmed(const struct rec *r);
/* Route events were lost: what the model holds may be wrong either way, and
 * what earlier tentative dumps saw may have gone without a word. */
void rec_routes_doubt(struct rec *r);

/* Ownership from the state file, before the first pass, applied in order
 * at the next rec_set_wg: each entry only where the device agrees (its peer
 * has dst in its AllowedIPs), so that a later entry for the same prefix
 * (an intent of a round a crash cut short) overrides an earlier one only
 * when the device shows it happened. The others are dropped. */
int rec_own_load(struct rec *r, const struct own_entry *e, size_t n);
/* Ownership waiting for the next rec_set_wg: the entries rec_own_load gave
 * before the first, and the learned adds whose outcome is unknown (they
 * failed, yet may have been made: a reply lost with its connection). Each
 * is ours at that read where the device agrees, as an intent is at a
 * restart; so the state file keeps them as open intents till then. A view,
 * valid until the reconciler next changes. */
void rec_own_pending(const struct rec *r, const struct own_entry **v, size_t *n);
/* The current owned prefixes, in (peer, prefix) order. Caller frees *out. */
int rec_own_export(const struct rec *r, struct own_entry **out, size_t *n);
/* True when ownership changed since the last call (then the state file must
 * be written); clears the flag and the list of changes below. */
bool rec_own_take_dirty(struct rec *r);
/* Write-ahead of ownership: true when c, applied, makes its prefix learned
 * (an AllowedIP add marked learned); *out is then the entry rec_commit will
 * record for it: the peer, the prefix, and the static holder it displaces
 * (learned-wins) or had displaced before. Changes nothing. */
bool rec_own_intent(const struct rec *r, const struct change *c, struct own_entry *out);
/* What changed since the last take, for writing only the difference: per
 * destination (in prefix order, each once) its entry now, or owned false.
 * Clears the list and the flag. -ENOBUFS when a change could not be
 * recorded (out of memory): write the whole export instead. Caller frees. */
int rec_own_take_changes(struct rec *r, struct own_change **out, size_t *n);

/* Evaluates the dirty destinations (full: all) and appends the changes to
 * out. Does not change the model, except for clearing the dirty marks. */
int rec_pass(struct rec *r, bool full, struct change_list *out);
/* The changes that undo our work (cleanup_on_exit): every route of ours
 * deleted, every learned AllowedIP removed (or given back to the peer it
 * displaced). Does not change the model; commit them as usual. */
int rec_teardown(struct rec *r, struct change_list *out);
/* The change was applied: update the model as if the kernel had reported it. */
int rec_commit(struct rec *r, const struct change *c);
/* The change failed with err (a negative errno): the destination is
 * evaluated again on the next pass. A learned AllowedIP addition may have
 * been made all the same (its reply lost): if the next WireGuard snapshot
 * shows it, it is owned. An exclusive route add refused with -EEXIST met a
 * route the model lacks: no route of ours is planned for the destination
 * until a route event for it or a complete dump says what stands there (a
 * route of another is never replaced); true then, and the caller is to
 * read the table. */
bool rec_fail(struct rec *r, const struct change *c, int err);

void rec_get_stats(const struct rec *r, struct rec_stats *st);

/* What is counted per peer; the rest of rec_stats only per interface. */
struct rec_peer_stats {
	struct wg_key key;
	size_t allowed_ips; /* all its AllowedIPs */
	size_t learned;	    /* of those, in L */
};

/* One entry per peer, in no particular order. Caller frees *out. 0 or
 * -ENOMEM. */
int rec_get_peer_stats(const struct rec *r, struct rec_peer_stats **out, size_t *n);
/* Bytes the model holds (for benchmarks). */
size_t rec_memory(const struct rec *r);

/* Warnings (conflict, ambiguous gateway, limit) go through this hook, once
 * per occurrence; default: none. */
typedef void (*rec_warn_fn)(void *ctx, const char *msg);
void rec_set_warn(struct rec *r, rec_warn_fn fn, void *ctx);

#endif
