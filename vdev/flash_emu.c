/*
 * The virtual ESP32's flash chip: SPI NOR emulated on a file.
 *
 * The file is mapped shared (MAP_SHARED), so every operation goes straight
 * to the file's pages: the file is the chip, after a power cut nothing else
 * survives, and reopening the file is a reboot. Erase is a memset, program an
 * AND over the mapping, read a memcpy. NOR rules: erase sets bytes to 0xFF,
 * program can only clear bits (new = old & data). Program and erase
 * operations are counted; a cut armed at the Nth one happens before it,
 * after it, or tears it, with the torn bytes drawn from a seeded generator so
 * every cut is reproducible.
 */
#include "vdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Typical W25Q64-class figures (datasheet "typ" column). */
#define T_SECTOR_ERASE_US 45000u
#define T_BLOCK_ERASE_US 150000u
#define T_PAGE_PROGRAM_US 400u
/* Quad I/O at 40 MHz: 4 bits per clock, 20 MB/s, 50 ns per byte. */
#define T_READ_NS_PER_BYTE 50u

#define VDEV_MIN_SIZE OTA32_FLASH_BLOCK
#define VDEV_MAX_SIZE (16u * 1024 * 1024) /* ESP32 maps at most 16 MB */
#define VDEV_DEFAULT_SIZE (8u * 1024 * 1024)

struct vdev {
    int fd;
    uint8_t *map; /* the whole file, MAP_SHARED */
    uint32_t size;
    vdev_opts opts;
    ota32_flash_ops ops;
    vdev_stats stats;
    uint64_t read_ns;  /* read time not yet carried into stats.virtual_us */
    uint64_t op_index; /* counted operations since open; never reset */
    /* the armed power cut */
    vdev_cut_kind cut_kind;
    uint64_t cut_op;
    uint64_t cut_seed;
    bool lost;
    /* state shared with the platform and the host loop */
    vdev_boot last;
    bool booted;
    bool reboot;
    ota32_nvs nvs;
    bool nvs_open;
    char efuse_path[4096]; /* the emulated eFuse beside the flash file */
};

static bool size_ok(uint64_t size)
{
    return size >= VDEV_MIN_SIZE && size <= VDEV_MAX_SIZE && size % OTA32_FLASH_BLOCK == 0;
}

/* ---- file access -------------------------------------------------------- */

/* All of buf written at [addr, addr+len) (creating a device). */
static int file_write(int fd, uint32_t addr, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)addr);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return OTA32_ERR_IO;
        p += n;
        addr += (uint32_t)n;
        len -= (size_t)n;
    }
    return OTA32_OK;
}

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

/* ---- counting, timing, cuts --------------------------------------------- */

static void add_time(vdev *d, uint64_t us)
{
    if (!d->opts.timing)
        return;
    d->stats.virtual_us += us;
    if (us > d->stats.max_op_us)
        d->stats.max_op_us = us;
}

/* Decide what the next counted operation does: NONE = run normally,
 * otherwise the armed cut applies to it. */
static vdev_cut_kind next_op(vdev *d)
{
    uint64_t idx = d->op_index++;
    d->stats.ops++;
    if (d->cut_kind != VDEV_CUT_NONE && idx == d->cut_op) {
        vdev_cut_kind k = d->cut_kind;
        d->cut_kind = VDEV_CUT_NONE;
        return k;
    }
    return VDEV_CUT_NONE;
}

static int check_range(const vdev *d, uint32_t addr, size_t len)
{
    if ((uint64_t)addr + len > d->size)
        return OTA32_ERR_RANGE;
    return OTA32_OK;
}

/* ---- flash ops ---------------------------------------------------------- */

static int emu_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    vdev *d = ctx;
    if (d->lost)
        return OTA32_ERR_POWER_CUT;
    if (check_range(d, addr, len) != OTA32_OK || (!buf && len))
        return OTA32_ERR_RANGE;
    if (len)
        memcpy(buf, d->map + addr, len);
    d->stats.reads++;
    d->stats.bytes_read += len;
    if (d->opts.timing) {
        uint64_t ns = (uint64_t)len * T_READ_NS_PER_BYTE;
        d->read_ns += ns;
        d->stats.virtual_us += d->read_ns / 1000;
        d->read_ns %= 1000;
        if (ns / 1000 > d->stats.max_op_us)
            d->stats.max_op_us = ns / 1000;
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

static int emu_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    vdev *d = ctx;
    const uint8_t *data = buf;
    bool lost_after = false;
    if (d->lost)
        return OTA32_ERR_POWER_CUT;
    if (check_range(d, addr, len) != OTA32_OK || (!buf && len))
        return OTA32_ERR_RANGE;
    if (len == 0)
        return OTA32_OK;

    uint8_t *cur = d->map + addr;
    if (!d->opts.strict && d->cut_kind == VDEV_CUT_NONE) {
        /* The common case: count and program in one pass. */
        uint64_t over = 0;
        for (size_t i = 0; i < len; i++) {
            uint8_t old = cur[i], in = data[i];
            over += old != 0xFF && in != 0xFF;
            cur[i] = (uint8_t)(old & in);
        }
        d->stats.overprograms += over;
        (void)next_op(d); /* nothing armed: only counts */
    } else {
        uint64_t over = count_overprogram(cur, data, len);
        d->stats.overprograms += over;
        if (over && d->opts.strict)
            return OTA32_ERR_STATE; /* rejected before any bit changes */

        vdev_cut_kind cut = next_op(d);
        if (cut == VDEV_CUT_BEFORE) {
            d->lost = true;
            return OTA32_ERR_POWER_CUT;
        }
        if (cut == VDEV_CUT_INSIDE) {
            tear t;
            tear_init(&t, d->cut_seed, (uint32_t)len);
            for (size_t i = 0; i < len; i++)
                cur[i] = tear_program(&t, (uint32_t)i, cur[i], data[i]);
        } else {
            for (size_t i = 0; i < len; i++)
                cur[i] &= data[i];
        }
        if (cut != VDEV_CUT_NONE)
            lost_after = true;
    }

    d->stats.programs++;
    d->stats.bytes_programmed += len;
    uint32_t pages = (addr + (uint32_t)len - 1) / OTA32_FLASH_PAGE - addr / OTA32_FLASH_PAGE + 1;
    add_time(d, (uint64_t)pages * T_PAGE_PROGRAM_US);
    if (lost_after) {
        d->lost = true;
        return OTA32_ERR_POWER_CUT;
    }
    return OTA32_OK;
}

static int emu_erase(vdev *d, uint32_t addr, uint32_t unit)
{
    if (d->lost)
        return OTA32_ERR_POWER_CUT;
    if (addr % unit != 0 || check_range(d, addr, unit) != OTA32_OK)
        return OTA32_ERR_RANGE;

    vdev_cut_kind cut = next_op(d);
    if (cut == VDEV_CUT_BEFORE) {
        d->lost = true;
        return OTA32_ERR_POWER_CUT;
    }
    tear t;
    if (cut == VDEV_CUT_INSIDE)
        tear_init(&t, d->cut_seed, unit);

    uint8_t *p = d->map + addr;
    if (cut == VDEV_CUT_INSIDE) {
        for (uint32_t i = 0; i < unit; i++)
            p[i] = tear_erase(&t, i, p[i]);
    } else {
        memset(p, 0xFF, unit);
    }

    if (unit == OTA32_FLASH_SECTOR) {
        d->stats.sector_erases++;
        add_time(d, T_SECTOR_ERASE_US);
    } else {
        d->stats.block_erases++;
        add_time(d, T_BLOCK_ERASE_US);
    }
    if (cut != VDEV_CUT_NONE) {
        d->lost = true;
        return OTA32_ERR_POWER_CUT;
    }
    return OTA32_OK;
}

static int emu_erase_sector(void *ctx, uint32_t addr)
{
    return emu_erase(ctx, addr, OTA32_FLASH_SECTOR);
}

static int emu_erase_block(void *ctx, uint32_t addr)
{
    return emu_erase(ctx, addr, OTA32_FLASH_BLOCK);
}

/* ---- lifecycle ---------------------------------------------------------- */

int vdev_create(const char *path, const vdev_opts *opts, bool overwrite, ota32_diag *diag)
{
    uint32_t size = opts && opts->flash_size ? opts->flash_size : VDEV_DEFAULT_SIZE;
    if (!path)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no path");
    if (!size_ok(size))
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "flash size 0x%x: must be a multiple of 64 KB up to 16 MB",
                               (unsigned)size);
    int fd = open(path, O_RDWR | O_CREAT | (overwrite ? O_TRUNC : O_EXCL), 0644);
    if (fd < 0)
        return ota32_diag_fail(diag, OTA32_ERR_IO, 0, -1, "%s: %s%s", path, strerror(errno),
                               errno == EEXIST ? " (use --force to overwrite)" : "");
    uint8_t buf[OTA32_FLASH_BLOCK];
    memset(buf, 0xFF, sizeof buf);
    int rc = OTA32_OK;
    for (uint32_t a = 0; a < size && rc == OTA32_OK; a += sizeof buf)
        rc = file_write(fd, a, buf, sizeof buf);
    if (close(fd) != 0 && rc == OTA32_OK)
        rc = OTA32_ERR_IO;
    if (rc != OTA32_OK) {
        int err = errno;
        unlink(path); /* no half-made device */
        return ota32_diag_fail(diag, rc, 0, -1, "%s: write failed: %s", path, strerror(err));
    }
    /* A new chip: blank eFuses (no trusted keys left from an older device). */
    char efuse[4096];
    vdev_efuse_path_of(path, efuse, sizeof efuse);
    unlink(efuse);
    return OTA32_OK;
}

int vdev_open(vdev **out, const char *path, const vdev_opts *opts, ota32_diag *diag)
{
    if (!out || !path)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no path");
    *out = NULL;
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return ota32_diag_fail(diag, errno == ENOENT ? OTA32_ERR_NOT_FOUND : OTA32_ERR_IO, 0, -1,
                               "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !size_ok((uint64_t)st.st_size)) {
        close(fd);
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, -1,
                               "%s: %lld bytes is not a flash size (a multiple of 64 KB up "
                               "to 16 MB)",
                               path, (long long)st.st_size);
    }
    if (opts && opts->flash_size && opts->flash_size != (uint64_t)st.st_size) {
        close(fd);
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "%s: flash is 0x%llx bytes, not 0x%x", path,
                               (unsigned long long)st.st_size, (unsigned)opts->flash_size);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        int err = errno;
        close(fd);
        return ota32_diag_fail(diag, OTA32_ERR_IO, 0, -1, "%s: mmap: %s", path, strerror(err));
    }
    vdev *d = calloc(1, sizeof *d);
    if (!d) {
        munmap(map, (size_t)st.st_size);
        close(fd);
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "out of memory");
    }
    d->fd = fd;
    d->map = map;
    d->size = (uint32_t)st.st_size;
    if (opts)
        d->opts = *opts;
    d->opts.flash_size = d->size;
    vdev_efuse_path_of(path, d->efuse_path, sizeof d->efuse_path);
    d->ops = (ota32_flash_ops){
        .ctx = d,
        .size = d->size,
        .read = emu_read,
        .program = emu_program,
        .erase_sector = emu_erase_sector,
        .erase_block = emu_erase_block,
    };
    *out = d;
    return OTA32_OK;
}

void vdev_close(vdev *d)
{
    if (!d)
        return;
    /* Every write is already in the file's pages (the mapping is shared):
     * MS_ASYNC schedules write-back without waiting, as write(2) would. */
    msync(d->map, d->size, MS_ASYNC);
    munmap(d->map, d->size);
    close(d->fd);
    free(d);
}

const ota32_flash_ops *vdev_flash(vdev *d)
{
    return &d->ops;
}

void vdev_get_stats(const vdev *d, vdev_stats *out)
{
    *out = d->stats;
}

void vdev_reset_stats(vdev *d)
{
    memset(&d->stats, 0, sizeof d->stats);
    d->read_ns = 0;
}

void vdev_arm_cut(vdev *d, uint64_t op, vdev_cut_kind kind, uint64_t seed)
{
    d->cut_kind = kind;
    d->cut_op = d->op_index + op;
    d->cut_seed = seed;
}

bool vdev_power_lost(const vdev *d)
{
    return d->lost;
}

/* ---- boot and shared state ---------------------------------------------- */

int vdev_boot_once(vdev *d, bool rollback, vdev_boot *out, ota32_diag *diag)
{
    int rc = vdev_boot_select(&d->ops, OTA32_PT_OFFSET_DEFAULT, rollback, false, out, diag);
    if (rc != OTA32_OK)
        return rc;
    d->last = *out;
    d->booted = !out->bricked;
    d->nvs_open = false; /* the table may differ from the previous boot's */
    d->reboot = false;
    return OTA32_OK;
}

const vdev_boot *vdev_last_boot(const vdev *d)
{
    return d->booted ? &d->last : NULL;
}

void vdev_request_reboot(vdev *d)
{
    d->reboot = true;
}

bool vdev_reboot_requested(const vdev *d)
{
    return d->reboot;
}

void vdev_clear_reboot(vdev *d)
{
    d->reboot = false;
}

int vdev_nvs(vdev *d, ota32_nvs **out, ota32_diag *diag)
{
    if (!d->booted)
        return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, -1, "the device has not booted");
    if (!d->nvs_open) {
        const ota32_partition *p = ota32_pt_find_label(&d->last.table, "nvs");
        if (!p || p->type != OTA32_PT_TYPE_DATA)
            return ota32_diag_fail(diag, OTA32_ERR_NOT_FOUND, 0, -1,
                                   "no data partition labelled \"nvs\"");
        int rc = ota32_nvs_open(&d->nvs, &d->ops, p->offset, p->size, diag);
        if (rc != OTA32_OK)
            return rc;
        d->nvs_open = true;
    }
    *out = &d->nvs;
    return OTA32_OK;
}

const char *vdev_efuse_path(const vdev *d)
{
    return d->efuse_path;
}
