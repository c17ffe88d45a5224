/* The chips ota32 knows: image chip ids and names (esptool targets/<chip>.py),
 * the flash-mapped ranges the bootloader maps through the MMU (ESP-IDF
 * soc/<chip>/include/soc/soc.h, SOC_IROM_* and SOC_DROM_*), and esptool's
 * MEMORY_MAP used to name segments in `image info`. */
#include "ota32/image.h"

#include <ctype.h>
#include <string.h>

typedef struct mem_range {
    uint32_t lo, hi; /* [lo, hi) */
    const char *name;
} mem_range;

typedef struct chip_def {
    uint16_t id;
    const char *name;
    uint32_t irom_lo, irom_hi, drom_lo, drom_hi; /* 0,0: not known */
    const mem_range *map;
    size_t map_len;
} chip_def;

static const mem_range esp32_map[] = {
    {0x00000000, 0x00010000, "PADDING"},
    {0x3F400000, 0x3F800000, "DROM"},
    {0x3F800000, 0x3FC00000, "EXTRAM_DATA"},
    {0x3FF80000, 0x3FF82000, "RTC_DRAM"},
    {0x3FF90000, 0x40000000, "BYTE_ACCESSIBLE"},
    {0x3FFAE000, 0x40000000, "DRAM"},
    {0x3FFE0000, 0x3FFFFFFC, "DIRAM_DRAM"},
    {0x40000000, 0x40070000, "IROM"},
    {0x40070000, 0x40078000, "CACHE_PRO"},
    {0x40078000, 0x40080000, "CACHE_APP"},
    {0x40080000, 0x400A0000, "IRAM"},
    {0x400A0000, 0x400BFFFC, "DIRAM_IRAM"},
    {0x400C0000, 0x400C2000, "RTC_IRAM"},
    {0x400D0000, 0x40400000, "IROM"},
    {0x50000000, 0x50002000, "RTC_DATA"},
};

static const mem_range esp32s2_map[] = {
    {0x00000000, 0x00010000, "PADDING"},
    {0x3F000000, 0x3FF80000, "DROM"},
    {0x3F500000, 0x3FF80000, "EXTRAM_DATA"},
    {0x3FF9E000, 0x3FFA0000, "RTC_DRAM"},
    {0x3FF9E000, 0x40000000, "BYTE_ACCESSIBLE"},
    {0x3FF9E000, 0x40072000, "MEM_INTERNAL"},
    {0x3FFB0000, 0x40000000, "DRAM"},
    {0x40000000, 0x4001A100, "IROM_MASK"},
    {0x40020000, 0x40070000, "IRAM"},
    {0x40070000, 0x40072000, "RTC_IRAM"},
    {0x40080000, 0x40800000, "IROM"},
    {0x50000000, 0x50002000, "RTC_DATA"},
};

static const mem_range esp32s3_map[] = {
    {0x00000000, 0x00010000, "PADDING"},
    {0x3C000000, 0x3D000000, "DROM"},
    {0x3D000000, 0x3E000000, "EXTRAM_DATA"},
    {0x600FE000, 0x60100000, "RTC_DRAM"},
    {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FC88000, 0x403E2000, "MEM_INTERNAL"},
    {0x3FC88000, 0x3FD00000, "DRAM"},
    {0x40000000, 0x4001A100, "IROM_MASK"},
    {0x40370000, 0x403E0000, "IRAM"},
    {0x600FE000, 0x60100000, "RTC_IRAM"},
    {0x42000000, 0x42800000, "IROM"},
    {0x50000000, 0x50002000, "RTC_DATA"},
};

static const mem_range esp32c3_map[] = {
    {0x00000000, 0x00010000, "PADDING"},       {0x3C000000, 0x3C800000, "DROM"},
    {0x3FC80000, 0x3FCE0000, "DRAM"},          {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FF00000, 0x3FF20000, "DROM_MASK"},     {0x40000000, 0x40060000, "IROM_MASK"},
    {0x42000000, 0x42800000, "IROM"},          {0x4037C000, 0x403E0000, "IRAM"},
    {0x50000000, 0x50002000, "RTC_IRAM"},      {0x50000000, 0x50002000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};

#define MAP(m) m, sizeof m / sizeof m[0]

static const chip_def chips[] = {
    {0x0000, "ESP32", 0x400D0000, 0x40400000, 0x3F400000, 0x3F800000, MAP(esp32_map)},
    {0x0002, "ESP32-S2", 0x40080000, 0x40800000, 0x3F000000, 0x3FF80000, MAP(esp32s2_map)},
    {0x0005, "ESP32-C3", 0x42000000, 0x42800000, 0x3C000000, 0x3C800000, MAP(esp32c3_map)},
    {0x0009, "ESP32-S3", 0x42000000, 0x44000000, 0x3C000000, 0x3E000000, MAP(esp32s3_map)},
    /* Known by name only: their maps (and configurable MMU pages) are not
     * modelled, so the MMU rule is not checked for them. */
    {0x000C, "ESP32-C2", 0, 0, 0, 0, NULL, 0},
    {0x000D, "ESP32-C6", 0, 0, 0, 0, NULL, 0},
    {0x0010, "ESP32-H2", 0, 0, 0, 0, NULL, 0},
    {0x0012, "ESP32-P4", 0, 0, 0, 0, NULL, 0},
    {0x0014, "ESP32-C61", 0, 0, 0, 0, NULL, 0},
    {0x0017, "ESP32-C5", 0, 0, 0, 0, NULL, 0},
    {0x0019, "ESP32-H21", 0, 0, 0, 0, NULL, 0},
    {0x001C, "ESP32-H4", 0, 0, 0, 0, NULL, 0},
    {0x001F, "ESP32-E22", 0, 0, 0, 0, NULL, 0},
    {0x0020, "ESP32-S31", 0, 0, 0, 0, NULL, 0},
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

int ota32_image_memory_types(uint16_t chip_id, uint32_t addr, const char **names, size_t max)
{
    const chip_def *c = find_chip(chip_id);
    if (!c || !c->map)
        return OTA32_ERR_UNSUPPORTED;
    int n = 0;
    for (size_t i = 0; i < c->map_len; i++) {
        if (addr >= c->map[i].lo && addr < c->map[i].hi) {
            if ((size_t)n < max)
                names[n] = c->map[i].name;
            n++;
        }
    }
    return n;
}
