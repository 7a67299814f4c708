/* daemon.h: the wg-rtsync daemon (docs/spec.md section 5): one thread, one epoll
 * set holding the rtnetlink event socket, a signalfd, a timerfd and the
 * control socket. It finds the WireGuard interfaces, keeps one reconciler
 * per interface fed with route, link, address and WireGuard changes, and
 * runs a sync round per touched interface after each batch of events. */
#ifndef WGRS_DAEMON_H
#define WGRS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

/* The default configuration file, used when it exists and no -c is given. */
#define DAEMON_DEFAULT_CONFIG "/etc/wg-rtsync.yaml"
/* Test hook: the event socket's receive buffer in bytes (small values
 * provoke lost events, ENOBUFS). Not for production use. */
#define DAEMON_RCVBUF_ENV "WGRS_EVENT_RCVBUF"

struct daemon_options {
	const char *config_path;   /* -c; NULL: DAEMON_DEFAULT_CONFIG if it exists */
	const char *const *ifaces; /* -i, n_ifaces of them; none: every one */
	size_t n_ifaces;
	bool oneshot;
	bool dry_run;
	int verbosity; /* +1 per -v, -1 per -q */
};

/* Runs the daemon (or one sync with oneshot); returns the exit status:
 * 0, 1 (a failure, or with oneshot any change that failed), 78 (bad
 * configuration). */
int daemon_run(const struct daemon_options *o);

enum status_format { STATUS_TEXT, STATUS_JSON, STATUS_PROMETHEUS };

/* `wg-rtsync status [--json|--prometheus]`: asks the daemon whose
 * configuration o names (its state_dir holds the control socket). Returns
 * the exit status. */
int daemon_status_query(const struct daemon_options *o, enum status_format format);
/* `wg-rtsync poll [IFACE...]`: the daemon reads those devices (none: every
 * one) and syncs them, then replies. Returns the exit status: 1 for an
 * interface it does not manage. */
int daemon_poll_query(const struct daemon_options *o, char *const *names, size_t n);

#endif
