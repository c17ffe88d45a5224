#include "posix_hash.h"

#include <openssl/evp.h>

static void *hash_start(void *ctx, ota32_hash_alg alg)
{
    (void)ctx;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    if (!h)
        return NULL;
    const EVP_MD *md = alg == OTA32_HASH_MD5 ? EVP_md5() : EVP_sha256();
    if (EVP_DigestInit_ex(h, md, NULL) != 1) {
        EVP_MD_CTX_free(h);
        return NULL;
    }
    return h;
}

static int hash_update(void *ctx, void *h, const void *data, size_t len)
{
    (void)ctx;
    return EVP_DigestUpdate(h, data, len) == 1 ? OTA32_OK : OTA32_ERR_IO;
}

static int hash_finish(void *ctx, void *h, uint8_t *out)
{
    (void)ctx;
    int rc = OTA32_OK;
    if (out) {
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(h, out, &n) != 1)
            rc = OTA32_ERR_IO;
    }
    EVP_MD_CTX_free(h);
    return rc;
}

static void *hash_clone(void *ctx, void *h)
{
    (void)ctx;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c && EVP_MD_CTX_copy_ex(c, h) != 1) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return c;
}

const ota32_hash_ops *ota32_posix_hash(void)
{
    static const ota32_hash_ops ops = {
        .ctx = NULL,
        .start = hash_start,
        .update = hash_update,
        .finish = hash_finish,
        .clone = hash_clone,
    };
    return &ops;
}
