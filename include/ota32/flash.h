/*
 * SPI NOR flash as the core sees it: a flat address space with the three
 * operations the chip offers. Erased bytes read 0xFF; programming can only
 * clear bits. Every address is absolute (0 = start of the flash chip).
 *
 * Implementations: the virtual ESP32's emulated flash (vdev/), and on a real
 * device esp_flash_* (port/esp-idf/).
 */
#ifndef OTA32_FLASH_H
#define OTA32_FLASH_H

#include "ota32/ota32.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_FLASH_SECTOR 0x1000u /* smallest erase unit */
#define OTA32_FLASH_BLOCK 0x10000u /* large erase unit */
#define OTA32_FLASH_PAGE 0x100u    /* program unit */

typedef struct ota32_flash_ops {
    void *ctx;
    uint32_t size; /* bytes */
    int (*read)(void *ctx, uint32_t addr, void *buf, size_t len);
    int (*program)(void *ctx, uint32_t addr, const void *buf, size_t len);
    /* Erase one 4 KB sector; addr must be sector-aligned. */
    int (*erase_sector)(void *ctx, uint32_t addr);
    /* Erase one 64 KB block; addr must be block-aligned. */
    int (*erase_block)(void *ctx, uint32_t addr);
} ota32_flash_ops;

/* Erase [addr, addr+len) with 64 KB block erases where aligned and 4 KB
 * sector erases elsewhere. addr and len must be sector-aligned. */
int ota32_flash_erase_range(const ota32_flash_ops *f, uint32_t addr, uint32_t len);

#ifdef __cplusplus
}
#endif
#endif
