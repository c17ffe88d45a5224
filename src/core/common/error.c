#include "ota32/ota32.h"

#include <stdarg.h>
#include <stdio.h>

const char *ota32_strerror(int err)
{
    switch (err) {
    case OTA32_OK: return "success";
    case OTA32_ERR_INVALID_ARG: return "invalid argument";
    case OTA32_ERR_NO_MEM: return "out of memory";
    case OTA32_ERR_IO: return "I/O error";
    case OTA32_ERR_CORRUPT: return "malformed input";
    case OTA32_ERR_UNSUPPORTED: return "not supported";
    case OTA32_ERR_NOT_FOUND: return "not found";
    case OTA32_ERR_TOO_BIG: return "too big";
    case OTA32_ERR_RANGE: return "out of range";
    case OTA32_ERR_TIMEOUT: return "timed out";
    case OTA32_ERR_NET: return "network error";
    case OTA32_ERR_TLS: return "TLS error";
    case OTA32_ERR_HTTP: return "HTTP error";
    case OTA32_ERR_STATE: return "not allowed in this state";
    case OTA32_ERR_AGAIN: return "try again";
    case OTA32_ERR_NO_SPACE: return "no space left";
    case OTA32_ERR_CONFIG: return "invalid configuration";
    case OTA32_ERR_CHIP: return "wrong chip";
    case OTA32_ERR_VERIFY: return "verification failed";
    case OTA32_ERR_ABORTED: return "aborted";
    default: return "unknown error";
    }
}

void ota32_diag_clear(ota32_diag *d)
{
    if (!d)
        return;
    d->msg[0] = '\0';
    d->line = 0;
    d->offset = -1;
}

int ota32_diag_fail(ota32_diag *d, int err, int line, long offset, const char *fmt, ...)
{
    if (!d)
        return err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    d->line = line;
    d->offset = offset;
    return err;
}
