/* Declaration-only stand-in for ESP-IDF's esp_efuse.h (efuse, v5.1-v5.5):
 * the anti-rollback secure version the port reads. */
#ifndef OTA32_CHECK_ESP_EFUSE_H
#define OTA32_CHECK_ESP_EFUSE_H

#include <stdint.h>

uint32_t esp_efuse_read_secure_version(void);

#endif
