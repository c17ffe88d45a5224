/* Declaration-only stand-in for Mbed TLS 3.x mbedtls/sha256.h as ESP-IDF
 * v5.1-v5.5 ships it (hardware-backed on ESP32). The context is opaque here. */
#ifndef OTA32_CHECK_MBEDTLS_SHA256_H
#define OTA32_CHECK_MBEDTLS_SHA256_H

#include <stddef.h>

typedef struct mbedtls_sha256_context {
    unsigned char opaque_[216];
} mbedtls_sha256_context;

void mbedtls_sha256_init(mbedtls_sha256_context *ctx);
void mbedtls_sha256_free(mbedtls_sha256_context *ctx);
void mbedtls_sha256_clone(mbedtls_sha256_context *dst, const mbedtls_sha256_context *src);
int mbedtls_sha256_starts(mbedtls_sha256_context *ctx, int is224);
int mbedtls_sha256_update(mbedtls_sha256_context *ctx, const unsigned char *input, size_t ilen);
int mbedtls_sha256_finish(mbedtls_sha256_context *ctx, unsigned char *output);

#endif
