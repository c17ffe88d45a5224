/* NVS internals shared by the page layer (nvs_page.c), the storage layer
 * (nvs.c) and recovery at open (nvs_open.c). Format: docs/formats.md, NVS. */
#ifndef OTA32_NVS_PRIV_H
#define OTA32_NVS_PRIV_H

#include "ota32/nvs.h"

/* Page layout. */
#define NVS_HDR_LEN 32u
#define NVS_BITMAP_OFF 32u
#define NVS_BITMAP_LEN 32u
#define NVS_ENTRY_OFF 64u
#define NVS_ENTRY_LEN 32u
#define NVS_ENTRIES OTA32_NVS_ENTRIES_PER_PAGE
#define NVS_CHUNK_MAX (NVS_ENTRY_LEN * (NVS_ENTRIES - 1)) /* 4000 */

_Static_assert(NVS_ENTRY_OFF + NVS_ENTRIES * NVS_ENTRY_LEN == OTA32_NVS_PAGE_SIZE,
               "126 entries after a 64-byte header fill a 4 KB page");
_Static_assert(NVS_ENTRIES * 2 <= NVS_BITMAP_LEN * 8, "2 state bits per entry");
_Static_assert(OTA32_NVS_MAX_PAGES <= 256, "page indexes are stored in uint8_t");

/* Page states (header word 0; bits are cleared one by one). */
#define NVS_PAGE_UNINIT 0xFFFFFFFFu
#define NVS_PAGE_ACTIVE 0xFFFFFFFEu
#define NVS_PAGE_FULL 0xFFFFFFFCu
#define NVS_PAGE_FREEING 0xFFFFFFF8u
#define NVS_PAGE_CORRUPT 0xFFFFFFF0u

#define NVS_VERSION2 0xFEu
#define NVS_VERSION1 0xFFu

/* Entry states in the bitmap. */
#define NVS_ENTRY_EMPTY 3u
#define NVS_ENTRY_WRITTEN 2u
#define NVS_ENTRY_ERASED 0u

#define NVS_CHUNK_ANY 0xFFu
#define NVS_NS_TABLE 0u /* nsIndex of namespace entries */
#define NVS_VER_0 0x00u /* BLOB_IDX chunkStart versions */
#define NVS_VER_1 0x80u

/* Page header offsets: state, sequence number, format version, then the
 * CRC-32 of bytes [NVS_H_SEQ, NVS_H_CRC). */
enum { NVS_H_STATE = 0, NVS_H_SEQ = 4, NVS_H_VERSION = 8, NVS_H_CRC = 28, NVS_H_END = 32 };
_Static_assert(NVS_H_END == NVS_HDR_LEN, "the page header is 32 bytes");
#define NVS_H_CRC_LEN (NVS_H_CRC - NVS_H_SEQ)

/* Item header offsets. */
enum {
    NVS_I_NS = 0,
    NVS_I_TYPE = 1,
    NVS_I_SPAN = 2,
    NVS_I_CHUNK = 3,
    NVS_I_CRC = 4,
    NVS_I_KEY = 8,
    NVS_I_DATA = 24,
};
_Static_assert(NVS_I_DATA + 8 == NVS_ENTRY_LEN, "an item header is one 32-byte entry");
_Static_assert(NVS_I_DATA - NVS_I_KEY == OTA32_NVS_KEY_MAX + 1, "16-byte key field");

/* The 8 data bytes of a BLOB_IDX item: total size, chunk count, first chunk. */
enum { NVS_IDX_SIZE = NVS_I_DATA, NVS_IDX_COUNT = NVS_I_DATA + 4, NVS_IDX_START = NVS_I_DATA + 5 };
/* Of a string or blob-data item: the data length and the data's CRC-32. */
enum { NVS_VAR_SIZE = NVS_I_DATA, NVS_VAR_CRC = NVS_I_DATA + 4 };

/* A structurally valid item: its header passes the CRC, its span fits the
 * page, every entry of the span is WRITTEN, and its sizes agree. */
typedef struct nvs_loc {
    unsigned page;  /* physical page index */
    unsigned entry; /* entry index within the page */
    uint8_t h[NVS_ENTRY_LEN];
} nvs_loc;

static inline uint8_t nvs_h_ns(const nvs_loc *l)
{
    return l->h[NVS_I_NS];
}
static inline uint8_t nvs_h_type(const nvs_loc *l)
{
    return l->h[NVS_I_TYPE];
}
static inline uint8_t nvs_h_span(const nvs_loc *l)
{
    return l->h[NVS_I_SPAN];
}
static inline uint8_t nvs_h_chunk(const nvs_loc *l)
{
    return l->h[NVS_I_CHUNK];
}
static inline const char *nvs_h_key(const nvs_loc *l)
{
    return (const char *)l->h + NVS_I_KEY;
}

bool nvs_type_is_int(uint8_t type);
/* SZ, legacy BLOB and BLOB_DATA carry a payload after the header. */
bool nvs_type_has_payload(uint8_t type);

uint32_t nvs_item_crc(const uint8_t h[NVS_ENTRY_LEN]);
uint32_t nvs_page_addr(const ota32_nvs *n, unsigned page);
uint32_t nvs_entry_addr(const ota32_nvs *n, unsigned page, unsigned entry);

/* Flash access; the first failure is remembered in n->fault. */
int nvs_read(ota32_nvs *n, uint32_t addr, void *buf, size_t len);
int nvs_prog(ota32_nvs *n, uint32_t addr, const void *buf, size_t len);
int nvs_erase_page(ota32_nvs *n, unsigned page);

unsigned nvs_bm_get(const uint8_t bm[NVS_BITMAP_LEN], unsigned entry);
int nvs_read_bitmap(ota32_nvs *n, unsigned page, uint8_t bm[NVS_BITMAP_LEN]);
/* Move entries [first, first+count) to `state` (only clears bits). */
int nvs_set_entry_states(ota32_nvs *n, unsigned page, unsigned first, unsigned count,
                         unsigned state);
int nvs_set_page_state(ota32_nvs *n, unsigned page, uint32_t state);

/* Header checks only: 1 valid, 0 not. `next` receives how many entries to
 * skip (span when the layout can be trusted, else 1). */
int nvs_check_header(const uint8_t h[NVS_ENTRY_LEN], const uint8_t bm[NVS_BITMAP_LEN],
                     unsigned entry, unsigned *next);
/* Next structurally valid item on `page` at or after *entry. Returns 1 and
 * moves *entry past it, 0 at the end of the page, or an error. */
int nvs_page_next(ota32_nvs *n, unsigned page, const uint8_t bm[NVS_BITMAP_LEN], unsigned *entry,
                  nvs_loc *out);
/* A walk over the structurally valid items of every page in use, oldest
 * page first. Each page's bitmap is read when the walk enters it. */
typedef struct nvs_walk {
    unsigned order_i; /* index into n->order of the current page */
    unsigned page;    /* n->order[order_i] when the walk entered it */
    unsigned entry;   /* next entry to look at on that page */
    bool entered;     /* page and bm are set */
    uint8_t bm[NVS_BITMAP_LEN];
} nvs_walk;
void nvs_walk_start(nvs_walk *w);
/* Returns 1 with *out = the next item, 0 at the end, or an error. */
int nvs_walk_next(ota32_nvs *n, nvs_walk *w, nvs_loc *out);
/* 1 when the payload matches its CRC (always 1 for items without one). */
int nvs_payload_ok(ota32_nvs *n, const nvs_loc *l);
/* Read up to `cap` payload bytes. */
int nvs_payload_read(ota32_nvs *n, const nvs_loc *l, uint8_t *buf, size_t cap);
/* 1 when the payload equals buf[0..len). */
int nvs_payload_equal(ota32_nvs *n, const nvs_loc *l, const uint8_t *buf, size_t len);

/* Write header + payload entries at entry `at` of `page`, in ESP-IDF's order:
 * header, its WRITTEN bit, data entries, their WRITTEN bits. */
int nvs_write_at(ota32_nvs *n, unsigned page, unsigned at, const uint8_t h[NVS_ENTRY_LEN],
                 const uint8_t *payload, size_t len);
/* Copy a valid item's entries to `page` at entry `at`. */
int nvs_copy_item(ota32_nvs *n, const nvs_loc *l, unsigned page, unsigned at);
int nvs_erase_item(ota32_nvs *n, const nvs_loc *l);

/* Storage layer (nvs.c) used by recovery. */
int nvs_activate_page(ota32_nvs *n);
/* Copy every valid item of `from` to the active page, then erase `from`. */
int nvs_move_page(ota32_nvs *n, unsigned from);
void nvs_order_remove(ota32_nvs *n, unsigned page);

/* Recovery at open (nvs_open.c). */
int nvs_recover(ota32_nvs *n);

#endif
