#include "posix_platform.h"

#include <signal.h>

#include "posix_hash.h"

void ota32_posix_platform_init(ota32_posix_host *host, ota32_platform *plat)
{
    ota32_posix_transport_init(&host->transport);
    ota32_posix_clock_init(&host->clock);
    ota32_posix_alloc_init(&host->alloc);
    ota32_posix_log_init(&host->log);
    plat->transport = ota32_posix_transport_ops(&host->transport);
    plat->clock = ota32_posix_clock_ops(&host->clock);
    plat->alloc = ota32_posix_alloc_ops(&host->alloc);
    plat->log = ota32_posix_log_ops(&host->log);
    plat->hash = *ota32_posix_hash();
    signal(SIGPIPE, SIG_IGN);
}

void ota32_posix_platform_close(ota32_posix_host *host)
{
    ota32_posix_transport_close(&host->transport);
}
