/*
 * Host transport: TCP (IPv4/IPv6 via getaddrinfo, non-blocking connect with a
 * timeout, poll-based send/recv timeouts, TCP_NODELAY) and TLS over OpenSSL
 * (SNI, ALPN, certificate and host name verification against the system
 * trust store or a CA file).
 *
 * The context owns the socket and the TLS objects of one connection at a
 * time; connect() after close() opens a new one. Name resolution
 * (getaddrinfo) blocks outside the connect timeout; every address it returns
 * is tried in turn within the timeout. Plain-TCP sends use MSG_NOSIGNAL;
 * TLS writes rely on SIGPIPE being ignored (ota32_posix_platform_init does).
 */
#ifndef OTA32_POSIX_TRANSPORT_H
#define OTA32_POSIX_TRANSPORT_H

#include "ota32/platform.h"

struct ssl_st;
struct ssl_ctx_st;

typedef struct ota32_posix_transport {
    int fd;                       /* -1 when closed */
    struct ssl_ctx_st *ssl_ctx;   /* per connection */
    struct ssl_st *ssl;           /* NULL for plain TCP */
    char alpn[32];                /* protocol negotiated by ALPN, "" if none */
    char host[256];
    uint64_t bytes_sent;          /* since the last connect */
    uint64_t bytes_received;
} ota32_posix_transport;

void ota32_posix_transport_init(ota32_posix_transport *t);

/* Ops over `t` (which must outlive them). */
ota32_transport_ops ota32_posix_transport_ops(ota32_posix_transport *t);

/* Closes any open connection. Safe to call twice. */
void ota32_posix_transport_close(ota32_posix_transport *t);

#endif
