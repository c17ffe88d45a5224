/* Partition-table binaries built by hand, for the partition tests. */
#ifndef OTA32_TEST_PARTITION_UTIL_H
#define OTA32_TEST_PARTITION_UTIL_H

#include <stdint.h>
#include <string.h>

#include "check.h"
#include "bytes.h"
#include "ota32/hash.h"
#include "posix_hash.h"

/* An entry as esp-formats.md §1 lays it out. */
static inline void put_entry(uint8_t *e, uint8_t type, uint8_t sub, uint32_t off, uint32_t size,
                             const char *label, uint32_t flags)
{
    memset(e, 0, 32);
    e[0] = 0xAA, e[1] = 0x50, e[2] = type, e[3] = sub;
    ota32_put_le32(e + 4, off);
    ota32_put_le32(e + 8, size);
    memcpy(e + 12, label, strlen(label) < 16 ? strlen(label) : 16);
    ota32_put_le32(e + 28, flags);
}

/* After the entries: EB EB + 14 x FF + MD5 of the entries. */
static inline void put_md5(uint8_t *bin, unsigned entries)
{
    uint8_t *m = bin + entries * 32;
    m[0] = m[1] = 0xEB;
    memset(m + 2, 0xFF, 14);
    CHECK_EQ(ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_MD5, bin, entries * 32, m + 16), 0);
}

#endif
