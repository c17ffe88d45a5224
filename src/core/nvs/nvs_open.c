/*
 * Opening an NVS partition: classify the pages, order them by sequence
 * number, and repair what a power cut can leave behind, as nvs_flash_init
 * does (nvs_page.cpp Page::load, nvs_pagemanager.cpp PageManager::load,
 * nvs_storage.cpp Storage::init):
 *   - entries written but not yet marked in the bitmap, and items whose
 *     header, span or payload does not check out, are marked ERASED;
 *   - of two items with the same key, the older is erased (an update cut
 *     between writing the new item and erasing the old one);
 *   - a page left FREEING by an interrupted reclaim is finished;
 *   - blob chunks that no index refers to are erased.
 */
#include <inttypes.h>
#include <string.h>

#include "bytes.h"
#include "nvs_priv.h"
#include "ota32/crc.h"

static int all_ff(ota32_nvs *n, uint32_t addr, uint32_t len, bool *out)
{
    uint8_t buf[128];
    *out = false;
    for (uint32_t off = 0; off < len; off += sizeof buf) {
        uint32_t take = len - off < sizeof buf ? len - off : (uint32_t)sizeof buf;
        int rc = nvs_read(n, addr + off, buf, take);
        if (rc != OTA32_OK)
            return rc;
        for (uint32_t i = 0; i < take; i++)
            if (buf[i] != 0xFF)
                return OTA32_OK;
    }
    *out = true;
    return OTA32_OK;
}

static void order_insert(ota32_nvs *n, unsigned page)
{
    /* Stable: equal sequence numbers keep page order. */
    unsigned pos = n->order_count;
    while (pos > 0 && n->page_seq[n->order[pos - 1]] > n->page_seq[page]) {
        n->order[pos] = n->order[pos - 1];
        pos--;
    }
    n->order[pos] = (uint8_t)page;
    n->order_count++;
}

static int load_page(ota32_nvs *n, unsigned p, ota32_diag *diag)
{
    uint8_t h[NVS_HDR_LEN];
    uint32_t addr = nvs_page_addr(n, p);
    int rc = nvs_read(n, addr, h, sizeof h);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, (long)addr, "offset 0x%" PRIx32 ": read failed", addr);
    uint32_t state = ota32_le32(h + NVS_H_STATE);
    n->page_state[p] = NVS_PAGE_CORRUPT;
    if (state == NVS_PAGE_UNINIT) {
        bool blank;
        rc = all_ff(n, addr, OTA32_NVS_PAGE_SIZE, &blank);
        if (rc != OTA32_OK)
            return ota32_diag_fail(diag, rc, 0, (long)addr, "offset 0x%" PRIx32 ": read failed",
                                   addr);
        if (blank)
            n->page_state[p] = NVS_PAGE_UNINIT;
        return OTA32_OK;
    }
    if (state != NVS_PAGE_ACTIVE && state != NVS_PAGE_FULL && state != NVS_PAGE_FREEING)
        return OTA32_OK;
    if (ota32_le32(h + NVS_H_CRC) != ota32_crc32_esp(h + NVS_H_SEQ, NVS_H_CRC_LEN))
        return OTA32_OK;
    if (h[NVS_H_VERSION] < NVS_VERSION2)
        return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, (long)addr + NVS_H_VERSION,
                               "offset 0x%" PRIx32 ": NVS page version 0x%02x is newer than 0xfe "
                               "(format version 2)",
                               addr + NVS_H_VERSION, h[NVS_H_VERSION]);
    n->page_state[p] = state;
    n->page_seq[p] = ota32_le32(h + NVS_H_SEQ);
    order_insert(n, p);
    return OTA32_OK;
}

/* Page::load: find the first free entry, mark half-written entries past it
 * ERASED, and erase items that do not check out. */
static int repair_page(ota32_nvs *n, unsigned page)
{
    uint8_t bm[NVS_BITMAP_LEN];
    int rc = nvs_read_bitmap(n, page, bm);
    if (rc != OTA32_OK)
        return rc;
    unsigned last = 0;
    for (unsigned e = 0; e < NVS_ENTRIES; e++)
        if (nvs_bm_get(bm, e) != NVS_ENTRY_EMPTY)
            last = e + 1;
    unsigned torn_end = last;
    for (unsigned e = NVS_ENTRIES; e > last; e--) {
        bool blank;
        rc = all_ff(n, nvs_entry_addr(n, page, e - 1), NVS_ENTRY_LEN, &blank);
        if (rc != OTA32_OK)
            return rc;
        if (!blank) {
            torn_end = e;
            break;
        }
    }
    if (torn_end > last) {
        rc = nvs_set_entry_states(n, page, last, torn_end - last, NVS_ENTRY_ERASED);
        if (rc != OTA32_OK)
            return rc;
    }
    n->page_next[page] = (uint8_t)torn_end;

    for (unsigned e = 0; e < last;) {
        if (nvs_bm_get(bm, e) != NVS_ENTRY_WRITTEN) {
            e++;
            continue;
        }
        nvs_loc l = {page, e, {0}};
        unsigned next = 1;
        rc = nvs_read(n, nvs_entry_addr(n, page, e), l.h, NVS_ENTRY_LEN);
        if (rc != OTA32_OK)
            return rc;
        int ok = nvs_check_header(l.h, bm, e, &next);
        if (ok == 1) {
            ok = nvs_payload_ok(n, &l);
            if (ok < 0)
                return ok;
        }
        if (ok == 0) {
            rc = nvs_set_entry_states(n, page, e, next, NVS_ENTRY_ERASED);
            if (rc != OTA32_OK)
                return rc;
        }
        e += next;
    }
    return OTA32_OK;
}

static bool same_key(const nvs_loc *a, const nvs_loc *b)
{
    return nvs_h_ns(a) == nvs_h_ns(b) && nvs_h_chunk(a) == nvs_h_chunk(b) &&
           strncmp(nvs_h_key(a), nvs_h_key(b), OTA32_NVS_KEY_MAX + 1) == 0;
}

static uint32_t key_hash(const nvs_loc *l)
{
    /* Keys compare as C strings (bytes after the NUL do not count). */
    uint8_t k[2 + OTA32_NVS_KEY_MAX + 1];
    k[0] = nvs_h_ns(l);
    k[1] = nvs_h_chunk(l);
    size_t len = strlen(nvs_h_key(l)); /* valid items hold a NUL */
    memset(k + 2, 0, OTA32_NVS_KEY_MAX + 1);
    memcpy(k + 2, nvs_h_key(l), len);
    return ota32_crc32_esp(k, sizeof k);
}

/* Within a page the later of two items with the same key is the newer. */
static int dedup_page(ota32_nvs *n, unsigned page)
{
    uint8_t bm[NVS_BITMAP_LEN], at[NVS_ENTRIES];
    uint32_t hash[NVS_ENTRIES];
    unsigned count = 0, e = 0;
    nvs_loc l;
    int rc = nvs_read_bitmap(n, page, bm);
    while (rc >= 0 && (rc = nvs_page_next(n, page, bm, &e, &l)) == 1) {
        at[count] = (uint8_t)l.entry;
        hash[count++] = key_hash(&l);
    }
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < count; i++) {
        for (unsigned j = i + 1; j < count; j++) {
            if (hash[i] != hash[j])
                continue;
            nvs_loc a = {page, at[i], {0}}, b = {page, at[j], {0}};
            rc = nvs_read(n, nvs_entry_addr(n, page, a.entry), a.h, NVS_ENTRY_LEN);
            if (rc == OTA32_OK)
                rc = nvs_read(n, nvs_entry_addr(n, page, b.entry), b.h, NVS_ENTRY_LEN);
            if (rc != OTA32_OK)
                return rc;
            if (same_key(&a, &b)) {
                rc = nvs_erase_item(n, &a);
                if (rc != OTA32_OK)
                    return rc;
                break;
            }
        }
    }
    return OTA32_OK;
}

/* PageManager::load: the last item of the newest page may have an older
 * copy on an earlier page (pages being reclaimed excepted). */
static int dedup_last_item(ota32_nvs *n)
{
    if (n->order_count < 2)
        return OTA32_OK;
    unsigned back = n->order[n->order_count - 1], e = 0;
    uint8_t bm[NVS_BITMAP_LEN];
    nvs_loc l, last;
    bool have = false;
    int rc = nvs_read_bitmap(n, back, bm);
    while (rc >= 0 && (rc = nvs_page_next(n, back, bm, &e, &l)) == 1) {
        last = l;
        have = true;
    }
    if (rc < 0 || !have)
        return rc < 0 ? rc : OTA32_OK;
    for (unsigned i = 0; i + 1 < n->order_count; i++) {
        unsigned page = n->order[i];
        if (n->page_state[page] == NVS_PAGE_FREEING)
            continue;
        e = 0;
        rc = nvs_read_bitmap(n, page, bm);
        while (rc >= 0 && (rc = nvs_page_next(n, page, bm, &e, &l)) == 1)
            if (same_key(&l, &last))
                rc = nvs_erase_item(n, &l);
        if (rc < 0)
            return rc;
    }
    return OTA32_OK;
}

/* 1 when `page` holds a valid item with no identical copy on `other`. */
static int has_item_not_on(ota32_nvs *n, unsigned page, unsigned other)
{
    uint8_t bm[NVS_BITMAP_LEN], obm[NVS_BITMAP_LEN];
    unsigned e = 0;
    nvs_loc l, o;
    int rc = nvs_read_bitmap(n, page, bm);
    if (rc == OTA32_OK)
        rc = nvs_read_bitmap(n, other, obm);
    while (rc >= 0 && (rc = nvs_page_next(n, page, bm, &e, &l)) == 1) {
        unsigned oe = 0;
        bool found = false;
        while (!found && (rc = nvs_page_next(n, other, obm, &oe, &o)) == 1)
            found = memcmp(l.h, o.h, NVS_ENTRY_LEN) == 0;
        if (rc < 0)
            return rc;
        if (!found)
            return 1;
    }
    return rc < 0 ? rc : 0;
}

/* A reclaim runs: activate T, mark the victim V FREEING, copy V's items to T,
 * erase V. Cut anywhere, this finishes it. If T holds an item V lacks, V's
 * erase had begun (all items were copied): only the erase is left. Else V is
 * intact: redo the copy on a fresh page, as ESP-IDF does. */
static int finish_freeing(ota32_nvs *n)
{
    for (unsigned i = 0; i < n->order_count; i++) {
        unsigned v = n->order[i];
        if (n->page_state[v] != NVS_PAGE_FREEING)
            continue;
        unsigned t = n->order[n->order_count - 1];
        if (t != v && n->page_state[t] == NVS_PAGE_ACTIVE && n->page_seq[t] > n->page_seq[v]) {
            int rc = has_item_not_on(n, t, v);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                rc = nvs_erase_page(n, v);
                if (rc == OTA32_OK)
                    nvs_order_remove(n, v);
                return rc;
            }
            rc = nvs_erase_page(n, t);
            if (rc != OTA32_OK)
                return rc;
            nvs_order_remove(n, t);
        }
        n->active_page = -1;
        int rc = nvs_activate_page(n);
        if (rc == OTA32_ERR_NO_SPACE)
            return OTA32_OK; /* nowhere to copy to: leave V readable */
        if (rc == OTA32_OK)
            rc = nvs_move_page(n, v);
        return rc;
    }
    return OTA32_OK;
}

/* Storage::init eraseOrphanDataBlobs: chunks no index covers. */
static int erase_orphans(ota32_nvs *n)
{
    nvs_walk it;
    nvs_walk_start(&it);
    nvs_loc l;
    int rc;
    while ((rc = nvs_walk_next(n, &it, &l)) == 1) {
        if (nvs_h_type(&l) != OTA32_NVS_BLOB_DATA)
            continue;
        bool covered = false;
        nvs_walk idx;
        nvs_walk_start(&idx);
        nvs_loc x;
        while (!covered && (rc = nvs_walk_next(n, &idx, &x)) == 1) {
            unsigned start = x.h[NVS_IDX_START], count = x.h[NVS_IDX_COUNT];
            covered = nvs_h_type(&x) == OTA32_NVS_BLOB_IDX && nvs_h_ns(&x) == nvs_h_ns(&l) &&
                      strncmp(nvs_h_key(&x), nvs_h_key(&l), OTA32_NVS_KEY_MAX + 1) == 0 &&
                      nvs_h_chunk(&l) >= start && nvs_h_chunk(&l) < start + count;
        }
        if (rc < 0)
            return rc;
        if (!covered) {
            rc = nvs_erase_item(n, &l);
            if (rc < 0)
                return rc;
        }
    }
    return rc < 0 ? rc : OTA32_OK;
}

int nvs_recover(ota32_nvs *n)
{
    int rc = OTA32_OK;
    for (unsigned i = 0; rc == OTA32_OK && i < n->order_count; i++)
        rc = repair_page(n, n->order[i]);
    for (unsigned i = 0; rc == OTA32_OK && i < n->order_count; i++)
        rc = dedup_page(n, n->order[i]);
    if (rc == OTA32_OK)
        rc = dedup_last_item(n);
    if (rc == OTA32_OK)
        rc = finish_freeing(n);
    if (rc == OTA32_OK)
        rc = erase_orphans(n);
    return rc;
}

int ota32_nvs_open(ota32_nvs *nvs, const ota32_flash_ops *flash, uint32_t offset, uint32_t size,
                   ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!nvs || !flash || !flash->read || !flash->program || !flash->erase_sector)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no flash");
    if (offset % OTA32_NVS_PAGE_SIZE || size % OTA32_NVS_PAGE_SIZE || size == 0)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, (long)offset,
                               "NVS partition at 0x%" PRIx32 " size 0x%" PRIx32
                               ": both must be non-zero multiples of 0x1000",
                               offset, size);
    if (size / OTA32_NVS_PAGE_SIZE > OTA32_NVS_MAX_PAGES)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, (long)offset,
                               "NVS partition size 0x%" PRIx32 ": more than %u pages", size,
                               OTA32_NVS_MAX_PAGES);
    if ((uint64_t)offset + size > flash->size)
        return ota32_diag_fail(diag, OTA32_ERR_RANGE, 0, (long)offset,
                               "NVS partition 0x%" PRIx32 "+0x%" PRIx32
                               " ends past the flash (0x%" PRIx32 ")",
                               offset, size, flash->size);
    memset(nvs, 0, sizeof *nvs);
    nvs->flash = flash;
    nvs->offset = offset;
    nvs->size = size;
    nvs->page_count = size / OTA32_NVS_PAGE_SIZE;
    nvs->active_page = -1;
    nvs->last_activated = nvs->page_count - 1; /* the first page activated is page 0 */
    for (unsigned p = 0; p < nvs->page_count; p++) {
        int rc = load_page(nvs, p, diag);
        if (rc != OTA32_OK)
            return rc;
    }
    if (nvs->order_count > 0) {
        unsigned back = nvs->order[nvs->order_count - 1];
        nvs->next_seq = nvs->page_seq[back] + 1;
        nvs->last_activated = back;
    }
    int rc = nvs_recover(nvs);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, (long)offset,
                               "NVS partition at 0x%" PRIx32 ": repair failed: %s", offset,
                               ota32_strerror(rc));
    if (nvs->order_count > 0) {
        unsigned back = nvs->order[nvs->order_count - 1];
        if (nvs->page_state[back] == NVS_PAGE_ACTIVE)
            nvs->active_page = (int)back;
    }
    return OTA32_OK;
}
