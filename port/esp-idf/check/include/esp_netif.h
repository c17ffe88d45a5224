/* Declaration-only stand-in for ESP-IDF's esp_netif.h (v5.1-v5.5), with the
 * IP event base of esp_netif_types.h. */
#ifndef OTA32_CHECK_ESP_NETIF_H
#define OTA32_CHECK_ESP_NETIF_H

#include "esp_err.h"
#include "esp_event.h"

ESP_EVENT_DECLARE_BASE(IP_EVENT);

typedef enum {
    IP_EVENT_STA_GOT_IP,
    IP_EVENT_STA_LOST_IP,
} ip_event_t;

esp_err_t esp_netif_init(void);

#endif
