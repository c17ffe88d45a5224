/*
 * Secure Boot v2 keys and signing on the host, with OpenSSL: PEM keys (RSA-3072,
 * ECDSA P-192/P-256/P-384, private or public), their eFuse key digest, and
 * signature blocks laid out byte for byte as `espsecure sign-data --version 2`
 * writes them.
 */
#ifndef OTA32_HOST_SBV2_H
#define OTA32_HOST_SBV2_H

#include <openssl/evp.h>

#include "ota32/signature.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded key: `pkey` plus what the block format needs. */
typedef struct sbv2_key {
    EVP_PKEY *pkey;
    bool is_private;
    ota32_sig_scheme scheme;
    uint8_t material[776]; /* the key as a block holds it (and hashes it) */
    uint16_t material_len; /* 776 RSA, 65 P-192/P-256, 97 P-384 */
    uint8_t digest[OTA32_KEY_DIGEST_LEN];
} sbv2_key;

/* Load a PEM key file (private: "PRIVATE KEY", "RSA/EC PRIVATE KEY"; or a
 * "PUBLIC KEY"). An unsupported key (RSA other than 3072 bits, another curve)
 * is OTA32_ERR_UNSUPPORTED; diag says why, naming the file. */
int sbv2_key_load(const char *path, sbv2_key *out, ota32_diag *diag);
void sbv2_key_free(sbv2_key *k);

/* One 1,216-byte signature block over `data` (everything before the
 * signature sector) with the private key `k`. */
int sbv2_sign_block(const sbv2_key *k, const uint8_t *data, size_t len,
                    uint8_t block[OTA32_SIG_BLOCK_LEN], ota32_diag *diag);

/* SHA-256 and SHA-384 of data, for checking blocks of either kind. */
int sbv2_digests(const uint8_t *data, size_t len, uint8_t d256[32], uint8_t d384[48]);

#ifdef __cplusplus
}
#endif
#endif
