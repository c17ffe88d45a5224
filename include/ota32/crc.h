/*
 * CRC-32 as ESP-IDF's esp_rom_crc32_le computes it: reflected, polynomial
 * 0x04C11DB7. ESP-IDF always starts from 0xFFFFFFFF (otadata, NVS), which is
 * not the standard CRC-32 (that one starts from 0, as zlib.crc32(buf)).
 */
#ifndef OTA32_CRC_H
#define OTA32_CRC_H

#include "ota32/ota32.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Same contract as zlib's crc32(crc, buf, len): chainable. */
uint32_t ota32_crc32_le(uint32_t crc, const void *buf, size_t len);

/* What ESP-IDF stores in otadata and NVS: ota32_crc32_le(0xFFFFFFFF, ...). */
static inline uint32_t ota32_crc32_esp(const void *buf, size_t len)
{
    return ota32_crc32_le(0xFFFFFFFFu, buf, len);
}

#ifdef __cplusplus
}
#endif
#endif
