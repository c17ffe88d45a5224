/*
 * ESP32 app image: a streaming parser/verifier that can be fed the image in
 * chunks of any size (one byte at a time included) and never holds it in
 * memory. It rejects a bad image as early as the bytes allow: a wrong magic
 * after the first byte, a wrong chip after the 24-byte header, a bad app
 * descriptor magic after image offset 0x24, a length over max_len as soon as
 * a segment header implies it. Every chunking of the same bytes gives the same
 * result. See docs/formats.md.
 *
 * Also here: the chip table (names and flash-mapped ranges). The host adds
 * esptool's memory map (src/host/image_memmap.h) and an image builder for
 * tests (src/host/image_build.h).
 */
#ifndef OTA32_IMAGE_H
#define OTA32_IMAGE_H

#include "ota32/ota32.h"
#include "ota32/hash.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_IMAGE_MAGIC 0xE9u
#define OTA32_IMAGE_HEADER_LEN 24u
#define OTA32_IMAGE_SEG_HEADER_LEN 8u
#define OTA32_IMAGE_MAX_SEGMENTS 16u
#define OTA32_APP_DESC_MAGIC 0xABCD5432u
#define OTA32_APP_DESC_LEN 256u
#define OTA32_APP_DESC_OFFSET 0x20u
/* Bytes needed to know header, first segment header and app descriptor. */
#define OTA32_IMAGE_PREFIX_LEN (OTA32_APP_DESC_OFFSET + OTA32_APP_DESC_LEN) /* 288 */
#define OTA32_BOOTLOADER_DESC_MAGIC 0x50u
#define OTA32_BOOTLOADER_DESC_LEN 80u
#define OTA32_IMAGE_CHECKSUM_SEED 0xEFu
#define OTA32_IMAGE_MAX_SEGMENT_LEN 0x1000000u /* data_len must stay below 16 MB */
#define OTA32_IMAGE_MMU_PAGE 0x10000u          /* ESP32, S2, S3, C3 */
#define OTA32_SIG_SECTOR_ALIGN 0x1000u         /* secure boot v2 sector boundary */
#define OTA32_SIG_SECTOR_LEN 0x1000u
#define OTA32_SIG_BLOCK_MAGIC 0xE7u

enum {
    OTA32_CHIP_ESP32 = 0x0000,
    OTA32_CHIP_ESP32S2 = 0x0002,
    OTA32_CHIP_ESP32C3 = 0x0005,
    OTA32_CHIP_ESP32S3 = 0x0009,
    OTA32_CHIP_ANY = 0xFFFF, /* parser option: accept any chip */
};

typedef struct ota32_app_desc {
    uint32_t magic;
    uint32_t secure_version;
    char version[33];
    char project_name[33];
    char time[17];
    char date[17];
    char idf_ver[33];
    uint8_t app_elf_sha256[32];
    uint16_t min_efuse_blk_rev_full;
    uint16_t max_efuse_blk_rev_full;
    uint8_t mmu_page_size;
} ota32_app_desc;

/* esp_bootloader_desc_t (80 bytes at image offset 0x20 of a bootloader). */
typedef struct ota32_bootloader_desc {
    uint8_t magic_byte;
    uint8_t secure_version;
    uint32_t version;
    char idf_ver[33];
    char date_time[25];
} ota32_bootloader_desc;

typedef struct ota32_image_segment {
    uint32_t load_addr;
    uint32_t data_len;
    uint32_t file_offset; /* of the segment header */
} ota32_image_segment;

typedef struct ota32_image_info {
    /* header */
    uint8_t segment_count;
    uint8_t spi_mode;
    uint8_t spi_speed; /* low nibble of byte 3 */
    uint8_t spi_size;  /* high nibble of byte 3 */
    uint32_t entry_addr;
    uint8_t wp_pin;
    uint8_t spi_pin_drv[3];
    uint16_t chip_id;
    uint8_t min_chip_rev;
    uint16_t min_chip_rev_full;
    uint16_t max_chip_rev_full;
    uint8_t hash_appended;
    ota32_image_segment segments[OTA32_IMAGE_MAX_SEGMENTS];
    /* app descriptor (valid when has_app_desc) */
    bool has_app_desc;
    ota32_app_desc app_desc;
    /* bootloader descriptor (valid when has_bootloader_desc; only looked
     * for when require_app_desc is false) */
    bool has_bootloader_desc;
    ota32_bootloader_desc bootloader_desc;
    /* footer (valid once complete) */
    uint8_t checksum_stored;
    uint8_t checksum_calc;
    bool checksum_ok;
    bool sha256_checked; /* hash_appended and a hash ops table was given */
    bool sha256_ok;
    uint8_t sha256_stored[32];
    uint8_t sha256_calc[32];
    uint32_t image_len; /* through the checksum byte and appended hash */
    /* what followed the image (only what the caller fed; see feed) */
    uint32_t trailer_len; /* bytes seen after image_len */
    bool sig_present;     /* 0xFF pad, then 0xE7 at the next 4 KB boundary */
    uint32_t sig_offset;  /* image offset of that signature sector */
} ota32_image_info;

typedef enum ota32_image_stage {
    OTA32_IMAGE_STAGE_HEADER = 0, /* header not yet complete */
    OTA32_IMAGE_STAGE_PREFIX,     /* header ok, app descriptor not yet seen */
    OTA32_IMAGE_STAGE_BODY,       /* header and descriptor ok, reading segments */
    OTA32_IMAGE_STAGE_FOOTER,     /* reading padding, checksum, hash */
    OTA32_IMAGE_STAGE_DONE,       /* image complete and verified */
    OTA32_IMAGE_STAGE_FAILED,
} ota32_image_stage;

typedef struct ota32_image_opts {
    uint16_t chip_id;           /* OTA32_CHIP_ANY to accept any */
    uint16_t chip_rev_full;     /* running chip revision; 0 skips the rev checks */
    uint32_t max_len;           /* 0 = unlimited (e.g. the target slot size) */
    bool require_app_desc;      /* true for app images (false for a bootloader) */
    const ota32_hash_ops *hash; /* required for SHA-256 verification; NULL
                                   skips it (info.sha256_checked stays false) */
    bool lenient_digests;       /* record a checksum or SHA-256 mismatch in info
                                   instead of failing (inspection tools) */
} ota32_image_opts;

/* Caller-allocated parser state; no heap use apart from one hash handle.
 * The fields below `info` are private. */
typedef struct ota32_image_parser {
    ota32_image_opts opts;
    ota32_image_info info;
    ota32_image_stage stage;
    uint8_t step;                      /* which field is being read (image_parser.c) */
    uint32_t pos;                      /* image bytes consumed so far */
    uint32_t field_pos;                /* bytes of the current fixed-size field held */
    uint8_t field[OTA32_APP_DESC_LEN]; /* header, segment header, descriptor, hash */
    uint32_t desc_want;                /* bytes of segment 0 to gather: 4 (magic), then 80 or 256 */
    uint32_t seg_index;
    uint32_t seg_remaining;
    uint8_t checksum;
    uint32_t body_end; /* position of the checksum byte once known */
    void *sha;         /* running SHA-256 handle */
    int error;
    ota32_diag diag; /* the rejection, repeated by later calls */
} ota32_image_parser;

/* Start a parse. `opts` is copied (NULL: all zero, i.e. an ESP32 image with
 * no descriptor, length or hash requirements). The hash is started by the
 * first feed; call finish() or abort() to release it. */
void ota32_image_parser_init(ota32_image_parser *p, const ota32_image_opts *opts);

/* Feed the next bytes. Returns OTA32_OK while the image is acceptable so far,
 * or a negative error (with diag naming the offset and field) as soon as it is
 * not; once failed, every later call returns the same error and diag.
 * `*consumed` says how much of `data` belongs to the image: bytes after the
 * end of the image (e.g. a signature sector) are not consumed, but they are
 * looked at once (do not feed them twice): info.trailer_len counts them and
 * info.sig_present tells whether a secure boot v2 signature sector starts at
 * the next 4 KB boundary (0xFF padding up to it, then magic 0xE7). The
 * signature itself is not verified. With max_len set, a signature sector
 * that would end past max_len is an error.
 * Errors: OTA32_ERR_CORRUPT (format), OTA32_ERR_CHIP (chip id or revision),
 * OTA32_ERR_TOO_BIG (max_len), OTA32_ERR_VERIFY (checksum, SHA-256),
 * OTA32_ERR_NO_MEM / the hash ops' error (hashing), OTA32_ERR_INVALID_ARG. */
int ota32_image_parser_feed(ota32_image_parser *p, const uint8_t *data, size_t len,
                            size_t *consumed, ota32_diag *diag);

/* End of input: fails unless the image is complete, checksum and SHA-256 ok.
 * Releases the hash handle in every case. */
int ota32_image_parser_finish(ota32_image_parser *p, ota32_diag *diag);

/* Release resources without finishing (e.g. download aborted). */
void ota32_image_parser_abort(ota32_image_parser *p);

static inline ota32_image_stage ota32_image_parser_stage(const ota32_image_parser *p)
{
    return p->stage;
}

/* Decode an app descriptor from its 256 raw bytes (image offset 0x20). */
int ota32_app_desc_decode(const uint8_t raw[OTA32_APP_DESC_LEN], ota32_app_desc *out,
                          ota32_diag *diag);

/* Decode an esp_bootloader_desc_t from its 80 raw bytes (image offset 0x20). */
int ota32_bootloader_desc_decode(const uint8_t raw[OTA32_BOOTLOADER_DESC_LEN],
                                 ota32_bootloader_desc *out, ota32_diag *diag);

/* Chip id -> "ESP32", "ESP32-S2", ...; NULL when unknown. */
const char *ota32_chip_name(uint16_t chip_id);

/* "esp32", "ESP32-S2", "esp32s3", ... -> chip id. OTA32_ERR_NOT_FOUND if unknown. */
int ota32_chip_from_name(const char *name, uint16_t *chip_id);

/* true when `addr` is in the chip's flash-mapped IROM/DROM range, i.e. the
 * segment is mapped by the MMU and must satisfy the 64 KB page rule. false for
 * chips without a known map. */
bool ota32_image_addr_is_flash_mapped(uint16_t chip_id, uint32_t addr);

#ifdef __cplusplus
}
#endif
#endif
