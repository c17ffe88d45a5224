/* `ota32 key digest`: the 32-byte Secure Boot v2 key digest that ESP32
 * eFuses hold for a public key (`espsecure digest-sbv2-public-key`). */
#include <stdio.h>
#include <string.h>

#include "sbv2.h"
#include "sig_util.h"
#include "util.h"

static void key_usage(FILE *f)
{
    fprintf(f, "usage: ota32 key digest KEY.pem [-o DIGEST.bin]\n\n"
               "Print the Secure Boot v2 digest of a key (private or public PEM): the\n"
               "SHA-256 of the key as a signature block holds it, which is what the\n"
               "ESP32's eFuse key blocks store and what `espsecure digest-sbv2-public-key`\n"
               "writes. -o also writes the 32 bytes to a file. A device trusts this\n"
               "digest with `ota32 device create --trust-key KEY.pem`.\n\n"
               "Keys: RSA-3072 (ESP32), ECDSA P-256 or P-384 (newer chips):\n\n"
               "  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem\n"
               "  openssl pkey -in key.pem -pubout -out key.pub.pem\n");
}

static int key_digest(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return util_usage_fail("key digest: unknown option '%s' (see --help)", argv[i]);
        else if (!path)
            path = argv[i];
        else
            return util_usage_fail("key digest: unexpected argument '%s' (see --help)", argv[i]);
    }
    if (!path)
        return util_usage_fail("key digest: KEY.pem is required (see --help)");
    sbv2_key k;
    ota32_diag d;
    ota32_diag_clear(&d);
    if (sbv2_key_load(path, &k, &d) != OTA32_OK)
        return util_fail("%s", d.msg);
    char hex[2 * OTA32_KEY_DIGEST_LEN + 1];
    util_hex(k.digest, sizeof k.digest, hex);
    int st = 0;
    if (out && util_write_file(out, k.digest, sizeof k.digest) != OTA32_OK)
        st = 1;
    else
        printf("%s  %s (%s)\n", hex, path, ota32_sig_scheme_name(k.scheme));
    sbv2_key_free(&k);
    return st;
}

int cmd_key(int argc, char **argv)
{
    if (argc < 2) {
        key_usage(stderr);
        return 2;
    }
    if (util_wants_help(argc, argv)) {
        key_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "digest"))
        return key_digest(argc - 1, argv + 1);
    fprintf(stderr, "ota32: key: unknown command '%s'\n\n", argv[1]);
    key_usage(stderr);
    return 2;
}
