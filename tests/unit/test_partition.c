/* Partition table: the reference vector, the binary parser, limits, round
 * trips and the lookups other modules use. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ota32/partition.h"
#include "partition_csv.h"
#include "partition_util.h"
#include "posix_hash.h"

static const char *vec(const char *name)
{
    static char path[3][512];
    static int k;
    k = (k + 1) % 3;
    snprintf(path[k], sizeof path[k], "%s", check_vector_path(name));
    return path[k];
}

static unsigned char *load(const char *path, size_t *len)
{
    unsigned char *b = check_read_file(path, len);
    if (!b)
        check_fail(__FILE__, __LINE__, "cannot read %s", path);
    return b;
}

TEST(vector_csv_to_bin_is_byte_identical)
{
    size_t clen, blen;
    unsigned char *csv = load(vec("partitions_two_ota_8mb.csv"), &clen);
    unsigned char *ref = load(vec("partitions_two_ota_8mb.bin"), &blen);
    if (!csv || !ref)
        goto out;
    CHECK_EQ(blen, OTA32_PT_BIN_LEN);
    ota32_ptable t;
    ota32_diag d;
    CHECK_EQ(ota32_pt_parse_csv((const char *)csv, clen, NULL, &t, &d), 0);
    CHECK_EQ(t.count, 5);
    CHECK_STR(t.entries[3].label, "ota_0");
    CHECK_EQ(t.entries[3].offset, 0x20000);  /* 0x12000 rounded up to 64 KB */
    CHECK_EQ(t.entries[4].offset, 0x3A0000); /* 0x20000 + 0x377000 rounded up */
    uint8_t bin[OTA32_PT_BIN_LEN];
    CHECK_EQ(ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d), 0);
    CHECK_MEM(bin, ref, OTA32_PT_BIN_LEN);
    /* The MD5 entry sits at 0xA0 with the documented digest. */
    static const uint8_t md5[16] = {0x8b, 0x84, 0x08, 0x0b, 0x97, 0xd7, 0x7b, 0x6e,
                                    0x75, 0x4f, 0xdc, 0xcd, 0x5a, 0x0e, 0xf5, 0xfb};
    CHECK_EQ(bin[0xA0], 0xEB);
    CHECK_EQ(bin[0xA1], 0xEB);
    CHECK_MEM(bin + 0xB0, md5, 16);
    uint8_t sha[32];
    char hex[65];
    CHECK_EQ(ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, bin, sizeof bin, sha), 0);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", sha[i]);
    CHECK_STR(hex, "07909c8ce6e1239c2e0b58eb30d4db3616058809d7608b9d4de0e96c8870b5ac");
out:
    free(csv);
    free(ref);
}

TEST(vector_flash_size_4mb_rejected_8mb_accepted)
{
    size_t clen;
    unsigned char *csv = load(vec("partitions_two_ota_8mb.csv"), &clen);
    if (!csv)
        return;
    ota32_ptable t;
    ota32_diag d;
    ota32_pt_csv_opts o = {.flash_size = 4u << 20};
    CHECK_EQ(ota32_pt_parse_csv((const char *)csv, clen, &o, &t, &d), OTA32_ERR_CORRUPT);
    /* 0x3A0000 + 0x377000 = 0x717000 = 7434240 bytes = 7.09 MB */
    CHECK_CONTAINS(d.msg, "Partitions tables occupies 7.1MB of flash (7434240 bytes) which does "
                          "not fit in configured flash size 4MB.");
    CHECK_CONTAINS(d.msg, "'ota_1'");
    CHECK_EQ(d.line, 6);
    o.flash_size = 8u << 20;
    CHECK_EQ(ota32_pt_parse_csv((const char *)csv, clen, &o, &t, &d), 0);
    CHECK_EQ(t.count, 5);
    free(csv);
}

TEST(vector_bin_to_csv_is_identical)
{
    size_t blen, clen;
    unsigned char *bin = load(vec("partitions_two_ota_8mb.bin"), &blen);
    unsigned char *ref = load(vec("partitions_two_ota_8mb.from-bin.csv"), &clen);
    if (!bin || !ref)
        goto out;
    ota32_ptable t;
    ota32_diag d;
    CHECK_EQ(ota32_pt_parse_bin(bin, blen, ota32_posix_hash(), &t, &d), 0);
    CHECK_EQ(t.count, 5);
    CHECK(t.has_md5);
    CHECK_EQ(t.md5[0], 0x8b);
    CHECK_EQ(ota32_pt_verify(&t, NULL, &d), 0);
    char csv[1024];
    int n = ota32_pt_to_csv(&t, csv, sizeof csv);
    CHECK_EQ(n, (long long)clen);
    if (n == (int)clen)
        CHECK_MEM(csv, ref, clen);
    /* Too small a buffer is an error, not a truncated CSV. */
    CHECK(ota32_pt_to_csv(&t, csv, 40) < 0);
out:
    free(bin);
    free(ref);
}

TEST(bin_round_trips)
{
    size_t blen;
    unsigned char *bin = load(vec("partitions_two_ota_8mb.bin"), &blen);
    if (!bin)
        return;
    ota32_ptable t, t2;
    ota32_diag d;
    uint8_t out[OTA32_PT_BIN_LEN];
    CHECK_EQ(ota32_pt_parse_bin(bin, blen, ota32_posix_hash(), &t, &d), 0);
    CHECK_EQ(ota32_pt_to_bin(&t, true, ota32_posix_hash(), out, &d), 0);
    CHECK_MEM(out, bin, OTA32_PT_BIN_LEN);
    /* binary -> CSV -> table -> binary */
    char csv[1024];
    int n = ota32_pt_to_csv(&t, csv, sizeof csv);
    CHECK(n > 0);
    CHECK_EQ(ota32_pt_parse_csv(csv, (size_t)n, NULL, &t2, &d), 0);
    CHECK_EQ(ota32_pt_to_bin(&t2, true, ota32_posix_hash(), out, &d), 0);
    CHECK_MEM(out, bin, OTA32_PT_BIN_LEN);
    /* Without the MD5 entry the end marker follows the last entry. */
    CHECK_EQ(ota32_pt_to_bin(&t, false, NULL, out, &d), 0);
    CHECK_MEM(out, bin, 0xA0);
    for (size_t i = 0xA0; i < OTA32_PT_BIN_LEN; i++)
        if (out[i] != 0xFF)
            CHECK_EQ(out[i], 0xFF);
    CHECK_EQ(ota32_pt_parse_bin(out, sizeof out, ota32_posix_hash(), &t2, &d), 0);
    CHECK(!t2.has_md5);
    CHECK_EQ(t2.count, 5);
    free(bin);
}

TEST(bin_accepts_a_whole_sector)
{
    size_t blen;
    unsigned char *bin = load(vec("partitions_two_ota_8mb.bin"), &blen);
    if (!bin)
        return;
    uint8_t sector[0x1000];
    memset(sector, 0x5A, sizeof sector); /* what follows 0xC00 is not table */
    memcpy(sector, bin, OTA32_PT_BIN_LEN);
    ota32_ptable t;
    ota32_diag d;
    CHECK_EQ(ota32_pt_parse_bin(sector, sizeof sector, ota32_posix_hash(), &t, &d), 0);
    CHECK_EQ(t.count, 5);
    free(bin);
}

TEST(bin_rejections_name_offset_and_reason)
{
    size_t blen;
    unsigned char *ref = load(vec("partitions_two_ota_8mb.bin"), &blen);
    if (!ref)
        return;
    uint8_t b[OTA32_PT_BIN_LEN];
    ota32_ptable t;
    ota32_diag d;

    memcpy(b, ref, sizeof b);
    b[0x20 + 5] ^= 1; /* otadata offset changes: the MD5 no longer matches */
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, ota32_posix_hash(), &t, &d), OTA32_ERR_VERIFY);
    CHECK_CONTAINS(d.msg, "MD5 checksums don't match! (computed: 0x");
    CHECK_CONTAINS(d.msg, "parsed: 0x8b84080b97d77b6e754fdccd5a0ef5fb)");
    CHECK_EQ(d.offset, 0xA0);
    /* Without hash ops the digest is kept but not checked. */
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d), 0);
    CHECK(t.has_md5);

    memcpy(b, ref, sizeof b);
    b[0x40] = 0xAB;
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "entry 2: magic AB 50, expected AA 50 (not a partition table entry)");
    CHECK(strstr(d.msg, "b'") == NULL); /* no Python byte-string notation */
    CHECK_EQ(d.offset, 0x40);

    memcpy(b, ref, sizeof b);
    memcpy(b + 0xC0, b + 0xA0, 32); /* a second MD5 entry */
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "Only one MD5 checksum is allowed");
    CHECK_EQ(d.offset, 0xC0);

    /* Cut right after the MD5 entry: no end marker. */
    CHECK_EQ(ota32_pt_parse_bin(ref, 0xC0, ota32_posix_hash(), &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "Partition table is missing an end-of-table marker");
    CHECK_EQ(ota32_pt_parse_bin(ref, 0xB0, ota32_posix_hash(), &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "Partition table length must be a multiple of 32 bytes");
    CHECK_EQ(d.offset, 0xA0);

    /* An end marker needs all 32 bytes 0xFF (the bootloader looks at 4). */
    memcpy(b, ref, sizeof b);
    b[0xC0 + 20] = 0;
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "entry 6: magic FF FF, expected AA 50");

    memset(b, 0xFF, sizeof b);
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "empty");

    /* 96 entries and no room for an end marker in 0xC00 bytes. */
    for (unsigned i = 0; i < 96; i++)
        put_entry(b + 32 * i, 1, 0x81, 0x10000 + 0x1000 * i, 0x1000, "x", 0);
    CHECK(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d) < 0);
    free(ref);
}

TEST(bin_labels_and_flags)
{
    uint8_t b[OTA32_PT_BIN_LEN];
    memset(b, 0xFF, sizeof b);
    put_entry(b, 1, 0x02, 0x9000, 0x6000, "abcdefghijklmnop", 0x6); /* 16 chars, no NUL */
    put_entry(b + 32, 0, 0x10, 0x10000, 0x100000, "ota_0", 1);
    b[32 + 12 + 7] = 'Z'; /* bytes after the first NUL are not part of the name */
    ota32_ptable t;
    ota32_diag d;
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d), 0);
    CHECK_EQ(t.count, 2);
    CHECK_STR(t.entries[0].label, "abcdefghijklmnop");
    CHECK_EQ(t.entries[0].label[16], 0);
    CHECK_STR(t.entries[1].label, "ota_0");
    /* Unknown flag bits are kept (callers warn), and the CSV shows the known ones. */
    CHECK_EQ(t.entries[0].flags, 0x6);
    CHECK_EQ(t.entries[0].flags & ~OTA32_PT_FLAGS_KNOWN, 0x4);
    char csv[512];
    CHECK(ota32_pt_to_csv(&t, csv, sizeof csv) > 0);
    CHECK_CONTAINS(csv, "\nabcdefghijklmnop,data,nvs,0x9000,24K,readonly\n");
    CHECK_CONTAINS(csv, "\nota_0,app,ota_0,0x10000,1M,encrypted\n");
}

/* n data entries of 4 KB from 0x9000, named p0, p1, ... */
static char *many_csv(unsigned n)
{
    char *s = malloc(64 * (size_t)n + 1);
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += (size_t)sprintf(s + len, "p%u, data, fat, , 0x1000,\n", i);
    s[len] = 0;
    return s;
}

TEST(entry_limits_94_with_md5_95_without)
{
    ota32_ptable t;
    ota32_diag d;
    uint8_t bin[OTA32_PT_BIN_LEN];
    char *s = many_csv(94);
    CHECK_EQ(ota32_pt_parse_csv(s, strlen(s), NULL, &t, &d), 0);
    CHECK_EQ(ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d), 0);
    CHECK_EQ(bin[94 * 32], 0xEB); /* MD5 entry at 0xBC0 */
    CHECK_EQ(bin[0xBE0], 0xFF);   /* and one end-marker slot */
    free(s);

    s = many_csv(95);
    CHECK_EQ(ota32_pt_parse_csv(s, strlen(s), NULL, &t, &d), 0);
    CHECK_EQ(t.count, 95);
    CHECK_EQ(ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d), OTA32_ERR_TOO_BIG);
    CHECK_STR(d.msg, "Binary partition table length (3072) longer than max");
    CHECK_EQ(ota32_pt_to_bin(&t, false, NULL, bin, &d), 0);
    CHECK_EQ(bin[95 * 32 - 32 + 12], 'p');
    CHECK_EQ(bin[95 * 32], 0xFF);
    ota32_ptable back;
    CHECK_EQ(ota32_pt_parse_bin(bin, sizeof bin, NULL, &back, &d), 0);
    CHECK_EQ(back.count, 95);
    free(s);

    s = many_csv(96);
    ota32_pt_csv_opts o = {.no_md5 = true};
    CHECK_EQ(ota32_pt_parse_csv(s, strlen(s), &o, &t, &d), OTA32_ERR_TOO_BIG);
    CHECK_STR(d.msg, "Binary partition table length (3072) longer than max");
    CHECK_EQ(ota32_pt_parse_csv(s, strlen(s), NULL, &t, &d), OTA32_ERR_TOO_BIG);
    CHECK_STR(d.msg, "Binary partition table length (3104) longer than max");
    free(s);

    s = many_csv(120);
    CHECK_EQ(ota32_pt_parse_csv(s, strlen(s), NULL, &t, &d), OTA32_ERR_TOO_BIG);
    CHECK_STR(d.msg, "Binary partition table length (3872) longer than max");
    free(s);
}

TEST(label_of_16_bytes_has_no_nul_and_longer_is_refused)
{
    /* gen_esp32part.py refuses a name longer than the 16-byte field */
    const char *too_long = "abcdefghijklmnopq, data, nvs, , 0x6000,\n";
    ota32_ptable t;
    ota32_diag d;
    CHECK_EQ(ota32_pt_parse_csv(too_long, strlen(too_long), NULL, &t, &d), OTA32_ERR_CORRUPT);
    CHECK_EQ(d.line, 1);
    CHECK_CONTAINS(d.msg, "Partition name 'abcdefghijklmnopq' is 17 characters long");

    const char *csv = "abcdefghijklmnop, data, nvs, , 0x6000,\n"
                      "sixteen_chars_ab, app, factory, , 1M,\n";
    uint8_t bin[OTA32_PT_BIN_LEN], exp[OTA32_PT_BIN_LEN];
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), NULL, &t, &d), 0);
    CHECK_EQ(ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d), 0);
    /* nvs at 0x9000; the app rounds 0xF000 up to 0x10000. */
    memset(exp, 0xFF, sizeof exp);
    put_entry(exp, 1, 0x02, 0x9000, 0x6000, "abcdefghijklmnop", 0);
    put_entry(exp + 32, 0, 0x00, 0x10000, 0x100000, "sixteen_chars_ab", 0);
    put_md5(exp, 2);
    CHECK_MEM(bin, exp, sizeof exp);
    CHECK_MEM(bin + 12, "abcdefghijklmnop", 16);
    CHECK_EQ(bin[28], 0); /* flags follow directly: no NUL in the label */
    ota32_ptable back;
    CHECK_EQ(ota32_pt_parse_bin(bin, sizeof bin, ota32_posix_hash(), &back, &d), 0);
    CHECK_STR(back.entries[0].label, "abcdefghijklmnop");
    CHECK_STR(back.entries[1].label, "sixteen_chars_ab");
}

TEST(lookups_used_by_other_modules)
{
    const char *csv = "nvs,data,nvs,,0x6000\notadata,data,ota,,0x2000\n"
                      "ota_0,app,ota_0,,1M\nota_1,app,ota_1,,1M\nota_3,app,ota_3,,1M\n";
    ota32_ptable t;
    ota32_diag d;
    CHECK_EQ(ota32_pt_parse_csv(csv, strlen(csv), NULL, &t, &d), 0);
    const ota32_partition *p = ota32_pt_find(&t, OTA32_PT_TYPE_DATA, OTA32_PT_DATA_OTA);
    CHECK(p != NULL);
    if (p) {
        CHECK_STR(p->label, "otadata");
        CHECK_EQ(p->offset, 0xF000);
    }
    CHECK(ota32_pt_find(&t, OTA32_PT_TYPE_APP, OTA32_PT_APP_FACTORY) == NULL);
    p = ota32_pt_find_label(&t, "ota_1");
    CHECK(p != NULL);
    if (p) /* otadata ends at 0x11000; ota_0 at 0x20000..0x120000 */
        CHECK_EQ(p->offset, 0x120000);
    CHECK(ota32_pt_find_label(&t, "ota_2") == NULL);
    CHECK(ota32_pt_find_label(NULL, "nvs") == NULL);
    /* ota_0, ota_1, then a gap: ota_3 is not counted (as the running app counts). */
    CHECK_EQ(ota32_pt_ota_count(&t), 2);
    CHECK_STR(ota32_pt_type_name(0x00), "app");
    CHECK_STR(ota32_pt_type_name(0x03), "partition_table");
    CHECK(ota32_pt_type_name(0x40) == NULL);
    CHECK_STR(ota32_pt_subtype_name(0x00, 0x1F), "ota_15");
    CHECK_STR(ota32_pt_subtype_name(0x00, 0x31), "tee_1");
    CHECK_STR(ota32_pt_subtype_name(0x01, 0x06), "undefined");
    CHECK_STR(ota32_pt_subtype_name(0x01, 0x90), "tee_ota");
    CHECK_STR(ota32_pt_subtype_name(0x02, 0x02), "recovery");
    CHECK(ota32_pt_subtype_name(0x01, 0x99) == NULL);
    CHECK(ota32_pt_subtype_name(0x40, 0x00) == NULL);
}

TEST(verify_runs_gen_esp32part_rules_on_a_binary)
{
    uint8_t b[OTA32_PT_BIN_LEN];
    ota32_ptable t;
    ota32_diag d;
    memset(b, 0xFF, sizeof b);
    put_entry(b, 1, 0x02, 0x9000, 0x6000, "nvs", 0);
    put_entry(b + 32, 0, 0x00, 0x10000, 0x100000, "factory", 0);
    put_entry(b + 64, 0, 0x10, 0x100000, 0x100000, "ota_0", 0);
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d), 0);
    CHECK_EQ(ota32_pt_verify(&t, NULL, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "Partition at 0x100000 overlaps 0x10000-0x10ffff");
    CHECK_EQ(d.offset, 64);
    put_entry(b + 64, 0, 0x10, 0x110000, 0x100000, "ota_0", 0);
    CHECK_EQ(ota32_pt_parse_bin(b, sizeof b, NULL, &t, &d), 0);
    CHECK_EQ(ota32_pt_verify(&t, NULL, &d), 0);
    ota32_pt_csv_opts o = {.flash_size = 2u << 20};
    CHECK_EQ(ota32_pt_verify(&t, &o, &d), OTA32_ERR_CORRUPT);
    CHECK_CONTAINS(d.msg, "Partitions tables occupies 2.1MB of flash (2162688 bytes) which does "
                          "not fit in configured flash size 2MB.");
}

RUN_TESTS(CASE(vector_csv_to_bin_is_byte_identical),
          CASE(vector_flash_size_4mb_rejected_8mb_accepted), CASE(vector_bin_to_csv_is_identical),
          CASE(bin_round_trips), CASE(bin_accepts_a_whole_sector),
          CASE(bin_rejections_name_offset_and_reason), CASE(bin_labels_and_flags),
          CASE(entry_limits_94_with_md5_95_without),
          CASE(label_of_16_bytes_has_no_nul_and_longer_is_refused),
          CASE(lookups_used_by_other_modules), CASE(verify_runs_gen_esp32part_rules_on_a_binary))
