/* failures.h: the failures of one interface by cause, for the log and the
 * status (docs/spec.md 5.11, 9.7, 9.10). A cause is a kind of operation (a
 * change's op, a read of the device, of the routes or of the addresses, a
 * write of the state file) and the errno it failed with.
 *
 * A cause is logged once, at error level, when it arises: a change's at the
 * end of its round, naming the first change it hit and how many; any other
 * at once. While it goes on, its failures go to the debug level, so that a
 * refusal that lasts (a downed link, a full disk) is said once, not once
 * per change or per pass. It ends when the operation works again: for
 * changes, a round that made changes of that kind and had none fail for
 * that cause, or a round in which nothing failed; for the others, the next
 * success. Its end is said in one info line. Every failure is counted. */
#ifndef WGRS_FAILURES_H
#define WGRS_FAILURES_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum failure_kind {
	/* The changes, in the order of enum change_op. */
	FAILURE_ALLOWED_ADD,
	FAILURE_ALLOWED_DEL,
	FAILURE_ROUTE_ADD,
	FAILURE_ROUTE_DEL,
	FAILURE_DEVICE_READ,
	FAILURE_ROUTE_DUMP,
	FAILURE_ADDRESS_DUMP,
	FAILURE_STATE_WRITE,
	FAILURE_KINDS
};

#define FAILURE_FIRST_LEN 320

struct failure_cause {
	enum failure_kind kind;
	int err;	/* a positive errno */
	uint64_t count; /* failures so far */
	bool failing;	/* arose, and has not ended */
	double last;	/* unix time of the last failure */
	/* In the current round (changes): */
	size_t round_hits;
	char first[FAILURE_FIRST_LEN];
};

struct failures {
	char ifname[IF_NAMESIZE];
	struct failure_cause *v; /* by arrival; none removed */
	size_t n, cap;
	unsigned attempted;  /* this round: bit per kind with a change made */
	size_t round_failed; /* this round: changes failed */
	/* Where a cause's line goes when it arises (the status). */
	char *last_error;
	size_t last_error_len;
	double *last_error_time;
};

void failures_init(struct failures *f, const char *ifname, char *last_error,
		   size_t last_error_len, double *last_error_time);
void failures_free(struct failures *f);

/* "route add", "reading the device", ... */
const char *failure_kind_name(enum failure_kind kind);
/* "route_add", "device_read", ...: a Prometheus label value. */
const char *failure_kind_id(enum failure_kind kind);
/* "ENETUNREACH", or "E123" for a number without a name. */
const char *failure_errno_name(int err, char *buf, size_t len);

/* A change was made (err 0) or failed (err < 0; line: the change as
 * change_format writes it). -ECANCELED (held back behind a failed
 * AllowedIP change) is no cause of its own. */
void failures_change(struct failures *f, enum change_op op, int err, const char *line);
/* The end of a round of changes: causes that ended and causes that arose
 * are logged. Returns how many arose. */
size_t failures_round_end(struct failures *f);

/* An operation of one of the other kinds failed (err < 0; what: why, for
 * the line after the kind's name) or worked (err 0; what unused): logged at
 * once. */
void failures_op(struct failures *f, enum failure_kind kind, int err, const char *what);

#endif
