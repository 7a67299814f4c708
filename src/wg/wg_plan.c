/* wg_plan.c: a WireGuard change planned once, for both backends (wg_plan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"
#include "wg_plan.h"

/* "wg-rtsync/temporary-peer/removal" */
const struct wg_key wg_temp_peer_key = {.b = {
						'w', 'g', '-', 'r', 't', 's', 'y', 'n',
						'c', '/', 't', 'e', 'm', 'p', 'o', 'r',
						'a', 'r', 'y', '-', 'p', 'e', 'e', 'r',
						'/', 'r', 'e', 'm', 'o', 'v', 'a', 'l',
					}};

bool wg_is_temp_peer(const struct wg_key *k)
{
	return !wg_key_cmp(k, &wg_temp_peer_key);
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

/* ---- the request ---- */

void wg_set_clear(struct wg_set *s)
{
	for (size_t i = 0; i < s->n_peers; i++)
		free(s->peers[i].ips);
	s->n_peers = 0;
	s->n_msgs = 0;
}

void wg_set_free(struct wg_set *s)
{
	wg_set_clear(s);
	free(s->peers);
	free(s->msg_err);
	memset(s, 0, sizeof(*s));
}

int wg_set_msg_result(struct wg_set *s, int err)
{
	return vec_push(s->msg_err, s->n_msgs, s->msgs_cap, err);
}

int wg_set_one_message(struct wg_set *s, int err)
{
	for (size_t k = 0; k < s->n_peers; k++) {
		s->peers[k].msg_last = 0;
		for (size_t i = 0; i < s->peers[k].n_ips; i++)
			s->peers[k].ips[i].msg = 0;
	}
	s->n_msgs = 0;
	return wg_set_msg_result(s, err);
}

/* The first error of messages from..to. */
static int msgs_error(const struct wg_set *s, size_t from, size_t to)
{
	int e = 0;

	for (size_t m = from; !e && m <= to && m < s->n_msgs; m++)
		e = s->msg_err[m];
	return e;
}

int wg_set_error(const struct wg_set *s)
{
	return s->n_msgs ? msgs_error(s, 0, s->n_msgs - 1) : 0;
}

static struct wg_set_peer *add_peer(struct wg_set *s, const struct wg_key *k,
				    uint32_t flags)
{
	struct wg_set_peer p = {.key = *k, .flags = flags};

	if (vec_push(s->peers, s->n_peers, s->peers_cap, p))
		return NULL;
	return &s->peers[s->n_peers - 1];
}

static int add_ip(struct wg_set_peer *p, const struct prefix *dst, bool remove,
		  size_t change)
{
	struct wg_set_ip ip = {.dst = *dst, .remove = remove, .change = change};

	return vec_push(p->ips, p->n_ips, p->ips_cap, ip);
}

/* ---- rounds ---- */

static int cmp_by_peer(const void *a, const void *b, void *arg)
{
	const struct change *ch = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = wg_key_cmp(&ch[i].peer, &ch[j].peer);

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
	int c = prefix_cmp(&rs->ch[rs->sel[i]].dst, &rs->ch[rs->sel[j]].dst);

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
		if (change_is_allowed(&ch[i]))
			r->sel[r->n_sel++] = i;
	for (size_t i = 0; i < r->n_sel; i++)
		order[i] = i;
	rs = (struct round_sort){ch, r->sel};
	qsort_r(order, r->n_sel, sizeof(*order), cmp_by_prefix, &rs);
	for (size_t k = 0; k < r->n_sel; k++) {
		size_t i = order[k];
		bool same = k > 0 && !prefix_cmp(&ch[r->sel[i]].dst,
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

/* ---- building a request ---- */

static bool any_op(const struct change *ch, const size_t *idx, size_t n,
		   enum change_op op)
{
	for (size_t i = 0; i < n; i++)
		if (ch[idx[i]].op == op)
			return true;
	return false;
}

static const struct wg_peer *find_peer(const struct wg_device *d, const struct wg_key *k)
{
	for (size_t i = 0; d && i < d->n_peers; i++)
		if (!wg_key_cmp(&d->peers[i].key, k))
			return &d->peers[i];
	return NULL;
}

/* ch[idx[0..n-1]]: the changes of one peer. */
static int plan_peer(struct wg_set *s, const struct change *ch, const size_t *idx,
		     size_t n, enum wg_remove_mode mode, const struct wg_device *cur)
{
	bool has_del = any_op(ch, idx, n, CHANGE_ALLOWED_DEL);
	/* A peer the device did not have when read has nothing to remove;
	 * replacing its list would wipe one it got since. */
	const struct wg_peer *now = has_del && mode == WG_REMOVE_REPLACE
					    ? find_peer(cur, &ch[idx[0]].peer)
					    : NULL;
	struct wg_set_peer *p;
	int r = 0;

	if (!any_op(ch, idx, n, CHANGE_ALLOWED_ADD) &&
	    (!has_del || mode == WG_REMOVE_TEMP_PEER))
		return 0;
	p = add_peer(s, &ch[idx[0]].peer,
		     WG_PEER_UPDATE_ONLY | (now ? WG_PEER_REPLACE_ALLOWEDIPS : 0));
	if (!p)
		return -ENOMEM;
	if (now) {
		struct prefix *dels = malloc(n * sizeof(*dels));
		size_t nd = 0;

		if (!dels)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (ch[idx[i]].op == CHANGE_ALLOWED_DEL)
				dels[nd++] = ch[idx[i]].dst;
		qsort(dels, nd, sizeof(*dels), prefix_cmp_void);
		for (size_t i = 0; !r && i < now->n_allowed; i++)
			if (!bsearch(&now->allowed[i], dels, nd, sizeof(*dels),
				     prefix_cmp_void))
				r = add_ip(p, &now->allowed[i], false, SIZE_MAX);
		free(dels);
	}
	for (size_t i = 0; !r && i < n; i++) {
		const struct change *c = &ch[idx[i]];

		if (c->op == CHANGE_ALLOWED_ADD || mode == WG_REMOVE_NATIVE)
			r = add_ip(p, &c->dst, c->op == CHANGE_ALLOWED_DEL, idx[i]);
	}
	return r;
}

int wg_plan_build(struct wg_set *s, const struct change *ch, const size_t *idx, size_t n,
		  enum wg_remove_mode mode, const struct wg_device *cur)
{
	struct wg_set_peer *t;
	size_t *sorted;
	int r = 0;

	wg_set_clear(s);
	if (mode == WG_REMOVE_UNKNOWN)
		return -EINVAL;
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, idx, n * sizeof(*sorted));
	wg_sort_by_peer(sorted, n, ch);
	for (size_t i = 0, j; !r && i < n; i = j) {
		for (j = i + 1;
		     j < n && !wg_key_cmp(&ch[sorted[j]].peer, &ch[sorted[i]].peer); j++)
			;
		r = plan_peer(s, ch, sorted + i, j - i, mode, cur);
	}
	free(sorted);
	if (r || mode != WG_REMOVE_TEMP_PEER || !any_op(ch, idx, n, CHANGE_ALLOWED_DEL))
		return r;
	/* The temporary peer takes them (made if missing), then goes. */
	t = add_peer(s, &wg_temp_peer_key, 0);
	for (size_t i = 0; t && !r && i < n; i++)
		if (ch[idx[i]].op == CHANGE_ALLOWED_DEL)
			r = add_ip(t, &ch[idx[i]].dst, false, idx[i]);
	if (!t || r || !add_peer(s, &wg_temp_peer_key, WG_PEER_REMOVE_ME))
		return -ENOMEM;
	return 0;
}

static const struct wg_set_peer *set_peer_of(const struct wg_set *s,
					     const struct wg_key *k)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (!wg_key_cmp(&s->peers[i].key, k))
			return &s->peers[i];
	return NULL;
}

/* Any of the messages that carried a part of p. */
static int peer_error(const struct wg_set *s, const struct wg_set_peer *p)
{
	return msgs_error(s, p->n_ips ? p->ips[0].msg : p->msg_last, p->msg_last);
}

void wg_plan_errors(const struct wg_set *s, enum wg_remove_mode mode,
		    const struct change *ch, const size_t *idx, size_t n, int *err)
{
	for (size_t k = 0; k < s->n_peers; k++) {
		const struct wg_set_peer *p = &s->peers[k], *next = p + 1;
		int whole = p->flags & WG_PEER_REPLACE_ALLOWEDIPS ? peer_error(s, p) : 0;
		int removal = 0;

		if (k + 1 < s->n_peers && (next->flags & WG_PEER_REMOVE_ME) &&
		    !wg_key_cmp(&next->key, &p->key))
			removal = msgs_error(s, next->msg_last, next->msg_last);
		for (size_t i = 0; i < p->n_ips; i++) {
			size_t c = p->ips[i].change;

			if (c != SIZE_MAX && !err[c])
				err[c] = msgs_error(s, p->ips[i].msg, p->ips[i].msg)
						 ?: removal ?: whole;
		}
	}
	for (size_t i = 0; mode == WG_REMOVE_REPLACE && i < n; i++) {
		const struct change *c = &ch[idx[i]];
		const struct wg_set_peer *p = set_peer_of(s, &c->peer);

		if (c->op == CHANGE_ALLOWED_DEL && p && !err[idx[i]])
			err[idx[i]] = peer_error(s, p);
	}
}

/* ---- probes ---- */

/* A documentation prefix, never given to the temporary peer. */
static const struct prefix probe_prefix = {
	.family = AF_INET, .len = 32, .addr = {192, 0, 2, 255}};

int wg_plan_probe_native(struct wg_set *s, bool make_peer)
{
	struct wg_set_peer *t;

	wg_set_clear(s);
	t = add_peer(s, &wg_temp_peer_key, make_peer ? 0 : WG_PEER_UPDATE_ONLY);
	if (!t || add_ip(t, &probe_prefix, true, SIZE_MAX) ||
	    (make_peer && !add_peer(s, &wg_temp_peer_key, WG_PEER_REMOVE_ME)))
		return -ENOMEM;
	return 0;
}

int wg_plan_probe_temp_peer(struct wg_set *s)
{
	wg_set_clear(s);
	if (!add_peer(s, &wg_temp_peer_key, 0) ||
	    !add_peer(s, &wg_temp_peer_key, WG_PEER_REMOVE_ME))
		return -ENOMEM;
	return 0;
}

int wg_plan_remove_temp_peer(struct wg_set *s)
{
	wg_set_clear(s);
	return add_peer(s, &wg_temp_peer_key, WG_PEER_REMOVE_ME) ? 0 : -ENOMEM;
}
