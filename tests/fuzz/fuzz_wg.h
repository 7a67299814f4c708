/* fuzz_wg.h: what the two WireGuard targets share. */
#ifndef WGRS_FUZZ_WG_H
#define WGRS_FUZZ_WG_H

#include "model.h"

/* A device as a WireGuard decoder promises it: normalised AllowedIPs, the
 * temporary peer left out. */
void fuzz_wg_check_device(const struct wg_device *dev);
/* After an error: nothing left in dev. */
void fuzz_wg_check_empty(const struct wg_device *dev);
/* The same peers, in the same order, with the same AllowedIPs. */
void fuzz_wg_check_same(const struct wg_device *a, const struct wg_device *b);
/* A reply's errno (-1 .. -4095). */
bool fuzz_wg_is_errno(int r);

#endif
