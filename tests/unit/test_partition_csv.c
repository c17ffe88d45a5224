/* The CSV dialect of gen_esp32part.py: hand-derived binaries for the inputs
 * in tests/data/partitions, every rejection rule with its message and line,
 * variables, warnings and the bootloader/partition_table entries. The
 * messages are ESP-IDF's (esp-formats.md §1); ota32 adds " (partition 'X')"
 * where ESP-IDF's message does not name it. */
#include "check.h"

#include <stdlib.h>

#include "bytes.h"
#include "ota32/partition.h"
#include "partition_csv.h"
#include "partition_util.h"
#include "posix_hash.h"

static char *data_file(const char *name, size_t *len)
{
    const char *dir = getenv("OTA32_TESTS");
    char path[512];
    snprintf(path, sizeof path, "%s/data/partitions/%s", dir ? dir : "tests", name);
    char *b = (char *)check_read_file(path, len);
    if (!b)
        check_fail(__FILE__, __LINE__, "cannot read %s", path);
    return b;
}

/* gen: CSV file -> binary, compared with `exp` and with NAME.bin; and
 * NAME.bin -> CSV compared with NAME.from-bin.csv. */
static void check_gen(const char *name, const uint8_t *exp)
{
    char file[128];
    size_t len, blen, clen;
    snprintf(file, sizeof file, "%s.csv", name);
    char *csv = data_file(file, &len);
    snprintf(file, sizeof file, "%s.bin", name);
    char *ref = data_file(file, &blen);
    snprintf(file, sizeof file, "%s.from-bin.csv", name);
    char *back = data_file(file, &clen);
    if (csv && ref && back) {
        ota32_ptable t;
        ota32_diag d;
        uint8_t bin[OTA32_PT_BIN_LEN];
        int rc = ota32_pt_parse_csv(csv, len, NULL, &t, &d);
        CHECK_EQ(rc, 0);
        if (rc)
            printf("  %s: %s\n", name, d.msg);
        CHECK_EQ(ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d), 0);
        CHECK_MEM(bin, exp, OTA32_PT_BIN_LEN);
        CHECK_EQ(blen, OTA32_PT_BIN_LEN);
        CHECK_MEM(ref, exp, OTA32_PT_BIN_LEN);
        CHECK_EQ(ota32_pt_parse_bin((const uint8_t *)ref, blen, ota32_posix_hash(), &t, &d), 0);
        char out[2048];
        int n = ota32_pt_to_csv(&t, out, sizeof out);
        CHECK_EQ(n, (long long)clen);
        if (n == (int)clen)
            CHECK_MEM(out, back, clen);
    }
    free(csv);
    free(ref);
    free(back);
}

TEST(factory_and_two_ota_slots)
{
    /* All offsets given in the CSV; `1M` = 0x100000. */
    uint8_t exp[OTA32_PT_BIN_LEN];
    memset(exp, 0xFF, sizeof exp);
    put_entry(exp + 0x00, 1, 0x02, 0x9000, 0x4000, "nvs", 0);
    put_entry(exp + 0x20, 1, 0x00, 0xD000, 0x2000, "otadata", 0);
    put_entry(exp + 0x40, 1, 0x01, 0xF000, 0x1000, "phy_init", 0);
    put_entry(exp + 0x60, 0, 0x00, 0x10000, 0x100000, "factory", 0);
    put_entry(exp + 0x80, 0, 0x10, 0x110000, 0x100000, "ota_0", 0);
    put_entry(exp + 0xA0, 0, 0x11, 0x210000, 0x100000, "ota_1", 0);
    put_md5(exp, 6);
    check_gen("factory_ota", exp);
}

TEST(custom_types_numeric_subtypes_and_auto_offsets)
{
    /* last_end starts at 0x9000; app rounds up to 0x10000, all else 0x1000. */
    uint8_t exp[OTA32_PT_BIN_LEN];
    memset(exp, 0xFF, sizeof exp);
    put_entry(exp + 0x00, 1, 0x02, 0x9000, 0x6000, "nvs", 0);        /* ends 0xF000 */
    put_entry(exp + 0x20, 0, 0x00, 0x10000, 0x100000, "factory", 0); /* 0xF000 -> 0x10000 */
    put_entry(exp + 0x40, 0x40, 0x01, 0x110000, 0x10000, "blob", 0); /* custom, 64K */
    put_entry(exp + 0x60, 0xFE, 0x00, 0x120000, 0x1000, "keys", 0);  /* 254, 4K */
    put_entry(exp + 0x80, 1, 0x06, 0x121000, 0x3000, "undef", 0);    /* empty -> undefined */
    put_entry(exp + 0xA0, 1, 0x83, 0x124000, 0x20000, "fs", 0);      /* littlefs */
    put_entry(exp + 0xC0, 1, 0x81, 0x144000, 0x10000, "a_very_long_labe", 0); /* 16: no NUL */
    put_md5(exp, 7);
    check_gen("custom_types", exp);
}

TEST(flags_column)
{
    uint8_t exp[OTA32_PT_BIN_LEN];
    memset(exp, 0xFF, sizeof exp);
    put_entry(exp + 0x00, 1, 0x02, 0x9000, 0x5000, "nvs", 0);
    put_entry(exp + 0x20, 1, 0x02, 0xE000, 0x1000, "nvs_ro", 2);  /* readonly = bit 1 */
    put_entry(exp + 0x40, 1, 0x04, 0xF000, 0x1000, "nvs_key", 1); /* encrypted = bit 0 */
    put_entry(exp + 0x60, 0, 0x00, 0x10000, 0x100000, "factory", 1);
    put_entry(exp + 0x80, 1, 0x82, 0x110000, 0x10000, "storage", 3); /* readonly:encrypted */
    put_md5(exp, 5);
    check_gen("flags", exp);
}

TEST(number_notations_and_negative_size)
{
    uint8_t exp[OTA32_PT_BIN_LEN];
    memset(exp, 0xFF, sizeof exp);
    put_entry(exp + 0x00, 1, 0x02, 36864, 24 * 1024, "nvs", 0);      /* 36864, 24K */
    put_entry(exp + 0x20, 1, 0x01, 0xF000, 4096, "phy_init", 0);     /* 0xF000, 4096 */
    put_entry(exp + 0x40, 0, 0x00, 0x10000, 0x100000, "factory", 0); /* 64K, 0x10_0000 */
    put_entry(exp + 0x60, 1, 0x81, 0x110000, 0x200000 - 0x110000, "storage", 0); /* -2M */
    put_entry(exp + 0x80, 1, 0x99, 0x200000, 0x100000, "spare", 0);              /* 1, 0x99, 1m */
    put_md5(exp, 5);
    check_gen("sizes", exp);
}

typedef struct reject_case {
    const char *csv;
    int line;
    const char *msg; /* the whole diagnostic */
} reject_case;

static const reject_case rejects[] = {
    {"factory, app, factory, 0x18000, 1M\n", 1,
     "Partition factory invalid: Offset 0x18000 is not aligned to 0x10000"},
    {"nvs, data, nvs, 0x9800, 0x6000\n", 1,
     "Partition nvs invalid: Offset 0x9800 is not aligned to 0x1000"},
    {"factory, app, factory, , 0x100800\n", 1,
     "Partition factory invalid: Size 0x100800 is not aligned to 0x1000"},
    {"nvs, data, nvs, 0x9000, 0x6000\nphy, data, phy, 0xa000, 0x1000\n", 2,
     "CSV Error at line 2: Partitions overlap. Partition sets offset 0xa000. Previous partition "
     "ends 0xf000 (partition 'phy')"},
    {"nvs, data, nvs, 0x8000, 0x6000\n", 1,
     "CSV Error at line 1: Partitions overlap. Partition sets offset 0x8000. But partition table "
     "occupies the whole sector 0x8000. Use a free offset 0x9000 or higher. (partition 'nvs')"},
    /* A negative size ends before its offset: a's size becomes 0x1000 - 0x9000. */
    {"a, data, fat, 0x9000, -0x1000\nb, data, fat, 0x2000, 0x1000\n", 2,
     "Partition offset 0x2000 is below 0x9000 (partition 'b')"},
    {"a, data, fat, 0x20000, -0x10000\nb, data, fat, 0x10000, 0x20000\n", 1,
     "Partition at 0x20000 overlaps 0x10000-0x2ffff (partition 'a' overlaps 'b')"},
    {"nvs, data, nvs, , 0x6000\nnvs, data, fat, , 0x1000\n", 2,
     "Partition names must be unique (partition 'nvs')"},
    {"otadata, data, ota, , 0x2000\notadata2, data, ota, , 0x2000\n", 2,
     "Found multiple otadata partitions. Only one partition can be defined with type=\"data\"(1) "
     "and subtype=\"ota\"(0). (partition 'otadata2')"},
    {"otadata, data, ota, , 0x1000\n", 1,
     "otadata partition must have size = 0x2000 (partition 'otadata')"},
    {"tee_otadata, data, tee_ota, , 0x2000\ntee2, data, tee_ota, , 0x2000\n", 2,
     "Found multiple TEE otadata partitions. Only one partition can be defined with "
     "type=\"data\"(1) and subtype=\"tee_ota\"(0x90). (partition 'tee2')"},
    {"tee_otadata, data, tee_ota, , 0x3000\n", 1,
     "TEE otadata partition must have size = 0x2000 (partition 'tee_otadata')"},
    {"nvs, data, nvs, , 0x2000\n", 1,
     "Partition nvs invalid: 'nvs' partition of type 1 and subtype 2 of this size (0x2000) must "
     "be flagged as 'readonly' (the size of read/write NVS has to be at least 0x3000)"},
    {"otadata, data, ota, , 0x2000, readonly\n", 1,
     "Partition otadata invalid: 'otadata' partition of type 1 and subtype 0 is always "
     "read-write and cannot be read-only"},
    {"cd, data, coredump, , 0x10000, readonly\n", 1,
     "Partition cd invalid: 'cd' partition of type 1 and subtype 3 is always read-write and "
     "cannot be read-only"},
    {"nvs, data, nvs, , 0x6000, secure\n", 1,
     "Error at line 1: CSV flag column contains unknown flag 'secure' (partition 'nvs')"},
    /* Flags are split on ':' and not stripped. */
    {"nvs, data, nvs, , 0x6000, encrypted: readonly\n", 1,
     "Error at line 1: CSV flag column contains unknown flag ' readonly' (partition 'nvs')"},
    {"# comment\nnvs, data, nvs, ,\n", 2,
     "Error at line 2: Size field can't be empty (partition 'nvs')"},
    {"nvs, , nvs\n", 1, "Error at line 1: Field 'type' can't be left empty. (partition 'nvs')"},
    {"f, app, , , 1M\n", 1,
     "Error at line 1: App partition cannot have an empty subtype (partition 'f')"},
    {"f, app, ota_16, , 1M\n", 1,
     "Error at line 1: Value 'ota_16' is not valid. Known keywords: factory, test, ota_0, ota_1, "
     "ota_2, ota_3, ota_4, ota_5, ota_6, ota_7, ota_8, ota_9, ota_10, ota_11, ota_12, ota_13, "
     "ota_14, ota_15, tee_0, tee_1 (partition 'f')"},
    {"x, dat, nvs, , 1M\n", 1,
     "Error at line 1: Value 'dat' is not valid. Known keywords: bootloader, partition_table, "
     "app, data (partition 'x')"},
    /* parse_int() strips the suffix first, so the message quotes "1.5". */
    {"x, data, nvs, , 1.5M\n", 1, "Error at line 1: Invalid field value 1.5 (partition 'x')"},
    {"x, 0x40, fat, , 1M\n", 1, "Error at line 1: Invalid field value fat (partition 'x')"},
    {"x, data, nvs, 010, 0x6000\n", 1, "Error at line 1: Invalid field value 010 (partition 'x')"},
    {"x, data, nvs, , 0x6000,\nk, data, nvs, , k\n", 2,
     "Error at line 2: Invalid field value  (partition 'k')"},
    {"\n\n$NOPE_X, data, nvs, , 0x6000\n", 3, "unknown variable 'NOPE_X'"},
    {"bl, bootloader, primary, , ,\n", 1,
     "Error at line 1: Primary bootloader offset is not defined. Please use "
     "--primary-bootloader-offset (partition 'bl')"},
    {"bl, bootloader, recovery, , ,\n", 1,
     "Error at line 1: Recovery bootloader offset is not defined. Please use "
     "--recovery-bootloader-offset (partition 'bl')"},
    /* gen_esp32part.py fails in struct.pack() for these. */
    {"x, data, fatk, , 0x6000\n", 1,
     "Partition x: subtype 0x20400 does not fit in its binary field"},
    {"x, data, fat, 0x100000000, 0x2000\n", 1,
     "Partition x: offset 0x100000000 does not fit in its binary field"},
    {"a, data, fat, , 0x1000\r\nb, data, fat, , -0x1000\r\n", 2,
     "Partition b: size 0x-9000 does not fit in its binary field"},
};

TEST(every_rejection_says_line_partition_and_why)
{
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
        const reject_case *c = &rejects[i];
        ota32_ptable t;
        ota32_diag d;
        int rc = ota32_pt_parse_csv(c->csv, strlen(c->csv), NULL, &t, &d);
        CHECK(rc < 0);
        CHECK_STR(d.msg, c->msg);
        CHECK_EQ(d.line, c->line);
    }
}

TEST(flash_size_and_table_offset)
{
    const char *csv = "nvs, data, nvs, , 0x6000\nfactory, app, factory, , 1M\n"
                      "ota_0, app, ota_0, , 0x100000\n";
    ota32_ptable t;
    ota32_diag d;
    ota32_pt_csv_opts o = {.flash_size = 1u << 20};
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), &o, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_STR(d.msg, "Partitions tables occupies 2.1MB of flash (2162688 bytes) which does not "
                     "fit in configured flash size 1MB. (partition 'ota_0' ends at 0x210000)");
    CHECK_EQ(d.line, 3);
    /* --offset 0x10000: the first free address is 0x11000. */
    ota32_pt_csv_opts o2 = {.table_offset = 0x10000};
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), &o2, &t, &d), 0);
    CHECK_EQ(t.entries[0].offset, 0x11000);
    CHECK_EQ(t.entries[1].offset, 0x20000);
    const char *low = "nvs, data, nvs, 0x9000, 0x6000\n";
    CHECK_EQ(ota32_pt_parse_csv(low, strlen(low), &o2, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_STR(d.msg, "CSV Error at line 1: Partitions overlap. Partition sets offset 0x9000. But "
                     "partition table occupies the whole sector 0x10000. Use a free offset "
                     "0x11000 or higher. (partition 'nvs')");
}

static const char *fake_env(void *ctx, const char *name)
{
    (void)ctx;
    if (!strcmp(name, "NVS_SIZE"))
        return "0x6000";
    if (!strcmp(name, "APP"))
        return "ota";
    if (!strcmp(name, "LOOP"))
        return "$LOOP"; /* values are not expanded again */
    return NULL;
}

TEST(variables_are_expanded_like_expandvars)
{
    const char *csv = "nvs, data, nvs, , $NVS_SIZE\n"
                      "${APP}_0, app, ${APP}_0, , 1M\n"
                      "x$UNSET, data, fat, , 0x1000\n";
    ota32_pt_csv_opts o = {.getenv = fake_env};
    ota32_ptable t;
    ota32_diag d;
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), &o, &t, &d), 0);
    CHECK_EQ(t.count, 3);
    CHECK_EQ(t.entries[0].size, 0x6000);
    CHECK_STR(t.entries[1].label, "ota_0");
    CHECK_EQ(t.entries[1].subtype, 0x10);
    CHECK_STR(t.entries[2].label, "x$UNSET"); /* not at the start of the line: kept */
    /* Unset at the start of a line, also in a comment line. */
    const char *bad = "# table\n$UNSET_VAR rest\n";
    CHECK_EQ(ota32_pt_parse_csv(bad, strlen(bad), &o, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_STR(d.msg, "unknown variable 'UNSET_VAR'");
    CHECK_EQ(d.line, 2);
    const char *loop = "$LOOP, data, fat, , 0x1000\n";
    CHECK_EQ(ota32_pt_parse_csv(loop, strlen(loop), &o, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_STR(d.msg, "unknown variable 'LOOP'");
    /* A name longer than the 16-byte field is refused, as is one only
     * 17 bytes long; 16 fit (with no NUL). */
    const char *longname = "a_partition_name_longer_than_sixty_four_bytes_which_is_still_fine_x, "
                           "data, nvs, , $NVS_SIZE\n";
    CHECK_EQ(ota32_pt_parse_csv(longname, strlen(longname), &o, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "is 67 characters long, more than the 16 the table's name field holds");
    CHECK_EQ(d.line, 1);
    const char *name17 = "a_partition_name1, data, nvs, , $NVS_SIZE\n";
    CHECK_EQ(ota32_pt_parse_csv(name17, strlen(name17), &o, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "Partition name 'a_partition_name1' is 17 characters long");
    const char *name16 = "a_partition_name, data, nvs, , $NVS_SIZE\n";
    CHECK_EQ(ota32_pt_parse_csv(name16, strlen(name16), &o, &t, &d), 0);
    CHECK_STR(t.entries[0].label, "a_partition_name");
    CHECK_EQ(t.entries[0].size, 0x6000);
    /* Without a lookup nothing is set. */
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), NULL, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_STR(d.msg, "Error at line 1: Invalid field value $NVS_SIZE (partition 'nvs')");
}

static char warnings[1024];

static void collect(void *ctx, int line, const char *msg)
{
    (void)ctx;
    size_t n = strlen(warnings);
    snprintf(warnings + n, sizeof warnings - n, "%d: %s\n", line, msg);
}

TEST(keyword_names_of_another_kind_only_warn)
{
    const char *csv = "data, app, factory, , 1M\nnvs, data, fat, , 0x1000\n"
                      "ota_0, app, ota_0, , 1M\n";
    ota32_pt_csv_opts o = {.warn = collect};
    ota32_ptable t;
    ota32_diag d;
    warnings[0] = 0;
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), &o, &t, &d), 0);
    CHECK_STR(warnings,
              "1: Partition has name 'data' which is a partition type, but does not match this "
              "partition's type (0x0). Mistake in partition table?\n"
              "2: Partition has name 'nvs' which is a partition subtype, but this partition has "
              "non-matching type 0x1 and subtype 0x81. Mistake in partition table?\n");
}

TEST(dialect_details)
{
    ota32_ptable t;
    ota32_diag d;
    /* UTF-8 BOM, CR / CRLF / form-feed line breaks, tabs and no-break spaces
     * around fields, extra columns ignored, keywords in any case, '#' after
     * leading spaces is a comment. */
    const char *csv = "\xEF\xBB\xBF# Name, Type\r\n"
                      "\tnvs ,\xC2\xA0"
                      "DATA , NVS, , 0x6000, , ignored, columns\r"
                      "   # indented comment\x0c"
                      "fs, data, spiffs, , 4 k\n"
                      "ota_0, 0, 0x10, , 0x1_0000k\n";
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), NULL, &t, &d), 0);
    if (t.count == 3) {
        CHECK_STR(t.entries[0].label, "nvs");
        CHECK_EQ(t.entries[0].type, 1);
        CHECK_EQ(t.entries[1].size, 0x1000); /* "4 k": int("4 ") ignores the space */
        CHECK_EQ(t.entries[1].offset, 0xF000);
        CHECK_EQ(t.entries[2].subtype, 0x10);
        CHECK_EQ(t.entries[2].size, 0x4000000); /* 0x10000 KB */
        CHECK_EQ(t.entries[2].offset, 0x10000);
    }
    CHECK_EQ(t.count, 3);
    /* An empty name is allowed. */
    const char *noname = ", data, fat, , 0x1000\n";
    CHECK_EQ(ota32_pt_parse_csv(noname, strlen(noname), NULL, &t, &d), 0);
    CHECK_STR(t.entries[0].label, "");
    /* Bad UTF-8 and UTF-16 are refused. */
    const char *bad = "n\xff, data, fat, , 0x1000\n";
    CHECK_EQ(ota32_pt_parse_csv(bad, strlen(bad), NULL, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "UTF-8");
    CHECK_EQ(ota32_pt_parse_csv("\xff\xfex\0", 4, NULL, &t, &d), OTA32_ERR_UNSUPPORTED);
    /* No entries: an empty table. */
    CHECK_EQ(ota32_pt_parse_csv("# nothing\n\n", 11, NULL, &t, &d), 0);
    CHECK_EQ(t.count, 0);
    uint8_t bin[OTA32_PT_BIN_LEN];
    CHECK_EQ(ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d), 0);
    CHECK_EQ(bin[0], 0xEB);
    /* MD5 of nothing: d41d8cd98f00b204e9800998ecf8427e */
    CHECK_EQ(bin[16], 0xd4);
    CHECK_EQ(bin[31], 0x7e);
}

TEST(bootloader_and_partition_table_entries)
{
    const char *csv = "bootloader, bootloader, primary, , ,\n"
                      "pt, partition_table, primary, , ,\n"
                      "nvs, data, nvs, , 0x6000\n"
                      "recovery, bootloader, recovery, , ,\n"
                      "pt_ota, partition_table, ota, , ,\n";
    ota32_pt_csv_opts o = {.has_primary_bootloader_offset = true,
                           .primary_bootloader_offset = 0x1000,
                           .has_recovery_bootloader_offset = true,
                           .recovery_bootloader_offset = 0x10000};
    ota32_ptable t;
    ota32_diag d;
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), &o, &t, &d), 0);
    CHECK_EQ(t.count, 5);
    if (t.count == 5) {
        /* Fixed regions: the bootloader up to the table, the table one sector. */
        CHECK_EQ(t.entries[0].offset, 0x1000);
        CHECK_EQ(t.entries[0].size, 0x7000);
        CHECK_EQ(t.entries[1].offset, 0x8000);
        CHECK_EQ(t.entries[1].size, 0x1000);
        CHECK_EQ(t.entries[2].offset, 0x9000);
        /* The recovery bootloader takes its offset from the option and its
         * size (0x7000) from the bootloader region. */
        CHECK_EQ(t.entries[3].offset, 0x10000);
        CHECK_EQ(t.entries[3].size, 0x7000);
        CHECK_EQ(t.entries[4].type, OTA32_PT_TYPE_PARTITION_TABLE);
        CHECK_EQ(t.entries[4].subtype, 0x01);
        CHECK_EQ(t.entries[4].offset, 0x17000);
        CHECK_EQ(t.entries[4].size, 0x1000);
    }
    o.primary_bootloader_offset = 0x8000;
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), &o, &t, &d), OTA32_ERR_INVALID_ARG);
    CHECK_STR(d.msg, "Unsupported configuration. Primary bootloader must be below partition "
                     "table. Check --primary-bootloader-offset=0x8000 and --offset=0x8000");
}

RUN_TESTS(CASE(factory_and_two_ota_slots), CASE(custom_types_numeric_subtypes_and_auto_offsets),
          CASE(flags_column), CASE(number_notations_and_negative_size),
          CASE(every_rejection_says_line_partition_and_why), CASE(flash_size_and_table_offset),
          CASE(variables_are_expanded_like_expandvars),
          CASE(keyword_names_of_another_kind_only_warn), CASE(dialect_details),
          CASE(bootloader_and_partition_table_entries))
