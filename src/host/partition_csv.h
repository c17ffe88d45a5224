/*
 * The partition table's CSV side, gen_esp32part.py's dialect: reading it
 * (with offset assignment and validation) and printing a table as CSV.
 * Host-only: the device reads the binary table (ota32/partition.h).
 */
#ifndef OTA32_PARTITION_CSV_H
#define OTA32_PARTITION_CSV_H

#include "ota32/partition.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ota32_pt_secure {
    OTA32_PT_SECURE_NONE = 0,
    OTA32_PT_SECURE_V1,
    OTA32_PT_SECURE_V2,
} ota32_pt_secure;

/* Options of ota32_pt_parse_csv(); zero-initialise for the defaults. They
 * mirror gen_esp32part.py's command-line options. */
typedef struct ota32_pt_csv_opts {
    uint32_t table_offset; /* default OTA32_PT_OFFSET_DEFAULT when 0 */
    uint32_t flash_size;   /* 0 = do not check */
    /* Only used to report the binary length when there are too many
     * entries, as gen_esp32part.py --disable-md5sum does. */
    bool no_md5;
    /* Where bootloader-type entries live (--primary-bootloader-offset,
     * --recovery-bootloader-offset); without them such entries are errors. */
    bool has_primary_bootloader_offset;
    uint32_t primary_bootloader_offset;
    bool has_recovery_bootloader_offset;
    uint32_t recovery_bootloader_offset;
    /* --secure: secure boot v1 needs app partition sizes in 64 KB units
     * (its signature block ends a 64 KB block); v2 and none need 4 KB. */
    ota32_pt_secure secure;
    /* Looks up $NAME / ${NAME} (os.path.expandvars); returns NULL when
     * unset. A NULL callback means no variable is set. */
    const char *(*getenv)(void *ctx, const char *name);
    /* Receives gen_esp32part.py's warnings (a name that is a type or subtype
     * keyword of another kind); may be NULL. */
    void (*warn)(void *ctx, int line, const char *msg);
    void *ctx;
} ota32_pt_csv_opts;

/* Parse gen_esp32part.py's CSV dialect, assigning offsets as it does, and run
 * its validation. Messages name the CSV line and partition; their text is
 * gen_esp32part.py's. `opts` may be NULL. Host-side: uses about 14 KB of
 * stack to hold up to 96 entries while validating.
 * Returns 0, OTA32_ERR_CORRUPT (rejected), OTA32_ERR_TOO_BIG (more entries
 * than a binary table holds), OTA32_ERR_UNSUPPORTED (UTF-16/32 text) or
 * OTA32_ERR_INVALID_ARG. UTF-16/32 text is for the caller to convert to
 * UTF-8 (gen_esp32part.py reads it by its BOM; `ota32 part` converts it). */
int ota32_pt_parse_csv(const char *text, size_t len, const ota32_pt_csv_opts *opts,
                       ota32_ptable *out, ota32_diag *diag);

/* gen_esp32part.py's verify() and --flash-size check (`opts` may be NULL)
 * on a table, e.g. one parsed from a binary, as it runs them before turning
 * a binary into CSV. ota32_pt_parse_csv() already runs them. */
int ota32_pt_verify(const ota32_ptable *t, const ota32_pt_csv_opts *opts, ota32_diag *diag);

/* Write the CSV gen_esp32part.py prints for a binary. Returns bytes written
 * (excluding NUL) or a negative error when `cap` is too small. */
int ota32_pt_to_csv(const ota32_ptable *t, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
