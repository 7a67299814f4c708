/* test_wg_plan: the WireGuard change planned once for both backends
 * (wg_plan.h): the set request built for each removal mode (peers in key
 * order, changes in list order, each entry naming the change it serves),
 * the probes, and which change fails when a message of the request fails. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wg_plan.h"

/* Keys in byte order: C (08...) < A (14...) < B (20...). */
#define KEY_A "FPI/ZBjENVcrVynzmR5tsWbLf/zWI5kP4BEH74nH+jA="
#define KEY_B "IBJlu/bEzmmzxj+EUGHZ8s/y40AOJ0NH9MJx7Dvjs0I="
#define KEY_C "CK4oTA0zwRnTes54PMPIaYyvnxJR4fiXSdn3WidCzgc="
#define NONE  SIZE_MAX

static struct change allowed(bool add, const char *peer_b64, const char *dst)
{
	return (struct change){.op = add ? CHANGE_ALLOWED_ADD : CHANGE_ALLOWED_DEL,
			       .peer = K(peer_b64),
			       .dst = P(dst)};
}

static int build(struct wg_set *s, const struct change *ch, size_t n,
		 enum wg_remove_mode mode, const struct wg_device *cur)
{
	size_t idx[16];

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	return wg_plan_build(s, ch, idx, n, mode, cur);
}

/* Entry i of a peer: its prefix, remove flag and change. */
static void assert_ip(const struct wg_set_peer *p, size_t i, const char *dst, bool remove,
		      size_t change)
{
	struct prefix want = P(dst);
	char buf[PREFIX_STRLEN];

	assert_true(i < p->n_ips);
	if (!prefix_equal(&p->ips[i].dst, &want))
		fail_msg("entry %zu is %s, want %s", i,
			 prefix_format(&p->ips[i].dst, buf), dst);
	assert_int_equal(p->ips[i].remove, remove);
	assert_int_equal(p->ips[i].change, change);
}

static void assert_peer(const struct wg_set *s, size_t k, const struct wg_key *key,
			uint32_t flags, size_t n_ips)
{
	assert_true(k < s->n_peers);
	assert_memory_equal(s->peers[k].key.b, key->b, WG_KEY_LEN);
	assert_int_equal(s->peers[k].flags, flags);
	assert_int_equal(s->peers[k].n_ips, n_ips);
}

/* Native: per peer in key order, its changes in list order, removals
 * flagged; the temporary peer nowhere. */
static void test_build_native(void **state)
{
	struct change ch[] = {
		allowed(true, KEY_B, "198.51.100.0/24"),
		allowed(false, KEY_A, "2001:db8:a::/48"),
		allowed(true, KEY_A, "203.0.113.0/24"),
		allowed(false, KEY_B, "fe80::2/128"),
	};
	struct wg_key a = K(KEY_A), b = K(KEY_B);
	struct wg_set s = {0};

	(void)state;
	assert_int_equal(build(&s, ch, 4, WG_REMOVE_NATIVE, NULL), 0);
	assert_int_equal(s.n_peers, 2);
	assert_peer(&s, 0, &a, WG_PEER_UPDATE_ONLY, 2);
	assert_ip(&s.peers[0], 0, "2001:db8:a::/48", true, 1);
	assert_ip(&s.peers[0], 1, "203.0.113.0/24", false, 2);
	assert_peer(&s, 1, &b, WG_PEER_UPDATE_ONLY, 2);
	assert_ip(&s.peers[1], 0, "198.51.100.0/24", false, 0);
	assert_ip(&s.peers[1], 1, "fe80::2/128", true, 3);
	/* Built again: what was there before goes. */
	assert_int_equal(build(&s, ch, 1, WG_REMOVE_NATIVE, NULL), 0);
	assert_int_equal(s.n_peers, 1);
	assert_int_equal(build(&s, ch, 0, WG_REMOVE_NATIVE, NULL), 0);
	assert_int_equal(s.n_peers, 0);
	assert_int_equal(build(&s, ch, 1, WG_REMOVE_UNKNOWN, NULL), -EINVAL);
	wg_set_free(&s);
	assert_null(s.peers);
}

/* Temporary peer: removals go last, in list order, onto the temporary peer,
 * which the entry after it removes; a peer with removals only has no entry. */
static void test_build_temp_peer(void **state)
{
	struct change ch[] = {
		allowed(true, KEY_B, "198.51.100.0/24"),
		allowed(false, KEY_B, "fe80::2/128"),
		allowed(false, KEY_A, "192.0.2.2/32"),
	};
	struct wg_key b = K(KEY_B);
	struct wg_set s = {0};

	(void)state;
	assert_int_equal(build(&s, ch, 3, WG_REMOVE_TEMP_PEER, NULL), 0);
	assert_int_equal(s.n_peers, 3);
	assert_peer(&s, 0, &b, WG_PEER_UPDATE_ONLY, 1);
	assert_ip(&s.peers[0], 0, "198.51.100.0/24", false, 0);
	assert_peer(&s, 1, &wg_temp_peer_key, 0, 2);
	assert_ip(&s.peers[1], 0, "fe80::2/128", false, 1);
	assert_ip(&s.peers[1], 1, "192.0.2.2/32", false, 2);
	assert_peer(&s, 2, &wg_temp_peer_key, WG_PEER_REMOVE_ME, 0);
	/* Adds only: no temporary peer at all. */
	assert_int_equal(build(&s, ch, 1, WG_REMOVE_TEMP_PEER, NULL), 0);
	assert_int_equal(s.n_peers, 1);
	wg_set_free(&s);
}

/* Replace: a peer of the device with removals gets its current list less
 * them, then its adds; one the device does not have is only named. */
static void test_build_replace(void **state)
{
	struct change ch[] = {
		allowed(false, KEY_A, "2001:db8:a::/48"),
		allowed(true, KEY_A, "203.0.113.0/24"),
		allowed(true, KEY_B, "198.51.100.128/25"),
		allowed(false, KEY_C, "192.0.2.9/32"),
	};
	struct prefix now[] = {P("192.0.2.2/32"), P("2001:db8:a::/48"),
			       P("198.51.100.0/24")};
	struct wg_peer peer = {.key = K(KEY_A), .n_allowed = 3, .allowed = now};
	struct wg_device cur = {.n_peers = 1, .peers = &peer};
	struct wg_key a = K(KEY_A), b = K(KEY_B), c = K(KEY_C);
	struct wg_set s = {0};

	(void)state;
	assert_int_equal(build(&s, ch, 4, WG_REMOVE_REPLACE, &cur), 0);
	assert_int_equal(s.n_peers, 3);
	assert_peer(&s, 0, &c, WG_PEER_UPDATE_ONLY, 0);
	assert_peer(&s, 1, &a, WG_PEER_UPDATE_ONLY | WG_PEER_REPLACE_ALLOWEDIPS, 3);
	assert_ip(&s.peers[1], 0, "192.0.2.2/32", false, NONE);
	assert_ip(&s.peers[1], 1, "198.51.100.0/24", false, NONE);
	assert_ip(&s.peers[1], 2, "203.0.113.0/24", false, 1);
	assert_peer(&s, 2, &b, WG_PEER_UPDATE_ONLY, 1);
	wg_set_free(&s);
}

/* Replace: a prefix this round moves onto another peer (a single add
 * there, no removal here) is left out of a replaced list, whichever peer
 * comes first: were it kept, the replacement would take it back from its
 * new holder when that one came first (A before B here). */
static void test_build_replace_move(void **state)
{
	struct change ch[] = {
		allowed(false, KEY_B, "198.51.100.0/24"),
		allowed(true, KEY_A, "203.0.113.0/24"),
	};
	struct prefix now[] = {P("192.0.2.2/32"), P("198.51.100.0/24"),
			       P("203.0.113.0/24")};
	struct wg_peer peer = {.key = K(KEY_B), .n_allowed = 3, .allowed = now};
	struct wg_device cur = {.n_peers = 1, .peers = &peer};
	struct wg_key a = K(KEY_A), b = K(KEY_B);
	struct wg_set s = {0};

	(void)state;
	/* B holds it, A (first) takes it. */
	assert_int_equal(build(&s, ch, 2, WG_REMOVE_REPLACE, &cur), 0);
	assert_int_equal(s.n_peers, 2);
	assert_peer(&s, 0, &a, WG_PEER_UPDATE_ONLY, 1);
	assert_ip(&s.peers[0], 0, "203.0.113.0/24", false, 1);
	assert_peer(&s, 1, &b, WG_PEER_UPDATE_ONLY | WG_PEER_REPLACE_ALLOWEDIPS, 1);
	assert_ip(&s.peers[1], 0, "192.0.2.2/32", false, NONE);
	/* A holds it, B (second) takes it. */
	ch[0].peer = a;
	ch[1].peer = b;
	peer.key = a;
	assert_int_equal(build(&s, ch, 2, WG_REMOVE_REPLACE, &cur), 0);
	assert_int_equal(s.n_peers, 2);
	assert_peer(&s, 0, &a, WG_PEER_UPDATE_ONLY | WG_PEER_REPLACE_ALLOWEDIPS, 1);
	assert_ip(&s.peers[0], 0, "192.0.2.2/32", false, NONE);
	assert_peer(&s, 1, &b, WG_PEER_UPDATE_ONLY, 1);
	assert_ip(&s.peers[1], 0, "203.0.113.0/24", false, 1);
	wg_set_free(&s);
}

/* The probes name the temporary peer only. */
static void test_probes(void **state)
{
	struct wg_set s = {0};

	(void)state;
	/* The kernel reads the AllowedIPs of a peer it made: made, asked,
	 * removed. */
	assert_int_equal(wg_plan_probe_native(&s, true), 0);
	assert_int_equal(s.n_peers, 2);
	assert_peer(&s, 0, &wg_temp_peer_key, 0, 1);
	assert_ip(&s.peers[0], 0, "192.0.2.255/32", true, NONE);
	assert_peer(&s, 1, &wg_temp_peer_key, WG_PEER_REMOVE_ME, 0);
	/* The UAPI checks each line first: a placeholder, nothing made. */
	assert_int_equal(wg_plan_probe_native(&s, false), 0);
	assert_int_equal(s.n_peers, 1);
	assert_peer(&s, 0, &wg_temp_peer_key, WG_PEER_UPDATE_ONLY, 1);
	assert_ip(&s.peers[0], 0, "192.0.2.255/32", true, NONE);
	assert_int_equal(wg_plan_probe_temp_peer(&s), 0);
	assert_int_equal(s.n_peers, 2);
	assert_peer(&s, 0, &wg_temp_peer_key, 0, 0);
	assert_peer(&s, 1, &wg_temp_peer_key, WG_PEER_REMOVE_ME, 0);
	assert_int_equal(wg_plan_remove_temp_peer(&s), 0);
	assert_int_equal(s.n_peers, 1);
	assert_peer(&s, 0, &wg_temp_peer_key, WG_PEER_REMOVE_ME, 0);
	wg_set_free(&s);
}

/* What a transport that splits would record: entry j of peer k went into
 * message msg[k][j], its last part into last[k]. */
static void split(struct wg_set *s, size_t msgs, const size_t msg[][8],
		  const size_t *last)
{
	for (size_t k = 0; k < s->n_peers; k++) {
		for (size_t j = 0; j < s->peers[k].n_ips; j++)
			s->peers[k].ips[j].msg = msg[k][j];
		s->peers[k].msg_last = last[k];
	}
	s->n_msgs = 0;
	for (size_t m = 0; m < msgs; m++)
		assert_int_equal(wg_set_msg_result(s, 0), 0);
}

static void errors(const struct wg_set *s, enum wg_remove_mode mode,
		   const struct change *ch, size_t n, int *err)
{
	size_t idx[16];

	for (size_t i = 0; i < n; i++) {
		idx[i] = i;
		err[i] = 0;
	}
	wg_plan_errors(s, mode, ch, idx, n, err);
}

/* A change fails with the message that carried it; the temporary peer's
 * take, also with the message that removes it. */
static void test_errors_temp_peer(void **state)
{
	struct change ch[] = {
		allowed(true, KEY_B, "198.51.100.0/24"),
		allowed(false, KEY_A, "192.0.2.2/32"),
		allowed(false, KEY_A, "192.0.2.3/32"),
		allowed(false, KEY_A, "192.0.2.4/32"),
	};
	/* B in message 0; the take over messages 0, 1, 2; the removal in 2. */
	static const size_t msg[3][8] = {{0}, {0, 1, 2}, {0}};
	static const size_t last[3] = {0, 2, 2};
	struct wg_set s = {0};
	int err[4];

	(void)state;
	assert_int_equal(build(&s, ch, 4, WG_REMOVE_TEMP_PEER, NULL), 0);
	split(&s, 3, msg, last);
	errors(&s, WG_REMOVE_TEMP_PEER, ch, 4, err);
	for (int i = 0; i < 4; i++)
		assert_int_equal(err[i], 0);
	assert_int_equal(wg_set_error(&s), 0);

	s.msg_err[1] = -ENOMEM;
	errors(&s, WG_REMOVE_TEMP_PEER, ch, 4, err);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], 0);
	assert_int_equal(err[2], -ENOMEM);
	assert_int_equal(err[3], 0);
	assert_int_equal(wg_set_error(&s), -ENOMEM);

	/* The removal failed: what the temporary peer took is not gone. */
	s.msg_err[1] = 0;
	s.msg_err[2] = -EIO;
	errors(&s, WG_REMOVE_TEMP_PEER, ch, 4, err);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], -EIO);
	assert_int_equal(err[2], -EIO);
	assert_int_equal(err[3], -EIO);

	/* An error already there is kept. */
	err[1] = -EPERM;
	wg_plan_errors(&s, WG_REMOVE_TEMP_PEER, ch, (size_t[]){0, 1, 2, 3}, 4, err);
	assert_int_equal(err[1], -EPERM);

	/* Sent as one message: one error for all. */
	assert_int_equal(wg_set_one_message(&s, -EPROTO), 0);
	assert_int_equal(s.n_msgs, 1);
	errors(&s, WG_REMOVE_TEMP_PEER, ch, 4, err);
	for (int i = 0; i < 4; i++)
		assert_int_equal(err[i], -EPROTO);
	wg_set_free(&s);
}

/* A replaced list fails as a whole, its removals with it (they have no
 * entry of their own); under REPLACE, so does the removal from a peer the
 * device did not have. */
static void test_errors_replace(void **state)
{
	struct change ch[] = {
		allowed(false, KEY_A, "2001:db8:a::/48"),
		allowed(true, KEY_A, "203.0.113.0/24"),
		allowed(true, KEY_B, "198.51.100.128/25"),
		allowed(false, KEY_C, "192.0.2.9/32"),
	};
	struct prefix now[] = {P("192.0.2.2/32"), P("2001:db8:a::/48")};
	struct wg_peer peer = {.key = K(KEY_A), .n_allowed = 2, .allowed = now};
	struct wg_device cur = {.n_peers = 1, .peers = &peer};
	/* C in message 0; A's list over messages 0 and 1; B in 1. */
	static const size_t msg[3][8] = {{0}, {0, 1}, {1}};
	static const size_t last[3] = {0, 1, 1};
	struct wg_set s = {0};
	int err[4];

	(void)state;
	assert_int_equal(build(&s, ch, 4, WG_REMOVE_REPLACE, &cur), 0);
	assert_int_equal(s.n_peers, 3);
	split(&s, 2, msg, last);
	/* The message with A's first part fails: all of A fails, its add
	 * went in the message that worked. */
	s.msg_err[0] = -EINVAL;
	errors(&s, WG_REMOVE_REPLACE, ch, 4, err);
	assert_int_equal(err[0], -EINVAL);
	assert_int_equal(err[1], -EINVAL);
	assert_int_equal(err[2], 0);
	assert_int_equal(err[3], -EINVAL);
	/* The message with A's last part fails: the same for A, and B in it. */
	s.msg_err[0] = 0;
	s.msg_err[1] = -EIO;
	errors(&s, WG_REMOVE_REPLACE, ch, 4, err);
	assert_int_equal(err[0], -EIO);
	assert_int_equal(err[1], -EIO);
	assert_int_equal(err[2], -EIO);
	assert_int_equal(err[3], 0);
	wg_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_native),
		cmocka_unit_test(test_build_temp_peer),
		cmocka_unit_test(test_build_replace),
		cmocka_unit_test(test_build_replace_move),
		cmocka_unit_test(test_probes),
		cmocka_unit_test(test_errors_temp_peer),
		cmocka_unit_test(test_errors_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
