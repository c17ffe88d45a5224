/* Declaration-only stand-in for ESP-IDF's esp_flash.h (spi_flash, v5.1-v5.5). */
#ifndef OTA32_CHECK_ESP_FLASH_H
#define OTA32_CHECK_ESP_FLASH_H

#include <stdint.h>
#include "esp_err.h"

typedef struct esp_flash_t esp_flash_t;

/* chip NULL: the default (main) flash chip. */
esp_err_t esp_flash_get_size(esp_flash_t *chip, uint32_t *out_size);

#endif
