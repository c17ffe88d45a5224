/* The firmware server's in-memory file copies and the batch that writes
 * DATA frames from them: cache hits by file identity, eviction that spares
 * copies in use, the memory bound, a file changing while it is read; and
 * frames written in order, byte for byte, when the socket takes only part
 * of a batch, with every reference released once the bytes are out. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/util.h>

#include "serve_conn.h"

static uint8_t pattern(size_t i, unsigned seed)
{
    return (uint8_t)((i * 31u + seed * 17u) ^ (i >> 9));
}

/* A file of `size` pattern bytes; returns an open descriptor and its stat. */
static int make_file(const char *name, size_t size, unsigned seed, struct stat *st)
{
    uint8_t *buf = malloc(size ? size : 1);
    CHECK(buf != NULL);
    for (size_t i = 0; i < size; i++)
        buf[i] = pattern(i, seed);
    int fd = open(check_tmp_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, buf, size), (ssize_t)size);
    free(buf);
    CHECK_EQ(fstat(fd, st), 0);
    return fd;
}

static bool holds_pattern(const serve_blob *b, size_t size, unsigned seed)
{
    if (b->size != size)
        return false;
    for (size_t i = 0; i < size; i++)
        if (b->data[i] != pattern(i, seed))
            return false;
    return true;
}

static server *new_server(void)
{
    server *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    return s;
}

/* Drop the cache; `left` bytes of copies must still be alive. */
static void free_server(server *s, size_t left)
{
    serve_blobs_free(s);
    CHECK_EQ(s->blob_bytes, left);
    free(s);
}

TEST(copies_are_shared_by_identity)
{
    server *s = new_server();
    struct stat st;
    int fd = make_file("a.bin", 100000, 1, &st);
    serve_blob *a = serve_blob_get(s, fd, &st);
    CHECK(a != NULL);
    CHECK(holds_pattern(a, 100000, 1));
    CHECK_EQ(a->refs, 2u); /* the cache's and ours */
    CHECK_EQ(s->blob_bytes, 100000u);
    serve_blob *again = serve_blob_get(s, fd, &st);
    CHECK(again == a);
    CHECK_EQ(a->refs, 3u);
    CHECK_EQ(s->blob_bytes, 100000u);
    serve_blob_unref(again);

    /* A rebuilt file is a new identity, hence a new copy; the old one stays
     * valid for the responses still using it. */
    close(fd);
    fd = make_file("a.bin", 50000, 2, &st);
    serve_blob *b = serve_blob_get(s, fd, &st);
    CHECK(b != NULL && b != a);
    CHECK(holds_pattern(b, 50000, 2));
    CHECK(holds_pattern(a, 100000, 1));
    CHECK_EQ(s->blob_bytes, 150000u);

    /* The identity moved between the caller's fstat and the read: no copy
     * (the caller serves from the descriptor). */
    struct stat stale = st;
    stale.st_mtim.tv_nsec ^= 1;
    CHECK(serve_blob_get(s, fd, &stale) == NULL);
    CHECK_EQ(s->blob_bytes, 150000u);

    /* Too large to copy, and empty files: served from the descriptor. */
    struct stat big = st;
    big.st_size = (off_t)SERVE_BLOB_MAX + 1;
    CHECK(serve_blob_get(s, fd, &big) == NULL);
    close(fd);
    fd = make_file("empty.bin", 0, 3, &st);
    CHECK(serve_blob_get(s, fd, &st) == NULL);
    close(fd);

    /* Dropping the cache frees only what no response holds. */
    serve_blob_unref(b);
    serve_blobs_free(s);
    CHECK_EQ(s->blob_bytes, 100000u); /* `a` is still ours */
    CHECK(holds_pattern(a, 100000, 1));
    serve_blob_unref(a);
    free_server(s, 0);
}

TEST(eviction_spares_copies_in_use)
{
    server *s = new_server();
    serve_blob *held = NULL;
    char name[32];
    struct stat st;
    for (unsigned i = 0; i < SERVE_BLOB_CACHE; i++) {
        snprintf(name, sizeof name, "f%u.bin", i);
        int fd = make_file(name, 4096 + i, i, &st);
        serve_blob *b = serve_blob_get(s, fd, &st);
        CHECK(b != NULL);
        if (i == 0)
            held = b; /* the oldest, and in use */
        else
            serve_blob_unref(b);
        close(fd);
    }
    /* One more: the least recently used copy nobody holds goes (f1). */
    int fd = make_file("extra.bin", 8192, 99, &st);
    serve_blob *x = serve_blob_get(s, fd, &st);
    CHECK(x != NULL);
    close(fd);
    bool f0 = false, f1 = false;
    for (unsigned i = 0; i < SERVE_BLOB_CACHE; i++) {
        f0 |= s->blobs[i] == held;
        f1 |= s->blobs[i] && s->blobs[i]->size == 4096 + 1;
    }
    CHECK(f0);
    CHECK(!f1);
    CHECK(holds_pattern(held, 4096, 0));
    serve_blob_unref(x);
    serve_blob_unref(held);
    free_server(s, 0);
}

TEST(memory_bound_counts_copies_still_in_use)
{
    server *s = new_server();
    /* Pretend most of the budget is held by copies that responses still
     * use: a new copy that would exceed it is not made. */
    s->blob_bytes = SERVE_BLOB_BUDGET - 1000;
    struct stat st;
    int fd = make_file("over.bin", 2000, 5, &st);
    CHECK(serve_blob_get(s, fd, &st) == NULL);
    s->blob_bytes = SERVE_BLOB_BUDGET - 3000;
    serve_blob *b = serve_blob_get(s, fd, &st);
    CHECK(b != NULL);
    close(fd);
    serve_blob_unref(b);
    free_server(s, SERVE_BLOB_BUDGET - 3000);
}

/* Read `want` bytes from `fd`, letting the event loop write what the
 * connection queued as the socket drains. Gives up after 5 s without
 * progress (bytes lost would otherwise hang the test). */
static size_t drain(int fd, struct event_base *base, uint8_t *got, size_t want)
{
    size_t have = 0;
    unsigned idle = 0;
    while (have < want && idle < 5000) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        ssize_t n = read(fd, got + have, want - have);
        if (n > 0) {
            have += (size_t)n;
            idle = 0;
        } else {
            CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
            usleep(1000);
            idle++;
        }
    }
    return have;
}

TEST(batch_writes_frames_in_order_when_the_socket_is_full)
{
    signal(SIGPIPE, SIG_IGN);
    server *s = new_server();
    conn *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    struct event_base *base = event_base_new();
    CHECK(base != NULL);
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 16384;
    CHECK_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    CHECK_EQ(evutil_make_socket_nonblocking(sv[0]), 0);
    CHECK_EQ(evutil_make_socket_nonblocking(sv[1]), 0);
    c->srv = s;
    c->bev = bufferevent_socket_new(base, sv[0], 0);
    CHECK(c->bev != NULL);

    const size_t size = 3u << 20;
    struct stat st;
    int fd = make_file("body.bin", size, 7, &st);
    serve_blob *b = serve_blob_get(s, fd, &st);
    CHECK(b != NULL);
    close(fd);

    /* Two full batches and a short one, of frames with odd lengths so that
     * the socket's cut falls inside headers as well as payloads. */
    const unsigned frames = 2 * SERVE_BATCH_FRAMES + 5;
    uint8_t *want = malloc(frames * (9 + 16384));
    CHECK(want != NULL);
    size_t wlen = 0, off = 0;
    for (unsigned i = 0; i < frames; i++) {
        size_t len = 16384 - (i * 37u) % 1000u;
        uint8_t hd[9] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, 0, 0,
                         0, 0, 0, (uint8_t)i};
        memcpy(want + wlen, hd, 9);
        memcpy(want + wlen + 9, b->data + off, len);
        wlen += 9 + len;
        CHECK_EQ(serve_batch_add(c, hd, b, b->data + off, len), 0);
        off += len;
    }
    CHECK_EQ(serve_batch_write(c), 0);
    CHECK(s->batch.owner == NULL && s->batch.nframes == 0);
    /* The socket took a little; the rest waits as references, not copies. */
    struct evbuffer *out = bufferevent_get_output(c->bev);
    CHECK(evbuffer_get_length(out) > 0);
    CHECK(b->refs > 2);

    uint8_t *got = malloc(wlen);
    CHECK(got != NULL);
    CHECK_EQ(drain(sv[1], base, got, wlen), wlen);
    CHECK_MEM(got, want, wlen);
    CHECK_EQ(evbuffer_get_length(out), 0u);
    CHECK_EQ(b->refs, 2u); /* every queued chain let go of its ref */

    /* A peer that went away: the write fails and the refs are released. */
    CHECK_EQ(serve_batch_add(c, want, b, b->data, 100), 0);
    CHECK_EQ(b->refs, 3u);
    close(sv[1]);
    CHECK_EQ(serve_batch_write(c), -1);
    CHECK_EQ(b->refs, 2u);
    /* Dropping a connection's batch releases without writing. */
    CHECK_EQ(serve_batch_add(c, want, b, b->data, 100), 0);
    serve_batch_drop(c);
    CHECK_EQ(b->refs, 2u);
    CHECK(s->batch.owner == NULL);

    free(got);
    free(want);
    serve_blob_unref(b);
    bufferevent_free(c->bev);
    close(sv[0]);
    event_base_free(base);
    free(c);
    free_server(s, 0);
}

RUN_TESTS(CASE(copies_are_shared_by_identity), CASE(eviction_spares_copies_in_use),
          CASE(memory_bound_counts_copies_still_in_use),
          CASE(batch_writes_frames_in_order_when_the_socket_is_full))
