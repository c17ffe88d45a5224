/* The nvs_partition_gen CSV generator: reference vectors byte for byte,
 * what it writes read back through the NVS reader (multi-page blobs
 * included), the legacy all-FULL layout, and its error reports. */
#include "check.h"

#include <stdlib.h>

#include "bytes.h"
#include "nvs_csv.h"
#include "ota32/crc.h"
#include "ota32/nvs.h"

typedef struct ram {
    uint8_t *mem;
    size_t len;
} ram;

static int ram_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    ram *r = ctx;
    if ((uint64_t)addr + len > r->len)
        return OTA32_ERR_RANGE;
    memcpy(buf, r->mem + addr, len);
    return 0;
}

static int ram_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    ram *r = ctx;
    if ((uint64_t)addr + len > r->len)
        return OTA32_ERR_RANGE;
    for (size_t i = 0; i < len; i++)
        r->mem[addr + i] &= ((const uint8_t *)buf)[i];
    return 0;
}

static int ram_erase(void *ctx, uint32_t addr)
{
    ram *r = ctx;
    if (addr % 0x1000 || (uint64_t)addr + 0x1000 > r->len)
        return OTA32_ERR_RANGE;
    memset(r->mem + addr, 0xFF, 0x1000);
    return 0;
}

static int ram_block(void *ctx, uint32_t addr)
{
    (void)ctx;
    (void)addr;
    return OTA32_ERR_UNSUPPORTED;
}

static ota32_nvs nvs;

static void gen_matches(const char *csv_name, const char *bin_name, uint32_t size)
{
    size_t clen = 0, blen = 0, olen = 0;
    char *csv = (char *)check_read_file(check_vector_path(csv_name), &clen);
    uint8_t *want = check_read_file(check_vector_path(bin_name), &blen);
    CHECK(csv && want);
    if (!csv || !want)
        return;
    uint8_t *img = NULL;
    ota32_diag d;
    CHECK_EQ(ota32_nvs_csv_generate(csv, clen, size, 2, &img, &olen, &d), 0);
    CHECK_EQ(olen, blen);
    if (img && olen == blen)
        CHECK_MEM(img, want, blen);
    free(img);
    free(csv);
    free(want);
}

TEST(reference_vectors_byte_identical)
{
    gen_matches("nvs_ota.csv", "nvs_ota.bin", 0x6000);
    gen_matches("nvs_blob.csv", "nvs_blob.bin", 0x3000);
}

static uint8_t *gen(const char *csv, uint32_t size, size_t *len)
{
    uint8_t *img = NULL;
    ota32_diag d;
    int rc = ota32_nvs_csv_generate(csv, strlen(csv), size, 2, &img, len, &d);
    CHECK_EQ(rc, 0);
    if (rc)
        printf("  diag: line %d: %s\n", d.line, d.msg);
    return img;
}

TEST(multi_page_blob_reads_back)
{
    /* 6000 bytes: the generator splits it over two pages. */
    size_t hexlen = 6000 * 2;
    char *csv = malloc(hexlen + 200);
    int n = sprintf(csv,
                    "key,type,encoding,value\nns,namespace,,\nsmall,data,i8,-5\nbig,data,hex2bin,");
    for (size_t i = 0; i < 6000; i++)
        n += sprintf(csv + n, "%02x", (unsigned)(i * 13 & 0xFF));
    sprintf(csv + n, "\nafter,data,string,tail\n");
    size_t len = 0;
    uint8_t *img = gen(csv, 0x5000, &len);
    free(csv);
    if (!img)
        return;
    CHECK_EQ(len, 0x5000);
    /* page 0 FULL, page 1 ACTIVE, seq 0 and 1, pages 2-4 blank */
    CHECK_EQ(ota32_le32(img), 0xFFFFFFFCu);
    CHECK_EQ(ota32_le32(img + 0x1000), 0xFFFFFFFEu);
    CHECK_EQ(ota32_le32(img + 0x1004), 1);
    ram r = {img, len};
    ota32_flash_ops f = {&r, (uint32_t)len, ram_read, ram_program, ram_erase, ram_block};
    CHECK_EQ(ota32_nvs_open(&nvs, &f, 0, (uint32_t)len, NULL), 0);
    uint8_t back[6000];
    size_t got = 0;
    CHECK_EQ(ota32_nvs_get_blob(&nvs, "ns", "big", back, sizeof back, &got), 0);
    CHECK_EQ(got, 6000);
    int bad = 0;
    for (size_t i = 0; i < 6000; i++)
        bad += back[i] != (uint8_t)(i * 13);
    CHECK_EQ(bad, 0);
    uint64_t v = 0;
    CHECK_EQ(ota32_nvs_get_int(&nvs, "ns", "small", OTA32_NVS_I8, &v), 0);
    CHECK_EQ((int64_t)v, -5);
    char s[8];
    CHECK_EQ(ota32_nvs_get_str(&nvs, "ns", "after", s, sizeof s, &got), 0);
    CHECK_STR(s, "tail");
    /* And the device can update it in place. */
    CHECK_EQ(ota32_nvs_set_blob(&nvs, "ns", "big", "xyz", 3), 0);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, 0, (uint32_t)len, NULL), 0);
    CHECK_EQ(ota32_nvs_get_blob(&nvs, "ns", "big", back, sizeof back, &got), 0);
    CHECK_EQ(got, 3);
    CHECK_MEM(back, "xyz", 3);
    free(img);
}

TEST(legacy_generator_layout_loads_and_updates)
{
    /* IDF <= 5.2's in-tree generator: the same entries, but every page but
     * the last has a header and is FULL (seq 0..n-2). */
    size_t len = 0;
    uint8_t *img =
        gen("key,type,encoding,value\nota,namespace,,\nboot_count,data,u32,7\n", 0x6000, &len);
    if (!img)
        return;
    for (unsigned p = 0; p < 5; p++) {
        uint8_t *h = img + p * 0x1000;
        ota32_put_le32(h, 0xFFFFFFFCu);
        ota32_put_le32(h + 4, p);
        h[8] = 0xFE;
        ota32_put_le32(h + 28, ota32_crc32_esp(h + 4, 24));
    }
    ram r = {img, len};
    ota32_flash_ops f = {&r, (uint32_t)len, ram_read, ram_program, ram_erase, ram_block};
    CHECK_EQ(ota32_nvs_open(&nvs, &f, 0, (uint32_t)len, NULL), 0);
    uint64_t v = 0;
    CHECK_EQ(ota32_nvs_get_int(&nvs, "ota", "boot_count", OTA32_NVS_U32, &v), 0);
    CHECK_EQ(v, 7);
    /* Only one free page: the first write reclaims an empty FULL page. */
    for (unsigned i = 0; i < 300; i++)
        CHECK_EQ(ota32_nvs_set_int(&nvs, "ota", "boot_count", OTA32_NVS_U32, 8 + i), 0);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, 0, (uint32_t)len, NULL), 0);
    CHECK_EQ(ota32_nvs_get_int(&nvs, "ota", "boot_count", OTA32_NVS_U32, &v), 0);
    CHECK_EQ(v, 307);
    free(img);
}

static void gen_fails(const char *csv, uint32_t size, int want_rc, int want_line,
                      const char *want_msg)
{
    uint8_t *img = NULL;
    size_t len = 0;
    ota32_diag d;
    CHECK_EQ(ota32_nvs_csv_generate(csv, strlen(csv), size, 2, &img, &len, &d), want_rc);
    CHECK(img == NULL);
    CHECK_EQ(d.line, want_line);
    CHECK_CONTAINS(d.msg, want_msg);
}

TEST(base64_is_as_lenient_as_binascii)
{
    /* Other characters are skipped; decoding stops at completed padding. */
    size_t len = 0;
    uint8_t *img = gen("key,type,encoding,value\nns,namespace,,\nk,data,base64,Q U*JDRA==QUJD\n",
                       0x3000, &len);
    if (!img)
        return;
    ram r = {img, len};
    ota32_flash_ops f = {&r, (uint32_t)len, ram_read, ram_program, ram_erase, ram_block};
    CHECK_EQ(ota32_nvs_open(&nvs, &f, 0, (uint32_t)len, NULL), 0);
    uint8_t b[8];
    size_t n = 0;
    CHECK_EQ(ota32_nvs_get_blob(&nvs, "ns", "k", b, sizeof b, &n), 0);
    CHECK_EQ(n, 4);
    CHECK_MEM(b, "ABCD", 4);
    free(img);
}

TEST(errors_name_the_line)
{
    gen_fails("key,type,encoding,value\nns,namespace,,\n# c\nk,data,u16,65536\n", 0x3000,
              OTA32_ERR_CORRUPT, 4, "k: value 65536 out of range for u16");
    gen_fails("key,type,encoding,value\nns,namespace,,\nk,data,u8,0x10\n", 0x3000,
              OTA32_ERR_CORRUPT, 3, "invalid literal for int(): '0x10'");
    gen_fails("key,type,encoding,value\nns,namespace,,\nk,data,float,1\n", 0x3000,
              OTA32_ERR_CORRUPT, 3, "float: Unsupported encoding");
    gen_fails("key,type,encoding,value\nns,namespace,,\nk,data,base64,QUJD===Q\n", 0x3000,
              OTA32_ERR_CORRUPT, 3, "number of data characters (5) cannot be 1 more");
    gen_fails("key,type,encoding,value\nns,namespace,,\nk,data,base64,QUJDRA=QUJD\n", 0x3000,
              OTA32_ERR_CORRUPT, 3, "Incorrect padding");
    gen_fails("key,type,value\nns,namespace,\n", 0x3000, OTA32_ERR_CORRUPT, 1,
              "the header row lacks the column 'encoding'");
    gen_fails("key,type,encoding,value\nns,namespace,,\nk,data,string,\"open\n", 0x3000,
              OTA32_ERR_CORRUPT, 3, "unexpected end of data in a quoted field");
    gen_fails("key,type,encoding,value\n", 0x1800, OTA32_ERR_INVALID_ARG, 0,
              "Size of partition must be multiple of 4096");
    gen_fails("key,type,encoding,value\nns,namespace,,\nf,file,string,/nonexistent/x\n", 0x3000,
              OTA32_ERR_NOT_FOUND, 3, "/nonexistent/x");
}

RUN_TESTS(CASE(reference_vectors_byte_identical), CASE(multi_page_blob_reads_back),
          CASE(legacy_generator_layout_loads_and_updates), CASE(base64_is_as_lenient_as_binascii),
          CASE(errors_name_the_line))
