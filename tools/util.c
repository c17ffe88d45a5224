#include "util.h"

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
    bool err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "ota32: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int util_write_file_with(const char *path, int (*fill)(void *arg, void *file), void *arg)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "ota32: %s: %s\n", path, strerror(errno));
        return OTA32_ERR_IO;
    }
    int filled = fill(arg, f);
    bool ok = (fclose(f) == 0) && filled == 0;
    if (filled >= 0 && (!ok || rename(tmp, path) != 0)) {
        fprintf(stderr, "ota32: %s: %s\n", path, strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
        return OTA32_ERR_IO;
    }
    return OTA32_OK;
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
    if (diag && diag->msg[0])
        fprintf(stderr, "ota32: %s: %s\n", context, diag->msg);
    else
        fprintf(stderr, "ota32: %s: %s\n", context, ota32_strerror(err));
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

int util_usage_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    return 2;
}

bool util_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

void util_esptool_option(char *name, size_t cap, const char *arg, const char **value)
{
    *value = NULL;
    size_t i = 0;
    for (; arg[i] && arg[i] != '=' && i + 1 < cap; i++)
        name[i] = (i > 1 && arg[i] == '_') ? '-' : arg[i];
    name[i] = 0;
    if (arg[i] == '=')
        *value = arg + i + 1;
}

const char *util_esptool_value(const char *cmd, const char *const *names, size_t n,
                               const char *name, const char *arg, const char *val, int argc,
                               char **argv, int *i)
{
    size_t k = 0;
    while (k < n && strcmp(name, names[k]) != 0)
        k++;
    if (k == n) {
        fprintf(stderr, "ota32: %s: unknown option '%s' (see --help)\n", cmd, arg);
        return NULL;
    }
    if (!val) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "ota32: %s: %s needs a value\n", cmd, arg);
            return NULL;
        }
        val = argv[++*i];
    }
    return val;
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
