/*
 * Authentic firmware on a virtual ESP32 whose eFuse trusts Secure Boot v2
 * keys: a signed update applies; unsigned, wrong-key, revoked-key, tampered
 * (header, body, signature, sector) and truncated images are refused before
 * the switch, otadata untouched and the old firmware booting; anti-rollback
 * and project-name refusals erase nothing; a confirmed app raises the eFuse
 * secure version.
 */
#include "test_service_fixture.h"

#include "ota32/crc.h"
#include "sbv2.h"
#include "sig_keys.h"

#define IMG_LEN 0x50000u /* a 64 KB multiple: padded for signing */
#define SIGNED_LEN (IMG_LEN + OTA32_SIG_SECTOR_LEN)
#define OTADATA 0xF000u

static char path[512];
static char cfgbuf[1024];
static uint8_t *v1;

static uint8_t *image(const char *version, const char *project, uint32_t secure_version)
{
    uint8_t *buf = malloc(SIGNED_LEN);
    ota32_image_build_opts o = {.version = version,
                                .project_name = project,
                                .secure_version = secure_version,
                                .size = IMG_LEN,
                                .chip_id = OTA32_CHIP_ESP32,
                                .hash = ota32_posix_hash()};
    CHECK_EQ(ota32_image_build(&o, buf, IMG_LEN, NULL), OTA32_OK);
    memset(buf + IMG_LEN, 0xFF, OTA32_SIG_SECTOR_LEN);
    return buf;
}

static const char *key_path(const char *name)
{
    return test_key_path(name);
}

/* "block 0 RSA-3072 key 0123456789abcdef..." for key `name`. */
static const char *key_prefix(const char *name)
{
    static char out[4][40];
    static unsigned n;
    sbv2_key k;
    CHECK_EQ(sbv2_key_load(key_path(name), &k, NULL), OTA32_OK);
    char *o = out[n++ % 4];
    for (int i = 0; i < 8; i++)
        snprintf(o + 2 * i, 3, "%02x", k.digest[i]);
    sbv2_key_free(&k);
    return o;
}

/* Sign img (IMG_LEN bytes) into block `slot` of its sector. */
static void sign(uint8_t *img, unsigned slot, const char *key)
{
    sbv2_key k;
    CHECK_EQ(sbv2_key_load(key_path(key), &k, NULL), OTA32_OK);
    CHECK_EQ(sbv2_sign_block(&k, img, IMG_LEN, img + IMG_LEN + slot * OTA32_SIG_BLOCK_LEN, NULL),
             OTA32_OK);
    sbv2_key_free(&k);
}

static void trust(fx_dev *x, const char *const *keys, unsigned n, unsigned revoked_mask,
                  uint32_t secure_version)
{
    vdev_efuse e;
    memset(&e, 0, sizeof e);
    for (unsigned i = 0; i < n; i++) {
        sbv2_key k;
        CHECK_EQ(sbv2_key_load(key_path(keys[i]), &k, NULL), OTA32_OK);
        memcpy(e.keys.digest[i], k.digest, 32);
        e.keys.revoked[i] = revoked_mask & (1u << i);
        sbv2_key_free(&k);
    }
    e.keys.count = n;
    e.secure_version = secure_version;
    CHECK_EQ(vdev_efuse_burn(vdev_efuse_path(x->d), &e, NULL), OTA32_OK);
}

static void setup(fx_dev *x, fx_source *src, const uint8_t *file, size_t len)
{
    if (!v1)
        v1 = image("v1", "ota32-test", 0);
    snprintf(path, sizeof path, "%s/dev.flash", check_tmpdir());
    memset(x, 0, sizeof *x);
    x->path = path;
    x->clock.now = 1000000;
    ota32_posix_alloc_init(&x->alloc);
    CHECK_EQ(fx_device_create(path, v1, IMG_LEN), OTA32_OK);
    CHECK_EQ(fx_power_on(x), OTA32_OK);
    memset(src, 0, sizeof *src);
    src->file = file;
    src->len = len;
    snprintf(src->etag, sizeof src->etag, "\"s\"");
    src->rng = 9;
    x->src = src;
}

static int apply_once(fx_dev *x, ota32_service *s, ota32_apply_result *res, ota32_diag *d)
{
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/app.bin", "v2");
    ota32_diag_clear(d);
    (void)x;
    return ota32_service_apply(s, cfgbuf, strlen(cfgbuf), res, d);
}

/* Apply with `o`; expect rc and a message; returns the stats. */
static void apply_expect(fx_dev *x, const ota32_service_opts *o, int want_rc, const char *want,
                         ota32_service_stats *st)
{
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x->plat, o, &s), OTA32_OK);
    CHECK_EQ(ota32_service_boot(s, NULL), OTA32_OK);
    ota32_apply_result res = OTA32_APPLY_UP_TO_DATE;
    ota32_diag d;
    int rc = apply_once(x, s, &res, &d);
    if (rc != want_rc || !strstr(want_rc ? d.msg : x->last_log, want))
        fprintf(stderr, "  got %d: %s / log: %s\n", rc, d.msg, x->last_log);
    CHECK_EQ(rc, want_rc);
    CHECK_CONTAINS(want_rc ? d.msg : x->last_log, want);
    if (want_rc) {
        /* Recorded as rejected: the same config is not tried again. */
        CHECK_EQ(apply_once(x, s, &res, &d), OTA32_OK);
        CHECK_EQ(res, OTA32_APPLY_DEFERRED);
    }
    ota32_service_get_stats(s, st);
    ota32_service_free(s);
}

/* A refusal before the switch: otadata as it was, no erase but the update
 * slot's (an otadata write would erase a sector of its own), no reboot, and
 * v1 boots. */
static void expect_refused(const uint8_t *file, size_t len, const char *const *keys, unsigned n,
                           unsigned revoked, const char *want)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src, file, len);
    trust(&x, keys, n, revoked, 0);
    uint8_t before[0x2000], after[0x2000];
    const ota32_flash_ops *f = vdev_flash(x.d);
    CHECK_EQ(f->read(f->ctx, OTADATA, before, sizeof before), OTA32_OK);
    vdev_reset_stats(x.d);
    ota32_service_opts o;
    fx_opts(&o, &x);
    o.progress_interval = 1u << 20; /* no NVS page fills in between */
    ota32_service_stats st;
    apply_expect(&x, &o, OTA32_ERR_VERIFY, want, &st);
    vdev_stats vs;
    vdev_get_stats(x.d, &vs);
    /* every erase was the update slot's: none for otadata */
    CHECK_EQ(vs.sector_erases, st.erases_sector);
    CHECK_EQ(vs.block_erases, st.erases_block);
    CHECK_EQ(f->read(f->ctx, OTADATA, after, sizeof after), OTA32_OK);
    CHECK_MEM(before, after, sizeof before);
    CHECK(!vdev_reboot_requested(x.d));
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_0");
    CHECK_STR(x.boot.app.version, "v1");
    fx_power_off(&x);
}

static void expect_applies(const uint8_t *file, size_t len, const char *const *keys, unsigned n)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src, file, len);
    trust(&x, keys, n, 0, 0);
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_service_stats st;
    apply_expect(&x, &o, OTA32_OK, "rebooting", &st);
    CHECK(vdev_reboot_requested(x.d));
    CHECK(fx_slot_equals(&x, FX_SLOT1, file, len));
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_1");
    CHECK_STR(x.boot.app.version, "v2");
    fx_power_off(&x);
}

static const char *const KEY_A[] = {"rsa3072_a"};
static const char *const KEY_B[] = {"rsa3072_b"};
static const char *const KEYS_B_A[] = {"rsa3072_b", "rsa3072_a"};
static const char *const KEYS_A_EC[] = {"rsa3072_a", "ecdsa256"};

TEST(signed_update_applies)
{
    uint8_t *img = image("v2", "ota32-test", 0);
    sign(img, 0, "rsa3072_a");
    expect_applies(img, SIGNED_LEN, KEY_A, 1);
    /* trusted in the second key block, signed as the second block */
    uint8_t *two = image("v2", "ota32-test", 0);
    sign(two, 0, "rsa3072_c");
    sign(two, 1, "rsa3072_a");
    expect_applies(two, SIGNED_LEN, KEYS_B_A, 2);
    /* ECDSA P-256 */
    uint8_t *ec = image("v2", "ota32-test", 0);
    sign(ec, 0, "ecdsa256");
    expect_applies(ec, SIGNED_LEN, KEYS_A_EC, 2);
    free(img);
    free(two);
    free(ec);
}

/* Fix the checksum and the appended SHA-256 after changing byte `at`. */
static void reseal(uint8_t *img, uint32_t at, uint8_t xor_mask, bool in_segment)
{
    img[at] ^= xor_mask;
    if (in_segment)
        img[IMG_LEN - 33] ^= xor_mask;
    CHECK_EQ(ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, img, IMG_LEN - 32,
                            img + IMG_LEN - 32),
             OTA32_OK);
}

static void recrc(uint8_t *block)
{
    uint32_t crc = ota32_crc32_le(0, block, OTA32_SIG_BLOCK_CRC_OFFSET);
    for (unsigned i = 0; i < 4; i++)
        block[OTA32_SIG_BLOCK_CRC_OFFSET + i] = (uint8_t)(crc >> (8 * i));
}

TEST(each_refusal_before_the_switch)
{
    uint8_t *good = image("v2", "ota32-test", 0);
    sign(good, 0, "rsa3072_a");
    uint8_t *bad = malloc(SIGNED_LEN);
    /* positive control: the same file applies */
    expect_applies(good, SIGNED_LEN, KEY_A, 1);
    /* unsigned */
    expect_refused(good, IMG_LEN, KEY_A, 1, 0, "it is not signed");
    /* signed by a key the device does not trust */
    char want[128];
    snprintf(want, sizeof want, "block 0 RSA-3072 key %s...: unknown key", key_prefix("rsa3072_a"));
    expect_refused(good, SIGNED_LEN, KEY_B, 1, 0, want);
    /* trusted key, revoked */
    snprintf(want, sizeof want, "key %s...: revoked key", key_prefix("rsa3072_a"));
    expect_refused(good, SIGNED_LEN, KEYS_B_A, 2, 2, want);
    /* header changed (flash frequency), checksum and SHA-256 made consistent */
    memcpy(bad, good, SIGNED_LEN);
    reseal(bad, 3, 0x01, false);
    expect_refused(bad, SIGNED_LEN, KEY_A, 1, 0, "signed over other bytes");
    /* body changed inside a segment, checksum and SHA-256 made consistent */
    memcpy(bad, good, SIGNED_LEN);
    reseal(bad, 0x40000, 0x80, true);
    expect_refused(bad, SIGNED_LEN, KEY_A, 1, 0, "signed over other bytes");
    /* the signature value changed, block CRC recomputed */
    memcpy(bad, good, SIGNED_LEN);
    bad[IMG_LEN + 900] ^= 0x01;
    recrc(bad + IMG_LEN);
    expect_refused(bad, SIGNED_LEN, KEY_A, 1, 0, "bad signature");
    /* a byte of the sector changed: malformed (CRC) */
    memcpy(bad, good, SIGNED_LEN);
    bad[IMG_LEN + 900] ^= 0x01;
    expect_refused(bad, SIGNED_LEN, KEY_A, 1, 0, "malformed signature sector at 0x50000");
    /* truncated signature sector */
    expect_refused(good, SIGNED_LEN - 2000, KEY_A, 1, 0,
                   "the signature sector at 0x50000 has 2096 bytes, not 4096");
    free(good);
    free(bad);
}

/* Refused from the first bytes: nothing erased, nothing programmed. */
static void expect_refused_before_erase(const uint8_t *file, uint32_t efuse_sv, bool same_project,
                                        const char *want)
{
    fx_dev x;
    fx_source src;
    setup(&x, &src, file, SIGNED_LEN);
    trust(&x, KEY_A, 1, 0, efuse_sv);
    vdev_reset_stats(x.d);
    ota32_service_opts o;
    fx_opts(&o, &x);
    o.require_same_project = same_project;
    ota32_service_stats st;
    apply_expect(&x, &o, OTA32_ERR_VERIFY, want, &st);
    vdev_stats vs;
    vdev_get_stats(x.d, &vs);
    CHECK_EQ(vs.sector_erases + vs.block_erases, 0);
    CHECK_EQ(st.erases_block + st.erases_sector + st.programs, 0);
    fx_power_off(&x);
}

TEST(anti_rollback_and_project_refused_before_any_erase)
{
    uint8_t *old = image("v2", "ota32-test", 2);
    sign(old, 0, "rsa3072_a");
    expect_refused_before_erase(old, 3, false,
                                "anti-rollback): its secure_version 2 is below the device's 3");
    uint8_t *other = image("v2", "other-project", 3);
    sign(other, 0, "rsa3072_a");
    expect_refused_before_erase(other, 3, true,
                                "project_name \"other-project\" is not the running app's "
                                "\"ota32-test\"");
    /* positive controls: secure_version equal to the eFuse's, another
     * project when the check is off; and a confirm raises the eFuse */
    uint8_t *next = image("v2", "other-project", 5);
    sign(next, 0, "rsa3072_a");
    fx_dev x;
    fx_source src;
    setup(&x, &src, next, SIGNED_LEN);
    trust(&x, KEY_A, 1, 0, 3);
    ota32_service_opts o;
    fx_opts(&o, &x);
    ota32_service_stats st;
    apply_expect(&x, &o, OTA32_OK, "rebooting", &st);
    CHECK_EQ(fx_reboot(&x), OTA32_OK);
    CHECK_STR(x.boot.label, "ota_1");
    vdev_efuse e;
    CHECK_EQ(vdev_efuse_read(vdev_efuse_path(x.d), &e, NULL), OTA32_OK);
    CHECK_EQ(e.secure_version, 3); /* not before the new app confirms */
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_boot_status bs;
    CHECK_EQ(ota32_service_boot(s, &bs), OTA32_OK);
    CHECK_EQ(bs, OTA32_BOOT_PROBATION);
    CHECK_EQ(ota32_service_confirm(s), OTA32_OK);
    ota32_service_free(s);
    CHECK_EQ(vdev_efuse_read(vdev_efuse_path(x.d), &e, NULL), OTA32_OK);
    CHECK_EQ(e.secure_version, 5);
    fx_power_off(&x);
    free(old);
    free(other);
    free(next);
}

TEST(require_https_refuses_http)
{
    uint8_t *img = image("v2", "ota32-test", 0);
    sign(img, 0, "rsa3072_a");
    fx_dev x;
    fx_source src;
    setup(&x, &src, img, SIGNED_LEN);
    ota32_service_opts o;
    fx_opts(&o, &x);
    o.require_https = true;
    vdev_reset_stats(x.d);
    ota32_service *s = NULL;
    CHECK_EQ(ota32_service_new(&x.plat, &o, &s), OTA32_OK);
    ota32_apply_result res;
    ota32_diag d;
    fx_config(cfgbuf, sizeof cfgbuf, "http://fw.local/app.bin?token=s3cret", "v2");
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_ERR_CONFIG);
    CHECK_CONTAINS(d.msg, "the OTA url is not https:// and this device requires https");
    CHECK(strstr(d.msg, "s3cret") == NULL);
    CHECK_EQ(src.requests, 0);
    /* positive control: the same image from an https:// URL */
    fx_config(cfgbuf, sizeof cfgbuf, "HTTPS://fw.local/app.bin", "v3");
    CHECK_EQ(ota32_service_apply(s, cfgbuf, strlen(cfgbuf), &res, &d), OTA32_OK);
    CHECK_EQ(res, OTA32_APPLY_REBOOT);
    CHECK_EQ(src.requests, 1);
    ota32_service_free(s);
    fx_power_off(&x);
    free(img);
}

RUN_TESTS(CASE(signed_update_applies), CASE(require_https_refuses_http),
          CASE(each_refusal_before_the_switch),
          CASE(anti_rollback_and_project_refused_before_any_erase))
