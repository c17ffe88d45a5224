/*
 * A counting allocator for the host: every block carries a small header with
 * its size, so current and peak heap are exact. For tests it can refuse
 * allocations beyond a byte cap, or fail exactly the Nth allocation attempt
 * (nghttp2- and curl-style fault injection).
 *
 * Not thread-safe: one counter set per ota32_posix_alloc, used by one thread.
 */
#ifndef OTA32_POSIX_ALLOC_H
#define OTA32_POSIX_ALLOC_H

#include "ota32/platform.h"

typedef struct ota32_posix_alloc {
    size_t current;     /* bytes in live blocks (payload, headers excluded) */
    size_t peak;        /* highest `current` seen */
    uint64_t count;     /* successful allocations (malloc/calloc/growing realloc) */
    uint64_t attempts;  /* allocation attempts, failed ones included */
    uint64_t failures;  /* attempts refused (cap or fail_at) */
    size_t cap;         /* refuse when `current` would exceed it; 0 = no cap */
    uint64_t fail_at;   /* refuse exactly attempt number fail_at (1-based); 0 = never */
} ota32_posix_alloc;

/* Zero counters, no cap, no injected failure. */
void ota32_posix_alloc_init(ota32_posix_alloc *a);

/* Ops over `a` (which must outlive them). */
ota32_alloc_ops ota32_posix_alloc_ops(ota32_posix_alloc *a);

/* Start a new measurement: peak = current. */
void ota32_posix_alloc_reset_peak(ota32_posix_alloc *a);

#endif
