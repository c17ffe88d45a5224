/* The HTTP/2 client's heap against a real server (nghttpd, h2c): a 3.5 MB
 * download through the counting allocator peaks below 64 KiB whatever the
 * window, frees everything, and every single allocation failure is handled
 * (no crash, no leak, an error returned). */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ota32/http.h"
#include "posix_platform.h"

#define BIG_LEN 3500000u

static int server_port;
static pid_t server_pid;
static unsigned char *big;

static int free_port(void)
{
    /* Ask python for a free port, as the shell tests do. */
    FILE *p = popen("python3 -c 'import socket; s=socket.socket(); "
                    "s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'",
                    "r");
    int port = 0;
    if (p) {
        if (fscanf(p, "%d", &port) != 1)
            port = 0;
        pclose(p);
    }
    return port;
}

static void stop_server(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        server_pid = 0;
    }
}

/* Start nghttpd on a free port serving a fresh 3.5 MB file; false (and a
 * message) when nghttpd is not installed. */
static bool start_server(void)
{
    if (system("command -v nghttpd >/dev/null 2>&1") != 0) {
        printf("SKIP: nghttpd (Debian package nghttp2-server) is not installed\n");
        return false;
    }
    const char *dir = check_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/big.bin", dir);
    big = malloc(BIG_LEN);
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < BIG_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big[i] = (unsigned char)x;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(big, 1, BIG_LEN, f) != BIG_LEN || fclose(f) != 0) {
        check_fail(__FILE__, __LINE__, "cannot write %s", path);
        return false;
    }
    snprintf(path, sizeof path, "%s/small.bin", dir);
    f = fopen(path, "wb");
    if (!f || fwrite(big, 1, 5000, f) != 5000 || fclose(f) != 0)
        return false;
    server_port = free_port();
    if (!server_port)
        return false;
    server_pid = fork();
    if (server_pid == 0) {
        char port[16];
        snprintf(port, sizeof port, "%d", server_port);
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execlp("nghttpd", "nghttpd", "--no-tls", "-a", "127.0.0.1", "-d", dir, port,
               (char *)NULL);
        _exit(127);
    }
    atexit(stop_server);
    /* Wait until it accepts connections. */
    ota32_posix_transport t;
    ota32_posix_transport_init(&t);
    ota32_transport_ops ops = ota32_posix_transport_ops(&t);
    ota32_transport_opts o = {.host = "127.0.0.1", .port = (uint16_t)server_port,
                              .timeout_ms = 1000};
    for (int i = 0; i < 100; i++) {
        if (ops.connect(ops.ctx, &o, NULL) == OTA32_OK) {
            ops.close(ops.ctx);
            return true;
        }
        usleep(50000);
    }
    check_fail(__FILE__, __LINE__, "nghttpd did not start on port %d", server_port);
    return false;
}

typedef struct sink {
    size_t len;
    bool match; /* bytes so far equal the file */
} sink;

static int sink_data(void *user, const uint8_t *data, size_t len)
{
    sink *s = user;
    if (s->len + len > BIG_LEN || memcmp(big + s->len, data, len) != 0)
        s->match = false;
    s->len += len;
    return OTA32_OK;
}

static int fetch(ota32_posix_host *host, const char *file, uint32_t window, sink *s,
                 ota32_http_response *resp, ota32_diag *diag)
{
    ota32_platform plat = {0};
    ota32_posix_alloc keep = host->alloc;
    ota32_posix_platform_init(host, &plat);
    /* Keep the cap and failure injection chosen by the caller. */
    host->alloc.cap = keep.cap;
    host->alloc.fail_at = keep.fail_at;
    char text[128];
    snprintf(text, sizeof text, "http://127.0.0.1:%d/%s", server_port, file);
    ota32_url url;
    CHECK_EQ(ota32_url_parse(text, &url, NULL), OTA32_OK);
    ota32_http_request req = {.url = &url};
    ota32_http_opts opts = {.window = window, .stall_timeout_ms = 10000};
    ota32_http_callbacks cb = {.user = s, .on_data = sink_data};
    s->len = 0;
    s->match = true;
    int rc = ota32_http_get(&plat, &req, &opts, &cb, resp, diag);
    ota32_posix_platform_close(host);
    return rc;
}

static bool have_server;

TEST(peak_heap_bounded)
{
    if (!have_server)
        return;
    static const uint32_t windows[] = {16 * 1024, 64 * 1024, 1024 * 1024};
    size_t peaks[3];
    for (size_t i = 0; i < 3; i++) {
        ota32_posix_host host;
        memset(&host, 0, sizeof host);
        sink s;
        ota32_http_response resp;
        ota32_diag d;
        int rc = fetch(&host, "big.bin", windows[i], &s, &resp, &d);
        if (rc)
            check_fail(__FILE__, __LINE__, "fetch: %d %s", rc, d.msg);
        CHECK_EQ(resp.status, 200);
        CHECK_EQ(resp.body_bytes, BIG_LEN);
        CHECK_EQ(s.len, BIG_LEN);
        CHECK(s.match);
        CHECK_EQ(host.alloc.current, 0); /* everything freed */
        CHECK(host.alloc.count > 0);     /* nghttp2 did allocate through the hooks */
        peaks[i] = host.alloc.peak;
        printf("  window %7u: peak heap %zu bytes, %llu allocations\n", windows[i],
               host.alloc.peak, (unsigned long long)host.alloc.count);
        CHECK(host.alloc.peak < 64 * 1024);
    }
    /* The body is never buffered: a 64x larger window costs no more heap
     * than a few hundred bytes of bookkeeping. */
    CHECK(peaks[2] < peaks[0] + 1024);
}

TEST(cap_refuses)
{
    if (!have_server)
        return;
    ota32_posix_host host;
    memset(&host, 0, sizeof host);
    host.alloc.cap = 8 * 1024; /* below the client's fixed state */
    sink s;
    ota32_http_response resp;
    ota32_diag d;
    int rc = fetch(&host, "small.bin", 0, &s, &resp, &d);
    CHECK_EQ(rc, OTA32_ERR_NO_MEM);
    CHECK_CONTAINS(d.msg, "out of memory");
    CHECK(host.alloc.failures > 0);
    CHECK_EQ(host.alloc.current, 0);
}

TEST(every_allocation_failure_handled)
{
    if (!have_server)
        return;
    /* Count the allocations of one good run, then fail each in turn. */
    ota32_posix_host host;
    memset(&host, 0, sizeof host);
    sink s;
    ota32_http_response resp;
    ota32_diag d;
    CHECK_EQ(fetch(&host, "small.bin", 0, &s, &resp, &d), OTA32_OK);
    uint64_t attempts = host.alloc.attempts;
    CHECK(attempts > 5);
    unsigned failed = 0, survived = 0;
    for (uint64_t n = 1; n <= attempts; n++) {
        memset(&host, 0, sizeof host);
        host.alloc.fail_at = n;
        int rc = fetch(&host, "small.bin", 0, &s, &resp, &d);
        CHECK_EQ(host.alloc.current, 0);
        CHECK_EQ(host.alloc.failures, 1);
        if (rc == OTA32_OK) {
            /* nghttp2 may shrug off a failed optional allocation; then the
             * body must still be complete and exact. */
            CHECK_EQ(s.len, 5000);
            CHECK(s.match);
            survived++;
        } else {
            CHECK(d.msg[0] != '\0');
            failed++;
        }
    }
    printf("  %llu allocations: %u failures reported, %u absorbed\n",
           (unsigned long long)attempts, failed, survived);
    CHECK(failed > 0);
}

TEST(setup)
{
    have_server = start_server();
}

RUN_TESTS(CASE(setup), CASE(peak_heap_bounded), CASE(cap_refuses),
          CASE(every_allocation_failure_handled))
