/* Declaration-only stand-in for ESP-IDF's esp_event.h (v5.1-v5.5). */
#ifndef OTA32_CHECK_ESP_EVENT_H
#define OTA32_CHECK_ESP_EVENT_H

#include "esp_err.h"

esp_err_t esp_event_loop_create_default(void);

#endif
