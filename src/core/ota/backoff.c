#include "svc_backoff.h"

uint32_t svc_backoff_delay(uint32_t base_ms, uint32_t cap_ms, unsigned attempt, uint32_t rnd)
{
    uint64_t d = base_ms;
    /* Doubling stops at the cap, so the loop runs at most ~32 times. */
    for (unsigned i = 0; i < attempt && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    /* factor = 0.75 + 0.5 * rnd / 2^32, in fixed point */
    uint64_t scaled = d * 3 / 4 + ((d / 2) * (uint64_t)rnd >> 32);
    if (scaled == 0 && base_ms > 0)
        scaled = 1;
    return scaled > UINT32_MAX ? UINT32_MAX : (uint32_t)scaled;
}
