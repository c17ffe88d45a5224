/* Declaration-only stand-in for ESP-IDF's esp_wifi.h (v5.1-v5.5), with the
 * Wi-Fi event base and ids of esp_wifi_types.h. */
#ifndef OTA32_CHECK_ESP_WIFI_H
#define OTA32_CHECK_ESP_WIFI_H

#include "esp_err.h"
#include "esp_event.h"

ESP_EVENT_DECLARE_BASE(WIFI_EVENT);

typedef enum {
    WIFI_EVENT_WIFI_READY = 0,
    WIFI_EVENT_SCAN_DONE,
    WIFI_EVENT_STA_START,
    WIFI_EVENT_STA_STOP,
    WIFI_EVENT_STA_CONNECTED,
    WIFI_EVENT_STA_DISCONNECTED,
} wifi_event_t;

esp_err_t esp_wifi_connect(void);

#endif
