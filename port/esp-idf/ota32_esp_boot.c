/*
 * Boot control over esp_ota_*: which slot runs and in what otadata state,
 * where the next update goes, switching, and the rollback decisions. Needs
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE for PENDING_VERIFY to exist at all;
 * without it a new app boots straight as VALID and nothing can roll back.
 */
#include <inttypes.h>
#include <string.h>

#include "esp_app_desc.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_system.h"
#include "ota32/otadata.h"

#include "ota32_esp_priv.h"

static uint32_t state_from(esp_ota_img_states_t st)
{
    switch (st) {
    case ESP_OTA_IMG_NEW:
        return OTA32_IMG_NEW;
    case ESP_OTA_IMG_PENDING_VERIFY:
        return OTA32_IMG_PENDING_VERIFY;
    case ESP_OTA_IMG_VALID:
        return OTA32_IMG_VALID;
    case ESP_OTA_IMG_INVALID:
        return OTA32_IMG_INVALID;
    case ESP_OTA_IMG_ABORTED:
        return OTA32_IMG_ABORTED;
    default:
        return OTA32_IMG_UNDEFINED;
    }
}

static int fail(esp_err_t e, const char *what)
{
    ESP_LOGE(OTA32_ESP_TAG, "%s: %s", what, esp_err_to_name(e));
    switch (e) {
    case ESP_ERR_OTA_SMALL_SEC_VER:
        /* Anti-rollback: esp_ota_set_boot_partition erased the slot. A
         * rejected image to the engine (long back-off, no quick retry). */
        ESP_LOGE(OTA32_ESP_TAG, "the image's secure_version is below the chip's anti-rollback "
                                "eFuse: refused, and its partition erased");
        return OTA32_ERR_VERIFY;
    case ESP_ERR_OTA_VALIDATE_FAILED:
        return OTA32_ERR_VERIFY;
    case ESP_ERR_NOT_FOUND:
        return OTA32_ERR_NOT_FOUND;
    case ESP_ERR_INVALID_ARG:
        return OTA32_ERR_INVALID_ARG;
    case ESP_ERR_OTA_ROLLBACK_FAILED:
        return OTA32_ERR_STATE;
    case ESP_ERR_NO_MEM:
        return OTA32_ERR_NO_MEM;
    default:
        return OTA32_ERR_IO;
    }
}

static int boot_running_slot(void *ctx, ota32_slot *slot, uint32_t *state)
{
    (void)ctx;
    const esp_partition_t *p = esp_ota_get_running_partition();
    if (!p)
        return OTA32_ERR_NOT_FOUND;
    *state = OTA32_IMG_UNDEFINED;
    if (!ota32_esp_slot_from(p, slot))
        return OTA32_OK; /* factory/test: no otadata entry */
    /* ESP_ERR_NOT_FOUND: otadata holds no entry for the running slot. An ota
     * slot boots only through an otadata entry (without a factory app the
     * bootloader writes seq 1 VALID on the first boot), so this means otadata
     * was erased or damaged since: UNDEFINED, nothing to confirm. */
    esp_ota_img_states_t st;
    esp_err_t e = esp_ota_get_state_partition(p, &st);
    if (e == ESP_OK)
        *state = state_from(st);
    else if (e != ESP_ERR_NOT_FOUND)
        return fail(e, "esp_ota_get_state_partition");
    return OTA32_OK;
}

static int boot_slot_state(void *ctx, const ota32_slot *slot, uint32_t *state)
{
    const esp_partition_t *p = ota32_esp_flash_find(ctx, slot->offset);
    if (!p)
        return OTA32_ERR_NOT_FOUND;
    esp_ota_img_states_t st;
    esp_err_t e = esp_ota_get_state_partition(p, &st);
    if (e == ESP_ERR_NOT_FOUND)
        return OTA32_ERR_NOT_FOUND;
    if (e != ESP_OK)
        return fail(e, "esp_ota_get_state_partition");
    *state = state_from(st);
    return OTA32_OK;
}

static int boot_update_slot(void *ctx, ota32_slot *slot)
{
    (void)ctx;
    const esp_partition_t *p = esp_ota_get_next_update_partition(NULL);
    if (!p)
        return OTA32_ERR_NOT_FOUND;
    return ota32_esp_slot_from(p, slot) ? OTA32_OK : OTA32_ERR_NOT_FOUND;
}

/* esp_ota_set_boot_partition verifies the image (header, segments,
 * checksum, SHA-256, signature with secure boot) before writing otadata;
 * with rollback enabled the entry starts as NEW. */
static int boot_set_boot(void *ctx, const ota32_slot *slot)
{
    const esp_partition_t *p = ota32_esp_flash_find(ctx, slot->offset);
    ota32_slot check;
    if (!p || !ota32_esp_slot_from(p, &check) || check.offset != slot->offset ||
        check.index != slot->index) {
        ESP_LOGE(OTA32_ESP_TAG, "no ota_%u partition at 0x%08" PRIx32, (unsigned)slot->index,
                 slot->offset);
        return OTA32_ERR_NOT_FOUND;
    }
    esp_err_t e = esp_ota_set_boot_partition(p);
    return e == ESP_OK ? OTA32_OK : fail(e, "esp_ota_set_boot_partition");
}

static int boot_mark_valid(void *ctx)
{
    (void)ctx;
    esp_err_t e = esp_ota_mark_app_valid_cancel_rollback();
    return e == ESP_OK ? OTA32_OK : fail(e, "esp_ota_mark_app_valid_cancel_rollback");
}

/* Returns only when the rollback could not be armed. */
static int boot_mark_invalid(void *ctx)
{
    (void)ctx;
    esp_err_t e = esp_ota_mark_app_invalid_rollback_and_reboot();
    return fail(e, "esp_ota_mark_app_invalid_rollback_and_reboot");
}

static void boot_reboot(void *ctx)
{
    (void)ctx;
    ESP_LOGI(OTA32_ESP_TAG, "restarting");
    esp_restart();
}

/* The running app's descriptor, for the project-name check. */
static int boot_running_app(void *ctx, ota32_app_desc *out)
{
    (void)ctx;
    const esp_app_desc_t *a = esp_app_get_description();
    memset(out, 0, sizeof *out);
    out->secure_version = a->secure_version;
    memcpy(out->version, a->version, sizeof a->version);
    memcpy(out->project_name, a->project_name, sizeof a->project_name);
    return OTA32_OK;
}

ota32_boot_ops ota32_esp_boot_ops(ota32_esp_flash *f)
{
    ota32_boot_ops ops = {
        .ctx = f,
        .running_slot = boot_running_slot,
        .update_slot = boot_update_slot,
        .set_boot = boot_set_boot,
        .mark_valid = boot_mark_valid,
        .mark_invalid = boot_mark_invalid,
        .slot_state = boot_slot_state,
        .reboot = boot_reboot,
        .running_app = boot_running_app,
    };
    return ops;
}
