/* wg_backend.c: what the WireGuard backends share (wg_backend.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg_backend.h"

int wg_prefix_cmp(const struct prefix *a, const struct prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

struct wg_dev_mode *wg_dev_mode_of(struct wg_dev_mode **list, const char *ifname)
{
	struct wg_dev_mode *m;

	for (m = *list; m; m = m->next)
		if (!strncmp(m->name, ifname, IF_NAMESIZE))
			return m;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	snprintf(m->name, sizeof(m->name), "%s", ifname);
	m->next = *list;
	*list = m;
	return m;
}

enum wg_remove_mode wg_dev_mode_get(const struct wg_dev_mode *list, const char *ifname)
{
	for (; list; list = list->next)
		if (!strncmp(list->name, ifname, IF_NAMESIZE))
			return list->mode;
	return WG_REMOVE_UNKNOWN;
}

void wg_dev_mode_forget(struct wg_dev_mode **list, const char *ifname)
{
	for (struct wg_dev_mode **pp = list; *pp; pp = &(*pp)->next) {
		if (!strncmp((*pp)->name, ifname, IF_NAMESIZE)) {
			struct wg_dev_mode *dead = *pp;

			*pp = dead->next;
			free(dead);
			return;
		}
	}
}

void wg_dev_mode_free_all(struct wg_dev_mode **list)
{
	while (*list) {
		struct wg_dev_mode *next = (*list)->next;

		free(*list);
		*list = next;
	}
}
