/* The streaming image parser on arbitrary bytes, fed in one piece, in random
 * chunks and (for small inputs) byte by byte: every chunking must give the
 * same result, info and message, and no read may leave the buffers (ASan).
 * Input: one byte of option bits, then the image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota32/image.h"
#include "posix_hash.h"

typedef struct outcome {
    int rc;
    size_t consumed;
    ota32_image_stage stage;
    ota32_image_info info;
    ota32_diag diag;
} outcome;

static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* max_chunk 0: whole; otherwise random sizes in [1, max_chunk]. */
static void run(const uint8_t *data, size_t size, const ota32_image_opts *o, size_t max_chunk,
                uint32_t seed, outcome *out)
{
    memset(out, 0, sizeof *out);
    ota32_diag_clear(&out->diag);
    ota32_image_parser p;
    ota32_image_parser_init(&p, o);
    size_t off = 0;
    int rc = OTA32_OK;
    uint32_t s = seed | 1;
    while (off < size && rc == OTA32_OK) {
        size_t n = size - off;
        if (max_chunk && n > 1) {
            size_t cap = n < max_chunk ? n : max_chunk;
            n = 1 + next(&s) % cap;
        }
        /* copy each chunk to its own heap buffer so ASan sees over-reads */
        uint8_t *chunk = malloc(n);
        if (!chunk)
            abort();
        memcpy(chunk, data + off, n);
        size_t used = 0;
        rc = ota32_image_parser_feed(&p, chunk, n, &used, &out->diag);
        free(chunk);
        if (used > n)
            abort();
        out->consumed += used;
        off += n;
    }
    if (rc == OTA32_OK)
        rc = ota32_image_parser_finish(&p, &out->diag);
    else
        ota32_image_parser_abort(&p);
    out->rc = rc;
    out->stage = ota32_image_parser_stage(&p);
    out->info = p.info;
}

static void same(const outcome *a, const outcome *b)
{
    if (a->rc != b->rc || a->consumed != b->consumed || a->stage != b->stage ||
        memcmp(&a->info, &b->info, sizeof a->info) != 0 ||
        (a->rc && (strcmp(a->diag.msg, b->diag.msg) != 0 || a->diag.offset != b->diag.offset))) {
        fprintf(stderr, "chunking changed the result: %d/%zu '%s' vs %d/%zu '%s'\n", a->rc,
                a->consumed, a->diag.msg, b->rc, b->consumed, b->diag.msg);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t bits = data[0];
    data++;
    size--;
    ota32_image_opts o = {
        .chip_id = (bits & 1) ? OTA32_CHIP_ANY : OTA32_CHIP_ESP32,
        .require_app_desc = (bits & 2) != 0,
        .lenient_digests = (bits & 4) != 0,
        .max_len = (bits & 8) ? (uint32_t)(size / 2 + 64) : 0,
        .chip_rev_full = (bits & 16) ? 100 : 0,
        .hash = (bits & 32) ? NULL : ota32_posix_hash(),
    };
    outcome whole, other;
    run(data, size, &o, 0, 0, &whole);
    run(data, size, &o, 1 + (size_t)(bits >> 6) * 700, (uint32_t)size * 2654435761u, &other);
    same(&whole, &other);
    if (size <= 8192) {
        run(data, size, &o, 1, 0, &other);
        same(&whole, &other);
    }
    if (whole.consumed > size)
        abort();
    return 0;
}
