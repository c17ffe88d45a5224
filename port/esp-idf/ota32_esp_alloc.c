/*
 * Counted heap for the engine and nghttp2 (ota32/alloc.h) over ESP-IDF's
 * malloc. Used from the ota32 task only, hence no lock.
 */
#include <stdlib.h>

#include "ota32_esp_priv.h"

void ota32_esp_alloc_init(ota32_esp_alloc *a)
{
    ota32_sys_heap sys = {.malloc = malloc, .realloc = realloc, .free = free};
    ota32_alloc_count_init(a, sys);
}
