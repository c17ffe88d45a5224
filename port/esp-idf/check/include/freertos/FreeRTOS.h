/* Declaration-only stand-in for ESP-IDF's FreeRTOS.h (v5.1-v5.5, ESP32). */
#ifndef OTA32_CHECK_FREERTOS_H
#define OTA32_CHECK_FREERTOS_H

#include <stdint.h>
#include "sdkconfig.h"

typedef int BaseType_t;
typedef unsigned int UBaseType_t;
typedef uint32_t TickType_t;

#define pdTRUE ((BaseType_t)1)
#define pdFALSE ((BaseType_t)0)
#define pdPASS (pdTRUE)
#define configTICK_RATE_HZ (CONFIG_FREERTOS_HZ)
/* IDF counts task stacks in bytes. */
#define configSTACK_DEPTH_TYPE uint32_t
#define pdMS_TO_TICKS(ms)                                                                          \
    ((TickType_t)(((TickType_t)(ms) * (TickType_t)configTICK_RATE_HZ) / (TickType_t)1000U))

#endif
