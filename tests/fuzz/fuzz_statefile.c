/* fuzz_statefile.c: the state file's reader (statefile_parse, docs/spec.md
 * 6.2). What it accepts are owned AllowedIPs as the daemon keeps them:
 * normalised prefixes, each once, a displaced peer other than the owner;
 * written again (statefile_format) they read back the same, and so do they
 * as a snapshot followed by an appended block of changes
 * (statefile_format_changes) that leads to the same entries. Whatever it
 * refuses it says why in one line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "prefix_trie.h"
#include "statefile.h"

/* The device of the seeds (tests/fuzz/corpus/statefile). */
#define DEVICE_KEY "v6eecaOUkwJnMdw/sdk3dxxV2t59MFh/sB7itOJiv0o="

static void check_entries(const struct own_entry *v, size_t n)
{
	struct ptrie *seen = ptrie_new();

	FUZZ_CHECK(seen);
	for (size_t i = 0; i < n; i++) {
		fuzz_check_prefix(&v[i].dst);
		FUZZ_CHECK(!ptrie_get(seen, &v[i].dst)); /* each prefix once */
		FUZZ_CHECK(ptrie_set(seen, &v[i].dst, (void *)&v[i]) == 0);
		FUZZ_CHECK(wg_key_is_zero(&v[i].displaced) ||
			   wg_key_cmp(&v[i].displaced, &v[i].peer) != 0);
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

static void check_parses_to(const char *text, size_t len, const struct wg_key *device,
			    const struct own_entry *want, size_t n_want)
{
	struct own_entry *got;
	size_t n;
	char why[STATEFILE_MSG_LEN];

	FUZZ_CHECK(statefile_parse(text, len, device, &got, &n, NULL, why, sizeof(why)) ==
		   0);
	check_same(got, n, want, n_want);
	free(got);
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
	size_t snap_len, block_len;

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
	text = malloc(snap_len + block_len);
	FUZZ_CHECK(text);
	memcpy(text, snap, snap_len);
	memcpy(text + snap_len, block, block_len);
	check_parses_to(text, snap_len + block_len, device, v + (half > 0),
			n - (half > 0));
	free(text);
	free(block);
	free(snap);
	free(changes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_key device;
	struct own_entry *v;
	size_t n, len;
	char why[STATEFILE_MSG_LEN], *text;
	int r;

	FUZZ_CHECK(wg_key_from_base64(DEVICE_KEY, &device) == 0);
	r = statefile_parse((const char *)data, size, &device, &v, &n, NULL, why,
			    sizeof(why));
	if (r != 0) {
		FUZZ_CHECK(r == -EINVAL || r == -ESTALE || r == -ENOMEM);
		FUZZ_CHECK(n == 0);
		fuzz_check_line(why);
		free(v);
		return 0;
	}
	check_entries(v, n);
	FUZZ_CHECK(statefile_format(&device, v, n, &text, &len) == 0);
	check_parses_to(text, len, &device, v, n);
	free(text);
	check_appended(&device, v, n);
	free(v);
	return 0;
}
