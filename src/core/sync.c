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

static bool is_allowed(const struct change *c)
{
	return c->op == CHANGE_ALLOWED_ADD || c->op == CHANGE_ALLOWED_DEL;
}

/* Route changes of a destination whose AllowedIP change failed would act on
 * a state that did not happen: they wait for the next pass. */
static void cancel_dependents(const struct change *ch, size_t n, int *err)
{
	const struct prefix *failed = NULL;

	for (size_t i = 0; i < n; i++) {
		if (is_allowed(&ch[i])) {
			if (err[i])
				failed = &ch[i].dst;
		} else if (failed && prefix_equal(failed, &ch[i].dst)) {
			err[i] = -ECANCELED;
		}
	}
}

static int apply_routes(struct route_backend *rt, const struct change *ch, size_t n,
			int *err)
{
	struct change *sel;
	size_t *idx, k = 0;
	int *sel_err, ret = 0;
	bool any = false;

	/* A learn storm's rounds have none: no allocations for them. */
	for (size_t i = 0; i < n && !any; i++)
		any = !is_allowed(&ch[i]) && !err[i];
	if (!any)
		return 0;
	sel = malloc((n + 1) * sizeof(*sel));
	idx = malloc((n + 1) * sizeof(*idx));
	sel_err = calloc(n + 1, sizeof(*sel_err));

	if (!sel || !idx || !sel_err) {
		ret = -ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (!is_allowed(&ch[i]) && !err[i])
				err[i] = ret;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (is_allowed(&ch[i]) || err[i])
			continue;
		sel[k] = ch[i];
		idx[k++] = i;
	}
	if (k)
		ret = rt->apply(rt, sel, k, sel_err);
	for (size_t j = 0; j < k; j++)
		err[idx[j]] = sel_err[j];
out:
	free(sel);
	free(idx);
	free(sel_err);
	return ret;
}

static int apply_and_commit(struct rec *r, struct wg_backend *wg,
			    struct route_backend *rt, const char *ifname,
			    const struct change_list *l, struct sync_result *res)
{
	int *err = calloc(l->n + 1, sizeof(*err));
	bool any_allowed = false;
	int first = 0;

	if (!err)
		return -ENOMEM;
	for (size_t i = 0; i < l->n && !any_allowed; i++)
		any_allowed = is_allowed(&l->v[i]);
	if (any_allowed)
		wg->apply(wg, ifname, l->v, l->n, err);
	cancel_dependents(l->v, l->n, err);
	apply_routes(rt, l->v, l->n, err);
	for (size_t i = 0; i < l->n; i++) {
		int ret;

		/* A route to delete that is gone already: done. */
		if (l->v[i].op == CHANGE_ROUTE_DEL && err[i] == -ESRCH)
			err[i] = 0;
		ret = err[i] ? err[i] : rec_commit(r, &l->v[i]);

		if (ret) {
			rec_fail(r, &l->v[i]);
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
	       struct sync_result *res)
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
		ret = apply_and_commit(r, wg, rt, ifname, &l, res);
		if (ret)
			break; /* the failed ones are dirty: the next round retries */
	}
	change_list_free(&l);
	return ret;
}
