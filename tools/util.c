#include "util.h"

#include "diag_text.h"
#include "outfile.h"
#include "ota32/nvs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint8_t *util_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ota32: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, (cap *= 2) + 1);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int read_errno = ferror(f) ? errno : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf || err) {
        /* a directory opens but fails to read with EISDIR */
        fprintf(stderr, "ota32: %s: %s\n", path,
                !buf ? "out of memory" : strerror(read_errno ? read_errno : EIO));
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int util_write_file_with(const char *path, int (*fill)(void *arg, void *file), void *arg)
{
    out_file o;
    if (out_open(&o, path) != 0)
        return OTA32_ERR_IO;
    errno = 0;
    int filled = fill(arg, o.f);
    if (filled > 0) {
        out_fail(&o, errno);
        return OTA32_ERR_IO;
    }
    if (filled < 0) {
        out_abort(&o);
        return OTA32_ERR_IO;
    }
    return out_commit(&o) == 0 ? OTA32_OK : OTA32_ERR_IO;
}

typedef struct write_buf {
    const void *data;
    size_t len;
} write_buf;

static int fill_buf(void *arg, void *file)
{
    const write_buf *b = arg;
    return fwrite(b->data, 1, b->len, file) == b->len ? 0 : 1;
}

int util_write_file(const char *path, const void *data, size_t len)
{
    write_buf b = {data, len};
    return util_write_file_with(path, fill_buf, &b);
}

bool util_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

bool util_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    double v;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        v = (double)strtoull(s, &end, 16);
    else
        v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return false;
    double mul = 1;
    if (*end == 'k' || *end == 'K') {
        mul = 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        mul = 1024 * 1024;
        end++;
    } else if (*end == 'g' || *end == 'G') {
        mul = 1024.0 * 1024 * 1024;
        end++;
    }
    if (mul > 1 && (*end == 'B' || *end == 'b'))
        end++;
    if (*end)
        return false;
    double bytes = v * mul;
    if (bytes > 18446744073709549568.0 || bytes != (double)(uint64_t)bytes)
        return false;
    *out = (uint64_t)bytes;
    return true;
}

void util_report(const char *context, int err, const ota32_diag *diag)
{
    if (diag && diag->msg[0] && diag->line > 0)
        util_report_at(context, err, diag); /* FILE:LINE: message */
    else if (diag && diag->msg[0])
        fprintf(stderr, "ota32: %s: %s\n", context, diag->msg);
    else
        fprintf(stderr, "ota32: %s: %s\n", context, ota32_strerror(err));
}

void util_report_at(const char *file, int err, const ota32_diag *diag)
{
    char line[OTA32_DIAG_MSG_MAX + 4200];
    fprintf(stderr, "ota32: %s\n", ota32_diag_text(line, sizeof line, file, err, diag));
}

static void vfail(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void vfail(const char *fmt, va_list ap)
{
    fputs("ota32: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int util_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    return 1;
}

ota32_flash_ops util_mem_flash_ops(util_mem_flash *m)
{
    uint32_t size = m->len > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)m->len;
    vdev_nor_init(&m->nor, m->data, size, NULL);
    return *vdev_nor_flash(&m->nor);
}

void util_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = 0;
}

cJSON *util_app_desc_json(const ota32_app_desc *a)
{
    char sha[2 * 32 + 1];
    util_hex(a->app_elf_sha256, sizeof a->app_elf_sha256, sha);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", a->version);
    cJSON_AddStringToObject(o, "project", a->project_name);
    cJSON_AddStringToObject(o, "idf", a->idf_ver);
    cJSON_AddStringToObject(o, "date", a->date);
    cJSON_AddStringToObject(o, "time", a->time);
    cJSON_AddNumberToObject(o, "secure_version", a->secure_version);
    cJSON_AddStringToObject(o, "elf_sha256", sha);
    return o;
}

/* What a file is by its first bytes, for inputs given to the wrong command. */
util_kind util_file_kind(const uint8_t *data, size_t len, uint32_t table_offset)
{
    if (len >= 4 && !memcmp(data, "\x7f" "ELF", 4))
        return UTIL_KIND_ELF;
    if (len >= 2 && data[0] == 0xAA && data[1] == 0x50)
        return UTIL_KIND_PTABLE;
    if (table_offset && len >= (size_t)table_offset + 2 && data[table_offset] == 0xAA &&
        data[table_offset + 1] == 0x50)
        return UTIL_KIND_FLASH;
    if (len >= 1 && data[0] == 0xE9)
        return UTIL_KIND_IMAGE;
    return UTIL_KIND_OTHER;
}

const char *util_kind_hint(util_kind kind)
{
    switch (kind) {
    case UTIL_KIND_ELF:
        return "an ELF file, not an image: convert it with `ota32 image elf2image ELF -o app.bin`";
    case UTIL_KIND_PTABLE:
        return "a partition table on its own: read it with `ota32 part show`";
    case UTIL_KIND_FLASH:
        return "a whole-flash image (partition table at 0x8000), not an app image: read it with "
               "`ota32 flash inspect`";
    case UTIL_KIND_IMAGE:
        return "an app or bootloader image, not a whole-flash image: read it with "
               "`ota32 image info`";
    default:
        return NULL;
    }
}
cJSON *util_partition_json(const ota32_partition *p)
{
    cJSON *o = cJSON_CreateObject();
    const char *tn = ota32_pt_type_name(p->type), *sn = ota32_pt_subtype_name(p->type, p->subtype);
    cJSON_AddStringToObject(o, "label", p->label);
    cJSON_AddNumberToObject(o, "type", p->type);
    if (tn)
        cJSON_AddStringToObject(o, "type_name", tn);
    else
        cJSON_AddNullToObject(o, "type_name");
    cJSON_AddNumberToObject(o, "subtype", p->subtype);
    if (sn)
        cJSON_AddStringToObject(o, "subtype_name", sn);
    else
        cJSON_AddNullToObject(o, "subtype_name");
    cJSON_AddNumberToObject(o, "offset", p->offset);
    cJSON_AddNumberToObject(o, "size", p->size);
    cJSON_AddBoolToObject(o, "encrypted", (p->flags & OTA32_PT_FLAG_ENCRYPTED) != 0);
    cJSON_AddBoolToObject(o, "readonly", (p->flags & OTA32_PT_FLAG_READONLY) != 0);
    cJSON_AddNumberToObject(o, "flags", p->flags);
    return o;
}

int util_print_json(cJSON *o)
{
    char *s = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!s) {
        fprintf(stderr, "ota32: out of memory\n");
        return 1;
    }
    puts(s);
    cJSON_free(s);
    return 0;
}

const char *util_nvs_type_name(uint8_t t)
{
    switch (t) {
    case OTA32_NVS_U8:
        return "u8";
    case OTA32_NVS_I8:
        return "i8";
    case OTA32_NVS_U16:
        return "u16";
    case OTA32_NVS_I16:
        return "i16";
    case OTA32_NVS_U32:
        return "u32";
    case OTA32_NVS_I32:
        return "i32";
    case OTA32_NVS_U64:
        return "u64";
    case OTA32_NVS_I64:
        return "i64";
    case OTA32_NVS_STR:
        return "string";
    case OTA32_NVS_BLOB:
        return "blob";
    case OTA32_NVS_BLOB_IDX:
        return "blob";
    default:
        return "unknown";
    }
}

/* Integers come back zero-extended; sign-extend the signed types. */
long long util_nvs_signed(uint8_t type, uint64_t v)
{
    switch (type) {
    case OTA32_NVS_I8:
        return (int8_t)(uint8_t)v;
    case OTA32_NVS_I16:
        return (int16_t)(uint16_t)v;
    case OTA32_NVS_I32:
        return (int32_t)(uint32_t)v;
    default:
        return (long long)(int64_t)v;
    }
}

cJSON *util_nvs_item_json(const ota32_nvs_item *it)
{
    cJSON *k = cJSON_CreateObject();
    bool is_int = (it->type & 0xF0) == 0x00 || (it->type & 0xF0) == 0x10;
    cJSON_AddStringToObject(k, "namespace", it->ns);
    cJSON_AddStringToObject(k, "key", it->key);
    cJSON_AddStringToObject(k, "type", util_nvs_type_name(it->type));
    if (it->type == OTA32_NVS_STR && it->data) {
        size_t n = it->data_len;
        char *s = malloc(n + 1);
        if (s) {
            memcpy(s, it->data, n);
            s[n] = 0;
        }
        cJSON_AddStringToObject(k, "value", s ? s : "");
        free(s);
    } else if (is_int) {
        cJSON_AddNumberToObject(k, "value",
                                (it->type & 0xF0) == 0x10 ? (double)util_nvs_signed(it->type, it->int_val)
                                                          : (double)it->int_val);
    } else {
        cJSON_AddNumberToObject(k, "length", it->data_len);
    }
    return k;
}
