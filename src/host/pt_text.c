/*
 * The CSV that gen_esp32part.py writes for a binary table
 * (PartitionTable.to_csv): two comment lines, then per entry
 * name,type,subtype,offset,size,flags with keywords where known, the
 * offset in lower-case hex and the size as <n>M or <n>K when exact.
 */
#include "partition_csv.h"
#include "pt_pytext.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct out_buf {
    char *p;
    size_t cap, len;
    bool overflow;
} out_buf;

static void put(out_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(out_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->len < b->cap ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        b->overflow = true;
    if (n > 0)
        b->len += (size_t)n;
}

static void put_size(out_buf *b, uint32_t v)
{
    if (v % 0x100000 == 0)
        put(b, "%luM", (unsigned long)(v / 0x100000));
    else if (v % 0x400 == 0)
        put(b, "%luK", (unsigned long)(v / 0x400));
    else
        put(b, "0x%lx", (unsigned long)v);
}

int ota32_pt_to_csv(const ota32_ptable *t, char *out, size_t cap)
{
    if (!t || (!out && cap) || t->count > OTA32_PT_MAX_ENTRIES)
        return OTA32_ERR_INVALID_ARG;
    out_buf b = {out, cap, 0, false};
    put(&b, "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n");
    for (unsigned i = 0; i < t->count; i++) {
        const ota32_partition *p = &t->entries[i];
        const char *type = ota32_pt_type_name(p->type);
        const char *sub = ota32_pt_subtype_name(p->type, p->subtype);
        put(&b, "%.16s,", p->label);
        if (type)
            put(&b, "%s,", type);
        else
            put(&b, "%u,", p->type);
        if (sub)
            put(&b, "%s,", sub);
        else
            put(&b, "%u,", p->subtype);
        put(&b, "0x%lx,", (unsigned long)p->offset);
        put_size(&b, p->size);
        /* Known flags only, in gen_esp32part.py's FLAGS order. */
        bool enc = p->flags & OTA32_PT_FLAG_ENCRYPTED, ro = p->flags & OTA32_PT_FLAG_READONLY;
        put(&b, ",%s%s%s\n", enc ? "encrypted" : "", enc && ro ? ":" : "", ro ? "readonly" : "");
    }
    if (b.overflow)
        return OTA32_ERR_NO_MEM;
    return (int)b.len;
}
