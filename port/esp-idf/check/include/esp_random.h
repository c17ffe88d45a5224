/* Declaration-only stand-in for ESP-IDF's esp_random.h (esp_hw_support, v5.1-v5.5). */
#ifndef OTA32_CHECK_ESP_RANDOM_H
#define OTA32_CHECK_ESP_RANDOM_H

#include <stdint.h>

uint32_t esp_random(void);

#endif
