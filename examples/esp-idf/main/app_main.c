/*
 * ota32 example: bring the network up, then hand the device to the ota32
 * task, which fetches the machine config, confirms this firmware once that
 * worked (after an update), and installs the version the config names.
 */
#include <stddef.h>

#include "esp_app_desc.h"
#include "esp_err.h"
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "nvs_flash.h"
#include "protocol_examples_common.h"
#include "sdkconfig.h"

#include "ota32_esp.h"

static const char *TAG = "app";

#if CONFIG_OTA32_EXAMPLE_EMBED_CA
extern const char server_ca_pem_start[] asm("_binary_server_ca_pem_start");
#endif

static void init_nvs(void)
{
    esp_err_t e = nvs_flash_init();
    if (e == ESP_ERR_NVS_NO_FREE_PAGES || e == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        /* The partition is full or from a newer NVS format: start it over
         * (this forgets ota32's records too; the next check re-downloads). */
        ESP_LOGW(TAG, "nvs: %s: erasing", esp_err_to_name(e));
        ESP_ERROR_CHECK(nvs_flash_erase());
        e = nvs_flash_init();
    }
    ESP_ERROR_CHECK(e);
}

static void on_config(void *user, const char *json, size_t len)
{
    (void)user;
    (void)json;
    /* The application would configure its own components from here. */
    ESP_LOGI(TAG, "machine config: %u bytes", (unsigned)len);
}

/* Called by ESP-IDF's startup code, which declares it itself. */
void app_main(void);

void app_main(void)
{
    const esp_app_desc_t *app = esp_app_get_description();
    ESP_LOGI(TAG, "%s version %s", app->project_name, app->version);

    init_nvs();
    ESP_ERROR_CHECK(esp_netif_init());
    ESP_ERROR_CHECK(esp_event_loop_create_default());
    /* Wi-Fi or Ethernet as set under "Example Connection Configuration". */
    ESP_ERROR_CHECK(example_connect());

    static ota32_esp_config cfg = {.on_config = on_config};
#if CONFIG_OTA32_EXAMPLE_CONFIG_FROM_URL
    cfg.config_url = CONFIG_OTA32_EXAMPLE_CONFIG_URL;
#else
    cfg.config_nvs_key = CONFIG_OTA32_EXAMPLE_CONFIG_NVS_KEY;
#endif
#if CONFIG_OTA32_EXAMPLE_EMBED_CA
    cfg.ca_pem = server_ca_pem_start;
#endif
    ESP_ERROR_CHECK(ota32_esp_service_start(&cfg));
}
