/*
 * State behind the ESP-IDF ops, one struct per op family, all owned by one
 * ota32_esp_port allocated in ota32_esp_platform_init.
 */
#ifndef OTA32_ESP_PRIV_H
#define OTA32_ESP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_partition.h"
#include "esp_tls.h"
#include "ota32/alloc.h"
#include "ota32/platform.h"
#include "ota32_esp.h"

#define OTA32_ESP_TAG "ota32"

/* App partitions a table can hold: factory, test and ota_0..ota_15. */
#define OTA32_ESP_MAX_APPS 18

typedef ota32_alloc_count ota32_esp_alloc;

typedef struct ota32_esp_flash {
    const esp_partition_t *apps[OTA32_ESP_MAX_APPS];
    unsigned count;
    const esp_partition_t *running;
} ota32_esp_flash;

typedef struct ota32_esp_transport {
    esp_tls_t *tls;
    int fd;
    bool is_tls;
    const char *ca_pem; /* NULL: the menuconfig default */
    /* esp-tls keeps a pointer to the ALPN list for the connection's life. */
    char alpn_req[16];
    const char *alpn_list[2];
    char alpn[16];           /* negotiated protocol, "" when none */
    uint32_t rcv_timeout_ms; /* value last set on the socket, 0: unknown */
    uint32_t snd_timeout_ms;
} ota32_esp_transport;

typedef struct ota32_esp_port {
    ota32_esp_alloc alloc;
    ota32_esp_flash flash;
    ota32_esp_transport transport;
} ota32_esp_port;

/* The counted heap over ESP-IDF's malloc; the ops that allocate outside
 * plat->alloc use ota32_alloc_count_malloc/free on it. */
void ota32_esp_alloc_init(ota32_esp_alloc *a);

/* Each returns the filled ops over its state. */
esp_err_t ota32_esp_flash_init(ota32_esp_flash *f, ota32_flash_ops *ops);
ota32_kv_ops ota32_esp_kv_ops(void);
ota32_boot_ops ota32_esp_boot_ops(ota32_esp_flash *f);
void ota32_esp_transport_init(ota32_esp_transport *t);
ota32_transport_ops ota32_esp_transport_ops(ota32_esp_transport *t);
ota32_clock_ops ota32_esp_clock_ops(void);
ota32_hash_ops ota32_esp_hash_ops(ota32_esp_alloc *a);
ota32_secure_ops ota32_esp_secure_ops(void);
ota32_log_ops ota32_esp_log_ops(void);

/* The app partition at absolute `addr`, NULL when none (flash ops). */
const esp_partition_t *ota32_esp_flash_find(const ota32_esp_flash *f, uint32_t addr);

/* An ota_N partition as an ota32_slot; false for factory/test. */
bool ota32_esp_slot_from(const esp_partition_t *p, ota32_slot *slot);

/* The update task's state and one step of its loop (ota32_esp_service.c),
 * apart from the task so the host check can drive them. */
typedef struct ota32_esp_runner {
    ota32_esp_config cfg;
    ota32_platform plat;
    ota32_service *svc;
} ota32_esp_runner;

/* Platform and engine from `cfg` (Kconfig defaults filled in). */
esp_err_t ota32_esp_runner_init(ota32_esp_runner *r, const ota32_esp_config *cfg);
void ota32_esp_runner_deinit(ota32_esp_runner *r);
/* One ota32_service_poll with its log lines; returns the milliseconds to
 * sleep before the next. */
uint32_t ota32_esp_runner_step(ota32_esp_runner *r);

#endif
