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
 * withdrawals, end a storm sooner). One change at a time, as a routing
 * daemon makes them in calm times, is served at once. WireGuard polls are
 * never put off: docs/spec.md 5.5 has every device read every
 * wg_poll_interval, storm or not. */
#ifndef WGRS_PACING_H
#define WGRS_PACING_H

#include <stdbool.h>
#include <stdint.h>

#define PACING_STORM_EVENTS 4 /* events queued during a round: a storm */
#define PACING_HOLD_FACTOR  4 /* wait this many times the last round's length */
#define PACING_MIN_HOLD_MS  10
#define PACING_MAX_HOLD_MS  100

struct pacing {
	uint64_t round_start, round_end; /* monotonic ms; 0: no round yet */
	uint32_t events;		 /* withdrawals since the last round began */
	uint32_t round_events;		 /* withdrawals before it began: its work */
};

/* A route event (not of our own routes); withdrawal: it took a route away. */
void pacing_event(struct pacing *p, bool withdrawal);
void pacing_round_begin(struct pacing *p, uint64_t now);
void pacing_round_end(struct pacing *p, uint64_t now);
/* The earliest start (monotonic ms) of the next round, for work that
 * became due at now: now + batch_delay_ms, or later in a storm. */
uint64_t pacing_next_round(const struct pacing *p, uint64_t now, uint32_t batch_delay_ms);

#endif
