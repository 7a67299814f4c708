/* wg_auto.c: the backend that picks kernel or UAPI per interface at run
 * time (wg_auto.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg_auto.h"
#include "wg_genl.h"
#include "wg_uapi.h"

struct auto_iface {
	char name[IFNAMSIZ];
	struct wg_backend *use;
	struct auto_iface *next;
};

struct auto_backend {
	struct wg_backend base;
	struct wg_backend *genl, *uapi;
	struct auto_iface *ifaces;
};

static struct auto_iface **auto_find(struct auto_backend *a, const char *ifname)
{
	struct auto_iface **pp;

	for (pp = &a->ifaces; *pp; pp = &(*pp)->next)
		if (!strncmp((*pp)->name, ifname, IFNAMSIZ))
			break;
	return pp;
}

static void auto_remember(struct auto_backend *a, const char *ifname,
			  struct wg_backend *use)
{
	struct auto_iface **pp = auto_find(a, ifname);

	if (!use) {
		if (*pp) {
			struct auto_iface *dead = *pp;
			*pp = dead->next;
			free(dead);
		}
		return;
	}
	if (!*pp) {
		*pp = calloc(1, sizeof(**pp));
		if (!*pp)
			return; /* only a cache: decided again next time */
		snprintf((*pp)->name, sizeof((*pp)->name), "%s", ifname);
	}
	(*pp)->use = use;
}

static int auto_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct auto_backend *a = (struct auto_backend *)b;
	struct auto_iface *known = *auto_find(a, ifname);
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
	struct auto_iface *known_if = *auto_find(a, ifname);
	int r;

	*same = false;
	if (known_if) {
		known_if->use->read_only = b->read_only;
		r = wg_backend_get_changed(known_if->use, ifname, known, dev, same);
		if (r != -ENODEV)
			return r;
	}
	/* Not read yet, or gone: the choice is made again. */
	r = auto_get(b, ifname, dev);
	if (!r && wg_device_fingerprint(dev) == known) {
		struct wg_key pubkey = dev->pubkey;

		wg_device_free(dev);
		dev->pubkey = pubkey;
		*same = true;
	}
	return r;
}

static int auto_apply(struct wg_backend *b, const char *ifname, const struct change *ch,
		      size_t n, int *err)
{
	struct auto_backend *a = (struct auto_backend *)b;
	struct auto_iface *known = *auto_find(a, ifname);

	if (!known) {
		struct wg_device dev;
		int r = auto_get(b, ifname, &dev);

		if (!r)
			wg_device_free(&dev);
		known = *auto_find(a, ifname);
		if (!known) {
			for (size_t i = 0; i < n; i++)
				err[i] = (ch[i].op == CHANGE_ALLOWED_ADD ||
					  ch[i].op == CHANGE_ALLOWED_DEL)
						 ? (r ? r : -ENOMEM)
						 : 0;
			return r ? r : -ENOMEM; /* read, but not remembered */
		}
	}
	return known->use->apply(known->use, ifname, ch, n, err);
}

static void auto_destroy(struct wg_backend *b)
{
	struct auto_backend *a = (struct auto_backend *)b;

	if (!b)
		return;
	while (a->ifaces)
		auto_remember(a, a->ifaces->name, NULL);
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

const char *wg_backend_auto_which(struct wg_backend *b, const char *ifname,
				  enum wg_remove_mode *mode)
{
	struct auto_backend *a = (struct auto_backend *)b;
	struct auto_iface *known = *auto_find(a, ifname);

	*mode = WG_REMOVE_UNKNOWN;
	if (!known)
		return NULL;
	if (known->use == a->genl) {
		*mode = wg_genl_remove_mode(a->genl, ifname);
		return "kernel";
	}
	*mode = wg_uapi_remove_mode(a->uapi, ifname);
	return "uapi";
}
