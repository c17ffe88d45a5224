/* Host logging: one line per message, "LEVEL message", to a stdio stream,
 * filtered by a threshold. */
#ifndef OTA32_POSIX_LOG_H
#define OTA32_POSIX_LOG_H

#include "ota32/platform.h"

typedef struct ota32_posix_log {
    void *stream;              /* FILE *; NULL = stderr */
    ota32_log_level threshold; /* messages above it are dropped */
    bool timestamps;           /* prefix seconds since init */
    uint64_t start_ms;
} ota32_posix_log;

/* stderr, INFO, no timestamps. */
void ota32_posix_log_init(ota32_posix_log *l);

ota32_log_ops ota32_posix_log_ops(ota32_posix_log *l);

#endif
