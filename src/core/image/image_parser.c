/*
 * Streaming parser/verifier for ESP app and bootloader images.
 *
 * The image is read as a sequence of fixed-size fields (header, segment
 * headers, checksum, hash) and variable-length segment data. Fixed fields are
 * gathered into p->field, one byte or many per call, so decisions are taken
 * on the byte that completes a field whatever the chunking. Segment data is
 * never stored: it is XORed into the checksum and streamed into the hash.
 * The checks and their order follow ESP-IDF's esp_image_format.c
 * (verify_image_header, verify_segment_header, process_checksum,
 * verify_simple_hash) and esptool's loader (hash_appended must be 0 or 1).
 */
#include "ota32/image.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"

/* esp_image_header_t field offsets. */
enum {
    HDR_MAGIC = 0,
    HDR_SEGMENT_COUNT = 1,
    HDR_SPI_MODE = 2,
    HDR_SPI_SPEED_SIZE = 3,
    HDR_ENTRY_ADDR = 4,
    HDR_WP_PIN = 8,
    HDR_SPI_PIN_DRV = 9,
    HDR_CHIP_ID = 12,
    HDR_MIN_CHIP_REV = 14,
    HDR_MIN_CHIP_REV_FULL = 15,
    HDR_MAX_CHIP_REV_FULL = 17,
    HDR_RESERVED = 19,
    HDR_HASH_APPENDED = 23,
    HDR_END = 24,
};
_Static_assert(HDR_END == OTA32_IMAGE_HEADER_LEN, "esp_image_header_t is 24 bytes");
/* esp_image_segment_header_t field offsets. */
enum { SEG_LOAD_ADDR = 0, SEG_DATA_LEN = 4, SEG_END = 8 };
_Static_assert(SEG_END == OTA32_IMAGE_SEG_HEADER_LEN, "esp_image_segment_header_t is 8 bytes");
_Static_assert(OTA32_SHA256_LEN <= OTA32_APP_DESC_LEN, "p->field holds the hash");

/* Revision fields equal to 0 or 0xFFFF mean "not set" (IS_FIELD_SET). */
#define REV_UNSET 0xFFFFu

enum step {
    STEP_HEADER = 0,
    STEP_SEG_HEADER,
    STEP_SEG_DATA,
    STEP_FOOTER, /* zero padding, then the checksum byte */
    STEP_HASH,
    STEP_DONE,
};

static void release_hash(ota32_image_parser *p)
{
    if (p->sha) {
        p->opts.hash->finish(p->opts.hash->ctx, p->sha, NULL);
        p->sha = NULL;
    }
}

static int fail(ota32_image_parser *p, int err, uint32_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Record the rejection "offset 0x..: <field>: <what>" and stop the parser. */
static int fail(ota32_image_parser *p, int err, uint32_t offset, const char *fmt, ...)
{
    int n = snprintf(p->diag.msg, sizeof p->diag.msg, "offset 0x%x: ", (unsigned)offset);
    if (n < 0)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->diag.msg + n, sizeof p->diag.msg - (size_t)n, fmt, ap);
    va_end(ap);
    p->diag.line = 0;
    p->diag.offset = (long)offset;
    p->error = err;
    p->stage = OTA32_IMAGE_STAGE_FAILED;
    release_hash(p);
    return err;
}

static const char *chip_str(uint16_t id)
{
    const char *name = ota32_chip_name(id);
    return name ? name : "an unknown chip";
}

void ota32_image_parser_init(ota32_image_parser *p, const ota32_image_opts *opts)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    if (opts)
        p->opts = *opts;
    p->stage = OTA32_IMAGE_STAGE_HEADER;
    p->step = STEP_HEADER;
    p->checksum = OTA32_IMAGE_CHECKSUM_SEED;
    ota32_diag_clear(&p->diag);
}

void ota32_image_parser_abort(ota32_image_parser *p)
{
    if (p)
        release_hash(p);
}

/* Count `n` image bytes as read, hashing them while the hash is running. */
static int absorb(ota32_image_parser *p, const uint8_t *d, size_t n)
{
    if (p->sha && n) {
        int rc = p->opts.hash->update(p->opts.hash->ctx, p->sha, d, n);
        if (rc != OTA32_OK)
            return fail(p, rc, p->pos, "SHA-256: hash update failed (%s)", ota32_strerror(rc));
    }
    p->pos += (uint32_t)n;
    return OTA32_OK;
}

/* Length of the whole image if it ended right after byte `end` - 1. */
static uint64_t image_len_after(const ota32_image_parser *p, uint64_t end)
{
    return (end | 15u) + 1u + (p->info.hash_appended ? OTA32_SHA256_LEN : 0u);
}

static int enter_footer(ota32_image_parser *p)
{
    uint64_t len = image_len_after(p, p->pos);
    if (p->opts.max_len && len > p->opts.max_len)
        return fail(p, OTA32_ERR_TOO_BIG, p->pos,
                    "image length: %llu bytes, more than the %u allowed", (unsigned long long)len,
                    (unsigned)p->opts.max_len);
    p->body_end = p->pos | 15u;
    p->info.image_len = (uint32_t)len;
    p->step = STEP_FOOTER;
    p->stage = OTA32_IMAGE_STAGE_FOOTER;
    return OTA32_OK;
}

/* After the data of segment seg_index: the next segment header, or the footer. */
static int next_segment(ota32_image_parser *p)
{
    p->seg_index++;
    p->field_pos = 0;
    if (p->stage == OTA32_IMAGE_STAGE_PREFIX)
        p->stage = OTA32_IMAGE_STAGE_BODY; /* segment 0 had no descriptor */
    if (p->seg_index < p->info.segment_count) {
        p->step = STEP_SEG_HEADER;
        return OTA32_OK;
    }
    return enter_footer(p);
}

static int check_header(ota32_image_parser *p)
{
    const uint8_t *h = p->field;
    ota32_image_info *in = &p->info;
    in->segment_count = h[HDR_SEGMENT_COUNT];
    in->spi_mode = h[HDR_SPI_MODE];
    in->spi_speed = h[HDR_SPI_SPEED_SIZE] & 0x0F;
    in->spi_size = h[HDR_SPI_SPEED_SIZE] >> 4;
    in->entry_addr = ota32_le32(h + HDR_ENTRY_ADDR);
    in->wp_pin = h[HDR_WP_PIN];
    memcpy(in->spi_pin_drv, h + HDR_SPI_PIN_DRV, 3);
    in->chip_id = ota32_le16(h + HDR_CHIP_ID);
    in->min_chip_rev = h[HDR_MIN_CHIP_REV];
    in->min_chip_rev_full = ota32_le16(h + HDR_MIN_CHIP_REV_FULL);
    in->max_chip_rev_full = ota32_le16(h + HDR_MAX_CHIP_REV_FULL);
    in->hash_appended = h[HDR_HASH_APPENDED];

    const ota32_image_opts *o = &p->opts;
    if (o->chip_id != OTA32_CHIP_ANY && in->chip_id != o->chip_id)
        return fail(p, OTA32_ERR_CHIP, HDR_CHIP_ID,
                    "chip_id: image is for %s (chip id %u), expected %s (chip id %u)",
                    chip_str(in->chip_id), in->chip_id, chip_str(o->chip_id), o->chip_id);
    unsigned rev = o->chip_rev_full;
    if (rev != 0) {
        unsigned lo = in->min_chip_rev_full, hi = in->max_chip_rev_full;
        if (lo > rev)
            return fail(p, OTA32_ERR_CHIP, HDR_MIN_CHIP_REV_FULL,
                        "min_chip_rev_full: image needs chip revision >= v%u.%u, chip is v%u.%u",
                        lo / 100, lo % 100, rev / 100, rev % 100);
        /* The maximum is not checked for bootloader images (as in IDF). */
        if (o->require_app_desc && hi != 0 && hi != REV_UNSET && rev > hi)
            return fail(p, OTA32_ERR_CHIP, HDR_MAX_CHIP_REV_FULL,
                        "max_chip_rev_full: image needs chip revision <= v%u.%u, chip is v%u.%u",
                        hi / 100, hi % 100, rev / 100, rev % 100);
    }
    if (in->segment_count > OTA32_IMAGE_MAX_SEGMENTS)
        return fail(p, OTA32_ERR_CORRUPT, HDR_SEGMENT_COUNT,
                    "segment_count: %u exceeds the maximum of %u", in->segment_count,
                    OTA32_IMAGE_MAX_SEGMENTS);
    if (in->hash_appended > 1)
        return fail(p, OTA32_ERR_CORRUPT, HDR_HASH_APPENDED,
                    "hash_appended: 0x%02x is neither 0 nor 1", in->hash_appended);
    if (o->require_app_desc && in->segment_count == 0)
        return fail(p, OTA32_ERR_CORRUPT, HDR_SEGMENT_COUNT,
                    "segment_count: 0, an app image needs a segment with its app descriptor");
    if (!in->hash_appended)
        release_hash(p);
    in->sha256_checked = in->hash_appended && p->sha;

    p->field_pos = 0;
    if (in->segment_count == 0)
        return enter_footer(p);
    p->step = STEP_SEG_HEADER;
    p->stage = OTA32_IMAGE_STAGE_PREFIX;
    return OTA32_OK;
}

static int check_segment_header(ota32_image_parser *p)
{
    uint32_t hdr_off = p->pos - OTA32_IMAGE_SEG_HEADER_LEN;
    uint32_t data_off = p->pos;
    uint32_t load = ota32_le32(p->field + SEG_LOAD_ADDR);
    uint32_t len = ota32_le32(p->field + SEG_DATA_LEN);
    unsigned i = p->seg_index;

    if (len % 4 != 0)
        return fail(p, OTA32_ERR_CORRUPT, hdr_off + SEG_DATA_LEN,
                    "segment %u data_len: 0x%x is not a multiple of 4", i, (unsigned)len);
    if (len >= OTA32_IMAGE_MAX_SEGMENT_LEN)
        return fail(p, OTA32_ERR_CORRUPT, hdr_off + SEG_DATA_LEN,
                    "segment %u data_len: 0x%x is not below 16 MB", i, (unsigned)len);
    /* A flash-mapped segment is mapped page by page: its data must sit at the
     * same offset within a 64 KB page as its load address (app partitions
     * are 64 KB aligned, so image offsets stand for flash offsets). */
    if (ota32_image_addr_is_flash_mapped(p->info.chip_id, load) &&
        data_off % OTA32_IMAGE_MMU_PAGE != load % OTA32_IMAGE_MMU_PAGE)
        return fail(p, OTA32_ERR_CORRUPT, hdr_off,
                    "segment %u load_addr: 0x%08x is flash-mapped but its data is at 0x%x "
                    "(offset 0x%x in a 64 KB page, load address needs 0x%x)",
                    i, (unsigned)load, (unsigned)data_off,
                    (unsigned)(data_off % OTA32_IMAGE_MMU_PAGE),
                    (unsigned)(load % OTA32_IMAGE_MMU_PAGE));
    if (i == 0 && p->opts.require_app_desc && len < OTA32_APP_DESC_LEN)
        return fail(p, OTA32_ERR_CORRUPT, hdr_off + SEG_DATA_LEN,
                    "segment 0 data_len: 0x%x is too short for the %u-byte app descriptor",
                    (unsigned)len, OTA32_APP_DESC_LEN);
    uint64_t at_least = image_len_after(p, (uint64_t)data_off + len);
    if (p->opts.max_len && at_least > p->opts.max_len)
        return fail(p, OTA32_ERR_TOO_BIG, hdr_off + SEG_DATA_LEN,
                    "segment %u data_len: the image needs at least %llu bytes, more than "
                    "the %u allowed",
                    i, (unsigned long long)at_least, (unsigned)p->opts.max_len);

    ota32_image_segment *s = &p->info.segments[i];
    s->load_addr = load;
    s->data_len = len;
    s->file_offset = hdr_off;
    p->seg_remaining = len;
    p->field_pos = 0;
    /* Look at the first 4 bytes of segment 0 to find its descriptor. */
    p->desc_want = (i == 0 && len >= 4) ? 4 : 0;
    p->step = STEP_SEG_DATA;
    if (len == 0)
        return next_segment(p);
    return OTA32_OK;
}

/* The first bytes of segment 0 are in p->field[0..field_pos). */
static int desc_progress(ota32_image_parser *p)
{
    ota32_image_info *in = &p->info;
    uint32_t seg_len = in->segments[0].data_len;
    if (p->field_pos == 4 && p->desc_want == 4) {
        uint32_t magic = ota32_le32(p->field);
        if (magic == OTA32_APP_DESC_MAGIC && seg_len >= OTA32_APP_DESC_LEN) {
            p->desc_want = OTA32_APP_DESC_LEN;
        } else if (p->opts.require_app_desc) {
            return fail(p, OTA32_ERR_CORRUPT, OTA32_APP_DESC_OFFSET,
                        "app descriptor magic_word: 0x%08x, expected 0x%08x", (unsigned)magic,
                        (unsigned)OTA32_APP_DESC_MAGIC);
        } else if (p->field[0] == OTA32_BOOTLOADER_DESC_MAGIC &&
                   seg_len >= OTA32_BOOTLOADER_DESC_LEN) {
            p->desc_want = OTA32_BOOTLOADER_DESC_LEN;
        } else {
            p->desc_want = 0;
            p->stage = OTA32_IMAGE_STAGE_BODY;
            return OTA32_OK;
        }
    }
    if (p->field_pos != p->desc_want)
        return OTA32_OK;
    if (p->desc_want == OTA32_APP_DESC_LEN) {
        /* The magic was checked above, so decoding cannot fail. */
        in->has_app_desc = ota32_app_desc_decode(p->field, &in->app_desc, NULL) == OTA32_OK;
    } else {
        in->has_bootloader_desc =
            ota32_bootloader_desc_decode(p->field, &in->bootloader_desc, NULL) == OTA32_OK;
    }
    p->desc_want = 0;
    p->stage = OTA32_IMAGE_STAGE_BODY;
    return OTA32_OK;
}

/* Collect bytes of a fixed-size field; returns how many were taken. */
static size_t gather(ota32_image_parser *p, const uint8_t *d, size_t avail, uint32_t want)
{
    size_t take = want - p->field_pos;
    if (take > avail)
        take = avail;
    memcpy(p->field + p->field_pos, d, take);
    p->field_pos += (uint32_t)take;
    return take;
}

static int step_header(ota32_image_parser *p, const uint8_t *d, size_t avail, size_t *n)
{
    if (p->field_pos == 0 && d[0] != OTA32_IMAGE_MAGIC) {
        *n = 1;
        int rc = absorb(p, d, 1);
        if (rc != OTA32_OK)
            return rc;
        return fail(p, OTA32_ERR_CORRUPT, HDR_MAGIC,
                    "magic: 0x%02x, expected 0x%02x (not an app image)", d[0], OTA32_IMAGE_MAGIC);
    }
    *n = gather(p, d, avail, OTA32_IMAGE_HEADER_LEN);
    int rc = absorb(p, d, *n);
    if (rc != OTA32_OK)
        return rc;
    return p->field_pos == OTA32_IMAGE_HEADER_LEN ? check_header(p) : OTA32_OK;
}

static int step_seg_header(ota32_image_parser *p, const uint8_t *d, size_t avail, size_t *n)
{
    *n = gather(p, d, avail, OTA32_IMAGE_SEG_HEADER_LEN);
    int rc = absorb(p, d, *n);
    if (rc != OTA32_OK)
        return rc;
    return p->field_pos == OTA32_IMAGE_SEG_HEADER_LEN ? check_segment_header(p) : OTA32_OK;
}

static int step_seg_data(ota32_image_parser *p, const uint8_t *d, size_t avail, size_t *n)
{
    size_t take = p->seg_remaining < avail ? p->seg_remaining : avail;
    bool capturing = p->desc_want > p->field_pos;
    if (capturing && take > p->desc_want - p->field_pos)
        take = p->desc_want - p->field_pos; /* stop where a decision is due */
    uint8_t x = p->checksum;
    for (size_t i = 0; i < take; i++)
        x ^= d[i];
    p->checksum = x;
    *n = take;
    int rc = absorb(p, d, take);
    if (rc != OTA32_OK)
        return rc;
    p->seg_remaining -= (uint32_t)take;
    if (capturing) {
        memcpy(p->field + p->field_pos, d, take);
        p->field_pos += (uint32_t)take;
        rc = desc_progress(p);
        if (rc != OTA32_OK)
            return rc;
    }
    return p->seg_remaining == 0 ? next_segment(p) : OTA32_OK;
}

static int step_footer(ota32_image_parser *p, const uint8_t *d, size_t avail, size_t *n)
{
    size_t take = p->body_end + 1 - p->pos;
    if (take > avail)
        take = avail;
    *n = take;
    int rc = absorb(p, d, take);
    if (rc != OTA32_OK)
        return rc;
    if (p->pos != p->body_end + 1)
        return OTA32_OK;

    ota32_image_info *in = &p->info;
    in->checksum_stored = d[take - 1];
    in->checksum_calc = p->checksum;
    in->checksum_ok = in->checksum_stored == in->checksum_calc;
    if (p->sha) {
        void *h = p->sha;
        p->sha = NULL;
        rc = p->opts.hash->finish(p->opts.hash->ctx, h, in->sha256_calc);
        if (rc != OTA32_OK)
            return fail(p, rc, p->body_end, "SHA-256: hash finish failed (%s)", ota32_strerror(rc));
    }
    if (!in->checksum_ok && !p->opts.lenient_digests)
        return fail(p, OTA32_ERR_VERIFY, p->body_end, "checksum: stored 0x%02x, calculated 0x%02x",
                    in->checksum_stored, in->checksum_calc);
    p->field_pos = 0;
    if (in->hash_appended) {
        p->step = STEP_HASH;
        return OTA32_OK;
    }
    p->step = STEP_DONE;
    p->stage = OTA32_IMAGE_STAGE_DONE;
    return OTA32_OK;
}

static void hex_digest(const uint8_t d[OTA32_SHA256_LEN], char out[2 * OTA32_SHA256_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < OTA32_SHA256_LEN; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * OTA32_SHA256_LEN] = 0;
}

static int step_hash(ota32_image_parser *p, const uint8_t *d, size_t avail, size_t *n)
{
    *n = gather(p, d, avail, OTA32_SHA256_LEN);
    p->pos += (uint32_t)*n; /* the stored digest is not part of the hash */
    if (p->field_pos < OTA32_SHA256_LEN)
        return OTA32_OK;
    ota32_image_info *in = &p->info;
    memcpy(in->sha256_stored, p->field, OTA32_SHA256_LEN);
    in->sha256_ok =
        in->sha256_checked && memcmp(in->sha256_stored, in->sha256_calc, OTA32_SHA256_LEN) == 0;
    if (in->sha256_checked && !in->sha256_ok && !p->opts.lenient_digests) {
        /* Both digests whole: two images that differ only in the last
         * byte share any prefix. */
        char stored[2 * OTA32_SHA256_LEN + 1], calc[2 * OTA32_SHA256_LEN + 1];
        hex_digest(in->sha256_stored, stored);
        hex_digest(in->sha256_calc, calc);
        return fail(p, OTA32_ERR_VERIFY, p->body_end + 1,
                    "SHA-256: stored %s, calculated %s (image is corrupt)", stored, calc);
    }
    p->field_pos = 0;
    p->step = STEP_DONE;
    p->stage = OTA32_IMAGE_STAGE_DONE;
    return OTA32_OK;
}

/* Bytes after the image: 0xFF up to the next 4 KB boundary, then a secure
 * boot v2 signature sector starting with 0xE7. p->field_pos is 1 once the
 * question is settled. */
static int scan_trailer(ota32_image_parser *p, const uint8_t *d, size_t n)
{
    ota32_image_info *in = &p->info;
    uint64_t boundary = ((uint64_t)in->image_len + OTA32_SIG_SECTOR_ALIGN - 1) &
                        ~(uint64_t)(OTA32_SIG_SECTOR_ALIGN - 1);
    for (size_t i = 0; i < n && p->field_pos == 0; i++) {
        uint64_t at = (uint64_t)in->image_len + in->trailer_len + i;
        if (at < boundary) {
            if (d[i] != 0xFF)
                p->field_pos = 1; /* not padding: no signature sector */
            continue;
        }
        p->field_pos = 1;
        if (d[i] != OTA32_SIG_BLOCK_MAGIC)
            break;
        in->sig_present = true;
        in->sig_offset = (uint32_t)boundary;
        if (p->opts.max_len && boundary + OTA32_SIG_SECTOR_LEN > p->opts.max_len)
            return fail(p, OTA32_ERR_TOO_BIG, (uint32_t)boundary,
                        "signature sector: image and signature need %llu bytes, more than "
                        "the %u allowed",
                        (unsigned long long)(boundary + OTA32_SIG_SECTOR_LEN),
                        (unsigned)p->opts.max_len);
    }
    in->trailer_len += (uint32_t)n;
    return OTA32_OK;
}

static int repeat_failure(const ota32_image_parser *p, ota32_diag *diag)
{
    if (diag)
        *diag = p->diag;
    return p->error;
}

int ota32_image_parser_feed(ota32_image_parser *p, const uint8_t *data, size_t len,
                            size_t *consumed, ota32_diag *diag)
{
    if (consumed)
        *consumed = 0;
    if (!p || (!data && len))
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "image parser: no input");
    if (p->stage == OTA32_IMAGE_STAGE_FAILED)
        return repeat_failure(p, diag);
    if (p->pos == 0 && len && p->opts.hash && !p->sha) {
        p->sha = p->opts.hash->start(p->opts.hash->ctx, OTA32_HASH_SHA256);
        if (!p->sha) {
            fail(p, OTA32_ERR_NO_MEM, 0, "SHA-256: cannot start a hash");
            return repeat_failure(p, diag);
        }
    }
    size_t used = 0;
    int rc = OTA32_OK;
    while (used < len && p->step != STEP_DONE && rc == OTA32_OK) {
        const uint8_t *d = data + used;
        size_t avail = len - used, n = 0;
        switch (p->step) {
        case STEP_HEADER:
            rc = step_header(p, d, avail, &n);
            break;
        case STEP_SEG_HEADER:
            rc = step_seg_header(p, d, avail, &n);
            break;
        case STEP_SEG_DATA:
            rc = step_seg_data(p, d, avail, &n);
            break;
        case STEP_FOOTER:
            rc = step_footer(p, d, avail, &n);
            break;
        case STEP_HASH:
            rc = step_hash(p, d, avail, &n);
            break;
        default:
            rc = fail(p, OTA32_ERR_STATE, p->pos, "image parser: bad state");
            break;
        }
        used += n;
    }
    if (rc == OTA32_OK && used < len && p->step == STEP_DONE)
        rc = scan_trailer(p, data + used, len - used);
    if (consumed)
        *consumed = used;
    if (rc != OTA32_OK)
        return repeat_failure(p, diag);
    return OTA32_OK;
}

static const char *step_name(const ota32_image_parser *p)
{
    switch (p->step) {
    case STEP_HEADER:
        return "the image header";
    case STEP_SEG_HEADER:
        return "a segment header";
    case STEP_SEG_DATA:
        return "segment data";
    case STEP_FOOTER:
        return "the checksum block";
    case STEP_HASH:
        return "the SHA-256";
    default:
        return "the image";
    }
}

int ota32_image_parser_finish(ota32_image_parser *p, ota32_diag *diag)
{
    if (!p)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "image parser: none");
    if (p->stage == OTA32_IMAGE_STAGE_FAILED)
        return repeat_failure(p, diag);
    if (p->step != STEP_DONE) {
        if (p->step == STEP_SEG_HEADER || p->step == STEP_SEG_DATA)
            fail(p, OTA32_ERR_CORRUPT, p->pos,
                 "image truncated in %s of segment %u (%u bytes read)", step_name(p),
                 (unsigned)p->seg_index, (unsigned)p->pos);
        else
            fail(p, OTA32_ERR_CORRUPT, p->pos, "image truncated in %s (%u bytes read)",
                 step_name(p), (unsigned)p->pos);
        return repeat_failure(p, diag);
    }
    release_hash(p);
    return OTA32_OK;
}
