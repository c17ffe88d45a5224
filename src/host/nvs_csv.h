/*
 * NVS partition images from the CSV that ESP-IDF's nvs_partition_gen reads
 * (key,type,encoding,value; type namespace|data|file; encodings u8 i8 u16
 * i16 u32 i32 u64 i64 string hex2bin base64 binary). The output is
 * byte-identical to `nvs_partition_gen generate CSV OUT SIZE [--version N]`
 * (esp-idf-nvs-partition-gen 67113ed0), including its quirks: unused pages
 * stay all 0xFF, a string never ends exactly at the end of a page, and a
 * row after a repeated namespace row keeps the index of the newest
 * namespace. Encryption is not supported.
 */
#ifndef OTA32_HOST_NVS_CSV_H
#define OTA32_HOST_NVS_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "ota32/ota32.h"

/* `csv`/`len`: the CSV text. `size`: partition size, a multiple of 0x1000;
 * below 0x3000 the partition is read-only and, as the generator does, the
 * image holds only the pages used. `version`: 2 (multi-page blobs) or 1.
 * "file" rows name files relative to the working directory.
 * On success *out is a malloc'd image of *out_len bytes (caller frees).
 * Errors: INVALID_ARG (bad size/version), CORRUPT (bad row: diag has the
 * line), TOO_BIG (data does not fit), NOT_FOUND/IO (file rows), NO_MEM. */
int ota32_nvs_csv_generate(const char *csv, size_t len, uint32_t size, int version, uint8_t **out,
                           size_t *out_len, ota32_diag *diag);

#endif
