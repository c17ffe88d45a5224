/* `ota32 key digest`: the 32-byte Secure Boot v2 key digest that ESP32
 * eFuses hold for a public key (`espsecure digest-sbv2-public-key`). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "opts.h"
#include "sbv2.h"
#include "util.h"

enum { K_OUTPUT, K_COUNT };

static const opt_def digest_opts[K_COUNT] = {
    [K_OUTPUT] = {"-o --output", OPT_STRING, "DIGEST.bin", "also write the 32 bytes to a file", 0,
                  0, NULL, "file"},
};

static const opt_cmd digest_cmd = {
    "key digest",
    "KEY.pem [-o DIGEST.bin]",
    "Print the Secure Boot v2 digest of a key (private or public PEM): the\n"
    "SHA-256 of the key as a signature block holds it, which is what the\n"
    "ESP32's eFuse key blocks store and what `espsecure digest-sbv2-public-key`\n"
    "writes. A virtual ESP32 trusts it with `ota32 device create --trust-key`.",
    digest_opts,
    K_COUNT,
    1,
    1,
    "Keys: RSA-3072 (ESP32), ECDSA P-256 or P-384 (newer chips):\n"
    "  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem\n"
    "  openssl pkey -in key.pem -pubout -out key.pub.pem",
    false};

static int key_digest(int argc, char **argv)
{
    opt_value v[K_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&digest_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    sbv2_key k;
    ota32_diag d;
    ota32_diag_clear(&d);
    if (sbv2_key_load(pos[0], &k, &d) != OTA32_OK)
        return util_fail("%s", d.msg);
    char hex[2 * OTA32_KEY_DIGEST_LEN + 1];
    util_hex(k.digest, sizeof k.digest, hex);
    int st = 0;
    if (v[K_OUTPUT].set && util_write_file(v[K_OUTPUT].str, k.digest, sizeof k.digest) != OTA32_OK)
        st = 1;
    else
        printf("%s  %s (%s)\n", hex, pos[0], ota32_sig_scheme_name(k.scheme));
    sbv2_key_free(&k);
    return st;
}

static const opt_cmd *const key_cmds[] = {&digest_cmd};
static int (*const key_run[])(int, char **) = {key_digest};

static int cmd_key(int argc, char **argv)
{
    return opts_dispatch(&key_group, argc, argv, key_run);
}

const opt_group key_group = {"key", "Secure Boot v2 keys: the eFuse digest of a key", key_cmds, 1,
                             cmd_key};
