/* elf2image and the ELF reader: esptool's reference images byte for byte,
 * the layout rules on synthetic ELFs, and malformed ELFs rejected with the
 * offset named. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "bytes.h"
#include "elf.h"
#include "elf2image.h"
#include "ota32/image.h"
#include "posix_hash.h"

/* ---- a tiny ELF32 writer for synthetic inputs ---- */

#define MAX_SECS 40

typedef struct sec_spec {
    const char *name;
    uint32_t type, addr, size;
    uint8_t fill; /* data byte (the data is fill, fill+1, ...) */
} sec_spec;

typedef struct built {
    uint8_t *data;
    size_t len;
} built;

/* Layout: Ehdr | section data... | shstrtab | Shdr table. */
static built build_elf(const sec_spec *secs, size_t n, uint32_t entry)
{
    size_t data_len = 0, str_len = 1;
    for (size_t i = 0; i < n; i++) {
        if (secs[i].type != OTA32_SHT_NOBITS)
            data_len += secs[i].size;
        str_len += strlen(secs[i].name) + 1;
    }
    str_len += sizeof ".shstrtab";
    size_t shnum = n + 2; /* NULL, the sections, .shstrtab */
    size_t data_off = OTA32_ELF_EHDR_LEN, str_off = data_off + data_len;
    size_t sh_off = (str_off + str_len + 3) & ~(size_t)3;
    built b = {calloc(1, sh_off + shnum * OTA32_ELF_SHDR_LEN), sh_off + shnum * 40};
    uint8_t *d = b.data;
    memcpy(d,
           "\x7f"
           "ELF\x01\x01\x01",
           7);
    ota32_put_le16(d + 0x10, 2);
    ota32_put_le16(d + 0x12, OTA32_ELF_MACHINE_XTENSA);
    ota32_put_le32(d + 0x14, 1);
    ota32_put_le32(d + 0x18, entry);
    ota32_put_le32(d + 0x20, (uint32_t)sh_off);
    ota32_put_le16(d + 0x28, OTA32_ELF_EHDR_LEN);
    ota32_put_le16(d + 0x2E, OTA32_ELF_SHDR_LEN);
    ota32_put_le16(d + 0x30, (uint16_t)shnum);
    ota32_put_le16(d + 0x32, (uint16_t)(shnum - 1));
    size_t at = data_off, name_at = 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t *h = d + sh_off + (i + 1) * OTA32_ELF_SHDR_LEN;
        ota32_put_le32(h, (uint32_t)name_at);
        ota32_put_le32(h + 4, secs[i].type);
        ota32_put_le32(h + 12, secs[i].addr);
        ota32_put_le32(h + 16, (uint32_t)at);
        ota32_put_le32(h + 20, secs[i].size);
        ota32_put_le32(h + 32, 4);
        strcpy((char *)d + str_off + name_at, secs[i].name);
        name_at += strlen(secs[i].name) + 1;
        if (secs[i].type != OTA32_SHT_NOBITS) {
            for (uint32_t k = 0; k < secs[i].size; k++)
                d[at + k] = (uint8_t)(secs[i].fill + k);
            at += secs[i].size;
        }
    }
    uint8_t *h = d + sh_off + (shnum - 1) * OTA32_ELF_SHDR_LEN;
    ota32_put_le32(h, (uint32_t)name_at);
    ota32_put_le32(h + 4, OTA32_SHT_STRTAB);
    ota32_put_le32(h + 16, (uint32_t)str_off);
    ota32_put_le32(h + 20, (uint32_t)str_len);
    strcpy((char *)d + str_off + name_at, ".shstrtab");
    return b;
}

static ota32_elf2image_opts default_opts(void)
{
    ota32_elf2image_opts o;
    ota32_elf2image_opts_init(&o);
    o.hash = ota32_posix_hash();
    return o;
}

static int convert(const built *b, const ota32_elf2image_opts *o, uint8_t **img, size_t *len,
                   ota32_diag *diag)
{
    return ota32_elf2image(b->data, b->len, o, img, len, diag);
}

/* Independent check of an image's structure: returns the number of segments
 * walked and verifies checksum and SHA-256 (when appended). */
static unsigned check_image(const uint8_t *img, size_t len)
{
    CHECK(len >= 24 + 16);
    CHECK_EQ(img[0], 0xE9);
    size_t pos = 24;
    uint8_t cs = 0xEF;
    for (unsigned i = 0; i < img[1]; i++) {
        CHECK(pos + 8 <= len);
        if (pos + 8 > len)
            return 0;
        uint32_t dl = ota32_le32(img + pos + 4);
        CHECK_EQ(dl % 4, 0);
        pos += 8;
        CHECK(pos + dl <= len);
        if (pos + dl > len)
            return 0;
        for (uint32_t k = 0; k < dl; k++)
            cs ^= img[pos + k];
        pos += dl;
    }
    pos += 15 - pos % 16;
    CHECK(pos < len);
    if (pos >= len)
        return 0;
    CHECK_EQ(img[pos], cs);
    pos++;
    if (img[23] == 1) {
        uint8_t sha[32];
        CHECK(pos + 32 <= len);
        CHECK_EQ(ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, img, pos, sha), 0);
        CHECK_MEM(img + pos, sha, 32);
        pos += 32;
    }
    CHECK_EQ(pos, len);
    return img[1];
}

/* Segment i's (load address, data length, file offset of its data). */
static void segment_at(const uint8_t *img, unsigned idx, uint32_t *addr, uint32_t *dlen,
                       size_t *data_off)
{
    size_t pos = 24;
    for (unsigned i = 0; i < idx; i++)
        pos += 8 + ota32_le32(img + pos + 4);
    *addr = ota32_le32(img + pos);
    *dlen = ota32_le32(img + pos + 4);
    *data_off = pos + 8;
}

/* ---- the reference images ---- */

static void reference(const char *elf_rel, const char *bin_rel, const ota32_elf2image_opts *o)
{
    size_t elf_len = 0, ref_len = 0, len = 0;
    unsigned char *elf = check_read_file(check_interop_path(elf_rel), &elf_len);
    unsigned char *ref = check_read_file(check_interop_path(bin_rel), &ref_len);
    CHECK(elf && ref);
    if (!elf || !ref)
        goto out;
    uint8_t *img = NULL;
    ota32_diag diag;
    int rc = ota32_elf2image(elf, elf_len, o, &img, &len, &diag);
    CHECK_STR(rc == 0 ? "" : diag.msg, "");
    CHECK_EQ(len, ref_len);
    if (img && len == ref_len)
        CHECK_MEM(img, ref, len);
    if (img)
        check_image(img, len);
    free(img);
out:
    free(elf);
    free(ref);
}

TEST(app_template_matches_esptool)
{
    ota32_elf2image_opts o = default_opts();
    o.flash_mode = (uint8_t)ota32_esp32_flash_mode_code("dio");
    o.flash_size_freq =
        (uint8_t)(ota32_esp32_flash_size_code("4MB") | ota32_esp32_flash_freq_code("40m"));
    o.elf_sha256_offset = 0xB0;
    o.min_rev_full = 0;
    o.max_rev_full = 399;
    reference("esp-images/esp32-app-template.elf", "esp-images/app-template-esp32.bin", &o);
}

TEST(bootloader_matches_esptool)
{
    ota32_elf2image_opts o = default_opts();
    o.flash_mode = 2;
    o.flash_size_freq = 0x20;
    reference("esp-images/esp32-bootloader.elf", "esp-images/bootloader-esp32.bin", &o);
}

TEST(app_secure_pad_v2_ends_on_64k)
{
    size_t elf_len = 0, len = 0;
    unsigned char *elf =
        check_read_file(check_interop_path("esp-images/esp32-app-template.elf"), &elf_len);
    CHECK(elf != NULL);
    if (!elf)
        return;
    ota32_elf2image_opts o = default_opts();
    o.elf_sha256_offset = 0xB0;
    o.secure_pad = OTA32_SECURE_PAD_V2;
    uint8_t *img = NULL;
    CHECK_EQ(ota32_elf2image(elf, elf_len, &o, &img, &len, NULL), 0);
    CHECK_EQ(len, 0xA0000); /* checked with esptool: app_sp2.bin */
    if (img) {
        CHECK_EQ(check_image(img, len), 6);
        /* The ELF SHA-256 sits at 0xB0. */
        uint8_t sha[32];
        ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, elf, elf_len, sha);
        CHECK_MEM(img + 0xB0, sha, 32);
    }
    free(img);

    o.append_digest = false;
    ota32_diag diag;
    CHECK_EQ(ota32_elf2image(elf, elf_len, &o, &img, &len, &diag), OTA32_ERR_INVALID_ARG);
    CHECK_CONTAINS(diag.msg, "SHA-256 digest");
    free(elf);
}

TEST(elf_sha256_offset_must_hold_zeros)
{
    size_t elf_len = 0, len = 0;
    unsigned char *elf =
        check_read_file(check_interop_path("esp-images/esp32-app-template.elf"), &elf_len);
    CHECK(elf != NULL);
    if (!elf)
        return;
    ota32_elf2image_opts o = default_opts();
    uint8_t *img = NULL;
    ota32_diag diag;
    o.elf_sha256_offset = 0x30; /* the app version string */
    CHECK_EQ(ota32_elf2image(elf, elf_len, &o, &img, &len, &diag), OTA32_ERR_STATE);
    CHECK_CONTAINS(diag.msg, "offset 0x30: contents of segment");
    CHECK_EQ(diag.offset, 0x30);
    CHECK(img == NULL);
    o.elf_sha256_offset = 0x18; /* the first segment header */
    CHECK_EQ(ota32_elf2image(elf, elf_len, &o, &img, &len, &diag), OTA32_ERR_RANGE);
    CHECK_CONTAINS(diag.msg, "segment boundary");
    /* Without the option, this IDF v4.0 ELF has no .flash.appdesc: zeros stay. */
    o.elf_sha256_offset = 0;
    CHECK_EQ(ota32_elf2image(elf, elf_len, &o, &img, &len, NULL), 0);
    static const uint8_t zero[32];
    if (img)
        CHECK_MEM(img + 0xB0, zero, 32);
    free(img);
    free(elf);
}

/* ---- layout rules on synthetic ELFs ---- */

TEST(adjacent_sections_merge_in_file_order_only)
{
    /* .a and .b are adjacent DRAM (merged, .a padded from 6 to 8 bytes);
     * .c is adjacent to .b in address but comes after .d in the file. */
    sec_spec s[] = {
        {".a", OTA32_SHT_PROGBITS, 0x3FFB0000, 6, 0x10},
        {".b", OTA32_SHT_PROGBITS, 0x3FFB0008, 8, 0x20},
        {".d", OTA32_SHT_PROGBITS, 0x40080000, 8, 0x40},
        {".c", OTA32_SHT_PROGBITS, 0x3FFB0010, 4, 0x30},
        {".bss", OTA32_SHT_NOBITS, 0x3FFB0100, 64, 0},
        {".debug", OTA32_SHT_PROGBITS, 0, 12, 0x50},
    };
    built b = build_elf(s, sizeof s / sizeof s[0], 0x40080004);
    ota32_elf2image_opts o = default_opts();
    uint8_t *img = NULL;
    size_t len = 0;
    CHECK_EQ(convert(&b, &o, &img, &len, NULL), 0);
    if (img) {
        CHECK_EQ(check_image(img, len), 3);
        CHECK_EQ(ota32_le32(img + 4), 0x40080004);
        uint32_t addr, dl;
        size_t off;
        /* RAM segments are sorted by address at save time. */
        segment_at(img, 0, &addr, &dl, &off);
        CHECK_EQ(addr, 0x3FFB0000);
        CHECK_EQ(dl, 16);
        static const uint8_t first[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0,    0,
                                          0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27};
        CHECK_MEM(img + off, first, 16);
        segment_at(img, 1, &addr, &dl, &off);
        CHECK_EQ(addr, 0x3FFB0010);
        CHECK_EQ(dl, 4);
        segment_at(img, 2, &addr, &dl, &off);
        CHECK_EQ(addr, 0x40080000);
        /* Header defaults as esptool: qio, 1MB, wp 0xEE, max rev 65535. */
        CHECK_EQ(img[2], 0);
        CHECK_EQ(img[3], 0);
        CHECK_EQ(img[8], 0xEE);
        CHECK_EQ(ota32_le16(img + 17), 0xFFFF);
        CHECK_EQ(img[23], 1);
    }
    free(img);
    free(b.data);
}

TEST(no_merge_across_memory_types)
{
    /* 0x3FFADFF0 is BYTE_ACCESSIBLE only, 0x3FFAE000 is BYTE_ACCESSIBLE+DRAM. */
    sec_spec s[] = {
        {".x", OTA32_SHT_PROGBITS, 0x3FFADFF0, 16, 1},
        {".y", OTA32_SHT_PROGBITS, 0x3FFAE000, 16, 2},
    };
    built b = build_elf(s, 2, 0);
    ota32_elf2image_opts o = default_opts();
    uint8_t *img = NULL;
    size_t len = 0;
    CHECK_EQ(convert(&b, &o, &img, &len, NULL), 0);
    if (img)
        CHECK_EQ(check_image(img, len), 2);
    free(img);
    free(b.data);
}

TEST(flash_segments_aligned_with_ram_and_padding)
{
    /* DROM at 0x3F400020 lands right after the header (0x18 + 8); the IROM
     * segment at 0x400D0018 needs its data at file offset 0x...0018: the
     * gap is filled with the head of the IRAM segment, the rest follows. */
    sec_spec s[] = {
        {".flash.rodata", OTA32_SHT_PROGBITS, 0x3F400020, 0x100, 1},
        {".iram0.text", OTA32_SHT_PROGBITS, 0x40080000, 0x20000, 2},
        {".flash.text", OTA32_SHT_PROGBITS, 0x400D0018, 0x40, 3},
    };
    built b = build_elf(s, 3, 0x40080000);
    ota32_elf2image_opts o = default_opts();
    uint8_t *img = NULL;
    size_t len = 0;
    CHECK_EQ(convert(&b, &o, &img, &len, NULL), 0);
    if (img) {
        CHECK_EQ(check_image(img, len), 4);
        uint32_t addr, dl;
        size_t off;
        segment_at(img, 0, &addr, &dl, &off);
        CHECK_EQ(addr, 0x3F400020);
        CHECK_EQ(off, 0x20);
        segment_at(img, 1, &addr, &dl, &off); /* IRAM head used as padding */
        CHECK_EQ(addr, 0x40080000);
        CHECK_EQ(off + dl + 8, 0x10018);
        segment_at(img, 2, &addr, &dl, &off);
        CHECK_EQ(addr, 0x400D0018);
        CHECK_EQ(off % 0x10000, 0x18);
        /* Ends 0x58 past a page: no 0x24 extension needed. */
        CHECK_EQ(dl, 0x40);
        uint32_t head = 0;
        segment_at(img, 1, &addr, &head, &off);
        segment_at(img, 3, &addr, &dl, &off); /* the IRAM rest */
        CHECK_EQ(addr, 0x40080000 + head);
        CHECK_EQ(head + dl, 0x20000);
    }
    free(img);
    free(b.data);
}

TEST(zero_padding_segment_and_page_tail_workaround)
{
    /* No RAM to fill the gap: a zero segment at load address 0 does. The
     * flash segment then ends 0x10 into a page, so it is extended to 0x24. */
    sec_spec s[] = {
        {".flash.text", OTA32_SHT_PROGBITS, 0x400E0018, 0xFFF8, 7},
    };
    built b = build_elf(s, 1, 0x400E0018);
    ota32_elf2image_opts o = default_opts();
    uint8_t *img = NULL;
    size_t len = 0;
    CHECK_EQ(convert(&b, &o, &img, &len, NULL), 0);
    if (img) {
        CHECK_EQ(check_image(img, len), 2);
        uint32_t addr, dl;
        size_t off;
        segment_at(img, 0, &addr, &dl, &off);
        CHECK_EQ(addr, 0);
        CHECK_EQ(dl, 0x10018 - 0x18 - 16);
        segment_at(img, 1, &addr, &dl, &off);
        CHECK_EQ(addr, 0x400E0018);
        CHECK_EQ(off, 0x10018);
        CHECK_EQ((off + dl) % 0x10000, 0x24);
        CHECK_EQ(dl, 0xFFF8 + 0x14);
        CHECK_EQ(img[off + 0xFFF8], 0);
    }
    free(img);
    free(b.data);
}

TEST(two_flash_sections_in_one_page_rejected)
{
    sec_spec s[] = {
        {".flash.a", OTA32_SHT_PROGBITS, 0x400D0018, 0x10, 1},
        {".flash.b", OTA32_SHT_PROGBITS, 0x400D1000, 0x10, 2},
    };
    built b = build_elf(s, 2, 0);
    ota32_elf2image_opts o = default_opts();
    uint8_t *img = NULL;
    size_t len = 0;
    ota32_diag diag;
    CHECK_EQ(convert(&b, &o, &img, &len, &diag), OTA32_ERR_RANGE);
    CHECK_CONTAINS(diag.msg, "segment loaded at 0x400d1000 lands in the same 64 KB");
    free(b.data);
}

TEST(more_than_16_segments_rejected)
{
    sec_spec s[17];
    char names[17][8];
    for (int i = 0; i < 17; i++) {
        snprintf(names[i], sizeof names[i], ".s%d", i);
        s[i] = (sec_spec){names[i], OTA32_SHT_PROGBITS, 0x3FFB0000u + 0x100u * (uint32_t)i, 16,
                          (uint8_t)i};
    }
    built b = build_elf(s, 17, 0);
    ota32_elf2image_opts o = default_opts();
    uint8_t *img = NULL;
    size_t len = 0;
    ota32_diag diag;
    CHECK_EQ(convert(&b, &o, &img, &len, &diag), OTA32_ERR_TOO_BIG);
    CHECK_CONTAINS(diag.msg, "17 segments after merging (max 16)");
    free(b.data); /* 16 are fine */
    b = build_elf(s, 16, 0);
    CHECK_EQ(convert(&b, &o, &img, &len, NULL), 0);
    if (img)
        CHECK_EQ(check_image(img, len), 16);
    free(img);
    free(b.data);
}

TEST(appdesc_section_implies_sha_offset)
{
    /* An IDF >= 5 app has .flash.appdesc first in DROM: the ELF SHA-256 goes
     * to 0xB0 even without the option, and the section leads the image. */
    uint8_t *img = NULL;
    size_t len = 0;
    sec_spec s[] = {
        {".flash.rodata", OTA32_SHT_PROGBITS, 0x3F410020, 0x40, 9},
        {".flash.appdesc", OTA32_SHT_PROGBITS, 0x3F400020, 0x100, 0},
    };
    built b = build_elf(s, 2, 0);
    /* Zero the 32 bytes that will receive the SHA-256 (0xB0 - 0x20). */
    ota32_elf e;
    CHECK_EQ(ota32_elf_open(&e, b.data, b.len, NULL), 0);
    ota32_elf_section sec;
    CHECK_EQ(ota32_elf_section_get(&e, 2, &sec), 0);
    CHECK_STR(sec.name, ".flash.appdesc");
    memset(b.data + sec.offset + 0x90, 0, 32);
    ota32_elf2image_opts o = default_opts();
    CHECK_EQ(convert(&b, &o, &img, &len, NULL), 0);
    if (img) {
        uint8_t sha[32];
        ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, b.data, b.len, sha);
        CHECK_MEM(img + 0xB0, sha, 32);
        uint32_t addr, dl;
        size_t off;
        segment_at(img, 0, &addr, &dl, &off);
        CHECK_EQ(addr, 0x3F400020);
        check_image(img, len);
    }
    free(img);
    free(b.data);
}

/* ---- malformed ELFs ---- */

static void expect_reject(const uint8_t *d, size_t len, int err, const char *msg, long offset)
{
    ota32_elf e;
    ota32_diag diag;
    int rc = ota32_elf_open(&e, d, len, &diag);
    CHECK_EQ(rc, err);
    CHECK_CONTAINS(diag.msg, msg);
    CHECK_EQ(diag.offset, offset);
    /* elf2image reports the same. */
    ota32_elf2image_opts o = default_opts();
    uint8_t *img = NULL;
    size_t n = 0;
    CHECK_EQ(ota32_elf2image(d, len, &o, &img, &n, &diag), err);
    CHECK_CONTAINS(diag.msg, msg);
    CHECK(img == NULL);
}

TEST(malformed_elfs_rejected_with_offsets)
{
    size_t len = 0;
    unsigned char *elf =
        check_read_file(check_interop_path("esp-images/esp32-bootloader.elf"), &len);
    CHECK(elf != NULL);
    if (!elf)
        return;
    uint8_t *d = malloc(len);
    ota32_elf e;
    CHECK_EQ(ota32_elf_open(&e, elf, len, NULL), 0);
    CHECK_EQ(e.shnum, 20);
    CHECK_EQ(e.phnum, 4);
    CHECK_EQ(e.entry, 0x40098118);

    expect_reject(elf, 0, OTA32_ERR_CORRUPT, "offset 0x0: truncated ELF header (0 of 52", 0);
    expect_reject(elf, 51, OTA32_ERR_CORRUPT, "offset 0x33: truncated ELF header", 51);
    memcpy(d, elf, len);
    d[1] = 'e';
    expect_reject(d, len, OTA32_ERR_CORRUPT, "offset 0x0: invalid ELF magic 7f 65 4c 46", 0);
    memcpy(d, elf, len);
    d[4] = 2;
    expect_reject(d, len, OTA32_ERR_UNSUPPORTED, "EI_CLASS 2", 4);
    memcpy(d, elf, len);
    d[0x12] = 0x28; /* ARM */
    expect_reject(d, len, OTA32_ERR_UNSUPPORTED, "offset 0x12: e_machine 0x0028", 0x12);
    memcpy(d, elf, len);
    d[0x2E] = 0x20;
    expect_reject(d, len, OTA32_ERR_CORRUPT, "offset 0x2e: e_shentsize 0x20", 0x2E);
    memcpy(d, elf, len);
    d[0x30] = d[0x31] = 0;
    expect_reject(d, len, OTA32_ERR_CORRUPT, "offset 0x30: e_shnum is 0", 0x30);
    /* Cut the file inside the section header table (it is at the end). */
    expect_reject(elf, len - 1, OTA32_ERR_CORRUPT,
                  "offset 0x20: section header table at 0x5a5b0 (20 x 0x28 bytes) extends past "
                  "the end of the file (0x5a8cf bytes)",
                  0x20);
    memcpy(d, elf, len);
    ota32_put_le16(d + 0x32, 20);
    expect_reject(d, len, OTA32_ERR_CORRUPT, "offset 0x32: e_shstrndx 20", 0x32);
    memcpy(d, elf, len);
    ota32_put_le32(d + 0x1C, (uint32_t)len - 0x40); /* program headers past the end */
    expect_reject(d, len, OTA32_ERR_CORRUPT, "offset 0x1c: program header table", 0x1C);

    /* Section [1] .iram1.text: data moved beyond the end of the file. */
    size_t sh1 = e.shoff + 1 * OTA32_ELF_SHDR_LEN;
    memcpy(d, elf, len);
    ota32_put_le32(d + sh1 + 16, (uint32_t)len - 0x10);
    char want[160];
    snprintf(want, sizeof want,
             "offset 0x%zx: section [1] '.iram1.text' data at 0x%zx size 0x1fc extends past "
             "the end of the file",
             sh1, len - 0x10);
    expect_reject(d, len, OTA32_ERR_CORRUPT, want, (long)sh1);
    /* Offset + size wrapping around 2^32 must not pass. */
    memcpy(d, elf, len);
    ota32_put_le32(d + sh1 + 16, 0xFFFFFF00u);
    expect_reject(d, len, OTA32_ERR_CORRUPT, "section [1] '.iram1.text' data at 0xffffff00",
                  (long)sh1);
    /* Name offset outside the name table. */
    memcpy(d, elf, len);
    ota32_put_le32(d + sh1, 0x10000);
    snprintf(want, sizeof want, "offset 0x%zx: section [1] name offset 0x10000", sh1);
    expect_reject(d, len, OTA32_ERR_CORRUPT, want, (long)sh1);
    /* A PT_LOAD whose data runs past the end. */
    memcpy(d, elf, len);
    ota32_put_le32(d + e.phoff + 16, (uint32_t)len + 1);
    expect_reject(d, len, OTA32_ERR_CORRUPT, "offset 0x34: program header [0] (LOAD)", 0x34);
    free(d);
    free(elf);
}

TEST(reader_views_stay_inside_the_file)
{
    size_t len = 0;
    unsigned char *elf =
        check_read_file(check_interop_path("esp-images/esp32-app-template.elf"), &len);
    CHECK(elf != NULL);
    if (!elf)
        return;
    ota32_elf e;
    CHECK_EQ(ota32_elf_open(&e, elf, len, NULL), 0);
    CHECK_EQ(e.shnum, 34);
    ota32_elf_section s;
    CHECK_EQ(ota32_elf_section_get(&e, 11, &s), 0);
    CHECK_STR(s.name, ".flash.rodata");
    CHECK_EQ(s.addr, 0x3F400020);
    CHECK_EQ(s.size, 0x18C0C);
    CHECK(s.data == elf + 0x100);
    CHECK_EQ(ota32_elf_section_get(&e, 10, &s), 0);
    CHECK_STR(s.name, ".dram0.bss");
    CHECK(s.data == NULL);
    CHECK_EQ(ota32_elf_section_get(&e, 34, &s), OTA32_ERR_RANGE);
    ota32_elf_segment p;
    CHECK_EQ(ota32_elf_segment_get(&e, 5, &p), 0);
    CHECK_EQ(p.paddr, 0x400D0018);
    CHECK_EQ(p.filesz, 0x67A8E);
    CHECK_EQ(ota32_elf_segment_get(&e, 6, &p), OTA32_ERR_RANGE);
    free(elf);
}

RUN_TESTS(INTEROP_CASE(app_template_matches_esptool), INTEROP_CASE(bootloader_matches_esptool),
          INTEROP_CASE(app_secure_pad_v2_ends_on_64k),
          INTEROP_CASE(elf_sha256_offset_must_hold_zeros),
          CASE(adjacent_sections_merge_in_file_order_only), CASE(no_merge_across_memory_types),
          CASE(flash_segments_aligned_with_ram_and_padding),
          CASE(zero_padding_segment_and_page_tail_workaround),
          CASE(two_flash_sections_in_one_page_rejected), CASE(more_than_16_segments_rejected),
          CASE(appdesc_section_implies_sha_offset),
          INTEROP_CASE(malformed_elfs_rejected_with_offsets),
          INTEROP_CASE(reader_views_stay_inside_the_file))
