/* fault.h: fault injection for the crash tests (docs/reliability.md). Only
 * a build with -Dfault_injection=true has it: there WGRS_FAULT=POINT:N kills
 * the process, as kill -9 would, at the Nth passage (from 1) of the named
 * point. In every other build the hooks compile to nothing. */
#ifndef WGRS_FAULT_H
#define WGRS_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#define FAULT_ENV "WGRS_FAULT"

#ifdef WGRS_FAULT_INJECTION
/* Counts a passage of point (one of fault_points); true at the chosen one. */
bool fault_due(const char *point);
/* Says where on stderr, then SIGKILL: no exit handler, no flush, no core. */
_Noreturn void fault_die(const char *point);
/* 0, or -EINVAL with one line in msg when WGRS_FAULT is malformed or names
 * no point of fault_points. */
int fault_check(char *msg, size_t len);
/* The points, NULL-terminated. */
extern const char *const fault_points[];

#define FAULT_POINT(point)                                                               \
	do {                                                                             \
		if (fault_due(point))                                                    \
			fault_die(point);                                                \
	} while (0)
#else
#define FAULT_POINT(point) ((void)(point))
static inline int fault_check(char *msg, size_t len)
{
	(void)msg;
	(void)len;
	return 0;
}
#endif

#endif
