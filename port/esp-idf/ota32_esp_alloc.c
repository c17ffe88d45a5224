/*
 * Counted heap for the engine and nghttp2: every block carries its size in a
 * header so live and peak bytes are exact. Used from the ota32 task only,
 * hence no lock.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota32_esp_priv.h"

/* Keeps the payload at malloc's alignment. */
typedef union block_header {
    size_t size;
    max_align_t align;
} block_header;

static void account(ota32_esp_alloc *a, size_t old_size, size_t new_size)
{
    a->current = a->current - old_size + new_size;
    if (a->current > a->peak)
        a->peak = a->current;
}

void *ota32_esp_alloc_get(ota32_esp_alloc *a, size_t size)
{
    if (size > SIZE_MAX - sizeof(block_header)) {
        a->failures++;
        return NULL;
    }
    block_header *h = malloc(sizeof *h + size);
    if (!h) {
        a->failures++;
        return NULL;
    }
    h->size = size;
    account(a, 0, size);
    return h + 1;
}

void ota32_esp_alloc_put(ota32_esp_alloc *a, void *ptr)
{
    if (!ptr)
        return;
    block_header *h = (block_header *)ptr - 1;
    account(a, h->size, 0);
    free(h);
}

static void *op_malloc(void *ctx, size_t size)
{
    return ota32_esp_alloc_get(ctx, size);
}

static void *op_calloc(void *ctx, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = ota32_esp_alloc_get(ctx, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void op_free(void *ctx, void *ptr)
{
    ota32_esp_alloc_put(ctx, ptr);
}

static void *op_realloc(void *ctx, void *ptr, size_t size)
{
    ota32_esp_alloc *a = ctx;
    if (!ptr)
        return ota32_esp_alloc_get(a, size);
    if (size > SIZE_MAX - sizeof(block_header)) {
        a->failures++;
        return NULL;
    }
    block_header *h = (block_header *)ptr - 1;
    size_t old = h->size;
    block_header *nh = realloc(h, sizeof *nh + size);
    if (!nh) {
        a->failures++;
        return NULL;
    }
    nh->size = size;
    account(a, old, size);
    return nh + 1;
}

ota32_alloc_ops ota32_esp_alloc_ops(ota32_esp_alloc *a)
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
