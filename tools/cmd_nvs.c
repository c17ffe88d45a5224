/* ota32 nvs gen | dump | get: NVS partitions as ESP-IDF's nvs_partition_gen
 * writes them and nvs_tool.py shows them. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "bytes.h"
#include "nvs_csv.h"
#include "ota32/crc.h"
#include "ota32/nvs.h"
#include "ota32/partition.h"
#include "opts.h"
#include "util.h"

enum { N_OUTPUT, N_VERSION, N_OFFSET, N_SIZE, N_JSON, N_COUNT };

static const opt_def gen_opts[N_COUNT] = {
    [N_OUTPUT] = {"-o --output", OPT_STRING, "OUT",
                  "where the partition goes ('-': standard output); also the\n"
                  "positional OUT, as nvs_partition_gen.py takes it",
                  0, 0, NULL, "file"},
    [N_VERSION] = {"--version", OPT_NUMBER, "1|2",
                   "NVS format version: 2 (default, multi-page blobs) or 1", 1, 2, NULL, NULL},
};

#define NVS_READ_OPTS                                                                          \
    [N_OFFSET] = {"--offset", OPT_SIZE, "OFF",                                                 \
                  "where the partition starts in FILE (default 0, or the nvs\n"                \
                  "partition's offset when FILE is a whole flash dump)",                        \
                  0, 0xFFFFFFFFu, NULL, NULL},                                                  \
    [N_SIZE] = {"--size", OPT_SIZE, "SIZE", "the partition's size (default: to the end of FILE)", \
                0, 0xFFFFFFFFu, NULL, NULL}

static const opt_def dump_opts[N_COUNT] = {
    NVS_READ_OPTS,
    [N_JSON] = {"--json", OPT_FLAG, NULL, "the live items as JSON instead", 0, 0, NULL, NULL},
};
static const opt_def get_opts[N_COUNT] = {
    NVS_READ_OPTS,
    [N_JSON] = {"--json", OPT_FLAG, NULL,
                "namespace, key, type and value as JSON (blobs as hex)", 0, 0, NULL, NULL},
};

static const opt_cmd gen_cmd = {
    "nvs gen", "CSV OUT SIZE [--version 1|2]\nCSV SIZE -o OUT [--version 1|2]",
    "Build an NVS partition of SIZE bytes from nvs_partition_gen's CSV\n"
    "(key,type,encoding,value): the same bytes as the generator.",
    gen_opts, N_COUNT, 2, 3, NULL, false};
static const opt_cmd dump_cmd = {
    "nvs dump", "FILE [--offset OFF] [--size SIZE] [--json]",
    "Every page and entry, laid out as nvs_tool.py --dump all. FILE is a partition\n"
    "image, or a whole flash dump: its nvs partition is found from the partition\n"
    "table at 0x8000, or given by --offset/--size.",
    dump_opts, N_COUNT, 1, 1, NULL, false};
static const opt_cmd get_cmd = {
    "nvs get", "FILE NAMESPACE KEY [--offset OFF] [--size SIZE] [--json]",
    "Print one value: strings raw, integers in decimal, blobs in hex. FILE is a\n"
    "partition image, or a whole flash dump: its nvs partition is found from the\n"
    "partition table at 0x8000, or given by --offset/--size.",
    get_opts, N_COUNT, 3, 3, "exit status: 0 found, 1 absent or unreadable, 2 usage error",
    false};

static int cmd_gen(int argc, char **argv)
{
    opt_value v[N_COUNT];
    const char *pos[3];
    unsigned npos;
    int prc = opts_parse(&gen_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    int version = v[N_VERSION].set ? (int)v[N_VERSION].num : 2;
    const char *out = v[N_OUTPUT].str, *size_arg = pos[npos - 1];
    if (npos == 3 && out)
        return opts_usage_error(&gen_cmd, "OUT given twice (positional and -o)");
    if (npos == 3)
        out = pos[1];
    if (!out)
        return opts_usage_error(&gen_cmd, "expected CSV OUT SIZE (or CSV SIZE -o OUT)");
    uint64_t size;
    if (!util_parse_size(size_arg, &size) || size > 0x10000000u)
        return opts_usage_error(&gen_cmd, "bad SIZE '%s'", size_arg);
    size_t len;
    uint8_t *csv = util_read_file(pos[0], &len);
    if (!csv)
        return 1;
    uint8_t *img;
    size_t img_len;
    ota32_diag d;
    int rc =
        ota32_nvs_csv_generate((const char *)csv, len, (uint32_t)size, version, &img, &img_len, &d);
    free(csv);
    if (rc != OTA32_OK) {
        util_report_at(pos[0], rc, &d);
        return 1;
    }
    rc = util_write_file(out, img, img_len);
    free(img);
    return rc == OTA32_OK ? 0 : 1;
}

/* ---- a partition image ------------------------------------------------------- */

typedef struct image {
    uint8_t *data;
    size_t len;
    uint32_t offset, size; /* the partition within data */
} image;

/* A whole flash dump (a valid partition table at 0x8000): the NVS
 * partition it names, as `flash inspect` finds it (the data partition
 * labelled "nvs", else the first data/nvs entry). 1 found, 0 not a flash
 * dump, -1 a dump without an NVS partition (said why). */
static int nvs_from_table(const char *path, const image *im, uint64_t *off, uint64_t *size)
{
    if (im->len < OTA32_PT_OFFSET_DEFAULT + OTA32_PT_BIN_LEN)
        return 0;
    ota32_ptable *t = calloc(1, sizeof *t);
    if (!t)
        return util_fail("out of memory"), -1;
    ota32_diag d;
    int found = 0;
    if (ota32_pt_parse_bin(im->data + OTA32_PT_OFFSET_DEFAULT, OTA32_PT_BIN_LEN, NULL, t, &d) ==
        OTA32_OK) {
        const ota32_partition *p = ota32_pt_find_label(t, "nvs");
        if (!p || p->type != OTA32_PT_TYPE_DATA)
            p = ota32_pt_find(t, OTA32_PT_TYPE_DATA, OTA32_PT_DATA_NVS);
        if (p) {
            *off = p->offset;
            *size = p->size;
            found = 1;
        } else {
            util_fail("%s: a flash image whose partition table at 0x%x has no nvs partition "
                      "(give --offset and --size)",
                      path, OTA32_PT_OFFSET_DEFAULT);
            found = -1;
        }
    }
    free(t);
    return found;
}

/* Parse FILE [--offset] [--size]; positional arguments land in pos. A whole
 * flash dump without them: its nvs partition. 0, an exit status, or -1
 * after --help (exit status 0). */
static int load_image(const opt_cmd *c, int argc, char **argv, const char **pos, image *im,
                      bool *json)
{
    opt_value v[N_COUNT];
    unsigned npos;
    int prc = opts_parse(c, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return prc == OPTS_HELP ? -1 : prc;
    uint64_t off = v[N_OFFSET].num, size = v[N_SIZE].num;
    bool have_size = v[N_SIZE].set;
    *json = v[N_JSON].set;
    im->data = util_read_file(pos[0], &im->len);
    if (!im->data)
        return 1;
    if (!have_size && off == 0) {
        int found = nvs_from_table(pos[0], im, &off, &size);
        if (found < 0) {
            free(im->data);
            return 1;
        }
        have_size = found > 0;
    }
    if (!have_size)
        size = off < im->len ? im->len - off : 0;
    if (off + size > im->len || size == 0 || im->len > 0xFFFFFFFFu) {
        free(im->data);
        return util_fail("%s: partition 0x%llx+0x%llx is outside the file (%zu bytes)", pos[0],
                         (unsigned long long)off, (unsigned long long)size, im->len);
    }
    if (off % OTA32_NVS_PAGE_SIZE || size % OTA32_NVS_PAGE_SIZE) {
        free(im->data);
        return util_fail("%s: NVS partition offset 0x%llx and size 0x%llx must be multiples "
                         "of 0x1000",
                         pos[0], (unsigned long long)off, (unsigned long long)size);
    }
    im->offset = (uint32_t)off;
    im->size = (uint32_t)size;
    return 0;
}

/* ---- dump: the layout of nvs_tool.py --dump all ----------------------------------- */

static const char *type_name(uint8_t t)
{
    switch (t) {
    case 0x01:
        return "uint8_t";
    case 0x11:
        return "int8_t";
    case 0x02:
        return "uint16_t";
    case 0x12:
        return "int16_t";
    case 0x04:
        return "uint32_t";
    case 0x14:
        return "int32_t";
    case 0x08:
        return "uint64_t";
    case 0x18:
        return "int64_t";
    case 0x21:
        return "string";
    case 0x41:
        return "blob";
    case 0x42:
        return "blob_data";
    case 0x48:
        return "blob_index";
    default:
        return NULL;
    }
}

static const char *page_status(uint32_t s)
{
    switch (s) {
    case 0xFFFFFFFFu:
        return "Empty";
    case 0xFFFFFFFEu:
        return "Active";
    case 0xFFFFFFFCu:
        return "Full";
    case 0xFFFFFFF8u:
        return "Erasing";
    case 0x00000000u:
        return "Corrupted";
    default:
        return "Invalid";
    }
}

static const char *entry_status(unsigned s)
{
    return s == 3 ? "Empty" : s == 2 ? "Written" : s == 0 ? "Erased " : "Invalid";
}

/* Python's str.isprintable() for chr(c), c < 256. */
static bool py_printable(uint8_t c)
{
    return (c >= 0x20 && c < 0x7F) || (c >= 0xA1 && c != 0xAD);
}

static void put_latin1(uint8_t c)
{
    if (c < 0x80)
        putchar(c);
    else {
        putchar(0xC0 | (c >> 6));
        putchar(0x80 | (c & 0x3F));
    }
}

static void dump_raw(const uint8_t *e)
{
    for (int i = 0; i < 32; i++)
        printf("%s%02x ", i == 16 ? " " : "", e[i]);
    putchar(' ');
    for (int i = 0; i < 32; i++) {
        if (i == 16)
            putchar(' ');
        put_latin1(py_printable(e[i]) ? e[i] : '.');
    }
    putchar('\n');
}

/* Key as nvs_tool decodes it: trailing NULs dropped; NULL if any byte is
 * not ASCII. */
static bool key_decode(const uint8_t *k, char out[17])
{
    int n = 16;
    while (n > 0 && k[n - 1] == 0)
        n--;
    for (int i = 0; i < n; i++) {
        if (k[i] >= 0x80)
            return false;
        out[i] = (char)k[i];
    }
    out[n] = 0;
    return true;
}

static void flush_empty(int first, int last, int count)
{
    if (count >= 3)
        printf(" %03d. Empty\n ...\n %03d. Empty\n", first, last);
    else
        for (int i = first; count > 0; i++, count--)
            printf(" %03d. Empty\n", i);
}

static void print_value(const uint8_t *e, bool key_ok)
{
    uint8_t t = e[1];
    const char *name = type_name(t);
    const uint8_t *d = e + 24;
    if (!key_ok) {
        printf("None\n");
    } else if (name && t < 0x20) {
        unsigned size = t & 0x0F;
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)d[i] << (8 * i);
        if ((t & 0xF0) && size < 8 && (v >> (size * 8 - 1)) & 1)
            v |= ~(uint64_t)0 << (size * 8);
        if (t & 0xF0)
            printf("%lld\n", (long long)v);
        else
            printf("%llu\n", (unsigned long long)v);
    } else if (t == 0x48) {
        printf("Size=%u, ChunkCount=%u, ChunkStart=%u\n", ota32_le32(d), d[4], d[5]);
    } else if (name) {
        printf("Size=%u, CRC32=%x\n", ota32_le16(d), ota32_le32(d + 4));
    } else {
        printf("None\n");
    }
}

static void dump_page(const uint8_t *p, uint32_t addr)
{
    bool empty = true;
    for (int i = 0; i < 32; i++)
        empty = empty && p[i] == 0xFF;
    if (empty)
        printf("Page Empty, Page address: 0x%x\n", addr);
    else
        printf("Page no. %u, Status: %s, Version: %d, CRC32: %8x, Page address: 0x%x\n",
               ota32_le32(p + 4), page_status(ota32_le32(p)), 256 - p[8], ota32_le32(p + 28), addr);
    printf(" Entry state bitmap: ");
    for (int i = 0; i < 32; i++)
        printf("%02x ", p[32 + i]);
    putchar('\n');
    int run_first = -1, run_count = 0, run_last = -1;
    for (int i = 2; i < 128;) {
        const uint8_t *e = p + i * 32;
        int idx = i - 2;
        unsigned state = (p[32 + idx / 4] >> ((idx % 4) * 2)) & 3;
        int span = e[2] == 0 || e[2] == 0xFF ? 1 : e[2];
        bool blank = true;
        for (int k = 0; k < 32; k++)
            blank = blank && e[k] == 0xFF;
        if (state == 3 && blank) {
            if (run_count++ == 0)
                run_first = idx;
            run_last = idx;
            i += span;
            continue;
        }
        flush_empty(run_first, run_last, run_count);
        run_count = 0;
        char key[17];
        bool key_ok = key_decode(e + 8, key);
        const char *tn = type_name(e[1]);
        char tbuf[8];
        if (!tn) {
            snprintf(tbuf, sizeof tbuf, "0x%02x", e[1]);
            tn = tbuf;
        }
        printf(" %03d. %s, Namespace Index: %03d, Type: %-10s, Span: %03d, Chunk Index: %03d, "
               "CRC32: %8x | %s: ",
               idx, entry_status(state), e[0], tn, e[2], e[3], ota32_le32(e + 4),
               key_ok ? key : "None");
        print_value(e, key_ok);
        if (e[2] != 1)
            for (int k = 1; k < span && i + k < 128; k++) {
                printf("      0x%03x  ", (k - 1) * 32);
                dump_raw(p + (i + k) * 32);
            }
        i += span;
    }
    flush_empty(run_first, run_last, run_count);
    putchar('\n');
}

static int add_item(void *arg, const ota32_nvs_item *it)
{
    if (it->ns_index != 0 && it->type != OTA32_NVS_BLOB_DATA)
        cJSON_AddItemToArray(arg, util_nvs_item_json(it));
    return 0;
}

static int dump_json(const char *path, image *im)
{
    util_mem_flash mem = {.data = im->data, .len = im->len};
    ota32_flash_ops f = util_mem_flash_ops(&mem);
    static ota32_nvs nvs;
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = ota32_nvs_open(&nvs, &f, im->offset, im->size, &d);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "offset", im->offset);
    cJSON_AddNumberToObject(o, "size", im->size);
    if (rc == OTA32_OK)
        rc = ota32_nvs_foreach(&nvs, add_item, cJSON_AddArrayToObject(o, "items"));
    if (rc < 0) {
        cJSON_Delete(o);
        util_report(path, rc, &d);
        return 1;
    }
    return util_print_json(o);
}

static int cmd_dump(int argc, char **argv)
{
    const char *pos[1];
    image im;
    bool json;
    int rc = load_image(&dump_cmd, argc, argv, pos, &im, &json);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (json) {
        rc = dump_json(pos[0], &im);
    } else {
        for (uint32_t a = 0; a < im.size; a += OTA32_NVS_PAGE_SIZE)
            dump_page(im.data + im.offset + a, a);
    }
    free(im.data);
    return rc;
}

/* ---- get -------------------------------------------------------------------------- */

typedef struct get_ctx {
    const char *ns, *key;
    ota32_nvs_item found;
    bool have;
} get_ctx;

static int find_cb(void *arg, const ota32_nvs_item *it)
{
    get_ctx *g = arg;
    if (it->ns_index == 0 || it->type == OTA32_NVS_BLOB_DATA || strcmp(it->ns, g->ns) != 0 ||
        strcmp(it->key, g->key) != 0)
        return 0;
    g->found = *it;
    g->have = true;
    return 1;
}

static int cmd_get(int argc, char **argv)
{
    const char *pos[3];
    image im;
    bool json;
    int rc = load_image(&get_cmd, argc, argv, pos, &im, &json);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    /* Opening may repair power-cut leftovers: those writes stay in memory. */
    util_mem_flash mem = {.data = im.data, .len = im.len};
    ota32_flash_ops f = util_mem_flash_ops(&mem);
    static ota32_nvs nvs;
    ota32_diag d;
    get_ctx g = {pos[1], pos[2], {{0}, {0}, 0, 0, 0, 0, 0, 0, 0, 0, NULL}, false};
    rc = ota32_nvs_open(&nvs, &f, im.offset, im.size, &d);
    if (rc == OTA32_OK) {
        rc = ota32_nvs_foreach(&nvs, find_cb, &g);
        rc = rc > 0 ? OTA32_OK : rc;
    }
    if (rc != OTA32_OK) {
        util_report(pos[0], rc, &d);
        free(im.data);
        return 1;
    }
    int status = 0;
    if (!g.have) {
        status = util_fail("%s: %s/%s not found", pos[0], pos[1], pos[2]);
    } else if (json && g.found.type != OTA32_NVS_BLOB && g.found.type != OTA32_NVS_BLOB_IDX) {
        status = util_print_json(util_nvs_item_json(&g.found));
    } else if (g.found.type < 0x20) {
        if (g.found.type & 0x10)
            printf("%lld\n", (long long)g.found.int_val);
        else
            printf("%llu\n", (unsigned long long)g.found.int_val);
    } else if (g.found.type == OTA32_NVS_STR) {
        size_t n = g.found.data_len;
        fwrite(g.found.data, 1, n && !g.found.data[n - 1] ? n - 1 : n, stdout);
        putchar('\n');
    } else if (g.found.type == OTA32_NVS_BLOB || g.found.type == OTA32_NVS_BLOB_IDX) {
        size_t n = 0;
        rc = ota32_nvs_get_blob(&nvs, pos[1], pos[2], NULL, 0, &n);
        uint8_t *buf = rc == OTA32_OK ? malloc(n + 1) : NULL;
        if (buf)
            rc = ota32_nvs_get_blob(&nvs, pos[1], pos[2], buf, n, &n);
        if (!buf || rc != OTA32_OK) {
            status = rc == OTA32_ERR_NOT_FOUND
                         ? util_fail("%s: %s/%s: blob incomplete (chunks missing)", pos[0], pos[1],
                                     pos[2])
                         : util_fail("%s: %s/%s: %s", pos[0], pos[1], pos[2],
                                     ota32_strerror(buf ? rc : OTA32_ERR_NO_MEM));
        } else if (json) {
            cJSON *o = util_nvs_item_json(&g.found);
            char *hex = malloc(2 * n + 1);
            if (hex)
                util_hex(buf, n, hex);
            cJSON_AddStringToObject(o, "value", hex ? hex : "");
            free(hex);
            status = util_print_json(o);
        } else {
            for (size_t i = 0; i < n; i++)
                printf("%02x", buf[i]);
            putchar('\n');
        }
        free(buf);
    } else {
        status = util_fail("%s: %s/%s has type 0x%02x, which ota32 cannot print", pos[0], pos[1],
                           pos[2], g.found.type);
    }
    free(im.data);
    return status;
}

static const opt_cmd *const nvs_cmds[] = {&gen_cmd, &dump_cmd, &get_cmd};
static int (*const nvs_run[])(int, char **) = {cmd_gen, cmd_dump, cmd_get};

static int cmd_nvs(int argc, char **argv)
{
    return opts_dispatch(&nvs_group, argc, argv, nvs_run);
}

const opt_group nvs_group = {"nvs", "NVS partitions: gen from CSV, dump, get a key", nvs_cmds,
                             3, cmd_nvs};
