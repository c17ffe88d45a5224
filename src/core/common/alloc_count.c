#include "ota32/alloc.h"

#include <string.h>

/* Each block is preceded by a header holding its payload size, padded so the
 * payload keeps malloc's alignment. */
typedef union block_header {
    size_t size;
    max_align_t align;
} block_header;

void ota32_alloc_count_init(ota32_alloc_count *a, ota32_sys_heap sys)
{
    memset(a, 0, sizeof *a);
    a->sys = sys;
}

void ota32_alloc_count_reset_peak(ota32_alloc_count *a)
{
    a->peak = a->current;
}

/* Decide whether an attempt to grow the live total by `grow` bytes, to a
 * block of `size` bytes, may go ahead; counts the attempt. */
static bool admit(ota32_alloc_count *a, size_t grow, size_t size)
{
    a->attempts++;
    if ((a->fail_at && a->attempts == a->fail_at) ||
        (a->cap && (grow > a->cap || a->current > a->cap - grow)) ||
        size > SIZE_MAX - sizeof(block_header)) {
        a->failures++;
        return false;
    }
    return true;
}

static void account(ota32_alloc_count *a, size_t old_size, size_t new_size)
{
    a->current = a->current - old_size + new_size;
    if (a->current > a->peak)
        a->peak = a->current;
}

void *ota32_alloc_count_malloc(ota32_alloc_count *a, size_t size)
{
    if (!admit(a, size, size))
        return NULL;
    block_header *h = a->sys.malloc(sizeof *h + size);
    if (!h) {
        a->failures++;
        return NULL;
    }
    h->size = size;
    a->count++;
    account(a, 0, size);
    return h + 1;
}

void *ota32_alloc_count_calloc(ota32_alloc_count *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = ota32_alloc_count_malloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void ota32_alloc_count_free(ota32_alloc_count *a, void *ptr)
{
    if (!ptr)
        return;
    block_header *h = (block_header *)ptr - 1;
    account(a, h->size, 0);
    a->sys.free(h);
}

void *ota32_alloc_count_realloc(ota32_alloc_count *a, void *ptr, size_t size)
{
    if (!ptr)
        return ota32_alloc_count_malloc(a, size);
    block_header *h = (block_header *)ptr - 1;
    size_t old = h->size;
    if (size > old && !admit(a, size - old, size))
        return NULL;
    block_header *nh = a->sys.realloc(h, sizeof *nh + size);
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

static void *op_malloc(void *ctx, size_t size)
{
    return ota32_alloc_count_malloc(ctx, size);
}

static void *op_calloc(void *ctx, size_t n, size_t size)
{
    return ota32_alloc_count_calloc(ctx, n, size);
}

static void *op_realloc(void *ctx, void *ptr, size_t size)
{
    return ota32_alloc_count_realloc(ctx, ptr, size);
}

static void op_free(void *ctx, void *ptr)
{
    ota32_alloc_count_free(ctx, ptr);
}

ota32_alloc_ops ota32_alloc_count_ops(ota32_alloc_count *a)
{
    ota32_alloc_ops ops = {
        .ctx = a,
        .malloc = op_malloc,
        .calloc = op_calloc,
        .realloc = op_realloc,
        .free = op_free,
    };
    return ops;
}
