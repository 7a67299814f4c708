/* iface.c: one managed interface (see iface.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iface.h"
#include "clock.h"
#include "log.h"
#include "statefile.h"
#include "sync.h"
#include "vec.h"

#define CHANGE_LINE 256
/* The state file is rewritten in full once the changes appended to it
 * outweigh twice what a rewrite would write (about this much per entry),
 * so that a round costs O(its changes) and the file stays small. */
#define STATE_ENTRY_BYTES 80
#define STATE_APPEND_MIN  (64 * 1024)

/* Keeps an error of the interface for the status and logs it at level. */
__attribute__((format(printf, 3, 4))) static void
iface_error_at(struct iface *ifc, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ifc->status.last_error, sizeof(ifc->status.last_error), fmt, ap);
	va_end(ap);
	ifc->status.last_error_time = clock_unix();
	log_msg(level, "%s: %s", ifc->name, ifc->status.last_error);
}

#define iface_error(ifc, ...) iface_error_at(ifc, LOG_LEVEL_ERROR, __VA_ARGS__)

static void warn_hook(void *ctx, const char *msg)
{
	const struct iface *ifc = ctx;

	log_warn("%s: %s", ifc->name, msg);
}

/* --dry-run must not set a bad file aside: it only reads and parses. */
static int state_peek(const struct iface *ifc, const struct wg_key *key,
		      struct own_entry **own, size_t *n, size_t *n_intents)
{
	char msg[STATEFILE_MSG_LEN];
	int r = statefile_read(ifc->s.state_dir, ifc->name, key, own, n, n_intents, msg,
			       sizeof(msg));

	if (r == -ESTALE || r == -EINVAL) {
		log_warn("%s: %s (a real run would set it aside)", ifc->name, msg);
		r = 0;
	}
	return r;
}

static void load_ownership(const struct iface_env *env, struct iface *ifc,
			   const struct wg_key *key)
{
	char msg[STATEFILE_MSG_LEN] = "";
	struct own_entry *own = NULL;
	size_t n = 0, n_intents = 0;
	int r;

	if (env->dry_run)
		r = state_peek(ifc, key, &own, &n, &n_intents);
	else
		r = statefile_load(ifc->s.state_dir, ifc->name, key, &own, &n, &n_intents,
				   msg, sizeof(msg));
	if (r == STATEFILE_SET_ASIDE)
		log_warn("%s: %s", ifc->name, msg);
	else if (r < 0)
		iface_error(ifc,
			    "state file: %s; learned AllowedIPs of an earlier run "
			    "may be taken for static ones",
			    msg[0] ? msg : strerror(-r));
	/* The intents after the entries: each counts where the device shows
	 * that its add happened before the crash (rec_own_load). */
	if (n + n_intents) {
		r = rec_own_load(ifc->rec, own, n + n_intents);
		if (r)
			iface_error(ifc, "loading the state file: %s", strerror(-r));
		else
			log_info("%s: %zu learned AllowedIPs from the state file",
				 ifc->name, n);
		if (!r && n_intents)
			log_info("%s: and %zu it was learning when it stopped: ours "
				 "where the device has them",
				 ifc->name, n_intents);
	}
	free(own);
}

static int reopen_pending(struct iface *ifc);

static int save_ownership(struct iface *ifc)
{
	char msg[STATEFILE_MSG_LEN];
	struct own_entry *own = NULL;
	size_t n = 0;
	int r;

	rec_own_take_dirty(ifc->rec); /* all of it goes into this file */
	r = rec_own_export(ifc->rec, &own, &n);
	if (!r)
		r = statefile_save(ifc->s.state_dir, ifc->name, &ifc->pubkey, own, n, msg,
				   sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "%s", strerror(-r));
	free(own);
	/* The file was replaced: an open one is the old one. */
	if (ifc->state_fd >= 0)
		close(ifc->state_fd);
	ifc->state_fd = -1;
	ifc->state_written = r == 0;
	ifc->intents_open = false;
	ifc->state_appended = 0;
	ifc->state_entries = n;
	/* Written again after every round until it is (a full disk, a
	 * read-only file system), whether or not ownership changes again. */
	ifc->state_unsaved = r != 0;
	failures_op(&ifc->bl.failures, FAILURE_STATE_WRITE, r, msg);
	/* Failed, it leaves the file to be written whole again. */
	return r ? r : reopen_pending(ifc);
}

/* An append failed: the file may end in a torn block, after which nothing
 * may follow; the next write replaces it whole. */
static void append_failed(struct iface *ifc)
{
	if (ifc->state_fd >= 0)
		close(ifc->state_fd);
	ifc->state_fd = -1;
	ifc->state_written = false;
	ifc->state_unsaved = true;
}

/* An intent block appended to the file save_ownership wrote, and synced.
 * A failure is the state file's (said once while it lasts). */
static int append_intents(struct iface *ifc, const struct own_entry *v, size_t n)
{
	char msg[STATEFILE_MSG_LEN];
	size_t bytes = 0;
	int r = 0;

	if (ifc->state_fd < 0)
		r = statefile_open_append(ifc->s.state_dir, ifc->name, &ifc->state_fd,
					  msg, sizeof(msg));
	if (!r)
		r = statefile_append_intents(ifc->state_fd, v, n, ifc->state_entries,
					     &bytes, msg, sizeof(msg));
	failures_op(&ifc->bl.failures, FAILURE_STATE_WRITE, r, msg);
	if (r) {
		append_failed(ifc);
		return r;
	}
	ifc->intents_open = true;
	ifc->state_appended += bytes;
	return 0;
}

/* sync_round's write-ahead: the entries this pass's learned adds will own,
 * appended and synced before WireGuard hears of them. On failure the adds
 * wait. */
static int record_intents(void *ctx, const struct own_entry *v, size_t n)
{
	struct iface *ifc = ctx;
	int r = 0;

	if (!ifc->state_written)
		r = save_ownership(ifc);
	return r ? r : append_intents(ifc, v, n);
}

/* After a write that settled every intent: the learned adds whose outcome
 * the next read of the device tells (rec_own_pending) are open intents
 * again, or a crash before that read would leave a prefix the daemon added
 * looking static (spec 6.3). At most one round's adds; the block after the
 * next round settles them again. A failure: the next write is of the whole
 * file, and this again. */
static int reopen_pending(struct iface *ifc)
{
	const struct own_entry *v;
	size_t n;

	rec_own_pending(ifc->rec, &v, &n);
	return n ? append_intents(ifc, v, n) : 0;
}

/* After a round: the ownership changes appended to the state file (an
 * empty block when only intents need settling), or the whole file written
 * when there is none yet, when appending failed or when the appended
 * blocks have grown larger than a rewrite. */
static void update_ownership(struct iface *ifc)
{
	char msg[STATEFILE_MSG_LEN];
	struct own_change *ch = NULL;
	struct rec_stats st;
	size_t n = 0, bytes = 0;
	int r;

	if (!ifc->state_written) {
		if (rec_own_take_dirty(ifc->rec) || ifc->state_unsaved)
			save_ownership(ifc);
		return;
	}
	r = rec_own_take_changes(ifc->rec, &ch, &n);
	if (!r && !n && !ifc->intents_open)
		return;
	rec_get_stats(ifc->rec, &st);
	if (!r && ifc->state_appended > STATE_APPEND_MIN &&
	    ifc->state_appended > 2 * STATE_ENTRY_BYTES * st.learned)
		r = -EFBIG;
	if (!r && ifc->state_fd < 0)
		r = statefile_open_append(ifc->s.state_dir, ifc->name, &ifc->state_fd,
					  msg, sizeof(msg));
	if (!r)
		r = statefile_append_to(ifc->state_fd, ch, n, st.learned, &bytes, msg,
					sizeof(msg));
	if (r && r != -EFBIG)
		log_debug("%s: %s; writing the whole file instead", ifc->name, msg);
	free(ch);
	if (r) {
		append_failed(ifc);
		save_ownership(ifc);
		return;
	}
	ifc->intents_open = false;
	ifc->state_appended += bytes;
	ifc->state_entries = st.learned;
	(void)reopen_pending(ifc);
}

/* Hands dev to the reconciler, unless it holds what the model says (the
 * idle poll's case, and the poll after our own changes); frees it. */
static int take_device(struct iface *ifc, struct wg_device *dev, bool force)
{
	int r = 0;

	if (force || !rec_wg_unchanged(ifc->rec, dev))
		r = rec_set_wg(ifc->rec, dev);
	wg_device_free(dev);
	return r;
}

int iface_start(const struct iface_env *env, const char *name, int ifindex, bool up,
		const struct settings *s, struct iface **out)
{
	struct wg_device dev;
	struct iface *ifc;
	int r;

	*out = NULL;
	r = env->wg->get(env->wg, name, &dev);
	if (r)
		return r;
	/* Not configured yet (wg-quick sets the key after making the link):
	 * its state file is keyed by the public key, so wait for it. */
	if (wg_key_is_zero(&dev.pubkey)) {
		wg_device_free(&dev);
		return -EAGAIN;
	}
	ifc = calloc(1, sizeof(*ifc));
	if (!ifc || settings_copy(&ifc->s, s)) {
		free(ifc);
		wg_device_free(&dev);
		return -ENOMEM;
	}
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->state_fd = -1;
	backend_log_init(&ifc->bl, env->wg, env->rt, name, ifc->status.last_error,
			 sizeof(ifc->status.last_error), &ifc->status.last_error_time);
	ifc->ifindex = ifindex;
	ifc->up = up;
	ifc->pubkey = dev.pubkey;
	ifc->rec = rec_new(s, ifindex);
	if (!ifc->rec) {
		wg_device_free(&dev);
		iface_free(ifc);
		return -ENOMEM;
	}
	rec_set_warn(ifc->rec, warn_hook, ifc);
	load_ownership(env, ifc, &dev.pubkey);
	r = take_device(ifc, &dev, true);
	if (!r)
		r = iface_load_addrs(env, ifc);
	if (!r)
		r = ifaces_dump_routes(env, &ifc, 1);
	if (r) {
		iface_free(ifc);
		return r;
	}
	iface_sync(env, ifc, true);
	*out = ifc;
	return 0;
}

void iface_free(struct iface *ifc)
{
	if (!ifc)
		return;
	rec_free(ifc->rec);
	if (ifc->state_fd >= 0)
		close(ifc->state_fd);
	backend_log_free(&ifc->bl);
	settings_free(&ifc->s);
	free(ifc->addrs);
	free(ifc);
}

int iface_poll(const struct iface_env *env, struct iface *ifc, bool force)
{
	struct wg_device dev;
	uint64_t known;
	bool same = false;
	int r;

	/* The usual poll finds what the model holds: no snapshot is built. */
	if (!force && rec_wg_fingerprint(ifc->rec, &known))
		r = wg_backend_get_changed(env->wg, ifc->name, known, &dev, &same);
	else
		r = env->wg->get(env->wg, ifc->name, &dev);
	return iface_poll_read(env, ifc, r, &dev, same, force);
}

int iface_poll_start(const struct iface_env *env, struct iface *ifc, int *fd)
{
	uint64_t known;

	*fd = -1;
	if (!rec_wg_fingerprint(ifc->rec, &known))
		return -EOPNOTSUPP;
	return wg_backend_poll_start(env->wg, ifc->name, known, fd);
}

int iface_poll_read(const struct iface_env *env, struct iface *ifc, int r,
		    struct wg_device *dev, bool same, bool force)
{
	if (r)
		return r;
	if (wg_key_cmp(&dev->pubkey, &ifc->pubkey)) {
		/* A new private key makes it another device for the state file;
		 * what was learned stays learned. */
		log_info("%s: the device's public key changed", ifc->name);
		ifc->pubkey = dev->pubkey;
		if (!env->dry_run)
			save_ownership(ifc);
	}
	if (same) {
		wg_device_free(dev);
		return 0;
	}
	return take_device(ifc, dev, force);
}

int iface_set_settings(struct iface *ifc, const struct settings *s)
{
	struct settings copy;
	int r = settings_copy(&copy, s);

	if (r)
		return r;
	r = rec_set_settings(ifc->rec, &copy);
	if (r) {
		settings_free(&copy);
		return r;
	}
	settings_free(&ifc->s);
	ifc->s = copy;
	/* state_dir may be another one: the round that follows writes the
	 * whole file, whether ownership changes or not, or a restart would
	 * find none there and take what was learned for static. */
	if (ifc->state_fd >= 0)
		close(ifc->state_fd);
	ifc->state_fd = -1;
	ifc->state_written = false;
	ifc->state_unsaved = true;
	ifc->need_dump = true; /* the table may be another one */
	ifc->touched = true;
	return 0;
}

static int addr_index(const struct iface *ifc, const struct prefix *a)
{
	for (size_t i = 0; i < ifc->n_addrs; i++)
		if (ifc->addrs[i].family == a->family && ifc->addrs[i].len == a->len &&
		    !memcmp(ifc->addrs[i].addr, a->addr, sizeof(a->addr)))
			return (int)i;
	return -1;
}

static int addr_add(struct iface *ifc, const struct prefix *a)
{
	if (addr_index(ifc, a) >= 0)
		return 0;
	return vec_push(ifc->addrs, ifc->n_addrs, ifc->cap_addrs, *a);
}

int iface_addr_event(struct iface *ifc, bool removed, const struct nl_addr *a)
{
	int i = addr_index(ifc, &a->addr);
	int r = 0;

	if (removed && i >= 0)
		ifc->addrs[i] = ifc->addrs[--ifc->n_addrs];
	else if (!removed && i < 0)
		r = addr_add(ifc, &a->addr);
	else
		return 0; /* a flags or lifetime update */
	if (!r)
		r = rec_set_addresses(ifc->rec, ifc->addrs, ifc->n_addrs);
	/* Routes through a gateway the link no longer reaches may be gone
	 * without an event. */
	ifc->need_dump = true;
	ifc->touched = true;
	return r;
}

static int collect_addr(const struct nl_addr *a, void *ctx)
{
	struct iface *ifc = ctx;

	return a->ifindex == ifc->ifindex ? addr_add(ifc, &a->addr) : 0;
}

int iface_load_addrs(const struct iface_env *env, struct iface *ifc)
{
	int r;

	ifc->n_addrs = 0;
	r = nl_route_dump_addrs(env->nr, collect_addr, ifc);
	if (r)
		return r;
	return rec_set_addresses(ifc->rec, ifc->addrs, ifc->n_addrs);
}

int iface_route_event(struct iface *ifc, bool removed, const struct kroute *rt)
{
	if (rt->table != ifc->s.routing_table)
		return 0;
	return removed ? rec_route_remove(ifc->rec, rt) : rec_route_upsert(ifc->rec, rt);
}

struct route_fan {
	struct iface **v;
	size_t n;
};

static int fan_route(const struct kroute *rt, void *ctx)
{
	const struct route_fan *f = ctx;

	for (size_t i = 0; i < f->n; i++) {
		int r = iface_route_event(f->v[i], false, rt);

		if (r)
			return r;
	}
	return 0;
}

/* The dump of ifc ended: complete, or tentative while torn (docs/design.md,
 * "Torn dumps"). */
static void dump_done(struct iface *ifc, bool torn, uint64_t now)
{
	bool was_torn = ifc->redump.torn_since != 0;
	bool was_held = ifc->redump.hold_since != 0;

	ifc->status.route_dumps++;
	ifc->status.torn_route_dumps += torn;
	if (redump_done(&ifc->redump, now, torn, rec_routes_confirmed(ifc->rec))) {
		if (torn)
			log_info("%s: the routes kept changing while the table was read; "
				 "going by what %u reads saw, and reading it again later",
				 ifc->name, ifc->redump.torn);
		rec_routes_end(ifc->rec);
	} else {
		/* Said where it holds the rounds back, which one may notice. */
		if (!was_torn || (!was_held && ifc->redump.hold_since))
			log_msg(rec_routes_confirmed(ifc->rec) ? LOG_LEVEL_DEBUG
							       : LOG_LEVEL_INFO,
				"%s: routes changed while the table was read; reading "
				"it again once they stop",
				ifc->name);
		rec_routes_end_tentative(ifc->rec);
	}
	ifc->need_dump = false;
	ifc->need_full = true;
}

int ifaces_dump_routes(const struct iface_env *env, struct iface **v, size_t n)
{
	struct route_fan fan = {v, n};
	uint32_t table = n ? v[0]->s.routing_table : 0;
	bool torn = false;
	uint64_t now;
	int r;

	for (size_t i = 0; i < n; i++) {
		rec_routes_begin(v[i]->rec);
		if (v[i]->s.routing_table != table)
			table = 0; /* all tables: each keeps its own */
	}
	r = env->rt->dump(env->rt, table, fan_route, &fan, &torn);
	now = clock_mono_ms();
	for (size_t i = 0; i < n; i++) {
		if (r) {
			/* What it read stands; what it did not get to is not
			 * gone: another dump is to tell. */
			rec_routes_end_tentative(v[i]->rec);
			v[i]->need_dump = true;
			continue;
		}
		dump_done(v[i], torn || rec_routes_doubled(v[i]->rec), now);
	}
	return r;
}

bool iface_held(const struct iface *ifc)
{
	return !rec_routes_confirmed(ifc->rec);
}

void iface_doubt_routes(struct iface *ifc)
{
	rec_routes_doubt(ifc->rec);
	ifc->need_dump = true;
}

static void print_plan(const struct iface *ifc, const struct change_list *plan)
{
	char line[CHANGE_LINE];

	for (size_t i = 0; i < plan->n; i++)
		printf("%s: %s\n", ifc->name,
		       change_format(&plan->v[i], line, sizeof(line)));
	fflush(stdout);
}

int iface_sync(const struct iface_env *env, struct iface *ifc, bool full)
{
	struct change_list plan = {0};
	struct sync_result res = {0};
	struct sync_intents intents = {record_intents, ifc};
	int r;

	if (iface_held(ifc))
		return 0; /* the dump that is due first says what to do */

	double begin = clock_mono();

	r = sync_round(ifc->rec, &ifc->bl.wg, &ifc->bl.rt, ifc->name,
		       full || ifc->need_full, env->dry_run, env->dry_run ? &plan : NULL,
		       env->dry_run ? NULL : &intents, &res);
	backend_log_round_end(&ifc->bl);
	ifc->status.last_round_seconds = clock_mono() - begin;
	if (env->dry_run)
		print_plan(ifc, &plan);
	change_list_free(&plan);
	ifc->touched = false;
	ifc->need_full = false;
	ifc->status.rounds++;
	ifc->status.applied += res.applied;
	ifc->status.failed += res.failed;
	ifc->status.last_failed = res.failed;
	ifc->status.last_sync = clock_unix();
	/* A route the model lacks stands where ours was to go: find out what
	 * it is before trying again (rec_fail holds those adds till then). */
	if (res.unseen_routes) {
		ifc->status.unseen_routes += res.unseen_routes;
		ifc->need_dump = true;
		ifc->touched = true;
		log_debug("%s: %zu route adds found a route the daemon had not seen; "
			  "reading the table again",
			  ifc->name, res.unseen_routes);
	}
	/* Each cause was said by the failures (failures.h). */
	if (r)
		log_debug("%s: %zu of %zu changes failed (first: %s)", ifc->name,
			  res.failed, res.planned, strerror(r < 0 ? -r : r));
	/* Also cleared in a dry run, where nothing is written. */
	if (env->dry_run)
		rec_own_take_dirty(ifc->rec);
	else
		update_ownership(ifc);
	return r;
}

int iface_teardown(const struct iface_env *env, struct iface *ifc)
{
	struct change_list cl = {0};
	int *wg_err = NULL, *rt_err = NULL;
	size_t failed = 0;
	int r = rec_teardown(ifc->rec, &cl);

	if (r || !cl.n || env->dry_run) {
		if (env->dry_run)
			print_plan(ifc, &cl);
		change_list_free(&cl);
		return r;
	}
	wg_err = calloc(cl.n, sizeof(*wg_err));
	rt_err = calloc(cl.n, sizeof(*rt_err));
	if (!wg_err || !rt_err) {
		r = -ENOMEM;
		goto out;
	}
	/* Each change logged as in a round. */
	ifc->bl.wg.apply(&ifc->bl.wg, ifc->name, cl.v, cl.n, wg_err);
	ifc->bl.rt.apply(&ifc->bl.rt, cl.v, cl.n, rt_err);
	backend_log_round_end(&ifc->bl);
	for (size_t i = 0; i < cl.n; i++) {
		int err = change_is_allowed(&cl.v[i]) ? wg_err[i] : rt_err[i];

		if (cl.v[i].op == CHANGE_ROUTE_DEL && err == -ESRCH)
			err = 0; /* gone already */
		if (!err) {
			rec_commit(ifc->rec, &cl.v[i]);
			continue;
		}
		failed++;
		if (!r)
			r = err;
	}
	if (failed)
		iface_error(ifc, "cleanup on exit: %zu of %zu changes failed", failed,
			    cl.n);
	else
		log_info("%s: cleanup on exit: %zu changes made", ifc->name, cl.n);
	if (rec_own_take_dirty(ifc->rec))
		save_ownership(ifc);
out:
	free(wg_err);
	free(rt_err);
	change_list_free(&cl);
	return r;
}

void iface_get_status(const struct iface_env *env, struct iface *ifc,
		      struct iface_status *out)
{
	const char *removal = NULL, *backend = NULL;

	if (env->wg->describe)
		backend = env->wg->describe(env->wg, ifc->name, &removal);
	*out = ifc->status;
	snprintf(out->name, sizeof(out->name), "%s", ifc->name);
	out->ifindex = ifc->ifindex;
	out->up = ifc->up;
	out->backend = backend ? backend : "unknown";
	out->removal = removal ? removal : "unknown";
	out->table = ifc->s.routing_table;
	rec_get_stats(ifc->rec, &out->st);
	memcpy(out->applied_by_op, ifc->bl.applied, sizeof(out->applied_by_op));
	memcpy(out->failed_by_op, ifc->bl.failed, sizeof(out->failed_by_op));
	out->failures = ifc->bl.failures.v;
	out->n_failures = ifc->bl.failures.n;
}

static int peer_stats_cmp(const void *a, const void *b)
{
	return wg_key_cmp(&((const struct rec_peer_stats *)a)->key,
			  &((const struct rec_peer_stats *)b)->key);
}

int iface_get_peer_stats(const struct iface *ifc, struct iface_status *out)
{
	int r = rec_get_peer_stats(ifc->rec, &out->peers, &out->n_peers);

	if (!r)
		qsort(out->peers, out->n_peers, sizeof(*out->peers), peer_stats_cmp);
	return r;
}
