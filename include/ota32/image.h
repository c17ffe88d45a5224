/*
 * ESP32 app image: a streaming parser/verifier that can be fed the image in
 * chunks of any size (one byte at a time included) and never holds it in
 * memory. It rejects a bad image as early as the bytes allow: a wrong magic
 * after the first byte, a wrong chip after the 24-byte header, a bad app
 * descriptor after image offset 0x120. See docs/formats.md.
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
    /* footer (valid once complete) */
    uint8_t checksum_stored;
    uint8_t checksum_calc;
    uint8_t sha256_stored[32];
    uint8_t sha256_calc[32];
    uint32_t image_len;  /* through the checksum byte and appended hash */
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
    uint16_t chip_id;          /* OTA32_CHIP_ANY to accept any */
    uint16_t chip_rev_full;    /* running chip revision; 0 skips the rev checks */
    uint32_t max_len;          /* 0 = unlimited (e.g. the target slot size) */
    bool require_app_desc;     /* true for app images (false for a bootloader) */
    const ota32_hash_ops *hash;/* required for SHA-256 verification */
} ota32_image_opts;

/* Caller-allocated parser state; no heap use apart from one hash handle. */
typedef struct ota32_image_parser {
    ota32_image_opts opts;
    ota32_image_info info;
    ota32_image_stage stage;
    uint32_t pos;           /* bytes consumed so far */
    uint32_t field_pos;     /* position inside the current fixed-size field */
    uint8_t field[OTA32_APP_DESC_LEN];
    uint32_t seg_index;
    uint32_t seg_remaining;
    uint32_t checksum_word_pos;
    uint8_t checksum;
    uint32_t body_end;      /* position of the checksum byte once known */
    void *sha;              /* running SHA-256 handle */
    int error;
} ota32_image_parser;

void ota32_image_parser_init(ota32_image_parser *p, const ota32_image_opts *opts);

/* Feed the next bytes. Returns OTA32_OK while the image is acceptable so far,
 * or a negative error (with diag naming the offset and field) as soon as it is
 * not. `*consumed` says how much of `data` belongs to the image: bytes after
 * the end of the image (e.g. a signature sector) are not consumed. */
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

/* Chip id -> "ESP32", "ESP32-S2", ...; NULL when unknown. */
const char *ota32_chip_name(uint16_t chip_id);

#ifdef __cplusplus
}
#endif
#endif
