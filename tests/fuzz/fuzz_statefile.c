/* fuzz_statefile.c: the state file's reader (statefile_parse, docs/spec.md
 * 6.2). What it accepts are owned AllowedIPs as the daemon keeps them:
 * normalised prefixes, each once, a displaced peer other than the owner,
 * followed by the unsettled intents (normalised prefixes, a displaced peer
 * other than the intended one). Written again (statefile_format) the
 * entries read back the same, with no intents; so do they as a snapshot
 * followed by an appended block of changes (statefile_format_changes) that
 * leads to the same entries; the intents as an appended intent block
 * (statefile_format_intents) read back the same, in order, and an empty
 * change block after them settles them. Whatever it refuses it says why in
 * one line, with nothing returned. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "prefix_trie.h"
#include "statefile.h"

/* The device of the seeds (tests/fuzz/corpus/statefile). */
#define DEVICE_KEY "v6eecaOUkwJnMdw/sdk3dxxV2t59MFh/sB7itOJiv0o="

static void check_entry(const struct own_entry *e)
{
	fuzz_check_prefix(&e->dst);
	FUZZ_CHECK(wg_key_is_zero(&e->displaced) ||
		   wg_key_cmp(&e->displaced, &e->peer) != 0);
}

static void check_entries(const struct own_entry *v, size_t n)
{
	struct ptrie *seen = ptrie_new();

	FUZZ_CHECK(seen);
	for (size_t i = 0; i < n; i++) {
		check_entry(&v[i]);
		FUZZ_CHECK(!ptrie_get(seen, &v[i].dst)); /* each prefix once */
		FUZZ_CHECK(ptrie_set(seen, &v[i].dst, (void *)&v[i]) == 0);
	}
	ptrie_free(seen, NULL);
}

static void check_same(const struct own_entry *a, size_t na, const struct own_entry *b,
		       size_t nb)
{
	FUZZ_CHECK(na == nb);
	for (size_t i = 0; i < na; i++)
		FUZZ_CHECK(wg_key_cmp(&a[i].peer, &b[i].peer) == 0 &&
			   prefix_equal(&a[i].dst, &b[i].dst) &&
			   wg_key_cmp(&a[i].displaced, &b[i].displaced) == 0);
}

/* text reads as the entries want[0..n_want) followed by the intents
 * intents[0..n_intents). */
static void check_parses_to(const char *text, size_t len, const struct wg_key *device,
			    const struct own_entry *want, size_t n_want,
			    const struct own_entry *intents, size_t n_intents)
{
	struct own_entry *got;
	size_t n, ni;
	char why[STATEFILE_MSG_LEN];

	FUZZ_CHECK(statefile_parse(text, len, device, &got, &n, &ni, why, sizeof(why)) ==
		   0);
	check_same(got, n, want, n_want);
	check_same(ni ? got + n : NULL, ni, intents, n_intents); /* got may be NULL */
	free(got);
}

/* text with the blocks appended after it, in order. */
static char *concat(const char *text, size_t len, char *const *blocks,
		    const size_t *block_lens, size_t n_blocks, size_t *out_len)
{
	size_t total = len;
	char *out;

	for (size_t i = 0; i < n_blocks; i++)
		total += block_lens[i];
	out = malloc(total ? total : 1);
	FUZZ_CHECK(out);
	memcpy(out, text, len);
	*out_len = len;
	for (size_t i = 0; i < n_blocks; i++) {
		memcpy(out + *out_len, blocks[i], block_lens[i]);
		*out_len += block_lens[i];
	}
	return out;
}

/* The entries v[0..n) as a snapshot, the intents as one intent block:
 * they read back as they are; after an empty change block (a round whose
 * learned adds all failed), as the entries alone. */
static void check_intents_round_trip(const struct wg_key *device,
				     const struct own_entry *v, size_t n,
				     const struct own_entry *intents, size_t n_intents)
{
	char *snap, *blocks[2], *text;
	size_t snap_len, lens[2], len;

	if (n_intents == 0)
		return;
	FUZZ_CHECK(statefile_format(device, v, n, &snap, &snap_len) == 0);
	FUZZ_CHECK(statefile_format_intents(intents, n_intents, n, &blocks[0],
					    &lens[0]) == 0);
	FUZZ_CHECK(statefile_format_changes(NULL, 0, n, &blocks[1], &lens[1]) == 0);
	text = concat(snap, snap_len, blocks, lens, 1, &len);
	check_parses_to(text, len, device, v, n, intents, n_intents);
	free(text);
	text = concat(snap, snap_len, blocks, lens, 2, &len);
	check_parses_to(text, len, device, v, n, NULL, 0);
	free(text);
	free(blocks[1]);
	free(blocks[0]);
	free(snap);
}

/* v[0..n) as a snapshot of the first half, then one block that adds the
 * second half and removes the first entry: the reader must end with
 * v[1..n) (v[0..n) when the snapshot is empty). The daemon appends no
 * block without changes (iface.c), and the reader takes none. */
static void check_appended(const struct wg_key *device, const struct own_entry *v,
			   size_t n)
{
	size_t half = n / 2, n_changes = n - half + (half > 0), c = 0;
	struct own_change *changes;
	char *snap, *block, *text;
	size_t snap_len, block_len, len;

	if (n == 0)
		return;
	changes = calloc(n_changes, sizeof(*changes));
	FUZZ_CHECK(changes);
	for (size_t i = half; i < n; i++)
		changes[c++] = (struct own_change){.e = v[i], .owned = true};
	if (half > 0)
		changes[c++] = (struct own_change){.e = v[0], .owned = false};
	FUZZ_CHECK(statefile_format(device, v, half, &snap, &snap_len) == 0);
	FUZZ_CHECK(statefile_format_changes(changes, c, n - (half > 0), &block,
					    &block_len) == 0);
	text = concat(snap, snap_len, &block, &block_len, 1, &len);
	check_parses_to(text, len, device, v + (half > 0), n - (half > 0), NULL, 0);
	free(text);
	free(block);
	free(snap);
	free(changes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_key device;
	struct own_entry *v;
	size_t n, ni, len;
	char why[STATEFILE_MSG_LEN], *text;
	int r;

	FUZZ_CHECK(wg_key_from_base64(DEVICE_KEY, &device) == 0);
	r = statefile_parse((const char *)data, size, &device, &v, &n, &ni, why,
			    sizeof(why));
	if (r != 0) {
		FUZZ_CHECK(r == -EINVAL || r == -ESTALE || r == -ENOMEM);
		FUZZ_CHECK(n == 0 && ni == 0);
		fuzz_check_line(why);
		free(v);
		return 0;
	}
	check_entries(v, n);
	for (size_t i = 0; i < ni; i++)
		check_entry(&v[n + i]);
	FUZZ_CHECK(statefile_format(&device, v, n, &text, &len) == 0);
	check_parses_to(text, len, &device, v, n, NULL, 0);
	free(text);
	check_appended(&device, v, n);
	check_intents_round_trip(&device, v, n, ni ? v + n : NULL, ni);
	free(v);
	return 0;
}
