/*
 * After the CSV lines are read: gen_esp32part.py's offset assignment
 * (PartitionTable.from_csv), its verify() rules in their order, the
 * --flash-size check, and the conversion to binary-sized fields. Messages are
 * its own; where it names no partition, ota32 appends which one and the
 * diagnostic carries the line.
 */
#include "pt_csv.h"

#include <stdio.h>
#include <string.h>

#define NVS_RW_MIN_SIZE 0x3000
#define OTADATA_SIZE 0x2000
#define DATA_SUBTYPE_OTA 0x00
#define DATA_SUBTYPE_COREDUMP 0x03
#define DATA_SUBTYPE_TEE_OTA 0x90

bool pt_csv_is_fixed(const pt_csv_entry *e)
{
    return (e->type == OTA32_PT_TYPE_BOOTLOADER || e->type == OTA32_PT_TYPE_PARTITION_TABLE) &&
           e->subtype == 0x00;
}

static int64_t offset_align(int64_t type)
{
    return type == OTA32_PT_TYPE_APP ? 0x10000 : 0x1000;
}

static bool same_name(const pt_csv_entry *a, const pt_csv_entry *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* PartitionDefinition.__eq__ */
static bool same_entry(const pt_csv_entry *a, const pt_csv_entry *b)
{
    return same_name(a, b) && a->type == b->type && a->subtype == b->subtype &&
           a->offset == b->offset && a->size == b->size;
}

#define NAME(e) (int)(e)->name_len, (const char *)(e)->name

static int assign_offsets(pt_csv_work *w, ota32_diag *diag)
{
    char h1[PT_HEX_BUF], h2[PT_HEX_BUF], h3[PT_HEX_BUF];
    int64_t last_end = (int64_t)w->table_offset + PT_SECTOR;
    for (unsigned i = 0; i < w->n; i++) {
        pt_csv_entry *e = &w->e[i];
        if (pt_csv_is_fixed(e))
            continue;
        if (e->has_offset && e->offset < last_end) {
            if (same_entry(e, &w->e[0]))
                return ota32_diag_fail(
                    diag, OTA32_ERR_CORRUPT, e->line, e->at,
                    "CSV Error at line %d: Partitions overlap. Partition sets offset %s. But "
                    "partition table occupies the whole sector %s. Use a free offset %s or higher. "
                    "(partition '%.*s')",
                    e->line, pt_hex(h1, e->offset), pt_hex(h2, w->table_offset),
                    pt_hex(h3, last_end), NAME(e));
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, e->line, e->at,
                                   "CSV Error at line %d: Partitions overlap. Partition sets "
                                   "offset %s. Previous partition ends %s (partition '%.*s')",
                                   e->line, pt_hex(h1, e->offset), pt_hex(h2, last_end), NAME(e));
        }
        if (!e->has_offset) {
            int64_t align = offset_align(e->type);
            int64_t rem = last_end % align;
            if (rem < 0)
                rem += align; /* Python's modulo */
            if (rem)
                last_end += align - rem;
            e->offset = last_end;
            e->has_offset = true;
        }
        if (e->size < 0) /* "end at |size|" */
            e->size = -e->size - e->offset;
        last_end = e->offset + e->size;
    }
    return 0;
}

static void warn_keyword_names(pt_csv_work *w, const pt_csv_entry *e)
{
    const ota32_pt_csv_opts *o = w->opts;
    if (!o || !o->warn)
        return;
    char msg[OTA32_DIAG_MSG_MAX], h1[PT_HEX_BUF], h2[PT_HEX_BUF];
    size_t n;
    const pt_keyword *kw = pt_type_keywords(&n);
    for (size_t i = 0; i < n; i++) {
        if (strlen(kw[i].name) == e->name_len && memcmp(kw[i].name, e->name, e->name_len) == 0 &&
            kw[i].value != e->type) {
            snprintf(msg, sizeof msg,
                     "Partition has name '%.*s' which is a partition type, but does not match "
                     "this partition's type (%s). Mistake in partition table?",
                     NAME(e), pt_hex(h1, e->type));
            o->warn(o->ctx, e->line, msg);
        }
    }
    /* A subtype keyword of any type, which is not this entry's own. */
    bool is_subtype_name = false, matches = false;
    for (uint8_t t = 0; t <= OTA32_PT_TYPE_PARTITION_TABLE; t++) {
        const pt_keyword *sk = pt_subtype_keywords(t, &n);
        for (size_t i = 0; i < n; i++) {
            if (strlen(sk[i].name) != e->name_len || memcmp(sk[i].name, e->name, e->name_len))
                continue;
            is_subtype_name = true;
            matches |= (t == e->type && sk[i].value == e->subtype);
        }
    }
    if (is_subtype_name && !matches) {
        snprintf(msg, sizeof msg,
                 "Partition has name '%.*s' which is a partition subtype, but this partition has "
                 "non-matching type %s and subtype %s. Mistake in partition table?",
                 NAME(e), pt_hex(h1, e->type), pt_hex(h2, e->subtype));
        o->warn(o->ctx, e->line, msg);
    }
}

/* PartitionDefinition.verify() */
static int verify_entry(pt_csv_work *w, const pt_csv_entry *e, ota32_diag *diag)
{
    char h1[PT_HEX_BUF], h2[PT_HEX_BUF];
    int64_t align = offset_align(e->type);
    if (e->offset % align)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, e->line, e->at,
                               "Partition %.*s invalid: Offset %s is not aligned to %s", NAME(e),
                               pt_hex(h1, e->offset), pt_hex(h2, align));
    int64_t size_align =
        (w->opts && w->opts->secure == OTA32_PT_SECURE_V1) ? 0x10000 : 0x1000;
    if (e->type == OTA32_PT_TYPE_APP && e->size % size_align)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, e->line, e->at,
                               "Partition %.*s invalid: Size %s is not aligned to %s", NAME(e),
                               pt_hex(h1, e->size), pt_hex(h2, size_align));
    warn_keyword_names(w, e);
    if (e->type == OTA32_PT_TYPE_DATA &&
        (e->subtype == DATA_SUBTYPE_OTA || e->subtype == DATA_SUBTYPE_COREDUMP) &&
        (e->flags & OTA32_PT_FLAG_READONLY))
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, e->line, e->at,
                               "Partition %.*s invalid: '%.*s' partition of type %lld and subtype "
                               "%lld is always read-write and cannot be read-only",
                               NAME(e), NAME(e), (long long)e->type, (long long)e->subtype);
    if (e->type == OTA32_PT_TYPE_DATA && e->subtype == OTA32_PT_DATA_NVS &&
        e->size < NVS_RW_MIN_SIZE && !(e->flags & OTA32_PT_FLAG_READONLY))
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, e->line, e->at,
                               "Partition %.*s invalid: '%.*s' partition of type %lld and subtype "
                               "%lld of this size (%s) must be flagged as 'readonly' (the size of "
                               "read/write NVS has to be at least 0x%x)",
                               NAME(e), NAME(e), (long long)e->type, (long long)e->subtype,
                               pt_hex(h1, e->size), NVS_RW_MIN_SIZE);
    return 0;
}

/* Indices sorted by offset; stable, like Python's sorted(). */
static void sort_by_offset(const pt_csv_work *w, uint8_t *idx)
{
    for (unsigned i = 0; i < w->n; i++) {
        unsigned j = i;
        while (j > 0 && w->e[idx[j - 1]].offset > w->e[i].offset) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = (uint8_t)i;
    }
}

static int check_unique_names(const pt_csv_work *w, ota32_diag *diag)
{
    for (unsigned i = 1; i < w->n; i++)
        for (unsigned j = 0; j < i; j++)
            if (same_name(&w->e[i], &w->e[j]))
                return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, w->e[i].line, w->e[i].at,
                                       "Partition names must be unique (partition '%.*s')",
                                       NAME(&w->e[i]));
    return 0;
}

static int check_overlaps(const pt_csv_work *w, ota32_diag *diag)
{
    char h1[PT_HEX_BUF], h2[PT_HEX_BUF], h3[PT_HEX_BUF];
    uint8_t idx[PT_CSV_CAP];
    sort_by_offset(w, idx);
    int64_t table_end = (int64_t)w->table_offset + PT_SECTOR;
    const pt_csv_entry *last = NULL;
    for (unsigned i = 0; i < w->n; i++) {
        const pt_csv_entry *p = &w->e[idx[i]];
        if (p->offset < table_end && !pt_csv_is_fixed(p))
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, p->line, p->at,
                                   "Partition offset %s is below %s (partition '%.*s')",
                                   pt_hex(h1, p->offset), pt_hex(h2, table_end), NAME(p));
        if (last && p->offset < last->offset + last->size)
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, p->line, p->at,
                                   "Partition at %s overlaps %s-%s (partition '%.*s' overlaps "
                                   "'%.*s')",
                                   pt_hex(h1, p->offset), pt_hex(h2, last->offset),
                                   pt_hex(h3, last->offset + last->size - 1), NAME(p), NAME(last));
        last = p;
    }
    return 0;
}

static int check_otadata(const pt_csv_work *w, uint8_t subtype, const char *what, ota32_diag *diag)
{
    const pt_csv_entry *first = NULL;
    for (unsigned i = 0; i < w->n; i++) {
        const pt_csv_entry *e = &w->e[i];
        if (e->type != OTA32_PT_TYPE_DATA || e->subtype != subtype)
            continue;
        if (first)
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, e->line, e->at,
                                   "Found multiple %sotadata partitions. Only one partition can "
                                   "be defined with type=\"data\"(1) and subtype=\"%s\"(%s). "
                                   "(partition '%.*s')",
                                   what, subtype ? "tee_ota" : "ota", subtype ? "0x90" : "0",
                                   NAME(e));
        first = e;
    }
    if (first && first->size != OTADATA_SIZE)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, first->line, first->at,
                               "%sotadata partition must have size = 0x2000 (partition '%.*s')",
                               what, NAME(first));
    return 0;
}

static int check_flash_size(const pt_csv_work *w, ota32_diag *diag)
{
    char h[PT_HEX_BUF];
    uint32_t flash = w->opts ? w->opts->flash_size : 0;
    if (!flash || w->n == 0)
        return 0;
    /* flash_size(): the end of the entry with the highest offset (the first
     * of them in CSV order). */
    const pt_csv_entry *last = &w->e[0];
    for (unsigned i = 1; i < w->n; i++)
        if (w->e[i].offset > last->offset)
            last = &w->e[i];
    int64_t end = last->offset + last->size;
    if ((int64_t)flash >= end)
        return 0;
    return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, last->line, last->at,
                           "Partitions tables occupies %.1fMB of flash (%lld bytes) which does not "
                           "fit in configured flash size %uMB. (partition '%.*s' ends at %s)",
                           (double)end / (1024.0 * 1024.0), (long long)end,
                           (unsigned)(flash / (1024u * 1024u)), NAME(last), pt_hex(h, end));
}

/* struct.pack('<2sBBLL16sL'): fields that do not fit make gen_esp32part.py
 * fail; ota32 says which. */
static int convert(const pt_csv_work *w, ota32_ptable *out, ota32_diag *diag)
{
    char h[PT_HEX_BUF];
    for (unsigned i = 0; i < w->n; i++) {
        const pt_csv_entry *e = &w->e[i];
        const char *bad = NULL;
        int64_t v = 0;
        if (e->type < 0 || e->type > 0xFF)
            bad = "type", v = e->type;
        else if (e->subtype < 0 || e->subtype > 0xFF)
            bad = "subtype", v = e->subtype;
        else if (e->offset < 0 || e->offset > 0xFFFFFFFFll)
            bad = "offset", v = e->offset;
        else if (e->size < 0 || e->size > 0xFFFFFFFFll)
            bad = "size", v = e->size;
        if (bad)
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, e->line, e->at,
                                   "Partition %.*s: %s %s does not fit in its binary field",
                                   NAME(e), bad, pt_hex(h, v));
    }
    unsigned limit = OTA32_PT_MAX_ENTRIES;
    if (w->total > limit) {
        size_t len = (size_t)w->total * OTA32_PT_ENTRY_LEN;
        if (!w->opts || !w->opts->no_md5)
            len += OTA32_PT_ENTRY_LEN;
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, w->last_line, -1,
                               "Binary partition table length (%zu) longer than max", len);
    }
    for (unsigned i = 0; i < w->n; i++) {
        const pt_csv_entry *e = &w->e[i];
        ota32_partition *p = &out->entries[i];
        memset(p, 0, sizeof *p);
        /* struct '16s': cut to 16 bytes or NUL-padded. */
        memcpy(p->label, e->name,
               e->name_len < OTA32_PT_LABEL_LEN ? e->name_len : OTA32_PT_LABEL_LEN);
        p->type = (uint8_t)e->type;
        p->subtype = (uint8_t)e->subtype;
        p->offset = (uint32_t)e->offset;
        p->size = (uint32_t)e->size;
        p->flags = e->flags;
    }
    out->count = w->n;
    out->has_md5 = false;
    return 0;
}

/* PartitionTable.verify() and verify_size_fits(). */
static int verify_table(pt_csv_work *w, ota32_diag *diag)
{
    int rc;
    for (unsigned i = 0; i < w->n; i++)
        if ((rc = verify_entry(w, &w->e[i], diag)) != 0)
            return rc;
    if ((rc = check_unique_names(w, diag)) != 0 || (rc = check_overlaps(w, diag)) != 0 ||
        (rc = check_otadata(w, DATA_SUBTYPE_OTA, "", diag)) != 0 ||
        (rc = check_otadata(w, DATA_SUBTYPE_TEE_OTA, "TEE ", diag)) != 0)
        return rc;
    return check_flash_size(w, diag);
}

int pt_csv_finish(pt_csv_work *w, ota32_ptable *out, ota32_diag *diag)
{
    int rc;
    if ((rc = assign_offsets(w, diag)) != 0 || (rc = verify_table(w, diag)) != 0)
        return rc;
    return convert(w, out, diag);
}

int ota32_pt_verify(const ota32_ptable *t, const ota32_pt_csv_opts *opts, ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!t || t->count > OTA32_PT_MAX_ENTRIES)
        return OTA32_ERR_INVALID_ARG;
    pt_csv_work w;
    w.opts = opts;
    w.table_offset = (opts && opts->table_offset) ? opts->table_offset : OTA32_PT_OFFSET_DEFAULT;
    w.n = w.total = t->count;
    w.last_line = 0;
    for (unsigned i = 0; i < t->count; i++) {
        const ota32_partition *p = &t->entries[i];
        pt_csv_entry *e = &w.e[i];
        e->name = (const uint8_t *)p->label;
        const char *nul = memchr(p->label, 0, OTA32_PT_LABEL_LEN);
        e->name_len = nul ? (size_t)(nul - p->label) : OTA32_PT_LABEL_LEN;
        e->type = p->type;
        e->subtype = p->subtype;
        e->offset = p->offset;
        e->size = p->size;
        e->has_offset = true;
        e->flags = p->flags;
        e->line = 0;
        e->at = (long)i * OTA32_PT_ENTRY_LEN;
    }
    return verify_table(&w, diag);
}
