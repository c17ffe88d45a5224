/* Fuzz the machine config parser: any bytes, any length. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ota32/http.h"
#include "ota32/service.h"
#include "posix_alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ota32_ota_config cfg;
    ota32_posix_alloc heap;
    ota32_posix_alloc_init(&heap);
    ota32_alloc_ops ops = ota32_posix_alloc_ops(&heap);
    ota32_diag diag;
    ota32_diag_clear(&diag);
    int rc = ota32_config_parse((const char *)data, size, &ops, &cfg, &diag);
    if (heap.current != 0 || heap.peak > sizeof(ota32_url))
        __builtin_trap(); /* bounded: at most the URL check's scratch, freed */
    if (rc == OTA32_OK) {
        /* What was accepted fits its limits. */
        if (strlen(cfg.version) > OTA32_CONFIG_VERSION_MAX || strlen(cfg.url) == 0)
            __builtin_trap();
    } else if (rc == OTA32_ERR_CONFIG && diag.msg[0] == '\0') {
        __builtin_trap(); /* every rejection says why */
    }
    return 0;
}
