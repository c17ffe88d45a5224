#include "posix_alloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Each block is preceded by a header holding its payload size, padded so the
 * payload keeps malloc's alignment. */
typedef union block_header {
    size_t size;
    max_align_t align;
} block_header;

void ota32_posix_alloc_init(ota32_posix_alloc *a)
{
    memset(a, 0, sizeof *a);
}

void ota32_posix_alloc_reset_peak(ota32_posix_alloc *a)
{
    a->peak = a->current;
}

/* Decide whether an attempt to grow the live total by `grow` bytes may go
 * ahead; counts the attempt. */
static bool admit(ota32_posix_alloc *a, size_t grow)
{
    a->attempts++;
    if ((a->fail_at && a->attempts == a->fail_at) ||
        (a->cap && (grow > a->cap || a->current > a->cap - grow)) ||
        grow > SIZE_MAX - sizeof(block_header)) {
        a->failures++;
        return false;
    }
    return true;
}

static void account(ota32_posix_alloc *a, size_t old_size, size_t new_size)
{
    a->current = a->current - old_size + new_size;
    if (a->current > a->peak)
        a->peak = a->current;
}

static void *alloc_malloc(void *ctx, size_t size)
{
    ota32_posix_alloc *a = ctx;
    if (!admit(a, size))
        return NULL;
    block_header *h = malloc(sizeof *h + size);
    if (!h) {
        a->failures++;
        return NULL;
    }
    h->size = size;
    a->count++;
    account(a, 0, size);
    return h + 1;
}

static void *alloc_calloc(void *ctx, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = alloc_malloc(ctx, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void alloc_free(void *ctx, void *ptr)
{
    ota32_posix_alloc *a = ctx;
    if (!ptr)
        return;
    block_header *h = (block_header *)ptr - 1;
    account(a, h->size, 0);
    free(h);
}

static void *alloc_realloc(void *ctx, void *ptr, size_t size)
{
    ota32_posix_alloc *a = ctx;
    if (!ptr)
        return alloc_malloc(ctx, size);
    block_header *h = (block_header *)ptr - 1;
    size_t old = h->size;
    if (size > old && !admit(a, size - old))
        return NULL;
    block_header *nh = realloc(h, sizeof *nh + size);
    if (!nh) {
        if (size > old)
            a->failures++;
        return NULL;
    }
    nh->size = size;
    if (size > old)
        a->count++;
    account(a, old, size);
    return nh + 1;
}

ota32_alloc_ops ota32_posix_alloc_ops(ota32_posix_alloc *a)
{
    ota32_alloc_ops ops = {
        .ctx = a,
        .malloc = alloc_malloc,
        .calloc = alloc_calloc,
        .realloc = alloc_realloc,
        .free = alloc_free,
    };
    return ops;
}
