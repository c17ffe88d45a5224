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
/* HTTP/2 streams open at once in the whole server (about 0.8 KB each with
 * nghttp2's share): past it, new ones are refused with REFUSED_STREAM. */
#define SERVE_STREAMS_MAX 16384u
/* Abuse limits nghttp2 1.52 does not enforce itself: CONTINUATION frames per
 * header block (the 2024 "CONTINUATION flood") and stream resets by the
 * client per second (the 2023 "rapid reset"). */
#define SERVE_H2_MAX_CONTINUATIONS 8u
#define SERVE_H2_MAX_RESETS_PER_S 200u
#define SERVE_CONFIG_MAX (1u << 20)
/* Image verdicts kept, one per file version (device, inode, size, mtime):
 * a version is verified once, not per request, unless more distinct
 * versions than this are requested (then the oldest verdict is redone). */
#define SERVE_CHECK_CACHE 1024u
/* A copy of a file is made only for a response that sends at least this
 * fraction (1/N) of it: a 1-byte range never costs a whole-file copy. */
#define SERVE_BLOB_MIN_SHARE 4u
#define SERVE_MAX_LISTENERS 4u
#define SERVE_DRAIN_S 10
#define SERVE_LINGER_S 2
/* An HTTP/1.1 request head must arrive within this (or the idle timeout,
 * if shorter), however slowly its bytes trickle in. */
#define SERVE_HEAD_TIMEOUT_S 10u
/* Descriptors: every response served from a file shares one descriptor
 * per file version (serve_open.c), at most SERVE_OPEN_MAX versions at once.
 * A connection needs its socket and, when its queued output still holds a
 * segment of a version no longer open, that segment's descriptor: two at
 * most. So max_conns = (limit - reserved - SERVE_OPEN_MAX) / 2. */
#define SERVE_MAX_CONNS 8192u
#define SERVE_FDS_PER_CONN 2u
#define SERVE_FDS_RESERVED 16u
#define SERVE_OPEN_MAX 64u
/* Connections one client address (an IPv6 /64) may hold; a client needs
 * one, a browser six. */
#define SERVE_CONNS_PER_CLIENT 32u
/* With every connection in use, one that has had no request under way for
 * this long is closed to make room for a new client. */
#define SERVE_EVICT_IDLE_MS 200u

/* A file identity: a rebuilt image gets a new one (and a new ETag). */
typedef struct file_key {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
} file_key;

typedef struct check_entry {
    file_key key;
    serve_verdict *verdict; /* NULL: unused */
    uint64_t last_use;
} check_entry;

struct server;
struct conn;

/* One open file version shared by every response sent from it
 * (serve_open.c): one descriptor, and one file segment for sendfile. */
typedef struct serve_open {
    struct server *srv;
    file_key key;
    int fd;
    struct evbuffer_file_segment *seg; /* owns fd once made (for sendfile) */
    unsigned refs;
} serve_open;

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
    check_entry *checks; /* SERVE_CHECK_CACHE entries */
    uint64_t check_clock;
    serve_open *open[SERVE_OPEN_MAX];
    unsigned nopen;
    unsigned open_max; /* SERVE_OPEN_MAX, or fewer under a low descriptor limit */
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
    unsigned nstreams; /* HTTP/2 streams open, all connections */
    unsigned max_conns;
    unsigned max_per_client;
    bool accept_full; /* listeners disabled until a connection closes */
    struct event *room_timer; /* while full: look for an idle connection to close */
    uint64_t refused_log_ms;
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

#define RESP_HDR_MAX 9
/* The longest refusal reason sent in the ota32-reason header. */
#define SERVE_REASON_MAX 240

/* Response headers: built by serve_handle, used at once by the protocol
 * layer (which copies what it sends), so they live on the caller's stack,
 * not in each open stream. */
typedef struct response_head {
    unsigned n;
    const char *names[RESP_HDR_MAX];
    const char *vals[RESP_HDR_MAX];
    size_t used;
    char buf[1024];
} response_head;

typedef struct response {
    int status;
    bool head;
    uint64_t content_length;
    /* body: from the file's in-memory copy when it has one, else from the
     * shared open file (read with pread, or handed to the socket as a file
     * segment: sendfile on plain TCP), or from memory of its own (texts) */
    serve_blob *blob;
    serve_open *file;
    uint64_t file_size;
    uint64_t off;
    uint64_t remaining;
    char *mem;
    size_t mem_off;
    uint64_t sent;
    /* access log */
    char method[17];
    char *log_path; /* owned; NULL: "-" */
    uint64_t start_ms;
} response;

/* serve_handle.c */
void serve_handle(server *s, const request *rq, response *rs, response_head *hd);
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
/* The cached copy of this file version, if there is one (ref for the
 * caller); never makes one. */
serve_blob *serve_blob_find(server *s, const struct stat *st);
void serve_blob_ref(serve_blob *b);
void serve_blob_unref(serve_blob *b);
/* evbuffer_add_reference() cleanup: drops the ref the chain held. */
void serve_blob_unref_cb(const void *data, size_t len, void *arg);
void serve_blobs_free(server *s);

/* serve_open.c */
/* The shared open file for a descriptor just opened on `st`: the table's
 * entry for that version (fd is closed) or a new one taking over fd. NULL
 * when SERVE_OPEN_MAX versions are open (fd is closed). */
serve_open *serve_open_get(server *s, int fd, const struct stat *st);
void serve_open_unref(serve_open *f);
/* The file segment of an open file, made on first use. NULL on failure. */
struct evbuffer_file_segment *serve_open_segment(serve_open *f);

/* serve_files.c */
int serve_files_init(server *s, char *msg, size_t cap);
void serve_files_free(server *s);
/* Open the served file for a decoded path: fd (regular file), -1 when there
 * is no such file in the served set, -2 when out of descriptors. */
int serve_files_open(server *s, const char *path, struct stat *st);
/* Cached image verdict for an open file; NULL when out of memory. */
const serve_verdict *serve_files_verdict(server *s, int fd, const struct stat *st);
void serve_files_verdicts_free(server *s);
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
