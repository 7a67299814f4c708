/* sockdiag.c: unix sockets of this namespace, by sock_diag (sockdiag.h). */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "sockdiag.h"

#define TCP_LISTEN 10 /* the state of a listening socket, as in the kernel */

struct wanted {
	uint32_t ino;
	unsigned major, minor;
	bool found;
};

static int vfs_attr(const struct nlattr *a, void *data)
{
	struct wanted *w = data;
	const struct unix_diag_vfs *vfs;

	if (mnl_attr_get_type(a) != UNIX_DIAG_VFS ||
	    mnl_attr_get_payload_len(a) < sizeof(*vfs))
		return MNL_CB_OK;
	vfs = mnl_attr_get_payload(a);
	/* The kernel's own dev_t: 12 bits of major above 20 of minor. */
	if (vfs->udiag_vfs_ino == w->ino && vfs->udiag_vfs_dev >> 20 == w->major &&
	    (vfs->udiag_vfs_dev & 0xfffff) == w->minor)
		w->found = true;
	return MNL_CB_OK;
}

static int on_socket(const struct nlmsghdr *nlh, void *data)
{
	const struct unix_diag_msg *m = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return MNL_CB_ERROR;
	return mnl_attr_parse(nlh, sizeof(*m), vfs_attr, data);
}

int sockdiag_unix_listener_here(ino_t ino, dev_t dev)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct wanted w = {
		.ino = (uint32_t)ino, .major = major(dev), .minor = minor(dev)};
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	struct unix_diag_req *req;
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL), portid;
	int r = 0;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = AF_UNIX;
	req->udiag_states = 1u << TCP_LISTEN;
	req->udiag_show = UDIAG_SHOW_VFS;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			r = -errno;
			break;
		}
		r = mnl_cb_run(buf, (size_t)n, seq, portid, on_socket, &w);
		if (r <= MNL_CB_STOP) {
			r = r < 0 ? (errno ? -errno : -EBADMSG) : 0;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return r ? r : w.found;
}
