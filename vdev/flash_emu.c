/*
 * The virtual ESP32's flash chip: the NOR emulation (nor.c) over a file.
 *
 * The file is mapped shared (MAP_SHARED), so every operation goes straight
 * to the file's pages: the file is the chip, after a power cut nothing else
 * survives, and reopening the file is a reboot.
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

#define VDEV_MIN_SIZE OTA32_FLASH_BLOCK
#define VDEV_MAX_SIZE (16u * 1024 * 1024) /* ESP32 maps at most 16 MB */
#define VDEV_DEFAULT_SIZE (8u * 1024 * 1024)

struct vdev {
    int fd;
    uint8_t *map; /* the whole file, MAP_SHARED */
    uint32_t size;
    vdev_nor nor; /* the chip, over the mapping */
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
        return ota32_diag_fail(diag, OTA32_ERR_IO, 0, -1, "%s: %s", path, strerror(errno));
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
    vdev_nor_init(&d->nor, d->map, d->size, opts);
    vdev_efuse_path_of(path, d->efuse_path, sizeof d->efuse_path);
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
    return vdev_nor_flash(&d->nor);
}

vdev_nor *vdev_nor_of(vdev *d)
{
    return &d->nor;
}

void vdev_get_stats(const vdev *d, vdev_stats *out)
{
    *out = d->nor.stats;
}

void vdev_reset_stats(vdev *d)
{
    memset(&d->nor.stats, 0, sizeof d->nor.stats);
    d->nor.read_ns = 0;
}

void vdev_arm_cut(vdev *d, uint64_t op, vdev_cut_kind kind, uint64_t seed)
{
    vdev_nor_arm_cut(&d->nor, op, kind, seed);
}

bool vdev_power_lost(const vdev *d)
{
    return vdev_nor_power_lost(&d->nor);
}

/* ---- boot and shared state ---------------------------------------------- */

int vdev_boot_once(vdev *d, bool rollback, vdev_boot *out, ota32_diag *diag)
{
    int rc = vdev_boot_select(&d->nor.ops, OTA32_PT_OFFSET_DEFAULT, rollback, false, out, diag);
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
        int rc = ota32_nvs_open(&d->nvs, &d->nor.ops, p->offset, p->size, diag);
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
