/* CRC-32 as ESP-IDF computes it, and the erase planner. */
#include "check.h"

#include "ota32/crc.h"
#include "ota32/flash.h"
#include "bytes.h"

TEST(crc_matches_esp_idf_values)
{
    /* From docs: esp_rom_crc32_le(0xFFFFFFFF, seq_le, 4). */
    uint8_t seq[4];
    ota32_put_le32(seq, 1);
    CHECK_EQ(ota32_crc32_esp(seq, 4), 0x4743989Au);
    ota32_put_le32(seq, 2);
    CHECK_EQ(ota32_crc32_esp(seq, 4), 0x55F63774u);
    ota32_put_le32(seq, 3);
    CHECK_EQ(ota32_crc32_esp(seq, 4), 0xED4A5011u);
    /* The standard CRC-32 starts from 0. */
    ota32_put_le32(seq, 1);
    CHECK_EQ(ota32_crc32_le(0, seq, 4), 0x99F8B879u);
    CHECK_EQ(ota32_crc32_le(0, "123456789", 9), 0xCBF43926u);
}

TEST(crc_chains)
{
    const char *s = "hello, ota32";
    uint32_t whole = ota32_crc32_le(0, s, strlen(s));
    uint32_t part = ota32_crc32_le(0, s, 5);
    CHECK_EQ(ota32_crc32_le(part, s + 5, strlen(s) - 5), whole);
}

static char ops_log[256];

static int log_sector(void *ctx, uint32_t addr)
{
    (void)ctx;
    size_t n = strlen(ops_log);
    snprintf(ops_log + n, sizeof ops_log - n, "s%x ", addr);
    return 0;
}

static int log_block(void *ctx, uint32_t addr)
{
    (void)ctx;
    size_t n = strlen(ops_log);
    snprintf(ops_log + n, sizeof ops_log - n, "B%x ", addr);
    return 0;
}

TEST(erase_range_uses_blocks_where_aligned)
{
    ota32_flash_ops f = {.size = 0x100000, .erase_sector = log_sector, .erase_block = log_block};
    ops_log[0] = 0;
    CHECK_EQ(ota32_flash_erase_range(&f, 0xE000, 0x24000), 0);
    CHECK_STR(ops_log, "se000 sf000 B10000 B20000 s30000 s31000 ");
    CHECK_EQ(ota32_flash_erase_range(&f, 0x800, 0x1000), OTA32_ERR_RANGE);
    CHECK_EQ(ota32_flash_erase_range(&f, 0xFF000, 0x2000), OTA32_ERR_RANGE);
}

TEST(strerror_names_every_code)
{
    for (int e = 0; e >= OTA32_ERR_ABORTED; e--)
        if (e != -14) /* not assigned */
            CHECK(strcmp(ota32_strerror(e), "unknown error") != 0);
    CHECK_STR(ota32_strerror(-14), "unknown error");
    CHECK_STR(ota32_strerror(-999), "unknown error");
}

RUN_TESTS(CASE(crc_matches_esp_idf_values), CASE(crc_chains),
          CASE(erase_range_uses_blocks_where_aligned), CASE(strerror_names_every_code))
