/* test_sockdiag.c: whether a unix socket file is served from this network
 * namespace, asked of the kernel (docs/spec.md 2.1, src/daemon/sockdiag.h):
 * a listener here is found; a file nobody listens on is not; a listener
 * made in another network namespace (as root) is not, though its file is
 * in the same directory. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockdiag.h"
#include "testutil.h"

static char dir[64];

static int listener(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 1))
		return -1;
	return fd;
}

static int here(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return sockdiag_unix_listener_here(st.st_ino, st.st_dev);
}

static void test_listener_here(void **state)
{
	char path[96];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/here.sock", dir);
	fd = listener(path);
	assert_true(fd >= 0);
	assert_int_equal(here(path), 1);
	close(fd); /* the file stays, nobody listens */
	assert_int_equal(here(path), 0);
	unlink(path);
}

/* A child in a namespace of its own listens; the parent must not take the
 * file for its own. */
static void test_listener_elsewhere(void **state)
{
	char path[96];
	int ready[2];
	pid_t pid;
	char c;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(path, sizeof(path), "%s/there.sock", dir);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) || listener(path) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(here(path), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	unlink(path);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/wgrs-sockdiag-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listener_here),
		cmocka_unit_test(test_listener_elsewhere),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
