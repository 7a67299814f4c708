/* rtnl_capture: saves rtnetlink messages, byte for byte, as test fixtures.
 *
 *   rtnl_capture -g GROUPS OUT -- COMMAND [ARGS...]
 *	subscribes to GROUPS (comma separated: link, route4, route6, nexthop,
 *	addr4, addr6), runs COMMAND, and after it exits writes every message
 *	that arrived to OUT. rtnetlink notifies while it handles the request,
 *	so everything COMMAND caused is queued once it has exited.
 *   rtnl_capture -d KIND OUT
 *	dumps KIND (link, addr, route4, route6, nexthop) and writes the
 *	messages (without NLMSG_DONE) to OUT.
 *
 * OUT holds the messages back to back, as the kernel sent them. Run it in a
 * network namespace of its own (tests/fixtures/rtnl/capture.sh). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

static const struct {
	const char *name;
	int group;
	uint16_t dump_type;
	int family;
	size_t hdr;
} kinds[] = {
	{"link", RTNLGRP_LINK, RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg)},
	{"route4", RTNLGRP_IPV4_ROUTE, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg)},
	{"route6", RTNLGRP_IPV6_ROUTE, RTM_GETROUTE, AF_INET6, sizeof(struct rtmsg)},
	{"nexthop", RTNLGRP_NEXTHOP, RTM_GETNEXTHOP, AF_UNSPEC, sizeof(struct nhmsg)},
	{"addr4", RTNLGRP_IPV4_IFADDR, RTM_GETADDR, AF_INET, sizeof(struct ifaddrmsg)},
	{"addr6", RTNLGRP_IPV6_IFADDR, RTM_GETADDR, AF_INET6, sizeof(struct ifaddrmsg)},
	{"addr", 0, RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg)},
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static int find_kind(const char *name)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return (int)i;
	fprintf(stderr, "rtnl_capture: unknown kind '%s'\n", name);
	return -1;
}

static int write_all(FILE *out, const void *buf, size_t len)
{
	if (fwrite(buf, 1, len, out) != len) {
		perror("rtnl_capture: write");
		return -1;
	}
	return 0;
}

static int subscribe(struct mnl_socket *nl, char *groups)
{
	for (char *tok = strtok(groups, ","); tok; tok = strtok(NULL, ",")) {
		int k = find_kind(tok), group;

		if (k < 0 || kinds[k].group == 0)
			return -1;
		group = kinds[k].group;
		if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group,
					  sizeof(int)) < 0) {
			perror("rtnl_capture: NETLINK_ADD_MEMBERSHIP");
			return -1;
		}
	}
	return 0;
}

static int run(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		perror("rtnl_capture: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "rtnl_capture: %s failed\n", argv[0]);
		return -1;
	}
	return 0;
}

static int capture_events(struct mnl_socket *nl, char *groups, char **cmd, FILE *out)
{
	static char buf[65536];
	ssize_t n;

	if (subscribe(nl, groups) < 0 || run(cmd) < 0)
		return -1;
	while ((n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (write_all(out, buf, (size_t)n) < 0)
			return -1;
	if (n < 0 && errno != EAGAIN) {
		perror("rtnl_capture: recv");
		return -1;
	}
	return 0;
}

static int capture_dump(struct mnl_socket *nl, const char *kind, FILE *out)
{
	static char buf[65536];
	char req[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	int k = find_kind(kind);

	if (k < 0)
		return -1;
	nlh->nlmsg_type = kinds[k].dump_type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 1;
	*(uint8_t *)mnl_nlmsg_put_extra_header(nlh, kinds[k].hdr) =
		(uint8_t)kinds[k].family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0) {
			perror("rtnl_capture: recv");
			return -1;
		}
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type == NLMSG_ERROR) {
				fprintf(stderr, "rtnl_capture: dump refused\n");
				return -1;
			}
			if (write_all(out, m, MNL_ALIGN(m->nlmsg_len)) < 0)
				return -1;
		}
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: rtnl_capture -g GROUPS OUT -- COMMAND [ARGS...]\n"
			"       rtnl_capture -d KIND OUT\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct mnl_socket *nl;
	FILE *out;
	int ret;

	if (argc < 4 || (strcmp(argv[1], "-g") != 0 && strcmp(argv[1], "-d") != 0))
		return usage();
	if (argv[1][1] == 'g' && (argc < 6 || strcmp(argv[4], "--") != 0))
		return usage();
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("rtnl_capture: netlink");
		return 1;
	}
	out = fopen(argv[3], "wb");
	if (!out) {
		perror(argv[3]);
		mnl_socket_close(nl);
		return 1;
	}
	if (argv[1][1] == 'g')
		ret = capture_events(nl, argv[2], argv + 5, out);
	else
		ret = capture_dump(nl, argv[2], out);
	if (fclose(out) != 0)
		ret = -1;
	mnl_socket_close(nl);
	if (ret < 0)
		unlink(argv[3]);
	return ret < 0 ? 1 : 0;
}
