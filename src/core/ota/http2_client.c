/*
 * The device's HTTP/2 client: one GET (or HEAD) per connection, nghttp2 as a
 * pure protocol engine fed through the platform transport. nghttp2 never
 * touches a socket here: bytes read by transport.recv go to
 * nghttp2_session_mem_recv, frames from nghttp2_session_mem_send go to
 * transport.send.
 *
 * Memory is bounded whatever the body size: the receive window is
 * opts->window bytes and it is handed back (nghttp2_session_consume) only
 * after on_data has written the bytes, so the server can never have more than
 * one window in flight, and nothing here buffers body data: each DATA chunk is
 * passed on straight from the fixed receive buffer. Every allocation of this
 * file and of nghttp2's session goes through plat->alloc.
 */
#include "ota32/http.h"

#include <inttypes.h>
#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http_base64.h"

#define HTTP_RECV_BUF 4096u
#define HTTP_DEFAULT_WINDOW (16u * 1024u)
#define HTTP_DEFAULT_CONNECT_MS 10000u
#define HTTP_DEFAULT_STALL_MS 30000u
#define HTTP_DEFAULT_REDIRECTS 5u
#define HTTP_GOAWAY_FLUSH_MS 1000u
#define HTTP_DEFAULT_RATE_WINDOW_MS 30000u
#define HTTP_DEFAULT_INFORMATIONAL 8u
#define HTTP_TICK_MS 1000u
/* RFC 9113 6.9.1: a flow-control window is at most 2^31 - 1. */
#define HTTP_MAX_WINDOW 0x7fffffffu
/* Below one full frame of window the peer would have to split every frame. */
#define HTTP_MIN_WINDOW 1024u

/* nghttp2 1.61 replaced the ssize_t entry points by nghttp2_ssize ones. */
#if NGHTTP2_VERSION_NUM >= 0x013d00
#define h2_mem_recv nghttp2_session_mem_recv2
#define h2_mem_send nghttp2_session_mem_send2
#else
#define h2_mem_recv nghttp2_session_mem_recv
#define h2_mem_send nghttp2_session_mem_send
#endif

/* The state of one ota32_http_get, allocated from plat->alloc so that the
 * caller's stack stays small (about 1 KB here) on a device. */
typedef struct http_get {
    const ota32_platform *plat;
    const ota32_http_request *req;
    const ota32_http_callbacks *cb;
    ota32_http_response *resp;
    ota32_diag *diag;
    uint32_t window;
    uint32_t connect_ms;
    uint32_t stall_ms;
    uint64_t deadline_ms;
    unsigned max_redirects;
    const char *ca_file;
    bool insecure;
    uint32_t min_rate;
    uint32_t rate_window_ms;
    unsigned max_informational;
    uint32_t max_header_bytes;

    /* The hop in progress. */
    nghttp2_session *session;
    int32_t stream_id;
    bool headers_done; /* final (non-1xx) response headers seen */
    bool accepted;     /* 2xx accepted: DATA goes to on_data */
    bool redirect;     /* 3xx with a Location: next hop */
    bool hop_done;     /* nothing more wanted from this connection */
    bool stream_closed;
    bool end_stream;       /* the server's END_STREAM arrived */
    uint32_t stream_error; /* RST_STREAM / close error code */
    bool goaway;
    uint32_t goaway_error;
    int error;             /* first failure recorded inside a callback */
    bool location_too_long;
    char reason[128]; /* an ota32-reason header: why the server refused */
    unsigned informational; /* 1xx responses seen on this hop */
    uint32_t header_bytes;  /* of the response being received (RFC 9113 sizes) */
    size_t refused_alloc;   /* an allocation over OTA32_HTTP_MAX_ALLOC was refused */
    char h2_reason[128];    /* nghttp2's first error message on this hop */
    /* timing of this hop (plat->clock) */
    uint64_t last_rx_ms;  /* last byte received */
    uint64_t win_start_ms; /* rate window: start and body bytes at its start */
    uint64_t win_bytes;
    uint64_t last_tick_ms;

    ota32_url url;                                  /* of this hop */
    ota32_url next;                                 /* where a redirect points */
    char location[OTA32_URL_PATH_MAX + 1];          /* raw Location header */
    char text[OTA32_URL_HOST_MAX + OTA32_URL_PATH_MAX + 32];
    char redacted[256];                             /* this hop's URL for messages */
    uint8_t rbuf[HTTP_RECV_BUF];
} http_get;

int ota32_http_base64(const void *data, size_t len, char *out, size_t cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *in = data;
    size_t need = (len + 2) / 3 * 4;
    if (cap < need + 1)
        return OTA32_ERR_TOO_BIG;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

static void http_log(const http_get *g, ota32_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void http_log(const http_get *g, ota32_log_level level, const char *fmt, ...)
{
    if (!g->plat->log.log)
        return;
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    g->plat->log.log(g->plat->log.ctx, level, line);
}

static uint64_t now_ms(const http_get *g)
{
    return g->plat->clock.now_ms ? g->plat->clock.now_ms(g->plat->clock.ctx) : 0;
}

/* Record the first failure; later ones are consequences of it. */
static int fail(http_get *g, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(http_get *g, int err, const char *fmt, ...)
{
    if (g->error)
        return g->error;
    g->error = err;
    if (g->diag) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->diag->msg, sizeof g->diag->msg, fmt, ap);
        va_end(ap);
        g->diag->line = 0;
        g->diag->offset = -1;
    }
    return err;
}

/* An nghttp2 library error as an ota32 error. */
static int h2_err(long rv)
{
    return rv == NGHTTP2_ERR_NOMEM ? OTA32_ERR_NO_MEM : OTA32_ERR_HTTP;
}

/* ---- nghttp2 allocator hooks: everything is counted by plat->alloc ---- */

/* nghttp2 sizes some buffers from what the peer declares (an HPACK string
 * length allocates its whole value at once): anything larger than any
 * buffer a well-formed exchange needs is refused here, so the heap stays
 * bounded whatever the server sends. */
static bool h2_alloc_ok(http_get *g, size_t size)
{
    if (size <= OTA32_HTTP_MAX_ALLOC)
        return true;
    if (!g->refused_alloc)
        g->refused_alloc = size;
    return false;
}

static void *h2_malloc(size_t size, void *user)
{
    http_get *g = user;
    const ota32_alloc_ops *a = &g->plat->alloc;
    return h2_alloc_ok(g, size) ? a->malloc(a->ctx, size) : NULL;
}

static void h2_free(void *ptr, void *user)
{
    http_get *g = user;
    g->plat->alloc.free(g->plat->alloc.ctx, ptr);
}

static void *h2_calloc(size_t n, size_t size, void *user)
{
    http_get *g = user;
    const ota32_alloc_ops *a = &g->plat->alloc;
    if (size && n > OTA32_HTTP_MAX_ALLOC / size)
        return h2_alloc_ok(g, OTA32_HTTP_MAX_ALLOC + 1), NULL;
    return a->calloc(a->ctx, n, size);
}

static void *h2_realloc(void *ptr, size_t size, void *user)
{
    http_get *g = user;
    const ota32_alloc_ops *a = &g->plat->alloc;
    return h2_alloc_ok(g, size) ? a->realloc(a->ctx, ptr, size) : NULL;
}

/* ---- response header parsing ---- */

static bool name_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* Decimal digits only, at most 18 of them (no overflow). */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 18)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* "bytes FIRST-LAST/TOTAL", TOTAL possibly "*" (RFC 9110 14.4). */
static bool parse_content_range(const char *s, size_t len, uint64_t *first, uint64_t *last,
                                int64_t *total)
{
    if (len < 6 || memcmp(s, "bytes ", 6) != 0)
        return false;
    s += 6;
    len -= 6;
    const char *dash = memchr(s, '-', len);
    const char *slash = memchr(s, '/', len);
    if (!dash || !slash || slash < dash)
        return false;
    if (!parse_u64(s, (size_t)(dash - s), first) ||
        !parse_u64(dash + 1, (size_t)(slash - dash - 1), last) || *last < *first)
        return false;
    const char *t = slash + 1;
    size_t tlen = len - (size_t)(t - s);
    uint64_t tot;
    if (tlen == 1 && *t == '*') {
        *total = -1;
        return true;
    }
    if (!parse_u64(t, tlen, &tot) || tot <= *last)
        return false;
    *total = (int64_t)tot;
    return true;
}

static void copy_header(char *dst, size_t cap, const uint8_t *value, size_t len)
{
    /* A validator cut short would never match again: keep it whole or not
     * at all. */
    if (len >= cap) {
        dst[0] = '\0';
        return;
    }
    memcpy(dst, value, len);
    dst[len] = '\0';
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)session;
    (void)flags;
    http_get *g = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != g->stream_id)
        return 0;
    g->header_bytes += (uint32_t)(namelen + valuelen + 32);
    if (g->header_bytes > g->max_header_bytes) {
        g->resp->protocol_error = true;
        g->hop_done = true;
        fail(g, OTA32_ERR_HTTP, "response headers from %s larger than %" PRIu32 " bytes: refused",
             g->redacted, g->max_header_bytes);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (g->headers_done)
        return 0; /* trailers are of no interest */
    ota32_http_response *r = g->resp;
    const char *v = (const char *)value;
    uint64_t n;
    if (name_is(name, namelen, ":status")) {
        /* nghttp2 has checked it is three digits. */
        r->status = (int)(valuelen == 3 && parse_u64(v, 3, &n) ? n : 0);
    } else if (name_is(name, namelen, "content-length")) {
        r->content_length = parse_u64(v, valuelen, &n) ? (int64_t)n : -1;
    } else if (name_is(name, namelen, "content-range")) {
        uint64_t first, last;
        int64_t total;
        if (parse_content_range(v, valuelen, &first, &last, &total)) {
            r->range_start = first;
            r->total_length = total;
        } else {
            r->range_start = UINT64_MAX; /* checked on a 206 */
        }
    } else if (name_is(name, namelen, "etag")) {
        copy_header(r->etag, sizeof r->etag, value, valuelen);
    } else if (name_is(name, namelen, "last-modified")) {
        copy_header(r->last_modified, sizeof r->last_modified, value, valuelen);
    } else if (name_is(name, namelen, "ota32-reason")) {
        size_t keep = valuelen < sizeof g->reason ? valuelen : sizeof g->reason - 1;
        memcpy(g->reason, value, keep); /* cut, not dropped: it is only logged */
        g->reason[keep] = '\0';
    } else if (name_is(name, namelen, "location")) {
        g->location_too_long = valuelen >= sizeof g->location;
        copy_header(g->location, sizeof g->location, value, valuelen);
    }
    return 0;
}

static void reset_response_headers(http_get *g)
{
    ota32_http_response *r = g->resp;
    r->status = 0;
    r->content_length = -1;
    r->range_start = 0;
    r->total_length = -1;
    r->etag[0] = '\0';
    r->last_modified[0] = '\0';
    r->body_bytes = 0;
    g->location[0] = '\0';
    g->location_too_long = false;
    g->reason[0] = '\0';
}

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The final response headers of this hop are complete. */
static int on_final_headers(http_get *g)
{
    ota32_http_response *r = g->resp;
    int status = r->status;
    g->headers_done = true;
    if (is_redirect(status)) {
        g->hop_done = true;
        if (g->location_too_long)
            return fail(g, OTA32_ERR_HTTP, "server answered %d with a Location longer than %d "
                        "bytes for %s", status, OTA32_URL_PATH_MAX, g->redacted);
        if (!g->location[0])
            return fail(g, OTA32_ERR_HTTP, "server answered %d without a Location for %s",
                        status, g->redacted);
        g->redirect = true;
        return OTA32_OK;
    }
    if (status != 200 && status != 206) {
        g->hop_done = true;
        return fail(g, OTA32_ERR_HTTP, "server answered %d for %s%s%s", status, g->redacted,
                    g->reason[0] ? ": " : "", g->reason);
    }
    if (status == 206) {
        if (r->range_start == UINT64_MAX) {
            g->hop_done = true;
            return fail(g, OTA32_ERR_HTTP, "server answered 206 without a valid Content-Range "
                        "for %s", g->redacted);
        }
        if (r->range_start != g->req->range_start) {
            g->hop_done = true;
            return fail(g, OTA32_ERR_HTTP,
                        "server answered 206 from byte %llu, %llu was requested, for %s",
                        (unsigned long long)r->range_start,
                        (unsigned long long)g->req->range_start, g->redacted);
        }
    } else {
        /* 200: the whole entity from byte 0, whatever range was asked. */
        r->range_start = 0;
        r->total_length = r->content_length;
    }
    if (g->cb && g->cb->on_response) {
        int rc = g->cb->on_response(g->cb->user, r);
        if (rc < 0) {
            g->hop_done = true;
            return fail(g, rc, "response refused by the receiver: %s", ota32_strerror(rc));
        }
    }
    g->accepted = true;
    return OTA32_OK;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    (void)session;
    http_get *g = user;
    if (frame->hd.stream_id == g->stream_id && (frame->hd.type == NGHTTP2_DATA ||
                                                frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        g->end_stream = true;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (frame->hd.stream_id != g->stream_id || g->headers_done)
            break;
        if (g->resp->status >= 100 && g->resp->status < 200) {
            if (++g->informational > g->max_informational) {
                g->resp->protocol_error = true;
                g->hop_done = true;
                fail(g, OTA32_ERR_HTTP, "more than %u informational (1xx) responses from %s",
                     g->max_informational, g->redacted);
                return NGHTTP2_ERR_CALLBACK_FAILURE;
            }
            reset_response_headers(g); /* informational: the real one follows */
            g->header_bytes = 0;
            break;
        }
        if (on_final_headers(g) != OTA32_OK)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        break;
    case NGHTTP2_GOAWAY:
        g->goaway = true;
        g->goaway_error = frame->goaway.error_code;
        break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user)
{
    (void)flags;
    http_get *g = user;
    if (stream_id != g->stream_id || !g->accepted || g->hop_done)
        return nghttp2_session_consume(session, stream_id, len) == 0
                   ? 0
                   : NGHTTP2_ERR_CALLBACK_FAILURE;
    if (g->cb && g->cb->on_data) {
        int rc = g->cb->on_data(g->cb->user, data, len);
        if (rc < 0) {
            g->hop_done = true;
            fail(g, rc, "download stopped by the receiver after %llu bytes: %s",
                 (unsigned long long)g->resp->body_bytes, ota32_strerror(rc));
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
    }
    g->resp->body_bytes += len;
    /* The bytes are written: only now may the server send more. (nghttp2
     * consumes DATA padding by itself.) */
    int rv = nghttp2_session_consume(session, stream_id, len);
    if (rv != 0) {
        fail(g, h2_err(rv), "HTTP/2: %s", nghttp2_strerror(rv));
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

/* nghttp2's reason for a connection error (a bad frame, an answer that is
 * not HTTP/2): kept for the message, which would otherwise only say that the
 * session ended. */
static int on_h2_error(nghttp2_session *session, int code, const char *msg, size_t len,
                       void *user)
{
    (void)session;
    (void)code;
    http_get *g = user;
    if (!g->h2_reason[0])
        snprintf(g->h2_reason, sizeof g->h2_reason, "%.*s", (int)len, msg);
    return 0;
}

/* A GOAWAY with an error is how nghttp2 ends the session on a connection
 * error; its debug data is the reason (e.g. "WINDOW_UPDATE:
 * window_size_increment == 0"). */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    (void)session;
    http_get *g = user;
    if (frame->hd.type != NGHTTP2_GOAWAY || frame->goaway.error_code == NGHTTP2_NO_ERROR ||
        g->h2_reason[0])
        return 0;
    if (frame->goaway.opaque_data_len)
        snprintf(g->h2_reason, sizeof g->h2_reason, "%.*s", (int)frame->goaway.opaque_data_len,
                 (const char *)frame->goaway.opaque_data);
    else
        snprintf(g->h2_reason, sizeof g->h2_reason, "%s",
                 nghttp2_http2_strerror(frame->goaway.error_code));
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user)
{
    (void)session;
    http_get *g = user;
    if (stream_id == g->stream_id) {
        g->stream_closed = true;
        g->stream_error = error_code;
        g->hop_done = true;
    }
    return 0;
}

/* ---- I/O ---- */

static void format_seconds(uint32_t ms, char *out, size_t cap)
{
    if (ms % 1000u == 0)
        snprintf(out, cap, "%" PRIu32 " s", ms / 1000u);
    else
        snprintf(out, cap, "%" PRIu32 " ms", ms);
}

/* Write everything nghttp2 has queued. */
static int flush(http_get *g, uint32_t timeout_ms)
{
    const ota32_transport_ops *t = &g->plat->transport;
    for (;;) {
        const uint8_t *data;
        long n = (long)h2_mem_send(g->session, &data);
        if (n < 0)
            return fail(g, h2_err(n), "HTTP/2: %s", nghttp2_strerror((int)n));
        if (n == 0)
            return OTA32_OK;
        size_t off = 0;
        while (off < (size_t)n) {
            long w = t->send(t->ctx, data + off, (size_t)n - off, timeout_ms);
            if (w == OTA32_ERR_TIMEOUT) {
                char s[24];
                format_seconds(timeout_ms, s, sizeof s);
                return fail(g, OTA32_ERR_TIMEOUT, "could not send for %s to %s", s,
                            g->redacted);
            }
            if (w <= 0)
                return fail(g, w < 0 ? (int)w : OTA32_ERR_NET, "send to %s failed: %s",
                            g->redacted, ota32_strerror(w < 0 ? (int)w : OTA32_ERR_NET));
            off += (size_t)w;
        }
    }
}

static int open_session(http_get *g)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    /* These two small objects come from nghttp2's default allocator (its API
     * takes no hooks for them); they are freed before any byte is sent. */
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return fail(g, OTA32_ERR_NO_MEM, "HTTP/2: out of memory");
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cbs);
        return fail(g, OTA32_ERR_NO_MEM, "HTTP/2: out of memory");
    }
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(cbs, on_h2_error);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    /* The window is granted back by nghttp2_session_consume() only. */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_mem mem = {
        .mem_user_data = g,
        .malloc = h2_malloc,
        .free = h2_free,
        .calloc = h2_calloc,
        .realloc = h2_realloc,
    };
    int rv = nghttp2_session_client_new3(&g->session, cbs, g, opt, &mem);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) {
        g->session = NULL;
        return fail(g, OTA32_ERR_NO_MEM, "HTTP/2: %s", nghttp2_strerror(rv));
    }
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, g->window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, g->max_header_bytes},
    };
    rv = nghttp2_submit_settings(g->session, NGHTTP2_FLAG_NONE, settings,
                                 sizeof settings / sizeof settings[0]);
    /* The connection window matches the stream's: with one stream, neither
     * can hold more than one window of unconsumed data. */
    if (rv == 0)
        rv = nghttp2_session_set_local_window_size(g->session, NGHTTP2_FLAG_NONE, 0,
                                                   (int32_t)g->window);
    if (rv != 0)
        return fail(g, h2_err(rv), "HTTP/2: %s", nghttp2_strerror(rv));
    return OTA32_OK;
}

#define NV(n, v, vlen, fl)                                                                 \
    {                                                                                      \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vlen), (fl)                        \
    }

static int submit_request(http_get *g)
{
    const ota32_url *u = &g->url;
    char authority[OTA32_URL_HOST_MAX + 10];
    bool v6 = strchr(u->host, ':') != NULL;
    if (u->port == (u->tls ? 443 : 80))
        snprintf(authority, sizeof authority, v6 ? "[%s]" : "%s", u->host);
    else
        snprintf(authority, sizeof authority, v6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
    const char *method = g->req->head ? "HEAD" : "GET";
    const char *scheme = u->tls ? "https" : "http";
    static const char agent[] = "ota32/" OTA32_VERSION_STRING;
    char auth[6 + (OTA32_URL_USERINFO_MAX + 1 + 2) / 3 * 4 + 1];
    char range[32];

    nghttp2_nv nva[9] = {
        NV(":method", method, strlen(method), NGHTTP2_NV_FLAG_NONE),
        NV(":scheme", scheme, strlen(scheme), NGHTTP2_NV_FLAG_NONE),
        NV(":authority", authority, strlen(authority), NGHTTP2_NV_FLAG_NONE),
        NV(":path", u->path, strlen(u->path), NGHTTP2_NV_FLAG_NONE),
        NV("user-agent", agent, sizeof agent - 1, NGHTTP2_NV_FLAG_NONE),
        NV("accept", "*/*", 3, NGHTTP2_NV_FLAG_NONE),
    };
    size_t n = 6;
    if (u->userinfo[0]) {
        /* RFC 7617: user-id ":" password, so "user@host" means "user:". */
        char pair[OTA32_URL_USERINFO_MAX + 2];
        int len = snprintf(pair, sizeof pair, strchr(u->userinfo, ':') ? "%s" : "%s:",
                           u->userinfo);
        memcpy(auth, "Basic ", 6);
        if (len < 0 || ota32_http_base64(pair, (size_t)len, auth + 6, sizeof auth - 6) < 0)
            return fail(g, OTA32_ERR_TOO_BIG, "credentials too long");
        /* Never indexed by HPACK, so no intermediary table keeps them. */
        nghttp2_nv a = NV("authorization", auth, strlen(auth), NGHTTP2_NV_FLAG_NO_INDEX);
        nva[n++] = a;
    }
    if (g->req->range_start > 0) {
        snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)g->req->range_start);
        nghttp2_nv r = NV("range", range, strlen(range), NGHTTP2_NV_FLAG_NONE);
        nva[n++] = r;
        if (g->req->if_range && g->req->if_range[0]) {
            nghttp2_nv ir = NV("if-range", g->req->if_range, strlen(g->req->if_range),
                               NGHTTP2_NV_FLAG_NONE);
            nva[n++] = ir;
        }
    }
    int32_t id = nghttp2_submit_request(g->session, NULL, nva, n, NULL, NULL);
    if (id < 0)
        return fail(g, h2_err(id), "HTTP/2: %s", nghttp2_strerror(id));
    g->stream_id = id;
    return OTA32_OK;
}

/* Why the stream ended without a complete body. */
static int stream_failure(http_get *g, const char *what)
{
    const ota32_http_response *r = g->resp;
    char of[40] = "";
    if (r->content_length >= 0)
        snprintf(of, sizeof of, " of %lld", (long long)r->content_length);
    return fail(g, OTA32_ERR_NET, "%s after %llu%s body bytes from %s", what,
                (unsigned long long)r->body_bytes, of, g->redacted);
}

static int stall_failure(http_get *g)
{
    char s[24];
    format_seconds(g->stall_ms, s, sizeof s);
    if (g->headers_done)
        return fail(g, OTA32_ERR_TIMEOUT, "no data for %s from %s after %llu body bytes", s,
                    g->redacted, (unsigned long long)g->resp->body_bytes);
    return fail(g, OTA32_ERR_TIMEOUT, "no data for %s from %s (waiting for the response)", s,
                g->redacted);
}

static void lower(uint64_t *v, uint64_t bound)
{
    if (bound < *v)
        *v = bound;
}

/* The clock's checks before each receive: the deadline, the stall, the
 * minimum rate over its window (body bytes only: PINGs, 1xx responses or
 * WINDOW_UPDATEs do not count) and the receiver's tick. Sets how long the
 * receive may wait. Without a clock only the stall applies, as that wait. */
static int check_clock(http_get *g, uint32_t *wait)
{
    *wait = g->stall_ms;
    if (!g->plat->clock.now_ms)
        return OTA32_OK;
    uint64_t now = now_ms(g), body = g->resp->body_bytes;
    if (g->deadline_ms && now >= g->deadline_ms)
        return fail(g, OTA32_ERR_TIMEOUT, "deadline passed during download from %s",
                    g->redacted);
    if (now - g->last_rx_ms >= g->stall_ms)
        return stall_failure(g);
    if (g->min_rate && now - g->win_start_ms >= g->rate_window_ms) {
        uint64_t span = now - g->win_start_ms, got = body - g->win_bytes;
        if (got * 1000u < (uint64_t)g->min_rate * span) {
            char s[24];
            format_seconds((uint32_t)span, s, sizeof s);
            return fail(g, OTA32_ERR_TIMEOUT,
                        "too slow: %llu body bytes in %s from %s (at least %" PRIu32
                        " bytes/s wanted)",
                        (unsigned long long)got, s, g->redacted, g->min_rate);
        }
        g->win_start_ms = now;
        g->win_bytes = body;
    }
    if (g->cb && g->cb->on_tick && now - g->last_tick_ms >= HTTP_TICK_MS) {
        g->last_tick_ms = now;
        int rc = g->cb->on_tick(g->cb->user);
        if (rc < 0)
            return fail(g, rc, "download from %s stopped by the receiver: %s", g->redacted,
                        ota32_strerror(rc));
    }
    uint64_t w = g->stall_ms - (now - g->last_rx_ms);
    if (g->deadline_ms)
        lower(&w, g->deadline_ms - now);
    if (g->min_rate)
        lower(&w, g->win_start_ms + g->rate_window_ms - now);
    if (g->cb && g->cb->on_tick)
        lower(&w, g->last_tick_ms + HTTP_TICK_MS - now);
    *wait = w ? (uint32_t)w : 1u;
    return OTA32_OK;
}

/* A protocol violation by the server: a server fault, with nghttp2's reason. */
static int protocol_failure(http_get *g, long rv)
{
    g->resp->protocol_error = true;
    if (g->refused_alloc)
        return fail(g, OTA32_ERR_HTTP,
                    "response from %s would need a %zu-byte buffer (at most %u): refused",
                    g->redacted, g->refused_alloc, OTA32_HTTP_MAX_ALLOC);
    if (rv == NGHTTP2_ERR_NOMEM)
        return fail(g, OTA32_ERR_NO_MEM, "HTTP/2: out of memory");
    return fail(g, OTA32_ERR_HTTP, "HTTP/2 protocol error from %s: %s", g->redacted,
                g->h2_reason[0] ? g->h2_reason : nghttp2_strerror((int)rv));
}

/* Neither side wants the session any more and the stream is not done. */
static int session_ended(http_get *g)
{
    if (g->refused_alloc || g->h2_reason[0])
        return protocol_failure(g, NGHTTP2_ERR_PROTO);
    if (g->goaway && g->goaway_error != NGHTTP2_NO_ERROR) {
        char what[96];
        snprintf(what, sizeof what, "server ended the connection (GOAWAY %s)",
                 nghttp2_http2_strerror(g->goaway_error));
        return stream_failure(g, what);
    }
    return stream_failure(g, g->goaway ? "server ended the connection (GOAWAY)"
                                       : "session ended");
}

/* Feed received bytes to nghttp2. */
static int feed(http_get *g, size_t n)
{
    long used = (long)h2_mem_recv(g->session, g->rbuf, n);
    if (used < 0)
        return g->error ? g->error : protocol_failure(g, used);
    return g->error;
}

/* Read and process until this hop is done. */
static int run_hop(http_get *g)
{
    const ota32_transport_ops *t = &g->plat->transport;
    g->last_rx_ms = g->win_start_ms = g->last_tick_ms = now_ms(g);
    while (!g->hop_done) {
        int rc = flush(g, g->stall_ms);
        if (rc)
            return rc;
        if (g->hop_done) /* e.g. the stream closed once our RST_STREAM went out */
            break;
        if (!nghttp2_session_want_read(g->session) && !nghttp2_session_want_write(g->session))
            return session_ended(g);
        uint32_t wait;
        rc = check_clock(g, &wait);
        if (rc)
            return rc;
        long n = t->recv(t->ctx, g->rbuf, sizeof g->rbuf, wait);
        if (n == OTA32_ERR_TIMEOUT) {
            if (!g->plat->clock.now_ms)
                return stall_failure(g);
            continue; /* check_clock says what the wait means */
        }
        if (n == 0)
            return stream_failure(g, "connection closed");
        if (n < 0) {
            char what[64];
            snprintf(what, sizeof what, "receive failed (%s)", ota32_strerror((int)n));
            stream_failure(g, what);
            g->error = (int)n == OTA32_ERR_TLS ? OTA32_ERR_TLS : OTA32_ERR_NET;
            return g->error;
        }
        g->last_rx_ms = now_ms(g);
        rc = feed(g, (size_t)n);
        if (rc)
            return rc;
    }
    if (g->redirect || g->error)
        return g->error;
    if (g->stream_error != NGHTTP2_NO_ERROR || !g->end_stream || !g->accepted) {
        char what[96];
        snprintf(what, sizeof what, "stream reset (%s)", nghttp2_http2_strerror(g->stream_error));
        return stream_failure(g, what);
    }
    return OTA32_OK;
}

static void close_hop(http_get *g, bool polite)
{
    if (g->session) {
        if (polite && nghttp2_session_terminate_session(g->session, NGHTTP2_NO_ERROR) == 0) {
            int saved = g->error;
            ota32_diag *d = g->diag;
            g->diag = NULL; /* best effort: a failure here changes nothing */
            flush(g, HTTP_GOAWAY_FLUSH_MS);
            g->diag = d;
            g->error = saved;
        }
        nghttp2_session_del(g->session);
        g->session = NULL;
    }
    g->plat->transport.close(g->plat->transport.ctx);
}

static int do_hop(http_get *g)
{
    g->stream_id = -1;
    g->headers_done = g->accepted = g->redirect = g->hop_done = false;
    g->stream_closed = g->end_stream = g->goaway = false;
    g->stream_error = g->goaway_error = 0;
    g->error = 0;
    g->informational = 0;
    g->header_bytes = 0;
    g->refused_alloc = 0;
    g->h2_reason[0] = '\0';
    reset_response_headers(g);
    if (ota32_url_format(&g->url, g->text, sizeof g->text) < 0)
        return fail(g, OTA32_ERR_TOO_BIG, "URL too long");
    ota32_url_redact(g->text, g->redacted, sizeof g->redacted);
    http_log(g, OTA32_LOG_DEBUG, "GET %s", g->redacted);

    const ota32_transport_ops *t = &g->plat->transport;
    uint32_t connect_ms = g->connect_ms;
    if (g->deadline_ms) {
        uint64_t now = now_ms(g);
        if (now >= g->deadline_ms)
            return fail(g, OTA32_ERR_TIMEOUT, "deadline passed before connecting to %s",
                        g->redacted);
        if (g->deadline_ms - now < connect_ms)
            connect_ms = (uint32_t)(g->deadline_ms - now);
    }
    ota32_transport_opts topts = {
        .host = g->url.host,
        .port = g->url.port,
        .tls = g->url.tls,
        .alpn = g->url.tls ? "h2" : NULL,
        .ca_file = g->ca_file,
        .insecure = g->insecure,
        .timeout_ms = connect_ms,
    };
    int rc = t->connect(t->ctx, &topts, g->diag);
    if (rc) {
        g->error = rc;
        return rc;
    }
    if (g->url.tls && t->alpn_selected) {
        const char *proto = t->alpn_selected(t->ctx);
        if (!proto || strcmp(proto, "h2") != 0) {
            t->close(t->ctx);
            return fail(g, OTA32_ERR_HTTP,
                        "%s:%u does not speak HTTP/2 over TLS (ALPN selected %s%s%s)",
                        g->url.host, g->url.port, proto && proto[0] ? "\"" : "",
                        proto && proto[0] ? proto : "nothing", proto && proto[0] ? "\"" : "");
        }
    }
    rc = open_session(g);
    if (rc == OTA32_OK)
        rc = submit_request(g);
    if (rc == OTA32_OK)
        rc = run_hop(g);
    /* A finished exchange ends with GOAWAY; a broken one just closes. */
    close_hop(g, rc == OTA32_OK && g->stream_closed);
    return rc;
}

/* The answer was a redirect: g->url becomes its target, or an error says
 * why it is not followed. */
static int follow_redirect(http_get *g)
{
    ota32_http_response *resp = g->resp;
    if (resp->redirects >= g->max_redirects)
        return fail(g, OTA32_ERR_HTTP, "too many redirects: %u followed, last answer %d for %s",
                    resp->redirects, resp->status, g->redacted);
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = ota32_url_resolve(&g->url, g->location, &g->next, &d);
    if (rc)
        return fail(g, rc, "bad redirect from %s: %s", g->redacted, d.msg);
    if (g->req->url->tls && !g->next.tls) {
        /* Never a downgrade: what started over TLS stays on TLS. */
        return fail(g, OTA32_ERR_HTTP, "redirect from %s to http:// refused: a download "
                    "that starts on https:// never continues in cleartext", g->redacted);
    }
    int status = resp->status;
    g->url = g->next;
    resp->redirects++;
    if (ota32_url_format(&g->url, resp->location, sizeof resp->location) < 0)
        return fail(g, OTA32_ERR_TOO_BIG, "redirect target of %s is too long", g->redacted);
    char to[256];
    ota32_url_redact(resp->location, to, sizeof to);
    http_log(g, OTA32_LOG_INFO, "%d redirect %s -> %s", status, g->redacted, to);
    return OTA32_OK;
}

int ota32_http_get(const ota32_platform *plat, const ota32_http_request *req,
                   const ota32_http_opts *opts, const ota32_http_callbacks *cb,
                   ota32_http_response *resp, ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!plat || !req || !req->url || !resp)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "HTTP: missing argument");
    const ota32_alloc_ops *a = &plat->alloc;
    const ota32_transport_ops *t = &plat->transport;
    if (!a->malloc || !a->calloc || !a->realloc || !a->free || !t->connect || !t->send ||
        !t->recv || !t->close)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "HTTP: the platform lacks allocator or transport ops");
    memset(resp, 0, sizeof *resp);
    resp->content_length = -1;
    resp->total_length = -1;

    http_get *g = a->malloc(a->ctx, sizeof *g);
    if (!g)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1,
                               "HTTP: out of memory (%zu bytes)", sizeof(http_get));
    memset(g, 0, sizeof *g);
    g->plat = plat;
    g->req = req;
    g->cb = cb;
    g->resp = resp;
    g->diag = diag;
    uint32_t window = opts && opts->window ? opts->window : HTTP_DEFAULT_WINDOW;
    g->window = window < HTTP_MIN_WINDOW ? HTTP_MIN_WINDOW
                : window > HTTP_MAX_WINDOW ? HTTP_MAX_WINDOW : window;
    g->connect_ms = opts && opts->connect_timeout_ms ? opts->connect_timeout_ms
                                                      : HTTP_DEFAULT_CONNECT_MS;
    g->stall_ms = opts && opts->stall_timeout_ms ? opts->stall_timeout_ms : HTTP_DEFAULT_STALL_MS;
    g->deadline_ms = opts && plat->clock.now_ms ? opts->deadline_ms : 0;
    g->max_redirects = opts && opts->max_redirects ? opts->max_redirects
                                                    : HTTP_DEFAULT_REDIRECTS;
    g->ca_file = opts ? opts->ca_file : NULL;
    g->insecure = opts ? opts->insecure : false;
    g->min_rate = opts ? opts->min_rate : 0;
    g->rate_window_ms = opts && opts->rate_window_ms ? opts->rate_window_ms
                                                      : HTTP_DEFAULT_RATE_WINDOW_MS;
    g->max_informational = opts && opts->max_informational ? opts->max_informational
                                                            : HTTP_DEFAULT_INFORMATIONAL;
    g->max_header_bytes = opts && opts->max_header_bytes &&
                                  opts->max_header_bytes < OTA32_HTTP_MAX_HEADER_BYTES
                              ? opts->max_header_bytes
                              : OTA32_HTTP_MAX_HEADER_BYTES;
    g->url = *req->url;

    int rc;
    for (;;) {
        rc = do_hop(g);
        if (rc || !g->redirect)
            break;
        rc = follow_redirect(g);
        if (rc)
            break;
    }
    a->free(a->ctx, g);
    return rc;
}
