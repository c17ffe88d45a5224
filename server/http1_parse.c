#include "http1_parse.h"

#include <string.h>

/* tchar (RFC 9110 section 5.6.2) */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool h1_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool http1_str_ieq(http1_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s.p[i], b = (unsigned char)lit[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a + 32);
        if (b >= 'A' && b <= 'Z')
            b = (unsigned char)(b + 32);
        if (a != b)
            return false;
    }
    return true;
}

/* Apply the tokens of a Connection header to rq->keep_alive. */
static void connection_tokens(http1_str v, http1_request *rq)
{
    const char *p = v.p, *end = v.p + v.len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        const char *s = p, *t = e;
        while (s < t && h1_is_ows(*s))
            s++;
        while (t > s && h1_is_ows(t[-1]))
            t--;
        http1_str tok = {s, (size_t)(t - s)};
        if (http1_str_ieq(tok, "close"))
            rq->keep_alive = false;
        else if (http1_str_ieq(tok, "keep-alive") && rq->minor == 0)
            rq->keep_alive = true;
        p = comma ? comma + 1 : end;
    }
}

int http1_check_prefix(const char *buf, size_t len)
{
    for (size_t i = 0; i < len && i <= 16; i++) {
        if (buf[i] == ' ')
            return i > 0 ? 0 : 400;
        if (!is_tchar((unsigned char)buf[i]))
            return 400;
    }
    return len > 16 ? 400 : 0;
}

int http1_parse_head(const char *buf, size_t len, http1_request *rq)
{
    memset(rq, 0, sizeof *rq);
    if (!buf || len < 4 || len > HTTP1_HEAD_MAX || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0)
        return 400;
    const char *p = buf, *end = buf + len;

    /* request-line = method SP request-target SP HTTP-version CRLF */
    const char *s = p;
    while (p < end && is_tchar((unsigned char)*p))
        p++;
    if (p == s || p - s > 16 || p == end || *p != ' ')
        return 400;
    rq->method = (http1_str){s, (size_t)(p - s)};
    s = ++p;
    while (p < end && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p == s || p == end || *p != ' ')
        return 400;
    if ((size_t)(p - s) > HTTP1_TARGET_MAX)
        return 414;
    rq->target = (http1_str){s, (size_t)(p - s)};
    p++;
    if (end - p < 10 || memcmp(p, "HTTP/", 5) != 0)
        return 400;
    if (p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' || p[7] > '9' ||
        p[8] != '\r' || p[9] != '\n')
        return 400;
    if (p[5] != '1')
        return 505;
    rq->minor = p[7] - '0';
    rq->keep_alive = rq->minor >= 1;
    p += 10;

    /* header-field = field-name ":" OWS field-value OWS CRLF, until CRLF */
    unsigned count = 0;
    bool has_length = false;
    while (p < end) {
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            break;
        if (++count > HTTP1_HEADERS_MAX)
            return 431;
        s = p;
        while (p < end && is_tchar((unsigned char)*p))
            p++;
        if (p == s || p == end || *p != ':')
            return 400; /* includes whitespace before the colon and obs-fold */
        http1_str name = {s, (size_t)(p - s)};
        p++;
        while (p < end && h1_is_ows(*p))
            p++;
        s = p;
        while (p < end && *p != '\r') {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return 400;
            p++;
        }
        if (end - p < 2 || p[1] != '\n')
            return 400;
        const char *t = p;
        while (t > s && h1_is_ows(t[-1]))
            t--;
        http1_str value = {s, (size_t)(t - s)};
        p += 2;

        if (http1_str_ieq(name, "host")) {
            if (rq->has_host)
                return 400;
            rq->has_host = true;
            rq->host = value;
        } else if (http1_str_ieq(name, "range")) {
            if (rq->has_range)
                return 400;
            rq->has_range = true;
            rq->range = value;
        } else if (http1_str_ieq(name, "if-range")) {
            if (rq->has_if_range)
                return 400;
            rq->has_if_range = true;
            rq->if_range = value;
        } else if (http1_str_ieq(name, "connection")) {
            connection_tokens(value, rq);
        } else if (http1_str_ieq(name, "transfer-encoding")) {
            return 501;
        } else if (http1_str_ieq(name, "content-length")) {
            /* Requests here carry no body: only a single "0" is accepted. */
            if (has_length || !(value.len == 1 && value.p[0] == '0'))
                return 400;
            has_length = true;
        }
    }
    if (rq->minor >= 1 && !rq->has_host)
        return 400;
    return 0;
}
