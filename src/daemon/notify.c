/* notify.c: see notify.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

bool notify_listening(void)
{
	return getenv("NOTIFY_SOCKET") != NULL;
}

static void send_state(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		log_debug("sd_notify: %s", strerror(-r));
}

void notify_ready(void)
{
	send_state("READY=1");
}

void notify_reloading(void)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)(clock_mono() * 1e6));
	send_state(msg);
}

void notify_stopping(void)
{
	send_state("STOPPING=1");
}

void notify_status(const char *line)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	send_state(msg);
}

void notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}

uint64_t notify_watchdog_interval_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 2000 ? usec / 2000 : 1;
}

#else /* built without libsystemd */

bool notify_listening(void)
{
	return false;
}

void notify_ready(void)
{
}

void notify_reloading(void)
{
}

void notify_stopping(void)
{
}

void notify_status(const char *line)
{
	(void)line;
}

void notify_watchdog(void)
{
}

uint64_t notify_watchdog_interval_ms(void)
{
	return 0;
}

#endif
