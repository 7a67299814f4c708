/* route_refuse.c: an LD_PRELOAD shim for tests/netns/test_faults.py, for
 * the refusals of route changes that the kernel has no real way to make on
 * demand: EEXIST (real only where a route wg-rtsync has not seen stands,
 * docs/spec.md 4.6) and ENOBUFS (the kernel's answer to a route add
 * when it cannot allocate the route, fib_create_info). The other refusals
 * are real in the tests: ENETUNREACH, ENETDOWN, EPERM. Never for production.
 *
 * WGRS_REFUSE_ROUTES="PREFIX=ERRNO[,PREFIX=ERRNO...]" (ERRNO by name)
 * names the destinations. While the file WGRS_REFUSE_WHILE names exists
 * (always, without the variable), every RTM_NEWROUTE and RTM_DELROUTE sent
 * for them on a NETLINK_ROUTE socket goes to the kernel as an NLMSG_NOOP,
 * which it acks without doing anything, and the ack's error becomes -ERRNO
 * on its way back: the daemon sees what a refusing kernel would send. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RULES   16
#define MAX_PENDING 4096

struct rule {
	int family;
	unsigned len;
	unsigned char addr[16];
	int err;
};

static struct rule rules[MAX_RULES];
static size_t n_rules;
static struct {
	uint32_t seq;
	int err;
} pending[MAX_PENDING];
static size_t n_pending;

static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *,
			      socklen_t);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);

static int errno_of(const char *name)
{
	static const struct {
		const char *name;
		int err;
	} names[] = {{"EEXIST", EEXIST}, {"ENOBUFS", ENOBUFS},
		     {"EPERM", EPERM},	 {"ENETUNREACH", ENETUNREACH},
		     {"ENOMEM", ENOMEM}, {"EINVAL", EINVAL}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i].name))
			return names[i].err;
	return 0;
}

__attribute__((constructor)) static void init(void)
{
	const char *spec = getenv("WGRS_REFUSE_ROUTES");
	char copy[1024], *save = NULL;

	real_sendto = dlsym(RTLD_NEXT, "sendto");
	real_recv = dlsym(RTLD_NEXT, "recv");
	real_recvmsg = dlsym(RTLD_NEXT, "recvmsg");
	if (!spec)
		return;
	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *item = strtok_r(copy, ",", &save); item && n_rules < MAX_RULES;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *slash = strchr(item, '/');
		struct rule *r = &rules[n_rules];

		if (!eq || !slash || slash > eq)
			continue;
		*eq = *slash = '\0';
		r->family = strchr(item, ':') ? AF_INET6 : AF_INET;
		r->len = (unsigned)atoi(slash + 1);
		r->err = errno_of(eq + 1);
		if (r->err && inet_pton(r->family, item, r->addr) == 1)
			n_rules++;
	}
}

/* The message at *off of buf (len bytes), *off moved past it; NULL at the
 * end or at a message that does not fit. */
static struct nlmsghdr *next_msg(char *buf, size_t len, size_t *off)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(buf + *off);

	if (len - *off < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
	    nlh->nlmsg_len > len - *off)
		return NULL;
	*off += NLMSG_ALIGN(nlh->nlmsg_len);
	if (*off > len)
		*off = len;
	return nlh;
}

static int is_route_socket(int fd)
{
	int domain = 0, proto = -1;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || domain != AF_NETLINK)
		return 0;
	len = sizeof(int);
	return !getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) &&
	       proto == NETLINK_ROUTE;
}

static int refusing(void)
{
	const char *while_file = getenv("WGRS_REFUSE_WHILE");

	return n_rules && (!while_file || access(while_file, F_OK) == 0);
}

/* The errno for a route message of a destination in the rules, or 0. */
static int refusal(const struct nlmsghdr *nlh)
{
	const struct rtmsg *rtm = NLMSG_DATA(nlh);
	const struct rtattr *a;
	int left;

	if ((nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return 0;
	left = (int)(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm)));
	for (a = RTM_RTA(rtm); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type != RTA_DST)
			continue;
		for (size_t i = 0; i < n_rules; i++) {
			const struct rule *r = &rules[i];
			size_t bytes = r->family == AF_INET6 ? 16 : 4;

			if (rtm->rtm_family == r->family && rtm->rtm_dst_len == r->len &&
			    RTA_PAYLOAD(a) >= bytes &&
			    !memcmp(RTA_DATA(a), r->addr, bytes))
				return r->err;
		}
	}
	return 0;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
	       socklen_t tolen)
{
	struct nlmsghdr *nlh;
	size_t off = 0;
	char *copy;
	ssize_t n;

	if (!refusing() || !is_route_socket(fd) || !(copy = malloc(len)))
		return real_sendto(fd, buf, len, flags, to, tolen);
	memcpy(copy, buf, len);
	while ((nlh = next_msg(copy, len, &off))) {
		int err = refusal(nlh);

		if (!err || n_pending == MAX_PENDING)
			continue;
		pending[n_pending].seq = nlh->nlmsg_seq;
		pending[n_pending++].err = err;
		nlh->nlmsg_type = NLMSG_NOOP; /* acked, not done */
	}
	n = real_sendto(fd, copy, len, flags, to, tolen);
	free(copy);
	return n;
}

/* The acks of the changes sendto turned into NOOPs get their errno. */
static void refuse_acks(void *buf, ssize_t n)
{
	struct nlmsghdr *nlh;
	size_t off = 0;

	if (n <= 0 || !n_pending)
		return;
	while ((nlh = next_msg(buf, (size_t)n, &off))) {
		struct nlmsgerr *e = NLMSG_DATA(nlh);

		if (nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		for (size_t i = 0; i < n_pending; i++) {
			if (pending[i].seq != nlh->nlmsg_seq)
				continue;
			e->error = -pending[i].err;
			pending[i] = pending[--n_pending];
			break;
		}
	}
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t n = real_recv(fd, buf, len, flags);

	refuse_acks(buf, n);
	return n;
}

/* wg-rtsync reads with recvmsg, to see the sender (only the kernel's
 * messages count): one buffer. */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t n = real_recvmsg(fd, msg, flags);

	if (msg->msg_iovlen == 1)
		refuse_acks(msg->msg_iov[0].iov_base, n);
	return n;
}
