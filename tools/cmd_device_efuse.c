/* `ota32 device efuse` and `device create --trust-key`: the virtual ESP32's
 * emulated eFuse (Secure Boot v2 key digests, key revocation, the
 * anti-rollback secure version). Burning only sets bits, as on a chip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "efuse_util.h"
#include "opts.h"
#include "sig_util.h"
#include "sbv2.h"
#include "util.h"
#include "vdev.h"

static int key_digest_of(const char *path, uint8_t out[OTA32_KEY_DIGEST_LEN])
{
    sbv2_key k;
    ota32_diag d;
    ota32_diag_clear(&d);
    if (sbv2_key_load(path, &k, &d) != OTA32_OK)
        return util_fail("%s", d.msg);
    memcpy(out, k.digest, OTA32_KEY_DIGEST_LEN);
    sbv2_key_free(&k);
    return 0;
}

/* Add a trusted key digest (already there: nothing to do). */
static int add_key(vdev_efuse *e, const char *path)
{
    uint8_t dg[OTA32_KEY_DIGEST_LEN];
    if (key_digest_of(path, dg) != 0)
        return 1;
    for (unsigned i = 0; i < e->keys.count; i++)
        if (!memcmp(e->keys.digest[i], dg, sizeof dg))
            return 0;
    if (e->keys.count == OTA32_TRUSTED_KEYS_MAX)
        return util_fail("%s: the three eFuse key blocks are written; no room for another key",
                         path);
    memcpy(e->keys.digest[e->keys.count++], dg, sizeof dg);
    return 0;
}

/* Revoke by slot number or by key file. */
static int revoke_key(vdev_efuse *e, const char *what)
{
    uint64_t n;
    if (util_parse_uint(what, OTA32_TRUSTED_KEYS_MAX - 1, &n)) {
        if (n >= e->keys.count)
            return util_fail("--revoke-key %s: key block %u holds no key", what, (unsigned)n);
        e->keys.revoked[n] = true;
        return 0;
    }
    uint8_t dg[OTA32_KEY_DIGEST_LEN];
    if (key_digest_of(what, dg) != 0)
        return 1;
    for (unsigned i = 0; i < e->keys.count; i++)
        if (!memcmp(e->keys.digest[i], dg, sizeof dg)) {
            e->keys.revoked[i] = true;
            return 0;
        }
    return util_fail("%s: not one of the device's trusted keys", what);
}

void efuse_print(const char *flash_path)
{
    char path[4200];
    vdev_efuse e;
    vdev_efuse_path_of(flash_path, path, sizeof path);
    if (vdev_efuse_read(path, &e, NULL) != OTA32_OK || (!e.keys.count && !e.secure_version))
        return;
    printf("eFuse (%s): secure version %u, %u trusted key%s%s\n", path, (unsigned)e.secure_version,
           e.keys.count, e.keys.count == 1 ? "" : "s",
           e.keys.count ? " (Secure Boot v2: only signed images are installed)" : "");
    for (unsigned i = 0; i < e.keys.count; i++) {
        char hex[2 * OTA32_KEY_DIGEST_LEN + 1];
        util_hex(e.keys.digest[i], OTA32_KEY_DIGEST_LEN, hex);
        printf("  key %u: %s%s\n", i, hex, e.keys.revoked[i] ? " (revoked)" : "");
    }
}

int efuse_trust_keys(const char *dev, const char *const *keys, unsigned n)
{
    char path[4200];
    vdev_efuse e;
    ota32_diag d;
    ota32_diag_clear(&d);
    vdev_efuse_path_of(dev, path, sizeof path);
    if (vdev_efuse_read(path, &e, &d) != OTA32_OK)
        return util_fail("%s", d.msg);
    for (unsigned i = 0; i < n; i++)
        if (add_key(&e, keys[i]) != 0)
            return 1;
    if (vdev_efuse_burn(path, &e, &d) != OTA32_OK)
        return util_fail("%s", d.msg);
    return 0;
}

enum { E_TRUST, E_REVOKE, E_SECURE_VERSION, E_COUNT };

static const opt_def efuse_opts[E_COUNT] = {
    [E_TRUST] = {"--trust-key", OPT_STRING, "KEY.pem",
                 "write this key's digest into the next free key block\n(repeatable)", 0, 0, NULL,
                 "file"},
    [E_REVOKE] = {"--revoke-key", OPT_STRING, "N|KEY.pem",
                  "set the revoke bit of key block N, or of this key's\nblock (repeatable)", 0, 0,
                  NULL, NULL},
    [E_SECURE_VERSION] = {"--secure-version", OPT_NUMBER, "N",
                          "raise the anti-rollback secure version to N", 0,
                          VDEV_EFUSE_SECURE_VERSION_MAX + 1, NULL, NULL},
};

const opt_cmd device_efuse_cmd = {
    "device efuse",
    "DEV.flash [--trust-key KEY.pem]... [--revoke-key N|KEY.pem]... [--secure-version N]",
    "Show, and burn, the virtual ESP32's eFuse (kept in DEV.flash.efuse): up to\n"
    "three Secure Boot v2 key digests (`ota32 key digest`), their revoke bits,\n"
    "and the anti-rollback secure version. With trusted keys the OTA service\n"
    "installs only images signed by one of them (not revoked); an image whose\n"
    "secure_version is below the eFuse's is refused before anything is erased.",
    efuse_opts,
    E_COUNT,
    1,
    1,
    "As on a chip, bits are only ever set: a key stays, a revocation is for good,\n"
    "the secure version only rises (it also rises by itself when an app with a\n"
    "higher one confirms).",
    false};

int cmd_device_efuse(int argc, char **argv)
{
    opt_value v[E_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&device_efuse_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *dev = pos[0];
    const char *trust[8], *revoke[8];
    unsigned nt = sig_option_values(argc, argv, "--trust-key", trust, 8);
    unsigned nr = sig_option_values(argc, argv, "--revoke-key", revoke, 8);
    if (nt > 8 || nr > 8)
        return opts_usage_error(&device_efuse_cmd, "at most 8 --trust-key and --revoke-key");
    if (nt && efuse_trust_keys(dev, trust, nt) != 0)
        return 1;
    char path[4200];
    vdev_efuse e;
    ota32_diag d;
    ota32_diag_clear(&d);
    vdev_efuse_path_of(dev, path, sizeof path);
    if (vdev_efuse_read(path, &e, &d) != OTA32_OK)
        return util_fail("%s", d.msg);
    for (unsigned i = 0; i < nr; i++)
        if (revoke_key(&e, revoke[i]) != 0)
            return 1;
    if (v[E_SECURE_VERSION].set)
        e.secure_version = (uint32_t)v[E_SECURE_VERSION].num;
    if ((nr || v[E_SECURE_VERSION].set) && vdev_efuse_burn(path, &e, &d) != OTA32_OK)
        return util_fail("%s", d.msg);
    if (!e.keys.count && !e.secure_version)
        printf("eFuse (%s): blank (no trusted keys: any valid image is installed; secure "
               "version 0)\n",
               path);
    efuse_print(dev);
    return 0;
}
