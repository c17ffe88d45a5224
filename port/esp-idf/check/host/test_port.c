/*
 * The ESP-IDF port's ops on the host, over the fakes of esp_fakes.c: that
 * each op calls ESP-IDF with the right arguments (partition-relative
 * offsets, ALPN list, socket timeouts) and maps every answer to the right
 * ota32 result. Built and run by tests/cli/esp_idf_compile.sh.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "esp_crt_bundle.h"
#include "esp_fakes.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_wifi.h"
#include "mbedtls/ssl.h"
#include "ota32/otadata.h"
#include "ota32_esp.h"
#include "ota32_esp_priv.h"

#include <setjmp.h>

static ota32_platform plat;

static void setup(void)
{
    fake_reset();
    CHECK_EQ(ota32_esp_platform_init(&plat), ESP_OK);
}

static void teardown(void)
{
    ota32_esp_platform_deinit(&plat);
}

TEST(platform_init)
{
    setup();
    CHECK_EQ(plat.flash.size, FAKE_FLASH_SIZE);
    CHECK(plat.flash.read && plat.flash.program && plat.flash.erase_sector &&
          plat.flash.erase_block);
    CHECK(plat.kv.get_str && plat.boot.running_slot && plat.transport.connect &&
          plat.transport.alpn_selected && plat.clock.now_ms && plat.hash.clone &&
          plat.alloc.malloc && plat.log.log);
    teardown();
    CHECK(plat.flash.read == NULL);
}

TEST(platform_needs_ota_slots)
{
    fake_reset();
    fake.parts[FAKE_OTA0].subtype = ESP_PARTITION_SUBTYPE_APP_FACTORY;
    fake.parts[FAKE_OTA1].subtype = ESP_PARTITION_SUBTYPE_APP_TEST;
    CHECK_EQ(ota32_esp_platform_init(&plat), ESP_ERR_NOT_FOUND);
    CHECK_CONTAINS(fake.log, "ota32: the partition table has no ota_N app partition\n");
    CHECK_CONTAINS(fake.last_log, "flash setup failed: ESP_ERR_NOT_FOUND");
}

TEST(flash_write_read_relative)
{
    setup();
    uint8_t data[256], back[256];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    CHECK_EQ(plat.flash.program(plat.flash.ctx, 0x3A0100, data, sizeof data), OTA32_OK);
    CHECK(fake.last_write.part == &fake.parts[FAKE_OTA1]);
    CHECK_EQ(fake.last_write.offset, 0x100);
    CHECK_EQ(fake.last_write.size, 256);
    CHECK_MEM(fake.flash + 0x3A0100, data, sizeof data);
    CHECK_EQ(plat.flash.read(plat.flash.ctx, 0x3A0100, back, sizeof back), OTA32_OK);
    CHECK_EQ(fake.last_read.offset, 0x100);
    CHECK_MEM(back, data, sizeof data);
    /* The last byte of ota_1 is inside; one more is not. */
    CHECK_EQ(plat.flash.read(plat.flash.ctx, 0x3A0000 + 0x377000 - 1, back, 1), OTA32_OK);
    CHECK_EQ(fake.last_read.offset, 0x377000 - 1);
    teardown();
}

TEST(flash_refuses_outside_ota)
{
    setup();
    uint8_t b[32] = {0};
    unsigned writes = fake.writes;
    CHECK_EQ(plat.flash.program(plat.flash.ctx, 0x20000, b, sizeof b), OTA32_ERR_RANGE);
    CHECK_CONTAINS(fake.last_log, "ota_0 is the running app");
    CHECK_EQ(plat.flash.program(plat.flash.ctx, 0x9000, b, sizeof b), OTA32_ERR_RANGE);
    CHECK_CONTAINS(fake.last_log, "not inside an ota app partition");
    CHECK_EQ(plat.flash.program(plat.flash.ctx, 0x1000, b, sizeof b), OTA32_ERR_RANGE);
    CHECK_EQ(plat.flash.program(plat.flash.ctx, 0x3A0000 + 0x377000 - 16, b, 32), OTA32_ERR_RANGE);
    CHECK_EQ(plat.flash.program(plat.flash.ctx, 0x7F0000, b, sizeof b), OTA32_ERR_RANGE);
    CHECK_EQ(fake.writes, writes);
    CHECK_EQ(plat.flash.erase_sector(plat.flash.ctx, 0x20000), OTA32_ERR_RANGE);
    CHECK_EQ(plat.flash.erase_block(plat.flash.ctx, 0xF000), OTA32_ERR_INVALID_ARG);
    CHECK_EQ(plat.flash.erase_sector(plat.flash.ctx, 0xF000), OTA32_ERR_RANGE);
    CHECK_EQ(fake.erases, 0);
    /* Reading is allowed in any ota slot, the running one included. */
    CHECK_EQ(plat.flash.read(plat.flash.ctx, 0x20000, b, 4), OTA32_OK);
    CHECK(fake.last_read.part == &fake.parts[FAKE_OTA0]);
    teardown();
}

TEST(flash_erase_units)
{
    setup();
    uint8_t zero[16] = {0};
    CHECK_EQ(plat.flash.program(plat.flash.ctx, 0x3A1000, zero, sizeof zero), OTA32_OK);
    CHECK_EQ(fake.flash[0x3A1000], 0);
    CHECK_EQ(plat.flash.erase_sector(plat.flash.ctx, 0x3A1001), OTA32_ERR_INVALID_ARG);
    CHECK_EQ(plat.flash.erase_sector(plat.flash.ctx, 0x3A1000), OTA32_OK);
    CHECK(fake.last_erase.part == &fake.parts[FAKE_OTA1]);
    CHECK_EQ(fake.last_erase.offset, 0x1000);
    CHECK_EQ(fake.last_erase.size, 0x1000);
    CHECK_EQ(fake.flash[0x3A1000], 0xFF);
    CHECK_EQ(plat.flash.erase_block(plat.flash.ctx, 0x3B0000), OTA32_OK);
    CHECK_EQ(fake.last_erase.offset, 0x10000);
    CHECK_EQ(fake.last_erase.size, 0x10000);
    /* The last block of ota_1 is only 0x7000 long: a 64 KB erase there is refused. */
    CHECK_EQ(plat.flash.erase_block(plat.flash.ctx, 0x710000), OTA32_ERR_RANGE);
    teardown();
}

TEST(flash_errors)
{
    setup();
    uint8_t b[4];
    fake.next_flash_error = ESP_ERR_INVALID_SIZE;
    CHECK_EQ(plat.flash.read(plat.flash.ctx, 0x3A0000, b, sizeof b), OTA32_ERR_RANGE);
    fake.next_flash_error = ESP_FAIL;
    CHECK_EQ(plat.flash.program(plat.flash.ctx, 0x3A0000, b, sizeof b), OTA32_ERR_IO);
    CHECK_CONTAINS(fake.last_log, "flash write in ota_1 at 0x003a0000: ESP_FAIL");
    teardown();
}

TEST(kv_strings_and_blobs)
{
    setup();
    const ota32_kv_ops *kv = &plat.kv;
    char s[16];
    CHECK_EQ(kv->get_str(kv->ctx, "VIAM_NS", "OTA_VERSION", s, sizeof s), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(kv->set_str(kv->ctx, "VIAM_NS", "OTA_VERSION", "v1.2.3"), OTA32_OK);
    CHECK_EQ(fake.nvs_commits, 1);
    CHECK_EQ(kv->get_str(kv->ctx, "VIAM_NS", "OTA_VERSION", s, sizeof s), OTA32_OK);
    CHECK_STR(s, "v1.2.3");
    CHECK_EQ(kv->get_str(kv->ctx, "VIAM_NS", "OTA_VERSION", s, 4), OTA32_ERR_TOO_BIG);
    CHECK_EQ(kv->get_str(kv->ctx, "VIAM_NS", "OTHER", s, sizeof s), OTA32_ERR_NOT_FOUND);

    uint8_t blob[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, back[16];
    size_t len = 0;
    CHECK_EQ(kv->set_blob(kv->ctx, "VIAM_NS", "OTA_PENDING", blob, sizeof blob), OTA32_OK);
    CHECK_EQ(kv->get_blob(kv->ctx, "VIAM_NS", "OTA_PENDING", back, 4, &len), OTA32_ERR_TOO_BIG);
    CHECK_EQ(len, 10); /* the stored size, as the host store reports it */
    CHECK_EQ(kv->get_blob(kv->ctx, "VIAM_NS", "OTA_PENDING", back, sizeof back, &len), OTA32_OK);
    CHECK_EQ(len, 10);
    CHECK_MEM(back, blob, sizeof blob);
    /* A string read as a blob is a type mismatch, not a missing key. */
    CHECK_EQ(kv->get_blob(kv->ctx, "VIAM_NS", "OTA_VERSION", back, sizeof back, &len),
             OTA32_ERR_CORRUPT);
    CHECK_EQ(kv->erase_key(kv->ctx, "VIAM_NS", "OTA_PENDING"), OTA32_OK);
    CHECK_EQ(kv->get_blob(kv->ctx, "VIAM_NS", "OTA_PENDING", back, sizeof back, &len),
             OTA32_ERR_NOT_FOUND);
    CHECK_EQ(kv->erase_key(kv->ctx, "VIAM_NS", "OTA_PENDING"), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(kv->set_str(kv->ctx, "a_namespace_too_long", "k", "v"), OTA32_ERR_INVALID_ARG);
    teardown();
}

static uint32_t running_state(void)
{
    ota32_slot s;
    uint32_t st = 0;
    CHECK_EQ(plat.boot.running_slot(plat.boot.ctx, &s, &st), OTA32_OK);
    return st;
}

/* Switch to a valid v2 in ota_1 and power-cycle into it: PENDING_VERIFY. */
static void boot_new_firmware(void)
{
    const ota32_boot_ops *b = &plat.boot;
    ota32_slot s;
    CHECK_EQ(fake_install_app(FAKE_OTA1, "v2", 0), OTA32_OK);
    CHECK_EQ(b->update_slot(b->ctx, &s), OTA32_OK);
    CHECK_EQ(b->set_boot(b->ctx, &s), OTA32_OK);
    teardown();
    fake_boot();
    CHECK(fake.running == &fake.parts[FAKE_OTA1]);
    CHECK_EQ(ota32_esp_platform_init(&plat), ESP_OK);
}

TEST(boot_slots_and_states)
{
    setup();
    const ota32_boot_ops *b = &plat.boot;
    ota32_slot s;
    uint32_t st = 0;
    CHECK_EQ(b->running_slot(b->ctx, &s, &st), OTA32_OK);
    CHECK_STR(s.label, "ota_0");
    CHECK_EQ(s.index, 0);
    CHECK_EQ(s.offset, 0x20000);
    CHECK_EQ(s.size, 0x377000);
    CHECK_EQ(st, OTA32_IMG_VALID); /* the first boot wrote seq 1 VALID */
    fake.state_error = ESP_ERR_NOT_FOUND;
    CHECK_EQ(b->running_slot(b->ctx, &s, &st), OTA32_OK);
    CHECK_EQ(st, OTA32_IMG_UNDEFINED);
    fake.state_error = ESP_OK;

    CHECK_EQ(b->update_slot(b->ctx, &s), OTA32_OK);
    CHECK_STR(s.label, "ota_1");
    CHECK_EQ(s.index, 1);
    CHECK_EQ(s.offset, 0x3A0000);
    /* set_boot verifies the image: an empty slot is refused, otadata kept. */
    CHECK_EQ(b->set_boot(b->ctx, &s), OTA32_ERR_VERIFY);
    CHECK_CONTAINS(fake.last_log, "ESP_ERR_OTA_VALIDATE_FAILED");
    CHECK(fake.boot_set == NULL);
    ota32_slot bogus = s;
    bogus.offset = 0x9000;
    CHECK_EQ(b->set_boot(b->ctx, &bogus), OTA32_ERR_NOT_FOUND);
    bogus = s;
    bogus.index = 0; /* ota_1's offset with ota_0's number */
    CHECK_EQ(b->set_boot(b->ctx, &bogus), OTA32_ERR_NOT_FOUND);
    CHECK(fake.boot_set == NULL);
    /* Marking the running VALID app valid again is a no-op success; no other
     * valid app: rollback impossible, as esp_ota_ops.c says. */
    CHECK_EQ(b->mark_valid(b->ctx), OTA32_OK);
    CHECK_EQ(b->mark_invalid(b->ctx), OTA32_ERR_STATE);
    CHECK_EQ(fake.restarts, 0);
    CHECK_EQ(running_state(), OTA32_IMG_VALID);

    /* A valid image: switched (NEW), then booted on probation; each slot
     * keeps its own state. */
    boot_new_firmware();
    b = &plat.boot;
    CHECK_EQ(running_state(), OTA32_IMG_PENDING_VERIFY);
    esp_ota_img_states_t old;
    CHECK_EQ(esp_ota_get_state_partition(&fake.parts[FAKE_OTA0], &old), ESP_OK);
    CHECK_EQ(old, ESP_OTA_IMG_VALID);
    CHECK_EQ(b->mark_valid(b->ctx), OTA32_OK);
    CHECK_EQ(running_state(), OTA32_IMG_VALID);
    teardown();
}

TEST(boot_reset_on_probation_rolls_back)
{
    setup();
    boot_new_firmware();
    /* A reset before confirming: the bootloader aborts ota_1, boots ota_0. */
    teardown();
    fake_boot();
    CHECK(fake.running == &fake.parts[FAKE_OTA0]);
    esp_ota_img_states_t st;
    CHECK_EQ(esp_ota_get_state_partition(&fake.parts[FAKE_OTA1], &st), ESP_OK);
    CHECK_EQ(st, ESP_OTA_IMG_ABORTED);
    CHECK_EQ(ota32_esp_platform_init(&plat), ESP_OK);
    CHECK_EQ(running_state(), OTA32_IMG_VALID);

    /* mark_invalid on probation: INVALID, restart into the previous app. */
    boot_new_firmware();
    fake.restart_armed = true;
    if (setjmp(fake.restart_jmp) == 0) {
        plat.boot.mark_invalid(plat.boot.ctx);
        CHECK(!"mark_invalid returned instead of restarting");
    }
    CHECK_EQ(fake.restarts, 1);
    CHECK_EQ(running_state(), OTA32_IMG_INVALID);
    teardown();
    fake_boot();
    CHECK(fake.running == &fake.parts[FAKE_OTA0]);
}

/* With blank otadata and no entry active, ESP-IDF refuses to mark valid. */
TEST(boot_mark_valid_fails_as_esp_idf)
{
    setup();
    memset(fake.flash + 0xF000, 0xFF, 0x2000);
    CHECK_EQ(plat.boot.mark_valid(plat.boot.ctx), OTA32_ERR_IO);
    CHECK_CONTAINS(fake.last_log, "esp_ota_mark_app_valid_cancel_rollback: ESP_FAIL");
    teardown();
}

/* Anti-rollback: an image below the eFuse secure version is refused by
 * set_boot (its slot erased) and reaches the engine as a rejected image, not
 * as an I/O error to retry. */
TEST(boot_small_secure_version_is_a_rejection)
{
    setup();
    const ota32_boot_ops *b = &plat.boot;
    ota32_slot s;
    CHECK_EQ(b->update_slot(b->ctx, &s), OTA32_OK);
    fake.efuse_secure_version = 2;
    CHECK_EQ(fake_install_app(FAKE_OTA1, "v2", 1), OTA32_OK);
    /* OTA32_ERR_VERIFY: the engine's "image rejected" (long back-off). */
    CHECK_EQ(b->set_boot(b->ctx, &s), OTA32_ERR_VERIFY);
    CHECK_CONTAINS(fake.log, "ESP_ERR_OTA_SMALL_SEC_VER");
    CHECK_CONTAINS(fake.log, "secure_version is below the chip's anti-rollback eFuse");
    CHECK_EQ(fake.flash[0x3A0000], 0xFF); /* erased by ESP-IDF */
    CHECK(fake.boot_set == NULL);
    /* Positive control: at the eFuse's version it switches. */
    CHECK_EQ(fake_install_app(FAKE_OTA1, "v2", 2), OTA32_OK);
    CHECK_EQ(b->set_boot(b->ctx, &s), OTA32_OK);
    CHECK(fake.boot_set == &fake.parts[FAKE_OTA1]);
    teardown();
}

TEST(boot_factory_running)
{
    fake_reset();
    fake.parts[FAKE_OTA0].subtype = ESP_PARTITION_SUBTYPE_APP_FACTORY;
    CHECK_EQ(ota32_esp_platform_init(&plat), ESP_OK);
    ota32_slot s;
    uint32_t st = 0;
    CHECK_EQ(plat.boot.running_slot(plat.boot.ctx, &s, &st), OTA32_OK);
    CHECK_EQ(s.index, 0xFF);
    CHECK_EQ(st, OTA32_IMG_UNDEFINED);
    teardown();
}

static void digest(ota32_hash_alg alg, const char *text, uint8_t *out)
{
    CHECK_EQ(ota32_hash_buf(&plat.hash, alg, text, strlen(text), out), OTA32_OK);
}

TEST(hash_sha256_md5_clone)
{
    setup();
    static const uint8_t sha_abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                        0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                        0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    static const uint8_t md5_abc[16] = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                                        0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72};
    uint8_t d[32];
    digest(OTA32_HASH_SHA256, "abc", d);
    CHECK_MEM(d, sha_abc, 32);
    digest(OTA32_HASH_MD5, "abc", d);
    CHECK_MEM(d, md5_abc, 16);

    const ota32_hash_ops *h = &plat.hash;
    void *a = h->start(h->ctx, OTA32_HASH_SHA256);
    CHECK(a != NULL);
    CHECK_EQ(h->update(h->ctx, a, "ab", 2), OTA32_OK);
    void *c = h->clone(h->ctx, a);
    CHECK(c != NULL);
    CHECK_EQ(h->update(h->ctx, a, "c", 1), OTA32_OK);
    CHECK_EQ(h->update(h->ctx, c, "c", 1), OTA32_OK);
    CHECK_EQ(h->finish(h->ctx, a, d), OTA32_OK);
    CHECK_MEM(d, sha_abc, 32);
    CHECK_EQ(h->finish(h->ctx, c, d), OTA32_OK);
    CHECK_MEM(d, sha_abc, 32);
    CHECK(h->start(h->ctx, (ota32_hash_alg)7) == NULL);

    ota32_esp_heap_stats hs;
    ota32_esp_platform_heap_stats(&plat, &hs);
    CHECK_EQ(hs.current, 0);
    CHECK(hs.peak > 0); /* hash contexts came from the counted heap */
    teardown();
}

static const ota32_transport_opts tls_opts = {
    .host = "fw.example", .port = 443, .tls = true, .alpn = "h2", .timeout_ms = 5000};

TEST(transport_tls_connect)
{
    setup();
    const ota32_transport_ops *t = &plat.transport;
    ota32_diag diag;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, &diag), OTA32_OK);
    CHECK_STR(fake.tls_host, "fw.example");
    CHECK_EQ(fake.tls_port, 443);
    CHECK(fake.tls_cfg.alpn_protos != NULL);
    if (fake.tls_cfg.alpn_protos) {
        CHECK_STR(fake.tls_cfg.alpn_protos[0], "h2");
        CHECK(fake.tls_cfg.alpn_protos[1] == NULL);
    }
    CHECK(fake.tls_cfg.crt_bundle_attach == esp_crt_bundle_attach);
    CHECK(fake.tls_cfg.cacert_buf == NULL);
    CHECK(!fake.tls_cfg.is_plain_tcp);
    CHECK_EQ(fake.tls_cfg.timeout_ms, 5000);
    CHECK_STR(t->alpn_selected(t->ctx), "h2");
    t->close(t->ctx);
    CHECK_EQ(fake.destroyed, 1);
    CHECK_STR(t->alpn_selected(t->ctx), "");

    /* A server without h2 is reported as such, for the HTTP/2 client to refuse. */
    fake.alpn = NULL;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, &diag), OTA32_OK);
    CHECK_STR(t->alpn_selected(t->ctx), "");

    static const char pem[] = "-----BEGIN CERTIFICATE-----\n...\n";
    CHECK_EQ(ota32_esp_platform_set_ca_pem(&plat, pem), ESP_OK);
    CHECK_EQ(t->connect(t->ctx, &tls_opts, &diag), OTA32_OK);
    CHECK(fake.tls_cfg.cacert_buf == (const unsigned char *)pem);
    CHECK_EQ(fake.tls_cfg.cacert_bytes, sizeof pem);
    CHECK(fake.tls_cfg.crt_bundle_attach == NULL);
    teardown();
    CHECK_EQ(fake.destroyed, 3); /* deinit closed the open connection */
}

TEST(transport_plain_connect)
{
    setup();
    const ota32_transport_ops *t = &plat.transport;
    ota32_transport_opts o = {.host = "10.0.0.2", .port = 3001, .tls = false};
    CHECK_EQ(t->connect(t->ctx, &o, NULL), OTA32_OK);
    CHECK(fake.tls_cfg.is_plain_tcp);
    CHECK(fake.tls_cfg.alpn_protos == NULL);
    CHECK(fake.tls_cfg.crt_bundle_attach == NULL);
    CHECK_EQ(fake.tls_cfg.timeout_ms, 10000); /* the default */
    teardown();
}

TEST(transport_connect_errors)
{
    setup();
    const ota32_transport_ops *t = &plat.transport;
    ota32_diag diag;
    fake.connect_ret = -1;
    fake.connect_error = ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, &diag), OTA32_ERR_NET);
    CHECK_STR(diag.msg, "cannot resolve fw.example");
    CHECK_EQ(fake.destroyed, 1);
    fake.connect_error = ESP_FAIL;
    fake.connect_flags = 0x08;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, &diag), OTA32_ERR_TLS);
    CHECK_CONTAINS(diag.msg, "certificate verify failed for host fw.example");
    CHECK_CONTAINS(diag.msg, "0x8");
    fake.connect_flags = 0;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, &diag), OTA32_ERR_TLS);
    CHECK_CONTAINS(diag.msg, "handshake with fw.example:443 failed");
    CHECK_CONTAINS(diag.msg, "-0x2700");
    fake.connect_ret = 0; /* esp-tls: not connected within timeout_ms */
    CHECK_EQ(t->connect(t->ctx, &tls_opts, &diag), OTA32_ERR_TIMEOUT);
    CHECK_STR(diag.msg, "connect to fw.example:443 timed out");

    fake.connect_ret = 1;
    fake.tls_host[0] = '\0';
    ota32_transport_opts o = tls_opts;
    o.ca_file = "/etc/ca.pem";
    CHECK_EQ(t->connect(t->ctx, &o, &diag), OTA32_ERR_UNSUPPORTED);
    CHECK_CONTAINS(diag.msg, "ota32_esp_platform_set_ca_pem");
    o.ca_file = NULL;
    o.insecure = true;
    CHECK_EQ(t->connect(t->ctx, &o, &diag), OTA32_ERR_UNSUPPORTED);
    CHECK_CONTAINS(diag.msg, "CONFIG_ESP_TLS_SKIP_SERVER_CERT_VERIFY");
    CHECK_STR(fake.tls_host, ""); /* refused before connecting */
    CHECK_EQ(t->recv(t->ctx, (char[4]){0}, 4, 100), OTA32_ERR_STATE);
    teardown();
}

static void script(const fake_io *io, unsigned n)
{
    if (n)
        memcpy(fake.io, io, n * sizeof *io);
    fake.nio = n;
    fake.io_pos = 0;
}

TEST(transport_recv_waits_and_times_out)
{
    setup();
    const ota32_transport_ops *t = &plat.transport;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, NULL), OTA32_OK);
    char buf[16] = {0};
    script((fake_io[]){{ESP_TLS_ERR_SSL_WANT_READ, 0, NULL, 100},
                       {ESP_TLS_ERR_SSL_WANT_READ, 0, NULL, 100},
                       {5, 0, "hello", 0}},
           3);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 1000), 5);
    CHECK_MEM(buf, "hello", 5);
    CHECK_EQ(fake.rcvtimeo_ms, 800); /* what was left when the data came */

    /* Nothing arrives: each read blocks for SO_RCVTIMEO; the call gives up
     * at its own deadline, not earlier and not much later. */
    script(NULL, 0);
    uint64_t start = fake.now_us;
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 1500), OTA32_ERR_TIMEOUT);
    CHECK(fake.now_us - start >= 1500000u);
    CHECK(fake.now_us - start <= 1501000u);

    /* Even a zero timeout reads once. */
    script((fake_io[]){{3, 0, "abc", 0}}, 1);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 0), 3);
    teardown();
}

TEST(transport_recv_results)
{
    setup();
    const ota32_transport_ops *t = &plat.transport;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, NULL), OTA32_OK);
    char buf[8];
    script((fake_io[]){{0, 0, NULL, 0}}, 1);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 100), 0);
    script((fake_io[]){{MBEDTLS_ERR_SSL_CONN_EOF, 0, NULL, 0}}, 1);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 100), 0);
    script((fake_io[]){{-0x7180, 0, NULL, 0}}, 1); /* bad record MAC */
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 100), OTA32_ERR_TLS);
    script((fake_io[]){{-0x004C, 0, NULL, 0}}, 1); /* MBEDTLS_ERR_NET_RECV_FAILED */
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 100), OTA32_ERR_NET);
    CHECK_EQ(t->recv(t->ctx, buf, 0, 100), OTA32_ERR_INVALID_ARG);

    ota32_transport_opts o = {.host = "10.0.0.2", .port = 3001};
    CHECK_EQ(t->connect(t->ctx, &o, NULL), OTA32_OK);
    script((fake_io[]){{-1, EAGAIN, NULL, 50}, {3, 0, "xyz", 0}}, 2);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 1000), 3);
    script((fake_io[]){{-1, ECONNRESET, NULL, 0}}, 1);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 1000), OTA32_ERR_NET);
    /* On plain TCP an mbedTLS-looking number is still the network's. */
    script((fake_io[]){{-0x7180, 0, NULL, 0}}, 1);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 1000), OTA32_ERR_NET);
    teardown();
}

TEST(transport_send)
{
    setup();
    const ota32_transport_ops *t = &plat.transport;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, NULL), OTA32_OK);
    script((fake_io[]){{ESP_TLS_ERR_SSL_WANT_WRITE, 0, NULL, 200}, {10, 0, NULL, 0}}, 2);
    CHECK_EQ(t->send(t->ctx, "0123456789", 10, 2000), 10);
    CHECK_EQ(fake.sndtimeo_ms, 1800);
    script(NULL, 0);
    CHECK_EQ(t->send(t->ctx, "0123456789", 10, 700), OTA32_ERR_TIMEOUT);
    script((fake_io[]){{0, 0, NULL, 0}}, 1);
    CHECK_EQ(t->send(t->ctx, "x", 1, 700), OTA32_ERR_NET);
    CHECK_EQ(t->send(t->ctx, "x", 0, 700), 0);
    teardown();
}

TEST(clock_sleep_in_ticks)
{
    setup();
    plat.clock.sleep_ms(plat.clock.ctx, 150000);
    CHECK_EQ(fake.delays, 3);
    CHECK_EQ(fake.delayed_ticks[0], 6000); /* 60 s at 100 Hz */
    CHECK_EQ(fake.delayed_ticks[1], 6000);
    CHECK_EQ(fake.delayed_ticks[2], 3000);
    CHECK_EQ(plat.clock.now_ms(plat.clock.ctx), 150000);
    plat.clock.sleep_ms(plat.clock.ctx, 1); /* below one tick: still one tick */
    CHECK_EQ(fake.delayed_ticks[3], 1);
    CHECK_EQ(plat.clock.random(plat.clock.ctx), 4);
    teardown();
}

TEST(log_tag_and_level)
{
    setup();
    plat.log.log(plat.log.ctx, OTA32_LOG_WARN, "ota: something");
    CHECK_STR(fake.last_log, "ota32: ota: something");
    CHECK_EQ(fake.last_log_level, ESP_LOG_WARN);
    plat.log.log(plat.log.ctx, OTA32_LOG_DEBUG, "detail");
    CHECK_EQ(fake.last_log_level, ESP_LOG_DEBUG);
    teardown();
}

TEST(fetch_rejects_bad_url)
{
    setup();
    char buf[64] = "x";
    size_t len = 99;
    ota32_diag diag;
    CHECK(ota32_esp_fetch(&plat, "ftp://host/x", buf, sizeof buf, &len, &diag) < 0);
    CHECK_STR(buf, "");
    CHECK_EQ(len, 0);
    CHECK(diag.msg[0] != '\0');
    ota32_esp_heap_stats hs;
    ota32_esp_platform_heap_stats(&plat, &hs);
    CHECK_EQ(hs.current, 0);
    teardown();
}

/* A TLS read that claims more bytes than asked for (a positive esp_err_t
 * passed through by esp-tls) is an error, never a length. */
TEST(transport_recv_more_than_asked_is_an_error)
{
    setup();
    const ota32_transport_ops *t = &plat.transport;
    CHECK_EQ(t->connect(t->ctx, &tls_opts, NULL), OTA32_OK);
    char buf[8];
    script((fake_io[]){{0x7000, 0, NULL, 0}}, 1);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 100), OTA32_ERR_TLS);
    CHECK_CONTAINS(fake.last_log, "esp_tls_conn_read returned 28672 for 8 bytes: not a length");
    /* Positive control: exactly the length asked is data. */
    script((fake_io[]){{8, 0, "abcdefgh", 0}}, 1);
    CHECK_EQ(t->recv(t->ctx, buf, sizeof buf, 100), 8);
    CHECK_MEM(buf, "abcdefgh", 8);
    script((fake_io[]){{11, 0, NULL, 0}}, 1);
    CHECK_EQ(t->send(t->ctx, "0123456789", 10, 100), OTA32_ERR_TLS);
    teardown();
}

/* ---- the update task's loop (ota32_esp_runner_step) --------------------- */

static ota32_esp_runner runner;
static size_t config_len;

static void on_config(void *user, const char *json, size_t len)
{
    (void)user, (void)json;
    config_len = len;
}

static int healthy(void *user, ota32_diag *diag)
{
    (void)user, (void)diag;
    return OTA32_OK;
}

/* A config naming v2 at a server that cannot be reached, `pad` bytes long
 * (spaces before the closing brace). */
static char *make_config(size_t pad)
{
    static const char head[] =
        "{\"services\":[{\"name\":\"OTA\",\"model\":\"rdk:builtin:ota_service\","
        "\"attributes\":{\"url\":\"http://10.0.0.2:3001/v2.bin\",\"version\":\"v2\"}}]";
    char *j = calloc(1, pad + 1);
    memset(j, ' ', pad);
    memcpy(j, head, sizeof head - 1);
    j[pad - 1] = '}';
    return j;
}

static void store_config_blob(const char *json)
{
    CHECK_EQ(plat.kv.set_blob(plat.kv.ctx, "ota32", "config", json, strlen(json)), OTA32_OK);
}

/* NVS config mode, new firmware, network dead: the config is read every
 * time, yet nothing proves the network, so the firmware never confirms; at
 * the probation timeout (900 s by default) it rolls back. */
TEST(runner_nvs_config_dead_network_never_confirms)
{
    setup();
    boot_new_firmware();
    char *json = make_config(5000); /* more than an NVS string holds */
    CHECK_EQ(plat.kv.set_str(plat.kv.ctx, "ota32", "config", json), OTA32_ERR_TOO_BIG);
    store_config_blob(json);
    fake.connect_ret = -1;
    fake.connect_error = ESP_FAIL;
    ota32_esp_config cfg = {.config_nvs_key = "config", .on_config = on_config};
    CHECK_EQ(ota32_esp_runner_init(&runner, &cfg), ESP_OK);
    uint64_t start = fake.now_us;
    unsigned steps = 0;
    fake.restart_armed = true;
    if (setjmp(fake.restart_jmp) == 0) {
        for (; steps < 200; steps++) {
            config_len = 0;
            uint32_t ms = ota32_esp_runner_step(&runner);
            CHECK_EQ(config_len, 5000); /* the whole blob, every time */
            CHECK_EQ(fake.marked_valid, 0);
            fake.now_us += (uint64_t)ms * 1000u;
        }
    }
    CHECK_EQ(fake.marked_valid, 0);
    CHECK_EQ(fake.marked_invalid, 1);
    CHECK_EQ(fake.restarts, 1);
    CHECK_EQ(fake.now_us - start, 900u * 1000000u); /* at the timeout, not before */
    CHECK_CONTAINS(fake.log, "boot: probation; config every 60 s from nvs");
    CHECK_CONTAINS(fake.log, "not confirmed yet");
    CHECK_CONTAINS(fake.log, "ota_1 rejected: not confirmed within 900 s of booting");
    ota32_esp_runner_deinit(&runner);
    teardown();
    fake_boot();
    CHECK(fake.running == &fake.parts[FAKE_OTA0]);
    free(json);
}

/* Positive control: the application's health verdict confirms it without
 * the network. */
TEST(runner_nvs_config_confirms_with_health)
{
    setup();
    boot_new_firmware();
    char *json = make_config(5000);
    store_config_blob(json);
    fake.connect_ret = -1;
    ota32_esp_config cfg = {.config_nvs_key = "config", .health = healthy};
    CHECK_EQ(ota32_esp_runner_init(&runner, &cfg), ESP_OK);
    ota32_esp_runner_step(&runner);
    CHECK_EQ(fake.marked_valid, 1);
    CHECK_EQ(running_state(), OTA32_IMG_VALID);
    ota32_esp_runner_deinit(&runner);
    teardown();
    free(json);
}

/* A config in NVS larger than CONFIG_OTA32_CONFIG_MAX is refused with the
 * limit named; a string config still works. */
TEST(runner_nvs_config_limits)
{
    setup();
    char *json = make_config(20000);
    store_config_blob(json);
    ota32_esp_config cfg = {.config_nvs_key = "config", .on_config = on_config};
    CHECK_EQ(ota32_esp_runner_init(&runner, &cfg), ESP_OK);
    config_len = 0;
    ota32_esp_runner_step(&runner);
    CHECK_EQ(config_len, 0);
    CHECK_CONTAINS(fake.log, "nvs ota32/config: 20000 bytes, larger than CONFIG_OTA32_CONFIG_MAX "
                             "(16384)");
    free(json);
    json = make_config(300);
    CHECK_EQ(plat.kv.erase_key(plat.kv.ctx, "ota32", "config"), OTA32_OK);
    CHECK_EQ(plat.kv.set_str(plat.kv.ctx, "ota32", "config", json), OTA32_OK);
    ota32_esp_runner_step(&runner);
    CHECK_EQ(config_len, 300);
    ota32_esp_runner_deinit(&runner);
    teardown();
    free(json);
}

/* The access point reboots during the first boot of a new firmware (the
 * config URL unreachable for 20 s): no rollback before the probation
 * timeout, and the retries come sooner than the poll interval. */
TEST(runner_network_outage_on_probation)
{
    setup();
    boot_new_firmware();
    fake.connect_ret = -1;
    fake.connect_error = ESP_FAIL;
    ota32_esp_config cfg = {.config_url = "http://10.0.0.2:3001/config"};
    CHECK_EQ(ota32_esp_runner_init(&runner, &cfg), ESP_OK);
    uint64_t start = fake.now_us;
    unsigned steps = 0;
    while (fake.now_us - start < 20u * 1000000u) {
        uint32_t ms = ota32_esp_runner_step(&runner);
        CHECK(ms < 60000);
        fake.now_us += (uint64_t)ms * 1000u;
        steps++;
    }
    CHECK(steps >= 4);
    CHECK_EQ(fake.marked_invalid, 0);
    CHECK_EQ(fake.restarts, 0);
    CHECK_EQ(running_state(), OTA32_IMG_PENDING_VERIFY);
    CHECK_CONTAINS(fake.log, "config check: ");
    ota32_esp_runner_deinit(&runner);
    teardown();
}

/* Every cycle logs the task's stack high-water mark (debug level). */
TEST(runner_logs_stack_high_water)
{
    setup();
    fake.connect_ret = -1;
    fake.stack_unused = 5123;
    ota32_esp_config cfg = {.config_url = "http://10.0.0.2:3001/config"};
    CHECK_EQ(ota32_esp_runner_init(&runner, &cfg), ESP_OK);
    ota32_esp_runner_step(&runner);
    CHECK_CONTAINS(fake.last_log, "stack: 5123 of 12288 bytes never used");
    CHECK_EQ(fake.last_log_level, ESP_LOG_DEBUG);
    ota32_esp_runner_deinit(&runner);
    teardown();
}

/* ---- the example firmware ------------------------------------------------ */

void app_main(void);

static void stop_example_task(void)
{
    CHECK_EQ(fake.tasks_created, 1);
    if (fake.task_arg) {
        ota32_esp_runner_deinit(fake.task_arg);
        free(fake.task_arg);
    }
}

/* The network is down at boot: app_main logs it and starts the ota32 task
 * anyway (no ESP_ERROR_CHECK abort, which for a new firmware would be a
 * reset on probation, that is a rollback). */
TEST(example_starts_without_network)
{
    fake_reset();
    fake.example_connect_result = ESP_FAIL;
    app_main();
    CHECK_CONTAINS(fake.log, "app: network not up yet (ESP_FAIL): retrying in the background");
    stop_example_task();
    /* Positive control: with the network up, the same start, no warning. */
    fake_reset();
    app_main();
    CHECK(strstr(fake.log, "network not up yet") == NULL);
    stop_example_task();
}

/* An access point that stays away: Wi-Fi is reconnected forever (past
 * protocol_examples_common's 6 retries), 1 s doubling to 1 min; an address
 * resets the back-off. */
TEST(example_reconnects_wifi_forever)
{
    fake_reset();
    app_main();
    CHECK(fake.on_wifi_lost != NULL && fake.on_got_ip != NULL && fake.timer_cb != NULL);
    static const uint32_t want_ms[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (unsigned i = 0; i < 30; i++) {
        fake.on_wifi_lost(NULL, WIFI_EVENT, WIFI_EVENT_STA_DISCONNECTED, NULL);
        CHECK(fake.timer_armed);
        CHECK_EQ(fake.timer_us, (uint64_t)want_ms[i < 7 ? i : 7] * 1000u);
        fake.timer_armed = false; /* it fires */
        fake.timer_cb(fake.timer_arg);
    }
    CHECK_EQ(fake.wifi_connects, 30);
    fake.on_got_ip(NULL, IP_EVENT, IP_EVENT_STA_GOT_IP, NULL);
    fake.on_wifi_lost(NULL, WIFI_EVENT, WIFI_EVENT_STA_DISCONNECTED, NULL);
    CHECK_EQ(fake.timer_us, 1000000);
    /* A loss while a reconnect is pending restarts the timer, never twice. */
    fake.on_wifi_lost(NULL, WIFI_EVENT, WIFI_EVENT_STA_DISCONNECTED, NULL);
    CHECK(fake.timer_armed);
    CHECK_EQ(fake.timer_us, 2000000);
    stop_example_task();
}

TEST(service_start_arguments)
{
    fake_reset();
    CHECK_EQ(ota32_esp_service_start(NULL), ESP_ERR_INVALID_ARG);
    ota32_esp_config cfg = {0};
    CHECK_EQ(ota32_esp_service_start(&cfg), ESP_ERR_INVALID_ARG);
    cfg.config_url = "http://10.0.0.2:3001/config";
    fake.task_refused = true;
    CHECK_EQ(ota32_esp_service_start(&cfg), ESP_ERR_NO_MEM);
    CHECK_EQ(fake.tasks_created, 0);
}

RUN_TESTS(CASE(boot_reset_on_probation_rolls_back), CASE(boot_mark_valid_fails_as_esp_idf),
          CASE(boot_small_secure_version_is_a_rejection),
          CASE(transport_recv_more_than_asked_is_an_error),
          CASE(runner_nvs_config_dead_network_never_confirms),
          CASE(runner_nvs_config_confirms_with_health), CASE(runner_nvs_config_limits),
          CASE(runner_network_outage_on_probation), CASE(runner_logs_stack_high_water),
          CASE(example_starts_without_network), CASE(example_reconnects_wifi_forever),
          CASE(platform_init), CASE(platform_needs_ota_slots), CASE(flash_write_read_relative),
          CASE(flash_refuses_outside_ota), CASE(flash_erase_units), CASE(flash_errors),
          CASE(kv_strings_and_blobs), CASE(boot_slots_and_states), CASE(boot_factory_running),
          CASE(hash_sha256_md5_clone), CASE(transport_tls_connect), CASE(transport_plain_connect),
          CASE(transport_connect_errors), CASE(transport_recv_waits_and_times_out),
          CASE(transport_recv_results), CASE(transport_send), CASE(clock_sleep_in_ticks),
          CASE(log_tag_and_level), CASE(fetch_rejects_bad_url), CASE(service_start_arguments))
