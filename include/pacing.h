/* pacing.h: when an interface's next sync round may start. A round that
 * removes AllowedIPs holds the WireGuard device (kernel WireGuard: under
 * the RTNL lock, which route changes need too) while it creates and
 * removes the temporary peer (before Linux 6.16), so in a storm of
 * withdrawals back-to-back rounds take turns with the process making
 * them. When several withdrawals (the daemon counts those events) queued
 * up while the last round ran, or that round had several to do (a storm
 * against a fast WireGuard), the next one waits until rounds take at
 * most a fifth of the time (never longer than PACING_MAX_HOLD_MS, never
 * shorter than PACING_MIN_HOLD_MS: a round that reads as 0 ms still costs
 * WireGuard a temporary peer, so rounds further apart, each with more
 * withdrawals, end a storm sooner). One
 * change at a time, as a routing daemon makes them in calm times, is
 * served at once.
 *
 * Polls: reading a device with many AllowedIPs costs as much as a good
 * share of a round (kernel WireGuard: a dump under the RTNL lock), and in
 * a storm of route events the daemon has better use for it. A poll that
 * falls due after PACING_POLL_STORM_EVENTS or more route events (other
 * than ours) since the last one waits one more interval, at most
 * PACING_POLL_MAX_SKIPS times in a row. */
#ifndef WGRS_PACING_H
#define WGRS_PACING_H

#include <stdbool.h>
#include <stdint.h>

#define PACING_STORM_EVENTS	 4 /* events queued during a round: a storm */
#define PACING_HOLD_FACTOR	 4 /* wait this many times the last round's length */
#define PACING_MIN_HOLD_MS	 10
#define PACING_MAX_HOLD_MS	 100
#define PACING_POLL_STORM_EVENTS 1000
#define PACING_POLL_MAX_SKIPS	 4

struct pacing {
	uint64_t round_start, round_end; /* monotonic ms; 0: no round yet */
	uint32_t events;		 /* withdrawals since the last round began */
	uint32_t round_events;		 /* withdrawals before it began: its work */
	uint32_t poll_events;		 /* route events since the last poll was due */
	uint32_t poll_skips;		 /* polls skipped in a row */
};

/* A route event (not of our own routes); withdrawal: it took a route away. */
void pacing_event(struct pacing *p, bool withdrawal);
void pacing_round_begin(struct pacing *p, uint64_t now);
void pacing_round_end(struct pacing *p, uint64_t now);
/* The earliest start (monotonic ms) of the next round, for work that
 * became due at now: now + batch_delay_ms, or later in a storm. */
uint64_t pacing_next_round(const struct pacing *p, uint64_t now, uint32_t batch_delay_ms);
/* A poll is due: true if it is to wait one more interval (a storm). */
bool pacing_skip_poll(struct pacing *p);

#endif
