/*
 * The ESP-IDF second-stage bootloader's choice of app, on an emulated flash
 * or on a read-only dump (dry run). It follows bootloader_utility.c (v5.5):
 * bootloader_utility_load_partition_table, ..._get_selected_boot_partition
 * and ..._load_boot_image with its helpers, with app rollback enabled by
 * default (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE) and no anti-rollback.
 */
#include "vdev.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ota32/crc.h"
#include "posix_hash.h"

#define IDX_FACTORY (-1) /* FACTORY_INDEX */
#define IDX_TEST (-2)    /* TEST_APP_INDEX */
#define MAX_OTA_SLOTS 16u

/* The chip the virtual device pretends to be: ESP32 revision v3.0 (ECO3). */
#define VDEV_CHIP_REV_FULL 300u

/* What the bootloader keeps from the partition table (bootloader_state_t). */
typedef struct bl_state {
    const ota32_partition *factory;
    const ota32_partition *test;
    const ota32_partition *ota[MAX_OTA_SLOTS];
    const ota32_partition *otadata;
    unsigned app_count; /* every ota_N counts, gaps included */
} bl_state;

static void say(vdev_boot *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append one clause to the reason ("; " between clauses). Truncates. */
static void say(vdev_boot *b, const char *fmt, ...)
{
    size_t n = strlen(b->reason);
    if (n && n + 2 < sizeof b->reason) {
        memcpy(b->reason + n, "; ", 3);
        n += 2;
    }
    if (n + 1 >= sizeof b->reason)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->reason + n, sizeof b->reason - n, fmt, ap);
    va_end(ap);
}

static void scan_table(const ota32_ptable *t, bl_state *bs)
{
    memset(bs, 0, sizeof *bs);
    for (unsigned i = 0; i < t->count && i < OTA32_PT_MAX_ENTRIES; i++) {
        const ota32_partition *p = &t->entries[i];
        if (p->type == OTA32_PT_TYPE_APP) {
            if (p->subtype == OTA32_PT_APP_FACTORY)
                bs->factory = p;
            else if (p->subtype == OTA32_PT_APP_TEST)
                bs->test = p;
            else if ((p->subtype & 0xF0) == OTA32_PT_APP_OTA_0) {
                bs->ota[p->subtype & 0x0F] = p;
                bs->app_count++;
            }
        } else if (p->type == OTA32_PT_TYPE_DATA && p->subtype == OTA32_PT_DATA_OTA) {
            bs->otadata = p; /* the last one wins, as in the bootloader */
        }
    }
}

static const ota32_partition *index_to_partition(const bl_state *bs, int index)
{
    if (index == IDX_FACTORY)
        return bs->factory;
    if (index == IDX_TEST)
        return bs->test;
    if (index >= 0 && index < (int)MAX_OTA_SLOTS && index < (int)bs->app_count)
        return bs->ota[index];
    return NULL;
}

static bool seq_crc_ok(const ota32_ota_entry *e)
{
    uint8_t seq[4];
    ota32_put_le32(seq, e->seq);
    return e->crc == ota32_crc32_esp(seq, sizeof seq);
}

/* Blank (all 0xFF) or with a CRC that does not match: what the bootloader
 * treats as "initial contents" that it may replace on first boot. */
static bool entry_initial(const ota32_ota_entry *e)
{
    return e->seq == OTA32_OTADATA_SEQ_UNSET || !seq_crc_ok(e);
}

static const char *state_name(uint32_t state)
{
    const char *n = ota32_img_state_name(state);
    return n ? n : "unknown";
}

static int write_entry(const ota32_flash_ops *f, vdev_boot *out, bool dry_run, unsigned copy,
                       const ota32_ota_entry *e, ota32_diag *diag)
{
    out->otadata_writes++;
    if (dry_run)
        return OTA32_OK;
    int rc = ota32_otadata_write(f, out->otadata_offset, copy, e);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, (long)(out->otadata_offset + copy * 0x1000u),
                               "rewriting otadata[%u]: %s", copy, ota32_strerror(rc));
    return OTA32_OK;
}

int vdev_verify_app(const ota32_flash_ops *f, uint32_t offset, uint32_t size,
                    ota32_image_info *info, ota32_diag *diag)
{
    ota32_image_opts opts = {
        .chip_id = OTA32_CHIP_ESP32,
        .chip_rev_full = VDEV_CHIP_REV_FULL,
        .max_len = size,
        .require_app_desc = true,
        .hash = ota32_posix_hash(),
    };
    ota32_image_parser *p = calloc(1, sizeof *p); /* ~1 KB of state: keep it off the stack */
    if (!p)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "out of memory");
    ota32_image_parser_init(p, &opts);

    uint8_t buf[4096];
    uint32_t pos = 0;
    int rc = OTA32_OK;
    ota32_diag pd;
    ota32_diag_clear(&pd);
    while (pos < size) {
        uint32_t n = size - pos < sizeof buf ? size - pos : (uint32_t)sizeof buf;
        uint64_t at = (uint64_t)offset + pos;
        if (at + n > f->size) {
            if (at >= f->size) {
                rc = ota32_diag_fail(diag, OTA32_ERR_RANGE, 0, (long)at,
                                     "no data: the flash ends at 0x%x, inside the image",
                                     (unsigned)f->size);
                goto fail;
            }
            n = (uint32_t)(f->size - at);
        }
        if ((rc = f->read(f->ctx, (uint32_t)at, buf, n)) != OTA32_OK) {
            ota32_diag_fail(diag, rc, 0, (long)at, "flash read at 0x%x: %s", (unsigned)at,
                            ota32_strerror(rc));
            goto fail;
        }
        size_t used = 0;
        if ((rc = ota32_image_parser_feed(p, buf, n, &used, &pd)) != OTA32_OK)
            goto parse_fail;
        pos += n;
        if (used < n || ota32_image_parser_stage(p) == OTA32_IMAGE_STAGE_DONE)
            break;
    }
    if ((rc = ota32_image_parser_finish(p, &pd)) != OTA32_OK)
        goto parse_fail_finished;
    if (info)
        *info = p->info;
    free(p);
    return OTA32_OK;

parse_fail:
    ota32_image_parser_abort(p);
parse_fail_finished:
    if (info)
        *info = p->info;
    free(p);
    /* the parser speaks in image offsets; report the flash address too */
    return ota32_diag_fail(diag, rc, 0, pd.offset >= 0 ? (long)offset + pd.offset : -1, "%s%s",
                           pd.msg[0] ? pd.msg : ota32_strerror(rc),
                           pos >= size ? " (image does not end inside the partition)" : "");
fail:
    ota32_image_parser_abort(p);
    if (info)
        *info = p->info;
    free(p);
    return rc;
}

/* try_load_partition: verify and, on success, fill in the result. */
static bool try_load(const ota32_flash_ops *f, const ota32_partition *part, int index,
                     vdev_boot *out)
{
    ota32_image_info *info = calloc(1, sizeof *info);
    if (!info) {
        say(out, "%s: out of memory", part->label);
        return false;
    }
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = vdev_verify_app(f, part->offset, part->size, info, &d);
    if (rc != OTA32_OK) {
        uint8_t first = 0;
        if (rc == OTA32_ERR_RANGE) {
            say(out, "%s has no data (%.60s)", part->label, d.msg);
        } else if (f->read(f->ctx, part->offset, &first, 1) == OTA32_OK && first == 0xFF) {
            say(out, "%s is empty", part->label); /* erased, never written */
        } else {
            /* the flash address replaces the parser's image offset */
            const char *msg = d.msg;
            if (!strncmp(msg, "offset 0x", 9) && strstr(msg, ": "))
                msg = strstr(msg, ": ") + 2;
            if (d.offset >= 0)
                say(out, "%s image invalid at 0x%lx (%.72s)", part->label, d.offset, msg);
            else
                say(out, "%s image invalid (%.72s)", part->label, msg);
        }
        free(info);
        return false;
    }
    snprintf(out->label, sizeof out->label, "%s", part->label);
    out->subtype = part->subtype;
    out->slot = index >= 0 ? index : -1;
    out->offset = part->offset;
    out->size = part->size;
    out->app = info->app_desc;
    free(info);
    return true;
}

/* bootloader_utility_load_boot_image: from start_index down to factory, then
 * up through the remaining ota slots, then the test app. Returns the index
 * booted, or IDX_NONE when nothing is bootable. */
#define IDX_NONE (-99)
static int walk(const ota32_flash_ops *f, const bl_state *bs, int start, vdev_boot *out)
{
    if (start == IDX_TEST) {
        const ota32_partition *t = bs->test;
        return t && t->size && try_load(f, t, IDX_TEST, out) ? IDX_TEST : IDX_NONE;
    }
    for (int i = start; i >= IDX_FACTORY; i--) {
        const ota32_partition *p = index_to_partition(bs, i);
        if (p && p->size && try_load(f, p, i, out))
            return i;
    }
    for (int i = start + 1; i < (int)bs->app_count && i < (int)MAX_OTA_SLOTS; i++) {
        const ota32_partition *p = index_to_partition(bs, i);
        if (p && p->size && try_load(f, p, i, out))
            return i;
    }
    if (bs->test && bs->test->size && try_load(f, bs->test, IDX_TEST, out))
        return IDX_TEST;
    return IDX_NONE;
}

static const char *index_name(const bl_state *bs, int index, char *buf, size_t cap)
{
    const ota32_partition *p = index_to_partition(bs, index);
    if (p)
        return p->label;
    snprintf(buf, cap, index == IDX_FACTORY ? "factory" : "ota_%d", index);
    return buf;
}

int vdev_boot_select(const ota32_flash_ops *f, uint32_t table_offset, bool rollback, bool dry_run,
                     vdev_boot *out, ota32_diag *diag)
{
    if (!f || !out)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "no flash or result");
    memset(out, 0, sizeof *out);
    out->slot = -1;
    out->active = -1;
    out->ota_state = OTA32_IMG_UNDEFINED;
    out->rollback = rollback;

    /* bootloader_utility_load_partition_table */
    if ((uint64_t)table_offset + OTA32_PT_BIN_LEN > f->size)
        return ota32_diag_fail(diag, OTA32_ERR_RANGE, 0, (long)table_offset,
                               "partition table at 0x%x: no data (the flash ends at 0x%x)",
                               (unsigned)table_offset, (unsigned)f->size);
    uint8_t raw[OTA32_PT_BIN_LEN];
    int rc = f->read(f->ctx, table_offset, raw, sizeof raw);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, (long)table_offset, "reading the partition table: %s",
                               ota32_strerror(rc));
    ota32_diag pd;
    ota32_diag_clear(&pd);
    if (ota32_pt_parse_bin(raw, sizeof raw, ota32_posix_hash(), &out->table, &pd) != OTA32_OK) {
        out->bricked = true;
        say(out, "partition table at 0x%x rejected (%.180s)", (unsigned)table_offset, pd.msg);
        return OTA32_OK;
    }
    out->has_table = true;
    bl_state bs;
    scan_table(&out->table, &bs);
    out->app_count = bs.app_count;

    /* bootloader_utility_get_selected_boot_partition */
    int start = IDX_FACTORY;
    bool initial = false;
    ota32_ota_entry e[2];
    memset(e, 0xFF, sizeof e);
    char nbuf[24];
    if (!bs.otadata) {
        say(out, "no otadata partition -> factory");
    } else {
        out->has_otadata = true;
        out->otadata_offset = bs.otadata->offset;
        if (bs.otadata->size < OTA32_OTADATA_SIZE) {
            out->bricked = true; /* read_otadata fails: INVALID_INDEX, reset loop */
            say(out, "otadata partition size 0x%x is below 0x2000", (unsigned)bs.otadata->size);
            return OTA32_OK;
        }
        if ((uint64_t)bs.otadata->offset + OTA32_OTADATA_SIZE > f->size)
            return ota32_diag_fail(diag, OTA32_ERR_RANGE, 0, (long)bs.otadata->offset,
                                   "otadata at 0x%x: no data (the flash ends at 0x%x)",
                                   (unsigned)bs.otadata->offset, (unsigned)f->size);
        if ((rc = ota32_otadata_read(f, bs.otadata->offset, e)) != OTA32_OK)
            return ota32_diag_fail(diag, rc, 0, (long)bs.otadata->offset, "reading otadata: %s",
                                   ota32_strerror(rc));
        for (unsigned i = 0; i < 2; i++) {
            out->otadata[i] = e[i];
            out->otadata_crc_ok[i] = seq_crc_ok(&e[i]);
        }
        if (rollback) {
            /* an app that was started but never confirmed itself */
            for (unsigned i = 0; i < 2; i++) {
                if (e[i].state != OTA32_IMG_PENDING_VERIFY)
                    continue;
                e[i].state = OTA32_IMG_ABORTED;
                say(out, "otadata[%u] seq %u PENDING_VERIFY -> ABORTED (never confirmed)", i,
                    (unsigned)e[i].seq);
                if ((rc = write_entry(f, out, dry_run, i, &e[i], diag)) != OTA32_OK)
                    return rc;
            }
        }
        bool none = !ota32_ota_entry_valid(&e[0]) && !ota32_ota_entry_valid(&e[1]);
        if (none || bs.app_count == 0) {
            const char *why =
                bs.app_count == 0 ? "no ota_N partitions"
                : e[0].seq == OTA32_OTADATA_SEQ_UNSET && e[1].seq == OTA32_OTADATA_SEQ_UNSET
                    ? "otadata blank"
                    : "no valid otadata entry";
            if (bs.factory) {
                say(out, "%s -> factory", why);
            } else {
                start = 0;
                initial = entry_initial(&e[0]) && entry_initial(&e[1]);
                say(out, "%s, no factory -> %s", why, index_name(&bs, 0, nbuf, sizeof nbuf));
            }
        } else {
            int a = ota32_otadata_active(e);
            if (a >= 0) {
                out->active = a;
                start = (int)ota32_otadata_slot(&e[a], bs.app_count);
                const char *name = index_name(&bs, start, nbuf, sizeof nbuf);
                if (rollback && e[a].state == OTA32_IMG_NEW) {
                    e[a].state = OTA32_IMG_PENDING_VERIFY;
                    say(out, "otadata[%d] seq %u -> %s (state NEW -> PENDING_VERIFY)", a,
                        (unsigned)e[a].seq, name);
                    if ((rc = write_entry(f, out, dry_run, (unsigned)a, &e[a], diag)) != OTA32_OK)
                        return rc;
                } else {
                    say(out, "otadata[%d] seq %u -> %s (state %s)", a, (unsigned)e[a].seq, name,
                        state_name(e[a].state));
                }
            } else {
                say(out, "no active otadata entry -> %s",
                    bs.factory ? "factory" : "trying every slot");
            }
        }
    }

    /* bootloader_utility_load_boot_image */
    int booted = walk(f, &bs, start, out);
    if (booted == IDX_NONE) {
        /* lead with the verdict, so that truncation only cuts details */
        static const char pre[] = "no bootable app (";
        const size_t room = sizeof out->reason - sizeof pre - 1; /* ")" and NUL */
        size_t n = strlen(out->reason);
        bool cut = n > room;
        if (cut)
            n = room;
        memmove(out->reason + sizeof pre - 1, out->reason, n);
        memcpy(out->reason, pre, sizeof pre - 1);
        size_t end = sizeof pre - 1 + n;
        if (cut)
            memcpy(out->reason + end - 3, "...", 3);
        out->reason[end] = ')';
        out->reason[end + 1] = 0;
        out->bricked = true;
        memset(out->label, 0, sizeof out->label);
        return OTA32_OK;
    }
    if (booted != start) {
        char sbuf[24];
        if (index_to_partition(&bs, start))
            say(out, "fell back to %s", out->label);
        else
            say(out, "%s absent, booted %s", index_name(&bs, start, sbuf, sizeof sbuf), out->label);
    }

    /* set_actual_ota_seq: first boot of a factory-less device */
    if (booted > IDX_FACTORY && initial) {
        ota32_ota_entry w;
        memset(&w, 0, sizeof w);
        w.seq = (uint32_t)booted + 1;
        memset(w.seq_label, 0xFF, sizeof w.seq_label);
        w.state = OTA32_IMG_VALID;
        uint8_t seq[4];
        ota32_put_le32(seq, w.seq);
        w.crc = ota32_crc32_esp(seq, sizeof seq);
        if ((rc = write_entry(f, out, dry_run, 0, &w, diag)) != OTA32_OK)
            return rc;
        e[0] = w;
        out->active = 0;
        say(out, "%s otadata[0] seq %u VALID", dry_run ? "would write" : "wrote", (unsigned)w.seq);
    }

    /* The state the running app will see (esp_ota_get_state_partition): the
     * entry that points at the booted slot, the active one first. */
    if (out->has_otadata && booted >= 0 && bs.app_count) {
        for (int k = 0; k < 2; k++) {
            int i = out->active == 1 ? 1 - k : k;
            if (e[i].seq != OTA32_OTADATA_SEQ_UNSET && seq_crc_ok(&e[i]) &&
                ota32_otadata_slot(&e[i], bs.app_count) == (unsigned)booted) {
                out->ota_state = e[i].state;
                break;
            }
        }
    }
    return OTA32_OK;
}
