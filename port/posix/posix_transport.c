#include "posix_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "deadline.h"
#include "posix_clock.h"

void ota32_posix_transport_init(ota32_posix_transport *t)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
}

void ota32_posix_transport_close(ota32_posix_transport *t)
{
    if (t->ssl) {
        /* Best effort close_notify after a completed handshake; the socket is
         * non-blocking so this never waits for the peer. */
        if (SSL_is_init_finished(t->ssl))
            SSL_shutdown(t->ssl);
        ERR_clear_error();
        SSL_free(t->ssl);
        t->ssl = NULL;
    }
    if (t->ssl_ctx) {
        SSL_CTX_free(t->ssl_ctx);
        t->ssl_ctx = NULL;
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    t->alpn[0] = '\0';
}

/* Milliseconds left until `deadline`, 0 when past. */
static int remaining_ms(uint64_t deadline)
{
    return (int)ota32_ms_left(ota32_posix_now_ms(), deadline, 0x7fffffff);
}

/* Wait for `events` on fd until `deadline`: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, remaining_ms(deadline));
        if (rc > 0)
            return 1;
        if (rc == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static void format_addr(const struct addrinfo *ai, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (ai->ai_family == AF_INET) {
        const struct sockaddr_in *sin = (const void *)ai->ai_addr;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        port = ntohs(sin->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (ai->ai_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const void *)ai->ai_addr;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        port = ntohs(sin6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

/* Non-blocking connect to one address; returns the socket or -1 with errno. */
static int connect_one(const struct addrinfo *ai, uint64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        int w = wait_fd(fd, POLLOUT, deadline);
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (w <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr) {
            int e = w == 0 ? ETIMEDOUT : (w < 0 ? errno : (soerr ? soerr : errno));
            close(fd);
            errno = e;
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int tcp_connect(ota32_posix_transport *t, const ota32_transport_opts *o,
                       uint64_t deadline, ota32_diag *diag)
{
    char port[8];
    snprintf(port, sizeof port, "%u", o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(o->host, port, &hints, &list);
    if (gai != 0)
        return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "cannot resolve %s: %s", o->host,
                               gai_strerror(gai));
    char last[INET6_ADDRSTRLEN + 16] = "";
    int last_err = 0;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        if (remaining_ms(deadline) == 0) {
            last_err = ETIMEDOUT;
            break;
        }
        format_addr(ai, last, sizeof last);
        int fd = connect_one(ai, deadline);
        if (fd >= 0) {
            t->fd = fd;
            freeaddrinfo(list);
            return OTA32_OK;
        }
        last_err = errno;
    }
    freeaddrinfo(list);
    if (last_err == ETIMEDOUT)
        return ota32_diag_fail(diag, OTA32_ERR_TIMEOUT, 0, -1, "connect to %s (%s) timed out",
                               o->host, last[0] ? last : "no address");
    return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "cannot connect to %s (%s): %s", o->host,
                           last[0] ? last : "no address", strerror(last_err));
}

/* The oldest queued OpenSSL error as text, clearing the queue. */
static const char *ssl_error_text(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    unsigned long next;
    while ((next = ERR_get_error()) != 0)
        ;
    if (!e) {
        snprintf(buf, cap, "%s", "connection closed during handshake");
        return buf;
    }
    const char *reason = ERR_reason_error_string(e);
    if (reason)
        snprintf(buf, cap, "%s", reason);
    else
        ERR_error_string_n(e, buf, cap);
    return buf;
}

static bool is_ip_literal(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

static int tls_setup(ota32_posix_transport *t, const ota32_transport_opts *o, ota32_diag *diag)
{
    char err[256];
    ERR_clear_error();
    t->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ssl_ctx)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "TLS: %s",
                               ssl_error_text(err, sizeof err));
    SSL_CTX_set_min_proto_version(t->ssl_ctx, TLS1_2_VERSION);
    /* A peer that drops the TCP connection without close_notify reads as
     * EOF; the HTTP/2 layer decides whether that was premature. */
    SSL_CTX_set_options(t->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (!o->insecure) {
        int ok = o->ca_file ? SSL_CTX_load_verify_locations(t->ssl_ctx, o->ca_file, NULL)
                            : SSL_CTX_set_default_verify_paths(t->ssl_ctx);
        if (ok != 1)
            return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1, "TLS: cannot load %s: %s",
                                   o->ca_file ? o->ca_file : "the system trust store",
                                   ssl_error_text(err, sizeof err));
        SSL_CTX_set_verify(t->ssl_ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(t->ssl_ctx, SSL_VERIFY_NONE, NULL);
    }
    t->ssl = SSL_new(t->ssl_ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, t->fd) != 1)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "TLS: %s",
                               ssl_error_text(err, sizeof err));
    bool ip = is_ip_literal(o->host);
    /* SNI carries host names only (RFC 6066 section 3). */
    if (!ip && SSL_set_tlsext_host_name(t->ssl, o->host) != 1)
        return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1, "TLS: bad server name %s", o->host);
    if (!o->insecure) {
        X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, o->host)
                    : X509_VERIFY_PARAM_set1_host(param, o->host, 0);
        if (ok != 1)
            return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1,
                                   "TLS: cannot verify against host %s", o->host);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    if (o->alpn && o->alpn[0]) {
        size_t n = strlen(o->alpn);
        unsigned char wire[64];
        if (n >= sizeof wire)
            return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "TLS: ALPN too long");
        wire[0] = (unsigned char)n;
        memcpy(wire + 1, o->alpn, n);
        /* Unlike most OpenSSL calls, this one returns 0 on success. */
        if (SSL_set_alpn_protos(t->ssl, wire, (unsigned)(n + 1)) != 0)
            return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "TLS: cannot set ALPN");
    }
    return OTA32_OK;
}

static int tls_handshake(ota32_posix_transport *t, const ota32_transport_opts *o,
                         uint64_t deadline, ota32_diag *diag)
{
    char err[256];
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(t->ssl);
        if (rc == 1)
            break;
        int e = SSL_get_error(t->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int w = wait_fd(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (w == 0)
                return ota32_diag_fail(diag, OTA32_ERR_TIMEOUT, 0, -1,
                                       "TLS: handshake with %s timed out", o->host);
            if (w < 0)
                return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "TLS: poll: %s",
                                       strerror(errno));
            continue;
        }
        long vr = SSL_get_verify_result(t->ssl);
        if (vr != X509_V_OK)
            return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1,
                                   "TLS: certificate verify failed: %s for host %s",
                                   X509_verify_cert_error_string(vr), o->host);
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) {
            ERR_clear_error();
            return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1,
                                   "TLS: %s:%u offers none of the protocols asked for by ALPN "
                                   "(%s)",
                                   o->host, o->port, o->alpn ? o->alpn : "none");
        }
        if (e == SSL_ERROR_SYSCALL && errno)
            return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1, "TLS: handshake with %s: %s",
                                   o->host, strerror(errno));
        return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1, "TLS: handshake with %s failed: %s",
                               o->host, ssl_error_text(err, sizeof err));
    }
    const unsigned char *proto = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(t->ssl, &proto, &len);
    if (proto && len < sizeof t->alpn) {
        memcpy(t->alpn, proto, len);
        t->alpn[len] = '\0';
    }
    return OTA32_OK;
}

static int tr_connect(void *ctx, const ota32_transport_opts *o, ota32_diag *diag)
{
    ota32_posix_transport *t = ctx;
    ota32_posix_transport_close(t);
    if (!o || !o->host || !o->host[0] || !o->port)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no host or port to connect to");
    snprintf(t->host, sizeof t->host, "%s", o->host);
    t->bytes_sent = t->bytes_received = 0;
    uint64_t deadline = ota32_posix_now_ms() + (o->timeout_ms ? o->timeout_ms : 10000u);
    int rc = tcp_connect(t, o, deadline, diag);
    if (rc == OTA32_OK && o->tls) {
        rc = tls_setup(t, o, diag);
        if (rc == OTA32_OK)
            rc = tls_handshake(t, o, deadline, diag);
    }
    if (rc != OTA32_OK)
        ota32_posix_transport_close(t);
    return rc;
}

/* One SSL_read or SSL_write with poll-based waiting. Returns bytes (>0),
 * 0 on orderly close (reads), or a negative ota32_err. */
static long tls_io(ota32_posix_transport *t, bool writing, void *buf, size_t len,
                   uint64_t deadline)
{
    for (;;) {
        size_t n = 0;
        ERR_clear_error();
        int rc = writing ? SSL_write_ex(t->ssl, buf, len, &n) : SSL_read_ex(t->ssl, buf, len, &n);
        if (rc == 1)
            return (long)n;
        int e = SSL_get_error(t->ssl, 0);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int w = wait_fd(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (w == 0)
                return OTA32_ERR_TIMEOUT;
            if (w < 0)
                return OTA32_ERR_NET;
            continue;
        }
        if (e == SSL_ERROR_ZERO_RETURN && !writing)
            return 0;
        if (e == SSL_ERROR_SYSCALL)
            return OTA32_ERR_NET;
        return OTA32_ERR_TLS;
    }
}

/* One plain-TCP send or recv, waiting for the socket until `deadline`. */
static long plain_io(ota32_posix_transport *t, bool writing, void *buf, size_t len,
                     uint64_t deadline)
{
    for (;;) {
        long n = writing ? send(t->fd, buf, len, MSG_NOSIGNAL) : recv(t->fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return OTA32_ERR_NET;
        int w = wait_fd(t->fd, writing ? POLLOUT : POLLIN, deadline);
        if (w <= 0)
            return w == 0 ? OTA32_ERR_TIMEOUT : OTA32_ERR_NET;
    }
}

/* A send or recv within `timeout_ms`, over TLS or plain TCP, counted. */
static long transfer(ota32_posix_transport *t, bool writing, void *buf, size_t len,
                     uint32_t timeout_ms)
{
    uint64_t deadline = ota32_posix_now_ms() + timeout_ms;
    long n = t->ssl ? tls_io(t, writing, buf, len, deadline)
                    : plain_io(t, writing, buf, len, deadline);
    if (n > 0 && writing)
        t->bytes_sent += (uint64_t)n;
    else if (n > 0)
        t->bytes_received += (uint64_t)n;
    return n;
}

static long tr_send(void *ctx, const void *buf, size_t len, uint32_t timeout_ms)
{
    ota32_posix_transport *t = ctx;
    if (t->fd < 0)
        return OTA32_ERR_STATE;
    if (len == 0)
        return 0;
    /* send() and SSL_write() do not write through the pointer. */
    return transfer(t, true, (void *)(uintptr_t)buf, len, timeout_ms);
}

static long tr_recv(void *ctx, void *buf, size_t len, uint32_t timeout_ms)
{
    ota32_posix_transport *t = ctx;
    if (t->fd < 0)
        return OTA32_ERR_STATE;
    if (len == 0)
        return OTA32_ERR_INVALID_ARG;
    return transfer(t, false, buf, len, timeout_ms);
}

static void tr_close(void *ctx)
{
    ota32_posix_transport_close(ctx);
}

static const char *tr_alpn(void *ctx)
{
    ota32_posix_transport *t = ctx;
    return t->alpn;
}

ota32_transport_ops ota32_posix_transport_ops(ota32_posix_transport *t)
{
    ota32_transport_ops ops = {
        .ctx = t,
        .connect = tr_connect,
        .send = tr_send,
        .recv = tr_recv,
        .close = tr_close,
        .alpn_selected = tr_alpn,
    };
    return ops;
}
