/* wg_backend.c: what the WireGuard backends share (wg_backend.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg_backend.h"

/* "wg-rtsync/temporary-peer/removal" */
const struct wg_key wg_temp_peer_key = {.b = {
						'w', 'g', '-', 'r', 't', 's', 'y', 'n',
						'c', '/', 't', 'e', 'm', 'p', 'o', 'r',
						'a', 'r', 'y', '-', 'p', 'e', 'e', 'r',
						'/', 'r', 'e', 'm', 'o', 'v', 'a', 'l',
					}};

bool wg_is_temp_peer(const struct wg_key *k)
{
	return !memcmp(k->b, wg_temp_peer_key.b, WG_KEY_LEN);
}

const char *wg_remove_mode_name(enum wg_remove_mode m)
{
	switch (m) {
	case WG_REMOVE_NATIVE:
		return "native";
	case WG_REMOVE_TEMP_PEER:
		return "temporary peer";
	case WG_REMOVE_REPLACE:
		return "replace whole list";
	default:
		return "unknown";
	}
}

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

static int cmp_by_peer(const void *a, const void *b, void *arg)
{
	const struct change *ch = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = memcmp(ch[i].peer.b, ch[j].peer.b, WG_KEY_LEN);

	return c ? c : (i > j) - (i < j);
}

void wg_sort_by_peer(size_t *idx, size_t n, const struct change *ch)
{
	qsort_r(idx, n, sizeof(*idx), cmp_by_peer, (void *)ch);
}

struct round_sort {
	const struct change *ch;
	const size_t *sel;
};

static int cmp_by_prefix(const void *a, const void *b, void *arg)
{
	const struct round_sort *rs = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = wg_prefix_cmp(&rs->ch[rs->sel[i]].dst, &rs->ch[rs->sel[j]].dst);

	return c ? c : (i > j) - (i < j);
}

int wg_rounds_plan(struct wg_rounds *r, const struct change *ch, size_t n)
{
	size_t *order;
	struct round_sort rs;

	memset(r, 0, sizeof(*r));
	r->sel = malloc((n ? n : 1) * sizeof(*r->sel));
	r->round = malloc((n ? n : 1) * sizeof(*r->round));
	order = malloc((n ? n : 1) * sizeof(*order));
	if (!r->sel || !r->round || !order) {
		free(order);
		wg_rounds_free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (ch[i].op == CHANGE_ALLOWED_ADD || ch[i].op == CHANGE_ALLOWED_DEL)
			r->sel[r->n_sel++] = i;
	for (size_t i = 0; i < r->n_sel; i++)
		order[i] = i;
	rs = (struct round_sort){ch, r->sel};
	qsort_r(order, r->n_sel, sizeof(*order), cmp_by_prefix, &rs);
	for (size_t k = 0; k < r->n_sel; k++) {
		size_t i = order[k];
		bool same = k > 0 && !wg_prefix_cmp(&ch[r->sel[i]].dst,
						    &ch[r->sel[order[k - 1]]].dst);

		r->round[i] = same ? r->round[order[k - 1]] + 1 : 0;
		if (r->round[i] + 1 > r->n_rounds)
			r->n_rounds = r->round[i] + 1;
	}
	free(order);
	return 0;
}

size_t wg_rounds_members(const struct wg_rounds *r, unsigned k, size_t *out)
{
	size_t m = 0;

	for (size_t i = 0; i < r->n_sel; i++)
		if (r->round[i] == k)
			out[m++] = r->sel[i];
	return m;
}

void wg_rounds_free(struct wg_rounds *r)
{
	free(r->sel);
	free(r->round);
	memset(r, 0, sizeof(*r));
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
