/* ota32 otadata show | switch | mark: the boot selection records, read and
 * written exactly as the ESP-IDF bootloader and esp_ota_ops do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ota32/crc.h"
#include "ota32/otadata.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ota32 otadata show FILE [options]\n"
               "       ota32 otadata switch FILE SLOT [--rollback] [options]\n"
               "       ota32 otadata mark FILE valid|invalid [options]\n\n"
               "show    both records, which one is active and the slot it boots\n"
               "switch  select ota_SLOT as esp_ota_set_boot_partition (v5.5.5) does: the\n"
               "        next seq goes into the other copy; state NEW with --rollback,\n"
               "        else UNDEFINED (what otatool writes)\n"
               "mark    set the active record's state to VALID or INVALID\n\n"
               "options:\n"
               "  --offset OFF     otadata offset in FILE (default 0 for a 0x2000-byte\n"
               "                   file, else 0xF000, as in a whole flash dump)\n"
               "  --app-count N    number of ota_N app partitions (default 2)\n");
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

int cmd_otadata(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (util_wants_help(argc - 1, argv + 1)) {
        usage(stdout);
        return 0;
    }
    const char *sub = argv[1], *pos[2] = {NULL, NULL};
    int npos = 0;
    bool rollback = false, have_off = false;
    uint64_t off = 0, apps = 2;
    int want = !strcmp(sub, "show") ? 1 : (!strcmp(sub, "switch") || !strcmp(sub, "mark")) ? 2 : 0;
    if (!want) {
        fprintf(stderr, "ota32: otadata: unknown subcommand '%s'\n", sub);
        usage(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--rollback") && !strcmp(sub, "switch")) {
            rollback = true;
        } else if (!strcmp(argv[i], "--offset") && i + 1 < argc) {
            if (!util_parse_size(argv[++i], &off) || off > 0xFFFFFFFFu) {
                fprintf(stderr, "ota32: otadata: bad --offset '%s'\n", argv[i]);
                return 2;
            }
            have_off = true;
        } else if (!strcmp(argv[i], "--app-count") && i + 1 < argc) {
            if (!util_parse_uint(argv[++i], 16, &apps) || apps == 0) {
                fprintf(stderr, "ota32: otadata: --app-count must be 1..16\n");
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ota32: otadata %s: unknown option '%s'\n", sub, argv[i]);
            return 2;
        } else if (npos < want) {
            pos[npos++] = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (npos != want) {
        usage(stderr);
        return 2;
    }
    unsigned slot = 0;
    uint32_t state = OTA32_IMG_VALID;
    if (!strcmp(sub, "switch")) {
        uint64_t v;
        const char *s = !strncmp(pos[1], "ota_", 4) ? pos[1] + 4 : pos[1];
        if (!util_parse_uint(s, 15, &v) || v >= apps) {
            fprintf(stderr, "ota32: otadata switch: SLOT '%s' is not one of ota_0..ota_%u\n",
                    pos[1], (unsigned)apps - 1);
            return 2;
        }
        slot = (unsigned)v;
    } else if (!strcmp(sub, "mark")) {
        if (!strcmp(pos[1], "invalid"))
            state = OTA32_IMG_INVALID;
        else if (strcmp(pos[1], "valid") != 0) {
            fprintf(stderr, "ota32: otadata mark: expected 'valid' or 'invalid', not '%s'\n",
                    pos[1]);
            return 2;
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
    } else if (!strcmp(sub, "show")) {
        printf("otadata @0x%llx, %u app slots\n", (unsigned long long)off, (unsigned)apps);
        for (unsigned c = 0; c < 2; c++)
            show_entry(&e[c], c, (uint32_t)off + c * OTA32_FLASH_SECTOR, (unsigned)apps);
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
