/* Declaration-only stand-in for ESP-IDF's esp_err.h (v5.1-v5.5), for the
 * host compile check of port/esp-idf. Not used by the real build. */
#ifndef OTA32_CHECK_ESP_ERR_H
#define OTA32_CHECK_ESP_ERR_H

#include <stdint.h>

typedef int esp_err_t;

#define ESP_OK 0
#define ESP_FAIL -1
#define ESP_ERR_NO_MEM 0x101
#define ESP_ERR_INVALID_ARG 0x102
#define ESP_ERR_INVALID_STATE 0x103
#define ESP_ERR_INVALID_SIZE 0x104
#define ESP_ERR_NOT_FOUND 0x105
#define ESP_ERR_NOT_SUPPORTED 0x106

const char *esp_err_to_name(esp_err_t code);

/* The real macro aborts with a message on failure; same shape here. */
void _esp_error_check_failed(esp_err_t rc, const char *file, int line, const char *function,
                             const char *expression) __attribute__((__noreturn__));
#define ESP_ERROR_CHECK(x)                                                                         \
    do {                                                                                           \
        esp_err_t err_rc_ = (x);                                                                   \
        if (err_rc_ != ESP_OK)                                                                     \
            _esp_error_check_failed(err_rc_, __FILE__, __LINE__, __func__, #x);                    \
    } while (0)

#endif
