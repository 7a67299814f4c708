/* test_iface.c: a managed interface's rounds and its state file (iface.h,
 * docs/spec.md 6.3 and 6.4) over the fake backends, with the real file in
 * a temporary directory. A crash is simulated by what a restart would do:
 * read the file as it is, load it into a fresh reconciler, read the device
 * as it is. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakeenv.h"
#include "iface.h"
#include "statefile.h"
#include "testutil.h"

#define IF	FAKEENV_IF
#define IFINDEX FAKEENV_IFINDEX

struct world {
	struct fake_env f;
	/* The fake WireGuard backend, except that the replies to the next
	 * lose_replies learned adds are lost after the adds were made. */
	struct wg_backend lossy;
	int lose_replies;
	struct iface_env env;
	struct iface *ifc;
	char dir[64];	/* removed at the end */
	char state[96]; /* dir/state: the state_dir */
};

static struct world *world_of(struct wg_backend *b)
{
	return (struct world *)((char *)b - offsetof(struct world, lossy));
}

static int lossy_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct world *w = world_of(b);

	return w->f.wg->get(w->f.wg, ifname, dev);
}

static int lossy_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		       size_t n, int *err)
{
	struct world *w = world_of(b);
	int r = w->f.wg->apply(w->f.wg, ifname, ch, n, err);

	for (size_t i = 0; i < n && w->lose_replies; i++) {
		if (ch[i].op != CHANGE_ALLOWED_ADD || !ch[i].learned || err[i])
			continue;
		err[i] = -EPIPE; /* made, but the connection closed */
		w->lose_replies--;
		r = r ? r : -EPIPE;
	}
	return r;
}

static struct world *world_new(void)
{
	struct world *w = calloc(1, sizeof(*w));
	struct wg_device dev;
	struct iface *ifc;

	assert_non_null(w);
	fake_env_init(&w->f);
	strcpy(w->dir, "/tmp/wgrs-iface-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
	free(w->f.s.state_dir);
	w->f.s.state_dir = strdup(w->state);
	assert_non_null(w->f.s.state_dir);
	w->lossy = (struct wg_backend){
		.name = "lossy", .get = lossy_get, .apply = lossy_apply};
	w->env = (struct iface_env){.wg = &w->lossy, .rt = w->f.rt};

	/* As iface_start leaves it, without the netlink reads. */
	w->ifc = ifc = calloc(1, sizeof(*ifc));
	assert_non_null(ifc);
	snprintf(ifc->name, sizeof(ifc->name), "%s", IF);
	assert_int_equal(settings_copy(&ifc->s, &w->f.s), 0);
	ifc->state_fd = -1;
	ifc->ifindex = IFINDEX;
	ifc->up = true;
	assert_int_equal(fake_wg_get(w->f.w, IF, &dev), 0);
	ifc->pubkey = dev.pubkey;
	wg_device_free(&dev);
	ifc->rec = w->f.rec;
	w->f.rec = NULL; /* the interface's now */
	backend_log_init(&ifc->bl, &w->lossy, w->f.rt, IF, ifc->status.last_error,
			 sizeof(ifc->status.last_error), &ifc->status.last_error_time);
	return w;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void world_free(struct world *w)
{
	iface_free(w->ifc);
	fake_env_free(&w->f);
	nftw(w->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(w);
}

static void add_route(struct world *w, const char *dst, const char *gw)
{
	struct knexthop h = {A(gw), IFINDEX};
	struct kroute r = {.dst = P(dst),
			   .table = 254,
			   .protocol = 12,
			   .type = ROUTE_TYPE_UNICAST,
			   .metric = 32,
			   .n_nexthops = 1,
			   .nexthops = &h};

	assert_int_equal(fake_route_add(w->f.w, &r), 0);
	assert_int_equal(iface_route_event(w->ifc, false, &r), 0);
}

/* What a restart after a crash now would do: which peer (a, b, or 0 for
 * none) owns dst as learned; *n_intents: the intents no block settled. */
static char owner_after_crash(struct world *w, const char *dst, size_t *n_intents)
{
	char msg[STATEFILE_MSG_LEN];
	struct own_entry *own = NULL, *out = NULL;
	size_t n = 0, n_out = 0;
	struct prefix p = P(dst);
	struct rec *r = rec_new(&w->f.s, IFINDEX);
	struct wg_device dev;
	char owner = 0;

	assert_non_null(r);
	assert_int_equal(statefile_read(w->state, IF, &w->ifc->pubkey, &own, &n,
					n_intents, msg, sizeof(msg)),
			 0);
	assert_int_equal(rec_own_load(r, own, n + *n_intents), 0);
	assert_int_equal(fake_wg_get(w->f.w, IF, &dev), 0);
	assert_int_equal(rec_set_wg(r, &dev), 0);
	wg_device_free(&dev);
	assert_int_equal(rec_own_export(r, &out, &n_out), 0);
	for (size_t i = 0; i < n_out; i++)
		if (prefix_equal(&out[i].dst, &p))
			owner = !wg_key_cmp(&out[i].peer, &w->f.a) ? 'a' : 'b';
	free(out);
	free(own);
	rec_free(r);
	return owner;
}

static bool device_holds(struct world *w, const struct wg_key *k, const char *dst)
{
	struct prefix p = P(dst);
	struct wg_device d;
	bool found = false;

	assert_int_equal(fake_wg_get(w->f.w, IF, &d), 0);
	for (size_t i = 0; i < d.n_peers; i++)
		for (size_t j = 0;
		     !wg_key_cmp(&d.peers[i].key, k) && j < d.peers[i].n_allowed; j++)
			found |= prefix_equal(&d.peers[i].allowed[j], &p);
	wg_device_free(&d);
	return found;
}

static off_t state_size(struct world *w)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.state", w->state, IF);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* A learned add whose reply was lost (made, reported failed) is ours from
 * the next read of the device on; until then its intent stays open in the
 * state file, past the change block of its round, so that a crash before
 * that read leaves the prefix learned, not taken for static (spec 6.3). */
static void test_add_of_unknown_outcome_survives_a_crash(void **state)
{
	struct world *w = world_new();
	size_t n_intents;
	off_t size;

	(void)state;
	add_route(w, "2001:db8:1::/48", "fe80::a");
	assert_int_equal(iface_sync(&w->env, w->ifc, false), 0);
	assert_int_equal(owner_after_crash(w, "2001:db8:1::/48", &n_intents), 'a');

	add_route(w, "2001:db8:2::/48", "fe80::a");
	w->lose_replies = 1;
	assert_int_equal(iface_sync(&w->env, w->ifc, false), -EPIPE);
	assert_true(device_holds(w, &w->f.a, "2001:db8:2::/48"));
	/* A crash before the next poll. */
	assert_int_equal(owner_after_crash(w, "2001:db8:2::/48", &n_intents), 'a');
	assert_int_equal(n_intents, 1);
	assert_int_equal(owner_after_crash(w, "2001:db8:1::/48", &n_intents), 'a');

	/* The poll settles it: the next round's block records the entry and
	 * leaves no intent open. */
	assert_int_equal(iface_poll(&w->env, w->ifc, false), 0);
	assert_int_equal(iface_sync(&w->env, w->ifc, false), 0);
	assert_int_equal(owner_after_crash(w, "2001:db8:2::/48", &n_intents), 'a');
	assert_int_equal(n_intents, 0);
	/* And nothing more is written while nothing changes. */
	size = state_size(w);
	assert_int_equal(iface_poll(&w->env, w->ifc, false), 0);
	assert_int_equal(iface_sync(&w->env, w->ifc, false), 0);
	assert_int_equal(state_size(w), size);
	world_free(w);
}

/* One that was not made: a crash before the retry takes nothing for
 * learned; the retry's round settles the intent with the entry. */
static void test_add_not_made_leaves_nothing_owned(void **state)
{
	struct world *w = world_new();
	size_t n_intents;

	(void)state;
	add_route(w, "2001:db8:2::/48", "fe80::a");
	fake_fail_next(w->f.w, 1, -EPIPE);
	assert_int_equal(iface_sync(&w->env, w->ifc, false), -EPIPE);
	assert_false(device_holds(w, &w->f.a, "2001:db8:2::/48"));
	assert_int_equal(owner_after_crash(w, "2001:db8:2::/48", &n_intents), 0);

	assert_int_equal(iface_poll(&w->env, w->ifc, false), 0);
	assert_int_equal(iface_sync(&w->env, w->ifc, false), 0);
	assert_true(device_holds(w, &w->f.a, "2001:db8:2::/48"));
	assert_int_equal(owner_after_crash(w, "2001:db8:2::/48", &n_intents), 'a');
	assert_int_equal(n_intents, 0);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_of_unknown_outcome_survives_a_crash),
		cmocka_unit_test(test_add_not_made_leaves_nothing_owned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
