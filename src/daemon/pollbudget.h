/* pollbudget.h: how long until a device's next poll, so that reading it
 * costs at most wg_poll_budget of the time (docs/spec.md 5.5). A read's
 * cost is its wall-clock length: while it runs, WireGuard writes the reply
 * (wireguard-go holds its device lock) and the daemon reads and hashes it.
 * Pure. */
#ifndef WGRS_POLLBUDGET_H
#define WGRS_POLLBUDGET_H

#include <stdint.h>

/* The interval after a read that took read_ms: interval_ms, stretched to
 * read_ms / budget when that is longer. budget: hundredths of a percent
 * (100: 1%); 0: none. */
uint64_t pollbudget_interval_ms(uint32_t interval_ms, uint64_t read_ms, uint32_t budget);

#endif
