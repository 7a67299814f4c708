/* sync.c: one round for one interface (sync.h). A round may take more than
 * one pass: applying a change can make other destinations dirty (a learned
 * prefix taken from a static holder changes cryptokey owners), and the round
 * goes on until nothing is dirty, so that one round converges. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

/* Passes per round; more means the rules feed back on themselves, and the
 * rest waits for the next round instead of spinning. */
#define MAX_PASSES 8

/* Route changes of a destination whose AllowedIP change failed would act on
 * a state that did not happen: they wait for the next pass. */
static void cancel_dependents(const struct change *ch, size_t n, int *err)
{
	const struct prefix *failed = NULL;

	for (size_t i = 0; i < n; i++) {
		if (change_is_allowed(&ch[i])) {
			if (err[i])
				failed = &ch[i].dst;
		} else if (failed && prefix_equal(failed, &ch[i].dst)) {
			err[i] = -ECANCELED;
		}
	}
}

typedef int (*apply_fn)(void *ctx, const struct change *ch, size_t n, int *err);

struct wg_target {
	struct wg_backend *wg;
	const char *ifname;
};

static int apply_wg(void *ctx, const struct change *ch, size_t n, int *err)
{
	struct wg_target *t = ctx;

	return t->wg->apply(t->wg, t->ifname, ch, n, err);
}

static int apply_rt(void *ctx, const struct change *ch, size_t n, int *err)
{
	struct route_backend *rt = ctx;

	return rt->apply(rt, ch, n, err);
}

/* Applies the changes of one kind (AllowedIP or route) that have no error
 * yet, as one list; a backend sets err[] for every entry it is given, so
 * the list is a copy whenever it would hold others. */
static int apply_kind(apply_fn fn, void *ctx, bool allowed, const struct change *ch,
		      size_t n, int *err)
{
	struct change *sel;
	size_t *idx, k = 0;
	int *sel_err, ret = 0;

	for (size_t i = 0; i < n; i++)
		k += change_is_allowed(&ch[i]) == allowed && !err[i];
	if (!k)
		return 0; /* a learn storm's rounds have no route changes */
	if (k == n)
		return fn(ctx, ch, n, err);
	sel = malloc(k * sizeof(*sel));
	idx = malloc(k * sizeof(*idx));
	sel_err = calloc(k, sizeof(*sel_err));
	if (!sel || !idx || !sel_err) {
		ret = -ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (change_is_allowed(&ch[i]) == allowed && !err[i])
				err[i] = ret;
		goto out;
	}
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (change_is_allowed(&ch[i]) != allowed || err[i])
			continue;
		sel[k] = ch[i];
		idx[k++] = i;
	}
	ret = fn(ctx, sel, k, sel_err);
	for (size_t j = 0; j < k; j++)
		err[idx[j]] = sel_err[j];
out:
	free(sel);
	free(idx);
	free(sel_err);
	return ret;
}

/* The write-ahead: the entries the learned adds of l will own go to the
 * caller's record first; if it fails, those adds fail with its error. */
static void record_intents(struct rec *r, const struct sync_intents *intents,
			   const struct change_list *l, int *err)
{
	struct own_entry *v;
	size_t n = 0;
	int ret;

	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].op == CHANGE_ALLOWED_ADD && l->v[i].learned;
	if (!n)
		return;
	v = malloc(n * sizeof(*v));
	n = 0;
	for (size_t i = 0; v && i < l->n; i++)
		n += rec_own_intent(r, &l->v[i], &v[n]);
	ret = v ? intents->record(intents->ctx, v, n) : -ENOMEM;
	free(v);
	for (size_t i = 0; ret && i < l->n; i++)
		if (l->v[i].op == CHANGE_ALLOWED_ADD && l->v[i].learned)
			err[i] = ret;
}

static int apply_and_commit(struct rec *r, struct wg_backend *wg,
			    struct route_backend *rt, const char *ifname,
			    const struct change_list *l,
			    const struct sync_intents *intents, struct sync_result *res)
{
	int *err = calloc(l->n + 1, sizeof(*err));
	struct wg_target target = {wg, ifname};
	int first = 0;

	if (!err)
		return -ENOMEM;
	if (intents)
		record_intents(r, intents, l, err);
	apply_kind(apply_wg, &target, true, l->v, l->n, err);
	cancel_dependents(l->v, l->n, err);
	apply_kind(apply_rt, rt, false, l->v, l->n, err);
	for (size_t i = 0; i < l->n; i++) {
		int ret;

		/* A route to delete that is gone already: done. */
		if (l->v[i].op == CHANGE_ROUTE_DEL && err[i] == -ESRCH)
			err[i] = 0;
		ret = err[i] ? err[i] : rec_commit(r, &l->v[i]);

		if (ret) {
			if (rec_fail(r, &l->v[i], ret))
				res->unseen_routes++;
			res->failed++;
			if (!first)
				first = ret;
		} else {
			res->applied++;
		}
	}
	free(err);
	return first;
}

static int append_all(struct change_list *plan, const struct change_list *l)
{
	for (size_t i = 0; plan && i < l->n; i++)
		if (change_list_push(plan, &l->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

int sync_round(struct rec *r, struct wg_backend *wg, struct route_backend *rt,
	       const char *ifname, bool full, bool dry_run, struct change_list *plan,
	       const struct sync_intents *intents, struct sync_result *res)
{
	struct change_list l = {0};
	struct sync_result local = {0};
	int ret = 0;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		change_list_clear(&l);
		ret = rec_pass(r, full && pass == 0, &l);
		res->planned += l.n;
		if (ret < 0 || append_all(plan, &l) < 0) {
			ret = ret < 0 ? ret : -ENOMEM;
			break;
		}
		if (dry_run || l.n == 0)
			break;
		ret = apply_and_commit(r, wg, rt, ifname, &l, intents, res);
		if (ret)
			break; /* the failed ones are dirty: the next round retries */
	}
	change_list_free(&l);
	return ret;
}
