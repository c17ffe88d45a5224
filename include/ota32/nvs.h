/*
 * NVS (format version 2): read any partition ESP-IDF writes and write
 * integers, strings and blobs the way ESP-IDF does (new item first, then the
 * old one marked erased, so a power cut leaves the old or the new value).
 * Works directly on flash through ota32_flash_ops; no heap.
 */
#ifndef OTA32_NVS_H
#define OTA32_NVS_H

#include "ota32/ota32.h"
#include "ota32/flash.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_NVS_PAGE_SIZE 0x1000u
#define OTA32_NVS_ENTRIES_PER_PAGE 126u
#define OTA32_NVS_KEY_MAX 15u    /* characters, without NUL */
#define OTA32_NVS_STR_MAX 4000u  /* bytes, NUL included */
#define OTA32_NVS_MAX_PAGES 256u /* 1 MB partition */

/* Where the device keeps the OTA state (the same keys Micro-RDK uses). */
#define OTA32_NVS_NAMESPACE "VIAM_NS"
#define OTA32_NVS_KEY_VERSION "OTA_VERSION"

typedef enum ota32_nvs_type {
    OTA32_NVS_U8 = 0x01,
    OTA32_NVS_I8 = 0x11,
    OTA32_NVS_U16 = 0x02,
    OTA32_NVS_I16 = 0x12,
    OTA32_NVS_U32 = 0x04,
    OTA32_NVS_I32 = 0x14,
    OTA32_NVS_U64 = 0x08,
    OTA32_NVS_I64 = 0x18,
    OTA32_NVS_STR = 0x21,
    OTA32_NVS_BLOB = 0x41, /* v1 legacy */
    OTA32_NVS_BLOB_DATA = 0x42,
    OTA32_NVS_BLOB_IDX = 0x48,
} ota32_nvs_type;

/* An open NVS partition. Caller-allocated (about 7 KB); the fields after
 * page_count are private. After a flash error the handle refuses further
 * writes (OTA32_ERR_STATE): reopen it, which repairs what the error left. */
typedef struct ota32_nvs {
    const ota32_flash_ops *flash;
    uint32_t offset;
    uint32_t size;
    unsigned page_count;
    /* implementation state */
    uint32_t page_state[OTA32_NVS_MAX_PAGES]; /* header state; CORRUPT when unusable */
    uint32_t page_seq[OTA32_NVS_MAX_PAGES];
    uint8_t page_next[OTA32_NVS_MAX_PAGES]; /* first free entry index */
    uint8_t order[OTA32_NVS_MAX_PAGES];     /* pages in use, oldest first */
    unsigned order_count;
    int active_page;                    /* -1 when none */
    uint32_t next_seq;                  /* seq of the next page activated */
    unsigned last_activated;            /* where the search for a free page starts */
    int fault;                          /* first flash error, 0 when none */
    uint8_t scratch[OTA32_NVS_STR_MAX]; /* payloads handed to foreach */
} ota32_nvs;

/* Scan the partition (offset/size sector-aligned, at most MAX_PAGES pages;
 * ESP-IDF requires >= 3 for a writable one). A blank partition opens empty and nothing is
 * written until the first set. Like nvs_flash_init it repairs what a power
 * cut leaves: half-written entries and items failing their CRCs are marked
 * ERASED, the older of two items with one key is erased, an interrupted
 * page reclaim is finished, and blob chunks without an index are erased.
 * Errors: INVALID_ARG/RANGE/TOO_BIG (geometry), UNSUPPORTED (a page of a
 * newer format version), or the flash's error. */
int ota32_nvs_open(ota32_nvs *nvs, const ota32_flash_ops *flash, uint32_t offset, uint32_t size,
                   ota32_diag *diag);

/* Getters. ns and key are 1..15 characters. NOT_FOUND when the namespace or
 * key is absent (or a blob's chunks are incomplete), INVALID_ARG when the
 * key holds another type. For strings and blobs *len_out (may be NULL)
 * receives the stored size (a string's includes its NUL); buf == NULL only
 * queries it; TOO_BIG when cap is smaller. get_blob also reads legacy
 * (version 1) blobs. */
int ota32_nvs_get_str(ota32_nvs *nvs, const char *ns, const char *key, char *buf, size_t cap,
                      size_t *len_out);
int ota32_nvs_get_blob(ota32_nvs *nvs, const char *ns, const char *key, void *buf, size_t cap,
                       size_t *len_out);
/* Signed types come back sign-extended to 64 bits. */
int ota32_nvs_get_int(ota32_nvs *nvs, const char *ns, const char *key, ota32_nvs_type type,
                      uint64_t *out);

/* Setters create the namespace when needed (lowest free index, as
 * nvs_open does). Writing an identical value writes nothing. The new item is
 * written first, then every other item of the key (whatever its type) is
 * marked ERASED. When the active page is full the next one is used; when
 * only one free page is left, the page with the most unused entries is
 * reclaimed (its live items moved) first, as nvs_flash does.
 * Errors: INVALID_ARG (names, an int out of its type's range), TOO_BIG
 * (a string over 4000 bytes, a blob over (pages-1)*4000 bytes), NO_SPACE,
 * STATE (an earlier flash error: reopen), or the flash's error. */
int ota32_nvs_set_str(ota32_nvs *nvs, const char *ns, const char *key, const char *val);
int ota32_nvs_set_blob(ota32_nvs *nvs, const char *ns, const char *key, const void *data,
                       size_t len);
int ota32_nvs_set_int(ota32_nvs *nvs, const char *ns, const char *key, ota32_nvs_type type,
                      uint64_t val);
/* Erase every item of the key; NOT_FOUND when absent. */
int ota32_nvs_erase_key(ota32_nvs *nvs, const char *ns, const char *key);

/* One live item as ota32_nvs_foreach reports it. */
typedef struct ota32_nvs_item {
    char ns[OTA32_NVS_KEY_MAX + 1];
    char key[OTA32_NVS_KEY_MAX + 1];
    uint8_t type;
    uint8_t ns_index;
    uint8_t chunk_index;
    unsigned page;  /* page index in the partition */
    unsigned entry; /* entry index in the page */
    uint8_t span;
    uint64_t int_val;    /* integer types */
    uint32_t data_len;   /* STR / BLOB* / BLOB_IDX total size */
    const uint8_t *data; /* STR / BLOB_DATA payload, valid during the callback */
} ota32_nvs_item;

/* Call `cb` for every live (WRITTEN, CRC-valid) item, namespaces included,
 * oldest page first. `cb` must not change the partition. Stops early when
 * cb returns non-zero (returned as is). */
int ota32_nvs_foreach(ota32_nvs *nvs, int (*cb)(void *arg, const ota32_nvs_item *it), void *arg);

#ifdef __cplusplus
}
#endif
#endif
