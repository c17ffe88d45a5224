/* Connections: accept, TLS handshake and ALPN, protocol detection on plain
 * TCP, idle timeout, and the single place where a connection is freed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "serve_conn.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof preface - 1)
_Static_assert(PREFACE_LEN == 24, "HTTP/2 client connection preface");

static void conn_free(conn *c)
{
    server *s = c->srv;
    if (c->h2)
        serve_h2_free(c);
    serve_h1_free(c);
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->idle)
        event_free(c->idle);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    free(c);
    if (s->accept_full && s->nconns < s->max_conns && !s->draining) {
        s->accept_full = false;
        if (s->room_timer)
            event_del(s->room_timer);
        serve_accept_enable(s, true);
    }
    if (s->draining && s->nconns == 0)
        event_base_loopexit(s->base, NULL);
#ifdef __GLIBC__
    /* Last client gone: hand the pages of the freed buffers back. glibc
     * only returns the top of the heap by itself, and a burst of clients
     * leaves it free but resident between the few blocks still in use. */
    else if (s->nconns == 0)
        malloc_trim(0);
#endif
}

/* Closing a socket that still has unread input makes the kernel send a
 * reset, which can destroy the last response (a 400, a GOAWAY) before the
 * client reads it. So on plain TCP the server shuts its side, then reads and
 * discards for a short while before closing, as nginx's lingering close. */
static bool linger(conn *c)
{
    if (c->tls || c->srv->draining)
        return false;
    if (shutdown(bufferevent_getfd(c->bev), SHUT_WR) != 0)
        return false;
    c->lingering = true;
    c->closing = false;
    struct timeval tv = {.tv_sec = SERVE_LINGER_S};
    event_add(c->idle, &tv);
    bufferevent_enable(c->bev, EV_READ);
    evbuffer_drain(bufferevent_get_input(c->bev),
                   evbuffer_get_length(bufferevent_get_input(c->bev)));
    return true;
}

/* Called at the end of every event callback: act on what the protocol code
 * decided. Returns true when the connection is gone. */
static bool conn_settle(conn *c)
{
    if (c->dead) {
        conn_free(c);
        return true;
    }
    if (c->closing && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        if (linger(c))
            return false;
        conn_free(c);
        return true;
    }
    if (c->closing)
        bufferevent_disable(c->bev, EV_READ);
    return false;
}

/* Arm the idle timer to fire when the connection will have made no
 * progress for the idle timeout. */
static void arm_idle(conn *c)
{
    uint64_t limit = (uint64_t)c->srv->idle_s * 1000u;
    uint64_t since = serve_now_ms() - c->progress_ms;
    uint64_t left = since < limit ? limit - since : 0;
    struct timeval tv = {.tv_sec = (time_t)(left / 1000u),
                         .tv_usec = (suseconds_t)(left % 1000u * 1000u)};
    event_add(c->idle, &tv);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    /* No progress for the whole timeout: a client that went away without
     * closing, one that stopped reading or never opens its window, or one
     * that only keeps the connection warm (PINGs). The linger deadline is
     * a deadline too. */
    if (!c->lingering && serve_now_ms() - c->progress_ms < (uint64_t)c->srv->idle_s * 1000u) {
        arm_idle(c);
        return;
    }
    if (!c->lingering && c->state == CONN_H1 && !c->h1_busy && c->h1_head_since_ms != 0) {
        /* A request head still trickling in: answer 408, then close. */
        serve_h1_head_timeout(c);
        serve_conn_progress(c);
        arm_idle(c);
        conn_settle(c);
        return;
    }
    conn_free(c);
}

/* A request is under way: its stream is open (HTTP/2), or its head is
 * being read or its response sent (HTTP/1.1). */
static bool in_request(const conn *c)
{
    if (c->state == CONN_H2)
        return c->streams != NULL;
    if (c->state == CONN_H1)
        return c->h1_busy || c->h1_head_since_ms != 0;
    return false;
}

static bool same_client(const client_key *a, const client_key *b)
{
    return a->fam != 0 && a->fam == b->fam && memcmp(a->a, b->a, sizeof a->a) == 0;
}

static client_key client_of(const struct sockaddr *sa)
{
    client_key k = {0};
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        k.fam = 4;
        memcpy(k.a, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            k.fam = 4;
            memcpy(k.a, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            k.fam = 6;
            memcpy(k.a, in6->sin6_addr.s6_addr, 8);
        }
    }
    return k;
}

/* The connection without a request under way that made progress longest
 * ago, at least `min_idle_ms` ago; of one client when `who` is given. */
static conn *idle_victim(server *s, const client_key *who, uint64_t min_idle_ms)
{
    uint64_t now = serve_now_ms();
    conn *best = NULL;
    for (conn *c = s->conns; c; c = c->next) {
        if (c->dead || in_request(c) || (who && !same_client(&c->client, who)) ||
            now - c->progress_ms < min_idle_ms)
            continue;
        if (!best || c->progress_ms < best->progress_ms)
            best = c;
    }
    return best;
}

/* The table is full: a connection with no request under way for
 * SERVE_EVICT_IDLE_MS gives its place to a new client (checked at once and
 * every 200 ms while full), so that held-open connections cannot lock
 * clients out. */
static void room_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    server *s = arg;
    if (!s->accept_full || s->draining)
        return;
    conn *v = idle_victim(s, NULL, SERVE_EVICT_IDLE_MS);
    if (v) {
        conn_free(v); /* re-enables accepting */
        return;
    }
    struct timeval tv = {.tv_usec = 200000};
    event_add(s->room_timer, &tv);
}

static void start_protocol(conn *c, bool h2)
{
    server *s = c->srv;
    if (h2) {
        c->state = CONN_H2;
        c->proto = c->tls ? "h2" : "h2c";
        if (c->tls)
            s->stats.conns_h2++;
        else
            s->stats.conns_h2c++;
        if (serve_h2_start(c) != 0)
            c->dead = true;
        /* Plain TCP writes frames straight to the socket while nothing is
         * queued (serve_h2.c): ask for more only once the queue is empty. */
        if (!c->tls) {
            bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
            /* What a full socket left queued goes out in one write when it
             * drains, not 16 KB (libevent's default) per loop iteration. */
            bufferevent_set_max_single_write(c->bev, SERVE_DIRECT_BUDGET);
        }
    } else {
        c->state = CONN_H1;
        c->proto = "http/1.1";
        s->stats.conns_h1++;
    }
}

static void input(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->state == CONN_DETECT) {
        /* h2c with prior knowledge starts with the preface; anything else
         * is taken as HTTP/1.1 (which rejects what it cannot parse). */
        size_t n = evbuffer_get_length(in);
        if (n > PREFACE_LEN)
            n = PREFACE_LEN;
        const unsigned char *p = evbuffer_pullup(in, (ssize_t)n);
        if (!p)
            return;
        bool match = memcmp(p, preface, n) == 0;
        if (match && n < PREFACE_LEN)
            return;
        start_protocol(c, match);
    }
    if (c->dead)
        return;
    if (c->state == CONN_H2)
        serve_h2_input(c);
    else if (c->state == CONN_H1)
        serve_h1_input(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (c->lingering) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    input(c);
    conn_settle(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (c->lingering)
        return;
    if (c->state == CONN_H2)
        serve_h2_flush(c);
    else if (c->state == CONN_H1) {
        serve_h1_pump(c);
        serve_h1_input(c); /* a pipelined request may be waiting */
    }
    conn_settle(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        /* TLS handshake done: ALPN says which protocol follows. */
        const unsigned char *alpn = NULL;
        unsigned alpn_len = 0;
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        if (ssl)
            SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
        start_protocol(c, alpn_len == 2 && !memcmp(alpn, "h2", 2));
        if (!c->dead)
            input(c); /* anything that arrived with the handshake */
        conn_settle(c);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_free(c);
}

static void peer_name(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

/* Count this client's connections; at its limit, close its longest-idle
 * one if it has been idle for SERVE_EVICT_IDLE_MS, else refuse the new one (false). */
static bool client_admit(server *s, const client_key *who, const char *peer)
{
    unsigned n = 0;
    for (conn *c = s->conns; c; c = c->next)
        n += !c->dead && same_client(&c->client, who);
    if (n < s->max_per_client)
        return true;
    conn *v = idle_victim(s, who, SERVE_EVICT_IDLE_MS);
    if (v) {
        conn_free(v);
        return true;
    }
    uint64_t now = serve_now_ms();
    if (now - s->refused_log_ms >= 1000) { /* at most one line a second */
        s->refused_log_ms = now;
        fprintf(s->opts->log,
                "ota32 serve: refusing a connection from %s: its address holds %u "
                "connections, none idle (--max-conns-per-client)\n",
                peer, n);
    }
    return false;
}

void serve_conn_accept(server *s, int fd, const struct sockaddr *addr, int addrlen)
{
    (void)addrlen;
    if (s->draining) {
        close(fd);
        return;
    }
    char peer[64];
    peer_name(addr, peer, sizeof peer);
    client_key who = client_of(addr);
    if (!client_admit(s, &who, peer)) {
        close(fd);
        return;
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = s;
    c->client = who;
    serve_conn_progress(c);
    memcpy(c->peer, peer, sizeof c->peer);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (s->ssl) {
        SSL *ssl = SSL_new(s->ssl);
        c->tls = true;
        c->state = CONN_TLS_HANDSHAKE;
        /* Deferred callbacks: an SSL write can otherwise run the write
         * callback from inside nghttp2_session_send(). */
        c->bev = ssl ? bufferevent_openssl_socket_new(
                           s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                           BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                     : NULL;
        if (!c->bev && ssl)
            SSL_free(ssl);
        if (c->bev)
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    } else {
        c->state = CONN_DETECT;
        c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    c->proto = c->tls ? "tls" : "tcp";
    c->idle = evtimer_new(s->base, idle_cb, c);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->stats.conns++;
    if (s->nconns >= s->max_conns) {
        s->accept_full = true;
        serve_accept_enable(s, false);
        if (!s->room_timer)
            s->room_timer = evtimer_new(s->base, room_cb, s);
        if (s->room_timer)
            event_active(s->room_timer, EV_TIMEOUT, 0);
    }
    if (!c->bev || !c->idle) {
        if (!c->bev)
            close(fd);
        conn_free(c);
        return;
    }
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    /* Read at most 64 KB ahead; write callback when the output falls low. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, SERVE_OUT_HIGH);
    bufferevent_setwatermark(c->bev, EV_WRITE, SERVE_OUT_LOW, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    arm_idle(c);
}

void serve_conns_drain(server *s)
{
    conn *next;
    for (conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->lingering) {
            conn_free(c);
            continue;
        }
        if (c->state == CONN_H2) {
            serve_h2_drain(c);
        } else if (c->state == CONN_H1 && c->h1_busy) {
            c->h1_keep_alive = false; /* close after this response */
            continue;
        } else {
            c->closing = true; /* idle, handshaking or undecided: close */
        }
        conn_settle(c);
    }
}

void serve_conns_free_all(server *s)
{
    while (s->conns)
        conn_free(s->conns);
}
