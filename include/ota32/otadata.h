/*
 * otadata: the two 32-byte boot-selection records (one per 4 KB sector) that
 * the ESP-IDF bootloader reads to pick the ota_N slot, and the rules by which
 * the bootloader and esp_ota_set_boot_partition update them.
 */
#ifndef OTA32_OTADATA_H
#define OTA32_OTADATA_H

#include "ota32/ota32.h"
#include "ota32/flash.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_OTADATA_SIZE 0x2000u
#define OTA32_OTADATA_ENTRY_LEN 32u
#define OTA32_OTADATA_SEQ_UNSET 0xFFFFFFFFu

typedef enum ota32_img_state {
    OTA32_IMG_NEW = 0x0,
    OTA32_IMG_PENDING_VERIFY = 0x1,
    OTA32_IMG_VALID = 0x2,
    OTA32_IMG_INVALID = 0x3,
    OTA32_IMG_ABORTED = 0x4,
} ota32_img_state;
/* Not an enumerator: ISO C limits enumerators to int. Stored as a u32. */
#define OTA32_IMG_UNDEFINED 0xFFFFFFFFu

typedef struct ota32_ota_entry {
    uint32_t seq;
    uint8_t seq_label[20];
    uint32_t state;
    uint32_t crc;
} ota32_ota_entry;

void ota32_ota_entry_decode(const uint8_t raw[OTA32_OTADATA_ENTRY_LEN], ota32_ota_entry *out);
void ota32_ota_entry_encode(const ota32_ota_entry *e, uint8_t raw[OTA32_OTADATA_ENTRY_LEN]);

/* seq != 0xFFFFFFFF, state not INVALID/ABORTED, crc matches. */
bool ota32_ota_entry_valid(const ota32_ota_entry *e);

/* "NEW", "PENDING_VERIFY", ...; NULL for a value ESP-IDF does not define
 * (the caller prints it as a number). */
const char *ota32_img_state_name(uint32_t state);

/* Index (0/1) of the active entry as bootloader_common_get_active_otadata
 * picks it, or -1 when neither is valid. */
int ota32_otadata_active(const ota32_ota_entry e[2]);

/* Slot booted for an active entry: (seq - 1) % app_count. */
unsigned ota32_otadata_slot(const ota32_ota_entry *e, unsigned app_count);

/* esp_ota_get_state_partition: the state of the newest intact entry (seq
 * set, CRC right, whatever its state) that selects `slot`; NOT_FOUND when
 * none does (never written, or its rewrite was torn). */
int ota32_otadata_slot_state(const ota32_ota_entry e[2], unsigned slot, unsigned app_count,
                             uint32_t *state);

/* Compute what esp_ota_set_boot_partition (v5.5.5) writes to boot ota_`slot`:
 * fills *copy with 0/1 and *out with the new entry (seq_label kept from the
 * record it replaces). `rollback` selects state NEW versus UNDEFINED.
 * Returns INVALID_ARG for slot >= app_count or app_count outside 1..16, and
 * RANGE when the new seq would be 0 or 0xFFFFFFFF (neither boots `slot`). */
int ota32_otadata_plan_set_boot(const ota32_ota_entry e[2], unsigned slot, unsigned app_count,
                                bool rollback, unsigned *copy, ota32_ota_entry *out);

/* Flash helpers on an otadata partition at `part_offset` (0x2000 bytes). */
int ota32_otadata_read(const ota32_flash_ops *f, uint32_t part_offset, ota32_ota_entry e[2]);
/* Erase copy's 4 KB sector, then program the 32-byte entry (as ESP-IDF). */
int ota32_otadata_write(const ota32_flash_ops *f, uint32_t part_offset, unsigned copy,
                        const ota32_ota_entry *e);
/* esp_ota_set_boot_partition for ota_`slot`: read, plan, write. */
int ota32_otadata_set_boot(const ota32_flash_ops *f, uint32_t part_offset, unsigned slot,
                           unsigned app_count, bool rollback);
/* esp_ota_mark_app_valid_cancel_rollback / esp_ota_mark_app_invalid_rollback:
 * rewrite the active entry's state (VALID or INVALID) in the same copy
 * (erase + program). Marking an already VALID entry valid writes nothing.
 * NOT_FOUND when no entry is active. Checking that another slot can boot
 * (esp_ota_check_rollback_is_possible) is the caller's job. */
int ota32_otadata_set_state(const ota32_flash_ops *f, uint32_t part_offset, uint32_t state);

#ifdef __cplusplus
}
#endif
#endif
