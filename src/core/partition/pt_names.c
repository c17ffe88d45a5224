/*
 * Type and subtype keywords of gen_esp32part.py (TYPES, SUBTYPES) and the
 * lookups other modules use on a parsed table.
 */
#include "ota32/partition.h"
#include "pt_keywords.h"

#include <string.h>

/* In gen_esp32part.py's order: "Known keywords" messages list them so. */
static const pt_keyword type_names[] = {
    {"bootloader", OTA32_PT_TYPE_BOOTLOADER},
    {"partition_table", OTA32_PT_TYPE_PARTITION_TABLE},
    {"app", OTA32_PT_TYPE_APP},
    {"data", OTA32_PT_TYPE_DATA},
};

static const pt_keyword app_names[] = {
    {"factory", 0x00}, {"test", 0x20},   {"ota_0", 0x10},  {"ota_1", 0x11},  {"ota_2", 0x12},
    {"ota_3", 0x13},   {"ota_4", 0x14},  {"ota_5", 0x15},  {"ota_6", 0x16},  {"ota_7", 0x17},
    {"ota_8", 0x18},   {"ota_9", 0x19},  {"ota_10", 0x1a}, {"ota_11", 0x1b}, {"ota_12", 0x1c},
    {"ota_13", 0x1d},  {"ota_14", 0x1e}, {"ota_15", 0x1f}, {"tee_0", 0x30},  {"tee_1", 0x31},
};

static const pt_keyword data_names[] = {
    {"ota", 0x00},      {"phy", 0x01},    {"nvs", 0x02},       {"coredump", 0x03},
    {"nvs_keys", 0x04}, {"efuse", 0x05},  {"undefined", 0x06}, {"esphttpd", 0x80},
    {"fat", 0x81},      {"spiffs", 0x82}, {"littlefs", 0x83},  {"tee_ota", 0x90},
};

static const pt_keyword boot_names[] = {
    {"primary", 0x00},
    {"ota", 0x01},
    {"recovery", 0x02},
};

static const pt_keyword ptable_names[] = {
    {"primary", 0x00},
    {"ota", 0x01},
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

const pt_keyword *pt_type_keywords(size_t *n)
{
    *n = COUNT_OF(type_names);
    return type_names;
}

const pt_keyword *pt_subtype_keywords(uint8_t type, size_t *n)
{
    switch (type) {
    case OTA32_PT_TYPE_APP:
        *n = COUNT_OF(app_names);
        return app_names;
    case OTA32_PT_TYPE_DATA:
        *n = COUNT_OF(data_names);
        return data_names;
    case OTA32_PT_TYPE_BOOTLOADER:
        *n = COUNT_OF(boot_names);
        return boot_names;
    case OTA32_PT_TYPE_PARTITION_TABLE:
        *n = COUNT_OF(ptable_names);
        return ptable_names;
    default:
        *n = 0;
        return NULL;
    }
}

static const char *name_of(const pt_keyword *k, size_t n, uint8_t value)
{
    for (size_t i = 0; i < n; i++)
        if (k[i].value == value)
            return k[i].name;
    return NULL;
}

const char *ota32_pt_type_name(uint8_t type)
{
    return name_of(type_names, COUNT_OF(type_names), type);
}

const char *ota32_pt_subtype_name(uint8_t type, uint8_t subtype)
{
    size_t n;
    const pt_keyword *k = pt_subtype_keywords(type, &n);
    return k ? name_of(k, n, subtype) : NULL;
}

const ota32_partition *ota32_pt_find(const ota32_ptable *t, uint8_t type, uint8_t subtype)
{
    if (!t)
        return NULL;
    for (unsigned i = 0; i < t->count && i < OTA32_PT_MAX_ENTRIES; i++)
        if (t->entries[i].type == type && t->entries[i].subtype == subtype)
            return &t->entries[i];
    return NULL;
}

const ota32_partition *ota32_pt_find_label(const ota32_ptable *t, const char *label)
{
    if (!t || !label)
        return NULL;
    for (unsigned i = 0; i < t->count && i < OTA32_PT_MAX_ENTRIES; i++)
        if (strncmp(t->entries[i].label, label, OTA32_PT_LABEL_LEN + 1) == 0)
            return &t->entries[i];
    return NULL;
}

unsigned ota32_pt_ota_count(const ota32_ptable *t)
{
    unsigned n = 0;
    /* As esp_ota_get_app_partition_count(): ota_0, ota_1, ... until a gap. */
    while (n < 16 && ota32_pt_find(t, OTA32_PT_TYPE_APP, (uint8_t)(OTA32_PT_APP_OTA_0 + n)))
        n++;
    return n;
}
