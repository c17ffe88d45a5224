/*
 * The binary table: 32-byte esp_partition_info_t entries (magic AA 50), an
 * optional MD5 entry (EB EB, 14 x FF, MD5 of the entries before it), 0xFF up
 * to 0xC00 bytes. Parsing accepts what both the bootloader
 * (esp_partition_table_verify) and gen_esp32part.py accept.
 */
#include "ota32/partition.h"
#include "pt_keywords.h"

#include <string.h>

#include "bytes.h"

/* esp_partition_info_t */
#define E_MAGIC 0
#define E_TYPE 2
#define E_SUBTYPE 3
#define E_OFFSET 4
#define E_SIZE 8
#define E_LABEL 12
#define E_FLAGS 28
#define MD5_AT 16 /* digest bytes within the MD5 entry */

_Static_assert(E_FLAGS + 4 == OTA32_PT_ENTRY_LEN, "esp_partition_info_t is 32 bytes");
_Static_assert(E_LABEL + OTA32_PT_LABEL_LEN == E_FLAGS, "label is 16 bytes");
_Static_assert(OTA32_PT_BIN_LEN / OTA32_PT_ENTRY_LEN == OTA32_PT_MAX_ENTRIES + 1,
               "95 entries and an end marker fill 0xC00 bytes");

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

static int md5_of(const ota32_hash_ops *hash, const uint8_t *data, size_t len, uint8_t out[16],
                  ota32_diag *diag)
{
    int rc = ota32_hash_buf(hash, OTA32_HASH_MD5, data, len, out);
    if (rc)
        return ota32_diag_fail(diag, rc, 0, -1, "MD5 computation failed");
    return 0;
}

static void hex16(const uint8_t *d, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[32] = '\0';
}

int ota32_pt_parse_bin(const uint8_t *buf, size_t len, const ota32_hash_ops *hash,
                       ota32_ptable *out, ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!out || (!buf && len))
        return OTA32_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    /* The table region is 0xC00 bytes; what follows in the sector is not
     * part of it (the bootloader scans 96 slots at most). */
    size_t region = len < OTA32_PT_BIN_LEN ? len : OTA32_PT_BIN_LEN;

    for (size_t slot = 0; slot * OTA32_PT_ENTRY_LEN < region; slot++) {
        size_t at = slot * OTA32_PT_ENTRY_LEN;
        const uint8_t *e = buf + at;
        if (region - at < OTA32_PT_ENTRY_LEN)
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)at,
                                   "Partition table length must be a multiple of 32 bytes");
        if (all_ff(e, OTA32_PT_ENTRY_LEN)) {
            if (slot == 0)
                return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, 0,
                                       "partition table is empty (first entry is all 0xFF)");
            return 0;
        }
        if (e[0] == PT_MD5_MAGIC0 && e[1] == PT_MD5_MAGIC0) {
            if (out->has_md5)
                return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)at,
                                       "Only one MD5 checksum is allowed");
            memcpy(out->md5, e + MD5_AT, sizeof out->md5);
            out->has_md5 = true;
            if (hash) {
                uint8_t digest[16];
                int rc = md5_of(hash, buf, at, digest, diag);
                if (rc)
                    return rc;
                if (memcmp(digest, e + MD5_AT, sizeof digest) != 0) {
                    char computed[33], parsed[33];
                    hex16(digest, computed);
                    hex16(e + MD5_AT, parsed);
                    return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, (long)at,
                                           "MD5 checksums don't match! (computed: 0x%s, "
                                           "parsed: 0x%s)",
                                           computed, parsed);
                }
            }
            continue;
        }
        if (ota32_le16(e + E_MAGIC) != PT_MAGIC)
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)at,
                                   "entry %zu: magic %02X %02X, expected AA 50 (not a "
                                   "partition table entry)",
                                   slot, e[0], e[1]);
        if (out->count == OTA32_PT_MAX_ENTRIES)
            return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, (long)at, "more than %u partitions",
                                   OTA32_PT_MAX_ENTRIES);
        ota32_partition *p = &out->entries[out->count++];
        /* The name ends at the first NUL; 16 bytes have none. */
        const uint8_t *label = e + E_LABEL;
        const uint8_t *nul = memchr(label, 0, OTA32_PT_LABEL_LEN);
        size_t label_len = nul ? (size_t)(nul - label) : OTA32_PT_LABEL_LEN;
        memset(p->label, 0, sizeof p->label);
        memcpy(p->label, label, label_len);
        p->type = e[E_TYPE];
        p->subtype = e[E_SUBTYPE];
        p->offset = ota32_le32(e + E_OFFSET);
        p->size = ota32_le32(e + E_SIZE);
        p->flags = ota32_le32(e + E_FLAGS); /* unknown bits are kept; callers warn */
    }
    return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)region,
                           "Partition table is missing an end-of-table marker");
}

int ota32_pt_to_bin(const ota32_ptable *t, bool with_md5, const ota32_hash_ops *hash,
                    uint8_t out[OTA32_PT_BIN_LEN], ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!t || !out || (with_md5 && !hash) || t->count > OTA32_PT_MAX_ENTRIES)
        return OTA32_ERR_INVALID_ARG;
    size_t len = (size_t)t->count * OTA32_PT_ENTRY_LEN + (with_md5 ? OTA32_PT_ENTRY_LEN : 0);
    /* gen_esp32part.py keeps at least one all-0xFF end marker. */
    if (len >= OTA32_PT_BIN_LEN)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                               "Binary partition table length (%zu) longer than max", len);

    memset(out, 0xFF, OTA32_PT_BIN_LEN);
    for (unsigned i = 0; i < t->count; i++) {
        const ota32_partition *p = &t->entries[i];
        uint8_t *e = out + (size_t)i * OTA32_PT_ENTRY_LEN;
        ota32_put_le16(e + E_MAGIC, PT_MAGIC);
        e[E_TYPE] = p->type;
        e[E_SUBTYPE] = p->subtype;
        ota32_put_le32(e + E_OFFSET, p->offset);
        ota32_put_le32(e + E_SIZE, p->size);
        memcpy(e + E_LABEL, p->label, OTA32_PT_LABEL_LEN);
        ota32_put_le32(e + E_FLAGS, p->flags);
    }
    if (with_md5) {
        size_t at = (size_t)t->count * OTA32_PT_ENTRY_LEN;
        out[at] = PT_MD5_MAGIC0;
        out[at + 1] = PT_MD5_MAGIC0;
        int rc = md5_of(hash, out, at, out + at + MD5_AT, diag);
        if (rc)
            return rc;
    }
    return 0;
}
