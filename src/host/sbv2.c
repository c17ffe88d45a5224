/* Secure Boot v2 keys and signature blocks with OpenSSL (EVP). Numbers go
 * into blocks little-endian, as the ESP32's RSA peripheral and micro-ecc
 * read them; rinv and mdash are the Montgomery constants the ROM needs. */
#include "sbv2.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ota32/crc.h"

#define RSA_LEN 384

void sbv2_key_free(sbv2_key *k)
{
    if (k) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
    }
}

/* n, e, rinv = 2^6144 mod n, mdash = -n^-1 mod 2^32. */
static int rsa_material(sbv2_key *k)
{
    BIGNUM *n = NULL, *e = NULL, *r = BN_new(), *w = BN_new(), *inv = NULL;
    BN_CTX *bc = BN_CTX_new();
    int ok = r && w && bc && EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) &&
             EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e) && BN_num_bits(n) == 3072 &&
             BN_num_bits(e) <= 32;
    ok = ok && BN_bn2lebinpad(n, k->material, RSA_LEN) == RSA_LEN && BN_set_word(r, 1) &&
         BN_lshift(r, r, 2 * 3072) && BN_mod(r, r, n, bc) &&
         BN_bn2lebinpad(r, k->material + RSA_LEN + 4, RSA_LEN) == RSA_LEN && BN_set_word(w, 1) &&
         BN_lshift(w, w, 32) && (inv = BN_mod_inverse(NULL, n, w, bc));
    if (ok) {
        ota32_put_le32(k->material + RSA_LEN, (uint32_t)BN_get_word(e));
        uint32_t m = (uint32_t)(0u - (uint32_t)BN_get_word(inv));
        ota32_put_le32(k->material + 2 * RSA_LEN + 4, m);
        k->material_len = 2 * RSA_LEN + 8;
        k->scheme = OTA32_SIG_RSA3072;
    }
    BN_free(n);
    BN_free(e);
    BN_free(r);
    BN_free(w);
    BN_free(inv);
    BN_CTX_free(bc);
    return ok ? OTA32_OK : OTA32_ERR_UNSUPPORTED;
}

/* curve id, then x and y little-endian, in a 64- or 96-byte field. */
static int ec_material(sbv2_key *k)
{
    char group[32] = "";
    size_t glen = 0;
    if (!EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        &glen))
        return OTA32_ERR_UNSUPPORTED;
    unsigned c, field;
    if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256")) {
        k->scheme = OTA32_SIG_ECDSA_P256, c = 32, field = 64, k->material[0] = 2;
    } else if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384")) {
        k->scheme = OTA32_SIG_ECDSA_P384, c = 48, field = 96, k->material[0] = 3;
    } else if (!strcmp(group, "prime192v1") || !strcmp(group, "P-192")) {
        k->scheme = OTA32_SIG_ECDSA_P192, c = 24, field = 64, k->material[0] = 1;
    } else {
        return OTA32_ERR_UNSUPPORTED;
    }
    BIGNUM *x = NULL, *y = NULL;
    memset(k->material + 1, 0, field);
    int ok = EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) &&
             EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) &&
             BN_bn2lebinpad(x, k->material + 1, (int)c) == (int)c &&
             BN_bn2lebinpad(y, k->material + 1 + c, (int)c) == (int)c;
    BN_free(x);
    BN_free(y);
    k->material_len = (uint16_t)(1 + field);
    return ok ? OTA32_OK : OTA32_ERR_UNSUPPORTED;
}

static EVP_PKEY *read_pem(const char *path, bool *is_private)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    *is_private = k != NULL;
    if (!k) {
        rewind(f);
        k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    }
    fclose(f);
    return k;
}

int sbv2_key_load(const char *path, sbv2_key *out, ota32_diag *diag)
{
    memset(out, 0, sizeof *out);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return ota32_diag_fail(diag, OTA32_ERR_NOT_FOUND, 0, -1, "%s: cannot open", path);
    fclose(probe);
    out->pkey = read_pem(path, &out->is_private);
    if (!out->pkey)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, -1,
                               "%s: not a PEM private or public key", path);
    int rc = EVP_PKEY_is_a(out->pkey, "RSA")  ? rsa_material(out)
             : EVP_PKEY_is_a(out->pkey, "EC") ? ec_material(out)
                                              : OTA32_ERR_UNSUPPORTED;
    if (rc == OTA32_OK) {
        unsigned dlen = 0;
        if (!EVP_Digest(out->material, out->material_len, out->digest, &dlen, EVP_sha256(), NULL))
            rc = OTA32_ERR_NO_MEM;
    }
    if (rc != OTA32_OK) {
        int bits = EVP_PKEY_get_bits(out->pkey);
        const char *type = EVP_PKEY_get0_type_name(out->pkey);
        ota32_diag_fail(diag, rc, 0, -1,
                        "%s: Secure Boot v2 takes RSA-3072 or ECDSA P-192/P-256/P-384 keys, "
                        "not a %d-bit %s key",
                        path, bits, type ? type : "unknown");
        sbv2_key_free(out);
        return rc;
    }
    return OTA32_OK;
}

int sbv2_digests(const uint8_t *data, size_t len, uint8_t d256[32], uint8_t d384[48])
{
    unsigned n = 0;
    if (!EVP_Digest(data, len, d256, &n, EVP_sha256(), NULL) ||
        (d384 && !EVP_Digest(data, len, d384, &n, EVP_sha384(), NULL)))
        return OTA32_ERR_NO_MEM;
    return OTA32_OK;
}

/* The raw signature over `digest` into out (LE, as the block holds it). */
static int sign_digest(const sbv2_key *k, const uint8_t *digest, size_t dlen, uint8_t *out)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k->pkey, NULL);
    const EVP_MD *md = dlen == 48 ? EVP_sha384() : EVP_sha256();
    int ok = pc && EVP_PKEY_sign_init(pc) > 0 && EVP_PKEY_CTX_set_signature_md(pc, md) > 0;
    if (ok && k->scheme == OTA32_SIG_RSA3072)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) > 0;
    uint8_t sig[512];
    size_t slen = sizeof sig;
    ok = ok && EVP_PKEY_sign(pc, sig, &slen, digest, dlen) > 0;
    EVP_PKEY_CTX_free(pc);
    if (!ok)
        return OTA32_ERR_VERIFY;
    if (k->scheme == OTA32_SIG_RSA3072) {
        if (slen != RSA_LEN)
            return OTA32_ERR_VERIFY;
        for (size_t i = 0; i < RSA_LEN; i++)
            out[i] = sig[RSA_LEN - 1 - i];
        return OTA32_OK;
    }
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
    int c = k->scheme == OTA32_SIG_ECDSA_P384 ? 48 : k->scheme == OTA32_SIG_ECDSA_P256 ? 32 : 24;
    ok = es && BN_bn2lebinpad(ECDSA_SIG_get0_r(es), out, c) == c &&
         BN_bn2lebinpad(ECDSA_SIG_get0_s(es), out + c, c) == c;
    ECDSA_SIG_free(es);
    return ok ? OTA32_OK : OTA32_ERR_VERIFY;
}

int sbv2_sign_block(const sbv2_key *k, const uint8_t *data, size_t len,
                    uint8_t block[OTA32_SIG_BLOCK_LEN], ota32_diag *diag)
{
    if (!k->is_private)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "signing needs a private key, not a public one");
    uint8_t d256[32], d384[48];
    bool p384 = k->scheme == OTA32_SIG_ECDSA_P384;
    if (sbv2_digests(data, len, d256, p384 ? d384 : NULL) != OTA32_OK)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "hashing the image failed");
    size_t dlen = p384 ? 48 : 32;
    memset(block, 0, OTA32_SIG_BLOCK_LEN);
    block[0] = OTA32_SIG_BLOCK_MAGIC;
    block[1] = k->scheme == OTA32_SIG_RSA3072 ? OTA32_SIG_VERSION_RSA : OTA32_SIG_VERSION_ECDSA;
    block[2] = p384 ? 1 : 0; /* ECDSA sha_version; RSA reserved */
    memcpy(block + 4, p384 ? d384 : d256, dlen);
    uint8_t *key_at = block + 4 + dlen;
    memcpy(key_at, k->material, k->material_len);
    if (sign_digest(k, p384 ? d384 : d256, dlen, key_at + k->material_len) != OTA32_OK)
        return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, -1, "OpenSSL could not sign with %s",
                               ota32_sig_scheme_name(k->scheme));
    ota32_put_le32(block + OTA32_SIG_BLOCK_CRC_OFFSET,
                   ota32_crc32_le(0, block, OTA32_SIG_BLOCK_CRC_OFFSET));
    return OTA32_OK;
}
