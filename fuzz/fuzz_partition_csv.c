/* gen_esp32part.py's CSV dialect: any accepted table must serialize, parse
 * back from its binary unchanged, and print as CSV. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota32/partition.h"
#include "partition_csv.h"
#include "posix_hash.h"

static const char *env(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "SIZE") == 0 ? "0x3000" : NULL;
}

static void ignore_warning(void *ctx, int line, const char *msg)
{
    (void)ctx, (void)line, (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ota32_ptable t, back;
    ota32_diag d;
    ota32_pt_csv_opts o = {.getenv = env, .warn = ignore_warning};
    if (size > 0 && data[0] == 'B') { /* let the fuzzer reach the option paths too */
        o.has_primary_bootloader_offset = true;
        o.primary_bootloader_offset = 0x1000;
        o.flash_size = 4u << 20;
    }
    int rc = ota32_pt_parse_csv((const char *)data, size, &o, &t, &d);
    if (rc != 0) {
        if (d.msg[0] == '\0')
            abort(); /* every rejection explains itself */
        return 0;
    }
    if (t.count > OTA32_PT_MAX_ENTRIES)
        abort();
    uint8_t bin[OTA32_PT_BIN_LEN];
    rc = ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d);
    if (rc != 0 && !(rc == OTA32_ERR_TOO_BIG && t.count == OTA32_PT_MAX_ENTRIES))
        abort();
    if (ota32_pt_to_bin(&t, false, NULL, bin, &d) != 0)
        abort();
    if (t.count > 0) {
        if (ota32_pt_parse_bin(bin, sizeof bin, NULL, &back, &d) != 0 || back.count != t.count)
            abort();
        for (unsigned i = 0; i < t.count; i++) {
            const ota32_partition *a = &t.entries[i], *b = &back.entries[i];
            if (a->type != b->type || a->subtype != b->subtype || a->offset != b->offset ||
                a->size != b->size || a->flags != b->flags ||
                strncmp(a->label, b->label, OTA32_PT_LABEL_LEN) != 0)
                abort();
        }
    }
    static char csv[OTA32_PT_MAX_ENTRIES * 96 + 128];
    if (ota32_pt_to_csv(&t, csv, sizeof csv) < 0)
        abort();
    return 0;
}
