/*
 * The virtual ESP32: a flash chip backed by a file, with NOR semantics,
 * operation counters, deterministic power cuts and an optional timing model,
 * plus the ESP-IDF second-stage bootloader's boot selection on top of it.
 * (Owned by the virtual-device module; this is its public contract.)
 */
#ifndef OTA32_VDEV_H
#define OTA32_VDEV_H

#include "ota32/ota32.h"
#include "ota32/flash.h"
#include "ota32/image.h"
#include "ota32/platform.h"

typedef struct vdev vdev;

typedef enum vdev_cut_kind {
    VDEV_CUT_NONE = 0,
    VDEV_CUT_BEFORE, /* power lost before operation N runs */
    VDEV_CUT_AFTER,  /* operation N completes, then power is lost */
    VDEV_CUT_INSIDE, /* operation N is torn (partial program / partial erase) */
} vdev_cut_kind;

typedef struct vdev_opts {
    uint32_t flash_size;  /* for vdev_create; 0 = 8 MB */
    bool strict;          /* programming a non-erased byte is an error */
    bool timing;          /* accumulate virtual time per operation */
} vdev_opts;

typedef struct vdev_stats {
    uint64_t ops;         /* program + erase operations counted for cuts */
    uint64_t reads, programs, sector_erases, block_erases;
    uint64_t bytes_read, bytes_programmed;
    uint64_t overprograms; /* programs onto non-erased bytes */
    uint64_t virtual_us;   /* timing model total */
    uint64_t max_op_us;    /* longest single operation */
} vdev_stats;

/* Create a new flash file filled with 0xFF (fails if it exists unless
 * `overwrite`). */
int vdev_create(const char *path, const vdev_opts *opts, bool overwrite, ota32_diag *diag);
int vdev_open(vdev **out, const char *path, const vdev_opts *opts, ota32_diag *diag);
/* Flushes and closes. Safe on NULL. */
void vdev_close(vdev *d);

const ota32_flash_ops *vdev_flash(vdev *d);
void vdev_get_stats(const vdev *d, vdev_stats *out);
void vdev_reset_stats(vdev *d);

/* Arm a power cut at the `op`-th counted operation (0-based, counting from
 * now). `seed` decides how a torn operation tears. Once the cut happens every
 * flash op fails with OTA32_ERR_POWER_CUT until the device is reopened. */
void vdev_arm_cut(vdev *d, uint64_t op, vdev_cut_kind kind, uint64_t seed);
bool vdev_power_lost(const vdev *d);

/* Result of one boot. */
typedef struct vdev_boot {
    bool bricked;            /* no bootable app anywhere */
    char label[17];          /* partition booted */
    uint8_t subtype;         /* 0x00 factory, 0x10+N ota_N, 0x20 test */
    int slot;                /* N of ota_N, -1 for factory/test */
    uint32_t offset, size;
    uint32_t ota_state;      /* state of the otadata entry after the boot */
    char reason[256];        /* why this partition (human readable) */
    ota32_app_desc app;      /* descriptor of the booted image */
} vdev_boot;

/* Run the bootloader once on the current flash contents (may rewrite otadata
 * as the real bootloader does). Returns OK with out->bricked set when nothing
 * boots. */
int vdev_boot_once(vdev *d, bool rollback, vdev_boot *out, ota32_diag *diag);

/* Platform pieces backed by this device, for the engine: flash, kv (NVS on
 * the "nvs" data partition), boot control (otadata), and hash (OpenSSL).
 * transport/clock/alloc/log are left zeroed for the caller to fill (see
 * port/posix). Valid after vdev_boot_once succeeded without a brick. */
int vdev_platform(vdev *d, ota32_platform *plat);

#endif
