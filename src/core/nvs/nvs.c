/*
 * NVS storage layer: namespaces, lookups, the setters and getters, and page
 * allocation with reclaim, following nvs_storage.cpp and nvs_pagemanager.cpp
 * of ESP-IDF v5.5: a value is replaced by writing the new item first and then
 * marking the old one ERASED, so a power cut leaves one or the other (and
 * ota32_nvs_open removes the older of a pair left behind).
 */
#include <string.h>

#include "bytes.h"
#include "nvs_priv.h"
#include "ota32/crc.h"

#define NVS_MAX_CHUNKS 127u /* chunk indexes of one version: start .. start+126 */

/* ---- page list ------------------------------------------------------- */

void nvs_order_remove(ota32_nvs *n, unsigned page)
{
    unsigned w = 0;
    for (unsigned i = 0; i < n->order_count; i++)
        if (n->order[i] != page)
            n->order[w++] = n->order[i];
    n->order_count = w;
    if (n->active_page == (int)page)
        n->active_page = -1;
}

static bool page_is_free(const ota32_nvs *n, unsigned p)
{
    return n->page_state[p] == NVS_PAGE_UNINIT || n->page_state[p] == NVS_PAGE_CORRUPT;
}

static unsigned free_pages(const ota32_nvs *n)
{
    unsigned c = 0;
    for (unsigned p = 0; p < n->page_count; p++)
        c += page_is_free(n, p);
    return c;
}

int nvs_activate_page(ota32_nvs *n)
{
    unsigned p = n->page_count;
    for (unsigned k = 1; k <= n->page_count; k++) {
        unsigned cand = (n->last_activated + k) % n->page_count;
        if (page_is_free(n, cand)) {
            p = cand;
            break;
        }
    }
    if (p == n->page_count)
        return OTA32_ERR_NO_SPACE;
    int rc = OTA32_OK;
    if (n->page_state[p] != NVS_PAGE_UNINIT)
        rc = nvs_erase_page(n, p);
    if (rc != OTA32_OK)
        return rc;
    uint8_t h[NVS_HDR_LEN];
    memset(h, 0xFF, sizeof h);
    ota32_put_le32(h + NVS_H_STATE, NVS_PAGE_ACTIVE);
    ota32_put_le32(h + NVS_H_SEQ, n->next_seq);
    h[NVS_H_VERSION] = NVS_VERSION2;
    ota32_put_le32(h + NVS_H_CRC, ota32_crc32_esp(h + NVS_H_SEQ, NVS_H_CRC_LEN));
    rc = nvs_prog(n, nvs_page_addr(n, p), h, sizeof h);
    if (rc != OTA32_OK)
        return rc;
    n->page_state[p] = NVS_PAGE_ACTIVE;
    n->page_seq[p] = n->next_seq++;
    n->page_next[p] = 0;
    n->order[n->order_count++] = (uint8_t)p;
    n->active_page = (int)p;
    n->last_activated = p;
    return OTA32_OK;
}

int nvs_move_page(ota32_nvs *n, unsigned from)
{
    uint8_t bm[NVS_BITMAP_LEN];
    nvs_loc l;
    unsigned e = 0;
    int rc = nvs_read_bitmap(n, from, bm);
    while (rc >= 0 && (rc = nvs_page_next(n, from, bm, &e, &l)) == 1) {
        rc = nvs_payload_ok(n, &l);
        if (rc == 0) { /* a damaged payload is not worth keeping */
            rc = OTA32_OK;
            continue;
        }
        if (rc < 0)
            break;
        if (n->active_page < 0 || n->page_next[n->active_page] + nvs_h_span(&l) > NVS_ENTRIES)
            return OTA32_ERR_NO_SPACE;
        rc = nvs_copy_item(n, &l, (unsigned)n->active_page, n->page_next[n->active_page]);
    }
    if (rc < 0)
        return rc;
    rc = nvs_erase_page(n, from);
    if (rc == OTA32_OK)
        nvs_order_remove(n, from);
    return rc;
}

static unsigned written_entries(const uint8_t bm[NVS_BITMAP_LEN])
{
    unsigned c = 0;
    for (unsigned e = 0; e < NVS_ENTRIES; e++)
        c += nvs_bm_get(bm, e) == NVS_ENTRY_WRITTEN;
    return c;
}

/* PageManager::requestNewPage: activate a free page; when only one is left,
 * first reclaim the page with the most unused entries (copy its live items
 * to the new page, then erase it), so one page always stays free. */
static int request_new_page(ota32_nvs *n)
{
    unsigned nfree = free_pages(n);
    if (nfree == 0)
        return OTA32_ERR_NO_SPACE;
    if (nfree >= 2)
        return nvs_activate_page(n);
    unsigned victim = 0, best = 0;
    for (unsigned i = 0; i < n->order_count; i++) {
        uint8_t bm[NVS_BITMAP_LEN];
        int rc = nvs_read_bitmap(n, n->order[i], bm);
        if (rc != OTA32_OK)
            return rc;
        unsigned unused = NVS_ENTRIES - written_entries(bm);
        if (unused > best) {
            best = unused;
            victim = n->order[i];
        }
    }
    if (best == 0)
        return OTA32_ERR_NO_SPACE;
    int rc = nvs_activate_page(n);
    if (rc == OTA32_OK)
        rc = nvs_set_page_state(n, victim, NVS_PAGE_FREEING);
    if (rc == OTA32_OK)
        rc = nvs_move_page(n, victim);
    return rc;
}

static int mark_full(ota32_nvs *n)
{
    if (n->active_page < 0)
        return OTA32_OK;
    int rc = nvs_set_page_state(n, (unsigned)n->active_page, NVS_PAGE_FULL);
    if (rc == OTA32_OK)
        n->active_page = -1;
    return rc;
}

/* Make room for `span` entries on the active page. */
static int reserve(ota32_nvs *n, unsigned span)
{
    /* Each round fills or reclaims a page; a partition has page_count. */
    for (unsigned round = 0; round <= n->page_count; round++) {
        if (n->active_page >= 0 && n->page_next[n->active_page] + span <= NVS_ENTRIES)
            return OTA32_OK;
        int rc = mark_full(n);
        if (rc == OTA32_OK)
            rc = request_new_page(n);
        if (rc != OTA32_OK)
            return rc;
    }
    return OTA32_ERR_NO_SPACE;
}

/* ---- lookups ------------------------------------------------------------ */

typedef struct want {
    uint8_t ns;
    const char *key;
    int type;  /* exact type, or -1: any type but BLOB_DATA */
    int chunk; /* for BLOB_DATA, or -1 */
} want;

static bool key_eq(const nvs_loc *l, const char *key)
{
    return strncmp(nvs_h_key(l), key, OTA32_NVS_KEY_MAX + 1) == 0;
}

static bool matches(const nvs_loc *l, const want *w)
{
    if (nvs_h_ns(l) != w->ns || !key_eq(l, w->key))
        return false;
    if (w->type < 0)
        return nvs_h_type(l) != OTA32_NVS_BLOB_DATA;
    if (nvs_h_type(l) != w->type)
        return false;
    return w->chunk < 0 || nvs_h_chunk(l) == w->chunk;
}

/* First valid item (payload CRC included) matching `w`: 1 found, 0 not. */
static int find(ota32_nvs *n, const want *w, nvs_loc *out)
{
    nvs_walk it;
    nvs_walk_start(&it);
    int rc;
    while ((rc = nvs_walk_next(n, &it, out)) == 1) {
        if (!matches(out, w))
            continue;
        rc = nvs_payload_ok(n, out);
        if (rc != 0)
            return rc;
    }
    return rc;
}

static bool name_ok(const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    return len >= 1 && len <= OTA32_NVS_KEY_MAX;
}

static void build_header(uint8_t h[NVS_ENTRY_LEN], uint8_t ns, uint8_t type, uint8_t span,
                         uint8_t chunk, const char *key, const uint8_t data[8])
{
    h[NVS_I_NS] = ns;
    h[NVS_I_TYPE] = type;
    h[NVS_I_SPAN] = span;
    h[NVS_I_CHUNK] = chunk;
    memset(h + NVS_I_KEY, 0, OTA32_NVS_KEY_MAX + 1);
    memcpy(h + NVS_I_KEY, key, strlen(key));
    memcpy(h + NVS_I_DATA, data, 8);
    ota32_put_le32(h + NVS_I_CRC, nvs_item_crc(h));
}

/* Append one item to the active page; *at receives where it went. */
static int write_item(ota32_nvs *n, uint8_t ns, uint8_t type, uint8_t chunk, const char *key,
                      const uint8_t data[8], const uint8_t *payload, size_t len, nvs_loc *at)
{
    unsigned span = 1 + (unsigned)((len + NVS_ENTRY_LEN - 1) / NVS_ENTRY_LEN);
    if (span > NVS_ENTRIES)
        return OTA32_ERR_TOO_BIG;
    int rc = reserve(n, span);
    if (rc != OTA32_OK)
        return rc;
    nvs_loc l;
    build_header(l.h, ns, type, (uint8_t)span, chunk, key, data);
    l.page = (unsigned)n->active_page;
    l.entry = n->page_next[l.page];
    rc = nvs_write_at(n, l.page, l.entry, l.h, payload, len);
    if (rc == OTA32_OK && at)
        *at = l;
    return rc;
}

/* Namespace index of `name`: 1 found (or created), 0 absent. */
static int ns_lookup(ota32_nvs *n, const char *name, bool create, uint8_t *idx)
{
    uint8_t used[32] = {0x01}; /* index 0 is the namespace table itself */
    used[31] = 0x80;           /* 255 means "any" */
    nvs_walk it;
    nvs_walk_start(&it);
    nvs_loc l;
    int rc;
    while ((rc = nvs_walk_next(n, &it, &l)) == 1) {
        if (nvs_h_ns(&l) != NVS_NS_TABLE || nvs_h_type(&l) != OTA32_NVS_U8)
            continue;
        uint8_t v = l.h[NVS_I_DATA];
        if (key_eq(&l, name)) {
            *idx = v;
            return 1;
        }
        used[v / 8] |= (uint8_t)(1u << (v % 8));
    }
    if (rc < 0)
        return rc;
    if (!create)
        return 0;
    unsigned v = 1;
    while (v < 255 && (used[v / 8] >> (v % 8)) & 1)
        v++;
    if (v == 255)
        return OTA32_ERR_NO_SPACE;
    uint8_t data[8];
    memset(data, 0xFF, sizeof data);
    data[0] = (uint8_t)v;
    rc = write_item(n, NVS_NS_TABLE, OTA32_NVS_U8, NVS_CHUNK_ANY, name, data, NULL, 0, NULL);
    if (rc != OTA32_OK)
        return rc;
    *idx = (uint8_t)v;
    return 1;
}

/* Resolve ns/key for a getter: 1 with *l = the key's main item, else
 * NOT_FOUND or an error. */
static int lookup(ota32_nvs *n, const char *ns, const char *key, nvs_loc *l, uint8_t *nsi)
{
    if (!n || !name_ok(ns) || !name_ok(key))
        return OTA32_ERR_INVALID_ARG;
    int rc = ns_lookup(n, ns, false, nsi);
    if (rc == 0)
        return OTA32_ERR_NOT_FOUND;
    if (rc < 0)
        return rc;
    want w = {*nsi, key, -1, -1};
    rc = find(n, &w, l);
    return rc == 0 ? OTA32_ERR_NOT_FOUND : rc;
}

/* Erase every item of ns/key except the one at `keep` and the BLOB_DATA
 * chunks in [keep_lo, keep_hi). Indexes go first, then chunks, so a cut in
 * between leaves orphan chunks (removed at open), never a broken index. */
static int erase_others(ota32_nvs *n, uint8_t ns, const char *key, const nvs_loc *keep,
                        unsigned keep_lo, unsigned keep_hi)
{
    for (int pass = 0; pass < 2; pass++) {
        nvs_walk it;
        nvs_walk_start(&it);
        nvs_loc l;
        int rc;
        while ((rc = nvs_walk_next(n, &it, &l)) == 1) {
            if (nvs_h_ns(&l) != ns || !key_eq(&l, key))
                continue;
            bool data = nvs_h_type(&l) == OTA32_NVS_BLOB_DATA;
            if (data != (pass == 1))
                continue;
            if (keep && l.page == keep->page && l.entry == keep->entry)
                continue;
            if (data && nvs_h_chunk(&l) >= keep_lo && nvs_h_chunk(&l) < keep_hi)
                continue;
            rc = nvs_erase_item(n, &l);
            if (rc < 0)
                return rc;
        }
        if (rc < 0)
            return rc;
    }
    return OTA32_OK;
}

/* Erase the BLOB_DATA chunks of ns/key with index in [lo, hi). */
static int erase_chunks(ota32_nvs *n, uint8_t ns, const char *key, unsigned lo, unsigned hi)
{
    for (unsigned c = lo; c < hi; c++) {
        want w = {ns, key, OTA32_NVS_BLOB_DATA, (int)c};
        nvs_loc l;
        int rc = find(n, &w, &l);
        if (rc == 1)
            rc = nvs_erase_item(n, &l);
        if (rc < 0)
            return rc;
    }
    return OTA32_OK;
}

static int writable(ota32_nvs *n)
{
    if (!n)
        return OTA32_ERR_INVALID_ARG;
    return n->fault ? OTA32_ERR_STATE : OTA32_OK;
}

/* A setter's checks of the handle and the names. */
static int write_check(ota32_nvs *n, const char *ns, const char *key)
{
    int rc = writable(n);
    if (rc != OTA32_OK)
        return rc;
    return name_ok(ns) && name_ok(key) ? OTA32_OK : OTA32_ERR_INVALID_ARG;
}

/* A setter's lookup: the namespace index of ns (created when absent) in
 * *nsi, and 1 with *old = the key's main item, 0 when it has none. */
static int find_for_write(ota32_nvs *n, const char *ns, const char *key, uint8_t *nsi, nvs_loc *old)
{
    int rc = ns_lookup(n, ns, true, nsi);
    if (rc < 0)
        return rc;
    want w = {*nsi, key, -1, -1};
    return find(n, &w, old);
}

/* ---- integers and strings ------------------------------------------------- */

static unsigned int_size(uint8_t type)
{
    return type & 0x0Fu;
}

static bool int_fits(ota32_nvs_type type, uint64_t v)
{
    unsigned bits = int_size((uint8_t)type) * 8;
    if (bits == 64)
        return true;
    if (type & 0x10) { /* signed: v is a two's complement int64 */
        int64_t s = (int64_t)v;
        int64_t lim = (int64_t)1 << (bits - 1);
        return s >= -lim && s < lim;
    }
    return v < ((uint64_t)1 << bits);
}

/* The value of an integer item, signed types sign-extended to 64 bits. */
static uint64_t item_int(const nvs_loc *l)
{
    uint8_t type = nvs_h_type(l);
    unsigned size = int_size(type);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)l->h[NVS_I_DATA + i] << (8 * i);
    if ((type & 0x10) && size < 8 && (v >> (size * 8 - 1)) & 1)
        v |= ~(uint64_t)0 << (size * 8); /* sign-extend */
    return v;
}

int ota32_nvs_get_int(ota32_nvs *nvs, const char *ns, const char *key, ota32_nvs_type type,
                      uint64_t *out)
{
    if (!nvs_type_is_int((uint8_t)type) || !out)
        return OTA32_ERR_INVALID_ARG;
    nvs_loc l;
    uint8_t nsi;
    int rc = lookup(nvs, ns, key, &l, &nsi);
    if (rc < 0)
        return rc;
    if (nvs_h_type(&l) != type)
        return OTA32_ERR_INVALID_ARG;
    *out = item_int(&l);
    return OTA32_OK;
}

/* Write a new int or string item for ns/key unless an identical one exists,
 * then erase the old one. */
static int set_item(ota32_nvs *n, const char *ns, const char *key, uint8_t type,
                    const uint8_t data[8], const uint8_t *payload, size_t len)
{
    int rc = write_check(n, ns, key);
    if (rc != OTA32_OK)
        return rc;
    uint8_t nsi;
    nvs_loc old, now;
    rc = find_for_write(n, ns, key, &nsi, &old);
    if (rc < 0)
        return rc;
    if (rc == 1 && nvs_h_type(&old) == type) {
        int same;
        if (payload)
            same = nvs_payload_equal(n, &old, payload, len);
        else
            same = memcmp(old.h + NVS_I_DATA, data, 8) == 0;
        if (same != 0)
            return same < 0 ? same : OTA32_OK; /* identical: write nothing */
    }
    rc = write_item(n, nsi, type, NVS_CHUNK_ANY, key, data, payload, len, &now);
    if (rc == OTA32_OK)
        rc = erase_others(n, nsi, key, &now, 0, 0);
    return rc;
}

int ota32_nvs_set_int(ota32_nvs *nvs, const char *ns, const char *key, ota32_nvs_type type,
                      uint64_t val)
{
    if (!nvs_type_is_int((uint8_t)type) || !int_fits(type, val))
        return OTA32_ERR_INVALID_ARG;
    uint8_t data[8];
    memset(data, 0xFF, sizeof data);
    for (unsigned i = 0; i < int_size((uint8_t)type); i++)
        data[i] = (uint8_t)(val >> (8 * i));
    return set_item(nvs, ns, key, (uint8_t)type, data, NULL, 0);
}

static void sized_data(uint8_t data[8], size_t len, const uint8_t *payload)
{
    ota32_put_le16(data, (uint16_t)len);
    data[2] = data[3] = 0xFF;
    ota32_put_le32(data + 4, ota32_crc32_esp(payload, len));
}

int ota32_nvs_set_str(ota32_nvs *nvs, const char *ns, const char *key, const char *val)
{
    if (!val)
        return OTA32_ERR_INVALID_ARG;
    size_t len = strlen(val) + 1; /* the NUL is stored */
    if (len > OTA32_NVS_STR_MAX)
        return OTA32_ERR_TOO_BIG;
    uint8_t data[8];
    sized_data(data, len, (const uint8_t *)val);
    return set_item(nvs, ns, key, OTA32_NVS_STR, data, (const uint8_t *)val, len);
}

int ota32_nvs_get_str(ota32_nvs *nvs, const char *ns, const char *key, char *buf, size_t cap,
                      size_t *len_out)
{
    nvs_loc l;
    uint8_t nsi;
    int rc = lookup(nvs, ns, key, &l, &nsi);
    if (rc < 0)
        return rc;
    if (nvs_h_type(&l) != OTA32_NVS_STR)
        return OTA32_ERR_INVALID_ARG;
    size_t size = ota32_le16(l.h + NVS_I_DATA);
    if (len_out)
        *len_out = size;
    if (!buf)
        return OTA32_OK;
    if (cap < size || size == 0)
        return size == 0 ? OTA32_ERR_CORRUPT : OTA32_ERR_TOO_BIG;
    rc = nvs_payload_read(nvs, &l, (uint8_t *)buf, cap);
    if (rc < 0)
        return rc;
    buf[size - 1] = '\0'; /* stored with its NUL; never trust it */
    return OTA32_OK;
}

/* ---- blobs ---------------------------------------------------------------- */

/* Walk the chunks of the blob indexed by `idx`: copy into buf (when not
 * NULL) or compare with cmp (when not NULL). 1 when complete (and equal),
 * 0 when incomplete (or different). */
static int blob_chunks(ota32_nvs *n, const nvs_loc *idx, uint8_t *buf, size_t cap,
                       const uint8_t *cmp)
{
    uint32_t size = ota32_le32(idx->h + NVS_I_DATA);
    unsigned count = idx->h[NVS_IDX_COUNT], start = idx->h[NVS_IDX_START];
    if (start + count > 256)
        return 0;
    size_t off = 0;
    for (unsigned c = 0; c < count; c++) {
        want w = {nvs_h_ns(idx), nvs_h_key(idx), OTA32_NVS_BLOB_DATA, (int)(start + c)};
        nvs_loc l;
        int rc = find(n, &w, &l);
        if (rc <= 0)
            return rc;
        size_t part = ota32_le16(l.h + NVS_I_DATA);
        if (part > size - off)
            return 0;
        if (cmp) {
            rc = nvs_payload_equal(n, &l, cmp + off, part);
            if (rc <= 0)
                return rc;
        } else if (buf) {
            rc = nvs_payload_read(n, &l, buf + off, cap - off);
            if (rc < 0)
                return rc;
        }
        off += part;
    }
    return off == size;
}

int ota32_nvs_get_blob(ota32_nvs *nvs, const char *ns, const char *key, void *buf, size_t cap,
                       size_t *len_out)
{
    nvs_loc l;
    uint8_t nsi;
    int rc = lookup(nvs, ns, key, &l, &nsi);
    if (rc < 0)
        return rc;
    size_t size;
    if (nvs_h_type(&l) == OTA32_NVS_BLOB)
        size = ota32_le16(l.h + NVS_I_DATA);
    else if (nvs_h_type(&l) == OTA32_NVS_BLOB_IDX)
        size = ota32_le32(l.h + NVS_I_DATA);
    else
        return OTA32_ERR_INVALID_ARG;
    if (len_out)
        *len_out = size;
    if (!buf)
        return OTA32_OK;
    if (cap < size)
        return OTA32_ERR_TOO_BIG;
    if (nvs_h_type(&l) == OTA32_NVS_BLOB)
        return nvs_payload_read(nvs, &l, buf, cap);
    rc = blob_chunks(nvs, &l, buf, cap, NULL);
    return rc == 1 ? OTA32_OK : rc == 0 ? OTA32_ERR_NOT_FOUND : rc;
}

/* Storage::writeMultiPageBlob: chunks sized to the room left on each page,
 * then the index. A first chunk smaller than a tenth of a page moves to a
 * new page instead. */
static int write_blob(ota32_nvs *n, uint8_t nsi, const char *key, const uint8_t *data, size_t len,
                      uint8_t start, nvs_loc *idx_at, unsigned *chunks_out)
{
    size_t off = 0, remaining = len;
    unsigned count = 0;
    *chunks_out = 0;
    for (unsigned round = 0; round <= 2 * n->page_count + NVS_MAX_CHUNKS; round++) {
        size_t tailroom = 0;
        if (n->active_page >= 0 && n->page_next[n->active_page] < NVS_ENTRIES)
            tailroom = (NVS_ENTRIES - 1u - n->page_next[n->active_page]) * NVS_ENTRY_LEN;
        if (count == 0 && (tailroom < len || (tailroom == 0 && len == 0)) &&
            tailroom < NVS_CHUNK_MAX / 10) {
            int rc = mark_full(n);
            if (rc == OTA32_OK)
                rc = request_new_page(n);
            if (rc != OTA32_OK)
                return rc;
            continue;
        }
        if (tailroom == 0 || count >= NVS_MAX_CHUNKS)
            return OTA32_ERR_NO_SPACE;
        size_t chunk = remaining < tailroom ? remaining : tailroom;
        uint8_t hd[8];
        sized_data(hd, chunk, data + off);
        int rc = write_item(n, nsi, OTA32_NVS_BLOB_DATA, (uint8_t)(start + count), key, hd,
                            data + off, chunk, NULL);
        if (rc != OTA32_OK)
            return rc;
        *chunks_out = ++count;
        remaining -= chunk;
        off += chunk;
        if (remaining || tailroom - chunk < NVS_ENTRY_LEN) {
            rc = mark_full(n);
            if (rc == OTA32_OK)
                rc = request_new_page(n);
            if (rc != OTA32_OK)
                return rc;
        }
        if (!remaining) {
            uint8_t id[8];
            ota32_put_le32(id, (uint32_t)len);
            id[4] = (uint8_t)count;
            id[5] = start;
            id[6] = id[7] = 0xFF;
            return write_item(n, nsi, OTA32_NVS_BLOB_IDX, NVS_CHUNK_ANY, key, id, NULL, 0, idx_at);
        }
    }
    return OTA32_ERR_NO_SPACE;
}

int ota32_nvs_set_blob(ota32_nvs *nvs, const char *ns, const char *key, const void *data,
                       size_t len)
{
    int rc = write_check(nvs, ns, key);
    if (rc != OTA32_OK)
        return rc;
    if (!data && len)
        return OTA32_ERR_INVALID_ARG;
    if (len > (size_t)NVS_MAX_CHUNKS * NVS_CHUNK_MAX ||
        len > (size_t)(nvs->page_count - 1) * NVS_CHUNK_MAX)
        return OTA32_ERR_TOO_BIG;
    uint8_t nsi;
    nvs_loc old, idx;
    rc = find_for_write(nvs, ns, key, &nsi, &old);
    if (rc < 0)
        return rc;
    uint8_t start = NVS_VER_0;
    if (rc == 1 && nvs_h_type(&old) == OTA32_NVS_BLOB_IDX) {
        if (ota32_le32(old.h + NVS_I_DATA) == len) {
            rc = blob_chunks(nvs, &old, NULL, 0, data ? data : (const uint8_t *)"");
            if (rc != 0)
                return rc < 0 ? rc : OTA32_OK; /* identical */
        }
        /* The other version (ESP-IDF toggles 0x00 <-> 0x80), so old and
         * new chunks never share an index. */
        unsigned old_lo = old.h[NVS_IDX_START], old_hi = old_lo + old.h[NVS_IDX_COUNT];
        start = old_lo >= NVS_VER_1 ? NVS_VER_0 : NVS_VER_1;
        if (start == NVS_VER_1 && old_hi > NVS_VER_1) {
            /* A chunk range ESP-IDF never writes straddles both versions:
             * drop the old blob first (only such a value loses its
             * power-cut safety). */
            rc = erase_others(nvs, nsi, key, NULL, 0, 0);
            if (rc < 0)
                return rc;
        }
    }
    unsigned chunks = 0;
    rc = write_blob(nvs, nsi, key, data, len, start, &idx, &chunks);
    if (rc == OTA32_OK)
        return erase_others(nvs, nsi, key, &idx, start, start + chunks);
    if (!nvs->fault && chunks > 0) /* out of space: drop our chunks, keep the old value */
        (void)erase_chunks(nvs, nsi, key, start, start + chunks);
    return rc;
}

int ota32_nvs_erase_key(ota32_nvs *nvs, const char *ns, const char *key)
{
    int rc = writable(nvs);
    if (rc != OTA32_OK)
        return rc;
    nvs_loc l;
    uint8_t nsi;
    rc = lookup(nvs, ns, key, &l, &nsi);
    if (rc < 0)
        return rc;
    return erase_others(nvs, nsi, key, NULL, 0, 0);
}

/* ---- iteration ---------------------------------------------------------------- */

static int ns_name(ota32_nvs *n, uint8_t idx, char out[OTA32_NVS_KEY_MAX + 1])
{
    out[0] = '\0';
    nvs_walk it;
    nvs_walk_start(&it);
    nvs_loc l;
    int rc;
    while ((rc = nvs_walk_next(n, &it, &l)) == 1) {
        if (nvs_h_ns(&l) == NVS_NS_TABLE && nvs_h_type(&l) == OTA32_NVS_U8 &&
            l.h[NVS_I_DATA] == idx) {
            memcpy(out, nvs_h_key(&l), OTA32_NVS_KEY_MAX);
            out[OTA32_NVS_KEY_MAX] = '\0';
            return OTA32_OK;
        }
    }
    return rc < 0 ? rc : OTA32_OK;
}

int ota32_nvs_foreach(ota32_nvs *nvs, int (*cb)(void *arg, const ota32_nvs_item *it), void *arg)
{
    if (!nvs || !cb)
        return OTA32_ERR_INVALID_ARG;
    int cached_ns = -1; /* items of one namespace tend to come together */
    char cached_name[OTA32_NVS_KEY_MAX + 1] = "";
    nvs_walk walk;
    nvs_walk_start(&walk);
    nvs_loc l;
    int rc;
    while ((rc = nvs_walk_next(nvs, &walk, &l)) == 1) {
        rc = nvs_payload_ok(nvs, &l);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        ota32_nvs_item it;
        memset(&it, 0, sizeof it);
        uint8_t type = nvs_h_type(&l);
        it.type = type;
        it.ns_index = nvs_h_ns(&l);
        it.chunk_index = nvs_h_chunk(&l);
        it.page = l.page;
        it.entry = l.entry;
        it.span = nvs_h_span(&l);
        memcpy(it.key, nvs_h_key(&l), OTA32_NVS_KEY_MAX);
        if (it.ns_index != NVS_NS_TABLE && it.ns_index != cached_ns) {
            rc = ns_name(nvs, it.ns_index, cached_name);
            if (rc < 0)
                return rc;
            cached_ns = it.ns_index;
        }
        if (it.ns_index != NVS_NS_TABLE)
            memcpy(it.ns, cached_name, sizeof it.ns);
        if (nvs_type_is_int(type)) {
            it.int_val = item_int(&l);
        } else if (type == OTA32_NVS_BLOB_IDX) {
            it.data_len = ota32_le32(l.h + NVS_I_DATA);
        } else if (nvs_type_has_payload(type)) {
            it.data_len = ota32_le16(l.h + NVS_I_DATA);
            rc = nvs_payload_read(nvs, &l, nvs->scratch, sizeof nvs->scratch);
            if (rc < 0)
                return rc;
            it.data = nvs->scratch;
        }
        rc = cb(arg, &it);
        if (rc != 0)
            return rc;
    }
    return rc < 0 ? rc : OTA32_OK;
}
