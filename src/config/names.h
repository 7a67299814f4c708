/* names.h: routing table and protocol names, resolved as iproute2 does from
 * rt_tables / rt_protos and their .d/ directories under /etc/iproute2 and
 * /usr/share/iproute2. */
#ifndef WGRS_NAMES_H
#define WGRS_NAMES_H

#include <stdint.h>

/* A number or a name. Returns 0 or -ENOENT (unknown name) / -EINVAL. */
int name_to_table(const char *text, uint32_t *out);
int name_to_protocol(const char *text, uint8_t *out);
/* Directory prefix used instead of "/" (for tests); NULL restores. */
void names_set_root(const char *root);

#endif
