/* Declaration-only stand-in for Mbed TLS 3.x mbedtls/md5.h (ESP-IDF v5.1-v5.5). */
#ifndef OTA32_CHECK_MBEDTLS_MD5_H
#define OTA32_CHECK_MBEDTLS_MD5_H

#include <stddef.h>

typedef struct mbedtls_md5_context {
    unsigned char opaque_[88];
} mbedtls_md5_context;

void mbedtls_md5_init(mbedtls_md5_context *ctx);
void mbedtls_md5_free(mbedtls_md5_context *ctx);
void mbedtls_md5_clone(mbedtls_md5_context *dst, const mbedtls_md5_context *src);
int mbedtls_md5_starts(mbedtls_md5_context *ctx);
int mbedtls_md5_update(mbedtls_md5_context *ctx, const unsigned char *input, size_t ilen);
int mbedtls_md5_finish(mbedtls_md5_context *ctx, unsigned char output[16]);

#endif
