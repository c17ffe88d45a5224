#include "ota32/hash.h"

int ota32_hash_buf(const ota32_hash_ops *ops, ota32_hash_alg alg, const void *data, size_t len,
                   uint8_t *out)
{
    if (!ops || !ops->start)
        return OTA32_ERR_INVALID_ARG;
    void *h = ops->start(ops->ctx, alg);
    if (!h)
        return OTA32_ERR_NO_MEM;
    int rc = ops->update(ops->ctx, h, data, len);
    int rc2 = ops->finish(ops->ctx, h, rc == OTA32_OK ? out : NULL);
    return rc != OTA32_OK ? rc : rc2;
}
