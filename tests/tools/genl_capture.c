/* genl_capture: saves the kernel's replies to one generic netlink request,
 * byte for byte, as test fixtures (tests/fixtures/genl).
 *
 *   genl_capture [-b BYTES] OUT REQUEST [ARG]
 *
 * REQUEST is one of
 *   family NAME     CTRL_CMD_GETFAMILY for NAME
 *   policy          CTRL_CMD_GETPOLICY of "wireguard" for WG_CMD_SET_DEVICE
 *   policy-family   CTRL_CMD_GETPOLICY of "wireguard", every operation
 *   get IFNAME      WG_CMD_GET_DEVICE (a dump)
 *   probe IFNAME    WG_CMD_SET_DEVICE as wg-rtsync probes for
 *                   WGALLOWEDIP_F_REMOVE_ME: the temporary peer with one
 *                   allowed IP flagged for removal, then the peer removed
 *   remove-temp IFNAME  WG_CMD_SET_DEVICE removing the temporary peer
 *   bad-attr IFNAME WG_CMD_SET_DEVICE with an attribute type the family does
 *                   not know (strict validation refuses it with an
 *                   extended ACK)
 *
 * The socket is set up like the backend's (NETLINK_CAP_ACK, NETLINK_EXT_ACK)
 * and reads with a buffer of BYTES (default 16384): the kernel sizes the
 * messages of a dump after the reader's buffer, so a small one splits a long
 * list of allowed IPs over several messages. OUT receives every message of
 * the reply as the kernel sent it, up to and including the NLMSG_DONE or
 * the acknowledgement (NLMSG_ERROR). The exit status is 0 whatever the
 * kernel answered: a refusal is a fixture too. */
#include <errno.h>
#include <linux/genetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "genl_codec.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: genl_capture [-b BYTES] OUT "
		"{family NAME|policy|policy-family|get IF|probe IF|remove-temp IF|\n"
		"        bad-attr IF}\n");
	return 2;
}

/* Sends the request at req and appends every reply message to out until
 * the reply is complete. */
static int capture(struct mnl_socket *nl, const struct nlmsghdr *req, size_t bufsize,
		   struct buf *out)
{
	static const char pad[MNL_ALIGNTO];
	char *buf = malloc(bufsize);
	int ret = -1;

	if (!buf)
		return -1;
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		perror("genl_capture: send");
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, bufsize);
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0) {
			perror("genl_capture: recv");
			goto out;
		}
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (buf_append(out, m, m->nlmsg_len) ||
			    buf_append(out, pad, MNL_ALIGN(m->nlmsg_len) - m->nlmsg_len))
				goto out;
			if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
				ret = 0;
				goto out;
			}
		}
	}
out:
	free(buf);
	return ret;
}

/* The family id, from a GETFAMILY of our own. It reads with a buffer of
 * bufsize too: the kernel remembers the largest a socket used. */
static int wireguard_family(struct mnl_socket *nl, size_t bufsize, uint16_t *family)
{
	struct buf req = {0}, reply = {0};
	int r = wg_genl_encode_getfamily(&req, 1);

	r = r ?: capture(nl, (const struct nlmsghdr *)req.data, bufsize, &reply);
	r = r ?: wg_genl_parse_family(reply.data, reply.len, family);
	if (r)
		fprintf(stderr, "genl_capture: no \"wireguard\" family\n");
	buf_free(&req);
	buf_free(&reply);
	return r ? -1 : 0;
}

static int encode(struct mnl_socket *nl, size_t bufsize, struct buf *req, uint32_t seq,
		  const char *what, const char *arg)
{
	uint16_t family;

	if (!strcmp(what, "family")) {
		struct nlmsghdr *nlh;
		struct genlmsghdr *g;

		if (!arg || buf_reserve(req, 256))
			return -1;
		memset(req->data, 0, 256);
		nlh = mnl_nlmsg_put_header(req->data);
		nlh->nlmsg_type = GENL_ID_CTRL;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		nlh->nlmsg_seq = seq;
		g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		g->cmd = CTRL_CMD_GETFAMILY;
		g->version = 1;
		mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, arg);
		req->len = nlh->nlmsg_len;
		return 0;
	}
	if (wireguard_family(nl, bufsize, &family))
		return -1;
	if (!strcmp(what, "policy"))
		return wg_genl_encode_getpolicy(req, family, seq);
	if (!strcmp(what, "policy-family")) {
		struct nlmsghdr *nlh;

		if (wg_genl_encode_getpolicy(req, family, seq))
			return -1;
		/* The same request less its CTRL_ATTR_OP. */
		nlh = (struct nlmsghdr *)req->data;
		nlh->nlmsg_len -= MNL_ALIGN(sizeof(struct nlattr) + sizeof(uint32_t));
		req->len = nlh->nlmsg_len;
		return 0;
	}
	if (!arg)
		return -1;
	if (!strcmp(what, "get"))
		return wg_genl_encode_get(req, family, seq, arg);
	if (!strcmp(what, "bad-attr")) {
		struct wg_set_peer p = {.key = wg_temp_peer_key,
					.flags = WG_PEER_REMOVE_ME};
		struct nlmsghdr *nlh;
		size_t msgs;

		if (wg_genl_encode_set(req, family, seq, arg, &p, 1, WG_GENL_MSG_MAX,
				       &msgs) ||
		    buf_reserve(req, 8))
			return -1;
		nlh = (struct nlmsghdr *)req->data;
		mnl_attr_put_u32(nlh, 100, 0);
		req->len = nlh->nlmsg_len;
		return 0;
	}
	if (!strcmp(what, "probe") || !strcmp(what, "remove-temp")) {
		struct wg_set s = {0};
		size_t msgs = 0;
		int r = !strcmp(what, "probe") ? wg_plan_probe_native(&s, true)
					       : wg_plan_remove_temp_peer(&s);

		r = r
			    ?: wg_genl_encode_set(req, family, seq, arg, s.peers,
						  s.n_peers, WG_GENL_MSG_MAX, &msgs);
		wg_set_free(&s);
		return r || msgs != 1 ? -1 : 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct buf req = {0}, reply = {0};
	size_t bufsize = 16384;
	struct mnl_socket *nl;
	int one = 1, ret = 1;
	uint32_t seq = (uint32_t)time(NULL);
	FILE *out;

	if (argc > 2 && !strcmp(argv[1], "-b")) {
		bufsize = strtoul(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc < 3 || bufsize < 4096)
		return usage();
	nl = mnl_socket_open(NETLINK_GENERIC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0) {
		perror("genl_capture: netlink");
		return 1;
	}
	if (encode(nl, bufsize, &req, seq, argv[2], argc > 3 ? argv[3] : NULL)) {
		mnl_socket_close(nl);
		buf_free(&req);
		return usage();
	}
	if (!capture(nl, (const struct nlmsghdr *)req.data, bufsize, &reply)) {
		out = fopen(argv[1], "wb");
		if (!out)
			perror(argv[1]);
		else if (fwrite(reply.data, 1, reply.len, out) != reply.len ||
			 fclose(out))
			perror(argv[1]);
		else
			ret = 0;
	}
	buf_free(&reply);
	buf_free(&req);
	mnl_socket_close(nl);
	return ret;
}
