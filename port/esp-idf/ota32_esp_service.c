/*
 * The update task: boot state once, then a loop of config fetch -> confirm
 * (first time after an update) -> apply -> sleep. Confirmation waits for a
 * successful config fetch because that proves what matters for staying
 * updatable: the network, TLS and the server all work with this firmware.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"

#include "ota32/http.h"
#include "ota32_esp.h"
#include "ota32_esp_priv.h"

#define NVS_CONFIG_NS "ota32"

typedef struct runner {
    ota32_esp_config cfg;
    ota32_platform plat;
    ota32_service *svc;
    char *buf; /* CONFIG_OTA32_CONFIG_MAX + 1 bytes */
    bool probation;
} runner;

static const char *boot_name(ota32_boot_status st)
{
    switch (st) {
    case OTA32_BOOT_NORMAL:
        return "normal";
    case OTA32_BOOT_PROBATION:
        return "probation";
    case OTA32_BOOT_ROLLED_BACK:
        return "rolled back";
    case OTA32_BOOT_CONFIRMED:
        return "confirmed";
    }
    return "?";
}

static const char *apply_name(ota32_apply_result r)
{
    switch (r) {
    case OTA32_APPLY_UP_TO_DATE:
        return "up to date";
    case OTA32_APPLY_NO_SERVICE:
        return "no OTA service in the config";
    case OTA32_APPLY_DEFERRED:
        return "deferred";
    case OTA32_APPLY_PROBATION:
        return "on probation";
    case OTA32_APPLY_REBOOT:
        return "rebooting";
    }
    return "?";
}

static ota32_service_opts service_opts(void)
{
    ota32_service_opts o;
    memset(&o, 0, sizeof o);
    o.chip_id = CONFIG_IDF_FIRMWARE_CHIP_ID; /* images for another chip are refused */
    o.window = CONFIG_OTA32_RECV_WINDOW;
    o.connect_timeout_ms = CONFIG_OTA32_CONNECT_TIMEOUT_MS;
    o.stall_timeout_ms = CONFIG_OTA32_STALL_TIMEOUT_MS;
    o.retry_base_ms = CONFIG_OTA32_RETRY_BASE_MS;
    o.retry_max_ms = CONFIG_OTA32_RETRY_MAX_MS;
    o.max_retries = CONFIG_OTA32_MAX_RETRIES;
    o.failed_backoff_ms = (uint64_t)CONFIG_OTA32_FAILED_BACKOFF_S * 1000u;
    o.progress_interval = (uint32_t)CONFIG_OTA32_PROGRESS_INTERVAL_KB * 1024u;
#if CONFIG_OTA32_REQUIRE_SAME_PROJECT
    o.require_same_project = true;
#endif
    return o;
}

static int load_config(runner *r, size_t *len, ota32_diag *diag)
{
    size_t cap = (size_t)CONFIG_OTA32_CONFIG_MAX + 1;
    if (r->cfg.config_url)
        return ota32_esp_fetch(&r->plat, r->cfg.config_url, r->buf, cap, len, diag);
    const ota32_kv_ops *kv = &r->plat.kv;
    int rc = kv->get_str(kv->ctx, NVS_CONFIG_NS, r->cfg.config_nvs_key, r->buf, cap);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "nvs %s/%s: %s", NVS_CONFIG_NS,
                               r->cfg.config_nvs_key, ota32_strerror(rc));
    *len = strlen(r->buf);
    return OTA32_OK;
}

static void check_once(runner *r)
{
    ota32_diag diag;
    ota32_diag_clear(&diag);
    size_t len = 0;
    int rc = load_config(r, &len, &diag);
    if (rc != OTA32_OK) {
        ESP_LOGW(OTA32_ESP_TAG, "config not loaded: %s",
                 diag.msg[0] ? diag.msg : ota32_strerror(rc));
        return;
    }
    ESP_LOGI(OTA32_ESP_TAG, "config loaded (%u bytes)", (unsigned)len);
    if (r->probation) {
        rc = ota32_service_confirm(r->svc);
        if (rc == OTA32_OK)
            r->probation = false;
        else
            ESP_LOGE(OTA32_ESP_TAG, "confirming this firmware failed: %s", ota32_strerror(rc));
    }
    if (r->cfg.on_config)
        r->cfg.on_config(r->cfg.user, r->buf, len);
    ota32_apply_result res = OTA32_APPLY_UP_TO_DATE;
    ota32_diag_clear(&diag);
    rc = ota32_service_apply(r->svc, r->buf, len, &res, &diag);
    if (rc != OTA32_OK) /* the engine has logged the details */
        ESP_LOGW(OTA32_ESP_TAG, "config check: %s", ota32_strerror(rc));
    else
        ESP_LOGI(OTA32_ESP_TAG, "config check: %s", apply_name(res));
}

static void service_task(void *arg)
{
    runner *r = arg;
    ota32_boot_status st = OTA32_BOOT_NORMAL;
    ota32_service_opts o = service_opts();
    int rc = ota32_service_new(&r->plat, &o, &r->svc);
    if (rc == OTA32_OK)
        rc = ota32_service_boot(r->svc, &st);
    if (rc != OTA32_OK) {
        /* Without the engine nothing can be updated or confirmed; a firmware
         * on probation is then rolled back by the next reset, as it should. */
        ESP_LOGE(OTA32_ESP_TAG, "update service not started: %s", ota32_strerror(rc));
        vTaskDelete(NULL);
        return;
    }
    r->probation = st == OTA32_BOOT_PROBATION;
    uint64_t booted_ms = r->plat.clock.now_ms(r->plat.clock.ctx);
    char source[128] = "nvs";
    if (r->cfg.config_url) /* no credentials or signed query in the log */
        ota32_url_redact(r->cfg.config_url, source, sizeof source);
    ESP_LOGI(OTA32_ESP_TAG, "boot: %s; config every %" PRIu32 " s from %s", boot_name(st),
             r->cfg.poll_interval_s, source);
    for (;;) {
        check_once(r);
        ota32_esp_heap_stats hs;
        ota32_esp_platform_heap_stats(&r->plat, &hs);
        ESP_LOGD(OTA32_ESP_TAG, "heap: %u bytes live, %u peak", (unsigned)hs.current,
                 (unsigned)hs.peak);
        if (r->probation && CONFIG_OTA32_PROBATION_TIMEOUT_S > 0 &&
            r->plat.clock.now_ms(r->plat.clock.ctx) - booted_ms >=
                (uint64_t)CONFIG_OTA32_PROBATION_TIMEOUT_S * 1000u) {
            ESP_LOGE(OTA32_ESP_TAG,
                     "no config fetched in %d s since this new firmware booted: "
                     "rolling back",
                     CONFIG_OTA32_PROBATION_TIMEOUT_S);
            /* Restarts into the previous slot; returns only on failure. */
            r->plat.boot.mark_invalid(r->plat.boot.ctx);
        }
        r->plat.clock.sleep_ms(r->plat.clock.ctx, r->cfg.poll_interval_s * 1000u);
    }
}

esp_err_t ota32_esp_service_start(const ota32_esp_config *cfg)
{
    if (!cfg || (!cfg->config_url && !cfg->config_nvs_key))
        return ESP_ERR_INVALID_ARG;
    runner *r = calloc(1, sizeof *r);
    if (!r)
        return ESP_ERR_NO_MEM;
    r->cfg = *cfg;
    if (!r->cfg.poll_interval_s)
        r->cfg.poll_interval_s = CONFIG_OTA32_POLL_INTERVAL_S;
    if (r->cfg.poll_interval_s > UINT32_MAX / 1000u)
        r->cfg.poll_interval_s = UINT32_MAX / 1000u;
    esp_err_t e = ota32_esp_platform_init(&r->plat);
    if (e == ESP_OK && cfg->ca_pem)
        e = ota32_esp_platform_set_ca_pem(&r->plat, cfg->ca_pem);
    if (e == ESP_OK) {
        r->buf = malloc((size_t)CONFIG_OTA32_CONFIG_MAX + 1);
        if (!r->buf)
            e = ESP_ERR_NO_MEM;
    }
    if (e == ESP_OK && xTaskCreate(service_task, "ota32", CONFIG_OTA32_TASK_STACK, r,
                                   CONFIG_OTA32_TASK_PRIORITY, NULL) != pdPASS)
        e = ESP_ERR_NO_MEM;
    if (e != ESP_OK) {
        free(r->buf);
        ota32_esp_platform_deinit(&r->plat);
        free(r);
    }
    return e;
}
