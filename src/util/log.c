/* log.c: see log.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

enum log_sink { SINK_UNKNOWN, SINK_PLAIN, SINK_TTY, SINK_JOURNAL };

static enum log_level current = LOG_LEVEL_INFO;
static enum log_sink sink = SINK_UNKNOWN;

void log_set_level(enum log_level level)
{
	current = level;
}

enum log_level log_get_level(void)
{
	return current;
}

/* systemd sets JOURNAL_STREAM=DEVICE:INODE of the stream it connected to
 * stdout/stderr; a child that inherited the variable but writes elsewhere
 * (a redirect) must not be taken for the journal. */
static bool stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!v || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static enum log_sink find_sink(void)
{
	if (stderr_is_journal())
		return SINK_JOURNAL;
	return isatty(STDERR_FILENO) ? SINK_TTY : SINK_PLAIN;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	static const char *const colours[] = {"\033[31m", "\033[33m", "", "\033[2m"};
	/* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG of syslog.h (sd-daemon.h's
	 * SD_ERR...): the prefix journald parses. */
	static const int priorities[] = {3, 4, 6, 7};
	char text[1024];
	va_list ap;

	if (level > current)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (sink == SINK_UNKNOWN)
		sink = find_sink();
	if (sink == SINK_JOURNAL)
		fprintf(stderr, "<%d>%s\n", priorities[level], text);
	else if (sink == SINK_TTY)
		fprintf(stderr, "%s%s: %s\033[0m\n", colours[level], names[level], text);
	else
		fprintf(stderr, "%s: %s\n", names[level], text);
}
