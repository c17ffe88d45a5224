/*
 * `ota32 device run`: the OTA service on a virtual ESP32. Boots the device
 * file, runs the engine as the firmware would (boot check, config polling,
 * confirm once the config was fetched again), and when the engine asks for a
 * reboot closes the flash and runs the bootloader again on it.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "json_out.h"
#include "ota32/http.h"
#include "ota32/service.h"
#include "posix_alloc.h"
#include "posix_platform.h"
#include "opts.h"
#include "svc_reference.h"
#include "util.h"
#include "vdev.h"

#define MAX_BOOTS_DEFAULT 100u

typedef struct run_opts {
    const char *dev;
    const char *config;
    bool config_is_url;
    uint64_t poll_s;
    bool once;
    bool no_confirm;
    uint64_t max_updates; /* 0 = unlimited */
    uint64_t max_boots;
    const char *json_path; /* -o: the JSON summary */
    bool json;             /* the summary as JSON on stdout */
    bool quiet;
    bool verbose;
    bool timing;
    bool erase_whole_slot; /* the benchmarks' reference strategy */
    ota32_service_opts so;
} run_opts;

typedef struct run_log {
    bool tty;
    bool quiet;
    bool verbose;
    bool bar_shown;
    bool crashed; /* --no-confirm: the new firmware "crashed" */
    uint64_t start_ms;
    /* a config file read again during a download: the OTA service of the
     * config being applied, to notice a change */
    const char *config_file;
    ota32_ota_config applying;
    bool have_applying;
    uint64_t last_check_ms;
} run_log;

typedef struct run_totals {
    unsigned boots, updates, rollbacks, confirms;
    ota32_service_stats last; /* of the last completed update */
    bool have_last;
    size_t peak_heap; /* highest during any update */
    uint64_t apply_sector_erases, apply_block_erases, apply_programs; /* vdev, during apply */
    uint64_t apply_virtual_us, apply_max_op_us; /* timing model, during apply */
    char boot_label[17];
    char boot_version[33];
    uint32_t boot_state;
    char stored_version[OTA32_CONFIG_VERSION_MAX + 1];
    const char *result;
    char error[OTA32_DIAG_MSG_MAX + 80];
} run_totals;

enum {
    R_CONFIG,
    R_POLL,
    R_ONCE,
    R_CA,
    R_INSECURE,
    R_NO_CONFIRM,
    R_MAX_UPDATES,
    R_JSON,
    R_OUTPUT,
    R_WINDOW,
    R_STALL,
    R_RETRY_BASE,
    R_MAX_RETRIES,
    R_FAILED_BACKOFF,
    R_MIN_RATE,
    R_RATE_WINDOW,
    R_REQUEST_TIMEOUT,
    R_ATTEMPT_TIMEOUT,
    R_FAULT_BACKOFF,
    R_PROGRESS,
    R_ERASE_WHOLE,
    R_REQUIRE_HTTPS,
    R_SAME_PROJECT,
    R_TIMING,
    R_MAX_BOOTS,
    R_QUIET,
    R_VERBOSE,
    R_COUNT
};

static const opt_def run_opts_table[R_COUNT] = {
    [R_CONFIG] = {"--config", OPT_STRING, "FILE|URL",
                  "machine config JSON (or one service object); required", 0, 0, NULL, "file"},
    [R_POLL] = {"--poll", OPT_NUMBER, "SECONDS", "time between config checks (default 10)", 1,
                86400, NULL, NULL},
    [R_ONCE] = {"--once", OPT_FLAG, NULL, "stop after the first check that needs no update", 0, 0,
                NULL, NULL},
    [R_CA] = {"--ca", OPT_STRING, "FILE", "trust anchors for https:// (default: system store)", 0,
              0, NULL, "file"},
    [R_INSECURE] = {"--insecure", OPT_FLAG, NULL, "skip certificate verification (tests only)", 0,
                    0, NULL, NULL},
    [R_NO_CONFIRM] = {"--no-confirm", OPT_FLAG, NULL,
                      "simulate a broken firmware: a new image never confirms\n"
                      "and crashes, so the bootloader rolls back",
                      0, 0, NULL, NULL},
    [R_MAX_UPDATES] = {"--max-updates", OPT_NUMBER, "N", "stop after N updates", 0, 1000000, NULL,
                       NULL},
    [R_JSON] = {"--json", OPT_FLAG, NULL, "the summary as JSON on stdout instead of text", 0, 0,
                NULL, NULL},
    [R_OUTPUT] = {"-o --output|--json-summary", OPT_STRING, "FILE",
                  "also write the JSON summary to FILE (--json-summary\n"
                  "is the same)",
                  0, 0, NULL, "file"},
    [R_WINDOW] = {"--window", OPT_SIZE, "BYTES", "HTTP/2 stream window (default 64K, at most 64K)",
                  1024, 65536, NULL, NULL},
    [R_STALL] = {"--stall-timeout|--stall", OPT_NUMBER, "SECONDS",
                 "give up a connection silent this long (default 30)", 1, 3600, NULL, NULL},
    [R_RETRY_BASE] = {"--retry-base-ms", OPT_NUMBER, "MS",
                      "first retry delay (default 1000; doubles to 5 min)", 1, 600000, NULL, NULL},
    [R_MAX_RETRIES] = {"--max-retries", OPT_NUMBER, "N",
                       "failed attempts in a row before giving up (default 6)", 1, 1000, NULL,
                       NULL},
    [R_FAILED_BACKOFF] = {"--failed-backoff", OPT_NUMBER, "SECONDS",
                          "wait before retrying a rejected or rolled back version\n"
                          "(default 86400)",
                          1, 365ull * 86400, NULL, NULL},
    [R_MIN_RATE] = {"--min-rate", OPT_SIZE, "BYTES",
                    "body bytes/s a request must average over the rate\n"
                    "window (default 1024)",
                    1, 0x10000000, NULL, NULL},
    [R_RATE_WINDOW] = {"--rate-window", OPT_NUMBER, "MS", "the window of --min-rate (default 60000)",
                       1, 3600000, NULL, NULL},
    [R_REQUEST_TIMEOUT] = {"--request-timeout", OPT_NUMBER, "MS",
                           "deadline of one request (default 600000)", 1, 86400000, NULL, NULL},
    [R_ATTEMPT_TIMEOUT] = {"--attempt-timeout", OPT_NUMBER, "MS",
                           "deadline of one update attempt (default 1800000)", 1, 86400000, NULL,
                           NULL},
    [R_FAULT_BACKOFF] = {"--fault-backoff", OPT_NUMBER, "SECONDS",
                         "wait after an attempt the server made fail\n(default 3600)", 1,
                         365ull * 86400, NULL, NULL},
    [R_PROGRESS] = {"--progress-interval", OPT_SIZE, "BYTES",
                    "progress saved to NVS this often (default 256K)", 4096, 0x1000000, NULL,
                    NULL},
    [R_ERASE_WHOLE] = {"--erase-whole-slot", OPT_FLAG, NULL,
                       "erase the whole slot before writing (benchmark only)", 0, 0, NULL, NULL},
    [R_REQUIRE_HTTPS] = {"--require-https", OPT_FLAG, NULL,
                         "refuse http:// image URLs (the production setting)", 0, 0, NULL, NULL},
    [R_SAME_PROJECT] = {"--require-same-project", OPT_FLAG, NULL,
                        "refuse an image of another project_name than the\nrunning app's", 0,
                        0, NULL, NULL},
    [R_TIMING] = {"--timing", OPT_FLAG, NULL,
                  "flash timing model (4 KB erase 45 ms, 64 KB 150 ms,\n"
                  "page 0.4 ms): virtual flash time in the summary",
                  0, 0, NULL, NULL},
    [R_MAX_BOOTS] = {"--max-boots", OPT_NUMBER, "N", "stop after N boots (default 100)", 1,
                     1000000, NULL, NULL},
    [R_QUIET] = {"-q --quiet", OPT_FLAG, NULL, "warnings and errors only", 0, 0, NULL, NULL},
    [R_VERBOSE] = {"-v --verbose", OPT_FLAG, NULL, "also debug lines (HTTP requests)", 0, 0, NULL,
                   NULL},
};

const opt_cmd device_run_cmd = {
    "device run", "DEV.flash --config FILE|URL [options]",
    "Run the OTA service on a virtual ESP32: boot DEV.flash, read the machine config\n"
    "(a file, or a URL serving it, e.g. `ota32 serve --config machine.json` at\n"
    "/config), and when its OTA service names another version download it over\n"
    "HTTP/2 into the inactive slot, verify, switch and reboot. The new firmware\n"
    "confirms once it has fetched its config again; otherwise the bootloader rolls\n"
    "back. Ctrl-C stops the device (an update in progress is abandoned, as at a\n"
    "power cut) and prints the summary.",
    run_opts_table, R_COUNT, 1, 1,
    "Exit status: 0 success, 1 failure (update rejected or failed, bricked),\n"
    "2 usage, 130 interrupted.",
    false};

/* Set by SIGINT/SIGTERM: the device stops at the next step and reports. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t now_ms(void)
{
    return ota32_posix_now_ms();
}

static void clear_bar(run_log *l)
{
    if (l->bar_shown) {
        fputs("\r\033[K", stdout);
        fflush(stdout);
        l->bar_shown = false;
    }
}

static void log_line(void *ctx, ota32_log_level lvl, const char *msg)
{
    run_log *l = ctx;
    if ((l->quiet && lvl > OTA32_LOG_WARN) || (!l->verbose && lvl > OTA32_LOG_INFO))
        return;
    /* On a terminal the bar shows progress; skip the 10% lines. */
    if (l->tty && lvl == OTA32_LOG_INFO && !strncmp(msg, "ota: ", 5) && msg[5] >= '0' &&
        msg[5] <= '9' && strstr(msg, "% ("))
        return;
    clear_bar(l);
    static const char letters[] = "EWID";
    uint64_t t = now_ms() - l->start_ms;
    fprintf(stderr, "%c [%4llu.%03llu] %s\n", letters[lvl & 3], (unsigned long long)(t / 1000),
            (unsigned long long)(t % 1000), msg);
}

static void progress_bar(void *user, uint64_t done, int64_t total)
{
    run_log *l = user;
    if (!l->tty || l->quiet)
        return;
    static uint64_t last;
    uint64_t t = now_ms();
    if (t - last < 100 && (total < 0 || (int64_t)done != total))
        return;
    last = t;
    char bar[41];
    unsigned fill = total > 0 ? (unsigned)(done * 40 / (uint64_t)total) : 0;
    for (unsigned i = 0; i < 40; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[40] = '\0';
    if (total > 0)
        printf("\r[%s] %3u%% %.1f/%.1f MB", bar, (unsigned)(done * 100 / (uint64_t)total),
               done / 1048576.0, total / 1048576.0);
    else
        printf("\r%.1f MB", done / 1048576.0);
    fflush(stdout);
    l->bar_shown = true;
}

/* ---- Ctrl-C ----------------------------------------------------------------
 * The device stops at its next flash write or sleep: an update in progress
 * fails there (the device keeps booting its current firmware, as after a
 * power cut) and the loop ends with the summary. */

static ota32_flash_ops inner_flash;
static ota32_clock_ops inner_clock;

static int stop_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    return interrupted ? OTA32_ERR_IO : inner_flash.program(ctx, addr, buf, len);
}

static int stop_erase_sector(void *ctx, uint32_t addr)
{
    return interrupted ? OTA32_ERR_IO : inner_flash.erase_sector(ctx, addr);
}

static int stop_erase_block(void *ctx, uint32_t addr)
{
    return interrupted ? OTA32_ERR_IO : inner_flash.erase_block(ctx, addr);
}

static void stop_sleep(void *ctx, uint32_t ms)
{
    while (ms > 0 && !interrupted) {
        uint32_t step = ms < 100 ? ms : 100;
        inner_clock.sleep_ms(ctx, step);
        ms -= step;
    }
}

static void stop_on_interrupt(ota32_platform *plat)
{
    inner_flash = plat->flash;
    plat->flash.program = stop_program;
    plat->flash.erase_sector = stop_erase_sector;
    if (plat->flash.erase_block)
        plat->flash.erase_block = stop_erase_block;
    inner_clock = plat->clock;
    if (plat->clock.sleep_ms)
        plat->clock.sleep_ms = stop_sleep;
}

/* ---- reading the config: the service's config source ------------------- */

typedef struct body_buf {
    char *data;
    size_t len, cap;
} body_buf;

static int body_data(void *user, const uint8_t *data, size_t len)
{
    body_buf *b = user;
    if (len >= b->cap - b->len)
        return OTA32_ERR_TOO_BIG;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return OTA32_OK;
}

typedef struct run_source {
    const run_opts *o;
    const ota32_platform *plat;
} run_source;

static int read_file_config(const char *path, body_buf *b, ota32_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ota32_diag_fail(diag, OTA32_ERR_IO, 0, -1, "%s: %s", path, strerror(errno));
    char chunk[4096];
    size_t n;
    int rc = OTA32_OK;
    while (rc == OTA32_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = body_data(b, (const uint8_t *)chunk, n);
    int read_errno = ferror(f) ? errno : 0; /* EISDIR for a directory */
    fclose(f);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "%s: %s", path,
                               rc == OTA32_ERR_TOO_BIG ? "larger than the config limit"
                                                       : ota32_strerror(rc));
    if (read_errno)
        return ota32_diag_fail(diag, OTA32_ERR_IO, 0, -1, "%s: %s", path, strerror(read_errno));
    return OTA32_OK;
}

/* The config from a file (a local copy, as NVS on a device) or a URL. */
static int source_fetch(void *ctx, char *buf, size_t cap, size_t *len, ota32_diag *diag)
{
    const run_source *rs = ctx;
    body_buf b = {buf, 0, cap};
    buf[0] = '\0';
    int rc;
    if (!rs->o->config_is_url) {
        rc = read_file_config(rs->o->config, &b, diag);
    } else {
        ota32_url *url = malloc(sizeof *url);
        rc = url ? ota32_url_parse(rs->o->config, url, diag) : OTA32_ERR_NO_MEM;
        if (rc == OTA32_OK) {
            ota32_http_request req = {.url = url};
            ota32_http_opts ho = {.ca_file = rs->o->so.ca_file,
                                  .insecure = rs->o->so.insecure,
                                  .stall_timeout_ms = rs->o->so.stall_timeout_ms};
            ota32_http_callbacks cb = {.user = &b, .on_data = body_data};
            ota32_http_response resp;
            rc = ota32_http_get(rs->plat, &req, &ho, &cb, &resp, diag);
        }
        free(url);
    }
    *len = b.len;
    return rc;
}

/* The OTA service of a config text (a separate allocator: the device's heap
 * figures are the engine's alone). */
static bool config_service(const char *text, size_t len, ota32_ota_config *out)
{
    ota32_posix_alloc count;
    ota32_posix_alloc_init(&count);
    ota32_alloc_ops a = ota32_posix_alloc_ops(&count);
    return ota32_config_parse(text, len, &a, out, NULL) == OTA32_OK;
}

/* The same of the config file as it is now. */
static bool config_file_service(const char *file, ota32_ota_config *out)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return false;
    static char text[OTA32_CONFIG_TEXT_MAX];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    return config_service(text, len, out);
}

/* Asked by the engine during a download: a config file whose OTA service
 * now names another url or version stops it (checked at most once a
 * second). */
static bool still_wanted(void *user)
{
    run_log *l = user;
    uint64_t t = now_ms();
    if (!l->have_applying || t - l->last_check_ms < 1000)
        return true;
    l->last_check_ms = t;
    static ota32_ota_config now;
    if (!config_file_service(l->config_file, &now))
        return true; /* unreadable for a moment: keep going */
    if (!strcmp(now.url, l->applying.url) && !strcmp(now.version, l->applying.version))
        return true;
    log_line(l, OTA32_LOG_WARN, "device: the config changed during the download");
    return false;
}

/* ---- summary ------------------------------------------------------------- */

typedef struct summary_job {
    const run_opts *o;
    const run_totals *t;
    int status;
} summary_job;

/* The summary as JSON into `file` (a FILE *); 0, or 1 on a write error. */
static int write_summary_json(void *arg, void *file)
{
    const summary_job *j = arg;
    const run_opts *o = j->o;
    const run_totals *t = j->t;
    const ota32_service_stats *s = &t->last;
    double secs = t->have_last ? (double)(s->finished_ms - s->started_ms) / 1000.0 : 0.0;
    double kib_s = secs > 0 ? (double)s->bytes_written / 1024.0 / secs : 0.0;
    FILE *f = file;
    int status = j->status;
    fprintf(f, "{\n  \"result\": ");
    ota32_json_str(f, t->result);
    fprintf(f, ",\n  \"exit\": %d,\n  \"error\": ", status);
    ota32_json_str(f, t->error);
    fprintf(f,
            ",\n  \"boots\": %u,\n  \"updates\": %u,\n  \"rollbacks\": %u,\n  \"confirms\": %u,\n",
            t->boots, t->updates, t->rollbacks, t->confirms);
    fprintf(f, "  \"running\": ");
    ota32_json_str(f, t->boot_label);
    fprintf(f, ",\n  \"running_app_version\": ");
    ota32_json_str(f, t->boot_version);
    fprintf(f, ",\n  \"running_state\": %u,\n  \"stored_version\": ", t->boot_state);
    ota32_json_str(f, t->stored_version);
    fprintf(f, ",\n  \"peak_heap\": %zu,\n", t->peak_heap);
    fprintf(f,
            "  \"apply_flash\": {\"sector_erases\": %llu, \"block_erases\": %llu, "
            "\"programs\": %llu},\n",
            (unsigned long long)t->apply_sector_erases, (unsigned long long)t->apply_block_erases,
            (unsigned long long)t->apply_programs);
    if (o->timing)
        fprintf(f, "  \"flash_virtual_ms\": %.1f,\n  \"flash_max_op_ms\": %.1f,\n",
                t->apply_virtual_us / 1000.0, t->apply_max_op_us / 1000.0);
    if (t->have_last) {
        fprintf(f, "  \"old_slot\": %d,\n  \"new_slot\": %d,\n  \"old_version\": ", s->old_slot,
                s->new_slot);
        ota32_json_str(f, s->old_version);
        fprintf(f, ",\n  \"new_version\": ");
        ota32_json_str(f, s->new_version);
        fprintf(f,
                ",\n  \"bytes_written\": %llu,\n  \"bytes_received\": %llu,\n"
                "  \"image_len\": %lld,\n  \"requests\": %u,\n  \"resumes\": %u,\n"
                "  \"restarts\": %u,\n  \"resumed_from\": %llu,\n  \"seconds\": %.3f,\n"
                "  \"kib_per_s\": %.1f,\n  \"slot_sector_erases\": %llu,\n"
                "  \"slot_block_erases\": %llu,\n  \"slot_programs\": %llu,\n",
                (unsigned long long)s->bytes_written, (unsigned long long)s->bytes_received,
                (long long)s->image_len, s->attempts, s->resumes, s->restarts,
                (unsigned long long)s->resumed_from, secs, kib_s,
                (unsigned long long)s->erases_sector, (unsigned long long)s->erases_block,
                (unsigned long long)s->programs);
    }
    fprintf(f, "  \"tool\": \"ota32 %s\"\n}\n", OTA32_VERSION_STRING);
    return ferror(f) ? 1 : 0;
}

/* The summary: text (or JSON with --json) on stdout, JSON to -o FILE.
 * false when the JSON file could not be written. */
static bool print_summary(const run_opts *o, const run_totals *t, int status)
{
    summary_job job = {o, t, status};
    bool ok = true;
    if (o->json_path)
        ok = util_write_file_with(o->json_path, write_summary_json, &job) == OTA32_OK;
    if (o->json) {
        write_summary_json(&job, stdout);
        return ok;
    }
    const ota32_service_stats *s = &t->last;
    double secs = t->have_last ? (double)(s->finished_ms - s->started_ms) / 1000.0 : 0.0;
    double kib_s = secs > 0 ? (double)s->bytes_written / 1024.0 / secs : 0.0;
    printf("result: %s\n", t->result);
    if (t->error[0])
        printf("error: %s\n", t->error);
    printf("boots: %u, updates: %u, rollbacks: %u\n", t->boots, t->updates, t->rollbacks);
    printf("running: %s (version \"%s\"), OTA_VERSION \"%s\"\n", t->boot_label, t->boot_version,
           t->stored_version);
    if (t->have_last) {
        printf("update: ota_%d \"%s\" -> ota_%d \"%s\"\n", s->old_slot, s->old_version, s->new_slot,
               s->new_version);
        printf("bytes: %llu written, %llu received in %u request(s) (%u resumed, %u restarted)\n",
               (unsigned long long)s->bytes_written, (unsigned long long)s->bytes_received,
               s->attempts, s->resumes, s->restarts);
        printf("time: %.3f s, %.1f KiB/s\n", secs, kib_s);
        printf("erases: %llu x 64K, %llu x 4K; programs: %llu\n",
               (unsigned long long)s->erases_block, (unsigned long long)s->erases_sector,
               (unsigned long long)s->programs);
    }
    printf("peak heap: %zu bytes\n", t->peak_heap);
    if (o->timing)
        printf("flash time (model): %.1f ms, longest operation %.1f ms\n",
               t->apply_virtual_us / 1000.0, t->apply_max_op_us / 1000.0);
    return ok;
}

/* ---- the device loop ----------------------------------------------------- */

static void read_stored_version(const ota32_platform *plat, char *out, size_t cap)
{
    if (plat->kv.get_str(plat->kv.ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, out, cap) !=
        OTA32_OK)
        out[0] = '\0';
}

/* Every config the service fetched, before it applies it: the OTA service
 * a config file names, for still_wanted. */
static void on_config(void *user, const char *json, size_t len)
{
    run_log *l = user;
    if (l->config_file)
        l->have_applying = config_service(json, len, &l->applying);
}

/* --no-confirm: the new firmware crashes where it would confirm. */
static int crash_before_confirm(void *user, ota32_diag *diag)
{
    run_log *l = user;
    l->crashed = true;
    return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, -1,
                           "--no-confirm: the new firmware crashes before confirming");
}

static void add_apply_stats(run_totals *t, const vdev_stats *before, const vdev_stats *after)
{
    t->apply_sector_erases += after->sector_erases - before->sector_erases;
    t->apply_block_erases += after->block_erases - before->block_erases;
    t->apply_programs += after->programs - before->programs;
    t->apply_virtual_us += after->virtual_us - before->virtual_us;
    if (after->max_op_us > t->apply_max_op_us)
        t->apply_max_op_us = after->max_op_us;
}

static const char *apply_name(ota32_apply_result r)
{
    switch (r) {
    case OTA32_APPLY_NO_SERVICE:
        return "no OTA service in the config";
    case OTA32_APPLY_DEFERRED:
        return "deferred";
    case OTA32_APPLY_PROBATION:
        return "on probation (not confirmed)";
    default:
        return "up to date";
    }
}

/* What one poll means for the run: 1 reboot, 0 stop, -1 poll again. */
static int after_poll(const run_opts *o, vdev *d, run_totals *t, int rc,
                      const ota32_poll_result *r, const ota32_diag *diag, int *status)
{
    if (r->first && r->boot == OTA32_BOOT_ROLLED_BACK)
        t->rollbacks++;
    if (r->confirmed)
        t->confirms++;
    if (vdev_power_lost(d)) {
        snprintf(t->error, sizeof t->error, "power lost");
        *status = 1;
        return 0;
    }
    if (r->reboot) {
        if (r->apply == OTA32_APPLY_REBOOT)
            t->updates++;
        t->error[0] = '\0';
        if (vdev_reboot_requested(d))
            return 1;
        snprintf(t->error, sizeof t->error, "engine installed but requested no reboot");
        *status = 1;
        return 0;
    }
    if (rc != OTA32_OK) {
        snprintf(t->error, sizeof t->error, "%s%s", r->config_fetched ? "" : "config: ",
                 diag->msg[0] ? diag->msg : ota32_strerror(rc));
        t->result = !r->config_fetched      ? "config unavailable"
                    : rc == OTA32_ERR_CONFIG ? "config rejected"
                                             : "update failed";
        *status = 1;
        return o->once ? 0 : -1;
    }
    if (r->confirmed && o->max_updates && t->updates >= o->max_updates) {
        t->result = "ok";
        *status = 0;
        return 0;
    }
    t->result = apply_name(r->apply);
    t->error[0] = '\0';
    *status = 0;
    return o->once || (o->max_updates && t->updates >= o->max_updates) ? 0 : -1;
}

/* One boot of the device, the service's poll loop as on a device: returns
 * 1 to reboot, 0 to stop with `*status`. */
static int run_boot(const run_opts *o, vdev *d, const ota32_platform *plat, ota32_posix_host *host,
                    run_totals *t, int *status)
{
    run_log *lg = o->so.user;
    run_source rs = {o, plat};
    ota32_service_opts so = o->so;
    so.source = (ota32_config_source){&rs, source_fetch, o->config_is_url};
    so.poll_interval_ms = (uint32_t)(o->poll_s * 1000u);
    so.on_config = on_config;
    if (o->no_confirm)
        so.health = crash_before_confirm;
    ota32_service *svc = NULL;
    int rc = ota32_service_new(plat, &so, &svc);
    if (rc != OTA32_OK) {
        snprintf(t->error, sizeof t->error, "engine: %s", ota32_strerror(rc));
        *status = 1;
        return 0;
    }
    svc_reference_erase_whole_slot(svc, o->erase_whole_slot);
    int again = 0;
    lg->crashed = false;
    do {
        if (interrupted)
            break;
        vdev_stats before, after;
        vdev_get_stats(d, &before);
        ota32_posix_alloc_reset_peak(&host->alloc);
        ota32_poll_result r;
        ota32_diag diag;
        rc = ota32_service_poll(svc, &r, &diag);
        vdev_get_stats(d, &after);
        add_apply_stats(t, &before, &after);
        ota32_service_stats st;
        ota32_service_get_stats(svc, &st);
        if (st.attempts > 0) { /* a download was attempted: its figures go in the summary */
            t->last = st;
            t->have_last = true;
        }
        if (host->alloc.peak > t->peak_heap && r.applied &&
            (rc != OTA32_OK || r.apply == OTA32_APPLY_REBOOT))
            t->peak_heap = host->alloc.peak;
        if (lg->crashed) {
            log_line(lg, OTA32_LOG_WARN, "device: the new firmware crashed; resetting");
            again = 1;
            break;
        }
        again = after_poll(o, d, t, rc, &r, &diag, status);
        if (again < 0) /* Ctrl-C cuts the wait short (stop_on_interrupt) */
            plat->clock.sleep_ms(plat->clock.ctx, r.next_poll_ms);
    } while (again < 0);
    read_stored_version(plat, t->stored_version, sizeof t->stored_version);
    ota32_slot rs_slot;
    uint32_t state;
    if (!vdev_power_lost(d) &&
        plat->boot.running_slot(plat->boot.ctx, &rs_slot, &state) == OTA32_OK)
        t->boot_state = state;
    ota32_service_free(svc);
    return again;
}

/* OPTS_OK, or what opts_parse returned. */
static int parse_args(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    opt_value v[R_COUNT];
    const char *pos[1];
    unsigned npos;
    int rc = opts_parse(&device_run_cmd, argc, argv, v, pos, &npos);
    if (rc != OPTS_OK)
        return rc;
    o->dev = pos[0];
    o->config = v[R_CONFIG].str;
    o->poll_s = v[R_POLL].set ? v[R_POLL].num : 10;
    o->once = v[R_ONCE].set;
    o->so.ca_file = v[R_CA].str;
    o->so.insecure = v[R_INSECURE].set;
    o->no_confirm = v[R_NO_CONFIRM].set;
    o->max_updates = v[R_MAX_UPDATES].num;
    o->json = v[R_JSON].set;
    o->json_path = v[R_OUTPUT].str;
    o->so.window = (uint32_t)v[R_WINDOW].num;
    o->so.stall_timeout_ms = (uint32_t)(v[R_STALL].num * 1000);
    o->so.retry_base_ms = (uint32_t)v[R_RETRY_BASE].num;
    o->so.max_retries = (unsigned)v[R_MAX_RETRIES].num;
    o->so.failed_backoff_ms = v[R_FAILED_BACKOFF].num * 1000;
    o->so.min_rate = (uint32_t)v[R_MIN_RATE].num;
    o->so.rate_window_ms = (uint32_t)v[R_RATE_WINDOW].num;
    o->so.request_timeout_ms = (uint32_t)v[R_REQUEST_TIMEOUT].num;
    o->so.attempt_timeout_ms = (uint32_t)v[R_ATTEMPT_TIMEOUT].num;
    o->so.fault_backoff_ms = v[R_FAULT_BACKOFF].num * 1000;
    o->so.progress_interval = (uint32_t)v[R_PROGRESS].num;
    o->erase_whole_slot = v[R_ERASE_WHOLE].set;
    o->so.require_https = v[R_REQUIRE_HTTPS].set;
    o->so.require_same_project = v[R_SAME_PROJECT].set;
    o->timing = v[R_TIMING].set;
    o->max_boots = v[R_MAX_BOOTS].set ? v[R_MAX_BOOTS].num : MAX_BOOTS_DEFAULT;
    o->quiet = v[R_QUIET].set;
    o->verbose = v[R_VERBOSE].set;
    if (!o->config)
        return opts_usage_error(&device_run_cmd, "--config FILE|URL is required");
    o->config_is_url = !strncmp(o->config, "http://", 7) || !strncmp(o->config, "https://", 8);
    return OPTS_OK;
}

int cmd_device_run(int argc, char **argv)
{
    run_opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    static ota32_posix_host host;
    ota32_platform base;
    memset(&base, 0, sizeof base);
    ota32_posix_platform_init(&host, &base);
    run_log lg = {.tty = isatty(STDOUT_FILENO) == 1,
                  .quiet = o.quiet,
                  .verbose = o.verbose,
                  .start_ms = now_ms()};
    base.log = (ota32_log_ops){&lg, log_line};
    o.so.on_progress = progress_bar;
    o.so.user = &lg;
    if (!o.config_is_url) {
        lg.config_file = o.config;
        o.so.still_wanted = still_wanted;
    }

    run_totals t;
    memset(&t, 0, sizeof t);
    t.result = "ok";
    int status = 0;
    for (;;) {
        if (interrupted)
            break;
        if (t.boots >= o.max_boots) {
            snprintf(t.error, sizeof t.error, "stopped after %u boots", t.boots);
            t.result = "stopped";
            status = 1;
            break;
        }
        vdev *d = NULL;
        ota32_diag diag;
        ota32_diag_clear(&diag);
        vdev_opts vo = {.timing = o.timing};
        int rc = vdev_open(&d, o.dev, &vo, &diag);
        if (rc != OTA32_OK) {
            /* vdev's messages start with the file name */
            if (diag.msg[0])
                return util_fail("%s", diag.msg);
            return util_fail("%s: %s", o.dev, ota32_strerror(rc));
        }
        vdev_boot b;
        rc = vdev_boot_once(d, true, &b, &diag);
        t.boots++;
        if (rc != OTA32_OK || b.bricked) {
            snprintf(t.error, sizeof t.error, "%s: %s", rc != OTA32_OK ? "boot failed" : "BRICKED",
                     rc != OTA32_OK ? (diag.msg[0] ? diag.msg : ota32_strerror(rc)) : b.reason);
            t.result = "bricked";
            vdev_close(d);
            status = 1;
            break;
        }
        snprintf(t.boot_label, sizeof t.boot_label, "%s", b.label);
        snprintf(t.boot_version, sizeof t.boot_version, "%s", b.app.version);
        t.boot_state = b.ota_state;
        char line[400];
        snprintf(line, sizeof line, "boot %u: %s, app version \"%s\" (%s)", t.boots, b.label,
                 b.app.version, b.reason);
        log_line(&lg, OTA32_LOG_INFO, line);

        ota32_platform plat = base;
        rc = vdev_platform(d, &plat);
        stop_on_interrupt(&plat);
        if (rc != OTA32_OK) {
            snprintf(t.error, sizeof t.error, "platform: %s", ota32_strerror(rc));
            vdev_close(d);
            status = 1;
            break;
        }
        int again = run_boot(&o, d, &plat, &host, &t, &status);
        ota32_posix_platform_close(&host);
        vdev_close(d);
        if (!again)
            break;
        log_line(&lg, OTA32_LOG_INFO, "device: rebooting");
    }
    clear_bar(&lg);
    if (interrupted) {
        t.result = "interrupted";
        status = 130;
    }
    if (status != 0 && !strcmp(t.result, "ok"))
        t.result = "failed";
    if (!print_summary(&o, &t, status) && status == 0)
        status = 1;
    if (status != 0)
        fprintf(stderr, "ota32: %s: %s\n", o.dev, t.error[0] ? t.error : t.result);
    return status;
}
