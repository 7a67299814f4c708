/* clock.h: the two clocks the daemon reads: monotonic milliseconds for
 * scheduling (and seconds for durations), and wall-clock seconds for what
 * people read (status, logs). */
#ifndef WGRS_CLOCK_H
#define WGRS_CLOCK_H

#include <stdint.h>

uint64_t clock_mono_ms(void);
/* Monotonic seconds, to the nanosecond: how long something took. */
double clock_mono(void);
double clock_unix(void);

#endif
