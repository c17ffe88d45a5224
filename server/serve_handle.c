/* One request -> one response, independent of the protocol that carried it:
 * method and path checks, the served set, validators, ranges. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "http_range.h"
#include "serve_internal.h"

uint64_t serve_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void add_header(response_head *hd, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_header(response_head *hd, const char *name, const char *fmt, ...)
{
    if (hd->n >= RESP_HDR_MAX || hd->used >= sizeof hd->buf)
        return;
    char *v = hd->buf + hd->used;
    size_t cap = sizeof hd->buf - hd->used;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(v, cap, fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    hd->used += (size_t)len < cap ? (size_t)len + 1 : cap;
    hd->names[hd->n] = name;
    hd->vals[hd->n++] = v;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

const char *serve_reason(int status)
{
    return reason(status);
}

/* A small text body owned by the response. */
static void text_body(response *rs, response_head *hd, int status, const char *detail)
{
    rs->status = status;
    hd->n = 0;
    hd->used = 0;
    size_t cap = 64 + (detail ? strlen(detail) : 0);
    rs->mem = malloc(cap);
    if (rs->mem)
        snprintf(rs->mem, cap, "%d %s%s%s\n", status, reason(status), detail ? ": " : "",
                 detail ? detail : "");
    size_t len = rs->mem ? strlen(rs->mem) : 0;
    rs->content_length = len;
    rs->remaining = rs->head ? 0 : len;
    add_header(hd, "content-type", "text/plain; charset=utf-8");
    add_header(hd, "content-length", "%zu", len);
    if (status == 405)
        add_header(hd, "allow", "GET, HEAD");
}

/* Why a file is refused, in one line a device can log (the ota32-reason
 * header): the verdict's message, shortened at a word when too long. */
static void refusal_reason(const serve_verdict *v, char *out, size_t cap)
{
    if (v->merged) {
        snprintf(out, cap, "merged image (bootloader + partition table + app), not an app "
                           "image: serve the app image from `make build-esp32-ota`");
        return;
    }
    size_t n = strlen(v->msg);
    if (n < cap) {
        memcpy(out, v->msg, n + 1);
        return;
    }
    size_t cut = cap - 4;
    while (cut > cap / 2 && v->msg[cut] != ' ')
        cut--;
    memcpy(out, v->msg, cut);
    memcpy(out + cut, "...", 4);
}

static void http_date(time_t t, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void serve_config(server *s, response *rs, response_head *hd)
{
    struct stat st;
    size_t len = 0;
    const char *body = serve_config_body(s, &len, &st);
    if (!body) {
        text_body(rs, hd, 503, "the machine config cannot be read");
        return;
    }
    rs->mem = malloc(len ? len : 1);
    if (!rs->mem) {
        text_body(rs, hd, 500, NULL);
        return;
    }
    memcpy(rs->mem, body, len);
    rs->status = 200;
    rs->content_length = len;
    rs->remaining = rs->head ? 0 : len;
    char lm[40];
    http_date(st.st_mtim.tv_sec, lm, sizeof lm);
    add_header(hd, "content-type", "application/json");
    add_header(hd, "content-length", "%zu", len);
    add_header(hd, "last-modified", "%s", lm);
    add_header(hd, "cache-control", "no-cache");
}

static void handle(server *s, const request *rq, response *rs, response_head *hd);

void serve_handle(server *s, const request *rq, response *rs, response_head *hd)
{
    hd->n = 0;
    hd->used = 0;
    handle(s, rq, rs, hd);
    char now[40];
    http_date(time(NULL), now, sizeof now);
    add_header(hd, "date", "%s", now); /* RFC 9110 section 6.6.1 */
}

static void handle(server *s, const request *rq, response *rs, response_head *hd)
{
    memset(rs, 0, sizeof *rs);
    rs->start_ms = serve_now_ms();
    size_t ml = rq->method_len < sizeof rs->method ? rq->method_len : sizeof rs->method - 1;
    for (size_t i = 0; i < ml; i++) {
        unsigned char c = (unsigned char)rq->method[i];
        rs->method[i] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    char log_path[256];
    serve_path_for_log(rq->target, rq->target_len, log_path, sizeof log_path);
    rs->log_path = strdup(log_path);
    bool get = rq->method_len == 3 && !memcmp(rq->method, "GET", 3);
    rs->head = rq->method_len == 4 && !memcmp(rq->method, "HEAD", 4);

    if (rq->reject) {
        text_body(rs, hd, rq->reject, NULL);
        return;
    }
    if (!get && !rs->head) {
        text_body(rs, hd, 405, NULL);
        return;
    }
    char path[SERVE_PATH_MAX];
    if (serve_path_decode(rq->target, rq->target_len, path, sizeof path) != 0) {
        text_body(rs, hd, 404, NULL);
        return;
    }
    if (s->opts->config && !strcmp(path, "/config")) {
        serve_config(s, rs, hd);
        return;
    }
    struct stat st;
    int fd = serve_files_open(s, path, &st);
    if (fd < 0) {
        text_body(rs, hd, fd == -2 ? 503 : 404, fd == -2 ? "out of file descriptors" : NULL);
        return;
    }
    const serve_verdict *v = serve_files_verdict(s, fd, &st);
    if (!v) {
        close(fd);
        text_body(rs, hd, 503, "out of memory");
        return;
    }
    if (v->err && !s->opts->force) {
        /* A client error, not a server one: retrying cannot help until the
         * file is replaced. The reason goes with the answer, for the device
         * to log, as well as to the server's log. */
        close(fd);
        fprintf(s->opts->log, "ota32 serve: refusing %s: %s\n", rs->log_path ? rs->log_path : "-",
                v->msg);
        char why[SERVE_REASON_MAX];
        refusal_reason(v, why, sizeof why);
        char body[SERVE_CHECK_MSG_MAX + 64];
        snprintf(body, sizeof body, "refusing to serve this file: %s", v->msg);
        text_body(rs, hd, 403, body);
        add_header(hd, "ota32-reason", "%s", why);
        return;
    }

    uint64_t size = (uint64_t)st.st_size;
    char etag[80], lm[40];
    file_key k = serve_file_key(&st);
    snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", size,
             (uint64_t)k.mtime_ns, (uint64_t)k.ino);
    http_date(st.st_mtim.tv_sec, lm, sizeof lm);

    uint64_t first = 0, last = size ? size - 1 : 0;
    http_range_result r = HTTP_RANGE_NONE;
    if (rq->range) {
        r = http_range_parse(rq->range, rq->range_len, size, &first, &last);
        if (rq->if_range && r != HTTP_RANGE_NONE &&
            !http_if_range_matches(rq->if_range, rq->if_range_len, etag, lm))
            r = HTTP_RANGE_NONE; /* the representation changed: send it whole */
    }
    if (r == HTTP_RANGE_UNSATISFIABLE) {
        close(fd);
        text_body(rs, hd, 416, NULL);
        add_header(hd, "content-range", "bytes */%" PRIu64, size);
        return;
    }
    rs->file_size = size;
    if (r == HTTP_RANGE_ONE) {
        rs->status = 206;
        rs->off = first;
        rs->content_length = last - first + 1;
    } else {
        rs->status = 200;
        rs->off = 0;
        rs->content_length = size;
    }
    rs->remaining = rs->head ? 0 : rs->content_length;
    if (rs->remaining > 0) {
        /* The shared copy when there is one; a new copy only for a response
         * that sends a good part of the file; else the shared open file. */
        rs->blob = serve_blob_find(s, &st);
        if (!rs->blob && rs->remaining >= size / SERVE_BLOB_MIN_SHARE)
            rs->blob = serve_blob_get(s, fd, &st);
        if (rs->blob) {
            close(fd);
        } else if (!(rs->file = serve_open_get(s, fd, &st))) {
            rs->remaining = 0;
            text_body(rs, hd, 503, "too many files in use at once; try again shortly");
            add_header(hd, "retry-after", "1");
            return;
        }
    } else {
        close(fd);
    }
    add_header(hd, "content-type", "application/octet-stream");
    add_header(hd, "content-length", "%" PRIu64, rs->content_length);
    add_header(hd, "accept-ranges", "bytes");
    add_header(hd, "etag", "%s", etag);
    add_header(hd, "last-modified", "%s", lm);
    if (rs->status == 206)
        add_header(hd, "content-range", "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last,
                   size);
}

long response_read(response *rs, uint8_t *buf, size_t cap)
{
    size_t n = rs->remaining < cap ? (size_t)rs->remaining : cap;
    if (n == 0)
        return 0;
    if (rs->mem) {
        memcpy(buf, rs->mem + rs->mem_off, n);
        rs->mem_off += n;
    } else if (rs->blob) {
        memcpy(buf, rs->blob->data + rs->off, n);
        rs->off += n;
    } else {
        ssize_t got;
        if (!rs->file)
            return -1;
        do
            got = pread(rs->file->fd, buf, n, (off_t)rs->off);
        while (got < 0 && errno == EINTR);
        if (got <= 0)
            return -1; /* shrank under us: the promised length cannot be sent */
        n = (size_t)got;
        rs->off += n;
    }
    rs->remaining -= n;
    rs->sent += n;
    return (long)n;
}

long response_add_body(response *rs, struct evbuffer *out, size_t max, bool zero_copy)
{
    size_t n = rs->remaining < max ? (size_t)rs->remaining : max;
    if (n == 0)
        return 0;
    if (zero_copy && rs->blob) {
        /* The chain holds a ref: the copy outlives the response if need be. */
        serve_blob_ref(rs->blob);
        if (evbuffer_add_reference(out, rs->blob->data + rs->off, n, serve_blob_unref_cb,
                                   rs->blob) != 0) {
            serve_blob_unref(rs->blob);
            return -1;
        }
        response_take(rs, n);
        return (long)n;
    }
    if (zero_copy && rs->file && !rs->mem) {
        /* The open file's one segment; chains still queued on the socket
         * keep it (and its descriptor) alive after the response is gone. */
        struct evbuffer_file_segment *seg = serve_open_segment(rs->file);
        if (!seg || evbuffer_add_file_segment(out, seg, (ev_off_t)rs->off, (ev_off_t)n) != 0)
            return -1;
        rs->off += n;
        rs->remaining -= n;
        rs->sent += n;
        return (long)n;
    }
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1)
        return -1;
    long got = response_read(rs, v.iov_base, n < v.iov_len ? n : v.iov_len);
    v.iov_len = got > 0 ? (size_t)got : 0;
    evbuffer_commit_space(out, &v, 1);
    return got > 0 ? got : -1;
}

int serve_out_add(struct evbuffer *out, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    /* Not evbuffer_add(): libevent 2.1 sizes the chain it appends after a
     * full one from that chain's buffer length, which for a file segment is
     * its file offset plus its length. Queueing a 9-byte frame header after
     * a segment deep into a 1.5 MB image would allocate a 1.5 MB chain, and
     * such blocks, freed in between small live ones, are never returned to
     * the system. Reserving space sizes the new chain from `len` alone. */
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)len, &v, 1) < 1 || v.iov_len < len)
        return -1;
    memcpy(v.iov_base, data, len);
    v.iov_len = len;
    return evbuffer_commit_space(out, &v, 1);
}

long response_sendfile(response *rs, int sock, size_t max)
{
    size_t n = rs->remaining < max ? (size_t)rs->remaining : max;
    if (n == 0 || !rs->file)
        return 0;
    off_t off = (off_t)rs->off;
    ssize_t got;
    do
        got = sendfile(sock, rs->file->fd, &off, n);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    if (got == 0)
        return -1; /* the file shrank under us */
    rs->off += (uint64_t)got;
    rs->remaining -= (uint64_t)got;
    rs->sent += (uint64_t)got;
    return (long)got;
}

const uint8_t *response_take(response *rs, size_t n)
{
    const uint8_t *p = rs->blob->data + rs->off;
    rs->off += n;
    rs->remaining -= n;
    rs->sent += n;
    return p;
}

void response_release(response *rs)
{
    if (rs->blob)
        serve_blob_unref(rs->blob);
    rs->blob = NULL;
    if (rs->file)
        serve_open_unref(rs->file);
    rs->file = NULL;
    free(rs->mem);
    rs->mem = NULL;
    free(rs->log_path);
    rs->log_path = NULL;
}

void serve_log_access(server *s, const char *peer, const response *rs, const char *proto)
{
    s->stats.requests++;
    s->stats.bytes += rs->sent;
    if (rs->status >= 100 && rs->status < 600)
        s->stats.by_class[rs->status / 100]++;
    if (s->opts->quiet)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(s->opts->log, "%s.%03ldZ %s \"%s %s\" %d %" PRIu64 " %" PRIu64 "ms %s\n", when,
            ts.tv_nsec / 1000000, peer, rs->method, rs->log_path ? rs->log_path : "-", rs->status, rs->sent,
            serve_now_ms() - rs->start_ms, proto);
}
