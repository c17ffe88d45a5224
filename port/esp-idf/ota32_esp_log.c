/* Engine messages to the ESP-IDF log, tag "ota32" (filter with
 * esp_log_level_set("ota32", ...)). */
#include "esp_log.h"

#include "ota32_esp_priv.h"

static void log_line(void *ctx, ota32_log_level level, const char *msg)
{
    (void)ctx;
    switch (level) {
    case OTA32_LOG_ERROR:
        ESP_LOGE(OTA32_ESP_TAG, "%s", msg);
        break;
    case OTA32_LOG_WARN:
        ESP_LOGW(OTA32_ESP_TAG, "%s", msg);
        break;
    case OTA32_LOG_INFO:
        ESP_LOGI(OTA32_ESP_TAG, "%s", msg);
        break;
    default:
        ESP_LOGD(OTA32_ESP_TAG, "%s", msg);
        break;
    }
}

ota32_log_ops ota32_esp_log_ops(void)
{
    ota32_log_ops ops = {.ctx = NULL, .log = log_line};
    return ops;
}
