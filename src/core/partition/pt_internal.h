/* Shared by the partition-table sources; not part of the public API. */
#ifndef OTA32_PT_INTERNAL_H
#define OTA32_PT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ota32/partition.h"

typedef struct pt_keyword {
    const char *name;
    uint8_t value;
} pt_keyword;

/* gen_esp32part.py's TYPES and SUBTYPES[type] tables, in its order. */
const pt_keyword *pt_type_keywords(size_t *n);
const pt_keyword *pt_subtype_keywords(uint8_t type, size_t *n); /* NULL for custom types */

#define PT_MD5_MAGIC0 0xEBu
#define PT_MAGIC 0x50AAu
#define PT_SECTOR 0x1000u

#endif
