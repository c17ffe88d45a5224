/* `ota32 flash inspect`: read a whole-flash dump (a merged image, `esptool
 * read-flash` output, a virtual device file) and say what is on it and what
 * the bootloader would boot. Read-only: the file is loaded into memory and the
 * bootloader's selection runs as a dry run. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ota32/nvs.h"
#include "ota32/partition.h"
#include "opts.h"
#include "posix_hash.h"
#include "efuse_util.h"
#include "util.h"
#include "vdev.h"

#define BOOTLOADER_OFFSET 0x1000u /* ESP32 */

enum { F_JSON, F_TABLE_OFFSET, F_NO_ROLLBACK, F_COUNT };

static const opt_def inspect_opts[F_COUNT] = {
    [F_JSON] = {"--json", OPT_FLAG, NULL, "the same as JSON", 0, 0, NULL, NULL},
    [F_TABLE_OFFSET] = {"--table-offset", OPT_NUMBER, "ADDR",
                        "where the partition table is (default 0x8000)", 0, 0xFFFFF000u, NULL,
                        NULL},
    [F_NO_ROLLBACK] = {"--no-rollback", OPT_FLAG, NULL,
                       "boot as a bootloader built without rollback support", 0, 0, NULL, NULL},
};

static const opt_cmd inspect_cmd = {
    "flash inspect", "FLASH.bin [--json] [--table-offset 0x8000] [--no-rollback]",
    "Print the bootloader at 0x1000, the partition table, both otadata copies,\n"
    "which app the bootloader would boot and why, each app slot's descriptor and\n"
    "whether it verifies, and the OTA keys in NVS (namespace VIAM_NS). The file is\n"
    "not modified.",
    inspect_opts, F_COUNT, 1, 1, "exit status: 0 done, 1 no partition table, 2 usage error",
    false};

static const char *state_str(uint32_t state, char buf[16])
{
    const char *n = ota32_img_state_name(state);
    if (n)
        return n;
    snprintf(buf, 16, "0x%08" PRIx32, state);
    return buf;
}

static bool entry_blank(const ota32_ota_entry *e)
{
    return e->seq == 0xFFFFFFFFu && e->state == 0xFFFFFFFFu && e->crc == 0xFFFFFFFFu;
}

/* ---- sections ------------------------------------------------------------ */

/* The second-stage bootloader at 0x1000: present, and a valid image? */
static void bootloader_section(const uint8_t *buf, size_t len, uint32_t table_off, bool json,
                               cJSON *root)
{
    size_t end = table_off > BOOTLOADER_OFFSET && table_off < len ? table_off : len;
    bool present = end > BOOTLOADER_OFFSET && buf[BOOTLOADER_OFFSET] != 0xFF;
    ota32_image_info *info = calloc(1, sizeof *info);
    ota32_image_parser *p = calloc(1, sizeof *p);
    ota32_diag dg;
    ota32_diag_clear(&dg);
    int rc = OTA32_ERR_NO_MEM;
    if (present && info && p) {
        ota32_image_opts io = {.chip_id = OTA32_CHIP_ESP32, .hash = ota32_posix_hash()};
        size_t used = 0;
        ota32_image_parser_init(p, &io);
        rc = ota32_image_parser_feed(p, buf + BOOTLOADER_OFFSET, end - BOOTLOADER_OFFSET, &used,
                                     &dg);
        rc = rc == OTA32_OK ? ota32_image_parser_finish(p, &dg) : rc;
        if (rc != OTA32_OK)
            ota32_image_parser_abort(p);
        else
            *info = p->info;
    }
    const char *err = dg.msg[0] ? dg.msg : ota32_strerror(rc);
    if (json) {
        cJSON *b = cJSON_AddObjectToObject(root, "bootloader");
        cJSON_AddNumberToObject(b, "offset", BOOTLOADER_OFFSET);
        cJSON_AddBoolToObject(b, "present", present);
        if (present)
            cJSON_AddBoolToObject(b, "valid", rc == OTA32_OK);
        if (present && rc == OTA32_OK) {
            cJSON_AddNumberToObject(b, "image_len", info->image_len);
            if (info->has_bootloader_desc)
                cJSON_AddStringToObject(b, "idf", info->bootloader_desc.idf_ver);
        } else if (present) {
            cJSON_AddStringToObject(b, "error", err);
        }
    } else if (!present) {
        printf("bootloader at 0x%x: none (blank)\n", BOOTLOADER_OFFSET);
    } else if (rc == OTA32_OK) {
        printf("bootloader at 0x%x: valid, %u bytes%s%s\n", BOOTLOADER_OFFSET,
               (unsigned)info->image_len, info->has_bootloader_desc ? ", ESP-IDF " : "",
               info->has_bootloader_desc ? info->bootloader_desc.idf_ver : "");
    } else {
        printf("bootloader at 0x%x: INVALID: %s\n", BOOTLOADER_OFFSET, err);
    }
    free(info);
    free(p);
}

static void show_table(const vdev_boot *b, uint32_t off, cJSON *root)
{
    const ota32_ptable *t = &b->table;
    cJSON *jt = cJSON_AddObjectToObject(root, "partition_table");
    cJSON_AddNumberToObject(jt, "offset", off);
    if (!b->has_table) {
        cJSON_AddStringToObject(jt, "error", b->reason);
        return;
    }
    cJSON_AddBoolToObject(jt, "md5", t->has_md5);
    cJSON *arr = cJSON_AddArrayToObject(jt, "partitions");
    for (unsigned i = 0; i < t->count; i++)
        cJSON_AddItemToArray(arr, util_partition_json(&t->entries[i]));
}

static void print_table(const vdev_boot *b, uint32_t off, uint32_t file_len)
{
    const ota32_ptable *t = &b->table;
    if (!b->has_table) {
        printf("partition table at 0x%x: INVALID: %s\n", (unsigned)off, b->reason);
        return;
    }
    printf("partition table at 0x%x: %u entries, MD5 %s\n", (unsigned)off, t->count,
           t->has_md5 ? "ok" : "absent");
    printf("  %-16s %-5s %-9s %-10s %s\n", "label", "type", "subtype", "offset", "size");
    for (unsigned i = 0; i < t->count; i++) {
        const ota32_partition *p = &t->entries[i];
        char tb[8], sb[8];
        const char *tn = ota32_pt_type_name(p->type),
                   *sn = ota32_pt_subtype_name(p->type, p->subtype);
        if (!tn)
            snprintf(tb, sizeof tb, "0x%02x", p->type);
        if (!sn)
            snprintf(sb, sizeof sb, "0x%02x", p->subtype);
        const char *note = "";
        if (p->offset >= file_len)
            note = " (not in the file)";
        else if ((uint64_t)p->offset + p->size > file_len)
            note = " (partly in the file)";
        char extra[64];
        snprintf(extra, sizeof extra, "%s%s%s",
                 p->flags & OTA32_PT_FLAG_ENCRYPTED ? " encrypted" : "",
                 p->flags & OTA32_PT_FLAG_READONLY ? " readonly" : "", note);
        printf("  %-16s %-5s %-9s 0x%08x 0x%08x%s\n", p->label, tn ? tn : tb, sn ? sn : sb,
               (unsigned)p->offset, (unsigned)p->size, extra);
    }
}

static void otadata_section(const vdev_boot *b, bool json, cJSON *root)
{
    if (!b->has_table)
        return;
    if (!b->has_otadata) {
        if (json)
            cJSON_AddNullToObject(root, "otadata");
        else
            printf("otadata: none (no data/ota partition)\n");
        return;
    }
    cJSON *jo = json ? cJSON_AddObjectToObject(root, "otadata") : NULL;
    cJSON *arr = json ? cJSON_AddArrayToObject(jo, "copies") : NULL;
    if (json)
        cJSON_AddNumberToObject(jo, "offset", b->otadata_offset);
    else
        printf("otadata at 0x%x:\n", (unsigned)b->otadata_offset);
    for (int i = 0; i < 2; i++) {
        const ota32_ota_entry *e = &b->otadata[i];
        char sbuf[16];
        const char *st = state_str(e->state, sbuf);
        bool blank = entry_blank(e);
        bool valid = ota32_ota_entry_valid(e);
        char slot[24] = "";
        if (valid && b->app_count)
            snprintf(slot, sizeof slot, "ota_%u", ota32_otadata_slot(e, b->app_count));
        if (json) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "seq", e->seq);
            cJSON_AddStringToObject(c, "state", st);
            cJSON_AddBoolToObject(c, "crc_ok", b->otadata_crc_ok[i]);
            cJSON_AddBoolToObject(c, "blank", blank);
            cJSON_AddBoolToObject(c, "valid", valid);
            if (slot[0])
                cJSON_AddStringToObject(c, "slot", slot);
            cJSON_AddItemToArray(arr, c);
        } else if (blank) {
            printf("  otadata[%d]: blank\n", i);
        } else {
            printf("  otadata[%d]: seq %" PRIu32 ", state %s, crc %s%s%s%s\n", i, e->seq, st,
                   b->otadata_crc_ok[i] ? "ok" : "bad", valid ? " -> " : " (not valid)", slot,
                   i == b->active ? " (active)" : "");
        }
    }
}

static void boot_section(const vdev_boot *b, int rc, const ota32_diag *dg, bool json, cJSON *root)
{
    char sbuf[16];
    if (json) {
        cJSON *jb = cJSON_AddObjectToObject(root, "boot");
        if (rc != OTA32_OK) {
            cJSON_AddStringToObject(jb, "error", dg->msg[0] ? dg->msg : ota32_strerror(rc));
            return;
        }
        cJSON_AddBoolToObject(jb, "bricked", b->bricked);
        if (!b->bricked) {
            cJSON_AddStringToObject(jb, "partition", b->label);
            cJSON_AddNumberToObject(jb, "offset", b->offset);
            cJSON_AddStringToObject(jb, "state", state_str(b->ota_state, sbuf));
        }
        cJSON_AddStringToObject(jb, "reason", b->reason);
        cJSON_AddNumberToObject(jb, "otadata_writes", b->otadata_writes);
        cJSON_AddBoolToObject(jb, "rollback", b->rollback);
        return;
    }
    if (rc != OTA32_OK)
        printf("boot: cannot tell: %s\n", dg->msg[0] ? dg->msg : ota32_strerror(rc));
    else if (b->bricked)
        printf("boot: would not boot (BRICKED): %s\n", b->reason);
    else
        printf("boot: would boot %s at 0x%x, otadata state %s%s\n  why: %s\n", b->label,
               (unsigned)b->offset, state_str(b->ota_state, sbuf),
               b->otadata_writes ? " (after rewriting otadata)" : "", b->reason);
}

static void apps_section(const ota32_flash_ops *f, const vdev_boot *b, bool json, cJSON *root)
{
    if (!b->has_table)
        return;
    cJSON *arr = json ? cJSON_AddArrayToObject(root, "apps") : NULL;
    if (!json)
        printf("apps:\n");
    ota32_image_info *info = calloc(1, sizeof *info);
    if (!info)
        return;
    for (unsigned i = 0; i < b->table.count; i++) {
        const ota32_partition *p = &b->table.entries[i];
        if (p->type != OTA32_PT_TYPE_APP)
            continue;
        ota32_diag dg;
        ota32_diag_clear(&dg);
        memset(info, 0, sizeof *info);
        const char *status;
        uint8_t first = 0xFF;
        int rc = OTA32_ERR_RANGE;
        if (p->offset >= f->size) {
            status = "no data";
            snprintf(dg.msg, sizeof dg.msg, "the file ends at 0x%x", (unsigned)f->size);
        } else if (f->read(f->ctx, p->offset, &first, 1) == OTA32_OK && first == 0xFF) {
            status = "empty";
        } else {
            rc = vdev_verify_app(f, p->offset, p->size, info, &dg);
            status = rc == OTA32_OK ? "valid" : rc == OTA32_ERR_RANGE ? "no data" : "invalid";
        }
        if (json) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddStringToObject(a, "label", p->label);
            cJSON_AddNumberToObject(a, "offset", p->offset);
            cJSON_AddNumberToObject(a, "size", p->size);
            cJSON_AddStringToObject(a, "status", status);
            if (rc == OTA32_OK)
                cJSON_AddNumberToObject(a, "image_len", info->image_len);
            else if (dg.msg[0])
                cJSON_AddStringToObject(a, "error", dg.msg);
            if (info->has_app_desc)
                cJSON_AddItemToObject(a, "app", util_app_desc_json(&info->app_desc));
            cJSON_AddItemToArray(arr, a);
            continue;
        }
        bool more = info->has_app_desc || rc == OTA32_OK || dg.msg[0];
        printf(more ? "  %-16s 0x%08x %-7s" : "  %-16s 0x%08x %s", p->label, (unsigned)p->offset,
               status);
        if (info->has_app_desc)
            printf(" %s %s (idf %s, %s %s)", info->app_desc.project_name, info->app_desc.version,
                   info->app_desc.idf_ver, info->app_desc.date, info->app_desc.time);
        if (rc == OTA32_OK)
            printf(", %" PRIu32 " bytes", info->image_len);
        else if (dg.msg[0] && dg.offset >= 0)
            printf(": %s (at 0x%lx)", dg.msg, dg.offset);
        else if (dg.msg[0])
            printf(": %s", dg.msg);
        printf("\n");
    }
    free(info);
}

typedef struct nvs_walk {
    bool json;
    cJSON *arr;
    unsigned count;
} nvs_walk;

static int nvs_item(void *arg, const ota32_nvs_item *it)
{
    nvs_walk *w = arg;
    /* the namespace table and the chunks of multi-page blobs are not keys */
    if (it->ns_index == 0 || it->type == OTA32_NVS_BLOB_DATA ||
        strcmp(it->ns, OTA32_NVS_NAMESPACE) != 0)
        return 0;
    w->count++;
    /* the text form shows OTA_VERSION on its own line above */
    if (!w->json && !strcmp(it->key, OTA32_NVS_KEY_VERSION))
        return 0;
    const char *tn = util_nvs_type_name(it->type);
    bool is_int = (it->type & 0xF0) == 0x00 || (it->type & 0xF0) == 0x10;
    bool is_signed = (it->type & 0xF0) == 0x10;
    if (w->json) {
        cJSON_AddItemToArray(w->arr, util_nvs_item_json(it));
        return 0;
    }
    printf("  %s/%s (%s): ", OTA32_NVS_NAMESPACE, it->key, tn);
    if (it->type == OTA32_NVS_STR && it->data) {
        char *s = strndup((const char *)it->data, it->data_len);
        putchar('"');
        for (const char *c = s ? s : ""; *c; c++)
            putchar((unsigned char)*c >= 0x20 && *c != 0x7F ? *c : '?');
        printf("\"\n");
        free(s);
    } else if (is_int && is_signed) {
        printf("%lld\n", util_nvs_signed(it->type, it->int_val));
    } else if (is_int) {
        printf("%" PRIu64 "\n", it->int_val);
    } else {
        printf("%" PRIu32 " bytes\n", it->data_len);
    }
    return 0;
}

static void nvs_section(const ota32_flash_ops *f, const vdev_boot *b, bool json, cJSON *root)
{
    if (!b->has_table)
        return;
    const ota32_partition *p = ota32_pt_find_label(&b->table, "nvs");
    if (!p || p->type != OTA32_PT_TYPE_DATA)
        p = ota32_pt_find(&b->table, OTA32_PT_TYPE_DATA, OTA32_PT_DATA_NVS);
    cJSON *jn = json ? cJSON_AddObjectToObject(root, "nvs") : NULL;
    if (!p) {
        if (json)
            cJSON_AddStringToObject(jn, "error", "no nvs partition");
        else
            printf("nvs: none (no nvs partition)\n");
        return;
    }
    if (json) {
        cJSON_AddStringToObject(jn, "label", p->label);
        cJSON_AddNumberToObject(jn, "offset", p->offset);
        cJSON_AddNumberToObject(jn, "size", p->size);
    } else {
        printf("nvs \"%s\" at 0x%x (0x%x bytes):\n", p->label, (unsigned)p->offset,
               (unsigned)p->size);
    }
    char err[OTA32_DIAG_MSG_MAX + 64] = "";
    ota32_nvs *nvs = calloc(1, sizeof *nvs);
    ota32_diag dg;
    ota32_diag_clear(&dg);
    int rc;
    if (!nvs) {
        snprintf(err, sizeof err, "out of memory");
    } else if ((uint64_t)p->offset + p->size > f->size) {
        snprintf(err, sizeof err, "no data: the file ends at 0x%x", (unsigned)f->size);
    } else if ((rc = ota32_nvs_open(nvs, f, p->offset, p->size, &dg)) != OTA32_OK) {
        snprintf(err, sizeof err, "cannot read: %s", dg.msg[0] ? dg.msg : ota32_strerror(rc));
    }
    if (err[0]) {
        if (json)
            cJSON_AddStringToObject(jn, "error", err);
        else
            printf("  %s\n", err);
        free(nvs);
        return;
    }
    char ver[OTA32_NVS_STR_MAX];
    rc = ota32_nvs_get_str(nvs, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, ver, sizeof ver, NULL);
    if (json) {
        if (rc == OTA32_OK)
            cJSON_AddStringToObject(jn, "ota_version", ver);
        else
            cJSON_AddNullToObject(jn, "ota_version");
    } else if (rc == OTA32_OK) {
        printf("  OTA version (%s/%s): \"%s\"\n", OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, ver);
    } else {
        printf("  OTA version (%s/%s): not set%s%s\n", OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION,
               rc == OTA32_ERR_NOT_FOUND ? "" : ": ",
               rc == OTA32_ERR_NOT_FOUND ? "" : ota32_strerror(rc));
    }
    nvs_walk w = {.json = json, .arr = json ? cJSON_AddArrayToObject(jn, "keys") : NULL};
    rc = ota32_nvs_foreach(nvs, nvs_item, &w);
    if (rc < 0) {
        if (json)
            cJSON_AddStringToObject(jn, "error", ota32_strerror(rc));
        else
            printf("  reading entries: %s\n", ota32_strerror(rc));
    } else if (!json && w.count == 0) {
        printf("  no keys in namespace %s\n", OTA32_NVS_NAMESPACE);
    }
    free(nvs);
}

/* ---- command ------------------------------------------------------------- */

static int flash_inspect(int argc, char **argv)
{
    opt_value v[F_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&inspect_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *path = pos[0];
    bool json = v[F_JSON].set, rollback = !v[F_NO_ROLLBACK].set;
    uint64_t table_off = v[F_TABLE_OFFSET].set ? v[F_TABLE_OFFSET].num : OTA32_PT_OFFSET_DEFAULT;
    if (table_off % 0x1000)
        return opts_usage_error(&inspect_cmd, "--table-offset %s: expected a multiple of 0x1000",
                                v[F_TABLE_OFFSET].str);
    size_t len = 0;
    uint8_t *buf = util_read_file(path, &len);
    if (!buf)
        return 1;
    if (len > 0x1000000u) {
        free(buf);
        return util_fail("%s: %zu bytes is more than a 16 MB ESP32 flash", path, len);
    }
    vdev_mem m;
    ota32_flash_ops f;
    vdev_mem_flash(&m, buf, (uint32_t)len, &f);

    vdev_boot *b = calloc(1, sizeof *b);
    if (!b) {
        free(buf);
        return util_fail("out of memory");
    }
    ota32_diag dg;
    ota32_diag_clear(&dg);
    int rc = vdev_boot_select(&f, (uint32_t)table_off, rollback, true, b, &dg);
    int status = 0;
    /* an app image, an ELF or a table alone: say which command takes it */
    const char *hint = b->has_table ? NULL : util_kind_hint(util_file_kind(buf, len, 0));
    if (hint) {
        util_fail("%s: no partition table at 0x%x: %s", path, (unsigned)table_off, hint);
        status = 1;
    } else if (rc != OTA32_OK && !b->has_table) {
        /* not even a partition table to read */
        util_fail("%s: %s", path, dg.msg[0] ? dg.msg : ota32_strerror(rc));
        status = 1;
    } else if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "file", path);
        cJSON_AddNumberToObject(root, "size", (double)len);
        bootloader_section(buf, len, (uint32_t)table_off, true, root);
        show_table(b, (uint32_t)table_off, root);
        otadata_section(b, true, root);
        boot_section(b, rc, &dg, true, root);
        apps_section(&f, b, true, root);
        nvs_section(&f, b, true, root);
        status = util_print_json(root);
    } else {
        printf("%s: %zu bytes (0x%zx)\n", path, len, len);
        bootloader_section(buf, len, (uint32_t)table_off, false, NULL);
        print_table(b, (uint32_t)table_off, (uint32_t)len);
        otadata_section(b, false, NULL);
        boot_section(b, rc, &dg, false, NULL);
        apps_section(&f, b, false, NULL);
        nvs_section(&f, b, false, NULL);
        efuse_print(path);
    }
    if (!b->has_table)
        status = 1;
    free(b);
    free(buf);
    return status;
}

static const opt_cmd *const flash_cmds[] = {&inspect_cmd};
static int (*const flash_run[])(int, char **) = {flash_inspect};

static int cmd_flash(int argc, char **argv)
{
    return opts_dispatch(&flash_group, argc, argv, flash_run);
}

const opt_group flash_group = {"flash", "whole-flash dumps: inspect", flash_cmds, 1, cmd_flash};
