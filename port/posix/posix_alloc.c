#include "posix_alloc.h"

#include <stdlib.h>

void ota32_posix_alloc_init(ota32_posix_alloc *a)
{
    ota32_sys_heap sys = {.malloc = malloc, .realloc = realloc, .free = free};
    ota32_alloc_count_init(a, sys);
}

ota32_alloc_ops ota32_posix_alloc_ops(ota32_posix_alloc *a)
{
    return ota32_alloc_count_ops(a);
}

void ota32_posix_alloc_reset_peak(ota32_posix_alloc *a)
{
    ota32_alloc_count_reset_peak(a);
}
