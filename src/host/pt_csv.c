/*
 * Reading gen_esp32part.py's CSV dialect (PartitionTable.from_csv and
 * PartitionDefinition.from_csv of ESP-IDF v5.5):
 *   - the text is UTF-8 (a UTF-8 BOM is skipped), split as str.splitlines();
 *   - each line goes through os.path.expandvars(); a line that still starts
 *     with $NAME is an error;
 *   - after str.strip(), empty lines and lines starting with '#' are skipped;
 *   - fields are split on ',' and stripped; missing trailing fields are
 *     empty and columns after the sixth are ignored;
 *   - name, type, subtype, offset, size, flags are parsed in that order and
 *     the first problem is reported as "Error at line N: ...".
 */
#include "pt_csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ENV_NAME_MAX 128

static bool is_word(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* os.path.expandvars() of one line into w->line: $NAME and ${NAME} are
 * replaced when set, left as they are otherwise. With `changed_only`, only
 * finds out whether any variable is set (nothing is written). */
static int expand_line(pt_csv_work *w, const uint8_t *s, size_t n, size_t *out_len,
                       bool changed_only, bool *changed, int line_no, ota32_diag *diag)
{
    const ota32_pt_csv_opts *o = w->opts;
    size_t len = 0, i = 0;
    while (i < n) {
        const uint8_t *lit = s + i;
        size_t lit_len = 1, name_at = 0, name_len = 0;
        if (s[i] == '$' && i + 1 < n) {
            size_t j = i + 1;
            if (is_word(s[j])) {
                while (j < n && is_word(s[j]))
                    j++;
                name_at = i + 1, name_len = j - i - 1, lit_len = j - i;
            } else if (s[j] == '{') {
                const uint8_t *close = memchr(s + j, '}', n - j);
                if (close) {
                    name_at = j + 1, name_len = (size_t)(close - s) - j - 1;
                    lit_len = (size_t)(close - s) + 1 - i;
                }
            }
        }
        const char *value = NULL;
        if (lit_len > 1 && name_len > 0 && name_len < ENV_NAME_MAX && o && o->getenv) {
            char name[ENV_NAME_MAX];
            memcpy(name, s + name_at, name_len);
            name[name_len] = '\0';
            value = o->getenv(o->ctx, name);
        }
        const uint8_t *src = value ? (const uint8_t *)value : lit;
        size_t src_len = value ? strlen(value) : lit_len;
        *changed |= value != NULL;
        if (!changed_only && src_len > sizeof w->line - len)
            return ota32_diag_fail(
                diag, OTA32_ERR_CORRUPT, line_no, -1,
                "Error at line %d: longer than %u bytes after variable expansion", line_no,
                (unsigned)sizeof w->line);
        if (!changed_only)
            memcpy(w->line + len, src, src_len);
        len += src_len;
        i += lit_len;
    }
    *out_len = len;
    return 0;
}

static pt_span field(const uint8_t *s, const uint8_t *e, unsigned index)
{
    /* The index-th comma-separated piece of [s, e), stripped; empty when the
     * line has fewer (the ",,,," gen_esp32part.py appends). */
    for (unsigned k = 0; k < index; k++) {
        const uint8_t *c = memchr(s, ',', (size_t)(e - s));
        if (!c)
            return (pt_span){e, 0};
        s = c + 1;
    }
    const uint8_t *c = memchr(s, ',', (size_t)(e - s));
    const uint8_t *fe = c ? c : e;
    pt_strip(&s, &fe);
    return (pt_span){s, (size_t)(fe - s)};
}

static int line_fail(ota32_diag *diag, int line_no, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A problem on one line: "Error at line N: <what>". */
static int line_fail(ota32_diag *diag, int line_no, const char *fmt, ...)
{
    char msg[OTA32_DIAG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, line_no, -1, "Error at line %d: %s", line_no,
                           msg);
}

/* parse_int() with gen_esp32part.py's messages. A number too large for any
 * field is reported once all lines are read, as gen_esp32part.py would only
 * fail on it later; `*out` then gets `placeholder`. */
static int parse_number(pt_csv_work *w, int64_t placeholder, pt_span v, const pt_keyword *kw,
                        size_t nkw, int64_t *out, int line_no, ota32_diag *diag)
{
    pt_span inner;
    int rc = pt_parse_int(v.p, v.n, kw, nkw, out, &inner);
    if (rc == 0)
        return 0;
    if (rc == PT_EVALUE)
        return line_fail(diag, line_no, "Invalid field value %.*s", (int)inner.n,
                         (const char *)inner.p);
    if (rc == PT_EKEYWORD) {
        char list[OTA32_DIAG_MSG_MAX];
        size_t len = 0;
        list[0] = '\0';
        for (size_t i = 0; i < nkw && len < sizeof list; i++) {
            int k = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", kw[i].name);
            len += k > 0 ? (size_t)k : 0;
        }
        return line_fail(diag, line_no, "Value '%.*s' is not valid. Known keywords: %s",
                         (int)inner.n, (const char *)inner.p, list);
    }
    if (w->range_line == 0) {
        w->range_line = line_no;
        snprintf(w->range_msg, sizeof w->range_msg,
                 "Error at line %d: Value %.*s is out of range (partition '%.*s')", line_no,
                 (int)v.n, (const char *)v.p, (int)w->e_cur->name_len,
                 (const char *)w->e_cur->name);
    }
    *out = placeholder;
    return 0;
}

static int parse_type(pt_csv_work *w, pt_span v, int64_t *out, int line_no, ota32_diag *diag)
{
    if (v.n == 0)
        return line_fail(diag, line_no, "Field 'type' can't be left empty.");
    size_t nkw;
    const pt_keyword *kw = pt_type_keywords(&nkw);
    return parse_number(w, 0x100, v, kw, nkw, out, line_no, diag); /* like a custom type */
}

static int parse_subtype(pt_csv_work *w, pt_span v, int64_t type, int64_t *out, int line_no,
                         ota32_diag *diag)
{
    if (v.n == 0) {
        if (type == OTA32_PT_TYPE_APP)
            return line_fail(diag, line_no, "App partition cannot have an empty subtype");
        *out = 0x06; /* data "undefined" */
        return 0;
    }
    size_t nkw = 0;
    const pt_keyword *kw =
        (type >= 0 && type <= 0xFF) ? pt_subtype_keywords((uint8_t)type, &nkw) : NULL;
    return parse_number(w, 0, v, kw, kw ? nkw : 0, out, line_no, diag);
}

static const char no_primary[] =
    "Primary bootloader offset is not defined. Please use --primary-bootloader-offset";

/* parse_address(): the primary bootloader, recovery bootloader and primary
 * partition table entries take their offset from the options. */
static int parse_offset(pt_csv_work *w, pt_span v, pt_csv_entry *e, int line_no, ota32_diag *diag)
{
    const ota32_pt_csv_opts *o = w->opts;
    e->has_offset = true;
    if (e->type == OTA32_PT_TYPE_BOOTLOADER && e->subtype == 0x00) {
        if (!o || !o->has_primary_bootloader_offset)
            return line_fail(diag, line_no, "%s", no_primary);
        e->offset = o->primary_bootloader_offset;
        return 0;
    }
    if (e->type == OTA32_PT_TYPE_BOOTLOADER && e->subtype == 0x02) {
        if (!o || !o->has_recovery_bootloader_offset)
            return line_fail(diag, line_no,
                             "Recovery bootloader offset is not defined. Please use "
                             "--recovery-bootloader-offset");
        e->offset = o->recovery_bootloader_offset;
        return 0;
    }
    if (e->type == OTA32_PT_TYPE_PARTITION_TABLE && e->subtype == 0x00) {
        e->offset = w->table_offset;
        return 0;
    }
    if (v.n == 0) {
        e->has_offset = false;
        return 0;
    }
    return parse_number(w, 0, v, NULL, 0, &e->offset, line_no, diag);
}

/* parse_size(): bootloader entries span up to the partition table and
 * partition_table entries are one sector, whatever the column says. */
static int parse_size(pt_csv_work *w, pt_span v, pt_csv_entry *e, int line_no, ota32_diag *diag)
{
    const ota32_pt_csv_opts *o = w->opts;
    if (e->type == OTA32_PT_TYPE_BOOTLOADER) {
        if (!o || !o->has_primary_bootloader_offset)
            return line_fail(diag, line_no, "%s", no_primary);
        e->size = (int64_t)w->table_offset - o->primary_bootloader_offset;
        return 0;
    }
    if (e->type == OTA32_PT_TYPE_PARTITION_TABLE) {
        e->size = PT_SECTOR;
        return 0;
    }
    if (v.n == 0)
        return line_fail(diag, line_no, "Size field can't be empty");
    return parse_number(w, 0, v, NULL, 0, &e->size, line_no, diag);
}

static int parse_flags(pt_span v, uint32_t *flags, int line_no, ota32_diag *diag)
{
    /* Colon-separated, matched exactly (no stripping); empty items are fine. */
    const uint8_t *s = v.p, *e = v.p + v.n;
    *flags = 0;
    while (s <= e) {
        const uint8_t *c = memchr(s, ':', (size_t)(e - s));
        const uint8_t *ie = c ? c : e;
        pt_span item = {s, (size_t)(ie - s)};
        if (item.n == 9 && memcmp(s, "encrypted", 9) == 0)
            *flags |= OTA32_PT_FLAG_ENCRYPTED;
        else if (item.n == 8 && memcmp(s, "readonly", 8) == 0)
            *flags |= OTA32_PT_FLAG_READONLY;
        else if (item.n != 0)
            return line_fail(diag, line_no, "CSV flag column contains unknown flag '%.*s'",
                             (int)item.n, (const char *)item.p);
        if (!c)
            break;
        s = c + 1;
    }
    return 0;
}

/* Line errors quote gen_esp32part.py, which does not say which partition. */
static int name_partition(ota32_diag *diag, const pt_csv_entry *e)
{
    if (diag) {
        size_t n = strlen(diag->msg);
        snprintf(diag->msg + n, sizeof diag->msg - n, " (partition '%.*s')", (int)e->name_len,
                 (const char *)e->name);
    }
    return OTA32_ERR_CORRUPT;
}

static int parse_line(pt_csv_work *w, const uint8_t *s, const uint8_t *end, pt_span name,
                      bool name_in_text, int line_no, ota32_diag *diag)
{
    pt_csv_entry scratch;
    pt_csv_entry *e = w->n < PT_CSV_CAP ? &w->e[w->n] : &scratch;
    memset(e, 0, sizeof *e);
    e->line = line_no;
    e->at = -1;

    bool name_fits = name_in_text || name.n <= sizeof e->name_copy;
    if (name_in_text) {
        e->name = name.p;
    } else {
        memcpy(e->name_copy, name.p, name_fits ? name.n : sizeof e->name_copy);
        e->name = e->name_copy;
    }
    e->name_len = name_fits ? name.n : sizeof e->name_copy;
    w->e_cur = e;

    int rc;
    if ((rc = parse_type(w, field(s, end, 1), &e->type, line_no, diag)) != 0 ||
        (rc = parse_subtype(w, field(s, end, 2), e->type, &e->subtype, line_no, diag)) != 0 ||
        (rc = parse_offset(w, field(s, end, 3), e, line_no, diag)) != 0 ||
        (rc = parse_size(w, field(s, end, 4), e, line_no, diag)) != 0 ||
        (rc = parse_flags(field(s, end, 5), &e->flags, line_no, diag)) != 0)
        return name_partition(diag, e);
    if (!name_fits)
        return line_fail(diag, line_no, "name longer than %u bytes after variable expansion",
                         (unsigned)sizeof e->name_copy);
    /* The binary's name field is 16 bytes: a longer name would be cut (and
     * two names sharing 16 bytes would collide on the device). */
    if (e->name_len > OTA32_PT_LABEL_LEN)
        return line_fail(diag, line_no,
                         "Partition name '%.*s' is %u characters long, more than the %u the "
                         "table's name field holds",
                         (int)e->name_len, (const char *)e->name, (unsigned)e->name_len,
                         (unsigned)OTA32_PT_LABEL_LEN);

    if (w->n < PT_CSV_CAP)
        w->n++;
    w->total++;
    w->last_line = line_no;
    return 0;
}

static int read_line(pt_csv_work *w, const uint8_t *s, size_t n, int line_no, ota32_diag *diag)
{
    const uint8_t *raw = s, *raw_end = s + n;
    const uint8_t *dollar = memchr(s, '$', n);
    bool expanded = false;
    if (dollar) {
        size_t len;
        int rc = expand_line(w, s, n, &len, true, &expanded, line_no, diag);
        if (rc == 0 && expanded)
            rc = expand_line(w, s, n, &len, false, &expanded, line_no, diag);
        if (rc)
            return rc;
        if (expanded)
            s = w->line, n = len;
        /* Checked before stripping, as gen_esp32part.py does: a line that
         * still starts with $NAME names a variable that is not set. */
        if (n >= 2 && s[0] == '$' && (is_word(s[1]) && !(s[1] >= '0' && s[1] <= '9'))) {
            size_t k = 1;
            while (k < n && is_word(s[k]))
                k++;
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, line_no, -1, "unknown variable '%.*s'",
                                   (int)(k - 1), (const char *)s + 1);
        }
    }
    const uint8_t *b = s, *e = s + n;
    pt_strip(&b, &e);
    if (b == e || *b == '#')
        return 0;
    /* The name is the same text in the raw line when no '$' comes before
     * its first comma; then it can be referenced there, whatever its length. */
    const uint8_t *comma = memchr(raw, ',', (size_t)(raw_end - raw));
    pt_span name;
    bool name_in_text = !expanded || (comma && comma < dollar);
    if (name_in_text && expanded) {
        const uint8_t *rb = raw, *re = raw_end;
        pt_strip(&rb, &re);
        name = field(rb, re, 0);
    } else {
        name = field(b, e, 0);
    }
    return parse_line(w, b, e, name, name_in_text, line_no, diag);
}

int ota32_pt_parse_csv(const char *text, size_t len, const ota32_pt_csv_opts *opts,
                       ota32_ptable *out, ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!out || (!text && len))
        return OTA32_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);

    pt_csv_work w;
    w.n = w.total = 0;
    w.range_line = 0;
    w.last_line = 0;
    w.opts = opts;
    w.table_offset = (opts && opts->table_offset) ? opts->table_offset : OTA32_PT_OFFSET_DEFAULT;
    if (opts && opts->has_primary_bootloader_offset &&
        opts->primary_bootloader_offset >= w.table_offset)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "Unsupported configuration. Primary bootloader must be below "
                               "partition table. Check --primary-bootloader-offset=0x%x and "
                               "--offset=0x%x",
                               (unsigned)opts->primary_bootloader_offset, (unsigned)w.table_offset);

    const uint8_t *p = (const uint8_t *)text, *end = p + len;
    if (len >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF) ||
                     (len >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0xFE && p[3] == 0xFF)))
        return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, 0,
                               "UTF-16 and UTF-32 CSV files are not supported; save it as UTF-8");
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;
    if (!pt_utf8_valid(p, (size_t)(end - p)))
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, -1, "text is not valid UTF-8");

    int line_no = 0;
    while (p < end) {
        const uint8_t *ls = p;
        size_t brk = 0;
        while (p < end && (brk = pt_linebreak_at(p, end)) == 0)
            p++;
        line_no++;
        int rc = read_line(&w, ls, (size_t)(p - ls), line_no, diag);
        if (rc)
            return rc;
        p += brk;
    }
    if (w.range_line)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, w.range_line, -1, "%s", w.range_msg);
    return pt_csv_finish(&w, out, diag);
}
