/*
 * The few pieces of Python text semantics that gen_esp32part.py's CSV reader
 * depends on: str.isspace() / str.strip(), str.splitlines() boundaries,
 * int(x, 0), and its parse_int() with k/m suffixes and keywords. Inputs are
 * UTF-8 byte spans (validated beforehand); nothing here allocates.
 */
#include "pt_pytext.h"

#include <stdio.h>
#include <string.h>

/* Non-ASCII code points for which Python's str.isspace() is true, in UTF-8. */
static size_t uspace_at(const uint8_t *p, const uint8_t *end)
{
    size_t n = (size_t)(end - p);
    if (n >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0))
        return 2; /* U+0085, U+00A0 */
    if (n < 3)
        return 0;
    if (p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80)
        return 3; /* U+1680 */
    if (p[0] == 0xE2 && p[1] == 0x80 &&
        (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
        return p[2] >= 0x80 ? 3 : 0; /* U+2000..200A, 2028, 2029, 202F */
    if (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F)
        return 3; /* U+205F */
    if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
        return 3; /* U+3000 */
    return 0;
}

size_t pt_space_at(const uint8_t *p, const uint8_t *end)
{
    if (p >= end)
        return 0;
    uint8_t c = *p;
    if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20))
        return 1;
    return c >= 0x80 ? uspace_at(p, end) : 0;
}

/* Length of the whitespace character that ends right before `p`, or 0. */
static size_t space_before(const uint8_t *start, const uint8_t *p)
{
    const uint8_t *q = p;
    while (q > start && p - q < 4) {
        q--;
        if ((*q & 0xC0) != 0x80)
            break; /* first byte of the last character */
    }
    size_t len = (size_t)(p - q);
    return (len != 0 && pt_space_at(q, p) == len) ? len : 0;
}

void pt_strip(const uint8_t **s, const uint8_t **e)
{
    size_t k;
    while (*s < *e && (k = pt_space_at(*s, *e)) != 0)
        *s += k;
    while (*e > *s && (k = space_before(*s, *e)) != 0)
        *e -= k;
}

size_t pt_linebreak_at(const uint8_t *p, const uint8_t *end)
{
    if (p >= end)
        return 0;
    switch (*p) {
    case '\r':
        return (end - p >= 2 && p[1] == '\n') ? 2 : 1;
    case '\n':
    case 0x0B:
    case 0x0C:
    case 0x1C:
    case 0x1D:
    case 0x1E:
        return 1;
    case 0xC2:
        return (end - p >= 2 && p[1] == 0x85) ? 2 : 0;
    case 0xE2:
        return (end - p >= 3 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) ? 3 : 0;
    default:
        return 0;
    }
}

bool pt_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t len;
        uint32_t min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* Whitespace that int() ignores around a number: ASCII " \t\n\v\f\r" and the
 * non-ASCII spaces (Python maps those to ' ' first; 0x1C..0x1F stay). */
static size_t int_space_at(const uint8_t *p, const uint8_t *end)
{
    if (p >= end)
        return 0;
    if ((*p >= 0x09 && *p <= 0x0D) || *p == ' ')
        return 1;
    return *p >= 0x80 ? uspace_at(p, end) : 0;
}

static int digit_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

int pt_py_int(const uint8_t *s, size_t n, int64_t *out)
{
    const uint8_t *p = s, *e = s + n;
    size_t k;
    while ((k = int_space_at(p, e)) != 0)
        p += k;
    while (e > p && (k = space_before(p, e)) != 0 && int_space_at(e - k, e) == k)
        e -= k;

    bool neg = false;
    if (p < e && (*p == '+' || *p == '-'))
        neg = (*p++ == '-');
    if (p == e)
        return PT_EVALUE;

    unsigned base = 10;
    bool leading_zero = false;
    if (*p == '0' && e - p >= 2) {
        uint8_t x = (uint8_t)(p[1] | 0x20);
        base = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 10;
    }
    if (base != 10) {
        p += 2;
        if (p < e && *p == '_')
            p++; /* "0x_1f" is valid */
        if (p == e)
            return PT_EVALUE;
    } else {
        leading_zero = (*p == '0');
    }

    uint64_t v = 0;
    bool prev_digit = false, overflow = false;
    for (; p < e; p++) {
        if (*p == '_') {
            if (!prev_digit)
                return PT_EVALUE;
            prev_digit = false;
            continue;
        }
        unsigned d = (unsigned)digit_value(*p);
        if (d >= base)
            return PT_EVALUE;
        if (leading_zero && d != 0)
            return PT_EVALUE; /* "010" is not valid in Python 3 */
        if (v > ((uint64_t)PT_INT_LIMIT - d) / base)
            overflow = true;
        else
            v = v * base + d;
        prev_digit = true;
    }
    if (!prev_digit)
        return PT_EVALUE; /* trailing '_' */
    if (overflow)
        return PT_ERANGE;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* The last code point of [s, e) lower-cases to `letter` ('k' or 'm')? Returns
 * its length in bytes (the Kelvin sign U+212A counts as 'k'). */
static size_t suffix_len(const uint8_t *s, const uint8_t *e, char letter)
{
    if (e > s && (e[-1] | 0x20) == letter)
        return 1;
    if (letter == 'k' && e - s >= 3 && e[-3] == 0xE2 && e[-2] == 0x84 && e[-1] == 0xAA)
        return 3;
    return 0;
}

/* keyword == s.lower(), for ASCII keywords. */
static bool keyword_eq(const char *kw, const uint8_t *s, size_t n)
{
    size_t i = 0, j = 0;
    while (kw[i] && j < n) {
        uint8_t c = s[j];
        if (c == 0xE2 && n - j >= 3 && s[j + 1] == 0x84 && s[j + 2] == 0xAA) {
            c = 'k';
            j += 3;
        } else {
            if (c >= 'A' && c <= 'Z')
                c = (uint8_t)(c + 32);
            j++;
        }
        if ((uint8_t)kw[i++] != c)
            return false;
    }
    return kw[i] == '\0' && j == n;
}

int pt_parse_int(const uint8_t *s, size_t n, const pt_keyword *kw, size_t nkw, int64_t *out,
                 pt_span *inner)
{
    /* parse_int() recurses on v[:-1] for each k/m suffix and multiplies on
     * the way out; errors always concern the innermost string. */
    const uint8_t *e = s + n;
    int64_t mult = 1;
    bool mult_overflow = false;
    size_t k;
    for (;;) {
        if ((k = suffix_len(s, e, 'k')) != 0) {
            e -= k;
            mult_overflow |= mult > PT_INT_LIMIT / 1024;
            if (!mult_overflow)
                mult *= 1024;
        } else if ((k = suffix_len(s, e, 'm')) != 0) {
            e -= k;
            mult_overflow |= mult > PT_INT_LIMIT / (1024 * 1024);
            if (!mult_overflow)
                mult *= 1024 * 1024;
        } else {
            break;
        }
    }
    inner->p = s;
    inner->n = (size_t)(e - s);

    int64_t v;
    int rc = pt_py_int(s, (size_t)(e - s), &v);
    if (rc == PT_EVALUE) {
        if (nkw == 0)
            return PT_EVALUE;
        size_t i;
        for (i = 0; i < nkw; i++)
            if (keyword_eq(kw[i].name, s, (size_t)(e - s)))
                break;
        if (i == nkw)
            return PT_EKEYWORD;
        v = kw[i].value;
    } else if (rc != 0) {
        return rc;
    }
    if (v != 0 && (mult_overflow || v > PT_INT_LIMIT / mult || v < -PT_INT_LIMIT / mult))
        return PT_ERANGE; /* 0 times any multiplier is still 0 */
    *out = v * mult;
    return 0;
}

const char *pt_hex(char buf[PT_HEX_BUF], int64_t v)
{
    /* Python's '0x%x' % v prints negative numbers as 0x-1f. */
    if (v < 0)
        snprintf(buf, PT_HEX_BUF, "0x-%llx", (unsigned long long)(-(v + 1)) + 1ull);
    else
        snprintf(buf, PT_HEX_BUF, "0x%llx", (unsigned long long)v);
    return buf;
}
