/* Declaration-only stand-in for ESP-IDF's nvs_flash.h (v5.1-v5.5). */
#ifndef OTA32_CHECK_NVS_FLASH_H
#define OTA32_CHECK_NVS_FLASH_H

#include "esp_err.h"
#include "nvs.h"

esp_err_t nvs_flash_init(void);
esp_err_t nvs_flash_erase(void);

#endif
