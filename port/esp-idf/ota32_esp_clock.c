/* Monotonic time from esp_timer, sleeps as FreeRTOS delays, jitter from the
 * hardware RNG. */
#include "esp_random.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#include "ota32_esp_priv.h"

/* pdMS_TO_TICKS multiplies in TickType_t (32 bits): keep each delay small
 * enough not to overflow at any tick rate up to 1000 Hz. */
#define SLEEP_CHUNK_MS 60000u

static uint64_t clock_now_ms(void *ctx)
{
    (void)ctx;
    return (uint64_t)esp_timer_get_time() / 1000u;
}

static void clock_sleep_ms(void *ctx, uint32_t ms)
{
    (void)ctx;
    while (ms > 0) {
        uint32_t step = ms < SLEEP_CHUNK_MS ? ms : SLEEP_CHUNK_MS;
        TickType_t ticks = pdMS_TO_TICKS(step);
        /* A delay shorter than one tick still sleeps, rather than spinning. */
        vTaskDelay(ticks ? ticks : 1);
        ms -= step;
    }
}

static uint32_t clock_random(void *ctx)
{
    (void)ctx;
    return esp_random();
}

ota32_clock_ops ota32_esp_clock_ops(void)
{
    ota32_clock_ops ops = {
        .ctx = NULL,
        .now_ms = clock_now_ms,
        .sleep_ms = clock_sleep_ms,
        .random = clock_random,
    };
    return ops;
}
