/* The host port under the HTTP client: counting allocator, TCP transport
 * (timeouts, orderly close, refused connections), clock and log. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "posix_platform.h"

TEST(alloc_counts)
{
    ota32_posix_alloc a;
    ota32_posix_alloc_init(&a);
    ota32_alloc_ops ops = ota32_posix_alloc_ops(&a);
    void *p = ops.malloc(ops.ctx, 100);
    CHECK(p != NULL);
    CHECK_EQ((uintptr_t)p % _Alignof(max_align_t), 0);
    uint8_t *q = ops.calloc(ops.ctx, 10, 30);
    CHECK(q != NULL);
    for (int i = 0; i < 300; i++)
        CHECK_EQ(q[i], 0);
    CHECK_EQ(a.current, 400);
    CHECK_EQ(a.peak, 400);
    CHECK_EQ(a.count, 2);
    memset(p, 0xAB, 100);
    p = ops.realloc(ops.ctx, p, 1000);
    CHECK(p != NULL);
    CHECK_EQ(((uint8_t *)p)[99], 0xAB);
    CHECK_EQ(a.current, 1300);
    CHECK_EQ(a.peak, 1300);
    p = ops.realloc(ops.ctx, p, 10);
    CHECK_EQ(a.current, 310);
    CHECK_EQ(a.peak, 1300);
    ota32_posix_alloc_reset_peak(&a);
    CHECK_EQ(a.peak, 310);
    ops.free(ops.ctx, p);
    ops.free(ops.ctx, q);
    ops.free(ops.ctx, NULL);
    CHECK_EQ(a.current, 0);
    CHECK(ops.calloc(ops.ctx, SIZE_MAX / 2, 4) == NULL); /* n * size overflows */
    CHECK(ops.malloc(ops.ctx, SIZE_MAX - 4) == NULL);
    CHECK_EQ(a.current, 0);
}

TEST(alloc_cap_and_fail_nth)
{
    ota32_posix_alloc a;
    ota32_posix_alloc_init(&a);
    a.cap = 1000;
    ota32_alloc_ops ops = ota32_posix_alloc_ops(&a);
    void *p = ops.malloc(ops.ctx, 600);
    CHECK(p != NULL);
    CHECK(ops.malloc(ops.ctx, 401) == NULL); /* would exceed the cap */
    void *q = ops.malloc(ops.ctx, 400);      /* exactly at the cap */
    CHECK(q != NULL);
    CHECK(ops.realloc(ops.ctx, q, 401) == NULL);
    CHECK_EQ(a.failures, 2);
    CHECK_EQ(a.current, 1000);
    ops.free(ops.ctx, q);
    ops.free(ops.ctx, p);

    ota32_posix_alloc_init(&a);
    a.fail_at = 3;
    void *b[5];
    for (int i = 0; i < 5; i++)
        b[i] = ops.malloc(ops.ctx, 8);
    CHECK(b[0] && b[1] && !b[2] && b[3] && b[4]); /* only the third */
    CHECK_EQ(a.attempts, 5);
    CHECK_EQ(a.count, 4);
    CHECK_EQ(a.failures, 1);
    for (int i = 0; i < 5; i++)
        ops.free(ops.ctx, b[i]);
    CHECK_EQ(a.current, 0);
}

/* A listening socket on 127.0.0.1; returns its fd and port. */
static int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        return -1;
    *port = ntohs(sin.sin_port);
    return fd;
}

TEST(tcp_transport)
{
    uint16_t port;
    int lfd = listen_any(&port);
    CHECK(lfd >= 0);
    ota32_posix_transport t;
    ota32_posix_transport_init(&t);
    ota32_transport_ops ops = ota32_posix_transport_ops(&t);
    ota32_transport_opts o = {.host = "127.0.0.1", .port = port, .timeout_ms = 2000};
    ota32_diag d;
    ota32_diag_clear(&d);
    CHECK_EQ(ops.connect(ops.ctx, &o, &d), OTA32_OK);
    int peer = accept(lfd, NULL, NULL);
    CHECK(peer >= 0);
    CHECK_STR(ops.alpn_selected(ops.ctx), "");

    /* Nothing to read: a timeout after about the time asked. */
    uint64_t t0 = ota32_posix_now_ms();
    uint8_t buf[64];
    CHECK_EQ(ops.recv(ops.ctx, buf, sizeof buf, 200), OTA32_ERR_TIMEOUT);
    uint64_t waited = ota32_posix_now_ms() - t0;
    CHECK(waited >= 190 && waited < 2000);

    CHECK_EQ(ops.send(ops.ctx, "ping", 4, 1000), 4);
    char got[8] = {0};
    CHECK_EQ(recv(peer, got, sizeof got, 0), 4);
    CHECK_STR(got, "ping");
    CHECK_EQ(send(peer, "pong!", 5, 0), 5);
    CHECK_EQ(ops.recv(ops.ctx, buf, sizeof buf, 1000), 5);
    CHECK_MEM(buf, "pong!", 5);
    CHECK_EQ(t.bytes_sent, 4);
    CHECK_EQ(t.bytes_received, 5);
    close(peer); /* orderly close: 0 */
    CHECK_EQ(ops.recv(ops.ctx, buf, sizeof buf, 1000), 0);
    ops.close(ops.ctx);
    ops.close(ops.ctx); /* twice is fine */
    CHECK_EQ(ops.recv(ops.ctx, buf, sizeof buf, 10), OTA32_ERR_STATE);

    /* A closed port: refused, named. */
    close(lfd);
    CHECK_EQ(ops.connect(ops.ctx, &o, &d), OTA32_ERR_NET);
    char want[96];
    snprintf(want, sizeof want, "cannot connect to 127.0.0.1 (127.0.0.1:%u): Connection refused",
             port);
    CHECK_STR(d.msg, want);

    o.host = "no-such-host.invalid";
    CHECK_EQ(ops.connect(ops.ctx, &o, &d), OTA32_ERR_NET);
    CHECK_CONTAINS(d.msg, "cannot resolve no-such-host.invalid");
}

TEST(tls_handshake_timeout)
{
    /* A TCP server that never speaks TLS: the handshake times out. */
    uint16_t port;
    int lfd = listen_any(&port);
    CHECK(lfd >= 0);
    ota32_posix_transport t;
    ota32_posix_transport_init(&t);
    ota32_transport_ops ops = ota32_posix_transport_ops(&t);
    ota32_transport_opts o = {.host = "127.0.0.1", .port = port, .tls = true, .alpn = "h2",
                              .timeout_ms = 300};
    ota32_diag d;
    ota32_diag_clear(&d);
    CHECK_EQ(ops.connect(ops.ctx, &o, &d), OTA32_ERR_TIMEOUT);
    CHECK_STR(d.msg, "TLS: handshake with 127.0.0.1 timed out");
    CHECK_EQ(t.fd, -1);
    close(lfd);

    o.ca_file = "/nonexistent/ca.pem";
    lfd = listen_any(&port);
    o.port = port;
    CHECK_EQ(ops.connect(ops.ctx, &o, &d), OTA32_ERR_TLS);
    CHECK_CONTAINS(d.msg, "TLS: cannot load /nonexistent/ca.pem");
    close(lfd);
}

TEST(clock_and_log)
{
    ota32_posix_clock c;
    ota32_posix_clock_init(&c);
    ota32_clock_ops ops = ota32_posix_clock_ops(&c);
    uint64_t t0 = ops.now_ms(ops.ctx);
    ops.sleep_ms(ops.ctx, 30);
    uint64_t t1 = ops.now_ms(ops.ctx);
    CHECK(t1 >= t0 + 30);
    uint32_t r1 = ops.random(ops.ctx), r2 = ops.random(ops.ctx);
    CHECK(r1 != r2);

    char path[512];
    snprintf(path, sizeof path, "%s/log.txt", check_tmpdir());
    FILE *f = fopen(path, "w+");
    ota32_posix_log l;
    ota32_posix_log_init(&l);
    l.stream = f;
    l.threshold = OTA32_LOG_WARN;
    ota32_log_ops lo = ota32_posix_log_ops(&l);
    lo.log(lo.ctx, OTA32_LOG_ERROR, "broken");
    lo.log(lo.ctx, OTA32_LOG_INFO, "chatter");
    lo.log(lo.ctx, OTA32_LOG_WARN, "careful");
    rewind(f);
    char text[128] = {0};
    CHECK_EQ(fread(text, 1, sizeof text - 1, f), 19);
    CHECK_STR(text, "E broken\nW careful\n");
    fclose(f);
}

TEST(platform_fill)
{
    ota32_platform plat = {0};
    ota32_posix_host host;
    ota32_posix_platform_init(&host, &plat);
    CHECK(plat.transport.connect && plat.transport.alpn_selected);
    CHECK(plat.clock.now_ms && plat.alloc.malloc && plat.log.log && plat.hash.start);
    CHECK(plat.alloc.ctx == &host.alloc);
    CHECK(plat.flash.read == NULL); /* left to the device */
    uint8_t sha[32];
    CHECK_EQ(ota32_hash_buf(&plat.hash, OTA32_HASH_SHA256, "abc", 3, sha), OTA32_OK);
    CHECK_EQ(sha[0], 0xba);
    ota32_posix_platform_close(&host);
}

RUN_TESTS(CASE(alloc_counts), CASE(alloc_cap_and_fail_nth), CASE(tcp_transport),
          CASE(tls_handshake_timeout), CASE(clock_and_log), CASE(platform_fill))
