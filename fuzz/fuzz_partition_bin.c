/* The binary partition table as read from flash: anything accepted must
 * serialize back to the same entries and pass through the CSV writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota32/partition.h"
#include "partition_csv.h"
#include "posix_hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ota32_ptable t, back;
    ota32_diag d;
    int rc = ota32_pt_parse_bin(data, size, ota32_posix_hash(), &t, &d);
    if (rc != 0) {
        if (d.msg[0] == '\0')
            abort();
        return 0;
    }
    if (t.count == 0 || t.count > OTA32_PT_MAX_ENTRIES)
        abort();
    (void)ota32_pt_verify(&t, NULL, &d);
    static char csv[OTA32_PT_MAX_ENTRIES * 96 + 128];
    if (ota32_pt_to_csv(&t, csv, sizeof csv) < 0)
        abort();
    uint8_t bin[OTA32_PT_BIN_LEN];
    if (ota32_pt_to_bin(&t, false, NULL, bin, &d) != 0)
        abort();
    if (ota32_pt_parse_bin(bin, sizeof bin, NULL, &back, &d) != 0 || back.count != t.count)
        abort();
    for (unsigned i = 0; i < t.count; i++)
        if (memcmp(&t.entries[i], &back.entries[i], sizeof t.entries[i]) != 0)
            abort();
    return 0;
}
