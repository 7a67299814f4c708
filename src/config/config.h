/* config.h: the YAML configuration file and the settings it resolves to for
 * each interface (settings.h). */
#ifndef WGRS_CONFIG_H
#define WGRS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"

#define EXIT_CONFIG 78 /* EX_CONFIG */

struct config; /* opaque: the parsed file */

/* Loads and checks path, a regular file (or /dev/null, read as empty). On
 * error returns NULL and writes one line into err, with the file's text
 * escaped: "FILE:LINE:COLUMN: KEY: what is wrong" (line, column and key
 * where known). Time and memory are linear in the file's size. */
struct config *config_load(const char *path, char *err, size_t errlen);
/* The built-in defaults, as if from an empty file. */
struct config *config_default(void);
void config_free(struct config *c);
/* Settings for ifname: the top level, then every matching `interfaces:`
 * entry in file order (so a later entry overrides an earlier one).
 * Returns 0 or -ENOMEM. */
int config_settings_for(const struct config *c, const char *ifname, struct settings *out);
/* The top-level settings alone (daemon-wide ones such as state_dir). */
int config_settings_top(const struct config *c, struct settings *out);
/* True when the file names interfaces (so only those are managed): for the
 * tests; the daemon asks config_manages per link. */
bool config_lists_interfaces(const struct config *c);
bool config_manages(const struct config *c, const char *ifname);

#endif
