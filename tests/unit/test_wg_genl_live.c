/* test_wg_genl_live: the kernel backend against kernel WireGuard, in a
 * network namespace of its own (unshare(CLONE_NEWNET): it goes away with
 * the process, whatever happens). wg(8) is the independent witness of what
 * the kernel holds.
 *
 * Exits 77 (meson: skipped) without root or without kernel WireGuard, as on
 * a host whose kernel has no WireGuard module; ci/vm/selftest runs it in the
 * VM, where Debian's 6.12 kernel has it. */
#include <errno.h>
#include <linux/genetlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "genl_codec.h"
#include "testutil.h"
#include "wg_exchange.h"
#include "wg_genl.h"
#include "wg_testutil.h"

#define PRIVATE_KEY "eMMGGijbQpOmPXBCYWKHFe3tbWumNylRWSuh79I0jVA="

/* ---- shell helpers ---- */

static int sh_status(const char *fmt, va_list ap)
{
	char cmd[4096];
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Runs a shell command; the test fails when it does. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = sh_status(fmt, ap);
	va_end(ap);
	if (st)
		fail_msg("command failed (%d): %s", st, fmt);
}

static int sh_quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh_quiet(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = sh_status(fmt, ap);
	va_end(ap);
	return st;
}

/* A command's whole output, NUL-terminated (free it). */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	char cmd[4096];
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	va_list ap;
	FILE *p;
	size_t got;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += got;
		if (cap - len < 2)
			out = realloc(out, cap *= 2);
	}
	out[len] = 0;
	if (pclose(p) != 0)
		fail_msg("command failed: %s", cmd);
	return out;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- devices ---- */

static char *b64(const struct wg_key *k)
{
	static char buf[4][WG_KEY_B64_LEN];
	static int i;

	i = (i + 1) % 4;
	return wg_key_to_base64(k, buf[i]);
}

static void make_dev(const char *name)
{
	sh("ip link add %s type wireguard", name);
	sh("echo %s | wg set %s private-key /dev/stdin listen-port 0", PRIVATE_KEY, name);
}

static void del_dev(const char *name)
{
	sh("ip link del %s", name);
}

/* The allowed IPs of peer as wg(8) reads them, sorted; -1 when wg(8) does
 * not list the peer. */
static int cmp_prefix(const void *a, const void *b)
{
	return prefix_cmp(a, b);
}

static long wg_allowed(const char *dev, const struct wg_key *peer, struct prefix **out)
{
	char *text = sh_out("wg show %s allowed-ips", dev), *line, *save = NULL;
	long n = -1;

	*out = NULL;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), *is = NULL;

		assert_non_null(tab);
		*tab = 0;
		if (strcmp(line, b64(peer)))
			continue;
		n = 0;
		if (!strcmp(tab + 1, "(none)"))
			break;
		*out = calloc(strlen(tab + 1) / 8 + 2, sizeof(**out));
		for (char *x = strtok_r(tab + 1, " ", &is); x;
		     x = strtok_r(NULL, " ", &is))
			(*out)[n++] = P(x);
		qsort(*out, (size_t)n, sizeof(**out), cmp_prefix);
		break;
	}
	free(text);
	return n;
}

static bool wg_lists_peer(const char *dev, const struct wg_key *peer)
{
	char *text = sh_out("wg show %s peers", dev);
	bool found = strstr(text, b64(peer)) != NULL;

	free(text);
	return found;
}

/* peer holds exactly want[0..n-1] (any order), says wg(8). */
static void assert_allowed(const char *dev, const struct wg_key *peer,
			   const struct prefix *want, size_t n)
{
	struct prefix *got, *sorted = malloc((n + 1) * sizeof(*sorted));
	long have = wg_allowed(dev, peer, &got);

	assert_int_equal(have, (long)n);
	memcpy(sorted, want, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_prefix);
	for (size_t i = 0; i < n; i++)
		if (!prefix_equal(&sorted[i], &got[i])) {
			char a[PREFIX_STRLEN], b[PREFIX_STRLEN];
			fail_msg("%s: want %s, wg shows %s", dev,
				 prefix_format(&sorted[i], a), prefix_format(&got[i], b));
		}
	free(sorted);
	free(got);
}

static const struct wg_peer *find_peer(const struct wg_device *d, const struct wg_key *k)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (!wg_key_cmp(&d->peers[i].key, k))
			return &d->peers[i];
	return NULL;
}

/* Distinct documentation prefixes, any number of them. */
static struct prefix nth_prefix(unsigned i)
{
	struct prefix p = P("2001:db8::/64");

	p.addr[4] = (uint8_t)(i >> 16);
	p.addr[5] = (uint8_t)(i >> 8);
	p.addr[6] = (uint8_t)i;
	return p;
}

static struct change ch_add(const struct wg_key *k, struct prefix p)
{
	return (struct change){.op = CHANGE_ALLOWED_ADD, .peer = *k, .dst = p};
}

static struct change ch_del(const struct wg_key *k, struct prefix p)
{
	return (struct change){.op = CHANGE_ALLOWED_DEL, .peer = *k, .dst = p};
}

static void apply_ok(struct wg_backend *b, const char *dev, const struct change *ch,
		     size_t n)
{
	int *err = calloc(n + 1, sizeof(*err));

	assert_int_equal(b->apply(b, dev, ch, n, err), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(err[i], 0);
	free(err);
}

/* What removal this kernel should offer. The daemon detects it (never from
 * a version string); the test only checks the detection against the
 * version that added WGALLOWEDIP_F_REMOVE_ME. */
static enum wg_remove_mode expected_mode(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	uname(&u);
	sscanf(u.release, "%u.%u", &major, &minor);
	return major > 6 || (major == 6 && minor >= 16) ? WG_REMOVE_NATIVE
							: WG_REMOVE_TEMP_PEER;
}

static const struct wg_key peer_a = {{0xa1, 1}}, peer_b = {{0xb2, 2}};
static const char *static_a[] = {"192.0.2.1/32", "2001:db8:a::/48", "198.51.100.0/25"};

/* A device with peer a (its static AllowedIPs, an endpoint) and peer b. */
static void make_standard(const char *dev)
{
	make_dev(dev);
	sh("wg set %s peer %s endpoint 192.0.2.100:51820 persistent-keepalive 25 "
	   "allowed-ips %s,%s,%s peer %s allowed-ips 203.0.113.0/24",
	   dev, b64(&peer_a), static_a[0], static_a[1], static_a[2], b64(&peer_b));
}

/* ---- tests ---- */

static void test_get(void **state)
{
	struct wg_backend *b = wg_genl_backend_new();
	struct wg_device dev;
	struct prefix want[3];
	char *pub;
	struct wg_key k;

	(void)state;
	assert_non_null(b);
	make_standard("wgl-get");
	assert_int_equal(b->get(b, "wgl-get", &dev), 0);
	pub = sh_out("wg show wgl-get public-key");
	pub[strcspn(pub, "\n")] = 0;
	k = K(pub);
	assert_memory_equal(dev.pubkey.b, k.b, WG_KEY_LEN);
	assert_int_equal(dev.n_peers, 2);
	assert_int_equal(find_peer(&dev, &peer_a)->n_allowed, 3);
	for (int i = 0; i < 3; i++)
		want[i] = P(static_a[i]);
	assert_allowed("wgl-get", &peer_a, want, 3);
	for (int i = 0; i < 3; i++) {
		bool seen = false;
		for (size_t j = 0; j < 3; j++)
			seen |= prefix_equal(&find_peer(&dev, &peer_a)->allowed[j],
					     &want[i]);
		assert_true(seen);
	}
	assert_int_equal(find_peer(&dev, &peer_b)->n_allowed, 1);
	wg_device_free(&dev);
	free(pub);
	del_dev("wgl-get");
	b->destroy(b);
}

static void test_no_device(void **state)
{
	struct wg_backend *b = wg_genl_backend_new();
	struct change ch[1] = {ch_add(&peer_a, P("192.0.2.0/24"))};
	struct wg_device dev;
	int err[1];

	(void)state;
	assert_int_equal(b->get(b, "wgl-none", &dev), -ENODEV);
	assert_int_equal(b->apply(b, "wgl-none", ch, 1, err), -ENODEV);
	assert_int_equal(err[0], -ENODEV);
	sh("ip link add wgl-veth0 type veth peer name wgl-veth1");
	assert_int_equal(b->get(b, "wgl-veth0", &dev), -ENODEV);
	assert_int_equal(b->apply(b, "wgl-veth0", ch, 1, err), -ENODEV);
	sh("ip link del wgl-veth0");
	/* The socket is still in step after the errors. */
	make_dev("wgl-after");
	assert_int_equal(b->get(b, "wgl-after", &dev), 0);
	assert_int_equal(dev.n_peers, 0);
	wg_device_free(&dev);
	del_dev("wgl-after");
	b->destroy(b);
}

static void test_add_and_remove(void **state)
{
	struct wg_backend *b = wg_genl_backend_new();
	struct change ch[4] = {
		ch_add(&peer_a, P("2001:db8:100::/48")),
		ch_add(&peer_a, P("203.0.113.128/25")), /* inside peer b's /24: a prefix
							   of its own */
		ch_add(&peer_b, P("198.51.100.128/25")),
		ch_add((struct wg_key[]){key_n(5)},
		       P("192.0.2.64/26")), /* no such peer */
	};
	struct prefix want[5];

	(void)state;
	make_standard("wgl-add");
	apply_ok(b, "wgl-add", ch, 4);
	for (int i = 0; i < 3; i++)
		want[i] = P(static_a[i]);
	want[3] = ch[0].dst;
	want[4] = ch[1].dst;
	assert_allowed("wgl-add", &peer_a, want, 5);
	want[0] = P("203.0.113.0/24");
	want[1] = ch[2].dst;
	assert_allowed("wgl-add", &peer_b, want, 2);
	assert_false(wg_lists_peer("wgl-add", &ch[3].peer)); /* UPDATE_ONLY */

	/* Removal: the kernel's own way where it has one, else through the
	 * temporary peer. Peer a's static AllowedIPs stay. */
	ch[0] = ch_del(&peer_a, P("2001:db8:100::/48"));
	ch[1] = ch_del(&peer_a, P("203.0.113.128/25"));
	ch[2] = ch_del(&peer_b, P("198.51.100.128/25"));
	apply_ok(b, "wgl-add", ch, 3);
	assert_int_equal(remove_mode(b, "wgl-add"), expected_mode());
	for (int i = 0; i < 3; i++)
		want[i] = P(static_a[i]);
	assert_allowed("wgl-add", &peer_a, want, 3);
	want[0] = P("203.0.113.0/24");
	assert_allowed("wgl-add", &peer_b, want, 1);
	assert_false(wg_lists_peer("wgl-add", &wg_temp_peer_key));
	/* Removing what the peer does not hold changes nothing. */
	apply_ok(b, "wgl-add", ch, 1);
	for (int i = 0; i < 3; i++)
		want[i] = P(static_a[i]);
	assert_allowed("wgl-add", &peer_a, want, 3);
	assert_false(wg_lists_peer("wgl-add", &wg_temp_peer_key));
	del_dev("wgl-add");
	b->destroy(b);
}

/* A crash between the move onto the temporary peer and its removal leaves
 * it behind, holding the prefix: the next start removes it, which
 * completes the removal. */
static void test_leftover_temp_peer(void **state)
{
	struct wg_backend *b;
	struct wg_device dev;
	struct prefix want[3];

	(void)state;
	make_standard("wgl-crash");
	/* wg set replaces a peer's list: the static ones again, and one more. */
	sh("wg set wgl-crash peer %s allowed-ips %s,%s,%s,2001:db8:dead::/48",
	   b64(&peer_a), static_a[0], static_a[1], static_a[2]);
	/* The first step of a removal, as the backend sends it, and no more. */
	sh("wg set wgl-crash peer %s allowed-ips 2001:db8:dead::/48",
	   b64(&wg_temp_peer_key));
	assert_true(wg_lists_peer("wgl-crash", &wg_temp_peer_key));

	b = wg_genl_backend_new(); /* the restart */
	assert_int_equal(b->get(b, "wgl-crash", &dev), 0);
	assert_null(find_peer(&dev, &wg_temp_peer_key));
	assert_int_equal(dev.n_peers, 2);
	assert_int_equal(find_peer(&dev, &peer_a)->n_allowed, 3);
	wg_device_free(&dev);
	assert_false(wg_lists_peer("wgl-crash", &wg_temp_peer_key));
	for (int i = 0; i < 3; i++)
		want[i] = P(static_a[i]);
	assert_allowed("wgl-crash", &peer_a, want, 3);
	del_dev("wgl-crash");
	b->destroy(b);
}

/* How many of must[0..n-1] peer p does not hold (p may be NULL). */
static unsigned count_missing(const struct wg_peer *p, const struct prefix *must,
			      size_t n)
{
	unsigned missing = 0;
	struct prefix *held = NULL;

	if (p && p->n_allowed) {
		held = malloc(p->n_allowed * sizeof(*held));
		memcpy(held, p->allowed, p->n_allowed * sizeof(*held));
		qsort(held, p->n_allowed, sizeof(*held), cmp_prefix);
	}
	for (size_t i = 0; i < n; i++)
		missing += !held || !bsearch(&must[i], held, p->n_allowed, sizeof(*held),
					     cmp_prefix);
	free(held);
	return missing;
}

/* ---- a witness that reads the device while the backend changes it ---- */

/* One dump over its own socket, decoded without the backend (which would
 * remove the temporary peer it finds). -EAGAIN: the dump was interrupted. */
static int witness_read(struct mnl_socket *nl, uint16_t family, const char *ifname,
			struct wg_device *dev, bool *temp_found)
{
	static char buf[65536];
	static uint32_t seq = 1;
	struct buf req = {0}, reply = {0};
	bool complete = false;
	int r = wg_genl_encode_get(&req, family, ++seq, ifname);

	if (!r && mnl_socket_sendto(nl, req.data, req.len) < 0)
		r = -errno;
	while (!r && !complete) {
		ssize_t got = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int rest = (int)got;

		if (got < 0) {
			r = -errno;
			break;
		}
		for (; mnl_nlmsg_ok(nlh, rest); nlh = mnl_nlmsg_next(nlh, &rest)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			buf_append(&reply, nlh, MNL_ALIGN(nlh->nlmsg_len));
			complete |= nlh->nlmsg_type == NLMSG_DONE ||
				    nlh->nlmsg_type == NLMSG_ERROR;
		}
	}
	if (!r)
		r = wg_genl_parse_dump(reply.data, reply.len, dev, temp_found);
	buf_free(&req);
	buf_free(&reply);
	return r;
}

struct witness {
	pid_t pid;
	int stop_w, result_r;
};

/* A child that reads ifname until told to stop and counts the consistent
 * reads in which peer misses one of must[0..n-1]. It has read once before
 * this returns. */
static struct witness witness_start(const char *ifname, const struct wg_key *peer,
				    const struct prefix *must, size_t n)
{
	int stop[2], result[2];
	struct witness w;
	char ready;

	assert_int_equal(pipe(stop), 0);
	assert_int_equal(pipe(result), 0);
	w.pid = fork();
	assert_true(w.pid >= 0);
	if (w.pid == 0) {
		struct mnl_socket *nl = mnl_socket_open(NETLINK_GENERIC);
		struct buf req = {0}, reply = {0};
		unsigned reads = 0, missing = 0, interrupted = 0;
		uint16_t family = 0;
		char line[128];

		close(stop[1]);
		close(result[0]);
		if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
			_exit(2);
		/* The family id: GETFAMILY, read up to its ACK. */
		wg_genl_encode_getfamily(&req, 1);
		mnl_socket_sendto(nl, req.data, req.len);
		for (;;) {
			static char buf[16384];
			ssize_t got = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			if (got <= 0 || buf_append(&reply, buf, (size_t)got))
				_exit(2);
			if (!wg_genl_parse_family(reply.data, reply.len, &family))
				break;
		}
		for (;;) {
			struct pollfd pfd = {.fd = stop[0], .events = POLLIN};
			struct wg_device dev;
			int r = witness_read(nl, family, ifname, &dev, NULL);

			if (r == -EAGAIN) {
				interrupted++;
			} else if (r) {
				_exit(3);
			} else {
				missing += count_missing(find_peer(&dev, peer), must, n);
				wg_device_free(&dev);
				if (reads++ == 0 && write(result[1], "r", 1) != 1)
					_exit(2);
			}
			if (poll(&pfd, 1, 0) > 0)
				break;
		}
		snprintf(line, sizeof(line), "%u %u %u\n", reads, missing, interrupted);
		if (write(result[1], line, strlen(line)) < 0)
			_exit(2);
		_exit(0);
	}
	close(stop[0]);
	close(result[1]);
	w.stop_w = stop[1];
	w.result_r = result[0];
	assert_int_equal(read(w.result_r, &ready, 1), 1);
	return w;
}

/* Stops the witness; returns the reads it made (and fails on a miss). */
static unsigned witness_stop(struct witness *w)
{
	char line[128] = {0};
	unsigned reads = 0, missing = 1, interrupted = 0;
	int st;
	ssize_t got;

	close(w->stop_w);
	got = read(w->result_r, line, sizeof(line) - 1);
	close(w->result_r);
	assert_int_equal(waitpid(w->pid, &st, 0), w->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(got > 0);
	assert_int_equal(sscanf(line, "%u %u %u", &reads, &missing, &interrupted), 3);
	printf("witness: %u consistent reads, %u interrupted\n", reads, interrupted);
	assert_int_equal(missing, 0);
	return reads;
}

/* ---- a transport that checks the device after every change ---- */

/* Sends req on nl and feeds its reply to cb: the backend's exchange,
 * written again here so that the test can look between the messages. */
static int raw_exchange(struct mnl_socket *nl, const struct nlmsghdr *req, mnl_cb_t cb,
			void *data)
{
	static char buf[65536];
	int err = 0;

	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t got = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int rest = (int)got;

		if (got < 0)
			return -errno;
		for (; mnl_nlmsg_ok(nlh, rest); nlh = mnl_nlmsg_next(nlh, &rest)) {
			if (nlh->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    nlh->nlmsg_type == NLMSG_DONE) {
				int e = *(const int *)mnl_nlmsg_get_payload(nlh);
				return err ? err : e;
			}
			if (!err && cb(nlh, data) == MNL_CB_ERROR)
				err = errno ? -errno : -EBADMSG;
		}
	}
}

struct checker {
	struct mnl_socket *nl, *look;
	uint16_t family;
	const char *ifname;
	const struct wg_key *peer;
	const struct prefix *must;
	size_t n_must;
	unsigned sets, reads, missing, temp_holding;
};

static int checker_exchange(void *ctx, const struct nlmsghdr *req, mnl_cb_t cb,
			    void *data)
{
	struct checker *c = ctx;
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(req);
	int r = raw_exchange(c->nl, req, cb, data);
	struct wg_device dev;
	bool temp = false;

	if (req->nlmsg_type != c->family || g->cmd != WG_CMD_SET_DEVICE)
		return r;
	c->sets++;
	/* Nothing changes the device but us: the read is consistent. */
	assert_int_equal(witness_read(c->look, c->family, c->ifname, &dev, &temp), 0);
	c->missing += count_missing(find_peer(&dev, c->peer), c->must, c->n_must);
	wg_device_free(&dev);
	c->temp_holding += temp;
	c->reads++;
	return r;
}

static int family_of(struct mnl_socket *nl, uint16_t *family)
{
	static char buf[16384];
	struct buf req = {0}, reply = {0};
	int r = wg_genl_encode_getfamily(&req, 1);

	if (!r && mnl_socket_sendto(nl, req.data, req.len) < 0)
		r = -errno;
	while (!r) {
		ssize_t got = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (got <= 0 || buf_append(&reply, buf, (size_t)got)) {
			r = -EIO;
			break;
		}
		if (!wg_genl_parse_family(reply.data, reply.len, family))
			break;
	}
	buf_free(&req);
	buf_free(&reply);
	return r;
}

/* The kernel backend over a transport that, after each WG_CMD_SET_DEVICE
 * message, reads the device and counts the prefixes of must that peer does
 * not hold. */
static struct wg_backend *checked_backend(struct checker *c, const char *ifname,
					  const struct wg_key *peer,
					  const struct prefix *must, size_t n_must)
{
	memset(c, 0, sizeof(*c));
	c->nl = mnl_socket_open(NETLINK_GENERIC);
	c->look = mnl_socket_open(NETLINK_GENERIC);
	assert_non_null(c->nl);
	assert_non_null(c->look);
	assert_true(mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) >= 0);
	assert_true(mnl_socket_bind(c->look, 0, MNL_SOCKET_AUTOPID) >= 0);
	assert_int_equal(family_of(c->look, &c->family), 0);
	c->ifname = ifname;
	c->peer = peer;
	c->must = must;
	c->n_must = n_must;
	return wg_genl_backend_new_exchange(checker_exchange, c, 0);
}

static void checker_close(struct checker *c)
{
	mnl_socket_close(c->nl);
	mnl_socket_close(c->look);
}

/* One peer with 20 000 AllowedIPs (WGRS_LIVE_ALLOWEDIPS): added in messages
 * split like wg(8), read back complete (the dump splits the list too); then
 * half of them removed through a transport that reads the device after
 * every message, while a witness reads it all the time: the static
 * AllowedIPs and the other half are in every read. */
static void test_twenty_thousand(void **state)
{
	/* Fewer under valgrind (ci/vm/selftest's 11-kernel-backend-valgrind). */
	const char *env = getenv("WGRS_LIVE_ALLOWEDIPS");
	const size_t n = env ? strtoul(env, NULL, 10) & ~(size_t)1 : 20000;
	struct wg_backend *b = wg_genl_backend_new(), *cb;
	struct change *ch = calloc(n, sizeof(*ch));
	struct prefix *want = calloc(n + 3, sizeof(*want));
	struct wg_device dev;
	struct witness w;
	struct checker c;
	double t0;
	size_t keep;

	(void)state;
	make_standard("wgl-big");
	for (size_t i = 0; i < n; i++)
		ch[i] = ch_add(&peer_a, nth_prefix((unsigned)i));
	t0 = now_s();
	apply_ok(b, "wgl-big", ch, n);
	printf("add %zu: %.2f s\n", n, now_s() - t0);

	t0 = now_s();
	assert_int_equal(b->get(b, "wgl-big", &dev), 0);
	printf("get %zu: %.2f s\n", n + 4, now_s() - t0);
	assert_int_equal(find_peer(&dev, &peer_a)->n_allowed, n + 3);
	wg_device_free(&dev);
	for (size_t i = 0; i < 3; i++)
		want[i] = P(static_a[i]);
	for (size_t i = 0; i < n; i++)
		want[3 + i] = ch[i].dst;
	t0 = now_s();
	assert_allowed("wgl-big", &peer_a, want, n + 3);
	printf("wg show %zu: %.2f s\n", n + 4, now_s() - t0);
	/* Every prefix came back from the dump, none twice. */
	assert_int_equal(b->get(b, "wgl-big", &dev), 0);
	{
		const struct wg_peer *p = find_peer(&dev, &peer_a);
		struct prefix *got = malloc(p->n_allowed * sizeof(*got));
		memcpy(got, p->allowed, p->n_allowed * sizeof(*got));
		qsort(got, p->n_allowed, sizeof(*got), cmp_prefix);
		qsort(want, n + 3, sizeof(*want), cmp_prefix);
		for (size_t i = 0; i < n + 3; i++)
			assert_true(prefix_equal(&got[i], &want[i]));
		free(got);
	}
	wg_device_free(&dev);

	/* Remove the even ones; the static ones and the odd ones must stay. */
	keep = 0;
	for (size_t i = 0; i < 3; i++)
		want[keep++] = P(static_a[i]);
	for (size_t i = 1; i < n; i += 2)
		want[keep++] = nth_prefix((unsigned)i);
	for (size_t i = 0; i < n / 2; i++)
		ch[i] = ch_del(&peer_a, nth_prefix((unsigned)(2 * i)));
	/* Through a transport that reads the device after every message;
	 * and a witness that reads it all the time meanwhile. */
	cb = checked_backend(&c, "wgl-big", &peer_a, want, keep);
	w = witness_start("wgl-big", &peer_a, want, keep);
	t0 = now_s();
	apply_ok(cb, "wgl-big", ch, n / 2);
	printf("remove %zu (%s, %u messages): %.2f s\n", n / 2,
	       wg_remove_mode_name(remove_mode(cb, "wgl-big")), c.sets, now_s() - t0);
	witness_stop(&w);
	printf("checked after each: %u reads, %u with the temporary peer holding "
	       "prefixes\n",
	       c.reads, c.temp_holding);
	assert_int_equal(c.missing, 0);
	assert_true(c.reads >= n / 2 * 40 / 4096);
	assert_int_equal(remove_mode(cb, "wgl-big"), expected_mode());
	if (expected_mode() == WG_REMOVE_TEMP_PEER)
		assert_true(c.temp_holding > 0); /* checked inside the window */
	cb->destroy(cb);
	checker_close(&c);
	assert_allowed("wgl-big", &peer_a, want, keep);
	assert_false(wg_lists_peer("wgl-big", &wg_temp_peer_key));
	want[0] = P("203.0.113.0/24");
	assert_allowed("wgl-big", &peer_b, want, 1);

	del_dev("wgl-big");
	free(ch);
	free(want);
	b->destroy(b);
}

/* The probe runs against the temporary peer only: a real peer with a
 * refused request in flight could be half changed. Here peer a's list is
 * watched while the first removal (and so the probe) happens. */
static void test_probe_leaves_peers_alone(void **state)
{
	struct checker c;
	struct wg_backend *b;
	struct change ch[1] = {ch_del(&peer_a, P("2001:db8:1::/64"))};
	struct prefix want[3];
	struct witness w;

	(void)state;
	make_standard("wgl-probe");
	sh("wg set wgl-probe peer %s allowed-ips %s,%s,%s,2001:db8:1::/64", b64(&peer_a),
	   static_a[0], static_a[1], static_a[2]);
	for (int i = 0; i < 3; i++)
		want[i] = P(static_a[i]);
	b = checked_backend(&c, "wgl-probe", &peer_a, want, 3);
	w = witness_start("wgl-probe", &peer_a, want, 3);
	apply_ok(b, "wgl-probe", ch, 1);
	witness_stop(&w);
	assert_int_equal(c.missing, 0);
	assert_true(c.reads >= 2); /* the probe, then the removal */
	assert_int_equal(remove_mode(b, "wgl-probe"), expected_mode());
	checker_close(&c);
	assert_allowed("wgl-probe", &peer_a, want, 3);
	assert_false(wg_lists_peer("wgl-probe", &wg_temp_peer_key));
	del_dev("wgl-probe");
	b->destroy(b);
}

/* Each test's duration (TCG in the VM is slow; this shows where it goes). */
/* The idle poll read in pieces over the kernel's own dump socket, driven
 * as the daemon's loop drives it (poll() with a deadline between steps). */
static int live_poll(struct wg_backend *b, const char *dev, uint64_t known,
		     struct wg_device *out, bool *same, int *steps)
{
	int fd, r = wg_backend_poll_start(b, dev, known, &fd);

	*steps = 0;
	while (r == 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		assert_int_equal(poll(&p, 1, 10000), 1);
		r = b->poll_step(b, &fd, out, same);
		++*steps;
	}
	return r;
}

/* Read in pieces, the kernel's dump gives what the whole read gives; a
 * change to the device while its dump is read abandons the read, and the
 * next read finds the change (docs/spec.md 5.19). */
static void test_poll_in_pieces(void **state)
{
	struct wg_backend *b = wg_genl_backend_new();
	struct change *ch = calloc(5000, sizeof(*ch));
	struct change one = ch_add(&peer_a, P("198.51.100.200/32"));
	struct wg_device whole, dev;
	uint64_t known;
	bool same = false;
	int steps, fd, err[1];

	(void)state;
	assert_non_null(b);
	assert_non_null(ch);
	make_standard("wgl-pieces");
	for (unsigned i = 0; i < 5000; i++)
		ch[i] = ch_add(&peer_b, nth_prefix(i));
	apply_ok(b, "wgl-pieces", ch, 5000);
	assert_int_equal(b->get(b, "wgl-pieces", &whole), 0);
	known = wg_device_fingerprint(&whole);

	assert_int_equal(live_poll(b, "wgl-pieces", known, &dev, &same, &steps), 1);
	assert_true(same);
	assert_memory_equal(dev.pubkey.b, whole.pubkey.b, WG_KEY_LEN);
	printf("  a dump of 5004 AllowedIPs in %d steps\n", steps);

	/* Changed by hand: the snapshot, as the whole read has it. */
	sh("wg set wgl-pieces peer %s allowed-ips 203.0.113.0/24,192.0.2.77/32",
	   b64(&peer_b));
	wg_device_free(&whole);
	assert_int_equal(b->get(b, "wgl-pieces", &whole), 0);
	assert_int_equal(live_poll(b, "wgl-pieces", known, &dev, &same, &steps), 1);
	assert_false(same);
	assert_true(wg_device_fingerprint(&dev) == wg_device_fingerprint(&whole));
	known = wg_device_fingerprint(&whole);
	wg_device_free(&dev);

	/* A change while the dump is read: abandoned, then read again. */
	assert_int_equal(wg_backend_poll_start(b, "wgl-pieces", known, &fd), 0);
	assert_int_equal(b->apply(b, "wgl-pieces", &one, 1, err), 0);
	assert_int_equal(err[0], 0);
	assert_int_equal(b->poll_step(b, &fd, &dev, &same), -ECANCELED);
	assert_int_equal(live_poll(b, "wgl-pieces", known, &dev, &same, &steps), 1);
	assert_false(same);
	assert_int_equal(find_peer(&dev, &peer_a)->n_allowed, 4);
	wg_device_free(&dev);
	wg_device_free(&whole);
	free(ch);
	del_dev("wgl-pieces");
	b->destroy(b);
}

static double test_start;

static int timer_start(void **state)
{
	(void)state;
	test_start = now_s();
	return 0;
}

static int timer_stop(void **state)
{
	(void)state;
	printf("took %.2f s\n", now_s() - test_start);
	return 0;
}

#define TIMED(t) cmocka_unit_test_setup_teardown(t, timer_start, timer_stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TIMED(test_get),
		TIMED(test_no_device),
		TIMED(test_add_and_remove),
		TIMED(test_leftover_temp_peer),
		TIMED(test_probe_leaves_peers_alone),
		TIMED(test_twenty_thousand),
		TIMED(test_poll_in_pieces),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("skipped: needs root (a network namespace of its own)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("skipped: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	if (sh_quiet("ip link set lo up && ip link add wgl-probe0 type wireguard "
		     "2>/dev/null")) {
		printf("skipped: no kernel WireGuard here (ci/vm/selftest runs this in a "
		       "VM)\n");
		return 77;
	}
	sh("ip link del wgl-probe0");
	if (getenv("WGRS_TEST_FILTER"))
		cmocka_set_test_filter(getenv("WGRS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
