/* `ota32 image sign`: Secure Boot v2 signature blocks appended as
 * `espsecure sign-data --version 2` does (same sector layout, byte for byte
 * outside the randomised signature values), and `ota32 key digest`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"
#include "posix_hash.h"
#include "posix_sig.h"
#include "sbv2.h"
#include "sig_util.h"
#include "util.h"

#define MAX_KEYS 3

typedef struct sign_args {
    const char *keys[MAX_KEYS];
    unsigned nkeys;
    bool append;
    const char *in, *out;
} sign_args;

enum { G_KEY, G_APPEND, G_OUTPUT, G_COUNT };

static const opt_def sign_opts[G_COUNT] = {
    [G_KEY] = {"-k --key", OPT_STRING, "KEY.pem",
               "a PEM private key; repeatable: one block per key, in\norder (required)", 0, 0, NULL,
               "file"},
    [G_APPEND] = {"--append", OPT_FLAG, NULL,
                  "IN is already signed: keep its blocks and add one per\n--key (at most three "
                  "in all); without it a signed IN\nis refused",
                  0, 0, NULL, NULL},
    [G_OUTPUT] = {"-o --output", OPT_STRING, "OUT", "the signed image (required)", 0, 0, NULL,
                  "file"},
};

const opt_cmd image_sign_cmd = {
    "image sign",
    "--key KEY.pem [--key KEY.pem ...] [--append] IN -o OUT",
    "Append a Secure Boot v2 signature sector to an app image, as\n"
    "`espsecure sign-data --version 2` does: one 4 KB sector after the image\n"
    "holding up to three 1,216-byte signature blocks, the rest 0xFF. Keys:\n"
    "RSA-3072 (RSA-PSS; the only kind the ESP32 takes) or ECDSA P-256 / P-384\n"
    "(newer chips), as PEM private keys. The image must be padded for signing\n"
    "(`ota32 image elf2image --secure-pad-v2`, as ESP-IDF builds it for secure\n"
    "boot): its end on a 64 KB boundary. Other images are refused.",
    sign_opts,
    G_COUNT,
    1,
    1,
    "Make a key with openssl:\n"
    "  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem\n"
    "  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem\n"
    "The output is written only when every new block verifies.",
    false};

static int parse_args(int argc, char **argv, sign_args *a)
{
    memset(a, 0, sizeof *a);
    opt_value v[G_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&image_sign_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    a->nkeys = sig_option_values(argc, argv, "--key", a->keys, MAX_KEYS);
    if (a->nkeys == 0)
        a->nkeys = sig_option_values(argc, argv, "-k", a->keys, MAX_KEYS);
    if (a->nkeys > MAX_KEYS)
        return opts_usage_error(&image_sign_cmd, "at most %d keys (three signature blocks)",
                                MAX_KEYS);
    if (a->nkeys == 0 || !v[G_OUTPUT].set)
        return opts_usage_error(&image_sign_cmd, "--key and -o OUT are required");
    a->append = v[G_APPEND].set;
    a->in = pos[0];
    a->out = v[G_OUTPUT].str;
    return 0;
}

/* The image part of IN (what gets signed) and the blocks it already has. */
static int read_input(const sign_args *a, const uint8_t *data, size_t len, size_t *signed_len,
                      ota32_sig_sector *old)
{
    ota32_image_opts o = {.chip_id = OTA32_CHIP_ANY, .hash = ota32_posix_hash()};
    ota32_image_parser p;
    ota32_diag d;
    ota32_diag_clear(&d);
    size_t used = 0;
    ota32_image_parser_init(&p, &o);
    int rc = ota32_image_parser_feed(&p, data, len, &used, &d);
    rc = rc == OTA32_OK ? ota32_image_parser_finish(&p, &d) : (ota32_image_parser_abort(&p), rc);
    if (rc != OTA32_OK) {
        util_report(a->in, rc, &d);
        return 1;
    }
    memset(old, 0, sizeof *old);
    if (p.info.sig_present) {
        if (sig_sector_of(a->in, data, len, &p.info, old) != 0)
            return 1;
        if (old->count && !a->append)
            return util_fail("%s: already signed (%u signature block%s): --append adds blocks "
                             "to them, or sign the unsigned image",
                             a->in, old->count, old->count == 1 ? "" : "s");
        *signed_len = p.info.sig_offset;
    } else if (used != len) {
        return util_fail("%s: offset 0x%zx: %zu bytes after the image that are not a signature "
                         "sector",
                         a->in, used, len - used);
    } else {
        *signed_len = len;
    }
    if (*signed_len % OTA32_IMAGE_MMU_PAGE != 0)
        return util_fail("%s: the image is %zu bytes (0x%zx), which does not end on a 64 KB "
                         "boundary: it is not padded for signing; make it with "
                         "`ota32 image elf2image --secure-pad-v2` (or esptool elf2image "
                         "--secure-pad-v2)",
                         a->in, *signed_len, *signed_len);
    return 0;
}

/* Old blocks must sign these very bytes; new ones are made and checked. */
static int fill_sector(const sign_args *a, const uint8_t *data, size_t signed_len,
                       const ota32_sig_sector *old, uint8_t *sector)
{
    uint8_t d256[32], d384[48];
    if (sbv2_digests(data, signed_len, d256, d384) != OTA32_OK)
        return util_fail("%s: hashing failed", a->in);
    if (old->count + a->nkeys > OTA32_SIG_BLOCKS_MAX)
        return util_fail("%s: has %u signature blocks; %u more would pass the limit of 3", a->in,
                         old->count, a->nkeys);
    memset(sector, 0xFF, OTA32_SIG_SECTOR_LEN);
    for (unsigned i = 0; i < old->count; i++) {
        const ota32_sig_block *b = &old->blocks[i];
        if (memcmp(b->image_digest, b->digest_len == 48 ? d384 : d256, b->digest_len) != 0)
            return util_fail("%s: signature block %u was made over other bytes than this image",
                             a->in, i);
        memcpy(sector + i * OTA32_SIG_BLOCK_LEN, b->raw, OTA32_SIG_BLOCK_LEN);
    }
    for (unsigned i = 0; i < a->nkeys; i++) {
        sbv2_key k;
        ota32_diag d;
        ota32_diag_clear(&d);
        uint8_t *blk = sector + (old->count + i) * OTA32_SIG_BLOCK_LEN;
        int rc = sbv2_key_load(a->keys[i], &k, &d);
        if (rc == OTA32_OK) {
            rc = sbv2_sign_block(&k, data, signed_len, blk, &d);
            sbv2_key_free(&k);
        }
        if (rc != OTA32_OK)
            return util_fail("%s%s%s", rc == OTA32_ERR_INVALID_ARG ? a->keys[i] : "",
                             rc == OTA32_ERR_INVALID_ARG ? ": " : "", d.msg);
        size_t dlen = blk[2] == 1 && blk[1] == OTA32_SIG_VERSION_ECDSA ? 48 : 32;
        if (ota32_posix_sig_verify(NULL, blk, dlen == 48 ? d384 : d256, dlen) != OTA32_OK)
            return util_fail("%s: the new signature block does not verify", a->keys[i]);
    }
    return 0;
}

int cmd_image_sign(int argc, char **argv)
{
    sign_args a;
    int st = parse_args(argc, argv, &a);
    if (st != 0 || !a.in)
        return st;
    size_t len = 0, signed_len = 0;
    uint8_t *data = util_read_file(a.in, &len);
    if (!data)
        return 1;
    ota32_sig_sector old;
    uint8_t *out = NULL;
    st = read_input(&a, data, len, &signed_len, &old);
    if (st == 0 && !(out = malloc(signed_len + OTA32_SIG_SECTOR_LEN)))
        st = util_fail("out of memory");
    if (st == 0)
        st = fill_sector(&a, data, signed_len, &old, out + signed_len);
    if (st == 0) {
        memcpy(out, data, signed_len);
        st = util_write_file(a.out, out, signed_len + OTA32_SIG_SECTOR_LEN) == OTA32_OK ? 0 : 1;
    }
    if (st == 0)
        printf("%s: signed %zu bytes of %s; the signature sector has %u block%s\n", a.out,
               signed_len, a.in, old.count + a.nkeys, old.count + a.nkeys == 1 ? "" : "s");
    free(out);
    free(data);
    return st;
}
