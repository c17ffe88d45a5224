/* Declaration-only stand-in for ESP-IDF's esp_netif.h (v5.1-v5.5). */
#ifndef OTA32_CHECK_ESP_NETIF_H
#define OTA32_CHECK_ESP_NETIF_H

#include "esp_err.h"

esp_err_t esp_netif_init(void);

#endif
