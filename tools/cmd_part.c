/*
 * ota32 part gen | show: gen_esp32part.py's conversions. A file starting
 * with AA 50 is a binary table, anything else is CSV.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "ota32/partition.h"
#include "partition_csv.h"
#include "posix_hash.h"
#include "opts.h"
#include "util.h"

typedef struct part_args {
    const char *in, *out;
    ota32_pt_csv_opts opts;
    bool no_md5, quiet;
    bool want_csv, want_table, want_json;
} part_args;

enum {
    P_OUTPUT,
    P_FLASH_SIZE,
    P_OFFSET,
    P_NO_MD5,
    P_PRIMARY_BL,
    P_RECOVERY_BL,
    P_SECURE,
    P_QUIET,
    P_CSV,
    P_TABLE,
    P_JSON,
    P_COUNT
};

#define PART_OPTS                                                                              \
    [P_FLASH_SIZE] = {"--flash-size", OPT_STRING, "SIZE", "check that the table fits: 1MB 2MB 4MB ... 128MB",       \
                      0, 0, "1MB 2MB 4MB 8MB 16MB 32MB 64MB 128MB", NULL},                      \
    [P_OFFSET] = {"--offset", OPT_NUMBER, "ADDR", "partition table offset (default 0x8000)",    \
                  0x1000, 0xFFFFF000u, NULL, NULL},                                             \
    [P_NO_MD5] = {"--no-md5", OPT_FLAG, NULL, "no MD5 entry (gen_esp32part.py --disable-md5sum)", \
                  0, 0, NULL, NULL},                                                            \
    [P_PRIMARY_BL] = {"--primary-bootloader-offset", OPT_NUMBER, "ADDR",                        \
                      "where a 'bootloader, primary' entry is", 0, 0xFFFFFFFFu, NULL, NULL},    \
    [P_RECOVERY_BL] = {"--recovery-bootloader-offset", OPT_NUMBER, "ADDR",                      \
                       "where a 'bootloader, recovery' entry is", 0, 0xFFFFFFFFu, NULL, NULL},  \
    [P_SECURE] = {"--secure", OPT_FLAG, "v1|v2",                                               \
                  "require app partitions suitable for secure boot (v1 when\n"                 \
                  "no version is given: app sizes in 64 KB units)",                             \
                  0, 0, "v1 v2", NULL},                                                         \
    [P_QUIET] = {"-q --quiet", OPT_FLAG, NULL, "do not print warnings", 0, 0, NULL, NULL}

static const opt_def gen_opts[P_COUNT] = {
    [P_OUTPUT] = {"-o --output", OPT_STRING, "OUT",
                  "where the result goes ('-': standard output); also the\n"
                  "positional OUT, as gen_esp32part.py takes it",
                  0, 0, NULL, "file"},
    PART_OPTS,
};

static const opt_def show_opts[P_COUNT] = {
    PART_OPTS,
    [P_CSV] = {"--csv", OPT_FLAG, NULL, "only the CSV", 0, 0, NULL, NULL},
    [P_TABLE] = {"--table", OPT_FLAG, NULL,
                 "only the table: name, type, subtype, offset, size, flags", 0, 0, NULL, NULL},
    [P_JSON] = {"--json", OPT_FLAG, NULL, "the entries as JSON", 0, 0, NULL, NULL},
};

const opt_cmd part_gen_cmd = {
    "part gen", "IN [OUT] [options]\nIN -o OUT [options]",
    "Convert a partition table as ESP-IDF's gen_esp32part.py does: a CSV into the\n"
    "0xC00-byte binary, or a binary back into CSV. $NAME and ${NAME} in the CSV are\n"
    "replaced from the environment.",
    gen_opts, P_COUNT, 1, 2, "exit status: 0 done, 1 the table was rejected, 2 usage error",
    false};

const opt_cmd part_show_cmd = {
    "part show", "FILE [--csv | --table | --json] [options]",
    "Print a partition table (binary or CSV): by default the CSV exactly as\n"
    "gen_esp32part.py writes it for the binary, then a readable table.",
    show_opts, P_COUNT, 1, 1, "exit status: 0 done, 1 the table was rejected, 2 usage error",
    false};

static const char *env_lookup(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

static void print_warning(void *ctx, int line, const char *msg)
{
    const part_args *a = ctx;
    if (!a->quiet)
        fprintf(stderr, "ota32: %s:%d: WARNING: %s\n", a->in, line, msg);
}

static bool parse_flash_size(const char *s, uint32_t *out)
{
    static const char *const sizes[] = {"1MB",  "2MB",  "4MB",  "8MB",
                                        "16MB", "32MB", "64MB", "128MB"};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (strcmp(s, sizes[i]) == 0) {
            *out = (uint32_t)(1u << i) * 1024u * 1024u;
            return true;
        }
    }
    return false;
}

/* Returns OPTS_OK, or what opts_parse returned. */
static int parse_args(int argc, char **argv, bool show, part_args *a)
{
    const opt_cmd *c = show ? &part_show_cmd : &part_gen_cmd;
    memset(a, 0, sizeof *a);
    a->opts.getenv = env_lookup;
    a->opts.warn = print_warning;
    a->opts.ctx = a;
    /* "--secure v3": a version it does not know, not a file name */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--secure") && (argv[i + 1][0] == 'v' || argv[i + 1][0] == 'V') &&
            strlen(argv[i + 1]) <= 3 && strcasecmp(argv[i + 1], "v1") && strcasecmp(argv[i + 1], "v2"))
            return opts_usage_error(c, "--secure %s: use v1 or v2", argv[i + 1]);
    opt_value v[P_COUNT];
    const char *pos[2];
    unsigned npos;
    int rc = opts_parse(c, argc, argv, v, pos, &npos);
    if (rc != OPTS_OK)
        return rc;
    if (v[P_FLASH_SIZE].set)
        parse_flash_size(v[P_FLASH_SIZE].str, &a->opts.flash_size);
    if (v[P_OFFSET].set) {
        if (v[P_OFFSET].num % 0x1000)
            return opts_usage_error(c, "--offset %s: not a multiple of 0x1000", v[P_OFFSET].str);
        a->opts.table_offset = (uint32_t)v[P_OFFSET].num;
    }
    if (v[P_PRIMARY_BL].set) {
        a->opts.primary_bootloader_offset = (uint32_t)v[P_PRIMARY_BL].num;
        a->opts.has_primary_bootloader_offset = true;
    }
    if (v[P_RECOVERY_BL].set) {
        a->opts.recovery_bootloader_offset = (uint32_t)v[P_RECOVERY_BL].num;
        a->opts.has_recovery_bootloader_offset = true;
    }
    if (v[P_SECURE].set) /* the version is optional, as in gen_esp32part.py */
        a->opts.secure = v[P_SECURE].str && !strcasecmp(v[P_SECURE].str, "v2")
                             ? OTA32_PT_SECURE_V2
                             : OTA32_PT_SECURE_V1;
    a->no_md5 = a->opts.no_md5 = v[P_NO_MD5].set;
    a->quiet = v[P_QUIET].set;
    a->want_csv = v[P_CSV].set;
    a->want_table = v[P_TABLE].set;
    a->want_json = v[P_JSON].set;
    a->in = pos[0];
    a->out = npos > 1 ? pos[1] : v[P_OUTPUT].str;
    if (!show && npos > 1 && v[P_OUTPUT].set)
        return opts_usage_error(c, "OUT given twice (positional and -o)");
    if (!show && !a->out)
        return opts_usage_error(c, "expected IN and OUT (or -o OUT)");
    if (a->want_csv + a->want_table + a->want_json > 1)
        return opts_usage_error(c, "--csv, --table and --json exclude each other");
    return OPTS_OK;
}

static void report(const part_args *a, int err, const ota32_diag *d)
{
    util_report_at(a->in, err, d);
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80)
        return o[0] = (uint8_t)cp, 1;
    if (cp < 0x800)
        return o[0] = (uint8_t)(0xC0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* gen_esp32part.py also reads CSV files saved as UTF-16 (BOM FF FE or FE FF)
 * or UTF-32 big-endian (00 00 FE FF); the core reads UTF-8, so those are
 * converted here. Returns a malloc'd UTF-8 copy, `in` itself when there is
 * nothing to convert, or NULL (with a message) when the text is invalid. */
static uint8_t *to_utf8(const char *path, uint8_t *in, size_t *len)
{
    size_t n = *len, unit;
    bool be;
    if (n >= 4 && in[0] == 0 && in[1] == 0 && in[2] == 0xFE && in[3] == 0xFF)
        unit = 4, be = true;
    else if (n >= 2 && in[0] == 0xFF && in[1] == 0xFE)
        unit = 2, be = false;
    else if (n >= 2 && in[0] == 0xFE && in[1] == 0xFF)
        unit = 2, be = true;
    else
        return in;
    if (n % unit) {
        fprintf(stderr, "ota32: %s: truncated UTF-%zu text\n", path, unit * 8);
        return NULL;
    }
    uint8_t *out = malloc(n * 2 + 1), *o = out;
    if (!out) {
        fprintf(stderr, "ota32: %s: out of memory\n", path);
        return NULL;
    }
    for (size_t i = unit; i < n; i += unit) {
        uint32_t cp;
        if (unit == 4)
            cp = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 | (uint32_t)in[i + 2] << 8 |
                 in[i + 3];
        else
            cp = be ? (uint32_t)(in[i] << 8 | in[i + 1]) : (uint32_t)(in[i + 1] << 8 | in[i]);
        if (unit == 2 && cp >= 0xD800 && cp < 0xDC00 && i + 3 < n) {
            uint32_t lo = be ? (uint32_t)(in[i + 2] << 8 | in[i + 3])
                             : (uint32_t)(in[i + 3] << 8 | in[i + 2]);
            if (lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if ((cp >= 0xD800 && cp < 0xE000) || cp > 0x10FFFF) {
            fprintf(stderr, "ota32: %s: offset 0x%zx: invalid UTF-%zu text\n", path, i, unit * 8);
            free(out);
            return NULL;
        }
        o += put_utf8(o, cp);
    }
    *len = (size_t)(o - out);
    return out;
}

/* CSV text: UTF-16/32 with a BOM (converted later), or UTF-8 without NUL
 * bytes. A binary file other than a table fails here. */
static bool is_text(const uint8_t *s, size_t n)
{
    if ((n >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) ||
        (n >= 4 && s[0] == 0 && s[1] == 0 && s[2] == 0xFE && s[3] == 0xFF))
        return true;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t more;
        if (c < 0x80)
            more = 0;
        else if ((c >> 5) == 6)
            more = 1;
        else if ((c >> 4) == 14)
            more = 2;
        else if ((c >> 3) == 30)
            more = 3;
        else
            return false; /* not a lead byte */
        if (c == 0 || i + more >= n) /* a NUL, or cut in a sequence */
            return false;
        for (size_t k = 1; k <= more; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += more + 1;
    }
    return true;
}

/* Read and parse IN; *is_bin tells which form it had. */
static int load(const part_args *a, ota32_ptable *t, bool *is_bin)
{
    size_t len;
    uint8_t *buf = util_read_file(a->in, &len);
    if (!buf)
        return 1;
    ota32_diag d;
    int rc;
    *is_bin = len >= 2 && buf[0] == 0xAA && buf[1] == 0x50;
    if (*is_bin) {
        rc = ota32_pt_parse_bin(buf, len, a->no_md5 ? NULL : ota32_posix_hash(), t, &d);
        if (rc == 0) {
            for (unsigned i = 0; i < t->count && !a->quiet; i++)
                if (t->entries[i].flags & ~OTA32_PT_FLAGS_KNOWN)
                    fprintf(stderr,
                            "ota32: %s: offset 0x%x: WARNING: Partition definition had unknown "
                            "flag(s) 0x%08lx. Newer binary format?\n",
                            a->in, i * OTA32_PT_ENTRY_LEN,
                            (unsigned long)(t->entries[i].flags & ~OTA32_PT_FLAGS_KNOWN));
            rc = ota32_pt_verify(t, &a->opts, &d);
        }
    } else if (len == 0 || !is_text(buf, len)) {
        fprintf(stderr,
                "ota32: %s: %s: neither a binary partition table (starting AA 50) nor CSV "
                "text\n",
                a->in, len == 0 ? "empty file" : "not a partition table");
        free(buf);
        return 1;
    } else {
        uint8_t *text = to_utf8(a->in, buf, &len);
        if (!text) {
            free(buf);
            return 1;
        }
        rc = ota32_pt_parse_csv((const char *)text, len, &a->opts, t, &d);
        if (text != buf)
            free(text);
    }
    free(buf);
    if (rc) {
        report(a, rc, &d);
        return 1;
    }
    return 0;
}

static int write_out(const char *path, const void *data, size_t len)
{
    return util_write_file(path, data, len) == 0 ? 0 : 1;
}

/* The CSV text of a table; malloc'd. */
static char *table_csv(const ota32_ptable *t, int *len)
{
    size_t cap = 128 + (size_t)t->count * 96;
    char *csv = malloc(cap);
    *len = csv ? ota32_pt_to_csv(t, csv, cap) : OTA32_ERR_NO_MEM;
    if (*len < 0) {
        free(csv);
        return NULL;
    }
    return csv;
}

/* What gen and show start with: --help, the arguments, the table loaded
 * (malloc'd). NULL when the command ends there, with its exit status in
 * *status. */
static ota32_ptable *start(int argc, char **argv, bool show, part_args *a, bool *is_bin,
                           int *status)
{
    *status = parse_args(argc, argv, show, a);
    if (*status != OPTS_OK) {
        *status = opts_exit(*status);
        return NULL;
    }
    ota32_ptable *t = malloc(sizeof *t);
    if (!t) {
        *status = util_fail("out of memory");
        return NULL;
    }
    if (load(a, t, is_bin)) {
        free(t);
        *status = 1;
        return NULL;
    }
    return t;
}

static int part_gen(int argc, char **argv)
{
    part_args a;
    bool is_bin;
    int rc;
    ota32_ptable *t = start(argc, argv, false, &a, &is_bin, &rc);
    if (!t)
        return rc;
    if (is_bin) {
        int len;
        char *csv = table_csv(t, &len);
        rc = csv ? write_out(a.out, csv, (size_t)len) : util_fail("out of memory");
        free(csv);
    } else {
        uint8_t bin[OTA32_PT_BIN_LEN];
        ota32_diag d;
        int err = ota32_pt_to_bin(t, !a.no_md5, ota32_posix_hash(), bin, &d);
        if (err) {
            util_report(a.in, err, &d);
            rc = 1;
        } else {
            rc = write_out(a.out, bin, sizeof bin);
        }
    }
    free(t);
    return rc;
}

static const char *flags_text(uint32_t flags, char buf[48])
{
    snprintf(buf, 48, "%s%s%s", (flags & OTA32_PT_FLAG_ENCRYPTED) ? "encrypted" : "",
             (flags & OTA32_PT_FLAG_ENCRYPTED) && (flags & OTA32_PT_FLAG_READONLY) ? ":" : "",
             (flags & OTA32_PT_FLAG_READONLY) ? "readonly" : "");
    if (flags & ~OTA32_PT_FLAGS_KNOWN) {
        size_t n = strlen(buf);
        snprintf(buf + n, 48 - n, "%s0x%lx", n ? ":" : "",
                 (unsigned long)(flags & ~OTA32_PT_FLAGS_KNOWN));
    }
    return buf;
}

static void human_size(uint32_t v, char buf[16])
{
    if (v >= 0x100000 && v % 0x100000 == 0)
        snprintf(buf, 16, "%lu MiB", (unsigned long)(v >> 20));
    else if (v % 0x400 == 0)
        snprintf(buf, 16, "%lu KiB", (unsigned long)(v >> 10));
    else
        snprintf(buf, 16, "%lu B", (unsigned long)v);
}

static void print_table(const ota32_ptable *t)
{
    printf("%-16s  %-15s  %-9s  %-10s  %-21s  %s\n", "Name", "Type", "SubType", "Offset", "Size",
           "Flags");
    for (unsigned i = 0; i < t->count; i++) {
        const ota32_partition *p = &t->entries[i];
        char type[8], sub[8], hs[16], fl[48];
        const char *tn = ota32_pt_type_name(p->type),
                   *sn = ota32_pt_subtype_name(p->type, p->subtype);
        if (!tn)
            snprintf(type, sizeof type, "0x%02x", p->type), tn = type;
        if (!sn)
            snprintf(sub, sizeof sub, "0x%02x", p->subtype), sn = sub;
        human_size(p->size, hs);
        char row[160];
        int n = snprintf(row, sizeof row, "%-16.16s  %-15s  %-9s  0x%08lx  0x%08lx  %-9s  %s",
                         p->label, tn, sn, (unsigned long)p->offset, (unsigned long)p->size, hs,
                         flags_text(p->flags, fl));
        while (n > 0 && (size_t)n < sizeof row && row[n - 1] == ' ')
            row[--n] = '\0'; /* no trailing blanks when there are no flags */
        puts(row);
    }
    printf("%u partition%s, ota slots: %u\n", t->count, t->count == 1 ? "" : "s",
           ota32_pt_ota_count(t));
}

static int print_json(const ota32_ptable *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "partitions");
    for (unsigned i = 0; i < t->count; i++)
        cJSON_AddItemToArray(arr, util_partition_json(&t->entries[i]));
    cJSON_AddNumberToObject(o, "ota_count", ota32_pt_ota_count(t));
    return util_print_json(o);
}

static int part_show(int argc, char **argv)
{
    part_args a;
    bool is_bin;
    int rc;
    ota32_ptable *t = start(argc, argv, true, &a, &is_bin, &rc);
    if (!t)
        return rc;
    if (t->count == 0) {
        free(t);
        return util_fail("%s: no partitions in it (a CSV needs rows of name, type, subtype, "
                         "offset, size)",
                         a.in);
    }
    bool all = !a.want_csv && !a.want_table && !a.want_json;
    if (a.want_csv || all) {
        int len;
        char *csv = table_csv(t, &len);
        if (!csv) {
            free(t);
            return util_fail("out of memory");
        }
        fwrite(csv, 1, (size_t)len, stdout);
        free(csv);
    }
    if (all)
        putchar('\n');
    if (a.want_table || all)
        print_table(t);
    rc = a.want_json ? print_json(t) : 0;
    free(t);
    return rc;
}

static const opt_cmd *const part_cmds[] = {&part_gen_cmd, &part_show_cmd};
static int (*const part_run[])(int, char **) = {part_gen, part_show};

static int cmd_part(int argc, char **argv)
{
    return opts_dispatch(&part_group, argc, argv, part_run);
}

const opt_group part_group = {"part", "partition tables: gen CSV -> binary, show binary or CSV",
                              part_cmds, 2, cmd_part};
