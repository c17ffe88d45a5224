/*
 * Streams an image into one flash slot: a small write buffer programmed in
 * page-aligned chunks, erasing just ahead of the write position (64 KB blocks
 * where aligned, 4 KB sectors otherwise), and every program bounds-checked
 * against the slot whatever the server sends.
 *
 * The writer owns its invariant: nothing is erased or programmed before it is
 * armed (the image prefix checked out, or a resumed download re-checked).
 * Its state is private to writer.c.
 */
#ifndef OTA32_SVC_WRITER_H
#define OTA32_SVC_WRITER_H

#include <stdbool.h>

#include "ota32/flash.h"
#include "ota32/platform.h"

typedef struct svc_writer svc_writer;

/* A writer for the slot [base, base + size) of `flash`, buffering in the
 * caller's `buf` of `cap` bytes (a multiple of OTA32_FLASH_SECTOR), allocated
 * through `alloc`. It starts at byte 0, not armed. NULL when out of memory. */
svc_writer *svc_writer_new(const ota32_alloc_ops *alloc, const ota32_flash_ops *flash,
                           uint32_t base, uint32_t size, uint8_t *buf, uint32_t cap);
void svc_writer_free(svc_writer *w, const ota32_alloc_ops *alloc); /* safe on NULL */

/* Sees every chunk as it is programmed (hashing). */
void svc_writer_on_flush(svc_writer *w, int (*fn)(void *user, const uint8_t *data, size_t len),
                         void *user);

/* The benchmarks' reference strategy (svc_reference.h): erase the whole slot
 * at the first program instead of just ahead of the write position. */
void svc_writer_erase_whole_slot(svc_writer *w);

/* The image prefix checked out: erasing and programming are allowed. */
void svc_writer_arm(svc_writer *w);
bool svc_writer_armed(const svc_writer *w);

/* Back to byte 0 and not armed: a download starting over. */
void svc_writer_start_over(svc_writer *w);

/* Continue a download whose first `pos` bytes are in flash and were checked,
 * and arm. `complete`: the whole image (any length); otherwise `pos` is
 * sector-aligned and nothing from `pos` on counts as erased any more, so the
 * writer re-erases ahead. OTA32_ERR_INVALID_ARG when `pos` does not fit. */
int svc_writer_resume(svc_writer *w, uint32_t pos, bool complete);

/* Image length when known: erasing stops at its sector boundary. */
void svc_writer_set_total(svc_writer *w, int64_t total);

/* Append bytes; full buffers are erased-ahead and programmed. Errors:
 * TOO_BIG (past the slot), STATE (not armed when a flush is due, or closed),
 * or the flash op's error. */
int svc_writer_write(svc_writer *w, const uint8_t *data, size_t len, ota32_diag *diag);

/* Program what is buffered (the tail is padded to a page with 0xFF, which
 * leaves erased bytes as they are). Only at the end of the image. */
int svc_writer_finish(svc_writer *w, ota32_diag *diag);

/* Bytes accepted so far (programmed + buffered), and programmed. */
uint32_t svc_writer_pos(const svc_writer *w);
uint32_t svc_writer_flushed(const svc_writer *w);

typedef struct svc_writer_counts {
    uint64_t sector_erases, block_erases, programs;
} svc_writer_counts;

void svc_writer_get_counts(const svc_writer *w, svc_writer_counts *out);

#endif
