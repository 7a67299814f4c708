/* model.c: the plain data of model.h: device snapshots, change lists and the
 * one-line form of a change that --dry-run prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "vec.h"

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	for (size_t i = 0; i < dev->n_peers; i++)
		free(dev->peers[i].allowed);
	free(dev->peers);
	dev->peers = NULL;
	dev->n_peers = 0;
}

/* The 64-bit finaliser of MurmurHash3: every input bit moves every output
 * bit. */
static uint64_t fp_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint64_t wg_fp_peer(const struct wg_key *key)
{
	uint64_t w[4], h = 0x7767727473796e63ULL; /* "wgrtsync" */

	memcpy(w, key->b, sizeof(w));
	for (int i = 0; i < 4; i++)
		h = fp_mix(h ^ w[i]);
	return h;
}

uint64_t wg_fp_entry(uint64_t peer_fp, const struct prefix *allowed)
{
	uint64_t a, b;

	memcpy(&a, allowed->addr, sizeof(a));
	memcpy(&b, allowed->addr + 8, sizeof(b));
	return fp_mix(peer_fp ^ fp_mix(a ^ fp_mix(b ^ ((uint64_t)allowed->family << 8 |
						       allowed->len))));
}

uint64_t wg_device_fingerprint(const struct wg_device *dev)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];
		uint64_t k = wg_fp_peer(&p->key);

		sum += k;
		for (size_t j = 0; j < p->n_allowed; j++)
			sum += wg_fp_entry(k, &p->allowed[j]);
	}
	return sum;
}

bool change_is_allowed(const struct change *c)
{
	return c->op == CHANGE_ALLOWED_ADD || c->op == CHANGE_ALLOWED_DEL;
}

int change_list_push(struct change_list *l, const struct change *c)
{
	return vec_push(l->v, l->n, l->cap, *c);
}

void change_list_clear(struct change_list *l)
{
	l->n = 0;
}

void change_list_free(struct change_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static char *format_allowed(const struct change *c, char *buf, size_t len)
{
	char key[WG_KEY_B64_LEN], dst[PREFIX_STRLEN];

	snprintf(buf, len, "allowed-ip %s %s %s%s",
		 c->op == CHANGE_ALLOWED_ADD ? "add" : "del",
		 wg_key_to_base64(&c->peer, key), prefix_format(&c->dst, dst),
		 c->op == CHANGE_ALLOWED_ADD && c->learned ? " (learned)" : "");
	return buf;
}

static char *format_route(const struct change *c, char *buf, size_t len)
{
	const struct route_spec *r = &c->route;
	char dst[PREFIX_STRLEN], gw[PREFIX_STRLEN], via[PREFIX_STRLEN + 8] = "";

	if (r->gw.family)
		snprintf(via, sizeof(via), " via %s", addr_format(&r->gw, gw));
	snprintf(buf, len, "route %s %s%s dev %d table %u proto %u metric %u",
		 c->op == CHANGE_ROUTE_DEL ? "del"
		 : r->replace		   ? "replace"
					   : "add",
		 prefix_format(&r->dst, dst), via, r->oif, r->table, r->protocol,
		 r->metric);
	return buf;
}

char *change_format(const struct change *c, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	switch (c->op) {
	case CHANGE_ALLOWED_ADD:
	case CHANGE_ALLOWED_DEL:
		return format_allowed(c, buf, len);
	case CHANGE_ROUTE_ADD:
	case CHANGE_ROUTE_DEL:
		return format_route(c, buf, len);
	}
	snprintf(buf, len, "unknown change %d", (int)c->op);
	return buf;
}
