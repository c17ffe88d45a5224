/* ota32 fetch: download a URL exactly as a device would (the core's HTTP/2
 * client over the host transport, counted heap), report what the server
 * said and how fast, and optionally verify the body as an app image. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "ota32/http.h"
#include "ota32/image.h"
#include "posix_clock.h"
#include "posix_hash.h"
#include "posix_platform.h"
#include "opts.h"
#include "outfile.h"
#include "util.h"

/* the stream window `device run` uses too (the device default) */
#define FETCH_WINDOW_DEFAULT 65536u

enum {
    G_OUTPUT,
    G_CA,
    G_INSECURE,
    G_WINDOW,
    G_RANGE,
    G_IF_RANGE,
    G_HEAD,
    G_VERIFY,
    G_CHIP,
    G_STALL,
    G_TIMEOUT,
    G_REDIRECTS,
    G_QUIET,
    G_JSON,
    G_COUNT
};

static const opt_def fetch_opts[G_COUNT] = {
    [G_OUTPUT] = {"-o --output", OPT_STRING, "FILE",
                  "write the body to FILE (a regular file is replaced only\n"
                  "on success; '-': standard output)",
                  0, 0, NULL, "file"},
    [G_CA] = {"--ca", OPT_STRING, "FILE", "trust these CA certificates instead of the system store",
              0, 0, NULL, "file"},
    [G_INSECURE] = {"--insecure", OPT_FLAG, NULL, "do not verify the server certificate (tests only)",
                    0, 0, NULL, NULL},
    [G_WINDOW] = {"--window", OPT_SIZE, "BYTES",
                  "HTTP/2 stream window (default 64K, as `device run`;\ne.g. 16K, 1M)", 1024,
                  0x7fffffff, NULL, NULL},
    [G_RANGE] = {"--range", OPT_SIZE, "N", "ask for the bytes from offset N (Range: bytes=N-)", 0,
                 0, NULL, NULL},
    [G_IF_RANGE] = {"--if-range", OPT_STRING, "V", "send If-Range: V with --range (an ETag or a date)",
                    0, 0, NULL, NULL},
    [G_HEAD] = {"--head", OPT_FLAG, NULL, "HEAD instead of GET", 0, 0, NULL, NULL},
    [G_VERIFY] = {"--verify-image", OPT_FLAG, NULL, "parse the body as an ESP32 app image and check it",
                  0, 0, NULL, NULL},
    [G_CHIP] = {"--chip", OPT_STRING, "CHIP",
                "with --verify-image: an app for this chip (default esp32)", 0, 0, NULL, NULL},
    [G_STALL] = {"--stall-timeout|--stall", OPT_NUMBER, "SECONDS",
                 "fail when no byte arrives for this long (default 30)", 1, 86400, NULL, NULL},
    [G_TIMEOUT] = {"--timeout", OPT_NUMBER, "SECONDS", "overall deadline (default none)", 1, 86400,
                   NULL, NULL},
    [G_REDIRECTS] = {"--max-redirects", OPT_NUMBER, "N", "redirects to follow (default 5)", 1, 100,
                     NULL, NULL},
    [G_QUIET] = {"-q --quiet", OPT_FLAG, NULL, "print nothing but errors", 0, 0, NULL, NULL},
    [G_JSON] = {"--json", OPT_FLAG, NULL, "the report as JSON", 0, 0, NULL, NULL},
};

static const opt_cmd fetch_cmd = {
    "fetch", "URL [-o FILE] [options]",
    "Download URL over HTTP/2 with the device's client: h2c (prior knowledge) for\n"
    "http://, TLS with ALPN h2 for https://. Prints the status, headers of interest,\n"
    "bytes, time, throughput and the client's peak heap; on a terminal, a progress\n"
    "line on stderr while it downloads.",
    fetch_opts, G_COUNT, 1, 1, "exit status: 0 done, 1 failed, 2 usage error", false};

typedef struct fetch_state {
    FILE *out;
    bool progress; /* a progress line on stderr (a terminal) */
    bool progress_shown;
    uint64_t last_progress_ms, start_ms;
    int64_t total; /* the body's length, -1 when unknown */
    int write_errno; /* why writing the body failed */
    bool verify;
    ota32_image_parser parser;
    ota32_diag image_diag;
    int image_error;
    uint64_t written;
} fetch_state;

static int on_response(void *user, const ota32_http_response *resp)
{
    fetch_state *s = user;
    s->total = resp->content_length;
    return OTA32_OK;
}

static void show_progress(fetch_state *s, bool last)
{
    uint64_t t = ota32_posix_now_ms();
    if (!s->progress || (!last && t - s->last_progress_ms < 200))
        return;
    s->last_progress_ms = t;
    double secs = (double)(t - s->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)s->written / secs / 1e6 : 0;
    if (s->total > 0)
        fprintf(stderr, "\r%3u%% %.1f/%.1f MB %.2f MB/s  ",
                (unsigned)(s->written * 100 / (uint64_t)s->total), (double)s->written / 1e6,
                (double)s->total / 1e6, rate);
    else
        fprintf(stderr, "\r%.1f MB %.2f MB/s  ", (double)s->written / 1e6, rate);
    s->progress_shown = true;
    if (last) {
        fputc('\n', stderr);
        s->progress_shown = false;
    }
}

static int on_data(void *user, const uint8_t *data, size_t len)
{
    fetch_state *s = user;
    if (s->out && fwrite(data, 1, len, s->out) != len) {
        s->write_errno = errno ? errno : EIO;
        return OTA32_ERR_IO;
    }
    if (s->verify && !s->image_error) {
        size_t used = 0;
        int rc = ota32_image_parser_feed(&s->parser, data, len, &used, &s->image_diag);
        if (rc < 0) {
            s->image_error = rc;
            return rc; /* no point downloading the rest */
        }
    }
    s->written += len;
    show_progress(s, false);
    return OTA32_OK;
}

static void print_report(const char *url, const ota32_http_response *r, double secs,
                         const ota32_posix_alloc *heap)
{
    printf("url:            %s\n", url);
    printf("status:         %d\n", r->status);
    if (r->redirects) {
        char to[300];
        ota32_url_redact(r->location, to, sizeof to);
        printf("redirects:      %u (to %s)\n", r->redirects, to);
    }
    if (r->content_length >= 0)
        printf("content-length: %lld\n", (long long)r->content_length);
    if (r->status == 206)
        printf("content-range:  from %llu of %lld\n", (unsigned long long)r->range_start,
               (long long)r->total_length);
    if (r->etag[0])
        printf("etag:           %s\n", r->etag);
    if (r->last_modified[0])
        printf("last-modified:  %s\n", r->last_modified);
    printf("bytes:          %llu\n", (unsigned long long)r->body_bytes);
    printf("seconds:        %.3f\n", secs);
    double rate = secs > 0 ? (double)r->body_bytes / secs : 0;
    printf("throughput:     %.2f MB/s (%.0f KiB/s)\n", rate / 1e6, rate / 1024);
    printf("peak heap:      %zu bytes (%llu allocations)\n", heap->peak,
           (unsigned long long)heap->count);
}

static int print_json(const char *url, const ota32_http_response *r, double secs,
                      const ota32_posix_alloc *heap, const ota32_image_info *info)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddNumberToObject(o, "status", r->status);
    cJSON_AddNumberToObject(o, "redirects", r->redirects);
    if (r->redirects) {
        char to[300];
        ota32_url_redact(r->location, to, sizeof to);
        cJSON_AddStringToObject(o, "location", to);
    }
    if (r->content_length >= 0)
        cJSON_AddNumberToObject(o, "content_length", (double)r->content_length);
    else
        cJSON_AddNullToObject(o, "content_length");
    if (r->status == 206) {
        cJSON_AddNumberToObject(o, "range_start", (double)r->range_start);
        cJSON_AddNumberToObject(o, "total_length", (double)r->total_length);
    }
    cJSON_AddStringToObject(o, "etag", r->etag);
    cJSON_AddStringToObject(o, "last_modified", r->last_modified);
    cJSON_AddNumberToObject(o, "bytes", (double)r->body_bytes);
    cJSON_AddNumberToObject(o, "seconds", secs);
    cJSON_AddNumberToObject(o, "bytes_per_s", secs > 0 ? (double)r->body_bytes / secs : 0);
    cJSON_AddNumberToObject(o, "peak_heap", (double)heap->peak);
    if (info) {
        char sha[65];
        util_hex(info->sha256_calc, 32, sha);
        cJSON *im = cJSON_AddObjectToObject(o, "image");
        const char *chip = ota32_chip_name(info->chip_id);
        cJSON_AddStringToObject(im, "chip", chip ? chip : "unknown");
        cJSON_AddNumberToObject(im, "image_len", info->image_len);
        cJSON_AddNumberToObject(im, "segment_count", info->segment_count);
        cJSON_AddStringToObject(im, "sha256", sha);
        if (info->has_app_desc)
            cJSON_AddItemToObject(im, "app", util_app_desc_json(&info->app_desc));
    }
    return util_print_json(o);
}

static void print_app(const ota32_image_info *info)
{
    char sha[65];
    util_hex(info->sha256_calc, 32, sha);
    const char *chip = ota32_chip_name(info->chip_id);
    printf("image:          ok, %u bytes, chip %s, %u segments\n", info->image_len,
           chip ? chip : "unknown", info->segment_count);
    if (info->has_app_desc) {
        const ota32_app_desc *d = &info->app_desc;
        printf("app version:    %s\n", d->version);
        printf("app project:    %s\n", d->project_name);
        printf("app built:      %s %s\n", d->date, d->time);
        printf("app idf:        %s\n", d->idf_ver);
        printf("secure version: %u\n", d->secure_version);
    }
    printf("image sha256:   %s\n", sha);
}

static int cmd_fetch(int argc, char **argv)
{
    opt_value v[G_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(&fetch_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    const char *url_text = pos[0], *out_path = v[G_OUTPUT].str, *if_range = v[G_IF_RANGE].str;
    bool quiet = v[G_QUIET].set, verify = v[G_VERIFY].set, head = v[G_HEAD].set;
    uint16_t chip = OTA32_CHIP_ESP32;
    if (v[G_CHIP].set && ota32_chip_from_name(v[G_CHIP].str, &chip) != OTA32_OK)
        return opts_usage_error(&fetch_cmd, "--chip %s: expected a chip name such as esp32",
                                v[G_CHIP].str);
    verify = verify || v[G_CHIP].set;
    bool json = v[G_JSON].set;
    ota32_http_opts opts = {0};
    opts.ca_file = v[G_CA].str;
    opts.insecure = v[G_INSECURE].set;
    opts.window = v[G_WINDOW].set ? (uint32_t)v[G_WINDOW].num : FETCH_WINDOW_DEFAULT;
    opts.stall_timeout_ms = (uint32_t)(v[G_STALL].num * 1000);
    opts.max_redirects = (unsigned)v[G_REDIRECTS].num;
    uint64_t range = v[G_RANGE].num;
    uint32_t timeout_ms = (uint32_t)(v[G_TIMEOUT].num * 1000);
    if (if_range && !range)
        return opts_usage_error(&fetch_cmd, "--if-range needs --range");
    char redacted[300];
    ota32_url_redact(url_text, redacted, sizeof redacted);
    ota32_url url;
    ota32_diag diag;
    ota32_diag_clear(&diag);
    int rc = ota32_url_parse(url_text, &url, &diag);
    if (rc) {
        char context[320];
        snprintf(context, sizeof context, "fetch: %s", redacted);
        util_report(context, rc, &diag);
        return 2;
    }

    ota32_platform plat = {0};
    ota32_posix_host host;
    ota32_posix_platform_init(&host, &plat);
    if (timeout_ms)
        opts.deadline_ms = ota32_posix_now_ms() + timeout_ms;

    fetch_state st = {.verify = verify, .total = -1};
    bool body_to_stdout = out_path && !strcmp(out_path, "-");
    st.progress = !quiet && !json && isatty(STDERR_FILENO) == 1;
    out_file out;
    if (out_path) {
        if (out_open(&out, out_path) != 0)
            return 1;
        st.out = out.f;
    }
    if (verify) {
        ota32_image_opts io = {
            .chip_id = chip,
            .require_app_desc = true,
            .hash = ota32_posix_hash(),
        };
        ota32_image_parser_init(&st.parser, &io);
        ota32_diag_clear(&st.image_diag);
    }

    ota32_http_request req = {.url = &url, .range_start = range, .if_range = if_range,
                              .head = head};
    ota32_http_callbacks cb = {.user = &st, .on_response = on_response, .on_data = on_data};
    ota32_http_response resp;
    uint64_t t0 = ota32_posix_now_ms();
    st.start_ms = t0;
    rc = ota32_http_get(&plat, &req, &opts, &cb, &resp, &diag);
    if (st.progress_shown)
        show_progress(&st, true);
    double secs = (double)(ota32_posix_now_ms() - t0) / 1000.0;
    ota32_posix_platform_close(&host);

    int write_errno = st.write_errno;

    if (rc == OTA32_OK && verify) {
        rc = ota32_image_parser_finish(&st.parser, &st.image_diag);
        if (rc) {
            st.image_error = rc;
        }
    } else if (verify) {
        ota32_image_parser_abort(&st.parser);
    }

    if (rc != OTA32_OK) {
        if (write_errno) {
            out_fail(&out, write_errno);
            return 1;
        }
        if (out_path)
            out_abort(&out);
        if (st.image_error) {
            util_report("fetch: image", st.image_error, &st.image_diag);
        } else {
            util_report("fetch", rc, &diag); /* the message names the URL */
            if (resp.body_bytes)
                fprintf(stderr, "ota32: %llu body bytes received before the failure\n",
                        (unsigned long long)resp.body_bytes);
        }
        if (!quiet)
            fprintf(stderr, "ota32: peak heap %zu bytes\n", host.alloc.peak);
        return 1;
    }
    if (out_path && out_commit(&out) != 0)
        return 1;
    if (host.alloc.current != 0)
        return util_fail("fetch: %zu heap bytes still allocated after the download",
                         host.alloc.current);
    if (json)
        return print_json(redacted, &resp, secs, &host.alloc, verify ? &st.parser.info : NULL);
    if (!quiet && body_to_stdout) {
        fprintf(stderr, "ota32: %llu bytes, %.3f s\n", (unsigned long long)resp.body_bytes, secs);
    } else if (!quiet) {
        print_report(redacted, &resp, secs, &host.alloc);
        if (verify)
            print_app(&st.parser.info);
    }
    return 0;
}

static const opt_cmd *const fetch_cmds[] = {&fetch_cmd};

const opt_group fetch_group = {"fetch",
                               "download a URL as a device would (HTTP/2), verifying the image",
                               fetch_cmds, 1, cmd_fetch};
