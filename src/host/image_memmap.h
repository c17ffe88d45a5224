/* esptool's MEMORY_MAP: the names `image info` gives a segment's load
 * address. Host-only. */
#ifndef OTA32_IMAGE_MEMMAP_H
#define OTA32_IMAGE_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The memory types esptool names for a load address (its MEMORY_MAP, in its
 * order), e.g. {"BYTE_ACCESSIBLE", "DRAM"}. Stores up to `max` names and
 * returns how many apply (possibly 0), or OTA32_ERR_UNSUPPORTED when the
 * chip's map is not known (ESP32, S2, S3 and C3 are). */
int ota32_image_memory_types(uint16_t chip_id, uint32_t addr, const char **names, size_t max);

#ifdef __cplusplus
}
#endif
#endif
