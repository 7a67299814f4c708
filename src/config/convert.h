/* convert.h: a settings mapping (the top level, or an `interfaces:` entry)
 * from YAML events into struct settings, key by key as the table of
 * settings.h says; the first bad key or value is the error. */
#ifndef WGRS_CONVERT_H
#define WGRS_CONVERT_H

#include <stdint.h>

#include "reader.h"
#include "settings.h"

/* A key that is not a setting: returns 1 when it took the key and its value
 * (the reader is at the key), 0 when it does not know it, -1 on error. */
typedef int (*convert_other_fn)(struct reader *r, const char *name, void *ctx);

/* Reads the mapping at the current event (a MAPPING_START; path "" for the
 * top level) into s, which it zeroes first: only the keys present are
 * filled, and *mask gets a bit per key present. Keys that are no setting
 * go to other, when given. 0 or -1; s is the caller's to free either way. */
int convert_settings(struct reader *r, const char *path, struct settings *s,
		     uint32_t *mask, convert_other_fn other, void *ctx);

/* Duration text ("200ms", "1s", "5m", "1h", bare number = seconds) to ms:
 * 0, -EINVAL or -ERANGE. */
int parse_duration_ms(const char *text, uint32_t *out);

#endif
