/* index_set.h: finds an earlier equal entry of an array in constant time,
 * by a hash of what the entries hold: repeated peers, interfaces and
 * anchors in a configuration of any size. The set keeps indices only, so
 * the array may move as it grows. */
#ifndef WGRS_INDEX_SET_H
#define WGRS_INDEX_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct index_set {
	struct index_slot *slots;
	size_t cap, n;
};

/* FNV-1a over len bytes: the hash to file an entry under. */
uint64_t index_hash(const void *data, size_t len);

/* The index of an entry filed under hash for which is(index, ctx) holds, or
 * SIZE_MAX. */
size_t index_set_find(const struct index_set *s, uint64_t hash,
		      bool (*is)(size_t index, const void *ctx), const void *ctx);
/* Files index under hash. 0 or -ENOMEM. */
int index_set_add(struct index_set *s, uint64_t hash, size_t index);
void index_set_free(struct index_set *s);

#endif
