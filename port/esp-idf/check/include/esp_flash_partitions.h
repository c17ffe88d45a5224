/* Declaration-only stand-in for ESP-IDF's esp_flash_partitions.h
 * (bootloader_support, v5.1-v5.5): the otadata image states. */
#ifndef OTA32_CHECK_ESP_FLASH_PARTITIONS_H
#define OTA32_CHECK_ESP_FLASH_PARTITIONS_H

typedef enum {
    ESP_OTA_IMG_NEW = 0x0U,
    ESP_OTA_IMG_PENDING_VERIFY = 0x1U,
    ESP_OTA_IMG_VALID = 0x2U,
    ESP_OTA_IMG_INVALID = 0x3U,
    ESP_OTA_IMG_ABORTED = 0x4U,
    ESP_OTA_IMG_UNDEFINED = 0xFFFFFFFFU,
} esp_ota_img_states_t;

#endif
