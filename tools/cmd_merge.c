/* `ota32 merge`: one flash image from ADDR FILE pairs, as esptool merge-bin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "elf2image.h"
#include "merge.h"
#include "posix_hash.h"
#include "util.h"

#define MAX_INPUTS 64

static void usage(FILE *f)
{
    fprintf(f, "usage: ota32 merge -o OUT [options] ADDR FILE [ADDR FILE ...]\n"
               "\n"
               "Merge binaries into one flash image, byte for byte what `esptool --chip esp32\n"
               "merge-bin` (v5.3.1, raw format) writes: files sorted by address, gaps filled\n"
               "with 0xFF, files whose 4 KB sectors overlap rejected. The file at 0x1000 (the\n"
               "ESP32 bootloader) gets the flash parameters below written into its header and\n"
               "its SHA-256 recomputed, unless all of them are 'keep'.\n"
               "\n"
               "options:\n"
               "  -o, --output OUT          output file (required)\n"
               "  --chip esp32              target chip (only esp32)\n"
               "  -t, --target-offset ADDR  flash address of the output's first byte (default 0)\n"
               "  --pad-to-size SIZE        pad with 0xFF up to this flash size (e.g. 4MB, 8MB)\n"
               "  --fill-flash-size SIZE    same as --pad-to-size (esptool v4 name)\n"
               "  --flash-mode MODE         keep (default), qio, qout, dio, dout\n"
               "  --flash-freq FREQ         keep (default), 80m, 40m, 26m, 20m\n"
               "  --flash-size SIZE         keep (default), 1MB ... 128MB\n"
               "  --format raw              output format (only raw)\n"
               "\n"
               "Example (ESP-IDF's usual layout):\n"
               "  ota32 merge -o flash.bin --flash-mode dio --flash-freq 40m --flash-size 4MB \\\n"
               "      0x1000 bootloader.bin 0x8000 partition-table.bin 0x20000 app.bin\n");
}

/* Options that take a value (the others are flags or unknown). */
static const char *const value_options[] = {"-o",
                                            "--output",
                                            "--chip",
                                            "-c",
                                            "--format",
                                            "-f",
                                            "--target-offset",
                                            "-t",
                                            "--pad-to-size",
                                            "--fill-flash-size",
                                            "--flash-mode",
                                            "-fm",
                                            "--flash-freq",
                                            "-ff",
                                            "--flash-size",
                                            "-fs"};

static int file_write(void *ctx, const void *data, size_t len)
{
    return fwrite(data, 1, len, ctx) == len ? OTA32_OK : OTA32_ERR_IO;
}

typedef struct merge_job {
    const ota32_merge_entry *entries;
    size_t n;
    ota32_merge_opts *opts;
    long long written;
} merge_job;

/* The merged image into `file`; a failure is reported here. */
static int fill_merged(void *arg, void *file)
{
    merge_job *job = arg;
    job->opts->write = file_write;
    job->opts->write_ctx = file;
    ota32_diag diag;
    job->written = ota32_merge(job->entries, job->n, job->opts, &diag);
    if (job->written < 0) {
        util_report("merge", (int)job->written, &diag);
        return -1;
    }
    return 0;
}

static void print_note(void *ctx, const char *msg)
{
    (void)ctx;
    printf("%s\n", msg);
}

/* Parse "keep" or a name through `code`; -2 when invalid. */
static int param(const char *val, int (*code)(const char *))
{
    if (!strcmp(val, "keep"))
        return OTA32_MERGE_KEEP;
    int c = code(val);
    return c < 0 ? -2 : c;
}

int cmd_merge(int argc, char **argv)
{
    if (util_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    ota32_merge_opts opts;
    ota32_merge_opts_init(&opts);
    opts.hash = ota32_posix_hash();
    opts.note = print_note;
    const char *output = NULL;
    const char *positional[2 * MAX_INPUTS];
    int npos = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !arg[1]) {
            if (npos == 2 * MAX_INPUTS) {
                fprintf(stderr, "ota32: merge: more than %d input files\n", MAX_INPUTS);
                return 2;
            }
            positional[npos++] = arg;
            continue;
        }
        char name[40];
        const char *val;
        util_esptool_option(name, sizeof name, arg, &val);
        val = util_esptool_value("merge", value_options,
                                 sizeof value_options / sizeof value_options[0], name, arg, val,
                                 argc, argv, &i);
        if (!val)
            return 2;
        uint64_t v;
        int c;
        if (!strcmp(name, "-o") || !strcmp(name, "--output")) {
            output = val;
        } else if (!strcmp(name, "--chip") || !strcmp(name, "-c")) {
            if (strcmp(val, "esp32") != 0) {
                fprintf(stderr, "ota32: merge: chip '%s' is not supported (only esp32)\n", val);
                return 2;
            }
        } else if (!strcmp(name, "--format") || !strcmp(name, "-f")) {
            if (strcmp(val, "raw") != 0) {
                fprintf(stderr, "ota32: merge: format '%s' is not supported (only raw)\n", val);
                return 2;
            }
        } else if (!strcmp(name, "--target-offset") || !strcmp(name, "-t")) {
            if (!util_parse_uint(val, UINT32_MAX, &v)) {
                fprintf(stderr, "ota32: merge: bad --target-offset '%s'\n", val);
                return 2;
            }
            opts.target_offset = (uint32_t)v;
        } else if (!strcmp(name, "--pad-to-size") || !strcmp(name, "--fill-flash-size")) {
            if (!util_parse_size(val, &v) || v == 0 || v > (1ull << 32)) {
                fprintf(stderr, "ota32: merge: bad %s '%s' (e.g. 4MB, 8MB)\n", name, val);
                return 2;
            }
            opts.pad_to_size = v;
        } else if (!strcmp(name, "--flash-mode") || !strcmp(name, "-fm")) {
            if ((c = param(val, ota32_esp32_flash_mode_code)) == -2) {
                fprintf(stderr,
                        "ota32: merge: --flash-mode '%s': choose from keep, qio, qout, "
                        "dio, dout\n",
                        val);
                return 2;
            }
            opts.flash_mode = c;
        } else if (!strcmp(name, "--flash-freq") || !strcmp(name, "-ff")) {
            if ((c = param(val, ota32_esp32_flash_freq_code)) == -2) {
                fprintf(stderr,
                        "ota32: merge: flash frequency '%s' is not supported by ESP32 "
                        "(keep, 80m, 40m, 26m, 20m)\n",
                        val);
                return 2;
            }
            opts.flash_freq = c;
        } else if (!strcmp(name, "--flash-size") || !strcmp(name, "-fs")) {
            if ((c = param(val, ota32_esp32_flash_size_code)) == -2) {
                fprintf(stderr,
                        "ota32: merge: flash size '%s' is not supported by ESP32 "
                        "(keep, 1MB ... 128MB)\n",
                        val);
                return 2;
            }
            opts.flash_size = c;
        } else {
            fprintf(stderr, "ota32: merge: unknown option '%s' (see --help)\n", arg);
            return 2;
        }
    }
    if (!output || npos == 0) {
        fprintf(stderr, "ota32: merge: %s\n",
                !output ? "-o OUT is required" : "no ADDR FILE pairs given");
        usage(stderr);
        return 2;
    }
    if (npos % 2) {
        fprintf(stderr, "ota32: merge: arguments must be pairs of an address and a file\n");
        return 2;
    }

    int n = npos / 2, status = 1;
    ota32_merge_entry entries[MAX_INPUTS];
    uint8_t *bufs[MAX_INPUTS] = {0};
    for (int i = 0; i < n; i++) {
        uint64_t addr;
        if (!util_parse_uint(positional[2 * i], UINT32_MAX, &addr)) {
            fprintf(stderr, "ota32: merge: address '%s' must be a number\n", positional[2 * i]);
            status = 2;
            goto out;
        }
        size_t len;
        bufs[i] = util_read_file(positional[2 * i + 1], &len);
        if (!bufs[i])
            goto out;
        entries[i] = (ota32_merge_entry){(uint32_t)addr, bufs[i], len, positional[2 * i + 1]};
    }

    merge_job job = {entries, (size_t)n, &opts, 0};
    if (util_write_file_with(output, fill_merged, &job) != OTA32_OK)
        goto out;
    printf("Wrote 0x%llx bytes to file '%s', ready to flash to offset 0x%x.\n", job.written, output,
           opts.target_offset);
    status = 0;
out:
    for (int i = 0; i < n; i++)
        free(bufs[i]);
    return status;
}
