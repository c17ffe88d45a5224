#include "svc_writer.h"

#include <inttypes.h>
#include <string.h>

struct svc_writer {
    const ota32_flash_ops *flash;
    uint32_t base;      /* absolute address of the slot */
    uint32_t size;      /* slot size */
    uint32_t limit;     /* erase no further than this (relative, sector-aligned) */
    uint32_t flushed;   /* bytes programmed so far (relative) */
    uint32_t erased_to; /* [flushed, erased_to) erased and not yet programmed */
    uint8_t *buf;       /* caller's buffer, a multiple of OTA32_FLASH_SECTOR */
    uint32_t cap;
    uint32_t fill;
    bool armed;      /* the image prefix checked out: erasing allowed */
    bool whole_slot; /* erase [0, limit) at the first flush (benchmark) */
    bool closed;     /* final partial chunk written */
    int (*on_flush)(void *user, const uint8_t *data, size_t len);
    void *user;
    svc_writer_counts counts;
};

svc_writer *svc_writer_new(const ota32_alloc_ops *alloc, const ota32_flash_ops *flash,
                           uint32_t base, uint32_t size, uint8_t *buf, uint32_t cap)
{
    svc_writer *w = alloc->malloc(alloc->ctx, sizeof *w);
    if (!w)
        return NULL;
    memset(w, 0, sizeof *w);
    w->flash = flash;
    w->base = base;
    w->size = size;
    w->limit = size & ~(OTA32_FLASH_SECTOR - 1);
    w->buf = buf;
    w->cap = cap;
    return w;
}

void svc_writer_free(svc_writer *w, const ota32_alloc_ops *alloc)
{
    if (w)
        alloc->free(alloc->ctx, w);
}

void svc_writer_on_flush(svc_writer *w, int (*fn)(void *user, const uint8_t *data, size_t len),
                         void *user)
{
    w->on_flush = fn;
    w->user = user;
}

void svc_writer_erase_whole_slot(svc_writer *w)
{
    w->whole_slot = true;
}

void svc_writer_arm(svc_writer *w)
{
    w->armed = true;
}

bool svc_writer_armed(const svc_writer *w)
{
    return w->armed;
}

/* Continue at `pos`: nothing from there on counts as erased any more. */
static void restart_at(svc_writer *w, uint32_t pos)
{
    w->flushed = pos;
    w->erased_to = pos;
    w->fill = 0;
    w->closed = false;
}

void svc_writer_start_over(svc_writer *w)
{
    restart_at(w, 0);
    w->armed = false;
}

int svc_writer_resume(svc_writer *w, uint32_t pos, bool complete)
{
    if (pos > w->size || (!complete && pos % OTA32_FLASH_SECTOR != 0))
        return OTA32_ERR_INVALID_ARG;
    if (complete) {
        w->flushed = pos;
        w->fill = 0;
    } else {
        restart_at(w, pos);
    }
    w->armed = true;
    return OTA32_OK;
}

uint32_t svc_writer_pos(const svc_writer *w)
{
    return w->flushed + w->fill;
}

uint32_t svc_writer_flushed(const svc_writer *w)
{
    return w->flushed;
}

void svc_writer_get_counts(const svc_writer *w, svc_writer_counts *out)
{
    *out = w->counts;
}

void svc_writer_set_total(svc_writer *w, int64_t total)
{
    uint64_t lim = w->size & ~(uint64_t)(OTA32_FLASH_SECTOR - 1);
    if (total >= 0) {
        uint64_t t =
            ((uint64_t)total + OTA32_FLASH_SECTOR - 1) & ~(uint64_t)(OTA32_FLASH_SECTOR - 1);
        if (t < lim)
            lim = t;
    }
    w->limit = (uint32_t)lim;
}

/* Erase whole units until [flushed, need) is erased: a 64 KB block when the
 * absolute address is block-aligned and the block stays within the limit,
 * else one 4 KB sector (the same choice as ota32_flash_erase_range). */
static int erase_ahead(svc_writer *w, uint32_t need, ota32_diag *diag)
{
    if (need > w->limit)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, (long)need,
                               "image data beyond %" PRIu32 " bytes (slot %" PRIu32 " bytes, "
                               "announced length rounded to sectors %" PRIu32 ")",
                               w->limit, w->size, w->limit);
    while (w->erased_to < need) {
        uint32_t abs = w->base + w->erased_to;
        uint32_t step = OTA32_FLASH_SECTOR;
        if (abs % OTA32_FLASH_BLOCK == 0 && w->limit - w->erased_to >= OTA32_FLASH_BLOCK)
            step = OTA32_FLASH_BLOCK;
        int rc = ota32_flash_erase_range(w->flash, abs, step);
        if (rc != OTA32_OK)
            return ota32_diag_fail(diag, rc, 0, (long)w->erased_to,
                                   "erasing 0x%" PRIx32 " bytes at 0x%08" PRIx32 ": %s", step, abs,
                                   ota32_strerror(rc));
        if (step == OTA32_FLASH_BLOCK)
            w->counts.block_erases++;
        else
            w->counts.sector_erases++;
        w->erased_to += step;
    }
    return OTA32_OK;
}

static int program(svc_writer *w, uint32_t len, ota32_diag *diag)
{
    if (!w->armed)
        return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, (long)w->flushed,
                               "refusing to write flash before the image header was checked");
    uint32_t padded = (len + OTA32_FLASH_PAGE - 1) & ~(OTA32_FLASH_PAGE - 1);
    /* Bounds: the whole padded chunk lies inside the slot and the chip. */
    if ((uint64_t)w->flushed + padded > w->size ||
        (uint64_t)w->base + w->flushed + padded > w->flash->size)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, (long)w->flushed,
                               "image data beyond the end of the slot (%" PRIu32 " bytes)",
                               w->size);
    int rc;
    if (w->whole_slot && w->erased_to == 0) {
        /* The up-front strategy (Micro-RDK's, esp_ota_begin with an unknown
         * size): the whole slot before the first byte. */
        w->limit = w->size & ~(OTA32_FLASH_SECTOR - 1);
        rc = erase_ahead(w, w->limit, diag);
    } else
        rc = erase_ahead(w, w->flushed + padded, diag);
    if (rc != OTA32_OK)
        return rc;
    if (padded > len)
        memset(w->buf + len, 0xFF, padded - len);
    rc = w->flash->program(w->flash->ctx, w->base + w->flushed, w->buf, padded);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, (long)w->flushed,
                               "programming %" PRIu32 " bytes at 0x%08" PRIx32 ": %s", padded,
                               w->base + w->flushed, ota32_strerror(rc));
    w->counts.programs++;
    if (w->on_flush) {
        rc = w->on_flush(w->user, w->buf, len);
        if (rc != OTA32_OK)
            return rc;
    }
    w->flushed += len;
    w->fill = 0;
    return OTA32_OK;
}

int svc_writer_write(svc_writer *w, const uint8_t *data, size_t len, ota32_diag *diag)
{
    if (w->closed)
        return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, (long)svc_writer_pos(w),
                               "data after the end of the image");
    if ((uint64_t)svc_writer_pos(w) + len > w->size)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, (long)svc_writer_pos(w),
                               "image larger than the slot (%" PRIu32 " bytes)", w->size);
    while (len > 0) {
        uint32_t n = w->cap - w->fill;
        if (n > len)
            n = (uint32_t)len;
        memcpy(w->buf + w->fill, data, n);
        w->fill += n;
        data += n;
        len -= n;
        if (w->fill == w->cap) {
            int rc = program(w, w->cap, diag);
            if (rc != OTA32_OK)
                return rc;
        }
    }
    return OTA32_OK;
}

int svc_writer_finish(svc_writer *w, ota32_diag *diag)
{
    if (w->closed)
        return OTA32_OK;
    int rc = w->fill ? program(w, w->fill, diag) : OTA32_OK;
    if (rc == OTA32_OK)
        w->closed = true;
    return rc;
}
