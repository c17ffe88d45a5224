/*
 * SHA-256 and MD5 through mbedTLS. ESP-IDF routes mbedtls_sha256_* to the
 * SHA accelerator (and falls back to software when the engine is busy, e.g.
 * for a clone), so image verification hashes at hardware speed.
 */
#include "mbedtls/md5.h"
#include "mbedtls/sha256.h"

#include "ota32_esp_priv.h"

typedef struct esp_hash {
    ota32_hash_alg alg;
    union {
        mbedtls_sha256_context sha256;
        mbedtls_md5_context md5;
    } u;
} esp_hash;

static void *hash_start(void *ctx, ota32_hash_alg alg)
{
    if (alg != OTA32_HASH_SHA256 && alg != OTA32_HASH_MD5)
        return NULL;
    esp_hash *h = ota32_alloc_count_malloc(ctx, sizeof *h);
    if (!h)
        return NULL;
    h->alg = alg;
    int rc;
    if (alg == OTA32_HASH_SHA256) {
        mbedtls_sha256_init(&h->u.sha256);
        rc = mbedtls_sha256_starts(&h->u.sha256, 0);
    } else {
        mbedtls_md5_init(&h->u.md5);
        rc = mbedtls_md5_starts(&h->u.md5);
    }
    if (rc != 0) {
        if (alg == OTA32_HASH_SHA256)
            mbedtls_sha256_free(&h->u.sha256);
        else
            mbedtls_md5_free(&h->u.md5);
        ota32_alloc_count_free(ctx, h);
        return NULL;
    }
    return h;
}

static int hash_update(void *ctx, void *hv, const void *data, size_t len)
{
    (void)ctx;
    esp_hash *h = hv;
    int rc = h->alg == OTA32_HASH_SHA256 ? mbedtls_sha256_update(&h->u.sha256, data, len)
                                         : mbedtls_md5_update(&h->u.md5, data, len);
    return rc == 0 ? OTA32_OK : OTA32_ERR_IO;
}

static int hash_finish(void *ctx, void *hv, uint8_t *out)
{
    esp_hash *h = hv;
    uint8_t scratch[OTA32_SHA256_LEN]; /* the digest when the caller wants none */
    unsigned char *d = out ? out : scratch;
    int rc;
    if (h->alg == OTA32_HASH_SHA256) {
        rc = mbedtls_sha256_finish(&h->u.sha256, d);
        mbedtls_sha256_free(&h->u.sha256);
    } else {
        rc = mbedtls_md5_finish(&h->u.md5, d);
        mbedtls_md5_free(&h->u.md5);
    }
    ota32_alloc_count_free(ctx, h);
    return rc == 0 ? OTA32_OK : OTA32_ERR_IO;
}

static void *hash_clone(void *ctx, void *hv)
{
    const esp_hash *h = hv;
    esp_hash *c = ota32_alloc_count_malloc(ctx, sizeof *c);
    if (!c)
        return NULL;
    c->alg = h->alg;
    if (h->alg == OTA32_HASH_SHA256) {
        mbedtls_sha256_init(&c->u.sha256);
        mbedtls_sha256_clone(&c->u.sha256, &h->u.sha256);
    } else {
        mbedtls_md5_init(&c->u.md5);
        mbedtls_md5_clone(&c->u.md5, &h->u.md5);
    }
    return c;
}

ota32_hash_ops ota32_esp_hash_ops(ota32_esp_alloc *a)
{
    ota32_hash_ops ops = {
        .ctx = a,
        .start = hash_start,
        .update = hash_update,
        .finish = hash_finish,
        .clone = hash_clone,
    };
    return ops;
}
