/*
 * The host side of an ota32_platform in one call: transport (TCP/TLS),
 * clock, counting allocator, log and hash. Flash, key-value store and boot
 * control come from elsewhere (the virtual device) and are left untouched.
 */
#ifndef OTA32_POSIX_PLATFORM_H
#define OTA32_POSIX_PLATFORM_H

#include "ota32/platform.h"
#include "posix_alloc.h"
#include "posix_clock.h"
#include "posix_log.h"
#include "posix_transport.h"

/* State behind the ops; must outlive the platform that points into it. */
typedef struct ota32_posix_host {
    ota32_posix_transport transport;
    ota32_posix_clock clock;
    ota32_posix_alloc alloc;
    ota32_posix_log log;
} ota32_posix_host;

/* Initialise `host` and fill plat->transport, clock, alloc, log and hash.
 * Also ignores SIGPIPE for the process, so a peer closing while TLS writes
 * is an error return rather than the end of the program. */
void ota32_posix_platform_init(ota32_posix_host *host, ota32_platform *plat);

/* Close the transport if still open. */
void ota32_posix_platform_close(ota32_posix_host *host);

#endif
