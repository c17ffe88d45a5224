/* Declaration-only stand-in for Mbed TLS 3.x mbedtls/ssl.h: what ota32 uses
 * of the context esp-tls hands out. */
#ifndef OTA32_CHECK_MBEDTLS_SSL_H
#define OTA32_CHECK_MBEDTLS_SSL_H

/* The peer closed TCP without a close_notify alert. */
#define MBEDTLS_ERR_SSL_CONN_EOF -0x7280

typedef struct mbedtls_ssl_context mbedtls_ssl_context;

const char *mbedtls_ssl_get_alpn_protocol(const mbedtls_ssl_context *ssl);

#endif
