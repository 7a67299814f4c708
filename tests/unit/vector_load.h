/* vector_load.h: reads one conformance vector (a YAML file of tests/vectors, format in
 * docs/conformance.md) into plain model structs, with every default applied,
 * so that the runner only replays it. */
#ifndef WGRS_VECTOR_LOAD_H
#define WGRS_VECTOR_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "settings.h"
#include "model.h"

enum vec_event_kind {
	VEV_ROUTE_ADD,
	VEV_ROUTE_DEL,
	VEV_PEER_ADD,
	VEV_PEER_DEL,
	VEV_ALLOWED_ADD,
	VEV_ALLOWED_DEL,
	VEV_ADDRESSES,
	VEV_SETTINGS,
};

struct vec_event {
	enum vec_event_kind kind;
	struct kroute route;  /* ROUTE_*: nexthops owned (only identity for DEL) */
	struct wg_key peer;   /* PEER_*, ALLOWED_* */
	struct prefix prefix; /* ALLOWED_* */
	struct prefix *addrs; /* ADDRESSES */
	size_t n_addrs;
	struct settings settings; /* SETTINGS: the whole settings from now on */
};

/* Expected state after a step; each part is checked only when present. */
struct vec_state {
	bool has_peers;
	struct wg_device peers; /* every peer with all its AllowedIPs */
	bool has_routes;
	struct route_spec *routes; /* every route of protocol P in table T */
	size_t n_routes;
	bool has_owned;
	struct own_entry *owned;
	size_t n_owned;
};

struct vec_step {
	struct vec_event *events;
	size_t n_events;
	bool full; /* run a full pass (the first step always does) */
	struct change *changes;
	size_t n_changes;
	struct vec_state state;
};

struct vector {
	char *name;
	char *description;
	struct settings settings; /* initial settings, defaults applied */
	int ifindex;
	const char *ifname; /* fixed: "wg0" */
	struct prefix *addrs;
	size_t n_addrs;
	struct wg_device wg;
	struct kroute *routes;
	size_t n_routes;
	struct own_entry *owned;
	size_t n_owned;
	struct vec_step *steps;
	size_t n_steps;
};

/* Loads path into v. On error returns a negative errno and writes one line
 * ("FILE: where: what") into err; v is then empty. */
int vector_load(const char *path, struct vector *v, char *err, size_t errlen);
void vector_free(struct vector *v);

#endif
