#include "posix_log.h"

#include <stdio.h>

#include "posix_clock.h"

void ota32_posix_log_init(ota32_posix_log *l)
{
    l->stream = NULL;
    l->threshold = OTA32_LOG_INFO;
    l->timestamps = false;
    l->start_ms = ota32_posix_now_ms();
}

static void log_line(void *ctx, ota32_log_level level, const char *msg)
{
    static const char *const names[] = {"E", "W", "I", "D"};
    ota32_posix_log *l = ctx;
    if (level > l->threshold)
        return;
    FILE *f = l->stream ? l->stream : stderr;
    const char *name = (unsigned)level < 4 ? names[level] : "?";
    if (l->timestamps) {
        uint64_t ms = ota32_posix_now_ms() - l->start_ms;
        fprintf(f, "[%6llu.%03u] %s %s\n", (unsigned long long)(ms / 1000), (unsigned)(ms % 1000),
                name, msg);
    } else {
        fprintf(f, "%s %s\n", name, msg);
    }
    fflush(f);
}

ota32_log_ops ota32_posix_log_ops(ota32_posix_log *l)
{
    ota32_log_ops ops = {.ctx = l, .log = log_line};
    return ops;
}
