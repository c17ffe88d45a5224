/*
 * The HTTP/2 client the OTA engine downloads with: nghttp2 driven through the
 * platform's transport ops, so the same code runs on the host (sockets,
 * OpenSSL) and on a device (esp-tls). One GET at a time, body delivered to a
 * callback; flow-control window granted back only as the callback consumes
 * data, so memory stays bounded by the window whatever the image size.
 */
#ifndef OTA32_HTTP_H
#define OTA32_HTTP_H

#include "ota32/ota32.h"
#include "ota32/platform.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_URL_HOST_MAX 255
#define OTA32_URL_PATH_MAX 2048
#define OTA32_URL_USERINFO_MAX 255

typedef struct ota32_url {
    bool tls;                                 /* https */
    char host[OTA32_URL_HOST_MAX + 1];        /* without brackets for IPv6 */
    uint16_t port;                            /* default 80 / 443 applied */
    char path[OTA32_URL_PATH_MAX + 1];        /* path + "?" + query, as given */
    char userinfo[OTA32_URL_USERINFO_MAX + 1];/* "user:pass" (percent-decoded) or "" */
} ota32_url;

/* Parse an absolute http:// or https:// URL (RFC 3986). The host is
 * lower-cased, the port defaults to 80 / 443, an empty path becomes "/", the
 * path and query are kept byte for byte (signed URLs), the fragment is
 * dropped, and userinfo is percent-decoded. Rejects other schemes, spaces,
 * control and non-ASCII bytes, empty hosts, bad ports and parts longer than
 * the buffers above with OTA32_ERR_INVALID_ARG, _UNSUPPORTED or _TOO_BIG and
 * a message naming the problem. */
int ota32_url_parse(const char *text, ota32_url *out, ota32_diag *diag);

/* Resolve a Location header (absolute, scheme-relative, absolute-path,
 * relative with "." and ".." segments, or query-only) against `base`, as in
 * RFC 3986 section 5.2. A reference without an authority keeps the base's
 * host, port and userinfo; one with an authority has only its own. `out` may
 * be `base`. Errors as ota32_url_parse. */
int ota32_url_resolve(const ota32_url *base, const char *location, ota32_url *out,
                      ota32_diag *diag);

/* The URL fit for a log: credentials and query removed
 * ("https://host:443/fw.bin?<redacted>"). Always NUL-terminates. */
void ota32_url_redact(const char *text, char *out, size_t cap);

/* Text form of a parsed URL without its userinfo: "scheme://host[:port]path",
 * the port only when not the scheme's default, IPv6 hosts in brackets.
 * Returns the length written, or OTA32_ERR_TOO_BIG when `cap` is too small
 * (out then holds a truncated, NUL-terminated prefix). */
int ota32_url_format(const ota32_url *url, char *out, size_t cap);

typedef struct ota32_http_response {
    int status;              /* final status after redirects */
    int64_t content_length;  /* -1 when absent */
    uint64_t range_start;    /* first byte delivered (206), else 0 */
    int64_t total_length;    /* from Content-Range "/total", else content_length */
    char etag[128];          /* "" when absent */
    char last_modified[64];  /* "" when absent */
    char location[OTA32_URL_PATH_MAX + 1]; /* of the last redirect followed, resolved
                                              (ota32_url_format: no credentials); "" */
    unsigned redirects;      /* how many were followed */
    uint64_t body_bytes;     /* body bytes delivered to on_data */
    bool protocol_error;     /* the server broke HTTP/2 (a connection error, an
                                answer that is not HTTP/2, oversized headers):
                                a server fault, not a network glitch */
} ota32_http_response;

typedef struct ota32_http_callbacks {
    void *user;
    /* Final (non-redirect, success) response headers arrived. Return a
     * negative error to abort before any body byte is delivered. */
    int (*on_response)(void *user, const ota32_http_response *resp);
    /* Body bytes. Return OTA32_OK once they are consumed (written), or a
     * negative error to abort the transfer. */
    int (*on_data)(void *user, const uint8_t *data, size_t len);
    /* Called about once a second while the request runs, waits included
     * (may be NULL). A negative return stops the request with that error. */
    int (*on_tick)(void *user);
} ota32_http_callbacks;

/* The largest single allocation the client (nghttp2 included) makes; a
 * server that would need more (a huge header field) is refused. */
#define OTA32_HTTP_MAX_ALLOC (20u * 1024u)
#define OTA32_HTTP_MAX_HEADER_BYTES (16u * 1024u)

typedef struct ota32_http_opts {
    uint32_t window;           /* stream receive window, bytes; default 16 KB */
    uint32_t connect_timeout_ms;/* default 10 s */
    uint32_t stall_timeout_ms; /* no byte for this long = failure; default 30 s */
    uint64_t deadline_ms;      /* absolute (clock ops); 0 = none */
    uint32_t min_rate;         /* body bytes/s: fewer over rate_window_ms fails the
                                  request, whatever other frames arrive (as curl's
                                  --speed-limit); 0 = no check */
    uint32_t rate_window_ms;   /* default 30 s */
    unsigned max_informational;/* 1xx responses accepted before the final one;
                                  default 8 */
    uint32_t max_header_bytes; /* a response's header list (RFC 9113 6.5.2 size:
                                  name + value + 32 per field), advertised as
                                  SETTINGS_MAX_HEADER_LIST_SIZE; default and
                                  most 16 KB */
    unsigned max_redirects;    /* default 5 */
    const char *ca_file;       /* NULL: platform default trust store */
    bool insecure;             /* skip certificate verification (development only) */
} ota32_http_opts;

typedef struct ota32_http_request {
    const ota32_url *url;
    uint64_t range_start;      /* > 0: send "Range: bytes=N-" */
    const char *if_range;      /* ETag or Last-Modified guarding the range */
    bool head;                 /* HEAD instead of GET */
} ota32_http_request;

/* Perform one request over a fresh connection, following redirects (a new
 * connection per hop). A server that breaks HTTP/2 fails the request with
 * OTA32_ERR_HTTP, resp->protocol_error set and nghttp2's reason in the diag;
 * so do larger response headers than max_header_bytes and more than
 * max_informational 1xx responses. No single allocation of the session grows
 * with what the server sends beyond OTA32_HTTP_MAX_ALLOC bytes.
 *
 * Success is status 200 or 206. Any other final status
 * returns OTA32_ERR_HTTP with resp->status set and a diag naming it ("server
 * answered 404 for ...", URL redacted); so does a 206 whose Content-Range
 * does not start at req->range_start, a redirect without Location, more than
 * max_redirects redirects, and a TLS server that does not select "h2" by ALPN.
 * No byte for stall_timeout_ms returns OTA32_ERR_TIMEOUT ("no data for 30 s
 * ..."), as does passing deadline_ms. Connection failures return what the
 * transport said (OTA32_ERR_NET, _TIMEOUT or _TLS). A drop, RST_STREAM or
 * GOAWAY mid-body returns OTA32_ERR_NET with body_bytes telling how far it
 * got. A callback's negative return is returned as is; allocation failures
 * return OTA32_ERR_NO_MEM.
 *
 * Uses plat->transport, plat->alloc (every allocation, nghttp2's session
 * included: about 40 KB at peak whatever the window and body size) and, when
 * present, plat->clock (deadline) and plat->log (redirects). Needs
 * plat->transport.alpn_selected to check ALPN (skipped when NULL). */
int ota32_http_get(const ota32_platform *plat, const ota32_http_request *req,
                   const ota32_http_opts *opts, const ota32_http_callbacks *cb,
                   ota32_http_response *resp, ota32_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
