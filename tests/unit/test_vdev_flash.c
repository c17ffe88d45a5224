/* The virtual ESP32's NOR flash: semantics, counters, timing, power cuts,
 * injected failures. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#include "vdev.h"

#define MB (1024u * 1024u)

/* A fresh 1 MB device (small, so the tests stay fast). */
static vdev *fresh(const char *name, bool strict, bool timing)
{
    vdev_opts o = {.flash_size = 1 * MB, .strict = strict, .timing = timing};
    ota32_diag dg;
    vdev *d = NULL;
    if (vdev_create(check_tmp_path(name), &o, true, &dg) != OTA32_OK ||
        vdev_open(&d, check_tmp_path(name), &o, &dg) != OTA32_OK)
        check_fail(__FILE__, __LINE__, "device %s: %s", name, dg.msg);
    return d;
}

static int rd(vdev *d, uint32_t addr, void *buf, size_t len)
{
    const ota32_flash_ops *f = vdev_flash(d);
    return f->read(f->ctx, addr, buf, len);
}

static int pg(vdev *d, uint32_t addr, const void *buf, size_t len)
{
    const ota32_flash_ops *f = vdev_flash(d);
    return f->program(f->ctx, addr, buf, len);
}

static int es(vdev *d, uint32_t addr)
{
    const ota32_flash_ops *f = vdev_flash(d);
    return f->erase_sector(f->ctx, addr);
}

static int eb(vdev *d, uint32_t addr)
{
    const ota32_flash_ops *f = vdev_flash(d);
    return f->erase_block(f->ctx, addr);
}

TEST(create_is_erased_and_sized)
{
    ota32_diag dg;
    const char *p = check_tmp_path("default.flash");
    CHECK_EQ(vdev_create(p, NULL, true, &dg), OTA32_OK);
    vdev *d = NULL;
    CHECK_EQ(vdev_open(&d, p, NULL, &dg), OTA32_OK);
    if (!d)
        return;
    CHECK_EQ(vdev_flash(d)->size, 8 * MB);
    uint8_t buf[64], ff[64];
    memset(ff, 0xFF, sizeof ff);
    CHECK_EQ(rd(d, 0, buf, sizeof buf), OTA32_OK);
    CHECK_MEM(buf, ff, sizeof buf);
    CHECK_EQ(rd(d, 8 * MB - 64, buf, sizeof buf), OTA32_OK);
    CHECK_MEM(buf, ff, sizeof buf);
    vdev_close(d);

    /* an existing file is kept unless told otherwise */
    CHECK_EQ(vdev_create(p, NULL, false, &dg), OTA32_ERR_IO);
    CHECK_CONTAINS(dg.msg, "exists");
    /* sizes a flash chip cannot have */
    vdev_opts odd = {.flash_size = 3 * MB + 5};
    CHECK_EQ(vdev_create(check_tmp_path("odd.flash"), &odd, true, &dg), OTA32_ERR_INVALID_ARG);
    vdev_opts huge = {.flash_size = 32 * MB};
    CHECK_EQ(vdev_create(check_tmp_path("huge.flash"), &huge, true, &dg), OTA32_ERR_INVALID_ARG);
    /* a 16 MB chip opens with the size asked for, and not with another */
    vdev_opts big = {.flash_size = 16 * MB};
    CHECK_EQ(vdev_create(check_tmp_path("16.flash"), &big, true, &dg), OTA32_OK);
    CHECK_EQ(vdev_open(&d, check_tmp_path("16.flash"), &big, &dg), OTA32_OK);
    CHECK_EQ(vdev_flash(d)->size, 16 * MB);
    vdev_close(d);
    vdev_opts four = {.flash_size = 4 * MB};
    CHECK_EQ(vdev_open(&d, check_tmp_path("16.flash"), &four, &dg), OTA32_ERR_INVALID_ARG);
    CHECK(d == NULL);
    CHECK_EQ(vdev_open(&d, check_tmp_path("missing.flash"), NULL, &dg), OTA32_ERR_NOT_FOUND);
}

TEST(program_ands_and_counts_overprograms)
{
    vdev *d = fresh("and.flash", false, false);
    if (!d)
        return;
    uint8_t a[4] = {0xF0, 0x0F, 0xFF, 0xAA};
    uint8_t b[4] = {0x3C, 0xFF, 0x00, 0x55};
    uint8_t got[4];
    CHECK_EQ(pg(d, 0x100, a, 4), OTA32_OK);
    vdev_stats st;
    vdev_get_stats(d, &st);
    CHECK_EQ(st.overprograms, 0);
    CHECK_EQ(pg(d, 0x100, b, 4), OTA32_OK);
    CHECK_EQ(rd(d, 0x100, got, 4), OTA32_OK);
    const uint8_t want[4] = {0x30, 0x0F, 0x00, 0x00};
    CHECK_MEM(got, want, 4);
    vdev_get_stats(d, &st);
    /* byte 0 and 3 programmed over data; byte 1 writes 0xFF (no-op); byte 2
     * was still erased */
    CHECK_EQ(st.overprograms, 2);
    CHECK_EQ(st.programs, 2);
    CHECK_EQ(st.bytes_programmed, 8);
    CHECK_EQ(st.ops, 2);
    CHECK_EQ(st.reads, 1);
    CHECK_EQ(st.bytes_read, 4);

    /* erase brings back 0xFF in that sector only */
    CHECK_EQ(pg(d, 0x1000, a, 4), OTA32_OK);
    CHECK_EQ(es(d, 0x0), OTA32_OK);
    CHECK_EQ(rd(d, 0x100, got, 4), OTA32_OK);
    const uint8_t ff[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    CHECK_MEM(got, ff, 4);
    CHECK_EQ(rd(d, 0x1000, got, 4), OTA32_OK);
    CHECK_MEM(got, a, 4);
    CHECK_EQ(eb(d, 0x0), OTA32_OK);
    CHECK_EQ(rd(d, 0x1000, got, 4), OTA32_OK);
    CHECK_MEM(got, ff, 4);
    vdev_get_stats(d, &st);
    CHECK_EQ(st.sector_erases, 1);
    CHECK_EQ(st.block_erases, 1);
    CHECK_EQ(st.ops, 5);
    vdev_reset_stats(d);
    vdev_get_stats(d, &st);
    CHECK_EQ(st.ops + st.reads + st.programs, 0);
    vdev_close(d);
}

TEST(strict_mode_rejects_overprogram_untouched)
{
    vdev *d = fresh("strict.flash", true, false);
    if (!d)
        return;
    uint8_t a[2] = {0xF0, 0xFF}, b[2] = {0xFF, 0x0F}, c[2] = {0x00, 0x00}, got[2];
    CHECK_EQ(pg(d, 0x10, a, 2), OTA32_OK);
    /* 0xFF over data and data over an erased byte are fine */
    CHECK_EQ(pg(d, 0x10, b, 2), OTA32_OK);
    CHECK_EQ(pg(d, 0x10, c, 2), OTA32_ERR_STATE);
    CHECK_EQ(rd(d, 0x10, got, 2), OTA32_OK);
    const uint8_t want[2] = {0xF0, 0x0F};
    CHECK_MEM(got, want, 2);
    vdev_stats st;
    vdev_get_stats(d, &st);
    CHECK_EQ(st.overprograms, 2);
    CHECK_EQ(st.programs, 2); /* the rejected one did not run */
    CHECK(!vdev_power_lost(d));
    vdev_close(d);
}

TEST(alignment_and_range_errors)
{
    vdev *d = fresh("range.flash", false, false);
    if (!d)
        return;
    uint8_t buf[16] = {0};
    CHECK_EQ(es(d, 0x800), OTA32_ERR_RANGE);
    CHECK_EQ(es(d, 0x1001), OTA32_ERR_RANGE);
    CHECK_EQ(eb(d, 0x1000), OTA32_ERR_RANGE);
    CHECK_EQ(eb(d, 0x8000), OTA32_ERR_RANGE);
    CHECK_EQ(es(d, 1 * MB), OTA32_ERR_RANGE);
    CHECK_EQ(eb(d, 1 * MB), OTA32_ERR_RANGE);
    CHECK_EQ(rd(d, 1 * MB - 8, buf, 16), OTA32_ERR_RANGE);
    CHECK_EQ(pg(d, 1 * MB - 8, buf, 16), OTA32_ERR_RANGE);
    CHECK_EQ(rd(d, 0xFFFFFFF8u, buf, 16), OTA32_ERR_RANGE);
    /* nothing was written by the rejected program */
    CHECK_EQ(rd(d, 1 * MB - 8, buf, 8), OTA32_OK);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(buf[i], 0xFF);
    vdev_stats st;
    vdev_get_stats(d, &st);
    CHECK_EQ(st.ops, 0);
    vdev_close(d);
}

TEST(timing_model)
{
    vdev *d = fresh("timing.flash", false, true);
    if (!d)
        return;
    uint8_t buf[512];
    memset(buf, 0x12, sizeof buf);
    CHECK_EQ(pg(d, 0x0, buf, 256), OTA32_OK);    /* 1 page */
    CHECK_EQ(pg(d, 0x1080, buf, 256), OTA32_OK); /* straddles 2 pages */
    CHECK_EQ(pg(d, 0x2000, buf, 512), OTA32_OK); /* 2 pages */
    vdev_stats st;
    vdev_get_stats(d, &st);
    CHECK_EQ(st.virtual_us, 5 * 400);
    CHECK_EQ(st.max_op_us, 800);
    CHECK_EQ(es(d, 0x3000), OTA32_OK);
    CHECK_EQ(eb(d, 0x10000), OTA32_OK);
    vdev_get_stats(d, &st);
    CHECK_EQ(st.virtual_us, 2000 + 45000 + 150000);
    CHECK_EQ(st.max_op_us, 150000);
    /* reads: 20 MB/s, so 64 KB costs ~3.3 ms */
    static uint8_t big[65536];
    CHECK_EQ(rd(d, 0, big, sizeof big), OTA32_OK);
    vdev_get_stats(d, &st);
    CHECK_EQ(st.virtual_us, 197000 + 3276);
    vdev_close(d);
}

TEST(data_persists_across_reopen)
{
    vdev *d = fresh("persist.flash", false, false);
    if (!d)
        return;
    const char msg[] = "kept in the file";
    CHECK_EQ(pg(d, 0x7F000, msg, sizeof msg), OTA32_OK);
    vdev_close(d);
    ota32_diag dg;
    CHECK_EQ(vdev_open(&d, check_tmp_path("persist.flash"), NULL, &dg), OTA32_OK);
    char got[sizeof msg];
    CHECK_EQ(rd(d, 0x7F000, got, sizeof got), OTA32_OK);
    CHECK_STR(got, msg);
    vdev_close(d);
}

/* Three ops: program sector 0, erase sector 1, program sector 2. With a cut
 * armed at op 1 of the given kind, return what survives. */
static void run_cut(const char *name, vdev_cut_kind kind, uint8_t out[3])
{
    vdev *d = fresh(name, false, false);
    if (!d)
        return;
    uint8_t x = 0x11;
    CHECK_EQ(pg(d, 0x1000, &x, 1), OTA32_OK); /* setup, before arming */
    vdev_arm_cut(d, 1, kind, 7);
    CHECK_EQ(pg(d, 0x0, &x, 1), OTA32_OK);
    CHECK_EQ(es(d, 0x1000), OTA32_ERR_IO);
    CHECK(vdev_power_lost(d));
    CHECK_EQ(pg(d, 0x2000, &x, 1), OTA32_ERR_IO);
    uint8_t b;
    CHECK_EQ(rd(d, 0, &b, 1), OTA32_ERR_IO);
    vdev_close(d);
    ota32_diag dg;
    CHECK_EQ(vdev_open(&d, check_tmp_path(name), NULL, &dg), OTA32_OK);
    CHECK(!vdev_power_lost(d));
    for (int i = 0; i < 3; i++)
        CHECK_EQ(rd(d, (uint32_t)i * 0x1000, &out[i], 1), OTA32_OK);
    vdev_close(d);
}

TEST(cut_before_and_after)
{
    uint8_t s[3];
    run_cut("before.flash", VDEV_CUT_BEFORE, s);
    CHECK_EQ(s[0], 0x11);
    CHECK_EQ(s[1], 0x11); /* the erase never ran */
    CHECK_EQ(s[2], 0xFF);
    run_cut("after.flash", VDEV_CUT_AFTER, s);
    CHECK_EQ(s[0], 0x11);
    CHECK_EQ(s[1], 0xFF); /* the erase completed */
    CHECK_EQ(s[2], 0xFF);
}

/* Fill a 4 KB page pattern at 0, arm a torn program of `data` over it. */
static void torn_program(uint64_t seed, uint8_t out[4096])
{
    char name[64];
    snprintf(name, sizeof name, "tp-%llu.flash", (unsigned long long)seed);
    vdev *d = fresh(name, false, false);
    if (!d)
        return;
    static uint8_t data[4096];
    for (int i = 0; i < 4096; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    vdev_arm_cut(d, 0, VDEV_CUT_INSIDE, seed);
    CHECK_EQ(pg(d, 0x3000, data, sizeof data), OTA32_ERR_IO);
    vdev_close(d);
    ota32_diag dg;
    CHECK_EQ(vdev_open(&d, check_tmp_path(name), NULL, &dg), OTA32_OK);
    CHECK_EQ(rd(d, 0x3000, out, 4096), OTA32_OK);
    /* each byte holds only bits of the target pattern cleared, never more */
    for (int i = 0; i < 4096; i++)
        if ((out[i] & data[i]) != data[i]) {
            CHECK_EQ(out[i] & data[i], data[i]);
            break;
        }
    vdev_close(d);
}

TEST(torn_program_is_reproducible)
{
    static uint8_t a[4096], b[4096], c[4096];
    torn_program(42, a);
    torn_program(42, b);
    CHECK_MEM(a, b, sizeof a);
    /* different seeds tear differently, and tearing leaves a mix of done and
     * not done bytes for most seeds */
    int differ = 0, mixed = 0, prefix = 0, bits = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        torn_program(seed, c);
        if (memcmp(a, c, sizeof a) != 0)
            differ++;
        int ff = 0, done = 0, half = 0, k = 0;
        for (int i = 0; i < 4096; i++) {
            uint8_t want = (uint8_t)(i * 7 + 3);
            ff += c[i] == 0xFF;
            done += c[i] == want;
            half += c[i] != 0xFF && c[i] != want;
        }
        /* a clean tear: the first k bytes programmed, the rest still erased */
        while (k < 4096 && c[k] == (uint8_t)(k * 7 + 3))
            k++;
        bool clean = true;
        for (int i = k; i < 4096 && clean; i++)
            clean = c[i] == 0xFF;
        if (ff < 4096 && done < 4096)
            mixed++;
        prefix += clean && k > 0;
        bits += half > 0;
    }
    CHECK(differ >= 11);
    CHECK(mixed >= 6);
    CHECK(prefix >= 1); /* both kinds of tear happen */
    CHECK(bits >= 1);
}

static void torn_erase(uint64_t seed, bool block, uint8_t *out, size_t len)
{
    char name[64];
    snprintf(name, sizeof name, "te-%d-%llu.flash", block, (unsigned long long)seed);
    vdev *d = fresh(name, false, false);
    if (!d)
        return;
    uint8_t *zero = calloc(1, len);
    CHECK_EQ(pg(d, 0x20000, zero, len), OTA32_OK);
    vdev_arm_cut(d, 0, VDEV_CUT_INSIDE, seed);
    CHECK_EQ(block ? eb(d, 0x20000) : es(d, 0x20000), OTA32_ERR_IO);
    vdev_close(d);
    ota32_diag dg;
    CHECK_EQ(vdev_open(&d, check_tmp_path(name), NULL, &dg), OTA32_OK);
    CHECK_EQ(rd(d, 0x20000, out, len), OTA32_OK);
    /* the neighbours are untouched */
    uint8_t after;
    CHECK_EQ(rd(d, 0x20000 + (uint32_t)len, &after, 1), OTA32_OK);
    CHECK_EQ(after, 0xFF);
    free(zero);
    vdev_close(d);
}

TEST(torn_erase_is_reproducible)
{
    static uint8_t a[4096], b[4096], c[4096];
    torn_erase(99, false, a, sizeof a);
    torn_erase(99, false, b, sizeof b);
    CHECK_MEM(a, b, sizeof a);
    int differ = 0, partial = 0, prefix = 0, bits = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        torn_erase(seed, false, c, sizeof c);
        differ += memcmp(a, c, sizeof a) != 0;
        int ff = 0, zero = 0, k = 0;
        for (int i = 0; i < 4096; i++) {
            ff += c[i] == 0xFF;
            zero += c[i] == 0x00;
        }
        /* a clean tear: a prefix erased, the rest still programmed (0x00) */
        while (k < 4096 && c[k] == 0xFF)
            k++;
        partial += ff < 4096 && zero < 4096;
        prefix += k > 0 && ff + zero == 4096 && ff == k;
        bits += ff + zero < 4096; /* bytes with only some bits back to 1 */
    }
    CHECK(differ >= 11);
    CHECK(partial >= 8);
    CHECK(prefix >= 1);
    CHECK(bits >= 1);
    /* a torn 64 KB block erase too */
    static uint8_t x[65536], y[65536];
    torn_erase(5, true, x, sizeof x);
    torn_erase(5, true, y, sizeof y);
    CHECK_MEM(x, y, sizeof x);
    int ff = 0;
    for (size_t i = 0; i < sizeof x; i++)
        ff += x[i] == 0xFF;
    CHECK(ff > 0 && ff < (int)sizeof x);
}

TEST(erase_range_uses_blocks_where_aligned)
{
    vdev *d = fresh("range2.flash", false, false);
    if (!d)
        return;
    CHECK_EQ(ota32_flash_erase_range(vdev_flash(d), 0xF000, 0x22000), OTA32_OK);
    vdev_stats st;
    vdev_get_stats(d, &st);
    /* 0xF000 (1 sector), 0x10000 + 0x20000 (2 blocks), 0x30000 (1 sector) */
    CHECK_EQ(st.sector_erases, 2);
    CHECK_EQ(st.block_erases, 2);
    vdev_close(d);
}

/* A read, program or erase made to fail: OTA32_ERR_IO, nothing changed,
 * power still on, once; the same operation then succeeds. */
TEST(injected_failures_change_nothing)
{
    uint8_t mem[2 * OTA32_FLASH_SECTOR], data[32], got[32], ff[32];
    memset(mem, 0xFF, sizeof mem);
    memset(data, 0x5A, sizeof data);
    memset(ff, 0xFF, sizeof ff);
    vdev_nor n;
    vdev_nor_init(&n, mem, sizeof mem, NULL);
    const ota32_flash_ops *f = vdev_nor_flash(&n);

    vdev_nor_fail(&n, VDEV_OP_PROGRAM, 0x1010);
    CHECK_EQ(f->program(f->ctx, 0x0, data, sizeof data), OTA32_OK); /* elsewhere */
    CHECK_EQ(f->program(f->ctx, 0x1000, data, sizeof data), OTA32_ERR_IO);
    CHECK_MEM(mem + 0x1000, ff, sizeof ff);
    CHECK(!vdev_nor_power_lost(&n));
    CHECK_EQ(f->program(f->ctx, 0x1000, data, sizeof data), OTA32_OK);
    CHECK_MEM(mem + 0x1000, data, sizeof data);

    vdev_nor_fail(&n, VDEV_OP_READ, 0x1000);
    CHECK_EQ(f->read(f->ctx, 0x1000, got, sizeof got), OTA32_ERR_IO);
    CHECK_EQ(f->read(f->ctx, 0x1000, got, sizeof got), OTA32_OK);
    CHECK_MEM(got, data, sizeof got);

    vdev_nor_fail(&n, VDEV_OP_ERASE, 0x1FFF);
    CHECK_EQ(f->erase_sector(f->ctx, 0x1000), OTA32_ERR_IO);
    CHECK_MEM(mem + 0x1000, data, sizeof data);
    CHECK_EQ(f->erase_sector(f->ctx, 0x1000), OTA32_OK);
    CHECK_MEM(mem + 0x1000, ff, sizeof ff);
    CHECK_EQ(n.stats.injected, 3);
}

/* Half cuts: a program lands one half of its bytes, an erase clears one half
 * of its sector; the operation fails and power is lost. */
TEST(half_cuts_complete_one_half)
{
    uint8_t mem[2 * OTA32_FLASH_SECTOR], zero[16], ff[16];
    memset(mem, 0xFF, sizeof mem);
    memset(zero, 0, sizeof zero);
    memset(ff, 0xFF, sizeof ff);
    vdev_nor n;
    vdev_nor_init(&n, mem, sizeof mem, NULL);
    const ota32_flash_ops *f = vdev_nor_flash(&n);

    vdev_nor_arm_cut(&n, 0, VDEV_CUT_FIRST_HALF, 0);
    CHECK_EQ(f->program(f->ctx, 0x0, zero, 16), OTA32_ERR_IO);
    CHECK(vdev_nor_power_lost(&n));
    CHECK_MEM(mem, zero, 8);
    CHECK_MEM(mem + 8, ff, 8);

    vdev_nor_power_on(&n);
    memset(mem + 0x1000, 0, OTA32_FLASH_SECTOR);
    vdev_nor_arm_cut(&n, 0, VDEV_CUT_SECOND_HALF, 0);
    CHECK_EQ(f->erase_sector(f->ctx, 0x1000), OTA32_ERR_IO);
    CHECK_MEM(mem + 0x1000, zero, 16);       /* the first half as it was */
    CHECK_MEM(mem + 0x1000 + 0x800, ff, 16); /* the second half erased */
    CHECK_EQ(mem[0x1000 + 0x7FF], 0);
    CHECK_EQ(mem[0x1FFF], 0xFF);
    vdev_nor_power_on(&n);
    CHECK_EQ(f->erase_sector(f->ctx, 0x1000), OTA32_OK); /* control */
    CHECK_EQ(mem[0x1000], 0xFF);
}

RUN_TESTS(CASE(create_is_erased_and_sized), CASE(program_ands_and_counts_overprograms),
          CASE(strict_mode_rejects_overprogram_untouched), CASE(alignment_and_range_errors),
          CASE(timing_model), CASE(data_persists_across_reopen), CASE(cut_before_and_after),
          CASE(torn_program_is_reproducible), CASE(torn_erase_is_reproducible),
          CASE(erase_range_uses_blocks_where_aligned), CASE(injected_failures_change_nothing),
          CASE(half_cuts_complete_one_half))
