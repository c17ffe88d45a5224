#include "util.h"

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

int util_write_file(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "ota32: %s: %s\n", path, strerror(errno));
        return OTA32_ERR_IO;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "ota32: %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return OTA32_ERR_IO;
    }
    return OTA32_OK;
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

int util_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("ota32: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

bool util_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
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

void util_json_str(void *file, const char *s)
{
    FILE *f = file;
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
