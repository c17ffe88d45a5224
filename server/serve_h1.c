/* The HTTP/1.1 fallback: one request at a time (pipelined requests wait in
 * the input buffer), the body produced only while the output has room. */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "http1_parse.h"
#include "serve_conn.h"

static void write_head(conn *c, const response *rs, const response_head *hd)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", rs->status, serve_reason(rs->status));
    for (unsigned i = 0; i < hd->n; i++)
        evbuffer_add_printf(out, "%s: %s\r\n", hd->names[i], hd->vals[i]);
    evbuffer_add_printf(out, "connection: %s\r\n\r\n", c->h1_keep_alive ? "keep-alive" : "close");
}

static void finish_request(conn *c)
{
    serve_log_access(c->srv, c->peer, &c->h1_rs, c->proto);
    response_release(&c->h1_rs);
    c->h1_busy = false;
    serve_conn_progress(c);
    if (!c->h1_keep_alive || c->srv->draining) {
        serve_conn_finish(c);
        return;
    }
    bufferevent_enable(c->bev, EV_READ);
}

void serve_h1_pump(conn *c)
{
    if (!c->h1_busy || c->dead)
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (c->h1_rs.remaining > 0 && evbuffer_get_length(out) < SERVE_OUT_HIGH) {
        /* Plain TCP: file segments, sent with sendfile, cost no memory. */
        long n = c->tls ? response_add_body(&c->h1_rs, out, SERVE_BODY_CHUNK, false)
                        : response_add_body(&c->h1_rs, out, SERVE_OUT_HIGH, true);
        if (n <= 0) {
            /* The file shrank: the promised length cannot be sent, and the
             * only honest signal left in HTTP/1.1 is closing early. */
            serve_log_access(c->srv, c->peer, &c->h1_rs, c->proto);
            response_release(&c->h1_rs);
            c->h1_busy = false;
            c->dead = true;
            return;
        }
        serve_conn_progress(c);
    }
    if (c->h1_rs.remaining == 0)
        finish_request(c);
}

static void respond(conn *c, const request *rq, size_t consumed);

void serve_h1_head_timeout(conn *c)
{
    if (c->h1_busy || c->closing || c->dead)
        return;
    request rq = {.reject = 408};
    c->h1_head_since_ms = 0;
    c->h1_keep_alive = false;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    respond(c, &rq, evbuffer_get_length(in));
}

/* Answer a request whose head (`consumed` bytes of input) was read. */
static void respond(conn *c, const request *rq, size_t consumed)
{
    response_head hd;
    serve_handle(c->srv, rq, &c->h1_rs, &hd);
    serve_conn_progress(c);
    /* The head is no longer needed once the response owns its strings. */
    evbuffer_drain(bufferevent_get_input(c->bev), consumed);
    write_head(c, &c->h1_rs, &hd);
    c->h1_busy = true;
    bufferevent_disable(c->bev, EV_READ);
    serve_h1_pump(c);
}

void serve_h1_input(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->h1_busy && !c->closing && !c->dead && evbuffer_get_length(in) > 0) {
        size_t avail = evbuffer_get_length(in);
        struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        request rq = {0};
        http1_request h;
        int status = 0;
        size_t head_len = 0;
        if (end.pos < 0) {
            size_t n = avail < 17 ? avail : 17;
            const char *start = (const char *)evbuffer_pullup(in, (ssize_t)n);
            status = start ? http1_check_prefix(start, n) : 500;
            uint64_t now = serve_now_ms();
            unsigned limit_s = c->srv->idle_s < SERVE_HEAD_TIMEOUT_S ? c->srv->idle_s
                                                                      : SERVE_HEAD_TIMEOUT_S;
            if (c->h1_head_since_ms == 0)
                c->h1_head_since_ms = now;
            if (status == 0 && now - c->h1_head_since_ms > (uint64_t)limit_s * 1000u)
                status = 408; /* a head trickling in byte by byte */
            if (status == 0 && avail < HTTP1_HEAD_MAX)
                return; /* wait for the rest of the head */
            if (status == 0)
                status = 431;
        } else if ((size_t)end.pos + 4 > HTTP1_HEAD_MAX) {
            status = 431;
        } else {
            head_len = (size_t)end.pos + 4;
            const char *head = (const char *)evbuffer_pullup(in, (ssize_t)head_len);
            status = head ? http1_parse_head(head, head_len, &h) : 500;
            if (status == 0) {
                rq.method = h.method.p;
                rq.method_len = h.method.len;
                rq.target = h.target.p;
                rq.target_len = h.target.len;
                if (h.has_range) {
                    rq.range = h.range.p;
                    rq.range_len = h.range.len;
                }
                if (h.has_if_range) {
                    rq.if_range = h.if_range.p;
                    rq.if_range_len = h.if_range.len;
                }
            } else if (head) {
                /* Log what can be logged of a rejected request line. */
                const char *sp = memchr(head, ' ', head_len);
                rq.method = head;
                rq.method_len = sp ? (size_t)(sp - head) : 0;
            }
        }
        c->h1_head_since_ms = 0;
        rq.reject = status;
        c->h1_keep_alive = status == 0 && h.keep_alive && !c->srv->draining;
        respond(c, &rq, head_len ? head_len : avail);
    }
}

void serve_h1_free(conn *c)
{
    if (c->h1_busy)
        serve_log_access(c->srv, c->peer, &c->h1_rs, c->proto);
    response_release(&c->h1_rs);
    c->h1_busy = false;
}
