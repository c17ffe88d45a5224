#include "serve_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag_text.h"
#include "ota32/partition.h"
#include "partition_csv.h"
#include "ota32/signature.h"
#include "posix_hash.h"

/* The two kinds of binary, as the OTA service documentation explains them. */
static const char merged_explanation[] =
    "this is a merged image (bootloader + partition table + app): it is for "
    "flashing a device for the first time with `make flash-esp32-bin`, not for "
    "OTA. Host the app image from `make build-esp32-ota` instead (it starts "
    "with 0xE9 at offset 0 and must fit the smallest ota_* partition)";

static bool read_at(int fd, uint64_t off, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

static bool is_flash_size(uint64_t size)
{
    for (uint64_t mb = 1; mb <= 128; mb *= 2)
        if (size == mb << 20)
            return true;
    return false;
}

/* A merged image has the bootloader at 0x1000 (ESP32, ESP32-S2) or 0x0
 * (later chips) and the partition table at 0x8000; esptool pads it to the
 * flash size when asked to. */
static bool looks_merged(int fd, uint64_t size)
{
    uint8_t b0 = 0, b1000 = 0, pt[2] = {0, 0};
    if (size < 0x8000 + 2)
        return false;
    if (!read_at(fd, 0, &b0, 1) || !read_at(fd, 0x1000, &b1000, 1) || !read_at(fd, 0x8000, pt, 2))
        return false;
    bool table = pt[0] == SERVE_PT_MAGIC0 && pt[1] == SERVE_PT_MAGIC1;
    /* b0 == 0xFF: merged without a bootloader (the virtual ESP32's kind). */
    if (table && (b1000 == OTA32_IMAGE_MAGIC || b0 == OTA32_IMAGE_MAGIC || b0 == 0xFF))
        return true;
    return is_flash_size(size) && b1000 == OTA32_IMAGE_MAGIC && b0 != OTA32_IMAGE_MAGIC;
}

/* SHA-256 of the file's first `len` bytes into out, read through the first
 * 32 KB of buf. */
static bool file_sha256(int fd, uint64_t len, uint8_t *buf, uint8_t out[OTA32_SHA256_LEN])
{
    const ota32_hash_ops *h = ota32_posix_hash();
    void *c = h->start(h->ctx, OTA32_HASH_SHA256);
    bool ok = c != NULL;
    for (uint64_t off = 0; ok && off < len;) {
        size_t n = len - off < (1u << 15) ? (size_t)(len - off) : (1u << 15);
        ok = read_at(fd, off, buf, n) && h->update(h->ctx, c, buf, n) == OTA32_OK;
        off += n;
    }
    if (c)
        ok = h->finish(h->ctx, c, ok ? out : NULL) == OTA32_OK && ok;
    return ok;
}

/* --require-signed: a signature sector ending the file, well formed, with a
 * block made over the bytes before it. buf: 64 KB of scratch (the sector in
 * its second half, the hashing in its first). */
static int check_signed(int fd, uint64_t size, const ota32_image_info *in, uint8_t *buf,
                        serve_verdict *v)
{
    const char *how = "sign it with `ota32 image sign --key KEY.pem` (--require-signed)";
    ota32_sig_sector sec;
    ota32_diag d;
    ota32_diag_clear(&d);
    uint8_t digest[OTA32_SHA256_LEN];
    if (!in->sig_present || size != (uint64_t)in->sig_offset + OTA32_SIG_SECTOR_LEN)
        snprintf(v->msg, sizeof v->msg,
                 "not signed: no Secure Boot v2 signature sector after "
                 "the image; %s",
                 how);
    else if (!read_at(fd, in->sig_offset, buf + (1u << 15), OTA32_SIG_SECTOR_LEN) ||
             ota32_sig_sector_parse(buf + (1u << 15), OTA32_SIG_SECTOR_LEN, &sec, &d) != OTA32_OK)
        snprintf(v->msg, sizeof v->msg, "malformed signature sector at 0x%x: %s",
                 (unsigned)in->sig_offset, d.msg[0] ? d.msg : "read error");
    else if (sec.count == 0)
        snprintf(v->msg, sizeof v->msg, "not signed: the signature sector holds no block; %s", how);
    else if (!file_sha256(fd, in->sig_offset, buf, digest))
        snprintf(v->msg, sizeof v->msg, "read error while hashing");
    else {
        for (unsigned i = 0; i < sec.count; i++)
            if (sec.blocks[i].digest_len != OTA32_SHA256_LEN ||
                !memcmp(sec.blocks[i].image_digest, digest, OTA32_SHA256_LEN))
                return OTA32_OK; /* (a P-384 block's SHA-384 is the device's to check) */
        snprintf(v->msg, sizeof v->msg,
                 "its signature blocks were made over other bytes "
                 "(image changed after signing)");
    }
    return v->err = OTA32_ERR_VERIFY;
}

int serve_check_image(int fd, uint64_t size, const serve_limits *lim, serve_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (looks_merged(fd, size)) {
        v->merged = true;
        v->err = OTA32_ERR_UNSUPPORTED;
        snprintf(v->msg, sizeof v->msg, "%llu bytes, %s", (unsigned long long)size,
                 merged_explanation);
        return v->err;
    }
    if (lim && lim->max_app_size && size > lim->max_app_size) {
        v->err = OTA32_ERR_TOO_BIG;
        snprintf(v->msg, sizeof v->msg,
                 "image is %llu bytes (0x%llx), larger than the smallest OTA partition "
                 "%s (%u bytes, 0x%x) in %s",
                 (unsigned long long)size, (unsigned long long)size, lim->max_label,
                 (unsigned)lim->max_app_size, (unsigned)lim->max_app_size,
                 lim->table_name ? lim->table_name : "the partition table");
        return v->err;
    }

    ota32_image_opts opts = {
        .chip_id = lim ? lim->chip_id : OTA32_CHIP_ANY,
        .require_app_desc = true,
        .hash = ota32_posix_hash(),
    };
    ota32_image_parser *p = malloc(sizeof *p);
    uint8_t *buf = malloc(1u << 16);
    if (!p || !buf) {
        free(p);
        free(buf);
        v->err = OTA32_ERR_NO_MEM;
        snprintf(v->msg, sizeof v->msg, "out of memory");
        return v->err;
    }
    ota32_image_parser_init(p, &opts);
    ota32_diag diag;
    ota32_diag_clear(&diag);
    int err = OTA32_OK;
    uint64_t off = 0;
    while (off < size && err == OTA32_OK) {
        size_t n = size - off < (1u << 16) ? (size_t)(size - off) : (1u << 16);
        if (!read_at(fd, off, buf, n)) {
            err = ota32_diag_fail(&diag, OTA32_ERR_IO, 0, (long)off, "read error");
            break;
        }
        size_t used = 0;
        err = ota32_image_parser_feed(p, buf, n, &used, &diag);
        off += n;
        if (err == OTA32_OK && used < n)
            break; /* trailing bytes (e.g. a signature sector) */
    }
    if (err == OTA32_OK)
        err = ota32_image_parser_finish(p, &diag);
    else
        ota32_image_parser_abort(p);
    if (err == OTA32_OK && lim && lim->require_signed &&
        check_signed(fd, size, &p->info, buf, v) != OTA32_OK) {
        v->has_desc = p->info.has_app_desc;
        free(buf);
        free(p);
        return v->err;
    }

    if (p->info.has_app_desc) {
        v->has_desc = true;
        snprintf(v->version, sizeof v->version, "%s", p->info.app_desc.version);
        snprintf(v->project, sizeof v->project, "%s", p->info.app_desc.project_name);
    }
    v->chip_id = p->info.chip_id;
    v->image_len = p->info.image_len;
    v->err = err;
    if (err == OTA32_ERR_CHIP && lim && p->info.chip_id != lim->chip_id) {
        const char *is = ota32_chip_name(p->info.chip_id);
        const char *want = ota32_chip_name(lim->chip_id);
        snprintf(v->msg, sizeof v->msg,
                 "wrong chip: this app is for %s (chip id %u), the devices are %s (--chip "
                 "names another)",
                 is ? is : "an unknown chip", p->info.chip_id, want ? want : "?");
    } else if (err != OTA32_OK) {
        /* the parser's message already names the offset and field */
        snprintf(v->msg, sizeof v->msg, "not a valid app image: %s",
                 diag.msg[0] ? diag.msg : ota32_strerror(err));
    }
    free(buf);
    free(p);
    return err;
}

int serve_limits_from_csv(const char *path, serve_limits *lim, char *msg, size_t cap)
{
    memset(lim, 0, sizeof *lim);
    lim->table_name = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, cap, "%s: %s", path, strerror(errno));
        return OTA32_ERR_IO;
    }
    size_t max = 1u << 20, len = 0;
    char *text = malloc(max + 1);
    if (text)
        len = fread(text, 1, max, f);
    int read_errno = text && ferror(f) ? errno : 0; /* EISDIR for a directory */
    bool bad = !text || read_errno || !feof(f);
    fclose(f);
    if (bad) {
        free(text);
        snprintf(msg, cap, "%s: %s", path,
                 read_errno ? strerror(read_errno) : "cannot read (or larger than 1 MiB)");
        return OTA32_ERR_IO;
    }
    text[len] = 0;
    ota32_ptable *t = calloc(1, sizeof *t);
    ota32_diag diag;
    ota32_diag_clear(&diag);
    int err = t ? ota32_pt_parse_csv(text, len, NULL, t, &diag) : OTA32_ERR_NO_MEM;
    free(text);
    if (err != OTA32_OK) {
        ota32_diag_text(msg, cap, path, err, &diag); /* FILE:LINE: message */
        free(t);
        return err;
    }
    for (unsigned i = 0; i < t->count && i < OTA32_PT_MAX_ENTRIES; i++) {
        const ota32_partition *e = &t->entries[i];
        if (e->type != OTA32_PT_TYPE_APP || e->subtype < OTA32_PT_APP_OTA_0 ||
            e->subtype > OTA32_PT_APP_OTA_0 + 15)
            continue;
        if (lim->max_app_size == 0 || e->size < lim->max_app_size) {
            lim->max_app_size = e->size;
            snprintf(lim->max_label, sizeof lim->max_label, "%s", e->label);
        }
    }
    free(t);
    if (lim->max_app_size == 0) {
        snprintf(msg, cap, "%s: no ota_N app partition: this table cannot take OTA updates", path);
        return OTA32_ERR_NOT_FOUND;
    }
    return OTA32_OK;
}
