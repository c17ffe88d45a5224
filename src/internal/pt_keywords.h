/* The partition table's type and subtype keywords and magic numbers, shared
 * by the device's binary reader and name lookup (src/core/partition) and the
 * host's CSV reader (src/host). */
#ifndef OTA32_PT_KEYWORDS_H
#define OTA32_PT_KEYWORDS_H

#include <stddef.h>
#include <stdint.h>

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
