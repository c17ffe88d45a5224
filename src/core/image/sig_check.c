/* Which signature block, if any, speaks for an image: ESP-IDF's order of
 * checks (key digest against eFuse, revocation, image digest, signature),
 * with the signature itself checked by the platform. */
#include "ota32/signature.h"

#include <stdio.h>
#include <string.h>

typedef enum verdict {
    V_OK = 0,
    V_UNKNOWN,  /* key digest not among the trusted ones */
    V_REVOKED,  /* trusted once, revoked since */
    V_DIGEST,   /* the block was signed over other bytes */
    V_BAD_SIG,  /* the signature does not verify */
    V_NO_CHECK, /* the platform cannot check this scheme */
} verdict;

static const char *verdict_name(verdict v)
{
    static const char *const names[] = {"verified",      "unknown key",
                                        "revoked key",   "signed over other bytes",
                                        "bad signature", "scheme not supported here"};
    return names[v];
}

static int trusted_slot(const ota32_trusted_keys *keys, const uint8_t d[OTA32_KEY_DIGEST_LEN])
{
    for (unsigned i = 0; keys && i < keys->count && i < OTA32_TRUSTED_KEYS_MAX; i++)
        if (memcmp(keys->digest[i], d, OTA32_KEY_DIGEST_LEN) == 0)
            return (int)i;
    return -1;
}

static verdict judge(const ota32_sig_block *b, const uint8_t *key_digest, const uint8_t *digest256,
                     const uint8_t *digest384, const ota32_secure_ops *ops,
                     const ota32_trusted_keys *keys, int *slot)
{
    *slot = trusted_slot(keys, key_digest);
    if (*slot < 0)
        return V_UNKNOWN;
    if (keys->revoked[*slot])
        return V_REVOKED;
    const uint8_t *digest = b->digest_len == 48 ? digest384 : digest256;
    if (!digest || !ops || !ops->verify)
        return V_NO_CHECK;
    if (memcmp(b->image_digest, digest, b->digest_len) != 0)
        return V_DIGEST;
    int rc = ops->verify(ops->ctx, b->raw, digest, b->digest_len);
    if (rc == OTA32_ERR_UNSUPPORTED)
        return V_NO_CHECK;
    return rc == OTA32_OK ? V_OK : V_BAD_SIG;
}

/* "block 0 RSA-3072 key cb2791a3...: unknown key; ..." into msg. */
static void describe(char *msg, size_t cap, const ota32_sig_sector *sec,
                     const ota32_sig_result *res, const verdict *v)
{
    size_t at = 0;
    for (unsigned i = 0; i < sec->count && at < cap; i++) {
        const uint8_t *k = res->key_digest[i];
        int n = snprintf(msg + at, cap - at,
                         "%sblock %u %s key %02x%02x%02x%02x%02x%02x%02x%02x...: %s", i ? "; " : "",
                         i, ota32_sig_scheme_name(sec->blocks[i].scheme), k[0], k[1], k[2], k[3],
                         k[4], k[5], k[6], k[7], verdict_name(v[i]));
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

int ota32_sig_check(const ota32_sig_sector *sec, const uint8_t digest256[OTA32_SHA256_LEN],
                    const uint8_t *digest384, const ota32_hash_ops *hash,
                    const ota32_secure_ops *ops, const ota32_trusted_keys *keys,
                    ota32_sig_result *res, ota32_diag *diag)
{
    if (!sec || !res)
        return OTA32_ERR_INVALID_ARG;
    memset(res, 0, sizeof *res);
    res->block = res->key_slot = -1;
    res->count = sec->count;
    if (sec->count == 0)
        return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, -1,
                               "the image is not signed (no signature block)");
    verdict v[OTA32_SIG_BLOCKS_MAX];
    for (unsigned i = 0; i < sec->count; i++) {
        int rc = ota32_sig_key_digest(hash, &sec->blocks[i], res->key_digest[i]);
        if (rc != OTA32_OK)
            return rc;
        int slot;
        v[i] = judge(&sec->blocks[i], res->key_digest[i], digest256, digest384, ops, keys, &slot);
        if (v[i] == V_OK && res->block < 0) {
            res->block = (int)i;
            res->key_slot = slot;
        }
    }
    if (res->block >= 0)
        return OTA32_OK;
    char msg[OTA32_DIAG_MSG_MAX - 48];
    msg[0] = '\0';
    describe(msg, sizeof msg, sec, res, v);
    return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, -1, "no trusted signature: %s", msg);
}
