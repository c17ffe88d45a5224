/*
 * The one NOR flash emulation: SPI NOR over a memory region, which is the
 * virtual device's mapped file, a dump or image read into memory, or a test's
 * RAM. Erase is a memset, program an AND, read a memcpy. NOR rules: erase
 * sets bytes to 0xFF, program can only clear bits (new = old & data).
 *
 * On top, what a harness needs: program and erase operations are counted; a
 * power cut armed at the Nth one happens before it, after it, or tears it,
 * with the torn bytes drawn from a seeded generator so every cut is
 * reproducible; one read, program or erase can be made to fail. Every
 * failure the code under test sees is an ordinary OTA32_ERR_IO.
 */
#include "vdev.h"

#include <string.h>

/* Typical W25Q64-class figures (datasheet "typ" column). */
#define T_SECTOR_ERASE_US 45000u
#define T_BLOCK_ERASE_US 150000u
#define T_PAGE_PROGRAM_US 400u
/* Quad I/O at 40 MHz: 4 bits per clock, 20 MB/s, 50 ns per byte. */
#define T_READ_NS_PER_BYTE 50u

/* ---- deterministic tearing ---------------------------------------------- */

/* splitmix64: small, well mixed, and the same on every platform. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* How one torn operation tears, drawn once from the seed. */
typedef struct tear {
    uint64_t rng;
    unsigned mode;  /* see tear_program / tear_erase */
    uint32_t done;  /* bytes that completed (a prefix) */
    uint32_t fuzzy; /* bytes after the prefix that are half done */
} tear;

static void tear_init(tear *t, uint64_t seed, uint32_t len)
{
    t->rng = seed;
    t->mode = (unsigned)(rng_next(&t->rng) % 3);
    t->done = len ? (uint32_t)(rng_next(&t->rng) % len) : 0;
    t->fuzzy = (uint32_t)(1 + rng_next(&t->rng) % 64);
}

/* Torn program, byte i of the operation. Modes: 0 = a prefix programmed, the
 * rest untouched; 1 = the prefix, then a few bytes with only some of their
 * bits cleared; 2 = every byte with only some of its bits cleared. */
static uint8_t tear_program(tear *t, uint32_t i, uint8_t old, uint8_t data)
{
    bool partial;
    if (t->mode == 2)
        partial = true;
    else if (i < t->done)
        return (uint8_t)(old & data);
    else
        partial = t->mode == 1 && i - t->done < t->fuzzy;
    if (!partial)
        return old;
    /* bits of `data` that are 0 get cleared only where the noise says so */
    uint8_t noise = (uint8_t)rng_next(&t->rng);
    return (uint8_t)(old & (data | noise));
}

/* Torn erase: 0 = a prefix erased, the rest untouched; 1 = random bits set
 * everywhere (charge partly removed); 2 = a prefix erased, then random bits. */
static uint8_t tear_erase(tear *t, uint32_t i, uint8_t old)
{
    if (t->mode != 1 && i < t->done)
        return 0xFF;
    if (t->mode == 0)
        return old;
    return (uint8_t)(old | (uint8_t)rng_next(&t->rng));
}

/* Whether byte i of an operation of `len` bytes lands under a half cut. */
static bool half_lands(vdev_cut_kind k, uint32_t i, uint32_t len)
{
    return k == VDEV_CUT_FIRST_HALF ? i < len / 2 : i >= len / 2;
}

/* ---- counting, timing, cuts, failures ----------------------------------- */

static void add_time(vdev_nor *n, uint64_t us)
{
    if (!n->timing)
        return;
    n->stats.virtual_us += us;
    if (us > n->stats.max_op_us)
        n->stats.max_op_us = us;
}

/* Decide what the next counted operation does: NONE = run normally,
 * otherwise the armed cut applies to it. */
static vdev_cut_kind next_op(vdev_nor *n)
{
    uint64_t idx = n->op_index++;
    n->stats.ops++;
    if (n->cut_kind != VDEV_CUT_NONE && idx == n->cut_op) {
        vdev_cut_kind k = n->cut_kind;
        n->cut_kind = VDEV_CUT_NONE;
        return k;
    }
    return VDEV_CUT_NONE;
}

/* Whether this operation is the injected failure. */
static bool injected(vdev_nor *n, vdev_op op, uint32_t addr, size_t len)
{
    if (!n->fail_armed || n->fail_kind != op || n->fail_addr < addr || n->fail_addr - addr >= len)
        return false;
    n->fail_armed = false;
    n->stats.injected++;
    return true;
}

static bool in_range(const vdev_nor *n, uint32_t addr, size_t len)
{
    return (uint64_t)addr + len <= n->size;
}

/* ---- flash ops ---------------------------------------------------------- */

static int nor_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    vdev_nor *n = ctx;
    if (n->lost)
        return OTA32_ERR_IO;
    if (!in_range(n, addr, len) || (!buf && len))
        return OTA32_ERR_RANGE;
    if (injected(n, VDEV_OP_READ, addr, len))
        return OTA32_ERR_IO;
    if (len)
        memcpy(buf, n->mem + addr, len);
    n->stats.reads++;
    n->stats.bytes_read += len;
    if (n->timing) {
        uint64_t ns = (uint64_t)len * T_READ_NS_PER_BYTE;
        n->read_ns += ns;
        n->stats.virtual_us += n->read_ns / 1000;
        n->read_ns %= 1000;
        if (ns / 1000 > n->stats.max_op_us)
            n->stats.max_op_us = ns / 1000;
    }
    return OTA32_OK;
}

/* Bytes of [addr, addr+len) that are not erased and would be programmed
 * (data byte != 0xFF). Writing 0xFF changes nothing on NOR, so it is not
 * counted: that is how ESP-IDF pads partial words. */
static uint64_t count_overprogram(const uint8_t *old, const uint8_t *data, size_t len)
{
    uint64_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += old[i] != 0xFF && data[i] != 0xFF;
    return count;
}

/* Program under an armed cut or strict checking; returns the cut that
 * applied, or -1 when strict mode refused the operation. */
static int program_checked(vdev_nor *n, uint8_t *cur, const uint8_t *data, size_t len)
{
    uint64_t over = count_overprogram(cur, data, len);
    n->stats.overprograms += over;
    if (over && n->strict)
        return -1; /* rejected before any bit changes */
    vdev_cut_kind cut = next_op(n);
    if (cut == VDEV_CUT_BEFORE)
        return cut;
    tear t;
    if (cut == VDEV_CUT_INSIDE)
        tear_init(&t, n->cut_seed, (uint32_t)len);
    for (size_t i = 0; i < len; i++) {
        if (cut == VDEV_CUT_INSIDE)
            cur[i] = tear_program(&t, (uint32_t)i, cur[i], data[i]);
        else if (cut < VDEV_CUT_FIRST_HALF || half_lands(cut, (uint32_t)i, (uint32_t)len))
            cur[i] &= data[i];
    }
    return cut;
}

static int nor_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    vdev_nor *n = ctx;
    const uint8_t *data = buf;
    if (n->lost)
        return OTA32_ERR_IO;
    if (!in_range(n, addr, len) || (!buf && len))
        return OTA32_ERR_RANGE;
    if (len == 0)
        return OTA32_OK;
    if (injected(n, VDEV_OP_PROGRAM, addr, len))
        return OTA32_ERR_IO;

    uint8_t *cur = n->mem + addr;
    int cut = VDEV_CUT_NONE;
    if (!n->strict && n->cut_kind == VDEV_CUT_NONE) {
        /* The common case: count and program in one pass. */
        uint64_t over = 0;
        for (size_t i = 0; i < len; i++) {
            uint8_t old = cur[i], in = data[i];
            over += old != 0xFF && in != 0xFF;
            cur[i] = (uint8_t)(old & in);
        }
        n->stats.overprograms += over;
        (void)next_op(n); /* nothing armed: only counts */
    } else {
        cut = program_checked(n, cur, data, len);
        if (cut < 0)
            return OTA32_ERR_STATE;
        if (cut == VDEV_CUT_BEFORE) {
            n->lost = true;
            return OTA32_ERR_IO;
        }
    }

    n->stats.programs++;
    n->stats.bytes_programmed += len;
    uint32_t pages = (addr + (uint32_t)len - 1) / OTA32_FLASH_PAGE - addr / OTA32_FLASH_PAGE + 1;
    add_time(n, (uint64_t)pages * T_PAGE_PROGRAM_US);
    if (cut != VDEV_CUT_NONE) {
        n->lost = true;
        return OTA32_ERR_IO;
    }
    return OTA32_OK;
}

static int nor_erase(vdev_nor *n, uint32_t addr, uint32_t unit)
{
    if (n->lost)
        return OTA32_ERR_IO;
    if (addr % unit != 0 || !in_range(n, addr, unit))
        return OTA32_ERR_RANGE;
    if (injected(n, VDEV_OP_ERASE, addr, unit))
        return OTA32_ERR_IO;

    vdev_cut_kind cut = next_op(n);
    if (cut == VDEV_CUT_BEFORE) {
        n->lost = true;
        return OTA32_ERR_IO;
    }
    uint8_t *p = n->mem + addr;
    if (cut == VDEV_CUT_INSIDE) {
        tear t;
        tear_init(&t, n->cut_seed, unit);
        for (uint32_t i = 0; i < unit; i++)
            p[i] = tear_erase(&t, i, p[i]);
    } else if (cut >= VDEV_CUT_FIRST_HALF) {
        memset(p + (cut == VDEV_CUT_FIRST_HALF ? 0 : unit / 2), 0xFF, unit / 2);
    } else {
        memset(p, 0xFF, unit);
    }

    if (unit == OTA32_FLASH_SECTOR) {
        n->stats.sector_erases++;
        add_time(n, T_SECTOR_ERASE_US);
    } else {
        n->stats.block_erases++;
        add_time(n, T_BLOCK_ERASE_US);
    }
    if (cut != VDEV_CUT_NONE) {
        n->lost = true;
        return OTA32_ERR_IO;
    }
    return OTA32_OK;
}

static int nor_erase_sector(void *ctx, uint32_t addr)
{
    return nor_erase(ctx, addr, OTA32_FLASH_SECTOR);
}

static int nor_erase_block(void *ctx, uint32_t addr)
{
    return nor_erase(ctx, addr, OTA32_FLASH_BLOCK);
}

/* ---- set-up and the harness's controls ---------------------------------- */

void vdev_nor_init(vdev_nor *n, uint8_t *mem, uint32_t size, const vdev_opts *opts)
{
    memset(n, 0, sizeof *n);
    n->mem = mem;
    n->size = size;
    n->strict = opts && opts->strict;
    n->timing = opts && opts->timing;
    n->ops = (ota32_flash_ops){
        .ctx = n,
        .size = size,
        .read = nor_read,
        .program = nor_program,
        .erase_sector = nor_erase_sector,
        .erase_block = nor_erase_block,
    };
}

const ota32_flash_ops *vdev_nor_flash(vdev_nor *n)
{
    return &n->ops;
}

void vdev_nor_arm_cut(vdev_nor *n, uint64_t op, vdev_cut_kind kind, uint64_t seed)
{
    n->cut_kind = kind;
    n->cut_op = n->op_index + op;
    n->cut_seed = seed;
}

bool vdev_nor_power_lost(const vdev_nor *n)
{
    return n->lost;
}

void vdev_nor_power_on(vdev_nor *n)
{
    n->lost = false;
    n->cut_kind = VDEV_CUT_NONE;
}

void vdev_nor_fail(vdev_nor *n, vdev_op op, uint32_t addr)
{
    n->fail_armed = true;
    n->fail_kind = op;
    n->fail_addr = addr;
}

void vdev_mem_flash(vdev_mem *m, uint8_t *buf, uint32_t len, ota32_flash_ops *out)
{
    vdev_nor_init(m, buf, len, NULL);
    *out = m->ops;
}
