/* Host signature checks for the core: a Secure Boot v2 block's RSA-3072-PSS
 * or ECDSA signature verified with OpenSSL from the public key the block
 * carries. */
#ifndef OTA32_POSIX_SIG_H
#define OTA32_POSIX_SIG_H

#include <openssl/evp.h>

#include "ota32/signature.h"

/* ota32_secure_ops.verify over OpenSSL (ctx unused). */
int ota32_posix_sig_verify(void *ctx, const uint8_t block[OTA32_SIG_BLOCK_LEN],
                           const uint8_t *digest, size_t digest_len);

/* The public key a parsed block carries, as an OpenSSL key (caller frees),
 * NULL when OpenSSL rejects it (e.g. a point not on the curve). */
EVP_PKEY *ota32_posix_sig_block_key(const ota32_sig_block *b);

#endif
