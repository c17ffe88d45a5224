/*
 * Streams an image into one flash slot: a small write buffer programmed in
 * page-aligned chunks, erasing just ahead of the write position (64 KB blocks
 * where aligned, 4 KB sectors otherwise), and every program bounds-checked
 * against the slot whatever the server sends.
 */
#ifndef OTA32_SVC_WRITER_H
#define OTA32_SVC_WRITER_H

#include "ota32/flash.h"

typedef struct svc_writer {
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
    /* Sees every chunk as it is programmed (hashing). May be NULL. */
    int (*on_flush)(void *user, const uint8_t *data, size_t len);
    void *user;
    uint64_t sector_erases, block_erases, programs;
} svc_writer;

void svc_writer_init(svc_writer *w, const ota32_flash_ops *flash, uint32_t base, uint32_t size,
                     uint8_t *buf, uint32_t cap);

/* Continue (or start over) at `pos`, sector-aligned and within the slot.
 * Nothing from `pos` on counts as erased any more: a reset or a restart from 0
 * re-erases ahead of the write position. */
int svc_writer_restart(svc_writer *w, uint32_t pos);

/* Image length when known: erasing stops at its sector boundary. */
void svc_writer_set_total(svc_writer *w, int64_t total);

/* Append bytes; full buffers are erased-ahead and programmed. Errors:
 * TOO_BIG (past the slot), STATE (not armed when a flush is due, or closed),
 * or the flash op's error. */
int svc_writer_write(svc_writer *w, const uint8_t *data, size_t len, ota32_diag *diag);

/* Program what is buffered (the tail is padded to a page with 0xFF, which
 * leaves erased bytes as they are). Only at the end of the image. */
int svc_writer_finish(svc_writer *w, ota32_diag *diag);

/* Bytes accepted so far (programmed + buffered). */
static inline uint32_t svc_writer_pos(const svc_writer *w)
{
    return w->flushed + w->fill;
}

#endif
