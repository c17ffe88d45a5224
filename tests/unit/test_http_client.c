/* The HTTP/2 client against an in-process peer: a fake transport that runs an
 * nghttp2 server session, so tests see exactly which headers and SETTINGS the
 * client sends, control how the response is chunked (one byte per read
 * included), and script redirects, resets, drops, stalls and a fake clock.
 * No sockets. */
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <sys/types.h>

#include "check.h"
#include "http_base64.h"
#include "ota32/http.h"
#include "posix_alloc.h"

#define MAX_HOPS 8

typedef struct hop {
    int status;
    const char *location;
    const char *extra_name; /* one more response header */
    const char *extra_value;
    const uint8_t *body;
    size_t body_len;
    int64_t content_length; /* -1: none; otherwise sent as is */
    size_t rst_after;       /* >0: RST_STREAM(INTERNAL_ERROR) after this many body bytes */
    size_t eof_after;       /* >0: close the connection after this many body bytes */
    size_t stop_after;      /* >0: go quiet after this many body bytes */
    bool silent;            /* never answer */
    bool informational;     /* send a 103 before the response */
    unsigned more_informational; /* and this many more */
    unsigned extra_repeat;  /* the extra header this many times (0 = once) */
    bool ping_when_idle;    /* a PING whenever the body stops (every 500 ms) */
    const uint8_t *raw;     /* bytes sent as they are once the response is out */
    size_t raw_len;
    bool goaway;            /* refuse the request with GOAWAY(last stream 0) */
} hop;

typedef struct peer {
    hop hops[MAX_HOPS];
    int nhops;
    int connects;
    char host[MAX_HOPS][64];
    uint16_t port[MAX_HOPS];
    bool tls[MAX_HOPS];
    const char *alpn; /* what alpn_selected reports */
    size_t chunk;     /* most bytes per recv; 0 = 4096 */

    nghttp2_session *srv;
    hop *cur;
    size_t body_pos;
    size_t data_sent; /* DATA payload bytes the server sent on this hop */
    bool closed;
    bool reset_sent;
    bool responded;
    bool raw_sent;
    char req[1024]; /* request headers of the last hop, "name: value\n" */
    uint32_t peer_window; /* client's SETTINGS_INITIAL_WINDOW_SIZE */
    uint32_t peer_push;
    uint32_t peer_streams;
    int32_t conn_window_at_response; /* server's view of the client's connection window */
    uint8_t out[1 << 19]; /* more than the largest window tested */
    size_t out_len, out_pos;
    uint64_t clock;
    uint64_t delivered; /* body bytes handed to on_data on this hop */
    size_t max_outstanding;
} peer;

/* ---- the server side ---- */

static ssize_t body_read(nghttp2_session *s, int32_t stream, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)stream;
    (void)src;
    peer *p = user;
    hop *h = p->cur;
    size_t left = h->body_len - p->body_pos;
    size_t stop = h->rst_after    ? h->rst_after
                  : h->eof_after  ? h->eof_after
                  : h->stop_after ? h->stop_after
                                  : h->body_len;
    if (stop > h->body_len)
        stop = h->body_len;
    if (p->body_pos >= stop && stop < h->body_len)
        return NGHTTP2_ERR_DEFERRED; /* the fault happens instead */
    if (left > stop - p->body_pos)
        left = stop - p->body_pos;
    if (len > left)
        len = left;
    memcpy(buf, h->body + p->body_pos, len);
    p->body_pos += len;
    if (p->body_pos == h->body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)len;
}

static int srv_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                      size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
    (void)s;
    (void)f;
    (void)flags;
    peer *p = user;
    size_t n = strlen(p->req);
    snprintf(p->req + n, sizeof p->req - n, "%.*s: %.*s\n", (int)nlen, name, (int)vlen, value);
    return 0;
}

static void respond(peer *p, int32_t stream)
{
    hop *h = p->cur;
    if (h->silent)
        return;
    if (h->goaway) {
        nghttp2_submit_goaway(p->srv, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
        return;
    }
    char status[8], cl[24];
    nghttp2_nv nv[40];
    size_t n = 0;
#define ADD(nm, val)                                                                       \
    nv[n++] = (nghttp2_nv){(uint8_t *)(nm), (uint8_t *)(val), strlen(nm), strlen(val),     \
                           NGHTTP2_NV_FLAG_NONE}
    for (unsigned i = 0; i < (h->informational ? 1 + h->more_informational : 0); i++) {
        nghttp2_nv info = {(uint8_t *)":status", (uint8_t *)"103", 7, 3, NGHTTP2_NV_FLAG_NONE};
        nghttp2_submit_headers(p->srv, NGHTTP2_FLAG_NONE, stream, NULL, &info, 1, NULL);
    }
    snprintf(status, sizeof status, "%d", h->status);
    ADD(":status", status);
    if (h->location)
        ADD("location", h->location);
    if (h->content_length >= 0) {
        snprintf(cl, sizeof cl, "%lld", (long long)h->content_length);
        ADD("content-length", cl);
    }
    for (unsigned i = 0; h->extra_name && i < (h->extra_repeat ? h->extra_repeat : 1); i++)
        ADD(h->extra_name, h->extra_value);
#undef ADD
    nghttp2_data_provider dp = {.read_callback = body_read};
    nghttp2_submit_response(p->srv, stream, nv, n, h->body_len ? &dp : NULL);
    p->responded = true;
    p->conn_window_at_response = nghttp2_session_get_remote_window_size(p->srv);
}

static int srv_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    peer *p = user;
    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK)) {
        p->peer_window = nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
        p->peer_push = nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_ENABLE_PUSH);
        p->peer_streams =
            nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    }
    if (f->hd.type == NGHTTP2_HEADERS && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        respond(p, f->hd.stream_id);
    return 0;
}

static int srv_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    (void)s;
    peer *p = user;
    if (f->hd.type == NGHTTP2_DATA)
        p->data_sent += f->hd.length;
    return 0;
}

/* Serialize whatever the server has to say into p->out. */
static void pump(peer *p)
{
    hop *h = p->cur;
    if (!p->srv || p->closed)
        return;
    if (h->rst_after && p->body_pos >= h->rst_after && !p->reset_sent) {
        nghttp2_submit_rst_stream(p->srv, NGHTTP2_FLAG_NONE, 1, NGHTTP2_INTERNAL_ERROR);
        p->reset_sent = true;
    }
    memmove(p->out, p->out + p->out_pos, p->out_len - p->out_pos);
    p->out_len -= p->out_pos;
    p->out_pos = 0;
    for (;;) {
        const uint8_t *data;
        long n = (long)nghttp2_session_mem_send(p->srv, &data);
        if (n <= 0)
            break;
        CHECK((size_t)n <= sizeof p->out - p->out_len);
        if ((size_t)n > sizeof p->out - p->out_len)
            break;
        memcpy(p->out + p->out_len, data, (size_t)n);
        p->out_len += (size_t)n;
    }
    if (h->raw && !p->raw_sent && p->responded) {
        memcpy(p->out + p->out_len, h->raw, h->raw_len);
        p->out_len += h->raw_len;
        p->raw_sent = true;
    }
}

/* ---- the fake transport ---- */

static int fake_connect(void *ctx, const ota32_transport_opts *o, ota32_diag *diag)
{
    (void)diag;
    peer *p = ctx;
    CHECK(p->connects < p->nhops);
    if (p->connects >= p->nhops)
        return OTA32_ERR_NET;
    int i = p->connects++;
    snprintf(p->host[i], sizeof p->host[i], "%s", o->host);
    p->port[i] = o->port;
    p->tls[i] = o->tls;
    p->cur = &p->hops[i];
    p->body_pos = p->data_sent = 0;
    p->closed = p->reset_sent = p->responded = p->raw_sent = false;
    p->out_len = p->out_pos = 0;
    p->req[0] = '\0';
    p->delivered = 0;
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, srv_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, srv_frame_send);
    nghttp2_session_server_new(&p->srv, cb, p);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(p->srv, NGHTTP2_FLAG_NONE, NULL, 0);
    return OTA32_OK;
}

static long fake_send(void *ctx, const void *buf, size_t len, uint32_t timeout_ms)
{
    (void)timeout_ms;
    peer *p = ctx;
    if (!p->srv)
        return OTA32_ERR_STATE;
    long rv = (long)nghttp2_session_mem_recv(p->srv, buf, len);
    CHECK_EQ(rv, (long)len);
    return (long)len;
}

static long fake_recv(void *ctx, void *buf, size_t len, uint32_t timeout_ms)
{
    peer *p = ctx;
    if (!p->srv)
        return OTA32_ERR_STATE;
    pump(p);
    if (p->out_pos == p->out_len) {
        hop *h = p->cur;
        if (h->eof_after && p->body_pos >= h->eof_after)
            return 0;
        if (h->ping_when_idle) {
            p->clock += timeout_ms < 500 ? timeout_ms : 500; /* a byte, not a body byte */
            nghttp2_submit_ping(p->srv, NGHTTP2_FLAG_NONE, NULL);
            pump(p);
            return fake_recv(ctx, buf, len, timeout_ms);
        }
        p->clock += timeout_ms; /* nothing to say: time passes */
        return OTA32_ERR_TIMEOUT;
    }
    size_t chunk = p->chunk ? p->chunk : 4096;
    size_t n = p->out_len - p->out_pos;
    if (n > len)
        n = len;
    if (n > chunk)
        n = chunk;
    memcpy(buf, p->out + p->out_pos, n);
    p->out_pos += n;
    return (long)n;
}

static void fake_close(void *ctx)
{
    peer *p = ctx;
    if (p->srv)
        nghttp2_session_del(p->srv);
    p->srv = NULL;
}

static const char *fake_alpn(void *ctx)
{
    peer *p = ctx;
    return p->alpn;
}

static uint64_t fake_now(void *ctx)
{
    peer *p = ctx;
    return p->clock;
}

/* ---- the client side ---- */

typedef struct run {
    peer p;
    ota32_posix_alloc alloc;
    ota32_platform plat;
    ota32_http_response resp;
    ota32_diag diag;
    uint8_t body[1 << 18];
    size_t body_len;
    int data_calls;
    int fail_data_at; /* on_data call number that fails (1-based), 0 = never */
    bool fail_response;
    int rc;
} run;

static int on_response(void *user, const ota32_http_response *resp)
{
    run *r = user;
    CHECK(resp->status == 200 || resp->status == 206);
    CHECK_EQ(r->body_len, 0);
    return r->fail_response ? OTA32_ERR_TOO_BIG : OTA32_OK;
}

static int on_data(void *user, const uint8_t *data, size_t len)
{
    run *r = user;
    r->data_calls++;
    if (r->fail_data_at && r->data_calls >= r->fail_data_at) {
        CHECK_EQ(r->data_calls, r->fail_data_at); /* never called again */
        return OTA32_ERR_IO;
    }
    CHECK(r->body_len + len <= sizeof r->body);
    if (r->body_len + len <= sizeof r->body)
        memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->p.delivered += len;
    /* What the server has sent but the client has not yet consumed is at
     * most one window. */
    size_t outstanding = r->p.data_sent - r->p.delivered;
    if (outstanding > r->p.max_outstanding)
        r->p.max_outstanding = outstanding;
    return OTA32_OK;
}

static uint8_t pattern[200000];

static run *new_run(void)
{
    if (pattern[1] == 0)
        for (size_t i = 0; i < sizeof pattern; i++)
            pattern[i] = (uint8_t)(i * 7 + (i >> 8));
    run *r = calloc(1, sizeof *r);
    ota32_posix_alloc_init(&r->alloc);
    r->plat.alloc = ota32_posix_alloc_ops(&r->alloc);
    r->plat.transport = (ota32_transport_ops){
        .ctx = &r->p,
        .connect = fake_connect,
        .send = fake_send,
        .recv = fake_recv,
        .close = fake_close,
        .alpn_selected = fake_alpn,
    };
    r->plat.clock = (ota32_clock_ops){.ctx = &r->p, .now_ms = fake_now};
    r->p.alpn = "h2";
    return r;
}

static int get(run *r, const char *url_text, const ota32_http_request *extra,
               const ota32_http_opts *opts)
{
    ota32_url url;
    CHECK_EQ(ota32_url_parse(url_text, &url, NULL), OTA32_OK);
    ota32_http_request req = {0};
    if (extra)
        req = *extra;
    req.url = &url;
    ota32_http_callbacks cb = {.user = r, .on_response = on_response, .on_data = on_data};
    r->rc = ota32_http_get(&r->plat, &req, opts, &cb, &r->resp, &r->diag);
    CHECK_EQ(r->alloc.current, 0); /* nothing leaks, whatever happened */
    CHECK(r->p.srv == NULL);       /* the connection was closed */
    return r->rc;
}


static hop ok_hop(size_t len)
{
    return (hop){.status = 200, .body = pattern, .body_len = len, .content_length = (int64_t)len};
}

TEST(base64_rfc4648)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};
    char buf[16];
    for (size_t i = 0; i < 7; i++) {
        CHECK_EQ(ota32_http_base64(in[i], strlen(in[i]), buf, sizeof buf), strlen(out[i]));
        CHECK_STR(buf, out[i]);
    }
    CHECK_EQ(ota32_http_base64("foobar", 6, buf, 8), OTA32_ERR_TOO_BIG);
    CHECK_EQ(ota32_http_base64("foobar", 6, buf, 9), 8);
}

TEST(request_headers_and_settings)
{
    run *r = new_run();
    r->p.hops[0] = ok_hop(1000);
    r->p.nhops = 1;
    ota32_http_request req = {.range_start = 0};
    CHECK_EQ(get(r, "http://user:p%40ss@h.example:8080/fw.bin?X-Sig=a%2Fb&t=1", &req, NULL),
             OTA32_OK);
    CHECK_STR(r->p.req, ":method: GET\n"
                        ":scheme: http\n"
                        ":authority: h.example:8080\n"
                        ":path: /fw.bin?X-Sig=a%2Fb&t=1\n"
                        "user-agent: ota32/" OTA32_VERSION_STRING "\n"
                        "accept: */*\n"
                        "authorization: Basic dXNlcjpwQHNz\n");
    CHECK_STR(r->p.host[0], "h.example");
    CHECK_EQ(r->p.port[0], 8080);
    CHECK(!r->p.tls[0]);
    CHECK_EQ(r->p.peer_window, 16384);
    CHECK_EQ(r->p.peer_push, 0);
    CHECK_EQ(r->p.peer_streams, 1);
    CHECK_EQ(r->resp.status, 200);
    CHECK_EQ(r->resp.content_length, 1000);
    CHECK_EQ(r->resp.total_length, 1000);
    CHECK_EQ(r->resp.body_bytes, 1000);
    CHECK_EQ(r->body_len, 1000);
    CHECK_MEM(r->body, pattern, 1000);
    free(r);
}

TEST(basic_auth_user_only)
{
    run *r = new_run();
    r->p.hops[0] = ok_hop(10);
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://Aladdin@h/", NULL, NULL), OTA32_OK);
    CHECK_CONTAINS(r->p.req, "authorization: Basic QWxhZGRpbjo=\n"); /* "Aladdin:" */
    free(r);
    r = new_run();
    r->p.hops[0] = ok_hop(10);
    r->p.nhops = 1;
    /* RFC 7617 section 2's example. */
    CHECK_EQ(get(r, "http://Aladdin:open%20sesame@h/", NULL, NULL), OTA32_OK);
    CHECK_CONTAINS(r->p.req, "authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\n");
    free(r);
}

TEST(range_if_range_head_tls_authority)
{
    run *r = new_run();
    r->p.hops[0] = (hop){.status = 206, .body = pattern, .body_len = 500,
                         .content_length = 500, .extra_name = "content-range",
                         .extra_value = "bytes 1500-1999/2000"};
    r->p.nhops = 1;
    ota32_http_request req = {.range_start = 1500, .if_range = "\"v1\""};
    CHECK_EQ(get(r, "https://[2001:db8::1]/a", &req, NULL), OTA32_OK);
    CHECK_CONTAINS(r->p.req, ":scheme: https\n:authority: [2001:db8::1]\n:path: /a\n");
    CHECK_CONTAINS(r->p.req, "range: bytes=1500-\nif-range: \"v1\"\n");
    CHECK(!strstr(r->p.req, "authorization"));
    CHECK(r->p.tls[0]);
    CHECK_EQ(r->p.port[0], 443);
    CHECK_EQ(r->resp.status, 206);
    CHECK_EQ(r->resp.range_start, 1500);
    CHECK_EQ(r->resp.total_length, 2000);
    CHECK_EQ(r->body_len, 500);
    free(r);

    r = new_run();
    r->p.hops[0] = (hop){.status = 200, .content_length = 123456,
                         .extra_name = "etag", .extra_value = "\"abc\""};
    r->p.nhops = 1;
    req = (ota32_http_request){.head = true};
    CHECK_EQ(get(r, "http://h/a", &req, NULL), OTA32_OK);
    CHECK_CONTAINS(r->p.req, ":method: HEAD\n");
    CHECK_EQ(r->resp.content_length, 123456);
    CHECK_STR(r->resp.etag, "\"abc\"");
    CHECK_EQ(r->body_len, 0);
    free(r);
}

TEST(byte_by_byte_and_flow_control)
{
    static const size_t chunks[] = {1, 7, 4096};
    for (size_t i = 0; i < 3; i++) {
        run *r = new_run();
        r->p.hops[0] = ok_hop(i == 0 ? 40000 : sizeof pattern);
        r->p.hops[0].informational = true; /* a 103 first must not confuse it */
        r->p.nhops = 1;
        r->p.chunk = chunks[i];
        CHECK_EQ(get(r, "http://h/big", NULL, NULL), OTA32_OK);
        CHECK_EQ(r->body_len, r->p.hops[0].body_len);
        CHECK_MEM(r->body, pattern, r->p.hops[0].body_len);
        CHECK(r->p.max_outstanding <= 16384);
        CHECK(r->p.max_outstanding > 0);
        free(r);
    }
    /* A large window: the connection window grows to match. */
    run *r = new_run();
    r->p.hops[0] = ok_hop(sizeof pattern);
    r->p.nhops = 1;
    ota32_http_opts opts = {.window = 256 * 1024};
    CHECK_EQ(get(r, "http://h/big", NULL, &opts), OTA32_OK);
    CHECK_EQ(r->p.peer_window, 256 * 1024);
    CHECK_EQ(r->p.conn_window_at_response, 256 * 1024);
    CHECK_EQ(r->body_len, sizeof pattern);
    free(r);
}

TEST(redirects)
{
    run *r = new_run();
    r->p.hops[0] = (hop){.status = 302, .location = "v2/fw.bin?s=1", .content_length = -1};
    r->p.hops[1] = (hop){.status = 301, .location = "https://cdn.example:8443/x/fw.bin",
                         .content_length = -1};
    r->p.hops[2] = (hop){.status = 307, .location = "../y.bin", .content_length = -1};
    r->p.hops[3] = ok_hop(3000);
    r->p.nhops = 4;
    CHECK_EQ(get(r, "http://u:p@h:81/dir/fw.bin", NULL, NULL), OTA32_OK);
    CHECK_EQ(r->p.connects, 4);
    CHECK_STR(r->p.host[1], "h");
    CHECK_EQ(r->p.port[1], 81);
    CHECK_STR(r->p.host[2], "cdn.example");
    CHECK_EQ(r->p.port[2], 8443);
    CHECK(r->p.tls[2]);
    CHECK_EQ(r->resp.redirects, 3);
    CHECK_STR(r->resp.location, "https://cdn.example:8443/y.bin");
    CHECK_CONTAINS(r->p.req, ":path: /y.bin\n");
    CHECK(!strstr(r->p.req, "authorization")); /* credentials stay with their host */
    CHECK_EQ(r->body_len, 3000);
    free(r);

    r = new_run();
    for (int i = 0; i < 3; i++)
        r->p.hops[i] = (hop){.status = 308, .location = "/loop", .content_length = -1};
    r->p.nhops = 3;
    ota32_http_opts opts = {.max_redirects = 2};
    CHECK_EQ(get(r, "http://h/loop?tok=1", NULL, &opts), OTA32_ERR_HTTP);
    CHECK_STR(r->diag.msg, "too many redirects: 2 followed, last answer 308 for http://h/loop");
    free(r);

    r = new_run();
    r->p.hops[0] = (hop){.status = 302, .content_length = -1};
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/x?q", NULL, NULL), OTA32_ERR_HTTP);
    CHECK_STR(r->diag.msg, "server answered 302 without a Location for http://h/x?<redacted>");
    free(r);

    r = new_run();
    r->p.hops[0] = (hop){.status = 302, .location = "ftp://h/x", .content_length = -1};
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/x", NULL, NULL), OTA32_ERR_UNSUPPORTED);
    CHECK_CONTAINS(r->diag.msg, "bad redirect from http://h/x: URL scheme 'ftp'");
    free(r);
}

TEST(no_downgrade_to_cleartext)
{
    /* https -> http, directly or after an https hop: refused, not connected */
    static const char *const starts[] = {"https://h/fw.bin?tok=1", "https://h/a"};
    for (int i = 0; i < 2; i++) {
        run *r = new_run();
        int n = 0;
        if (i == 1)
            r->p.hops[n++] = (hop){.status = 302, .location = "https://cdn/fw.bin?tok=2",
                                   .content_length = -1};
        r->p.hops[n++] = (hop){.status = 301, .location = "http://cdn/fw.bin",
                               .content_length = -1};
        r->p.hops[n++] = ok_hop(3000);
        r->p.nhops = n;
        CHECK_EQ(get(r, starts[i], NULL, NULL), OTA32_ERR_HTTP);
        CHECK_CONTAINS(r->diag.msg, "to http:// refused: a download that starts on https:// "
                                    "never continues in cleartext");
        CHECK(!strstr(r->diag.msg, "tok="));
        CHECK_EQ(r->p.connects, (unsigned)(n - 1)); /* never connected in cleartext */
        CHECK_EQ(r->body_len, 0);
        free(r);
    }
    /* positive control: https -> https, and http -> http */
    run *r = new_run();
    r->p.hops[0] = (hop){.status = 301, .location = "https://cdn/fw.bin", .content_length = -1};
    r->p.hops[1] = ok_hop(3000);
    r->p.nhops = 2;
    CHECK_EQ(get(r, "https://h/fw.bin", NULL, NULL), OTA32_OK);
    CHECK_EQ(r->body_len, 3000);
    free(r);
    r = new_run();
    r->p.hops[0] = (hop){.status = 301, .location = "http://cdn/fw.bin", .content_length = -1};
    r->p.hops[1] = ok_hop(3000);
    r->p.nhops = 2;
    CHECK_EQ(get(r, "http://h/fw.bin", NULL, NULL), OTA32_OK);
    free(r);
}

TEST(statuses)
{
    static const int codes[] = {204, 304, 400, 401, 403, 404, 416, 500, 503};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        run *r = new_run();
        bool bodyless = codes[i] == 204 || codes[i] == 304;
        r->p.hops[0] = (hop){.status = codes[i], .body = pattern, .body_len = bodyless ? 0 : 10,
                             .content_length = bodyless ? -1 : 10};
        r->p.nhops = 1;
        CHECK_EQ(get(r, "https://h/fw.bin?X-Amz-Signature=s3cr3t", NULL, NULL), OTA32_ERR_HTTP);
        char want[128];
        snprintf(want, sizeof want, "server answered %d for https://h/fw.bin?<redacted>",
                 codes[i]);
        CHECK_STR(r->diag.msg, want);
        CHECK_EQ(r->resp.status, codes[i]);
        CHECK_EQ(r->body_len, 0);
        free(r);
    }
}

TEST(range_mismatch)
{
    run *r = new_run();
    r->p.hops[0] = (hop){.status = 206, .body = pattern, .body_len = 10, .content_length = 10,
                         .extra_name = "content-range", .extra_value = "bytes 0-9/10"};
    r->p.nhops = 1;
    ota32_http_request req = {.range_start = 5};
    CHECK_EQ(get(r, "http://h/a", &req, NULL), OTA32_ERR_HTTP);
    CHECK_STR(r->diag.msg, "server answered 206 from byte 0, 5 was requested, for http://h/a");
    free(r);

    r = new_run();
    r->p.hops[0] = (hop){.status = 206, .body = pattern, .body_len = 10, .content_length = 10,
                         .extra_name = "content-range", .extra_value = "bytes five"};
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", &req, NULL), OTA32_ERR_HTTP);
    CHECK_CONTAINS(r->diag.msg, "206 without a valid Content-Range");
    free(r);

    /* A 200 to a range request is the whole entity from byte 0. */
    r = new_run();
    r->p.hops[0] = ok_hop(100);
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", &req, NULL), OTA32_OK);
    CHECK_EQ(r->resp.range_start, 0);
    CHECK_EQ(r->resp.total_length, 100);
    free(r);
}

TEST(faults_mid_body)
{
    run *r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.hops[0].rst_after = 30000;
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_NET);
    CHECK_EQ(r->resp.body_bytes, 30000);
    CHECK_STR(r->diag.msg,
              "stream reset (INTERNAL_ERROR) after 30000 of 100000 body bytes from http://h/a");
    free(r);

    r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.hops[0].eof_after = 20000;
    r->p.nhops = 1;
    r->p.chunk = 999;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_NET);
    CHECK_EQ(r->resp.body_bytes, 20000);
    CHECK_STR(r->diag.msg, "connection closed after 20000 of 100000 body bytes from http://h/a");
    free(r);

    /* Fewer bytes than Content-Length, then END_STREAM: nghttp2 resets. */
    r = new_run();
    r->p.hops[0] = ok_hop(5000);
    r->p.hops[0].content_length = 6000;
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_NET);
    CHECK_CONTAINS(r->diag.msg, "stream reset (PROTOCOL_ERROR) after 5000 of 6000 body bytes");
    free(r);
}

TEST(goaway_refuses)
{
    run *r = new_run();
    r->p.hops[0] = (hop){.goaway = true};
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_NET);
    CHECK_STR(r->diag.msg, "stream reset (REFUSED_STREAM) after 0 body bytes from http://h/a");
    free(r);
}

TEST(timeouts_with_fake_clock)
{
    run *r = new_run();
    r->p.hops[0] = (hop){.silent = true};
    r->p.nhops = 1;
    ota32_http_opts opts = {.stall_timeout_ms = 5000};
    CHECK_EQ(get(r, "http://h/a", NULL, &opts), OTA32_ERR_TIMEOUT);
    CHECK_STR(r->diag.msg, "no data for 5 s from http://h/a (waiting for the response)");
    CHECK_EQ(r->p.clock, 5000);
    free(r);

    r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.hops[0].stop_after = 20000;
    r->p.nhops = 1;
    opts = (ota32_http_opts){.stall_timeout_ms = 2500};
    CHECK_EQ(get(r, "http://h/a", NULL, &opts), OTA32_ERR_TIMEOUT);
    CHECK_STR(r->diag.msg, "no data for 2500 ms from http://h/a after 20000 body bytes");
    CHECK_EQ(r->resp.body_bytes, 20000);
    free(r);

    r = new_run();
    r->p.hops[0] = (hop){.silent = true};
    r->p.nhops = 1;
    r->p.clock = 1000;
    opts = (ota32_http_opts){.stall_timeout_ms = 30000, .deadline_ms = 8000};
    CHECK_EQ(get(r, "http://h/a", NULL, &opts), OTA32_ERR_TIMEOUT);
    CHECK_STR(r->diag.msg, "deadline passed during download from http://h/a");
    CHECK_EQ(r->p.clock, 8000); /* waited exactly until the deadline */
    free(r);
}

TEST(minimum_rate_counts_body_bytes_only)
{
    /* 20 KB, then only PINGs: every 500 ms a byte arrives, never a body
     * byte. The stall timer never fires; the rate does, after its window. */
    run *r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.hops[0].stop_after = 20000;
    r->p.hops[0].ping_when_idle = true;
    r->p.nhops = 1;
    ota32_http_opts opts = {.stall_timeout_ms = 1000, .min_rate = 1000, .rate_window_ms = 5000};
    CHECK_EQ(get(r, "http://h/a", NULL, &opts), OTA32_ERR_TIMEOUT);
    CHECK_CONTAINS(r->diag.msg, "too slow: 0 body bytes in 5 s from http://h/a");
    CHECK_EQ(r->resp.body_bytes, 20000);
    CHECK(r->p.clock >= 10000 && r->p.clock <= 10500); /* 20 KB in the first window */
    free(r);

    /* Positive control: the same PINGs without a rate: only the deadline. */
    r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.hops[0].stop_after = 20000;
    r->p.hops[0].ping_when_idle = true;
    r->p.nhops = 1;
    opts = (ota32_http_opts){.stall_timeout_ms = 1000, .deadline_ms = 60000};
    CHECK_EQ(get(r, "http://h/a", NULL, &opts), OTA32_ERR_TIMEOUT);
    CHECK_STR(r->diag.msg, "deadline passed during download from http://h/a");
    CHECK(r->p.clock >= 60000 && r->p.clock <= 60500);
    free(r);
}

TEST(informational_responses_are_capped)
{
    run *r = new_run();
    r->p.hops[0] = ok_hop(1000);
    r->p.hops[0].informational = true;
    r->p.hops[0].more_informational = 8; /* nine 103s */
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_HTTP);
    CHECK_STR(r->diag.msg, "more than 8 informational (1xx) responses from http://h/a");
    CHECK(r->resp.protocol_error);
    CHECK_EQ(r->body_len, 0);
    free(r);

    r = new_run();
    r->p.hops[0] = ok_hop(1000);
    r->p.hops[0].informational = true;
    r->p.hops[0].more_informational = 7; /* eight: accepted */
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_OK);
    CHECK_EQ(r->body_len, 1000);
    free(r);
}

static char big_value[50001];

TEST(oversized_headers_are_refused_within_the_heap_bound)
{
    memset(big_value, 'a', sizeof big_value - 1);
    /* One 50 KB field: nghttp2 would allocate it whole. */
    run *r = new_run();
    r->p.hops[0] = ok_hop(1000);
    r->p.hops[0].extra_name = "x-pad";
    r->p.hops[0].extra_value = big_value;
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_HTTP);
    CHECK_CONTAINS(r->diag.msg, "-byte buffer (at most 20480): refused");
    CHECK(r->resp.protocol_error);
    size_t peak_big = r->alloc.peak;
    free(r);

    /* Twenty fields of 1 KB: over the 16 KB header list. */
    big_value[1000] = '\0';
    r = new_run();
    r->p.hops[0] = ok_hop(1000);
    r->p.hops[0].extra_name = "x-pad";
    r->p.hops[0].extra_value = big_value;
    r->p.hops[0].extra_repeat = 20;
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_HTTP);
    CHECK_STR(r->diag.msg, "response headers from http://h/a larger than 16384 bytes: refused");
    free(r);

    /* Positive control: ten of them fit, and set the reference peak. */
    r = new_run();
    r->p.hops[0] = ok_hop(1000);
    r->p.hops[0].extra_name = "x-pad";
    r->p.hops[0].extra_value = big_value;
    r->p.hops[0].extra_repeat = 10;
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_OK);
    CHECK_EQ(r->body_len, 1000);
    size_t peak_ok = r->alloc.peak;
    free(r);
    /* The refused one costs at most one refused buffer more than normal. */
    CHECK(peak_big <= peak_ok + OTA32_HTTP_MAX_ALLOC);
    memset(big_value, 'a', sizeof big_value - 1);
}

TEST(protocol_violations_keep_their_reason)
{
    /* A WINDOW_UPDATE of 0 on the connection (RFC 9113 6.9). */
    static const uint8_t wu0[] = {0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    run *r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.hops[0].stop_after = 1000;
    r->p.hops[0].raw = wu0;
    r->p.hops[0].raw_len = sizeof wu0;
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_HTTP);
    CHECK(r->resp.protocol_error);
    CHECK_CONTAINS(r->diag.msg, "HTTP/2 protocol error from http://h/a: ");
    CHECK_CONTAINS(r->diag.msg, "WINDOW_UPDATE");
    free(r);

    /* A PUSH_PROMISE although the client disabled push. */
    static const uint8_t push[] = {0, 0, 5, 5, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0x82};
    r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.hops[0].stop_after = 1000;
    r->p.hops[0].raw = push;
    r->p.hops[0].raw_len = sizeof push;
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_HTTP);
    CHECK(r->resp.protocol_error);
    CHECK_CONTAINS(r->diag.msg, "HTTP/2 protocol error from http://h/a: ");
    CHECK_CONTAINS(r->diag.msg, "PUSH_PROMISE");
    free(r);

    /* Positive control: a harmless unknown frame type is ignored. */
    static const uint8_t unknown[] = {0, 0, 1, 0xEE, 0, 0, 0, 0, 0, 0};
    r = new_run();
    r->p.hops[0] = ok_hop(1000);
    r->p.hops[0].raw = unknown;
    r->p.hops[0].raw_len = sizeof unknown;
    r->p.nhops = 1;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_OK);
    CHECK(!r->resp.protocol_error);
    free(r);
}

TEST(callbacks_abort)
{
    run *r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.nhops = 1;
    r->fail_data_at = 3;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_IO);
    CHECK_EQ(r->data_calls, 3);
    CHECK_CONTAINS(r->diag.msg, "download stopped by the receiver");
    free(r);

    r = new_run();
    r->p.hops[0] = ok_hop(100000);
    r->p.nhops = 1;
    r->fail_response = true;
    CHECK_EQ(get(r, "http://h/a", NULL, NULL), OTA32_ERR_TOO_BIG);
    CHECK_EQ(r->data_calls, 0);
    CHECK_CONTAINS(r->diag.msg, "response refused by the receiver");
    free(r);
}

TEST(alpn_must_be_h2)
{
    run *r = new_run();
    r->p.hops[0] = ok_hop(10);
    r->p.nhops = 1;
    r->p.alpn = "http/1.1";
    CHECK_EQ(get(r, "https://h:4443/a", NULL, NULL), OTA32_ERR_HTTP);
    CHECK_STR(r->diag.msg, "h:4443 does not speak HTTP/2 over TLS (ALPN selected \"http/1.1\")");
    free(r);
}

TEST(every_allocation_failure)
{
    run *r = new_run();
    r->p.hops[0] = (hop){.status = 302, .location = "/b", .content_length = -1};
    r->p.hops[1] = ok_hop(50000);
    r->p.nhops = 2;
    CHECK_EQ(get(r, "http://u:p@h/a", NULL, NULL), OTA32_OK);
    uint64_t attempts = r->alloc.attempts;
    free(r);
    unsigned reported = 0;
    for (uint64_t n = 1; n <= attempts; n++) {
        r = new_run();
        r->p.hops[0] = (hop){.status = 302, .location = "/b", .content_length = -1};
        r->p.hops[1] = ok_hop(50000);
        r->p.nhops = 2;
        r->alloc.fail_at = n;
        int rc = get(r, "http://u:p@h/a", NULL, NULL);
        CHECK_EQ(r->alloc.failures, 1);
        if (rc != OTA32_OK) {
            CHECK(r->diag.msg[0] != '\0');
            reported++;
        } else {
            CHECK_EQ(r->body_len, 50000);
            CHECK_MEM(r->body, pattern, 50000);
        }
        free(r);
    }
    CHECK(reported > 0);
}

RUN_TESTS(CASE(minimum_rate_counts_body_bytes_only), CASE(informational_responses_are_capped),
          CASE(oversized_headers_are_refused_within_the_heap_bound),
          CASE(protocol_violations_keep_their_reason), CASE(base64_rfc4648), CASE(request_headers_and_settings), CASE(basic_auth_user_only),
          CASE(range_if_range_head_tls_authority), CASE(byte_by_byte_and_flow_control),
          CASE(redirects), CASE(no_downgrade_to_cleartext), CASE(statuses), CASE(range_mismatch), CASE(faults_mid_body),
          CASE(goaway_refuses), CASE(timeouts_with_fake_clock), CASE(callbacks_abort), CASE(alpn_must_be_h2),
          CASE(every_allocation_failure))
