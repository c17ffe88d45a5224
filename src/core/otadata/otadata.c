/*
 * otadata: decoding, the bootloader's choice of the active record, and the
 * writes esp_ota_set_boot_partition and the rollback API make (ESP-IDF
 * v5.5.5: bootloader_support/src/bootloader_common_loader.c and
 * app_update/esp_ota_ops.c).
 */
#include "ota32/otadata.h"

#include <string.h>

#include "bytes.h"
#include "ota32/crc.h"

/* esp_ota_select_entry_t field offsets. */
enum {
    OFF_SEQ = 0,
    OFF_LABEL = 4,
    OFF_STATE = 24,
    OFF_CRC = 28,
};

_Static_assert(OFF_CRC + 4 == OTA32_OTADATA_ENTRY_LEN, "esp_ota_select_entry_t is 32 bytes");
_Static_assert(OTA32_OTADATA_SIZE == 2 * OTA32_FLASH_SECTOR, "one sector per copy");

void ota32_ota_entry_decode(const uint8_t raw[OTA32_OTADATA_ENTRY_LEN], ota32_ota_entry *out)
{
    out->seq = ota32_le32(raw + OFF_SEQ);
    memcpy(out->seq_label, raw + OFF_LABEL, sizeof out->seq_label);
    out->state = ota32_le32(raw + OFF_STATE);
    out->crc = ota32_le32(raw + OFF_CRC);
}

void ota32_ota_entry_encode(const ota32_ota_entry *e, uint8_t raw[OTA32_OTADATA_ENTRY_LEN])
{
    ota32_put_le32(raw + OFF_SEQ, e->seq);
    memcpy(raw + OFF_LABEL, e->seq_label, sizeof e->seq_label);
    ota32_put_le32(raw + OFF_STATE, e->state);
    ota32_put_le32(raw + OFF_CRC, e->crc);
}

/* bootloader_common_ota_select_crc: the CRC covers ota_seq only. */
static uint32_t seq_crc(uint32_t seq)
{
    uint8_t le[4];
    ota32_put_le32(le, seq);
    return ota32_crc32_esp(le, sizeof le);
}

bool ota32_ota_entry_valid(const ota32_ota_entry *e)
{
    return e->seq != OTA32_OTADATA_SEQ_UNSET && e->state != OTA32_IMG_INVALID &&
           e->state != OTA32_IMG_ABORTED && e->crc == seq_crc(e->seq);
}

const char *ota32_img_state_name(uint32_t state)
{
    switch (state) {
    case OTA32_IMG_NEW:
        return "NEW";
    case OTA32_IMG_PENDING_VERIFY:
        return "PENDING_VERIFY";
    case OTA32_IMG_VALID:
        return "VALID";
    case OTA32_IMG_INVALID:
        return "INVALID";
    case OTA32_IMG_ABORTED:
        return "ABORTED";
    case OTA32_IMG_UNDEFINED:
        return "UNDEFINED";
    default:
        return NULL;
    }
}

int ota32_otadata_active(const ota32_ota_entry e[2])
{
    bool v0 = ota32_ota_entry_valid(&e[0]);
    bool v1 = ota32_ota_entry_valid(&e[1]);
    if (v0 && v1)
        return e[0].seq >= e[1].seq ? 0 : 1; /* a tie goes to otadata[0] */
    if (v0)
        return 0;
    if (v1)
        return 1;
    return -1;
}

unsigned ota32_otadata_slot(const ota32_ota_entry *e, unsigned app_count)
{
    if (app_count == 0)
        return 0;
    /* Unsigned arithmetic as in the bootloader: seq 0 wraps to 0xFFFFFFFF. */
    return (unsigned)((e->seq - 1u) % app_count);
}

int ota32_otadata_slot_state(const ota32_ota_entry e[2], unsigned slot, unsigned app_count,
                             uint32_t *state)
{
    int found = -1;
    for (int i = 0; i < 2; i++) {
        if (e[i].seq == OTA32_OTADATA_SEQ_UNSET || e[i].crc != seq_crc(e[i].seq) || !app_count ||
            ota32_otadata_slot(&e[i], app_count) != slot)
            continue;
        if (found < 0 || e[i].seq > e[found].seq)
            found = i;
    }
    if (found < 0)
        return OTA32_ERR_NOT_FOUND;
    *state = e[found].state;
    return OTA32_OK;
}

int ota32_otadata_plan_set_boot(const ota32_ota_entry e[2], unsigned slot, unsigned app_count,
                                bool rollback, unsigned *copy, ota32_ota_entry *out)
{
    if (!e || !copy || !out || app_count == 0 || app_count > 16 || slot >= app_count)
        return OTA32_ERR_INVALID_ARG;
    int active = ota32_otadata_active(e);
    uint64_t seq;
    unsigned target;
    if (active >= 0) {
        /* Smallest base + i*app_count that is >= the active seq, as the
         * `while (seq > base + i * n) i++` loop in esp_rewrite_ota_data
         * finds it, computed without the loop. */
        uint64_t base = (slot + 1u) % app_count;
        uint64_t cur = e[active].seq;
        uint64_t i = cur > base ? (cur - base + app_count - 1) / app_count : 0;
        seq = base + i * app_count;
        target = (unsigned)(~active & 1);
    } else {
        seq = slot + 1u;
        target = 0;
    }
    /* Two results IDF would write but that do not boot `slot`: 0xFFFFFFFF
     * reads back as "unset" (and IDF's 32-bit loop wraps), and 0 (from an
     * active seq of 0, which IDF never writes itself) boots
     * (2^32 - 1) % app_count. Refuse both. */
    if (seq >= OTA32_OTADATA_SEQ_UNSET || seq == 0)
        return OTA32_ERR_RANGE;
    *out = e[target]; /* seq_label keeps the bytes read from flash */
    out->seq = (uint32_t)seq;
    out->state = rollback ? OTA32_IMG_NEW : OTA32_IMG_UNDEFINED;
    out->crc = seq_crc(out->seq);
    *copy = target;
    return OTA32_OK;
}

static int check_part(const ota32_flash_ops *f, uint32_t part_offset)
{
    if (!f || part_offset % OTA32_FLASH_SECTOR != 0 ||
        (uint64_t)part_offset + OTA32_OTADATA_SIZE > f->size)
        return OTA32_ERR_RANGE;
    return OTA32_OK;
}

int ota32_otadata_read(const ota32_flash_ops *f, uint32_t part_offset, ota32_ota_entry e[2])
{
    int rc = check_part(f, part_offset);
    if (rc != OTA32_OK)
        return rc;
    for (unsigned i = 0; i < 2; i++) {
        uint8_t raw[OTA32_OTADATA_ENTRY_LEN];
        rc = f->read(f->ctx, part_offset + i * OTA32_FLASH_SECTOR, raw, sizeof raw);
        if (rc != OTA32_OK)
            return rc;
        ota32_ota_entry_decode(raw, &e[i]);
    }
    return OTA32_OK;
}

int ota32_otadata_write(const ota32_flash_ops *f, uint32_t part_offset, unsigned copy,
                        const ota32_ota_entry *e)
{
    int rc = check_part(f, part_offset);
    if (rc != OTA32_OK)
        return rc;
    if (copy > 1 || !e)
        return OTA32_ERR_INVALID_ARG;
    uint32_t addr = part_offset + copy * OTA32_FLASH_SECTOR;
    uint8_t raw[OTA32_OTADATA_ENTRY_LEN];
    ota32_ota_entry_encode(e, raw);
    rc = f->erase_sector(f->ctx, addr);
    if (rc != OTA32_OK)
        return rc;
    return f->program(f->ctx, addr, raw, sizeof raw);
}

int ota32_otadata_set_boot(const ota32_flash_ops *f, uint32_t part_offset, unsigned slot,
                           unsigned app_count, bool rollback)
{
    ota32_ota_entry e[2], next;
    unsigned copy;
    int rc = ota32_otadata_read(f, part_offset, e);
    if (rc == OTA32_OK)
        rc = ota32_otadata_plan_set_boot(e, slot, app_count, rollback, &copy, &next);
    if (rc == OTA32_OK)
        rc = ota32_otadata_write(f, part_offset, copy, &next);
    return rc;
}

int ota32_otadata_set_state(const ota32_flash_ops *f, uint32_t part_offset, uint32_t state)
{
    ota32_ota_entry e[2];
    int rc = ota32_otadata_read(f, part_offset, e);
    if (rc != OTA32_OK)
        return rc;
    int active = ota32_otadata_active(e);
    if (active < 0)
        return OTA32_ERR_NOT_FOUND;
    /* esp_ota_mark_app_valid_cancel_rollback writes nothing when the entry
     * is already VALID; marking invalid always rewrites. */
    if (state == OTA32_IMG_VALID && e[active].state == OTA32_IMG_VALID)
        return OTA32_OK;
    e[active].state = state;
    e[active].crc = seq_crc(e[active].seq);
    return ota32_otadata_write(f, part_offset, (unsigned)active, &e[active]);
}
