/*
 * Key-value ops over NVS. Each call opens the namespace, does one operation
 * (and commits a write) and closes it again: the engine writes a handful of
 * records per update, and no handle is left open between calls.
 */
#include <stdio.h>
#include <string.h>

#include "esp_log.h"
#include "nvs.h"

#include "ota32_esp_priv.h"

static int from_nvs(esp_err_t e)
{
    switch (e) {
    case ESP_OK:
        return OTA32_OK;
    case ESP_ERR_NVS_NOT_FOUND:
        return OTA32_ERR_NOT_FOUND;
    case ESP_ERR_NVS_INVALID_LENGTH:
    case ESP_ERR_NVS_VALUE_TOO_LONG:
        return OTA32_ERR_TOO_BIG;
    case ESP_ERR_NVS_NOT_ENOUGH_SPACE:
    case ESP_ERR_NVS_NO_FREE_PAGES:
        return OTA32_ERR_NO_SPACE;
    case ESP_ERR_NVS_INVALID_NAME:
    case ESP_ERR_NVS_KEY_TOO_LONG:
    case ESP_ERR_INVALID_ARG:
        return OTA32_ERR_INVALID_ARG;
    case ESP_ERR_NVS_TYPE_MISMATCH:
        return OTA32_ERR_CORRUPT;
    case ESP_ERR_NO_MEM:
        return OTA32_ERR_NO_MEM;
    default:
        return OTA32_ERR_IO;
    }
}

/* Logs failures other than a missing key, which is an expected answer. */
static int done(esp_err_t e, const char *what, const char *ns, const char *key)
{
    if (e != ESP_OK && e != ESP_ERR_NVS_NOT_FOUND)
        ESP_LOGW(OTA32_ESP_TAG, "nvs %s %s/%s: %s", what, ns, key, esp_err_to_name(e));
    return from_nvs(e);
}

static int kv_get_str(void *ctx, const char *ns, const char *key, char *buf, size_t cap)
{
    (void)ctx;
    nvs_handle_t h;
    esp_err_t e = nvs_open(ns, NVS_READONLY, &h);
    if (e == ESP_OK) {
        size_t len = cap;
        e = cap ? nvs_get_str(h, key, buf, &len) : ESP_ERR_NVS_INVALID_LENGTH;
        nvs_close(h);
    }
    return done(e, "get", ns, key);
}

static int kv_get_blob(void *ctx, const char *ns, const char *key, void *buf, size_t cap,
                       size_t *len)
{
    (void)ctx;
    nvs_handle_t h;
    esp_err_t e = nvs_open(ns, NVS_READONLY, &h);
    if (e == ESP_OK) {
        size_t n = cap;
        e = nvs_get_blob(h, key, buf, &n);
        if (e == ESP_ERR_NVS_INVALID_LENGTH) {
            /* Too small: report the stored size, as the host store does. */
            size_t need = 0;
            if (nvs_get_blob(h, key, NULL, &need) == ESP_OK)
                n = need;
        }
        if (len && (e == ESP_OK || e == ESP_ERR_NVS_INVALID_LENGTH))
            *len = n;
        nvs_close(h);
    }
    return done(e, "get", ns, key);
}

/* One write on an open handle. */
typedef esp_err_t (*write_fn)(nvs_handle_t h, const char *key, const void *data, size_t len);

static esp_err_t put_str(nvs_handle_t h, const char *key, const void *data, size_t len)
{
    (void)len;
    return nvs_set_str(h, key, data);
}

static esp_err_t put_blob(nvs_handle_t h, const char *key, const void *data, size_t len)
{
    return nvs_set_blob(h, key, data, len);
}

static esp_err_t put_erase(nvs_handle_t h, const char *key, const void *data, size_t len)
{
    (void)data;
    (void)len;
    return nvs_erase_key(h, key);
}

/* Opens read-write, runs `op`, commits on success. */
static int write_op(const char *ns, const char *key, write_fn op, const void *data, size_t len,
                    const char *what)
{
    nvs_handle_t h;
    esp_err_t e = nvs_open(ns, NVS_READWRITE, &h);
    if (e == ESP_OK) {
        e = op(h, key, data, len);
        if (e == ESP_OK)
            e = nvs_commit(h);
        nvs_close(h);
    }
    return done(e, what, ns, key);
}

static int kv_set_str(void *ctx, const char *ns, const char *key, const char *val)
{
    (void)ctx;
    return write_op(ns, key, put_str, val, 0, "set");
}

static int kv_set_blob(void *ctx, const char *ns, const char *key, const void *data, size_t len)
{
    (void)ctx;
    return write_op(ns, key, put_blob, data, len, "set");
}

static int kv_erase_key(void *ctx, const char *ns, const char *key)
{
    (void)ctx;
    return write_op(ns, key, put_erase, NULL, 0, "erase");
}

ota32_kv_ops ota32_esp_kv_ops(void)
{
    ota32_kv_ops ops = {
        .ctx = NULL,
        .get_str = kv_get_str,
        .set_str = kv_set_str,
        .get_blob = kv_get_blob,
        .set_blob = kv_set_blob,
        .erase_key = kv_erase_key,
    };
    return ops;
}
