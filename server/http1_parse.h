/*
 * A strict HTTP/1.1 request-head parser (RFC 9112) for the firmware server's
 * fallback path: GET and HEAD, no request bodies, no obsolete line folding.
 * It works on a complete head held in memory and never allocates; the fields
 * point into the caller's buffer.
 */
#ifndef OTA32_SERVER_HTTP1_PARSE_H
#define OTA32_SERVER_HTTP1_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP1_HEAD_MAX 8192u   /* request line + headers + blank line */
#define HTTP1_TARGET_MAX 2048u
#define HTTP1_HEADERS_MAX 64u

typedef struct http1_str {
    const char *p;
    size_t len;
} http1_str;

typedef struct http1_request {
    http1_str method;
    http1_str target;
    int minor;          /* HTTP/1.<minor> */
    http1_str host;
    http1_str range;    /* len 0 when absent */
    http1_str if_range;
    bool has_host;
    bool has_range;
    bool has_if_range;
    bool keep_alive;    /* after the defaults of the version and Connection */
} http1_request;

/* Parse a request head of `len` bytes that ends with the blank line
 * ("\r\n\r\n"). Returns 0, or the status to answer with before closing:
 * 400 (malformed), 414 (target too long), 431 (too many headers),
 * 501 (Transfer-Encoding), 505 (not HTTP/1.x). */
int http1_parse_head(const char *buf, size_t len, http1_request *rq);

/* Can `len` bytes be the start of a request? 0 when they can, 400 when
 * they cannot (so a client sending binary, e.g. a TLS ClientHello to the
 * plain port, is answered at once instead of after the idle timeout). */
int http1_check_prefix(const char *buf, size_t len);

/* Case-insensitive comparison of a parsed string with a literal. */
bool http1_str_ieq(http1_str s, const char *lit);

#endif
