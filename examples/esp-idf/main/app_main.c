/*
 * ota32 example: bring the network up, then hand the device to the ota32
 * task, which fetches the machine config, confirms this firmware once that
 * worked (after an update), and installs the version the config names.
 *
 * A network failure never resets the device: for a new firmware a reset
 * before it confirms is a rollback, so an access point that is down for a
 * moment at the first boot would undo a good update. Wi-Fi is reconnected
 * forever with back-off; whether a new firmware is healthy is decided by the
 * ota32 task's probation timeout (CONFIG_OTA32_PROBATION_TIMEOUT_S).
 */
#include <stddef.h>

#include "esp_app_desc.h"
#include "esp_err.h"
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_timer.h"
#include "esp_wifi.h"
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

#if CONFIG_EXAMPLE_CONNECT_WIFI
/* protocol_examples_common stops reconnecting after
 * CONFIG_EXAMPLE_WIFI_CONN_MAX_RETRY attempts (sdkconfig.defaults sets 0 so
 * that it hands over at once); from then on this keeps the station
 * reconnecting, 1 s after a loss doubling to 1 min, reset by an address. */
#define RECONNECT_FIRST_MS 1000u
#define RECONNECT_MAX_MS 60000u

static esp_timer_handle_t reconnect_timer;
static uint32_t reconnect_ms;

static void reconnect(void *arg)
{
    (void)arg;
    esp_err_t e = esp_wifi_connect();
    if (e != ESP_OK)
        ESP_LOGW(TAG, "wifi: connect: %s", esp_err_to_name(e));
}

static void on_wifi_lost(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg, (void)base, (void)id, (void)data;
    reconnect_ms = reconnect_ms ? reconnect_ms * 2 : RECONNECT_FIRST_MS;
    if (reconnect_ms > RECONNECT_MAX_MS)
        reconnect_ms = RECONNECT_MAX_MS;
    ESP_LOGW(TAG, "wifi: disconnected; reconnecting in %u ms", (unsigned)reconnect_ms);
    esp_timer_stop(reconnect_timer); /* ESP_ERR_INVALID_STATE when idle: fine */
    esp_timer_start_once(reconnect_timer, (uint64_t)reconnect_ms * 1000u);
}

static void on_got_ip(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg, (void)base, (void)id, (void)data;
    reconnect_ms = 0;
}

static void keep_wifi_up(void)
{
    const esp_timer_create_args_t args = {.callback = reconnect, .name = "wifi_reconnect"};
    ESP_ERROR_CHECK(esp_timer_create(&args, &reconnect_timer));
    ESP_ERROR_CHECK(
        esp_event_handler_register(WIFI_EVENT, WIFI_EVENT_STA_DISCONNECTED, on_wifi_lost, NULL));
    ESP_ERROR_CHECK(esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_got_ip, NULL));
}
#endif

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
    /* Wi-Fi or Ethernet as set under "Example Connection Configuration". A
     * failure is logged, not fatal: the link comes back on its own and the
     * ota32 task retries its config fetches meanwhile. */
#if CONFIG_EXAMPLE_CONNECT_WIFI
    keep_wifi_up();
#endif
    esp_err_t e = example_connect();
    if (e != ESP_OK)
        ESP_LOGW(TAG, "network not up yet (%s): retrying in the background", esp_err_to_name(e));

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
