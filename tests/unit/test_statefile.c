/* test_statefile.c: the state file (docs/spec.md section 6): round trips, files set
 * aside, failed writes that keep the old file, and garbage that never crashes. */
#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statefile.h"
#include "testutil.h"

struct fixture {
	char dir[64];	/* a fresh directory per test */
	char state[96]; /* dir/state: the state_dir, not created yet */
	char path[128]; /* state/wgt0.state */
};

static const char *ifname = "wgt0";

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/wgrs-statefile-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->path, sizeof(f->path), "%s/%s.state", f->state, ifname);
	*state = f;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	return remove(path);
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	chmod(f->state, 0700);
	nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct wg_key device_key(void)
{
	return key_n(1000);
}

/* n entries over both families; every third one displaced another peer. */
static struct own_entry *make_entries(size_t n)
{
	struct own_entry *v = calloc(n ? n : 1, sizeof(*v));
	char text[PREFIX_STRLEN];

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		v[i].peer = key_n((unsigned)(i % 7));
		if (i % 2)
			snprintf(text, sizeof(text), "2001:db8:%zx:%zx::/64", i >> 16,
				 i & 0xffff);
		else
			snprintf(text, sizeof(text), "198.51.%zu.%zu/32", (i >> 8) & 0xff,
				 i & 0xff);
		v[i].dst = P(text);
		if (i % 3 == 0)
			v[i].displaced = key_n(100 + (unsigned)i % 5);
	}
	return v;
}

static void assert_entries_equal(const struct own_entry *a, size_t na,
				 const struct own_entry *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(wg_key_cmp(&a[i].peer, &b[i].peer), 0);
		assert_true(prefix_equal(&a[i].dst, &b[i].dst));
		assert_int_equal(wg_key_cmp(&a[i].displaced, &b[i].displaced), 0);
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long size;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
	buf[size] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)size;
	return buf;
}

static void spit(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Names in dir that start with prefix, counted; the last one into found. */
static int count_names(const char *dir, const char *prefix, char *found, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		n++;
		if (found)
			snprintf(found, len, "%s/%s", dir, de->d_name);
	}
	closedir(d);
	return n;
}

static int count_tmp(const char *dir)
{
	return count_names(dir, ".wgt0.state.tmp-", NULL, 0);
}

static void save_ok(struct fixture *f, const struct own_entry *v, size_t n)
{
	struct wg_key dev = device_key();
	char msg[STATEFILE_MSG_LEN];

	assert_int_equal(statefile_save(f->state, ifname, &dev, v, n, msg, sizeof(msg)),
			 0);
	assert_string_equal(msg, "");
}

/* The entries (and, with n_intents, the unsettled intents after them). */
static struct own_entry *load_all_ok(struct fixture *f, size_t *n, size_t *n_intents)
{
	struct wg_key dev = device_key();
	struct own_entry *got = NULL;
	char msg[STATEFILE_MSG_LEN];

	assert_int_equal(statefile_load(f->state, ifname, &dev, &got, n, n_intents, msg,
					sizeof(msg)),
			 0);
	assert_string_equal(msg, "");
	return got;
}

static struct own_entry *load_ok(struct fixture *f, size_t *n)
{
	return load_all_ok(f, n, NULL);
}

/* Writes text as the state file and loads it: must be set aside, with the
 * original bytes kept in the .bad- file and a message naming it. */
static void assert_set_aside(struct fixture *f, const char *text, size_t len,
			     const char *reason)
{
	struct wg_key dev = device_key();
	struct own_entry *v = NULL;
	size_t n = 99;
	char msg[STATEFILE_MSG_LEN], aside[PATH_MAX];
	int before = count_names(f->state, "wgt0.state.bad-", NULL, 0);

	mkdir(f->state, 0700);
	spit(f->path, text, len);
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &v, &n, NULL, msg, sizeof(msg)),
		STATEFILE_SET_ASIDE);
	assert_int_equal(n, 0);
	free(v);
	if (!strstr(msg, reason))
		fail_msg("message \"%s\" does not say \"%s\"", msg, reason);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(count_names(f->state, "wgt0.state.bad-", NULL, 0), before + 1);
	/* The message names the file that now holds the original bytes. */
	const char *as = strstr(msg, "set aside as ");
	assert_non_null(as);
	as += strlen("set aside as ");
	size_t alen = strcspn(as, ",");
	assert_true(alen < sizeof(aside));
	memcpy(aside, as, alen);
	aside[alen] = '\0';
	size_t klen;
	char *kept = slurp(aside, &klen);
	assert_int_equal(klen, len);
	assert_memory_equal(kept, text, len);
	free(kept);
	/* The next start finds no file: an empty ownership, no message. */
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &v, &n, NULL, msg, sizeof(msg)),
		0);
	assert_int_equal(n, 0);
	assert_string_equal(msg, "");
	free(v);
}

static void test_path(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(statefile_path("/run/wg-rtsync", "wg0", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/wg-rtsync/wg0.state");
	assert_int_equal(statefile_path("/run/x", "", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(statefile_path("/run/x", "a/b", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(statefile_path("/run/x", ".", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(statefile_path("/run/x", "..", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(statefile_path("/run/x", "0123456789abcdef", buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(statefile_path("", "wg0", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(statefile_path("/run/wg-rtsync", "wg0", buf, 10), -ENAMETOOLONG);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(50), *got = NULL;
	size_t n = 0;
	char msg[STATEFILE_MSG_LEN];
	struct stat st;

	save_ok(f, v, 50);
	assert_int_equal(stat(f->state, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_tmp(f->state), 0);
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		0);
	assert_string_equal(msg, "");
	assert_entries_equal(v, 50, got, n);
	free(got);
	free(v);
}

/* What an operator sees: the header, one line per entry, the end line. */
static void test_readable_text(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry v[2];
	char key[WG_KEY_B64_LEN], peer[WG_KEY_B64_LEN], disp[WG_KEY_B64_LEN];
	char want[512], *text;

	memset(v, 0, sizeof(v));
	v[0].peer = key_n(1);
	v[0].dst = P("2001:db8:1::/48");
	v[1].peer = key_n(2);
	v[1].dst = P("192.0.2.0/24");
	v[1].displaced = key_n(1);
	save_ok(f, v, 2);
	text = slurp(f->path, NULL);
	wg_key_to_base64(&dev, key);
	snprintf(want, sizeof(want), "wg-rtsync-state 3 %s\n", key);
	assert_memory_equal(text, want, strlen(want));
	snprintf(want, sizeof(want), "\n%s 2001:db8:1::/48\n%s 192.0.2.0/24 %s\nend 2\n",
		 wg_key_to_base64(&v[0].peer, peer), wg_key_to_base64(&v[1].peer, key),
		 wg_key_to_base64(&v[1].displaced, disp));
	assert_non_null(strstr(text, want));
	assert_string_equal(strstr(text, want), want);
	free(text);
}

static void test_empty_ownership(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(3), *got = NULL;
	size_t n = 5;
	char msg[STATEFILE_MSG_LEN];

	save_ok(f, v, 3);
	save_ok(f, NULL, 0); /* everything withdrawn: the file says so */
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		0);
	assert_int_equal(n, 0);
	assert_int_equal(access(f->path, F_OK), 0);
	free(got);
	free(v);
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *got = NULL;
	size_t n = 5;
	char msg[STATEFILE_MSG_LEN] = "x";

	/* Neither the directory nor the file exists: nothing is created. */
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		0);
	assert_int_equal(n, 0);
	assert_string_equal(msg, "");
	assert_int_equal(access(f->state, F_OK), -1);
	free(got);
}

static void test_nested_state_dir_created(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	char deep[160], msg[STATEFILE_MSG_LEN];
	struct own_entry *v = make_entries(2), *got = NULL;
	size_t n;
	struct stat st;

	snprintf(deep, sizeof(deep), "%s/a/b/", f->state);
	assert_int_equal(statefile_save(deep, ifname, &dev, v, 2, msg, sizeof(msg)), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(
		statefile_load(deep, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)), 0);
	assert_entries_equal(v, 2, got, n);
	free(got);
	free(v);
}

static void test_other_device_key_set_aside(void **state)
{
	struct fixture *f = *state;
	struct wg_key other = key_n(1001);
	struct own_entry *v = make_entries(4);
	char *text, *kept, aside[PATH_MAX], msg[STATEFILE_MSG_LEN];
	size_t len, klen;

	assert_int_equal(statefile_save(f->state, ifname, &other, v, 4, msg, sizeof(msg)),
			 0);
	text = slurp(f->path, &len);
	assert_set_aside(f, text, len, "written for device key");
	/* Kept byte for byte, for the operator. */
	assert_int_equal(count_names(f->state, "wgt0.state.bad-", aside, sizeof(aside)),
			 1);
	kept = slurp(aside, &klen);
	assert_int_equal(klen, len);
	assert_memory_equal(kept, text, len);
	free(kept);
	free(text);
	free(v);
}

static void test_set_aside_never_overwrites(void **state)
{
	struct fixture *f = *state;
	const char *bad = "garbage\n";

	/* Three bad files within one second get three names. */
	assert_set_aside(f, bad, strlen(bad), "not a wg-rtsync state file");
	assert_set_aside(f, bad, strlen(bad), "not a wg-rtsync state file");
	assert_set_aside(f, bad, strlen(bad), "not a wg-rtsync state file");
	assert_int_equal(count_names(f->state, "wgt0.state.bad-", NULL, 0), 3);
}

/* A valid file's text with line i (0-based) replaced by repl. */
static char *with_line(const char *text, int i, const char *repl)
{
	char *out = malloc(strlen(text) + strlen(repl) + 2);
	const char *p = text;

	assert_non_null(out);
	out[0] = '\0';
	for (int line = 0; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (line == i)
			strcat(strcat(out, repl), "\n");
		else
			strncat(out, p, l);
		p += l;
	}
	return out;
}

/* fmt with every @D replaced by dev and every @P by peer. */
static void expand(char *out, size_t len, const char *fmt, const char *dev,
		   const char *peer)
{
	size_t o = 0;

	for (const char *p = fmt; *p; p++) {
		const char *put = NULL;
		if (p[0] == '@' && p[1] == 'D')
			put = dev;
		else if (p[0] == '@' && p[1] == 'P')
			put = peer;
		if (put) {
			size_t l = strlen(put);
			assert_true(o + l < len);
			memcpy(out + o, put, l);
			o += l;
			p++;
			continue;
		}
		assert_true(o + 1 < len);
		out[o++] = *p;
	}
	out[o] = '\0';
}

static void test_malformed_set_aside(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry v[2];
	char *good, key[WG_KEY_B64_LEN], peer[WG_KEY_B64_LEN], line[400];
	size_t len;
	/* Line 0 header, 1 comment, 2 and 3 entries, 4 "end 2". */
	struct {
		int line;
		const char *fmt; /* @D: the device key, @P: a peer key */
		const char *reason;
	} cases[] = {
		{0, "wg-rtsync-state 4 @D", "format version 4"},
		{0, "wg-rtsync-state 0 @D", "format version 0"},
		{0, "wg-rtsync-state 22 @D", "format version 22"},
		{0, "wg-rtsync-state @D", "format version"},
		{0, "wg-rtsync-state 1", "bad device key"},
		{0, "wg-rtsync-state 1 @D extra", "bad device key"},
		{0, "wg-rtsync-state 1 not-a-key", "bad device key"},
		{0, "WG-RTSYNC-STATE 1 @D", "not a wg-rtsync state file"},
		{2, "@P 192.0.2.1/24", "bad prefix"},
		{2, "@P 192.0.2.0/33", "bad prefix"},
		{2, "@P 192.0.2.0", "bad prefix"},
		{2, "@P banana/8", "bad prefix"},
		{2, "@P", "expected PEER PREFIX"},
		{2, "@P 192.0.2.0/24 @P", "bad displaced peer key"},
		{2, "@P 192.0.2.0/24 @D @D", "expected PEER PREFIX"},
		{2, "AAAA 192.0.2.0/24", "bad peer key"},
		{2, "@P 2001:db8::/32", "listed twice"},
		{2, "", "empty line"},
		{4, "end 3", "end says 3 entries"},
		{4, "end -1", "bad end line"},
		{4, "end 2x", "bad end line"},
		{4, "end 99999999999999999999999", "bad end line"},
		{4, "end 2\nend 3", "end says 3 entries, the file has 2"},
		{4, "end 2\n# late comment", "data after the end line"},
		{4, "# no end", "no end line"},
	};

	memset(v, 0, sizeof(v));
	v[0].peer = key_n(1);
	v[0].dst = P("192.0.2.0/24");
	v[1].peer = key_n(2);
	v[1].dst = P("2001:db8::/32");
	save_ok(f, v, 2);
	good = slurp(f->path, &len);
	wg_key_to_base64(&dev, key);
	wg_key_to_base64(&v[0].peer, peer);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expand(line, sizeof(line), cases[i].fmt, key, peer);
		char *text = with_line(good, cases[i].line, line);
		assert_set_aside(f, text, strlen(text), cases[i].reason);
		free(text);
	}
	/* Bytes no text line holds. */
	assert_set_aside(f, good, len - 1, "no line end");
	assert_set_aside(f, "", 0, "empty file");
	char nul[] = "wg-rtsync-state 1\0 x\n";
	assert_set_aside(f, nul, sizeof(nul) - 1, "NUL byte");
	memset(line, 'a', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	assert_set_aside(f, line, sizeof(line) - 1, "too long");
	free(good);
}

static void test_unreadable_set_aside(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *got = NULL;
	size_t n;
	char msg[STATEFILE_MSG_LEN], aside[PATH_MAX];

	/* A directory where the file should be. */
	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		STATEFILE_SET_ASIDE);
	assert_non_null(strstr(msg, "not a regular file"));
	assert_int_equal(count_names(f->state, "wgt0.state.bad-", aside, sizeof(aside)),
			 1);
	free(got);
	/* A FIFO: must not block. */
	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		STATEFILE_SET_ASIDE);
	assert_non_null(strstr(msg, "not a regular file"));
	free(got);
	/* Saving over a leftover directory fails, and leaves no temporary file. */
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_not_equal(
		statefile_save(f->state, ifname, &dev, NULL, 0, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "renaming"));
	assert_int_equal(count_tmp(f->state), 0);
}

/* A write that fails half-way (the file size limit) must leave the previous
 * file exactly as it was, and no temporary file. */
static void test_failed_write_keeps_old_file(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *old = make_entries(3), *big = make_entries(2000), *got = NULL;
	struct rlimit saved, small;
	char *before, *after, msg[STATEFILE_MSG_LEN];
	size_t blen, alen, n;
	void (*prev)(int);
	int r;

	save_ok(f, old, 3);
	before = slurp(f->path, &blen);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	small = saved;
	small.rlim_cur = 4096;
	prev = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	r = statefile_save(f->state, ifname, &dev, big, 2000, msg, sizeof(msg));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, prev);

	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(msg, "not written"));
	assert_non_null(strstr(msg, "previous one is kept"));
	after = slurp(f->path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(count_tmp(f->state), 0);
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		0);
	assert_entries_equal(old, 3, got, n);
	free(got);
	free(after);
	free(before);
	free(big);
	free(old);
}

/* Root bypasses mode bits through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH:
 * as root, they leave the effective set for a while (they stay permitted),
 * as the daemon runs without them (privs.h). */
static void dac_override(bool on)
{
	if (geteuid() != 0)
		return;
	assert_int_equal(capng_get_caps_process(), 0);
	capng_update(on ? CAPNG_ADD : CAPNG_DROP, CAPNG_EFFECTIVE, CAP_DAC_OVERRIDE);
	capng_update(on ? CAPNG_ADD : CAPNG_DROP, CAPNG_EFFECTIVE, CAP_DAC_READ_SEARCH);
	assert_int_equal(capng_apply(CAPNG_SELECT_CAPS), 0);
}

/* Without write permission on the directory (a read-only file system
 * says EROFS the same way: tests/netns/test_faults.py). */
static void test_read_only_dir_keeps_old_file(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *old = make_entries(3), *other = make_entries(9);
	char *before, *after, msg[STATEFILE_MSG_LEN];
	size_t blen, alen;
	int rc;

	save_ok(f, old, 3);
	before = slurp(f->path, &blen);
	assert_int_equal(chmod(f->state, 0500), 0);
	dac_override(false);
	rc = statefile_save(f->state, ifname, &dev, other, 9, msg, sizeof(msg));
	dac_override(true);
	assert_int_equal(rc, -EACCES);
	assert_non_null(strstr(msg, f->state));
	assert_non_null(strstr(msg, "previous one is kept"));
	assert_int_equal(chmod(f->state, 0700), 0);
	after = slurp(f->path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(after);
	free(before);
	free(other);
	free(old);
}

/* A state directory others may write to is refused by every operation,
 * which touches nothing in it. */
static void test_unsafe_state_dir_refused(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(2), *got = NULL;
	struct own_change c = {.owned = false, .e = v[0]};
	char msg[STATEFILE_MSG_LEN];
	const mode_t modes[] = {0777, 0770, 0702, 01777};
	size_t n;
	int fd;

	save_ok(f, v, 2);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->state, modes[i]), 0);
		assert_int_equal(
			statefile_save(f->state, ifname, &dev, v, 1, msg, sizeof(msg)),
			-EPERM);
		assert_non_null(strstr(msg, "writable by its group or others"));
		assert_non_null(strstr(msg, "chmod go-w"));
		assert_non_null(strstr(msg, f->state));
		assert_int_equal(statefile_load(f->state, ifname, &dev, &got, &n, NULL,
						msg, sizeof(msg)),
				 -EPERM);
		free(got);
		assert_int_equal(statefile_append(f->state, ifname, &c, 1, 1, NULL, msg,
						  sizeof(msg)),
				 -EPERM);
		assert_int_equal(
			statefile_open_append(f->state, ifname, &fd, msg, sizeof(msg)),
			-EPERM);
		assert_int_equal(fd, -1);
	}
	/* Nothing was written, set aside or left behind. */
	assert_int_equal(chmod(f->state, 0755), 0);
	got = load_ok(f, &n);
	assert_entries_equal(v, 2, got, n);
	assert_int_equal(count_tmp(f->state), 0);
	assert_int_equal(count_names(f->state, "wgt0.state.bad-", NULL, 0), 0);
	free(got);
	free(v);
}

/* As root: a state directory of another user is refused. */
static void test_state_dir_of_another_user_refused(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	char msg[STATEFILE_MSG_LEN];

	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(chown(f->state, 65534, 65534), 0);
	assert_int_equal(
		statefile_save(f->state, ifname, &dev, NULL, 0, msg, sizeof(msg)),
		-EPERM);
	assert_non_null(strstr(msg, "belongs to uid 65534"));
	assert_int_equal(access(f->path, F_OK), -1);
}

/* A symbolic link where the state file should be is never followed: not to
 * append, not to read, not to replace. The file it points to stays as it
 * was. */
static void test_symlinked_state_file_not_followed(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(2), *got = NULL;
	struct own_change c = {.owned = false, .e = v[0]};
	char victim[160], aside[PATH_MAX], msg[STATEFILE_MSG_LEN], *text;
	struct stat st;
	size_t n, len;

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	spit(victim, "victim\n", 7);
	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(symlink(victim, f->path), 0);
	assert_int_equal(
		statefile_append(f->state, ifname, &c, 1, 1, NULL, msg, sizeof(msg)),
		-EINVAL);
	assert_non_null(strstr(msg, "not a regular file"));
	/* Read: the link itself is set aside. */
	assert_int_equal(
		statefile_read(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		-EINVAL);
	free(got);
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		STATEFILE_SET_ASIDE);
	assert_non_null(strstr(msg, "not a regular file"));
	free(got);
	assert_int_equal(count_names(f->state, "wgt0.state.bad-", aside, sizeof(aside)),
			 1);
	assert_int_equal(lstat(aside, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* Replaced: the link goes, a file of ours takes its name. */
	assert_int_equal(symlink(victim, f->path), 0);
	save_ok(f, v, 2);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	text = slurp(victim, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(text, "victim\n", 7);
	free(text);
	free(v);
}

static void test_state_dir_not_a_directory(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	char msg[STATEFILE_MSG_LEN];

	spit(f->state, "x", 1);
	assert_int_equal(
		statefile_save(f->state, ifname, &dev, NULL, 0, msg, sizeof(msg)),
		-ENOTDIR);
	assert_non_null(strstr(msg, "not a directory"));
	assert_int_equal(statefile_save(f->state, "a/b", &dev, NULL, 0, msg, sizeof(msg)),
			 -EINVAL);
	assert_non_null(strstr(msg, "a/b"));
}

static void test_stale_tmp_removed(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(2), *got = NULL;
	char tmp[160], other[160], msg[STATEFILE_MSG_LEN];
	size_t n;

	save_ok(f, v, 2);
	/* What a crash between create and rename leaves behind. */
	snprintf(tmp, sizeof(tmp), "%s/.wgt0.state.tmp-abc123", f->state);
	snprintf(other, sizeof(other), "%s/.wgt01.state.tmp-abc123", f->state);
	spit(tmp, "wg-rtsync-state 1 ", 18);
	spit(other, "x", 1);
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		0);
	assert_entries_equal(v, 2, got, n);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(other, F_OK), 0); /* another interface's */
	free(got);
	free(v);
}

/* A small deterministic generator, so that a failure can be replayed. */
static uint64_t rng_state;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* Parses garbage; whatever it accepts must be a valid list that survives a
 * round trip. */
static void parse_garbage(const char *text, size_t len, const struct wg_key *dev)
{
	struct own_entry *v = NULL, *again = NULL;
	size_t n = 0, n2 = 0, flen;
	char why[256], *ftext;
	int r = statefile_parse(text, len, dev, &v, &n, NULL, why, sizeof(why));

	if (r != 0 && r != -EINVAL && r != -ESTALE)
		fail_msg("parse returned %d", r);
	if (r != 0) {
		assert_int_equal(n, 0);
		assert_null(v);
		assert_true(why[0] != '\0');
		return;
	}
	assert_int_equal(statefile_format(dev, v, n, &ftext, &flen), 0);
	assert_int_equal(
		statefile_parse(ftext, flen, dev, &again, &n2, NULL, why, sizeof(why)),
		0);
	assert_entries_equal(v, n, again, n2);
	free(ftext);
	free(again);
	free(v);
}

static void test_fuzz_truncations(void **state)
{
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(40), *got;
	char *text, why[256];
	size_t len, n;

	(void)state;
	assert_int_equal(statefile_format(&dev, v, 40, &text, &len), 0);
	/* Every proper prefix of the file is refused, even at a line end. */
	for (size_t cut = 0; cut < len; cut++) {
		got = NULL;
		assert_int_equal(statefile_parse(text, cut, &dev, &got, &n, NULL, why,
						 sizeof(why)),
				 -EINVAL);
		assert_null(got);
	}
	assert_int_equal(
		statefile_parse(text, len, &dev, &got, &n, NULL, why, sizeof(why)), 0);
	assert_entries_equal(v, 40, got, n);
	free(got);
	free(text);
	free(v);
}

/* A reason quotes text of the file: escaped, so that it stays one line in
 * the log and sends nothing to a terminal. The version is what the fuzz
 * target found (tests/fixtures/fuzz/README.md). */
static void assert_one_line(const char *why)
{
	for (const unsigned char *c = (const unsigned char *)why; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			fail_msg("reason \"%s\" holds byte 0x%02x", why, *c);
}

static void test_reasons_escaped(void **state)
{
	struct wg_key dev = device_key();
	struct own_entry *v;
	size_t n, len;
	char why[STATEFILE_MSG_LEN], key[WG_KEY_B64_LEN], text[300];
	char *file = read_source_file(
		"tests/fixtures/fuzz/statefile/control-char-in-version.state", &len);

	(void)state;
	assert_int_equal(statefile_parse(file, len, &dev, &v, &n, NULL, why, sizeof(why)),
			 -EINVAL);
	free(v);
	free(file);
	assert_one_line(why);
	assert_non_null(strstr(why, "format version \\x12,"));

	wg_key_to_base64(&dev, key);
	snprintf(text, sizeof(text),
		 "wg-rtsync-state 2 %s\n%s \x1b[2J10.0.0.0/8\nend 1\n", key, key);
	assert_int_equal(
		statefile_parse(text, strlen(text), &dev, &v, &n, NULL, why, sizeof(why)),
		-EINVAL);
	free(v);
	assert_one_line(why);
	assert_non_null(strstr(why, "bad prefix \"\\x1b[2J10.0.0.0/8\""));
}

static void test_fuzz_random(void **state)
{
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(12);
	char *good, *buf;
	size_t len;
	const char *seed_env = getenv("WGRS_FUZZ_SEED");
	unsigned long long seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed5eedULL;

	(void)state;
	rng_state = seed | 1;
	print_message("fuzz seed 0x%llx (set WGRS_FUZZ_SEED to replay)\n", seed);
	assert_int_equal(statefile_format(&dev, v, 12, &good, &len), 0);
	buf = malloc(len + 64);
	assert_non_null(buf);
	/* Mutations of a valid file: flipped bits, replaced bytes, cuts. */
	for (int iter = 0; iter < 20000; iter++) {
		size_t blen = len;
		memcpy(buf, good, len);
		for (int m = 1 + (int)(rng() % 4); m > 0; m--) {
			size_t at = rng() % blen;
			switch (rng() % 4) {
			case 0:
				buf[at] ^= (char)(1u << (rng() % 8));
				break;
			case 1:
				buf[at] = (char)rng();
				break;
			case 2:
				buf[at] = " \n\t0/:="[rng() % 7];
				break;
			default:
				blen = at + 1;
				break;
			}
		}
		parse_garbage(buf, blen, &dev);
	}
	/* Plain random bytes, sometimes with a valid header in front. */
	for (int iter = 0; iter < 5000; iter++) {
		size_t blen = rng() % (len + 64), start = 0;
		if (iter % 2 && blen > 64) {
			start = (size_t)(strchr(good, '\n') - good) + 1;
			memcpy(buf, good, start);
		}
		for (size_t i = start; i < blen; i++)
			buf[i] = (char)rng();
		parse_garbage(buf, blen, &dev);
	}
	free(buf);
	free(good);
	free(v);
}

/* Garbage through the whole load path: always set aside, never accepted. */
static void test_fuzz_files(void **state)
{
	struct fixture *f = *state;
	char buf[300];

	rng_state = 0xf11e5;
	for (int iter = 0; iter < 50; iter++) {
		size_t blen = rng() % sizeof(buf);
		for (size_t i = 0; i < blen; i++)
			buf[i] = (char)rng();
		assert_set_aside(f, buf, blen, "");
	}
	assert_int_equal(count_names(f->state, "wgt0.state.bad-", NULL, 0), 50);
}

static void test_large(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	const size_t count = 20000;
	struct own_entry *v = make_entries(count), *got = NULL;
	char msg[STATEFILE_MSG_LEN];
	size_t n;

	save_ok(f, v, count);
	assert_int_equal(
		statefile_load(f->state, ifname, &dev, &got, &n, NULL, msg, sizeof(msg)),
		0);
	assert_entries_equal(v, count, got, n);
	free(got);
	free(v);
}

/* ---- appended changes ---- */

static struct own_change owned(const struct own_entry *e)
{
	struct own_change c = {.e = *e, .owned = true};

	return c;
}

static struct own_change gone(const char *dst)
{
	struct own_change c = {.owned = false};

	c.e.dst = P(dst);
	return c;
}

static void append_ok(struct fixture *f, const struct own_change *v, size_t n,
		      size_t count)
{
	char msg[STATEFILE_MSG_LEN];
	size_t bytes = 0;

	assert_int_equal(
		statefile_append(f->state, ifname, v, n, count, &bytes, msg, sizeof(msg)),
		0);
	assert_string_equal(msg, "");
	assert_true(bytes > 0);
}

static int cmp_entry(const void *a, const void *b)
{
	return prefix_cmp(&((const struct own_entry *)a)->dst,
			  &((const struct own_entry *)b)->dst);
}

/* The entries as a set: order in the file after changes is not kept. */
static void assert_same_set(struct own_entry *a, size_t na, struct own_entry *b,
			    size_t nb)
{
	sort_items(a, na, sizeof(*a), cmp_entry);
	sort_items(b, nb, sizeof(*b), cmp_entry);
	assert_entries_equal(a, na, b, nb);
}

/* Changes appended after a full write: added, removed, moved to another
 * peer, given a displaced peer, removed and added again, and a removal of
 * a prefix the file never had. */
static void test_append_changes(void **state)
{
	struct fixture *f = *state;
	struct own_entry *v = make_entries(10), *got, want[12];
	struct own_entry extra[2];
	struct own_change c1[4], c2[3];
	size_t n, nw = 0;

	save_ok(f, v, 10);
	memset(extra, 0, sizeof(extra));
	extra[0].peer = key_n(3);
	extra[0].dst = P("2001:db8:ffff::/48");
	extra[1].peer = key_n(4);
	extra[1].dst = P("203.0.113.0/24");
	extra[1].displaced = key_n(5);
	c1[0] = owned(&extra[0]);
	c1[1] = gone("198.51.0.0/32"); /* v[0] */
	c1[2] = owned(&extra[1]);
	v[1].peer = key_n(6); /* moved */
	c1[3] = owned(&v[1]);
	append_ok(f, c1, 4, 11);
	c2[0] = gone("2001:db8:ffff::/48");
	c2[1] = owned(&extra[0]); /* back again */
	c2[2] = gone("192.0.2.99/32");
	append_ok(f, c2, 3, 11);
	for (size_t i = 1; i < 10; i++)
		want[nw++] = v[i];
	want[nw++] = extra[0];
	want[nw++] = extra[1];
	got = load_ok(f, &n);
	assert_same_set(want, nw, got, n);
	free(got);
	free(v);
}

/* The file kept open across rounds: blocks go after each other. */
static void test_append_to_open_file(void **state)
{
	struct fixture *f = *state;
	struct own_entry *v = make_entries(4), *got, added;
	struct own_change c;
	char msg[STATEFILE_MSG_LEN];
	size_t n, bytes;
	int fd;

	save_ok(f, v, 4);
	assert_int_equal(statefile_open_append(f->state, ifname, &fd, msg, sizeof(msg)),
			 0);
	memset(&added, 0, sizeof(added));
	added.peer = key_n(3);
	for (int i = 0; i < 3; i++) {
		char text[PREFIX_STRLEN];

		snprintf(text, sizeof(text), "2001:db8:feed:%d::/64", i);
		added.dst = P(text);
		c = owned(&added);
		assert_int_equal(statefile_append_to(fd, &c, 1, 5 + (size_t)i, &bytes,
						     msg, sizeof(msg)),
				 0);
		assert_true(bytes > 0);
	}
	assert_int_equal(close(fd), 0);
	got = load_ok(f, &n);
	assert_int_equal(n, 7);
	free(got);
	free(v);
}

static void test_append_needs_a_file(void **state)
{
	struct fixture *f = *state;
	struct own_change c = gone("192.0.2.0/24");
	char msg[STATEFILE_MSG_LEN];

	assert_int_equal(
		statefile_append(f->state, ifname, &c, 1, 0, NULL, msg, sizeof(msg)),
		-ENOENT);
	assert_non_null(strstr(msg, "append"));
	assert_int_equal(access(f->path, F_OK), -1);
}

/* A crash while a block was being appended: every cut of the file after
 * the snapshot gives the state of the last whole block before it; every
 * cut inside the snapshot is refused. */
static void test_append_cut_anywhere(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(6), *got = NULL, added;
	struct own_change c1[2], c2[1];
	size_t len, snap_len, block1_end, n;
	char *text, why[256];

	save_ok(f, v, 6);
	free(slurp(f->path, &snap_len));
	memset(&added, 0, sizeof(added));
	added.peer = key_n(2);
	added.dst = P("2001:db8:abcd::/48");
	c1[0] = owned(&added);
	c1[1] = gone("198.51.0.0/32");
	append_ok(f, c1, 2, 6);
	free(slurp(f->path, &block1_end));
	c2[0] = gone("2001:db8:abcd::/48");
	append_ok(f, c2, 1, 5);
	text = slurp(f->path, &len);
	for (size_t cut = 0; cut <= len; cut++) {
		int r = statefile_parse(text, cut, &dev, &got, &n, NULL, why,
					sizeof(why));

		if (cut < snap_len) {
			assert_int_equal(r, -EINVAL);
			continue;
		}
		assert_int_equal(r, 0);
		if (cut < block1_end)
			assert_int_equal(n, 6); /* the snapshot */
		else if (cut < len)
			assert_int_equal(n, 6); /* after block 1: one out, one in */
		else
			assert_int_equal(n, 5);
		if (cut >= block1_end) {
			bool has = false;
			for (size_t i = 0; i < n; i++)
				has |= prefix_equal(&got[i].dst, &added.dst);
			assert_int_equal(has, cut < len);
		}
		free(got);
	}
	free(text);
	free(v);
}

/* A whole block that is wrong is not a torn write: the file is set aside. */
static void test_append_bad_blocks_set_aside(void **state)
{
	struct fixture *f = *state;
	struct own_entry *v = make_entries(2);
	char *good, key[WG_KEY_B64_LEN], text[1024];
	size_t len;
	const struct {
		const char *block;
		const char *reason;
	} cases[] = {
		{"+ @P 192.0.2.1/24\nend 3\n", "bad prefix"},
		{"- 2001:db8::/33x\nend 2\n", "expected - PREFIX"},
		{"- \nend 2\n", "expected - PREFIX"},
		{"+ @P\nend 3\n", "expected PEER PREFIX"},
		{"+ @P 203.0.113.0/24\nend 2\n", "end says 2 entries, the file has 3"},
		{"+ @P 203.0.113.0/24\nend x\n", "bad end line"},
		{"end 3\n", "end says 3 entries, the file has 2"},
		{"? @P 192.0.2.1/24\nend 2\n", "bad prefix"},
		{"? @P\nend 2\n", "expected PEER PREFIX"},
		{"? @P 203.0.113.0/24 @P\nend 2\n", "bad displaced peer key"},
		{"? @P 203.0.113.0/24\nend 3\n", "end says 3 entries, the file has 2"},
		{"? @P 203.0.113.0/24\n+ @P 203.0.113.0/24\nend 3\n",
		 "intents and changes in one block"},
		{"- 198.51.0.0/32\n? @P 203.0.113.0/24\nend 1\n",
		 "intents and changes in one block"},
		{"?@P 203.0.113.0/24\nend 2\n", "data after the end line"},
		{"* @P 203.0.113.0/24\nend 3\n", "data after the end line"},
		{"+ @P 203.0.113.0/24\n# comment\nend 3\n", "data after the end line"},
	};

	save_ok(f, v, 2);
	good = slurp(f->path, &len);
	wg_key_to_base64(&v[0].peer, key);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char block[256];

		expand(block, sizeof(block), cases[i].block, key, key);
		snprintf(text, sizeof(text), "%s%s", good, block);
		assert_set_aside(f, text, strlen(text), cases[i].reason);
	}
	free(good);
	free(v);
}

/* The text of a file of v as an older version would have it (the same
 * snapshot under another header), written as the state file. */
static char *save_as_version(struct fixture *f, const struct own_entry *v, size_t n,
			     char version, size_t *len)
{
	char *text, *digit;

	save_ok(f, v, n);
	text = slurp(f->path, len);
	digit = strstr(text, "state 3 ");
	assert_non_null(digit);
	digit[6] = version;
	spit(f->path, text, *len);
	return text;
}

/* A version 1 file (a snapshot only) is read; changes after it are not. */
static void test_version_1(void **state)
{
	struct fixture *f = *state;
	struct own_entry *v = make_entries(3), *got;
	char *text, key[WG_KEY_B64_LEN], with[2048];
	size_t len, n;

	text = save_as_version(f, v, 3, '1', &len);
	got = load_ok(f, &n);
	assert_entries_equal(v, 3, got, n);
	free(got);
	wg_key_to_base64(&v[0].peer, key);
	snprintf(with, sizeof(with), "%s- 198.51.0.0/32\nend 2\n", text);
	assert_set_aside(f, with, strlen(with), "data after the end line");
	free(text);
	free(v);
}

/* A version 2 file (snapshot and change blocks) is read; intents and empty
 * blocks, which version 3 brought, are not part of it. */
static void test_version_2(void **state)
{
	struct fixture *f = *state;
	struct own_entry *v = make_entries(3), *got;
	char *text, key[WG_KEY_B64_LEN], with[2048];
	size_t len, n;

	text = save_as_version(f, v, 3, '2', &len);
	snprintf(with, sizeof(with), "%s- 198.51.0.0/32\nend 2\n", text);
	spit(f->path, with, strlen(with));
	got = load_ok(f, &n);
	assert_entries_equal(v + 1, 2, got, n);
	free(got);
	wg_key_to_base64(&v[0].peer, key);
	snprintf(with, sizeof(with), "%s? %s 203.0.113.0/24\nend 3\n", text, key);
	assert_set_aside(f, with, strlen(with), "data after the end line");
	snprintf(with, sizeof(with), "%send 3\n", text);
	assert_set_aside(f, with, strlen(with), "data after the end line");
	free(text);
	free(v);
}

static void intents_ok(struct fixture *f, const struct own_entry *v, size_t n,
		       size_t count)
{
	char msg[STATEFILE_MSG_LEN];
	size_t bytes = 0;
	int fd;

	assert_int_equal(statefile_open_append(f->state, ifname, &fd, msg, sizeof(msg)),
			 0);
	assert_int_equal(
		statefile_append_intents(fd, v, n, count, &bytes, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_true(bytes > 0);
	assert_int_equal(close(fd), 0);
}

/* Intents stay open until a change block (maybe an empty one) settles
 * them; open ones come after the entries, in the order written, as
 * written (with their displaced peer). */
static void test_intents_open_until_settled(void **state)
{
	struct fixture *f = *state;
	struct own_entry *v = make_entries(4), *got, in[3];
	struct own_change c;
	char *text;
	size_t n, ni;

	memset(in, 0, sizeof(in));
	in[0].peer = key_n(3);
	in[0].dst = P("2001:db8:ffff::/48");
	in[1].peer = key_n(4);
	in[1].dst = P("203.0.113.0/24");
	in[1].displaced = key_n(5);
	in[2].peer = key_n(5);
	in[2].dst = v[1].dst; /* a move of an owned prefix */
	save_ok(f, v, 4);
	intents_ok(f, in, 2, 4);
	intents_ok(f, in + 2, 1, 4); /* a second pass of the same round */
	got = load_all_ok(f, &n, &ni);
	assert_entries_equal(v, 4, got, n);
	assert_entries_equal(in, 3, got + n, ni);
	free(got);
	text = slurp(f->path, NULL);
	{
		char line[256], peer[WG_KEY_B64_LEN], disp[WG_KEY_B64_LEN];

		snprintf(line, sizeof(line), "\n? %s 203.0.113.0/24 %s\nend 4\n",
			 wg_key_to_base64(&in[1].peer, peer),
			 wg_key_to_base64(&in[1].displaced, disp));
		assert_non_null(strstr(text, line));
	}
	free(text);

	/* The round's changes settle them: one of them happened. */
	c = owned(&in[0]);
	append_ok(f, &c, 1, 5);
	got = load_all_ok(f, &n, &ni);
	assert_int_equal(n, 5);
	assert_int_equal(ni, 0);
	free(got);

	/* A round whose learned adds all failed settles its intents with an
	 * empty block. */
	intents_ok(f, in + 1, 1, 5);
	got = load_all_ok(f, &n, &ni);
	assert_int_equal(ni, 1);
	free(got);
	append_ok(f, NULL, 0, 5);
	got = load_all_ok(f, &n, &ni);
	assert_int_equal(n, 5);
	assert_int_equal(ni, 0);
	free(got);
	free(v);
}

/* A crash while an intent or a change block was being appended: every cut
 * after the snapshot gives the intents of whole blocks that no whole
 * change block settled. */
static void test_intents_cut_anywhere(void **state)
{
	struct fixture *f = *state;
	struct wg_key dev = device_key();
	struct own_entry *v = make_entries(3), *got = NULL, in[2];
	struct own_change c;
	size_t len, snap_len, intent1_end, change_end, n, ni;
	char *text, why[256];

	memset(in, 0, sizeof(in));
	in[0].peer = key_n(2);
	in[0].dst = P("2001:db8:abcd::/48");
	in[1].peer = key_n(3);
	in[1].dst = P("192.0.2.128/25");
	save_ok(f, v, 3);
	free(slurp(f->path, &snap_len));
	intents_ok(f, in, 1, 3);
	free(slurp(f->path, &intent1_end));
	c = owned(&in[0]);
	append_ok(f, &c, 1, 4);
	free(slurp(f->path, &change_end));
	intents_ok(f, in + 1, 1, 4);
	text = slurp(f->path, &len);
	for (size_t cut = snap_len; cut <= len; cut++) {
		assert_int_equal(
			statefile_parse(text, cut, &dev, &got, &n, &ni, why, sizeof(why)),
			0);
		if (cut < intent1_end) {
			assert_int_equal(n, 3);
			assert_int_equal(ni, 0);
		} else if (cut < change_end) {
			assert_int_equal(n, 3);
			assert_int_equal(ni, 1);
			assert_entries_equal(in, 1, got + n, ni);
		} else if (cut < len) {
			assert_int_equal(n, 4);
			assert_int_equal(ni, 0);
		} else {
			assert_int_equal(n, 4);
			assert_int_equal(ni, 1);
			assert_entries_equal(in + 1, 1, got + n, ni);
		}
		free(got);
	}
	free(text);
	free(v);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		T(test_round_trip),
		T(test_readable_text),
		T(test_empty_ownership),
		T(test_missing_file),
		T(test_nested_state_dir_created),
		T(test_other_device_key_set_aside),
		T(test_set_aside_never_overwrites),
		T(test_malformed_set_aside),
		T(test_unreadable_set_aside),
		T(test_failed_write_keeps_old_file),
		T(test_read_only_dir_keeps_old_file),
		T(test_unsafe_state_dir_refused),
		T(test_state_dir_of_another_user_refused),
		T(test_symlinked_state_file_not_followed),
		T(test_state_dir_not_a_directory),
		T(test_stale_tmp_removed),
		cmocka_unit_test(test_fuzz_truncations),
		cmocka_unit_test(test_fuzz_random),
		cmocka_unit_test(test_reasons_escaped),
		T(test_fuzz_files),
		T(test_large),
		T(test_append_changes),
		T(test_append_needs_a_file),
		T(test_append_to_open_file),
		T(test_append_cut_anywhere),
		T(test_append_bad_blocks_set_aside),
		T(test_version_1),
		T(test_version_2),
		T(test_intents_open_until_settled),
		T(test_intents_cut_anywhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
