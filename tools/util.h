/* Small helpers shared by the ota32 commands. */
#ifndef OTA32_TOOLS_UTIL_H
#define OTA32_TOOLS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota32/flash.h"
#include "ota32/image.h"
#include "ota32/ota32.h"
#include "ota32/partition.h"
#include "vdev.h"

/* Read a whole file into a malloc'd buffer (NUL-terminated for text use; the
 * terminator is not counted in *len). Prints "ota32: PATH: reason" and returns
 * NULL on failure. */
uint8_t *util_read_file(const char *path, size_t *len);

/* Write a buffer to a file as outfile.h writes outputs ("-": standard
 * output; a regular file replaced only when all was written). Prints on
 * error. */
int util_write_file(const char *path, const void *data, size_t len);

/* Write a file atomically as `fill` writes it to `file` (a FILE *): 0 when
 * it has written everything, > 0 on a write error (printed here as
 * "ota32: PATH: reason", as are errors of the file itself), < 0 when it
 * failed and has said why. OTA32_OK, or OTA32_ERR_IO with no file left. */
int util_write_file_with(const char *path, int (*fill)(void *arg, void *file), void *arg);

/* Parse "0x1000", "4096", "4K", "8MB", "8M", "1.5MB" -> bytes. false if bad. */
bool util_parse_size(const char *s, uint64_t *out);

/* Parse a plain integer (decimal or 0x-hex) within [0, max]. */
bool util_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Print "ota32: <context>: <diag or strerror>" to stderr. */
void util_report(const char *context, int err, const ota32_diag *diag);

/* Print a rejected input as "ota32: FILE:LINE: message" (text),
 * "ota32: FILE: offset 0xN: message" (binary) or "ota32: FILE: message":
 * the one form for partition tables, NVS CSV and the like. util_report uses
 * it whenever the diagnostic has a line. */
void util_report_at(const char *file, int err, const ota32_diag *diag);

/* Print an error line "ota32: ..." to stderr (printf-style). Returns 1 (the
 * exit status for failure) so commands can `return util_fail(...)`. */
int util_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A file's bytes in memory as flash: the virtual device's NOR emulation
 * (vdev_nor) over `data`. Writes stay in `data`. */
typedef struct util_mem_flash {
    uint8_t *data;
    size_t len;
    vdev_nor nor;
} util_mem_flash;

/* Ops over `m` (which must outlive them); the flash size is `len`, at most
 * 0xFFFFFFFF. */
ota32_flash_ops util_mem_flash_ops(util_mem_flash *m);

/* An app descriptor as a JSON object (cJSON, the caller owns it): version,
 * project, idf, date, time, secure_version, elf_sha256 (hex). */
struct cJSON *util_app_desc_json(const ota32_app_desc *a);

/* A partition table entry as JSON (the same fields wherever one is shown):
 * label, type, type_name, subtype, subtype_name, offset, size, encrypted,
 * readonly, flags. */
struct cJSON *util_partition_json(const ota32_partition *p);

/* Print `o` (then delete it) on standard output. 0, or 1 when out of memory. */
int util_print_json(struct cJSON *o);

/* NVS item types by their short names: u8, i8, ... u64, i64, string, blob. */
const char *util_nvs_type_name(uint8_t type);
/* An integer item's value, sign-extended for the signed types. */
long long util_nvs_signed(uint8_t type, uint64_t v);
/* An NVS item as JSON: namespace, key, type, and value (integers, strings)
 * or length (blobs). */
struct ota32_nvs_item;
struct cJSON *util_nvs_item_json(const struct ota32_nvs_item *it);

/* Lower-case hex of `len` bytes into out (2*len+1 bytes). */
void util_hex(const uint8_t *data, size_t len, char *out);

/* What a misplaced input is, by its first bytes: an ELF file, a binary
 * partition table, a whole-flash image (partition table magic at
 * `table_offset`; 0 skips that check), an ESP image (0xE9), or other. */
typedef enum util_kind {
    UTIL_KIND_OTHER,
    UTIL_KIND_ELF,
    UTIL_KIND_PTABLE,
    UTIL_KIND_FLASH,
    UTIL_KIND_IMAGE,
} util_kind;
util_kind util_file_kind(const uint8_t *data, size_t len, uint32_t table_offset);

/* "an ELF file, not an image: convert it with `ota32 image elf2image ...`"
 * and the like: what the file is and which command takes it; NULL for
 * UTIL_KIND_OTHER. */
const char *util_kind_hint(util_kind kind);

#endif
