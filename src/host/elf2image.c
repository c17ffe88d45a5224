/* ELF -> ESP32 image, following esptool's elf2image layout rules exactly. */
#include "elf2image.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "elf.h"
#include "ota32/image.h"

#define MMU_PAGE 0x10000u /* ESP32 flash MMU page (IROM_ALIGN) */
#define SEG_HDR OTA32_IMAGE_SEG_HEADER_LEN
#define SHA_LEN OTA32_SHA256_LEN
#define CHECKSUM_SEED 0xEFu
#define SEGMENT_LEN_LIMIT 0x1000000u /* data_len must stay below 16 MB */
#define WP_PIN_DISABLED 0xEEu
#define PAGE_TAIL_MIN 0x24u /* see save_flash_segment() */
/* esp_app_desc_t.app_elf_sha256: image offset 0x20 + 144 */
#define APP_DESC_ELF_SHA_OFFSET 0xB0u

_Static_assert(OTA32_IMAGE_HEADER_LEN == 24, "esp_image_header_t is 24 bytes");
_Static_assert(SEG_HDR == 8, "esp_image_segment_header_t is 8 bytes");
_Static_assert(APP_DESC_ELF_SHA_OFFSET == OTA32_APP_DESC_OFFSET + 144, "app_elf_sha256 at 0xB0");

/* esptool's ESP32ROM.MEMORY_MAP. Regions overlap, so a start address has a
 * set of types; two segments merge only when their sets are equal. */
static const struct region {
    uint32_t lo, hi;
} esp32_memory_map[] = {
    {0x00000000, 0x00010000}, /* PADDING */
    {0x3F400000, 0x3F800000}, /* DROM */
    {0x3F800000, 0x3FC00000}, /* EXTRAM_DATA */
    {0x3FF80000, 0x3FF82000}, /* RTC_DRAM */
    {0x3FF90000, 0x40000000}, /* BYTE_ACCESSIBLE */
    {0x3FFAE000, 0x40000000}, /* DRAM */
    {0x3FFE0000, 0x3FFFFFFC}, /* DIRAM_DRAM */
    {0x40000000, 0x40070000}, /* IROM (mask ROM) */
    {0x40070000, 0x40078000}, /* CACHE_PRO */
    {0x40078000, 0x40080000}, /* CACHE_APP */
    {0x40080000, 0x400A0000}, /* IRAM */
    {0x400A0000, 0x400BFFFC}, /* DIRAM_IRAM */
    {0x400C0000, 0x400C2000}, /* RTC_IRAM */
    {0x400D0000, 0x40400000}, /* IROM (flash) */
    {0x50000000, 0x50002000}, /* RTC_DATA */
};

static uint32_t memory_types(uint32_t addr)
{
    uint32_t set = 0;
    for (size_t i = 0; i < sizeof esp32_memory_map / sizeof esp32_memory_map[0]; i++)
        if (esp32_memory_map[i].lo <= addr && addr < esp32_memory_map[i].hi)
            set |= 1u << i;
    return set;
}

static bool is_flash_addr(uint32_t addr)
{
    return (addr >= 0x400D0000u && addr < 0x40400000u) ||
           (addr >= 0x3F400000u && addr < 0x3F800000u);
}

/* A segment before layout: owned bytes (padded to 4), merged in place. */
typedef struct seg {
    const char *name;
    uint32_t addr;
    uint8_t *buf;
    size_t len;
} seg;

/* A view used during layout; RAM segments get split from the front. */
typedef struct view {
    const char *name;
    uint64_t addr;
    const uint8_t *data;
    size_t len;
} view;

typedef struct out {
    uint8_t *p;
    size_t len, cap;
} out;

typedef struct ctx {
    const ota32_elf2image_opts *opts;
    ota32_diag *diag;
    out o;
    uint8_t checksum;
    unsigned total_segments;
    uint32_t sha_offset; /* 0: none */
    uint8_t elf_sha[SHA_LEN];
} ctx;

static int out_grow(ctx *c, size_t extra)
{
    out *o = &c->o;
    if (extra > OTA32_ELF2IMAGE_MAX_LEN - o->len)
        return ota32_diag_fail(c->diag, OTA32_ERR_TOO_BIG, 0, -1, "image would exceed %u bytes",
                               OTA32_ELF2IMAGE_MAX_LEN);
    if (o->len + extra <= o->cap)
        return OTA32_OK;
    size_t cap = o->cap ? o->cap : 64 * 1024;
    while (cap < o->len + extra)
        cap *= 2;
    uint8_t *p = realloc(o->p, cap);
    if (!p)
        return OTA32_ERR_NO_MEM;
    o->p = p;
    o->cap = cap;
    return OTA32_OK;
}

static int out_put(ctx *c, const void *data, size_t len, int fill)
{
    int rc = out_grow(c, len);
    if (rc != OTA32_OK)
        return rc;
    if (data)
        memcpy(c->o.p + c->o.len, data, len);
    else
        memset(c->o.p + c->o.len, fill, len);
    c->o.len += len;
    return OTA32_OK;
}

/* Write one segment: header, data, `zeros` extra zero bytes. Places the ELF
 * SHA-256 when its offset falls inside, and folds the data into the checksum
 * (esptool's maybe_patch_segment_data + save_segment). */
static int save_segment(ctx *c, uint64_t addr, const uint8_t *data, size_t len, size_t zeros,
                        const char *name)
{
    size_t total = len + zeros, pos = c->o.len;
    bool patch = c->sha_offset && c->sha_offset >= pos && c->sha_offset < pos + total;
    size_t patch_at = 0;
    if (patch) {
        size_t rel = c->sha_offset - pos; /* from the segment header */
        if (rel < SEG_HDR || rel + SHA_LEN > total)
            return ota32_diag_fail(c->diag, OTA32_ERR_RANGE, 0, (long)c->sha_offset,
                                   "offset 0x%x: cannot place the ELF SHA-256 on a segment "
                                   "boundary (segment at 0x%zx, %zu bytes)",
                                   c->sha_offset, pos, total);
        patch_at = rel - SEG_HDR;
    }
    if (total & 3)
        return ota32_diag_fail(c->diag, OTA32_ERR_CORRUPT, 0, (long)pos,
                               "offset 0x%zx: invalid %s segment length 0x%zx: it has to be "
                               "a multiple of 4",
                               pos, name, total);
    if (total >= SEGMENT_LEN_LIMIT)
        return ota32_diag_fail(c->diag, OTA32_ERR_TOO_BIG, 0, (long)pos,
                               "offset 0x%zx: invalid %s segment length 0x%zx: the 16 MB "
                               "limit has been exceeded",
                               pos, name, total);
    uint8_t hdr[SEG_HDR];
    ota32_put_le32(hdr, (uint32_t)addr);
    ota32_put_le32(hdr + 4, (uint32_t)total);
    int rc = out_put(c, hdr, sizeof hdr, 0);
    if (rc == OTA32_OK)
        rc = out_put(c, data, len, 0);
    if (rc == OTA32_OK)
        rc = out_put(c, NULL, zeros, 0);
    if (rc != OTA32_OK)
        return rc;
    uint8_t *body = c->o.p + pos + SEG_HDR;
    if (patch) {
        static const uint8_t zero[SHA_LEN];
        if (memcmp(body + patch_at, zero, SHA_LEN) != 0)
            return ota32_diag_fail(c->diag, OTA32_ERR_STATE, 0, (long)c->sha_offset,
                                   "offset 0x%x: contents of segment at the ELF SHA-256 "
                                   "offset are not zero; refusing to overwrite",
                                   c->sha_offset);
        memcpy(body + patch_at, c->elf_sha, SHA_LEN);
    }
    for (size_t i = 0; i < total; i++)
        c->checksum ^= body[i];
    c->total_segments++;
    return OTA32_OK;
}

/* ESP-IDF's second-stage bootloader once failed to map the last MMU page of
 * a flash segment ending less than 0x24 bytes into it; esptool extends such
 * segments with zeros, and so does this. */
static int save_flash_segment(ctx *c, const view *v)
{
    size_t end = c->o.len + SEG_HDR + v->len;
    size_t rem = end % MMU_PAGE;
    size_t zeros = rem < PAGE_TAIL_MIN ? PAGE_TAIL_MIN - rem : 0;
    return save_segment(c, v->addr, v->data, v->len, zeros, v->name);
}

/* Data bytes to put before the next segment header so that the flash
 * segment's data lands at file offset == addr (mod 64 KB), accounting for
 * the padding segment's own header. 0 when already aligned. */
static size_t alignment_needed(size_t pos, uint32_t addr)
{
    long long align_past = (long long)(addr % MMU_PAGE) - SEG_HDR;
    long long pad = (long long)(MMU_PAGE - pos % MMU_PAGE) + align_past;
    if (pad == 0 || pad == MMU_PAGE)
        return 0;
    pad -= SEG_HDR;
    if (pad < 0)
        pad += MMU_PAGE;
    return (size_t)pad;
}

/* Stable insertion sort by address (n <= 16 after the count check). */
static void sort_views(view *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        view t = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1].addr > t.addr; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

static void move_to_front(view *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, name) == 0) {
            view t = v[i];
            memmove(v + 1, v, i * sizeof *v);
            v[0] = t;
            return;
        }
    }
}

/* The image header (the segment count is patched in at the end). */
static int put_header(ctx *c, uint32_t entry)
{
    const ota32_elf2image_opts *o = c->opts;
    uint8_t hdr[OTA32_IMAGE_HEADER_LEN] = {0};
    hdr[0] = OTA32_IMAGE_MAGIC;
    hdr[2] = o->flash_mode;
    hdr[3] = o->flash_size_freq;
    ota32_put_le32(hdr + 4, entry);
    hdr[8] = WP_PIN_DISABLED;
    ota32_put_le16(hdr + 12, OTA32_CHIP_ESP32);
    hdr[14] = o->min_rev;
    ota32_put_le16(hdr + 15, o->min_rev_full);
    ota32_put_le16(hdr + 17, o->max_rev_full);
    hdr[23] = o->append_digest ? 1 : 0;
    return out_put(c, hdr, sizeof hdr, 0);
}

/* Flash segments first; the gap before each is filled with the head of the
 * next RAM segment when it is worth a segment header, else zeros. Each pass
 * writes a segment, so this ends after at most nflash * 2 + nram passes. */
static int put_segments(ctx *c, view *flash, size_t nflash, view *ram, size_t nram)
{
    int rc = OTA32_OK;
    size_t fi = 0, ri = 0;
    while (rc == OTA32_OK && fi < nflash) {
        size_t pad = alignment_needed(c->o.len, (uint32_t)flash[fi].addr);
        if (pad == 0) {
            rc = save_flash_segment(c, &flash[fi++]);
        } else if (ri < nram && pad > SEG_HDR) {
            view *r = &ram[ri];
            size_t take = pad < r->len ? pad : r->len;
            rc = save_segment(c, r->addr, r->data, take, 0, r->name);
            r->data += take;
            r->len -= take;
            r->addr += pad; /* as esptool: advanced by the requested length */
            if (r->len == 0)
                ri++;
        } else {
            rc = save_segment(c, 0, NULL, 0, pad, flash[fi].name);
        }
    }
    for (; rc == OTA32_OK && ri < nram; ri++)
        rc = save_segment(c, ram[ri].addr, ram[ri].data, ram[ri].len, 0, ram[ri].name);
    return rc;
}

/* Secure boot padding: the signature (v1) or the signature sector (v2) must
 * start where the bootloader expects it. */
static int put_secure_pad(ctx *c)
{
    const ota32_elf2image_opts *o = c->opts;
    if (o->secure_pad == OTA32_SECURE_PAD_NONE)
        return OTA32_OK;
    if (!o->append_digest)
        return ota32_diag_fail(c->diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "secure padding only applies if a SHA-256 digest is "
                               "also appended to the image");
    /* v1: SHA-256 + version word + signature + 12 alignment bytes;
     * v2: SHA-256 only, the signature sector starts on the next page. */
    size_t after_checksum = o->secure_pad == OTA32_SECURE_PAD_V1 ? 32 + 4 + 64 + 12 : SHA_LEN;
    size_t align_past = (c->o.len + SEG_HDR) % MMU_PAGE;
    long long pad =
        ((long long)MMU_PAGE - (long long)align_past - 16 - (long long)after_checksum) % MMU_PAGE;
    if (pad < 0)
        pad += MMU_PAGE;
    return save_segment(c, 0, NULL, 0, (size_t)pad, "secure padding");
}

/* Checksum in the last byte of a 16-byte block (the pad is zeros), the
 * segment count, the digest and the padding to a size. */
static int put_trailer(ctx *c)
{
    const ota32_elf2image_opts *o = c->opts;
    int rc = out_put(c, NULL, 15 - c->o.len % 16, 0);
    if (rc == OTA32_OK)
        rc = out_put(c, &c->checksum, 1, 0);
    if (rc != OTA32_OK)
        return rc;
    if (c->total_segments > 0xFF)
        return ota32_diag_fail(c->diag, OTA32_ERR_TOO_BIG, 0, 1,
                               "%u segments do not fit "
                               "the header's count byte",
                               c->total_segments);
    c->o.p[1] = (uint8_t)c->total_segments; /* padding segments included */

    if (o->append_digest) {
        uint8_t digest[SHA_LEN];
        rc = ota32_hash_buf(o->hash, OTA32_HASH_SHA256, c->o.p, c->o.len, digest);
        if (rc == OTA32_OK)
            rc = out_put(c, digest, sizeof digest, 0);
        if (rc != OTA32_OK)
            return rc;
    }
    if (o->pad_to_size && c->o.len % o->pad_to_size)
        rc = out_put(c, NULL, o->pad_to_size - c->o.len % o->pad_to_size, 0xFF);
    return rc;
}

static int layout(ctx *c, const seg *segs, size_t n, uint32_t entry)
{
    view flash[OTA32_IMAGE_MAX_SEGMENTS], ram[OTA32_IMAGE_MAX_SEGMENTS];
    size_t nflash = 0, nram = 0;
    if (n > OTA32_IMAGE_MAX_SEGMENTS)
        return OTA32_ERR_INVALID_ARG; /* the caller checks the count first */
    for (size_t i = 0; i < n; i++) {
        view v = {segs[i].name, segs[i].addr, segs[i].buf, segs[i].len};
        if (is_flash_addr(segs[i].addr))
            flash[nflash++] = v;
        else
            ram[nram++] = v;
    }
    sort_views(flash, nflash);
    sort_views(ram, nram);
    move_to_front(flash, nflash, ".flash.appdesc");
    move_to_front(ram, nram, ".dram0.bootdesc");
    for (size_t i = 1; i < nflash; i++)
        if (flash[i].addr / MMU_PAGE == flash[i - 1].addr / MMU_PAGE)
            return ota32_diag_fail(c->diag, OTA32_ERR_RANGE, 0, -1,
                                   "segment loaded at 0x%08x lands in the same 64 KB flash "
                                   "mapping as the segment loaded at 0x%08x; merge the "
                                   "sections in the linker script",
                                   (uint32_t)flash[i].addr, (uint32_t)flash[i - 1].addr);
    int rc = put_header(c, entry);
    if (rc == OTA32_OK)
        rc = put_segments(c, flash, nflash, ram, nram);
    if (rc == OTA32_OK)
        rc = put_secure_pad(c);
    if (rc == OTA32_OK)
        rc = put_trailer(c);
    return rc;
}

/* Copy a loadable range, zero-padded to a multiple of 4. */
static int seg_init(seg *s, const char *name, uint32_t addr, const uint8_t *data, size_t len)
{
    size_t padded = (len + 3) & ~(size_t)3;
    s->name = name;
    s->addr = addr;
    s->len = padded;
    s->buf = calloc(1, padded ? padded : 1);
    if (!s->buf)
        return OTA32_ERR_NO_MEM;
    memcpy(s->buf, data, len);
    return OTA32_OK;
}

static int too_much(ota32_diag *diag)
{
    return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1, "loadable data exceeds %u bytes",
                           OTA32_ELF2IMAGE_MAX_LEN);
}

/* Loadable sections (or PT_LOAD program headers) in file order. */
static int collect(const ota32_elf *elf, bool use_segments, seg *segs, size_t *n, ota32_diag *diag)
{
    /* Sections may share file bytes, so the sum is bounded separately. */
    uint64_t total = 0;
    *n = 0;
    if (use_segments) {
        for (unsigned i = 0; i < elf->phnum; i++) {
            ota32_elf_segment p;
            ota32_elf_segment_get(elf, i, &p);
            /* esptool loads PT_LOAD at p_paddr (the LMA) with p_filesz bytes. */
            if (p.type != OTA32_PT_LOAD || p.paddr == 0 || p.filesz == 0 || !p.data)
                continue;
            if ((total += p.filesz) > OTA32_ELF2IMAGE_MAX_LEN)
                return too_much(diag);
            int rc = seg_init(&segs[(*n)++], "PHDR", p.paddr, p.data, p.filesz);
            if (rc != OTA32_OK)
                return rc;
        }
        return OTA32_OK;
    }
    for (unsigned i = 0; i < elf->shnum; i++) {
        ota32_elf_section s;
        ota32_elf_section_get(elf, i, &s);
        if (s.addr == 0 || s.size == 0)
            continue;
        bool prog = s.type == OTA32_SHT_PROGBITS || s.type == OTA32_SHT_INIT_ARRAY ||
                    s.type == OTA32_SHT_FINI_ARRAY || s.type == OTA32_SHT_PREINIT_ARRAY;
        if (!prog || !s.data) /* .bss and other non-loadable kinds */
            continue;
        if ((total += s.size) > OTA32_ELF2IMAGE_MAX_LEN)
            return too_much(diag);
        int rc = seg_init(&segs[(*n)++], s.name, s.addr, s.data, s.size);
        if (rc != OTA32_OK)
            return rc;
    }
    return OTA32_OK;
}

/* Merge each segment into its predecessor (in file order, not address order)
 * when it starts where the predecessor ends and in the same memory regions.
 * Gaps are never filled: they may be noinit memory. */
static int merge_adjacent(seg *segs, size_t *n)
{
    if (*n == 0)
        return OTA32_OK;
    /* Decide every join on the segments as they are in the file... */
    bool *joins = calloc(*n, sizeof *joins);
    if (!joins)
        return OTA32_ERR_NO_MEM;
    for (size_t i = 1; i < *n; i++)
        joins[i] = segs[i].addr == (uint64_t)segs[i - 1].addr + segs[i - 1].len &&
                   memory_types(segs[i].addr) == memory_types(segs[i - 1].addr);
    /* ...then append the joined ones to the head of their run. */
    size_t w = 0;
    int rc = OTA32_OK;
    for (size_t i = 1; i < *n; i++) {
        if (!joins[i]) {
            segs[++w] = segs[i];
            if (w != i)
                segs[i].buf = NULL; /* now owned by segs[w] */
            continue;
        }
        seg *dst = &segs[w];
        uint8_t *p = rc == OTA32_OK ? realloc(dst->buf, dst->len + segs[i].len) : NULL;
        if (p) {
            memcpy(p + dst->len, segs[i].buf, segs[i].len);
            dst->buf = p;
            dst->len += segs[i].len;
        } else {
            rc = OTA32_ERR_NO_MEM;
        }
        free(segs[i].buf);
        segs[i].buf = NULL;
    }
    free(joins);
    *n = w + 1;
    return rc;
}

void ota32_elf2image_opts_init(ota32_elf2image_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->flash_mode = 0;      /* qio */
    opts->flash_size_freq = 0; /* 1MB, default frequency */
    opts->max_rev_full = 0xFFFF;
    opts->append_digest = true;
}

int ota32_elf2image(const uint8_t *elf_data, size_t elf_len, const ota32_elf2image_opts *opts,
                    uint8_t **out_img, size_t *out_len, ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!opts || !out_img || !out_len || !opts->hash)
        return OTA32_ERR_INVALID_ARG;
    *out_img = NULL;
    *out_len = 0;
    ota32_elf elf;
    int rc = ota32_elf_open(&elf, elf_data, elf_len, diag);
    if (rc != OTA32_OK)
        return rc;

    size_t cap = opts->use_segments ? elf.phnum : elf.shnum, n = 0;
    seg *segs = calloc(cap ? cap : 1, sizeof *segs);
    if (!segs)
        return OTA32_ERR_NO_MEM;
    ctx c = {.opts = opts, .diag = diag, .checksum = CHECKSUM_SEED};

    rc = collect(&elf, opts->use_segments, segs, &n, diag);
    if (rc == OTA32_OK) {
        c.sha_offset = opts->elf_sha256_offset;
        if (!c.sha_offset) {
            /* An app descriptor section in flash implies offset 0xB0. */
            for (size_t i = 0; i < n; i++) {
                if (strstr(segs[i].name, ".flash.appdesc")) {
                    if (is_flash_addr(segs[i].addr))
                        c.sha_offset = APP_DESC_ELF_SHA_OFFSET;
                    break;
                }
            }
        }
        if (c.sha_offset)
            rc = ota32_hash_buf(opts->hash, OTA32_HASH_SHA256, elf_data, elf_len, c.elf_sha);
    }
    if (rc == OTA32_OK)
        rc = merge_adjacent(segs, &n);
    if (rc == OTA32_OK && n > OTA32_IMAGE_MAX_SEGMENTS)
        rc = ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                             "%zu segments after merging (max %u): usually a linker script "
                             "problem",
                             n, OTA32_IMAGE_MAX_SEGMENTS);
    if (rc == OTA32_OK)
        rc = layout(&c, segs, n, elf.entry);

    for (size_t i = 0; i < cap; i++)
        free(segs[i].buf);
    free(segs);
    if (rc != OTA32_OK) {
        free(c.o.p);
        return rc;
    }
    *out_img = c.o.p;
    *out_len = c.o.len;
    return OTA32_OK;
}

int ota32_esp32_flash_mode_code(const char *name)
{
    static const char *const modes[] = {"qio", "qout", "dio", "dout"};
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, modes[i]))
            return i;
    return -1;
}

int ota32_esp32_flash_freq_code(const char *name)
{
    static const struct {
        const char *name;
        int code;
    } freqs[] = {{"80m", 0xF}, {"40m", 0x0}, {"26m", 0x1}, {"20m", 0x2}};
    for (size_t i = 0; name && i < sizeof freqs / sizeof freqs[0]; i++)
        if (!strcmp(name, freqs[i].name))
            return freqs[i].code;
    return -1;
}

int ota32_esp32_flash_size_code(const char *name)
{
    static const char *const sizes[] = {"1MB",  "2MB",  "4MB",  "8MB",
                                        "16MB", "32MB", "64MB", "128MB"};
    for (int i = 0; name && i < 8; i++)
        if (!strcmp(name, sizes[i]))
            return i << 4;
    return -1;
}
