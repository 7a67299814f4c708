/* test_backend_log.c: the logging backends say every change, but no more
 * than BACKEND_LOG_LINES lines a second per interface, and summarise the
 * rest at most once a second, whatever the size of the rounds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_fake.h"
#include "backend_log.h"
#include "testutil.h"

#define IF "wg0"

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

struct env {
	struct fake_world *w;
	struct wg_backend *wg;
	struct route_backend *rt;
	struct backend_log bl;
	struct wg_key peer;
	struct log_capture log;
	unsigned next;
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->w = fake_world_new();
	assert_non_null(e->w);
	assert_int_equal(fake_wg_add_device(e->w, IF, NULL), 0);
	e->peer = key_n(1);
	assert_int_equal(fake_wg_add_peer(e->w, IF, &e->peer), 0);
	e->wg = fake_wg_backend(e->w);
	e->rt = fake_route_backend(e->w);
	backend_log_init(&e->bl, e->wg, e->rt, IF, NULL, 0, NULL);
	e->bl.clock_ms = fake_clock;
	log_capture_start(&e->log);
}

static void env_free(struct env *e)
{
	log_capture_stop(&e->log);
	backend_log_free(&e->bl);
	e->wg->destroy(e->wg);
	e->rt->destroy(e->rt);
	fake_world_free(e->w);
}

/* One round of n AllowedIP additions, all applied. */
static void round_of(struct env *e, size_t n)
{
	struct change *ch = calloc(n, sizeof(*ch));
	int *err = calloc(n, sizeof(*err));
	char text[PREFIX_STRLEN];

	assert_true(ch && err);
	for (size_t i = 0; i < n; i++) {
		unsigned k = e->next++;

		snprintf(text, sizeof(text), "2001:db8:%x:%x::/64", k >> 16, k & 0xffff);
		ch[i].op = CHANGE_ALLOWED_ADD;
		ch[i].dst = P(text);
		ch[i].peer = e->peer;
		ch[i].learned = true;
	}
	assert_int_equal(e->bl.wg.apply(&e->bl.wg, IF, ch, n, err), 0);
	backend_log_round_end(&e->bl);
	free(ch);
	free(err);
}

/* Lines of the log so far that contain what; the log is then emptied. */
static void count_lines(struct env *e, size_t *changes, size_t *summaries,
			size_t *summarised)
{
	char line[512];

	fflush(stderr);
	rewind(e->log.f);
	*changes = *summaries = *summarised = 0;
	while (fgets(line, sizeof(line), e->log.f)) {
		const char *more = strstr(line, ": and ");

		if (strstr(line, "allowed-ip add"))
			(*changes)++;
		if (more) {
			(*summaries)++;
			*summarised += strtoul(more + 6, NULL, 10);
		}
	}
	log_capture_clear(&e->log);
}

static void test_lines_per_second(void **state)
{
	struct env e;
	size_t changes, summaries, summarised;

	(void)state;
	env_init(&e);
	fake_now = 100000;
	/* A big round: the budget, then one summary. */
	round_of(&e, 150);
	count_lines(&e, &changes, &summaries, &summarised);
	assert_int_equal(changes, BACKEND_LOG_LINES);
	assert_int_equal(summaries, 1);
	assert_int_equal(summarised, 50);
	/* Many small rounds within the same second: nothing more is said. */
	for (int i = 0; i < 40; i++) {
		fake_now += 10;
		round_of(&e, 5);
	}
	count_lines(&e, &changes, &summaries, &summarised);
	assert_int_equal(changes, 0);
	assert_int_equal(summaries, 0);
	/* The next second: its budget, and the summary of what was held. */
	fake_now += BACKEND_LOG_WINDOW_MS;
	round_of(&e, 3);
	count_lines(&e, &changes, &summaries, &summarised);
	assert_int_equal(changes, 3);
	assert_int_equal(summaries, 1);
	assert_int_equal(summarised, 200);
	/* Quiet rounds say nothing; every change was said or counted once. */
	fake_now += BACKEND_LOG_WINDOW_MS;
	round_of(&e, 0);
	count_lines(&e, &changes, &summaries, &summarised);
	assert_int_equal(changes + summaries, 0);
	env_free(&e);
}

/* Every change is counted by kind, applied or failed, whether its line was
 * said or not (the metrics of `status --prometheus`). */
static void test_changes_counted_by_kind(void **state)
{
	struct change del = {.op = CHANGE_ROUTE_DEL, .dst = P("2001:db8:9::/48")};
	struct change bad = {.op = CHANGE_ALLOWED_DEL, .dst = P("2001:db8:8::/48")};
	struct env e;
	int err = 0;

	(void)state;
	env_init(&e);
	fake_now = 200000;
	round_of(&e, 150); /* 100 lines said, 50 counted in a summary */
	assert_int_equal(e.bl.applied[CHANGE_ALLOWED_ADD], 150);
	assert_int_equal(e.bl.failed[CHANGE_ALLOWED_ADD], 0);
	/* Deleting a route that is gone already (ESRCH) counts as done, as the
	 * daemon takes it; an AllowedIP of a peer that is not there fails. */
	del.route.dst = del.dst;
	e.bl.rt.apply(&e.bl.rt, &del, 1, &err);
	assert_int_equal(err, -ESRCH);
	bad.peer = key_n(99);
	e.bl.wg.apply(&e.bl.wg, IF, &bad, 1, &err);
	assert_int_not_equal(err, 0);
	backend_log_round_end(&e.bl);
	assert_int_equal(e.bl.applied[CHANGE_ROUTE_DEL], 1);
	assert_int_equal(e.bl.failed[CHANGE_ROUTE_DEL], 0);
	assert_int_equal(e.bl.failed[CHANGE_ALLOWED_DEL], 1);
	assert_int_equal(e.bl.applied[CHANGE_ROUTE_ADD] + e.bl.failed[CHANGE_ROUTE_ADD],
			 0);
	assert_int_equal(e.bl.applied[CHANGE_ALLOWED_DEL], 0);
	env_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_per_second),
		cmocka_unit_test(test_changes_counted_by_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
