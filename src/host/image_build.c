/*
 * A valid ESP32 app image made from a few options, for tests, benchmarks and
 * the demo. The layout is what ESP-IDF's build (esptool elf2image) produces
 * for an ESP32 app:
 *
 *   header | DROM @0x3F400020 (app descriptor + rodata) | DRAM | IRAM |
 *   IROM @0x400Dxxxx (data at the same offset in a 64 KB page) | IRAM |
 *   zero pad | checksum | SHA-256
 *
 * The DROM length is chosen so that the IROM data lands on the page offset
 * its load address needs, so no padding segment is required; the last IRAM
 * segment absorbs the rest so that the total is exactly the size asked for.
 * Payload bytes come from a PRNG keyed by the seed: same options, same bytes.
 */
#include "ota32/image.h"

#include <string.h>

#include "bytes.h"
#include "image_build.h"

#define DROM_LOAD 0x3F400020u
#define DRAM_LOAD 0x3FFB0000u
#define IRAM_LOAD 0x40080000u
#define IROM_BASE 0x400D0000u
#define DRAM_LEN 0x200u
#define IRAM_LEN 0x800u
#define IRAM_TAIL_LEN 0x100u
#define ENTRY_OFFSET 0x400u /* entry point inside the first IRAM segment */
/* The ESP32 cache windows (esptool targets/esp32.py, IDF soc.h): what the
 * bootloader can map of IROM and DROM. They bound the image size. */
#define IROM_SPAN (0x40400000u - IROM_BASE)
#define DROM_SPAN (0x3F800000u - 0x3F400000u)
#define STR_MAX 31u /* char[32] fields keep a NUL */
/* esptool pads an ESP32 flash segment that ends less than 0x24 bytes into a
 * 64 KB page (an old bootloader did not map that last page). */
#define PAGE_TAIL_MIN 0x24u

/* Header values as IDF's build passes them: DIO, 40 MHz, v0.0 - v3.99. */
#define SPI_MODE_DIO 2u
#define SPI_FREQ_40M 0x0u
#define WP_PIN_DISABLED 0xEEu
#define MAX_CHIP_REV_FULL 399u

/* esp_app_desc_t fields (see image_desc.c) and IDF v5.5 defaults for ESP32. */
#define DESC_TIME "00:00:00"
#define DESC_DATE "Jan  1 2025"
#define DEFAULT_IDF_VER "v5.5.5"
#define EFUSE_BLK_REV_MAX 99u
#define MMU_PAGE_LOG2 16u

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001B3ull;
    }
    return h;
}

/* splitmix64: a small, well-mixed, fully deterministic generator. */
static uint64_t next_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fill(uint8_t *p, size_t n, uint64_t *state)
{
    while (n) {
        uint64_t r = next_rand(state);
        for (int i = 0; i < 8 && n; i++, n--, r >>= 8)
            *p++ = (uint8_t)r;
    }
}

static int check_str(const char *what, const char *s, bool required, ota32_diag *diag)
{
    if (!s) {
        if (required)
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "%s is required", what);
        return OTA32_OK;
    }
    if (strlen(s) > STR_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "%s '%s' is %zu characters, at most %u fit (char[32])", what, s,
                               strlen(s), STR_MAX);
    return OTA32_OK;
}

static int flash_size_code(uint32_t bytes)
{
    for (int code = 0; code <= 7; code++)
        if (bytes == (0x100000u << code))
            return code;
    return -1;
}

static uint8_t *put_segment(uint8_t *p, uint32_t load, uint32_t len)
{
    ota32_put_le32(p, load);
    ota32_put_le32(p + 4, len);
    return p + OTA32_IMAGE_SEG_HEADER_LEN;
}

static void put_str(uint8_t *dst, const char *s)
{
    memcpy(dst, s, strlen(s)); /* the rest of the field is already zero */
}

/* Options checked; `*flash` and `*size_code` filled in. */
static int check_opts(const ota32_image_build_opts *o, size_t out_len, uint32_t *flash,
                      int *size_code, ota32_diag *diag)
{
    int rc;
    if ((rc = check_str("version", o->version, true, diag)) != OTA32_OK ||
        (rc = check_str("project name", o->project_name, true, diag)) != OTA32_OK ||
        (rc = check_str("IDF version", o->idf_ver, false, diag)) != OTA32_OK)
        return rc;
    if (o->chip_id != OTA32_CHIP_ESP32)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "only ESP32 images can be made (chip id %u asked)", o->chip_id);
    if (!o->hash)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "a SHA-256 is required");
    *flash = o->flash_size ? o->flash_size : 0x400000u;
    *size_code = flash_size_code(*flash);
    if (*size_code < 0)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "flash size %u is not 1MB, 2MB, ... or 128MB", (unsigned)*flash);
    uint32_t n = o->size;
    if (n % 16 != 0 || n < OTA32_IMAGE_BUILD_MIN_LEN || n > OTA32_IMAGE_BUILD_MAX_LEN || n > *flash)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "size %u: must be a multiple of 16 from %u to %u and fit the "
                               "%u-byte flash",
                               (unsigned)n, OTA32_IMAGE_BUILD_MIN_LEN, OTA32_IMAGE_BUILD_MAX_LEN,
                               (unsigned)*flash);
    if (out_len < n)
        return ota32_diag_fail(diag, OTA32_ERR_NO_SPACE, 0, -1,
                               "buffer of %zu bytes is smaller than the image (%u)", out_len,
                               (unsigned)n);
    return OTA32_OK;
}

/* Where the segments of an image of n bytes go. */
typedef struct plan {
    uint32_t drom_len, irom_load, irom_len, tail_len, segs_end;
} plan;

/* irom_hdr: where the IROM segment header goes (0x10 into a page, so its data
 * starts 0x18 into the page, like IDF's images). About a quarter of the image
 * is DROM, more when IROM would outgrow its window. */
static int make_plan(uint32_t n, plan *pl, ota32_diag *diag)
{
    uint32_t pages = n / (4 * OTA32_IMAGE_MMU_PAGE);
    if (n > IROM_SPAN && pages < (n - IROM_SPAN) / OTA32_IMAGE_MMU_PAGE + 1)
        pages = (n - IROM_SPAN) / OTA32_IMAGE_MMU_PAGE + 1;
    if (pages == 0)
        pages = 1;
    const uint32_t seg_hdr = OTA32_IMAGE_SEG_HEADER_LEN;
    uint32_t irom_hdr = pages * OTA32_IMAGE_MMU_PAGE + 0x10;
    pl->drom_len = irom_hdr - OTA32_IMAGE_HEADER_LEN - 3 * seg_hdr - DRAM_LEN - IRAM_LEN;
    uint32_t irom_data = irom_hdr + seg_hdr;
    pl->segs_end = n - OTA32_SHA256_LEN - 4; /* 3 pad bytes + checksum */
    pl->tail_len = IRAM_TAIL_LEN;
    if ((pl->segs_end - seg_hdr - pl->tail_len) % OTA32_IMAGE_MMU_PAGE < PAGE_TAIL_MIN)
        pl->tail_len += 0x40;
    pl->irom_len = pl->segs_end - seg_hdr - pl->tail_len - irom_data;
    pl->irom_load = IROM_BASE + irom_data % OTA32_IMAGE_MMU_PAGE;
    if (pl->drom_len > DROM_SPAN - 0x20 ||
        pl->irom_len > IROM_SPAN - irom_data % OTA32_IMAGE_MMU_PAGE)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "size %u: DROM or IROM would not fit the ESP32 cache windows",
                               (unsigned)n); /* unreachable below MAX_LEN */
    return OTA32_OK;
}

static void put_header(uint8_t *h, uint16_t chip_id, int size_code)
{
    h[0] = OTA32_IMAGE_MAGIC;
    h[1] = 5; /* segment count */
    h[2] = SPI_MODE_DIO;
    h[3] = (uint8_t)(size_code << 4 | SPI_FREQ_40M);
    ota32_put_le32(h + 4, IRAM_LOAD + ENTRY_OFFSET);
    h[8] = WP_PIN_DISABLED;
    ota32_put_le16(h + 12, chip_id);
    ota32_put_le16(h + 17, MAX_CHIP_REV_FULL); /* min rev (14..16) stays v0.0 */
    h[23] = 1;                                 /* hash appended */
}

/* The app descriptor. The ELF SHA-256 field (0xB0) holds the SHA-256 of the
 * IROM payload, which stands in for the ELF here. */
static int put_desc(uint8_t *desc, const ota32_image_build_opts *o, const uint8_t *irom,
                    uint32_t irom_len, ota32_diag *diag)
{
    ota32_put_le32(desc + 0, OTA32_APP_DESC_MAGIC);
    ota32_put_le32(desc + 4, o->secure_version);
    put_str(desc + 16, o->version);
    put_str(desc + 48, o->project_name);
    put_str(desc + 80, DESC_TIME);
    put_str(desc + 96, DESC_DATE);
    put_str(desc + 112, o->idf_ver ? o->idf_ver : DEFAULT_IDF_VER);
    int rc = ota32_hash_buf(o->hash, OTA32_HASH_SHA256, irom, irom_len, desc + 144);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "SHA-256 failed");
    ota32_put_le16(desc + 178, EFUSE_BLK_REV_MAX);
    desc[180] = MMU_PAGE_LOG2;
    return OTA32_OK;
}

/* Checksum over segment data only, then the SHA-256 of everything. */
static int put_trailer(uint8_t *out, uint32_t segs_end, const ota32_hash_ops *hash,
                       ota32_diag *diag)
{
    uint8_t sum = OTA32_IMAGE_CHECKSUM_SEED;
    const uint8_t *s = out + OTA32_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < 5; i++) {
        uint32_t len = ota32_le32(s + 4);
        for (uint32_t k = 0; k < len; k++)
            sum ^= s[OTA32_IMAGE_SEG_HEADER_LEN + k];
        s += OTA32_IMAGE_SEG_HEADER_LEN + len;
    }
    uint32_t checksum_at = segs_end | 15u;
    out[checksum_at] = sum;
    int rc = ota32_hash_buf(hash, OTA32_HASH_SHA256, out, checksum_at + 1, out + checksum_at + 1);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "SHA-256 failed");
    return OTA32_OK;
}

int ota32_image_build(const ota32_image_build_opts *o, uint8_t *out, size_t out_len,
                      ota32_diag *diag)
{
    if (!o || !out)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no options or buffer");
    uint32_t flash = 0;
    int size_code = 0;
    plan pl;
    int rc = check_opts(o, out_len, &flash, &size_code, diag);
    if (rc == OTA32_OK)
        rc = make_plan(o->size, &pl, diag);
    if (rc != OTA32_OK)
        return rc;

    uint64_t rng = fnv1a(o->seed ? o->seed : o->project_name, 0xCBF29CE484222325ull);
    if (!o->seed)
        rng = fnv1a(o->version, fnv1a("-", rng));

    memset(out, 0, o->size);
    put_header(out, o->chip_id, size_code);
    uint8_t *p = put_segment(out + OTA32_IMAGE_HEADER_LEN, DROM_LOAD, pl.drom_len);
    uint8_t *desc = p;
    fill(desc + OTA32_APP_DESC_LEN, pl.drom_len - OTA32_APP_DESC_LEN, &rng);
    p = put_segment(p + pl.drom_len, DRAM_LOAD, DRAM_LEN);
    fill(p, DRAM_LEN, &rng);
    p = put_segment(p + DRAM_LEN, IRAM_LOAD, IRAM_LEN);
    fill(p, IRAM_LEN, &rng);
    p = put_segment(p + IRAM_LEN, pl.irom_load, pl.irom_len);
    uint8_t *irom = p;
    fill(irom, pl.irom_len, &rng);
    p = put_segment(p + pl.irom_len, IRAM_LOAD + IRAM_LEN, pl.tail_len);
    fill(p, pl.tail_len, &rng);

    rc = put_desc(desc, o, irom, pl.irom_len, diag);
    if (rc == OTA32_OK)
        rc = put_trailer(out, pl.segs_end, o->hash, diag);
    return rc;
}
