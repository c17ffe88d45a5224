/* The machine config's JSON reader (see json_scan.h). */
#include "json_scan.h"

#include <stdint.h>
#include <string.h>

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && is_ws(s[i]))
        i++;
    return i;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The string opening at s[i]: the offset after its closing quote, or 0 with
 * *err at the bad byte. */
static size_t scan_string(const char *s, size_t len, size_t i, size_t *err)
{
    for (i++; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"')
            return i + 1;
        if (ch < 0x20)
            break;
        if (ch != '\\')
            continue;
        if (++i >= len)
            break;
        char e = s[i];
        if (e == 'u') {
            size_t k = 1;
            while (k <= 4 && i + k < len && hex_val(s[i + k]) >= 0)
                k++;
            if (k <= 4) {
                i += k;
                break;
            }
            i += 4;
        } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
            break;
        }
    }
    *err = i;
    return 0;
}

static size_t digits(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static size_t scan_number(const char *s, size_t len, size_t i, size_t *err)
{
    if (i < len && s[i] == '-')
        i++;
    size_t j = i < len && s[i] == '0' ? i + 1 : digits(s, len, i);
    if (j == i)
        goto bad;
    i = j;
    if (i < len && s[i] == '.') {
        j = digits(s, len, i + 1);
        if (j == i + 1) {
            i = j;
            goto bad;
        }
        i = j;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        j = digits(s, len, i);
        if (j == i)
            goto bad;
        i = j;
    }
    return i;
bad:
    *err = i;
    return 0;
}

/* A string, number or literal at s[i]: the offset after it, or 0. */
static size_t scan_scalar(const char *s, size_t len, size_t i, size_t *err)
{
    static const char *const words[] = {"true", "false", "null"};
    if (s[i] == '"')
        return scan_string(s, len, i, err);
    if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9'))
        return scan_number(s, len, i, err);
    for (unsigned w = 0; w < 3; w++) {
        size_t n = strlen(words[w]);
        if (s[i] == words[w][0]) {
            for (size_t k = 0; k < n; k++)
                if (i + k >= len || s[i + k] != words[w][k]) {
                    *err = i + k;
                    return 0;
                }
            return i + n;
        }
    }
    *err = i;
    return 0;
}

/* A member's key and colon at s[i]: the offset of its value, or 0. */
static size_t scan_key(const char *s, size_t len, size_t i, size_t *err)
{
    if (i >= len || s[i] != '"') {
        *err = i;
        return 0;
    }
    i = scan_string(s, len, i, err);
    if (!i)
        return 0;
    i = skip_ws(s, len, i);
    if (i >= len || s[i] != ':') {
        *err = i;
        return 0;
    }
    return skip_ws(s, len, i + 1);
}

/* After a value inside containers: closers and commas up to the next value
 * (or the end of the document when the last container closes). Returns the
 * offset of the next value, or 0 with *err; *depth follows the closers. */
static size_t after_value(const char *s, size_t len, size_t i, char *stack, unsigned *depth,
                          size_t *err)
{
    while (*depth > 0) {
        i = skip_ws(s, len, i);
        char open = stack[*depth - 1];
        if (i < len && s[i] == (open == '{' ? '}' : ']')) {
            (*depth)--;
            i++;
            continue;
        }
        if (i >= len || s[i] != ',') {
            *err = i;
            return 0;
        }
        i = skip_ws(s, len, i + 1);
        return open == '{' ? scan_key(s, len, i, err) : i;
    }
    return i;
}

bool json_validate(const char *s, size_t len, size_t *end, size_t *err, bool *deep)
{
    char stack[JSON_MAX_DEPTH];
    unsigned depth = 0;
    size_t i = skip_ws(s, len, 0);
    *deep = false;
    for (;;) {
        if (i >= len) {
            *err = len;
            return false;
        }
        char c = s[i];
        if (c == '{' || c == '[') {
            if (depth == JSON_MAX_DEPTH) {
                *err = i;
                *deep = true;
                return false;
            }
            stack[depth++] = c;
            i = skip_ws(s, len, i + 1);
            if (i < len && s[i] == (c == '{' ? '}' : ']')) {
                depth--;
                i++;
            } else {
                if (c == '{' && !(i = scan_key(s, len, i, err)))
                    return false;
                continue;
            }
        } else if (!(i = scan_scalar(s, len, i, err))) {
            return false;
        }
        if (depth == 0 || !(i = after_value(s, len, i, stack, &depth, err)))
            break;
        if (depth == 0)
            break;
    }
    if (!i)
        return false;
    *end = i;
    return true;
}

/* ---- the cursor ----------------------------------------------------------- */

char json_peek(json_cur *c)
{
    c->pos = skip_ws(c->s, c->len, c->pos);
    return c->pos < c->len ? c->s[c->pos] : '\0';
}

void json_skip(json_cur *c)
{
    unsigned depth = 0;
    size_t err;
    do {
        char ch = json_peek(c);
        if (ch == '"') {
            c->pos = scan_string(c->s, c->len, c->pos, &err);
        } else if (ch == '{' || ch == '[') {
            depth++;
            c->pos++;
        } else if (ch == '}' || ch == ']') {
            depth--;
            c->pos++;
        } else if (ch == ',' || ch == ':') {
            c->pos++;
        } else {
            c->pos = scan_scalar(c->s, c->len, c->pos, &err);
        }
    } while (depth > 0);
}

static size_t put_utf8(char *out, size_t cap, size_t n, uint32_t cp)
{
    uint8_t b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | cp >> 6);
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | cp >> 12);
        b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | cp >> 18);
        b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 4;
    }
    for (size_t j = 0; j < k; j++, n++)
        if (cap && n < cap - 1)
            out[n] = (char)b[j];
    return n;
}

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 4 | (uint32_t)hex_val(p[k]);
    return v;
}

/* \uXXXX at s[i] (i on the 'u'), with a following low surrogate joined;
 * lone surrogates become U+FFFD. Advances *i to the last byte used. */
static uint32_t unicode_escape(const json_cur *c, size_t *i)
{
    uint32_t cp = hex4(c->s + *i + 1);
    *i += 4;
    if (cp >= 0xD800 && cp < 0xDC00 && *i + 6 < c->len && c->s[*i + 1] == '\\' &&
        c->s[*i + 2] == 'u') {
        uint32_t lo = hex4(c->s + *i + 3);
        if (lo >= 0xDC00 && lo < 0xE000) {
            *i += 6;
            return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
    }
    return cp >= 0xD800 && cp < 0xE000 ? 0xFFFD : cp;
}

static char simple_escape(char e)
{
    switch (e) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return e; /* " \ / */
    }
}

size_t json_string(json_cur *c, char *out, size_t cap)
{
    size_t n = 0, i = skip_ws(c->s, c->len, c->pos) + 1;
    for (; i < c->len && c->s[i] != '"'; i++) {
        char ch = c->s[i];
        if (ch == '\\') {
            char e = c->s[++i];
            if (e == 'u') {
                n = put_utf8(out, cap, n, unicode_escape(c, &i));
                continue;
            }
            ch = simple_escape(e);
        }
        if (cap && n < cap - 1)
            out[n] = ch;
        n++;
    }
    if (cap)
        out[n < cap - 1 ? n : cap - 1] = '\0';
    c->pos = i + 1;
    return n;
}

bool json_member(json_cur *c, char *key, size_t cap, size_t *key_len)
{
    char ch = json_peek(c);
    c->pos++; /* the '{' or the ',' after the previous member */
    if (ch == '}' || json_peek(c) == '}') {
        if (ch != '}')
            c->pos++;
        return false;
    }
    *key_len = json_string(c, key, cap);
    json_peek(c);
    c->pos++; /* ':' */
    json_peek(c);
    return true;
}

bool json_element(json_cur *c)
{
    char ch = json_peek(c);
    c->pos++; /* the '[' or the ',' after the previous element */
    if (ch == ']' || json_peek(c) == ']') {
        if (ch != ']')
            c->pos++;
        return false;
    }
    json_peek(c);
    return true;
}
