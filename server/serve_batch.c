/* DATA frames bound for one plain-TCP connection, gathered while nghttp2
 * produces them and written with a single writev: frame headers and
 * payloads (pointers into shared in-memory file copies) side by side. One
 * system call per burst instead of two per 16 KB frame.
 *
 * The server is single-threaded and a connection's frames are written
 * before its flush returns, so one batch serves every connection. Anything
 * the socket does not take is queued in the connection's output buffer:
 * headers copied, payloads as references that keep their file copy alive. */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "serve_conn.h"

static void release(serve_batch *b)
{
    for (unsigned i = 0; i < b->nframes; i++)
        serve_blob_unref(b->blob[i]);
    b->nframes = 0;
    b->owner = NULL;
}

/* Queue frames [i..] of the batch, the first `skip` bytes of frame i's
 * header-and-payload already sent. Consumes the batch's refs. */
static int queue_rest(serve_batch *b, struct evbuffer *out, unsigned i, size_t skip)
{
    int rc = 0;
    for (; i < b->nframes; i++, skip = 0) {
        struct iovec *h = &b->iov[2 * i], *p = &b->iov[2 * i + 1];
        if (skip < h->iov_len && rc == 0)
            rc = serve_out_add(out, (const uint8_t *)h->iov_base + skip, h->iov_len - skip);
        size_t pskip = skip > h->iov_len ? skip - h->iov_len : 0;
        if (pskip < p->iov_len && rc == 0) {
            /* The chain takes over this frame's ref. */
            if (evbuffer_add_reference(out, (const uint8_t *)p->iov_base + pskip,
                                       p->iov_len - pskip, serve_blob_unref_cb,
                                       b->blob[i]) == 0)
                continue;
            rc = -1;
        }
        serve_blob_unref(b->blob[i]);
    }
    b->nframes = 0;
    return rc;
}

int serve_batch_write(conn *c)
{
    serve_batch *b = &c->srv->batch;
    if (b->owner != c || b->nframes == 0)
        return 0;
    ssize_t n;
    do
        n = writev(bufferevent_getfd(c->bev), b->iov, (int)(2 * b->nframes));
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        release(b);
        return -1;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    unsigned i = 0;
    while (i < b->nframes) {
        size_t frame = b->iov[2 * i].iov_len + b->iov[2 * i + 1].iov_len;
        if (done < frame)
            break;
        done -= frame;
        serve_blob_unref(b->blob[i]);
        i++;
    }
    int rc = queue_rest(b, bufferevent_get_output(c->bev), i, done);
    release(b);
    return rc;
}

int serve_batch_add(conn *c, const uint8_t *framehd, serve_blob *blob, const uint8_t *payload,
                    size_t len)
{
    serve_batch *b = &c->srv->batch;
    if (b->owner != c && b->owner) {
        /* Not expected (a flush writes its batch before returning), but
         * bytes must never be reordered or lost. */
        if (serve_batch_write(b->owner) != 0)
            b->owner->dead = true;
    }
    b->owner = c;
    unsigned i = b->nframes++;
    memcpy(b->hdr[i], framehd, 9);
    b->iov[2 * i] = (struct iovec){.iov_base = b->hdr[i], .iov_len = 9};
    b->iov[2 * i + 1] = (struct iovec){.iov_base = (void *)payload, .iov_len = len};
    serve_blob_ref(blob);
    b->blob[i] = blob;
    if (b->nframes == SERVE_BATCH_FRAMES)
        return serve_batch_write(c);
    return 0;
}

void serve_batch_drop(conn *c)
{
    serve_batch *b = &c->srv->batch;
    if (b->owner == c)
        release(b);
}
