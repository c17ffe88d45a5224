/* The whole ota32_platform for ESP-IDF in one call. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "esp_log.h"

#include "ota32_esp.h"
#include "ota32_esp_priv.h"

/* The port is found again from the ops' contexts: flash.ctx points into it. */
static ota32_esp_port *port_of(const ota32_platform *plat)
{
    if (!plat || !plat->alloc.ctx)
        return NULL;
    return (ota32_esp_port *)((char *)plat->alloc.ctx - offsetof(ota32_esp_port, alloc));
}

esp_err_t ota32_esp_platform_init(ota32_platform *plat)
{
    if (!plat)
        return ESP_ERR_INVALID_ARG;
    memset(plat, 0, sizeof *plat);
    ota32_esp_port *port = calloc(1, sizeof *port);
    if (!port)
        return ESP_ERR_NO_MEM;
    esp_err_t e = ota32_esp_flash_init(&port->flash, &plat->flash);
    if (e != ESP_OK) {
        ESP_LOGE(OTA32_ESP_TAG, "flash setup failed: %s", esp_err_to_name(e));
        free(port);
        memset(plat, 0, sizeof *plat);
        return e;
    }
    ota32_esp_alloc_init(&port->alloc);
    ota32_esp_transport_init(&port->transport);
    plat->kv = ota32_esp_kv_ops();
    plat->boot = ota32_esp_boot_ops(&port->flash);
    plat->transport = ota32_esp_transport_ops(&port->transport);
    plat->clock = ota32_esp_clock_ops();
    plat->hash = ota32_esp_hash_ops(&port->alloc);
    plat->alloc = ota32_alloc_count_ops(&port->alloc);
    plat->log = ota32_esp_log_ops();
    plat->secure = ota32_esp_secure_ops();
    return ESP_OK;
}

void ota32_esp_platform_deinit(ota32_platform *plat)
{
    ota32_esp_port *port = port_of(plat);
    if (!port)
        return;
    plat->transport.close(plat->transport.ctx);
    free(port);
    memset(plat, 0, sizeof *plat);
}

esp_err_t ota32_esp_platform_set_ca_pem(ota32_platform *plat, const char *pem)
{
    ota32_esp_port *port = port_of(plat);
    if (!port)
        return ESP_ERR_INVALID_ARG;
    port->transport.ca_pem = pem;
    return ESP_OK;
}

void ota32_esp_platform_heap_stats(const ota32_platform *plat, ota32_esp_heap_stats *out)
{
    const ota32_esp_port *port = port_of(plat);
    memset(out, 0, sizeof *out);
    if (!port)
        return;
    out->current = port->alloc.current;
    out->peak = port->alloc.peak;
    out->failures = (size_t)port->alloc.failures;
}
