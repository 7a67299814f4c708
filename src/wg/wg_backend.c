/* wg_backend.c: a WireGuard backend over a transport (wg_backend.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "log.h"
#include "vec.h"
#include "wg_backend.h"

struct dev_mode {
	char name[IF_NAMESIZE];
	enum wg_remove_mode mode;
};

struct transport_backend {
	struct wg_backend base;
	const struct wg_transport *t;
	void *ctx;
	size_t n_modes, modes_cap;
	struct dev_mode *modes; /* how each device removes, once known */
	struct wg_set set;
	/* The poll read in progress (read_start), if any, and whether an
	 * apply() to its device abandoned it. */
	char reading[IF_NAMESIZE];
	bool abandoned;
};

static struct transport_backend *tb_of(struct wg_backend *b)
{
	return (struct transport_backend *)b;
}

static size_t mode_index(const struct transport_backend *tb, const char *ifname)
{
	size_t i = 0;

	while (i < tb->n_modes && strncmp(tb->modes[i].name, ifname, IF_NAMESIZE))
		i++;
	return i;
}

/* ifname's entry, made (UNKNOWN) when missing; NULL: no memory. */
static struct dev_mode *mode_of(struct transport_backend *tb, const char *ifname)
{
	size_t i = mode_index(tb, ifname);
	struct dev_mode m = {.mode = WG_REMOVE_UNKNOWN};

	if (i == tb->n_modes) {
		snprintf(m.name, sizeof(m.name), "%s", ifname);
		if (vec_push(tb->modes, tb->n_modes, tb->modes_cap, m))
			return NULL;
	}
	return &tb->modes[i];
}

/* A device that went may come back as another kernel's or daemon's. */
static void forget_if_gone(struct transport_backend *tb, const char *ifname, int r)
{
	size_t i = mode_index(tb, ifname);

	if (r == -ENODEV && i < tb->n_modes)
		tb->modes[i] = tb->modes[--tb->n_modes];
}

/* Sends tb->set once built (0), else passes on the build's error; the
 * first error of its messages. */
static int send_built(struct transport_backend *tb, const char *ifname, int built)
{
	int r = built ?: tb->t->send(tb->ctx, ifname, &tb->set);

	return r ?: wg_set_error(&tb->set);
}

static int remove_temp_peer(struct transport_backend *tb, const char *ifname)
{
	return send_built(tb, ifname, wg_plan_remove_temp_peer(&tb->set));
}

/* After a failure that may have left the temporary peer behind. */
static void temp_peer_cleanup(struct transport_backend *tb, const char *ifname, int why)
{
	int r = why == -ENODEV ? 0 : remove_temp_peer(tb, ifname);

	if (r && r != -ENODEV)
		log_warn("%s: cannot remove the temporary peer: %s", ifname,
			 strerror(-r));
}

/* ---- reading ---- */

static void abandon_read_of(struct transport_backend *tb, const char *ifname);

static int after_read(struct wg_backend *b, const char *ifname, int r, bool temp_found)
{
	forget_if_gone(tb_of(b), ifname, r);
	if (r || !temp_found)
		return r;
	if (b->read_only) {
		log_warn("%s: wg-rtsync's temporary peer is left from an earlier run "
			 "(dry run: left in place)",
			 ifname);
		return 0;
	}
	/* Left behind by a crash or a failed request: its prefixes were being
	 * removed anyway. */
	log_warn("%s: removing wg-rtsync's temporary peer left from an earlier run",
		 ifname);
	temp_peer_cleanup(tb_of(b), ifname, 0);
	return 0;
}

static int tb_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct transport_backend *tb = tb_of(b);
	bool temp_found = false, same;
	int r;

	abandon_read_of(tb, ifname); /* it would wait for that read */
	r = tb->t->read(tb->ctx, ifname, NULL, dev, &temp_found, &same);
	return after_read(b, ifname, r, temp_found);
}

static int tb_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			  struct wg_device *dev, bool *same)
{
	struct transport_backend *tb = tb_of(b);
	bool temp_found = false;
	int r;

	*same = false;
	abandon_read_of(tb, ifname);
	r = tb->t->read(tb->ctx, ifname, &known, dev, &temp_found, same);
	return after_read(b, ifname, r, temp_found);
}

/* ---- the idle poll in pieces ---- */

static int tb_poll_start(struct wg_backend *b, const char *ifname, uint64_t known,
			 int *fd)
{
	struct transport_backend *tb = tb_of(b);
	int r;

	if (!tb->t->read_start)
		return -EOPNOTSUPP;
	if (tb->reading[0] && !tb->abandoned)
		return -EBUSY;
	tb->reading[0] = '\0';
	tb->abandoned = false;
	r = tb->t->read_start(tb->ctx, ifname, known, fd);
	if (!r)
		snprintf(tb->reading, sizeof(tb->reading), "%s", ifname);
	else
		forget_if_gone(tb, ifname, r);
	return r;
}

static int tb_poll_step(struct wg_backend *b, int *fd, struct wg_device *dev, bool *same)
{
	struct transport_backend *tb = tb_of(b);
	char ifname[IF_NAMESIZE];
	bool temp_found = false;
	int r;

	*same = false;
	if (!tb->reading[0])
		return -EINVAL;
	if (tb->abandoned) {
		tb->reading[0] = '\0';
		return -ECANCELED;
	}
	r = tb->t->read_step(tb->ctx, fd, dev, &temp_found, same);
	if (r == 0)
		return 0;
	memcpy(ifname, tb->reading, sizeof(ifname));
	tb->reading[0] = '\0';
	r = after_read(b, ifname, r < 0 ? r : 0, temp_found);
	return r ? r : 1;
}

static void tb_poll_abort(struct wg_backend *b)
{
	struct transport_backend *tb = tb_of(b);

	if (tb->reading[0] && !tb->abandoned)
		tb->t->read_abort(tb->ctx);
	tb->reading[0] = '\0';
	tb->abandoned = false;
}

/* A change to the device being read goes first: the read is abandoned
 * (poll_step says so), which frees the device for the change. */
static void abandon_read_of(struct transport_backend *tb, const char *ifname)
{
	if (tb->reading[0] && !tb->abandoned &&
	    !strncmp(tb->reading, ifname, IF_NAMESIZE)) {
		tb->t->read_abort(tb->ctx);
		tb->abandoned = true;
	}
}

/* ---- detecting how to remove ---- */

/* How a device refuses a probe: EINVAL for a flag or line it does not
 * know (and the UAPI for a peer it cannot make), E2BIG for a peer over the
 * kernel's limit. Any other error says nothing about the device. */
static bool refused(int r)
{
	return r == -EINVAL || r == -E2BIG;
}

/* Sets *mode only when it could decide; a failed probe is tried again at
 * the next removal. */
static int detect_mode(struct transport_backend *tb, const char *ifname,
		       enum wg_remove_mode *mode)
{
	const struct wg_transport *t = tb->t;
	enum wg_remove_mode m =
		t->mode_hint ? t->mode_hint(tb->ctx, ifname) : WG_REMOVE_UNKNOWN;
	int r = 0;

	if (m == WG_REMOVE_UNKNOWN) {
		r = send_built(tb, ifname,
			       wg_plan_probe_native(&tb->set, t->probe_makes_peer));
		m = r ? WG_REMOVE_TEMP_PEER : WG_REMOVE_NATIVE;
	}
	if (m == WG_REMOVE_TEMP_PEER && (!r || refused(r))) {
		r = send_built(tb, ifname, wg_plan_probe_temp_peer(&tb->set));
		if (refused(r)) {
			log_warn("%s: the temporary peer cannot be made (%s): removing "
				 "AllowedIPs by replacing whole lists",
				 ifname, strerror(-r));
			m = WG_REMOVE_REPLACE;
			r = 0;
		}
	}
	if (r) {
		temp_peer_cleanup(tb, ifname, r);
		return r;
	}
	*mode = m;
	return 0;
}

/* ---- applying ---- */

/* One round: 0 with err[] filled in, or an error when nothing of it went. */
static int apply_round(struct transport_backend *tb, const char *ifname,
		       const struct change *ch, const size_t *idx, size_t n, int *err)
{
	struct dev_mode *dm = mode_of(tb, ifname);
	enum wg_remove_mode mode = WG_REMOVE_NATIVE;
	struct wg_device cur = {0};
	bool same, temp;
	int r = 0, failed = 0;

	if (!dm)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (ch[idx[i]].op != CHANGE_ALLOWED_DEL)
			continue;
		if (dm->mode == WG_REMOVE_UNKNOWN) {
			r = detect_mode(tb, ifname, &dm->mode);
			if (r)
				return r;
			log_info("%s: AllowedIP removal: %s", ifname,
				 wg_remove_mode_name(dm->mode));
		}
		mode = dm->mode;
		break;
	}
	if (mode == WG_REMOVE_REPLACE)
		r = tb->t->read(tb->ctx, ifname, NULL, &cur, &temp, &same);
	r = r ?: wg_plan_build(&tb->set, ch, idx, n, mode, &cur);
	wg_device_free(&cur);
#ifdef WGRS_FAULT_INJECTION
	/* A crash mid temporary-peer move: the peer took the prefixes to
	 * remove, the last entry, its removal, is never sent. */
	if (!r && mode == WG_REMOVE_TEMP_PEER && fault_due("wg-temp-move")) {
		tb->set.n_peers--;
		tb->t->send(tb->ctx, ifname, &tb->set);
		fault_die("wg-temp-move");
	}
#endif
	r = r ?: tb->t->send(tb->ctx, ifname, &tb->set);
	if (r)
		return r;
	wg_plan_errors(&tb->set, mode, ch, idx, n, err);
	for (size_t i = 0; i < n && !failed; i++)
		failed = err[idx[i]];
	if (failed && mode == WG_REMOVE_TEMP_PEER) {
		temp_peer_cleanup(tb, ifname, failed); /* never left behind */
		dm->mode = WG_REMOVE_UNKNOWN;
	}
	return 0;
}

static int tb_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		    size_t n, int *err)
{
	struct transport_backend *tb = tb_of(b);
	struct wg_rounds rounds;
	size_t *members = NULL;
	int first;

	for (size_t i = 0; i < n; i++)
		err[i] = 0;
	abandon_read_of(tb, ifname);
	first = wg_rounds_plan(&rounds, ch, n);
	if (!first &&
	    !(members = malloc((rounds.n_sel ? rounds.n_sel : 1) * sizeof(*members))))
		first = -ENOMEM;
	if (first) { /* nothing was tried */
		for (size_t i = 0; i < n; i++)
			if (change_is_allowed(&ch[i]))
				err[i] = first;
	}
	for (unsigned k = 0; !first && k < rounds.n_rounds; k++) {
		size_t m = wg_rounds_members(&rounds, k, members);
		int r = apply_round(tb, ifname, ch, members, m, err);

		/* Later rounds are still tried. */
		for (size_t i = 0; r && i < m; i++)
			err[members[i]] = r;
	}
	for (size_t i = 0; i < n && !first; i++)
		first = err[i];
	forget_if_gone(tb, ifname, first);
	free(members);
	wg_rounds_free(&rounds);
	wg_set_clear(&tb->set);
	return first;
}

static const char *tb_describe(struct wg_backend *b, const char *ifname,
			       const char **removal)
{
	struct transport_backend *tb = tb_of(b);
	size_t i = mode_index(tb, ifname);

	*removal = wg_remove_mode_name(i < tb->n_modes ? tb->modes[i].mode
						       : WG_REMOVE_UNKNOWN);
	return b->name;
}

static void tb_destroy(struct wg_backend *b)
{
	struct transport_backend *tb = tb_of(b);

	if (!b)
		return;
	tb_poll_abort(b);
	tb->t->destroy(tb->ctx);
	wg_set_free(&tb->set);
	free(tb->modes);
	free(tb);
}

struct wg_backend *wg_transport_backend_new(const struct wg_transport *t, void *ctx)
{
	struct transport_backend *tb = calloc(1, sizeof(*tb));

	if (!tb) {
		t->destroy(ctx);
		return NULL;
	}
	tb->base = (struct wg_backend){.name = t->name,
				       .get = tb_get,
				       .apply = tb_apply,
				       .destroy = tb_destroy,
				       .get_changed = tb_get_changed,
				       .poll_start = tb_poll_start,
				       .poll_step = tb_poll_step,
				       .poll_abort = tb_poll_abort,
				       .describe = tb_describe};
	tb->t = t;
	tb->ctx = ctx;
	return &tb->base;
}
