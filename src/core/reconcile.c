/* reconcile.c: the core of reconcile.h; docs/design.md explains the rules.
 *
 * The model is a trie of destination records (dest.h): every prefix that has
 * a route in table T or is somebody's AllowedIP. Inputs change records and
 * mark them dirty; a pass evaluates the dirty ones (or all) in prefix order,
 * each on its own, so one event costs O(prefix length + log n). The only
 * state a pass keeps besides dirty marks is derived bookkeeping (counters,
 * the max_learned_prefixes ranking), never the world. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive.h"
#include "dest.h"
#include "gateway.h"
#include "peers.h"
#include "prefix_trie.h"
#include "reconcile.h"
#include "vec.h"

/* dest.flags: within the first max_learned_prefixes of its learn target. */
#define DF_INLIMIT 0x80

struct rec {
	struct settings s;
	int ifindex;
	struct prefix *addrs;
	size_t n_addrs;

	struct ptrie *dests;
	struct dest_pool pool;
	struct gw_table *gws;
	struct peer_table peers;
	struct ptrie *displaced; /* prefix -> struct wg_key *: learned-wins */
	/* Our routes of a previous routing_table or route_protocol, still to
	 * be deleted: prefix -> struct orphans *. */
	struct ptrie *orphans;

	struct dest **dirty;
	size_t n_dirty, cap_dirty;
	bool all_dirty;

	/* wg_device_fingerprint() of the device as the model holds it. */
	uint64_t wg_fp;
	bool wg_parity;	   /* DF_SEEN value of the last WireGuard snapshot */
	bool route_parity; /* RN_SEEN value of the dumps since the last complete one */
	/* Route dumps (docs/design.md, "Torn dumps"). */
	bool dumping;	       /* between rec_routes_begin and its end */
	bool dump_doubled;     /* the dump under way listed a route twice */
	bool routes_tentative; /* the last dump ended tentative */
	bool routes_confirmed; /* a complete dump since the routes were lost */
	bool have_wg;
	struct own_entry *pending_own;
	size_t n_pending_own, cap_pending_own;
	bool own_dirty;
	/* Destinations whose ownership changed since rec_own_take_changes,
	 * so that the state file is updated in O(changes); own_lost: one
	 * could not be recorded (then the whole file is written). */
	struct prefix *own_changed;
	size_t n_own_changed, cap_own_changed;
	bool own_lost;

	size_t n_held, n_learned, n_routes, n_ours, n_conflicts, n_filtered, n_over;
	rec_warn_fn warn;
	void *warn_ctx;
};

/* ---- small helpers ---- */

__attribute__((format(printf, 2, 3))) static void warnf(struct rec *r, const char *fmt,
							...)
{
	char msg[512];
	va_list ap;

	if (!r->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->warn(r->warn_ctx, msg);
}

static const char *key_b64(const struct wg_key *k, char *buf)
{
	return wg_key_to_base64(k, buf);
}

static bool prefix_valid(const struct prefix *p)
{
	unsigned bits = prefix_family_bits(p->family);

	return bits && p->len <= bits;
}

static uint32_t static_holder(const struct dest *d)
{
	return d->flags & DF_LEARNED ? 0 : d->holder;
}

struct orphans {
	size_t n;
	struct route_spec v[];
};

static struct orphans *orphans_of(const struct rec *r, const struct dest *d)
{
	return ptrie_count(r->orphans) ? ptrie_get(r->orphans, &d->dst) : NULL;
}

static bool dest_empty(const struct rec *r, const struct dest *d)
{
	return !d->n_routes && !d->holder && !d->cand && !(d->flags & DF_DISPLACED) &&
	       !orphans_of(r, d);
}

/* ---- dirty marks ---- */

static void mark(struct rec *r, struct dest *d)
{
	if ((d->flags & DF_DIRTY) || r->all_dirty)
		return;
	if (vec_push(r->dirty, r->n_dirty, r->cap_dirty, d)) {
		/* Cannot remember it: evaluate everything instead. */
		r->all_dirty = true;
		return;
	}
	d->flags |= DF_DIRTY;
}

static void mark_cb(void *user, void *ctx)
{
	mark(ctx, user);
}

/* Destinations with a route through a gateway inside p (cryptokey owners
 * inside p may have changed). */
static void mark_gw_users_within(struct rec *r, const struct prefix *p)
{
	if (!r->all_dirty)
		gw_users_within(r->gws, p, mark_cb, r);
}

static void mark_gw_users(struct rec *r, const struct prefix *addr)
{
	mark_gw_users_within(r, addr);
}

/* Marks everything dirty (a full pass is then what the next pass does). */
static void mark_all(struct rec *r)
{
	r->all_dirty = true;
}

/* ---- ownership changes ---- */

static void own_note(struct rec *r, const struct prefix *dst)
{
	r->own_dirty = true;
	if (r->own_lost)
		return;
	if (vec_push(r->own_changed, r->n_own_changed, r->cap_own_changed, *dst))
		r->own_lost = true;
}

/* ---- destination records ---- */

static struct dest *dest_get(struct rec *r, const struct prefix *p, bool create)
{
	struct prefix key = *p;
	struct dest *d;

	prefix_normalise(&key);
	d = ptrie_get(r->dests, &key);
	if (d || !create)
		return d;
	d = dest_alloc(&r->pool);
	if (!d)
		return NULL;
	d->dst = key;
	if (ptrie_set(r->dests, &key, d) < 0) {
		dest_release(&r->pool, d);
		return NULL;
	}
	return d;
}

static void dest_free(struct rec *r, struct dest *d)
{
	r->n_conflicts -= !!(d->flags & DF_CONFLICT);
	r->n_filtered -= !!(d->flags & DF_FILTERED);
	r->n_over -= !!(d->flags & DF_OVER);
	ptrie_del(r->dests, &d->dst);
	dest_release(&r->pool, d);
}

/* Frees d when nothing refers to it any more and no pass will visit it. */
static void maybe_free(struct rec *r, struct dest *d)
{
	if (dest_empty(r, d) && !(d->flags & DF_DIRTY))
		dest_free(r, d);
}

/* ---- displaced holders (conflict: learned-wins) ---- */

static const struct wg_key *displaced_get(const struct rec *r, const struct dest *d)
{
	return d->flags & DF_DISPLACED ? ptrie_get(r->displaced, &d->dst) : NULL;
}

/* The present peer a learned-wins take displaced, or NULL. */
static const struct peer *displaced_peer(const struct rec *r, const struct dest *d)
{
	const struct wg_key *k = displaced_get(r, d);

	return k ? peers_find(&r->peers, k) : NULL;
}

static int displaced_set(struct rec *r, struct dest *d, const struct wg_key *k)
{
	struct wg_key *v = ptrie_get(r->displaced, &d->dst);

	if (!v) {
		v = malloc(sizeof(*v));
		if (!v || ptrie_set(r->displaced, &d->dst, v) < 0) {
			free(v);
			return -ENOMEM;
		}
	}
	*v = *k;
	own_note(r, &d->dst);
	if (!(d->flags & DF_DISPLACED)) {
		d->flags |= DF_DISPLACED;
		mark_gw_users_within(r, &d->dst); /* cryptokey owners, see below */
	}
	return 0;
}

static void displaced_clear(struct rec *r, struct dest *d)
{
	if (!(d->flags & DF_DISPLACED))
		return;
	free(ptrie_del(r->displaced, &d->dst));
	d->flags &= ~DF_DISPLACED;
	own_note(r, &d->dst);
	mark_gw_users_within(r, &d->dst);
}

/* ---- holdings: which peer has the prefix in its AllowedIPs ---- */

/* The one place a holding changes, so that counters, ownership and the
 * cryptokey dependencies stay right. */
static void set_holding(struct rec *r, struct dest *d, uint32_t holder, bool learned)
{
	uint32_t old = d->holder, old_static = static_holder(d);
	bool was_learned = d->flags & DF_LEARNED;

	if (old == holder && was_learned == learned)
		return;
	if (old != holder) {
		if (old)
			r->wg_fp -= wg_fp_entry(peers_get(&r->peers, old)->fp, &d->dst);
		if (holder)
			r->wg_fp +=
				wg_fp_entry(peers_get(&r->peers, holder)->fp, &d->dst);
	}
	r->n_held += (holder != 0) - (old != 0);
	if (old != holder && old)
		peers_get(&r->peers, old)->n_held--;
	if (old != holder && holder)
		peers_get(&r->peers, holder)->n_held++;
	if (was_learned) {
		peers_get(&r->peers, old)->n_learned--;
		r->n_learned--;
		own_note(r, &d->dst);
	}
	if (learned) {
		peers_get(&r->peers, holder)->n_learned++;
		r->n_learned++;
		own_note(r, &d->dst);
		d->flags |= DF_LEARNED;
	} else {
		d->flags &= ~DF_LEARNED;
		displaced_clear(r, d);
	}
	d->holder = holder;
	if (static_holder(d) != old_static)
		mark_gw_users_within(r, &d->dst);
}

/* Ends D2_UNSEEN_ROUTE; true when it was set. */
static bool unhold(struct dest *d)
{
	bool held = d->flags2 & D2_UNSEEN_ROUTE;

	d->flags2 &= (uint8_t)~D2_UNSEEN_ROUTE;
	return held;
}

static void set_seen(struct dest *d, bool parity)
{
	d->flags = (uint8_t)((d->flags & ~DF_SEEN) | (parity ? DF_SEEN : 0));
}

static bool seen_is(const struct dest *d, bool parity)
{
	return !!(d->flags & DF_SEEN) == parity;
}

/* ---- routes of a destination ---- */

static bool rroute_uses(const struct rroute *rt, const struct gw *g)
{
	struct gw *const *v = rroute_gws(rt);

	for (unsigned i = 0; i < rroute_nh_count(rt); i++)
		if (v[i] == g)
			return true;
	return false;
}

static bool dest_uses(struct dest *d, const struct gw *g)
{
	struct rroute *v = dest_routes(d);

	for (unsigned i = 0; i < d->n_routes; i++)
		if (rroute_uses(&v[i], g))
			return true;
	return false;
}

/* Gives up d's use of the gateways in v that no stored route of d uses. */
static void release_gw_array(struct rec *r, struct dest *d, struct gw *const *v,
			     unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bool earlier = false;

		if (!v[i])
			continue;
		for (unsigned j = 0; j < i && !earlier; j++)
			earlier = v[j] == v[i];
		if (!earlier && !dest_uses(d, v[i]))
			gw_unuse(r->gws, v[i], d);
	}
}

static void release_gws(struct rec *r, struct dest *d, const struct rroute *rt)
{
	release_gw_array(r, d, rroute_gws(rt), rroute_nh_count(rt));
}

static void rroute_free_hops(struct rroute *rt)
{
	if (rroute_nh_count(rt) > 1)
		free(rt->gw.many);
}

/* Builds the stored form of a route: its next hops through the interface
 * (at most RN_COUNT), each gateway registered as used by d. */
static int rroute_build(struct rec *r, struct dest *d, uint32_t metric, uint8_t tos,
			uint8_t protocol, uint8_t type, const struct knexthop *hops,
			size_t n_hops, struct rroute *out)
{
	unsigned n = 0, j = 0;
	bool all_ours = n_hops > 0;
	struct gw **v;

	for (size_t i = 0; i < n_hops; i++) {
		if (hops[i].oif != r->ifindex)
			all_ours = false;
		else if (hops[i].gw.family && !prefix_valid(&hops[i].gw))
			return -EINVAL;
		else
			n++;
	}
	if (n > RN_COUNT)
		n = RN_COUNT;
	memset(out, 0, sizeof(*out));
	out->metric = metric;
	out->tos = tos;
	out->protocol = protocol;
	out->type = (uint8_t)((type > RT_TYPE ? RT_TYPE : type) |
			      (r->dumping ? RT_DUMPED : 0));
	v = n > 1 ? calloc(n, sizeof(*v)) : &out->gw.one;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n_hops && j < n; i++) {
		struct gw *g = NULL;

		if (hops[i].oif != r->ifindex)
			continue;
		if (hops[i].gw.family && !(g = gw_use(r->gws, &hops[i].gw, d))) {
			release_gw_array(r, d, v, j);
			if (n > 1)
				free(v);
			return -ENOMEM;
		}
		v[j++] = g;
	}
	if (n > 1)
		out->gw.many = v;
	all_ours =
		all_ours && protocol == r->s.route_protocol && type == ROUTE_TYPE_UNICAST;
	out->nh =
		(uint8_t)(n | (r->route_parity ? RN_SEEN : 0) | (all_ours ? RN_OURS : 0));
	return 0;
}

static bool rroute_same(const struct rroute *a, const struct rroute *b)
{
	if (a->protocol != b->protocol || (a->type & RT_TYPE) != (b->type & RT_TYPE) ||
	    (a->nh & (RN_COUNT | RN_OURS)) != (b->nh & (RN_COUNT | RN_OURS)))
		return false;
	return !memcmp(rroute_gws(a), rroute_gws(b),
		       rroute_nh_count(a) * sizeof(struct gw *));
}

static int route_find(struct dest *d, uint8_t tos, uint32_t metric)
{
	struct rroute *v = dest_routes(d);

	for (unsigned i = 0; i < d->n_routes; i++)
		if (v[i].tos == tos && v[i].metric == metric)
			return (int)i;
	return -1;
}

static void count_route(struct rec *r, const struct rroute *rt, int sign)
{
	r->n_routes += (size_t)sign;
	if (rt->nh & RN_OURS)
		r->n_ours += (size_t)sign;
}

static int route_append(struct rec *r, struct dest *d, const struct rroute *nr)
{
	if (d->n_routes == 0) {
		d->r.one = *nr;
	} else if (d->n_routes == 1) {
		struct rroute *v = malloc(2 * sizeof(*v));

		if (!v)
			return -ENOMEM;
		v[0] = d->r.one;
		v[1] = *nr;
		d->r.many = v;
	} else {
		/* Exactly sized, not vec.h's doubling: a destination rarely has
		 * more than two routes, and there are a million of them. */
		struct rroute *v = realloc(d->r.many, (d->n_routes + 1u) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		v[d->n_routes] = *nr;
		d->r.many = v;
	}
	d->n_routes++;
	count_route(r, nr, +1);
	return 0;
}

/* Takes route i out of d and gives up what it held. */
static void route_remove_at(struct rec *r, struct dest *d, unsigned i)
{
	struct rroute gone = dest_routes(d)[i];

	if (d->n_routes == 1) {
		d->n_routes = 0;
	} else if (d->n_routes == 2) {
		struct rroute keep = d->r.many[1 - i];

		free(d->r.many);
		d->r.one = keep;
		d->n_routes = 1;
	} else {
		memmove(&d->r.many[i], &d->r.many[i + 1],
			(d->n_routes - i - 1u) * sizeof(*d->r.many));
		d->n_routes--;
	}
	count_route(r, &gone, -1);
	release_gws(r, d, &gone);
	rroute_free_hops(&gone);
}

/* Stores nr (ownership of its hops passes to d). Returns 1 when the model
 * changed, 0 when an identical route was there already. */
static int route_store(struct rec *r, struct dest *d, struct rroute *nr)
{
	int i = route_find(d, nr->tos, nr->metric);

	if (i >= 0) {
		struct rroute *old = &dest_routes(d)[i];
		struct rroute gone = *old;

		if (rroute_same(old, nr)) {
			/* The same route twice in one dump: the kernel walked
			 * part of the table again, and may have skipped some. */
			if (old->type & nr->type & RT_DUMPED)
				r->dump_doubled = true;
			old->nh = (uint8_t)((old->nh & ~RN_SEEN) | (nr->nh & RN_SEEN));
			old->type |= nr->type & RT_DUMPED;
			rroute_free_hops(nr);
			return 0;
		}
		count_route(r, old, -1);
		*old = *nr;
		count_route(r, old, +1);
		release_gws(r, d, &gone);
		rroute_free_hops(&gone);
		return 1;
	}
	if (route_append(r, d, nr) < 0) {
		struct rroute tmp = *nr;

		release_gws(r, d, &tmp);
		rroute_free_hops(&tmp);
		return -ENOMEM;
	}
	return 1;
}

static void dest_drop_routes(struct rec *r, struct dest *d)
{
	while (d->n_routes)
		route_remove_at(r, d, d->n_routes - 1u);
}

/* ---- peers and their gateways ---- */

static const struct peer_gateways *explicit_for(const struct settings *s,
						const struct wg_key *k)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (!wg_key_cmp(&s->peers[i].key, k))
			return &s->peers[i];
	return NULL;
}

static bool listed_before(const struct prefix *v, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (prefix_equal(&v[j], &v[i]))
			return true;
	return false;
}

static void claim_one(struct rec *r, struct peer *p, const struct prefix *addr,
		      enum gw_strength s)
{
	char a[PREFIX_STRLEN], k[WG_KEY_B64_LEN];
	int ret = gw_claim(r->gws, addr, s, p->id);

	if (ret == 1)
		warnf(r,
		      "gateway %s is claimed by more than one peer (%s, latest %s): "
		      "routes via it are ignored until only one claims it",
		      addr_format(addr, a), s == GW_EXPLICIT ? "explicit" : "derived",
		      key_b64(&p->key, k));
	else if (ret < 0)
		r->all_dirty = true;
	mark_gw_users(r, addr);
}

static int claim_gateways(struct rec *r, struct peer *p)
{
	p->explicit_gws = explicit_for(&r->s, &p->key);
	if (p->explicit_gws)
		for (size_t i = 0; i < p->explicit_gws->n_gateways; i++)
			if (!listed_before(p->explicit_gws->gateways, i))
				claim_one(r, p, &p->explicit_gws->gateways[i],
					  GW_EXPLICIT);
	free(p->derived);
	p->derived = NULL;
	p->n_derived = 0;
	if (!r->s.n_prefixes)
		return 0;
	p->derived = calloc(r->s.n_prefixes, sizeof(*p->derived));
	if (!p->derived)
		return -ENOMEM;
	for (size_t i = 0; i < r->s.n_prefixes; i++) {
		if (derive_address(&p->key, &r->s.prefixes[i], &p->derived[p->n_derived]))
			continue;
		if (listed_before(p->derived, p->n_derived))
			continue;
		claim_one(r, p, &p->derived[p->n_derived++], GW_DERIVED);
	}
	return 0;
}

static void unclaim_gateways(struct rec *r, struct peer *p)
{
	if (p->explicit_gws)
		for (size_t i = 0; i < p->explicit_gws->n_gateways; i++) {
			gw_unclaim(r->gws, &p->explicit_gws->gateways[i], GW_EXPLICIT,
				   p->id);
			mark_gw_users(r, &p->explicit_gws->gateways[i]);
		}
	for (size_t i = 0; i < p->n_derived; i++) {
		gw_unclaim(r->gws, &p->derived[i], GW_DERIVED, p->id);
		mark_gw_users(r, &p->derived[i]);
	}
	p->explicit_gws = NULL;
	free(p->derived);
	p->derived = NULL;
	p->n_derived = 0;
}

static int forget_cand(const struct prefix *key, void *value, void *ctx)
{
	struct dest *d = value;

	(void)key;
	d->cand = 0;
	d->flags &= ~DF_INLIMIT;
	mark(ctx, d);
	return 0;
}

static void drop_cands(struct rec *r, struct peer *p)
{
	if (!p->cands)
		return;
	ptrie_walk(p->cands, forget_cand, r);
	ptrie_free(p->cands, NULL);
	p->cands = NULL;
}

/* Every destination, in prefix order (a snapshot, so that the trie may be
 * changed while the list is used). */
struct dest_list {
	struct dest **v;
	size_t n, cap;
};

struct forget_walk {
	struct rec *r;
	const struct wg_key *key;
	struct dest_list *hits;
};

static int dest_list_push(struct dest_list *l, struct dest *d);

static int find_displaced_by(const struct prefix *key, void *value, void *ctx)
{
	struct forget_walk *w = ctx;

	if (wg_key_cmp(value, w->key))
		return 0;
	return dest_list_push(w->hits, ptrie_get(w->r->dests, key));
}

/* A peer that goes loses its claim to prefixes taken from it: if it comes
 * back, it is a new peer with the AllowedIPs it is given then. */
static void forget_displaced(struct rec *r, const struct wg_key *key)
{
	struct dest_list hits = {0};
	struct forget_walk w = {r, key, &hits};

	if (!ptrie_count(r->displaced))
		return;
	if (ptrie_walk(r->displaced, find_displaced_by, &w) < 0)
		r->all_dirty = true;
	for (size_t i = 0; i < hits.n; i++) {
		displaced_clear(r, hits.v[i]);
		mark(r, hits.v[i]);
	}
	free(hits.v);
}

static void peer_remove(struct rec *r, struct peer *p)
{
	forget_displaced(r, &p->key);
	unclaim_gateways(r, p);
	drop_cands(r, p);
	r->wg_fp -= p->fp;
	peers_del(&r->peers, p);
}

/* ---- construction ---- */

struct rec *rec_new(const struct settings *s, int ifindex)
{
	struct rec *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	peers_init(&r->peers);
	r->ifindex = ifindex;
	r->all_dirty = true;
	r->dests = ptrie_new();
	r->displaced = ptrie_new();
	r->orphans = ptrie_new();
	r->gws = gw_table_new();
	if (!r->dests || !r->displaced || !r->orphans || !r->gws ||
	    settings_copy(&r->s, s) < 0) {
		rec_free(r);
		return NULL;
	}
	return r;
}

static int free_dest_value(const struct prefix *key, void *value, void *ctx)
{
	struct dest *d = value;

	(void)key;
	(void)ctx;
	if (d->n_routes > 1) {
		for (unsigned i = 0; i < d->n_routes; i++)
			rroute_free_hops(&d->r.many[i]);
		free(d->r.many);
	} else if (d->n_routes == 1) {
		rroute_free_hops(&d->r.one);
	}
	return 0;
}

void rec_free(struct rec *r)
{
	if (!r)
		return;
	if (r->dests) {
		ptrie_walk(r->dests, free_dest_value, NULL);
		ptrie_free(r->dests, NULL);
	}
	dest_pool_free(&r->pool);
	ptrie_free(r->displaced, free);
	ptrie_free(r->orphans, free);
	gw_table_free(r->gws);
	peers_free(&r->peers);
	free(r->dirty);
	free(r->addrs);
	free(r->pending_own);
	free(r->own_changed);
	settings_free(&r->s);
	free(r);
}

void rec_set_warn(struct rec *r, rec_warn_fn fn, void *ctx)
{
	r->warn = fn;
	r->warn_ctx = ctx;
}

static int dest_list_push(struct dest_list *l, struct dest *d)
{
	return vec_push(l->v, l->n, l->cap, d);
}

static int collect_dest(const struct prefix *key, void *value, void *ctx)
{
	(void)key;
	return dest_list_push(ctx, value);
}

static int all_dests(const struct rec *r, struct dest_list *l)
{
	memset(l, 0, sizeof(*l));
	if (ptrie_walk(r->dests, collect_dest, l)) {
		free(l->v);
		return -ENOMEM;
	}
	return 0;
}

static void spec_of(const struct rec *r, const struct dest *d, const struct rroute *rt,
		    struct route_spec *s);

/* Remembers our routes of d as orphans (to be deleted by the next pass). */
static int keep_orphans(struct rec *r, struct dest *d)
{
	const struct rroute *v = dest_routes(d);
	struct orphans *o = orphans_of(r, d), *grown;
	size_t have = o ? o->n : 0, n = 0;

	for (unsigned i = 0; i < d->n_routes; i++)
		n += !!(v[i].nh & RN_OURS);
	if (!n)
		return 0;
	grown = realloc(o, sizeof(*o) + (have + n) * sizeof(o->v[0]));
	if (!grown)
		return -ENOMEM;
	grown->n = have;
	for (unsigned i = 0; i < d->n_routes; i++)
		if (v[i].nh & RN_OURS)
			spec_of(r, d, &v[i], &grown->v[grown->n++]);
	if (ptrie_set(r->orphans, &d->dst, grown) < 0) {
		if (!o)
			free(grown);
		return -ENOMEM;
	}
	return 0;
}

/* Routes of the old table or protocol are meaningless now: ours among them
 * are deleted by the next pass; the caller dumps the routes again. */
static int drop_all_routes(struct rec *r)
{
	struct dest_list l;
	int ret = 0;

	if (all_dests(r, &l) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < l.n; i++) {
		if (keep_orphans(r, l.v[i]) < 0)
			ret = -ENOMEM;
		dest_drop_routes(r, l.v[i]);
		unhold(l.v[i]);
		maybe_free(r, l.v[i]);
	}
	free(l.v);
	/* Until a complete dump of the new table, absence means nothing. */
	r->routes_confirmed = false;
	r->routes_tentative = false;
	return ret;
}

static void drop_all_cands(struct rec *r)
{
	for (uint32_t id = 1; id < r->peers.next_id; id++) {
		struct peer *p = peers_get(&r->peers, id);

		if (p)
			drop_cands(r, p);
	}
}

int rec_set_settings(struct rec *r, const struct settings *s)
{
	struct settings fresh;
	bool routes_stale;

	if (settings_copy(&fresh, s) < 0)
		return -ENOMEM;
	routes_stale = fresh.routing_table != r->s.routing_table ||
		       fresh.route_protocol != r->s.route_protocol;
	mark_all(r);
	/* Orphans are described in the old table and protocol. */
	if (routes_stale && drop_all_routes(r) < 0) {
		settings_free(&fresh);
		return -ENOMEM;
	}
	drop_all_cands(r);
	/* Claims point into the settings: release them before the swap. */
	for (uint32_t id = 1; id < r->peers.next_id; id++) {
		struct peer *p = peers_get(&r->peers, id);

		if (p)
			unclaim_gateways(r, p);
	}
	settings_free(&r->s);
	r->s = fresh;
	for (uint32_t id = 1; id < r->peers.next_id; id++) {
		struct peer *p = peers_get(&r->peers, id);

		if (p && claim_gateways(r, p) < 0)
			return -ENOMEM;
	}
	return 0;
}

int rec_set_addresses(struct rec *r, const struct prefix *addrs, size_t n)
{
	struct prefix *v = NULL;

	if (n) {
		v = malloc(n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, addrs, n * sizeof(*v));
	}
	free(r->addrs);
	r->addrs = v;
	r->n_addrs = n;
	mark_all(r);
	return 0;
}

/* ---- WireGuard snapshots ---- */

static void apply_own(struct rec *r, const struct own_entry *e)
{
	struct peer *p = peers_find(&r->peers, &e->peer);
	struct dest *d = dest_get(r, &e->dst, false);

	if (!p || !d || d->holder != p->id) {
		/* Gone while we were away: the file must forget it. */
		own_note(r, &e->dst);
		return;
	}
	set_holding(r, d, p->id, true);
	if (!wg_key_is_zero(&e->displaced) && peers_find(&r->peers, &e->displaced) &&
	    displaced_set(r, d, &e->displaced) < 0)
		r->all_dirty = true;
	mark(r, d);
}

static void apply_pending_own(struct rec *r)
{
	for (size_t i = 0; i < r->n_pending_own; i++)
		apply_own(r, &r->pending_own[i]);
	free(r->pending_own);
	r->pending_own = NULL;
	r->n_pending_own = r->cap_pending_own = 0;
}

static int sweep_unseen(const struct prefix *key, void *value, void *ctx)
{
	struct rec *r = ctx;
	struct dest *d = value;

	(void)key;
	if (d->holder && !seen_is(d, r->wg_parity)) {
		const struct wg_key *k = displaced_get(r, d);
		struct wg_key give_back = k ? *k : (struct wg_key){{0}};
		const struct peer *y = k ? peers_find(&r->peers, k) : NULL;
		bool holder_went = !peers_get(&r->peers, d->holder)->seen;

		set_holding(r, d, 0, false);
		/* A learned-wins take whose holder went: the static holder it
		 * displaced, if still there, gets it back in the next pass.
		 * Removed from a holder that is still there, it was taken out
		 * on purpose, and the claim of the displaced holder with it. */
		if (holder_went && y && y->seen && displaced_set(r, d, &give_back) < 0)
			r->all_dirty = true;
		mark(r, d);
	}
	return 0;
}

/* Peers of the snapshot get records (and claim their gateways). */
static int snapshot_peers(struct rec *r, const struct wg_device *dev, struct peer **ps)
{
	for (uint32_t id = 1; id < r->peers.next_id; id++) {
		struct peer *p = peers_get(&r->peers, id);

		if (p)
			p->seen = false;
	}
	for (size_t i = 0; i < dev->n_peers; i++) {
		struct peer *p = peers_find(&r->peers, &dev->peers[i].key);

		if (!p) {
			p = peers_add(&r->peers, &dev->peers[i].key);
			if (!p)
				return -ENOMEM;
			p->fp = wg_fp_peer(&p->key);
			r->wg_fp += p->fp;
			if (claim_gateways(r, p) < 0)
				return -ENOMEM;
		}
		p->seen = true;
		ps[i] = p;
	}
	return 0;
}

int rec_set_wg(struct rec *r, const struct wg_device *dev)
{
	size_t held_before = r->n_held, matched = 0;
	bool sweep = false;
	struct peer **ps;
	int ret = 0;

	for (size_t i = 0; i < dev->n_peers; i++)
		for (size_t j = 0; j < dev->peers[i].n_allowed; j++)
			if (!prefix_valid(&dev->peers[i].allowed[j]))
				return -EINVAL;
	ps = calloc(dev->n_peers + 1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ret = snapshot_peers(r, dev, ps);
	if (ret < 0)
		goto out;
	r->wg_parity = !r->wg_parity;
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *wp = &dev->peers[i];

		for (size_t j = 0; j < wp->n_allowed; j++) {
			struct dest *d = dest_get(r, &wp->allowed[j], true);

			if (!d) {
				ret = -ENOMEM;
				goto out;
			}
			if (seen_is(d, r->wg_parity)) {
				/* Listed twice (no WireGuard does that): the
				 * later listing stands, and counts are off. */
				sweep = true;
				if (d->holder != ps[i]->id) {
					set_holding(r, d, 0, false);
					set_holding(r, d, ps[i]->id, false);
					mark(r, d);
				}
				continue;
			}
			set_seen(d, r->wg_parity);
			if (d->holder == ps[i]->id) {
				matched++;
				continue;
			}
			/* Changed behind our back: whatever it is now, it is
			 * not ours. */
			set_holding(r, d, 0, false);
			set_holding(r, d, ps[i]->id, false);
			mark(r, d);
		}
	}
	if (sweep || matched != held_before)
		ptrie_walk(r->dests, sweep_unseen, r);
	for (uint32_t id = 1; id < r->peers.next_id; id++) {
		struct peer *p = peers_get(&r->peers, id);

		if (p && !p->seen)
			peer_remove(r, p);
	}
	r->have_wg = true;
	apply_pending_own(r);
out:
	free(ps);
	if (ret < 0)
		r->all_dirty = true;
	return ret;
}

bool rec_wg_unchanged(const struct rec *r, const struct wg_device *dev)
{
	return r->have_wg && wg_device_fingerprint(dev) == r->wg_fp;
}

bool rec_wg_fingerprint(const struct rec *r, uint64_t *fp)
{
	*fp = r->wg_fp;
	return r->have_wg;
}

/* ---- ownership ---- */

int rec_own_load(struct rec *r, const struct own_entry *e, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!prefix_valid(&e[i].dst))
			return -EINVAL;
	if (r->have_wg) {
		for (size_t i = 0; i < n; i++)
			apply_own(r, &e[i]);
		return 0;
	}
	if (vec_reserve(r->pending_own, r->cap_pending_own, r->n_pending_own + n))
		return -ENOMEM;
	memcpy(r->pending_own + r->n_pending_own, e, n * sizeof(*e));
	r->n_pending_own += n;
	return 0;
}

void rec_own_pending(const struct rec *r, const struct own_entry **v, size_t *n)
{
	*v = r->pending_own;
	*n = r->n_pending_own;
}

struct own_walk {
	const struct rec *r;
	struct own_entry *v;
	size_t n;
};

static void own_entry_of(const struct rec *r, const struct dest *d, struct own_entry *e)
{
	const struct wg_key *disp = displaced_get(r, d);

	e->peer = peers_get(&r->peers, d->holder)->key;
	e->dst = d->dst;
	memset(&e->displaced, 0, sizeof(e->displaced));
	if (disp)
		e->displaced = *disp;
}

static int export_own(const struct prefix *key, void *value, void *ctx)
{
	struct own_walk *w = ctx;
	struct dest *d = value;

	(void)key;
	if (!(d->flags & DF_LEARNED))
		return 0;
	own_entry_of(w->r, d, &w->v[w->n++]);
	return 0;
}

static int cmp_own(const void *a, const void *b)
{
	const struct own_entry *x = a, *y = b;
	int c = wg_key_cmp(&x->peer, &y->peer);

	return c ? c : prefix_cmp(&x->dst, &y->dst);
}

int rec_own_export(const struct rec *r, struct own_entry **out, size_t *n)
{
	struct own_walk w = {r, NULL, 0};

	w.v = calloc(r->n_learned + 1, sizeof(*w.v));
	if (!w.v)
		return -ENOMEM;
	ptrie_walk(r->dests, export_own, &w);
	qsort(w.v, w.n, sizeof(*w.v), cmp_own);
	*out = w.v;
	*n = w.n;
	return 0;
}

bool rec_own_intent(const struct rec *r, const struct change *c, struct own_entry *out)
{
	const struct peer *p;
	const struct dest *d;
	const struct wg_key *k;
	uint32_t was;

	if (c->op != CHANGE_ALLOWED_ADD || !c->learned)
		return false;
	memset(out, 0, sizeof(*out));
	out->peer = c->peer;
	out->dst = c->dst;
	prefix_normalise(&out->dst);
	d = ptrie_get(r->dests, &out->dst);
	if (!d)
		return true;
	/* As commit_allowed_add: a static holder other than the peer is
	 * displaced; a learned prefix moving on keeps the one it had. */
	p = peers_find(&r->peers, &c->peer);
	was = static_holder(d);
	if (was && (!p || was != p->id))
		out->displaced = peers_get(&r->peers, was)->key;
	else if (!was && (k = displaced_get(r, d)))
		out->displaced = *k;
	return true;
}

static void own_changes_clear(struct rec *r)
{
	r->own_dirty = false;
	r->own_lost = false;
	r->n_own_changed = 0;
	/* A storm's list can be large: do not keep it for the quiet times. */
	if (r->cap_own_changed > 4096) {
		free(r->own_changed);
		r->own_changed = NULL;
		r->cap_own_changed = 0;
	}
}

bool rec_own_take_dirty(struct rec *r)
{
	bool d = r->own_dirty;

	own_changes_clear(r);
	return d;
}

int rec_own_take_changes(struct rec *r, struct own_change **out, size_t *n)
{
	struct own_change *v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (r->own_lost)
		return -ENOBUFS;
	if (!r->n_own_changed) {
		own_changes_clear(r);
		return 0;
	}
	v = malloc(r->n_own_changed * sizeof(*v));
	if (!v)
		return -ENOMEM;
	qsort(r->own_changed, r->n_own_changed, sizeof(*r->own_changed), prefix_cmp_void);
	for (size_t i = 0; i < r->n_own_changed; i++) {
		const struct prefix *p = &r->own_changed[i];
		struct dest *d;

		if (i && prefix_equal(p, &r->own_changed[i - 1]))
			continue;
		d = dest_get(r, p, false);
		memset(&v[k], 0, sizeof(v[k]));
		v[k].owned = d && (d->flags & DF_LEARNED);
		if (v[k].owned)
			own_entry_of(r, d, &v[k].e);
		else
			v[k].e.dst = *p;
		k++;
	}
	own_changes_clear(r);
	*out = v;
	*n = k;
	return 0;
}

/* ---- route events ---- */

static bool route_in_scope(const struct rec *r, const struct kroute *rt)
{
	return rt->table == r->s.routing_table && prefix_valid(&rt->dst);
}

int rec_route_upsert(struct rec *r, const struct kroute *rt)
{
	struct rroute nr;
	struct dest *d;
	int ret;

	if (!route_in_scope(r, rt))
		return 0;
	d = dest_get(r, &rt->dst, true);
	if (!d)
		return -ENOMEM;
	ret = rroute_build(r, d, rt->metric, rt->tos, rt->protocol, rt->type,
			   rt->nexthops, rt->n_nexthops, &nr);
	if (ret == 0)
		ret = route_store(r, d, &nr);
	if (ret >= 0 && unhold(d))
		ret = 1;
	if (ret > 0)
		mark(r, d);
	else
		maybe_free(r, d);
	return ret < 0 ? ret : 0;
}

int rec_route_remove(struct rec *r, const struct kroute *rt)
{
	struct dest *d;
	int i;

	if (!route_in_scope(r, rt))
		return 0;
	d = dest_get(r, &rt->dst, false);
	if (!d)
		return 0;
	if (unhold(d))
		mark(r, d);
	i = route_find(d, rt->tos, rt->metric);
	if (i < 0)
		return 0;
	route_remove_at(r, d, (unsigned)i);
	mark(r, d);
	return 0;
}

void rec_routes_begin(struct rec *r)
{
	/* After a tentative dump, this one adds to what that one saw. */
	if (!r->routes_tentative)
		r->route_parity = !r->route_parity;
	r->dumping = true;
	r->dump_doubled = false;
}

bool rec_routes_doubled(const struct rec *r)
{
	return r->dump_doubled;
}

struct sweep {
	struct rec *r;
	bool remove; /* what no dump since the last complete one saw */
};

static int sweep_routes(const struct prefix *key, void *value, void *ctx)
{
	struct sweep *w = ctx;
	struct rec *r = w->r;
	struct dest *d = value;
	bool changed = false;

	(void)key;
	for (unsigned i = d->n_routes; i-- > 0;) {
		struct rroute *rt = &dest_routes(d)[i];

		rt->type &= (uint8_t)~RT_DUMPED;
		if (w->remove && !!(rt->nh & RN_SEEN) != r->route_parity) {
			route_remove_at(r, d, i);
			changed = true;
		}
	}
	/* The dump showed whatever refused our add. */
	if (w->remove && unhold(d))
		changed = true;
	if (changed)
		mark(r, d);
	return 0;
}

static void routes_end(struct rec *r, bool complete)
{
	struct sweep w = {r, complete};

	/* Sweeping cannot free records, so the trie may be walked. */
	ptrie_walk(r->dests, sweep_routes, &w);
	r->dumping = false;
	r->routes_tentative = !complete;
	if (complete)
		r->routes_confirmed = true;
}

int rec_routes_end(struct rec *r)
{
	routes_end(r, true);
	return 0;
}

void rec_routes_end_tentative(struct rec *r)
{
	routes_end(r, false);
}

bool rec_routes_confirmed(const struct rec *r)
{
	return r->routes_confirmed;
}

void rec_routes_doubt(struct rec *r)
{
	r->routes_confirmed = false;
	/* What earlier dumps saw may have gone without an event we heard. */
	r->routes_tentative = false;
}

/* ---- evaluation ---- */

/* The peer that holds addr by longest-prefix match over static AllowedIPs.
 * A prefix that learned-wins took from its static holder still counts as
 * that holder's here: otherwise taking a prefix could change the owner of
 * the gateways of the very routes that took it, and the rules would feed
 * back on themselves with no fixed point (tests/unit/test_property.c finds
 * such cycles). This way only the operator changes cryptokey owners. */
static uint32_t cryptokey_owner(const struct rec *r, const struct prefix *addr)
{
	struct prefix p = *addr, match;
	struct dest *d;

	while ((d = ptrie_lpm(r->dests, &p, &match)) != NULL) {
		const struct peer *y = displaced_peer(r, d);

		if (static_holder(d))
			return d->holder;
		if (y)
			return y->id;
		if (match.len == 0)
			return 0;
		p = prefix_truncate(&match, match.len - 1u);
	}
	return 0;
}

static uint32_t gw_peer(const struct rec *r, const struct gw *g)
{
	uint32_t owner;

	if (!g)
		return 0;
	owner = gw_owner(g);
	if (owner == GW_PEER_AMBIGUOUS)
		return 0;
	if (owner != GW_PEER_NONE)
		return owner;
	return cryptokey_owner(r, gw_addr(g));
}

/* The peer the best qualifying route names (docs/spec.md 3.2), or 0. */
static uint32_t route_winner(const struct rec *r, struct dest *d)
{
	const struct rroute *v = dest_routes(d), *best = NULL;
	uint32_t best_peer = 0;

	for (unsigned i = 0; i < d->n_routes; i++) {
		const struct rroute *rt = &v[i];
		struct gw *const *gws = rroute_gws(rt);
		uint32_t peer = 0;

		if ((rt->nh & RN_OURS) || (rt->type & RT_TYPE) != ROUTE_TYPE_UNICAST ||
		    !settings_learns_protocol(&r->s, rt->protocol))
			continue;
		if (best && (rt->metric > best->metric ||
			     (rt->metric == best->metric && rt->tos > best->tos)))
			continue;
		for (unsigned j = 0; j < rroute_nh_count(rt) && !peer; j++)
			peer = gw_peer(r, gws[j]);
		if (peer) {
			best = rt;
			best_peer = peer;
		}
	}
	return best_peer;
}

/* Where the destination should be learned before max_learned_prefixes, or
 * 0; *why gets DF_FILTERED or DF_CONFLICT when that is the reason. */
static uint32_t learn_target(const struct rec *r, struct dest *d, uint8_t *why,
			     uint32_t *winner)
{
	uint32_t w = route_winner(r, d);

	*why = 0;
	if (winner)
		*winner = w;
	if (!w)
		return 0;
	if (!settings_filter_permits(&r->s, &d->dst)) {
		*why = DF_FILTERED;
		return 0;
	}
	if ((d->flags & DF_LEARNED) || (!d->holder && (d->flags & DF_DISPLACED))) {
		const struct peer *y = displaced_peer(r, d);

		/* Taken from y under learned-wins: y gets it back, as its static
		 * AllowedIP, when the route names y again ... */
		if (y && y->id == w)
			return 0;
		/* ... or when learned-wins is no longer the policy. */
		if (y && r->s.conflict == CONFLICT_STATIC_WINS) {
			*why = DF_CONFLICT;
			return 0;
		}
	}
	if (!d->holder || (d->flags & DF_LEARNED))
		return w;
	if (d->holder == w)
		return 0; /* already a static AllowedIP of w */
	if (r->s.conflict == CONFLICT_LEARNED_WINS)
		return w;
	*why = DF_CONFLICT;
	return 0;
}

/* The peer whose static claim on d stands in the way (a conflict). */
static const struct peer *static_claimant(const struct rec *r, const struct dest *d)
{
	return static_holder(d) ? peers_get(&r->peers, d->holder) : displaced_peer(r, d);
}

static void note_why(struct rec *r, struct dest *d, uint8_t why, uint32_t winner)
{
	static const uint8_t kinds = DF_CONFLICT | DF_FILTERED | DF_OVER;
	uint8_t was = d->flags & kinds;
	const struct peer *w = peers_get(&r->peers, winner), *x = static_claimant(r, d);
	char p[PREFIX_STRLEN], a[WG_KEY_B64_LEN], b[WG_KEY_B64_LEN];

	if (was == why)
		return;
	r->n_conflicts += !!(why & DF_CONFLICT) - !!(was & DF_CONFLICT);
	r->n_filtered += !!(why & DF_FILTERED) - !!(was & DF_FILTERED);
	r->n_over += !!(why & DF_OVER) - !!(was & DF_OVER);
	d->flags = (uint8_t)((d->flags & ~kinds) | why);
	if (!r->warn || !w)
		return;
	if ((why & DF_CONFLICT) && x)
		warnf(r,
		      "conflict: %s is a static AllowedIP of peer %s; the route via peer "
		      "%s "
		      "does not take it (conflict: static-wins)",
		      prefix_format(&d->dst, p), key_b64(&x->key, a),
		      key_b64(&w->key, b));
	if (why & DF_OVER)
		warnf(r, "peer %s is at max_learned_prefixes (%u): %s not learned",
		      key_b64(&w->key, a), r->s.max_learned_prefixes,
		      prefix_format(&d->dst, p));
}

static bool gw_usable(const struct rec *r, const struct prefix *g)
{
	if (g->family == AF_INET6 && addr_is_link_local(g))
		return true;
	for (size_t i = 0; i < r->n_addrs; i++)
		if (prefix_contains(&r->addrs[i], g))
			return true;
	return false;
}

static bool is_gateway_host(const struct prefix *dst, const struct prefix *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (prefix_equal(dst, &v[i]))
			return true;
	return false;
}

static bool has_family(const struct prefix *v, size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family)
			return true;
	return false;
}

static const struct prefix *first_usable(const struct rec *r, const struct prefix *v,
					 size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family && gw_usable(r, &v[i]))
			return &v[i];
	return NULL;
}

/* The gateway of an installed route (docs/spec.md 4.4): the peer's gateways
 * of the destination's family, explicit before derived; for an IPv4
 * destination of a peer with only IPv6 gateways, those. Of these the first
 * the kernel can reach through the interface; none if none can. */
static struct prefix install_gateway(const struct rec *r, const struct peer *p,
				     const struct prefix *dst)
{
	const struct prefix *ex = p->explicit_gws ? p->explicit_gws->gateways : NULL;
	size_t n_ex = p->explicit_gws ? p->explicit_gws->n_gateways : 0;
	int family = dst->family;
	const struct prefix *g;
	struct prefix none = {0};

	if (prefix_is_host(dst) && (is_gateway_host(dst, ex, n_ex) ||
				    is_gateway_host(dst, p->derived, p->n_derived)))
		return none;
	if (family == AF_INET && !has_family(ex, n_ex, AF_INET) &&
	    !has_family(p->derived, p->n_derived, AF_INET))
		family = AF_INET6;
	g = first_usable(r, ex, n_ex, family);
	if (!g)
		g = first_usable(r, p->derived, p->n_derived, family);
	return g ? *g : none;
}

static bool has_foreign_route(struct dest *d)
{
	const struct rroute *v = dest_routes(d);

	for (unsigned i = 0; i < d->n_routes; i++)
		if (!(v[i].nh & RN_OURS))
			return true;
	return false;
}

static void spec_of(const struct rec *r, const struct dest *d, const struct rroute *rt,
		    struct route_spec *s)
{
	struct gw *const *gws = rroute_gws(rt);

	memset(s, 0, sizeof(*s));
	s->dst = d->dst;
	s->table = r->s.routing_table;
	s->protocol = rt->protocol;
	s->tos = rt->tos;
	s->metric = rt->metric;
	s->oif = r->ifindex;
	if (rroute_nh_count(rt) && gws[0])
		s->gw = *gw_addr(gws[0]);
}

static bool rroute_is(const struct rroute *rt, const struct route_spec *s)
{
	struct gw *const *gws = rroute_gws(rt);

	if (rt->tos != s->tos || rt->metric != s->metric || rroute_nh_count(rt) != 1)
		return false;
	if (!gws[0])
		return s->gw.family == 0;
	return s->gw.family && prefix_equal(gw_addr(gws[0]), &s->gw);
}

static int push(struct change_list *out, enum change_op op, const struct prefix *dst,
		const struct wg_key *peer, bool learned, const struct route_spec *route)
{
	struct change c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.dst = *dst;
	if (peer)
		c.peer = *peer;
	c.learned = learned;
	if (route)
		c.route = *route;
	return change_list_push(out, &c);
}

/* Linux stores an IPv6 route asked for with metric 0 at 1024
 * (IP6_RT_PRIO_USER) and reports it so: that is the metric our route has. */
static uint32_t route_metric_of(const struct rec *r, const struct prefix *dst)
{
	return dst->family == AF_INET6 && r->s.route_metric == 0 ? 1024
								 : r->s.route_metric;
}

/* The route changes that make our routes for d what (holder, learned)
 * wants. */
static int plan_routes(const struct rec *r, struct dest *d, uint32_t holder, bool learned,
		       struct change_list *out)
{
	const struct rroute *v = dest_routes(d);
	struct route_spec want, s;
	bool wanted = holder && !learned && r->s.install_routes &&
		      !has_foreign_route(d) && !(d->flags2 & D2_UNSEEN_ROUTE) &&
		      (d->dst.len > 0 || r->s.install_default_routes);
	const struct orphans *o = orphans_of(r, d);
	bool have = false;
	int ret;

	for (size_t i = 0; o && i < o->n; i++) {
		ret = push(out, CHANGE_ROUTE_DEL, &d->dst, NULL, false, &o->v[i]);
		if (ret < 0)
			return ret;
	}
	if (wanted) {
		memset(&want, 0, sizeof(want));
		want.dst = d->dst;
		want.table = r->s.routing_table;
		want.protocol = r->s.route_protocol;
		want.metric = route_metric_of(r, &d->dst);
		want.oif = r->ifindex;
		want.gw = install_gateway(r, peers_get(&r->peers, holder), &d->dst);
	}
	for (unsigned i = 0; i < d->n_routes; i++) {
		if (!(v[i].nh & RN_OURS))
			continue;
		if (wanted && rroute_is(&v[i], &want)) {
			have = true;
			continue;
		}
		/* Same identity: the add below replaces it, and only because
		 * this route is ours may it (a foreign one is never replaced). */
		if (wanted && v[i].tos == want.tos && v[i].metric == want.metric) {
			want.replace = true;
			continue;
		}
		spec_of(r, d, &v[i], &s);
		ret = push(out, CHANGE_ROUTE_DEL, &d->dst, NULL, false, &s);
		if (ret < 0)
			return ret;
	}
	if (wanted && !have)
		return push(out, CHANGE_ROUTE_ADD, &d->dst, NULL, false, &want);
	return 0;
}

static int evaluate(struct rec *r, struct dest *d, struct change_list *out)
{
	uint32_t h = d->holder, target, winner;
	bool learned = d->flags & DF_LEARNED;
	uint8_t why;
	int ret = 0;

	target = learn_target(r, d, &why, &winner);
	if (target && r->s.max_learned_prefixes && !(d->flags & DF_INLIMIT)) {
		why = DF_OVER;
		target = 0;
	}
	note_why(r, d, why, winner);
	if (target) {
		if (h != target || !learned) {
			ret = push(out, CHANGE_ALLOWED_ADD, &d->dst,
				   &peers_get(&r->peers, target)->key, true, NULL);
			h = target;
			learned = true;
		}
	} else if ((h && learned) || (!h && (d->flags & DF_DISPLACED))) {
		const struct peer *y = displaced_peer(r, d);

		if (!h && !y) {
			displaced_clear(r, d); /* its static holder went too */
		} else if (y) {
			ret = push(out, CHANGE_ALLOWED_ADD, &d->dst, &y->key, false,
				   NULL);
			h = y->id;
		} else {
			ret = push(out, CHANGE_ALLOWED_DEL, &d->dst,
				   &peers_get(&r->peers, h)->key, false, NULL);
			h = 0;
		}
		learned = false;
	}
	return ret < 0 ? ret : plan_routes(r, d, h, learned, out);
}

/* ---- max_learned_prefixes: the first K candidates in prefix order ---- */

struct rank_walk {
	struct rec *r;
	uint32_t limit, i;
};

static int rank_cand(const struct prefix *key, void *value, void *ctx)
{
	struct rank_walk *w = ctx;
	struct dest *d = value;
	bool in = w->i++ < w->limit;

	(void)key;
	if (in != !!(d->flags & DF_INLIMIT)) {
		d->flags ^= DF_INLIMIT;
		mark(w->r, d);
	}
	return 0;
}

static int update_cands(struct rec *r, struct dest **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct dest *d = v[i];
		uint8_t why;
		uint32_t t = learn_target(r, d, &why, NULL);
		struct peer *p;

		if (t == d->cand)
			continue;
		if (d->cand) {
			p = peers_get(&r->peers, d->cand);
			ptrie_del(p->cands, &d->dst);
			p->cands_changed = true;
			d->flags &= ~DF_INLIMIT;
		}
		d->cand = t;
		if (!t)
			continue;
		p = peers_get(&r->peers, t);
		if (!p->cands && !(p->cands = ptrie_new()))
			return -ENOMEM;
		if (ptrie_set(p->cands, &d->dst, d) < 0)
			return -ENOMEM;
		p->cands_changed = true;
	}
	for (uint32_t id = 1; id < r->peers.next_id; id++) {
		struct peer *p = peers_get(&r->peers, id);
		struct rank_walk w = {r, r->s.max_learned_prefixes, 0};

		if (!p || !p->cands_changed)
			continue;
		p->cands_changed = false;
		ptrie_walk(p->cands, rank_cand, &w);
	}
	return 0;
}

/* ---- passes ---- */

static int cmp_dest(const void *a, const void *b)
{
	const struct dest *x = *(const struct dest *const *)a;
	const struct dest *y = *(const struct dest *const *)b;

	return prefix_cmp(&x->dst, &y->dst);
}

static int evaluate_list(struct rec *r, struct dest **v, size_t n,
			 struct change_list *out)
{
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		struct dest *d = v[i];

		d->flags &= ~DF_DIRTY;
		if (ret == 0)
			ret = evaluate(r, d, out);
		if (ret < 0)
			r->all_dirty = true;
		maybe_free(r, d);
	}
	return ret;
}

int rec_pass(struct rec *r, bool full, struct change_list *out)
{
	struct dest_list l;
	int ret;

	if (!full && !r->all_dirty) {
		if (r->s.max_learned_prefixes &&
		    update_cands(r, r->dirty, r->n_dirty) < 0) {
			r->all_dirty = true;
			return -ENOMEM;
		}
		if (r->n_dirty) /* qsort must not see the NULL of an empty list */
			qsort(r->dirty, r->n_dirty, sizeof(*r->dirty), cmp_dest);
		ret = evaluate_list(r, r->dirty, r->n_dirty, out);
		r->n_dirty = 0;
		return ret;
	}
	if (all_dests(r, &l) < 0)
		return -ENOMEM;
	r->all_dirty = false;
	if (r->s.max_learned_prefixes && update_cands(r, l.v, l.n) < 0) {
		free(l.v);
		r->all_dirty = true;
		return -ENOMEM;
	}
	/* Everything is evaluated below, the marked ones included. */
	for (size_t i = 0; i < r->n_dirty; i++)
		r->dirty[i]->flags &= ~DF_DIRTY;
	r->n_dirty = 0;
	ret = evaluate_list(r, l.v, l.n, out);
	free(l.v);
	return ret;
}

int rec_teardown(struct rec *r, struct change_list *out)
{
	struct dest_list l;
	int ret = 0;

	if (all_dests(r, &l) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < l.n && ret == 0; i++) {
		struct dest *d = l.v[i];

		if (d->flags & DF_LEARNED) {
			const struct peer *y = displaced_peer(r, d);

			ret = y ? push(out, CHANGE_ALLOWED_ADD, &d->dst, &y->key, false,
				       NULL)
				: push(out, CHANGE_ALLOWED_DEL, &d->dst,
				       &peers_get(&r->peers, d->holder)->key, false,
				       NULL);
		}
		if (ret == 0)
			ret = plan_routes(r, d, 0, false, out);
	}
	free(l.v);
	return ret;
}

/* ---- results of applied changes ---- */

static int commit_allowed_add(struct rec *r, const struct change *c)
{
	struct peer *p = peers_find(&r->peers, &c->peer);
	struct dest *d;
	uint32_t was = 0;

	if (!p)
		return -ENOENT;
	d = dest_get(r, &c->dst, true);
	if (!d)
		return -ENOMEM;
	was = static_holder(d);
	if (c->learned && was && was != p->id &&
	    displaced_set(r, d, &peers_get(&r->peers, was)->key) < 0)
		return -ENOMEM;
	set_holding(r, d, p->id, c->learned);
	/* As if the last snapshot had it: the next one must list it. */
	set_seen(d, r->wg_parity);
	return 0;
}

static int commit_allowed_del(struct rec *r, const struct change *c)
{
	struct peer *p = peers_find(&r->peers, &c->peer);
	struct dest *d = dest_get(r, &c->dst, false);

	if (!p || !d || d->holder != p->id)
		return 0;
	set_holding(r, d, 0, false);
	maybe_free(r, d);
	return 0;
}

static void forget_orphan(struct rec *r, struct dest *d, const struct route_spec *s)
{
	struct orphans *o = orphans_of(r, d);

	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].table != s->table || o->v[i].protocol != s->protocol ||
		    o->v[i].tos != s->tos || o->v[i].metric != s->metric)
			continue;
		o->v[i] = o->v[--o->n];
		break;
	}
	if (!o->n)
		free(ptrie_del(r->orphans, &d->dst));
}

static int commit_route(struct rec *r, const struct change *c)
{
	const struct route_spec *s = &c->route;
	struct dest *d = dest_get(r, &s->dst, c->op == CHANGE_ROUTE_ADD);
	struct knexthop hop = {s->gw, s->oif};
	struct rroute nr;
	int ret, i;

	if (c->op == CHANGE_ROUTE_DEL && d && orphans_of(r, d))
		forget_orphan(r, d, s);
	if (s->table != r->s.routing_table || s->protocol != r->s.route_protocol || !d) {
		if (d)
			maybe_free(r, d);
		return d || c->op == CHANGE_ROUTE_DEL ? 0 : -ENOMEM;
	}
	if (c->op == CHANGE_ROUTE_DEL) {
		i = route_find(d, s->tos, s->metric);
		if (i >= 0)
			route_remove_at(r, d, (unsigned)i);
		maybe_free(r, d);
		return 0;
	}
	ret = rroute_build(r, d, s->metric, s->tos, s->protocol, ROUTE_TYPE_UNICAST, &hop,
			   1, &nr);
	if (ret == 0)
		ret = route_store(r, d, &nr);
	return ret < 0 ? ret : 0;
}

/* Pending ownership of dst (own_if_made) is settled by a change that
 * worked. */
static void drop_pending_own(struct rec *r, const struct prefix *dst)
{
	for (size_t i = 0; i < r->n_pending_own;)
		if (prefix_equal(&r->pending_own[i].dst, dst))
			r->pending_own[i] = r->pending_own[--r->n_pending_own];
		else
			i++;
}

/* A learned addition that failed may have been made all the same: a reply
 * lost with its connection, a request applied in part (WireGuard applies
 * a request as it reads it). Should the next read of the device show the
 * peer holding the prefix, it is ours, as if the state file said so
 * (spec 6.4); else the entry is dropped. Without this, the prefix would be
 * taken for static, and stay when its route goes. */
static void own_if_made(struct rec *r, const struct change *c)
{
	struct own_entry e = {.peer = c->peer, .dst = c->dst};
	struct dest *d = dest_get(r, &c->dst, false);
	const struct wg_key *disp = d ? displaced_get(r, d) : NULL;

	if (d && static_holder(d))
		e.displaced = peers_get(&r->peers, static_holder(d))->key;
	else if (disp)
		e.displaced = *disp;
	if (!wg_key_cmp(&e.displaced, &e.peer))
		memset(&e.displaced, 0, sizeof(e.displaced));
	drop_pending_own(r, &c->dst);
	/* Out of memory: taken for static, as before. */
	(void)vec_push(r->pending_own, r->n_pending_own, r->cap_pending_own, e);
}

int rec_commit(struct rec *r, const struct change *c)
{
	if (!prefix_valid(&c->dst))
		return -EINVAL;
	if (r->n_pending_own)
		drop_pending_own(r, &c->dst);
	switch (c->op) {
	case CHANGE_ALLOWED_ADD:
		return commit_allowed_add(r, c);
	case CHANGE_ALLOWED_DEL:
		return commit_allowed_del(r, c);
	case CHANGE_ROUTE_ADD:
	case CHANGE_ROUTE_DEL:
		return commit_route(r, c);
	}
	return -EINVAL;
}

bool rec_fail(struct rec *r, const struct change *c, int err)
{
	/* Only a route the model missed makes an exclusive add fail so: try
	 * again once it is known (a route event, or a complete dump), not at
	 * every pass. */
	bool unseen = c->op == CHANGE_ROUTE_ADD && err == -EEXIST &&
		      c->route.table == r->s.routing_table;
	struct dest *d;

	if (c->op == CHANGE_ALLOWED_ADD && c->learned && r->have_wg &&
	    peers_find(&r->peers, &c->peer) && prefix_valid(&c->dst))
		own_if_made(r, c);
	d = dest_get(r, &c->dst, false);
	if (!d) {
		r->all_dirty = true;
		return unseen;
	}
	if (unseen)
		d->flags2 |= D2_UNSEEN_ROUTE;
	mark(r, d);
	return unseen;
}

/* ---- introspection ---- */

void rec_get_stats(const struct rec *r, struct rec_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->peers = r->peers.count;
	st->allowed_ips = r->n_held;
	st->learned = r->n_learned;
	st->routes = r->n_routes;
	st->installed = r->n_ours;
	st->conflicts = r->n_conflicts;
	st->ambiguous_gateways = gw_ambiguous_count(r->gws);
	st->over_limit = r->n_over;
	st->filtered = r->n_filtered;
}

int rec_get_peer_stats(const struct rec *r, struct rec_peer_stats **out, size_t *n)
{
	*n = 0;
	*out = calloc(r->peers.count ? r->peers.count : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (uint32_t id = 1; id < r->peers.next_id; id++) {
		const struct peer *p = peers_get(&r->peers, id);

		if (!p)
			continue;
		(*out)[*n] = (struct rec_peer_stats){
			.key = p->key,
			.allowed_ips = p->n_held,
			.learned = p->n_learned,
		};
		(*n)++;
	}
	return 0;
}

size_t rec_memory(const struct rec *r)
{
	return sizeof(*r) + ptrie_memory(r->dests) + dest_pool_memory(&r->pool) +
	       gw_table_memory(r->gws) + peers_memory(&r->peers) +
	       ptrie_memory(r->displaced) + r->cap_dirty * sizeof(*r->dirty) +
	       r->n_addrs * sizeof(*r->addrs);
}
