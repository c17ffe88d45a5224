/* ota32 fetch: download a URL exactly as a device would (the core's HTTP/2
 * client over the host transport, counted heap), report what the server
 * said and how fast, and optionally verify the body as an app image. */
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
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ota32 fetch URL [-o FILE] [--ca FILE] [--insecure] [--window N] [--range N]\n"
            "                       [--if-range VALIDATOR] [--head] [--verify-image [--chip C]]\n"
            "                       [--stall SECONDS] [--timeout SECONDS] [--max-redirects N]\n"
            "                       [--quiet]\n\n"
            "Download URL over HTTP/2 with the device's client: h2c (prior knowledge) for\n"
            "http://, TLS with ALPN h2 for https://. Prints the status, headers of interest,\n"
            "bytes, time, throughput and the client's peak heap.\n\n"
            "  -o FILE          write the body to FILE (replaced only on success)\n"
            "  --ca FILE        trust these CA certificates instead of the system store\n"
            "  --insecure       do not verify the server certificate (tests only)\n"
            "  --window N       HTTP/2 receive window (default 16K; e.g. 64K, 1M)\n"
            "  --range N        ask for the bytes from offset N (Range: bytes=N-)\n"
            "  --if-range V     send If-Range: V with --range (an ETag or a date)\n"
            "  --head           HEAD instead of GET\n"
            "  --verify-image   parse the body as an ESP32 app image and check it\n"
            "  --chip C         ... as an app for chip C instead (esp32s2, ...)\n"
            "  --stall S        fail when no byte arrives for S seconds (default 30)\n"
            "  --timeout S      overall deadline in seconds (default none)\n"
            "  --max-redirects N  redirects to follow (default 5)\n"
            "  --quiet          print nothing but errors\n");
}

typedef struct fetch_state {
    FILE *out;
    const char *out_path;
    bool verify;
    ota32_image_parser parser;
    ota32_diag image_diag;
    int image_error;
    uint64_t written;
} fetch_state;

static int on_response(void *user, const ota32_http_response *resp)
{
    (void)user;
    (void)resp;
    return OTA32_OK;
}

static int on_data(void *user, const uint8_t *data, size_t len)
{
    fetch_state *s = user;
    if (s->out && fwrite(data, 1, len, s->out) != len)
        return OTA32_ERR_IO;
    if (s->verify && !s->image_error) {
        size_t used = 0;
        int rc = ota32_image_parser_feed(&s->parser, data, len, &used, &s->image_diag);
        if (rc < 0) {
            s->image_error = rc;
            return rc; /* no point downloading the rest */
        }
    }
    s->written += len;
    return OTA32_OK;
}

static bool parse_seconds(const char *s, uint32_t *ms)
{
    uint64_t v;
    if (!util_parse_uint(s, 86400, &v) || v == 0)
        return false;
    *ms = (uint32_t)(v * 1000u);
    return true;
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

int cmd_fetch(int argc, char **argv)
{
    if (util_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *url_text = NULL, *out_path = NULL, *if_range = NULL;
    bool quiet = false, verify = false, head = false;
    uint16_t chip = OTA32_CHIP_ESP32;
    ota32_http_opts opts = {0};
    uint64_t range = 0;
    uint32_t timeout_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        bool takes = true;
        if (!strcmp(a, "-o") && v)
            out_path = v;
        else if (!strcmp(a, "--ca") && v)
            opts.ca_file = v;
        else if (!strcmp(a, "--window") && v) {
            if (!util_parse_size(v, &n) || n < 1024 || n > 0x7fffffff)
                return util_usage_fail("fetch: --window %s: expected 1K..2G bytes", v);
            opts.window = (uint32_t)n;
        } else if (!strcmp(a, "--range") && v) {
            if (!util_parse_size(v, &range))
                return util_usage_fail("fetch: --range %s: expected a byte offset", v);
        } else if (!strcmp(a, "--if-range") && v)
            if_range = v;
        else if (!strcmp(a, "--stall") && v) {
            if (!parse_seconds(v, &opts.stall_timeout_ms))
                return util_usage_fail("fetch: --stall %s: expected 1..86400 seconds", v);
        } else if (!strcmp(a, "--timeout") && v) {
            if (!parse_seconds(v, &timeout_ms))
                return util_usage_fail("fetch: --timeout %s: expected 1..86400 seconds", v);
        } else if (!strcmp(a, "--chip") && v) {
            if (ota32_chip_from_name(v, &chip) != OTA32_OK)
                return util_usage_fail("fetch: --chip %s: expected a chip name such as esp32", v);
            verify = true;
        } else if (!strcmp(a, "--max-redirects") && v) {
            if (!util_parse_uint(v, 100, &n) || n == 0)
                return util_usage_fail("fetch: --max-redirects %s: expected 1..100", v);
            opts.max_redirects = (unsigned)n;
        } else {
            takes = false;
            if (!strcmp(a, "--insecure"))
                opts.insecure = true;
            else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
                quiet = true;
            else if (!strcmp(a, "--verify-image"))
                verify = true;
            else if (!strcmp(a, "--head"))
                head = true;
            else if (a[0] == '-' && a[1])
                return util_usage_fail("fetch: unknown or incomplete option '%s' (see --help)", a);
            else if (!url_text)
                url_text = a;
            else
                return util_usage_fail("fetch: more than one URL ('%s')", a);
        }
        if (takes)
            i++;
    }
    if (!url_text) {
        usage(stderr);
        return 2;
    }
    if (if_range && !range)
        return util_usage_fail("fetch: --if-range needs --range");
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

    fetch_state st = {.verify = verify, .out_path = out_path};
    char tmp[4200];
    if (out_path) {
        snprintf(tmp, sizeof tmp, "%s.part.%ld", out_path, (long)getpid());
        st.out = fopen(tmp, "wb");
        if (!st.out)
            return util_fail("%s: %s", out_path, strerror(errno));
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
    rc = ota32_http_get(&plat, &req, &opts, &cb, &resp, &diag);
    double secs = (double)(ota32_posix_now_ms() - t0) / 1000.0;
    ota32_posix_platform_close(&host);

    if (rc == OTA32_OK && st.out && fclose(st.out) != 0)
        rc = OTA32_ERR_IO;
    else if (rc != OTA32_OK && st.out)
        fclose(st.out);
    st.out = NULL;

    if (rc == OTA32_OK && verify) {
        rc = ota32_image_parser_finish(&st.parser, &st.image_diag);
        if (rc) {
            st.image_error = rc;
        }
    } else if (verify) {
        ota32_image_parser_abort(&st.parser);
    }

    if (rc != OTA32_OK) {
        if (out_path)
            unlink(tmp);
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
    if (out_path && rename(tmp, out_path) != 0) {
        int e = errno;
        unlink(tmp);
        return util_fail("%s: %s", out_path, strerror(e));
    }
    if (host.alloc.current != 0)
        return util_fail("fetch: %zu heap bytes still allocated after the download",
                         host.alloc.current);
    if (!quiet) {
        print_report(redacted, &resp, secs, &host.alloc);
        if (verify)
            print_app(&st.parser.info);
    }
    return 0;
}
