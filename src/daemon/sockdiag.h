/* sockdiag.h: whether a unix socket file is served from the daemon's own
 * network namespace, asked of the kernel (NETLINK_SOCK_DIAG, UNIX_DIAG).
 * The kernel lists only the sockets of the asking socket's namespace, so
 * this needs no privilege, unlike /proc/PID/ns/net of a server that runs as
 * root with capabilities the daemon no longer has (privs.h). */
#ifndef WGRS_SOCKDIAG_H
#define WGRS_SOCKDIAG_H

#include <sys/types.h>

/* 1 when a listening unix socket of this network namespace is bound to the
 * file with inode ino on device dev (st_ino and st_dev of stat(2)), 0 when
 * none is, -errno when the kernel cannot tell (no unix_diag). */
int sockdiag_unix_listener_here(ino_t ino, dev_t dev);

#endif
