/* Secure Boot v2 signature sectors in `ota32 image info` and `ota32 image
 * verify --key`: the same parse and the same decision as a device, with the
 * keys given on the command line standing in for the eFuse digests. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "posix_hash.h"
#include "posix_sig.h"
#include "sbv2.h"
#include "sig_util.h"
#include "util.h"

unsigned sig_option_values(int argc, char **argv, const char *name, const char **out, unsigned max)
{
    unsigned n = 0;
    size_t len = strlen(name);
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], name) && i + 1 < argc)
            v = argv[++i];
        else if (!strncmp(argv[i], name, len) && argv[i][len] == '=')
            v = argv[i] + len + 1;
        if (v && n < max)
            out[n] = v;
        n += v != NULL;
    }
    return n > max ? max + 1 : n;
}

int sig_sector_of(const char *path, const uint8_t *data, size_t len, const ota32_image_info *in,
                  ota32_sig_sector *sec)
{
    uint64_t end = (uint64_t)in->sig_offset + OTA32_SIG_SECTOR_LEN;
    if (len != end) {
        util_fail("%s: offset 0x%x: signature sector: file has %zu bytes, expected %llu", path,
                  (unsigned)in->sig_offset, len, (unsigned long long)end);
        return 1;
    }
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = ota32_sig_sector_parse(data + in->sig_offset, OTA32_SIG_SECTOR_LEN, sec, &d);
    if (rc != OTA32_OK) {
        util_fail("%s: offset 0x%lx: %s", path,
                  (unsigned long)in->sig_offset + (unsigned long)d.offset, d.msg);
        return 1;
    }
    return 0;
}

/* Whether block b's image digest is the one of the bytes before the sector. */
static bool digest_matches(const uint8_t *data, const ota32_image_info *in,
                           const ota32_sig_block *b)
{
    uint8_t d256[32], d384[48];
    if (sbv2_digests(data, in->sig_offset, d256, d384) != OTA32_OK)
        return false;
    return memcmp(b->image_digest, b->digest_len == 48 ? d384 : d256, b->digest_len) == 0;
}

void sig_print_blocks(const char *path, const uint8_t *data, size_t len, const ota32_image_info *in)
{
    if (!in->sig_present)
        return;
    ota32_sig_sector sec;
    printf("\nSecure Boot v2 signature sector at 0x%x\n", (unsigned)in->sig_offset);
    if (sig_sector_of(path, data, len, in, &sec) != 0)
        return;
    for (unsigned i = 0; i < sec.count; i++) {
        uint8_t kd[OTA32_KEY_DIGEST_LEN];
        char hex[2 * OTA32_KEY_DIGEST_LEN + 1];
        ota32_sig_key_digest(ota32_posix_hash(), &sec.blocks[i], kd);
        util_hex(kd, sizeof kd, hex);
        printf("Signature block %u: %s, image digest %s, public key digest %s\n", i,
               ota32_sig_scheme_name(sec.blocks[i].scheme),
               digest_matches(data, in, &sec.blocks[i]) ? "valid" : "invalid", hex);
    }
    if (sec.count == 0)
        printf("No signature blocks\n");
}

void sig_add_json(cJSON *sig, const uint8_t *data, size_t len, const ota32_image_info *in)
{
    ota32_sig_sector sec;
    if (!in->sig_present || len != (uint64_t)in->sig_offset + OTA32_SIG_SECTOR_LEN ||
        ota32_sig_sector_parse(data + in->sig_offset, OTA32_SIG_SECTOR_LEN, &sec, NULL) !=
            OTA32_OK) {
        cJSON_AddNullToObject(sig, "blocks");
        return;
    }
    cJSON *arr = cJSON_AddArrayToObject(sig, "blocks");
    for (unsigned i = 0; i < sec.count; i++) {
        uint8_t kd[OTA32_KEY_DIGEST_LEN];
        char hex[2 * OTA32_KEY_DIGEST_LEN + 1];
        ota32_sig_key_digest(ota32_posix_hash(), &sec.blocks[i], kd);
        util_hex(kd, sizeof kd, hex);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "scheme", ota32_sig_scheme_name(sec.blocks[i].scheme));
        cJSON_AddBoolToObject(b, "image_digest_valid", digest_matches(data, in, &sec.blocks[i]));
        cJSON_AddStringToObject(b, "key_digest", hex);
        cJSON_AddItemToArray(arr, b);
    }
}

/* One key against every block: prints its outcome, true when one verified. */
static bool verify_one_key(const char *path, const char *key_path, const ota32_sig_sector *sec,
                           const uint8_t *d256, const uint8_t *d384)
{
    sbv2_key k;
    ota32_diag d;
    ota32_diag_clear(&d);
    if (sbv2_key_load(key_path, &k, &d) != OTA32_OK) {
        util_fail("%s", d.msg);
        return false;
    }
    ota32_trusted_keys keys = {.count = 1};
    memcpy(keys.digest[0], k.digest, OTA32_KEY_DIGEST_LEN);
    ota32_secure_ops ops = {.verify = ota32_posix_sig_verify};
    ota32_sig_result res;
    int rc = ota32_sig_check(sec, d256, d384, ota32_posix_hash(), &ops, &keys, &res, &d);
    char hex[2 * OTA32_KEY_DIGEST_LEN + 1];
    util_hex(k.digest, sizeof k.digest, hex);
    if (rc == OTA32_OK)
        printf("%s: signature block %d (%s) verified with %s (key digest %s)\n", path, res.block,
               ota32_sig_scheme_name(sec->blocks[res.block].scheme), key_path, hex);
    else
        fprintf(stderr, "ota32: %s: not signed by %s (key digest %s): %s\n", path, key_path, hex,
                d.msg);
    sbv2_key_free(&k);
    return rc == OTA32_OK;
}

int sig_verify_with_keys(const char *path, const uint8_t *data, size_t len,
                         const ota32_image_info *in, const char *const *keys, unsigned nkeys)
{
    if (!in->sig_present)
        return util_fail("%s: the image is not signed (no Secure Boot v2 signature sector after "
                         "it)",
                         path);
    ota32_sig_sector sec;
    if (sig_sector_of(path, data, len, in, &sec) != 0)
        return 1;
    if (sec.count == 0)
        return util_fail("%s: offset 0x%x: the signature sector holds no signature block", path,
                         (unsigned)in->sig_offset);
    uint8_t d256[32], d384[48];
    if (sbv2_digests(data, in->sig_offset, d256, d384) != OTA32_OK)
        return util_fail("%s: hashing failed", path);
    bool any = false;
    for (unsigned i = 0; i < nkeys; i++)
        any |= verify_one_key(path, keys[i], &sec, d256, d384);
    return any ? 0 : 1;
}
