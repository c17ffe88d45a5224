/* Declaration-only stand-in for ESP-IDF's esp_app_desc.h (esp_app_format,
 * v5.1-v5.5): the two fields of the running app's descriptor the example
 * reads (the real struct has more, around them). */
#ifndef OTA32_CHECK_ESP_APP_DESC_H
#define OTA32_CHECK_ESP_APP_DESC_H

#include <stdint.h>

typedef struct {
    char version[32];
    char project_name[32];
} esp_app_desc_t;

const esp_app_desc_t *esp_app_get_description(void);

#endif
