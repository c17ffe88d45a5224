/* Open files shared by the responses that send them: one descriptor per
 * file version (device, inode, size, mtime), however many streams and
 * connections read it, and one file segment for sendfile made from it.
 *
 * Why: a descriptor per response let 100 connections x 100 streams open
 * 10,000 descriptors, outside the connection accounting, until accept()
 * failed for everyone. Here the versions open at once are at most
 * SERVE_OPEN_MAX (or fewer under a low descriptor limit, see
 * serve_main.c); a request beyond that is answered 503 with Retry-After. */
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "serve_internal.h"

static bool same_key(const file_key *a, const file_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

serve_open *serve_open_get(server *s, int fd, const struct stat *st)
{
    file_key k = serve_file_key(st);
    for (unsigned i = 0; i < s->nopen; i++) {
        if (same_key(&s->open[i]->key, &k)) {
            close(fd);
            s->open[i]->refs++;
            return s->open[i];
        }
    }
    unsigned max = s->open_max ? s->open_max : SERVE_OPEN_MAX;
    serve_open *f = s->nopen < max ? calloc(1, sizeof *f) : NULL;
    if (!f) {
        close(fd);
        return NULL;
    }
    f->srv = s;
    f->key = k;
    f->fd = fd;
    f->refs = 1;
    s->open[s->nopen++] = f;
    return f;
}

struct evbuffer_file_segment *serve_open_segment(serve_open *f)
{
    /* The segment takes over the descriptor: chains queued on a socket may
     * outlive this entry, and keep the descriptor open until they are
     * sent; the entry goes on using it meanwhile. */
    if (!f->seg)
        f->seg = evbuffer_file_segment_new(f->fd, 0, (ev_off_t)f->key.size,
                                           EVBUF_FS_CLOSE_ON_FREE);
    return f->seg;
}

void serve_open_unref(serve_open *f)
{
    if (--f->refs > 0)
        return;
    server *s = f->srv;
    for (unsigned i = 0; i < s->nopen; i++) {
        if (s->open[i] == f) {
            s->open[i] = s->open[--s->nopen];
            break;
        }
    }
    if (f->seg)
        evbuffer_file_segment_free(f->seg); /* closes fd with the last chain */
    else
        close(f->fd);
    free(f);
}
