/*
 * ESP-IDF partition table: the 0xC00-byte binary at 0x8000 and the CSV that
 * gen_esp32part.py reads. One implementation shared by the host tools and the
 * device-side code. See docs/formats.md.
 */
#ifndef OTA32_PARTITION_H
#define OTA32_PARTITION_H

#include "ota32/ota32.h"
#include "ota32/hash.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_PT_OFFSET_DEFAULT 0x8000u
#define OTA32_PT_BIN_LEN 0xC00u      /* binary table length */
#define OTA32_PT_ENTRY_LEN 32u
#define OTA32_PT_MAX_ENTRIES 95u     /* without MD5; 94 with MD5 */
#define OTA32_PT_LABEL_LEN 16u       /* stored label, no NUL when 16 chars */

enum {
    OTA32_PT_TYPE_APP = 0x00,
    OTA32_PT_TYPE_DATA = 0x01,
    OTA32_PT_TYPE_BOOTLOADER = 0x02,
    OTA32_PT_TYPE_PARTITION_TABLE = 0x03,
};

enum {
    OTA32_PT_APP_FACTORY = 0x00,
    OTA32_PT_APP_OTA_0 = 0x10, /* ota_N = 0x10 + N, N <= 15 */
    OTA32_PT_APP_TEST = 0x20,
    OTA32_PT_DATA_OTA = 0x00,
    OTA32_PT_DATA_PHY = 0x01,
    OTA32_PT_DATA_NVS = 0x02,
};

#define OTA32_PT_FLAG_ENCRYPTED 0x1u
#define OTA32_PT_FLAG_READONLY 0x2u

typedef struct ota32_partition {
    char label[OTA32_PT_LABEL_LEN + 1]; /* NUL-terminated copy */
    uint8_t type;
    uint8_t subtype;
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
} ota32_partition;

typedef struct ota32_ptable {
    ota32_partition entries[OTA32_PT_MAX_ENTRIES];
    unsigned count;
    bool has_md5;        /* binary: an MD5 entry was present */
    uint8_t md5[16];     /* binary: the stored digest */
} ota32_ptable;

typedef struct ota32_pt_csv_opts {
    uint32_t table_offset;  /* default OTA32_PT_OFFSET_DEFAULT when 0 */
    uint32_t flash_size;    /* 0 = do not check */
} ota32_pt_csv_opts;

/* Parse a binary table (as the bootloader and gen_esp32part.py do). `len` may
 * be anything up to and beyond 0xC00 (a whole flash sector is fine). With
 * `hash` non-NULL, an MD5 entry is verified. */
int ota32_pt_parse_bin(const uint8_t *buf, size_t len, const ota32_hash_ops *hash,
                       ota32_ptable *out, ota32_diag *diag);

/* Parse gen_esp32part.py's CSV dialect, assigning offsets as it does, and run
 * its validation. Messages name the CSV line and partition. */
int ota32_pt_parse_csv(const char *text, size_t len, const ota32_pt_csv_opts *opts,
                       ota32_ptable *out, ota32_diag *diag);

/* Serialize to exactly OTA32_PT_BIN_LEN bytes (0xFF padded), with the MD5
 * entry when `with_md5` (needs `hash`). Byte-identical to gen_esp32part.py. */
int ota32_pt_to_bin(const ota32_ptable *t, bool with_md5, const ota32_hash_ops *hash,
                    uint8_t out[OTA32_PT_BIN_LEN], ota32_diag *diag);

/* Write the CSV gen_esp32part.py prints for a binary. Returns bytes written
 * (excluding NUL) or a negative error when `cap` is too small. */
int ota32_pt_to_csv(const ota32_ptable *t, char *out, size_t cap);

/* First partition with this type and subtype, or NULL. */
const ota32_partition *ota32_pt_find(const ota32_ptable *t, uint8_t type, uint8_t subtype);

/* First partition with this label, or NULL. */
const ota32_partition *ota32_pt_find_label(const ota32_ptable *t, const char *label);

/* Number of app ota_N partitions, counted contiguously from ota_0 (as the
 * running app counts them). */
unsigned ota32_pt_ota_count(const ota32_ptable *t);

/* Names for type/subtype codes ("app", "ota_0", ...); NULL when unknown. */
const char *ota32_pt_type_name(uint8_t type);
const char *ota32_pt_subtype_name(uint8_t type, uint8_t subtype);

#ifdef __cplusplus
}
#endif
#endif
