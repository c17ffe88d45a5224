/* The streaming image parser on ESP-IDF/esptool reference images, on every
 * chunking (one piece, byte by byte, random sizes), on each rejection rule of
 * docs/formats.md §2, and on images from ota32_image_build(), whose checksum
 * and SHA-256 are recomputed here independently of the parser. */
#include "check.h"

#include <stdlib.h>

#include "bytes.h"
#include "ota32/image.h"
#include "image_build.h"
#include "image_memmap.h"
#include "posix_hash.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct result {
    int rc;          /* first error from feed, else from finish */
    size_t consumed; /* total image bytes consumed */
    ota32_image_stage stage;
    ota32_image_info info;
    char msg[OTA32_DIAG_MSG_MAX];
    long offset;
} result;

static ota32_image_opts app_opts(void)
{
    ota32_image_opts o = {
        .chip_id = OTA32_CHIP_ESP32, .require_app_desc = true, .hash = ota32_posix_hash()};
    return o;
}

static ota32_image_opts any_opts(void)
{
    ota32_image_opts o = {.chip_id = OTA32_CHIP_ANY, .hash = ota32_posix_hash()};
    return o;
}

static uint64_t rng_state = 0x1234567;

static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

/* Feed `data` in chunks: chunk 0 = whole, 1 = byte by byte, else random sizes
 * up to `chunk` bytes. Stops at the first error, like a caller would. */
static result run(const uint8_t *data, size_t len, const ota32_image_opts *opts, size_t chunk)
{
    result r;
    memset(&r, 0, sizeof r);
    ota32_image_parser p;
    ota32_diag d;
    ota32_diag_clear(&d);
    ota32_image_parser_init(&p, opts);
    size_t off = 0;
    int rc = OTA32_OK;
    while (off < len && rc == OTA32_OK) {
        size_t n = len - off;
        if (chunk == 1)
            n = 1;
        else if (chunk > 1 && n > 1)
            n = 1 + rnd() % (n < chunk ? n : chunk);
        size_t used = 0;
        rc = ota32_image_parser_feed(&p, data + off, n, &used, &d);
        CHECK(used <= n);
        r.consumed += used;
        off += n;
    }
    if (rc == OTA32_OK)
        rc = ota32_image_parser_finish(&p, &d);
    else
        ota32_image_parser_abort(&p);
    r.rc = rc;
    r.stage = ota32_image_parser_stage(&p);
    r.info = p.info;
    snprintf(r.msg, sizeof r.msg, "%s", rc ? d.msg : "");
    r.offset = rc ? d.offset : -1;
    return r;
}

static void check_same(const result *a, const result *b)
{
    CHECK_EQ(a->rc, b->rc);
    CHECK_EQ(a->consumed, b->consumed);
    CHECK_EQ(a->stage, b->stage);
    CHECK_STR(a->msg, b->msg);
    CHECK_EQ(a->offset, b->offset);
    CHECK(memcmp(&a->info, &b->info, sizeof a->info) == 0);
}

/* Whole == byte by byte == several random chunkings. */
static result run_all_chunkings(const uint8_t *data, size_t len, const ota32_image_opts *opts)
{
    result whole = run(data, len, opts, 0);
    result bytes = run(data, len, opts, 1);
    check_same(&whole, &bytes);
    static const size_t sizes[] = {2, 7, 64, 1500, 16384};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        result r = run(data, len, opts, sizes[i]);
        check_same(&whole, &r);
    }
    return whole;
}

static uint8_t *load_interop(const char *name, size_t *len)
{
    uint8_t *d = check_read_file(check_interop_path(name), len);
    CHECK(d != NULL);
    return d;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Independent of the parser: walk the segments, recompute the checksum (seed
 * 0xEF, XOR of segment data) and the SHA-256 of everything through the
 * checksum byte. Returns the checksum byte's offset, or 0 on a bad walk. */
static size_t recompute(const uint8_t *img, size_t len, uint8_t *sum, uint8_t sha[32])
{
    size_t off = 24;
    uint8_t x = 0xEF;
    for (unsigned s = 0; s < img[1]; s++) {
        if (off + 8 > len)
            return 0;
        uint32_t n = ota32_le32(img + off + 4);
        off += 8;
        if (off + n > len)
            return 0;
        for (uint32_t i = 0; i < n; i++)
            x ^= img[off + i];
        off += n;
    }
    size_t at = off | 15;
    if (at >= len)
        return 0;
    *sum = x;
    CHECK_EQ(ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, img, at + 1, sha), 0);
    return at;
}

/* Make the checksum and hash of a (mutated) image consistent again. */
static void reseal(uint8_t *img, size_t len)
{
    uint8_t sum, sha[32];
    size_t at = recompute(img, len, &sum, sha);
    CHECK(at != 0);
    if (!at)
        return;
    img[at] = sum; /* the hash covers the checksum byte: compute it again */
    CHECK_EQ(recompute(img, len, &sum, sha), at);
    if (img[23] == 1 && at + 33 <= len)
        memcpy(img + at + 1, sha, 32);
}

static uint8_t *make(uint32_t size, const char *version, uint32_t secure_version)
{
    uint8_t *buf = malloc(size);
    ota32_image_build_opts o = {.version = version,
                                .project_name = "ota32-test",
                                .secure_version = secure_version,
                                .size = size,
                                .flash_size = size > 0x400000 ? 0x800000 : 0,
                                .chip_id = OTA32_CHIP_ESP32,
                                .hash = ota32_posix_hash()};
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = ota32_image_build(&o, buf, size, &d);
    CHECK_EQ(rc, 0);
    if (rc)
        printf("  build: %s\n", d.msg);
    return buf;
}

/* ---- reference images --------------------------------------------------- */

TEST(app_template_parses_in_every_chunking)
{
    size_t len;
    uint8_t *img = load_interop("esp-images/app-template-esp32.bin", &len);
    if (!img)
        return;
    ota32_image_opts o = app_opts();
    o.max_len = 0x100000;
    result r = run_all_chunkings(img, len, &o);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.stage, OTA32_IMAGE_STAGE_DONE);
    CHECK_EQ(r.consumed, 601808);
    const ota32_image_info *in = &r.info;
    CHECK_EQ(in->image_len, 601808);
    CHECK_EQ(in->segment_count, 5);
    CHECK_EQ(in->entry_addr, 0x4008167c);
    CHECK_EQ(in->spi_mode, 2);
    CHECK_EQ(in->spi_size, 2);
    CHECK_EQ(in->max_chip_rev_full, 399);
    CHECK_EQ(in->segments[3].load_addr, 0x400d0018);
    CHECK_EQ(in->segments[3].data_len, 0x67a90);
    CHECK_EQ(in->segments[3].file_offset, 0x20010);
    CHECK_EQ(in->checksum_stored, 0x20);
    CHECK(in->checksum_ok);
    CHECK(in->sha256_checked && in->sha256_ok);
    char h[65];
    hex(in->sha256_calc, 32, h);
    CHECK_STR(h, "276e1fd479e03c269d068ccc0cc8a581a5ff669c8cba53d08edc404ea9f20e89");
    CHECK(in->has_app_desc);
    CHECK_STR(in->app_desc.version, "1cd5752");
    CHECK_STR(in->app_desc.project_name, "app-template");
    CHECK_STR(in->app_desc.date, "Mar 18 2019");
    CHECK_STR(in->app_desc.time, "10:47:33");
    CHECK_STR(in->app_desc.idf_ver, "v4.0-dev-30-g31ca6e399");
    hex(in->app_desc.app_elf_sha256, 32, h);
    CHECK_STR(h, "138cb4392e3b79803b69e554ee515713d3ace655f5dab3f9fc08b1cfbfd6d727");
    CHECK_EQ(in->app_desc.secure_version, 0);
    CHECK(!in->sig_present);
    free(img);
}

TEST(bootloader_parses_without_app_desc)
{
    size_t len;
    uint8_t *img = load_interop("esp-images/bootloader-esp32.bin", &len);
    if (!img)
        return;
    ota32_image_opts o = app_opts();
    o.require_app_desc = false;
    result r = run_all_chunkings(img, len, &o);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.consumed, 4240);
    CHECK_EQ(r.info.segment_count, 3);
    CHECK_EQ(r.info.checksum_stored, 0x11);
    CHECK(r.info.sha256_ok);
    CHECK(!r.info.has_app_desc);
    CHECK(!r.info.has_bootloader_desc); /* this old bootloader carries none */
    CHECK_EQ(r.info.max_chip_rev_full, 65535);

    /* As an app it is rejected at its first segment's data: no descriptor
     * (segment 0 is 0x398 bytes of DRAM, so the magic check decides). */
    o.require_app_desc = true;
    r = run_all_chunkings(img, len, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
    CHECK_EQ(r.offset, 0x20);
    CHECK_EQ(r.consumed, 0x24);
    CHECK_CONTAINS(r.msg, "offset 0x20: app descriptor magic_word:");
    free(img);
}

TEST(s2_image_parses_for_any_chip_and_is_rejected_for_esp32)
{
    size_t len;
    uint8_t *img = load_interop("esp-images/blink-esp32s2.bin", &len);
    if (!img)
        return;
    ota32_image_opts o = any_opts();
    o.require_app_desc = true;
    result r = run_all_chunkings(img, len, &o);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.info.chip_id, OTA32_CHIP_ESP32S2);
    CHECK_EQ(r.info.segment_count, 6);
    CHECK_STR(r.info.app_desc.version, "qa-test-v5.0-20220830-4-g4532e6");

    o.chip_id = OTA32_CHIP_ESP32;
    r = run_all_chunkings(img, len, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CHIP);
    CHECK_EQ(r.consumed, 24); /* decided by the byte that completes the header */
    CHECK_EQ(r.offset, 0xc);
    CHECK_STR(r.msg, "offset 0xc: chip_id: image is for ESP32-S2 (chip id 2), expected ESP32 "
                     "(chip id 0)");
    CHECK_EQ(r.stage, OTA32_IMAGE_STAGE_FAILED);

    /* Byte by byte, the first 23 bytes are accepted. */
    ota32_image_parser p;
    ota32_image_parser_init(&p, &o);
    ota32_diag d;
    size_t used;
    for (int i = 0; i < 23; i++)
        CHECK_EQ(ota32_image_parser_feed(&p, img + i, 1, &used, &d), 0);
    CHECK_EQ(ota32_image_parser_stage(&p), OTA32_IMAGE_STAGE_HEADER);
    CHECK_EQ(ota32_image_parser_feed(&p, img + 23, 1, &used, &d), OTA32_ERR_CHIP);
    /* A failed parser repeats its error. */
    CHECK_EQ(ota32_image_parser_feed(&p, img + 24, 1, &used, &d), OTA32_ERR_CHIP);
    CHECK_EQ(used, 0);
    CHECK_EQ(ota32_image_parser_finish(&p, &d), OTA32_ERR_CHIP);
    CHECK_EQ(d.offset, 0xc);
    free(img);
}

/* ---- rejection rules ---------------------------------------------------- */

TEST(wrong_chip_rejected_when_the_header_completes)
{
    /* A made image with the ESP32-S2's chip id. */
    uint8_t *img = make(OTA32_IMAGE_BUILD_MIN_LEN, "1.0", 0);
    if (!img)
        return;
    ota32_put_le16(img + 12, OTA32_CHIP_ESP32S2);
    ota32_image_opts o = app_opts();
    result r = run_all_chunkings(img, OTA32_IMAGE_BUILD_MIN_LEN, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CHIP);
    CHECK_EQ(r.consumed, 24); /* decided by the byte that completes the header */
    CHECK_EQ(r.offset, 0xc);
    CHECK_STR(r.msg, "offset 0xc: chip_id: image is for ESP32-S2 (chip id 2), expected ESP32 "
                     "(chip id 0)");
    free(img);
}

#define SMALL OTA32_IMAGE_BUILD_MIN_LEN

/* Parse a mutated copy of a fresh MIN-size image in every chunking. */
static result mutated(void (*mutate)(uint8_t *img, size_t len), const ota32_image_opts *o)
{
    uint8_t *img = make(SMALL, "1.0", 0);
    mutate(img, SMALL);
    result r = run_all_chunkings(img, SMALL, o);
    free(img);
    return r;
}

static void m_magic(uint8_t *img, size_t len)
{
    (void)len;
    img[0] = 0xE8;
}
static void m_segcount(uint8_t *img, size_t len)
{
    (void)len;
    img[1] = 17;
}
static void m_hash_appended(uint8_t *img, size_t len)
{
    (void)len;
    img[23] = 2;
}
static void m_min_rev(uint8_t *img, size_t len)
{
    (void)len;
    ota32_put_le16(img + 15, 301);
}
static void m_nothing(uint8_t *img, size_t len)
{
    (void)img;
    (void)len;
}

/* Segment 1 (DRAM) header is at 0x18 + 8 + drom_len. */
static size_t seg_hdr(const uint8_t *img, unsigned index)
{
    size_t off = 24;
    for (unsigned i = 0; i < index; i++)
        off += 8 + ota32_le32(img + off + 4);
    return off;
}

static void m_len_unaligned(uint8_t *img, size_t len)
{
    (void)len;
    size_t h = seg_hdr(img, 1);
    ota32_put_le32(img + h + 4, ota32_le32(img + h + 4) + 2);
}

static void m_len_16mb(uint8_t *img, size_t len)
{
    (void)len;
    ota32_put_le32(img + seg_hdr(img, 2) + 4, 0x1000000);
}

static void m_mmu(uint8_t *img, size_t len)
{
    size_t h = seg_hdr(img, 3); /* IROM, data at 0x10018 */
    ota32_put_le32(img + h, 0x400D0020);
    reseal(img, len); /* only the MMU rule is broken */
}

static void m_desc_magic(uint8_t *img, size_t len)
{
    img[0x21] ^= 0x01;
    reseal(img, len);
}

static void m_data_byte(uint8_t *img, size_t len)
{
    (void)len;
    img[0x5000] ^= 0x40; /* DROM payload: checksum and hash both break */
}

static void m_header_byte(uint8_t *img, size_t len)
{
    (void)len;
    img[2] = 3; /* DOUT: not in the checksum, only in the hash */
}

TEST(rejects_bad_magic_after_one_byte)
{
    ota32_image_opts o = app_opts();
    result r = mutated(m_magic, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
    CHECK_EQ(r.consumed, 1);
    CHECK_EQ(r.offset, 0);
    CHECK_STR(r.msg, "offset 0x0: magic: 0xe8, expected 0xe9 (not an app image)");
}

TEST(rejects_segment_count_over_16)
{
    ota32_image_opts o = app_opts();
    result r = mutated(m_segcount, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
    CHECK_EQ(r.consumed, 24);
    CHECK_STR(r.msg, "offset 0x1: segment_count: 17 exceeds the maximum of 16");
}

TEST(rejects_hash_appended_not_0_or_1)
{
    ota32_image_opts o = app_opts();
    result r = mutated(m_hash_appended, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
    CHECK_EQ(r.consumed, 24);
    CHECK_STR(r.msg, "offset 0x17: hash_appended: 0x02 is neither 0 nor 1");
}

TEST(rejects_chip_revision_out_of_range)
{
    ota32_image_opts o = app_opts();
    o.chip_rev_full = 300; /* v3.0 */
    result r = mutated(m_min_rev, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CHIP);
    CHECK_EQ(r.consumed, 24);
    CHECK_STR(r.msg, "offset 0xf: min_chip_rev_full: image needs chip revision >= v3.1, chip "
                     "is v3.0");
    o.chip_rev_full = 400; /* above the image's v3.99 */
    r = mutated(m_nothing, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CHIP);
    CHECK_STR(r.msg, "offset 0x11: max_chip_rev_full: image needs chip revision <= v3.99, "
                     "chip is v4.0");
    o.chip_rev_full = 399;
    r = mutated(m_nothing, &o);
    CHECK_EQ(r.rc, 0);
    /* Bootloaders are not held to the maximum (as in ESP-IDF). */
    o.chip_rev_full = 400;
    o.require_app_desc = false;
    r = mutated(m_nothing, &o);
    CHECK_EQ(r.rc, 0);
}

TEST(rejects_segment_length_rules)
{
    ota32_image_opts o = app_opts();
    uint8_t *img = make(SMALL, "1.0", 0);
    size_t h1 = seg_hdr(img, 1), h2 = seg_hdr(img, 2);
    free(img);

    result r = mutated(m_len_unaligned, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
    CHECK_EQ(r.consumed, h1 + 8);
    CHECK_EQ(r.offset, (long)h1 + 4);
    CHECK_CONTAINS(r.msg, "segment 1 data_len: 0x202 is not a multiple of 4");

    r = mutated(m_len_16mb, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
    CHECK_EQ(r.consumed, h2 + 8);
    CHECK_CONTAINS(r.msg, "segment 2 data_len: 0x1000000 is not below 16 MB");
}

TEST(rejects_mmu_page_mismatch)
{
    ota32_image_opts o = app_opts();
    result r = mutated(m_mmu, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
    CHECK_EQ(r.consumed, 0x10018);
    CHECK_STR(r.msg, "offset 0x10010: segment 3 load_addr: 0x400d0020 is flash-mapped but its "
                     "data is at 0x10018 (offset 0x18 in a 64 KB page, load address needs "
                     "0x20)");
    /* The same image is fine as long as nothing is flash-mapped there:
     * unknown chips have no map. */
    o.chip_id = OTA32_CHIP_ANY;
    uint8_t *img = make(SMALL, "1.0", 0);
    m_mmu(img, SMALL);
    img[12] = 0x30; /* chip id 0x30: unknown */
    reseal(img, SMALL);
    r = run(img, SMALL, &o, 0);
    CHECK_EQ(r.rc, 0);
    free(img);
}

TEST(rejects_bad_app_desc_after_0x24_bytes)
{
    ota32_image_opts o = app_opts();
    result r = mutated(m_desc_magic, &o);
    CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
    CHECK_EQ(r.consumed, 0x24);
    CHECK_STR(r.msg, "offset 0x20: app descriptor magic_word: 0xabcd5532, expected 0xabcd5432");
    CHECK_EQ(r.stage, OTA32_IMAGE_STAGE_FAILED);
}

TEST(rejects_checksum_and_hash)
{
    ota32_image_opts o = app_opts();
    result r = mutated(m_data_byte, &o);
    CHECK_EQ(r.rc, OTA32_ERR_VERIFY);
    CHECK_EQ(r.consumed, SMALL - 32);
    CHECK_EQ(r.offset, SMALL - 33);
    char want[96];
    snprintf(want, sizeof want, "offset 0x%x: checksum: stored 0x%02x, calculated 0x%02x",
             SMALL - 33, r.info.checksum_stored, r.info.checksum_stored ^ 0x40);
    CHECK_STR(r.msg, want);

    r = mutated(m_header_byte, &o);
    CHECK_EQ(r.rc, OTA32_ERR_VERIFY);
    CHECK_EQ(r.consumed, SMALL);
    CHECK_EQ(r.offset, SMALL - 32);
    CHECK_CONTAINS(r.msg, ": SHA-256: stored ");
    CHECK_CONTAINS(r.msg, "(image is corrupt)");

    /* Lenient parsing records both instead (image info). */
    o.lenient_digests = true;
    r = mutated(m_data_byte, &o);
    CHECK_EQ(r.rc, 0);
    CHECK(!r.info.checksum_ok);
    CHECK(r.info.sha256_checked && !r.info.sha256_ok);
    CHECK(r.info.checksum_calc != r.info.checksum_stored);
}

TEST(rejects_too_long_as_soon_as_known)
{
    ota32_image_opts o = app_opts();
    uint8_t *img = make(SMALL, "1.0", 0);
    size_t h2 = seg_hdr(img, 2), h4 = seg_hdr(img, 4);
    free(img);

    o.max_len = SMALL - 16; /* only the last segment header reveals it */
    result r = mutated(m_nothing, &o);
    CHECK_EQ(r.rc, OTA32_ERR_TOO_BIG);
    CHECK_EQ(r.consumed, h4 + 8);
    char want[160];
    snprintf(want, sizeof want,
             "offset 0x%zx: segment 4 data_len: the image needs at least %u bytes, more than "
             "the %u allowed",
             h4 + 4, SMALL, SMALL - 16);
    CHECK_STR(r.msg, want);

    o.max_len = 0x10000; /* the IRAM segment ending at 0x10010 already says so */
    r = mutated(m_nothing, &o);
    CHECK_EQ(r.rc, OTA32_ERR_TOO_BIG);
    CHECK_EQ(r.consumed, h2 + 8);
    CHECK_EQ(r.offset, (long)h2 + 4);
    CHECK_CONTAINS(r.msg, "segment 2 data_len: the image needs at least 65600 bytes");

    o.max_len = SMALL; /* exactly enough */
    r = mutated(m_nothing, &o);
    CHECK_EQ(r.rc, 0);
}

TEST(truncated_image_fails_at_finish)
{
    ota32_image_opts o = app_opts();
    uint8_t *img = make(SMALL, "1.0", 0);
    static const size_t cuts[] = {0, 10, 24, 0x30, 0x200, SMALL - 33, SMALL - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        result r = run(img, cuts[i], &o, 0);
        CHECK_EQ(r.rc, OTA32_ERR_CORRUPT);
        CHECK_CONTAINS(r.msg, "image truncated in ");
        CHECK_EQ(r.offset, (long)cuts[i]);
    }
    result r = run(img, 0x30, &o, 0);
    CHECK_STR(r.msg, "offset 0x30: image truncated in segment data of segment 0 (48 bytes read)");
    free(img);
}

/* ---- made images -------------------------------------------------------- */

TEST(made_images_verify_and_recompute)
{
    static const uint32_t sizes[] = {SMALL,    SMALL + 16, SMALL + 0x40,
                                     0x20000,  0x4FFF0,    0x100000,
                                     0x123450, 0x3FFFF0,   OTA32_IMAGE_BUILD_MAX_LEN};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint32_t n = sizes[i];
        uint8_t *img = make(n, "v2.0.1-rc1", 7);
        ota32_image_opts o = app_opts();
        o.max_len = n;
        result r = i < 3 ? run_all_chunkings(img, n, &o) : run(img, n, &o, 4096);
        CHECK_EQ(r.rc, 0);
        CHECK_EQ(r.consumed, n);
        CHECK_EQ(r.info.image_len, n);
        CHECK_EQ(r.info.segment_count, 5);
        CHECK_EQ(r.info.segments[0].load_addr, 0x3F400020);
        CHECK(r.info.has_app_desc);
        CHECK_STR(r.info.app_desc.version, "v2.0.1-rc1");
        CHECK_STR(r.info.app_desc.project_name, "ota32-test");
        CHECK_STR(r.info.app_desc.idf_ver, "v5.5.5");
        CHECK_EQ(r.info.app_desc.secure_version, 7);
        CHECK_EQ(r.info.max_chip_rev_full, 399);
        CHECK_EQ(r.info.hash_appended, 1);
        /* the IROM segment keeps the 64 KB rule and does not end in the
         * first 0x24 bytes of a page */
        const ota32_image_segment *irom = &r.info.segments[3];
        CHECK(ota32_image_addr_is_flash_mapped(0, irom->load_addr));
        CHECK_EQ((irom->file_offset + 8) % 0x10000, irom->load_addr % 0x10000);
        CHECK((irom->file_offset + 8 + irom->data_len) % 0x10000 >= 0x24);
        /* ... and both flash segments fit the ESP32 cache windows */
        CHECK((uint64_t)irom->load_addr + irom->data_len <= 0x40400000);
        CHECK((uint64_t)r.info.segments[0].load_addr + r.info.segments[0].data_len <= 0x3F800000);
        /* checksum and SHA-256 recomputed without the parser */
        uint8_t sum, sha[32];
        size_t at = recompute(img, n, &sum, sha);
        CHECK_EQ(at, n - 33);
        CHECK_EQ(img[at], sum);
        CHECK_MEM(img + at + 1, sha, 32);
        free(img);
    }
}

TEST(made_images_are_deterministic)
{
    uint8_t *a = make(0x20000, "1.0", 0), *b = make(0x20000, "1.0", 0),
            *c = make(0x20000, "1.1", 0);
    CHECK_MEM(a, b, 0x20000);
    CHECK(memcmp(a, c, 0x20000) != 0);
    free(a);
    free(b);
    free(c);
}

TEST(flipped_byte_anywhere_is_rejected)
{
    const uint32_t n = SMALL;
    uint8_t *img = make(n, "1.0", 0);
    ota32_image_opts o = app_opts();
    o.max_len = n;
    int tried = 0, rejected = 0;
    for (uint32_t pos = 0; pos < n; pos++) {
        /* every byte of the structure, a sample of the payload */
        bool structural = pos < 0x200 || pos >= n - 0x400 || (pos >= 0xF5F0 && pos < 0x10030);
        if (!structural && pos % 251 != 0)
            continue;
        static const uint8_t masks[] = {0x01, 0x80, 0xFF};
        for (size_t m = 0; m < 3; m++) {
            img[pos] ^= masks[m];
            result r = run(img, n, &o, 0);
            tried++;
            if (r.rc != 0 || r.consumed != n)
                rejected++;
            else
                printf("  not rejected: byte 0x%x ^ 0x%02x\n", pos, masks[m]);
            img[pos] ^= masks[m];
        }
    }
    CHECK_EQ(rejected, tried);
    CHECK(tried > 3000);
    free(img);
}

/* ---- after the image ---------------------------------------------------- */

TEST(signature_sector_is_reported)
{
    const uint32_t n = SMALL; /* 0x10400: next 4 KB boundary is 0x11000 */
    size_t total = 0x11000 + 0x1000;
    uint8_t *img = calloc(1, total);
    uint8_t *made = make(n, "1.0", 0);
    memcpy(img, made, n);
    free(made);
    memset(img + n, 0xFF, 0x11000 - n);
    img[0x11000] = 0xE7;
    img[0x11001] = 0x02;
    ota32_image_opts o = app_opts();
    result r = run_all_chunkings(img, total, &o);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.consumed, n); /* the sector is not part of the image */
    CHECK(r.info.sig_present);
    CHECK_EQ(r.info.sig_offset, 0x11000);
    CHECK_EQ(r.info.trailer_len, total - n);

    o.max_len = 0x11800; /* the image fits, the signature does not */
    r = run(img, total, &o, 0);
    CHECK_EQ(r.rc, OTA32_ERR_TOO_BIG);
    CHECK_STR(r.msg, "offset 0x11000: signature sector: image and signature need 73728 bytes, "
                     "more than the 71680 allowed");

    /* Anything but 0xFF padding before the boundary: no signature sector. */
    o.max_len = 0;
    img[n + 5] = 0;
    r = run_all_chunkings(img, total, &o);
    CHECK_EQ(r.rc, 0);
    CHECK(!r.info.sig_present);
    free(img);
}

/* ---- hashing faults ----------------------------------------------------- */

/* Wraps the host hash; fails start, or the n-th update. */
typedef struct faulty {
    int fail_start;
    int fail_update_at; /* -1: never */
    int updates;
    int live; /* handles not yet released */
} faulty;

static void *f_start(void *ctx, ota32_hash_alg alg)
{
    faulty *f = ctx;
    if (f->fail_start)
        return NULL;
    const ota32_hash_ops *h = ota32_posix_hash();
    void *r = h->start(h->ctx, alg);
    f->live += r != NULL;
    return r;
}

static int f_update(void *ctx, void *hd, const void *d, size_t n)
{
    faulty *f = ctx;
    if (f->updates++ == f->fail_update_at)
        return OTA32_ERR_IO;
    const ota32_hash_ops *h = ota32_posix_hash();
    return h->update(h->ctx, hd, d, n);
}

static int f_finish(void *ctx, void *hd, uint8_t *out)
{
    faulty *f = ctx;
    f->live--;
    const ota32_hash_ops *h = ota32_posix_hash();
    return h->finish(h->ctx, hd, out);
}

TEST(hash_faults_are_reported_and_released)
{
    uint8_t *img = make(SMALL, "1.0", 0);
    faulty f = {.fail_start = 1, .fail_update_at = -1};
    ota32_hash_ops ops = {.ctx = &f, .start = f_start, .update = f_update, .finish = f_finish};
    ota32_image_opts o = app_opts();
    o.hash = &ops;
    result r = run(img, SMALL, &o, 0);
    CHECK_EQ(r.rc, OTA32_ERR_NO_MEM);
    CHECK_STR(r.msg, "offset 0x0: SHA-256: cannot start a hash");
    CHECK_EQ(r.consumed, 0);

    f = (faulty){.fail_update_at = 3};
    r = run(img, SMALL, &o, 1);
    CHECK_EQ(r.rc, OTA32_ERR_IO);
    CHECK_STR(r.msg, "offset 0x3: SHA-256: hash update failed (I/O error)");
    CHECK_EQ(f.live, 0);

    f = (faulty){.fail_update_at = -1};
    r = run(img, SMALL, &o, 1000);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(f.live, 0);

    /* Aborted midway: the handle is released. */
    f = (faulty){.fail_update_at = -1};
    ota32_image_parser p;
    ota32_image_parser_init(&p, &o);
    size_t used;
    CHECK_EQ(ota32_image_parser_feed(&p, img, 5000, &used, NULL), 0);
    CHECK_EQ(f.live, 1);
    ota32_image_parser_abort(&p);
    CHECK_EQ(f.live, 0);

    /* No hash ops: the structure and checksum are checked, the SHA-256 not. */
    o.hash = NULL;
    img[SMALL - 1] ^= 1;
    r = run(img, SMALL, &o, 0);
    CHECK_EQ(r.rc, 0);
    CHECK(!r.info.sha256_checked && !r.info.sha256_ok);
    CHECK(r.info.checksum_ok);
    free(img);
}

/* ---- descriptors, chips, builder options -------------------------------- */

TEST(bootloader_desc_is_decoded)
{
    /* A bootloader-like image: one DRAM segment starting with
     * esp_bootloader_desc_t. */
    uint8_t img[24 + 8 + 96 + 16 + 32];
    memset(img, 0, sizeof img);
    img[0] = 0xE9;
    img[1] = 1;
    img[23] = 1;
    ota32_put_le32(img + 24, 0x3FFF0000);
    ota32_put_le32(img + 28, 96);
    uint8_t *d = img + 32;
    d[0] = 0x50;
    d[3] = 2;                      /* secure_version */
    ota32_put_le32(d + 4, 0x0102); /* version */
    memcpy(d + 8, "v5.5.5", 6);
    memcpy(d + 40, "Jan  1 2025 00:00:00", 20);
    size_t body_end = (32 + 96) | 15;
    CHECK_EQ(body_end + 1 + 32, sizeof img);
    reseal(img, sizeof img);
    ota32_image_opts o = app_opts();
    o.require_app_desc = false;
    result r = run_all_chunkings(img, sizeof img, &o);
    CHECK_EQ(r.rc, 0);
    CHECK(r.info.has_bootloader_desc);
    CHECK_EQ(r.info.bootloader_desc.version, 0x0102);
    CHECK_EQ(r.info.bootloader_desc.secure_version, 2);
    CHECK_STR(r.info.bootloader_desc.idf_ver, "v5.5.5");
    CHECK_STR(r.info.bootloader_desc.date_time, "Jan  1 2025 00:00:00");
    CHECK(!r.info.has_app_desc);
}

TEST(chip_table)
{
    CHECK_STR(ota32_chip_name(0), "ESP32");
    CHECK_STR(ota32_chip_name(2), "ESP32-S2");
    CHECK_STR(ota32_chip_name(9), "ESP32-S3");
    CHECK(ota32_chip_name(0x99) == NULL);
    uint16_t id = 0xFFFF;
    CHECK_EQ(ota32_chip_from_name("esp32s2", &id), 0);
    CHECK_EQ(id, 2);
    CHECK_EQ(ota32_chip_from_name("ESP32-C3", &id), 0);
    CHECK_EQ(id, 5);
    CHECK_EQ(ota32_chip_from_name("esp8266", &id), OTA32_ERR_NOT_FOUND);
    CHECK(ota32_image_addr_is_flash_mapped(0, 0x400D0000));
    CHECK(!ota32_image_addr_is_flash_mapped(0, 0x40400000));
    CHECK(ota32_image_addr_is_flash_mapped(0, 0x3F7FFFFC));
    CHECK(!ota32_image_addr_is_flash_mapped(0, 0x3F800000));
    CHECK(!ota32_image_addr_is_flash_mapped(0, 0x40080000));
    const char *t[8];
    CHECK_EQ(ota32_image_memory_types(0, 0x3FFB0000, t, 8), 2);
    CHECK_STR(t[0], "BYTE_ACCESSIBLE");
    CHECK_STR(t[1], "DRAM");
    CHECK_EQ(ota32_image_memory_types(2, 0x3FFBDE90, t, 8), 3);
    CHECK_STR(t[1], "MEM_INTERNAL");
    CHECK_EQ(ota32_image_memory_types(0, 0x60000000, t, 8), 0);
    CHECK_EQ(ota32_image_memory_types(0x0D, 0x42000000, t, 8), OTA32_ERR_UNSUPPORTED);
}

TEST(builder_rejects_bad_options)
{
    uint8_t *buf = malloc(0x20000);
    ota32_image_build_opts o = {.version = "1.0",
                                .project_name = "p",
                                .size = 0x20000,
                                .chip_id = OTA32_CHIP_ESP32,
                                .hash = ota32_posix_hash()};
    ota32_diag d;
    ota32_image_build_opts b = o;
    b.version = "0123456789012345678901234567890123";
    CHECK_EQ(ota32_image_build(&b, buf, 0x20000, &d), OTA32_ERR_INVALID_ARG);
    CHECK_STR(d.msg, "version '0123456789012345678901234567890123' is 34 characters, at most "
                     "31 fit (char[32])");
    b = o;
    b.version = "0123456789012345678901234567890"; /* 31: fits */
    CHECK_EQ(ota32_image_build(&b, buf, 0x20000, &d), 0);
    b = o;
    b.size = 0x20008;
    CHECK_EQ(ota32_image_build(&b, buf, 0x20000, &d), OTA32_ERR_INVALID_ARG);
    CHECK_CONTAINS(d.msg, "must be a multiple of 16");
    b = o;
    b.size = OTA32_IMAGE_BUILD_MIN_LEN - 16;
    CHECK_EQ(ota32_image_build(&b, buf, 0x20000, &d), OTA32_ERR_INVALID_ARG);
    b = o;
    b.size = OTA32_IMAGE_BUILD_MAX_LEN + 16;
    b.flash_size = 16u << 20;
    CHECK_EQ(ota32_image_build(&b, buf, 0x20000, &d), OTA32_ERR_INVALID_ARG);
    b = o;
    b.size = 0x20000;
    b.flash_size = 0x30000; /* not a power of two */
    CHECK_EQ(ota32_image_build(&b, buf, 0x20000, &d), OTA32_ERR_INVALID_ARG);
    CHECK_CONTAINS(d.msg, "flash size 196608 is not 1MB");
    b = o;
    b.chip_id = OTA32_CHIP_ESP32S2;
    CHECK_EQ(ota32_image_build(&b, buf, 0x20000, &d), OTA32_ERR_INVALID_ARG);
    CHECK_EQ(ota32_image_build(&o, buf, 0x1FFF0, &d), OTA32_ERR_NO_SPACE);
    free(buf);
}

RUN_TESTS(INTEROP_CASE(app_template_parses_in_every_chunking),
          INTEROP_CASE(bootloader_parses_without_app_desc),
          INTEROP_CASE(s2_image_parses_for_any_chip_and_is_rejected_for_esp32),
          CASE(wrong_chip_rejected_when_the_header_completes),
          CASE(rejects_bad_magic_after_one_byte), CASE(rejects_segment_count_over_16),
          CASE(rejects_hash_appended_not_0_or_1), CASE(rejects_chip_revision_out_of_range),
          CASE(rejects_segment_length_rules), CASE(rejects_mmu_page_mismatch),
          CASE(rejects_bad_app_desc_after_0x24_bytes), CASE(rejects_checksum_and_hash),
          CASE(rejects_too_long_as_soon_as_known), CASE(truncated_image_fails_at_finish),
          CASE(made_images_verify_and_recompute), CASE(made_images_are_deterministic),
          CASE(flipped_byte_anywhere_is_rejected), CASE(signature_sector_is_reported),
          CASE(hash_faults_are_reported_and_released), CASE(bootloader_desc_is_decoded),
          CASE(chip_table), CASE(builder_rejects_bad_options))
