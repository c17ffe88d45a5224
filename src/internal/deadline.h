/* Deadlines in milliseconds of a monotonic clock, for the ports' per-call
 * timeouts. Shared on purpose by the ports (src/internal). */
#ifndef OTA32_DEADLINE_H
#define OTA32_DEADLINE_H

#include <stdint.h>

/* Milliseconds left at `now` until `deadline`: 0 when past, at most `max`. */
static inline uint64_t ota32_ms_left(uint64_t now, uint64_t deadline, uint64_t max)
{
    if (now >= deadline)
        return 0;
    return deadline - now > max ? max : deadline - now;
}

#endif
