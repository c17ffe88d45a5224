/*
 * A counting allocator over a port's malloc/realloc/free: every block carries
 * a small header with its size, so current and peak heap are exact. It can
 * refuse allocations beyond a byte cap, or fail exactly the Nth allocation
 * attempt (nghttp2- and curl-style fault injection).
 *
 * Not thread-safe: one counter set per ota32_alloc_count, used by one thread.
 */
#ifndef OTA32_ALLOC_H
#define OTA32_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "ota32/platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The system heap the counted blocks come from (malloc, realloc, free). */
typedef struct ota32_sys_heap {
    void *(*malloc)(size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void (*free)(void *ptr);
} ota32_sys_heap;

typedef struct ota32_alloc_count {
    size_t current;    /* bytes in live blocks (payload, headers excluded) */
    size_t peak;       /* highest `current` seen */
    uint64_t count;    /* successful allocations (malloc/calloc/growing realloc) */
    uint64_t attempts; /* allocation attempts, failed ones included */
    uint64_t failures; /* attempts refused (cap, fail_at or the system heap) */
    size_t cap;        /* refuse when `current` would exceed it; 0 = no cap */
    uint64_t fail_at;  /* refuse exactly attempt number fail_at (1-based); 0 = never */
    ota32_sys_heap sys;
} ota32_alloc_count;

/* Zero counters, no cap, no injected failure, blocks from `sys`. */
void ota32_alloc_count_init(ota32_alloc_count *a, ota32_sys_heap sys);

/* Start a new measurement: peak = current. */
void ota32_alloc_count_reset_peak(ota32_alloc_count *a);

/* Counted malloc/calloc/realloc/free, directly or as ops over `a` (which
 * must outlive them). */
void *ota32_alloc_count_malloc(ota32_alloc_count *a, size_t size);
void *ota32_alloc_count_calloc(ota32_alloc_count *a, size_t n, size_t size);
void *ota32_alloc_count_realloc(ota32_alloc_count *a, void *ptr, size_t size);
void ota32_alloc_count_free(ota32_alloc_count *a, void *ptr);
ota32_alloc_ops ota32_alloc_count_ops(ota32_alloc_count *a);

#ifdef __cplusplus
}
#endif

#endif
