/* Declaration-only stand-in for ESP-IDF's esp_system.h (v5.1-v5.5). */
#ifndef OTA32_CHECK_ESP_SYSTEM_H
#define OTA32_CHECK_ESP_SYSTEM_H

#include <stdint.h>
#include "esp_err.h"

void esp_restart(void) __attribute__((__noreturn__));

#endif
