/*
 * The virtual ESP32: a flash chip backed by a file, with NOR semantics,
 * operation counters, deterministic power cuts, injected failures and an
 * optional timing model, plus the ESP-IDF second-stage bootloader's boot
 * selection on top of it. The flash emulation (vdev_nor) is the one every
 * emulated flash in the tree uses, over a file or over memory.
 *
 * Used by the tests, the benchmarks and `ota32 device` / `ota32 flash`. Not
 * thread-safe: one thread per device.
 */
#ifndef OTA32_VDEV_H
#define OTA32_VDEV_H

#include "ota32/ota32.h"
#include "ota32/flash.h"
#include "ota32/image.h"
#include "ota32/nvs.h"
#include "ota32/otadata.h"
#include "ota32/partition.h"
#include "ota32/platform.h"

typedef struct vdev vdev;

typedef enum vdev_cut_kind {
    VDEV_CUT_NONE = 0,
    VDEV_CUT_BEFORE,      /* power lost before operation N runs */
    VDEV_CUT_AFTER,       /* operation N completes, then power is lost */
    VDEV_CUT_INSIDE,      /* operation N is torn (partial program / partial erase) */
    VDEV_CUT_FIRST_HALF,  /* operation N completes on its first half only */
    VDEV_CUT_SECOND_HALF, /* operation N completes on its second half only */
} vdev_cut_kind;

/* The operations an injected failure can hit. */
typedef enum vdev_op {
    VDEV_OP_READ,
    VDEV_OP_PROGRAM,
    VDEV_OP_ERASE, /* sector or block */
} vdev_op;

typedef struct vdev_opts {
    uint32_t flash_size; /* for vdev_create; 0 = 8 MB */
    bool strict;         /* programming a non-erased byte is an error
                            (OTA32_ERR_STATE, nothing written); note that
                            NVS's in-place state updates need it off */
    bool timing;         /* accumulate virtual time: 4 KB erase 45 ms, 64 KB
                            erase 150 ms, 0.4 ms per 256-byte page touched,
                            reads at 20 MB/s (quad I/O, 40 MHz) */
} vdev_opts;

typedef struct vdev_stats {
    uint64_t ops; /* program + erase operations counted for cuts */
    uint64_t reads, programs, sector_erases, block_erases;
    uint64_t bytes_read, bytes_programmed;
    uint64_t overprograms; /* bytes programmed (data != 0xFF) onto bytes that
                              were not 0xFF */
    uint64_t virtual_us;   /* timing model total */
    uint64_t max_op_us;    /* longest single operation */
    uint64_t injected;     /* operations failed by vdev_nor_fail */
} vdev_stats;

/* ---- the emulated NOR flash -------------------------------------------- */

/* NOR flash over `size` bytes at `mem` (a mapped file, a dump, a test's RAM):
 * erase sets bytes to 0xFF, program clears bits. The fields are the
 * emulation's; read them through the functions below. */
typedef struct vdev_nor {
    uint8_t *mem;
    uint32_t size;
    bool strict, timing; /* see vdev_opts */
    ota32_flash_ops ops;
    vdev_stats stats;
    uint64_t read_ns;       /* read time not yet carried into stats.virtual_us */
    uint64_t op_index;      /* counted operations since init; never reset */
    vdev_cut_kind cut_kind; /* the armed power cut */
    uint64_t cut_op, cut_seed;
    bool lost;
    bool fail_armed; /* the injected failure */
    vdev_op fail_kind;
    uint32_t fail_addr;
} vdev_nor;

/* `opts` may be NULL (not strict, no timing); its flash_size is ignored. */
void vdev_nor_init(vdev_nor *n, uint8_t *mem, uint32_t size, const vdev_opts *opts);
const ota32_flash_ops *vdev_nor_flash(vdev_nor *n);

/* Arm a power cut at the `op`-th counted (program or erase) operation,
 * 0-based from now. `seed` decides how VDEV_CUT_INSIDE tears: a torn program
 * leaves a prefix programmed and the rest untouched, or some bytes with only
 * part of their bits cleared; a torn erase leaves a prefix erased, or random
 * bits set. The same seed tears the same operation the same way. The
 * operation that is cut fails with OTA32_ERR_IO (even after VDEV_CUT_AFTER),
 * as a flash whose power dropped would, and so does every later operation,
 * reads included, until power comes back. Whether a failure was the cut is
 * for the harness to ask, never for the code under test to see. */
void vdev_nor_arm_cut(vdev_nor *n, uint64_t op, vdev_cut_kind kind, uint64_t seed);
bool vdev_nor_power_lost(const vdev_nor *n);
/* Power back: operations run again and no cut is armed. */
void vdev_nor_power_on(vdev_nor *n);

/* Fail the next operation of kind `op` that covers `addr` with OTA32_ERR_IO,
 * changing nothing, as a bad page or block would; once. The power stays on. */
void vdev_nor_fail(vdev_nor *n, vdev_op op, uint32_t addr);

/* Create a new flash file filled with 0xFF (fails if it exists unless
 * `overwrite`). Sizes: multiples of 64 KB up to 16 MB. */
int vdev_create(const char *path, const vdev_opts *opts, bool overwrite, ota32_diag *diag);
/* Open a flash file; its length is the flash size (opts->flash_size, when
 * set, must match). Every operation goes straight to the file, so after a
 * power cut the file alone is the device's state: reopen it to reboot. */
int vdev_open(vdev **out, const char *path, const vdev_opts *opts, ota32_diag *diag);
/* Closes (writes are never buffered). Safe on NULL. */
void vdev_close(vdev *d);

const ota32_flash_ops *vdev_flash(vdev *d);
void vdev_get_stats(const vdev *d, vdev_stats *out);
void vdev_reset_stats(vdev *d);

/* The device's flash emulation (vdev_nor_arm_cut, vdev_nor_fail, ...). A
 * power cut lasts until the device is reopened: the file alone is its state. */
vdev_nor *vdev_nor_of(vdev *d);
void vdev_arm_cut(vdev *d, uint64_t op, vdev_cut_kind kind, uint64_t seed);
bool vdev_power_lost(const vdev *d);

/* Result of one boot. */
typedef struct vdev_boot {
    bool bricked;    /* no bootable app anywhere */
    char label[17];  /* partition booted */
    uint8_t subtype; /* 0x00 factory, 0x10+N ota_N, 0x20 test */
    int slot;        /* N of ota_N, -1 for factory/test */
    uint32_t offset, size;
    uint32_t ota_state; /* state of the otadata entry after the boot */
    char reason[256];   /* why this partition (human readable) */
    ota32_app_desc app; /* descriptor of the booted image */

    /* What the bootloader read on the way (for reports and tools). */
    ota32_ptable table; /* valid unless the table itself was rejected */
    bool has_table;
    bool has_otadata; /* the table has a data/ota partition */
    uint32_t otadata_offset;
    ota32_ota_entry otadata[2]; /* both copies as read, before any rewrite */
    bool otadata_crc_ok[2];
    int active;              /* copy that selected the slot, -1 when none */
    unsigned app_count;      /* ota_N partitions, counted as the bootloader does */
    unsigned otadata_writes; /* otadata sectors rewritten (or that would be) */
    bool rollback;           /* the boot ran with app rollback enabled */
} vdev_boot;

/* Run the bootloader once on the current flash contents (may rewrite otadata
 * as the real bootloader does). Returns OK with out->bricked set when nothing
 * boots. */
int vdev_boot_once(vdev *d, bool rollback, vdev_boot *out, ota32_diag *diag);

/* The bootloader's selection on any flash: a device, or a read-only dump of
 * one (`dry_run`: decide and report, but write nothing, so otadata shows the
 * states it would have after the boot). Reads the table at `table_offset`.
 * Reads beyond f->size (a dump shorter than its partitions) make the slots
 * concerned unbootable with "no data" in the reason. Returns OK with
 * out->bricked set when nothing boots; a negative error only when the flash
 * itself fails (e.g. OTA32_ERR_IO when power is lost while rewriting otadata). */
int vdev_boot_select(const ota32_flash_ops *f, uint32_t table_offset, bool rollback, bool dry_run,
                     vdev_boot *out, ota32_diag *diag);

/* Verify the app image in [offset, offset+size) as the bootloader does before
 * booting it (header, chip ESP32, segments, checksum, SHA-256, length within
 * the partition). `info` (may be NULL) receives what the parser saw, the app
 * descriptor included when the image got that far. diag says what and where
 * (flash address) on failure; OTA32_ERR_RANGE when the flash (or dump) ends
 * inside the image. */
int vdev_verify_app(const ota32_flash_ops *f, uint32_t offset, uint32_t size,
                    ota32_image_info *info, ota32_diag *diag);

/* A flash over a caller's buffer, e.g. a whole-flash dump read into memory:
 * size = len; reads past the end fail with OTA32_ERR_RANGE (a dump may be
 * shorter than the chip). Program and erase follow NOR rules on the buffer
 * only. `m` and `buf` must outlive `out`. */
typedef vdev_nor vdev_mem;

void vdev_mem_flash(vdev_mem *m, uint8_t *buf, uint32_t len, ota32_flash_ops *out);

/* The result of the last successful vdev_boot_once, NULL before one. */
const vdev_boot *vdev_last_boot(const vdev *d);

/* The platform's reboot() sets this flag; the host loop reads and clears it
 * and runs vdev_boot_once again. */
void vdev_request_reboot(vdev *d);
bool vdev_reboot_requested(const vdev *d);
void vdev_clear_reboot(vdev *d);

/* The device's NVS (the data partition labelled "nvs" in the table of the
 * last boot), opened on first use. NOT_FOUND when there is no such
 * partition, STATE before a boot. The pointer lives as long as `d`. */
int vdev_nvs(vdev *d, ota32_nvs **out, ota32_diag *diag);

/* ---- emulated eFuse ------------------------------------------------------
 * What a real ESP32 keeps in eFuse for secure boot and anti-rollback, in a
 * file beside the flash file (DEV.flash.efuse; absent = blank eFuses). Like
 * eFuse bits, it only ever changes from 0 to 1: a key block once written
 * stays, a revoke bit stays set, the secure version only rises. */
#define VDEV_EFUSE_SECURE_VERSION_MAX 32u /* ESP32: a 32-bit thermometer field */

typedef struct vdev_efuse {
    ota32_trusted_keys keys; /* count = key blocks written (in order) */
    uint32_t secure_version; /* anti-rollback counter */
} vdev_efuse;

/* "<flash path>.efuse" into out. */
void vdev_efuse_path_of(const char *flash_path, char *out, size_t cap);
/* This device's eFuse file. */
const char *vdev_efuse_path(const vdev *d);
/* Read an eFuse file; a missing one is blank (all zero). */
int vdev_efuse_read(const char *path, vdev_efuse *out, ota32_diag *diag);
/* Burn `want` over what the file holds: new key blocks, revoke bits and a
 * higher secure version are added; anything that would clear a bit (change a
 * written key block, lower the version) is OTA32_ERR_STATE with the reason.
 * The file is replaced atomically. */
int vdev_efuse_burn(const char *path, const vdev_efuse *want, ota32_diag *diag);

/* Platform pieces backed by this device, for the engine: flash, kv (NVS on
 * the "nvs" data partition), boot control (otadata; mark_valid raises the
 * eFuse secure version to the confirmed app's, as ESP-IDF's does with
 * anti-rollback), hash (OpenSSL) and secure (the eFuse keys and secure
 * version, OpenSSL signature checks).
 * transport/clock/alloc/log are left zeroed for the caller to fill (see
 * port/posix). Valid after vdev_boot_once succeeded without a brick. */
int vdev_platform(vdev *d, ota32_platform *plat);

#endif
