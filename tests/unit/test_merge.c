/* ota32_merge: esptool merge-bin's output byte for byte, overlap and offset
 * rules, and the bootloader header update. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "bytes.h"
#include "elf2image.h"
#include "merge.h"
#include "image_build.h"
#include "posix_hash.h"

typedef struct sink {
    uint8_t *p;
    size_t len, cap;
    int fail_after; /* fail the write call number N (1-based); 0: never */
    int calls;
} sink;

static int sink_write(void *ctx, const void *data, size_t len)
{
    sink *s = ctx;
    if (s->fail_after && ++s->calls == s->fail_after)
        return OTA32_ERR_NO_SPACE;
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + len)
            cap *= 2;
        uint8_t *p = realloc(s->p, cap);
        if (!p)
            return OTA32_ERR_NO_MEM;
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, len);
    s->len += len;
    return OTA32_OK;
}

typedef struct input {
    uint32_t addr;
    const char *rel;
} input;

/* The vector's inputs (vectors/README.md). */
static const input vector_inputs[] = {
    {0x1000, "esp-images/bootloader-esp32.bin"},
    {0x8000, "vectors/partitions_two_ota_8mb.bin"},
    {0x9000, "vectors/nvs_ota.bin"},
    {0xF000, "vectors/otadata_blank.bin"},
    {0x20000, "esp-images/app-template-esp32.bin"},
};

static size_t load(const input *in, size_t n, ota32_merge_entry *e, unsigned char **bufs)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        /* vectors/ are in the repository, esp-images/ are esptool's */
        const char *path = strncmp(in[i].rel, "vectors/", 8) == 0 ? check_vector_path(in[i].rel + 8)
                                                                  : check_interop_path(in[i].rel);
        bufs[i] = check_read_file(path, &len);
        CHECK(bufs[i] != NULL);
        e[i] = (ota32_merge_entry){in[i].addr, bufs[i], len, in[i].rel};
        ok += bufs[i] != NULL;
    }
    return ok;
}

static ota32_merge_opts vector_opts(sink *s)
{
    ota32_merge_opts o;
    ota32_merge_opts_init(&o);
    o.hash = ota32_posix_hash();
    o.flash_mode = ota32_esp32_flash_mode_code("dio");
    o.flash_freq = ota32_esp32_flash_freq_code("40m");
    o.flash_size = ota32_esp32_flash_size_code("4MB");
    o.write = sink_write;
    o.write_ctx = s;
    return o;
}

static void sha256_hex(const uint8_t *d, size_t len, char out[65])
{
    uint8_t sha[32];
    ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, d, len, sha);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", sha[i]);
}

TEST(merged_vector_identical)
{
    ota32_merge_entry e[5];
    unsigned char *bufs[5];
    if (load(vector_inputs, 5, e, bufs) == 5) {
        size_t ref_len = 0;
        unsigned char *ref = check_read_file(check_interop_path("vectors/merged.bin"), &ref_len);
        /* Given in a shuffled order: merge sorts by address. */
        ota32_merge_entry shuffled[5] = {e[4], e[2], e[0], e[3], e[1]};
        sink s = {0};
        ota32_merge_opts o = vector_opts(&s);
        ota32_diag diag;
        long long n = ota32_merge(shuffled, 5, &o, &diag);
        CHECK_EQ(n, 732880);
        CHECK_EQ(s.len, 732880);
        CHECK(ref != NULL);
        if (ref && s.len == ref_len)
            CHECK_MEM(s.p, ref, ref_len);
        /* The bootloader was built with dio/40m/4MB: the bytes, SHA-256
         * included, are what was given. */
        CHECK_MEM(s.p + 0x1000, bufs[0], e[0].len);
        free(s.p);
        free(ref);
    }
    for (int i = 0; i < 5; i++)
        free(bufs[i]);
}

TEST(pad_to_8mb)
{
    ota32_merge_entry e[5];
    unsigned char *bufs[5];
    if (load(vector_inputs, 5, e, bufs) == 5) {
        size_t ref_len = 0;
        unsigned char *ref = check_read_file(check_interop_path("vectors/merged.bin"), &ref_len);
        sink s = {0};
        ota32_merge_opts o = vector_opts(&s);
        o.pad_to_size = 8u << 20;
        CHECK_EQ(ota32_merge(e, 5, &o, NULL), 8 << 20);
        CHECK_EQ(s.len, 8u << 20);
        if (ref && s.len == 8u << 20) {
            CHECK_MEM(s.p, ref, ref_len);
            size_t ff = 0;
            for (size_t i = ref_len; i < s.len; i++)
                ff += s.p[i] == 0xFF;
            CHECK_EQ(ff, s.len - ref_len);
        }
        free(s.p);

        /* The README's 8 MiB digest (533469ab...35ba) is that of the same
         * command without the NVS input at 0x9000; merged.bin padded to 8 MiB
         * is 7d3acf3f...4b1d. Both are checked. */
        char hex[65];
        s = (sink){0};
        o.write_ctx = &s;
        CHECK_EQ(ota32_merge(e, 5, &o, NULL), 8 << 20);
        sha256_hex(s.p, s.len, hex);
        CHECK_STR(hex, "7d3acf3f51416e0892b74b28bce12b9312da2aa8162bcf0f4325cbc4fbcd4b1d");
        free(s.p);
        ota32_merge_entry no_nvs[4] = {e[0], e[1], e[3], e[4]};
        s = (sink){0};
        o.write_ctx = &s;
        CHECK_EQ(ota32_merge(no_nvs, 4, &o, NULL), 8 << 20);
        sha256_hex(s.p, s.len, hex);
        CHECK_STR(hex, "533469abf7108cd2437ce607c85217d4932c0da50381d648b45a6c5019d835ba");
        free(s.p);
        free(ref);
    }
    for (int i = 0; i < 5; i++)
        free(bufs[i]);
}

TEST(overlap_rejected_with_esptool_message)
{
    static const uint8_t a[0x1800], b[16];
    ota32_merge_entry e[] = {{0x9000, b, sizeof b, "b.bin"}, {0x8000, a, sizeof a, "a.bin"}};
    sink s = {0};
    ota32_merge_opts o;
    ota32_merge_opts_init(&o);
    o.write = sink_write;
    o.write_ctx = &s;
    ota32_diag diag;
    /* a.bin covers 0x8000-0x97ff, so sectors 0x8000 and 0x9000. */
    CHECK_EQ(ota32_merge(e, 2, &o, &diag), OTA32_ERR_RANGE);
    CHECK_STR(diag.msg, "Detected overlap at address: 0x9000 for file: b.bin.");
    CHECK_EQ(s.len, 0); /* nothing written */
    /* Sector granularity: 0x9fff still overlaps, 0xa000 does not. */
    e[0].addr = 0x9FFF;
    CHECK_EQ(ota32_merge(e, 2, &o, &diag), OTA32_ERR_RANGE);
    CHECK_CONTAINS(diag.msg, "0x9fff for file: b.bin");
    e[0].addr = 0xA000;
    CHECK_EQ(ota32_merge(e, 2, &o, &diag), 0xA000 + 16);
    free(s.p);
}

TEST(unaligned_address_accepted)
{
    static const uint8_t a[4] = {1, 2, 3, 4}, b[3] = {5, 6, 7};
    ota32_merge_entry e[] = {{0x8001, b, sizeof b, "b"}, {0x10, a, sizeof a, "a"}};
    sink s = {0};
    ota32_merge_opts o;
    ota32_merge_opts_init(&o);
    o.write = sink_write;
    o.write_ctx = &s;
    CHECK_EQ(ota32_merge(e, 2, &o, NULL), 0x8004);
    CHECK_EQ(s.len, 0x8004);
    if (s.len == 0x8004) {
        CHECK_EQ(s.p[0], 0xFF);
        CHECK_MEM(s.p + 0x10, a, 4);
        CHECK_EQ(s.p[0x14], 0xFF);
        CHECK_EQ(s.p[0x8000], 0xFF);
        CHECK_MEM(s.p + 0x8001, b, 3);
    }
    free(s.p);
}

TEST(target_offset)
{
    static const uint8_t a[4] = {1, 2, 3, 4};
    ota32_merge_entry e[] = {{0x21000, a, sizeof a, "a"}};
    sink s = {0};
    ota32_merge_opts o;
    ota32_merge_opts_init(&o);
    o.write = sink_write;
    o.write_ctx = &s;
    o.target_offset = 0x20000;
    o.pad_to_size = 0x30000;
    CHECK_EQ(ota32_merge(e, 1, &o, NULL), 0x10000);
    if (s.len == 0x10000) {
        CHECK_MEM(s.p + 0x1000, a, 4);
        CHECK_EQ(s.p[0xFFF], 0xFF);
        CHECK_EQ(s.p[0xFFFF], 0xFF);
    }
    ota32_diag diag;
    o.target_offset = 0x22000;
    CHECK_EQ(ota32_merge(e, 1, &o, &diag), OTA32_ERR_RANGE);
    CHECK_STR(diag.msg, "Output data target offset is 0x22000. Input data offset 0x21000 is "
                        "before this.");
    CHECK_EQ(ota32_merge(e, 0, &o, &diag), OTA32_ERR_INVALID_ARG);
    free(s.p);
}

/* What merge patches at 0x1000 is the common image header and the appended
 * SHA-256: an image made by ota32_image_build (DIO, 40m, 4MB, SHA-256
 * appended) stands in for a bootloader. Returns it malloc'd, or NULL. */
static unsigned char *boot_image(size_t *len)
{
    unsigned char *img = malloc(OTA32_IMAGE_BUILD_MIN_LEN);
    ota32_image_build_opts b = {.version = "bl",
                                .project_name = "ota32-test",
                                .size = OTA32_IMAGE_BUILD_MIN_LEN,
                                .chip_id = OTA32_CHIP_ESP32,
                                .hash = ota32_posix_hash()};
    ota32_diag diag;
    ota32_diag_clear(&diag);
    if (img && ota32_image_build(&b, img, OTA32_IMAGE_BUILD_MIN_LEN, &diag) != OTA32_OK) {
        check_fail(__FILE__, __LINE__, "ota32_image_build: %s", diag.msg);
        free(img);
        img = NULL;
    }
    *len = OTA32_IMAGE_BUILD_MIN_LEN;
    return img;
}

/* The bootloader at 0x1000 with other flash parameters: bytes 2-3 change,
 * the SHA-256 is recomputed, nothing else moves. */
TEST(bootloader_header_updated)
{
    size_t len = 0;
    unsigned char *bl = boot_image(&len);
    CHECK(bl != NULL);
    if (!bl)
        return;
    CHECK_EQ(bl[23], 1); /* hash appended */
    sink s = {0};
    ota32_merge_opts o;
    ota32_merge_opts_init(&o);
    o.hash = ota32_posix_hash();
    o.write = sink_write;
    o.write_ctx = &s;
    o.flash_size = ota32_esp32_flash_size_code("8MB");
    o.flash_freq = ota32_esp32_flash_freq_code("80m");
    ota32_merge_entry e[] = {{0x1000, bl, len, "bl"}, {0x20000, bl, len, "copy"}};
    CHECK_EQ(ota32_merge(e, 2, &o, NULL), 0x20000 + (long long)len);
    if (s.len == 0x20000 + len) {
        uint8_t *p = s.p + 0x1000;
        CHECK_EQ(p[2], 2);    /* mode kept (dio) */
        CHECK_EQ(p[3], 0x3F); /* 8MB, 80m */
        CHECK_MEM(p + 4, bl + 4, len - 4 - 32);
        uint8_t sha[32];
        ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, p, len - 32, sha);
        CHECK_MEM(p + len - 32, sha, 32);
        CHECK(memcmp(p + len - 32, bl + len - 32, 32) != 0);
        /* Only the bootloader offset is touched. */
        CHECK_MEM(s.p + 0x20000, bl, len);
    }
    free(s.p);

    /* All "keep": verbatim. */
    s = (sink){0};
    ota32_merge_opts_init(&o);
    o.write = sink_write;
    o.write_ctx = &s;
    CHECK_EQ(ota32_merge(e, 1, &o, NULL), 0x1000 + (long long)len);
    if (s.len == 0x1000 + len)
        CHECK_MEM(s.p + 0x1000, bl, len);
    free(s.p);
    free(bl);
}

TEST(non_image_at_bootloader_offset_untouched)
{
    size_t len = 0;
    unsigned char *bl = boot_image(&len);
    CHECK(bl != NULL);
    if (!bl)
        return;
    ota32_merge_opts o;
    ota32_merge_opts_init(&o);
    o.hash = ota32_posix_hash();
    o.flash_mode = 0;
    /* Truncated inside a segment: not an image for esptool's loader. */
    uint8_t *c = malloc(len + 32);
    memcpy(c, bl, len);
    size_t n = 0x100;
    int patched = -1;
    CHECK_EQ(ota32_merge_patch_bootloader(c, &n, len + 32, &o, &patched), 0);
    CHECK_EQ(patched, 0);
    CHECK_EQ(n, 0x100);
    CHECK_MEM(c, bl, 0x100);
    /* hash_appended = 2 is rejected by the loader. */
    c[23] = 2;
    n = len;
    CHECK_EQ(ota32_merge_patch_bootloader(c, &n, len + 32, &o, &patched), 0);
    CHECK_EQ(patched, 0);
    CHECK_EQ(c[2], bl[2]);
    /* Cut inside the SHA-256: the digest is written whole, the file grows. */
    memcpy(c, bl, len);
    n = len - 10;
    CHECK_EQ(ota32_merge_patch_bootloader(c, &n, len + 32, &o, &patched), 0);
    CHECK_EQ(patched, 1);
    CHECK_EQ(n, len);
    CHECK_EQ(c[2], 0);
    uint8_t sha[32];
    ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, c, len - 32, sha);
    CHECK_MEM(c + len - 32, sha, 32);
    free(c);
    free(bl);
}

TEST(write_error_propagates)
{
    static const uint8_t a[16];
    ota32_merge_entry e[] = {{0x10000, a, sizeof a, "a"}};
    sink s = {.fail_after = 3};
    ota32_merge_opts o;
    ota32_merge_opts_init(&o);
    o.write = sink_write;
    o.write_ctx = &s;
    ota32_diag diag;
    CHECK_EQ(ota32_merge(e, 1, &o, &diag), OTA32_ERR_NO_SPACE);
    CHECK_CONTAINS(diag.msg, "writing the merged image");
    free(s.p);
}

TEST(bootloader_update_needs_hash)
{
    static const uint8_t a[16] = {0xE9};
    ota32_merge_entry e[] = {{0x1000, a, sizeof a, "bl"}};
    sink s = {0};
    ota32_merge_opts o;
    ota32_merge_opts_init(&o);
    o.write = sink_write;
    o.write_ctx = &s;
    o.flash_mode = 2;
    ota32_diag diag;
    CHECK_EQ(ota32_merge(e, 1, &o, &diag), OTA32_ERR_INVALID_ARG);
    CHECK_CONTAINS(diag.msg, "hash implementation");
    CHECK_EQ(s.len, 0);
    /* Elsewhere than 0x1000 nothing is patched, so no hash is needed. */
    e[0].addr = 0x2000;
    CHECK_EQ(ota32_merge(e, 1, &o, &diag), 0x2000 + 16);
    free(s.p);
}

RUN_TESTS(INTEROP_CASE(merged_vector_identical), INTEROP_CASE(pad_to_8mb),
          CASE(overlap_rejected_with_esptool_message), CASE(unaligned_address_accepted),
          CASE(target_offset), CASE(bootloader_header_updated),
          CASE(non_image_at_bootloader_offset_untouched), CASE(write_error_propagates),
          CASE(bootloader_update_needs_hash))
