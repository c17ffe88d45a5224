/*
 * The update task: a thin driver of ota32_service_poll, which owns the whole
 * life cycle (boot state, config fetch, confirmation, apply, probation
 * timeout). Here: where the config comes from (a URL, or NVS), the Kconfig
 * settings, logging, and the FreeRTOS loop.
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

static int url_fetch(void *ctx, char *buf, size_t cap, size_t *len, ota32_diag *diag)
{
    ota32_esp_runner *r = ctx;
    return ota32_esp_fetch(&r->plat, r->cfg.config_url, buf, cap, len, diag);
}

/* The config stored in NVS: a blob (any size up to CONFIG_OTA32_CONFIG_MAX),
 * or a string (NVS caps strings at 4000 bytes). */
static int nvs_fetch(void *ctx, char *buf, size_t cap, size_t *len, ota32_diag *diag)
{
    ota32_esp_runner *r = ctx;
    const ota32_kv_ops *kv = &r->plat.kv;
    const char *key = r->cfg.config_nvs_key;
    size_t n = 0;
    int rc = kv->get_blob(kv->ctx, NVS_CONFIG_NS, key, buf, cap - 1, &n);
    if (rc == OTA32_ERR_CORRUPT) { /* not a blob: a string */
        rc = kv->get_str(kv->ctx, NVS_CONFIG_NS, key, buf, cap);
        n = rc == OTA32_OK ? strlen(buf) : 0;
    }
    if (rc == OTA32_ERR_TOO_BIG)
        return ota32_diag_fail(diag, rc, 0, -1,
                               "nvs %s/%s: %zu bytes, larger than CONFIG_OTA32_CONFIG_MAX (%d)",
                               NVS_CONFIG_NS, key, n, CONFIG_OTA32_CONFIG_MAX);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "nvs %s/%s: %s", NVS_CONFIG_NS, key,
                               ota32_strerror(rc));
    buf[n] = '\0';
    *len = strlen(buf); /* a blob written with its NUL counts without it */
    return OTA32_OK;
}

static ota32_service_opts service_opts(ota32_esp_runner *r)
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
    o.config_max = CONFIG_OTA32_CONFIG_MAX;
    o.poll_interval_ms = r->cfg.poll_interval_s * 1000u;
    o.probation_timeout_ms = CONFIG_OTA32_PROBATION_TIMEOUT_S > 0
                                 ? (uint32_t)CONFIG_OTA32_PROBATION_TIMEOUT_S * 1000u
                                 : OTA32_PROBATION_NEVER;
    if (r->cfg.config_url)
        o.source = (ota32_config_source){r, url_fetch, true};
    else
        o.source = (ota32_config_source){r, nvs_fetch, false};
    o.health = r->cfg.health;
    o.on_config = r->cfg.on_config;
    o.user = r->cfg.user;
    return o;
}

esp_err_t ota32_esp_runner_init(ota32_esp_runner *r, const ota32_esp_config *cfg)
{
    if (!cfg || (!cfg->config_url && !cfg->config_nvs_key))
        return ESP_ERR_INVALID_ARG;
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    if (!r->cfg.poll_interval_s)
        r->cfg.poll_interval_s = CONFIG_OTA32_POLL_INTERVAL_S;
    if (r->cfg.poll_interval_s > UINT32_MAX / 1000u)
        r->cfg.poll_interval_s = UINT32_MAX / 1000u;
    esp_err_t e = ota32_esp_platform_init(&r->plat);
    if (e == ESP_OK && cfg->ca_pem)
        e = ota32_esp_platform_set_ca_pem(&r->plat, cfg->ca_pem);
    ota32_service_opts o = service_opts(r);
    if (e == ESP_OK && ota32_service_new(&r->plat, &o, &r->svc) != OTA32_OK)
        e = ESP_ERR_NO_MEM;
    if (e != ESP_OK)
        ota32_esp_runner_deinit(r);
    return e;
}

void ota32_esp_runner_deinit(ota32_esp_runner *r)
{
    ota32_service_free(r->svc);
    r->svc = NULL;
    if (r->plat.alloc.malloc)
        ota32_esp_platform_deinit(&r->plat);
}

static void log_first(const ota32_esp_runner *r, const ota32_poll_result *res)
{
    char source[128] = "nvs";
    if (r->cfg.config_url) /* no credentials or signed query in the log */
        ota32_url_redact(r->cfg.config_url, source, sizeof source);
    ESP_LOGI(OTA32_ESP_TAG, "boot: %s; config every %" PRIu32 " s from %s", boot_name(res->boot),
             r->cfg.poll_interval_s, source);
}

uint32_t ota32_esp_runner_step(ota32_esp_runner *r)
{
    ota32_poll_result res;
    ota32_diag diag;
    int rc = ota32_service_poll(r->svc, &res, &diag);
    if (res.first)
        log_first(r, &res);
    if (rc != OTA32_OK) /* the engine has logged the details */
        ESP_LOGW(OTA32_ESP_TAG, "config check: %s", diag.msg[0] ? diag.msg : ota32_strerror(rc));
    else if (res.applied)
        ESP_LOGI(OTA32_ESP_TAG, "config check: %s", apply_name(res.apply));
    ota32_esp_heap_stats hs;
    ota32_esp_platform_heap_stats(&r->plat, &hs);
    /* On ESP-IDF the high-water mark is in bytes: what never got used. */
    ESP_LOGD(OTA32_ESP_TAG, "heap: %u bytes live, %u peak; stack: %u of %d bytes never used",
             (unsigned)hs.current, (unsigned)hs.peak, (unsigned)uxTaskGetStackHighWaterMark(NULL),
             CONFIG_OTA32_TASK_STACK);
    return res.next_poll_ms;
}

static void service_task(void *arg)
{
    ota32_esp_runner *r = arg;
    for (;;) {
        uint32_t ms = ota32_esp_runner_step(r);
        r->plat.clock.sleep_ms(r->plat.clock.ctx, ms);
    }
}

esp_err_t ota32_esp_service_start(const ota32_esp_config *cfg)
{
    if (!cfg || (!cfg->config_url && !cfg->config_nvs_key))
        return ESP_ERR_INVALID_ARG;
    ota32_esp_runner *r = calloc(1, sizeof *r);
    if (!r)
        return ESP_ERR_NO_MEM;
    esp_err_t e = ota32_esp_runner_init(r, cfg);
    if (e == ESP_OK && xTaskCreate(service_task, "ota32", CONFIG_OTA32_TASK_STACK, r,
                                   CONFIG_OTA32_TASK_PRIORITY, NULL) != pdPASS) {
        ota32_esp_runner_deinit(r);
        e = ESP_ERR_NO_MEM;
    }
    if (e != ESP_OK)
        free(r);
    return e;
}
