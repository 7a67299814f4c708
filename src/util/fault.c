/* fault.c: fault injection (fault.h); compiled only with -Dfault_injection. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"

/* Where the daemon can die in a round, in order (docs/reliability.md). */
const char *const fault_points[] = {
	"state-save-tmp", /* whole file: temporary file synced, not renamed */
	"state-save",	  /* whole file written, renamed and synced */
	"state-intent",	  /* intent block synced, WireGuard not yet changed */
	"wg-message",	  /* after each WireGuard set message is answered */
	"wg-temp-move",	  /* prefixes moved onto the temporary peer, not removed */
	"route-batch",	  /* after each batch of route messages is sent */
	"state-changes",  /* the round's ownership block synced */
	NULL,
};

static struct {
	bool parsed, armed;
	char point[32];
	unsigned long nth, seen;
} armed;

static int parse(char *msg, size_t len)
{
	const char *v = getenv(FAULT_ENV), *colon;
	char *end;
	size_t n;

	armed.parsed = true;
	if (!v || !*v)
		return 0;
	colon = strchr(v, ':');
	n = colon ? (size_t)(colon - v) : strlen(v);
	for (size_t i = 0; fault_points[i]; i++) {
		if (strlen(fault_points[i]) != n || strncmp(fault_points[i], v, n))
			continue;
		armed.nth = 1;
		if (colon) {
			errno = 0;
			armed.nth = strtoul(colon + 1, &end, 10);
			if (errno || *end || end == colon + 1 || !armed.nth)
				break;
		}
		memcpy(armed.point, v, n);
		armed.point[n] = '\0';
		armed.armed = true;
		return 0;
	}
	if (msg && len) {
		int w = snprintf(msg, len,
				 "%s=%.60s: expected POINT[:N], N from 1, POINT one of",
				 FAULT_ENV, v);

		for (size_t i = 0; fault_points[i] && w > 0 && (size_t)w < len; i++)
			w += snprintf(msg + w, len - (size_t)w, " %s", fault_points[i]);
	}
	return -EINVAL;
}

int fault_check(char *msg, size_t len)
{
	return parse(msg, len);
}

bool fault_due(const char *point)
{
	if (!armed.parsed)
		parse(NULL, 0);
	if (!armed.armed || strcmp(point, armed.point))
		return false;
	log_debug("fault injection: %s, passage %lu", point, armed.seen + 1);
	return ++armed.seen == armed.nth;
}

_Noreturn void fault_die(const char *point)
{
	char line[128];
	int n = snprintf(line, sizeof(line),
			 "wg-rtsync: fault injection: killed at %s, passage %lu\n", point,
			 armed.seen);

	if (n > 0)
		(void)!write(STDERR_FILENO, line,
			     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	for (;;)
		raise(SIGKILL);
}
