/*
 * NVS page layer: entry-state bitmap, item validation, and writing, copying
 * and erasing items on one page. Everything is read from flash in 32-byte
 * pieces, so no page buffer is needed.
 */
#include <string.h>

#include "bytes.h"
#include "nvs_priv.h"
#include "ota32/crc.h"

bool nvs_type_is_int(uint8_t type)
{
    switch (type) {
    case OTA32_NVS_U8:
    case OTA32_NVS_I8:
    case OTA32_NVS_U16:
    case OTA32_NVS_I16:
    case OTA32_NVS_U32:
    case OTA32_NVS_I32:
    case OTA32_NVS_U64:
    case OTA32_NVS_I64:
        return true;
    default:
        return false;
    }
}

bool nvs_type_has_payload(uint8_t type)
{
    return type == OTA32_NVS_STR || type == OTA32_NVS_BLOB || type == OTA32_NVS_BLOB_DATA;
}

/* crc32 over bytes 0..3 and 8..31: everything but the crc field itself. */
uint32_t nvs_item_crc(const uint8_t h[NVS_ENTRY_LEN])
{
    uint32_t crc = ota32_crc32_le(0xFFFFFFFFu, h, NVS_I_CRC);
    return ota32_crc32_le(crc, h + NVS_I_KEY, NVS_ENTRY_LEN - NVS_I_KEY);
}

uint32_t nvs_page_addr(const ota32_nvs *n, unsigned page)
{
    return n->offset + page * OTA32_NVS_PAGE_SIZE;
}

uint32_t nvs_entry_addr(const ota32_nvs *n, unsigned page, unsigned entry)
{
    return nvs_page_addr(n, page) + NVS_ENTRY_OFF + entry * NVS_ENTRY_LEN;
}

static int note(ota32_nvs *n, int rc)
{
    if (rc != OTA32_OK && n->fault == 0)
        n->fault = rc < 0 ? rc : OTA32_ERR_IO;
    return rc < 0 ? rc : (rc ? OTA32_ERR_IO : OTA32_OK);
}

int nvs_read(ota32_nvs *n, uint32_t addr, void *buf, size_t len)
{
    return note(n, n->flash->read(n->flash->ctx, addr, buf, len));
}

int nvs_prog(ota32_nvs *n, uint32_t addr, const void *buf, size_t len)
{
    return note(n, n->flash->program(n->flash->ctx, addr, buf, len));
}

int nvs_erase_page(ota32_nvs *n, unsigned page)
{
    int rc = note(n, n->flash->erase_sector(n->flash->ctx, nvs_page_addr(n, page)));
    if (rc == OTA32_OK) {
        n->page_state[page] = NVS_PAGE_UNINIT;
        n->page_next[page] = 0;
    }
    return rc;
}

unsigned nvs_bm_get(const uint8_t bm[NVS_BITMAP_LEN], unsigned entry)
{
    return (bm[entry / 4] >> ((entry % 4) * 2)) & 3u;
}

int nvs_read_bitmap(ota32_nvs *n, unsigned page, uint8_t bm[NVS_BITMAP_LEN])
{
    return nvs_read(n, nvs_page_addr(n, page) + NVS_BITMAP_OFF, bm, NVS_BITMAP_LEN);
}

int nvs_set_entry_states(ota32_nvs *n, unsigned page, unsigned first, unsigned count,
                         unsigned state)
{
    uint8_t old[NVS_BITMAP_LEN], bm[NVS_BITMAP_LEN];
    if (first >= NVS_ENTRIES || count > NVS_ENTRIES - first)
        return OTA32_ERR_RANGE;
    int rc = nvs_read_bitmap(n, page, old);
    if (rc != OTA32_OK)
        return rc;
    memcpy(bm, old, sizeof bm);
    for (unsigned e = first; e < first + count; e++) {
        unsigned shift = (e % 4) * 2;
        bm[e / 4] &= (uint8_t) ~((~state & 3u) << shift);
    }
    /* Program only the 32-bit words that change, as ESP-IDF does; bytes
     * that stay the same are sent as 0xFF, which leaves NOR untouched. */
    uint32_t base = nvs_page_addr(n, page) + NVS_BITMAP_OFF;
    for (unsigned w = 0; w < NVS_BITMAP_LEN; w += 4) {
        if (memcmp(bm + w, old + w, 4) == 0)
            continue;
        uint8_t word[4];
        for (unsigned b = 0; b < 4; b++)
            word[b] = bm[w + b] != old[w + b] ? bm[w + b] : 0xFF;
        rc = nvs_prog(n, base + w, word, sizeof word);
        if (rc != OTA32_OK)
            return rc;
    }
    return OTA32_OK;
}

int nvs_set_page_state(ota32_nvs *n, unsigned page, uint32_t state)
{
    uint8_t w[4];
    ota32_put_le32(w, state);
    int rc = nvs_prog(n, nvs_page_addr(n, page), w, sizeof w);
    if (rc == OTA32_OK)
        n->page_state[page] = state;
    return rc;
}

int nvs_check_header(const uint8_t h[NVS_ENTRY_LEN], const uint8_t bm[NVS_BITMAP_LEN],
                     unsigned entry, unsigned *next)
{
    *next = 1;
    if (entry >= NVS_ENTRIES || nvs_bm_get(bm, entry) != NVS_ENTRY_WRITTEN)
        return 0;
    if (ota32_le32(h + NVS_I_CRC) != nvs_item_crc(h))
        return 0;
    unsigned span = h[NVS_I_SPAN];
    if (span == 0 || span > NVS_ENTRIES - entry)
        return 0;
    for (unsigned k = 1; k < span; k++)
        if (nvs_bm_get(bm, entry + k) != NVS_ENTRY_WRITTEN)
            return 0;
    *next = span; /* the CRC vouches for the span */
    uint8_t type = h[NVS_I_TYPE];
    if (nvs_type_is_int(type) || type == OTA32_NVS_BLOB_IDX) {
        if (span != 1)
            return 0;
    } else if (nvs_type_has_payload(type)) {
        unsigned size = ota32_le16(h + NVS_I_DATA);
        if (span != 1 + (size + NVS_ENTRY_LEN - 1) / NVS_ENTRY_LEN)
            return 0;
    } else {
        return 2; /* a type this version does not know: keep it, skip it */
    }
    if (memchr(h + NVS_I_KEY, 0, OTA32_NVS_KEY_MAX + 1) == NULL)
        return 2;
    return 1;
}

int nvs_page_next(ota32_nvs *n, unsigned page, const uint8_t bm[NVS_BITMAP_LEN], unsigned *entry,
                  nvs_loc *out)
{
    while (*entry < NVS_ENTRIES) {
        unsigned e = *entry, next = 1;
        if (nvs_bm_get(bm, e) != NVS_ENTRY_WRITTEN) {
            (*entry)++;
            continue;
        }
        int rc = nvs_read(n, nvs_entry_addr(n, page, e), out->h, NVS_ENTRY_LEN);
        if (rc != OTA32_OK)
            return rc;
        int ok = nvs_check_header(out->h, bm, e, &next);
        *entry = e + next;
        if (ok == 1) {
            out->page = page;
            out->entry = e;
            return 1;
        }
    }
    return 0;
}

void nvs_walk_start(nvs_walk *w)
{
    w->order_i = 0;
    w->entry = 0;
    w->entered = false;
}

int nvs_walk_next(ota32_nvs *n, nvs_walk *w, nvs_loc *out)
{
    while (w->order_i < n->order_count) {
        if (!w->entered) {
            w->page = n->order[w->order_i];
            w->entry = 0;
            int rc = nvs_read_bitmap(n, w->page, w->bm);
            if (rc < 0)
                return rc;
            w->entered = true;
        }
        int rc = nvs_page_next(n, w->page, w->bm, &w->entry, out);
        if (rc != 0)
            return rc;
        w->order_i++;
        w->entered = false;
    }
    return 0;
}

/* Feed the payload to `fn` in entry-sized pieces. */
static int payload_walk(ota32_nvs *n, const nvs_loc *l,
                        int (*fn)(void *arg, const uint8_t *p, size_t len, size_t off), void *arg)
{
    size_t size = ota32_le16(l->h + NVS_I_DATA);
    for (size_t off = 0; off < size; off += NVS_ENTRY_LEN) {
        uint8_t buf[NVS_ENTRY_LEN];
        size_t take = size - off < NVS_ENTRY_LEN ? size - off : NVS_ENTRY_LEN;
        unsigned e = l->entry + 1 + (unsigned)(off / NVS_ENTRY_LEN);
        int rc = nvs_read(n, nvs_entry_addr(n, l->page, e), buf, sizeof buf);
        if (rc != OTA32_OK)
            return rc;
        rc = fn(arg, buf, take, off);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int crc_step(void *arg, const uint8_t *p, size_t len, size_t off)
{
    (void)off;
    uint32_t *crc = arg;
    *crc = ota32_crc32_le(*crc, p, len);
    return 0;
}

int nvs_payload_ok(ota32_nvs *n, const nvs_loc *l)
{
    if (!nvs_type_has_payload(nvs_h_type(l)))
        return 1;
    uint32_t crc = 0xFFFFFFFFu;
    int rc = payload_walk(n, l, crc_step, &crc);
    if (rc < 0)
        return rc;
    return crc == ota32_le32(l->h + NVS_VAR_CRC);
}

typedef struct copy_arg {
    uint8_t *buf;
    size_t cap;
    const uint8_t *cmp;
} copy_arg;

static int copy_step(void *arg, const uint8_t *p, size_t len, size_t off)
{
    copy_arg *a = arg;
    if (off < a->cap)
        memcpy(a->buf + off, p, len < a->cap - off ? len : a->cap - off);
    return 0;
}

int nvs_payload_read(ota32_nvs *n, const nvs_loc *l, uint8_t *buf, size_t cap)
{
    copy_arg a = {buf, cap, NULL};
    return payload_walk(n, l, copy_step, &a);
}

static int cmp_step(void *arg, const uint8_t *p, size_t len, size_t off)
{
    copy_arg *a = arg;
    return memcmp(a->cmp + off, p, len) != 0 ? 1 : 0;
}

int nvs_payload_equal(ota32_nvs *n, const nvs_loc *l, const uint8_t *buf, size_t len)
{
    if (ota32_le16(l->h + NVS_I_DATA) != len)
        return 0;
    copy_arg a = {NULL, 0, buf};
    int rc = payload_walk(n, l, cmp_step, &a);
    return rc < 0 ? rc : rc == 0;
}

int nvs_write_at(ota32_nvs *n, unsigned page, unsigned at, const uint8_t h[NVS_ENTRY_LEN],
                 const uint8_t *payload, size_t len)
{
    unsigned data_entries = (unsigned)((len + NVS_ENTRY_LEN - 1) / NVS_ENTRY_LEN);
    if (at >= NVS_ENTRIES || data_entries > NVS_ENTRIES - 1 - at)
        return OTA32_ERR_RANGE;
    int rc = nvs_prog(n, nvs_entry_addr(n, page, at), h, NVS_ENTRY_LEN);
    if (rc == OTA32_OK)
        rc = nvs_set_entry_states(n, page, at, 1, NVS_ENTRY_WRITTEN);
    for (unsigned k = 0; rc == OTA32_OK && k < data_entries; k++) {
        uint8_t buf[NVS_ENTRY_LEN];
        size_t off = (size_t)k * NVS_ENTRY_LEN;
        size_t take = len - off < NVS_ENTRY_LEN ? len - off : NVS_ENTRY_LEN;
        memset(buf, 0xFF, sizeof buf);
        memcpy(buf, payload + off, take);
        rc = nvs_prog(n, nvs_entry_addr(n, page, at + 1 + k), buf, sizeof buf);
    }
    if (rc == OTA32_OK && data_entries > 0)
        rc = nvs_set_entry_states(n, page, at + 1, data_entries, NVS_ENTRY_WRITTEN);
    if (rc == OTA32_OK && n->page_next[page] < at + 1 + data_entries)
        n->page_next[page] = (uint8_t)(at + 1 + data_entries);
    return rc;
}

int nvs_copy_item(ota32_nvs *n, const nvs_loc *l, unsigned page, unsigned at)
{
    unsigned span = nvs_h_span(l);
    if (at >= NVS_ENTRIES || span > NVS_ENTRIES - at)
        return OTA32_ERR_RANGE;
    int rc = nvs_prog(n, nvs_entry_addr(n, page, at), l->h, NVS_ENTRY_LEN);
    if (rc == OTA32_OK)
        rc = nvs_set_entry_states(n, page, at, 1, NVS_ENTRY_WRITTEN);
    for (unsigned k = 1; rc == OTA32_OK && k < span; k++) {
        uint8_t buf[NVS_ENTRY_LEN];
        rc = nvs_read(n, nvs_entry_addr(n, l->page, l->entry + k), buf, sizeof buf);
        if (rc == OTA32_OK)
            rc = nvs_prog(n, nvs_entry_addr(n, page, at + k), buf, sizeof buf);
    }
    if (rc == OTA32_OK && span > 1)
        rc = nvs_set_entry_states(n, page, at + 1, span - 1, NVS_ENTRY_WRITTEN);
    if (rc == OTA32_OK && n->page_next[page] < at + span)
        n->page_next[page] = (uint8_t)(at + span);
    return rc;
}

int nvs_erase_item(ota32_nvs *n, const nvs_loc *l)
{
    return nvs_set_entry_states(n, l->page, l->entry, nvs_h_span(l), NVS_ENTRY_ERASED);
}
