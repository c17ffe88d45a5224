/*
 * Merge binaries into one flash image, byte for byte what `esptool --chip
 * esp32 merge-bin` (v5.3.1, raw format) writes:
 *
 *   - inputs sorted by address (stable); two inputs whose 4 KB-sector spans
 *     touch are an overlap; addresses need not be aligned;
 *   - output byte 0 is flash address target_offset; gaps are 0xFF; the
 *     output ends with the last input, or at pad_to_size - target_offset;
 *   - the input at the bootloader offset (0x1000 on ESP32), when it loads as
 *     an image and not every flash parameter is "keep", gets header bytes 2
 *     (mode) and 3 (size << 4 | freq) rewritten and, if it carries one, its
 *     SHA-256 recomputed. Nothing else is modified.
 *
 * The output goes through a write callback so callers can stream it into a
 * file, a buffer or an emulated flash.
 */
#ifndef OTA32_HOST_MERGE_H
#define OTA32_HOST_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "ota32/hash.h"
#include "ota32/ota32.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_MERGE_KEEP (-1)
#define OTA32_ESP32_BOOTLOADER_OFFSET 0x1000u

typedef struct ota32_merge_entry {
    uint32_t addr;       /* flash address of data[0] */
    const uint8_t *data; /* borrowed for the duration of the call */
    size_t len;
    const char *name; /* for messages (file name); may be NULL */
} ota32_merge_entry;

typedef struct ota32_merge_opts {
    uint32_t target_offset;     /* flash address of output byte 0 */
    uint64_t pad_to_size;       /* 0: no padding; else pad with 0xFF to this flash size */
    int flash_mode;             /* OTA32_MERGE_KEEP or a code (ota32_esp32_flash_mode_code) */
    int flash_freq;             /* OTA32_MERGE_KEEP or a code (ota32_esp32_flash_freq_code) */
    int flash_size;             /* OTA32_MERGE_KEEP or a code (ota32_esp32_flash_size_code) */
    const ota32_hash_ops *hash; /* required when the bootloader may be patched */
    /* Receives the output in order. Return 0, or a negative ota32_err to stop. */
    int (*write)(void *ctx, const void *data, size_t len);
    void *write_ctx;
    /* Optional notes (e.g. "bootloader at 0x1000 is not a valid image, flash
     * parameters left unchanged"); may be NULL. */
    void (*note)(void *ctx, const char *msg);
    void *note_ctx;
} ota32_merge_opts;

/* All parameters "keep", no offset, no padding, no callbacks. */
void ota32_merge_opts_init(ota32_merge_opts *opts);

/*
 * Merge `n` entries (not modified; sorted internally). On success returns the
 * number of bytes written (>= 0, fits in a long long).
 * Errors: OTA32_ERR_INVALID_ARG (no entries, no write callback, no hash when
 * needed), OTA32_ERR_RANGE for an overlap ("Detected overlap at address: 0x%x
 * for file: %s.") or an address below target_offset, OTA32_ERR_NO_MEM, or
 * whatever the write callback returned.
 */
long long ota32_merge(const ota32_merge_entry *entries, size_t n, const ota32_merge_opts *opts,
                      ota32_diag *diag);

/*
 * What merge does to the input at the bootloader offset, for reuse by other
 * writers: if image[0..*len) loads as an ESP32 image and a parameter is not
 * OTA32_MERGE_KEEP, set header bytes 2-3 and recompute an appended SHA-256.
 * As esptool, a file cut inside its SHA-256 grows to hold the whole digest,
 * so `cap` must be at least *len + 32. `*patched` (may be NULL) is set to 1
 * when the bytes were treated as an image. Returns OTA32_OK (also for a
 * non-image, left untouched) or a hash error.
 */
int ota32_merge_patch_bootloader(uint8_t *image, size_t *len, size_t cap,
                                 const ota32_merge_opts *opts, int *patched);

#ifdef __cplusplus
}
#endif
#endif
