/* Flash image merging with esptool merge-bin's rules. */
#include "merge.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ota32/image.h"

#define SECTOR 0x1000u
#define SHA_LEN OTA32_SHA256_LEN

void ota32_merge_opts_init(ota32_merge_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->flash_mode = OTA32_MERGE_KEEP;
    opts->flash_freq = OTA32_MERGE_KEEP;
    opts->flash_size = OTA32_MERGE_KEEP;
}

static void note(const ota32_merge_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(const ota32_merge_opts *o, const char *fmt, ...)
{
    if (!o->note)
        return;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->note(o->note_ctx, msg);
}

/* Whether esptool's image loader accepts the bytes: header, every segment
 * complete, the checksum byte present, at most 16 segments. On success
 * *data_len is the offset just past the checksum byte (where the SHA-256
 * goes). The segment count bounds the walk (<= 255 headers). */
static int image_data_length(const uint8_t *d, size_t len, size_t *data_len)
{
    if (len < OTA32_IMAGE_HEADER_LEN || d[0] != OTA32_IMAGE_MAGIC || d[23] > 1 ||
        d[1] > OTA32_IMAGE_MAX_SEGMENTS)
        return 0;
    size_t pos = OTA32_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < d[1]; i++) {
        if (len - pos < OTA32_IMAGE_SEG_HEADER_LEN)
            return 0;
        uint32_t size = ota32_le32(d + pos + 4);
        pos += OTA32_IMAGE_SEG_HEADER_LEN;
        if (len - pos < size)
            return 0;
        pos += size;
    }
    pos += 15 - pos % 16; /* the checksum is the last byte of a 16-byte block */
    if (pos >= len)
        return 0;
    *data_len = pos + 1;
    return 1;
}

int ota32_merge_patch_bootloader(uint8_t *img, size_t *len, size_t cap, const ota32_merge_opts *o,
                                 int *patched)
{
    if (patched)
        *patched = 0;
    if (!img || !len || !o || *len < 8)
        return OTA32_OK;
    if (o->flash_mode == OTA32_MERGE_KEEP && o->flash_freq == OTA32_MERGE_KEEP &&
        o->flash_size == OTA32_MERGE_KEEP)
        return OTA32_OK;
    size_t data_len;
    if (img[0] != OTA32_IMAGE_MAGIC) {
        note(o, "file at 0x%x does not look like an image, flash parameters unchanged",
             OTA32_ESP32_BOOTLOADER_OFFSET);
        return OTA32_OK;
    }
    if (!image_data_length(img, *len, &data_len)) {
        note(o, "file at 0x%x is not a valid ESP32 image, flash parameters unchanged",
             OTA32_ESP32_BOOTLOADER_OFFSET);
        return OTA32_OK;
    }
    if (patched)
        *patched = 1;
    uint8_t mode = img[2], size = img[3] & 0xF0, freq = img[3] & 0x0F;
    if (o->flash_mode != OTA32_MERGE_KEEP)
        mode = (uint8_t)o->flash_mode;
    if (o->flash_freq != OTA32_MERGE_KEEP)
        freq = (uint8_t)(o->flash_freq & 0x0F);
    if (o->flash_size != OTA32_MERGE_KEEP)
        size = (uint8_t)(o->flash_size & 0xF0);
    if (img[2] != mode || img[3] != (size | freq)) {
        img[2] = mode;
        img[3] = size | freq;
        note(o, "flash parameters set to 0x%04x", (unsigned)(mode << 8 | (size | freq)));
    }
    if (img[23] != 1)
        return OTA32_OK;
    /* The header is not covered by the checksum but is by the SHA-256. */
    if (cap < data_len + SHA_LEN)
        return OTA32_ERR_INVALID_ARG;
    int rc = ota32_hash_buf(o->hash, OTA32_HASH_SHA256, img, data_len, img + data_len);
    if (rc != OTA32_OK)
        return rc;
    if (*len < data_len + SHA_LEN)
        *len = data_len + SHA_LEN;
    note(o, "SHA-256 digest of the image at 0x%x updated", OTA32_ESP32_BOOTLOADER_OFFSET);
    return OTA32_OK;
}

static int write_fill(const ota32_merge_opts *o, unsigned long long n)
{
    static uint8_t ff[4096];
    if (ff[0] != 0xFF)
        memset(ff, 0xFF, sizeof ff);
    while (n) { /* n < 2^64 / 4096 iterations, bounded by the flash size */
        size_t chunk = n < sizeof ff ? (size_t)n : sizeof ff;
        int rc = o->write(o->write_ctx, ff, chunk);
        if (rc != OTA32_OK)
            return rc < 0 ? rc : OTA32_ERR_IO;
        n -= chunk;
    }
    return OTA32_OK;
}

/* Write one input; *written may exceed e->len for a patched bootloader. */
static int write_entry(const ota32_merge_entry *e, const ota32_merge_opts *o, size_t *written)
{
    *written = e->len;
    if (e->addr != OTA32_ESP32_BOOTLOADER_OFFSET) {
        int rc = e->len ? o->write(o->write_ctx, e->data, e->len) : OTA32_OK;
        return rc == OTA32_OK || rc < 0 ? rc : OTA32_ERR_IO;
    }
    size_t len = e->len, cap = e->len + SHA_LEN;
    uint8_t *copy = malloc(cap);
    if (!copy)
        return OTA32_ERR_NO_MEM;
    if (len)
        memcpy(copy, e->data, len);
    int rc = ota32_merge_patch_bootloader(copy, &len, cap, o, NULL);
    if (rc == OTA32_OK && len)
        rc = o->write(o->write_ctx, copy, len);
    free(copy);
    *written = len;
    return rc == OTA32_OK || rc < 0 ? rc : OTA32_ERR_IO;
}

/* Stable order by address. */
static int cmp_entry(const void *a, const void *b)
{
    const ota32_merge_entry *const *x = a, *const *y = b;
    if ((*x)->addr != (*y)->addr)
        return (*x)->addr < (*y)->addr ? -1 : 1;
    return *x < *y ? -1 : (*x > *y);
}

long long ota32_merge(const ota32_merge_entry *entries, size_t n, const ota32_merge_opts *o,
                      ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!entries || !n || !o || !o->write)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no input data");
    const ota32_merge_entry **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return OTA32_ERR_NO_MEM;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &entries[i];
    qsort(sorted, n, sizeof *sorted, cmp_entry);

    /* Overlaps are judged on whole 4 KB sectors, as a flasher erases them. */
    long long rc = OTA32_OK;
    long long end = 0; /* last byte of the previous entry's last sector */
    for (size_t i = 0; i < n && rc == OTA32_OK; i++) {
        const ota32_merge_entry *e = sorted[i];
        long long start = e->addr & ~(long long)(SECTOR - 1);
        if (start < end)
            rc = ota32_diag_fail(diag, OTA32_ERR_RANGE, 0, (long)e->addr,
                                 "Detected overlap at address: 0x%x for file: %s.", e->addr,
                                 e->name ? e->name : "(data)");
        end =
            (((long long)e->addr + (long long)e->len + SECTOR - 1) & ~(long long)(SECTOR - 1)) - 1;
    }
    if (rc == OTA32_OK && sorted[0]->addr < o->target_offset)
        rc = ota32_diag_fail(diag, OTA32_ERR_RANGE, 0, (long)sorted[0]->addr,
                             "Output data target offset is 0x%x. Input data offset 0x%x is "
                             "before this.",
                             o->target_offset, sorted[0]->addr);
    bool keep_all = o->flash_mode == OTA32_MERGE_KEEP && o->flash_freq == OTA32_MERGE_KEEP &&
                    o->flash_size == OTA32_MERGE_KEEP;
    for (size_t i = 0; i < n && rc == OTA32_OK && !keep_all && !o->hash; i++)
        if (sorted[i]->addr == OTA32_ESP32_BOOTLOADER_OFFSET)
            rc = ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                 "a hash implementation is needed to update the bootloader");

    unsigned long long pos = 0; /* bytes written == flash address - target_offset */
    for (size_t i = 0; i < n && rc == OTA32_OK; i++) {
        const ota32_merge_entry *e = sorted[i];
        unsigned long long at = (unsigned long long)e->addr - o->target_offset;
        if (at > pos)
            rc = write_fill(o, at - pos);
        if (rc == OTA32_OK) {
            size_t written = 0;
            pos = at > pos ? at : pos; /* never backwards, as esptool */
            rc = write_entry(e, o, &written);
            pos += written;
        }
    }
    if (rc == OTA32_OK && o->pad_to_size > o->target_offset &&
        o->pad_to_size - o->target_offset > pos) {
        rc = write_fill(o, o->pad_to_size - o->target_offset - pos);
        pos = o->pad_to_size - o->target_offset;
    }
    if (rc != OTA32_OK && diag && !diag->msg[0])
        ota32_diag_fail(diag, (int)rc, 0, -1, "writing the merged image: %s",
                        ota32_strerror((int)rc));
    free(sorted);
    return rc == OTA32_OK ? (long long)pos : rc;
}
