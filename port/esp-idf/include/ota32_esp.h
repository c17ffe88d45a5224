/*
 * ota32 on ESP-IDF: the platform ops over esp_partition, nvs, esp_ota,
 * esp-tls, mbedTLS, esp_timer and FreeRTOS, and a task that keeps the device
 * up to date from its machine config.
 *
 * Typical use (see examples/esp-idf):
 *
 *     nvs_flash_init();  ...bring the network up...
 *     static const ota32_esp_config cfg = {.config_url = "https://host/device.json"};
 *     ESP_ERROR_CHECK(ota32_esp_service_start(&cfg));
 *
 * or drive the engine yourself with ota32_esp_platform_init() and the
 * ota32_service_* calls of ota32/service.h.
 */
#ifndef OTA32_ESP_H
#define OTA32_ESP_H

#include <stddef.h>

#include "esp_err.h"
#include "ota32/platform.h"
#include "ota32/service.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fill every op of `plat` (flash, kv, boot, transport, clock, hash, alloc,
 * log). The state behind the ops is allocated here and released by
 * ota32_esp_platform_deinit. NVS must be initialised (nvs_flash_init) first.
 * Returns ESP_OK, ESP_ERR_INVALID_ARG, ESP_ERR_NO_MEM, or the error of
 * esp_flash_get_size; ESP_ERR_NOT_FOUND when the partition table has no
 * ota_N app partition. */
esp_err_t ota32_esp_platform_init(ota32_platform *plat);

/* Release what ota32_esp_platform_init allocated (closing any connection)
 * and clear `plat`. */
void ota32_esp_platform_deinit(ota32_platform *plat);

/* Trust anchors for TLS: a NUL-terminated PEM (one or more certificates)
 * that must outlive the platform. NULL restores the default chosen in
 * menuconfig (the ESP x509 certificate bundle). */
esp_err_t ota32_esp_platform_set_ca_pem(ota32_platform *plat, const char *pem);

/* Heap use of the engine (everything it and nghttp2 allocate). */
typedef struct ota32_esp_heap_stats {
    size_t current;  /* bytes live now */
    size_t peak;     /* high-water mark */
    size_t failures; /* allocations refused */
} ota32_esp_heap_stats;

void ota32_esp_platform_heap_stats(const ota32_platform *plat, ota32_esp_heap_stats *out);

/* GET `url` (http:// or https://, HTTP/2) with the ota32 client into `buf`,
 * NUL-terminated; *len is the body length. Bodies of `cap` bytes or more
 * fail with OTA32_ERR_TOO_BIG. Returns OTA32_OK or a negative ota32_err
 * with diag (see ota32_http_get). */
int ota32_esp_fetch(const ota32_platform *plat, const char *url, char *buf, size_t cap, size_t *len,
                    ota32_diag *diag);

/* The update task. Strings must outlive the task (string literals or
 * static buffers). Zero fields take their menuconfig value. */
typedef struct ota32_esp_config {
    /* Where the machine config comes from: GET this URL, or when NULL read
     * `config_nvs_key` from NVS namespace "ota32": a blob (nvs_set_blob, up to
     * CONFIG_OTA32_CONFIG_MAX bytes) or a string (NVS strings hold at most
     * 4000 bytes). A config from NVS proves nothing about the network, so a
     * new firmware then confirms only once the OTA url's server answers a
     * HEAD request, or when `health` says so. */
    const char *config_url;
    const char *config_nvs_key;
    const char *ca_pem;       /* see ota32_esp_platform_set_ca_pem */
    uint32_t poll_interval_s; /* 0: CONFIG_OTA32_POLL_INTERVAL_S */
    /* Called with every config fetched, before the engine looks at it; may
     * be NULL. Runs on the ota32 task. */
    void (*on_config)(void *user, const char *json, size_t len);
    /* The application's verdict on a new firmware, asked before it confirms
     * (see ota32_service_opts.health); may be NULL. Runs on the ota32 task. */
    int (*health)(void *user, ota32_diag *diag);
    void *user;
} ota32_esp_config;

/* Start the FreeRTOS task "ota32": a loop of ota32_service_poll (boot
 * state, config fetch, confirmation of a new firmware, apply: download,
 * verify, switch, reboot; a firmware not confirmed within
 * CONFIG_OTA32_PROBATION_TIMEOUT_S rolls back). Returns ESP_OK, ESP_ERR_INVALID_ARG (no config
 * source), ESP_ERR_NO_MEM, or an error of ota32_esp_platform_init. */
esp_err_t ota32_esp_service_start(const ota32_esp_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
