/* The firmware server's pure parts: Range and If-Range, request-target
 * decoding, the HTTP/1.1 head parser, and the checks on what it serves. */
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "http1_parse.h"
#include "http_range.h"
#include "image_build.h"
#include "posix_hash.h"
#include "serve_check.h"
#include "serve_path.h"

static http_range_result range(const char *v, uint64_t size, uint64_t *f, uint64_t *l)
{
    *f = *l = 12345;
    return http_range_parse(v, strlen(v), size, f, l);
}

TEST(range_single)
{
    uint64_t f, l;
    CHECK_EQ(range("bytes=0-99", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 0);
    CHECK_EQ(l, 99);
    CHECK_EQ(range("bytes=500-", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 500);
    CHECK_EQ(l, 999);
    CHECK_EQ(range("bytes=-100", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 900);
    CHECK_EQ(l, 999);
    /* a suffix longer than the file is the whole file */
    CHECK_EQ(range("bytes=-5000", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 0);
    CHECK_EQ(l, 999);
    /* last-pos beyond the end is clamped */
    CHECK_EQ(range("bytes=990-2000", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 990);
    CHECK_EQ(l, 999);
    CHECK_EQ(range("bytes=999-999", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 999);
    CHECK_EQ(l, 999);
    /* unit case-insensitive, OWS around the value and list elements */
    CHECK_EQ(range("  Bytes=10-19 ", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 10);
    CHECK_EQ(l, 19);
    CHECK_EQ(range("bytes= 10-19 ,", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 10);
    /* saturating: a 30-digit last-pos clamps instead of wrapping */
    CHECK_EQ(range("bytes=1-999999999999999999999999999999", 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(f, 1);
    CHECK_EQ(l, 999);
}

TEST(range_unsatisfiable_and_ignored)
{
    uint64_t f, l;
    CHECK_EQ(range("bytes=1000-", 1000, &f, &l), HTTP_RANGE_UNSATISFIABLE);
    CHECK_EQ(range("bytes=5000-6000", 1000, &f, &l), HTTP_RANGE_UNSATISFIABLE);
    CHECK_EQ(range("bytes=-0", 1000, &f, &l), HTTP_RANGE_UNSATISFIABLE);
    CHECK_EQ(range("bytes=0-", 0, &f, &l), HTTP_RANGE_UNSATISFIABLE);
    CHECK_EQ(range("bytes=99999999999999999999999-", 1000, &f, &l),
             HTTP_RANGE_UNSATISFIABLE);
    /* invalid syntax and other units are ignored (200, RFC 9110 14.2) */
    CHECK_EQ(range("bytes=9-1", 1000, &f, &l), HTTP_RANGE_NONE);
    CHECK_EQ(range("bytes=", 1000, &f, &l), HTTP_RANGE_NONE);
    CHECK_EQ(range("bytes=-", 1000, &f, &l), HTTP_RANGE_NONE);
    CHECK_EQ(range("bytes=a-b", 1000, &f, &l), HTTP_RANGE_NONE);
    CHECK_EQ(range("bytes=1-2-3", 1000, &f, &l), HTTP_RANGE_NONE);
    CHECK_EQ(range("bytes=+1-2", 1000, &f, &l), HTTP_RANGE_NONE);
    CHECK_EQ(range("items=0-1", 1000, &f, &l), HTTP_RANGE_NONE);
    CHECK_EQ(range("bytes 0-1", 1000, &f, &l), HTTP_RANGE_NONE);
    CHECK_EQ(f, 12345); /* outputs untouched unless ONE */
    /* several ranges: the whole body */
    CHECK_EQ(range("bytes=0-1,5-6", 1000, &f, &l), HTTP_RANGE_MULTI);
    CHECK_EQ(range("bytes=0-1, 2000-", 1000, &f, &l), HTTP_RANGE_MULTI);
    CHECK_EQ(range("bytes=2000-, 3000-", 1000, &f, &l), HTTP_RANGE_UNSATISFIABLE);
    /* one bad element makes the whole header invalid */
    CHECK_EQ(range("bytes=0-1,x", 1000, &f, &l), HTTP_RANGE_NONE);
    /* not NUL-terminated: only len bytes are read */
    char buf[16];
    memcpy(buf, "bytes=0-5999999", 15);
    CHECK_EQ(http_range_parse(buf, 9, 1000, &f, &l), HTTP_RANGE_ONE);
    CHECK_EQ(l, 5);
}

TEST(if_range)
{
    const char *etag = "\"93ed0-17a-2c\"", *lm = "Tue, 24 Nov 2026 01:00:00 GMT";
    CHECK(http_if_range_matches(etag, strlen(etag), etag, lm));
    CHECK(http_if_range_matches(" \"93ed0-17a-2c\" ", 16, etag, lm));
    CHECK(!http_if_range_matches("\"93ed0-17a-2d\"", 14, etag, lm));
    CHECK(!http_if_range_matches("W/\"93ed0-17a-2c\"", 16, etag, lm));
    CHECK(http_if_range_matches(lm, strlen(lm), etag, lm));
    CHECK(!http_if_range_matches("Tue, 24 Nov 2026 01:00:01 GMT", 29, etag, lm));
    CHECK(!http_if_range_matches("", 0, etag, lm));
}

static int decode(const char *t, char *out)
{
    return serve_path_decode(t, strlen(t), out, SERVE_PATH_MAX);
}

TEST(path_decoding)
{
    char out[SERVE_PATH_MAX];
    CHECK_EQ(decode("/app.bin", out), 0);
    CHECK_STR(out, "/app.bin");
    CHECK_EQ(decode("/app.bin?X-Amz-Signature=abc", out), 0);
    CHECK_STR(out, "/app.bin");
    CHECK_EQ(decode("/my%20app.bin", out), 0);
    CHECK_STR(out, "/my app.bin");
    CHECK_EQ(decode("/sub/app.bin", out), 0);
    CHECK_STR(out, "/sub/app.bin");
    CHECK_EQ(decode("/app.bin.", out), 0); /* a dot inside a name is fine */
    /* traversal in every spelling */
    CHECK_EQ(decode("/../etc/passwd", out), -1);
    CHECK_EQ(decode("/a/../../etc/passwd", out), -1);
    CHECK_EQ(decode("/%2e%2e/etc/passwd", out), -1);
    CHECK_EQ(decode("/%2E%2E%2Fetc%2Fpasswd", out), -1);
    CHECK_EQ(decode("/.%2e/x", out), -1);
    CHECK_EQ(decode("/sub%2Fapp.bin", out), -1);
    CHECK_EQ(decode("/sub%2fapp.bin", out), -1);
    CHECK_EQ(decode("/sub%5capp.bin", out), -1);
    CHECK_EQ(decode("/sub\\app.bin", out), -1);
    CHECK_EQ(decode("/./app.bin", out), -1);
    CHECK_EQ(decode("/.hidden", out), -1);
    CHECK_EQ(decode("//etc/passwd", out), -1);
    CHECK_EQ(decode("/a//b", out), -1);
    CHECK_EQ(decode("app.bin", out), -1);
    CHECK_EQ(decode("*", out), -1);
    CHECK_EQ(decode("/x%00.bin", out), -1);
    CHECK_EQ(decode("/x%0a", out), -1);
    CHECK_EQ(decode("/x%", out), -1);
    CHECK_EQ(decode("/x%4", out), -1);
    CHECK_EQ(decode("/x%zz", out), -1);
    CHECK_EQ(decode("", out), -1);
    /* too long for the output */
    char small[8];
    CHECK_EQ(serve_path_decode("/abcdefgh", 9, small, sizeof small), -1);
    CHECK_EQ(serve_path_decode("/abcdef", 7, small, sizeof small), 0);
    CHECK_STR(small, "/abcdef");
}

TEST(path_for_log)
{
    char out[64];
    serve_path_for_log("/fw.bin?sig=SECRET&x=1", 22, out, sizeof out);
    CHECK_STR(out, "/fw.bin?<redacted>");
    serve_path_for_log("/a b\n\"", 6, out, sizeof out);
    CHECK_STR(out, "/a%20b%0A%22");
    char tiny[16];
    serve_path_for_log("/0123456789abcdef?q", 19, tiny, sizeof tiny);
    CHECK(strlen(tiny) < sizeof tiny);
    CHECK(!strstr(tiny, "q"));
    serve_path_for_log(NULL, 0, out, sizeof out);
    CHECK_STR(out, "");
}

static int head(const char *s, http1_request *rq)
{
    return http1_parse_head(s, strlen(s), rq);
}

TEST(http1_head)
{
    http1_request rq;
    CHECK_EQ(head("GET /app.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n"
                  "If-Range: \"abc\"\r\n\r\n", &rq), 0);
    CHECK(rq.method.len == 3 && !memcmp(rq.method.p, "GET", 3));
    CHECK(rq.target.len == 8 && !memcmp(rq.target.p, "/app.bin", 8));
    CHECK_EQ(rq.minor, 1);
    CHECK(rq.keep_alive);
    CHECK(rq.has_range && rq.range.len == 9 && !memcmp(rq.range.p, "bytes=0-9", 9));
    CHECK(rq.has_if_range && rq.if_range.len == 5);
    CHECK_EQ(head("HEAD / HTTP/1.1\r\nhost: x\r\nConnection: keep-alive, Close\r\n\r\n", &rq),
             0);
    CHECK(!rq.keep_alive);
    CHECK_EQ(head("GET / HTTP/1.0\r\n\r\n", &rq), 0);
    CHECK(!rq.keep_alive);
    CHECK_EQ(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &rq), 0);
    CHECK(rq.keep_alive);
    CHECK_EQ(head("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &rq), 0);
    /* strict rejections */
    CHECK_EQ(head("GET / HTTP/1.1\r\n\r\n", &rq), 400);                    /* no Host */
    CHECK_EQ(head("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &rq), 400);
    CHECK_EQ(head("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &rq), 400);       /* space */
    CHECK_EQ(head("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", &rq), 400);
    CHECK_EQ(head("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", &rq), 400);  /* bare LF */
    CHECK_EQ(head("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", &rq), 400);
    CHECK_EQ(head("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", &rq), 400);
    CHECK_EQ(head("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &rq),
             501);
    CHECK_EQ(head("PRI * HTTP/2.0\r\n\r\n", &rq), 505);
    CHECK_EQ(head("GET / HTTP/1.1", &rq), 400);
    CHECK_EQ(head("\r\n\r\n", &rq), 400);
    /* what cannot become a request is known early */
    CHECK_EQ(http1_check_prefix("GE", 2), 0);
    CHECK_EQ(http1_check_prefix("GET /", 5), 0);
    CHECK_EQ(http1_check_prefix("", 0), 0);
    CHECK_EQ(http1_check_prefix("\x16\x03\x01", 3), 400); /* TLS ClientHello */
    CHECK_EQ(http1_check_prefix(" GET", 4), 400);
    CHECK_EQ(http1_check_prefix("GET\r\n", 5), 400);
    CHECK_EQ(http1_check_prefix("AAAAAAAAAAAAAAAAAAAA", 20), 400);
    char big[HTTP1_TARGET_MAX + 64];
    int n = snprintf(big, sizeof big, "GET /");
    memset(big + n, 'a', HTTP1_TARGET_MAX);
    snprintf(big + n + HTTP1_TARGET_MAX, sizeof big - (size_t)n - HTTP1_TARGET_MAX,
             " HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ(head(big, &rq), 414);
}

/* serve_check_image on a file; a file that cannot be opened fails the case
 * and leaves a verdict that says so. */
static int check_file(const char *path, const serve_limits *lim, serve_verdict *v)
{
    memset(v, 0, sizeof *v);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    if (fd < 0) {
        v->err = -1;
        snprintf(v->msg, sizeof v->msg, "%s: cannot open", path);
        return -1;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    int rc = serve_check_image(fd, (uint64_t)size, lim, v);
    close(fd);
    return rc;
}

static const char *write_tmp(const char *name, const uint8_t *data, size_t len)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", check_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ(fwrite(data, 1, len, f), len);
        fclose(f);
    }
    return path;
}

/* An app image made by ota32_image_build, as large as esptool's
 * app-template (601808 bytes); malloc'd, or NULL (the case fails). */
#define APP_LEN 601808u
static uint8_t *made_app(size_t *len)
{
    uint8_t *img = malloc(APP_LEN);
    ota32_image_build_opts o = {.version = "1.0.0",
                                .project_name = "ota32-test",
                                .size = APP_LEN,
                                .chip_id = OTA32_CHIP_ESP32,
                                .hash = ota32_posix_hash()};
    ota32_diag d;
    ota32_diag_clear(&d);
    if (img && ota32_image_build(&o, img, APP_LEN, &d) != OTA32_OK) {
        check_fail(__FILE__, __LINE__, "ota32_image_build: %s", d.msg);
        free(img);
        img = NULL;
    }
    *len = APP_LEN;
    return img;
}

/* The made app in the temporary directory, or NULL. */
static const char *made_app_file(void)
{
    static char path[512];
    size_t len;
    uint8_t *app = made_app(&len);
    if (!app)
        return NULL;
    snprintf(path, sizeof path, "%s", write_tmp("app.bin", app, len));
    free(app);
    return path;
}

TEST(check_app_image)
{
    serve_verdict v;
    const char *app = made_app_file();
    if (!app)
        return;
    CHECK_EQ(check_file(app, NULL, &v), 0);
    CHECK(v.has_desc);
    CHECK_STR(v.version, "1.0.0");
    CHECK_STR(v.project, "ota32-test");
    CHECK_EQ(v.chip_id, 0);
    CHECK_EQ(v.image_len, APP_LEN);
    CHECK(!v.merged);
}

TEST(check_esptool_images)
{
    /* esptool's app image passes; its bootloader is an image but not an app;
     * its merge-bin output is recognised as a merged image */
    serve_verdict v;
    CHECK_EQ(check_file(check_interop_path("esp-images/app-template-esp32.bin"), NULL, &v), 0);
    CHECK(v.err == 0 && v.has_desc);
    CHECK_STR(v.version, "1cd5752");
    CHECK_STR(v.project, "app-template");
    CHECK_EQ(v.chip_id, 0);
    CHECK(!v.merged);
    CHECK(check_file(check_interop_path("esp-images/bootloader-esp32.bin"), NULL, &v) < 0);
    CHECK_CONTAINS(v.msg, "not a valid app image");
    CHECK_EQ(check_file(check_interop_path("vectors/merged.bin"), NULL, &v), OTA32_ERR_UNSUPPORTED);
    CHECK(v.merged);
    CHECK_CONTAINS(v.msg, "732880 bytes");
}

TEST(check_refuses_merged_and_invalid)
{
    size_t len;
    uint8_t *app = made_app(&len);
    if (!app)
        return;
    /* merged: bootloader at 0x1000, table at 0x8000, app at 0x10000 */
    size_t mlen = 0x10000 + len;
    uint8_t *m = malloc(mlen);
    memset(m, 0xFF, mlen);
    m[0x1000] = 0xE9;
    m[0x8000] = 0xAA;
    m[0x8001] = 0x50;
    memcpy(m + 0x10000, app, len);
    serve_verdict v;
    CHECK_EQ(check_file(write_tmp("merged.bin", m, mlen), NULL, &v), OTA32_ERR_UNSUPPORTED);
    CHECK(v.merged);
    CHECK_CONTAINS(v.msg, "merged image");
    CHECK_CONTAINS(v.msg, "make flash-esp32-bin");
    CHECK_CONTAINS(v.msg, "make build-esp32-ota");
    free(m);

    /* one flipped byte in the body: checksum or hash */
    app[len / 2] ^= 0x01;
    CHECK(check_file(write_tmp("flipped.bin", app, len), NULL, &v) < 0);
    CHECK_CONTAINS(v.msg, "not a valid app image");
    app[len / 2] ^= 0x01;
    /* truncated */
    CHECK(check_file(write_tmp("short.bin", app, len - 100), NULL, &v) < 0);
    CHECK_CONTAINS(v.msg, "not a valid app image");
    /* not an image at all: names offset 0 */
    CHECK(check_file(write_tmp("text.bin", (const uint8_t *)"hello", 5), NULL, &v) < 0);
    CHECK_CONTAINS(v.msg, "offset 0x0");
    free(app);
}

TEST(check_partition_limit)
{
    serve_limits lim = {.max_app_size = 0xA0000, .max_label = "ota_1", .table_name = "p.csv"};
    serve_verdict v;
    const char *app = made_app_file();
    if (!app)
        return;
    CHECK_EQ(check_file(app, &lim, &v), 0);
    lim.max_app_size = 0x80000; /* 524288 < 601808 */
    CHECK_EQ(check_file(app, &lim, &v), OTA32_ERR_TOO_BIG);
    CHECK_CONTAINS(v.msg, "601808 bytes");
    CHECK_CONTAINS(v.msg, "ota_1 (524288 bytes, 0x80000)");
    CHECK_CONTAINS(v.msg, "p.csv");

    const char *csv = "# Name, Type, SubType, Offset, Size\n"
                      "nvs, data, nvs, 0x9000, 0x6000\n"
                      "otadata, data, ota, 0xf000, 0x2000\n"
                      "ota_0, app, ota_0, 0x20000, 0x100000\n"
                      "ota_1, app, ota_1, 0x120000, 0x80000\n";
    const char *path = write_tmp("p.csv", (const uint8_t *)csv, strlen(csv));
    char msg[256] = "";
    CHECK_EQ(serve_limits_from_csv(path, &lim, msg, sizeof msg), 0);
    CHECK_EQ(lim.max_app_size, 0x80000);
    CHECK_STR(lim.max_label, "ota_1");
    const char *no_ota = "nvs, data, nvs, 0x9000, 0x6000\nfactory, app, factory, 0x10000, 1M\n";
    path = write_tmp("f.csv", (const uint8_t *)no_ota, strlen(no_ota));
    CHECK(serve_limits_from_csv(path, &lim, msg, sizeof msg) < 0);
    CHECK_CONTAINS(msg, "no ota_N app partition");
}

RUN_TESTS(CASE(range_single), CASE(range_unsatisfiable_and_ignored), CASE(if_range),
          CASE(path_decoding), CASE(path_for_log), CASE(http1_head), CASE(check_app_image),
          CASE(check_refuses_merged_and_invalid), CASE(check_partition_limit),
          INTEROP_CASE(check_esptool_images))
