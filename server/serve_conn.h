/* A client connection and the protocol it turned out to speak. */
#ifndef OTA32_SERVER_SERVE_CONN_H
#define OTA32_SERVER_SERVE_CONN_H

#include "serve_internal.h"

typedef enum conn_state {
    CONN_TLS_HANDSHAKE = 0,
    CONN_DETECT, /* plain TCP: preface or HTTP/1.1 request line? */
    CONN_H2,
    CONN_H1,
} conn_state;

typedef struct h2_stream {
    int32_t id;
    struct h2_stream *prev, *next;
    char method[17];
    size_t method_len;
    char *target;
    size_t target_len;
    char *range;
    size_t range_len;
    char *if_range;
    size_t if_range_len;
    int reject;
    bool responded;
    response rs;
} h2_stream;

/* A client address as the per-client limit counts it: IPv4, or the /64 of
 * an IPv6 address (one host usually holds a whole /64). */
typedef struct client_key {
    uint8_t fam; /* 4, 6, or 0 when unknown */
    uint8_t a[8];
} client_key;

typedef struct conn {
    server *srv;
    struct conn *prev, *next;
    struct bufferevent *bev;
    struct event *idle;
    client_key client;
    /* Last progress: accepted, a request started or finished, body bytes
     * produced. Frames that carry no request (PING, SETTINGS,
     * WINDOW_UPDATE) are not progress: a connection without progress for
     * the idle timeout is closed, whatever else it sends. */
    uint64_t progress_ms;
    conn_state state;
    bool tls;
    bool closing;  /* free once the output has drained */
    bool dead;     /* free as soon as control returns to the event loop */
    bool lingering; /* write side shut; reading and discarding until EOF */
    bool in_send;  /* inside nghttp2_session_send: no re-entry */
    size_t direct_budget; /* plain TCP: bytes left to send without queueing */
    const char *proto;
    char peer[64];
    /* HTTP/2 */
    nghttp2_session *h2;
    h2_stream *streams;
    unsigned continuations;   /* CONTINUATION frames of the current header block */
    unsigned resets;          /* RST_STREAMs received in the current second */
    uint64_t resets_since_ms;
    /* HTTP/1.1 */
    bool h1_busy;
    bool h1_keep_alive;
    uint64_t h1_head_since_ms; /* first byte of the request head being read */
    response h1_rs;
} conn;

/* serve_h2.c */
int serve_h2_start(conn *c);
void serve_h2_input(conn *c);
void serve_h2_flush(conn *c);
void serve_h2_drain(conn *c);
void serve_h2_free(conn *c);

/* serve_batch.c. Frames go into the batch only while the connection's
 * output buffer is empty; the batch is written before anything else is
 * sent or queued for the connection, and at the end of each flush. */
int serve_batch_add(conn *c, const uint8_t *framehd, serve_blob *blob, const uint8_t *payload,
                    size_t len);
/* Write the connection's gathered frames; what the socket does not take is
 * queued. 0, or -1 when the connection failed. */
int serve_batch_write(conn *c);
/* Forget the connection's frames (it is being freed). */
void serve_batch_drop(conn *c);

/* serve_h1.c */
void serve_h1_input(conn *c);
void serve_h1_pump(conn *c);
/* The head being read took too long: answer 408 and close. */
void serve_h1_head_timeout(conn *c);
void serve_h1_free(conn *c);

static inline void serve_conn_progress(conn *c)
{
    c->progress_ms = serve_now_ms();
}

/* serve_conn.c. Protocol code never frees a connection itself: it sets
 * `closing` (free once the output has drained) or `dead` (free now), and the
 * event callbacks act on that when the protocol code has returned. */
static inline void serve_conn_finish(conn *c)
{
    c->closing = true;
}

#endif
