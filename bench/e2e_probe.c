/* e2e_probe.c: the observer of the end-to-end benchmarks (bench/e2e.py). It
 * watches from outside the daemon, and cheaply, so that observing costs
 * far less than what is observed (reading a device with 1 000 000
 * AllowedIPs costs wireguard-go half a second; a probe costs microseconds).
 * Times are CLOCK_MONOTONIC seconds, the clock of Python's time.monotonic().
 *
 * e2e_probe handshake LISTEN_ADDR PORT TARGET [INTERVAL_US [TIMEOUT_S]]
 *     An AllowedIP is in place when traffic follows it. Sends a small UDP
 *     datagram to TARGET every INTERVAL_US (default 1000) and waits for the
 *     handshake initiation that WireGuard sends to a peer's endpoint
 *     (LISTEN_ADDR PORT, bound here) as soon as a packet for TARGET falls
 *     within that peer's AllowedIPs. Prints "ready" once bound, then
 *     "detected SECONDS"; exit 1 on timeout (default 600 s).
 * e2e_probe route new|del PREFIX PROTO [TIMEOUT_S]
 *     Waits for the rtnetlink notification of a route to PREFIX with
 *     protocol PROTO being added (new) or deleted (del). Prints "ready"
 *     once subscribed, then "detected SECONDS". Exit 3 if the kernel
 *     dropped notifications (the marker may have been among them).
 * e2e_probe dump [PROTO]
 *     One route dump of both families, all tables, as a tool that reads
 *     the table must do; prints the number of routes (of protocol PROTO).
 * e2e_probe read genl|uapi|route DEVICE SECONDS
 *     The floor of the idle poll (B5): reads the whole of something once a
 *     second for SECONDS and throws the answer away, parsing nothing:
 *     genl: a WG_CMD_GET_DEVICE dump of interface DEVICE; uapi: get=1 on
 *     wireguard-go's socket DEVICE (a path), over a kept connection;
 *     route: a route dump of both families (DEVICE is ignored). Prints
 *     "reads N bytes B user U system S wall W read_max R first_mean F
 *     first_max M" (the reads' total size, the CPU seconds they cost this
 *     process, by getrusage(2), the window's seconds, the longest read,
 *     and for uapi the time to the reply's first byte: what the server
 *     spends building a reply, in wireguard-go under the lock a change
 *     waits for).
 * e2e_probe latency LISTEN_ADDR [INTERVAL_US] < EVENTS
 *     One change at a time, each line of EVENTS:
 *       route add|del DST GW OIF TARGET PORT   (a route of protocol static
 *                                                in table main, by netlink)
 *       wg add|del IFNAME PEER DST TARGET PORT (an AllowedIP, by wg-rtsync's
 *                                                own WireGuard backend)
 *       probe TARGET PORT                      (no change: what the probe
 *                                                itself takes to see a peer)
 *       wait MICROSECONDS                      (nothing for that long: the
 *                                                next change comes at a moment
 *                                                of its own, not at once)
 *     then probes TARGET as above (default interval 50 us) until the
 *     handshake arrives on PORT. Prints "add|del|probe MICROSECONDS" per
 *     line, from just before the change is sent to the handshake's arrival,
 *     or "timeout" (after 5 s). */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "genl_codec.h"
#include "rtnl_codec.h"
#include "wg_auto.h"
#include "wgkey.h"

#define HANDSHAKE_INIT_TYPE 1
#define HANDSHAKE_INIT_LEN  148
#define DISCARD_PORT	    9
#define EVENT_TIMEOUT_S	    5.0
#define NL_RCVBUF	    (512 * 1024 * 1024)
#define NL_BUF		    (1024 * 1024)

static void die(const char *what)
{
	fprintf(stderr, "e2e_probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: e2e_probe handshake LISTEN_ADDR PORT TARGET "
			"[INTERVAL_US [TIMEOUT_S]]\n"
			"       e2e_probe route new|del PREFIX PROTO [TIMEOUT_S]\n"
			"       e2e_probe dump [PROTO]\n"
			"       e2e_probe read genl|uapi|route DEVICE SECONDS\n"
			"       e2e_probe latency LISTEN_ADDR [INTERVAL_US] < EVENTS\n");
	exit(2);
}

/* ---- UDP: the probe and the marker peer's endpoint ---- */

static socklen_t sockaddr_of(const char *addr, unsigned port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return sizeof(*s6);
	}
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return sizeof(*s4);
	}
	fprintf(stderr, "e2e_probe: not an address: %s\n", addr);
	exit(2);
}

static int listen_on(const char *addr, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(addr, port, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len))
		die("binding the endpoint");
	return fd;
}

struct probe {
	int fd;
	struct sockaddr_storage to;
	socklen_t to_len;
};

static void probe_open(struct probe *p, const char *target)
{
	p->to_len = sockaddr_of(target, DISCARD_PORT, &p->to);
	p->fd = socket(p->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->fd < 0)
		die("probe socket");
}

/* Before the route exists the send fails (unreachable): that is expected. */
static void probe_send(const struct probe *p)
{
	static const char payload[] = "wg-rtsync e2e probe";

	sendto(p->fd, payload, sizeof(payload), MSG_DONTWAIT,
	       (const struct sockaddr *)&p->to, p->to_len);
}

/* True when a handshake initiation arrived on fd (other datagrams are
 * read and dropped). */
static bool got_handshake(int fd)
{
	unsigned char buf[512];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
		if (n == HANDSHAKE_INIT_LEN && buf[0] == HANDSHAKE_INIT_TYPE)
			return true;
	return false;
}

/* Probes until the handshake arrives on listen_fd or the deadline passes.
 * Returns the arrival time, or 0 on timeout. */
static double probe_until(const struct probe *p, int listen_fd, double interval,
			  double deadline)
{
	struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};

	for (;;) {
		double t = now();
		struct timespec ts;

		if (got_handshake(listen_fd))
			return now();
		if (t > deadline)
			return 0;
		probe_send(p);
		ts.tv_sec = (time_t)interval;
		ts.tv_nsec = (long)((interval - (double)ts.tv_sec) * 1e9);
		if (ppoll(&pfd, 1, &ts, NULL) > 0 && got_handshake(listen_fd))
			return now();
	}
}

static int cmd_handshake(int argc, char **argv)
{
	double interval = argc > 3 ? atof(argv[3]) / 1e6 : 1e-3;
	double timeout = argc > 4 ? atof(argv[4]) : 600;
	int fd = listen_on(argv[0], (unsigned)atoi(argv[1]));
	struct probe p;
	double t;

	probe_open(&p, argv[2]);
	printf("ready\n");
	fflush(stdout);
	t = probe_until(&p, fd, interval, now() + timeout);
	if (!t) {
		printf("timeout\n");
		return 1;
	}
	printf("detected %.6f\n", t);
	return 0;
}

/* ---- rtnetlink ---- */

static struct mnl_socket *nl_open(unsigned groups)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int size = NL_RCVBUF;

	if (!nl || mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0)
		die("rtnetlink");
	if (groups && setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size,
				 sizeof(size)))
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size,
			   sizeof(size));
	return nl;
}

struct route_match {
	struct prefix want;
	uint8_t protocol;
	uint16_t type;
	bool found;
};

static int route_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **dst = data;

	if (mnl_attr_get_type(a) == RTA_DST)
		*dst = a;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_match *m = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *dst = NULL;
	size_t alen = m->want.family == AF_INET ? 4 : 16;

	if (nlh->nlmsg_type != m->type || rtm->rtm_family != m->want.family ||
	    rtm->rtm_dst_len != m->want.len || rtm->rtm_protocol != m->protocol)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &dst);
	if (dst && mnl_attr_get_payload_len(dst) == alen &&
	    !memcmp(mnl_attr_get_payload(dst), m->want.addr, alen))
		m->found = true;
	return MNL_CB_OK;
}

static int cmd_route(int argc, char **argv)
{
	struct route_match m = {0};
	double timeout = argc > 3 ? atof(argv[3]) : 600, deadline;
	unsigned groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	struct mnl_socket *nl;
	char *buf = malloc(NL_BUF);

	if (!buf || (strcmp(argv[0], "new") && strcmp(argv[0], "del")) ||
	    prefix_parse(argv[1], &m.want))
		usage();
	m.type = strcmp(argv[0], "new") ? RTM_DELROUTE : RTM_NEWROUTE;
	m.protocol = (uint8_t)atoi(argv[2]);
	nl = nl_open(groups);
	printf("ready\n");
	fflush(stdout);
	deadline = now() + timeout;
	while (!m.found) {
		struct pollfd pfd = {.fd = mnl_socket_get_fd(nl), .events = POLLIN};
		ssize_t n;

		if (now() > deadline) {
			printf("timeout\n");
			return 1;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(pfd.fd, buf, NL_BUF, MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) {
			printf("lost notifications\n");
			return 3;
		}
		if (n > 0)
			mnl_cb_run(buf, (size_t)n, 0, 0, route_cb, &m);
	}
	printf("detected %.6f\n", now());
	free(buf);
	mnl_socket_close(nl);
	return 0;
}

struct count {
	int protocol; /* -1: any */
	size_t n;
};

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	struct count *c = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	if (c->protocol < 0 || rtm->rtm_protocol == c->protocol)
		c->n++;
	return MNL_CB_OK;
}

/* Receives the reply to request seq to its end, each message passed to cb
 * (NULL: headers checked only); returns its size in bytes. */
static size_t recv_reply(struct mnl_socket *nl, char *buf, unsigned seq, mnl_cb_t cb,
			 void *data, const char *what)
{
	size_t bytes = 0;
	int r;

	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, NL_BUF);

		if (n < 0)
			die(what);
		bytes += (size_t)n;
		r = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb, data);
	} while (r > 0);
	if (r < 0)
		die(what);
	return bytes;
}

/* Sends a dump request for every route of family, all tables. */
static void send_route_dump(struct mnl_socket *nl, char *buf, int family, unsigned seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		die("route dump");
}

static size_t dump_family(struct mnl_socket *nl, char *buf, int family, unsigned seq,
			  int protocol)
{
	struct count count = {protocol, 0};

	send_route_dump(nl, buf, family, seq);
	recv_reply(nl, buf, seq, count_cb, &count, "route dump");
	return count.n;
}

static int cmd_dump(int argc, char **argv)
{
	struct mnl_socket *nl = nl_open(0);
	char *buf = malloc(NL_BUF);
	int protocol = argc > 0 ? atoi(argv[0]) : -1;
	size_t n;

	if (!buf)
		die("malloc");
	n = dump_family(nl, buf, AF_INET, 1, protocol) +
	    dump_family(nl, buf, AF_INET6, 2, protocol);
	printf("%zu\n", n);
	free(buf);
	mnl_socket_close(nl);
	return 0;
}

/* ---- read: the floor of the idle poll ---- */

struct reader {
	const char *device;
	struct mnl_socket *nl;
	int fd; /* uapi */
	uint16_t family;
	uint32_t seq;
	char *buf;
	size_t bytes;
	/* UAPI: from the request to the reply's first byte, the time the
	 * server spent building its reply (wireguard-go, under its lock). */
	double first_sum, first_max;
};

static void send_req(struct reader *rd, const struct buf *req, const char *what)
{
	if (mnl_socket_sendto(rd->nl, req->data, req->len) < 0)
		die(what);
}

static void genl_open(struct reader *rd)
{
	struct buf req = {0}, reply = {0};
	int r = -EBADMSG;

	rd->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!rd->nl || mnl_socket_bind(rd->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("generic netlink");
	if (wg_genl_encode_getfamily(&req, ++rd->seq))
		die("getfamily");
	send_req(rd, &req, "getfamily");
	/* The family and its ack may come in separate reads. */
	while (r == -EBADMSG) {
		ssize_t n = mnl_socket_recvfrom(rd->nl, rd->buf, NL_BUF);

		if (n < 0 || buf_append(&reply, rd->buf, (size_t)n))
			die("getfamily");
		r = wg_genl_parse_family(reply.data, reply.len, &rd->family);
	}
	if (r) {
		errno = -r;
		die("no wireguard family");
	}
	buf_free(&req);
	buf_free(&reply);
}

static void read_genl(struct reader *rd)
{
	struct buf req = {0};

	if (wg_genl_encode_get(&req, rd->family, ++rd->seq, rd->device))
		die("get");
	send_req(rd, &req, "get");
	rd->bytes += recv_reply(rd->nl, rd->buf, rd->seq, NULL, NULL, "get");
	buf_free(&req);
}

static void uapi_open(struct reader *rd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	rd->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (strlen(rd->device) >= sizeof(sun.sun_path))
		usage();
	strcpy(sun.sun_path, rd->device);
	if (rd->fd < 0 || connect(rd->fd, (struct sockaddr *)&sun, sizeof(sun)))
		die(rd->device);
}

/* A reply ends with "errno=N\n\n", the only empty line in it. */
static void read_uapi(struct reader *rd)
{
	char tail[2] = {0, 0};
	double t0 = now();
	bool first = true;

	if (write(rd->fd, "get=1\n\n", 7) != 7)
		die("get=1");
	while (tail[0] != '\n' || tail[1] != '\n') {
		ssize_t n = read(rd->fd, rd->buf, NL_BUF);

		if (n <= 0)
			die("get=1 reply");
		if (first) {
			double t = now() - t0;

			rd->first_sum += t;
			rd->first_max = t > rd->first_max ? t : rd->first_max;
			first = false;
		}
		rd->bytes += (size_t)n;
		tail[0] = n > 1 ? rd->buf[n - 2] : tail[1];
		tail[1] = rd->buf[n - 1];
	}
}

static void read_routes(struct reader *rd)
{
	static const int families[] = {AF_INET, AF_INET6};

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		send_route_dump(rd->nl, rd->buf, families[i], ++rd->seq);
		rd->bytes +=
			recv_reply(rd->nl, rd->buf, rd->seq, NULL, NULL, "route dump");
	}
}

static double tv_seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int cmd_read(char **argv)
{
	struct reader rd = {.device = argv[1], .fd = -1, .buf = malloc(NL_BUF)};
	void (*read_once)(struct reader *);
	double seconds = atof(argv[2]), start, next;
	struct rusage ru0, ru;
	unsigned reads = 0;
	double read_max = 0;

	if (!rd.buf || seconds <= 0)
		usage();
	if (!strcmp(argv[0], "genl")) {
		genl_open(&rd);
		read_once = read_genl;
	} else if (!strcmp(argv[0], "uapi")) {
		uapi_open(&rd);
		read_once = read_uapi;
	} else if (!strcmp(argv[0], "route")) {
		rd.nl = nl_open(0);
		read_once = read_routes;
	} else {
		usage();
	}
	getrusage(RUSAGE_SELF, &ru0); /* not the process's start */
	start = next = now();
	while (next < start + seconds) {
		double wait = next - now(), t;

		if (wait > 0)
			poll(NULL, 0, (int)(wait * 1000));
		t = now();
		read_once(&rd);
		t = now() - t;
		read_max = t > read_max ? t : read_max;
		reads++;
		next += 1.0;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("reads %u bytes %zu user %.6f system %.6f wall %.6f read_max %.6f "
	       "first_mean %.6f first_max %.6f\n",
	       reads, rd.bytes, tv_seconds(ru.ru_utime) - tv_seconds(ru0.ru_utime),
	       tv_seconds(ru.ru_stime) - tv_seconds(ru0.ru_stime), now() - start,
	       read_max, rd.first_sum / reads, rd.first_max);
	if (rd.nl)
		mnl_socket_close(rd.nl);
	if (rd.fd >= 0)
		close(rd.fd);
	free(rd.buf);
	return 0;
}

/* ---- latency: one change at a time ---- */

struct latency {
	struct mnl_socket *nl;
	struct wg_backend *wg;
	const char *listen_addr;
	double interval;
	uint32_t seq;
	char buf[8192];
};

/* Sends the route change; the kernel has applied it (and notified the
 * daemon) when sendto returns. The ack is read after the probe. */
static int route_change(struct latency *l, bool add, char **f)
{
	struct route_spec rs = {.table = RT_TABLE_MAIN, .protocol = RTPROT_STATIC};
	int len;

	if (prefix_parse(f[0], &rs.dst) || addr_parse(f[1], &rs.gw))
		return -EINVAL;
	rs.oif = atoi(f[2]);
	len = nl_encode_route(l->buf, sizeof(l->buf), add, &rs, ++l->seq);
	if (len < 0)
		return len;
	return mnl_socket_sendto(l->nl, l->buf, (size_t)len) < 0 ? -errno : 0;
}

static int route_ack(struct latency *l)
{
	ssize_t n = mnl_socket_recvfrom(l->nl, l->buf, sizeof(l->buf));

	if (n < 0)
		return -errno;
	return mnl_cb_run(l->buf, (size_t)n, l->seq, mnl_socket_get_portid(l->nl), NULL,
			  NULL) < 0
		       ? -errno
		       : 0;
}

static int wg_change(struct latency *l, bool add, char **f)
{
	struct change c = {.op = add ? CHANGE_ALLOWED_ADD : CHANGE_ALLOWED_DEL};
	int err = 0;

	if (wg_key_from_base64(f[1], &c.peer) || prefix_parse(f[2], &c.dst))
		return -EINVAL;
	l->wg->apply(l->wg, f[0], &c, 1, &err);
	return err;
}

static void latency_line(struct latency *l, char *line)
{
	char *f[8], *save = NULL;
	int n = 0, r;
	bool route, add;
	double t0, t;
	struct probe p;
	int fd;

	for (char *s = strtok_r(line, " \t\n", &save); s && n < 8;
	     s = strtok_r(NULL, " \t\n", &save))
		f[n++] = s;
	if (n == 2 && !strcmp(f[0], "wait")) {
		long long ns = (long long)(atof(f[1]) * 1e3);
		struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000),
				      .tv_nsec = (long)(ns % 1000000000)};

		while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
			;
		return;
	}
	if (n == 3 && !strcmp(f[0], "probe")) {
		fd = listen_on(l->listen_addr, (unsigned)atoi(f[2]));
		probe_open(&p, f[1]);
		t0 = now();
		t = probe_until(&p, fd, l->interval, t0 + EVENT_TIMEOUT_S);
		if (t)
			printf("probe %.1f\n", (t - t0) * 1e6);
		else
			printf("timeout\n");
		fflush(stdout);
		close(fd);
		close(p.fd);
		return;
	}
	if (n < 2)
		return;
	route = !strcmp(f[0], "route");
	add = !strcmp(f[1], "add");
	if (n != 7) {
		printf("error bad line\n");
		return;
	}
	fd = listen_on(l->listen_addr, (unsigned)atoi(f[6]));
	probe_open(&p, f[5]);
	t0 = now();
	r = route ? route_change(l, add, f + 2) : wg_change(l, add, f + 2);
	t = r ? 0 : probe_until(&p, fd, l->interval, t0 + EVENT_TIMEOUT_S);
	if (route && !r)
		r = route_ack(l);
	if (r)
		printf("error %s\n", strerror(-r));
	else if (!t)
		printf("timeout\n");
	else
		printf("%s %.1f\n", add ? "add" : "del", (t - t0) * 1e6);
	fflush(stdout);
	close(fd);
	close(p.fd);
}

static int cmd_latency(int argc, char **argv)
{
	static struct latency l;
	char line[1024];

	l.listen_addr = argv[0];
	l.interval = argc > 1 ? atof(argv[1]) / 1e6 : 50e-6;
	l.nl = nl_open(0);
	l.wg = wg_backend_auto_new(NULL);
	if (!l.wg)
		die("WireGuard backend");
	while (fgets(line, sizeof(line), stdin))
		latency_line(&l, line);
	l.wg->destroy(l.wg);
	mnl_socket_close(l.nl);
	return 0;
}

int main(int argc, char **argv)
{
	/* Wake-ups when due, not up to 50 us later: the probe's resolution. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "handshake") && argc >= 5)
		return cmd_handshake(argc - 2, argv + 2);
	if (!strcmp(argv[1], "route") && argc >= 5)
		return cmd_route(argc - 2, argv + 2);
	if (!strcmp(argv[1], "dump"))
		return cmd_dump(argc - 2, argv + 2);
	if (!strcmp(argv[1], "read") && argc == 5)
		return cmd_read(argv + 2);
	if (!strcmp(argv[1], "latency") && argc >= 3)
		return cmd_latency(argc - 2, argv + 2);
	usage();
}
