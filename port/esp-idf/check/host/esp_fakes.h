/*
 * Host fakes of the ESP-IDF calls the port makes, for test_port.c: RAM flash
 * with the example's partition table, an in-memory NVS, scripted esp-tls,
 * a manual clock. Each records what it was asked so tests can check the
 * port's arguments, not just its results.
 */
#ifndef OTA32_ESP_FAKES_H
#define OTA32_ESP_FAKES_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_event.h"
#include "esp_timer.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_tls.h"

#define FAKE_FLASH_SIZE (8u * 1024u * 1024u)

enum { FAKE_NVS, FAKE_OTADATA, FAKE_PHY, FAKE_OTA0, FAKE_OTA1, FAKE_NPART };

typedef struct fake_call {
    const esp_partition_t *part;
    size_t offset, size;
} fake_call;

/* One scripted esp_tls_conn_read/_write result. */
typedef struct fake_io {
    long ret;   /* bytes, 0, or a negative error */
    int err_no; /* errno to set (plain TCP) */
    const char *data;
    uint32_t takes_ms; /* clock advance during the call */
} fake_io;

typedef struct fake_state {
    uint8_t flash[FAKE_FLASH_SIZE];
    esp_partition_t parts[FAKE_NPART];
    const esp_partition_t *running;
    esp_err_t next_flash_error; /* returned once by the next read/write/erase */
    fake_call last_write, last_erase, last_read;
    unsigned writes, erases;

    esp_err_t state_error; /* forced result of esp_ota_get_state_partition */
    const esp_partition_t *boot_set; /* last successful esp_ota_set_boot_partition */
    esp_err_t set_boot_error;        /* forced result of esp_ota_set_boot_partition */
    unsigned set_boot_calls, marked_valid, marked_invalid, boots;
    uint32_t efuse_secure_version; /* anti-rollback floor */

    unsigned nvs_commits;

    uint64_t now_us;
    uint64_t delayed_ticks[8];
    unsigned delays;

    /* esp-tls */
    esp_tls_cfg_t tls_cfg; /* the config of the last connect */
    char tls_host[64];
    int tls_port;
    int connect_ret;         /* esp_tls_conn_new_sync result */
    esp_err_t connect_error; /* what esp_tls_get_and_clear_last_error reports */
    int connect_flags;
    const char *alpn; /* what mbedtls_ssl_get_alpn_protocol returns */
    fake_io io[16];
    unsigned nio, io_pos;
    int rcvtimeo_ms, sndtimeo_ms; /* last values set */
    unsigned setsockopts;
    unsigned destroyed;

    /* esp_restart: counted, and longjmp to restart_jmp when armed (else the
     * process exits, as a test must not go on past a restart) */
    unsigned restarts;
    bool restart_armed;
    jmp_buf restart_jmp;
    unsigned stack_unused; /* uxTaskGetStackHighWaterMark, bytes */

    /* tasks: xTaskCreate records, and refuses when task_refused */
    bool task_refused;
    unsigned tasks_created;
    void *task_arg;

    /* the example's network: example_connect's result, the handlers it
     * registered, its one-shot timer, esp_wifi_connect calls */
    esp_err_t example_connect_result;
    esp_event_handler_t on_wifi_lost, on_got_ip;
    esp_timer_cb_t timer_cb;
    void *timer_arg;
    bool timer_armed;
    uint64_t timer_us;
    unsigned wifi_connects;

    char last_log[512];
    char log[16384]; /* every line since the reset (the oldest dropped) */
    int last_log_level;
} fake_state;

extern fake_state fake;

#define FAKE_APP_LEN (80u * 1024u)

/* Reset everything: partitions as examples/esp-idf/partitions.csv (8 MB)
 * with the table at 0x8000, flash erased, an app "v1" in ota_0, booted once
 * (otadata[0] seq 1 VALID). */
void fake_reset(void);

/* Write a valid app image (FAKE_APP_LEN bytes) into FAKE_OTA0/FAKE_OTA1. */
int fake_install_app(int part, const char *version, uint32_t secure_version);

/* Power on: the bootloader picks the app from otadata (and rewrites it as
 * ESP-IDF's does); fake.running follows. */
void fake_boot(void);

#endif
