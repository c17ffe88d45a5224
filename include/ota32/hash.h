/*
 * Hashing comes from the platform so a device can use its SHA accelerator
 * (mbedTLS on ESP-IDF) and the host uses OpenSSL. The core only streams bytes
 * through these callbacks.
 */
#ifndef OTA32_HASH_H
#define OTA32_HASH_H

#include "ota32/ota32.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ota32_hash_alg {
    OTA32_HASH_SHA256 = 0, /* 32-byte digest */
    OTA32_HASH_MD5 = 1,    /* 16-byte digest (partition table only) */
} ota32_hash_alg;

#define OTA32_SHA256_LEN 32
#define OTA32_MD5_LEN 16

typedef struct ota32_hash_ops {
    void *ctx;
    /* Start a hash; returns an opaque handle or NULL when out of memory. */
    void *(*start)(void *ctx, ota32_hash_alg alg);
    int (*update)(void *ctx, void *h, const void *data, size_t len);
    /* Writes the digest to `out` (if not NULL) and always releases `h`. */
    int (*finish)(void *ctx, void *h, uint8_t *out);
    /* Copies a running hash (so a verifier can peek at an intermediate
     * digest). Returns a new handle or NULL. */
    void *(*clone)(void *ctx, void *h);
} ota32_hash_ops;

/* One-shot helper over the ops. */
int ota32_hash_buf(const ota32_hash_ops *ops, ota32_hash_alg alg, const void *data, size_t len,
                   uint8_t *out);

#ifdef __cplusplus
}
#endif
#endif
