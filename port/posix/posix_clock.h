/* Host clock: CLOCK_MONOTONIC milliseconds, nanosleep, and a small
 * pseudo-random source for back-off jitter (not for cryptography). */
#ifndef OTA32_POSIX_CLOCK_H
#define OTA32_POSIX_CLOCK_H

#include "ota32/platform.h"

typedef struct ota32_posix_clock {
    uint32_t rng; /* xorshift32 state, never 0 */
} ota32_posix_clock;

/* Seeds the jitter source from the time and the process id. */
void ota32_posix_clock_init(ota32_posix_clock *c);

ota32_clock_ops ota32_posix_clock_ops(ota32_posix_clock *c);

/* Monotonic milliseconds, for code that has no ops at hand (tools). */
uint64_t ota32_posix_now_ms(void);

#endif
