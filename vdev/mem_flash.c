/* A flash view over a buffer in memory: dumps and images inspected without
 * touching their files. */
#include "vdev.h"

#include <string.h>

static int mem_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    vdev_mem *m = ctx;
    if ((uint64_t)addr + len > m->len || (!buf && len))
        return OTA32_ERR_RANGE;
    if (len)
        memcpy(buf, m->buf + addr, len);
    return OTA32_OK;
}

static int mem_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    vdev_mem *m = ctx;
    const uint8_t *p = buf;
    if ((uint64_t)addr + len > m->len || (!buf && len))
        return OTA32_ERR_RANGE;
    for (size_t i = 0; i < len; i++)
        m->buf[addr + i] &= p[i];
    return OTA32_OK;
}

static int mem_erase(vdev_mem *m, uint32_t addr, uint32_t unit)
{
    if (addr % unit || (uint64_t)addr + unit > m->len)
        return OTA32_ERR_RANGE;
    memset(m->buf + addr, 0xFF, unit);
    return OTA32_OK;
}

static int mem_erase_sector(void *ctx, uint32_t addr)
{
    return mem_erase(ctx, addr, OTA32_FLASH_SECTOR);
}

static int mem_erase_block(void *ctx, uint32_t addr)
{
    return mem_erase(ctx, addr, OTA32_FLASH_BLOCK);
}

void vdev_mem_flash(vdev_mem *m, uint8_t *buf, uint32_t len, ota32_flash_ops *out)
{
    m->buf = buf;
    m->len = len;
    *out = (ota32_flash_ops){
        .ctx = m,
        .size = len,
        .read = mem_read,
        .program = mem_program,
        .erase_sector = mem_erase_sector,
        .erase_block = mem_erase_block,
    };
}
