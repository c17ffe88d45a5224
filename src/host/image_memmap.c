/* esptool's MEMORY_MAP (esptool targets/<chip>.py), used to name segments
 * in `image info`. */
#include "image_memmap.h"

#include "ota32/image.h"

typedef struct mem_range {
    uint32_t lo, hi; /* [lo, hi) */
    const char *name;
} mem_range;

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

typedef struct chip_map {
    uint16_t id;
    const mem_range *map;
    size_t len;
} chip_map;

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const chip_map maps[] = {
    {OTA32_CHIP_ESP32, esp32_map, COUNT(esp32_map)},
    {OTA32_CHIP_ESP32S2, esp32s2_map, COUNT(esp32s2_map)},
    {OTA32_CHIP_ESP32C3, esp32c3_map, COUNT(esp32c3_map)},
    {OTA32_CHIP_ESP32S3, esp32s3_map, COUNT(esp32s3_map)},
};

int ota32_image_memory_types(uint16_t chip_id, uint32_t addr, const char **names, size_t max)
{
    const chip_map *c = NULL;
    for (size_t i = 0; i < COUNT(maps); i++)
        if (maps[i].id == chip_id)
            c = &maps[i];
    if (!c)
        return OTA32_ERR_UNSUPPORTED;
    int n = 0;
    for (size_t i = 0; i < c->len; i++) {
        if (addr >= c->map[i].lo && addr < c->map[i].hi) {
            if ((size_t)n < max)
                names[n] = c->map[i].name;
            n++;
        }
    }
    return n;
}
