/* fakeenv.h: a reconciler over a fake device, for the tests that drive
 * rounds through the fake backends: device FAKEENV_IF (index
 * FAKEENV_IFINDEX) with peers a (explicit gateway fe80::a) and b (fe80::b),
 * no derived gateways, routes in table 254. */
#ifndef WGRS_FAKEENV_H
#define WGRS_FAKEENV_H

#include "backend_fake.h"
#include "reconcile.h"

#define FAKEENV_IF	"wg0"
#define FAKEENV_IFINDEX 5

struct fake_env {
	struct fake_world *w;
	struct wg_backend *wg;
	struct route_backend *rt;
	struct rec *rec;
	struct settings s;
	struct wg_key a, b;
};

/* The world, the backends and the reconciler, which has read the device
 * and the table once. */
void fake_env_init(struct fake_env *e);
void fake_env_free(struct fake_env *e);
/* The device into the reconciler, as a poll does. */
void fake_env_poll(struct fake_env *e);
/* The routes of every table into it, as a dump does. */
void fake_env_dump(struct fake_env *e);

#endif
