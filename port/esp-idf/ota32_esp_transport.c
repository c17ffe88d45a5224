/*
 * Transport ops over esp-tls: TLS (mbedTLS, ALPN "h2") or plain TCP for
 * http:// URLs (is_plain_tcp). Per-call timeouts are SO_RCVTIMEO/SO_SNDTIMEO
 * on the connection's socket: ESP-IDF's mbedTLS network layer turns an
 * expired timeout (EAGAIN) into MBEDTLS_ERR_SSL_WANT_READ/_WRITE, and a
 * plain esp-tls read returns -1 with errno EAGAIN; both are retried until the
 * call's own deadline, then reported as OTA32_ERR_TIMEOUT.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "esp_crt_bundle.h"
#include "esp_log.h"
#include "esp_timer.h"
#include "esp_tls.h"
#include "lwip/sockets.h"
#include "mbedtls/ssl.h"
#include "sdkconfig.h"

#include "deadline.h"
#include "ota32_esp_priv.h"

#if !CONFIG_ESP_TLS_USING_MBEDTLS
#error "ota32 needs the mbedTLS backend of esp-tls (CONFIG_ESP_TLS_USING_MBEDTLS)"
#endif
#if !CONFIG_MBEDTLS_SSL_ALPN
#error "ota32 needs ALPN to negotiate HTTP/2 (CONFIG_MBEDTLS_SSL_ALPN)"
#endif

#define DEFAULT_CONNECT_MS 10000u

void ota32_esp_transport_init(ota32_esp_transport *t)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
}

static void tr_close(void *ctx)
{
    ota32_esp_transport *t = ctx;
    if (t->tls)
        esp_tls_conn_destroy(t->tls); /* closes the socket too */
    t->tls = NULL;
    t->fd = -1;
    t->alpn[0] = '\0';
    t->rcv_timeout_ms = t->snd_timeout_ms = 0;
}

static uint64_t now_ms(void)
{
    return (uint64_t)esp_timer_get_time() / 1000u;
}

/* Set SO_RCVTIMEO or SO_SNDTIMEO, skipping the call when unchanged. A zero
 * timeval means "wait forever" to lwIP, so never go below 1 ms. */
static void set_timeout(ota32_esp_transport *t, int opt, uint32_t *cache, uint32_t ms)
{
    if (ms == 0)
        ms = 1;
    if (*cache == ms)
        return;
    struct timeval tv = {.tv_sec = ms / 1000u, .tv_usec = (ms % 1000u) * 1000u};
    if (setsockopt(t->fd, SOL_SOCKET, opt, &tv, sizeof tv) == 0)
        *cache = ms;
    else
        *cache = 0;
}

/* The connect failure esp-tls recorded, as an ota32 error with a message. */
static int connect_error(ota32_esp_transport *t, const ota32_transport_opts *o, int rc,
                         ota32_diag *diag)
{
    esp_tls_error_handle_t h = NULL;
    int tls_code = 0, flags = 0;
    esp_err_t e = ESP_FAIL;
    if (esp_tls_get_error_handle(t->tls, &h) == ESP_OK && h)
        e = esp_tls_get_and_clear_last_error(h, &tls_code, &flags);
    if (rc == 0 || e == ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT)
        return ota32_diag_fail(diag, OTA32_ERR_TIMEOUT, 0, -1, "connect to %s:%u timed out",
                               o->host, o->port);
    switch (e) {
    case ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME:
        return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "cannot resolve %s", o->host);
    case ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET:
    case ESP_ERR_ESP_TLS_UNSUPPORTED_PROTOCOL_FAMILY:
    case ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST:
    case ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED:
        return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "cannot connect to %s:%u: %s", o->host,
                               o->port, esp_err_to_name(e));
    default:
        break;
    }
    if (flags)
        return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1,
                               "TLS: certificate verify failed for host %s (mbedTLS verify "
                               "flags 0x%x)",
                               o->host, (unsigned)flags);
    return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1,
                           "TLS: handshake with %s:%u failed: %s (mbedTLS -0x%04x)", o->host,
                           o->port, esp_err_to_name(e), (unsigned)-tls_code);
}

/* Trust anchors for `cfg`: a PEM, the certificate bundle, or none when the
 * caller asked for no verification and esp-tls was built to allow it. */
static int set_trust(ota32_esp_transport *t, const ota32_transport_opts *o, esp_tls_cfg_t *cfg,
                     ota32_diag *diag)
{
    if (o->ca_file)
        return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, -1,
                               "TLS: CA files are not read on ESP-IDF; give the PEM with "
                               "ota32_esp_platform_set_ca_pem");
    if (o->insecure) {
#if CONFIG_ESP_TLS_SKIP_SERVER_CERT_VERIFY
        return OTA32_OK;
#else
        return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, -1,
                               "TLS: skipping certificate checks needs "
                               "CONFIG_ESP_TLS_SKIP_SERVER_CERT_VERIFY");
#endif
    }
    if (t->ca_pem) {
        cfg->cacert_buf = (const unsigned char *)t->ca_pem;
        cfg->cacert_bytes = (unsigned int)strlen(t->ca_pem) + 1; /* PEM: count the NUL */
        return OTA32_OK;
    }
#if CONFIG_OTA32_TLS_CA_BUNDLE && CONFIG_MBEDTLS_CERTIFICATE_BUNDLE
    cfg->crt_bundle_attach = esp_crt_bundle_attach;
    return OTA32_OK;
#else
    return ota32_diag_fail(diag, OTA32_ERR_TLS, 0, -1,
                           "TLS: no trust anchors for %s: set a PEM with "
                           "ota32_esp_platform_set_ca_pem or enable the certificate bundle",
                           o->host);
#endif
}

static int tr_connect(void *ctx, const ota32_transport_opts *o, ota32_diag *diag)
{
    ota32_esp_transport *t = ctx;
    tr_close(t);
    if (!o || !o->host || !o->host[0] || !o->port)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no host or port to connect to");
    uint32_t timeout = o->timeout_ms ? o->timeout_ms : DEFAULT_CONNECT_MS;
    esp_tls_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ms = timeout > INT32_MAX ? INT32_MAX : (int)timeout;
    t->is_tls = o->tls;
    if (o->tls) {
        int rc = set_trust(t, o, &cfg, diag);
        if (rc != OTA32_OK)
            return rc;
        if (o->alpn && o->alpn[0]) {
            if (strlen(o->alpn) >= sizeof t->alpn_req)
                return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "TLS: ALPN too long");
            snprintf(t->alpn_req, sizeof t->alpn_req, "%s", o->alpn);
            t->alpn_list[0] = t->alpn_req;
            t->alpn_list[1] = NULL;
            cfg.alpn_protos = t->alpn_list;
        }
    } else {
        cfg.is_plain_tcp = true;
    }
    t->tls = esp_tls_init();
    if (!t->tls)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "esp_tls_init: out of memory");
    int rc = esp_tls_conn_new_sync(o->host, (int)strlen(o->host), o->port, &cfg, t->tls);
    if (rc != 1) {
        int err = connect_error(t, o, rc, diag);
        tr_close(t);
        return err;
    }
    if (esp_tls_get_conn_sockfd(t->tls, &t->fd) != ESP_OK || t->fd < 0) {
        tr_close(t);
        return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "esp-tls gave no socket for %s",
                               o->host);
    }
    /* HTTP/2 writes small frames (WINDOW_UPDATE, SETTINGS ACK): send them now. */
    int one = 1;
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o->tls) {
        const mbedtls_ssl_context *ssl = esp_tls_get_ssl_context(t->tls);
        const char *proto = ssl ? mbedtls_ssl_get_alpn_protocol(ssl) : NULL;
        if (proto)
            snprintf(t->alpn, sizeof t->alpn, "%s", proto);
    }
    return OTA32_OK;
}

/* A negative esp_tls_conn_read/_write result: 1 to wait and retry, else the
 * ota32 error. mbedTLS error codes below -0x1000 are TLS-layer failures;
 * the others (and plain TCP's -1) are the network's. */
static int io_error(const ota32_esp_transport *t, long n, int err_no)
{
    if (n == ESP_TLS_ERR_SSL_WANT_READ || n == ESP_TLS_ERR_SSL_WANT_WRITE)
        return 1;
    if (!t->is_tls && (err_no == EAGAIN || err_no == EWOULDBLOCK || err_no == EINTR))
        return 1;
    return t->is_tls && n <= -0x1000 ? OTA32_ERR_TLS : OTA32_ERR_NET;
}

/* Milliseconds left until `deadline`, 0 when past. */
static uint32_t remaining(uint64_t deadline)
{
    return (uint32_t)ota32_ms_left(now_ms(), deadline, UINT32_MAX);
}

/* One call of esp_tls_conn_write or _read, retried on timeouts that leave
 * time before the deadline. At least one attempt is made, even with a zero
 * timeout. */
static long transfer(ota32_esp_transport *t, bool writing, void *buf, size_t len,
                     uint32_t timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        uint32_t left = remaining(deadline);
        if (writing)
            set_timeout(t, SO_SNDTIMEO, &t->snd_timeout_ms, left);
        else
            set_timeout(t, SO_RCVTIMEO, &t->rcv_timeout_ms, left);
        errno = 0;
        long n = writing ? (long)esp_tls_conn_write(t->tls, buf, len)
                         : (long)esp_tls_conn_read(t->tls, buf, len);
        if (n > 0 && (size_t)n > len) {
            /* esp-tls passes some mbedTLS results through as positive
             * esp_err_t values (TLS 1.3 session tickets): never bytes. */
            ESP_LOGE(OTA32_ESP_TAG, "esp_tls_conn_%s returned %ld for %u bytes: not a length",
                     writing ? "write" : "read", n, (unsigned)len);
            return t->is_tls ? OTA32_ERR_TLS : OTA32_ERR_NET;
        }
        if (n > 0)
            return n;
        /* Reading, 0 is an orderly close (close_notify, or FIN on plain TCP).
         * A FIN without close_notify counts as one too, as on the host: the
         * HTTP/2 layer knows whether the stream was complete. */
        if (n == 0 || (!writing && t->is_tls && n == MBEDTLS_ERR_SSL_CONN_EOF))
            return writing ? OTA32_ERR_NET : 0;
        int rc = io_error(t, n, errno);
        if (rc != 1)
            return rc;
        if (remaining(deadline) == 0)
            return OTA32_ERR_TIMEOUT;
    }
}

static long tr_send(void *ctx, const void *buf, size_t len, uint32_t timeout_ms)
{
    ota32_esp_transport *t = ctx;
    if (!t->tls)
        return OTA32_ERR_STATE;
    if (len == 0)
        return 0;
    /* esp_tls_conn_write does not write through its pointer. */
    return transfer(t, true, (void *)(uintptr_t)buf, len, timeout_ms);
}

static long tr_recv(void *ctx, void *buf, size_t len, uint32_t timeout_ms)
{
    ota32_esp_transport *t = ctx;
    if (!t->tls)
        return OTA32_ERR_STATE;
    if (len == 0)
        return OTA32_ERR_INVALID_ARG;
    return transfer(t, false, buf, len, timeout_ms);
}

static const char *tr_alpn(void *ctx)
{
    ota32_esp_transport *t = ctx;
    return t->alpn;
}

ota32_transport_ops ota32_esp_transport_ops(ota32_esp_transport *t)
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
