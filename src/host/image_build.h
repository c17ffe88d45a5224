/* Building a valid ESP32 app image from options, for the tests, the
 * benchmarks and the demo. Host-only. */
#ifndef OTA32_IMAGE_BUILD_H
#define OTA32_IMAGE_BUILD_H

#include "ota32/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Smallest image ota32_image_build() makes: a DROM page, then IROM. The
 * largest keeps DROM within the 4 MB and IROM within the 3.2 MB that the
 * ESP32 cache can map. */
#define OTA32_IMAGE_BUILD_MIN_LEN 0x10400u
#define OTA32_IMAGE_BUILD_MAX_LEN 0x700000u

typedef struct ota32_image_build_opts {
    const char *version;      /* app version, at most 31 characters */
    const char *project_name; /* at most 31 characters */
    const char *idf_ver;      /* NULL: "v5.5.5"; at most 31 characters */
    const char *seed;         /* payload seed; NULL: project_name + version */
    uint32_t secure_version;
    uint32_t size;              /* total length: a multiple of 16, MIN_LEN..MAX_LEN */
    uint16_t chip_id;           /* OTA32_CHIP_ESP32 (the only one supported) */
    uint32_t flash_size;        /* header flash size in bytes; 0: 4 MB */
    const ota32_hash_ops *hash; /* required: appended SHA-256 */
} ota32_image_build_opts;

/* Write an ESP32 app image of exactly opts->size bytes into out[0..size):
 * header (DIO, 40m, chip rev v0.0-v3.99, hash appended), a DROM segment at
 * 0x3F400020 starting with a real esp_app_desc_t, DRAM and IRAM segments,
 * an IROM segment placed by the 64 KB MMU rule, a second IRAM segment, the
 * checksum and the SHA-256. The bytes depend only on the options.
 * Errors: OTA32_ERR_INVALID_ARG (bad option, see diag), OTA32_ERR_NO_SPACE
 * (out_len < size), or the hash ops' error. */
int ota32_image_build(const ota32_image_build_opts *opts, uint8_t *out, size_t out_len,
                      ota32_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
