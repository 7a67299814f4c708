/* fakeenv.c: a reconciler over a fake device (see fakeenv.h). */
#include <stdlib.h>

#include "fakeenv.h"
#include "testutil.h"

static int upsert_cb(const struct kroute *rt, void *ctx)
{
	return rec_route_upsert(ctx, rt);
}

void fake_env_poll(struct fake_env *e)
{
	struct wg_device d;

	assert_int_equal(fake_wg_get(e->w, FAKEENV_IF, &d), 0);
	assert_int_equal(rec_set_wg(e->rec, &d), 0);
	wg_device_free(&d);
}

void fake_env_dump(struct fake_env *e)
{
	rec_routes_begin(e->rec);
	assert_int_equal(fake_route_walk(e->w, 0, upsert_cb, e->rec), 0);
	assert_int_equal(rec_routes_end(e->rec), 0);
}

void fake_env_init(struct fake_env *e)
{
	struct peer_gateways *pg;

	assert_int_equal(settings_defaults(&e->s), 0);
	e->s.n_prefixes = 0;
	e->a = key_n(1);
	e->b = key_n(2);
	e->s.peers = pg = calloc(2, sizeof(*pg));
	assert_non_null(pg);
	e->s.n_peers = 2;
	for (int i = 0; i < 2; i++) {
		pg[i].key = i ? e->b : e->a;
		pg[i].gateways = calloc(1, sizeof(struct prefix));
		assert_non_null(pg[i].gateways);
		pg[i].gateways[0] = A(i ? "fe80::b" : "fe80::a");
		pg[i].n_gateways = 1;
	}
	e->w = fake_world_new();
	assert_non_null(e->w);
	assert_int_equal(fake_wg_add_device(e->w, FAKEENV_IF, NULL), 0);
	assert_int_equal(fake_wg_add_peer(e->w, FAKEENV_IF, &e->a), 0);
	assert_int_equal(fake_wg_add_peer(e->w, FAKEENV_IF, &e->b), 0);
	e->wg = fake_wg_backend(e->w);
	e->rt = fake_route_backend(e->w);
	e->rec = rec_new(&e->s, FAKEENV_IFINDEX);
	assert_non_null(e->rec);
	fake_env_poll(e);
	fake_env_dump(e);
}

void fake_env_free(struct fake_env *e)
{
	rec_free(e->rec);
	e->wg->destroy(e->wg);
	e->rt->destroy(e->rt);
	fake_world_free(e->w);
	settings_free(&e->s);
}
