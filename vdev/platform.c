/*
 * The engine's view of the virtual ESP32: flash, NVS as the key-value store,
 * and boot control over otadata, as esp_ota_* and nvs_* offer them on a real
 * device. Every op works on the table of the last boot.
 */
#include "vdev.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ota32/crc.h"
#include "posix_hash.h"
#include "posix_sig.h"

static ota32_nvs *nvs_of(void *ctx, int *rc)
{
    ota32_nvs *nvs = NULL;
    *rc = vdev_nvs(ctx, &nvs, NULL);
    return nvs;
}

static int kv_get_str(void *ctx, const char *ns, const char *key, char *buf, size_t cap)
{
    int rc;
    ota32_nvs *nvs = nvs_of(ctx, &rc);
    return nvs ? ota32_nvs_get_str(nvs, ns, key, buf, cap, NULL) : rc;
}

static int kv_set_str(void *ctx, const char *ns, const char *key, const char *val)
{
    int rc;
    ota32_nvs *nvs = nvs_of(ctx, &rc);
    return nvs ? ota32_nvs_set_str(nvs, ns, key, val) : rc;
}

static int kv_get_blob(void *ctx, const char *ns, const char *key, void *buf, size_t cap,
                       size_t *len)
{
    int rc;
    ota32_nvs *nvs = nvs_of(ctx, &rc);
    return nvs ? ota32_nvs_get_blob(nvs, ns, key, buf, cap, len) : rc;
}

static int kv_set_blob(void *ctx, const char *ns, const char *key, const void *data, size_t len)
{
    int rc;
    ota32_nvs *nvs = nvs_of(ctx, &rc);
    return nvs ? ota32_nvs_set_blob(nvs, ns, key, data, len) : rc;
}

static int kv_erase_key(void *ctx, const char *ns, const char *key)
{
    int rc;
    ota32_nvs *nvs = nvs_of(ctx, &rc);
    return nvs ? ota32_nvs_erase_key(nvs, ns, key) : rc;
}

static void fill_slot(ota32_slot *s, const ota32_partition *p, uint8_t index)
{
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, "%s", p->label);
    s->index = index;
    s->offset = p->offset;
    s->size = p->size;
}

static int boot_running_slot(void *ctx, ota32_slot *slot, uint32_t *state)
{
    vdev *d = ctx;
    const vdev_boot *b = vdev_last_boot(d);
    if (!b)
        return OTA32_ERR_STATE;
    const ota32_partition *p = ota32_pt_find_label(&b->table, b->label);
    if (!p)
        return OTA32_ERR_NOT_FOUND;
    /* factory and test are not ota slots: index 0xFF */
    fill_slot(slot, p, b->slot >= 0 ? (uint8_t)b->slot : 0xFF);
    *state = OTA32_IMG_UNDEFINED;
    if (!b->has_otadata || b->slot < 0 || !b->app_count)
        return OTA32_OK;
    /* Read it now: mark_valid may have changed it since the boot. As
     * esp_ota_get_state_partition: the entry whose seq maps to this slot. */
    ota32_ota_entry e[2];
    int rc = ota32_otadata_read(vdev_flash(d), b->otadata_offset, e);
    if (rc != OTA32_OK)
        return rc;
    if (ota32_otadata_slot_state(e, (unsigned)b->slot, b->app_count, state) != OTA32_OK)
        *state = OTA32_IMG_UNDEFINED;
    return OTA32_OK;
}

static int boot_slot_state(void *ctx, const ota32_slot *slot, uint32_t *state)
{
    vdev *d = ctx;
    const vdev_boot *b = vdev_last_boot(d);
    if (!b)
        return OTA32_ERR_STATE;
    if (!b->has_otadata || !b->app_count)
        return OTA32_ERR_NOT_FOUND;
    ota32_ota_entry e[2];
    int rc = ota32_otadata_read(vdev_flash(d), b->otadata_offset, e);
    if (rc != OTA32_OK)
        return rc;
    return ota32_otadata_slot_state(e, slot->index, b->app_count, state);
}

/* esp_ota_get_next_update_partition: the ota slot after the running one
 * (ota_0 when running factory), counting slots as the app does. */
static int boot_update_slot(void *ctx, ota32_slot *slot)
{
    const vdev_boot *b = vdev_last_boot(ctx);
    if (!b)
        return OTA32_ERR_STATE;
    unsigned n = ota32_pt_ota_count(&b->table);
    if (n == 0)
        return OTA32_ERR_NOT_FOUND;
    unsigned next = b->slot >= 0 ? ((unsigned)b->slot + 1) % n : 0;
    const ota32_partition *p =
        ota32_pt_find(&b->table, OTA32_PT_TYPE_APP, (uint8_t)(OTA32_PT_APP_OTA_0 + next));
    if (!p)
        return OTA32_ERR_NOT_FOUND;
    fill_slot(slot, p, (uint8_t)next);
    return OTA32_OK;
}

/* The last boot, for an op that writes otadata: STATE before any boot,
 * NOT_FOUND when the table has no otadata partition. */
static int otadata_boot(vdev *d, const vdev_boot **b)
{
    *b = vdev_last_boot(d);
    if (!*b)
        return OTA32_ERR_STATE;
    return (*b)->has_otadata ? OTA32_OK : OTA32_ERR_NOT_FOUND;
}

/* esp_ota_set_boot_partition: verify the image, then write otadata. */
static int boot_set_boot(void *ctx, const ota32_slot *slot)
{
    vdev *d = ctx;
    const vdev_boot *b;
    int rc = otadata_boot(d, &b);
    if (rc != OTA32_OK)
        return rc;
    unsigned n = ota32_pt_ota_count(&b->table);
    if (slot->index >= n)
        return OTA32_ERR_RANGE;
    rc = vdev_verify_app(vdev_flash(d), slot->offset, slot->size, NULL, NULL);
    if (rc != OTA32_OK)
        return rc;
    return ota32_otadata_set_boot(vdev_flash(d), b->otadata_offset, slot->index, n, b->rollback);
}

static int set_state(void *ctx, uint32_t state)
{
    vdev *d = ctx;
    const vdev_boot *b;
    int rc = otadata_boot(d, &b);
    if (rc != OTA32_OK)
        return rc;
    return ota32_otadata_set_state(vdev_flash(d), b->otadata_offset, state);
}

/* esp_ota_mark_app_valid_cancel_rollback with anti-rollback: the slot
 * becomes VALID, then the eFuse secure version rises to the app's. */
static int boot_mark_valid(void *ctx)
{
    int rc = set_state(ctx, OTA32_IMG_VALID);
    const vdev_boot *b = vdev_last_boot(ctx);
    if (rc != OTA32_OK || !b)
        return rc;
    vdev_efuse e;
    rc = vdev_efuse_read(vdev_efuse_path(ctx), &e, NULL);
    if (rc != OTA32_OK || b->app.secure_version <= e.secure_version)
        return rc;
    e.secure_version = b->app.secure_version;
    return vdev_efuse_burn(vdev_efuse_path(ctx), &e, NULL);
}

static int boot_running_app(void *ctx, ota32_app_desc *out)
{
    const vdev_boot *b = vdev_last_boot(ctx);
    if (!b)
        return OTA32_ERR_STATE;
    *out = b->app;
    return OTA32_OK;
}

static int sec_trusted_keys(void *ctx, ota32_trusted_keys *out)
{
    vdev_efuse e;
    int rc = vdev_efuse_read(vdev_efuse_path(ctx), &e, NULL);
    if (rc == OTA32_OK)
        *out = e.keys;
    return rc;
}

static int sec_min_secure_version(void *ctx, uint32_t *out)
{
    vdev_efuse e;
    int rc = vdev_efuse_read(vdev_efuse_path(ctx), &e, NULL);
    if (rc == OTA32_OK)
        *out = e.secure_version;
    return rc;
}

static int boot_mark_invalid(void *ctx)
{
    return set_state(ctx, OTA32_IMG_INVALID);
}

static void boot_reboot(void *ctx)
{
    vdev_request_reboot(ctx);
}

int vdev_platform(vdev *d, ota32_platform *plat)
{
    if (!d || !plat)
        return OTA32_ERR_INVALID_ARG;
    if (!vdev_last_boot(d))
        return OTA32_ERR_STATE;
    plat->flash = *vdev_flash(d);
    plat->kv = (ota32_kv_ops){
        .ctx = d,
        .get_str = kv_get_str,
        .set_str = kv_set_str,
        .get_blob = kv_get_blob,
        .set_blob = kv_set_blob,
        .erase_key = kv_erase_key,
    };
    plat->boot = (ota32_boot_ops){
        .ctx = d,
        .running_slot = boot_running_slot,
        .update_slot = boot_update_slot,
        .set_boot = boot_set_boot,
        .mark_valid = boot_mark_valid,
        .mark_invalid = boot_mark_invalid,
        .slot_state = boot_slot_state,
        .reboot = boot_reboot,
        .running_app = boot_running_app,
    };
    plat->hash = *ota32_posix_hash();
    plat->secure = (ota32_secure_ops){
        .ctx = d,
        .trusted_keys = sec_trusted_keys,
        .verify = ota32_posix_sig_verify,
        .min_secure_version = sec_min_secure_version,
    };
    return OTA32_OK;
}
