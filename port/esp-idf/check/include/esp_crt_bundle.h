/* Declaration-only stand-in for ESP-IDF's esp_crt_bundle.h (mbedtls
 * component, v5.1-v5.5). */
#ifndef OTA32_CHECK_ESP_CRT_BUNDLE_H
#define OTA32_CHECK_ESP_CRT_BUNDLE_H

#include "esp_err.h"

esp_err_t esp_crt_bundle_attach(void *conf);

#endif
