#include "diag_text.h"

#include <stdio.h>
#include <string.h>

/* Skip "Error at line N: " or "CSV Error at line N: " when N is `line`. */
static const char *without_line_prefix(const char *msg, int line)
{
    const char *p = msg;
    if (strncmp(p, "CSV ", 4) == 0)
        p += 4;
    if (strncmp(p, "Error at line ", 14) != 0)
        return msg;
    p += 14;
    int n = 0;
    while (*p >= '0' && *p <= '9' && n < 100000000)
        n = n * 10 + (*p++ - '0');
    if (n != line || strncmp(p, ": ", 2) != 0)
        return msg;
    return p + 2;
}

const char *ota32_diag_text(char *buf, size_t cap, const char *file, int err, const ota32_diag *d)
{
    const char *msg = d && d->msg[0] ? d->msg : ota32_strerror(err);
    if (d && d->msg[0] && d->line > 0)
        snprintf(buf, cap, "%s:%d: %s", file, d->line, without_line_prefix(msg, d->line));
    else if (d && d->msg[0] && d->offset >= 0 && strncmp(msg, "offset ", 7) != 0)
        snprintf(buf, cap, "%s: offset 0x%lx: %s", file, (unsigned long)d->offset, msg);
    else
        snprintf(buf, cap, "%s: %s", file, msg);
    return buf;
}
