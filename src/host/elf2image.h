/*
 * ELF -> ESP32 app/bootloader image, byte for byte what `esptool --chip esp32
 * elf2image` (v5.3.1) writes for the same options:
 *
 *   - loadable sections (PROGBITS, INIT/FINI/PREINIT_ARRAY with a non-zero
 *     address and size) in section-table order, or PT_LOAD program headers
 *     with use_segments; each padded with zeros to a multiple of 4;
 *   - neighbours in that order merged when one ends where the next starts
 *     and both start in the same memory regions of the ESP32 memory map;
 *   - flash-mapped segments (IROM 0x400D0000-0x40400000, DROM
 *     0x3F400000-0x3F800000) written first, sorted by address (the
 *     `.flash.appdesc` section first), each placed so that its data sits at
 *     the same offset modulo 64 KB in the file as in the address space; the
 *     gap before it is filled with the head of the next RAM segment (RAM
 *     segments sorted by address, `.dram0.bootdesc` first) or, when that is
 *     not possible, with a zero segment loaded at address 0;
 *   - a flash segment ending less than 0x24 bytes past a 64 KB page is
 *     extended with zeros to 0x24 (a workaround for old second-stage
 *     bootloaders that did not map that last page);
 *   - the ELF file's SHA-256 written at elf_sha256_offset (which must hold
 *     zeros), checksum (seed 0xEF, XOR of segment data) in the last byte of
 *     a 16-byte block, then the SHA-256 of the image when append_digest.
 */
#ifndef OTA32_HOST_ELF2IMAGE_H
#define OTA32_HOST_ELF2IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota32/hash.h"
#include "ota32/ota32.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest image this converter produces; far above any ESP32 image. */
#define OTA32_ELF2IMAGE_MAX_LEN (64u * 1024u * 1024u)

typedef enum ota32_secure_pad {
    OTA32_SECURE_PAD_NONE = 0,
    OTA32_SECURE_PAD_V1 = 1, /* image + SHA-256 + v1 signature end on 64 KB */
    OTA32_SECURE_PAD_V2 = 2, /* image + SHA-256 end on 64 KB (sector follows) */
} ota32_secure_pad;

typedef struct ota32_elf2image_opts {
    uint8_t flash_mode;         /* header byte 2: qio 0, qout 1, dio 2, dout 3 */
    uint8_t flash_size_freq;    /* header byte 3: size code << 4 | freq code */
    uint8_t min_rev;            /* legacy minimum chip revision (major) */
    uint16_t min_rev_full;      /* major * 100 + minor */
    uint16_t max_rev_full;      /* major * 100 + minor */
    uint32_t elf_sha256_offset; /* image offset for the ELF SHA-256; 0: only when
                                   the ELF has a flash-mapped .flash.appdesc (0xB0) */
    bool append_digest;         /* SHA-256 of the image after the checksum */
    ota32_secure_pad secure_pad;
    bool use_segments;          /* PT_LOAD program headers instead of sections */
    uint32_t pad_to_size;       /* pad the output with 0xFF to a multiple; 0: no */
    const ota32_hash_ops *hash; /* required: SHA-256 */
} ota32_elf2image_opts;

/* esptool's defaults: qio, 1MB, default frequency (code 0), revisions
 * 0/0/65535, digest appended, no padding. `hash` is left NULL. */
void ota32_elf2image_opts_init(ota32_elf2image_opts *opts);

/*
 * Convert the ELF file `elf` (`elf_len` bytes). On success *out is a
 * malloc'd image of *out_len bytes, owned by the caller (free()).
 * Errors: OTA32_ERR_CORRUPT / OTA32_ERR_UNSUPPORTED for a bad ELF (diag names
 * the offset and section), OTA32_ERR_TOO_BIG for more than 16 segments or a
 * segment of 16 MB or more, OTA32_ERR_RANGE for two flash sections in one
 * 64 KB page or a misplaced ELF SHA-256, OTA32_ERR_STATE when the ELF SHA-256
 * offset does not hold zeros, OTA32_ERR_INVALID_ARG, OTA32_ERR_NO_MEM.
 */
int ota32_elf2image(const uint8_t *elf, size_t elf_len, const ota32_elf2image_opts *opts,
                    uint8_t **out, size_t *out_len, ota32_diag *diag);

/* Flash parameter names as esptool spells them, for ESP32. Each returns the
 * header code (>= 0) or -1 when the name is unknown. */
int ota32_esp32_flash_mode_code(const char *name); /* "qio" "qout" "dio" "dout" */
int ota32_esp32_flash_freq_code(const char *name); /* "80m" "40m" "26m" "20m" */
int ota32_esp32_flash_size_code(const char *name); /* "1MB".."128MB", as size<<4 */

#ifdef __cplusplus
}
#endif
#endif
