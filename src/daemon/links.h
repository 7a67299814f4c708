/* links.h: the links of the daemon's network namespace, kept current from
 * rtnetlink, and which of them are WireGuard interfaces: kernel ones (link
 * kind "wireguard") and userspace ones (a tun link whose UAPI socket
 * IFNAME.sock exists and is served by a process of this namespace: the
 * socket directory is shared by every namespace). */
#ifndef WGRS_LINKS_H
#define WGRS_LINKS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "nl_route.h"

struct link_entry {
	int ifindex;
	char name[IF_NAMESIZE];
	char kind[32];
	bool up;
	/* The daemon's notes, so that it says things once: */
	bool noted;	/* told that it is not managed */
	int last_error; /* the last reason it could not be managed */
};

struct link_table {
	size_t n, cap;
	struct link_entry *v;
};

/* Inserts or updates the link. A message without a kind keeps the kind
 * known so far. 0 or -ENOMEM. */
int links_update(struct link_table *t, const struct nl_link *l);
void links_remove(struct link_table *t, int ifindex);
struct link_entry *links_find(struct link_table *t, int ifindex);
struct link_entry *links_find_name(struct link_table *t, const char *name);
void links_clear(struct link_table *t);
void links_free(struct link_table *t);

enum wg_link_type {
	WG_LINK_NONE,	   /* not WireGuard */
	WG_LINK_KERNEL,	   /* kind "wireguard" */
	WG_LINK_USERSPACE, /* tun with its UAPI socket in this namespace */
	WG_LINK_PENDING,   /* tun without a socket (yet): wireguard-go creates
			    * the link before the socket; check again later */
};

/* What e is. uapi_dir: NULL for /var/run/wireguard. */
enum wg_link_type links_wireguard_type(const struct link_entry *e, const char *uapi_dir);

#endif
