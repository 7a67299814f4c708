/* test_statedir.c: the state directory is opened only where no other user
 * can change it (docs/spec.md 6.1, src/daemon/statedir.h): its own mode and
 * owner, every directory on the way, symbolic links on the way. Tests that
 * need another user's files run as root only. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statedir.h"
#include "testutil.h"

#define NOBODY 65534

struct fixture {
	char dir[64]; /* a fresh directory per test, mode 0700 */
	char path[PATH_MAX];
	char msg[STATEDIR_MSG_LEN];
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/wgrs-statedir-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* f->path = f->dir + "/" + rel */
static const char *at(struct fixture *f, const char *rel)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, rel);
	return f->path;
}

static void mkdir_mode(struct fixture *f, const char *rel, mode_t mode)
{
	assert_int_equal(mkdir(at(f, rel), 0700), 0);
	assert_int_equal(chmod(f->path, mode), 0);
}

static void assert_refused(struct fixture *f, const char *dir, int err, const char *why)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", dir);
	assert_int_equal(statedir_check(copy, f->msg, sizeof(f->msg)), err);
	if (!strstr(f->msg, why))
		fail_msg("check: \"%s\" does not say \"%s\"", f->msg, why);
	assert_int_equal(statedir_open(copy, true, f->msg, sizeof(f->msg)), err);
	if (!strstr(f->msg, why))
		fail_msg("open: \"%s\" does not say \"%s\"", f->msg, why);
	assert_non_null(strstr(f->msg, copy)); /* names the configured path */
}

/* The directory is made (mode 0700, parents too), and the descriptor is
 * the directory itself. */
static void test_made_and_opened(void **state)
{
	struct fixture *f = *state;
	struct stat st, fst;
	ino_t ino;
	int fd;

	assert_int_equal(statedir_check(at(f, "a/b/state"), f->msg, sizeof(f->msg)), 0);
	assert_int_equal(access(at(f, "a"), F_OK), -1); /* a check makes nothing */
	fd = statedir_open(at(f, "a/b/state"), true, f->msg, sizeof(f->msg));
	assert_true(fd >= 0);
	assert_string_equal(f->msg, "");
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(fstat(fd, &fst), 0);
	assert_int_equal(st.st_ino, fst.st_ino);
	ino = st.st_ino;
	assert_int_equal(fsync(fd), 0); /* readable: it can be synced */
	close(fd);
	assert_int_equal(stat(at(f, "a"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Without create, a missing one is ENOENT. */
	assert_int_equal(statedir_open(at(f, "nothing"), false, f->msg, sizeof(f->msg)),
			 -ENOENT);
	assert_non_null(strstr(f->msg, "does not exist"));
	/* ".", ".." and doubled slashes are walked like the kernel does. */
	fd = statedir_open(at(f, "a/./b//../b/state/"), false, f->msg, sizeof(f->msg));
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &fst), 0);
	assert_int_equal(fst.st_ino, ino);
	close(fd);
}

static void test_own_mode(void **state)
{
	struct fixture *f = *state;
	const mode_t bad[] = {0777, 0770, 0720, 0702, 01777, 01770};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mkdir_mode(f, "s", bad[i]);
		assert_refused(f, at(f, "s"), -EPERM,
			       "is writable by its group or others");
		assert_non_null(strstr(f->msg, "chmod go-w"));
		assert_int_equal(rmdir(at(f, "s")), 0);
	}
	/* Readable by all is fine: only writes could redirect ours. */
	mkdir_mode(f, "s", 0755);
	assert_int_equal(statedir_check(at(f, "s"), f->msg, sizeof(f->msg)), 0);
}

static void test_own_owner(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip();
	mkdir_mode(f, "s", 0700);
	assert_int_equal(chown(f->path, NOBODY, NOBODY), 0);
	assert_refused(f, at(f, "s"), -EPERM,
		       "belongs to uid 65534, not to the daemon's");
}

/* A directory on the way that others may write to, unless sticky. */
static void test_ancestor_mode(void **state)
{
	struct fixture *f = *state;
	int fd;

	mkdir_mode(f, "open", 0777);
	assert_refused(f, at(f, "open/state"), -EPERM, "open is writable by its group");
	assert_non_null(strstr(f->msg, "not sticky"));
	assert_int_equal(access(at(f, "open/state"), F_OK), -1); /* nothing made */
	assert_int_equal(chmod(at(f, "open"), 01777), 0);
	fd = statedir_open(at(f, "open/state"), true, f->msg, sizeof(f->msg));
	assert_true(fd >= 0);
	close(fd);
}

static void test_ancestor_owner(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip();
	mkdir_mode(f, "theirs", 0755);
	assert_int_equal(chown(f->path, NOBODY, NOBODY), 0);
	mkdir_mode(f, "theirs/state", 0700);
	assert_refused(f, at(f, "theirs/state"), -EPERM, "belongs to uid 65534, neither");
	/* In a sticky directory, one of theirs is no better. */
	assert_int_equal(chmod(at(f, "theirs"), 01777), 0);
	assert_refused(f, at(f, "theirs/state"), -EPERM, "neither root nor");
}

/* Links of root or ours are followed (/var/run -> /run); another user's
 * are not, wherever they are. */
static void test_links(void **state)
{
	struct fixture *f = *state;
	char target[PATH_MAX];
	int fd;

	mkdir_mode(f, "real", 0700);
	snprintf(target, sizeof(target), "%s", at(f, "real"));
	assert_int_equal(symlink(target, at(f, "abs")), 0);
	assert_int_equal(symlink("real", at(f, "rel")), 0);
	assert_int_equal(symlink("abs/state", at(f, "last")), 0);
	fd = statedir_open(at(f, "abs/state"), true, f->msg, sizeof(f->msg));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(access(at(f, "real/state"), F_OK), 0);
	fd = statedir_open(at(f, "rel/state"), false, f->msg, sizeof(f->msg));
	assert_true(fd >= 0);
	close(fd);
	/* A link as the last component: its target must be safe too. */
	fd = statedir_open(at(f, "last"), false, f->msg, sizeof(f->msg));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(at(f, "real/state"), 0777), 0);
	assert_refused(f, at(f, "last"), -EPERM, "writable by its group or others");
	/* Loops end. */
	assert_int_equal(symlink("loop", at(f, "loop")), 0);
	assert_refused(f, at(f, "loop/state"), -ELOOP, "too many symbolic links");
	if (geteuid() != 0)
		return;
	assert_int_equal(lchown(at(f, "rel"), NOBODY, NOBODY), 0);
	assert_refused(f, at(f, "rel/state"), -EPERM, "symbolic link");
	assert_non_null(strstr(f->msg, "belongs to uid 65534"));
}

static void test_not_a_directory(void **state)
{
	struct fixture *f = *state;
	int fd = open(at(f, "file"), O_CREAT | O_WRONLY, 0600);

	assert_true(fd >= 0);
	close(fd);
	assert_refused(f, at(f, "file"), -ENOTDIR, "not a directory");
	assert_refused(f, at(f, "file/state"), -ENOTDIR, "not a directory");
	assert_int_equal(statedir_check("relative/dir", f->msg, sizeof(f->msg)), -EINVAL);
	assert_non_null(strstr(f->msg, "not an absolute path"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_made_and_opened), T(test_own_mode),	 T(test_own_owner),
		T(test_ancestor_mode),	 T(test_ancestor_owner), T(test_links),
		T(test_not_a_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
