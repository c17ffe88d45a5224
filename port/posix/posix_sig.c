/* Secure Boot v2 signatures checked with OpenSSL (EVP): the block's key and
 * signature are little-endian numbers (the ESP32's RSA peripheral and
 * micro-ecc order), turned around into OpenSSL's big-endian forms. */
#include "posix_sig.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <string.h>

#include "bytes.h"

#define RSA_LEN 384u

static EVP_PKEY *key_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *key = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
        EVP_PKEY_fromdata(pc, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    return key;
}

static EVP_PKEY *rsa_key(const uint8_t *k)
{
    BIGNUM *n = BN_lebin2bn(k, RSA_LEN, NULL);
    BIGNUM *e = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *key = NULL;
    if (n && e && bld && BN_set_word(e, ota32_le32(k + RSA_LEN)) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        key = key_from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return key;
}

static unsigned coord_len(ota32_sig_scheme s)
{
    return s == OTA32_SIG_ECDSA_P384 ? 48 : s == OTA32_SIG_ECDSA_P256 ? 32 : 24;
}

static EVP_PKEY *ec_key(const ota32_sig_block *b)
{
    unsigned c = coord_len(b->scheme);
    const char *group = b->scheme == OTA32_SIG_ECDSA_P384   ? "P-384"
                        : b->scheme == OTA32_SIG_ECDSA_P256 ? "P-256"
                                                            : "P-192";
    uint8_t point[1 + 2 * 48];
    point[0] = 0x04; /* uncompressed */
    for (unsigned i = 0; i < c; i++) {
        point[1 + i] = b->key[1 + c - 1 - i];
        point[1 + c + i] = b->key[1 + 2 * c - 1 - i];
    }
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *key = NULL;
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * c))
        key = key_from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

EVP_PKEY *ota32_posix_sig_block_key(const ota32_sig_block *b)
{
    if (!b || !b->key)
        return NULL;
    return b->scheme == OTA32_SIG_RSA3072 ? rsa_key(b->key) : ec_key(b);
}

/* r||s little-endian -> DER ECDSA-Sig-Value. Returns its length, 0 on error. */
static int ec_der(const uint8_t *rs, unsigned c, unsigned char **der)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_lebin2bn(rs, (int)c, NULL), *s = BN_lebin2bn(rs + c, (int)c, NULL);
    int len = 0;
    if (sig && r && s && ECDSA_SIG_set0(sig, r, s)) {
        r = s = NULL; /* owned by sig */
        len = i2d_ECDSA_SIG(sig, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return len > 0 ? len : 0;
}

static int check(EVP_PKEY *key, const ota32_sig_block *b, const uint8_t *sig, size_t sig_len,
                 const uint8_t *digest, size_t digest_len)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key, NULL);
    const EVP_MD *md = digest_len == 48 ? EVP_sha384() : EVP_sha256();
    int ok = pc && EVP_PKEY_verify_init(pc) > 0 && EVP_PKEY_CTX_set_signature_md(pc, md) > 0;
    if (ok && b->scheme == OTA32_SIG_RSA3072)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) > 0;
    if (ok)
        ok = EVP_PKEY_verify(pc, sig, sig_len, digest, digest_len) == 1;
    EVP_PKEY_CTX_free(pc);
    return ok ? OTA32_OK : OTA32_ERR_VERIFY;
}

int ota32_posix_sig_verify(void *ctx, const uint8_t block[OTA32_SIG_BLOCK_LEN],
                           const uint8_t *digest, size_t digest_len)
{
    (void)ctx;
    ota32_sig_sector one;
    uint8_t sector[OTA32_SIG_SECTOR_LEN];
    memcpy(sector, block, OTA32_SIG_BLOCK_LEN);
    memset(sector + OTA32_SIG_BLOCK_LEN, 0xFF, sizeof sector - OTA32_SIG_BLOCK_LEN);
    if (ota32_sig_sector_parse(sector, sizeof sector, &one, NULL) != OTA32_OK || one.count != 1)
        return OTA32_ERR_VERIFY;
    const ota32_sig_block *b = &one.blocks[0];
    if (digest_len != b->digest_len)
        return OTA32_ERR_VERIFY;
    EVP_PKEY *key = ota32_posix_sig_block_key(b);
    if (!key)
        return OTA32_ERR_VERIFY;
    int rc;
    if (b->scheme == OTA32_SIG_RSA3072) {
        uint8_t sig[RSA_LEN];
        for (unsigned i = 0; i < RSA_LEN; i++)
            sig[i] = b->key[b->key_len + RSA_LEN - 1 - i]; /* the signature follows the key */
        rc = check(key, b, sig, sizeof sig, digest, digest_len);
    } else {
        unsigned c = coord_len(b->scheme);
        unsigned char *der = NULL;
        int n = ec_der(b->key + b->key_len, c, &der);
        rc = n ? check(key, b, der, (size_t)n, digest, digest_len) : OTA32_ERR_VERIFY;
        OPENSSL_free(der);
    }
    EVP_PKEY_free(key);
    return rc;
}
