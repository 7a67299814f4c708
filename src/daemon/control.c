/* control.c: the control socket, server and client (see control.h). */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "evloop.h"
#include "log.h"
#include "statedir.h"

#define REQUEST_MAX 256
/* More clients at once than a person or a monitoring script would open. */
#define CLIENTS_MAX 16
/* How long a client waits for the reply: `poll` replies once the round is
 * done, which takes seconds on a device with a million AllowedIPs. */
#define CLIENT_TIMEOUT_MS 120000

struct client {
	struct ev_handler h;
	struct control *ctl;
	int fd;
	size_t req_len;
	char req[REQUEST_MAX];
	char *reply;
	size_t reply_len, sent;
	struct client *prev, *next;
};

struct control {
	struct ev_handler h;
	int fd, epfd, dirfd;
	char *path;
	control_reply_fn fn;
	void *ctx;
	size_t n_clients;
	struct client *clients;
};

int control_path(const char *state_dir, char *buf, size_t len)
{
	int w = snprintf(buf, len, "%s/%s", state_dir, CONTROL_SOCKET_NAME);

	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

static int fill_sockaddr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* The socket's name in the directory dirfd as a path that goes through
 * that descriptor (/proc/self/fd/N/NAME), so that bind and connect do not
 * walk the configured path, and whatever link was swapped into it, again.
 * Without /proc, path itself: the directory was checked just before. */
static int fill_sockaddr_at(struct sockaddr_un *sun, int dirfd, const char *path)
{
	char via[80];
	const char *name = strrchr(path, '/');
	struct stat st;

	snprintf(via, sizeof(via), "/proc/self/fd/%d", dirfd);
	if (!name || stat(via, &st) || !S_ISDIR(st.st_mode))
		return fill_sockaddr(sun, path);
	snprintf(via, sizeof(via), "/proc/self/fd/%d%.40s", dirfd, name);
	return fill_sockaddr(sun, via);
}

/* The directory of path, made when missing and opened as statedir.h says. */
static int open_socket_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], msg[STATEDIR_MSG_LEN];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	slash[slash == dir] = '\0';
	fd = statedir_open(dir, true, msg, sizeof(msg));
	if (fd < 0)
		log_err("control socket: %s", msg);
	return fd;
}

static void client_free(struct client *cl)
{
	struct control *ctl = cl->ctl;

	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		ctl->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	ctl->n_clients--;
	free(cl->reply);
	free(cl);
}

/* Writes what the socket takes; true when the client is done with. */
static bool client_send(struct client *cl)
{
	while (cl->sent < cl->reply_len) {
		ssize_t n = send(cl->fd, cl->reply + cl->sent, cl->reply_len - cl->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n < 0)
			return true; /* the client went: nothing to tell it */
		cl->sent += (size_t)n;
	}
	return true;
}

static void client_answer(struct client *cl)
{
	static const char oom[] = "error: out of memory\n";
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &cl->h};
	char *nl = memchr(cl->req, '\n', cl->req_len);

	if (nl)
		*nl = '\0';
	else
		cl->req[cl->req_len < REQUEST_MAX ? cl->req_len : REQUEST_MAX - 1] = '\0';
	cl->reply = cl->ctl->fn(cl->ctl->ctx, cl->req, &cl->reply_len);
	if (!cl->reply) {
		cl->reply = strdup(oom);
		cl->reply_len = cl->reply ? strlen(oom) : 0;
	}
	if (client_send(cl) || epoll_ctl(cl->ctl->epfd, EPOLL_CTL_MOD, cl->fd, &ev))
		client_free(cl);
}

static void client_event(struct ev_handler *h, uint32_t events)
{
	struct client *cl = (struct client *)h;

	if (cl->reply) {
		if (client_send(cl) || (events & (EPOLLERR | EPOLLHUP)))
			client_free(cl);
		return;
	}
	for (;;) {
		ssize_t n = recv(cl->fd, cl->req + cl->req_len,
				 REQUEST_MAX - 1 - cl->req_len, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			client_free(cl);
			return;
		}
		cl->req_len += (size_t)n;
		/* A whole line, the end of the request, or as much as we read. */
		if (n == 0 || memchr(cl->req, '\n', cl->req_len) ||
		    cl->req_len == REQUEST_MAX - 1) {
			client_answer(cl);
			return;
		}
	}
}

static void control_event(struct ev_handler *h, uint32_t events)
{
	struct control *ctl = (struct control *)h;
	int fd;

	(void)events;
	while ((fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct client *cl;

		if (ctl->n_clients >= CLIENTS_MAX) {
			log_warn("control socket: too many connections, refusing one");
			close(fd);
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->h.on_event = client_event;
		cl->ctl = ctl;
		cl->fd = fd;
		ev.data.ptr = &cl->h;
		if (epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(cl);
			continue;
		}
		cl->next = ctl->clients;
		if (cl->next)
			cl->next->prev = cl;
		ctl->clients = cl;
		ctl->n_clients++;
	}
}

/* Whether a daemon answers on path. */
static bool socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return alive;
}

int control_open(struct control **out, const char *path, int epfd, control_reply_fn fn,
		 void *ctx)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct sockaddr_un sun;
	struct control *ctl;
	mode_t old_mask;
	const char *name = strrchr(path, '/');
	int err, dirfd;

	*out = NULL;
	err = fill_sockaddr(&sun, path);
	if (err)
		return err;
	dirfd = open_socket_dir(path);
	if (dirfd < 0)
		return dirfd;
	fill_sockaddr_at(&sun, dirfd, path);
	if (socket_alive(&sun)) {
		close(dirfd);
		return -EADDRINUSE;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(path))) {
		free(ctl);
		close(dirfd);
		return -ENOMEM;
	}
	ctl->h.on_event = control_event;
	ctl->epfd = epfd;
	ctl->dirfd = dirfd;
	ctl->fn = fn;
	ctl->ctx = ctx;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0)
		goto fail;
	unlinkat(dirfd, name + 1, 0); /* stale: nobody answered */
	old_mask = umask(0177);
	err = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (err || listen(ctl->fd, CLIENTS_MAX))
		goto fail;
	ev.data.ptr = &ctl->h;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ctl->fd, &ev))
		goto fail;
	*out = ctl;
	return 0;
fail:
	err = -errno;
	if (ctl->fd >= 0)
		close(ctl->fd);
	close(dirfd);
	free(ctl->path);
	free(ctl);
	return err;
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, ctl->fd, NULL);
	close(ctl->fd);
	unlinkat(ctl->dirfd, strrchr(ctl->path, '/') + 1, 0);
	close(ctl->dirfd);
	free(ctl->path);
	free(ctl);
}
static int wait_for(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	do
		n = poll(&p, 1, CLIENT_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 0;
}

int control_query(const char *path, const char *request, FILE *out)
{
	struct sockaddr_un sun;
	size_t len = strlen(request), sent = 0;
	char buf[4096];
	int fd, err = fill_sockaddr(&sun, path);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!err && sent < len) {
		ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);

		if (n < 0 && errno != EINTR)
			err = -errno;
		else if (n > 0)
			sent += (size_t)n;
	}
	while (!err && !(err = wait_for(fd, POLLIN))) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		else if (n == 0)
			break;
		else if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			err = -EIO;
	}
	close(fd);
	return err;
}
