/* The Secure Boot v2 signature sector (espsecure's sign_secure_boot_v2,
 * ESP-IDF's ets_secure_boot_sig_block_t): decoded byte by byte, strictly,
 * so that no byte of a block or of the fill after the blocks can change
 * without the parse failing or the block's meaning changing with it. */
#include "ota32/signature.h"

#include <string.h>

#include "bytes.h"
#include "ota32/crc.h"
#include "ota32/image.h"

/* Block field offsets. */
enum {
    B_MAGIC = 0,
    B_VERSION = 1,
    B_RSA_RESERVED = 2, /* 2 bytes */
    B_DIGEST = 4,
    B_RSA_KEY = 36,  /* n[384], e, rinv[384], mdash: 776 bytes */
    B_RSA_SIG = 812, /* 384 bytes */
    B_ECDSA_SHA = 2, /* 0 SHA-256, 1 SHA-384 */
    B_ECDSA_RES = 3,
    B_EC256_KEY = 36, /* curve id, x, y: 65 bytes */
    B_EC256_END = 165,
    B_EC384_KEY = 52, /* curve id, x, y: 97 bytes */
    B_EC384_END = 245,
};
_Static_assert(B_RSA_SIG + 384 == OTA32_SIG_BLOCK_CRC_OFFSET, "RSA block layout");

#define CURVE_P192 1u
#define CURVE_P256 2u
#define CURVE_P384 3u

const char *ota32_sig_scheme_name(ota32_sig_scheme s)
{
    static const char *const names[] = {
        [OTA32_SIG_RSA3072] = "RSA-3072",
        [OTA32_SIG_ECDSA_P192] = "ECDSA-P192",
        [OTA32_SIG_ECDSA_P256] = "ECDSA-P256",
        [OTA32_SIG_ECDSA_P384] = "ECDSA-P384",
    };
    unsigned i = (unsigned)s;
    return i < sizeof names / sizeof names[0] && names[i] ? names[i] : "unknown";
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int decode_ecdsa(const uint8_t *b, long at, unsigned idx, ota32_sig_block *out,
                        ota32_diag *diag)
{
    uint8_t sha = b[B_ECDSA_SHA];
    if (sha > 1)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, at + B_ECDSA_SHA,
                               "signature block %u: sha_version %u (0 SHA-256, 1 SHA-384)", idx,
                               sha);
    if (b[B_ECDSA_RES])
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, at + B_ECDSA_RES,
                               "signature block %u: reserved byte is 0x%02x, not 0", idx,
                               b[B_ECDSA_RES]);
    unsigned key_at = sha ? B_EC384_KEY : B_EC256_KEY;
    unsigned end = sha ? B_EC384_END : B_EC256_END;
    uint8_t curve = b[key_at];
    bool ok = sha ? curve == CURVE_P384 : (curve == CURVE_P192 || curve == CURVE_P256);
    if (!ok)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, at + key_at,
                               "signature block %u: curve id %u does not go with %s", idx, curve,
                               sha ? "SHA-384" : "SHA-256");
    if (!all_zero(b + end, OTA32_SIG_BLOCK_CRC_OFFSET - end))
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, at + end,
                               "signature block %u: bytes after the ECDSA signature are not zero",
                               idx);
    out->scheme = curve == CURVE_P384   ? OTA32_SIG_ECDSA_P384
                  : curve == CURVE_P256 ? OTA32_SIG_ECDSA_P256
                                        : OTA32_SIG_ECDSA_P192;
    out->digest_len = sha ? 48 : 32;
    out->key = b + key_at;
    out->key_len = sha ? 97 : 65;
    return OTA32_OK;
}

/* One block that starts with the magic: CRC, version, fields, padding. */
static int decode_block(const uint8_t *b, long at, unsigned idx, ota32_sig_block *out,
                        ota32_diag *diag)
{
    memset(out, 0, sizeof *out);
    uint32_t stored = ota32_le32(b + OTA32_SIG_BLOCK_CRC_OFFSET);
    uint32_t calc = ota32_crc32_le(0, b, OTA32_SIG_BLOCK_CRC_OFFSET);
    if (stored != calc)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, at + OTA32_SIG_BLOCK_CRC_OFFSET,
                               "signature block %u: CRC-32 0x%08x, computed 0x%08x", idx,
                               (unsigned)stored, (unsigned)calc);
    if (!all_zero(b + OTA32_SIG_BLOCK_CRC_OFFSET + 4, OTA32_SIG_BLOCK_PAD_LEN))
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, at + OTA32_SIG_BLOCK_CRC_OFFSET + 4,
                               "signature block %u: the 16 bytes after the CRC are not zero", idx);
    out->raw = b;
    out->image_digest = b + B_DIGEST;
    if (b[B_VERSION] == OTA32_SIG_VERSION_ECDSA)
        return decode_ecdsa(b, at, idx, out, diag);
    if (b[B_VERSION] != OTA32_SIG_VERSION_RSA)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, at + B_VERSION,
                               "signature block %u: version 0x%02x (0x02 RSA, 0x03 ECDSA)", idx,
                               b[B_VERSION]);
    if (b[B_RSA_RESERVED] || b[B_RSA_RESERVED + 1])
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, at + B_RSA_RESERVED,
                               "signature block %u: reserved bytes are not 0", idx);
    out->scheme = OTA32_SIG_RSA3072;
    out->digest_len = 32;
    out->key = b + B_RSA_KEY;
    out->key_len = B_RSA_SIG - B_RSA_KEY;
    return OTA32_OK;
}

int ota32_sig_sector_parse(const uint8_t *sector, size_t len, ota32_sig_sector *out,
                           ota32_diag *diag)
{
    if (!sector || !out)
        return OTA32_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    if (len != OTA32_SIG_SECTOR_LEN)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)len,
                               "signature sector is %zu bytes, not %u", len, OTA32_SIG_SECTOR_LEN);
    size_t pos = 0;
    for (unsigned i = 0; i < OTA32_SIG_BLOCKS_MAX && sector[pos] == OTA32_SIG_BLOCK_MAGIC; i++) {
        int rc = decode_block(sector + pos, (long)pos, i, &out->blocks[i], diag);
        if (rc != OTA32_OK) {
            out->count = 0;
            return rc;
        }
        out->count = i + 1;
        pos += OTA32_SIG_BLOCK_LEN;
    }
    for (size_t i = pos; i < len; i++)
        if (sector[i] != 0xFF) {
            out->count = 0;
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)i,
                                   "signature sector: byte 0x%02x after %u block%s, where only "
                                   "0xFF fill may follow",
                                   sector[i], (unsigned)(pos / OTA32_SIG_BLOCK_LEN),
                                   pos == OTA32_SIG_BLOCK_LEN ? "" : "s");
        }
    return OTA32_OK;
}

int ota32_sig_key_digest(const ota32_hash_ops *hash, const ota32_sig_block *b,
                         uint8_t out[OTA32_KEY_DIGEST_LEN])
{
    if (!b || !b->key)
        return OTA32_ERR_INVALID_ARG;
    return ota32_hash_buf(hash, OTA32_HASH_SHA256, b->key, b->key_len, out);
}
