/*
 * The counting allocator (ota32/alloc.h) over the host's malloc. For tests it
 * can refuse allocations beyond a byte cap, or fail exactly the Nth
 * allocation attempt (nghttp2- and curl-style fault injection).
 *
 * Not thread-safe: one counter set per ota32_posix_alloc, used by one thread.
 */
#ifndef OTA32_POSIX_ALLOC_H
#define OTA32_POSIX_ALLOC_H

#include "ota32/alloc.h"

typedef ota32_alloc_count ota32_posix_alloc;

/* Zero counters, no cap, no injected failure. */
void ota32_posix_alloc_init(ota32_posix_alloc *a);

/* Ops over `a` (which must outlive them). */
ota32_alloc_ops ota32_posix_alloc_ops(ota32_posix_alloc *a);

/* Start a new measurement: peak = current. */
void ota32_posix_alloc_reset_peak(ota32_posix_alloc *a);

#endif
