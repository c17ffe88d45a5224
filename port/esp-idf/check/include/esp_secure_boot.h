/* Declaration-only stand-in for ESP-IDF's esp_secure_boot.h
 * (bootloader_support, v5.1-v5.5) with the ROM's ets_secure_boot_signature_t
 * (esp32/rom/secure_boot.h): what the port's Secure Boot v2 ops call. The
 * block's fields after the image digest are kept opaque here. */
#ifndef OTA32_CHECK_ESP_SECURE_BOOT_H
#define OTA32_CHECK_ESP_SECURE_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "sdkconfig.h"

#define ESP_SECURE_BOOT_DIGEST_LEN 32
#define SECURE_BOOT_NUM_BLOCKS 1 /* ESP32 ECO3: one signature block */
#define SOC_EFUSE_SECURE_BOOT_KEY_DIGESTS 1

typedef struct {
    uint8_t magic_byte;
    uint8_t version;
    uint8_t _reserved1;
    uint8_t _reserved2;
    uint8_t image_digest[32];
    uint8_t _key_signature_crc[1180]; /* key, signature, CRC, padding */
} ets_secure_boot_sig_block_t;

typedef struct {
    ets_secure_boot_sig_block_t block[SECURE_BOOT_NUM_BLOCKS];
    uint8_t _padding[4096 - (sizeof(ets_secure_boot_sig_block_t) * SECURE_BOOT_NUM_BLOCKS)];
} ets_secure_boot_signature_t;

bool esp_secure_boot_enabled(void);

#if CONFIG_SECURE_BOOT_V2_ENABLED || CONFIG_SECURE_SIGNED_APPS_NO_SECURE_BOOT
esp_err_t esp_secure_boot_verify_sbv2_signature_block(const ets_secure_boot_signature_t *sig_block,
                                                      const uint8_t *image_digest,
                                                      uint8_t *verified_digest);
#endif

typedef struct {
    uint8_t key_digests[SOC_EFUSE_SECURE_BOOT_KEY_DIGESTS][ESP_SECURE_BOOT_DIGEST_LEN];
    unsigned num_digests;
} esp_image_sig_public_key_digests_t;

esp_err_t esp_secure_boot_get_signature_blocks_for_running_app(
    bool digest_public_keys, esp_image_sig_public_key_digests_t *public_key_digests);

#endif
