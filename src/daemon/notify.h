/* notify.h: the daemon's side of systemd's service protocol (sd_notify):
 * readiness, reloads, stopping, a one-line status and the watchdog. Each
 * call does nothing when the service manager did not ask for it
 * (NOTIFY_SOCKET, WATCHDOG_USEC unset) or when wg-rtsync was built without
 * libsystemd. */
#ifndef WGRS_NOTIFY_H
#define WGRS_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Whether anybody listens (NOTIFY_SOCKET is set): else the status line
 * need not be made. */
bool notify_listening(void);
void notify_ready(void);
/* RELOADING=1 with the MONOTONIC_USEC= that systemd 253 and later want;
 * notify_ready() ends the reload. */
void notify_reloading(void);
void notify_stopping(void);
/* STATUS=line: what `systemctl status` shows. */
void notify_status(const char *line);
void notify_watchdog(void);
/* How often to call notify_watchdog(): half of WatchdogSec= in ms; 0 when
 * the watchdog is off. */
uint64_t notify_watchdog_interval_ms(void);

#endif
