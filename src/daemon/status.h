/* status.h: what `wg-rtsync status` reports about a running daemon, as
 * plain data, and its renderings: text for people, JSON for programs,
 * Prometheus metrics, and a one-line summary for systemd. */
#ifndef WGRS_STATUS_H
#define WGRS_STATUS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "failures.h"
#include "reconcile.h"

struct iface_status {
	char name[IF_NAMESIZE];
	int ifindex;
	bool up;
	const char *backend; /* "kernel", "uapi", or "unknown" */
	const char *removal; /* "native", "temporary peer", ..., "unknown" */
	uint32_t table;
	struct rec_stats st;
	uint64_t rounds;	  /* sync rounds since the interface was picked up */
	uint64_t applied, failed; /* changes, in total */
	uint64_t last_failed;	  /* changes that failed in the last round */
	double last_sync;	  /* unix time of the last round; 0: none */
	double last_error_time;	  /* 0: no error so far */
	char last_error[256];
	double last_round_seconds; /* how long the last round took */
	/* Changes by enum change_op, applied and failed, in total. */
	uint64_t applied_by_op[CHANGE_ROUTE_DEL + 1], failed_by_op[CHANGE_ROUTE_DEL + 1];
	/* Full resyncs by cause: resync_interval, lost events (ENOBUFS), the
	 * link going down or up. */
	uint64_t resyncs_periodic, resyncs_lost_events, resyncs_link;
	/* Route dumps read, of them torn (routes changed while they ran), and
	 * route adds refused (EEXIST) by a route the daemon had not seen. */
	uint64_t route_dumps, torn_route_dumps, unseen_routes;
	/* Reads of the WireGuard device (polls and full reads) to their end,
	 * the milliseconds all reads took together (abandoned ones too: the
	 * budget counts them, spec 5.5), and the reads in pieces that a
	 * change abandoned (spec 5.19). */
	uint64_t device_reads, device_read_ms, device_reads_abandoned;
	/* Seconds until the next poll (wg_poll_budget may have put it off);
	 * 0 while one is due or being read. */
	double next_poll_in;
	/* Per peer: filled only for status_write_prometheus (owned, sorted by
	 * key). */
	size_t n_peers;
	struct rec_peer_stats *peers;
	/* Every cause of failure since the interface was picked up
	 * (failures.h); borrowed, valid until the next round. */
	const struct failure_cause *failures;
	size_t n_failures;
};

struct daemon_status {
	const char *version;
	int pid;
	const char *config; /* file name, or "built-in defaults" */
	bool dry_run;
	double started; /* unix time */
	uint64_t resyncs, lost_events;
	size_t n;
	struct iface_status *v;
};

void status_write_text(FILE *out, const struct daemon_status *ds);
void status_write_json(FILE *out, const struct daemon_status *ds);
/* The Prometheus text exposition format (version 0.0.4). */
void status_write_prometheus(FILE *out, const struct daemon_status *ds);
/* The one line systemd shows (STATUS=): interfaces, peers, learned,
 * installed, conflicts, summed over the interfaces. */
void status_summary(const struct daemon_status *ds, char *buf, size_t len);

#endif
