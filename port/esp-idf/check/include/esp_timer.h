/* Declaration-only stand-in for ESP-IDF's esp_timer.h (v5.1-v5.5). */
#ifndef OTA32_CHECK_ESP_TIMER_H
#define OTA32_CHECK_ESP_TIMER_H

#include <stdint.h>

/* Microseconds since boot. */
int64_t esp_timer_get_time(void);

#endif
