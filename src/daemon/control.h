/* control.h: the daemon's control socket, STATE_DIR/control.sock (unix,
 * stream, mode 0600), and its client. A client sends one request line
 * ("status", "status json", "status prometheus", "poll [IFACE...]") and
 * reads the reply until the daemon closes the connection; a reply that
 * starts with "error: " is one. The server is non-blocking and lives in the daemon's
 * epoll set. */
#ifndef WGRS_CONTROL_H
#define WGRS_CONTROL_H

#include <stddef.h>
#include <stdio.h>

#define CONTROL_SOCKET_NAME "control.sock"

/* Builds the reply to one request line (without '\n'): malloc'd text,
 * its length in *len. NULL: out of memory. */
typedef char *(*control_reply_fn)(void *ctx, const char *request, size_t *len);

struct control;

/* "STATE_DIR/control.sock" into buf. 0 or -ENAMETOOLONG. */
int control_path(const char *state_dir, char *buf, size_t len);
/* Creates the directory of path (mode 0700) when missing and listens on
 * path, registered in epfd. A stale socket is replaced; one that a daemon
 * still answers on gives -EADDRINUSE. 0 or -errno. */
int control_open(struct control **out, const char *path, int epfd, control_reply_fn fn,
		 void *ctx);
/* Ends every connection, closes and removes the socket. NULL is fine. */
void control_close(struct control *c);

/* The client: sends request to the daemon at path and copies the reply to
 * out. 0, or -errno (-ENOENT, -ECONNREFUSED: no daemon there). */
int control_query(const char *path, const char *request, FILE *out);

#endif
