/*
 * The engine against servers that misbehave on purpose: restarts that never
 * finish (a bounded number of bytes per attempt, then the long back-off),
 * 206 answers that do not match the If-Range or offset asked for, or with
 * an unknown length
 * (start over, never a bad image), a server too slow for the attempt
 * deadline, and a download stopped because it is no longer wanted.
 */
#include "test_service_fixture.h"

#include "ota32/otadata.h"

#define IMG_LEN (300u * 1024u)

static char path[512];
static char cfgbuf[1024];
static uint8_t *v1, *v2;

static void setup(fx_dev *x, fx_source *src)
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
    src->rng = 7;
    x->src = src;
}

typedef struct outcome {
    int rc;
    ota32_apply_result res;
    ota32_diag diag;
    ota32_service_stats st;
    uint64_t wait_ms; /* next attempt, from the end of apply */
} outcome;

static outcome apply(fx_dev *x, const ota32_service_opts *o)
{
    outcome out;
    memset(&out, 0, sizeof out);
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x->plat, o, &s), OTA32_OK);
    CHECK_EQ(ota32_service_boot(s, NULL), OTA32_OK);
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/fw.bin", "v2");
    ota32_diag_clear(&out.diag);
    out.rc = ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &out.res, &out.diag);
    ota32_service_get_stats(s, &out.st);
    uint64_t next = ota32_service_next_attempt(s);
    out.wait_ms = next > x->clock.now ? next - x->clock.now : 0;
    ota32_service_free(s);
    CHECK_EQ(x->alloc.current, 0);
    return out;
}

/* The old firmware still boots, VALID, after the failed attempt. */
static void old_firmware_boots(fx_dev *x)
{
    CHECK_EQ(fx_reboot(x), OTA32_OK);
    CHECK_STR(x->boot.label, "ota_0");
    CHECK_STR(x->boot.app.version, "v1");
    CHECK_EQ(x->boot.ota_state, OTA32_IMG_VALID);
    fx_power_off(x);
}

TEST(restarts_are_not_progress)
{
    /* Range ignored, the connection dropped ever later: each request gets
     * further than the one before, from byte 0 again. */
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.ignore_range = true;
    for (unsigned i = 0; i < 16; i++)
        src.drop_after[i] = 100000 + i * 12000;
    ota32_service_opts o;
    fx_opts(&o, &x);
    outcome r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_ERR_HTTP);
    CHECK_CONTAINS(r.diag.msg, "3x the image, without a whole image");
    CHECK(r.st.bytes_received <= 3u * IMG_LEN);
    CHECK(r.st.bytes_received > 2u * IMG_LEN);
    CHECK_EQ(r.st.restarts + 1, r.st.attempts);
    /* The long back-off for a server fault (1 h), not the network's. */
    CHECK(r.wait_ms == 3600u * 1000u);
    old_firmware_boots(&x);

    /* Positive control: the same server without drops after the first. */
    setup(&x, &src);
    src.ignore_range = true;
    src.drop_after[0] = 100000;
    r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_OK);
    CHECK_EQ(r.res, OTA32_APPLY_REBOOT);
    CHECK_EQ(r.st.bytes_received, IMG_LEN + 100000);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    fx_power_off(&x);
}

TEST(same_offset_drops_give_up_after_the_retries)
{
    /* Range ignored and always dropped at the same point: no progress. */
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.ignore_range = true;
    for (unsigned i = 0; i < 16; i++)
        src.drop_after[i] = 20000;
    ota32_service_opts o;
    fx_opts(&o, &x);
    o.max_retries = 3;
    outcome r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_ERR_NET);
    /* The first request is progress, the next four are not. */
    CHECK_EQ(r.st.attempts, 5);
    CHECK_EQ(r.st.bytes_received, 5u * 20000u);
    old_firmware_boots(&x);
}

TEST(if_range_mismatch_starts_over)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.drop_after[0] = 100000;
    src.range_etag = "\"other\""; /* a server that ignores If-Range */
    ota32_service_opts o;
    fx_opts(&o, &x);
    outcome r = apply(&x, &o);
    /* Request 2 is a 206 of another file: refused before any byte of it,
     * request 3 starts over and completes. */
    CHECK_EQ(r.rc, OTA32_OK);
    CHECK_EQ(r.res, OTA32_APPLY_REBOOT);
    CHECK_EQ(r.st.attempts, 3);
    CHECK_EQ(r.st.restarts, 1);
    CHECK_EQ(r.st.bytes_received, IMG_LEN + 100000);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    fx_power_off(&x);
}

TEST(range_at_the_wrong_offset_starts_over)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.drop_after[0] = 100000;
    src.drop_after[1] = 1; /* the 206 is refused before this matters */
    src.range_skew = 4096;
    ota32_service_opts o;
    fx_opts(&o, &x);
    outcome r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_OK);
    CHECK_EQ(r.st.restarts, 1);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    fx_power_off(&x);
}

TEST(unknown_total_in_content_range_resumes)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.drop_after[0] = 100000;
    src.range_total_star = true;
    ota32_service_opts o;
    fx_opts(&o, &x);
    outcome r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_OK);
    CHECK_EQ(r.st.resumes, 1);
    CHECK_EQ(r.st.restarts, 0);
    CHECK_EQ(r.st.bytes_received, IMG_LEN);
    CHECK_EQ(r.st.image_len, IMG_LEN);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    fx_power_off(&x);
}

TEST(attempt_deadline_is_a_server_fault)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.stall_ms = 2000; /* every request times out after 2 s */
    ota32_service_opts o;
    fx_opts(&o, &x);
    o.retry_base_ms = 100;
    o.max_retries = 100;
    o.attempt_timeout_ms = 10000;
    uint64_t t0 = x.clock.now;
    outcome r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_ERR_TIMEOUT);
    CHECK_CONTAINS(r.diag.msg, "no whole image within 10000 ms");
    CHECK(x.clock.now - t0 <= 10000 + 2000);
    CHECK(x.clock.now - t0 >= 10000);
    CHECK(r.wait_ms == 3600u * 1000u);
    old_firmware_boots(&x);
}

TEST(protocol_violations_back_off_then_give_up)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.protocol_error = true;
    ota32_service_opts o;
    fx_opts(&o, &x);
    uint64_t t0 = x.clock.now;
    outcome r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_ERR_HTTP);
    CHECK_CONTAINS(r.diag.msg, "WINDOW_UPDATE: window_size_increment == 0");
    /* Three requests, two waits of 4 s and 8 s (+-25%), not seven at 1 s. */
    CHECK_EQ(r.st.attempts, 3);
    CHECK_EQ(x.clock.sleeps, 2);
    CHECK(x.clock.now - t0 >= 9000 && x.clock.now - t0 <= 15000);
    CHECK(r.wait_ms == 3600u * 1000u);
    old_firmware_boots(&x);

    /* Positive control: a network error (a 503) gets the network's pace. */
    setup(&x, &src);
    src.status = 503;
    r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_ERR_HTTP);
    CHECK_EQ(r.st.attempts, 7);
    CHECK(r.wait_ms < 3600u * 1000u);
    fx_power_off(&x);
}

/* Erase the otadata copy holding the newest entry, as a power cut inside
 * its rewrite leaves it: the other copy (the old slot) boots. */
static void tear_newest_otadata(fx_dev *x)
{
    const ota32_flash_ops *f = vdev_flash(x->d);
    ota32_ota_entry e[2];
    CHECK_EQ(ota32_otadata_read(f, 0xF000, e), OTA32_OK);
    unsigned newest = e[1].seq != OTA32_OTADATA_SEQ_UNSET && (e[0].seq == OTA32_OTADATA_SEQ_UNSET ||
                                                              e[1].seq > e[0].seq)
                          ? 1u
                          : 0u;
    CHECK_EQ(f->erase_sector(f->ctx, 0xF000 + newest * 0x1000), OTA32_OK);
}

TEST(torn_otadata_is_not_a_failed_firmware)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    ota32_service_opts o;
    fx_opts(&o, &x);
    outcome r = apply(&x, &o);
    CHECK_EQ(r.res, OTA32_APPLY_REBOOT);
    /* The bootloader's NEW -> PENDING_VERIFY rewrite is torn. */
    tear_newest_otadata(&x);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_boot_status bs;
    CHECK_EQ(ota32_service_boot(s, &bs), OTA32_OK);
    CHECK_EQ(bs, OTA32_BOOT_NORMAL);
    CHECK_CONTAINS(x.last_log, "did not take (otadata entry torn");
    ota32_service_free(s);
    /* Retried at once, from the image in the slot: no request. */
    unsigned requests = src.requests;
    r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_OK);
    CHECK_EQ(r.res, OTA32_APPLY_REBOOT);
    CHECK_EQ(src.requests, requests);
    CHECK_EQ(r.st.bytes_received, 0);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_1");
    CHECK_EQ(x.boot.ota_state, OTA32_IMG_PENDING_VERIFY);
    fx_power_off(&x);

    /* Positive control: a reset while unconfirmed is a rollback (ABORTED). */
    setup(&x, &src);
    r = apply(&x, &o);
    CHECK_EQ(r.res, OTA32_APPLY_REBOOT);
    CHECK_EQ(fx_reboot(&x), OTA32_OK); /* ota_1 PENDING_VERIFY, never confirmed */
    CHECK_STR(x.boot.label, "ota_1");
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    CHECK_EQ(ota32_service_boot(s, &bs), OTA32_OK);
    CHECK_EQ(bs, OTA32_BOOT_ROLLED_BACK);
    ota32_service_free(s);
    r = apply(&x, &o);
    CHECK_EQ(r.res, OTA32_APPLY_DEFERRED);
    fx_power_off(&x);
}

static unsigned wanted_calls;
static unsigned wanted_until;

static bool still_wanted(void *user)
{
    (void)user;
    return ++wanted_calls <= wanted_until;
}

TEST(no_longer_wanted_stops_without_backoff)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.frame = 4096;
    ota32_service_opts o;
    fx_opts(&o, &x);
    o.still_wanted = still_wanted;
    wanted_calls = 0;
    wanted_until = 20;
    outcome r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_ERR_ABORTED);
    CHECK_CONTAINS(r.diag.msg, "no longer wanted");
    CHECK(r.st.bytes_received < IMG_LEN);
    CHECK_EQ(r.wait_ms, 0);
    old_firmware_boots(&x);

    /* Positive control: wanted throughout. */
    setup(&x, &src);
    src.frame = 4096;
    wanted_calls = 0;
    wanted_until = 1000000;
    r = apply(&x, &o);
    CHECK_EQ(r.rc, OTA32_OK);
    CHECK(wanted_calls > 20);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    fx_power_off(&x);
}

RUN_TESTS(CASE(restarts_are_not_progress), CASE(same_offset_drops_give_up_after_the_retries),
          CASE(if_range_mismatch_starts_over), CASE(range_at_the_wrong_offset_starts_over),
          CASE(unknown_total_in_content_range_resumes),
          CASE(attempt_deadline_is_a_server_fault),
          CASE(protocol_violations_back_off_then_give_up),
          CASE(torn_otadata_is_not_a_failed_firmware), CASE(no_longer_wanted_stops_without_backoff))
