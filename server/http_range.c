#include "http_range.h"

#include <string.h>

static bool range_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Decimal digits at *p (saturating at UINT64_MAX so a huge position stays
 * "beyond the end" instead of wrapping). false when there is no digit. */
static bool parse_pos(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s == end || *s < '0' || *s > '9')
        return false;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        v = (v > (UINT64_MAX - d) / 10) ? UINT64_MAX : v * 10 + d;
    }
    *p = s;
    *out = v;
    return true;
}

typedef enum { SPEC_INVALID, SPEC_OK, SPEC_UNSAT } spec_kind;

/* One range-spec: "first-last", "first-" or "-suffix". */
static spec_kind parse_spec(const char *s, const char *end, uint64_t size, uint64_t *first,
                            uint64_t *last)
{
    uint64_t a, b;
    if (s < end && *s == '-') {
        s++;
        if (!parse_pos(&s, end, &b) || s != end)
            return SPEC_INVALID;
        if (b == 0 || size == 0)
            return SPEC_UNSAT;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return SPEC_OK;
    }
    if (!parse_pos(&s, end, &a) || s == end || *s != '-')
        return SPEC_INVALID;
    s++;
    if (s == end) {
        b = UINT64_MAX;
    } else {
        if (!parse_pos(&s, end, &b) || s != end)
            return SPEC_INVALID;
        if (b < a)
            return SPEC_INVALID;
    }
    if (a >= size)
        return SPEC_UNSAT;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return SPEC_OK;
}

static bool unit_is_bytes(const char *p, const char *end)
{
    static const char unit[] = "bytes";
    if (end - p < 6)
        return false;
    for (size_t i = 0; i < 5; i++)
        if ((p[i] | 0x20) != unit[i])
            return false;
    return p[5] == '=';
}

http_range_result http_range_parse(const char *value, size_t len, uint64_t size,
                                   uint64_t *first, uint64_t *last)
{
    if (!value || len > HTTP_RANGE_VALUE_MAX)
        return HTTP_RANGE_NONE;
    const char *p = value, *end = value + len;
    while (p < end && range_is_ows(*p))
        p++;
    while (end > p && range_is_ows(end[-1]))
        end--;
    if (!unit_is_bytes(p, end))
        return HTTP_RANGE_NONE;
    p += 6;

    /* range-set = 1#range-spec: comma-separated, empty elements and OWS
     * allowed around commas. Bounded by the value length. */
    unsigned specs = 0, satisfiable = 0;
    uint64_t f = 0, l = 0;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        const char *s = p;
        while (s < e && range_is_ows(*s))
            s++;
        const char *t = e;
        while (t > s && range_is_ows(t[-1]))
            t--;
        if (s < t) {
            uint64_t a, b;
            spec_kind k = parse_spec(s, t, size, &a, &b);
            if (k == SPEC_INVALID)
                return HTTP_RANGE_NONE;
            specs++;
            if (k == SPEC_OK) {
                if (satisfiable++ == 0) {
                    f = a;
                    l = b;
                }
            }
        }
        p = comma ? comma + 1 : end;
    }
    if (specs == 0)
        return HTTP_RANGE_NONE;
    if (satisfiable == 0)
        return HTTP_RANGE_UNSATISFIABLE;
    if (specs > 1)
        return HTTP_RANGE_MULTI;
    *first = f;
    *last = l;
    return HTTP_RANGE_ONE;
}

bool http_if_range_matches(const char *value, size_t len, const char *etag,
                           const char *last_modified)
{
    if (!value)
        return false;
    while (len && range_is_ows(*value)) {
        value++;
        len--;
    }
    while (len && range_is_ows(value[len - 1]))
        len--;
    if (len == 0)
        return false;
    if (value[0] == '"') /* an entity tag: strong comparison */
        return etag && strlen(etag) == len && memcmp(etag, value, len) == 0;
    if (len >= 2 && value[0] == 'W' && value[1] == '/')
        return false;    /* a weak tag never satisfies If-Range */
    return last_modified && strlen(last_modified) == len &&
           memcmp(last_modified, value, len) == 0;
}
