/*
 * http:// and https:// URLs as a device needs them (RFC 3986): parse an
 * absolute URL, resolve a redirect's Location against it, and redact one for
 * logs. The query is never touched: signed URLs must reach the server byte
 * for byte. Every length is bounded by the fixed buffers of ota32_url.
 */
#include "ota32/http.h"

#include <stdio.h>
#include <string.h>

/* Longest URL text accepted: every part at its maximum plus punctuation. */
#define URL_TEXT_MAX (OTA32_URL_HOST_MAX + OTA32_URL_PATH_MAX + 3 * OTA32_URL_USERINFO_MAX + 32)

/* strlen that stops looking after `max` bytes. */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n])
        n++;
    return n;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reject bytes that cannot appear in a URL sent on the wire: spaces,
 * controls, and non-ASCII (which must be percent-encoded). */
static int check_chars(const char *text, size_t len, ota32_diag *diag)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == ' ')
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, (long)i,
                                   "URL has a space at offset %zu (encode it as %%20)", i);
        if (c < 0x20 || c == 0x7f)
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, (long)i,
                                   "URL has control character 0x%02x at offset %zu", c, i);
        if (c >= 0x80)
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, (long)i,
                                   "URL has non-ASCII byte 0x%02x at offset %zu "
                                   "(percent-encode it)",
                                   c, i);
    }
    return OTA32_OK;
}

/* Length of a scheme prefix "alpha *( alpha / digit / + / - / . )" followed
 * by ':', or 0 when `s` does not start with one. */
static size_t scheme_len(const char *s)
{
    if (!is_alpha((unsigned char)s[0]))
        return 0;
    size_t i = 1;
    while (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '+' ||
           s[i] == '-' || s[i] == '.')
        i++;
    return s[i] == ':' ? i : 0;
}

static int decode_userinfo(const char *s, size_t len, char *out, ota32_diag *diag)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                       "URL credentials: bad percent-encoding");
            c = hi * 16 + lo;
            if (c == 0)
                return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                       "URL credentials: %%00 is not allowed");
            i += 2;
        }
        if (o >= OTA32_URL_USERINFO_MAX)
            return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                                   "URL credentials longer than %d bytes",
                                   OTA32_URL_USERINFO_MAX);
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return OTA32_OK;
}

static int parse_ipv6(const char *s, size_t len, char *out, ota32_diag *diag)
{
    if (len == 0)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "URL has an empty host");
    if (len > 45) /* longest textual IPv6 address with an embedded IPv4 */
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "URL IPv6 address is %zu characters, at most 45", len);
    unsigned colons = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == ':')
            colons++;
        else if (c == '%')
            return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, -1,
                                   "URL IPv6 zone identifiers are not supported");
        else if (hex_value(c) < 0 && c != '.')
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                   "URL IPv6 address has invalid character '%c'", c);
    }
    if (colons < 2 || colons > 7)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "URL IPv6 address '%.*s' is malformed", (int)len, s);
    for (size_t i = 0; i < len; i++)
        out[i] = (char)lower((unsigned char)s[i]);
    out[len] = '\0';
    return OTA32_OK;
}

static int parse_hostname(const char *s, size_t len, char *out, ota32_diag *diag)
{
    if (len == 0)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "URL has an empty host");
    if (len > OTA32_URL_HOST_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                               "URL host is %zu bytes, at most %d", len, OTA32_URL_HOST_MAX);
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_')
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                   "URL host has invalid character '%c'", c);
        out[i] = (char)lower(c);
    }
    out[len] = '\0';
    return OTA32_OK;
}

/* authority = [ userinfo "@" ] host [ ":" port ] */
static int parse_authority(const char *s, size_t len, ota32_url *out, ota32_diag *diag)
{
    size_t at = len;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '@')
            at = i; /* the last '@': an unencoded '@' in a password stays in it */
    if (at < len) {
        if (at > 3 * OTA32_URL_USERINFO_MAX)
            return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                                   "URL credentials longer than %d bytes",
                                   OTA32_URL_USERINFO_MAX);
        int rc = decode_userinfo(s, at, out->userinfo, diag);
        if (rc)
            return rc;
        s += at + 1;
        len -= at + 1;
    }
    size_t host_end;
    const char *rest;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                   "URL IPv6 address lacks its closing ']'");
        int rc = parse_ipv6(s + 1, (size_t)(close - s - 1), out->host, diag);
        if (rc)
            return rc;
        host_end = (size_t)(close - s) + 1;
        rest = s + host_end;
        if (host_end < len && *rest != ':')
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                   "URL has '%c' after the IPv6 address", *rest);
    } else {
        const char *colon = memchr(s, ':', len);
        host_end = colon ? (size_t)(colon - s) : len;
        int rc = parse_hostname(s, host_end, out->host, diag);
        if (rc)
            return rc;
        rest = s + host_end;
    }
    if (host_end < len) { /* ":" port */
        const char *p = rest + 1;
        size_t n = len - host_end - 1;
        if (n == 0)
            return OTA32_OK; /* "host:" means the default port (RFC 3986 3.2.3) */
        uint32_t port = 0;
        for (size_t i = 0; i < n; i++) {
            if (!is_digit((unsigned char)p[i]))
                return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                       "URL port '%.*s' is not a number", (int)(n > 16 ? 16 : n),
                                       p);
            port = port * 10 + (uint32_t)(p[i] - '0');
            if (port > 65535)
                return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                                       "URL port '%.*s' is above 65535", (int)(n > 16 ? 16 : n),
                                       p);
        }
        if (port == 0)
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "URL port 0 is invalid");
        out->port = (uint16_t)port;
    }
    return OTA32_OK;
}

static int set_path(ota32_url *out, const char *path, size_t path_len, const char *query,
                    size_t query_len, ota32_diag *diag)
{
    /* An empty path is "/" (RFC 9110 4.2.3); the query follows with its '?'. */
    size_t need = (path_len ? path_len : 1) + query_len;
    if (need > OTA32_URL_PATH_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                               "URL path and query are %zu bytes, at most %d", need,
                               OTA32_URL_PATH_MAX);
    size_t o = 0;
    if (path_len) {
        memcpy(out->path, path, path_len);
        o = path_len;
    } else {
        out->path[o++] = '/';
    }
    memcpy(out->path + o, query, query_len);
    out->path[o + query_len] = '\0';
    return OTA32_OK;
}

/* authority [ path ] [ "?" query ] [ "#" fragment ], after "scheme://";
 * out->tls already set. */
static int parse_after_scheme(const char *auth, ota32_url *out, ota32_diag *diag)
{
    size_t auth_len = strcspn(auth, "/?#");
    out->port = out->tls ? 443 : 80;
    out->userinfo[0] = '\0';
    int rc = parse_authority(auth, auth_len, out, diag);
    if (rc == OTA32_ERR_INVALID_ARG && strchr(auth + auth_len, '@'))
        /* "user:pa/ss@host": the message must not echo a password. */
        return ota32_diag_fail(diag, rc, 0, -1,
                               "URL credentials hold an unencoded '/', '?' or '#': "
                               "percent-encode them (%%2F, %%3F, %%23)");
    if (rc)
        return rc;
    const char *p = auth + auth_len;
    size_t path_len = strcspn(p, "?#");
    const char *q = p + path_len;
    size_t query_len = *q == '?' ? strcspn(q, "#") : 0;
    /* The fragment is for the client only and never sent. */
    return set_path(out, p, path_len, q, query_len, diag);
}

int ota32_url_parse(const char *text, ota32_url *out, ota32_diag *diag)
{
    if (!text || !out)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no URL");
    memset(out, 0, sizeof *out);
    size_t len = bounded_len(text, URL_TEXT_MAX);
    if (len == 0)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "URL is empty");
    if (len > URL_TEXT_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1, "URL is longer than %d bytes",
                               URL_TEXT_MAX);
    int rc = check_chars(text, len, diag);
    if (rc)
        return rc;
    size_t sl = scheme_len(text);
    if (sl == 0)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, 0,
                               "URL has no scheme (expected http:// or https://)");
    if (sl == 4 && lower(text[0]) == 'h' && lower(text[1]) == 't' && lower(text[2]) == 't' &&
        lower(text[3]) == 'p') {
        out->tls = false;
    } else if (sl == 5 && lower(text[0]) == 'h' && lower(text[1]) == 't' &&
               lower(text[2]) == 't' && lower(text[3]) == 'p' && lower(text[4]) == 's') {
        out->tls = true;
    } else {
        return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, 0,
                               "URL scheme '%.*s' is not supported (only http:// and https://)",
                               (int)(sl > 16 ? 16 : sl), text);
    }
    if (text[sl + 1] != '/' || text[sl + 2] != '/')
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, (long)sl + 1,
                               "URL lacks '//' after '%.*s:'", (int)sl, text);
    return parse_after_scheme(text + sl + 3, out, diag);
}

/* RFC 3986 5.2.4 remove_dot_segments, in place: the output never overtakes
 * the input, and each step consumes input, so the loop ends. */
static void remove_dot_segments(char *path)
{
    size_t o = 0;
    char *s = path;
    while (*s) {
        if (!strncmp(s, "../", 3)) {
            s += 3;
        } else if (!strncmp(s, "./", 2)) {
            s += 2;
        } else if (!strncmp(s, "/./", 3)) {
            s += 2;
        } else if (!strcmp(s, "/.")) {
            s[1] = '\0';
        } else if (!strncmp(s, "/../", 4) || !strcmp(s, "/..")) {
            if (s[3] == '\0') { /* "/.." becomes "/" */
                s[2] = '/';
                s += 2;
            } else {
                s += 3;
            }
            while (o > 0 && path[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* drop the last output segment with its '/' */
        } else if (!strcmp(s, ".") || !strcmp(s, "..")) {
            s += strlen(s);
        } else {
            size_t n = s[0] == '/' ? 1 + strcspn(s + 1, "/") : strcspn(s, "/");
            memmove(path + o, s, n);
            o += n;
            s += n;
        }
    }
    path[o] = '\0';
}

int ota32_url_resolve(const ota32_url *base, const char *location, ota32_url *out,
                      ota32_diag *diag)
{
    if (!base || !location || !out)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no URL to resolve");
    size_t len = bounded_len(location, URL_TEXT_MAX);
    if (len == 0)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "redirect Location is empty");
    if (len > URL_TEXT_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                               "redirect Location is longer than %d bytes", URL_TEXT_MAX);
    int rc = check_chars(location, len, diag);
    if (rc)
        return rc;
    if (scheme_len(location))
        return ota32_url_parse(location, out, diag);
    if (location[0] == '/' && location[1] == '/') {
        /* Scheme-relative: the base's scheme with a new authority. */
        bool tls = base->tls;
        memset(out, 0, sizeof *out);
        out->tls = tls;
        return parse_after_scheme(location + 2, out, diag);
    }

    /* Same authority (userinfo included, RFC 3986 5.2.2). The path is built
     * in out->path, which may be base->path itself. */
    size_t base_path_len = strcspn(base->path, "?");
    size_t ref_path_len = strcspn(location, "?#");
    const char *ref_query = location + ref_path_len;
    size_t ref_query_len = *ref_query == '?' ? strcspn(ref_query, "#") : 0;

    if (ref_path_len == 0) {
        /* Empty path: keep the base path; a new query replaces the base's,
         * a fragment-only reference keeps it. */
        if (ref_query_len == 0) {
            if (out != base)
                *out = *base;
            return OTA32_OK;
        }
        if (base_path_len + ref_query_len > OTA32_URL_PATH_MAX)
            return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                                   "redirect path and query are %zu bytes, at most %d",
                                   base_path_len + ref_query_len, OTA32_URL_PATH_MAX);
        if (out != base)
            *out = *base;
        memcpy(out->path + base_path_len, ref_query, ref_query_len);
        out->path[base_path_len + ref_query_len] = '\0';
        return OTA32_OK;
    }

    /* Merge (RFC 3986 5.2.3): a relative path replaces the base's last
     * segment; an absolute one replaces the whole path. */
    size_t dir = 0;
    if (location[0] != '/') {
        dir = base_path_len;
        while (dir > 0 && base->path[dir - 1] != '/')
            dir--;
    }
    size_t lead = (location[0] != '/' && dir == 0) ? 1 : 0; /* base without '/' */
    if (dir + lead + ref_path_len + ref_query_len > OTA32_URL_PATH_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1,
                               "redirect path and query are %zu bytes, at most %d",
                               dir + lead + ref_path_len + ref_query_len, OTA32_URL_PATH_MAX);
    if (out != base)
        *out = *base;
    if (lead)
        out->path[0] = '/';
    memcpy(out->path + dir + lead, location, ref_path_len);
    out->path[dir + lead + ref_path_len] = '\0';
    remove_dot_segments(out->path);
    size_t p = strlen(out->path);
    memcpy(out->path + p, ref_query, ref_query_len);
    out->path[p + ref_query_len] = '\0';
    return OTA32_OK;
}

/* Past the credentials of the text after "scheme://", if any: the last '@'
 * when it comes before the first '/', '?' or '#', or when a ':' precedes it
 * ("user:pa/ss@host", an unencoded '/' in the password). A path with an '@'
 * after a port ("host:80/a@b") loses more than its credentials: in a log,
 * better than showing a password. */
static const char *skip_credentials(const char *s)
{
    const char *at = strrchr(s, '@');
    if (!at)
        return s;
    size_t auth_len = strcspn(s, "/?#");
    bool colon = memchr(s, ':', (size_t)(at - s)) != NULL;
    return (size_t)(at - s) < auth_len || colon ? at + 1 : s;
}

void ota32_url_redact(const char *text, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    out[0] = '\0';
    if (!text)
        return;
    size_t o = 0;
#define PUT(c)                                                                             \
    do {                                                                                   \
        if (o + 1 < cap)                                                                   \
            out[o++] = (c);                                                                \
    } while (0)
    const char *s = text;
    const char *sep = strstr(text, "://");
    if (sep && (size_t)(sep - text) == scheme_len(text)) {
        for (; s < sep + 3; s++)
            PUT(*s);
        s = skip_credentials(s);
    }
    for (; *s && *s != '?' && *s != '#'; s++)
        PUT(*s);
    if (*s == '?') {
        static const char mark[] = "?<redacted>";
        for (size_t i = 0; mark[i]; i++)
            PUT(mark[i]);
    }
#undef PUT
    out[o] = '\0';
}

int ota32_url_format(const ota32_url *url, char *out, size_t cap)
{
    if (!url || !out || cap == 0)
        return OTA32_ERR_INVALID_ARG;
    bool v6 = strchr(url->host, ':') != NULL;
    bool default_port = url->port == (url->tls ? 443 : 80);
    char port[8] = "";
    if (!default_port)
        snprintf(port, sizeof port, ":%u", url->port);
    int n = snprintf(out, cap, "%s://%s%s%s%s%s", url->tls ? "https" : "http", v6 ? "[" : "",
                     url->host, v6 ? "]" : "", port, url->path);
    if (n < 0 || (size_t)n >= cap)
        return OTA32_ERR_TOO_BIG;
    return n;
}
