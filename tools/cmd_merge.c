/* `ota32 merge`: one flash image from ADDR FILE pairs, as esptool merge-bin. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "elf2image.h"
#include "merge.h"
#include "posix_hash.h"
#include "opts.h"
#include "util.h"

#define MAX_INPUTS 64

enum { M_OUTPUT, M_CHIP, M_TARGET, M_PAD, M_MODE, M_FREQ, M_SIZE, M_FORMAT, M_JSON, M_COUNT };

static const opt_def merge_opts[M_COUNT] = {
    [M_OUTPUT] = {"-o --output", OPT_STRING, "OUT", "output file (required; '-': standard output)",
                  0, 0, NULL, "file"},
    [M_CHIP] = {"-c --chip", OPT_STRING, "CHIP", "target chip (only esp32)", 0, 0, "esp32", NULL},
    [M_TARGET] = {"-t --target-offset", OPT_NUMBER, "ADDR",
                  "flash address of the output's first byte (default 0)", 0, UINT32_MAX, NULL,
                  NULL},
    [M_PAD] = {"--pad-to-size|--fill-flash-size", OPT_SIZE, "SIZE",
               "pad with 0xFF up to this flash size (e.g. 4MB, 8MB;\n"
               "--fill-flash-size, esptool v4's name, is the same)",
               1, 1ull << 32, NULL, NULL},
    [M_MODE] = {"-fm --flash-mode", OPT_STRING, "MODE", "keep (default), qio, qout, dio, dout", 0,
                0, "keep qio qout dio dout", NULL},
    [M_FREQ] = {"-ff --flash-freq", OPT_STRING, "FREQ", "keep (default), 80m, 40m, 26m, 20m", 0,
                0, NULL, NULL},
    [M_SIZE] = {"-fs --flash-size", OPT_STRING, "SIZE", "keep (default), 1MB ... 128MB", 0, 0,
                NULL, NULL},
    [M_FORMAT] = {"-f --format", OPT_STRING, "FORMAT", "output format (only raw)", 0, 0, "raw",
                  NULL},
    [M_JSON] = {"--json", OPT_FLAG, NULL, "report the result as JSON", 0, 0, NULL, NULL},
};

static const opt_cmd merge_cmd = {
    "merge", "-o OUT [options] ADDR FILE [ADDR FILE ...]",
    "Merge binaries into one flash image, byte for byte what `esptool --chip esp32\n"
    "merge-bin` (v5.3.1, raw format) writes: files sorted by address, gaps filled\n"
    "with 0xFF, files whose 4 KB sectors overlap rejected. The file at 0x1000 (the\n"
    "ESP32 bootloader) gets the flash parameters below written into its header and\n"
    "its SHA-256 recomputed, unless all of them are 'keep'. As in esptool,\n"
    "--flash_mode is --flash-mode.",
    merge_opts, M_COUNT, 0, 2 * MAX_INPUTS,
    "Example (ESP-IDF's usual layout):\n"
    "  ota32 merge -o flash.bin --flash-mode dio --flash-freq 40m --flash-size 4MB \\\n"
    "      0x1000 bootloader.bin 0x8000 partition-table.bin 0x20000 app.bin",
    true};

static int write_errno; /* why the last file_write failed */

static int file_write(void *ctx, const void *data, size_t len)
{
    if (fwrite(data, 1, len, ctx) == len)
        return OTA32_OK;
    write_errno = errno ? errno : EIO;
    return OTA32_ERR_IO;
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
    write_errno = 0;
    job->written = ota32_merge(job->entries, job->n, job->opts, &diag);
    if (job->written < 0 && write_errno) {
        errno = write_errno; /* reported with the file's name */
        return 1;
    }
    if (job->written < 0) {
        util_report("merge", (int)job->written, &diag);
        return -1;
    }
    return 0;
}

/* Notes go to stdout, or to stderr when stdout carries JSON or the image. */
static void print_note(void *ctx, const char *msg)
{
    fprintf(ctx, "%s\n", msg);
}

/* Parse "keep" or a name through `code`; -2 when invalid. */
static int param(const char *val, int (*code)(const char *))
{
    if (!strcmp(val, "keep"))
        return OTA32_MERGE_KEEP;
    int c = code(val);
    return c < 0 ? -2 : c;
}

static int cmd_merge(int argc, char **argv)
{
    opt_value v[M_COUNT];
    const char *positional[2 * MAX_INPUTS];
    unsigned upos;
    int prc = opts_parse(&merge_cmd, argc, argv, v, positional, &upos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    int npos = (int)upos;
    const char *output = v[M_OUTPUT].str;
    bool json = v[M_JSON].set, to_stdout = output && !strcmp(output, "-");
    ota32_merge_opts opts;
    ota32_merge_opts_init(&opts);
    opts.hash = ota32_posix_hash();
    opts.note = print_note;
    opts.note_ctx = json || to_stdout ? stderr : stdout;
    opts.target_offset = (uint32_t)v[M_TARGET].num;
    if (v[M_PAD].set)
        opts.pad_to_size = v[M_PAD].num;
    int c;
    if (v[M_MODE].set)
        opts.flash_mode = param(v[M_MODE].str, ota32_esp32_flash_mode_code);
    if (v[M_FREQ].set) {
        if ((c = param(v[M_FREQ].str, ota32_esp32_flash_freq_code)) == -2)
            return opts_usage_error(&merge_cmd,
                                    "flash frequency '%s' is not supported by ESP32 (keep, 80m, "
                                    "40m, 26m, 20m)",
                                    v[M_FREQ].str);
        opts.flash_freq = c;
    }
    if (v[M_SIZE].set) {
        if ((c = param(v[M_SIZE].str, ota32_esp32_flash_size_code)) == -2)
            return opts_usage_error(&merge_cmd,
                                    "flash size '%s' is not supported by ESP32 (keep, 1MB ... "
                                    "128MB)",
                                    v[M_SIZE].str);
        opts.flash_size = c;
    }
    if (!output || npos == 0)
        return opts_usage_error(&merge_cmd, "%s",
                                !output ? "-o OUT is required" : "no ADDR FILE pairs given");
    if (npos % 2)
        return opts_usage_error(&merge_cmd, "arguments must be pairs of an address and a file");

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
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", output);
        cJSON_AddNumberToObject(o, "size", (double)job.written);
        cJSON_AddNumberToObject(o, "target_offset", opts.target_offset);
        cJSON *arr = cJSON_AddArrayToObject(o, "inputs");
        for (int i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "offset", entries[i].addr);
            cJSON_AddStringToObject(e, "file", positional[2 * i + 1]);
            cJSON_AddNumberToObject(e, "size", (double)entries[i].len);
            cJSON_AddItemToArray(arr, e);
        }
        status = util_print_json(o);
    } else {
        fprintf(to_stdout ? stderr : stdout,
                "Wrote 0x%llx bytes to file '%s', ready to flash to offset 0x%x.\n", job.written,
                output, opts.target_offset);
        status = 0;
    }
out:
    for (int i = 0; i < n; i++)
        free(bufs[i]);
    return status;
}

static const opt_cmd *const merge_cmds[] = {&merge_cmd};

const opt_group merge_group = {"merge", "merge images into one flash image (esptool merge-bin)",
                               merge_cmds, 1, cmd_merge};
