/* The CSV reader's working set, shared by pt_csv.c (reading lines) and
 * pt_csv_check.c (offset assignment and validation). */
#ifndef OTA32_PT_CSV_H
#define OTA32_PT_CSV_H

#include "pt_pytext.h"

/* One more than a binary table can hold, so that the "too long" rule is
 * reported after the other checks, as gen_esp32part.py orders them. */
#define PT_CSV_CAP (OTA32_PT_MAX_ENTRIES + 1)
/* Names are compared in full (gen_esp32part.py checks uniqueness before
 * cutting them to 16 bytes). A name is referenced in the input text, or
 * copied here when it comes from a line with $VAR expansion. */
#define PT_CSV_NAME_COPY 64
/* A line after $VAR expansion. */
#define PT_CSV_LINE_MAX 1024

typedef struct pt_csv_entry {
    const uint8_t *name;
    size_t name_len;
    uint8_t name_copy[PT_CSV_NAME_COPY];
    /* Python integers: kept signed and wide until serialization, because
     * the checks and messages see them before struct.pack() would fail. */
    int64_t type, subtype, offset, size;
    bool has_offset;
    uint32_t flags;
    int line;
    long at; /* byte offset of a binary entry, -1 for CSV */
} pt_csv_entry;

typedef struct pt_csv_work {
    const ota32_pt_csv_opts *opts;
    uint32_t table_offset;
    unsigned n;     /* entries stored */
    unsigned total; /* entries seen (more than PT_CSV_CAP is an error) */
    int last_line;
    const struct pt_csv_entry *e_cur; /* the line being read */
    int range_line;                   /* first number too large for any field, reported later */
    char range_msg[OTA32_DIAG_MSG_MAX];
    pt_csv_entry e[PT_CSV_CAP];
    uint8_t line[PT_CSV_LINE_MAX];
} pt_csv_work;

/* PartitionTable.from_csv() fix-ups, verify() and the flash-size check, then
 * conversion to `out`. */
int pt_csv_finish(pt_csv_work *w, ota32_ptable *out, ota32_diag *diag);

/* The primary bootloader and primary partition table entries describe fixed
 * regions and take no part in offset assignment. */
bool pt_csv_is_fixed(const pt_csv_entry *e);

#endif
