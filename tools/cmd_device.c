/* `ota32 device`: the virtual ESP32 (create, flash, boot; run is the OTA
 * service on top of it, in cmd_device_run.c). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "efuse_util.h"
#include "ota32/partition.h"
#include "partition_csv.h"
#include "posix_hash.h"
#include "util.h"
#include "vdev.h"

#define BOOTLOADER_OFFSET 0x1000u /* ESP32 */

static void usage(FILE *f)
{
    fprintf(f, "usage: ota32 device <command> ...\n\n"
               "A virtual ESP32: a flash file with NOR semantics and the ESP-IDF bootloader's\n"
               "boot selection.\n\n"
               "  create DEV.flash --partitions CSV --app APP.bin [--bootloader BL.bin]\n"
               "         [--flash-size 8MB] [--force] [--trust-key KEY.pem]...\n"
               "      a fresh device: bootloader at 0x1000, partition table at 0x8000, the app\n"
               "      in ota_0 (or factory), otadata and NVS blank (0xFF); --trust-key burns\n"
               "      a Secure Boot v2 key digest into its eFuse (up to 3): it then installs\n"
               "      only images signed by one of them\n"
               "  efuse DEV.flash [--trust-key K] [--revoke-key N|K] [--secure-version N]\n"
               "      show or burn the emulated eFuse (`device efuse --help`)\n"
               "  flash DEV.flash MERGED.bin [--flash-size 8MB]\n"
               "      write a merged image at 0x0, as `esptool write-flash 0x0` does\n"
               "  boot DEV.flash [--json] [--no-rollback]\n"
               "      run the bootloader once; print what booted and why (exit 1: bricked)\n"
               "  run ...\n"
               "      the device-side OTA service on a virtual device (`device run --help`)\n");
}

/* "ota32: FILE: line N: msg" / "ota32: FILE: offset 0xN: msg", unless the
 * message already says where. */
static int report(const char *what, int rc, const ota32_diag *dg)
{
    if (dg && dg->msg[0] && dg->line > 0 && strncmp(dg->msg, "line ", 5) != 0)
        return util_fail("%s: line %d: %s", what, dg->line, dg->msg);
    if (dg && dg->msg[0] && dg->offset >= 0 && strncmp(dg->msg, "offset ", 7) != 0)
        return util_fail("%s: offset 0x%lx: %s", what, dg->offset, dg->msg);
    util_report(what, rc, dg);
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

static int device_create(int argc, char **argv)
{
    const char *dev = NULL, *csv = NULL, *app = NULL, *bl = NULL;
    const char *trust[OTA32_TRUSTED_KEYS_MAX];
    unsigned ntrust = 0;
    uint64_t flash_size = 8u * 1024 * 1024;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--trust-key") && has_val && ntrust < OTA32_TRUSTED_KEYS_MAX)
            trust[ntrust++] = argv[++i];
        else if (!strcmp(a, "--partitions") && has_val)
            csv = argv[++i];
        else if (!strcmp(a, "--app") && has_val)
            app = argv[++i];
        else if (!strcmp(a, "--bootloader") && has_val)
            bl = argv[++i];
        else if (!strcmp(a, "--flash-size") && has_val) {
            const char *v = argv[++i];
            if (!util_parse_size(v, &flash_size) ||
                (flash_size != 1u << 20 && flash_size != 2u << 20 && flash_size != 4u << 20 &&
                 flash_size != 8u << 20 && flash_size != 16u << 20)) {
                fprintf(stderr, "ota32: --flash-size %s: use 1MB, 2MB, 4MB, 8MB or 16MB\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--force"))
            force = true;
        else if (a[0] == '-' || dev) {
            fprintf(stderr, "ota32: device create: unexpected argument '%s'\n", a);
            return 2;
        } else
            dev = a;
    }
    if (!dev || !csv || !app) {
        fprintf(stderr, "usage: ota32 device create DEV.flash --partitions CSV --app APP.bin "
                        "[--bootloader BL.bin] [--flash-size 8MB] [--force]\n");
        return 2;
    }

    int status = 1;
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
    if ((rc = vdev_create(dev, &vo, force, &dg)) != OTA32_OK ||
        (rc = vdev_open(&d, dev, &vo, &dg)) != OTA32_OK) {
        report_dev(rc, &dg);
        goto out;
    }
    if (bl_img && program_at(d, BOOTLOADER_OFFSET, bl_img, bl_len, dev))
        goto out;
    if (program_at(d, OTA32_PT_OFFSET_DEFAULT, table, sizeof table, dev) ||
        program_at(d, slot->offset, app_img, app_len, dev))
        goto out;
    if (ntrust && efuse_trust_keys(dev, trust, ntrust) != 0)
        goto out;

    printf("created %s: %u MB flash\n", dev, (unsigned)(flash_size >> 20));
    if (bl_img)
        printf("  0x%06x bootloader       %zu bytes\n", BOOTLOADER_OFFSET, bl_len);
    printf("  0x%06x partition table  %u entries\n", OTA32_PT_OFFSET_DEFAULT, t->count);
    printf("  0x%06x %-16s %s %s (%zu bytes)\n", (unsigned)slot->offset, slot->label,
           desc.project_name, desc.version, app_len);
    printf("  otadata and nvs blank\n");
    if (ntrust)
        efuse_print(dev);
    status = 0;
out:
    vdev_close(d);
    free(t);
    free(csv_text);
    free(app_img);
    free(bl_img);
    return status;
}

static int device_flash(int argc, char **argv)
{
    const char *dev = NULL, *img = NULL;
    uint64_t flash_size = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--flash-size") && i + 1 < argc) {
            if (!util_parse_size(argv[++i], &flash_size) || flash_size > UINT32_MAX) {
                fprintf(stderr, "ota32: device flash: --flash-size: bad size '%s'\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-' || (dev && img)) {
            dev = img = NULL;
            break;
        } else if (!dev) {
            dev = argv[i];
        } else {
            img = argv[i];
        }
    }
    if (!dev || !img) {
        fprintf(stderr, "usage: ota32 device flash DEV.flash MERGED.bin [--flash-size 8MB]\n"
                        "  (a missing DEV.flash is created, blank, with --flash-size)\n");
        return 2;
    }
    if (access(dev, F_OK) != 0) {
        vdev_opts co = {.flash_size = (uint32_t)flash_size};
        ota32_diag cd;
        ota32_diag_clear(&cd);
        int crc = vdev_create(dev, &co, false, &cd);
        if (crc != OTA32_OK) {
            report_dev(crc, &cd);
            return 1;
        }
        printf("created %s (blank, %u KB flash)\n", dev,
               (unsigned)((flash_size ? flash_size : 8u * 1024 * 1024) / 1024));
    }
    size_t len = 0;
    uint8_t *buf = util_read_file(img, &len);
    if (!buf)
        return 1;
    int status = 1;
    vdev *d = NULL;
    ota32_diag dg;
    int rc = vdev_open(&d, dev, NULL, &dg);
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
    printf("wrote %zu bytes at 0x0 of %s (erased 0x%x bytes: %llu blocks, %llu sectors)\n", len,
           dev, (unsigned)erase_len, (unsigned long long)st.block_erases,
           (unsigned long long)st.sector_erases);
    status = 0;
out:
    vdev_close(d);
    free(buf);
    return status;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(o, k, v);
}

static int device_boot(int argc, char **argv)
{
    const char *dev = NULL;
    bool json = false, rollback = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--no-rollback"))
            rollback = false;
        else if (argv[i][0] == '-' || dev) {
            fprintf(stderr, "ota32: device boot: unexpected argument '%s'\n", argv[i]);
            return 2;
        } else
            dev = argv[i];
    }
    if (!dev) {
        fprintf(stderr, "usage: ota32 device boot DEV.flash [--json] [--no-rollback]\n");
        return 2;
    }
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
        char *s = cJSON_Print(o);
        if (s)
            puts(s);
        free(s);
        cJSON_Delete(o);
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

int cmd_device(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        usage(stdout);
        return 0;
    }
    /* `device run` belongs to the OTA service; it gets argv from "run" on */
    if (!strcmp(sub, "run"))
        return cmd_device_run(argc - 1, argv + 1);
    if (!strcmp(sub, "efuse"))
        return cmd_device_efuse(argc - 1, argv + 1);
    if (strcmp(sub, "create") && strcmp(sub, "flash") && strcmp(sub, "boot")) {
        fprintf(stderr, "ota32: device: unknown command '%s'\n\n", sub);
        usage(stderr);
        return 2;
    }
    if (util_wants_help(argc - 1, argv + 1)) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(sub, "create"))
        return device_create(argc - 1, argv + 1);
    if (!strcmp(sub, "flash"))
        return device_flash(argc - 1, argv + 1);
    return device_boot(argc - 1, argv + 1);
}
