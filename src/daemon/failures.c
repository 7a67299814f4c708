/* failures.c: failures by cause, logged once each (see failures.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "failures.h"
#include "log.h"
#include "vec.h"

/* Per kind: its name in the log, its id as a Prometheus label value, and
 * when the next try comes, as the daemon schedules it. */
static const struct {
	const char *name, *id, *retry;
} kinds[FAILURE_KINDS] = {
	[FAILURE_ALLOWED_ADD] = {"allowed-ip add", "allowed_ip_add", "on every pass"},
	[FAILURE_ALLOWED_DEL] = {"allowed-ip del", "allowed_ip_del", "on every pass"},
	[FAILURE_ROUTE_ADD] = {"route add", "route_add", "on every pass"},
	[FAILURE_ROUTE_DEL] = {"route del", "route_del", "on every pass"},
	[FAILURE_DEVICE_READ] = {"reading the device", "device_read", "at every poll"},
	[FAILURE_ROUTE_DUMP] = {"reading the routes", "route_dump", "every second"},
	[FAILURE_ADDRESS_DUMP] = {"reading the addresses", "address_dump",
				  "every second"},
	[FAILURE_STATE_WRITE] = {"writing the state file", "state_write",
				 "after every round"},
};

const char *failure_kind_name(enum failure_kind kind)
{
	return kind < FAILURE_KINDS ? kinds[kind].name : "?";
}

const char *failure_kind_id(enum failure_kind kind)
{
	return kind < FAILURE_KINDS ? kinds[kind].id : "unknown";
}

const char *failure_errno_name(int err, char *buf, size_t len)
{
	const char *name = strerrorname_np(err < 0 ? -err : err);

	if (name)
		return name;
	snprintf(buf, len, "E%d", err < 0 ? -err : err);
	return buf;
}

void failures_init(struct failures *f, const char *ifname, char *last_error,
		   size_t last_error_len, double *last_error_time)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->ifname, sizeof(f->ifname), "%s", ifname);
	f->last_error = last_error;
	f->last_error_len = last_error_len;
	f->last_error_time = last_error_time;
}

void failures_free(struct failures *f)
{
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

/* The cause (kind, err), made when it is new; NULL without memory (the
 * failure then goes uncounted, and is said at every try). */
static struct failure_cause *cause_of(struct failures *f, enum failure_kind kind, int err)
{
	struct failure_cause c = {.kind = kind, .err = err < 0 ? -err : err};

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == kind && f->v[i].err == c.err)
			return &f->v[i];
	return vec_push(f->v, f->n, f->cap, c) ? NULL : &f->v[f->n - 1];
}

/* The line of a cause that arises (what: what failed, and why); also the
 * interface's last error. */
static void say_arisen(struct failures *f, const struct failure_cause *c,
		       const char *what, size_t hits)
{
	char name[16], more[64] = "";

	if (hits > 1)
		snprintf(more, sizeof(more), ", %zu changes of this kind", hits);
	if (f->last_error) {
		snprintf(f->last_error, f->last_error_len, "%s (%s%s)", what,
			 failure_errno_name(c->err, name, sizeof(name)), more);
		*f->last_error_time = c->last;
	}
	log_err("%s: %s (%s%s); retrying %s, repeats at debug level", f->ifname, what,
		failure_errno_name(c->err, name, sizeof(name)), more,
		kinds[c->kind].retry);
}

static void say_ended(struct failures *f, struct failure_cause *c)
{
	char name[16];

	c->failing = false;
	log_info("%s: %s works again (it failed with %s %llu time%s so far)", f->ifname,
		 kinds[c->kind].name, failure_errno_name(c->err, name, sizeof(name)),
		 (unsigned long long)c->count, c->count == 1 ? "" : "s");
}

static void note(struct failure_cause *c)
{
	c->count++;
	c->last = clock_unix();
}

void failures_change(struct failures *f, enum change_op op, int err, const char *line)
{
	enum failure_kind kind = (enum failure_kind)op;
	struct failure_cause *c;

	if (err == -ECANCELED) {
		log_debug("%s: %s: held back, its AllowedIP change failed", f->ifname,
			  line);
		return;
	}
	f->attempted |= 1u << kind;
	if (!err)
		return;
	f->round_failed++;
	c = cause_of(f, kind, err);
	if (!c) {
		log_err("%s: %s: failed: %s; retrying on every pass", f->ifname, line,
			strerror(-err));
		return;
	}
	note(c);
	/* The first of a new cause is said at the round's end, with the count. */
	if (!c->round_hits++ && !c->failing) {
		snprintf(c->first, sizeof(c->first), "%s: failed: %s", line,
			 strerror(-err));
		return;
	}
	log_debug("%s: %s: failed: %s (again)", f->ifname, line, strerror(-err));
}

size_t failures_round_end(struct failures *f)
{
	size_t arisen = 0;

	for (size_t i = 0; i < f->n; i++) {
		struct failure_cause *c = &f->v[i];

		if (c->kind > FAILURE_ROUTE_DEL)
			continue;
		if (c->round_hits && !c->failing) {
			c->failing = true;
			say_arisen(f, c, c->first, c->round_hits);
			arisen++;
		} else if (c->failing && !c->round_hits &&
			   (!f->round_failed || (f->attempted & (1u << c->kind)))) {
			say_ended(f, c);
		}
		c->round_hits = 0;
	}
	f->attempted = 0;
	f->round_failed = 0;
	return arisen;
}

void failures_op(struct failures *f, enum failure_kind kind, int err, const char *what)
{
	char line[FAILURE_FIRST_LEN + 64];
	struct failure_cause *c;

	if (!err) {
		for (size_t i = 0; i < f->n; i++)
			if (f->v[i].kind == kind && f->v[i].failing)
				say_ended(f, &f->v[i]);
		return;
	}
	c = cause_of(f, kind, err);
	if (!c) {
		log_err("%s: %s: %s", f->ifname, kinds[kind].name, what);
		return;
	}
	note(c);
	if (c->failing) {
		log_debug("%s: %s: %s (again)", f->ifname, kinds[kind].name, what);
		return;
	}
	/* One cause of a kind at a time: another errno replaces it. */
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == kind && f->v[i].failing)
			f->v[i].failing = false;
	c->failing = true;
	snprintf(line, sizeof(line), "%s: %s", kinds[kind].name, what);
	say_arisen(f, c, line, 1);
}
