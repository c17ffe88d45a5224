/* Served files held in memory: one copy per file version, shared by every
 * response that sends it.
 *
 * Why: a body sent from memory goes out with one writev per burst of DATA
 * frames (frame headers and payloads side by side), where a file descriptor
 * costs a sendfile and a header write per 16 KB frame; on Linux 6 the
 * sendfile path is several times more CPU per byte. A copy also makes each
 * response consistent: a file rewritten in place while clients download it
 * cannot mix old and new bytes under one ETag, and cannot be cut short.
 *
 * Bounds: only files up to SERVE_BLOB_MAX; all copies alive (cached, or
 * evicted but still used by a response) total at most SERVE_BLOB_BUDGET;
 * anything beyond is served from its descriptor as before. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "serve_internal.h"

static bool same_key(const file_key *a, const file_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

void serve_blob_ref(serve_blob *b)
{
    b->refs++;
}

void serve_blob_unref(serve_blob *b)
{
    if (--b->refs > 0)
        return;
    b->srv->blob_bytes -= b->size;
    free(b->data);
    free(b);
}

/* libevent's cleanup for a reference chain: the chain held one ref. */
void serve_blob_unref_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    serve_blob_unref(arg);
}

static void drop_slot(server *s, unsigned i)
{
    serve_blob *b = s->blobs[i];
    s->blobs[i] = NULL;
    serve_blob_unref(b); /* the cache's ref; responses may keep it alive */
}

/* Make room for `need` more bytes by evicting least recently used copies
 * that no response uses. Returns the free slot to use, or -1. */
static int make_room(server *s, size_t need)
{
    for (;;) {
        int empty = -1, victim = -1;
        for (unsigned i = 0; i < SERVE_BLOB_CACHE; i++) {
            serve_blob *b = s->blobs[i];
            if (!b) {
                if (empty < 0)
                    empty = (int)i;
            } else if (b->refs == 1 &&
                       (victim < 0 || b->last_use < s->blobs[victim]->last_use)) {
                victim = (int)i;
            }
        }
        if (empty >= 0 && s->blob_bytes + need <= SERVE_BLOB_BUDGET)
            return empty;
        if (victim < 0)
            return -1;
        drop_slot(s, (unsigned)victim);
    }
}

static bool read_all(int fd, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

serve_blob *serve_blob_find(server *s, const struct stat *st)
{
    file_key k = serve_file_key(st);
    s->blob_clock++;
    for (unsigned i = 0; i < SERVE_BLOB_CACHE; i++) {
        serve_blob *b = s->blobs[i];
        if (b && same_key(&b->key, &k)) {
            b->last_use = s->blob_clock;
            serve_blob_ref(b);
            return b;
        }
    }
    return NULL;
}

serve_blob *serve_blob_get(server *s, int fd, const struct stat *st)
{
    serve_blob *hit = serve_blob_find(s, st);
    if (hit)
        return hit;
    file_key k = serve_file_key(st);
    if (st->st_size <= 0 || (uint64_t)st->st_size > SERVE_BLOB_MAX)
        return NULL;
    size_t size = (size_t)st->st_size;
    int slot = make_room(s, size);
    if (slot < 0)
        return NULL;
    serve_blob *b = calloc(1, sizeof *b);
    uint8_t *data = b ? malloc(size) : NULL;
    struct stat after;
    /* A file written while being read would give a copy that matches
     * neither version: keep the copy only if the identity did not move. */
    bool ok = data && read_all(fd, data, size) && fstat(fd, &after) == 0;
    if (ok) {
        file_key now = serve_file_key(&after);
        ok = same_key(&k, &now);
    }
    if (!ok) {
        free(data);
        free(b);
        return NULL;
    }
    b->srv = s;
    b->key = k;
    b->data = data;
    b->size = size;
    b->refs = 2; /* the cache's and the caller's */
    b->last_use = s->blob_clock;
    s->blob_bytes += size;
    s->blobs[slot] = b;
    return b;
}

void serve_blobs_free(server *s)
{
    for (unsigned i = 0; i < SERVE_BLOB_CACHE; i++)
        if (s->blobs[i])
            drop_slot(s, i);
}
