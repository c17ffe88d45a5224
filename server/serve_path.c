#include "serve_path.h"

#include <stdbool.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int serve_path_decode(const char *target, size_t len, char *out, size_t cap)
{
    if (!target || !out || cap < 2 || len == 0 || target[0] != '/')
        return -1;
    size_t n = 0;
    size_t seg_start = 0; /* index in out of the current segment's first byte */
    for (size_t i = 0; i < len; i++) {
        char c = target[i];
        if (c == '?' || c == '#')
            break;
        bool escaped = false;
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(target[i + 1]), lo = hexval(target[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
            escaped = true;
        }
        unsigned char u = (unsigned char)c;
        if (u < 0x20 || u == 0x7f || c == '\\')
            return -1;
        if (c == '/') {
            if (escaped)
                return -1; /* %2F would let one segment name a subdirectory */
            if (n > 0 && n == seg_start)
                return -1; /* empty segment: "//" */
            if (n + 1 >= cap)
                return -1;
            out[n++] = '/';
            seg_start = n;
            continue;
        }
        if (n == seg_start && c == '.')
            return -1; /* ".", "..", ".hidden" */
        if (n + 1 >= cap)
            return -1;
        out[n++] = c;
    }
    if (n == 0)
        return -1;
    out[n] = 0;
    return 0;
}

void serve_path_for_log(const char *target, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char redacted[] = "?<redacted>";
    if (cap == 0)
        return;
    size_t n = 0;
    bool query = false;
    for (size_t i = 0; target && i < len; i++) {
        unsigned char c = (unsigned char)target[i];
        if (c == '?') {
            query = true;
            break;
        }
        bool plain = c > 0x20 && c < 0x7f && c != '"';
        size_t need = plain ? 1 : 3;
        if (n + need + sizeof redacted > cap)
            break;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (query && n + sizeof redacted <= cap) {
        memcpy(out + n, redacted, sizeof redacted - 1);
        n += sizeof redacted - 1;
    }
    out[n < cap ? n : cap - 1] = 0;
}
