/* NVS on arbitrary flash contents: open (with its repairs), iterate, read
 * every item back through the getters, then write and read back. Whatever
 * the input, nothing may read or write outside the partition, and a value
 * that was set must read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota32/nvs.h"

#define MAX_PAGES 8u

typedef struct ram {
    uint8_t mem[MAX_PAGES * OTA32_NVS_PAGE_SIZE];
    uint32_t size;
} ram;

static int ram_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    ram *r = ctx;
    if ((uint64_t)addr + len > r->size)
        abort();
    memcpy(buf, r->mem + addr, len);
    return 0;
}

static int ram_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    ram *r = ctx;
    if ((uint64_t)addr + len > r->size)
        abort();
    for (size_t i = 0; i < len; i++)
        r->mem[addr + i] &= ((const uint8_t *)buf)[i];
    return 0;
}

static int ram_erase(void *ctx, uint32_t addr)
{
    ram *r = ctx;
    if (addr % OTA32_NVS_PAGE_SIZE || addr >= r->size)
        abort();
    memset(r->mem + addr, 0xFF, OTA32_NVS_PAGE_SIZE);
    return 0;
}

static int ram_block(void *ctx, uint32_t addr)
{
    (void)ctx;
    (void)addr;
    abort();
}

static ota32_nvs nvs;
static uint8_t buf[8192];

static int check_item(void *arg, const ota32_nvs_item *it)
{
    (void)arg;
    if (memchr(it->key, 0, sizeof it->key) == NULL || memchr(it->ns, 0, sizeof it->ns) == NULL)
        abort();
    if (it->data && it->data_len > OTA32_NVS_STR_MAX)
        abort();
    if (it->ns_index == 0 || it->ns[0] == '\0' || it->key[0] == '\0')
        return 0;
    size_t n = 0;
    uint64_t v;
    if (it->type == OTA32_NVS_STR) {
        int rc = ota32_nvs_get_str(&nvs, it->ns, it->key, (char *)buf, sizeof buf, &n);
        if (rc == 0 && (n == 0 || n > OTA32_NVS_STR_MAX || buf[n - 1] != 0))
            abort();
    } else if (it->type == OTA32_NVS_BLOB_IDX || it->type == OTA32_NVS_BLOB) {
        (void)ota32_nvs_get_blob(&nvs, it->ns, it->key, buf, sizeof buf, &n);
    } else if (it->type < 0x20) {
        (void)ota32_nvs_get_int(&nvs, it->ns, it->key, (ota32_nvs_type)it->type, &v);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ram r;
    if (size > sizeof r.mem)
        size = sizeof r.mem;
    uint32_t pages = (uint32_t)((size + OTA32_NVS_PAGE_SIZE - 1) / OTA32_NVS_PAGE_SIZE);
    if (pages < 3)
        pages = 3;
    r.size = pages * OTA32_NVS_PAGE_SIZE;
    memset(r.mem, 0xFF, sizeof r.mem);
    memcpy(r.mem, data, size);
    ota32_flash_ops f = {&r, r.size, ram_read, ram_program, ram_erase, ram_block};
    ota32_diag d;
    if (ota32_nvs_open(&nvs, &f, 0, r.size, &d) != 0) {
        if (d.msg[0] == '\0')
            abort();
        return 0;
    }
    if (ota32_nvs_foreach(&nvs, check_item, NULL) < 0)
        abort();
    /* Writes on whatever state the input left. */
    static const char ver[] = "1.2.3-fuzz";
    uint8_t blob[100];
    memset(blob, size & 0xFF, sizeof blob);
    if (ota32_nvs_set_str(&nvs, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, ver) == 0 &&
        ota32_nvs_set_blob(&nvs, OTA32_NVS_NAMESPACE, "progress", blob, sizeof blob) == 0) {
        if (ota32_nvs_open(&nvs, &f, 0, r.size, &d) != 0)
            abort();
        size_t n = 0;
        if (ota32_nvs_get_str(&nvs, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, (char *)buf,
                              sizeof buf, &n) != 0 ||
            strcmp((char *)buf, ver) != 0)
            abort();
        if (ota32_nvs_get_blob(&nvs, OTA32_NVS_NAMESPACE, "progress", buf, sizeof buf, &n) != 0 ||
            n != sizeof blob || memcmp(buf, blob, n) != 0)
            abort();
    }
    return 0;
}
