/* `ota32 device`: the virtual ESP32 (create, flash, boot; run is the OTA
 * service on top of it, in cmd_device_run.c). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "efuse_util.h"
#include "sig_util.h"
#include "ota32/partition.h"
#include "partition_csv.h"
#include "posix_hash.h"
#include "opts.h"
#include "util.h"
#include "vdev.h"

#define BOOTLOADER_OFFSET 0x1000u /* ESP32 */

enum {
    V_PARTITIONS,
    V_APP,
    V_BOOTLOADER,
    V_FLASH_SIZE,
    V_FORCE,
    V_JSON,
    V_NO_ROLLBACK,
    V_TRUST_KEY,
    V_COUNT
};

static const opt_def create_opts[V_COUNT] = {
    [V_PARTITIONS] = {"--partitions", OPT_STRING, "CSV", "the partition table (required)", 0, 0,
                      NULL, "file"},
    [V_APP] = {"--app", OPT_STRING, "APP.bin", "the app image, written to ota_0 or factory (required)",
               0, 0, NULL, "file"},
    [V_BOOTLOADER] = {"--bootloader", OPT_STRING, "BL.bin", "a bootloader image for 0x1000", 0, 0,
                      NULL, "file"},
    [V_FLASH_SIZE] = {"--flash-size", OPT_SIZE, "SIZE", "1MB, 2MB, 4MB, 8MB (default) or 16MB",
                      0, 0, NULL, NULL},
    [V_FORCE] = {"--force", OPT_FLAG, NULL, "replace an existing DEV.flash", 0, 0, NULL, NULL},
    [V_TRUST_KEY] = {"--trust-key", OPT_STRING, "KEY.pem",
                     "burn this key's Secure Boot v2 digest into the eFuse\n"
                     "(repeatable, up to 3): the device then installs only\n"
                     "images signed by one of them",
                     0, 0, NULL, "file"},
};
static const opt_def flash_opts[V_COUNT] = {
    [V_FLASH_SIZE] = {"--flash-size", OPT_SIZE, "SIZE",
                      "the flash size (1MB ... 16MB) of a new DEV.flash\n(default 8MB)", 0, 0,
                      NULL, NULL},
    [V_FORCE] = {"--force", OPT_FLAG, NULL,
                 "write the bytes even without a valid partition table\nat 0x8000", 0, 0, NULL,
                 NULL},
};
static const opt_def boot_opts[V_COUNT] = {
    [V_JSON] = {"--json", OPT_FLAG, NULL, "what booted, as JSON", 0, 0, NULL, NULL},
    [V_NO_ROLLBACK] = {"--no-rollback", OPT_FLAG, NULL,
                       "boot as a bootloader built without rollback support", 0, 0, NULL, NULL},
};

static const opt_cmd create_cmd = {
    "device create",
    "DEV.flash --partitions CSV --app APP.bin [--bootloader BL.bin] [--flash-size 8MB] [--force]\n"
    "[--trust-key KEY.pem]...",
    "A fresh virtual ESP32: bootloader at 0x1000, partition table at 0x8000, the\n"
    "app in ota_0 (or factory), otadata and NVS blank (0xFF), blank eFuse unless\n"
    "--trust-key. DEV.flash appears only when all of it was written.",
    create_opts, V_COUNT, 1, 1, NULL, false};
static const opt_cmd flash_cmd = {
    "device flash", "DEV.flash MERGED.bin [--flash-size 8MB] [--force]",
    "Write a merged image at 0x0, as `esptool write-flash 0x0` does. It must hold\n"
    "a valid partition table at 0x8000 (an app image or other bytes there leave\n"
    "a device that does not boot). A missing DEV.flash is created (blank,\n"
    "--flash-size), and only when the image fits.",
    flash_opts, V_COUNT, 2, 2, NULL, false};
static const opt_cmd boot_cmd = {
    "device boot", "DEV.flash [--json] [--no-rollback]",
    "Run the bootloader once; print what booted and why.", boot_opts, V_COUNT, 1, 1,
    "exit status: 0 booted, 1 bricked or unreadable, 2 usage error", false};

/* --flash-size: 1, 2, 4, 8 (default) or 16 MB; 0 after a usage error. */
static uint64_t flash_size_of(const opt_cmd *c, const opt_value *v)
{
    uint64_t n = v->set ? v->num : 8u * 1024 * 1024;
    if (n != 1u << 20 && n != 2u << 20 && n != 4u << 20 && n != 8u << 20 && n != 16u << 20) {
        opts_usage_error(c, "--flash-size %s: use 1MB, 2MB, 4MB, 8MB or 16MB", v->str);
        return 0;
    }
    return n;
}

/* A new device file is made under a temporary name beside DEV and renamed
 * over it once complete; NULL with a message on failure. */
static char *temp_device(const char *dev)
{
    const char *slash = strrchr(dev, '/');
    size_t dir = slash ? (size_t)(slash - dev) + 1 : 0;
    char *tmp = malloc(strlen(dev) + 16);
    if (!tmp) {
        util_fail("out of memory");
        return NULL;
    }
    sprintf(tmp, "%.*s.%s.XXXXXX", (int)dir, dev, dev + dir);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        util_fail("%s: %s", dev, strerror(errno));
        free(tmp);
        return NULL;
    }
    close(fd);
    return tmp;
}

static int finish_device(char *tmp, const char *dev, bool ok)
{
    if (ok && rename(tmp, dev) != 0) {
        util_fail("%s: %s", dev, strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : 1;
}

/* "ota32: FILE:LINE: msg" / "ota32: FILE: offset 0xN: msg" */
static int report(const char *what, int rc, const ota32_diag *dg)
{
    util_report_at(what, rc, dg);
    return 1;
}

/* vdev's own messages start with the file name already. */
static int report_dev(int rc, const ota32_diag *dg)
{
    return dg->msg[0] ? util_fail("%s", dg->msg) : util_fail("%s", ota32_strerror(rc));
}

static int program_at(vdev *d, uint32_t addr, const uint8_t *buf, size_t len, const char *what)
{
    const ota32_flash_ops *f = vdev_flash(d);
    int rc = f->program(f->ctx, addr, buf, len);
    if (rc != OTA32_OK)
        return util_fail("%s: programming 0x%x bytes at 0x%x: %s", what, (unsigned)len,
                         (unsigned)addr, ota32_strerror(rc));
    return 0;
}

/* A new chip: blank eFuse, then the --trust-key digests burnt. */
static int new_efuse(const char *dev, int argc, char **argv)
{
    char efuse[4200];
    vdev_efuse_path_of(dev, efuse, sizeof efuse);
    remove(efuse);
    const char *keys[OTA32_TRUSTED_KEYS_MAX];
    unsigned n = sig_option_values(argc, argv, "--trust-key", keys, OTA32_TRUSTED_KEYS_MAX);
    if (n > OTA32_TRUSTED_KEYS_MAX)
        return util_fail("%s: at most %u --trust-key (eFuse key blocks)", dev,
                         OTA32_TRUSTED_KEYS_MAX);
    return n ? efuse_trust_keys(dev, keys, n) : 0;
}

static int device_create(int argc, char **argv)
{
    opt_value v[V_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&create_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *dev = pos[0], *csv = v[V_PARTITIONS].str, *app = v[V_APP].str,
               *bl = v[V_BOOTLOADER].str;
    uint64_t flash_size = flash_size_of(&create_cmd, &v[V_FLASH_SIZE]);
    if (!flash_size)
        return 2;
    bool force = v[V_FORCE].set;
    if (!csv || !app)
        return opts_usage_error(&create_cmd, "--partitions and --app are required");
    if (!force && access(dev, F_OK) == 0)
        return util_fail("%s: exists (--force replaces it)", dev);

    int status = 1;
    char *tmp = NULL;
    uint8_t *csv_text = NULL, *app_img = NULL, *bl_img = NULL;
    size_t csv_len = 0, app_len = 0, bl_len = 0;
    ota32_ptable *t = calloc(1, sizeof *t);
    vdev *d = NULL;
    ota32_diag dg;
    ota32_diag_clear(&dg);
    if (!t)
        goto out;
    if (!(csv_text = util_read_file(csv, &csv_len)) || !(app_img = util_read_file(app, &app_len)))
        goto out;
    if (bl && !(bl_img = util_read_file(bl, &bl_len)))
        goto out;

    /* the table, as gen_esp32part.py makes it for this flash size */
    ota32_pt_csv_opts po = {.table_offset = OTA32_PT_OFFSET_DEFAULT,
                            .flash_size = (uint32_t)flash_size};
    int rc = ota32_pt_parse_csv((const char *)csv_text, csv_len, &po, t, &dg);
    if (rc != OTA32_OK) {
        report(csv, rc, &dg);
        goto out;
    }
    uint8_t table[OTA32_PT_BIN_LEN];
    if ((rc = ota32_pt_to_bin(t, true, ota32_posix_hash(), table, &dg)) != OTA32_OK) {
        report(csv, rc, &dg);
        goto out;
    }
    const ota32_partition *slot = ota32_pt_find(t, OTA32_PT_TYPE_APP, OTA32_PT_APP_OTA_0);
    if (!slot)
        slot = ota32_pt_find(t, OTA32_PT_TYPE_APP, OTA32_PT_APP_FACTORY);
    if (!slot) {
        util_fail("%s: no ota_0 or factory app partition to hold the app", csv);
        goto out;
    }
    if ((uint64_t)slot->offset + slot->size > flash_size) {
        util_fail("%s: %s (0x%x+0x%x) does not fit in %u MB flash", csv, slot->label,
                  (unsigned)slot->offset, (unsigned)slot->size, (unsigned)(flash_size >> 20));
        goto out;
    }

    /* the app must be one the bootloader would start */
    vdev_mem m;
    ota32_flash_ops mf;
    vdev_mem_flash(&m, app_img, (uint32_t)app_len, &mf);
    ota32_image_info *info = calloc(1, sizeof *info);
    if (!info)
        goto out;
    rc = vdev_verify_app(&mf, 0, slot->size, info, &dg);
    ota32_app_desc desc = info->app_desc;
    free(info);
    if (rc == OTA32_ERR_TOO_BIG && dg.msg[0]) {
        util_fail("%s: %s (%s of %s)", app, dg.msg, slot->label, csv);
        goto out;
    }
    if (rc != OTA32_OK) {
        report(app, rc, &dg);
        goto out;
    }
    if (app_len > slot->size) {
        util_fail("%s: 0x%zx bytes do not fit in %s (0x%x)", app, app_len, slot->label,
                  (unsigned)slot->size);
        goto out;
    }
    if (bl_img) {
        if (bl_len == 0 || bl_img[0] != 0xE9) {
            util_fail("%s: not an ESP image (first byte 0x%02x, expected 0xE9)", bl,
                      bl_len ? bl_img[0] : 0);
            goto out;
        }
        if (bl_len > OTA32_PT_OFFSET_DEFAULT - BOOTLOADER_OFFSET) {
            util_fail("%s: 0x%zx bytes at 0x1000 would overlap the partition table at 0x8000", bl,
                      bl_len);
            goto out;
        }
    }

    vdev_opts vo = {.flash_size = (uint32_t)flash_size};
    if (!(tmp = temp_device(dev)))
        goto out;
    if ((rc = vdev_create(tmp, &vo, true, &dg)) != OTA32_OK ||
        (rc = vdev_open(&d, tmp, &vo, &dg)) != OTA32_OK) {
        report_dev(rc, &dg);
        goto out;
    }
    if (bl_img && program_at(d, BOOTLOADER_OFFSET, bl_img, bl_len, dev))
        goto out;
    if (program_at(d, OTA32_PT_OFFSET_DEFAULT, table, sizeof table, dev) ||
        program_at(d, slot->offset, app_img, app_len, dev))
        goto out;
    vdev_close(d);
    d = NULL;
    if (finish_device(tmp, dev, true) != 0) {
        tmp = NULL;
        goto out;
    }
    tmp = NULL;
    if (new_efuse(dev, argc, argv) != 0)
        goto out;

    printf("created %s: %u MB flash\n", dev, (unsigned)(flash_size >> 20));
    if (bl_img)
        printf("  0x%06x bootloader       %zu bytes\n", BOOTLOADER_OFFSET, bl_len);
    printf("  0x%06x partition table  %u entries\n", OTA32_PT_OFFSET_DEFAULT, t->count);
    printf("  0x%06x %-16s %s %s (%zu bytes)\n", (unsigned)slot->offset, slot->label,
           desc.project_name, desc.version, app_len);
    printf("  otadata and nvs blank\n");
    efuse_print(dev);
    status = 0;
out:
    vdev_close(d);
    if (tmp)
        finish_device(tmp, dev, false);
    free(t);
    free(csv_text);
    free(app_img);
    free(bl_img);
    return status;
}

/* What `device flash` writes at 0x0 must be a whole flash image: a valid
 * partition table at 0x8000, as the bootloader reads it. An app image or
 * random bytes there leave a device that never boots. */
static bool merged_image_ok(const char *path, const uint8_t *buf, size_t len)
{
    ota32_ptable *t = calloc(1, sizeof *t);
    if (!t)
        return util_fail("out of memory") == 0;
    ota32_diag dg;
    ota32_diag_clear(&dg);
    int rc = OTA32_ERR_CORRUPT;
    if (len >= OTA32_PT_OFFSET_DEFAULT + OTA32_PT_BIN_LEN)
        rc = ota32_pt_parse_bin(buf + OTA32_PT_OFFSET_DEFAULT, OTA32_PT_BIN_LEN,
                                ota32_posix_hash(), t, &dg);
    free(t);
    if (rc == OTA32_OK)
        return true;
    const char *hint = util_kind_hint(util_file_kind(buf, len, 0));
    char why[OTA32_DIAG_MSG_MAX + 32];
    if (len < OTA32_PT_OFFSET_DEFAULT + OTA32_PT_BIN_LEN)
        snprintf(why, sizeof why, "%zu bytes end before it", len);
    else
        snprintf(why, sizeof why, "%s", dg.msg[0] ? dg.msg : ota32_strerror(rc));
    util_fail("%s: no valid partition table at 0x%x (%s): not a merged image, and the device "
              "would not boot it%s%s. Make one with `make build-esp32-bin` or `ota32 merge`; "
              "--force writes the bytes anyway",
              path, OTA32_PT_OFFSET_DEFAULT, why, hint ? "; it is " : "", hint ? hint : "");
    return false;
}

static int device_flash(int argc, char **argv)
{
    opt_value v[V_COUNT];
    const char *pos[2];
    unsigned npos;
    int prc = opts_parse(&flash_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *dev = pos[0], *img = pos[1];
    uint64_t flash_size = flash_size_of(&flash_cmd, &v[V_FLASH_SIZE]);
    if (!flash_size)
        return 2;
    bool force = v[V_FORCE].set;
    size_t len = 0;
    uint8_t *buf = util_read_file(img, &len);
    if (!buf)
        return 1;
    if (!force && !merged_image_ok(img, buf, len)) {
        free(buf);
        return 1;
    }
    int status = 1;
    vdev *d = NULL;
    char *tmp = NULL;
    ota32_diag dg;
    ota32_diag_clear(&dg);
    int rc;
    if (access(dev, F_OK) != 0) {
        /* a new device: checked, written, then renamed into place */
        if (len == 0 || len > flash_size) {
            util_fail("%s: %zu bytes do not fit in a 0x%llx-byte flash (--flash-size)", img, len,
                      (unsigned long long)flash_size);
            goto out;
        }
        vdev_opts co = {.flash_size = (uint32_t)flash_size};
        if (!(tmp = temp_device(dev)))
            goto out;
        if ((rc = vdev_create(tmp, &co, true, &dg)) != OTA32_OK) {
            report_dev(rc, &dg);
            goto out;
        }
    }
    rc = vdev_open(&d, tmp ? tmp : dev, NULL, &dg);
    if (rc != OTA32_OK) {
        report_dev(rc, &dg);
        goto out;
    }
    const ota32_flash_ops *f = vdev_flash(d);
    if (len == 0 || len > f->size) {
        util_fail("%s: %zu bytes do not fit in the device's 0x%x-byte flash", img, len,
                  (unsigned)f->size);
        goto out;
    }
    /* esptool erases every sector the data touches, then programs */
    uint32_t erase_len =
        (uint32_t)((len + OTA32_FLASH_SECTOR - 1) & ~(size_t)(OTA32_FLASH_SECTOR - 1));
    if ((rc = ota32_flash_erase_range(f, 0, erase_len)) != OTA32_OK) {
        util_fail("%s: erasing 0x0-0x%x: %s", dev, (unsigned)erase_len, ota32_strerror(rc));
        goto out;
    }
    if (program_at(d, 0, buf, len, dev))
        goto out;
    vdev_stats st;
    vdev_get_stats(d, &st);
    vdev_close(d);
    d = NULL;
    if (tmp) {
        int frc = finish_device(tmp, dev, true);
        tmp = NULL;
        if (frc != 0)
            goto out;
        printf("created %s (blank, %u KB flash)\n", dev, (unsigned)(flash_size / 1024));
    }
    printf("wrote %zu bytes at 0x0 of %s (erased 0x%x bytes: %llu blocks, %llu sectors)\n", len,
           dev, (unsigned)erase_len, (unsigned long long)st.block_erases,
           (unsigned long long)st.sector_erases);
    status = 0;
out:
    vdev_close(d);
    if (tmp)
        finish_device(tmp, dev, false);
    free(buf);
    return status;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(o, k, v);
}

static int device_boot(int argc, char **argv)
{
    opt_value v[V_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&boot_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *dev = pos[0];
    bool json = v[V_JSON].set, rollback = !v[V_NO_ROLLBACK].set;
    vdev *d = NULL;
    ota32_diag dg;
    ota32_diag_clear(&dg);
    int rc = vdev_open(&d, dev, NULL, &dg);
    if (rc != OTA32_OK)
        return report_dev(rc, &dg);
    vdev_boot *b = calloc(1, sizeof *b);
    if (!b) {
        vdev_close(d);
        return util_fail("out of memory");
    }
    rc = vdev_boot_once(d, rollback, b, &dg);
    vdev_close(d);
    if (rc != OTA32_OK) {
        free(b);
        return report(dev, rc, &dg);
    }
    const char *state = ota32_img_state_name(b->ota_state);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "bricked", b->bricked);
        if (!b->bricked) {
            add_str(o, "partition", b->label);
            cJSON_AddNumberToObject(o, "subtype", b->subtype);
            cJSON_AddNumberToObject(o, "slot", b->slot);
            cJSON_AddNumberToObject(o, "offset", b->offset);
            cJSON_AddNumberToObject(o, "size", b->size);
            add_str(o, "state", state ? state : "unknown");
            cJSON_AddItemToObject(o, "app", util_app_desc_json(&b->app));
        }
        add_str(o, "reason", b->reason);
        cJSON_AddBoolToObject(o, "rollback", b->rollback);
        cJSON_AddNumberToObject(o, "otadata_writes", b->otadata_writes);
        if (util_print_json(o) != 0) {
            free(b);
            return 1;
        }
    } else if (b->bricked) {
        printf("BRICKED: %s\n", b->reason);
    } else {
        printf("booted %s at 0x%x (0x%x bytes)\n", b->label, (unsigned)b->offset,
               (unsigned)b->size);
        printf("reason:  %s\n", b->reason);
        printf("state:   %s\n", state ? state : "unknown");
        printf("version: %s\nproject: %s\nidf:     %s\nbuilt:   %s %s\n", b->app.version,
               b->app.project_name, b->app.idf_ver, b->app.date, b->app.time);
    }
    int status = b->bricked ? 1 : 0;
    free(b);
    return status;
}

static const opt_cmd *const device_cmds[] = {&create_cmd, &flash_cmd, &boot_cmd,
                                              &device_efuse_cmd, &device_run_cmd};
static int (*const device_run[])(int, char **) = {device_create, device_flash, device_boot,
                                                  cmd_device_efuse, cmd_device_run};

static int cmd_device(int argc, char **argv)
{
    return opts_dispatch(&device_group, argc, argv, device_run);
}

const opt_group device_group = {
    "device",
    "the virtual ESP32: create, flash, boot, eFuse, run the OTA service",
    device_cmds, 5, cmd_device};
