/* wg_auto.c: the backend that picks kernel or UAPI per interface at run
 * time (wg_auto.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"
#include "wg_auto.h"
#include "wg_genl.h"
#include "wg_uapi.h"

struct auto_iface {
	char name[IF_NAMESIZE];
	struct wg_backend *use;
};

struct auto_backend {
	struct wg_backend base;
	struct wg_backend *genl, *uapi;
	size_t n, cap;
	struct auto_iface *ifaces;  /* the backend that read each device */
	struct wg_backend *reading; /* the one with a poll read in progress */
};

static struct auto_iface *auto_find(struct auto_backend *a, const char *ifname)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strncmp(a->ifaces[i].name, ifname, IF_NAMESIZE))
			return &a->ifaces[i];
	return NULL;
}

/* use NULL: forgotten. */
static void auto_remember(struct auto_backend *a, const char *ifname,
			  struct wg_backend *use)
{
	struct auto_iface *known = auto_find(a, ifname), add = {.use = use};

	if (known && use) {
		known->use = use;
	} else if (known) {
		*known = a->ifaces[--a->n];
	} else if (use) {
		snprintf(add.name, sizeof(add.name), "%s", ifname);
		if (vec_push(a->ifaces, a->n, a->cap, add))
			return; /* only a cache: decided again next time */
	}
}

static int auto_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct auto_backend *a = (struct auto_backend *)b;
	struct auto_iface *known = auto_find(a, ifname);
	int r, kernel;

	if (a->genl)
		a->genl->read_only = b->read_only;
	a->uapi->read_only = b->read_only;

	if (known) {
		r = known->use->get(known->use, ifname, dev);
		if (r != -ENODEV)
			return r;
		auto_remember(a, ifname, NULL);
	}
	/* Remembered only once a backend has read the device: a kernel side
	 * failing otherwise (no permission, a timeout) must not pin a UAPI
	 * device to it. */
	kernel = a->genl ? a->genl->get(a->genl, ifname, dev) : -ENODEV;
	if (kernel == 0) {
		auto_remember(a, ifname, a->genl);
		return 0;
	}
	r = a->uapi->get(a->uapi, ifname, dev);
	if (r == 0) {
		auto_remember(a, ifname, a->uapi);
		return 0;
	}
	return r == -ENODEV && kernel != -ENODEV ? kernel : r;
}

static int auto_get_changed(struct wg_backend *b, const char *ifname, uint64_t known,
			    struct wg_device *dev, bool *same)
{
	struct auto_backend *a = (struct auto_backend *)b;
	struct auto_iface *known_if = auto_find(a, ifname);
	int r;

	*same = false;
	if (known_if) {
		known_if->use->read_only = b->read_only;
		r = wg_backend_get_changed(known_if->use, ifname, known, dev, same);
		if (r != -ENODEV)
			return r;
	}
	/* Not read yet, or gone: the choice is made again. */
	return wg_backend_same(auto_get(b, ifname, dev), dev, known, same);
}

/* The poll in pieces, by the backend that read the device last; a device
 * not read yet is read whole (get_changed) first. */
static int auto_poll_start(struct wg_backend *b, const char *ifname, uint64_t known,
			   int *fd)
{
	struct auto_backend *a = (struct auto_backend *)b;
	struct auto_iface *known_if = auto_find(a, ifname);
	int r;

	if (a->reading)
		a->reading->poll_abort(a->reading);
	a->reading = NULL;
	if (!known_if)
		return -EOPNOTSUPP;
	known_if->use->read_only = b->read_only;
	r = wg_backend_poll_start(known_if->use, ifname, known, fd);
	if (!r)
		a->reading = known_if->use;
	return r == -ENODEV ? -EOPNOTSUPP : r; /* get_changed chooses again */
}

static int auto_poll_step(struct wg_backend *b, int *fd, struct wg_device *dev,
			  bool *same)
{
	struct auto_backend *a = (struct auto_backend *)b;
	int r;

	*same = false;
	if (!a->reading)
		return -EINVAL;
	r = a->reading->poll_step(a->reading, fd, dev, same);
	if (r)
		a->reading = NULL;
	return r;
}

static void auto_poll_abort(struct wg_backend *b)
{
	struct auto_backend *a = (struct auto_backend *)b;

	if (a->reading)
		a->reading->poll_abort(a->reading);
	a->reading = NULL;
}

static int auto_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		      size_t n, int *err)
{
	struct auto_backend *a = (struct auto_backend *)b;
	struct auto_iface *known = auto_find(a, ifname);

	if (!known) {
		struct wg_device dev;
		int r = auto_get(b, ifname, &dev);

		if (!r)
			wg_device_free(&dev);
		known = auto_find(a, ifname);
		if (!known) {
			for (size_t i = 0; i < n; i++)
				err[i] =
					change_is_allowed(&ch[i]) ? (r ? r : -ENOMEM) : 0;
			return r ? r : -ENOMEM; /* read, but not remembered */
		}
	}
	return known->use->apply(known->use, ifname, ch, n, err);
}

static const char *auto_describe(struct wg_backend *b, const char *ifname,
				 const char **removal)
{
	struct auto_iface *known = auto_find((struct auto_backend *)b, ifname);

	*removal = "unknown";
	if (!known || !known->use->describe)
		return NULL;
	return known->use->describe(known->use, ifname, removal);
}

static void auto_destroy(struct wg_backend *b)
{
	struct auto_backend *a = (struct auto_backend *)b;

	if (!b)
		return;
	free(a->ifaces);
	if (a->genl)
		a->genl->destroy(a->genl);
	if (a->uapi)
		a->uapi->destroy(a->uapi);
	free(a);
}

struct wg_backend *wg_backend_auto_new_with(struct wg_backend *genl,
					    struct wg_backend *uapi)
{
	struct auto_backend *a = uapi ? calloc(1, sizeof(*a)) : NULL;

	if (!a) {
		if (genl)
			genl->destroy(genl);
		if (uapi)
			uapi->destroy(uapi);
		return NULL;
	}
	a->base.name = "auto";
	a->base.get = auto_get;
	a->base.get_changed = auto_get_changed;
	a->base.apply = auto_apply;
	a->base.poll_start = auto_poll_start;
	a->base.poll_step = auto_poll_step;
	a->base.poll_abort = auto_poll_abort;
	a->base.describe = auto_describe;
	a->base.destroy = auto_destroy;
	a->genl = genl;
	a->uapi = uapi;
	return &a->base;
}

struct wg_backend *wg_backend_auto_new(const char *uapi_sockdir)
{
	/* genl is NULL without generic netlink: UAPI only. */
	return wg_backend_auto_new_with(wg_genl_backend_new(),
					wg_uapi_backend_new(uapi_sockdir));
}
