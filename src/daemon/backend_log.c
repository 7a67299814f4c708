/* backend_log.c: logging pass-through backends (see backend_log.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_log.h"
#include "clock.h"
#include "log.h"

#define CHANGE_LINE 256

/* Whether the line budget of the current second allows one more line. */
static bool may_say(struct backend_log *bl)
{
	uint64_t now = bl->clock_ms();

	if (now - bl->window_start >= BACKEND_LOG_WINDOW_MS) {
		bl->window_start = now;
		bl->window_shown = 0;
	}
	if (bl->window_shown >= BACKEND_LOG_LINES)
		return false;
	bl->window_shown++;
	return true;
}

static void log_result(struct backend_log *bl, const struct change *c, int err)
{
	char line[CHANGE_LINE];

	if (!err || (c->op == CHANGE_ROUTE_DEL && err == -ESRCH)) {
		bool show = may_say(bl);

		bl->applied[c->op]++;
		failures_change(&bl->failures, c->op, 0, NULL);
		bl->hidden += !show;
		/* A storm's lines are mostly not printed: not formatted either. */
		if (log_get_level() < (show ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG))
			return;
		change_format(c, line, sizeof(line));
		log_msg(show ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "%s: %s", bl->ifname,
			line);
		return;
	}
	bl->failed[c->op]++;
	change_format(c, line, sizeof(line));
	failures_change(&bl->failures, c->op, err, line);
}

static int wg_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct backend_log *bl = (struct backend_log *)b;

	return bl->inner_wg->get(bl->inner_wg, ifname, dev);
}

static int wg_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			  struct wg_device *dev, bool *same)
{
	struct backend_log *bl = (struct backend_log *)b;

	return wg_backend_get_changed(bl->inner_wg, ifname, known, dev, same);
}

static int wg_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		    size_t n, int *err)
{
	struct backend_log *bl = (struct backend_log *)b;
	int r = bl->inner_wg->apply(bl->inner_wg, ifname, ch, n, err);

	for (size_t i = 0; i < n; i++)
		if (change_is_allowed(&ch[i]))
			log_result(bl, &ch[i], err[i]);
	return r;
}

static int rt_dump(struct route_backend *b, uint32_t table, kroute_fn fn, void *ctx,
		   bool *torn)
{
	struct backend_log *bl =
		(struct backend_log *)((char *)b - offsetof(struct backend_log, rt));

	return bl->inner_rt->dump(bl->inner_rt, table, fn, ctx, torn);
}

static int rt_apply(struct route_backend *b, const struct change *ch, size_t n, int *err)
{
	struct backend_log *bl =
		(struct backend_log *)((char *)b - offsetof(struct backend_log, rt));
	int r = bl->inner_rt->apply(bl->inner_rt, ch, n, err);

	for (size_t i = 0; i < n; i++)
		if (!change_is_allowed(&ch[i]))
			log_result(bl, &ch[i], err[i]);
	return r;
}

static void wg_destroy(struct wg_backend *b)
{
	(void)b; /* the inner backends are not ours */
}

static void rt_destroy(struct route_backend *b)
{
	(void)b;
}

void backend_log_init(struct backend_log *bl, struct wg_backend *wg,
		      struct route_backend *rt, const char *ifname, char *last_error,
		      size_t last_error_len, double *last_error_time)
{
	memset(bl, 0, sizeof(*bl));
	bl->wg = (struct wg_backend){.name = wg->name,
				     .get = wg_get,
				     .get_changed = wg_get_changed,
				     .apply = wg_apply,
				     .destroy = wg_destroy};
	bl->rt = (struct route_backend){.name = rt->name,
					.dump = rt_dump,
					.apply = rt_apply,
					.destroy = rt_destroy};
	bl->inner_wg = wg;
	bl->inner_rt = rt;
	bl->clock_ms = clock_mono_ms;
	snprintf(bl->ifname, sizeof(bl->ifname), "%s", ifname);
	failures_init(&bl->failures, ifname, last_error, last_error_len, last_error_time);
}

size_t backend_log_round_end(struct backend_log *bl)
{
	uint64_t now = bl->clock_ms();

	if (bl->hidden && now - bl->last_summary >= BACKEND_LOG_WINDOW_MS) {
		log_info("%s: and %zu more changes (the debug level lists them)",
			 bl->ifname, bl->hidden);
		bl->hidden = 0;
		bl->last_summary = now;
	}
	return failures_round_end(&bl->failures);
}

void backend_log_free(struct backend_log *bl)
{
	failures_free(&bl->failures);
}
