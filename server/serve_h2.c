/* HTTP/2 (h2 over TLS, h2c with prior knowledge) on nghttp2's server
 * session. nghttp2 parses and frames; this file moves the bytes.
 *
 * Output: on plain TCP, while nothing is queued, frames go straight to the
 * socket (DATA payloads with sendfile, so a body never passes through user
 * space); what the socket does not take is queued in the bufferevent, and
 * once SERVE_OUT_HIGH bytes are queued the callbacks answer WOULDBLOCK until
 * it drains. On TLS everything is queued, file bytes read with pread. A
 * per-flush budget makes a fast connection yield to the others. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

#include <event2/buffer.h>

#include "http1_parse.h"
#include "http_range.h"
#include "serve_conn.h"

static void stream_free(conn *c, h2_stream *st)
{
    c->srv->nstreams--;
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    response_release(&st->rs);
    free(st->target);
    free(st->range);
    free(st->if_range);
    free(st);
}

static ssize_t send_cb(nghttp2_session *session, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)session;
    (void)flags;
    conn *c = user;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t done = 0;
    if (serve_batch_write(c) != 0) /* gathered DATA frames go first */
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (!c->tls && c->direct_budget > 0 && evbuffer_get_length(out) == 0) {
        /* Plain TCP with nothing queued: straight to the socket. */
        ssize_t n = send(bufferevent_getfd(c->bev), data, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        done = n > 0 ? (size_t)n : 0;
        c->direct_budget = c->direct_budget > done ? c->direct_budget - done : 0;
        if (done == len)
            return (ssize_t)len;
    } else if (evbuffer_get_length(out) >= SERVE_OUT_HIGH) {
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    if (serve_out_add(out, data + done, len - done) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

/* File bodies use NO_COPY: send_data_cb moves the bytes itself (sendfile,
 * or pread into the output buffer), skipping nghttp2's frame buffer. Small
 * bodies from memory (errors, /config) are copied the ordinary way. */
static ssize_t body_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t len, uint32_t *flags, nghttp2_data_source *source,
                            void *user)
{
    (void)session;
    (void)stream_id;
    h2_stream *st = source->ptr;
    if (!st->rs.mem) {
        /* A full frame when it goes out with sendfile; a little less when it
         * is copied into the output buffer (see SERVE_BODY_CHUNK). */
        conn *c = user;
        size_t cap = c->tls ? SERVE_BODY_CHUNK : len;
        size_t n = len < cap ? len : cap;
        if (st->rs.remaining < n)
            n = (size_t)st->rs.remaining;
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
        if (n == st->rs.remaining)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    }
    long n = response_read(&st->rs, buf, len);
    if (n < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (st->rs.remaining == 0)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return n;
}

/* Append a whole DATA frame to the output buffer. */
static int queue_frame(conn *c, h2_stream *st, struct evbuffer *out, const uint8_t *framehd,
                       size_t length, size_t pad)
{
    static const uint8_t zeros[256];
    if (serve_out_add(out, framehd, 9) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (pad > 0) {
        uint8_t padlen = (uint8_t)(pad - 1);
        if (serve_out_add(out, &padlen, 1) != 0)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    /* A short read means the file shrank while being served. The frame
     * header is already queued, so the only way out is to drop the
     * connection (the client sees a failed transfer, never wrong bytes). */
    if (length > 0 && response_add_body(&st->rs, out, length, !c->tls) != (long)length)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (pad > 1 && serve_out_add(out, zeros, pad - 1) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

/* Plain TCP with nothing queued: header with MSG_MORE, then sendfile, so
 * the body never passes through user space. Whatever the socket does not
 * take is queued (header remainder as bytes, body as a file segment). */
static int send_direct(conn *c, h2_stream *st, struct evbuffer *out, const uint8_t *framehd,
                       size_t length)
{
    int sock = bufferevent_getfd(c->bev);
    ssize_t h = send(sock, framehd, 9, (length > 0 ? MSG_MORE : 0) | MSG_NOSIGNAL);
    if (h < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (h < 0)
        h = 0;
    if (h < 9) {
        if (serve_out_add(out, framehd + h, (size_t)(9 - h)) != 0 ||
            (length > 0 && response_add_body(&st->rs, out, length, true) != (long)length))
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        return 0;
    }
    long n = length > 0 ? response_sendfile(&st->rs, sock, length) : 0;
    if (n < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    size_t rest = length - (size_t)n;
    if (rest > 0 && response_add_body(&st->rs, out, rest, true) != (long)rest)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    c->direct_budget = c->direct_budget > length + 9 ? c->direct_budget - length - 9 : 0;
    return 0;
}

static int send_data_cb(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *source, void *user)
{
    (void)session;
    conn *c = user;
    h2_stream *st = source->ptr;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t pad = frame->data.padlen;
    serve_conn_progress(c);
    /* Direct only when nothing is queued, so bytes stay in order: into the
     * batch when the body is in memory, else header + sendfile now. */
    bool direct = !c->tls && c->direct_budget > 0 && pad == 0;
    if (direct && st->rs.blob && evbuffer_get_length(out) == 0) {
        c->direct_budget = c->direct_budget > length + 9 ? c->direct_budget - length - 9 : 0;
        const uint8_t *payload = response_take(&st->rs, length);
        return serve_batch_add(c, framehd, st->rs.blob, payload, length) == 0
                   ? 0
                   : NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (serve_batch_write(c) != 0) /* gathered frames go first */
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (direct && evbuffer_get_length(out) == 0)
        return send_direct(c, st, out, framehd, length);
    if (evbuffer_get_length(out) >= SERVE_OUT_HIGH)
        return NGHTTP2_ERR_WOULDBLOCK;
    return queue_frame(c, st, out, framehd, length, pad);
}

static int begin_frame_cb(nghttp2_session *session, const nghttp2_frame_hd *hd, void *user)
{
    conn *c = user;
    if (hd->type == NGHTTP2_HEADERS) {
        c->continuations = 0;
    } else if (hd->type == NGHTTP2_CONTINUATION) {
        if (++c->continuations > SERVE_H2_MAX_CONTINUATIONS)
            return NGHTTP2_ERR_CALLBACK_FAILURE; /* drop the connection */
    } else if (hd->type == NGHTTP2_RST_STREAM) {
        uint64_t now = serve_now_ms();
        if (now - c->resets_since_ms >= 1000) {
            c->resets_since_ms = now;
            c->resets = 0;
        }
        if (++c->resets > SERVE_H2_MAX_RESETS_PER_S)
            return nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM) == 0
                       ? 0
                       : NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int begin_headers_cb(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    conn *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    /* Every open stream costs memory (here and in nghttp2) until it ends,
     * and a client that never opens its window keeps it open: past the
     * server-wide cap, new streams are refused (the client may retry). */
    if (c->srv->nstreams >= SERVE_STREAMS_MAX)
        return nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                         NGHTTP2_REFUSED_STREAM) == 0
                   ? 0
                   : NGHTTP2_ERR_CALLBACK_FAILURE;
    h2_stream *st = calloc(1, sizeof *st);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    c->srv->nstreams++;
    st->id = frame->hd.stream_id;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    nghttp2_session_set_stream_user_data(session, st->id, st);
    return 0;
}

static char *dup_value(const uint8_t *v, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, v, len);
        s[len] = 0;
    }
    return s;
}

static int header_cb(nghttp2_session *session, const nghttp2_frame *frame,
                     const uint8_t *name, size_t namelen, const uint8_t *value,
                     size_t valuelen, uint8_t flags, void *user)
{
    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    h2_stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!st || st->reject)
        return 0;
    /* nghttp2 has already rejected malformed and duplicate pseudo-headers. */
    if (namelen == 7 && !memcmp(name, ":method", 7)) {
        if (valuelen >= sizeof st->method) {
            st->reject = 501;
            return 0;
        }
        memcpy(st->method, value, valuelen);
        st->method[valuelen] = 0;
        st->method_len = valuelen;
    } else if (namelen == 5 && !memcmp(name, ":path", 5)) {
        if (valuelen > HTTP1_TARGET_MAX) {
            st->reject = 414;
            return 0;
        }
        free(st->target);
        st->target = dup_value(value, valuelen);
        st->target_len = valuelen;
    } else if (namelen == 5 && !memcmp(name, "range", 5)) {
        if (st->range || valuelen > HTTP_RANGE_VALUE_MAX) {
            st->reject = 400;
            return 0;
        }
        st->range = dup_value(value, valuelen);
        st->range_len = valuelen;
    } else if (namelen == 8 && !memcmp(name, "if-range", 8)) {
        if (st->if_range || valuelen > 256) {
            st->reject = 400;
            return 0;
        }
        st->if_range = dup_value(value, valuelen);
        st->if_range_len = valuelen;
    }
    return 0;
}

static int respond(nghttp2_session *session, conn *c, h2_stream *st)
{
    st->responded = true;
    request rq = {
        .method = st->method,
        .method_len = st->method_len,
        .target = st->target ? st->target : "",
        .target_len = st->target ? st->target_len : 0,
        .range = st->range,
        .range_len = st->range_len,
        .if_range = st->if_range,
        .if_range_len = st->if_range_len,
        .reject = st->reject,
    };
    if (!st->reject && (!st->target || (rq.method_len == 0)))
        rq.reject = 400; /* CONNECT without :path, or an allocation failed */
    response_head hd;
    serve_handle(c->srv, &rq, &st->rs, &hd);
    serve_conn_progress(c);
    /* The request's strings are not needed any more: an open stream keeps
     * only its response. */
    free(st->target);
    free(st->range);
    free(st->if_range);
    st->target = st->range = st->if_range = NULL;

    int code = st->rs.status;
    char status[4] = {(char)('0' + code / 100 % 10), (char)('0' + code / 10 % 10),
                      (char)('0' + code % 10), 0};
    /* Values are copied by nghttp2 (into one block freed once the HEADERS
     * frame is out), so nothing of them stays with the stream. */
    nghttp2_nv nv[RESP_HDR_MAX + 1];
    nv[0] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3,
                         NGHTTP2_NV_FLAG_NO_COPY_NAME};
    size_t n = 1;
    for (unsigned i = 0; i < hd.n; i++, n++)
        nv[n] = (nghttp2_nv){(uint8_t *)hd.names[i], (uint8_t *)hd.vals[i],
                             strlen(hd.names[i]), strlen(hd.vals[i]),
                             NGHTTP2_NV_FLAG_NO_COPY_NAME};
    nghttp2_data_provider body = {.source = {.ptr = st}, .read_callback = body_read_cb};
    int rv = nghttp2_submit_response(session, st->id, nv, n,
                                     st->rs.remaining > 0 ? &body : NULL);
    return rv == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int frame_recv_cb(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    conn *c = user;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    h2_stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!st || st->responded)
        return 0;
    return respond(session, c, st);
}

static int stream_close_cb(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user)
{
    (void)error_code;
    conn *c = user;
    h2_stream *st = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    if (st->responded) {
        serve_log_access(c->srv, c->peer, &st->rs, c->proto);
        serve_conn_progress(c); /* a request done: the idle time starts now */
    }
    stream_free(c, st);
    return 0;
}

int serve_h2_start(conn *c)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return -1;
    nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
    nghttp2_session_callbacks_set_send_data_callback(cbs, send_data_cb);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, begin_frame_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(cbs, header_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, frame_recv_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, stream_close_cb);
    nghttp2_option *opt = NULL;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cbs);
        return -1;
    }
    /* Bound what one peer can make the server hold: header lists, and the
     * control frames (SETTINGS/PING acks) queued while the socket is full. */
    nghttp2_option_set_max_send_header_block_length(opt, 16384);
    nghttp2_option_set_max_outbound_ack(opt, 64);
    int rv = nghttp2_session_server_new2(&c->h2, cbs, c, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0)
        return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, SERVE_H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, HTTP1_HEAD_MAX},
    };
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0)
        return -1;
    if (c->srv->draining)
        serve_h2_drain(c);
    return 0;
}

/* Generate frames until nghttp2 has nothing more or the output is full. */
void serve_h2_flush(conn *c)
{
    if (!c->h2 || c->in_send || c->dead)
        return;
    c->direct_budget = SERVE_DIRECT_BUDGET;
    c->in_send = true;
    int rv = nghttp2_session_send(c->h2);
    c->in_send = false;
    if (serve_batch_write(c) != 0)
        rv = -1;
    if (rv != 0) {
        c->dead = true;
        return;
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
        serve_conn_finish(c);
}

void serve_h2_input(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    /* Bounded: at most what the bufferevent read (its high watermark). */
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        ssize_t n = nghttp2_session_mem_recv(c->h2, v.iov_base, v.iov_len);
        if (n < 0) {
            /* Protocol error: nghttp2 has queued a GOAWAY; send it, then close. */
            evbuffer_drain(in, evbuffer_get_length(in));
            serve_h2_flush(c);
            serve_conn_finish(c);
            return;
        }
        evbuffer_drain(in, (size_t)n);
    }
    serve_h2_flush(c);
}

void serve_h2_drain(conn *c)
{
    if (!c->h2)
        return;
    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR,
                          NULL, 0);
    serve_h2_flush(c);
}

void serve_h2_free(conn *c)
{
    serve_batch_drop(c);
    /* nghttp2_session_del() does not report the streams still open. */
    while (c->streams) {
        if (c->streams->responded)
            serve_log_access(c->srv, c->peer, &c->streams->rs, c->proto);
        stream_free(c, c->streams);
    }
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
}
