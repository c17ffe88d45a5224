/*
 * ESP-IDF partition table: the 0xC00-byte binary at 0x8000 and the CSV that
 * gen_esp32part.py reads. The binary side is device code; the CSV side
 * (src/host/partition_csv.h) is the host's. See docs/formats.md.
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
    /* The 16 stored label bytes (NUL-padded; a 16-byte name has no NUL) and
     * a terminator. ota32_pt_to_bin() writes label[0..15] as they are. */
    char label[OTA32_PT_LABEL_LEN + 1];
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

/* Parse a binary table, accepting only what both the bootloader
 * (esp_partition_table_verify) and gen_esp32part.py accept: AA 50 entries,
 * at most one MD5 entry (EB EB ...), then an all-0xFF end marker within the
 * first 0xC00 bytes. `len` may be anything up to and beyond 0xC00 (a whole
 * flash sector is fine; bytes after 0xC00 are ignored). With `hash`
 * non-NULL, an MD5 entry is verified; without, it is kept in `out->md5`.
 * Labels are cut at their first NUL. Unknown flag bits are kept in `flags`
 * (gen_esp32part.py only warns about them; see OTA32_PT_FLAGS_KNOWN).
 * This does not run gen_esp32part.py's table rules (the host's
 * ota32_pt_verify() does).
 * Returns 0, OTA32_ERR_CORRUPT, OTA32_ERR_VERIFY (MD5 mismatch),
 * OTA32_ERR_TOO_BIG or OTA32_ERR_INVALID_ARG; the diagnostic's offset is
 * the entry's. */
int ota32_pt_parse_bin(const uint8_t *buf, size_t len, const ota32_hash_ops *hash,
                       ota32_ptable *out, ota32_diag *diag);

/* Serialize to exactly OTA32_PT_BIN_LEN bytes (0xFF padded), with the MD5
 * entry when `with_md5` (needs `hash`). Byte-identical to gen_esp32part.py.
 * OTA32_ERR_TOO_BIG when no end marker would fit: more than 94 entries with
 * the MD5 entry, 95 without ("Binary partition table length (3072) longer
 * than max"). */
int ota32_pt_to_bin(const ota32_ptable *t, bool with_md5, const ota32_hash_ops *hash,
                    uint8_t out[OTA32_PT_BIN_LEN], ota32_diag *diag);

/* First partition with this type and subtype, or NULL. */
const ota32_partition *ota32_pt_find(const ota32_ptable *t, uint8_t type, uint8_t subtype);

/* First partition with this label, or NULL. */
const ota32_partition *ota32_pt_find_label(const ota32_ptable *t, const char *label);

/* Number of app ota_N partitions, counted contiguously from ota_0 (as the
 * running app counts them). */
unsigned ota32_pt_ota_count(const ota32_ptable *t);

/* Flag bits that neither ESP-IDF nor ota32 knows (gen_esp32part.py warns). */
#define OTA32_PT_FLAGS_KNOWN (OTA32_PT_FLAG_ENCRYPTED | OTA32_PT_FLAG_READONLY)

/* Names for type/subtype codes ("app", "ota_0", ...); NULL when unknown. */
const char *ota32_pt_type_name(uint8_t type);
const char *ota32_pt_subtype_name(uint8_t type, uint8_t subtype);

#ifdef __cplusplus
}
#endif
#endif
