/* Internal structures shared by the server's files. */
#ifndef OTA32_SERVER_SERVE_INTERNAL_H
#define OTA32_SERVER_SERVE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "serve.h"
#include "serve_check.h"
#include "serve_path.h"

/* Output bytes queued per connection before the server stops producing more
 * and waits for the socket to drain (backpressure); the write callback asks
 * for more when it falls to SERVE_OUT_LOW. */
#define SERVE_OUT_HIGH (32u * 1024u)
#define SERVE_OUT_LOW (16u * 1024u)
/* Body bytes copied per step (and per DATA frame): a little under 16 KB so
 * that libevent's chain (payload + its header, rounded up to a power of two)
 * is a 16 KB allocation, not 32 KB. */
#define SERVE_BODY_CHUNK (16u * 1024u - 128u)
/* Bytes one connection may write straight to its socket per flush before
 * queueing in the bufferevent (and so yielding to the others). The socket
 * buffer usually fills first; a smaller budget sends a connection whose
 * socket still has room through the slower queued path, which costs more
 * CPU per byte than it buys in fairness. */
#define SERVE_DIRECT_BUDGET (1024u * 1024u)
/* In-memory copies of served files (serve_blob.c): the largest file copied,
 * all copies alive at once, and how many are kept for reuse. */
#define SERVE_BLOB_MAX (16u * 1024u * 1024u)
#define SERVE_BLOB_BUDGET (64u * 1024u * 1024u)
#define SERVE_BLOB_CACHE 8u
/* DATA frames gathered for one writev (serve_batch.c): 1 MB of payload. */
#define SERVE_BATCH_FRAMES 64u
#define SERVE_H2_MAX_STREAMS 100u
/* Abuse limits nghttp2 1.52 does not enforce itself: CONTINUATION frames per
 * header block (the 2024 "CONTINUATION flood") and stream resets by the
 * client per second (the 2023 "rapid reset"). */
#define SERVE_H2_MAX_CONTINUATIONS 8u
#define SERVE_H2_MAX_RESETS_PER_S 200u
#define SERVE_CONFIG_MAX (1u << 20)
#define SERVE_CHECK_CACHE 32u
#define SERVE_MAX_LISTENERS 4u
#define SERVE_DRAIN_S 10
#define SERVE_LINGER_S 2
/* An HTTP/1.1 request head must arrive within this (or the idle timeout,
 * if shorter), however slowly its bytes trickle in. */
#define SERVE_HEAD_TIMEOUT_S 10u
/* Most connections served at once; fewer when the descriptor limit is low:
 * a connection needs its socket, the file it serves and, while the socket
 * is full, a second descriptor for the queued file segment. Beyond it the
 * server stops accepting, and clients wait in the listen backlog. */
#define SERVE_MAX_CONNS 8192u
#define SERVE_FDS_PER_CONN 3u
#define SERVE_FDS_RESERVED 16u

/* A file identity: a rebuilt image gets a new one (and a new ETag). */
typedef struct file_key {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
} file_key;

typedef struct check_entry {
    bool used;
    file_key key;
    serve_verdict verdict;
} check_entry;

struct server;
struct conn;

/* One version of a served file, in memory (serve_blob.c). */
typedef struct serve_blob {
    struct server *srv;
    file_key key;
    uint8_t *data;
    size_t size;
    unsigned refs;     /* the cache's, each response's, each queued chain's */
    uint64_t last_use; /* for eviction, least recently used first */
} serve_blob;

/* Frames gathered for one writev (serve_batch.c). */
typedef struct serve_batch {
    struct conn *owner; /* the connection being flushed, or NULL */
    unsigned nframes;
    uint8_t hdr[SERVE_BATCH_FRAMES][9];
    struct iovec iov[2 * SERVE_BATCH_FRAMES]; /* header, payload per frame */
    serve_blob *blob[SERVE_BATCH_FRAMES];     /* a ref per frame */
} serve_batch;

typedef struct served_file {
    char url[SERVE_PATH_MAX]; /* "/<basename>" */
    char *path;               /* realpath */
} served_file;

typedef struct serve_stats {
    uint64_t requests;
    uint64_t by_class[6]; /* 1xx..5xx at [1..5] */
    uint64_t bytes;
    uint64_t conns;
    uint64_t conns_h2, conns_h2c, conns_h1;
} serve_stats;

typedef struct server {
    const ota32_serve_opts *opts;
    struct event_base *base;
    SSL_CTX *ssl;
    struct evconnlistener *listeners[SERVE_MAX_LISTENERS];
    unsigned nlisteners;
    struct event *sig_int, *sig_term, *drain_timer, *accept_pause;
    bool draining;
    unsigned idle_s;

    served_file files[OTA32_SERVE_MAX_FILES];
    unsigned nfiles;
    char *dir_real; /* realpath of --dir, or NULL */
    serve_limits limits;
    check_entry checks[SERVE_CHECK_CACHE];
    unsigned check_next;
    serve_blob *blobs[SERVE_BLOB_CACHE];
    size_t blob_bytes; /* all copies alive, cached or not */
    uint64_t blob_clock;
    serve_batch batch;

    /* --config: the last good copy, reloaded when the file changes */
    char *cfg_body;
    size_t cfg_len;
    file_key cfg_key;
    file_key cfg_bad_key; /* last change that did not parse (warned once) */

    struct conn *conns;
    unsigned nconns;
    unsigned max_conns;
    bool accept_full; /* listeners disabled until a connection closes */
    serve_stats stats;
    uint64_t start_ms;
} server;

/* One request as either protocol hands it over. */
typedef struct request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    const char *range; /* NULL when absent */
    size_t range_len;
    const char *if_range; /* NULL when absent */
    size_t if_range_len;
    int reject; /* non-zero: protocol layer already knows the status */
} request;

#define RESP_HDR_MAX 8

typedef struct response {
    int status;
    bool head;
    /* headers, as name/value pairs; values live in `vals` */
    unsigned nhdr;
    const char *names[RESP_HDR_MAX];
    char vals[RESP_HDR_MAX][96];
    uint64_t content_length;
    /* body: from the file's in-memory copy when it has one, else from the
     * file (read with pread, or handed to the socket as a file segment:
     * sendfile on plain TCP), or from memory of its own (error texts) */
    serve_blob *blob;
    int fd;
    struct evbuffer_file_segment *seg; /* owns fd once created */
    uint64_t file_size;
    uint64_t off;
    uint64_t remaining;
    char *mem;
    size_t mem_off;
    uint64_t sent;
    /* access log */
    char method[17];
    char log_path[256];
    uint64_t start_ms;
} response;

/* serve_handle.c */
void serve_handle(server *s, const request *rq, response *rs);
/* Next body bytes into buf: count, 0 at the end, -1 when the file cannot
 * deliver what was promised (truncated while being served). */
long response_read(response *rs, uint8_t *buf, size_t cap);
/* Append up to `max` body bytes to `out`; zero_copy (a socket that
 * drains to a file descriptor) adds them as a file segment, sent with
 * sendfile. Returns the count, 0 at the end, -1 on failure. */
long response_add_body(response *rs, struct evbuffer *out, size_t max, bool zero_copy);
/* Send up to `max` file body bytes straight to a non-blocking socket.
 * Returns the count (0: the socket is full), -1 on failure. */
long response_sendfile(response *rs, int sock, size_t max);
/* The next `n` body bytes of a response sent from its file's copy:
 * a pointer into the copy, and the response moves past them. */
const uint8_t *response_take(response *rs, size_t n);
void response_release(response *rs);
/* Append bytes to an output buffer that may end in a file segment, in a
 * chain sized for them. Returns 0, or -1 when out of memory. */
int serve_out_add(struct evbuffer *out, const void *data, size_t len);
void serve_log_access(server *s, const char *peer, const response *rs, const char *proto);
uint64_t serve_now_ms(void);
const char *serve_reason(int status);

/* serve_blob.c */
/* The in-memory copy of an open file, with a ref for the caller; NULL when
 * the file is too large, memory is at its budget, or it changed while
 * being read (then serve from the descriptor). */
serve_blob *serve_blob_get(server *s, int fd, const struct stat *st);
void serve_blob_ref(serve_blob *b);
void serve_blob_unref(serve_blob *b);
/* evbuffer_add_reference() cleanup: drops the ref the chain held. */
void serve_blob_unref_cb(const void *data, size_t len, void *arg);
void serve_blobs_free(server *s);

/* serve_files.c */
int serve_files_init(server *s, char *msg, size_t cap);
void serve_files_free(server *s);
/* Open the served file for a decoded path: fd (regular file), -1 when there
 * is no such file in the served set, -2 when out of descriptors. */
int serve_files_open(server *s, const char *path, struct stat *st);
/* Cached image verdict for an open file. */
const serve_verdict *serve_files_verdict(server *s, int fd, const struct stat *st);
/* Current /config body (NULL when --config is not given or unreadable). */
const char *serve_config_body(server *s, size_t *len, struct stat *st);
file_key serve_file_key(const struct stat *st);

/* serve_conn.c */
void serve_conn_accept(server *s, int fd, const struct sockaddr *addr, int addrlen);
void serve_conns_drain(server *s);
void serve_conns_free_all(server *s);
/* serve_main.c */
void serve_accept_enable(server *s, bool on);

#endif
