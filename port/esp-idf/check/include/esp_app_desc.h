/* Declaration-only stand-in for ESP-IDF's esp_app_desc.h (esp_app_format,
 * v5.1-v5.5): the fields of the running app's descriptor the port and the
 * example read, in place (the real struct has more after them). */
#ifndef OTA32_CHECK_ESP_APP_DESC_H
#define OTA32_CHECK_ESP_APP_DESC_H

#include <stdint.h>

typedef struct {
    uint32_t magic_word;
    uint32_t secure_version;
    uint32_t reserv1[2];
    char version[32];
    char project_name[32];
} esp_app_desc_t;

const esp_app_desc_t *esp_app_get_description(void);

#endif
