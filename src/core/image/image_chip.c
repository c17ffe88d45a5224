/* The chips ota32 knows: image chip ids and names (esptool targets/<chip>.py)
 * and the flash-mapped ranges the bootloader maps through the MMU (ESP-IDF
 * soc/<chip>/include/soc/soc.h, SOC_IROM_* and SOC_DROM_*). */
#include "ota32/image.h"

#include <ctype.h>
#include <string.h>

typedef struct chip_def {
    uint16_t id;
    const char *name;
    uint32_t irom_lo, irom_hi, drom_lo, drom_hi; /* 0,0: not known */
} chip_def;

static const chip_def chips[] = {
    {0x0000, "ESP32", 0x400D0000, 0x40400000, 0x3F400000, 0x3F800000},
    {0x0002, "ESP32-S2", 0x40080000, 0x40800000, 0x3F000000, 0x3FF80000},
    {0x0005, "ESP32-C3", 0x42000000, 0x42800000, 0x3C000000, 0x3C800000},
    {0x0009, "ESP32-S3", 0x42000000, 0x44000000, 0x3C000000, 0x3E000000},
    /* Known by name only: their ranges (and configurable MMU pages) are not
     * modelled, so the MMU rule is not checked for them. */
    {0x000C, "ESP32-C2", 0, 0, 0, 0},
    {0x000D, "ESP32-C6", 0, 0, 0, 0},
    {0x0010, "ESP32-H2", 0, 0, 0, 0},
    {0x0012, "ESP32-P4", 0, 0, 0, 0},
    {0x0014, "ESP32-C61", 0, 0, 0, 0},
    {0x0017, "ESP32-C5", 0, 0, 0, 0},
    {0x0019, "ESP32-H21", 0, 0, 0, 0},
    {0x001C, "ESP32-H4", 0, 0, 0, 0},
    {0x001F, "ESP32-E22", 0, 0, 0, 0},
    {0x0020, "ESP32-S31", 0, 0, 0, 0},
};

static const chip_def *find_chip(uint16_t id)
{
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++)
        if (chips[i].id == id)
            return &chips[i];
    return NULL;
}

const char *ota32_chip_name(uint16_t chip_id)
{
    const chip_def *c = find_chip(chip_id);
    return c ? c->name : NULL;
}

/* Compare ignoring case and '-', so "esp32s2" matches "ESP32-S2". */
static bool same_chip_name(const char *a, const char *b)
{
    for (;;) {
        while (*a == '-')
            a++;
        while (*b == '-')
            b++;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        if (!*a)
            return true;
        a++;
        b++;
    }
}

int ota32_chip_from_name(const char *name, uint16_t *chip_id)
{
    if (!name || !chip_id)
        return OTA32_ERR_INVALID_ARG;
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        if (same_chip_name(name, chips[i].name)) {
            *chip_id = chips[i].id;
            return OTA32_OK;
        }
    }
    return OTA32_ERR_NOT_FOUND;
}

bool ota32_image_addr_is_flash_mapped(uint16_t chip_id, uint32_t addr)
{
    const chip_def *c = find_chip(chip_id);
    if (!c)
        return false;
    return (addr >= c->irom_lo && addr < c->irom_hi) || (addr >= c->drom_lo && addr < c->drom_hi);
}
