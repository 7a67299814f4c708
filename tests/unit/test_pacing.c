/* test_pacing.c: when the next sync round may start (pacing.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pacing.h"

static void events(struct pacing *p, unsigned n)
{
	while (n--)
		pacing_event(p, true);
}

/* A round that began at start and ended at end. */
static void round_at(struct pacing *p, uint64_t start, uint64_t end)
{
	pacing_round_begin(p, start);
	pacing_round_end(p, end);
}

static void additions(struct pacing *p, unsigned n)
{
	while (n--)
		pacing_event(p, false);
}

/* Before any round, and after a quiet one: at once, or after batch_delay. */
static void test_quiet(void **state)
{
	struct pacing p = {0};

	(void)state;
	events(&p, 1000); /* the first round comes without waiting */
	assert_int_equal(pacing_next_round(&p, 5000, 0), 5000);
	assert_int_equal(pacing_next_round(&p, 5000, 10), 5010);

	round_at(&p, 5000, 5010); /* that round had 1000 to do */
	events(&p, PACING_STORM_EVENTS - 1);
	round_at(&p, 6000, 6040); /* and this one a few: quiet */
	events(&p, PACING_STORM_EVENTS - 1);
	assert_int_equal(pacing_next_round(&p, 6041, 0), 6041);
	assert_int_equal(pacing_next_round(&p, 6041, 3), 6044);
}

/* A storm of events while a round ran: the next waits PACING_HOLD_FACTOR
 * times its length. */
static void test_storm(void **state)
{
	struct pacing p = {0};

	(void)state;
	pacing_round_begin(&p, 1000);
	events(&p, PACING_STORM_EVENTS);
	pacing_round_end(&p, 1020);
	assert_int_equal(pacing_next_round(&p, 1021, 0), 1020 + PACING_HOLD_FACTOR * 20);
	/* batch_delay still counts when it ends later */
	assert_int_equal(pacing_next_round(&p, 1021, 200), 1221);
	/* the hold is over */
	assert_int_equal(pacing_next_round(&p, 1200, 0), 1200);
	/* the next round has that storm's work: the one after it waits too */
	round_at(&p, 1200, 1220);
	assert_int_equal(pacing_next_round(&p, 1221, 0), 1220 + PACING_HOLD_FACTOR * 20);
	/* a round with a few to do, during which a few came: calm again */
	events(&p, PACING_STORM_EVENTS - 1);
	round_at(&p, 1400, 1420);
	events(&p, PACING_STORM_EVENTS - 1);
	assert_int_equal(pacing_next_round(&p, 1421, 0), 1421);
}

/* A long round: the hold has a ceiling. */
static void test_ceiling(void **state)
{
	struct pacing p = {0};

	(void)state;
	pacing_round_begin(&p, 1);
	events(&p, 100000);
	pacing_round_end(&p, 1001);
	assert_int_equal(pacing_next_round(&p, 1001, 0), 1001 + PACING_MAX_HOLD_MS);
}

/* Short rounds (a millisecond or less) in a storm are still held, for
 * PACING_MIN_HOLD_MS: WireGuard pays for each round's temporary peer
 * outside the round's own clock. A clock that went backwards gives no
 * negative length. */
static void test_short_and_odd(void **state)
{
	struct pacing p = {0};

	(void)state;
	pacing_round_begin(&p, 500);
	events(&p, 10000);
	pacing_round_end(&p, 500);
	assert_int_equal(pacing_next_round(&p, 500, 0), 500 + PACING_MIN_HOLD_MS);
	assert_int_equal(pacing_next_round(&p, 500 + PACING_MIN_HOLD_MS, 0),
			 500 + PACING_MIN_HOLD_MS);
	pacing_round_begin(&p, 800);
	events(&p, 10000);
	pacing_round_end(&p, 700);
	assert_int_equal(pacing_next_round(&p, 801, 0), 800 + PACING_MIN_HOLD_MS);
	/* a quiet short round (after the one that did the 10 000): no hold */
	round_at(&p, 900, 900);
	round_at(&p, 950, 950);
	assert_int_equal(pacing_next_round(&p, 951, 0), 951);
}

/* Rounds too short to see a withdrawal come in while they run: the last
 * round's own work says storm, and rounds stay apart; a round with little
 * to do ends it. */
static void test_storm_of_short_rounds(void **state)
{
	struct pacing p = {0};

	(void)state;
	events(&p, 50);
	round_at(&p, 1000, 1000);
	events(&p, 1);
	assert_int_equal(pacing_next_round(&p, 1000, 0), 1000 + PACING_MIN_HOLD_MS);
	events(&p, 600);
	round_at(&p, 1010, 1010);
	assert_int_equal(pacing_next_round(&p, 1011, 0), 1010 + PACING_MIN_HOLD_MS);
	/* the storm is over: the last round had one withdrawal to do */
	events(&p, 1);
	round_at(&p, 1020, 1020);
	events(&p, 1);
	assert_int_equal(pacing_next_round(&p, 1021, 0), 1021);
}

/* Additions never count for rounds: a round that adds is cheap. */
static void test_additions_hold_no_round(void **state)
{
	struct pacing p = {0};

	(void)state;
	pacing_round_begin(&p, 1000);
	additions(&p, 100000);
	pacing_round_end(&p, 1020);
	assert_int_equal(pacing_next_round(&p, 1021, 0), 1021);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_storm),
		cmocka_unit_test(test_ceiling),
		cmocka_unit_test(test_short_and_odd),
		cmocka_unit_test(test_storm_of_short_rounds),
		cmocka_unit_test(test_additions_hold_no_round),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
