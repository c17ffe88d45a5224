/*
 * ota32 image info | verify | make | elf2image
 *
 * `info` prints what `esptool image-info FILE` (v5.3.1) prints, line for line,
 * except its first line: esptool prints "esptool v5.3.1", ota32 prints
 * "ota32 <version>". Everything it shows comes from the streaming parser in
 * src/core/image; only the descriptor strings are read from the file bytes
 * directly, because esptool's rule for them (drop every NUL byte of the
 * field, not just the tail) differs from the C-string view of the parser.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "bytes.h"
#include "ota32/image.h"
#include "ota32/partition.h"
#include "image_build.h"
#include "image_memmap.h"
#include "partition_csv.h"
#include "posix_hash.h"
#include "opts.h"
#include "sig_util.h"
#include "util.h"

#define MAX_TYPES 8

/* ---- shared ------------------------------------------------------------- */

enum {
    I_JSON,
    I_CHIP,
    I_CHIP_REV,
    I_MAX_SIZE,
    I_PARTITIONS,
    I_FLASH_SIZE,
    I_APP,
    I_BOOTLOADER,
    I_OUTPUT,
    I_VERSION,
    I_PROJECT,
    I_SIZE,
    I_IDF_VERSION,
    I_SEED,
    I_SECURE_VERSION,
    I_KEY,
    I_COUNT
};

static const opt_def info_opts[I_COUNT] = {
    [I_JSON] = {"--json", OPT_FLAG, NULL,
                "the same facts as JSON, plus whether a secure boot v2\n"
                "signature sector follows the image",
                0, 0, NULL, NULL},
};

static const opt_cmd info_cmd = {
    "image info", "FILE [--json]",
    "Print what `esptool image-info FILE` prints (esptool v5.3.1): header,\n"
    "extended header, segments with their memory types, checksum and SHA-256\n"
    "(valid or invalid), and the app or bootloader descriptor. The first line\n"
    "names ota32 instead of esptool.",
    info_opts, I_COUNT, 1, 1,
    "Exits 1 if the file is not a complete image (with the offset and field).", false};

static const opt_def verify_opts[I_COUNT] = {
    [I_CHIP] = {"--chip", OPT_STRING, "CHIP",
                "expected chip (esp32, esp32s2, ...); default: any, esp32\n"
                "with --partitions",
                0, 0, NULL, NULL},
    [I_CHIP_REV] = {"--chip-rev", OPT_STRING, "X.Y",
                    "running chip revision, checked against the image's\n"
                    "min/max revision",
                    0, 0, NULL, NULL},
    [I_MAX_SIZE] = {"--max-size", OPT_SIZE, "N", "slot size (e.g. 0x370000, 1MB)", 1, UINT32_MAX,
                    NULL, NULL},
    [I_PARTITIONS] = {"--partitions", OPT_STRING, "CSV",
                      "the partition table in use: the image must fit its\n"
                      "smallest ota_N partition (as make build-esp32-ota)",
                      0, 0, NULL, "file"},
    [I_FLASH_SIZE] = {"--flash-size", OPT_SIZE, "SIZE",
                      "flash size for --partitions (default: not checked)", 1, UINT32_MAX, NULL,
                      NULL},
    [I_APP] = {"--app", OPT_FLAG, NULL,
               "the image is an app; default: an app when its first\n"
               "segment is flash-mapped (apps start with the DROM segment)",
               0, 0, NULL, NULL},
    [I_BOOTLOADER] = {"--bootloader", OPT_FLAG, NULL, "the image is a bootloader", 0, 0, NULL,
                      NULL},
    [I_JSON] = {"--json", OPT_FLAG, NULL, "the verdict as JSON (on failure {\"ok\": false}; the\nreason is on stderr)",
                0, 0, NULL, NULL},
    [I_KEY] = {"--key", OPT_STRING, "PUB.pem",
               "check the Secure Boot v2 signature with this public (or\n"
               "private) key; repeatable: the image passes when a block\n"
               "verifies with one of them, as on a device that trusts\n"
               "those keys. Says which block matched which key.",
               0, 0, NULL, "file"},
};

static const opt_cmd verify_cmd = {
    "image verify",
    "FILE [--chip CHIP] [--chip-rev X.Y] [--max-size N] [--partitions CSV] [--json]",
    "Check an image as the ESP-IDF bootloader and esp_ota_end() do: magic, chip\n"
    "id, chip revision range, segment count, segment lengths, the 64 KB MMU rule\n"
    "for flash-mapped segments, the app descriptor, checksum and SHA-256, and\n"
    "the total length. Bytes after the image must be a well-formed secure boot v2\n"
    "signature sector (its signatures checked with --key).",
    verify_opts, I_COUNT, 1, 1,
    "Prints one OK line and exits 0, or prints the reason (offset and field)\n"
    "and exits 1.",
    false};

static const opt_def make_opts[I_COUNT] = {
    [I_OUTPUT] = {"-o --output", OPT_STRING, "OUT", "the image file (required)", 0, 0, NULL,
                  "file"},
    [I_VERSION] = {"--version", OPT_STRING, "V", "descriptor version (required)", 0, 0, NULL,
                   NULL},
    [I_PROJECT] = {"--project", OPT_STRING, "P", "descriptor project name (required)", 0, 0, NULL,
                   NULL},
    [I_SIZE] = {"--size", OPT_SIZE, "N", "the image's size in bytes (required)", 0, UINT32_MAX,
                NULL, NULL},
    [I_CHIP] = {"--chip", OPT_STRING, "CHIP", "only esp32", 0, 0, "esp32", NULL},
    [I_FLASH_SIZE] = {"--flash-size", OPT_SIZE, "SIZE", "header flash size, 1MB..128MB (default 4MB)",
                      0, UINT32_MAX, NULL, NULL},
    [I_IDF_VERSION] = {"--idf-version", OPT_STRING, "S", "descriptor idf_ver (default v5.5.5)", 0,
                       0, NULL, NULL},
    [I_SECURE_VERSION] = {"--secure-version", OPT_NUMBER, "N",
                          "anti-rollback secure_version (default 0)", 0, UINT32_MAX, NULL, NULL},
    [I_SEED] = {"--seed", OPT_STRING, "S", "the payload's seed (default: P and V)", 0, 0, NULL,
                NULL},
};

static const opt_cmd make_cmd = {
    "image make", "--version V --project P --size N -o OUT [options]",
    "Write a valid ESP32 app image of exactly N bytes: a DROM segment at\n"
    "0x3F400020 starting with a real app descriptor (version V, project P),\n"
    "DRAM and IRAM segments, an IROM segment placed by the 64 KB MMU rule,\n"
    "checksum and SHA-256; header DIO, 40m, chip revision v0.0 to v3.99.\n"
    "N must be a multiple of 16, at least 0x10400 bytes; V, P and S\n"
    "at most 31 characters (IDF's char[32] fields). The payload is pseudo-random\n"
    "from --seed: the same arguments always give the same bytes.",
    make_opts, I_COUNT, 0, 0, NULL, false};

/* Parse the whole buffer with the streaming parser. On failure prints
 * "ota32: PATH: offset ...: ..." and returns non-zero. */
/* parse_buffer, saying which slot an image too big for opts->max_len would
 * not fit (`limit`: "ota_0, the smallest ota partition of partitions.csv";
 * NULL: none). */
static int parse_buffer_for(const char *path, const uint8_t *data, size_t len,
                            const ota32_image_opts *opts, const char *limit,
                            ota32_image_parser *p, size_t *consumed)
{
    ota32_diag diag;
    ota32_diag_clear(&diag);
    ota32_image_parser_init(p, opts);
    int rc = ota32_image_parser_feed(p, data, len, consumed, &diag);
    if (rc == OTA32_OK)
        rc = ota32_image_parser_finish(p, &diag);
    else
        ota32_image_parser_abort(p);
    if (rc == OTA32_ERR_TOO_BIG && limit && diag.msg[0])
        util_fail("%s: %s (%s)", path, diag.msg, limit);
    else if (rc != OTA32_OK) {
        util_report(path, rc, &diag);
    }
    return rc;
}

/* An ELF, a partition table or a whole-flash image where an image belongs:
 * says which command takes it. */
static bool wrong_kind(const char *path, const uint8_t *data, size_t len)
{
    util_kind k = util_file_kind(data, len, OTA32_PT_OFFSET_DEFAULT);
    if (k == UTIL_KIND_IMAGE || !util_kind_hint(k))
        return false;
    util_fail("%s: %s", path, util_kind_hint(k));
    return true;
}

static int parse_buffer(const char *path, const uint8_t *data, size_t len,
                        const ota32_image_opts *opts, ota32_image_parser *p, size_t *consumed)
{
    ota32_diag diag;
    ota32_diag_clear(&diag);
    ota32_image_parser_init(p, opts);
    int rc = ota32_image_parser_feed(p, data, len, consumed, &diag);
    if (rc == OTA32_OK)
        rc = ota32_image_parser_finish(p, &diag);
    else
        ota32_image_parser_abort(p);
    if (rc != OTA32_OK)
        util_report(path, rc, &diag);
    return rc;
}

/* esptool's sanitize_string: the field with every NUL byte removed. */
static void esptool_str(const uint8_t *raw, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (raw[i])
            out[k++] = (char)raw[i];
    out[k] = '\0';
}

/* Python's "{:#8x}": "0x..." right-aligned in 8 columns. */
static void print_entry(uint32_t entry)
{
    char hex[16];
    snprintf(hex, sizeof hex, "0x%x", (unsigned)entry);
    printf("Entry point: %8s\n", hex);
}

/* 2**log2 // 1024 as a decimal string (mmu_page_size is a u8, so up to 2**255). */
static void pow2_kib(unsigned log2, char *out, size_t cap)
{
    if (log2 < 10) {
        snprintf(out, cap, "0");
        return;
    }
    unsigned char dig[80] = {1}; /* little-endian decimal digits */
    size_t nd = 1;
    for (unsigned i = 0; i < log2 - 10; i++) {
        unsigned carry = 0;
        for (size_t d = 0; d < nd; d++) {
            unsigned v = dig[d] * 2u + carry;
            dig[d] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        if (carry && nd < sizeof dig)
            dig[nd++] = (unsigned char)carry;
    }
    size_t k = 0;
    while (nd > 0 && k + 1 < cap)
        out[k++] = (char)('0' + dig[--nd]);
    out[k] = '\0';
}

static const char *flash_size_name(unsigned code)
{
    static const char *const names[] = {"1MB",  "2MB",  "4MB",  "8MB",
                                        "16MB", "32MB", "64MB", "128MB"};
    return code < 8 ? names[code] : NULL;
}

static const char *flash_freq_name(unsigned code)
{
    switch (code) {
    case 0xF:
        return "80m";
    case 0x0:
        return "40m";
    case 0x1:
        return "26m";
    case 0x2:
        return "20m";
    default:
        return NULL;
    }
}

static const char *flash_mode_name(unsigned mode)
{
    static const char *const names[] = {"QIO", "QOUT", "DIO", "DOUT"};
    return mode < 4 ? names[mode] : NULL;
}

static void print_title(const char *title)
{
    size_t n = strlen(title);
    printf("%s\n", title);
    for (size_t i = 0; i < n; i++)
        putchar('=');
    putchar('\n');
}

static bool has_type(const char **types, int n, const char *name)
{
    for (int i = 0; i < n && i < MAX_TYPES; i++)
        if (!strcmp(types[i], name))
            return true;
    return false;
}

/* The descriptors esptool looks for: the first DROM segment holds the app
 * descriptor; otherwise the last DRAM segment of 80+ bytes may hold the
 * bootloader descriptor. -1 when absent. */
static void find_desc_segments(const ota32_image_info *in, uint16_t chip, int *app_seg,
                               int *boot_seg)
{
    *app_seg = *boot_seg = -1;
    for (unsigned i = 0; i < in->segment_count; i++) {
        const char *types[MAX_TYPES];
        int n = ota32_image_memory_types(chip, in->segments[i].load_addr, types, MAX_TYPES);
        if (has_type(types, n, "DROM") && *app_seg < 0)
            *app_seg = (int)i;
        else if (has_type(types, n, "DRAM") && in->segments[i].data_len >= 80)
            *boot_seg = (int)i;
    }
}

/* ---- info --------------------------------------------------------------- */

static void print_app_desc(const uint8_t *raw)
{
    char s[80], hex[65];
    ota32_app_desc d;
    if (ota32_app_desc_decode(raw, &d, NULL) != OTA32_OK)
        return;
    printf("\n");
    print_title("Application Information");
    esptool_str(raw + 48, 32, s);
    printf("Project name: %s\n", s);
    esptool_str(raw + 16, 32, s);
    printf("App version: %s\n", s);
    char date[20], time[20];
    esptool_str(raw + 96, 16, date);
    esptool_str(raw + 80, 16, time);
    printf("Compile time: %s %s\n", date, time);
    util_hex(d.app_elf_sha256, 32, hex);
    printf("ELF file SHA256: %s\n", hex);
    esptool_str(raw + 112, 32, s);
    printf("ESP-IDF: %s\n", s);
    printf("Minimal eFuse block revision: %u.%u\n", d.min_efuse_blk_rev_full / 100,
           d.min_efuse_blk_rev_full % 100);
    printf("Maximal eFuse block revision: %u.%u\n", d.max_efuse_blk_rev_full / 100,
           d.max_efuse_blk_rev_full % 100);
    if (d.mmu_page_size) {
        pow2_kib(d.mmu_page_size, s, sizeof s);
        printf("MMU page size: %s KB\n", s);
    }
    printf("Secure version: %u\n", (unsigned)d.secure_version);
}

static void print_bootloader_desc(const uint8_t *raw)
{
    char s[40];
    ota32_bootloader_desc d;
    if (ota32_bootloader_desc_decode(raw, &d, NULL) != OTA32_OK)
        return;
    printf("\n");
    print_title("Bootloader Information");
    printf("Bootloader version: %u\n", (unsigned)d.version);
    esptool_str(raw + 8, 32, s);
    printf("ESP-IDF: %s\n", s);
    esptool_str(raw + 40, 24, s);
    printf("Compile time: %s\n", s);
}

static void print_info_text(const char *path, const uint8_t *data, size_t len, const ota32_image_info *in,
                            uint16_t chip)
{
    const char *chip_name = ota32_chip_name(chip);
    char title[64], hex[65];
    printf("ota32 %s\n", OTA32_VERSION_STRING);
    printf("Image size: %zu bytes\n", len);
    printf("Detected image type: %s\n\n", chip_name);

    snprintf(title, sizeof title, "%s Image Header", chip_name);
    print_title(title);
    printf("Image version: 1\n");
    if (in->entry_addr)
        print_entry(in->entry_addr);
    else
        printf("Entry point not set\n");
    printf("Segments: %u\n", in->segment_count);
    const char *fs = flash_size_name(in->spi_size);
    if (fs)
        printf("Flash size: %s\n", fs);
    else
        printf("Warning: Invalid flash size (0x%x)\n", in->spi_size << 4);
    const char *ff = flash_freq_name(in->spi_speed);
    if (ff)
        printf("Flash freq: %s\n", ff);
    else
        printf("Warning: Invalid flash frequency (0x%x)\n", in->spi_speed);
    const char *fm = flash_mode_name(in->spi_mode);
    if (fm)
        printf("Flash mode: %s\n", fm);
    else
        printf("Warning: Invalid flash mode (%u)\n", in->spi_mode);

    printf("\n");
    snprintf(title, sizeof title, "%s Extended Image Header", chip_name);
    print_title(title);
    printf("WP pin: 0x%x%s\n", in->wp_pin, in->wp_pin == 0xEE ? " (disabled)" : "");
    const uint8_t *drv = in->spi_pin_drv;
    printf("Flash pins drive settings: clk_drv: 0x%x, q_drv: 0x%x, d_drv: 0x%x, cs0_drv: 0x%x, "
           "hd_drv: 0x%x, wp_drv: 0x%x\n",
           drv[0] & 15, drv[0] >> 4, drv[1] & 15, drv[1] >> 4, drv[2] & 15, drv[2] >> 4);
    const char *id_name = ota32_chip_name(in->chip_id);
    printf("Chip ID: %u (%s)\n", in->chip_id, id_name ? id_name : "Unknown ID");
    printf("Minimal chip revision: v%u.%u, (legacy min_rev = %u)\n", in->min_chip_rev_full / 100,
           in->min_chip_rev_full % 100, in->min_chip_rev);
    printf("Maximal chip revision: v%u.%u\n", in->max_chip_rev_full / 100,
           in->max_chip_rev_full % 100);
    printf("\n");

    print_title("Segments Information");
    printf("Segment   Length   Load addr   File offs  Memory types\n");
    printf("-------  -------  ----------  ----------  ------------\n");
    for (unsigned i = 0; i < in->segment_count; i++) {
        const ota32_image_segment *s = &in->segments[i];
        const char *types[MAX_TYPES];
        int n = ota32_image_memory_types(chip, s->load_addr, types, MAX_TYPES);
        /* Python "{:#07x}": unlike C's "%#x", keeps "0x" for zero */
        printf("%7u  0x%05x  0x%08x  0x%08x  ", i, (unsigned)s->data_len, (unsigned)s->load_addr,
               (unsigned)s->file_offset);
        for (int k = 0; k < n && k < MAX_TYPES; k++)
            printf("%s%s", k ? ", " : "", types[k]);
        printf("\n");
    }
    printf("\n");

    snprintf(title, sizeof title, "%s Image Footer", chip_name);
    print_title(title);
    if (in->checksum_ok)
        printf("Checksum: 0x%02x (valid)\n", in->checksum_stored);
    else
        printf("Checksum: 0x%02x (invalid - calculated 0x%02x)\n", in->checksum_stored,
               in->checksum_calc);
    if (in->hash_appended) {
        util_hex(in->sha256_calc, 32, hex);
        printf("Validation hash: %s (%s)\n", hex, in->sha256_ok ? "valid" : "invalid");
    }

    int app_seg, boot_seg;
    find_desc_segments(in, chip, &app_seg, &boot_seg);
    if (app_seg >= 0 && in->segments[app_seg].data_len > 0) {
        const ota32_image_segment *s = &in->segments[app_seg];
        if (s->data_len >= OTA32_APP_DESC_LEN)
            print_app_desc(data + s->file_offset + OTA32_IMAGE_SEG_HEADER_LEN);
    } else if (boot_seg >= 0) {
        const ota32_image_segment *s = &in->segments[boot_seg];
        print_bootloader_desc(data + s->file_offset + OTA32_IMAGE_SEG_HEADER_LEN);
    }
    sig_print_blocks(path, data, len, in);
}

static char *hex_dup(const uint8_t *d, size_t n, char *buf)
{
    util_hex(d, n, buf);
    return buf;
}

static void print_info_json(const uint8_t *data, size_t len, const ota32_image_info *in,
                            uint16_t chip)
{
    char hex[65];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "file_size", (double)len);
    cJSON_AddNumberToObject(o, "image_len", in->image_len);
    cJSON_AddStringToObject(o, "chip", ota32_chip_name(chip));
    cJSON_AddNumberToObject(o, "chip_id", in->chip_id);
    cJSON_AddNumberToObject(o, "entry_addr", in->entry_addr);
    cJSON_AddNumberToObject(o, "segment_count", in->segment_count);
    const char *fs = flash_size_name(in->spi_size), *ff = flash_freq_name(in->spi_speed),
               *fm = flash_mode_name(in->spi_mode);
    if (fs)
        cJSON_AddStringToObject(o, "flash_size", fs);
    else
        cJSON_AddNullToObject(o, "flash_size");
    if (ff)
        cJSON_AddStringToObject(o, "flash_freq", ff);
    else
        cJSON_AddNullToObject(o, "flash_freq");
    if (fm)
        cJSON_AddStringToObject(o, "flash_mode", fm);
    else
        cJSON_AddNullToObject(o, "flash_mode");
    cJSON_AddNumberToObject(o, "wp_pin", in->wp_pin);
    cJSON_AddNumberToObject(o, "min_chip_rev", in->min_chip_rev);
    cJSON_AddNumberToObject(o, "min_chip_rev_full", in->min_chip_rev_full);
    cJSON_AddNumberToObject(o, "max_chip_rev_full", in->max_chip_rev_full);
    cJSON_AddBoolToObject(o, "hash_appended", in->hash_appended);

    cJSON *segs = cJSON_AddArrayToObject(o, "segments");
    for (unsigned i = 0; i < in->segment_count; i++) {
        const ota32_image_segment *s = &in->segments[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "index", i);
        cJSON_AddNumberToObject(j, "length", s->data_len);
        cJSON_AddNumberToObject(j, "load_addr", s->load_addr);
        cJSON_AddNumberToObject(j, "file_offset", s->file_offset);
        cJSON *types = cJSON_AddArrayToObject(j, "memory_types");
        const char *names[MAX_TYPES];
        int n = ota32_image_memory_types(chip, s->load_addr, names, MAX_TYPES);
        for (int k = 0; k < n && k < MAX_TYPES; k++)
            cJSON_AddItemToArray(types, cJSON_CreateString(names[k]));
        cJSON_AddBoolToObject(j, "flash_mapped",
                              ota32_image_addr_is_flash_mapped(chip, s->load_addr));
        cJSON_AddItemToArray(segs, j);
    }

    cJSON *cs = cJSON_AddObjectToObject(o, "checksum");
    cJSON_AddNumberToObject(cs, "stored", in->checksum_stored);
    cJSON_AddNumberToObject(cs, "calculated", in->checksum_calc);
    cJSON_AddBoolToObject(cs, "valid", in->checksum_ok);
    if (in->hash_appended) {
        cJSON *h = cJSON_AddObjectToObject(o, "sha256");
        cJSON_AddStringToObject(h, "stored", hex_dup(in->sha256_stored, 32, hex));
        cJSON_AddStringToObject(h, "calculated", hex_dup(in->sha256_calc, 32, hex));
        cJSON_AddBoolToObject(h, "valid", in->sha256_ok);
    } else {
        cJSON_AddNullToObject(o, "sha256");
    }

    if (in->has_app_desc) {
        const ota32_app_desc *d = &in->app_desc;
        cJSON *a = cJSON_AddObjectToObject(o, "app_desc");
        cJSON_AddStringToObject(a, "project_name", d->project_name);
        cJSON_AddStringToObject(a, "version", d->version);
        cJSON_AddStringToObject(a, "date", d->date);
        cJSON_AddStringToObject(a, "time", d->time);
        cJSON_AddStringToObject(a, "idf_ver", d->idf_ver);
        cJSON_AddStringToObject(a, "app_elf_sha256", hex_dup(d->app_elf_sha256, 32, hex));
        cJSON_AddNumberToObject(a, "secure_version", d->secure_version);
        cJSON_AddNumberToObject(a, "min_efuse_blk_rev_full", d->min_efuse_blk_rev_full);
        cJSON_AddNumberToObject(a, "max_efuse_blk_rev_full", d->max_efuse_blk_rev_full);
        cJSON_AddNumberToObject(a, "mmu_page_size", d->mmu_page_size);
    } else {
        cJSON_AddNullToObject(o, "app_desc");
    }
    if (in->has_bootloader_desc) {
        const ota32_bootloader_desc *d = &in->bootloader_desc;
        cJSON *b = cJSON_AddObjectToObject(o, "bootloader_desc");
        cJSON_AddNumberToObject(b, "version", d->version);
        cJSON_AddNumberToObject(b, "secure_version", d->secure_version);
        cJSON_AddStringToObject(b, "idf_ver", d->idf_ver);
        cJSON_AddStringToObject(b, "date_time", d->date_time);
    } else {
        cJSON_AddNullToObject(o, "bootloader_desc");
    }
    cJSON *sig = cJSON_AddObjectToObject(o, "signature_sector");
    cJSON_AddBoolToObject(sig, "present", in->sig_present);
    if (in->sig_present)
        cJSON_AddNumberToObject(sig, "offset", in->sig_offset);
    else
        cJSON_AddNullToObject(sig, "offset");
    sig_add_json(sig, data, len, in);

    char *text = cJSON_Print(o);
    if (text) {
        printf("%s\n", text);
        cJSON_free(text);
    }
    cJSON_Delete(o);
}

static int image_info(int argc, char **argv)
{
    opt_value v[I_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&info_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *path = pos[0];
    bool json = v[I_JSON].set;

    size_t len = 0;
    uint8_t *data = util_read_file(path, &len);
    if (!data)
        return 1;
    int status = 1;
    ota32_image_parser p;
    ota32_image_opts opts = {.chip_id = OTA32_CHIP_ANY,
                             .require_app_desc = false,
                             .hash = ota32_posix_hash(),
                             .lenient_digests = true};
    if (len == 0) {
        util_fail("%s: image is empty", path);
        goto out;
    }
    if (wrong_kind(path, data, len))
        goto out;
    size_t consumed = 0;
    if (parse_buffer(path, data, len, &opts, &p, &consumed) != OTA32_OK)
        goto out;
    /* Like esptool, the chip is detected from the low byte of chip_id. */
    uint16_t chip = data[12];
    if (!ota32_chip_name(chip)) {
        util_fail("%s: offset 0xc: chip_id: unknown chip id %u", path, chip);
        goto out;
    }
    const char *probe[1];
    if (ota32_image_memory_types(chip, 0, probe, 1) < 0) {
        util_fail("%s: the %s memory map is not known to ota32, segments cannot be named", path,
                  ota32_chip_name(chip));
        goto out;
    }
    if (json)
        print_info_json(data, len, &p.info, chip);
    else
        print_info_text(path, data, len, &p.info, chip);
    status = 0;
out:
    free(data);
    return status;
}

/* ---- verify ------------------------------------------------------------- */

static bool parse_rev(const char *s, uint16_t *out)
{
    unsigned major, minor;
    char tail;
    if (!s || sscanf(s, "%u.%u%c", &major, &minor, &tail) != 2 || major > 655 || minor > 99)
        return false;
    *out = (uint16_t)(major * 100 + minor);
    return *out != 0;
}

/* The smallest app ota_N partition of a partition table CSV. */
static int smallest_ota_slot(const char *csv_path, uint32_t flash_size,
                             const ota32_partition **out)
{
    static ota32_ptable table;
    size_t len = 0;
    uint8_t *text = util_read_file(csv_path, &len);
    if (!text)
        return OTA32_ERR_IO;
    ota32_pt_csv_opts copts = {.flash_size = flash_size};
    ota32_diag diag;
    ota32_diag_clear(&diag);
    int rc = ota32_pt_parse_csv((const char *)text, len, &copts, &table, &diag);
    free(text);
    if (rc != OTA32_OK) {
        util_report_at(csv_path, rc, &diag);
        return rc;
    }
    *out = NULL;
    for (unsigned i = 0; i < table.count; i++) {
        const ota32_partition *e = &table.entries[i];
        if (e->type == OTA32_PT_TYPE_APP && e->subtype >= OTA32_PT_APP_OTA_0 &&
            e->subtype < OTA32_PT_APP_OTA_0 + 16 && (!*out || e->size < (*out)->size))
            *out = e;
    }
    if (!*out) {
        util_fail("%s: no ota_N app partition: over-the-air updates need otadata, ota_0 and "
                  "ota_1", csv_path);
        return OTA32_ERR_NOT_FOUND;
    }
    return OTA32_OK;
}

static int image_verify(int argc, char **argv)
{
    opt_value v[I_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&verify_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *path = pos[0];
    ota32_image_opts opts = {.chip_id = OTA32_CHIP_ANY, .hash = ota32_posix_hash()};
    int kind = v[I_APP].set ? 1 : v[I_BOOTLOADER].set ? 0 : -1; /* -1 auto */
    if (v[I_APP].set && v[I_BOOTLOADER].set)
        return opts_usage_error(&verify_cmd, "--app and --bootloader exclude each other");
    const char *csv_path = v[I_PARTITIONS].str;
    uint64_t flash_size = v[I_FLASH_SIZE].num;
    bool json = v[I_JSON].set;
    bool chip_given = v[I_CHIP].set;
    if (v[I_CHIP].set && ota32_chip_from_name(v[I_CHIP].str, &opts.chip_id) != OTA32_OK)
        return opts_usage_error(&verify_cmd, "--chip needs a chip name such as esp32, not '%s'",
                                v[I_CHIP].str);
    if (v[I_CHIP_REV].set && !parse_rev(v[I_CHIP_REV].str, &opts.chip_rev_full))
        return opts_usage_error(&verify_cmd, "--chip-rev needs MAJOR.MINOR above v0.0, not '%s'",
                                v[I_CHIP_REV].str);
    if (v[I_MAX_SIZE].set)
        opts.max_len = (uint32_t)v[I_MAX_SIZE].num;

    size_t len = 0;
    uint8_t *data = util_read_file(path, &len);
    if (!data)
        return 1;
    char limit[4200] = "";
    if (csv_path) {
        const ota32_partition *slot = NULL;
        if (smallest_ota_slot(csv_path, (uint32_t)flash_size, &slot) != OTA32_OK) {
            free(data);
            return 1;
        }
        /* the workflow's check: an app for the board the table is for */
        if (!chip_given)
            opts.chip_id = OTA32_CHIP_ESP32;
        if (len > slot->size) {
            util_fail("%s: the app image is %zu bytes (0x%zx), larger than the smallest ota "
                      "partition of %s, %s (%u bytes, 0x%x): shrink the app or enlarge the ota "
                      "partitions (a partition change needs the merged image flashed again)",
                      path, len, len, csv_path, slot->label, (unsigned)slot->size,
                      (unsigned)slot->size);
            free(data);
            return 1;
        }
        if (!opts.max_len || opts.max_len > slot->size) {
            opts.max_len = slot->size;
            snprintf(limit, sizeof limit, "%s, the smallest ota partition of %s", slot->label,
                     csv_path);
        }
    }
    if (wrong_kind(path, data, len)) {
        free(data);
        return 1;
    }
    if (kind < 0) {
        /* segment 0's load address is at 0x18; the chip id at 12 */
        kind = len >= 0x20 &&
               ota32_image_addr_is_flash_mapped(ota32_le16(data + 12), ota32_le32(data + 0x18));
    }
    opts.require_app_desc = kind == 1;

    int status = 1;
    ota32_image_parser p;
    size_t consumed = 0;
    if (parse_buffer_for(path, data, len, &opts, limit[0] ? limit : NULL, &p, &consumed) !=
        OTA32_OK)
        goto out;
    const ota32_image_info *in = &p.info;
    ota32_sig_sector sec = {0};
    if (in->sig_present) {
        if (sig_sector_of(path, data, len, in, &sec) != 0)
            goto out;
    } else if (consumed != len) {
        util_fail("%s: offset 0x%zx: %zu bytes after the end of the image, not a secure boot "
                  "v2 signature sector",
                  path, consumed, len - consumed);
        goto out;
    }
    const char *keys[8];
    unsigned nkeys = sig_option_values(argc, argv, "--key", keys, 8);
    if (nkeys > 8) {
        util_fail("at most 8 --key");
        goto out;
    }
    if (nkeys > 0 && sig_verify_with_keys(path, data, len, in, keys, nkeys) != 0)
        goto out;
    const char *chip = ota32_chip_name(in->chip_id);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddBoolToObject(o, "ok", true);
        cJSON_AddStringToObject(o, "chip", chip ? chip : "unknown");
        cJSON_AddStringToObject(o, "kind", kind ? "app" : "bootloader");
        if (in->has_app_desc)
            cJSON_AddItemToObject(o, "app", util_app_desc_json(&in->app_desc));
        else
            cJSON_AddNullToObject(o, "app");
        cJSON_AddNumberToObject(o, "segment_count", in->segment_count);
        cJSON_AddNumberToObject(o, "image_len", in->image_len);
        cJSON_AddNumberToObject(o, "checksum", in->checksum_stored);
        cJSON_AddBoolToObject(o, "hash_appended", in->hash_appended);
        if (in->sig_present)
            cJSON_AddNumberToObject(o, "signature_sector", in->sig_offset);
        else
            cJSON_AddNullToObject(o, "signature_sector");
        status = util_print_json(o);
        goto done;
    }
    printf("OK: %s: %s %s", path, chip ? chip : "unknown-chip", kind ? "app" : "bootloader");
    if (in->has_app_desc)
        printf(" '%s' version '%s'", in->app_desc.project_name, in->app_desc.version);
    printf(", %u segments, %u bytes, checksum 0x%02x, SHA-256 %s", in->segment_count,
           (unsigned)in->image_len, in->checksum_stored,
           in->hash_appended ? "valid" : "not appended");
    if (in->sig_present)
        printf(", signature sector at 0x%x (%u block%s, %s)", (unsigned)in->sig_offset, sec.count,
               sec.count == 1 ? "" : "s", nkeys ? "verified" : "not verified");
    printf("\n");
    status = 0;
out:
    if (json && status != 0) { /* the reason is on stderr */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddBoolToObject(o, "ok", false);
        util_print_json(o);
    }
done:
    free(data);
    return status;
}

/* ---- make --------------------------------------------------------------- */

static int image_make(int argc, char **argv)
{
    opt_value v[I_COUNT];
    unsigned npos;
    int prc = opts_parse(&make_cmd, argc, argv, v, NULL, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    ota32_image_build_opts o = {.chip_id = OTA32_CHIP_ESP32, .hash = ota32_posix_hash()};
    const char *out_path = v[I_OUTPUT].str;
    o.version = v[I_VERSION].str;
    o.project_name = v[I_PROJECT].str;
    o.idf_ver = v[I_IDF_VERSION].str;
    o.seed = v[I_SEED].str;
    o.size = (uint32_t)v[I_SIZE].num;
    o.flash_size = (uint32_t)v[I_FLASH_SIZE].num;
    o.secure_version = (uint32_t)v[I_SECURE_VERSION].num;
    if (!o.version || !o.project_name || !v[I_SIZE].set || !out_path)
        return opts_usage_error(&make_cmd, "--version, --project, --size and -o are required");

    ota32_diag diag;
    ota32_diag_clear(&diag);
    uint8_t *buf = malloc(o.size ? o.size : 1);
    if (!buf)
        return util_fail("make: out of memory");
    int rc = ota32_image_build(&o, buf, o.size, &diag);
    if (rc != OTA32_OK) {
        fprintf(stderr, "ota32: image make: %s\n", diag.msg[0] ? diag.msg : ota32_strerror(rc));
        free(buf);
        return rc == OTA32_ERR_INVALID_ARG ? 2 : 1;
    }
    /* The result must pass the same verification as a downloaded image. */
    ota32_image_opts vo = {
        .chip_id = OTA32_CHIP_ESP32, .require_app_desc = true, .hash = o.hash, .max_len = o.size};
    ota32_image_parser p;
    size_t consumed = 0;
    int status = 1;
    if (parse_buffer(out_path, buf, o.size, &vo, &p, &consumed) != OTA32_OK || consumed != o.size) {
        util_fail("%s: internal error: the made image does not verify", out_path);
    } else if (util_write_file(out_path, buf, o.size) == OTA32_OK) {
        printf("%s: ESP32 app '%s' version '%s', %u segments, %u bytes\n", out_path, o.project_name,
               o.version, p.info.segment_count, (unsigned)o.size);
        status = 0;
    }
    free(buf);
    return status;
}

/* ---- dispatch ----------------------------------------------------------- */

static const opt_cmd *const image_cmds[] = {&info_cmd, &verify_cmd, &image_sign_cmd, &make_cmd,
                                             &image_elf2image_cmd};
static int (*const image_run[])(int, char **) = {image_info, image_verify, cmd_image_sign,
                                                 image_make, cmd_image_elf2image};

static int cmd_image(int argc, char **argv)
{
    return opts_dispatch(&image_group, argc, argv, image_run);
}

const opt_group image_group = {"image", "app images: info, verify, sign, make, elf2image",
                               image_cmds, 5, cmd_image};
