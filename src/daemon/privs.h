/* privs.h: least privilege (docs/daemon.md, "Privileges"). Once started,
 * the daemon needs CAP_NET_ADMIN and nothing more: routes, kernel
 * WireGuard's generic netlink family and the event socket's large receive
 * buffer ask for it; everything else it touches (its state directory, the
 * control socket, wireguard-go's UAPI sockets, /proc) belongs to its own
 * user, root or not. */
#ifndef WGRS_PRIVS_H
#define WGRS_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* Keeps CAP_NET_ADMIN (if the process has it) and drops every other
 * capability: from the effective, permitted and inheritable sets, the
 * ambient set, and the bounding set where the process may change it (it
 * holds CAP_SETPCAP, as root does; otherwise systemd's
 * CapabilityBoundingSet= is the bound). Sets no_new_privs. Returns 0, or
 * -errno with one line in msg; *net_admin tells whether CAP_NET_ADMIN was
 * there to keep. */
int privs_keep_net_admin(bool *net_admin, char *msg, size_t msglen);

#endif
