/* The slot writer: erase-ahead, page-aligned programs, bounds. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "svc_writer.h"
#include "vdev.h"

#define FLASH_LEN (4u << 20)

static void *heap_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}

static void heap_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static const ota32_alloc_ops heap = {.malloc = heap_malloc, .free = heap_free};

/* A memory flash that logs every erase and program. */
typedef struct rec_flash {
    vdev_mem mem;
    ota32_flash_ops inner;
    ota32_flash_ops ops;
    uint8_t *buf;
    unsigned sectors, blocks, programs;
    uint32_t lo, hi; /* lowest and highest address touched by a write/erase */
    uint32_t last_erase;
    bool misaligned_program;
} rec_flash;

static void touch(rec_flash *r, uint32_t a, uint32_t len)
{
    if (a < r->lo)
        r->lo = a;
    if (a + len > r->hi)
        r->hi = a + len;
}

static int rec_read(void *ctx, uint32_t a, void *b, size_t n)
{
    rec_flash *r = ctx;
    return r->inner.read(r->inner.ctx, a, b, n);
}

static int rec_program(void *ctx, uint32_t a, const void *b, size_t n)
{
    rec_flash *r = ctx;
    r->programs++;
    if (a % OTA32_FLASH_PAGE || n % OTA32_FLASH_PAGE)
        r->misaligned_program = true;
    touch(r, a, (uint32_t)n);
    return r->inner.program(r->inner.ctx, a, b, n);
}

static int rec_sector(void *ctx, uint32_t a)
{
    rec_flash *r = ctx;
    r->sectors++;
    r->last_erase = a;
    touch(r, a, OTA32_FLASH_SECTOR);
    return r->inner.erase_sector(r->inner.ctx, a);
}

static int rec_block(void *ctx, uint32_t a)
{
    rec_flash *r = ctx;
    r->blocks++;
    r->last_erase = a;
    touch(r, a, OTA32_FLASH_BLOCK);
    return r->inner.erase_block(r->inner.ctx, a);
}

static void rec_init(rec_flash *r, uint8_t fill)
{
    memset(r, 0, sizeof *r);
    r->buf = malloc(FLASH_LEN);
    memset(r->buf, fill, FLASH_LEN);
    vdev_mem_flash(&r->mem, r->buf, FLASH_LEN, &r->inner);
    r->ops = (ota32_flash_ops){r, FLASH_LEN, rec_read, rec_program, rec_sector, rec_block};
    r->lo = UINT32_MAX;
}

static uint8_t *pattern(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
    return p;
}

static int write_chunked(svc_writer *w, const uint8_t *data, size_t len, uint32_t seed)
{
    size_t pos = 0;
    while (pos < len) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 8) % 7000;
        if (n > len - pos)
            n = len - pos;
        int rc = svc_writer_write(w, data + pos, n, NULL);
        if (rc != OTA32_OK)
            return rc;
        pos += n;
    }
    return OTA32_OK;
}

TEST(erase_ahead_blocks_where_aligned)
{
    rec_flash r;
    rec_init(&r, 0x00); /* "old firmware": nothing erased */
    uint8_t wbuf[4096];
    svc_writer *w = NULL;
    /* Slot starts 12 KB before a 64 KB boundary: 3 sectors, then blocks. */
    const uint32_t base = 0x20000 - 0x3000, size = 0x80000, len = 200000;
    svc_writer_free(w, &heap);
    w = svc_writer_new(&heap, &r.ops, base, size, wbuf, sizeof wbuf);
    svc_writer_set_total(w, len);
    svc_writer_arm(w);
    uint8_t *img = pattern(len, 7);
    CHECK_EQ(write_chunked(w, img, len, 3), OTA32_OK);
    CHECK_EQ(svc_writer_finish(w, NULL), OTA32_OK);
    CHECK_MEM(r.buf + base, img, len);
    /* 200000 bytes -> 0x31000 erased: 3 sectors, 2 blocks (0x20000), then
     * 0xE000 more as sectors because a third block would pass the end. */
    uint32_t erased = ((len + 0xFFF) & ~0xFFFu);
    CHECK_EQ(erased, 0x31000);
    CHECK_EQ(r.blocks, 2);
    CHECK_EQ(r.sectors, 3 + 14);
    svc_writer_counts wc;
    svc_writer_get_counts(w, &wc);
    CHECK_EQ(wc.block_erases, 2);
    CHECK_EQ(wc.sector_erases, 17);
    CHECK_EQ(wc.programs, (len + 4095) / 4096);
    CHECK_EQ(r.lo, base);
    CHECK_EQ(r.hi, base + erased);
    /* Beyond the image, the slot is untouched. */
    CHECK_EQ(r.buf[base + erased], 0x00);
    CHECK_EQ(r.buf[base + size - 1], 0x00);
    /* Tail padded with 0xFF within the last page only. */
    CHECK_EQ(r.buf[base + len], 0xFF);
    CHECK(!r.misaligned_program);
    CHECK_EQ(r.programs, (len + 4095) / 4096);
    free(img);
    svc_writer_free(w, &heap);
    free(r.buf);
}

TEST(nothing_erased_before_armed)
{
    rec_flash r;
    rec_init(&r, 0x00);
    uint8_t wbuf[4096];
    svc_writer *w = NULL;
    svc_writer_free(w, &heap);
    w = svc_writer_new(&heap, &r.ops, 0x10000, 0x40000, wbuf, sizeof wbuf);
    uint8_t *img = pattern(5000, 1);
    ota32_diag d;
    ota32_diag_clear(&d);
    /* The prefix is buffered; the first flush is refused while unarmed. */
    CHECK_EQ(svc_writer_write(w, img, 288, &d), OTA32_OK);
    CHECK_EQ(svc_writer_write(w, img + 288, 5000 - 288, &d), OTA32_ERR_STATE);
    CHECK_CONTAINS(d.msg, "before the image header");
    CHECK_EQ(r.sectors + r.blocks + r.programs, 0);
    free(img);
    svc_writer_free(w, &heap);
    free(r.buf);
}

TEST(never_writes_outside_the_slot)
{
    rec_flash r;
    rec_init(&r, 0x00);
    uint8_t wbuf[4096];
    svc_writer *w = NULL;
    const uint32_t base = 0x30000, size = 0x5000; /* 20 KB slot */
    svc_writer_free(w, &heap);
    w = svc_writer_new(&heap, &r.ops, base, size, wbuf, sizeof wbuf);
    svc_writer_arm(w);
    uint8_t *img = pattern(0x8000, 9);
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = write_chunked(w, img, 0x8000, 5);
    CHECK_EQ(rc, OTA32_ERR_TOO_BIG);
    CHECK(r.hi <= base + size);
    CHECK(r.lo >= base);
    /* A length announced smaller than what arrives: erasing stops at it. */
    svc_writer_free(w, &heap);
    w = svc_writer_new(&heap, &r.ops, base, size, wbuf, sizeof wbuf);
    svc_writer_set_total(w, 0x2000);
    svc_writer_arm(w);
    rc = write_chunked(w, img, 0x3000, 5);
    if (rc == OTA32_OK)
        rc = svc_writer_finish(w, &d);
    CHECK_EQ(rc, OTA32_ERR_TOO_BIG);
    CHECK(r.hi <= base + size);
    free(img);
    svc_writer_free(w, &heap);
    free(r.buf);
}

TEST(restart_re_erases_written_sectors)
{
    rec_flash r;
    rec_init(&r, 0xFF);
    uint8_t wbuf[4096];
    svc_writer *w = NULL;
    const uint32_t base = 0x40000, len = 50000;
    svc_writer_free(w, &heap);
    w = svc_writer_new(&heap, &r.ops, base, 0x20000, wbuf, sizeof wbuf);
    svc_writer_set_total(w, len);
    svc_writer_arm(w);
    uint8_t *a = pattern(len, 1), *b = pattern(len, 2);
    CHECK_EQ(write_chunked(w, a, 30000, 1), OTA32_OK);
    unsigned erases = r.sectors + r.blocks;
    CHECK(erases > 0);
    /* Start over with other bytes: NOR would AND them without re-erasing.
     * Starting over disarms until the new prefix is checked. */
    svc_writer_start_over(w);
    CHECK_EQ(svc_writer_write(w, b, 4096, NULL), OTA32_ERR_STATE);
    svc_writer_start_over(w);
    svc_writer_arm(w);
    CHECK_EQ(write_chunked(w, b, len, 2), OTA32_OK);
    CHECK_EQ(svc_writer_finish(w, NULL), OTA32_OK);
    CHECK_MEM(r.buf + base, b, len);
    CHECK(r.sectors + r.blocks > erases);
    /* Resume mid-way (after a reset): from a sector boundary, re-erasing it. */
    svc_writer_start_over(w);
    CHECK_EQ(svc_writer_resume(w, 0x4001, false), OTA32_ERR_INVALID_ARG);
    CHECK_EQ(svc_writer_resume(w, 0x20001, true), OTA32_ERR_INVALID_ARG); /* past the slot */
    CHECK_EQ(svc_writer_resume(w, 0x4000, false), OTA32_OK);              /* and armed */
    CHECK_EQ(svc_writer_flushed(w), 0x4000);
    CHECK_EQ(svc_writer_write(w, a + 0x4000, len - 0x4000, NULL), OTA32_OK);
    CHECK_EQ(svc_writer_finish(w, NULL), OTA32_OK);
    CHECK_MEM(r.buf + base, b, 0x4000);
    CHECK_MEM(r.buf + base + 0x4000, a + 0x4000, len - 0x4000);
    free(a);
    free(b);
    svc_writer_free(w, &heap);
    free(r.buf);
}

TEST(whole_slot_strategy_erases_everything_first)
{
    rec_flash r;
    rec_init(&r, 0x00);
    uint8_t wbuf[4096];
    svc_writer *w = NULL;
    const uint32_t base = 0x20000, size = 0x377000, len = 10000;
    svc_writer_free(w, &heap);
    w = svc_writer_new(&heap, &r.ops, base, size, wbuf, sizeof wbuf);
    svc_writer_set_total(w, len);
    svc_writer_erase_whole_slot(w);
    svc_writer_arm(w);
    uint8_t *img = pattern(len, 4);
    CHECK_EQ(write_chunked(w, img, len, 4), OTA32_OK);
    CHECK_EQ(svc_writer_finish(w, NULL), OTA32_OK);
    CHECK_MEM(r.buf + base, img, len);
    CHECK_EQ(r.blocks, 0x377000 / 0x10000);
    CHECK_EQ(r.sectors, (0x377000 % 0x10000) / 0x1000);
    CHECK_EQ(r.buf[base + size - 1], 0xFF);
    free(img);
    svc_writer_free(w, &heap);
    free(r.buf);
}

static uint8_t seen[0x10000];
static size_t seen_len;

static int seen_hook(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    memcpy(seen + seen_len, data, len);
    seen_len += len;
    return OTA32_OK;
}

TEST(hook_sees_exactly_the_bytes)
{
    rec_flash r;
    rec_init(&r, 0xFF);
    uint8_t wbuf[4096];
    svc_writer *w = NULL;
    svc_writer_free(w, &heap);
    w = svc_writer_new(&heap, &r.ops, 0x10000, 0x10000, wbuf, sizeof wbuf);
    svc_writer_arm(w);
    svc_writer_on_flush(w, seen_hook, NULL);
    seen_len = 0;
    uint8_t *img = pattern(9000, 11);
    CHECK_EQ(write_chunked(w, img, 9000, 8), OTA32_OK);
    CHECK_EQ(seen_len, 8192); /* two full buffers so far; 808 bytes buffered */
    CHECK_EQ(svc_writer_pos(w), 9000);
    CHECK_EQ(svc_writer_finish(w, NULL), OTA32_OK);
    CHECK_EQ(seen_len, 9000); /* the 0xFF page padding is not part of the image */
    CHECK_MEM(seen, img, 9000);
    /* Closed: more data is refused. */
    CHECK_EQ(svc_writer_write(w, img, 1, NULL), OTA32_ERR_STATE);
    free(img);
    svc_writer_free(w, &heap);
    free(r.buf);
}

RUN_TESTS(CASE(erase_ahead_blocks_where_aligned), CASE(nothing_erased_before_armed),
          CASE(never_writes_outside_the_slot), CASE(restart_re_erases_written_sectors),
          CASE(whole_slot_strategy_erases_everything_first), CASE(hook_sees_exactly_the_bytes))
