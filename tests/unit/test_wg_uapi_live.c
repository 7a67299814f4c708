/* test_wg_uapi_live: the UAPI backend against a real wireguard-go.
 *
 * Needs root: the test moves itself into a network namespace of its own
 * (unshare(CLONE_NEWNET)) and starts `wireguard-go -f NAME` there per test,
 * NAME holding this process's PID so that it is unique in the UAPI
 * directory /var/run/wireguard, which all namespaces share. wireguard-go is
 * ended by its PID in each test's teardown, at exit and on SIGTERM/SIGINT
 * (meson's timeout); it also gets SIGKILL should this process die
 * (PR_SET_PDEATHSIG), and a socket left by such a death is removed by the
 * next run (only names of this test's pattern whose PID is gone). The
 * namespace is anonymous: it goes with the last process in it.
 * Without root, wireguard-go or wg(8) the test is skipped (exit 77). */
#include <dirent.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "uapi_codec.h"
#include "wg_auto.h"
#include "wg_testutil.h"
#include "wg_uapi.h"

#define WAIT_MS	    10000
#define NAME_PREFIX "wgu"

#define PRIV_DEV "AE7jE2Mtnb5d8S+AoxoVLErdgHdmAwFr2kcW/hj6MGM="
#define KEY_DEV	 "v6eecaOUkwJnMdw/sdk3dxxV2t59MFh/sB7itOJiv0o="
#define KEY_A	 "FPI/ZBjENVcrVynzmR5tsWbLf/zWI5kP4BEH74nH+jA="
#define KEY_B	 "IBJlu/bEzmmzxj+EUGHZ8s/y40AOJ0NH9MJx7Dvjs0I="
#define KEY_TEMP "d2ctcnRzeW5jL3RlbXBvcmFyeS1wZWVyL3JlbW92YWw="

static const char *wg_path, *wggo_path;
static pid_t wggo_pid;	      /* the running wireguard-go, 0: none */
static char ifname[IFNAMSIZ]; /* its interface */
static unsigned name_counter;

/* ---------------------------------------------------------------------- */
/* wireguard-go                                                            */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sock_path(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s.sock", WG_UAPI_SOCKDIR, name);
}

/* Ends wireguard-go (it removes its socket on SIGTERM); SIGKILL after a
 * deadline; the socket goes in any case. Safe in a signal handler. */
static void stop_wireguard_go(void)
{
	char path[128];
	pid_t pid = wggo_pid;

	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 500; i++) {
			if (waitpid(pid, NULL, WNOHANG) == pid)
				break;
			if (i == 499) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				break;
			}
			usleep(10000);
		}
		wggo_pid = 0;
	}
	if (ifname[0]) {
		sock_path(ifname, path, sizeof(path));
		unlink(path);
	}
}

static void on_exit_signal(int sig)
{
	stop_wireguard_go();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Sockets of earlier runs of this test that died without cleaning up:
 * NAME_PREFIX<pid>x<n>.sock whose process is gone. */
static void remove_stale_sockets(void)
{
	DIR *d = opendir(WG_UAPI_SOCKDIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		unsigned long pid, n;
		char tail[16], path[512];

		if (sscanf(e->d_name, NAME_PREFIX "%lux%lu%15s", &pid, &n, tail) != 3 ||
		    strcmp(tail, ".sock") != 0 || pid == (unsigned long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", WG_UAPI_SOCKDIR, e->d_name);
		unlink(path);
	}
	closedir(d);
}

static bool socket_ready(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sock_path(name, sun.sun_path, sizeof(sun.sun_path));
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A connection to the device's socket, or -1. */
static int uapi_connect(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sock_path(ifname, sun.sun_path, sizeof(sun.sun_path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void start_wireguard_go(void)
{
	long deadline;

	snprintf(ifname, sizeof(ifname), NAME_PREFIX "%dx%u", (int)getpid(),
		 ++name_counter);
	wggo_pid = fork();
	assert_true(wggo_pid >= 0);
	if (wggo_pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(wggo_path, wggo_path, "-f", ifname, (char *)NULL);
		_exit(127);
	}
	deadline = now_ms() + WAIT_MS;
	while (!socket_ready(ifname)) {
		if (waitpid(wggo_pid, NULL, WNOHANG) == wggo_pid) {
			wggo_pid = 0;
			fail_msg("wireguard-go %s exited at start", ifname);
		}
		if (now_ms() > deadline)
			fail_msg("wireguard-go made no socket for %s", ifname);
		poll(NULL, 0, 10);
	}
}

#define WG(...)                                                                          \
	do {                                                                             \
		char out_[4096];                                                         \
		if (run_program(wg_path, out_, sizeof(out_), __VA_ARGS__) != 0)          \
			fail_msg("wg failed: %s", out_);                                 \
	} while (0)

/* `wg show IF allowed-ips` as text: "KEY\tPREFIX PREFIX...\n" per peer. */
static char *wg_show_allowed(void)
{
	static char out[1 << 16];

	if (run_program(wg_path, out, sizeof(out), "show %s allowed-ips", ifname) != 0)
		fail_msg("wg show failed: %s", out);
	return out;
}

/* The AllowedIPs wg(8) lists for a peer (base64 key), space-separated. */
static const char *wg_peer_line(const char *key)
{
	static char line[1 << 16];
	char *all = wg_show_allowed(), *at = strstr(all, key);
	size_t n;

	if (!at)
		return NULL;
	at += strlen(key) + 1;
	n = strcspn(at, "\n");
	snprintf(line, sizeof(line), " %.*s ", (int)n, at);
	return line;
}

static bool wg_peer_has(const char *key, const char *prefix)
{
	const char *line = wg_peer_line(key);
	char word[80];

	snprintf(word, sizeof(word), " %s ", prefix);
	return line && strstr(line, word);
}

/* ---------------------------------------------------------------------- */
/* Per test                                                                */

struct live {
	struct wg_backend *b;
};

static int setup(void **state)
{
	struct live *l = calloc(1, sizeof(*l));
	char keyfile[] = "/tmp/wgrs-uapi-live-XXXXXX";
	int fd;

	assert_non_null(l);
	*state = l;
	if (unshare(CLONE_NEWNET) != 0)
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	start_wireguard_go();
	fd = mkstemp(keyfile);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, PRIV_DEV "\n", strlen(PRIV_DEV) + 1),
			 (ssize_t)strlen(PRIV_DEV) + 1);
	close(fd);
	WG("set %s private-key %s", ifname, keyfile);
	unlink(keyfile);
	WG("set %s peer %s allowed-ips 192.0.2.2/32,2001:db8:a::/48,198.51.100.0/24",
	   ifname, KEY_A);
	WG("set %s peer %s allowed-ips fe80::2/128,2001:db8:b::/64", ifname, KEY_B);
	l->b = wg_uapi_backend_new(NULL);
	assert_non_null(l->b);
	return 0;
}

static int teardown(void **state)
{
	struct live *l = *state;

	stop_wireguard_go();
	if (l) {
		if (l->b)
			l->b->destroy(l->b);
		free(l);
	}
	return 0;
}

static struct change allowed(bool add, const char *peer_b64, const char *dst)
{
	struct change c;

	memset(&c, 0, sizeof(c));
	c.op = add ? CHANGE_ALLOWED_ADD : CHANGE_ALLOWED_DEL;
	c.peer = K(peer_b64);
	c.dst = P(dst);
	return c;
}

static const struct wg_peer *peer_of(const struct wg_device *d, const char *b64)
{
	struct wg_key k = K(b64);

	for (size_t i = 0; i < d->n_peers; i++)
		if (!memcmp(d->peers[i].key.b, k.b, WG_KEY_LEN))
			return &d->peers[i];
	return NULL;
}

static bool peer_holds(const struct wg_peer *p, const char *prefix)
{
	struct prefix want = P(prefix);

	for (size_t i = 0; p && i < p->n_allowed; i++)
		if (prefix_equal(&p->allowed[i], &want))
			return true;
	return false;
}

/* Does this wireguard-go accept allowed_ip=-PREFIX? Asked on a throwaway
 * peer, which is removed again. */
static bool accepts_minus(void)
{
	static const char probe[] =
		"set=1\n"
		"public_key="
		"0101010101010101010101010101010101010101010101010101010101010101\n"
		"allowed_ip=-192.0.2.254/32\n\n";
	char reply[64] = {0};
	int fd = uapi_connect();
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, probe, strlen(probe)), (ssize_t)strlen(probe));
	n = read(fd, reply, sizeof(reply) - 1);
	close(fd);
	assert_true(n > 0);
	WG("set %s peer AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= remove", ifname);
	return strncmp(reply, "errno=0\n", 8) == 0;
}

/* ---------------------------------------------------------------------- */
/* Tests                                                                   */

static void test_get(void **state)
{
	struct live *l = *state;
	struct wg_device dev;
	struct wg_key want = K(KEY_DEV);
	const struct wg_peer *a, *b;

	assert_int_equal(l->b->get(l->b, ifname, &dev), 0);
	assert_memory_equal(dev.pubkey.b, want.b, WG_KEY_LEN);
	assert_int_equal(dev.n_peers, 2);
	a = peer_of(&dev, KEY_A);
	b = peer_of(&dev, KEY_B);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->n_allowed, 3);
	assert_true(peer_holds(a, "192.0.2.2/32"));
	assert_true(peer_holds(a, "2001:db8:a::/48"));
	assert_true(peer_holds(a, "198.51.100.0/24"));
	assert_int_equal(b->n_allowed, 2);
	assert_true(peer_holds(b, "fe80::2/128"));
	assert_true(peer_holds(b, "2001:db8:b::/64"));
	wg_device_free(&dev);
}

static void test_add_allowed_ips(void **state)
{
	struct live *l = *state;
	struct change ch[] = {
		allowed(true, KEY_A, "203.0.113.0/25"),
		allowed(true, KEY_A, "2001:db8:c::/64"),
		allowed(true, KEY_B, "203.0.113.128/25"),
		/* Moves it from A: an AllowedIP has one peer at a time. */
		allowed(true, KEY_B, "198.51.100.0/24"),
		/* A peer the device does not have: not created (update_only). */
		allowed(true,
			"CK4oTA0zwRnTes54PMPIaYyvnxJR4fiXSdn3WidCzgc=", "192.0.2.9/32"),
	};
	int err[5];

	assert_int_equal(l->b->apply(l->b, ifname, ch, 5, err), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(err[i], 0);
	assert_true(wg_peer_has(KEY_A, "203.0.113.0/25"));
	assert_true(wg_peer_has(KEY_A, "2001:db8:c::/64"));
	assert_true(wg_peer_has(KEY_A, "192.0.2.2/32"));
	assert_true(wg_peer_has(KEY_B, "203.0.113.128/25"));
	assert_true(wg_peer_has(KEY_B, "198.51.100.0/24"));
	assert_false(wg_peer_has(KEY_A, "198.51.100.0/24"));
	assert_null(strstr(wg_show_allowed(), "CK4oTA0z"));
	/* Adding needs no removal mode. */
	assert_int_equal(remove_mode(l->b, ifname), WG_REMOVE_UNKNOWN);
}

/* Reads the device over and over while the main thread removes; any read
 * in which one of peer A's other AllowedIPs is missing, or the temporary
 * peer shows, is counted. */
struct watcher {
	atomic_bool stop;
	atomic_int reads, missing, temp_seen, errors;
};

static void *watch(void *arg)
{
	struct watcher *w = arg;
	struct wg_backend *b = wg_uapi_backend_new(NULL);
	struct buf reply = {0};

	if (!b) {
		w->errors++;
		return NULL;
	}
	while (!w->stop) {
		struct wg_device dev;
		bool temp;
		/* A raw get=1, so that a temporary peer would be seen. */
		int fd = uapi_connect();

		if (fd < 0 || write(fd, "get=1\n\n", 7) != 7) {
			w->errors++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		reply.len = 0;
		for (;;) {
			char chunk[65536];
			ssize_t n = read(fd, chunk, sizeof(chunk));

			if (n <= 0 || buf_append(&reply, chunk, (size_t)n))
				break;
			if (wg_uapi_reply_complete(reply.data, reply.len))
				break;
		}
		close(fd);
		if (wg_uapi_parse_get(reply.data, reply.len, &dev, &temp)) {
			w->errors++;
			continue;
		}
		const struct wg_peer *a = peer_of(&dev, KEY_A);
		if (!peer_holds(a, "192.0.2.2/32") || !peer_holds(a, "2001:db8:a::/48") ||
		    !peer_holds(a, "198.51.100.0/24"))
			w->missing++;
		if (temp)
			w->temp_seen++;
		w->reads++;
		wg_device_free(&dev);
	}
	buf_free(&reply);
	b->destroy(b);
	return NULL;
}

/* Removal on Debian's wireguard-go: "-PREFIX" is refused, so the backend
 * moves the prefixes onto its temporary peer and removes that peer; peer
 * A's other AllowedIPs are there in every read meanwhile. */
static void test_remove_allowed_ips(void **state)
{
	enum { ROUNDS = 100 };
	struct live *l = *state;
	bool native = accepts_minus();
	struct watcher w = {0};
	pthread_t th;
	struct change add[] = {
		allowed(true, KEY_A, "203.0.113.0/25"),
		allowed(true, KEY_A, "2001:db8:c::/64"),
		allowed(true, KEY_A, "203.0.113.200/32"),
	};
	struct change del[] = {
		allowed(false, KEY_A, "203.0.113.0/25"),
		allowed(false, KEY_A, "2001:db8:c::/64"),
		allowed(false, KEY_A, "203.0.113.200/32"),
	};
	int err[3];
	long deadline;

	printf("wireguard-go %s allowed_ip=-PREFIX\n", native ? "accepts" : "refuses");
	assert_int_equal(pthread_create(&th, NULL, watch, &w), 0);
	/* The watcher reads before, between and after the removals. */
	deadline = now_ms() + WAIT_MS;
	while (w.reads < 1 && now_ms() < deadline)
		poll(NULL, 0, 1);
	for (int round = 0; round < ROUNDS; round++) {
		assert_int_equal(l->b->apply(l->b, ifname, add, 3, err), 0);
		assert_int_equal(l->b->apply(l->b, ifname, del, 3, err), 0);
		for (int i = 0; i < 3; i++)
			assert_int_equal(err[i], 0);
	}
	int before = w.reads;
	while (w.reads < before + 1 && now_ms() < deadline)
		poll(NULL, 0, 1);
	w.stop = true;
	pthread_join(th, NULL);
	printf("watcher: %d reads during %d add/remove rounds\n", w.reads, ROUNDS);

	assert_int_equal(remove_mode(l->b, ifname),
			 native ? WG_REMOVE_NATIVE : WG_REMOVE_TEMP_PEER);
	assert_int_equal(w.errors, 0);
	assert_true(w.reads >= 2);
	assert_int_equal(w.missing, 0);
	assert_int_equal(w.temp_seen, 0);
	/* The removed ones are gone, the others stay, no temporary peer. */
	assert_false(wg_peer_has(KEY_A, "203.0.113.0/25"));
	assert_false(wg_peer_has(KEY_A, "2001:db8:c::/64"));
	assert_false(wg_peer_has(KEY_A, "203.0.113.200/32"));
	assert_true(wg_peer_has(KEY_A, "192.0.2.2/32"));
	assert_true(wg_peer_has(KEY_A, "2001:db8:a::/48"));
	assert_true(wg_peer_has(KEY_A, "198.51.100.0/24"));
	assert_true(wg_peer_has(KEY_B, "2001:db8:b::/64"));
	assert_null(strstr(wg_show_allowed(), KEY_TEMP));
}

/* Many at once: 2000 added in one transaction, 1000 of them removed in
 * one. */
static void test_many(void **state)
{
	enum { N = 2000 };
	struct live *l = *state;
	struct change *ch = calloc(N, sizeof(*ch));
	int *err = calloc(N, sizeof(*err));
	struct wg_device dev;
	const struct wg_peer *a;
	char dst[64];

	assert_non_null(ch);
	assert_non_null(err);
	for (int i = 0; i < N; i++) {
		snprintf(dst, sizeof(dst), "2001:db8:%x:%x::/64", 0x100 + i / 256,
			 i % 256);
		ch[i] = allowed(true, KEY_A, dst);
	}
	assert_int_equal(l->b->apply(l->b, ifname, ch, N, err), 0);
	for (int i = 0; i < N; i += 2)
		ch[i].op = CHANGE_ALLOWED_DEL;
	/* Only the deletions: every other one. */
	struct change *del = calloc(N / 2, sizeof(*del));
	assert_non_null(del);
	for (int i = 0; i < N / 2; i++)
		del[i] = ch[2 * i];
	assert_int_equal(l->b->apply(l->b, ifname, del, N / 2, err), 0);
	assert_int_equal(l->b->get(l->b, ifname, &dev), 0);
	a = peer_of(&dev, KEY_A);
	assert_non_null(a);
	assert_int_equal(a->n_allowed, 3 + N / 2);
	for (int i = 0; i < N; i++) {
		snprintf(dst, sizeof(dst), "2001:db8:%x:%x::/64", 0x100 + i / 256,
			 i % 256);
		if (peer_holds(a, dst) != (i % 2 == 1))
			fail_msg("%s %s", dst, i % 2 ? "missing" : "still there");
	}
	assert_true(peer_holds(a, "192.0.2.2/32"));
	wg_device_free(&dev);
	free(del);
	free(ch);
	free(err);
}

/* A crash between the move onto the temporary peer and its removal (the
 * connection closes before remove=true): wireguard-go applies what it got.
 * The next start finds the temporary peer and removes it. */
static void test_temp_peer_after_crash(void **state)
{
	struct live *l = *state;
	struct wg_key temp_key = wg_temp_peer_key;
	char hex[65], req[256];
	struct wg_backend *fresh;
	struct wg_device dev;
	long deadline;
	int fd;

	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nallowed_ip=198.51.100.0/24\n",
		 wg_key_to_hex(&temp_key, hex));
	fd = uapi_connect();
	assert_true(fd >= 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	close(fd);
	deadline = now_ms() + WAIT_MS;
	while (!wg_peer_has(KEY_TEMP, "198.51.100.0/24")) {
		if (now_ms() > deadline)
			fail_msg("the half-sent request left no temporary peer:\n%s",
				 wg_show_allowed());
		poll(NULL, 0, 10);
	}
	assert_false(wg_peer_has(KEY_A, "198.51.100.0/24"));

	/* A dry run reports the device without it, and leaves it there. */
	fresh = wg_uapi_backend_new(NULL);
	assert_non_null(fresh);
	fresh->read_only = true;
	assert_int_equal(fresh->get(fresh, ifname, &dev), 0);
	assert_int_equal(dev.n_peers, 2);
	wg_device_free(&dev);
	assert_non_null(strstr(wg_show_allowed(), KEY_TEMP));
	fresh->destroy(fresh);

	fresh = wg_uapi_backend_new(NULL);
	assert_non_null(fresh);
	assert_int_equal(fresh->get(fresh, ifname, &dev), 0);
	assert_int_equal(dev.n_peers, 2);
	for (size_t i = 0; i < dev.n_peers; i++)
		assert_false(wg_is_temp_peer(&dev.peers[i].key));
	wg_device_free(&dev);
	assert_null(strstr(wg_show_allowed(), KEY_TEMP));
	/* Its prefix went with it; A's others stay. */
	assert_false(wg_peer_has(KEY_A, "198.51.100.0/24"));
	assert_true(wg_peer_has(KEY_A, "192.0.2.2/32"));
	assert_true(wg_peer_has(KEY_A, "2001:db8:a::/48"));
	fresh->destroy(fresh);
	(void)l;
}

static void test_no_socket(void **state)
{
	struct live *l = *state;
	struct wg_device dev;
	struct change ch[] = {allowed(true, KEY_A, "203.0.113.0/24"),
			      allowed(false, KEY_A, "192.0.2.2/32")};
	int err[2];
	char name[IFNAMSIZ], dir[] = "/tmp/wgrs-uapi-dir-XXXXXX";
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct wg_backend *b;
	int fd;

	snprintf(name, sizeof(name), NAME_PREFIX "%dnone", (int)getpid());
	assert_int_equal(l->b->get(l->b, name, &dev), -ENODEV);
	assert_int_equal(dev.n_peers, 0);
	assert_int_equal(l->b->apply(l->b, name, ch, 2, err), -ENODEV);
	assert_int_equal(err[0], -ENODEV);
	assert_int_equal(err[1], -ENODEV);

	/* A socket nobody listens on (wireguard-go killed with SIGKILL). */
	assert_non_null(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/wgstale.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	b = wg_uapi_backend_new(dir);
	assert_non_null(b);
	assert_int_equal(b->get(b, "wgstale", &dev), -ENODEV);
	assert_int_equal(b->get(b, "../x", &dev), -EINVAL);
	b->destroy(b);
	unlink(sun.sun_path);
	rmdir(dir);

	/* The device goes away. */
	stop_wireguard_go();
	assert_int_equal(l->b->get(l->b, ifname, &dev), -ENODEV);
}

/* The automatic choice finds the wireguard-go device: no kernel
 * WireGuard device of that name (here no module at all, or a tun device
 * the kernel family refuses). */
static void test_auto_backend(void **state)
{
	struct wg_backend *a = wg_backend_auto_new(NULL);
	struct wg_device dev;
	struct change ch[] = {allowed(true, KEY_B, "203.0.113.0/24"),
			      allowed(false, KEY_A, "192.0.2.2/32")};
	int err[2];
	char name[IFNAMSIZ];

	(void)state;
	assert_non_null(a);
	assert_int_equal(a->get(a, ifname, &dev), 0);
	assert_int_equal(dev.n_peers, 2);
	wg_device_free(&dev);
	assert_int_equal(a->apply(a, ifname, ch, 2, err), 0);
	assert_true(wg_peer_has(KEY_B, "203.0.113.0/24"));
	assert_false(wg_peer_has(KEY_A, "192.0.2.2/32"));
	assert_true(wg_peer_has(KEY_A, "198.51.100.0/24"));
	snprintf(name, sizeof(name), NAME_PREFIX "%dnone", (int)getpid());
	assert_int_equal(a->get(a, name, &dev), -ENODEV);
	a->destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_allowed_ips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_allowed_ips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temp_peer_after_crash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_backend, setup, teardown),
	};
	static const char *const wg_paths[] = {"/usr/bin/wg", "/bin/wg",
					       "/usr/local/bin/wg"};
	static const char *const go_paths[] = {"/usr/bin/wireguard-go",
					       "/bin/wireguard-go",
					       "/usr/local/bin/wireguard-go"};

	if (geteuid() != 0) {
		printf("test_wg_uapi_live: skipped: needs root (namespaces, "
		       "wireguard-go)\n");
		return 77;
	}
	for (size_t i = 0; i < 3; i++) {
		if (!wg_path && access(wg_paths[i], X_OK) == 0)
			wg_path = wg_paths[i];
		if (!wggo_path && access(go_paths[i], X_OK) == 0)
			wggo_path = go_paths[i];
	}
	if (!wg_path || !wggo_path) {
		printf("test_wg_uapi_live: skipped: %s not installed\n",
		       !wg_path ? "wg (wireguard-tools)" : "wireguard-go");
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("test_wg_uapi_live: skipped: no network namespaces: %s\n",
		       strerror(errno));
		return 77;
	}
	mkdir(WG_UAPI_SOCKDIR, 0755);
	remove_stale_sockets();
	signal(SIGTERM, on_exit_signal);
	signal(SIGINT, on_exit_signal);
	signal(SIGHUP, on_exit_signal);
	atexit(stop_wireguard_go);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
