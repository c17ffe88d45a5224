/*
 * Flash ops over esp_partition_*. The engine speaks absolute addresses; each
 * call is mapped to the ota_N app partition that holds the whole range and
 * done with partition-relative offsets, so esp_partition's bounds checks and
 * flash encryption apply. Anything outside an ota_N partition is refused, and
 * so is any write or erase of the partition running now: the engine can never
 * touch the bootloader, the table, NVS, otadata or the live app.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "esp_flash.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"

#include "ota32_esp_priv.h"

static bool is_ota(const esp_partition_t *p)
{
    return p->type == ESP_PARTITION_TYPE_APP && p->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_MIN &&
           p->subtype < ESP_PARTITION_SUBTYPE_APP_OTA_MAX;
}

bool ota32_esp_slot_from(const esp_partition_t *p, ota32_slot *slot)
{
    memset(slot, 0, sizeof *slot);
    snprintf(slot->label, sizeof slot->label, "%s", p->label);
    slot->offset = p->address;
    slot->size = p->size;
    if (!is_ota(p)) {
        slot->index = 0xFF; /* factory or test */
        return false;
    }
    slot->index = (uint8_t)(p->subtype - ESP_PARTITION_SUBTYPE_APP_OTA_MIN);
    return true;
}

const esp_partition_t *ota32_esp_flash_find(const ota32_esp_flash *f, uint32_t addr)
{
    for (unsigned i = 0; i < f->count; i++) {
        const esp_partition_t *p = f->apps[i];
        if (addr >= p->address && addr - p->address < p->size)
            return p;
    }
    return NULL;
}

/* The ota_N partition holding [addr, addr+len), or NULL (logged). */
static const esp_partition_t *locate(const ota32_esp_flash *f, uint32_t addr, size_t len,
                                     bool writing, const char *what)
{
    const esp_partition_t *p = ota32_esp_flash_find(f, addr);
    if (!p || !is_ota(p) || len > p->size - (addr - p->address)) {
        ESP_LOGE(OTA32_ESP_TAG,
                 "flash %s of %u bytes at 0x%08" PRIx32 ": not inside an ota "
                 "app partition",
                 what, (unsigned)len, addr);
        return NULL;
    }
    if (writing && p == f->running) {
        ESP_LOGE(OTA32_ESP_TAG, "flash %s at 0x%08" PRIx32 ": %s is the running app", what, addr,
                 p->label);
        return NULL;
    }
    return p;
}

static int from_esp(esp_err_t e, const esp_partition_t *p, const char *what, uint32_t addr)
{
    if (e == ESP_OK)
        return OTA32_OK;
    ESP_LOGE(OTA32_ESP_TAG, "flash %s in %s at 0x%08" PRIx32 ": %s", what, p->label, addr,
             esp_err_to_name(e));
    return e == ESP_ERR_INVALID_ARG || e == ESP_ERR_INVALID_SIZE ? OTA32_ERR_RANGE : OTA32_ERR_IO;
}

static int flash_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    const esp_partition_t *p = locate(ctx, addr, len, false, "read");
    if (!p)
        return OTA32_ERR_RANGE;
    return from_esp(esp_partition_read(p, addr - p->address, buf, len), p, "read", addr);
}

static int flash_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    const esp_partition_t *p = locate(ctx, addr, len, true, "write");
    if (!p)
        return OTA32_ERR_RANGE;
    return from_esp(esp_partition_write(p, addr - p->address, buf, len), p, "write", addr);
}

static int erase(void *ctx, uint32_t addr, uint32_t unit)
{
    if (addr % unit)
        return OTA32_ERR_INVALID_ARG;
    const esp_partition_t *p = locate(ctx, addr, unit, true, "erase");
    if (!p)
        return OTA32_ERR_RANGE;
    return from_esp(esp_partition_erase_range(p, addr - p->address, unit), p, "erase", addr);
}

static int flash_erase_sector(void *ctx, uint32_t addr)
{
    return erase(ctx, addr, OTA32_FLASH_SECTOR);
}

static int flash_erase_block(void *ctx, uint32_t addr)
{
    return erase(ctx, addr, OTA32_FLASH_BLOCK);
}

esp_err_t ota32_esp_flash_init(ota32_esp_flash *f, ota32_flash_ops *ops)
{
    memset(f, 0, sizeof *f);
    uint32_t size = 0;
    esp_err_t e = esp_flash_get_size(NULL, &size);
    if (e != ESP_OK)
        return e;
    /* esp_partition_t pointers stay valid for the life of the program. */
    unsigned ota = 0;
    esp_partition_iterator_t it =
        esp_partition_find(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY, NULL);
    for (; it && f->count < OTA32_ESP_MAX_APPS; it = esp_partition_next(it)) {
        const esp_partition_t *p = esp_partition_get(it);
        f->apps[f->count++] = p;
        ota += is_ota(p);
    }
    esp_partition_iterator_release(it); /* NULL-safe; non-NULL only when the table is full */
    f->running = esp_ota_get_running_partition();
    if (ota == 0) {
        ESP_LOGE(OTA32_ESP_TAG, "the partition table has no ota_N app partition");
        return ESP_ERR_NOT_FOUND;
    }
    *ops = (ota32_flash_ops){
        .ctx = f,
        .size = size,
        .read = flash_read,
        .program = flash_program,
        .erase_sector = flash_erase_sector,
        .erase_block = flash_erase_block,
    };
    return ESP_OK;
}
