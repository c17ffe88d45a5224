/* Declaration-only stand-in for ESP-IDF's esp_tls.h (v5.1-v5.5). The config
 * struct lists the members ota32 sets, with their real types; the real one
 * has more (and cacert_buf/cacert_bytes sit in anonymous unions). */
#ifndef OTA32_CHECK_ESP_TLS_H
#define OTA32_CHECK_ESP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "esp_err.h"
#include "esp_tls_errors.h"

typedef struct esp_tls_cfg {
    const char **alpn_protos;
    const unsigned char *cacert_buf;
    unsigned int cacert_bytes;
    int timeout_ms;
    esp_err_t (*crt_bundle_attach)(void *conf);
    bool is_plain_tcp;
} esp_tls_cfg_t;

typedef struct esp_tls esp_tls_t;

esp_tls_t *esp_tls_init(void);
int esp_tls_conn_new_sync(const char *hostname, int hostlen, int port, const esp_tls_cfg_t *cfg,
                          esp_tls_t *tls);
ssize_t esp_tls_conn_write(esp_tls_t *tls, const void *data, size_t datalen);
ssize_t esp_tls_conn_read(esp_tls_t *tls, void *data, size_t datalen);
int esp_tls_conn_destroy(esp_tls_t *tls);
esp_err_t esp_tls_get_conn_sockfd(esp_tls_t *tls, int *sockfd);
void *esp_tls_get_ssl_context(esp_tls_t *tls);
esp_err_t esp_tls_get_error_handle(esp_tls_t *tls, esp_tls_error_handle_t *error_handle);
esp_err_t esp_tls_get_and_clear_last_error(esp_tls_error_handle_t h, int *esp_tls_code,
                                           int *esp_tls_flags);

#endif
