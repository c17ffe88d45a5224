/*
 * Authenticity and anti-rollback from ESP-IDF itself, never reimplemented:
 *   - with CONFIG_SECURE_BOOT_V2_ENABLED or CONFIG_SECURE_SIGNED_APPS_NO_SECURE_BOOT,
 *     the trusted key digests are those of the running app's signature blocks
 *     (esp_secure_boot_get_signature_blocks_for_running_app: under Secure
 *     Boot, keys the eFuse accepted at boot) and a block is checked by
 *     esp_secure_boot_verify_sbv2_signature_block, which applies ESP-IDF's
 *     own trust rules (eFuse digests, revocation) on top of the core's;
 *   - with CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK, the lowest secure version
 *     is the eFuse's (esp_efuse_read_secure_version); esp_ota_mark_app_valid_
 *     cancel_rollback raises it when a new app confirms.
 * Without those options every op is NULL: nothing is required.
 */
#include <stdlib.h>
#include <string.h>

#include "esp_efuse.h"
#include "esp_secure_boot.h"
#include "ota32_esp_priv.h"

#if CONFIG_SECURE_BOOT_V2_ENABLED || CONFIG_SECURE_SIGNED_APPS_NO_SECURE_BOOT
#define OTA32_ESP_SIGNED 1

static int sec_trusted_keys(void *ctx, ota32_trusted_keys *out)
{
    (void)ctx;
    esp_image_sig_public_key_digests_t d;
    memset(&d, 0, sizeof d);
    memset(out, 0, sizeof *out);
    esp_err_t e = esp_secure_boot_get_signature_blocks_for_running_app(true, &d);
    if (e != ESP_OK || d.num_digests == 0)
        return OTA32_ERR_STATE; /* an unsigned running app cannot vouch for any key */
    for (unsigned i = 0;
         i < d.num_digests && i < OTA32_TRUSTED_KEYS_MAX && i < SOC_EFUSE_SECURE_BOOT_KEY_DIGESTS;
         i++)
        memcpy(out->digest[out->count++], d.key_digests[i], OTA32_KEY_DIGEST_LEN);
    return OTA32_OK;
}

/* The block alone in a sector (the rest 0xFF), as ESP-IDF takes it. */
static int sec_verify(void *ctx, const uint8_t block[OTA32_SIG_BLOCK_LEN], const uint8_t *digest,
                      size_t digest_len)
{
    (void)ctx;
    if (digest_len != ESP_SECURE_BOOT_DIGEST_LEN)
        return OTA32_ERR_UNSUPPORTED; /* SHA-384 (P-384) blocks */
    ets_secure_boot_signature_t *sig = malloc(sizeof *sig);
    if (!sig)
        return OTA32_ERR_NO_MEM;
    memset(sig, 0xFF, sizeof *sig);
    memcpy(sig, block, OTA32_SIG_BLOCK_LEN);
    uint8_t verified[ESP_SECURE_BOOT_DIGEST_LEN];
    esp_err_t e = esp_secure_boot_verify_sbv2_signature_block(sig, digest, verified);
    free(sig);
    return e == ESP_OK ? OTA32_OK : OTA32_ERR_VERIFY;
}
#endif

#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
static int sec_min_secure_version(void *ctx, uint32_t *out)
{
    (void)ctx;
    *out = esp_efuse_read_secure_version();
    return OTA32_OK;
}
#endif

ota32_secure_ops ota32_esp_secure_ops(void)
{
    ota32_secure_ops ops;
    memset(&ops, 0, sizeof ops);
#ifdef OTA32_ESP_SIGNED
    ops.trusted_keys = sec_trusted_keys;
    ops.verify = sec_verify;
#endif
#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
    ops.min_secure_version = sec_min_secure_version;
#endif
    return ops;
}
