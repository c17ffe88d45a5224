/*
 * The engine end to end on a virtual ESP32, with a scripted server: update,
 * confirm, rollback, resume (drop, reset), restarts, rejections, back-off,
 * bounded memory.
 */
#include "test_service_fixture.h"

#include "bytes.h"
#include "svc_backoff.h"

#define IMG_LEN (300u * 1024u)

static char path[512];
static char cfgbuf[1024];
static uint8_t *v1, *v2;

/* A device running v1 from ota_0 (boot once: otadata[0] written VALID). */
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
    CHECK_STR(x->boot.label, "ota_0");
    memset(src, 0, sizeof *src);
    src->file = v2;
    src->len = IMG_LEN;
    snprintf(src->etag, sizeof src->etag, "\"v2\"");
    src->rng = 7;
    x->src = src;
}

static int apply(fx_dev *x, const ota32_service_opts *o, const char *version,
                 ota32_apply_result *res, ota32_diag *d, ota32_service_stats *st)
{
    ota32_service *s = NULL;
    int rc = ota32_service_new(&x->plat, o, &s);
    if (rc != OTA32_OK)
        return rc;
    ota32_boot_status bs;
    rc = ota32_service_boot(s, &bs);
    if (rc == OTA32_OK) {
        fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/fw.bin?token=secret", version);
        ota32_diag_clear(d);
        rc = ota32_service_apply(s, cfgbuf, strlen(cfgbuf), res, d);
    }
    if (st)
        ota32_service_get_stats(s, st);
    ota32_service_free(s);
    return rc;
}

/* After a reboot: boot check and confirm, as the new firmware does. */
static ota32_boot_status boot_and_confirm(fx_dev *x, bool confirm)
{
    ota32_service_opts o;
    fx_opts(&o, x);
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x->plat, &o, &s), OTA32_OK);
    ota32_boot_status bs = OTA32_BOOT_NORMAL;
    CHECK_EQ(ota32_service_boot(s, &bs), OTA32_OK);
    if (confirm && bs == OTA32_BOOT_PROBATION)
        CHECK_EQ(ota32_service_confirm(s), OTA32_OK);
    ota32_service_free(s);
    return bs;
}

TEST(update_confirm_and_up_to_date)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_apply_result res = OTA32_APPLY_UP_TO_DATE;
    ota32_diag d;
    ota32_service_stats st;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK(vdev_reboot_requested(x.d));
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    CHECK_EQ(st.bytes_written, IMG_LEN);
    CHECK_EQ(st.bytes_received, IMG_LEN);
    CHECK_EQ(st.attempts, 1);
    CHECK_EQ(st.old_slot, 0);
    CHECK_EQ(st.new_slot, 1);
    CHECK_STR(st.new_version, "v2");
    CHECK_CONTAINS(x.last_log, "update complete");
    CHECK(strstr(x.last_log, "secret") == NULL);
    /* erase-ahead: 300 KB = 4 blocks + 11 sectors, nothing more */
    CHECK_EQ(st.erases_block, 4);
    CHECK_EQ(st.erases_sector, 11);
    CHECK_EQ(x.alloc.current, 0);

    /* The version is not recorded until the new firmware confirms. */
    char ver[200] = "";
    CHECK_EQ(fx_get_str(&x, OTA32_NVS_KEY_VERSION, ver, sizeof ver), OTA32_ERR_NOT_FOUND);

    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_1");
    CHECK_STR(x.boot.app.version, "v2");
    CHECK_EQ(x.boot.ota_state, OTA32_IMG_PENDING_VERIFY);
    /* On probation, apply does not start anything. */
    CHECK_EQ(apply(&x, &o, "v3", &res, &d, NULL), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_PROBATION);
    CHECK_EQ(boot_and_confirm(&x, true), OTA32_BOOT_PROBATION);
    CHECK_EQ(fx_get_str(&x, OTA32_NVS_KEY_VERSION, ver, sizeof ver), OTA32_OK);
    CHECK_STR(ver, "v2");
    ota32_slot rs;
    uint32_t state = 0;
    CHECK_EQ(x.plat.boot.running_slot(x.plat.boot.ctx, &rs, &state), OTA32_OK);
    CHECK_EQ(state, OTA32_IMG_VALID);
    unsigned req = src.requests;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, NULL), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_UP_TO_DATE);
    CHECK_EQ(src.requests, req);
    /* Still VALID on ota_1 after another power cycle. */
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_1");
    CHECK_EQ(x.boot.ota_state, OTA32_IMG_VALID);
    CHECK_EQ(boot_and_confirm(&x, true), OTA32_BOOT_NORMAL);
    fx_power_off(&x);
}

TEST(resume_after_drops_at_several_offsets)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.drop_after[0] = 1000; /* inside the first write buffer */
    src.drop_after[1] = 70000;
    src.drop_after[2] = 5;
    src.drop_after[3] = 100000;
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_apply_result res;
    ota32_diag d;
    ota32_service_stats st;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    CHECK_EQ(st.attempts, 5);
    CHECK_EQ(st.resumes, 4);
    CHECK_EQ(st.restarts, 0);
    CHECK_EQ(src.range_requests, 4);
    /* Resuming sends each byte once. */
    CHECK_EQ(st.bytes_received, IMG_LEN);
    /* Progress was made each time: the first retry delay each time. */
    CHECK_EQ(x.clock.sleeps, 4);
    CHECK(x.clock.last_sleep >= 750 && x.clock.last_sleep < 1250);
    fx_power_off(&x);
}

TEST(server_ignoring_range_restarts)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.drop_after[0] = 150000;
    src.ignore_range = true;
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_apply_result res;
    ota32_diag d;
    ota32_service_stats st;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    CHECK_EQ(st.restarts, 1);
    CHECK_EQ(st.resumes, 0);
    CHECK_EQ(st.bytes_received, IMG_LEN + 150000);
    fx_power_off(&x);
}

TEST(file_changed_between_attempts_restarts)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    /* The first attempt gets v1's bytes (same url), then the file is
     * replaced: If-Range fails, the server sends the new file in full. */
    src.file = v1;
    src.next_file = v2;
    src.next_len = IMG_LEN;
    src.change_at = 2;
    src.drop_after[0] = 120000;
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_apply_result res;
    ota32_diag d;
    ota32_service_stats st;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK_EQ(src.range_requests, 1);
    CHECK_EQ(st.restarts, 1);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    fx_power_off(&x);
}

TEST(no_validator_means_no_blind_resume)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    src.no_validator = true;
    src.drop_after[0] = 100000;
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_apply_result res;
    ota32_diag d;
    ota32_service_stats st;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK_EQ(src.range_requests, 0);
    CHECK_EQ(st.restarts, 1);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    fx_power_off(&x);
}

static void expect_rejected_without_erase(fx_source *src_setup_flip, int want_rc,
                                          const char *want_msg, bool erase_ok)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    uint8_t *copy = NULL;
    if (src_setup_flip)
        src = *src_setup_flip, src.requests = 0, x.src = &src;
    (void)copy;
    ota32_service_opts o;
    fx_opts(&o, &x);
    vdev_reset_stats(x.d);
    ota32_apply_result res = OTA32_APPLY_UP_TO_DATE;
    ota32_diag d;
    ota32_service_stats st;
    int rc = apply(&x, &o, "v2", &res, &d, &st);
    CHECK_EQ(rc, want_rc);
    CHECK_CONTAINS(d.msg, want_msg);
    CHECK_EQ(src.requests, 1); /* not retried quickly */
    vdev_stats vs;
    vdev_get_stats(x.d, &vs);
    if (!erase_ok) {
        CHECK_EQ(st.erases_block + st.erases_sector + st.programs, 0);
        CHECK_EQ(vs.sector_erases + vs.block_erases, 0);
    }
    CHECK(!vdev_reboot_requested(x.d));
    /* The old firmware still boots, and the same update is not retried
     * before the long back-off. */
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    CHECK_STR(x.boot.app.version, "v1");
    fx_power_off(&x);
}

TEST(rejections_before_any_erase)
{
    /* a made image with the ESP32-S2's chip id, its SHA-256 recomputed */
    size_t s2_len = 0x10400;
    uint8_t *s2 = fx_image("s2", (uint32_t)s2_len);
    CHECK(s2 != NULL);
    if (!s2)
        return;
    ota32_put_le16(s2 + 12, OTA32_CHIP_ESP32S2);
    ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, s2, s2_len - 32, s2 + s2_len - 32);
    if (!v2)
        v2 = fx_image("v2", IMG_LEN);
    CHECK(v2 != NULL);
    if (!v2) {
        free(s2);
        return;
    }
    fx_source src;
    memset(&src, 0, sizeof src);
    snprintf(src.etag, sizeof src.etag, "\"x\"");
    /* wrong chip */
    src.file = s2;
    src.len = s2_len;
    expect_rejected_without_erase(&src, OTA32_ERR_CHIP, "chip", false);
    /* wrong magic */
    static uint8_t junk[5000];
    memset(junk, 0x42, sizeof junk);
    src.file = junk;
    src.len = sizeof junk;
    expect_rejected_without_erase(&src, OTA32_ERR_CORRUPT, "magic", false);
    /* announced larger than the slot */
    src.file = v2;
    src.len = IMG_LEN;
    src.claim_len = FX_SLOT_SIZE + 1;
    expect_rejected_without_erase(&src, OTA32_ERR_TOO_BIG, "larger than ota_1", false);
    /* header split across one-byte frames: still rejected before erasing */
    src.claim_len = 0;
    src.file = s2;
    src.len = s2_len;
    src.frame = 1;
    expect_rejected_without_erase(&src, OTA32_ERR_CHIP, "chip", false);
    free(s2);
}

TEST(flipped_byte_is_rejected_and_old_firmware_boots)
{
    static uint8_t bad[IMG_LEN];
    if (!v1) {
        v1 = fx_image("v1", IMG_LEN);
        v2 = fx_image("v2", IMG_LEN);
    }
    memcpy(bad, v2, IMG_LEN);
    bad[IMG_LEN / 2] ^= 0x01;
    fx_source src;
    memset(&src, 0, sizeof src);
    snprintf(src.etag, sizeof src.etag, "\"bad\"");
    src.file = bad;
    src.len = IMG_LEN;
    expect_rejected_without_erase(&src, OTA32_ERR_VERIFY, "", true);
}

TEST(statuses_and_backoff)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    ota32_service_opts o;
    fx_opts(&o, &x);
    o.max_retries = 3;
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    CHECK_EQ(ota32_service_boot(s, NULL), OTA32_OK);
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/fw.bin", "v2");
    ota32_apply_result res;
    ota32_diag d;

    /* 404: one request, then the long back-off. */
    src.status = 404;
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_ERR_HTTP);
    CHECK_EQ(src.requests, 1);
    CHECK_EQ(x.clock.sleeps, 0);
    CHECK_EQ(ota32_service_next_attempt(s), x.clock.now + 24ull * 3600 * 1000);
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_DEFERRED);
    CHECK_EQ(src.requests, 1);

    /* A new version is a new target: tried at once. 500 is retried with
     * growing delays, then apply gives up with a short back-off. */
    src.status = 500;
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/fw.bin", "v3");
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_ERR_HTTP);
    CHECK_EQ(src.requests, 1 + 4);
    CHECK_EQ(x.clock.sleeps, 3);
    /* 1 s, 2 s, 4 s with +-25% jitter */
    CHECK(x.clock.slept >= 7000 * 3 / 4 && x.clock.slept < 7000 * 5 / 4);
    uint64_t wait = ota32_service_next_attempt(s) - x.clock.now;
    CHECK(wait >= 12000 && wait < 30000);
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_DEFERRED);
    /* 403 after the wait: long back-off again. */
    x.clock.now += wait;
    src.status = 403;
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_ERR_HTTP);
    CHECK_EQ(ota32_service_next_attempt(s), x.clock.now + 24ull * 3600 * 1000);

    /* Server back, version changed again: installs. */
    src.status = 0;
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/fw.bin", "v2b");
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    ota32_service_free(s);
    CHECK_EQ(x.alloc.current, 0);
    fx_power_off(&x);
}

TEST(rollback_is_recorded_and_not_retried_in_a_loop)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_apply_result res;
    ota32_diag d;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, NULL), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    /* New firmware boots on probation and crashes before confirming. */
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_1");
    CHECK_EQ(boot_and_confirm(&x, false), OTA32_BOOT_PROBATION);
    /* The bootloader aborts it and boots ota_0 again. */
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    CHECK_STR(x.boot.app.version, "v1");
    unsigned before = src.requests;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, NULL), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_DEFERRED);
    CHECK_EQ(src.requests, before);
    CHECK_CONTAINS(x.last_log, "rolled back");
    /* Many config checks later (within the day): still no download. */
    for (int i = 0; i < 50; i++) {
        x.clock.now += 10000;
        CHECK_EQ(apply(&x, &o, "v2", &res, &d, NULL), OTA32_OK);
        CHECK_EQ(res, OTA32_APPLY_DEFERRED);
    }
    CHECK_EQ(src.requests, before);
    char ver[200] = "";
    CHECK_EQ(fx_get_str(&x, OTA32_NVS_KEY_VERSION, ver, sizeof ver), OTA32_ERR_NOT_FOUND);
    /* A new version in the config is tried at once. */
    CHECK_EQ(apply(&x, &o, "v2-fixed", &res, &d, NULL), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_EQ(boot_and_confirm(&x, true), OTA32_BOOT_PROBATION);
    CHECK_EQ(fx_get_str(&x, OTA32_NVS_KEY_VERSION, ver, sizeof ver), OTA32_OK);
    CHECK_STR(ver, "v2-fixed");
    fx_power_off(&x);
}

TEST(rolled_back_version_retried_after_the_long_backoff)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    ota32_service_opts o;
    fx_opts(&o, &x);
    o.failed_backoff_ms = 3600 * 1000;
    ota32_apply_result res;
    ota32_diag d;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, NULL), OTA32_OK);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_EQ(fx_reboot(&x), OTA32_OK); /* never confirmed */
    CHECK_STR(x.boot.label, "ota_0");
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_boot_status bs;
    CHECK_EQ(ota32_service_boot(s, &bs), OTA32_OK);
    CHECK_EQ(bs, OTA32_BOOT_ROLLED_BACK);
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/fw.bin", "v2");
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_DEFERRED);
    x.clock.now += 3600 * 1000;
    unsigned before = src.requests;
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK_EQ(src.requests, before + 1);
    ota32_service_free(s);
    /* Second failure: the wait doubles. */
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    CHECK_EQ(ota32_service_boot(s, &bs), OTA32_OK);
    CHECK_EQ(bs, OTA32_BOOT_ROLLED_BACK);
    x.clock.now += 3600 * 1000 + 1;
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_DEFERRED);
    x.clock.now += 3600 * 1000;
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    ota32_service_free(s);
    fx_power_off(&x);
}

TEST(resume_after_power_cut_rechecks_flash)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    ota32_service_opts o;
    fx_opts(&o, &x);
    /* Cut power at the 40th flash operation of the download. */
    vdev_arm_cut(x.d, 100, VDEV_CUT_INSIDE, 1);
    ota32_apply_result res;
    ota32_diag d;
    ota32_service_stats st;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_ERR_IO);
    CHECK(vdev_power_lost(x.d));
    uint64_t first = src.body_sent;
    printf("  first attempt got %llu bytes before the cut\n", (unsigned long long)first);
    CHECK(first > 48 * 1024 && first < IMG_LEN);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK(st.resumed_from >= 32 * 1024);
    CHECK_EQ(st.resumes, 1);
    CHECK_EQ(st.restarts, 0);
    CHECK_EQ(st.bytes_received, IMG_LEN - st.resumed_from);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));

    /* Same again, but the flash under the saved progress is damaged while
     * the device is off: the re-check catches it and the download restarts. */
    fx_power_off(&x);
    setup(&x, &src);
    vdev_arm_cut(x.d, 40, VDEV_CUT_BEFORE, 1);
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_ERR_IO);
    CHECK(vdev_power_lost(x.d));
    fx_power_off(&x);
    {
        vdev *dv;
        ota32_diag dd;
        CHECK_EQ(vdev_open(&dv, path, NULL, &dd), OTA32_OK);
        const ota32_flash_ops *f = vdev_flash(dv);
        uint8_t z = 0x00;
        CHECK_EQ(f->program(f->ctx, FX_SLOT1 + 5000, &z, 1), OTA32_OK);
        vdev_close(dv);
    }
    CHECK_EQ(fx_power_on(&x), OTA32_OK);
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, &st), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK_EQ(st.resumed_from, 0);
    CHECK_EQ(st.bytes_received, IMG_LEN);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    fx_power_off(&x);
}

static size_t peak_for(uint32_t len)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    uint8_t *img = fx_image("big", len);
    src.file = img;
    src.len = len;
    src.frame = 16384;
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_posix_alloc_reset_peak(&x.alloc);
    ota32_apply_result res;
    ota32_diag d;
    CHECK_EQ(apply(&x, &o, "big", &res, &d, NULL), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK(fx_slot_equals(&x, FX_SLOT1, img, len));
    size_t peak = x.alloc.peak;
    CHECK_EQ(x.alloc.current, 0);
    free(img);
    fx_power_off(&x);
    return peak;
}

TEST(engine_memory_does_not_grow_with_the_image)
{
    size_t a = peak_for(1u << 20);
    size_t b = peak_for(3500000u);
    CHECK_EQ(a, b);
    CHECK(a < 20 * 1024); /* the engine's own share; the HTTP client adds its window */
    printf("  engine peak heap: %zu bytes (1 MB and 3.5 MB images)\n", a);
}

static ota32_flash_ops real_flash;

TEST(flash_error_fails_the_check_and_the_next_one_resumes)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    /* A bad page in the 40th 4 KB write, well past the first progress record. */
    vdev_nor_fail(vdev_nor_of(x.d), VDEV_OP_PROGRAM, FX_SLOT1 + 39 * 4096);
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    CHECK_EQ(ota32_service_boot(s, NULL), OTA32_OK);
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/fw.bin", "v2");
    ota32_apply_result res;
    ota32_diag d;
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_ERR_IO);
    CHECK_CONTAINS(d.msg, "programming");
    CHECK_EQ(src.requests, 1); /* not retried in place */
    CHECK_EQ(x.clock.sleeps, 0);
    uint64_t wait = ota32_service_next_attempt(s) - x.clock.now;
    CHECK(wait > 0 && wait <= 5 * 60 * 1000); /* the short back-off */
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_DEFERRED);
    x.clock.now += wait;
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    ota32_service_stats st;
    ota32_service_get_stats(s, &st);
    CHECK(st.resumed_from >= 16 * 1024); /* from the progress record, flash re-checked */
    CHECK_EQ(st.bytes_received, IMG_LEN - st.resumed_from);
    CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
    ota32_service_free(s);
    fx_power_off(&x);
}

/* A flash that reads one byte of ota_1 wrong: what the read-back sees. */
static uint32_t misread_at; /* flash address */

static int misreading_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    int rc = real_flash.read(ctx, addr, buf, len);
    if (rc == OTA32_OK && misread_at >= addr && misread_at - addr < len)
        ((uint8_t *)buf)[misread_at - addr] ^= 0x10;
    return rc;
}

/* The read-back checks every byte in flash: in the hashed body, in the
 * appended digest, and in bytes after the image (a trailer the parser only
 * scans), and a mismatch never switches the slot. */
TEST(flash_read_back_mismatch_anywhere_is_caught)
{
    enum { TRAILER = 100 };
    static uint8_t padded[IMG_LEN + TRAILER];
    const uint32_t at[] = {0x20, IMG_LEN / 2, IMG_LEN - 1, IMG_LEN + TRAILER / 2,
                           IMG_LEN + TRAILER - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        fx_dev x;
        fx_source src;
        setup(&x, &src);
        memcpy(padded, v2, IMG_LEN);
        memset(padded + IMG_LEN, 0xFF, TRAILER);
        src.file = padded;
        src.len = sizeof padded;
        real_flash = x.plat.flash;
        x.plat.flash.read = misreading_read;
        misread_at = FX_SLOT1 + at[i];
        ota32_service_opts o;
        fx_opts(&o, &x);
        ota32_apply_result res;
        ota32_diag d;
        CHECK_EQ(apply(&x, &o, "v2", &res, &d, NULL), OTA32_ERR_IO);
        CHECK_CONTAINS(d.msg, "does not match");
        misread_at = UINT32_MAX;
        CHECK_EQ(fx_reboot(&x), OTA32_OK);
        CHECK_STR(x.boot.label, "ota_0");
        fx_power_off(&x);
    }
    misread_at = 0;
}

TEST(backoff_doubles_caps_and_jitters)
{
    /* rnd 0 gives the low end (x0.75), rnd 2^32-1 the high end (~x1.25) */
    CHECK_EQ(svc_backoff_delay(1000, 300000, 0, 0), 750);
    CHECK_EQ(svc_backoff_delay(1000, 300000, 0, UINT32_MAX), 1249);
    CHECK_EQ(svc_backoff_delay(1000, 300000, 1, 0), 1500);
    CHECK_EQ(svc_backoff_delay(1000, 300000, 3, 0x80000000u), 8000);
    /* capped at 5 min (before jitter), however many attempts */
    CHECK_EQ(svc_backoff_delay(1000, 300000, 9, 0), 225000);
    CHECK_EQ(svc_backoff_delay(1000, 300000, 1000, 0x80000000u), 300000);
    CHECK_EQ(svc_backoff_delay(1000, 300000, UINT32_MAX, UINT32_MAX), 374999);
    /* never 0 */
    CHECK_EQ(svc_backoff_delay(1, 1, 0, 0), 1);
    /* jitter spreads: 1000 draws cover the range and stay inside it */
    uint32_t r = 1, lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t d = svc_backoff_delay(1000, 300000, 2, fx_rand(&r));
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    CHECK(lo >= 3000 && lo < 3100);
    CHECK(hi < 5000 && hi > 4900);
}

TEST(every_allocation_failure_is_clean)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src);
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_apply_result res;
    ota32_diag d;
    /* Count the allocation attempts of a whole update. */
    uint64_t start = x.alloc.attempts;
    CHECK_EQ(apply(&x, &o, "v2", &res, &d, NULL), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    uint64_t total = x.alloc.attempts - start;
    CHECK(total >= 4); /* engine, write buffer, hashes, URL scratch, ... */
    fx_power_off(&x);
    for (uint64_t n = 1; n <= total; n++) {
        setup(&x, &src);
        x.alloc.fail_at = x.alloc.attempts + n;
        int rc = apply(&x, &o, "v2", &res, &d, NULL);
        CHECK_EQ(rc, OTA32_ERR_NO_MEM);
        CHECK_EQ(x.alloc.current, 0);
        CHECK(!vdev_reboot_requested(x.d));
        /* Memory back: the same device updates (resuming when it can). */
        x.alloc.fail_at = 0;
        CHECK_EQ(apply(&x, &o, "v2", &res, &d, NULL), OTA32_OK);
        CHECK_EQ(res, OTA32_APPLY_REBOOT);
        CHECK(fx_slot_equals(&x, FX_SLOT1, v2, IMG_LEN));
        fx_power_off(&x);
    }
    printf("  allocation failures: %llu injected, each reported as out of memory\n",
           (unsigned long long)total);
}

RUN_TESTS(CASE(backoff_doubles_caps_and_jitters), CASE(update_confirm_and_up_to_date),
          CASE(resume_after_drops_at_several_offsets), CASE(server_ignoring_range_restarts),
          CASE(file_changed_between_attempts_restarts), CASE(no_validator_means_no_blind_resume),
          CASE(rejections_before_any_erase), CASE(flipped_byte_is_rejected_and_old_firmware_boots),
          CASE(statuses_and_backoff), CASE(rollback_is_recorded_and_not_retried_in_a_loop),
          CASE(rolled_back_version_retried_after_the_long_backoff),
          CASE(resume_after_power_cut_rechecks_flash),
          CASE(engine_memory_does_not_grow_with_the_image),
          CASE(flash_error_fails_the_check_and_the_next_one_resumes),
          CASE(flash_read_back_mismatch_anywhere_is_caught),
          CASE(every_allocation_failure_is_clean))
