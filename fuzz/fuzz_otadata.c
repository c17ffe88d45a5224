/* otadata records: decode/encode round trip, the bootloader's choice, and
 * esp_ota_set_boot_partition's plan. Input: byte 0 = slot, byte 1 = app
 * count, then the two 32-byte records. After any successful switch the
 * bootloader must pick the requested slot. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota32/otadata.h"

typedef struct ram {
    uint8_t mem[OTA32_OTADATA_SIZE];
} ram;

static int ram_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    ram *r = ctx;
    if ((uint64_t)addr + len > sizeof r->mem)
        abort();
    memcpy(buf, r->mem + addr, len);
    return 0;
}

static int ram_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    ram *r = ctx;
    if ((uint64_t)addr + len > sizeof r->mem)
        abort();
    for (size_t i = 0; i < len; i++)
        r->mem[addr + i] &= ((const uint8_t *)buf)[i];
    return 0;
}

static int ram_erase(void *ctx, uint32_t addr)
{
    ram *r = ctx;
    if (addr % OTA32_FLASH_SECTOR || addr >= sizeof r->mem)
        abort();
    memset(r->mem + addr, 0xFF, OTA32_FLASH_SECTOR);
    return 0;
}

static int ram_block(void *ctx, uint32_t addr)
{
    (void)ctx;
    (void)addr;
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 + 2 * OTA32_OTADATA_ENTRY_LEN)
        return 0;
    unsigned slot = data[0] % 17, apps = data[1] % 17;
    const uint8_t *raw = data + 2;
    ota32_ota_entry e[2];
    for (unsigned i = 0; i < 2; i++) {
        uint8_t back[OTA32_OTADATA_ENTRY_LEN];
        ota32_ota_entry_decode(raw + i * OTA32_OTADATA_ENTRY_LEN, &e[i]);
        ota32_ota_entry_encode(&e[i], back);
        if (memcmp(back, raw + i * OTA32_OTADATA_ENTRY_LEN, sizeof back) != 0)
            abort();
    }
    int active = ota32_otadata_active(e);
    if (active < -1 || active > 1 || (active >= 0 && !ota32_ota_entry_valid(&e[active])))
        abort();
    if (active >= 0 && apps > 0 && ota32_otadata_slot(&e[active], apps) >= apps)
        abort();

    static ram r;
    memset(r.mem, 0xFF, sizeof r.mem);
    memcpy(r.mem, raw, OTA32_OTADATA_ENTRY_LEN);
    memcpy(r.mem + OTA32_FLASH_SECTOR, raw + OTA32_OTADATA_ENTRY_LEN, OTA32_OTADATA_ENTRY_LEN);
    ota32_flash_ops f = {&r, sizeof r.mem, ram_read, ram_program, ram_erase, ram_block};
    int rc = ota32_otadata_set_boot(&f, 0, slot, apps, data[0] & 0x80);
    if (rc == 0) {
        ota32_ota_entry now[2];
        if (ota32_otadata_read(&f, 0, now) != 0)
            abort();
        int a = ota32_otadata_active(now);
        if (a < 0 || ota32_otadata_slot(&now[a], apps) != slot)
            abort();
        if (ota32_otadata_set_state(&f, 0, OTA32_IMG_INVALID) != 0)
            abort();
        if (ota32_otadata_read(&f, 0, now) != 0 || now[a].state != OTA32_IMG_INVALID)
            abort();
    } else if (rc != OTA32_ERR_INVALID_ARG && rc != OTA32_ERR_RANGE) {
        abort();
    }
    return 0;
}
