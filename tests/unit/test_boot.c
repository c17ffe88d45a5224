/* The virtual ESP32's bootloader: slot selection, otadata rewrites and
 * fallback, checked against the bytes on the emulated flash. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#include "bytes.h"
#include "ota32/crc.h"
#include "image_build.h"
#include "partition_csv.h"
#include "posix_hash.h"
#include "vdev.h"

#define OTADATA 0xF000u
#define OTA0 0x20000u
#define OTA1 0x3A0000u

/* The app image (made by ota32_image_build, as large as esptool's
 * app-template) and a second valid one that differs in its version. */
#define APP_LEN 601808u
static uint8_t *app1, *app2;
static size_t app_len;

/* Rehash an image after a header or descriptor change: the checksum covers
 * only segment data, the SHA-256 everything before it. */
static void rehash(uint8_t *img, size_t len)
{
    ota32_hash_buf(ota32_posix_hash(), OTA32_HASH_SHA256, img, len - 32, img + len - 32);
}

/* Patch the version in the app descriptor and fix checksum and SHA-256, as
 * a rebuild with another version would. */
static uint8_t *with_version(const uint8_t *img, size_t len, const char *version)
{
    uint8_t *out = malloc(len);
    if (!out)
        return NULL;
    memcpy(out, img, len);
    uint8_t *field = out + OTA32_APP_DESC_OFFSET + 16; /* version[32] */
    uint8_t x = 0;
    for (int i = 0; i < 32; i++)
        x ^= field[i];
    memset(field, 0, 32);
    memcpy(field, version, strlen(version));
    for (int i = 0; i < 32; i++)
        x ^= field[i];
    /* hash appended: [... checksum][sha256 32] */
    out[len - 33] ^= x;
    rehash(out, len);
    return out;
}

/* An ota32-made ESP32 app image of APP_LEN bytes (malloc'd), or NULL. */
static uint8_t *built_app(const char *version)
{
    uint8_t *img = malloc(APP_LEN);
    ota32_image_build_opts o = {
        .version = version,
        .project_name = "ota32-test",
        .size = APP_LEN,
        .chip_id = OTA32_CHIP_ESP32,
        .hash = ota32_posix_hash(),
    };
    ota32_diag dg;
    ota32_diag_clear(&dg);
    if (img && ota32_image_build(&o, img, APP_LEN, &dg) != OTA32_OK) {
        check_fail(__FILE__, __LINE__, "ota32_image_build: %s", dg.msg);
        free(img);
        img = NULL;
    }
    return img;
}

static bool load_apps(void)
{
    if (app1)
        return true;
    app1 = built_app("v1-test");
    if (!app1)
        return false;
    app_len = APP_LEN;
    app2 = with_version(app1, app_len, "v2-test");
    CHECK(app2 != NULL);
    return app2 != NULL;
}

static int prog(vdev *d, uint32_t addr, const void *buf, size_t len)
{
    const ota32_flash_ops *f = vdev_flash(d);
    return f->program(f->ctx, addr, buf, len);
}

static int rd(vdev *d, uint32_t addr, void *buf, size_t len)
{
    const ota32_flash_ops *f = vdev_flash(d);
    return f->read(f->ctx, addr, buf, len);
}

/* A fresh 8 MB device with the given table (CSV text, or NULL for the
 * reference two-slot table built by gen_esp32part.py). */
static vdev *dev_new(const char *name, const char *csv)
{
    ota32_diag dg;
    const char *path = check_tmp_path(name);
    vdev *d = NULL;
    if (vdev_create(path, NULL, true, &dg) != OTA32_OK ||
        vdev_open(&d, path, NULL, &dg) != OTA32_OK) {
        check_fail(__FILE__, __LINE__, "device %s: %s", name, dg.msg);
        return NULL;
    }
    uint8_t table[OTA32_PT_BIN_LEN];
    if (csv) {
        static ota32_ptable t;
        ota32_pt_csv_opts o = {0};
        if (ota32_pt_parse_csv(csv, strlen(csv), &o, &t, &dg) != OTA32_OK ||
            ota32_pt_to_bin(&t, true, ota32_posix_hash(), table, &dg) != OTA32_OK) {
            check_fail(__FILE__, __LINE__, "table: %s", dg.msg);
            vdev_close(d);
            return NULL;
        }
    } else {
        size_t n = 0;
        uint8_t *bin = check_read_file(check_vector_path("partitions_two_ota_8mb.bin"), &n);
        if (!bin || n != sizeof table) {
            check_fail(__FILE__, __LINE__, "reference partition table missing");
            free(bin);
            vdev_close(d);
            return NULL;
        }
        memcpy(table, bin, sizeof table);
        free(bin);
    }
    CHECK_EQ(prog(d, 0x8000, table, sizeof table), OTA32_OK);
    return d;
}

static void put_app(vdev *d, uint32_t at, const uint8_t *img)
{
    CHECK_EQ(prog(d, at, img, app_len), OTA32_OK);
}

static void put_entry_raw(vdev *d, unsigned copy, uint32_t seq, uint32_t state, uint32_t crc)
{
    uint8_t raw[32];
    memset(raw, 0xFF, sizeof raw);
    ota32_put_le32(raw, seq);
    ota32_put_le32(raw + 24, state);
    ota32_put_le32(raw + 28, crc);
    const ota32_flash_ops *f = vdev_flash(d);
    CHECK_EQ(f->erase_sector(f->ctx, OTADATA + copy * 0x1000u), OTA32_OK);
    CHECK_EQ(prog(d, OTADATA + copy * 0x1000u, raw, sizeof raw), OTA32_OK);
}

static uint32_t seq_crc(uint32_t seq)
{
    uint8_t b[4];
    ota32_put_le32(b, seq);
    return ota32_crc32_esp(b, 4);
}

static void put_entry(vdev *d, unsigned copy, uint32_t seq, uint32_t state)
{
    put_entry_raw(d, copy, seq, state, seq_crc(seq));
}

/* Read back one otadata copy from the flash. */
static void get_entry(vdev *d, unsigned copy, uint8_t raw[32])
{
    CHECK_EQ(rd(d, OTADATA + copy * 0x1000u, raw, 32), OTA32_OK);
}

static uint32_t flash_state(vdev *d, unsigned copy)
{
    uint8_t raw[32];
    get_entry(d, copy, raw);
    return ota32_le32(raw + 24);
}

static vdev_boot boot(vdev *d, bool rollback)
{
    static vdev_boot b;
    ota32_diag dg;
    ota32_diag_clear(&dg);
    int rc = vdev_boot_once(d, rollback, &b, &dg);
    if (rc != OTA32_OK)
        fprintf(stderr, "  boot failed: %d %s\n", rc, dg.msg);
    CHECK_EQ(rc, OTA32_OK);
    return b;
}

/* Two valid apps: app1 in ota_0, app2 ("v2-test") in ota_1. */
static vdev *two_apps(const char *name)
{
    if (!load_apps())
        return NULL;
    vdev *d = dev_new(name, NULL);
    if (d) {
        put_app(d, OTA0, app1);
        put_app(d, OTA1, app2);
    }
    return d;
}

TEST(blank_otadata_boots_ota0_and_writes_seq1_valid)
{
    if (!load_apps())
        return;
    vdev *d = dev_new("blank.flash", NULL);
    if (!d)
        return;
    put_app(d, OTA0, app1);
    vdev_boot b = boot(d, true);
    CHECK(!b.bricked);
    CHECK_STR(b.label, "ota_0");
    CHECK_EQ(b.slot, 0);
    CHECK_EQ(b.subtype, 0x10);
    CHECK_EQ(b.offset, OTA0);
    CHECK_EQ(b.size, 0x377000);
    CHECK_EQ(b.ota_state, OTA32_IMG_VALID);
    CHECK_STR(b.app.version, "v1-test");
    CHECK_STR(b.app.project_name, "ota32-test");
    CHECK_CONTAINS(b.reason, "otadata blank, no factory -> ota_0");
    CHECK_CONTAINS(b.reason, "wrote otadata[0] seq 1 VALID");
    CHECK_EQ(b.otadata_writes, 1);
    /* set_actual_ota_seq: seq 1, label 0xFF, state VALID, crc of the seq; the
     * same bytes as otatool's seq 1 entry but for the state */
    uint8_t raw[32];
    get_entry(d, 0, raw);
    size_t n = 0;
    uint8_t *ref = check_read_file(check_vector_path("otadata_1_ota0.bin"), &n);
    CHECK(ref != NULL);
    if (ref) {
        CHECK_MEM(raw, ref, 24);
        CHECK_MEM(raw + 28, ref + 28, 4);
        free(ref);
    }
    CHECK_EQ(ota32_le32(raw + 24), OTA32_IMG_VALID);
    CHECK_EQ(ota32_le32(raw + 28), 0x4743989Au);
    get_entry(d, 1, raw);
    for (int i = 0; i < 32; i++)
        CHECK_EQ(raw[i], 0xFF);
    /* the next boot just follows it */
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_STR(b.reason, "otadata[0] seq 1 -> ota_0 (state VALID)");
    CHECK_EQ(b.otadata_writes, 0);
    CHECK_EQ(b.active, 0);
    vdev_close(d);
}

TEST(blank_otadata_empty_ota0_boots_ota1_and_writes_seq2)
{
    if (!load_apps())
        return;
    vdev *d = dev_new("blank1.flash", NULL);
    if (!d)
        return;
    put_app(d, OTA1, app2);
    vdev_boot b = boot(d, true);
    CHECK_STR(b.label, "ota_1");
    CHECK_STR(b.app.version, "v2-test");
    CHECK_CONTAINS(b.reason, "ota_0 is empty; fell back to ota_1");
    CHECK_CONTAINS(b.reason, "wrote otadata[0] seq 2 VALID");
    uint8_t raw[32];
    get_entry(d, 0, raw);
    CHECK_EQ(ota32_le32(raw), 2);
    CHECK_EQ(ota32_le32(raw + 24), OTA32_IMG_VALID);
    CHECK_EQ(ota32_le32(raw + 28), 0x55F63774u);
    vdev_close(d);
}

TEST(one_copy_valid)
{
    vdev *d = two_apps("one.flash");
    if (!d)
        return;
    put_entry(d, 1, 2, OTA32_IMG_UNDEFINED);
    vdev_boot b = boot(d, true);
    CHECK_STR(b.label, "ota_1");
    CHECK_STR(b.app.version, "v2-test");
    CHECK_EQ(b.active, 1);
    CHECK_EQ(b.ota_state, OTA32_IMG_UNDEFINED);
    CHECK_STR(b.reason, "otadata[1] seq 2 -> ota_1 (state UNDEFINED)");
    CHECK_EQ(b.otadata_writes, 0);
    /* copy 0 alone */
    put_entry(d, 1, 0xFFFFFFFFu, 0xFFFFFFFFu);
    put_entry(d, 0, 3, OTA32_IMG_VALID);
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0"); /* (3 - 1) % 2 */
    CHECK_EQ(b.active, 0);
    vdev_close(d);
}

TEST(both_copies_valid_higher_seq_wins)
{
    vdev *d = two_apps("both.flash");
    if (!d)
        return;
    put_entry(d, 0, 1, OTA32_IMG_VALID);
    put_entry(d, 1, 2, OTA32_IMG_VALID);
    vdev_boot b = boot(d, true);
    CHECK_STR(b.label, "ota_1");
    CHECK_EQ(b.active, 1);
    put_entry(d, 0, 3, OTA32_IMG_VALID);
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_EQ(b.active, 0);
    CHECK_STR(b.reason, "otadata[0] seq 3 -> ota_0 (state VALID)");
    vdev_close(d);
}

TEST(equal_seqs_copy0_wins)
{
    vdev *d = two_apps("equal.flash");
    if (!d)
        return;
    /* copy 0 is VALID, copy 1 NEW: were copy 1 chosen it would be rewritten */
    put_entry(d, 0, 2, OTA32_IMG_VALID);
    put_entry(d, 1, 2, OTA32_IMG_NEW);
    vdev_boot b = boot(d, true);
    CHECK_STR(b.label, "ota_1");
    CHECK_EQ(b.active, 0);
    CHECK_STR(b.reason, "otadata[0] seq 2 -> ota_1 (state VALID)");
    CHECK_EQ(b.otadata_writes, 0);
    CHECK_EQ(flash_state(d, 1), OTA32_IMG_NEW);
    vdev_close(d);
}

TEST(bad_crc_copy_is_ignored)
{
    vdev *d = two_apps("crc.flash");
    if (!d)
        return;
    put_entry(d, 0, 1, OTA32_IMG_VALID);
    put_entry_raw(d, 1, 2, OTA32_IMG_VALID, seq_crc(2) ^ 1);
    vdev_boot b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_EQ(b.active, 0);
    CHECK(b.otadata_crc_ok[0]);
    CHECK(!b.otadata_crc_ok[1]);
    /* both CRCs bad and no factory: treated as initial contents, ota_0 boots
     * and otadata[0] is rewritten */
    put_entry_raw(d, 0, 1, OTA32_IMG_VALID, 0x12345678);
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_CONTAINS(b.reason, "no valid otadata entry, no factory -> ota_0");
    CHECK_CONTAINS(b.reason, "wrote otadata[0] seq 1 VALID");
    uint8_t raw[32];
    get_entry(d, 0, raw);
    CHECK_EQ(ota32_le32(raw + 28), 0x4743989Au);
    vdev_close(d);
}

TEST(state_new_becomes_pending_verify_then_aborted)
{
    vdev *d = two_apps("new.flash");
    if (!d)
        return;
    put_entry(d, 0, 1, OTA32_IMG_VALID);
    put_entry(d, 1, 2, OTA32_IMG_NEW);
    vdev_boot b = boot(d, true);
    CHECK_STR(b.label, "ota_1");
    CHECK_STR(b.reason, "otadata[1] seq 2 -> ota_1 (state NEW -> PENDING_VERIFY)");
    CHECK_EQ(b.ota_state, OTA32_IMG_PENDING_VERIFY);
    CHECK_EQ(b.otadata_writes, 1);
    CHECK_EQ(flash_state(d, 1), OTA32_IMG_PENDING_VERIFY);
    CHECK_EQ(b.otadata[1].state, OTA32_IMG_NEW); /* as read */

    /* reset before the app confirmed: ABORTED, and the previous app boots */
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_STR(b.app.version, "v1-test");
    CHECK_CONTAINS(b.reason, "otadata[1] seq 2 PENDING_VERIFY -> ABORTED");
    CHECK_CONTAINS(b.reason, "otadata[0] seq 1 -> ota_0 (state VALID)");
    CHECK_EQ(flash_state(d, 1), OTA32_IMG_ABORTED);
    CHECK_EQ(flash_state(d, 0), OTA32_IMG_VALID);
    /* the rewrite keeps seq and crc */
    uint8_t raw[32];
    get_entry(d, 1, raw);
    CHECK_EQ(ota32_le32(raw), 2);
    CHECK_EQ(ota32_le32(raw + 28), seq_crc(2));
    /* and stays there */
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_EQ(b.otadata_writes, 0);
    vdev_close(d);
}

TEST(pending_verify_without_rollback_stays)
{
    vdev *d = two_apps("norb.flash");
    if (!d)
        return;
    put_entry(d, 0, 1, OTA32_IMG_VALID);
    put_entry(d, 1, 2, OTA32_IMG_PENDING_VERIFY);
    vdev_boot b = boot(d, false);
    CHECK_STR(b.label, "ota_1");
    CHECK_EQ(b.otadata_writes, 0);
    CHECK_EQ(flash_state(d, 1), OTA32_IMG_PENDING_VERIFY);
    /* NEW is not touched either */
    put_entry(d, 1, 2, OTA32_IMG_NEW);
    b = boot(d, false);
    CHECK_STR(b.label, "ota_1");
    CHECK_EQ(flash_state(d, 1), OTA32_IMG_NEW);
    vdev_close(d);
}

TEST(invalid_and_aborted_entries_are_skipped)
{
    vdev *d = two_apps("inv.flash");
    if (!d)
        return;
    put_entry(d, 0, 1, OTA32_IMG_VALID);
    put_entry(d, 1, 2, OTA32_IMG_INVALID);
    vdev_boot b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_EQ(b.active, 0);
    put_entry(d, 1, 2, OTA32_IMG_ABORTED);
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    /* nothing valid, CRCs fine, no factory: ota_0 is tried, otadata stays */
    put_entry(d, 0, 1, OTA32_IMG_INVALID);
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_CONTAINS(b.reason, "no valid otadata entry, no factory -> ota_0");
    CHECK_EQ(b.otadata_writes, 0);
    CHECK_EQ(flash_state(d, 0), OTA32_IMG_INVALID);
    vdev_close(d);
}

TEST(corrupt_selected_image_falls_back)
{
    vdev *d = two_apps("corrupt.flash");
    if (!d)
        return;
    put_entry(d, 0, 1, OTA32_IMG_VALID);
    put_entry(d, 1, 2, OTA32_IMG_VALID);
    /* clear bits in a segment byte of ota_1: checksum and hash now wrong */
    uint8_t z = 0x00;
    CHECK_EQ(prog(d, OTA1 + 0x1000, &z, 1), OTA32_OK);
    vdev_boot b = boot(d, true);
    CHECK(!b.bricked);
    CHECK_STR(b.label, "ota_0");
    CHECK_STR(b.app.version, "v1-test");
    CHECK_CONTAINS(b.reason, "otadata[1] seq 2 -> ota_1 (state VALID)");
    CHECK_CONTAINS(b.reason, "ota_1 image invalid at 0x432eaf (checksum");
    CHECK_CONTAINS(b.reason, "fell back to ota_0");
    CHECK_EQ(b.ota_state, OTA32_IMG_VALID); /* copy 0's state for ota_0 */

    /* ota_0 selected but broken: down to (absent) factory, then up to ota_1 */
    vdev *e = two_apps("corrupt0.flash");
    if (!e) {
        vdev_close(d);
        return;
    }
    put_entry(e, 0, 1, OTA32_IMG_VALID);
    uint8_t bad_magic = 0x00;
    CHECK_EQ(prog(e, OTA0, &bad_magic, 1), OTA32_OK);
    b = boot(e, true);
    CHECK_STR(b.label, "ota_1");
    CHECK_CONTAINS(b.reason, "ota_0 image invalid");
    CHECK_CONTAINS(b.reason, "fell back to ota_1");
    CHECK_EQ(b.ota_state, OTA32_IMG_UNDEFINED); /* no entry points at ota_1 */
    vdev_close(e);
    vdev_close(d);
}

static const char factory_csv[] = "nvs,data,nvs,,0x6000\n"
                                  "otadata,data,ota,,0x2000\n"
                                  "phy_init,data,phy,,0x1000\n"
                                  "factory,app,factory,,1M\n"
                                  "ota_0,app,ota_0,,1M\n"
                                  "ota_1,app,ota_1,,1M\n";

TEST(factory_present)
{
    if (!load_apps())
        return;
    vdev *d = dev_new("factory.flash", factory_csv);
    if (!d)
        return;
    const uint32_t fac = 0x20000, o0 = 0x120000, o1 = 0x220000;
    put_app(d, fac, app1);
    put_app(d, o0, app2);
    vdev_boot b = boot(d, true);
    CHECK_STR(b.label, "factory");
    CHECK_EQ(b.slot, -1);
    CHECK_EQ(b.subtype, 0x00);
    CHECK_EQ(b.offset, fac);
    CHECK_STR(b.reason, "otadata blank -> factory");
    CHECK_EQ(b.otadata_writes, 0); /* no set_actual_ota_seq with a factory app */
    CHECK_EQ(flash_state(d, 0), 0xFFFFFFFFu);
    /* otadata selects ota_0 */
    put_entry(d, 0, 1, OTA32_IMG_VALID);
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_STR(b.app.version, "v2-test");
    /* ota_1 selected but empty: down to ota_0 first */
    put_entry(d, 1, 2, OTA32_IMG_VALID);
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_CONTAINS(b.reason, "ota_1 is empty; fell back to ota_0");
    /* ota_0 broken too: factory */
    uint8_t z = 0;
    CHECK_EQ(prog(d, o0, &z, 1), OTA32_OK);
    b = boot(d, true);
    CHECK_STR(b.label, "factory");
    CHECK_CONTAINS(b.reason, "fell back to factory");
    (void)o1;
    vdev_close(d);
}

TEST(no_valid_app_is_a_brick)
{
    if (!load_apps())
        return;
    vdev *d = dev_new("brick.flash", NULL);
    if (!d)
        return;
    vdev_boot b = boot(d, true);
    CHECK(b.bricked);
    CHECK_STR(b.reason, "no bootable app (otadata blank, no factory -> ota_0; ota_0 is empty; "
                        "ota_1 is empty)");
    CHECK_EQ(b.otadata_writes, 0);
    CHECK_EQ(flash_state(d, 0), 0xFFFFFFFFu);
    CHECK(vdev_last_boot(d) == NULL);
    ota32_platform plat;
    CHECK_EQ(vdev_platform(d, &plat), OTA32_ERR_STATE);
    /* a wrong-chip image is no better: app1 with the ESP32-S2's chip id */
    uint8_t *s2 = malloc(app_len);
    CHECK(s2 != NULL);
    if (s2) {
        memcpy(s2, app1, app_len);
        ota32_put_le16(s2 + 12, OTA32_CHIP_ESP32S2);
        rehash(s2, app_len);
        CHECK_EQ(prog(d, OTA0, s2, app_len), OTA32_OK);
        b = boot(d, true);
        CHECK(b.bricked);
        CHECK_CONTAINS(b.reason, "ota_0 image invalid at 0x2000c (chip_id");
        free(s2);
    }
    vdev_close(d);

    /* a damaged partition table bricks too */
    d = dev_new("brick2.flash", NULL);
    if (!d)
        return;
    put_app(d, OTA0, app1);
    uint8_t z = 0;
    CHECK_EQ(prog(d, 0x8000 + 0xB0, &z, 1), OTA32_OK); /* inside the MD5 digest */
    b = boot(d, true);
    CHECK(b.bricked);
    CHECK(!b.has_table);
    CHECK_CONTAINS(b.reason, "partition table at 0x8000 rejected");
    vdev_close(d);
}

TEST(reference_otadata_vectors)
{
    static const struct {
        const char *file;
        const char *label;
        int active;
    } v[] = {
        {"otadata_1_ota0.bin", "ota_0", 0},
        {"otadata_2_ota1.bin", "ota_1", 1},
        {"otadata_3_ota0.bin", "ota_0", 0},
        {"otadata_blank.bin", "ota_0", 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        vdev *d = two_apps("vec.flash");
        if (!d)
            return;
        size_t n = 0;
        uint8_t *od = check_read_file(check_vector_path(v[i].file), &n);
        CHECK_EQ(n, 0x2000);
        if (od && n == 0x2000)
            CHECK_EQ(prog(d, OTADATA, od, n), OTA32_OK);
        vdev_boot b = boot(d, true);
        CHECK_STR(b.label, v[i].label);
        CHECK_EQ(b.active, v[i].active);
        if (i < 3) {
            /* otatool leaves the state UNDEFINED: nothing to rewrite */
            CHECK_EQ(b.ota_state, OTA32_IMG_UNDEFINED);
            CHECK_EQ(b.otadata_writes, 0);
            uint8_t now[0x2000];
            CHECK_EQ(rd(d, OTADATA, now, sizeof now), OTA32_OK);
            if (od)
                CHECK_MEM(now, od, sizeof now);
        } else {
            CHECK_EQ(b.otadata_writes, 1);
        }
        free(od);
        vdev_close(d);
    }
}

TEST(dry_run_writes_nothing)
{
    vdev *d = two_apps("dry.flash");
    if (!d)
        return;
    put_entry(d, 0, 1, OTA32_IMG_PENDING_VERIFY);
    put_entry(d, 1, 2, OTA32_IMG_NEW);
    vdev_reset_stats(d);
    static vdev_boot b;
    ota32_diag dg;
    CHECK_EQ(vdev_boot_select(vdev_flash(d), 0x8000, true, true, &b, &dg), OTA32_OK);
    CHECK_STR(b.label, "ota_1");
    CHECK_EQ(b.otadata_writes, 2);
    CHECK_EQ(b.ota_state, OTA32_IMG_PENDING_VERIFY);
    vdev_stats st;
    vdev_get_stats(d, &st);
    CHECK_EQ(st.ops, 0);
    CHECK_EQ(flash_state(d, 0), OTA32_IMG_PENDING_VERIFY);
    CHECK_EQ(flash_state(d, 1), OTA32_IMG_NEW);
    /* the real boot does what the dry run said */
    b = boot(d, true);
    CHECK_STR(b.label, "ota_1");
    CHECK_EQ(flash_state(d, 0), OTA32_IMG_ABORTED);
    CHECK_EQ(flash_state(d, 1), OTA32_IMG_PENDING_VERIFY);
    vdev_close(d);
}

TEST(dump_shorter_than_partitions)
{
    /* the reference merged image: 4 MB layout data, 8 MB table, 716 KB file */
    size_t n = 0;
    uint8_t *m = check_read_file(check_interop_path("vectors/merged.bin"), &n);
    CHECK(m != NULL);
    if (!m)
        return;
    vdev_mem mem;
    ota32_flash_ops f;
    vdev_mem_flash(&mem, m, (uint32_t)n, &f);
    static vdev_boot b;
    ota32_diag dg;
    CHECK_EQ(vdev_boot_select(&f, 0x8000, true, true, &b, &dg), OTA32_OK);
    CHECK(!b.bricked);
    CHECK_STR(b.label, "ota_0");
    CHECK_CONTAINS(b.reason, "would write otadata[0] seq 1 VALID");
    CHECK_EQ(b.table.count, 5);
    ota32_diag_clear(&dg);
    CHECK_EQ(vdev_verify_app(&f, OTA1, 0x377000, NULL, &dg), OTA32_ERR_RANGE);
    CHECK_CONTAINS(dg.msg, "no data");
    /* with ota_0 damaged, the ota_1 slot beyond the end is reported as such */
    m[OTA0] = 0;
    CHECK_EQ(vdev_boot_select(&f, 0x8000, true, true, &b, &dg), OTA32_OK);
    CHECK(b.bricked);
    CHECK_CONTAINS(b.reason, "ota_1 has no data");
    /* a file too short for the table itself */
    vdev_mem_flash(&mem, m, 0x8100, &f);
    CHECK_EQ(vdev_boot_select(&f, 0x8000, true, true, &b, &dg), OTA32_ERR_RANGE);
    CHECK_CONTAINS(dg.msg, "no data");
    free(m);
}

TEST(power_cut_while_rewriting_otadata)
{
    vdev *d = two_apps("cut.flash");
    if (!d)
        return;
    put_entry(d, 0, 1, OTA32_IMG_VALID);
    put_entry(d, 1, 2, OTA32_IMG_NEW);
    /* op 0 is the erase of otadata[1]'s sector, op 1 the program */
    vdev_arm_cut(d, 1, VDEV_CUT_BEFORE, 0);
    static vdev_boot b;
    ota32_diag dg;
    CHECK_EQ(vdev_boot_once(d, true, &b, &dg), OTA32_ERR_IO);
    CHECK(vdev_power_lost(d));
    vdev_close(d);
    CHECK_EQ(vdev_open(&d, check_tmp_path("cut.flash"), NULL, &dg), OTA32_OK);
    /* copy 1 was erased and never rewritten: copy 0 boots ota_0 */
    b = boot(d, true);
    CHECK_STR(b.label, "ota_0");
    CHECK_EQ(b.active, 0);
    uint8_t raw[32];
    get_entry(d, 1, raw);
    for (int i = 0; i < 32; i++)
        CHECK_EQ(raw[i], 0xFF);
    vdev_close(d);

    /* a torn erase of copy 1: whatever is left, the device still boots */
    for (uint64_t seed = 1; seed <= 4; seed++) {
        d = two_apps("cut2.flash");
        if (!d)
            return;
        put_entry(d, 0, 1, OTA32_IMG_VALID);
        put_entry(d, 1, 2, OTA32_IMG_NEW);
        vdev_arm_cut(d, 0, VDEV_CUT_INSIDE, seed);
        CHECK_EQ(vdev_boot_once(d, true, &b, &dg), OTA32_ERR_IO);
        CHECK(vdev_power_lost(d));
        vdev_close(d);
        CHECK_EQ(vdev_open(&d, check_tmp_path("cut2.flash"), NULL, &dg), OTA32_OK);
        b = boot(d, true);
        CHECK(!b.bricked);
        vdev_close(d);
    }
}

TEST(platform_boot_control)
{
    vdev *d = two_apps("plat.flash");
    if (!d)
        return;
    vdev_boot b = boot(d, true); /* blank: ota_0, seq 1 VALID */
    CHECK_STR(b.label, "ota_0");
    ota32_platform plat;
    memset(&plat, 0, sizeof plat);
    CHECK_EQ(vdev_platform(d, &plat), OTA32_OK);
    CHECK(plat.transport.connect == NULL);
    CHECK(plat.hash.start != NULL);
    CHECK_EQ(plat.flash.size, 8u * 1024 * 1024);

    ota32_slot run, next;
    uint32_t state = 0;
    CHECK_EQ(plat.boot.running_slot(plat.boot.ctx, &run, &state), OTA32_OK);
    CHECK_STR(run.label, "ota_0");
    CHECK_EQ(run.index, 0);
    CHECK_EQ(state, OTA32_IMG_VALID);
    CHECK_EQ(plat.boot.update_slot(plat.boot.ctx, &next), OTA32_OK);
    CHECK_STR(next.label, "ota_1");
    CHECK_EQ(next.index, 1);
    CHECK_EQ(next.offset, OTA1);

    /* select ota_1: NEW in copy 1, seq 2 */
    CHECK_EQ(plat.boot.set_boot(plat.boot.ctx, &next), OTA32_OK);
    CHECK_EQ(flash_state(d, 1), OTA32_IMG_NEW);
    CHECK(!vdev_reboot_requested(d));
    plat.boot.reboot(plat.boot.ctx);
    CHECK(vdev_reboot_requested(d));
    b = boot(d, true);
    CHECK(!vdev_reboot_requested(d));
    CHECK_STR(b.label, "ota_1");
    CHECK_EQ(b.ota_state, OTA32_IMG_PENDING_VERIFY);
    CHECK_EQ(vdev_platform(d, &plat), OTA32_OK);
    CHECK_EQ(plat.boot.running_slot(plat.boot.ctx, &run, &state), OTA32_OK);
    CHECK_STR(run.label, "ota_1");
    CHECK_EQ(state, OTA32_IMG_PENDING_VERIFY);
    CHECK_EQ(plat.boot.update_slot(plat.boot.ctx, &next), OTA32_OK);
    CHECK_STR(next.label, "ota_0");
    /* the app confirms itself: VALID survives the next boot */
    CHECK_EQ(plat.boot.mark_valid(plat.boot.ctx), OTA32_OK);
    CHECK_EQ(plat.boot.running_slot(plat.boot.ctx, &run, &state), OTA32_OK);
    CHECK_EQ(state, OTA32_IMG_VALID);
    b = boot(d, true);
    CHECK_STR(b.label, "ota_1");
    CHECK_EQ(b.ota_state, OTA32_IMG_VALID);

    /* set_boot refuses a slot whose image does not verify */
    uint8_t z = 0;
    CHECK_EQ(prog(d, OTA0 + 0x2000, &z, 1), OTA32_OK);
    CHECK_EQ(vdev_platform(d, &plat), OTA32_OK);
    CHECK_EQ(plat.boot.update_slot(plat.boot.ctx, &next), OTA32_OK);
    CHECK(plat.boot.set_boot(plat.boot.ctx, &next) < 0);
    vdev_close(d);
}

TEST(platform_kv_on_nvs)
{
    vdev *d = two_apps("kv.flash");
    if (!d)
        return;
    boot(d, true);
    ota32_platform plat;
    CHECK_EQ(vdev_platform(d, &plat), OTA32_OK);
    char buf[64];
    CHECK_EQ(
        plat.kv.get_str(plat.kv.ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, buf, sizeof buf),
        OTA32_ERR_NOT_FOUND);
    CHECK_EQ(plat.kv.set_str(plat.kv.ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, "1.2.3"),
             OTA32_OK);
    CHECK_EQ(
        plat.kv.get_str(plat.kv.ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, buf, sizeof buf),
        OTA32_OK);
    CHECK_STR(buf, "1.2.3");
    vdev_close(d);
    /* it is on the flash: a reboot reads it back */
    ota32_diag dg;
    CHECK_EQ(vdev_open(&d, check_tmp_path("kv.flash"), NULL, &dg), OTA32_OK);
    boot(d, true);
    CHECK_EQ(vdev_platform(d, &plat), OTA32_OK);
    memset(buf, 0, sizeof buf);
    CHECK_EQ(
        plat.kv.get_str(plat.kv.ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, buf, sizeof buf),
        OTA32_OK);
    CHECK_STR(buf, "1.2.3");
    ota32_nvs *nvs = NULL;
    CHECK_EQ(vdev_nvs(d, &nvs, &dg), OTA32_OK);
    CHECK(nvs && nvs->offset == 0x9000 && nvs->size == 0x6000);
    vdev_close(d);
}

TEST(image_builder_output_boots)
{
    /* an image made by ota32_image_build is one the bootloader starts */
    vdev *d = dev_new("built.flash", NULL);
    if (!d)
        return;
    static uint8_t img[0x20000];
    ota32_image_build_opts o = {
        .version = "built-1.0",
        .project_name = "ota32-test",
        .size = sizeof img,
        .chip_id = OTA32_CHIP_ESP32,
        .hash = ota32_posix_hash(),
    };
    ota32_diag dg;
    ota32_diag_clear(&dg);
    int rc = ota32_image_build(&o, img, sizeof img, &dg);
    CHECK_EQ(rc, OTA32_OK);
    if (rc != OTA32_OK) {
        fprintf(stderr, "  build: %s\n", dg.msg);
        vdev_close(d);
        return;
    }
    CHECK_EQ(prog(d, OTA1, img, sizeof img), OTA32_OK);
    put_entry(d, 1, 2, OTA32_IMG_NEW);
    vdev_boot b = boot(d, true);
    CHECK(!b.bricked);
    CHECK_STR(b.label, "ota_1");
    CHECK_STR(b.app.version, "built-1.0");
    CHECK_STR(b.app.project_name, "ota32-test");
    CHECK_EQ(b.ota_state, OTA32_IMG_PENDING_VERIFY);
    vdev_close(d);
}

TEST(esptool_images_boot_or_are_refused)
{
    /* esptool's own app image boots; its ESP32-S2 blink app bricks */
    vdev *d = dev_new("esptool.flash", NULL);
    if (!d)
        return;
    size_t n = 0;
    uint8_t *app = check_read_file(check_interop_path("esp-images/app-template-esp32.bin"), &n);
    CHECK(app != NULL);
    if (app) {
        CHECK_EQ(prog(d, OTA0, app, n), OTA32_OK);
        vdev_boot b = boot(d, true);
        CHECK(!b.bricked);
        CHECK_STR(b.label, "ota_0");
        CHECK_STR(b.app.version, "1cd5752");
        CHECK_STR(b.app.project_name, "app-template");
        free(app);
    }
    vdev_close(d);
    d = dev_new("esptool-s2.flash", NULL);
    if (!d)
        return;
    uint8_t *s2 = check_read_file(check_interop_path("esp-images/blink-esp32s2.bin"), &n);
    CHECK(s2 != NULL);
    if (s2) {
        CHECK_EQ(prog(d, OTA0, s2, n), OTA32_OK);
        vdev_boot b = boot(d, true);
        CHECK(b.bricked);
        CHECK_CONTAINS(b.reason, "ota_0 image invalid at 0x2000c (chip_id");
        free(s2);
    }
    vdev_close(d);
}

static void cleanup(void)
{
    free(app1);
    free(app2);
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        CASE(blank_otadata_boots_ota0_and_writes_seq1_valid),
        CASE(blank_otadata_empty_ota0_boots_ota1_and_writes_seq2),
        CASE(one_copy_valid),
        CASE(both_copies_valid_higher_seq_wins),
        CASE(equal_seqs_copy0_wins),
        CASE(bad_crc_copy_is_ignored),
        CASE(state_new_becomes_pending_verify_then_aborted),
        CASE(pending_verify_without_rollback_stays),
        CASE(invalid_and_aborted_entries_are_skipped),
        CASE(corrupt_selected_image_falls_back),
        CASE(factory_present),
        CASE(no_valid_app_is_a_brick),
        CASE(reference_otadata_vectors),
        CASE(dry_run_writes_nothing),
        INTEROP_CASE(dump_shorter_than_partitions),
        CASE(power_cut_while_rewriting_otadata),
        CASE(platform_boot_control),
        CASE(platform_kv_on_nvs),
        CASE(image_builder_output_boots),
        INTEROP_CASE(esptool_images_boot_or_are_refused),
    };
    atexit(cleanup);
    return check_run(__FILE__, cases, sizeof cases / sizeof cases[0], argc, argv);
}
