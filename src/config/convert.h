/* convert.h: a settings mapping (the top level, or an `interfaces:` entry)
 * from YAML events into struct settings, key by key as the table of
 * settings.h says; the first bad key or value is the error. */
#ifndef WGRS_CONVERT_H
#define WGRS_CONVERT_H

#include <stdint.h>

#include "reader.h"
#include "settings.h"

/* Reads the value of a key that is no setting (the top level's
 * `interfaces`); the reader is at its first event. 0 or -1. */
typedef int (*convert_extra_fn)(struct reader *r, void *ctx);

/* Reads the mapping at the current event (a MAPPING_START; path "" for the
 * top level) into s, which it zeroes first: only the keys present are
 * filled, and *mask gets a bit per key present. The key extra (may be
 * NULL) is read by read_extra. 0 or -1; s is the caller's to free either
 * way. */
int convert_settings(struct reader *r, const char *path, struct settings *s,
		     uint32_t *mask, const char *extra, convert_extra_fn read_extra,
		     void *ctx);

/* Duration text ("200ms", "1s", "5m", "1h", bare number = seconds) to ms:
 * 0, -EINVAL or -ERANGE. Public for its unit test of every unit. */
int parse_duration_ms(const char *text, uint32_t *out);
/* "1%", "0.5%", "100%" (at most two decimals) in hundredths of a percent:
 * 0, -EINVAL or -ERANGE (over 100%). */
int parse_percent(const char *text, uint32_t *out);

#endif
