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

/* What REPLACE needs to know: the device's peers as read just before, by
 * key, and each prefix of the round with the change naming it, by prefix
 * (a round names a prefix once). */
struct replace_view {
	const struct wg_peer **peers;
	size_t n_peers;
	struct claim {
		struct prefix dst;
		size_t change;
	} * claims;
	size_t n_claims;
};

static int cmp_peer_ptrs(const void *a, const void *b)
{
	return wg_key_cmp(&(*(const struct wg_peer *const *)a)->key,
			  &(*(const struct wg_peer *const *)b)->key);
}

static int cmp_key_peer_ptr(const void *key, const void *elem)
{
	return wg_key_cmp(key, &(*(const struct wg_peer *const *)elem)->key);
}

static int cmp_claims(const void *a, const void *b)
{
	return prefix_cmp(&((const struct claim *)a)->dst,
			  &((const struct claim *)b)->dst);
}

static int cmp_prefix_claim(const void *key, const void *elem)
{
	return prefix_cmp(key, &((const struct claim *)elem)->dst);
}

static void replace_view_free(struct replace_view *v)
{
	free(v->peers);
	free(v->claims);
}

static int replace_view_make(struct replace_view *v, const struct change *ch,
			     const size_t *idx, size_t n, const struct wg_device *cur)
{
	size_t n_cur = cur ? cur->n_peers : 0;

	v->n_peers = n_cur;
	v->n_claims = n;
	v->peers = malloc((n_cur ? n_cur : 1) * sizeof(*v->peers));
	v->claims = malloc((n ? n : 1) * sizeof(*v->claims));
	if (!v->peers || !v->claims) {
		replace_view_free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_cur; i++)
		v->peers[i] = &cur->peers[i];
	qsort(v->peers, n_cur, sizeof(*v->peers), cmp_peer_ptrs);
	for (size_t i = 0; i < n; i++)
		v->claims[i] = (struct claim){ch[idx[i]].dst, idx[i]};
	qsort(v->claims, n, sizeof(*v->claims), cmp_claims);
	return 0;
}

static const struct wg_peer *find_peer(const struct replace_view *v,
				       const struct wg_key *k)
{
	const struct wg_peer *const *p =
		bsearch(k, v->peers, v->n_peers, sizeof(*v->peers), cmp_key_peer_ptr);

	return p ? *p : NULL;
}

/* Whether a prefix peer holds stays in its replaced list: not when the
 * round removes it from peer, nor when it adds it to any peer. A prefix
 * added elsewhere moves by that add alone, with no removal here; kept
 * here, the replacement would take it back when the other peer's entry
 * came first. An add to peer itself has its own entry. */
static bool replace_keeps(const struct replace_view *v, const struct change *ch,
			  const struct wg_key *peer, const struct prefix *dst)
{
	const struct claim *c = bsearch(dst, v->claims, v->n_claims, sizeof(*v->claims),
					cmp_prefix_claim);

	return !c || (ch[c->change].op == CHANGE_ALLOWED_DEL &&
		      wg_key_cmp(&ch[c->change].peer, peer));
}

/* ch[idx[0..n-1]]: the changes of one peer. rv: under REPLACE only. */
static int plan_peer(struct wg_set *s, const struct change *ch, const size_t *idx,
		     size_t n, enum wg_remove_mode mode, const struct replace_view *rv)
{
	const struct wg_key *key = &ch[idx[0]].peer;
	bool has_del = any_op(ch, idx, n, CHANGE_ALLOWED_DEL);
	/* A peer the device did not have when read has nothing to remove;
	 * replacing its list would wipe one it got since. */
	const struct wg_peer *now = has_del && rv ? find_peer(rv, key) : NULL;
	struct wg_set_peer *p;
	int r = 0;

	if (!any_op(ch, idx, n, CHANGE_ALLOWED_ADD) &&
	    (!has_del || mode == WG_REMOVE_TEMP_PEER))
		return 0;
	p = add_peer(s, key,
		     WG_PEER_UPDATE_ONLY | (now ? WG_PEER_REPLACE_ALLOWEDIPS : 0));
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; now && !r && i < now->n_allowed; i++)
		if (replace_keeps(rv, ch, key, &now->allowed[i]))
			r = add_ip(p, &now->allowed[i], false, SIZE_MAX);
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
	struct replace_view rv = {0};
	struct wg_set_peer *t;
	size_t *sorted;
	int r = 0;

	wg_set_clear(s);
	if (mode == WG_REMOVE_UNKNOWN)
		return -EINVAL;
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	if (mode == WG_REMOVE_REPLACE && replace_view_make(&rv, ch, idx, n, cur)) {
		free(sorted);
		return -ENOMEM;
	}
	memcpy(sorted, idx, n * sizeof(*sorted));
	wg_sort_by_peer(sorted, n, ch);
	for (size_t i = 0, j; !r && i < n; i = j) {
		for (j = i + 1;
		     j < n && !wg_key_cmp(&ch[sorted[j]].peer, &ch[sorted[i]].peer); j++)
			;
		r = plan_peer(s, ch, sorted + i, j - i, mode,
			      mode == WG_REMOVE_REPLACE ? &rv : NULL);
	}
	free(sorted);
	replace_view_free(&rv);
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

static int cmp_key_set_peer(const void *key, const void *elem)
{
	return wg_key_cmp(key, &((const struct wg_set_peer *)elem)->key);
}

/* Under REPLACE, where s has each peer once, in key order. */
static const struct wg_set_peer *set_peer_of(const struct wg_set *s,
					     const struct wg_key *k)
{
	return bsearch(k, s->peers, s->n_peers, sizeof(*s->peers), cmp_key_set_peer);
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
