/* The Secure Boot v2 signature sector parser and the trust decision on
 * arbitrary bytes. Input: one mode byte, then the sector (cut or padded with
 * 0xFF to 4 KB when bit 1 of the mode is set; else given as is). Mode bit 0
 * recomputes the CRC of every block that starts with the magic, so the
 * fuzzer gets past the CRC to the fields behind it. The trusted keys are the
 * blocks' own digests, chosen and revoked by the mode bits; a stand-in
 * verify op accepts a block when its last signature byte is even.
 * Invariants: a parse fails or describes blocks inside the sector with the
 * key lengths of their schemes; a parse is repeatable; an accepted block is
 * trusted, not revoked, and signed over the digest given. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ota32/crc.h"
#include "ota32/signature.h"
#include "posix_hash.h"

static const uint8_t the_digest[48] = {1, 2, 3};

static int fake_verify(void *ctx, const uint8_t *block, const uint8_t *digest, size_t len)
{
    (void)ctx;
    if (memcmp(block + 4, digest, len) != 0)
        abort(); /* the core must check the digest first */
    return block[OTA32_SIG_BLOCK_CRC_OFFSET - 1] % 2 ? OTA32_ERR_VERIFY : OTA32_OK;
}

static void check_blocks(const uint8_t *sec, const ota32_sig_sector *s)
{
    if (s->count > OTA32_SIG_BLOCKS_MAX)
        abort();
    for (unsigned i = 0; i < s->count; i++) {
        const ota32_sig_block *b = &s->blocks[i];
        size_t want = b->scheme == OTA32_SIG_RSA3072      ? 776
                      : b->scheme == OTA32_SIG_ECDSA_P384 ? 97
                                                          : 65;
        if (b->raw != sec + i * OTA32_SIG_BLOCK_LEN || b->key_len != want ||
            b->key + b->key_len > b->raw + OTA32_SIG_BLOCK_CRC_OFFSET ||
            (b->digest_len != 32 && b->digest_len != 48))
            abort();
    }
}

static void check_trust(const ota32_sig_sector *s, uint8_t mode)
{
    ota32_trusted_keys keys = {0};
    for (unsigned i = 0; i < s->count; i++) {
        if (!(mode & (4u << i)))
            continue;
        ota32_sig_key_digest(ota32_posix_hash(), &s->blocks[i], keys.digest[keys.count]);
        keys.revoked[keys.count++] = mode & (32u << i);
    }
    ota32_secure_ops ops = {.verify = fake_verify};
    ota32_sig_result res;
    ota32_diag d;
    int rc = ota32_sig_check(s, the_digest, the_digest, ota32_posix_hash(), &ops, &keys, &res, &d);
    if (rc == OTA32_OK) {
        if (res.block < 0 || res.key_slot < 0 || keys.revoked[res.key_slot] ||
            memcmp(keys.digest[res.key_slot], res.key_digest[res.block], 32) != 0)
            abort();
    } else if (rc != OTA32_ERR_VERIFY || res.block != -1 || !d.msg[0]) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t len = size - 1;
    static uint8_t sec[OTA32_SIG_SECTOR_LEN + 64];
    memset(sec, 0xFF, sizeof sec);
    if (mode & 2)
        len = OTA32_SIG_SECTOR_LEN;
    memcpy(sec, data + 1, size - 1 < sizeof sec ? size - 1 : sizeof sec);
    if (len > sizeof sec)
        len = sizeof sec;
    for (size_t at = 0; (mode & 1) && at + OTA32_SIG_BLOCK_LEN <= len; at += OTA32_SIG_BLOCK_LEN)
        if (sec[at] == OTA32_SIG_BLOCK_MAGIC)
            ota32_put_le32(sec + at + OTA32_SIG_BLOCK_CRC_OFFSET,
                           ota32_crc32_le(0, sec + at, OTA32_SIG_BLOCK_CRC_OFFSET));
    ota32_sig_sector s, again;
    ota32_diag d;
    int rc = ota32_sig_sector_parse(sec, len, &s, &d);
    int rc2 = ota32_sig_sector_parse(sec, len, &again, NULL);
    if (rc != rc2 || (rc == OTA32_OK) != (len == OTA32_SIG_SECTOR_LEN && rc == OTA32_OK))
        abort();
    if (rc != OTA32_OK) {
        if (rc != OTA32_ERR_CORRUPT || s.count != 0 || !d.msg[0])
            abort();
        return 0;
    }
    if (memcmp(&s, &again, sizeof s) != 0)
        abort();
    check_blocks(sec, &s);
    check_trust(&s, mode);
    return 0;
}
