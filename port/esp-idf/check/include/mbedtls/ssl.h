/* Declaration-only stand-in for Mbed TLS 3.x mbedtls/ssl.h: the one call
 * ota32 makes on the context esp-tls hands out. */
#ifndef OTA32_CHECK_MBEDTLS_SSL_H
#define OTA32_CHECK_MBEDTLS_SSL_H

typedef struct mbedtls_ssl_context mbedtls_ssl_context;

const char *mbedtls_ssl_get_alpn_protocol(const mbedtls_ssl_context *ssl);

#endif
