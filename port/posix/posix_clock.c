#include "posix_clock.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

uint64_t ota32_posix_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t clock_now_ms(void *ctx)
{
    (void)ctx;
    return ota32_posix_now_ms();
}

static void clock_sleep_ms(void *ctx, uint32_t ms)
{
    (void)ctx;
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static uint32_t clock_random(void *ctx)
{
    ota32_posix_clock *c = ctx;
    uint32_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rng = x;
    return x;
}

void ota32_posix_clock_init(ota32_posix_clock *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t seed = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ ((uint32_t)getpid() << 16);
    c->rng = seed ? seed : 0x9E3779B9u;
}

ota32_clock_ops ota32_posix_clock_ops(ota32_posix_clock *c)
{
    ota32_clock_ops ops = {
        .ctx = c,
        .now_ms = clock_now_ms,
        .sleep_ms = clock_sleep_ms,
        .random = clock_random,
    };
    return ops;
}
