/*
 * The device life cycle (ota32_service_poll) on a virtual ESP32: update and
 * confirmation, what confirms a new firmware with a config from the server
 * or from NVS, network outages on probation, the probation timeout, and the
 * application rejecting a firmware.
 */
#include "test_service_fixture.h"

#define IMG_LEN (80u * 1024u)
#define PROBATION_MS (15u * 60u * 1000u)

static char path[512];
static char cfgbuf[1024];
static uint8_t *v1, *v2;

static void setup(fx_dev *x, fx_source *src, fx_cfg *c)
{
    if (!v1) {
        v1 = fx_image("v1", IMG_LEN);
        v2 = fx_image("v2", IMG_LEN);
    }
    snprintf(path, sizeof path, "%s/dev.flash", check_tmpdir());
    memset(x, 0, sizeof *x);
    x->path = path;
    x->clock.now = 1000000;
    x->clock.rng = 42;
    ota32_posix_alloc_init(&x->alloc);
    CHECK_EQ(fx_device_create(path, v1, IMG_LEN), OTA32_OK);
    CHECK_EQ(fx_power_on(x), OTA32_OK);
    memset(src, 0, sizeof *src);
    src->file = v2;
    src->len = IMG_LEN;
    snprintf(src->etag, sizeof src->etag, "\"v2\"");
    x->src = src;
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/v2.bin", "v2");
    memset(c, 0, sizeof *c);
    c->json = cfgbuf;
    c->net = src;
}

/* One boot's first poll: installs v2 (ota_1) and reboots into it. */
static void install_v2(fx_dev *x, const ota32_service_opts *o)
{
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x->plat, o, &s), OTA32_OK);
    ota32_poll_result r;
    ota32_diag d;
    CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_OK);
    CHECK(r.first);
    CHECK_EQ(r.boot, OTA32_BOOT_NORMAL);
    CHECK(r.applied);
    CHECK_EQ(r.apply, OTA32_APPLY_REBOOT);
    CHECK(r.reboot);
    CHECK(vdev_reboot_requested(x->d));
    ota32_service_free(s);
    CHECK_EQ(fx_reboot(x), OTA32_OK);
    CHECK_STR(x->boot.label, "ota_1");
    CHECK_EQ(x->boot.ota_state, OTA32_IMG_PENDING_VERIFY);
}

static uint32_t running_state(fx_dev *x)
{
    ota32_slot rs;
    uint32_t st = 0;
    CHECK_EQ(x->plat.boot.running_slot(x->plat.boot.ctx, &rs, &st), OTA32_OK);
    return st;
}

TEST(update_confirm_up_to_date)
{
    fx_dev x;
    fx_source src;
    fx_cfg c;
    setup(&x, &src, &c);
    ota32_service_opts o;
    fx_poll_opts(&o, &x, &c, true);
    install_v2(&x, &o);
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_poll_result r;
    ota32_diag d;
    CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_OK);
    CHECK_EQ(r.boot, OTA32_BOOT_PROBATION);
    CHECK(r.config_fetched);
    CHECK(r.confirmed); /* the config came from the server: that is the proof */
    CHECK(!r.probation);
    CHECK_EQ(r.apply, OTA32_APPLY_UP_TO_DATE);
    CHECK_EQ(r.next_poll_ms, 60000);
    CHECK_EQ(src.heads, 0); /* no probe needed */
    CHECK_EQ(running_state(&x), OTA32_IMG_VALID);
    char ver[32] = "";
    CHECK_EQ(fx_get_str(&x, OTA32_NVS_KEY_VERSION, ver, sizeof ver), OTA32_OK);
    CHECK_STR(ver, "v2");
    /* The next poll is a plain check. */
    CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_OK);
    CHECK(!r.first && !r.confirmed);
    CHECK_EQ(r.apply, OTA32_APPLY_UP_TO_DATE);
    ota32_service_free(s);
    fx_power_off(&x);
}

/* Config from NVS with the network dead: nothing proves the new firmware,
 * so it never confirms; the probation timeout rolls it back. */
TEST(nvs_config_dead_network_never_confirms)
{
    fx_dev x;
    fx_source src;
    fx_cfg c;
    setup(&x, &src, &c);
    c.net = NULL; /* a local copy: readable whatever the network does */
    ota32_service_opts o;
    fx_poll_opts(&o, &x, &c, false);
    install_v2(&x, &o);
    src.down = true;
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_poll_result r;
    ota32_diag d;
    uint64_t boot = x.clock.now;
    unsigned polls = 0;
    int rc = OTA32_OK;
    do {
        rc = ota32_service_poll(s, &r, &d);
        polls++;
        CHECK(r.config_fetched);
        CHECK(!r.confirmed);
        if (!r.rejected) {
            CHECK(r.probation);
            CHECK_EQ(r.apply, OTA32_APPLY_PROBATION);
            CHECK_EQ(running_state(&x), OTA32_IMG_PENDING_VERIFY);
            x.clock.now += r.next_poll_ms;
        }
    } while (!r.rejected && polls < 100);
    CHECK(r.rejected);
    CHECK(r.reboot);
    CHECK_EQ(rc, OTA32_ERR_TIMEOUT);
    CHECK_CONTAINS(d.msg, "not confirmed within 900 s of booting");
    CHECK_EQ(x.clock.now - boot, PROBATION_MS); /* exactly at the timeout, not before */
    CHECK(src.refused >= polls - 1); /* every poll probed the server */
    CHECK_EQ(running_state(&x), OTA32_IMG_INVALID);
    ota32_service_free(s);
    /* The bootloader brings v1 back, and the engine records the rollback. */
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_service_poll(s, &r, &d);
    CHECK_EQ(r.boot, OTA32_BOOT_ROLLED_BACK);
    ota32_service_free(s);
    fx_power_off(&x);
}

/* Positive control: the same NVS config with the server reachable confirms
 * through a HEAD request to the OTA url. */
TEST(nvs_config_confirms_by_probing_the_server)
{
    fx_dev x;
    fx_source src;
    fx_cfg c;
    setup(&x, &src, &c);
    c.net = NULL;
    ota32_service_opts o;
    fx_poll_opts(&o, &x, &c, false);
    install_v2(&x, &o);
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_poll_result r;
    ota32_diag d;
    unsigned gets = src.requests;
    CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_OK);
    CHECK(r.confirmed);
    CHECK_EQ(src.heads, 1);
    CHECK_EQ(src.requests, gets); /* a probe, not a download */
    CHECK_EQ(running_state(&x), OTA32_IMG_VALID);
    ota32_service_free(s);
    fx_power_off(&x);
}

/* An access point that reboots during the first boot of a new firmware:
 * the fetches fail for 20 s, the firmware stays on probation and confirms
 * once the network is back. */
TEST(network_outage_on_probation_does_not_roll_back)
{
    fx_dev x;
    fx_source src;
    fx_cfg c;
    setup(&x, &src, &c);
    ota32_service_opts o;
    fx_poll_opts(&o, &x, &c, true);
    install_v2(&x, &o);
    src.down = true;
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_poll_result r;
    ota32_diag d;
    uint64_t boot = x.clock.now;
    unsigned polls = 0;
    while (x.clock.now - boot < 20000) {
        CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_ERR_NET);
        CHECK_CONTAINS(d.msg, "network unreachable");
        CHECK(!r.config_fetched && r.probation && !r.rejected && !r.reboot);
        /* Retries back off from 1 s, far below the 60 s poll interval. */
        CHECK(r.next_poll_ms >= 750 && r.next_poll_ms < 20000);
        x.clock.now += r.next_poll_ms;
        polls++;
    }
    CHECK(polls >= 3);
    CHECK_EQ(running_state(&x), OTA32_IMG_PENDING_VERIFY);
    src.down = false;
    CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_OK);
    CHECK(r.confirmed);
    CHECK_EQ(running_state(&x), OTA32_IMG_VALID);
    ota32_service_free(s);
    fx_power_off(&x);
}

/* The outage outlasts probation: rolled back at the timeout. */
TEST(probation_timeout_rolls_back)
{
    fx_dev x;
    fx_source src;
    fx_cfg c;
    setup(&x, &src, &c);
    ota32_service_opts o;
    fx_poll_opts(&o, &x, &c, true);
    o.probation_timeout_ms = 120000;
    install_v2(&x, &o);
    src.down = true;
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_poll_result r;
    ota32_diag d;
    uint64_t boot = x.clock.now;
    int rc;
    while ((rc = ota32_service_poll(s, &r, &d)) == OTA32_ERR_NET) {
        CHECK(x.clock.now - boot < 120000);
        x.clock.now += r.next_poll_ms;
    }
    CHECK_EQ(rc, OTA32_ERR_TIMEOUT);
    CHECK(r.rejected);
    CHECK_EQ(x.clock.now - boot, 120000);
    CHECK_EQ(running_state(&x), OTA32_IMG_INVALID);
    ota32_service_free(s);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    fx_power_off(&x);

    /* OTA32_PROBATION_NEVER: the firmware waits for a reset instead. */
    setup(&x, &src, &c);
    fx_poll_opts(&o, &x, &c, true);
    o.probation_timeout_ms = OTA32_PROBATION_NEVER;
    install_v2(&x, &o);
    src.down = true;
    boot = x.clock.now;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    for (int i = 0; i < 200; i++) {
        CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_ERR_NET);
        x.clock.now += r.next_poll_ms;
    }
    CHECK(x.clock.now - boot > 2 * PROBATION_MS);
    CHECK(!r.rejected);
    CHECK_EQ(running_state(&x), OTA32_IMG_PENDING_VERIFY);
    ota32_service_free(s);
    fx_power_off(&x);
}

static int unhealthy(void *user, ota32_diag *diag)
{
    int *calls = user;
    (*calls)++;
    return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, -1, "sensor bus not up");
}

/* The application's verdict: a failing health check postpones the
 * confirmation; reject rolls the firmware back at once. */
TEST(application_health_and_reject)
{
    fx_dev x;
    fx_source src;
    fx_cfg c;
    setup(&x, &src, &c);
    ota32_service_opts o;
    fx_poll_opts(&o, &x, &c, true);
    install_v2(&x, &o);
    int calls = 0;
    o.health = unhealthy;
    o.user = &calls;
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_poll_result r;
    ota32_diag d;
    CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_OK);
    CHECK_EQ(calls, 1);
    CHECK(!r.confirmed && r.probation);
    CHECK_CONTAINS(x.last_log, "sensor bus not up");
    CHECK_EQ(running_state(&x), OTA32_IMG_PENDING_VERIFY);
    CHECK_EQ(ota32_service_reject(s, "self-test failed"), OTA32_OK);
    CHECK_CONTAINS(x.last_log, "ota_1 rejected: self-test failed: rolling back");
    CHECK(vdev_reboot_requested(x.d));
    ota32_service_free(s);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    o.health = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_OK);
    CHECK_EQ(r.boot, OTA32_BOOT_ROLLED_BACK);
    CHECK_EQ(r.apply, OTA32_APPLY_DEFERRED); /* v2 failed: not retried at once */
    /* A confirmed firmware is not rolled back by reject. */
    CHECK_EQ(ota32_service_reject(s, "late"), OTA32_ERR_STATE);
    CHECK_CONTAINS(x.last_log, "cannot be rejected (late): it is confirmed");
    CHECK(!vdev_reboot_requested(x.d));
    ota32_service_free(s);
    fx_power_off(&x);
}

TEST(poll_needs_a_config_source)
{
    fx_dev x;
    fx_source src;
    fx_cfg c;
    setup(&x, &src, &c);
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_poll_result r;
    CHECK_EQ(ota32_service_poll(s, &r, NULL), OTA32_ERR_INVALID_ARG);
    ota32_service_free(s);
    /* A config too large for config_max is refused with the limit named. */
    static char big[3000];
    memset(big, ' ', sizeof big - 1);
    c.json = big;
    fx_poll_opts(&o, &x, &c, true);
    o.config_max = 2048;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_diag d;
    CHECK_EQ(ota32_service_poll(s, &r, &d), OTA32_ERR_TOO_BIG);
    CHECK_CONTAINS(d.msg, "2999 bytes");
    ota32_service_free(s);
    CHECK_EQ(x.alloc.current, 0);
    fx_power_off(&x);
}

RUN_TESTS(CASE(update_confirm_up_to_date), CASE(nvs_config_dead_network_never_confirms),
          CASE(nvs_config_confirms_by_probing_the_server),
          CASE(network_outage_on_probation_does_not_roll_back), CASE(probation_timeout_rolls_back),
          CASE(application_health_and_reject), CASE(poll_needs_a_config_source))
