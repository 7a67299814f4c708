/* links.c: the link table and the WireGuard test (see links.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "links.h"
#include "sockdiag.h"
#include "vec.h"
#include "wg_uapi.h"

struct link_entry *links_find(struct link_table *t, int ifindex)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].ifindex == ifindex)
			return &t->v[i];
	return NULL;
}

struct link_entry *links_find_name(struct link_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strncmp(t->v[i].name, name, sizeof(t->v[i].name)))
			return &t->v[i];
	return NULL;
}

int links_update(struct link_table *t, const struct nl_link *l)
{
	struct link_entry *e = links_find(t, l->ifindex);

	if (!e) {
		if (vec_reserve(t->v, t->cap, t->n + 1))
			return -ENOMEM;
		e = &t->v[t->n++];
		memset(e, 0, sizeof(*e));
		e->ifindex = l->ifindex;
	}
	if (l->name[0])
		snprintf(e->name, sizeof(e->name), "%s", l->name);
	if (l->kind[0])
		snprintf(e->kind, sizeof(e->kind), "%s", l->kind);
	e->up = l->up;
	return 0;
}

void links_remove(struct link_table *t, int ifindex)
{
	struct link_entry *e = links_find(t, ifindex);

	if (e)
		*e = t->v[--t->n];
}

void links_clear(struct link_table *t)
{
	t->n = 0;
}

void links_free(struct link_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* The old way, where the kernel has no unix_diag: the server's namespace
 * by its PID. This needs the right to look into that process
 * (PTRACE_MODE_READ), which a daemon reduced to CAP_NET_ADMIN lacks for a
 * server with more capabilities: then it cannot tell. */
static bool same_netns(pid_t pid)
{
	char path[64];
	struct stat ours, theirs;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat("/proc/self/ns/net", &ours) || stat(path, &theirs))
		return true; /* cannot tell */
	return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

/* True when the unix socket at path is served by a process in this network
 * namespace (a listening socket of the namespace is bound to it, as the
 * kernel's unix_diag says; without unix_diag, the server's /proc/PID/ns/net),
 * or when that cannot be told; false when it is not, or nobody answers. */
static bool uapi_socket_is_ours(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;
	bool ours;
	int fd;

	/* Is the file bound by a listening socket of our namespace? */
	if (!stat(path, &st) && S_ISSOCK(st.st_mode)) {
		int here = sockdiag_unix_listener_here(st.st_ino, st.st_dev);

		if (here >= 0)
			return here;
	}

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	/* Connecting and closing without a request is harmless: the UAPI
	 * server reads nothing and drops the connection. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return false;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid <= 0)
		ours = true; /* a server in another PID namespace: cannot tell */
	else
		ours = same_netns(cred.pid);
	close(fd);
	return ours;
}

enum wg_link_type links_wireguard_type(const struct link_entry *e, const char *uapi_dir)
{
	char path[108];
	struct stat st;

	if (!strcmp(e->kind, "wireguard"))
		return WG_LINK_KERNEL;
	if (strcmp(e->kind, "tun") != 0 || !e->name[0])
		return WG_LINK_NONE;
	if (snprintf(path, sizeof(path), "%s/%s.sock",
		     uapi_dir ? uapi_dir : WG_UAPI_SOCKDIR, e->name) >= (int)sizeof(path))
		return WG_LINK_NONE;
	if (stat(path, &st) || !S_ISSOCK(st.st_mode) || !uapi_socket_is_ours(path))
		return WG_LINK_PENDING;
	return WG_LINK_USERSPACE;
}
