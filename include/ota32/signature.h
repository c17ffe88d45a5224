/*
 * Secure Boot v2 signatures, in ESP-IDF's format: the 4 KB signature sector
 * that follows an app image padded to a 64 KB boundary, holding up to three
 * 1,216-byte signature blocks (magic 0xE7; RSA-3072-PSS or ECDSA), the rest
 * 0xFF. See docs/signing.md.
 *
 * The core parses the sector and decides which block may speak for the
 * image (its key digest trusted and not revoked, its image digest equal to
 * the one taken on the stream); the signature arithmetic itself is the
 * platform's (`ota32_secure_ops.verify`: OpenSSL on the host, ESP-IDF's
 * Secure Boot v2 verification on a device). The core holds no crypto code.
 */
#ifndef OTA32_SIGNATURE_H
#define OTA32_SIGNATURE_H

#include "ota32/ota32.h"
#include "ota32/hash.h"
#include "ota32/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_SIG_BLOCK_LEN 1216u
#define OTA32_SIG_BLOCK_CRC_OFFSET 1196u /* CRC-32 of bytes [0, 1196) */
#define OTA32_SIG_BLOCK_PAD_LEN 16u      /* zero bytes after the CRC */
#define OTA32_SIG_BLOCKS_MAX 3u
#define OTA32_SIG_VERSION_RSA 0x02u
#define OTA32_SIG_VERSION_ECDSA 0x03u
#define OTA32_KEY_DIGEST_LEN 32u /* SHA-256 of the key as the block holds it */
#define OTA32_SIG_DIGEST_MAX 48u /* SHA-384 for P-384 blocks */
#define OTA32_TRUSTED_KEYS_MAX 3u

typedef enum ota32_sig_scheme {
    OTA32_SIG_RSA3072 = 1, /* RSA-3072, PSS, MGF1-SHA256, salt 32 */
    OTA32_SIG_ECDSA_P192 = 2,
    OTA32_SIG_ECDSA_P256 = 3,
    OTA32_SIG_ECDSA_P384 = 4, /* image digest SHA-384 */
} ota32_sig_scheme;

/* One block of a sector, decoded. Pointers are into the caller's sector. */
typedef struct ota32_sig_block {
    ota32_sig_scheme scheme;
    uint8_t digest_len;          /* 32 (SHA-256) or 48 (SHA-384) */
    const uint8_t *image_digest; /* the digest the block was signed over */
    const uint8_t *key;          /* the key as hashed for its digest */
    uint16_t key_len;            /* 776 (RSA), 65 (P-192, P-256), 97 (P-384) */
    const uint8_t *raw;          /* all OTA32_SIG_BLOCK_LEN bytes */
} ota32_sig_block;

typedef struct ota32_sig_sector {
    unsigned count; /* blocks present, from block 0 on (0..3) */
    ota32_sig_block blocks[OTA32_SIG_BLOCKS_MAX];
} ota32_sig_sector;

/* Parse a signature sector (`len` bytes, normally OTA32_SIG_SECTOR_LEN).
 * Blocks are read from block 0 on; the first position not starting with
 * magic 0xE7 ends them, and from there to the end of the sector every byte
 * must be 0xFF (as espsecure writes it). A block that starts with 0xE7 must
 * be whole: known version, scheme fields, CRC-32, zero padding. Any other
 * byte is an error: OTA32_ERR_CORRUPT with the sector offset and field
 * (a tampered block is never skipped over). `count` 0 is not an error here:
 * a sector of 0xFF holds no signature. */
int ota32_sig_sector_parse(const uint8_t *sector, size_t len, ota32_sig_sector *out,
                           ota32_diag *diag);

/* "RSA-3072", "ECDSA-P256", ... */
const char *ota32_sig_scheme_name(ota32_sig_scheme s);

/* The 32-byte key digest of a block, as eFuse holds it (what
 * `espsecure digest-sbv2-public-key` prints for its public key). */
int ota32_sig_key_digest(const ota32_hash_ops *hash, const ota32_sig_block *b,
                         uint8_t out[OTA32_KEY_DIGEST_LEN]);

/* The keys a device trusts: up to three digests (eFuse key blocks) and which
 * of them are revoked (ESP-IDF's key-revoke eFuses). */
typedef struct ota32_trusted_keys {
    unsigned count;
    uint8_t digest[OTA32_TRUSTED_KEYS_MAX][OTA32_KEY_DIGEST_LEN];
    bool revoked[OTA32_TRUSTED_KEYS_MAX];
} ota32_trusted_keys;

/* Authenticity and anti-rollback, from the platform. Every op may be NULL
 * where a platform does not offer it. */
typedef struct ota32_secure_ops {
    void *ctx;
    /* The trusted key digests. count 0 (or a NULL op): signatures are not
     * required. */
    int (*trusted_keys)(void *ctx, ota32_trusted_keys *out);
    /* Check one block's signature over `digest` (digest_len bytes: the
     * SHA-256 of the image before the sector, or SHA-384 for P-384).
     * OTA32_OK, OTA32_ERR_VERIFY (does not verify), OTA32_ERR_UNSUPPORTED
     * (scheme the platform cannot check). */
    int (*verify)(void *ctx, const uint8_t block[OTA32_SIG_BLOCK_LEN], const uint8_t *digest,
                  size_t digest_len);
    /* Anti-rollback: the lowest secure_version the device accepts (eFuse).
     * NULL: not enforced. */
    int (*min_secure_version)(void *ctx, uint32_t *out);
    /* (Raising it is the boot ops' mark_valid, as esp_ota_mark_app_valid_
     * cancel_rollback burns the eFuse once the new app confirms.) */
} ota32_secure_ops;

/* The outcome of ota32_sig_check. */
typedef struct ota32_sig_result {
    int block;    /* the block that verified, -1 when none */
    int key_slot; /* its trusted key (0..2), -1 when none */
    unsigned count;
    uint8_t key_digest[OTA32_SIG_BLOCKS_MAX][OTA32_KEY_DIGEST_LEN];
} ota32_sig_result;

/* Decide a parsed sector against trusted keys: accepted when one block's key
 * digest is trusted and not revoked, its image digest equals `digest`
 * (`digest_len` 32: SHA-256 of everything before the sector; a P-384 block
 * needs `digest384`, NULL when not computed) and ops->verify accepts its
 * signature. Otherwise OTA32_ERR_VERIFY with a message naming each block's
 * key digest and why it did not count (unknown key, revoked key, digest
 * mismatch, bad signature, unsupported). */
int ota32_sig_check(const ota32_sig_sector *sec, const uint8_t digest256[OTA32_SHA256_LEN],
                    const uint8_t *digest384, const ota32_hash_ops *hash,
                    const ota32_secure_ops *ops, const ota32_trusted_keys *keys,
                    ota32_sig_result *res, ota32_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
