/* ota32 otadata show | switch | mark: the boot selection records, read and
 * written exactly as the ESP-IDF bootloader and esp_ota_ops do. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ota32/crc.h"
#include "ota32/otadata.h"
#include "opts.h"
#include "util.h"

enum { D_OFFSET, D_APP_COUNT, D_ROLLBACK, D_JSON, D_COUNT };

#define OTADATA_OPTS                                                                           \
    [D_OFFSET] = {"--offset", OPT_SIZE, "OFF",                                                 \
                  "otadata offset in FILE (default 0 for a 0x2000-byte\n"                       \
                  "file, else 0xF000, as in a whole flash dump)",                               \
                  0, 0xFFFFF000u, NULL, NULL},                                                  \
    [D_APP_COUNT] = {"--app-count", OPT_NUMBER, "N",                                           \
                     "number of ota_N app partitions (default 2)", 1, 16, NULL, NULL}

static const opt_def show_opts[D_COUNT] = {
    OTADATA_OPTS,
    [D_JSON] = {"--json", OPT_FLAG, NULL, "the records as JSON", 0, 0, NULL, NULL},
};
static const opt_def switch_opts[D_COUNT] = {
    OTADATA_OPTS,
    [D_ROLLBACK] = {"--rollback", OPT_FLAG, NULL,
                    "state NEW (the app must confirm itself), as with\n"
                    "CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE; else UNDEFINED",
                    0, 0, NULL, NULL},
};
static const opt_def mark_opts[D_COUNT] = {OTADATA_OPTS};

static const opt_cmd show_cmd = {
    "otadata show", "FILE [options]",
    "Print both otadata records, which one is active and the slot it boots, read\n"
    "as the ESP-IDF bootloader reads them.",
    show_opts, D_COUNT, 1, 1, NULL, false};
static const opt_cmd switch_cmd = {
    "otadata switch", "FILE SLOT [--rollback] [options]",
    "Select ota_SLOT (a number, or ota_N) as esp_ota_set_boot_partition (v5.5.5)\n"
    "does: the next sequence number goes into the other copy. FILE is changed in\n"
    "place, and only when the switch succeeds.",
    switch_opts, D_COUNT, 2, 2, NULL, false};
static const opt_cmd mark_cmd = {
    "otadata mark", "FILE valid|invalid [options]",
    "Set the active record's state to VALID or INVALID, as\n"
    "esp_ota_mark_app_valid_cancel_rollback and ..._invalid_rollback do.",
    mark_opts, D_COUNT, 2, 2, NULL, false};

static bool entry_crc_ok(const ota32_ota_entry *e)
{
    uint8_t seq[4] = {(uint8_t)e->seq, (uint8_t)(e->seq >> 8), (uint8_t)(e->seq >> 16),
                      (uint8_t)(e->seq >> 24)};
    return e->crc == ota32_crc32_esp(seq, sizeof seq);
}

/* The fields flash inspect --json uses for the same records. */
static int show_json(const ota32_ota_entry *e, uint32_t off, unsigned apps)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "offset", off);
    cJSON_AddNumberToObject(o, "app_count", apps);
    cJSON *arr = cJSON_AddArrayToObject(o, "copies");
    for (unsigned c = 0; c < 2; c++) {
        const char *st = ota32_img_state_name(e[c].state);
        char sbuf[16];
        if (!st)
            snprintf(sbuf, sizeof sbuf, "0x%08x", e[c].state), st = sbuf;
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "offset", off + c * OTA32_FLASH_SECTOR);
        cJSON_AddNumberToObject(j, "seq", e[c].seq);
        cJSON_AddStringToObject(j, "state", st);
        cJSON_AddNumberToObject(j, "crc", e[c].crc);
        cJSON_AddBoolToObject(j, "crc_ok", entry_crc_ok(&e[c]));
        cJSON_AddBoolToObject(j, "blank", e[c].seq == 0xFFFFFFFFu && e[c].state == 0xFFFFFFFFu &&
                                              e[c].crc == 0xFFFFFFFFu);
        cJSON_AddBoolToObject(j, "valid", ota32_ota_entry_valid(&e[c]));
        if (ota32_ota_entry_valid(&e[c])) {
            char slot[16];
            snprintf(slot, sizeof slot, "ota_%u", ota32_otadata_slot(&e[c], apps));
            cJSON_AddStringToObject(j, "slot", slot);
        }
        cJSON_AddItemToArray(arr, j);
    }
    int a = ota32_otadata_active(e);
    cJSON_AddNumberToObject(o, "active", a);
    if (a >= 0) {
        char slot[16];
        snprintf(slot, sizeof slot, "ota_%u", ota32_otadata_slot(&e[a], apps));
        cJSON_AddStringToObject(o, "boots", slot);
    } else {
        cJSON_AddNullToObject(o, "boots");
    }
    return util_print_json(o);
}

static void show_entry(const ota32_ota_entry *e, unsigned copy, uint32_t addr, unsigned apps)
{
    printf("copy %u @0x%x: ", copy, addr);
    if (e->seq == OTA32_OTADATA_SEQ_UNSET)
        printf("seq unset");
    else
        printf("seq %u", e->seq);
    const char *st = ota32_img_state_name(e->state);
    if (st)
        printf(", state %s", st);
    else
        printf(", state 0x%08x", e->state);
    printf(", crc 0x%08x", e->crc);
    uint8_t seq[4] = {(uint8_t)e->seq, (uint8_t)(e->seq >> 8), (uint8_t)(e->seq >> 16),
                      (uint8_t)(e->seq >> 24)};
    if (e->seq != OTA32_OTADATA_SEQ_UNSET && e->crc != ota32_crc32_esp(seq, sizeof seq))
        printf(" (bad)");
    if (ota32_ota_entry_valid(e))
        printf(" -> ota_%u\n", ota32_otadata_slot(e, apps));
    else
        printf(" -> not bootable\n");
}

static int run(const opt_cmd *c, int argc, char **argv)
{
    opt_value v[D_COUNT];
    const char *pos[2];
    unsigned npos;
    int prc = opts_parse(c, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *sub = c->name + strlen("otadata ");
    bool rollback = v[D_ROLLBACK].set, have_off = v[D_OFFSET].set;
    uint64_t off = v[D_OFFSET].num, apps = v[D_APP_COUNT].set ? v[D_APP_COUNT].num : 2;
    unsigned slot = 0;
    uint32_t state = OTA32_IMG_VALID;
    if (!strcmp(sub, "switch")) {
        uint64_t n;
        const char *s = !strncmp(pos[1], "ota_", 4) ? pos[1] + 4 : pos[1];
        if (!util_parse_uint(s, 15, &n) || n >= apps) {
            return opts_usage_error(c, "SLOT '%s' is not one of ota_0..ota_%u", pos[1],
                                    (unsigned)apps - 1);
        }
        slot = (unsigned)n;
    } else if (!strcmp(sub, "mark")) {
        if (!strcmp(pos[1], "invalid"))
            state = OTA32_IMG_INVALID;
        else if (strcmp(pos[1], "valid") != 0) {
            return opts_usage_error(c, "expected 'valid' or 'invalid', not '%s'", pos[1]);
        }
    }
    util_mem_flash im;
    im.data = util_read_file(pos[0], &im.len);
    if (!im.data)
        return 1;
    if (!have_off)
        off = im.len == OTA32_OTADATA_SIZE ? 0 : 0xF000;
    int status = 0;
    ota32_flash_ops f = util_mem_flash_ops(&im);
    ota32_ota_entry e[2];
    int rc = off % OTA32_FLASH_SECTOR ? OTA32_ERR_RANGE : ota32_otadata_read(&f, (uint32_t)off, e);
    if (rc != OTA32_OK) {
        status = util_fail("%s: offset 0x%llx: no 0x2000-byte otadata partition there (file is "
                           "%zu bytes)",
                           pos[0], (unsigned long long)off, im.len);
    } else if (!strcmp(sub, "show") && v[D_JSON].set) {
        status = show_json(e, (uint32_t)off, (unsigned)apps);
    } else if (!strcmp(sub, "show")) {
        printf("otadata @0x%llx, %u app slots\n", (unsigned long long)off, (unsigned)apps);
        for (unsigned k = 0; k < 2; k++)
            show_entry(&e[k], k, (uint32_t)off + k * OTA32_FLASH_SECTOR, (unsigned)apps);
        int a = ota32_otadata_active(e);
        if (a < 0)
            printf("active: none (the bootloader boots factory, else ota_0)\n");
        else
            printf("active: copy %d, boots ota_%u\n", a, ota32_otadata_slot(&e[a], (unsigned)apps));
    } else {
        if (!strcmp(sub, "switch"))
            rc = ota32_otadata_set_boot(&f, (uint32_t)off, slot, (unsigned)apps, rollback);
        else
            rc = ota32_otadata_set_state(&f, (uint32_t)off, state);
        if (rc == OTA32_ERR_NOT_FOUND)
            status = util_fail("%s: no valid otadata record to mark", pos[0]);
        else if (rc == OTA32_ERR_RANGE)
            status = util_fail("%s: the next sequence number would be 0xFFFFFFFF", pos[0]);
        else if (rc != OTA32_OK)
            status = util_fail("%s: %s", pos[0], ota32_strerror(rc));
        else if (util_write_file(pos[0], im.data, im.len) != OTA32_OK)
            status = 1;
    }
    free(im.data);
    return status;
}

static int otadata_show(int argc, char **argv)
{
    return run(&show_cmd, argc, argv);
}
static int otadata_switch(int argc, char **argv)
{
    return run(&switch_cmd, argc, argv);
}
static int otadata_mark(int argc, char **argv)
{
    return run(&mark_cmd, argc, argv);
}

static const opt_cmd *const otadata_cmds[] = {&show_cmd, &switch_cmd, &mark_cmd};
static int (*const otadata_run[])(int, char **) = {otadata_show, otadata_switch, otadata_mark};

static int cmd_otadata(int argc, char **argv)
{
    return opts_dispatch(&otadata_group, argc, argv, otadata_run);
}

const opt_group otadata_group = {"otadata",
                                 "otadata: show, switch the boot slot, mark valid/invalid",
                                 otadata_cmds, 3, cmd_otadata};
