/* Retry delays: exponential with a cap and +-25% jitter, so a fleet that lost
 * its server does not come back in lockstep. */
#ifndef OTA32_SVC_BACKOFF_H
#define OTA32_SVC_BACKOFF_H

#include <stdint.h>

/* Delay before retry number `attempt` (0 = first retry): base * 2^attempt,
 * capped at `cap`, then scaled by a factor in [0.75, 1.25) drawn from `rnd`
 * (a uniformly random 32-bit value). Never 0 when base > 0. */
uint32_t svc_backoff_delay(uint32_t base_ms, uint32_t cap_ms, unsigned attempt, uint32_t rnd);

/* The attempt number an apply's back-off starts from. A failed apply has
 * already retried in place with delays growing from base * 2^0; the next
 * apply waits longer than those, from base * 2^4 (16 s by default) on. */
#define SVC_APPLY_BACKOFF_FROM 4u

#endif
