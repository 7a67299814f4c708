/* backend_fake.c: the in-memory world of backend_fake.h. Sized for the
 * benchmarks too: an AllowedIP is found through a per-device trie, a route
 * through a per-table trie, so every operation is O(prefix length). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend_fake.h"
#include "vec.h"
#include "prefix_trie.h"

struct fake_peer {
	struct wg_key key;
	size_t n_allowed; /* entries of the device trie naming this peer */
	size_t pos;	  /* its index while fake_wg_get runs */
};

struct fake_dev {
	char name[32];
	struct wg_key pubkey;
	struct fake_peer **peers; /* in the order they were added */
	size_t n_peers, cap_peers;
	struct ptrie *allowed; /* prefix -> struct fake_peer * */
};

/* All routes of one table with one destination. */
struct fake_dst {
	size_t n, cap;
	struct kroute *v; /* nexthops owned */
};

struct fake_table {
	uint32_t id;
	struct ptrie *dsts; /* prefix -> struct fake_dst * */
};

struct fake_world {
	struct fake_dev **devs;
	size_t n_devs, cap_devs;
	struct fake_table *tables; /* sorted by id */
	size_t n_tables, cap_tables;
	size_t n_routes;
	size_t fail_n;
	int fail_err;
	int fail_op[CHANGE_ROUTE_DEL + 1]; /* persistent, per change op */
};

struct fake_wg {
	struct wg_backend b;
	struct fake_world *w;
};

struct fake_rt {
	struct route_backend b;
	struct fake_world *w;
};

struct fake_world *fake_world_new(void)
{
	return calloc(1, sizeof(struct fake_world));
}

static void dev_free(struct fake_dev *d)
{
	for (size_t i = 0; i < d->n_peers; i++)
		free(d->peers[i]);
	free(d->peers);
	ptrie_free(d->allowed, NULL);
	free(d);
}

static void dst_free(void *v)
{
	struct fake_dst *fd = v;

	for (size_t i = 0; i < fd->n; i++)
		free(fd->v[i].nexthops);
	free(fd->v);
	free(fd);
}

void fake_world_free(struct fake_world *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_devs; i++)
		dev_free(w->devs[i]);
	free(w->devs);
	for (size_t i = 0; i < w->n_tables; i++)
		ptrie_free(w->tables[i].dsts, dst_free);
	free(w->tables);
	free(w);
}

/* ---- devices ---- */

static struct fake_dev *dev_find(struct fake_world *w, const char *name, size_t *pos)
{
	for (size_t i = 0; i < w->n_devs; i++) {
		if (!strcmp(w->devs[i]->name, name)) {
			if (pos)
				*pos = i;
			return w->devs[i];
		}
	}
	return NULL;
}

static struct fake_peer *peer_find(const struct fake_dev *d, const struct wg_key *k,
				   size_t *pos)
{
	for (size_t i = 0; i < d->n_peers; i++) {
		if (!wg_key_cmp(&d->peers[i]->key, k)) {
			if (pos)
				*pos = i;
			return d->peers[i];
		}
	}
	return NULL;
}

int fake_wg_add_device(struct fake_world *w, const char *ifname,
		       const struct wg_key *pubkey)
{
	struct fake_dev *d;

	if (dev_find(w, ifname, NULL))
		return -EEXIST;
	if (strlen(ifname) >= sizeof(d->name))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d || vec_reserve(w->devs, w->cap_devs, w->n_devs + 1) ||
	    !(d->allowed = ptrie_new())) {
		free(d);
		return -ENOMEM;
	}
	strcpy(d->name, ifname);
	if (pubkey)
		d->pubkey = *pubkey;
	w->devs[w->n_devs++] = d;
	return 0;
}

int fake_wg_del_device(struct fake_world *w, const char *ifname)
{
	size_t pos;
	struct fake_dev *d = dev_find(w, ifname, &pos);

	if (!d)
		return -ENODEV;
	dev_free(d);
	memmove(&w->devs[pos], &w->devs[pos + 1],
		(w->n_devs - pos - 1) * sizeof(*w->devs));
	w->n_devs--;
	return 0;
}

int fake_wg_add_peer(struct fake_world *w, const char *ifname, const struct wg_key *key)
{
	struct fake_dev *d = dev_find(w, ifname, NULL);
	struct fake_peer *p;

	if (!d)
		return -ENODEV;
	if (peer_find(d, key, NULL))
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p || vec_reserve(d->peers, d->cap_peers, d->n_peers + 1)) {
		free(p);
		return -ENOMEM;
	}
	p->key = *key;
	d->peers[d->n_peers++] = p;
	return 0;
}

struct drop_walk {
	const struct fake_peer *p;
	size_t n;
	struct prefix *v;
};

static int collect_of_peer(const struct prefix *key, void *value, void *ctx)
{
	struct drop_walk *dw = ctx;

	if (value == dw->p)
		dw->v[dw->n++] = *key;
	return 0;
}

int fake_wg_del_peer(struct fake_world *w, const char *ifname, const struct wg_key *key)
{
	struct fake_dev *d = dev_find(w, ifname, NULL);
	struct fake_peer *p;
	struct drop_walk dw;
	size_t pos;

	if (!d)
		return -ENODEV;
	p = peer_find(d, key, &pos);
	if (!p)
		return -ENOENT;
	dw = (struct drop_walk){p, 0, calloc(p->n_allowed + 1, sizeof(struct prefix))};
	if (!dw.v)
		return -ENOMEM;
	ptrie_walk(d->allowed, collect_of_peer, &dw);
	for (size_t i = 0; i < dw.n; i++)
		ptrie_del(d->allowed, &dw.v[i]);
	free(dw.v);
	free(p);
	memmove(&d->peers[pos], &d->peers[pos + 1],
		(d->n_peers - pos - 1) * sizeof(*d->peers));
	d->n_peers--;
	return 0;
}

int fake_wg_allow(struct fake_world *w, const char *ifname, const struct wg_key *peer,
		  const struct prefix *dst)
{
	struct fake_dev *d = dev_find(w, ifname, NULL);
	struct fake_peer *p, *old;

	if (!d)
		return -ENODEV;
	p = peer_find(d, peer, NULL);
	if (!p)
		return -ENOENT;
	if (!prefix_family_bits(dst->family) ||
	    dst->len > prefix_family_bits(dst->family))
		return -EINVAL;
	old = ptrie_get(d->allowed, dst);
	if (old == p)
		return 0;
	if (ptrie_set(d->allowed, dst, p) < 0)
		return -ENOMEM;
	if (old)
		old->n_allowed--;
	p->n_allowed++;
	return 0;
}

int fake_wg_disallow(struct fake_world *w, const char *ifname, const struct wg_key *peer,
		     const struct prefix *dst)
{
	struct fake_dev *d = dev_find(w, ifname, NULL);
	struct fake_peer *p;

	if (!d)
		return -ENODEV;
	p = peer_find(d, peer, NULL);
	if (!p)
		return -ENOENT;
	if (ptrie_get(d->allowed, dst) != p)
		return 0;
	ptrie_del(d->allowed, dst);
	p->n_allowed--;
	return 0;
}

struct get_walk {
	const struct fake_dev *d;
	struct wg_device *dev;
};

static int append_allowed(const struct prefix *key, void *value, void *ctx)
{
	struct get_walk *g = ctx;
	size_t pos = ((struct fake_peer *)value)->pos;

	g->dev->peers[pos].allowed[g->dev->peers[pos].n_allowed++] = *key;
	return 0;
}

int fake_wg_get(struct fake_world *w, const char *ifname, struct wg_device *dev)
{
	struct fake_dev *d = dev_find(w, ifname, NULL);
	struct get_walk g = {d, dev};

	memset(dev, 0, sizeof(*dev));
	if (!d)
		return -ENODEV;
	dev->pubkey = d->pubkey;
	dev->peers = calloc(d->n_peers + 1, sizeof(*dev->peers));
	if (!dev->peers)
		return -ENOMEM;
	dev->n_peers = d->n_peers;
	for (size_t i = 0; i < d->n_peers; i++) {
		dev->peers[i].key = d->peers[i]->key;
		d->peers[i]->pos = i;
		dev->peers[i].allowed =
			calloc(d->peers[i]->n_allowed + 1, sizeof(struct prefix));
		if (!dev->peers[i].allowed) {
			wg_device_free(dev);
			return -ENOMEM;
		}
	}
	ptrie_walk(d->allowed, append_allowed, &g);
	return 0;
}

/* ---- routes ---- */

static struct fake_table *table_get(struct fake_world *w, uint32_t id, bool create)
{
	size_t i;
	struct fake_table *v;

	for (i = 0; i < w->n_tables && w->tables[i].id < id; i++)
		;
	if (i < w->n_tables && w->tables[i].id == id)
		return &w->tables[i];
	if (!create)
		return NULL;
	if (vec_reserve(w->tables, w->cap_tables, w->n_tables + 1))
		return NULL;
	v = w->tables;
	memmove(&v[i + 1], &v[i], (w->n_tables - i) * sizeof(*v));
	v[i].id = id;
	v[i].dsts = ptrie_new();
	if (!v[i].dsts) {
		memmove(&v[i], &v[i + 1], (w->n_tables - i) * sizeof(*v));
		return NULL;
	}
	w->n_tables++;
	return &v[i];
}

static int route_find(const struct fake_dst *fd, const struct kroute *rt)
{
	for (size_t i = 0; i < fd->n; i++)
		if (fd->v[i].tos == rt->tos && fd->v[i].metric == rt->metric)
			return (int)i;
	return -1;
}

static int copy_route(struct kroute *out, const struct kroute *rt)
{
	*out = *rt;
	prefix_normalise(&out->dst);
	out->nexthops = NULL;
	if (!rt->n_nexthops)
		return 0;
	out->nexthops = malloc(rt->n_nexthops * sizeof(*out->nexthops));
	if (!out->nexthops)
		return -ENOMEM;
	memcpy(out->nexthops, rt->nexthops, rt->n_nexthops * sizeof(*out->nexthops));
	return 0;
}

int fake_route_add(struct fake_world *w, const struct kroute *rt)
{
	struct fake_table *t;
	struct fake_dst *fd;
	struct kroute copy;
	int i;

	if (!prefix_family_bits(rt->dst.family) ||
	    rt->dst.len > prefix_family_bits(rt->dst.family))
		return -EINVAL;
	t = table_get(w, rt->table, true);
	if (!t || copy_route(&copy, rt) < 0)
		return -ENOMEM;
	fd = ptrie_get(t->dsts, &copy.dst);
	if (!fd) {
		fd = calloc(1, sizeof(*fd));
		if (!fd || ptrie_set(t->dsts, &copy.dst, fd) < 0) {
			free(fd);
			free(copy.nexthops);
			return -ENOMEM;
		}
	}
	i = route_find(fd, rt);
	if (i >= 0) {
		free(fd->v[i].nexthops);
		fd->v[i] = copy;
		return 0;
	}
	if (vec_push(fd->v, fd->n, fd->cap, copy)) {
		free(copy.nexthops);
		return -ENOMEM;
	}
	w->n_routes++;
	return 0;
}

int fake_route_del(struct fake_world *w, const struct kroute *rt)
{
	struct fake_table *t = table_get(w, rt->table, false);
	struct fake_dst *fd = t ? ptrie_get(t->dsts, &rt->dst) : NULL;
	int i = fd ? route_find(fd, rt) : -1;

	if (i < 0)
		return -ESRCH;
	free(fd->v[i].nexthops);
	memmove(&fd->v[i], &fd->v[i + 1], (fd->n - (size_t)i - 1) * sizeof(*fd->v));
	fd->n--;
	w->n_routes--;
	if (!fd->n)
		dst_free(ptrie_del(t->dsts, &rt->dst));
	return 0;
}

struct route_walk {
	kroute_fn fn;
	void *ctx;
};

static int visit_dst(const struct prefix *key, void *value, void *ctx)
{
	struct route_walk *rw = ctx;
	struct fake_dst *fd = value;

	(void)key;
	for (size_t i = 0; i < fd->n; i++) {
		int ret = rw->fn(&fd->v[i], rw->ctx);

		if (ret)
			return ret;
	}
	return 0;
}

int fake_route_walk(struct fake_world *w, uint32_t table, kroute_fn fn, void *ctx)
{
	struct route_walk rw = {fn, ctx};

	for (size_t i = 0; i < w->n_tables; i++) {
		int ret;

		if (table && w->tables[i].id != table)
			continue;
		ret = ptrie_walk(w->tables[i].dsts, visit_dst, &rw);
		if (ret)
			return ret;
	}
	return 0;
}

size_t fake_route_count(const struct fake_world *w)
{
	return w->n_routes;
}

/* ---- the backends ---- */

void fake_fail_next(struct fake_world *w, size_t n, int err)
{
	w->fail_n = n;
	w->fail_err = err;
}

void fake_fail_op(struct fake_world *w, enum change_op op, int err)
{
	w->fail_op[op] = err;
}

static int injected(struct fake_world *w, enum change_op op)
{
	if (w->fail_op[op])
		return w->fail_op[op];
	if (!w->fail_n)
		return 0;
	w->fail_n--;
	return w->fail_err;
}

static int fake_get(struct wg_backend *b, const char *ifname, struct wg_device *dev)
{
	struct fake_world *w = ((struct fake_wg *)b)->w;

	return fake_wg_get(w, ifname, dev);
}

static bool route_stands(struct fake_world *w, const struct kroute *rt)
{
	struct fake_table *t = table_get(w, rt->table, false);
	struct fake_dst *fd = t ? ptrie_get(t->dsts, &rt->dst) : NULL;

	return fd && route_find(fd, rt) >= 0;
}

/* One change: an AllowedIP of ifname, or a route. */
static int apply_one(struct fake_world *w, const char *ifname, const struct change *c)
{
	const struct route_spec *s = &c->route;
	struct knexthop hop = {s->gw, s->oif};
	struct kroute rt = {
		.dst = s->dst,
		.table = s->table,
		.protocol = s->protocol,
		.type = ROUTE_TYPE_UNICAST,
		.tos = s->tos,
		.metric = s->metric,
		.n_nexthops = 1,
		.nexthops = &hop,
	};

	switch (c->op) {
	case CHANGE_ALLOWED_ADD:
		return fake_wg_allow(w, ifname, &c->peer, &c->dst);
	case CHANGE_ALLOWED_DEL:
		return fake_wg_disallow(w, ifname, &c->peer, &c->dst);
	case CHANGE_ROUTE_ADD:
		/* As the kernel answers NLM_F_CREATE|NLM_F_EXCL. */
		prefix_normalise(&rt.dst);
		if (!s->replace && route_stands(w, &rt))
			return -EEXIST;
		return fake_route_add(w, &rt);
	case CHANGE_ROUTE_DEL:
		return fake_route_del(w, &rt);
	}
	return -EINVAL;
}

/* The changes of ch of one backend (allowed: the WireGuard one), each after
 * the injected failures; err[i] per change, the first error returned. */
static int apply_all(struct fake_world *w, const char *ifname, const struct change *ch,
		     size_t n, int *err, bool allowed)
{
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		int ret;

		if (change_is_allowed(&ch[i]) != allowed)
			continue;
		ret = injected(w, ch[i].op);
		if (!ret)
			ret = apply_one(w, ifname, &ch[i]);
		err[i] = ret;
		if (ret && !first)
			first = ret;
	}
	return first;
}

static int fake_wg_apply(struct wg_backend *b, const char *ifname,
			 const struct change *ch, size_t n, int *err)
{
	return apply_all(((struct fake_wg *)b)->w, ifname, ch, n, err, true);
}

static void fake_wg_destroy(struct wg_backend *b)
{
	free(b);
}

struct wg_backend *fake_wg_backend(struct fake_world *w)
{
	struct fake_wg *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->b = (struct wg_backend){.name = "fake",
				   .get = fake_get,
				   .apply = fake_wg_apply,
				   .destroy = fake_wg_destroy};
	f->w = w;
	return &f->b;
}

static int fake_dump(struct route_backend *b, uint32_t table, kroute_fn fn, void *ctx,
		     bool *torn)
{
	if (torn)
		*torn = false; /* nothing changes while a walk runs */
	return fake_route_walk(((struct fake_rt *)b)->w, table, fn, ctx);
}

static int fake_rt_apply(struct route_backend *b, const struct change *ch, size_t n,
			 int *err)
{
	return apply_all(((struct fake_rt *)b)->w, NULL, ch, n, err, false);
}

static void fake_rt_destroy(struct route_backend *b)
{
	free(b);
}

struct route_backend *fake_route_backend(struct fake_world *w)
{
	struct fake_rt *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->b = (struct route_backend){.name = "fake",
				      .dump = fake_dump,
				      .apply = fake_rt_apply,
				      .destroy = fake_rt_destroy};
	f->w = w;
	return &f->b;
}
