/* otadata: the reference vectors from otatool, validity, the bootloader's
 * choice, esp_ota_set_boot_partition's seq formula, and mark valid/invalid. */
#include "check.h"

#include <stdlib.h>

#include "bytes.h"
#include "ota32/crc.h"
#include "ota32/otadata.h"
#include "vdev.h"

/* 16 KB of RAM under the virtual device's NOR emulation, with every program
 * and erase logged so tests can assert the exact write sequence. */
#define RAM_SIZE 0x4000u
#define PART 0x2000u

typedef struct ram {
    uint8_t mem[RAM_SIZE];
    vdev_nor nor;
    char log[512];
} ram;

/* Appends "E<addr> " for an erase, "P<addr>+<len> " for a program. */
static void ram_log(ram *r, char op, uint32_t a, size_t n)
{
    size_t used = strlen(r->log);
    if (op == 'E')
        snprintf(r->log + used, sizeof r->log - used, "E%x ", a);
    else
        snprintf(r->log + used, sizeof r->log - used, "P%x+%zu ", a, n);
}

static int ram_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    ram *r = ctx;
    return r->nor.ops.read(&r->nor, addr, buf, len);
}

static int ram_program(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    ram *r = ctx;
    int rc = r->nor.ops.program(&r->nor, addr, buf, len);
    if (rc == OTA32_OK)
        ram_log(r, 'P', addr, len);
    return rc;
}

static int ram_erase(void *ctx, uint32_t addr)
{
    ram *r = ctx;
    int rc = r->nor.ops.erase_sector(&r->nor, addr);
    if (rc == OTA32_OK)
        ram_log(r, 'E', addr, 0);
    return rc;
}

static int ram_block(void *ctx, uint32_t addr)
{
    (void)ctx;
    (void)addr;
    return OTA32_ERR_UNSUPPORTED;
}

static ram *ram_new(ota32_flash_ops *f)
{
    ram *r = calloc(1, sizeof *r);
    memset(r->mem, 0xFF, sizeof r->mem);
    vdev_nor_init(&r->nor, r->mem, RAM_SIZE, NULL);
    *f = (ota32_flash_ops){r, RAM_SIZE, ram_read, ram_program, ram_erase, ram_block};
    return r;
}

static uint8_t *load_vector(const char *name)
{
    size_t len = 0;
    uint8_t *v = check_read_file(check_vector_path(name), &len);
    CHECK(v != NULL);
    CHECK_EQ(len, OTA32_OTADATA_SIZE);
    return v;
}

static ota32_ota_entry entry(uint32_t seq, uint32_t state)
{
    ota32_ota_entry e;
    uint8_t le[4];
    ota32_put_le32(le, seq);
    e.seq = seq;
    memset(e.seq_label, 0xFF, sizeof e.seq_label);
    e.state = state;
    e.crc = ota32_crc32_esp(le, 4);
    return e;
}

TEST(vectors_reproduced_from_blank_without_rollback)
{
    static const char *const steps[] = {"otadata_1_ota0.bin", "otadata_2_ota1.bin",
                                        "otadata_3_ota0.bin"};
    static const unsigned slots[] = {0, 1, 0};
    static const char *const logs[] = {"E2000 P2000+32 ", "E3000 P3000+32 ", "E2000 P2000+32 "};
    ota32_flash_ops f;
    ram *r = ram_new(&f);
    uint8_t *blank = load_vector("otadata_blank.bin");
    if (blank)
        memcpy(r->mem + PART, blank, OTA32_OTADATA_SIZE);
    for (unsigned i = 0; i < 3; i++) {
        r->log[0] = 0;
        CHECK_EQ(ota32_otadata_set_boot(&f, PART, slots[i], 2, false), 0);
        CHECK_STR(r->log, logs[i]);
        uint8_t *want = load_vector(steps[i]);
        if (want)
            CHECK_MEM(r->mem + PART, want, OTA32_OTADATA_SIZE);
        ota32_ota_entry e[2];
        CHECK_EQ(ota32_otadata_read(&f, PART, e), 0);
        int a = ota32_otadata_active(e);
        CHECK_EQ(a, (int)(i % 2));
        CHECK_EQ(e[a].seq, i + 1);
        CHECK_EQ(ota32_otadata_slot(&e[a], 2), slots[i]);
        CHECK_EQ(e[a].state, OTA32_IMG_UNDEFINED);
        free(want);
    }
    free(blank);
    free(r);
}

TEST(rollback_differs_only_in_state)
{
    ota32_flash_ops f1, f2;
    ram *a = ram_new(&f1), *b = ram_new(&f2);
    for (unsigned slot = 0; slot < 3; slot++) {
        CHECK_EQ(ota32_otadata_set_boot(&f1, PART, slot % 2, 2, false), 0);
        CHECK_EQ(ota32_otadata_set_boot(&f2, PART, slot % 2, 2, true), 0);
    }
    for (unsigned copy = 0; copy < 2; copy++) {
        const uint8_t *x = a->mem + PART + copy * 0x1000, *y = b->mem + PART + copy * 0x1000;
        CHECK_MEM(x, y, 24);
        CHECK_MEM(x + 28, y + 28, 0x1000 - 28);
        CHECK_EQ(ota32_le32(x + 24), 0xFFFFFFFFu);
        CHECK_EQ(ota32_le32(y + 24), OTA32_IMG_NEW);
    }
    free(a);
    free(b);
}

TEST(validity_rules)
{
    ota32_ota_entry e = entry(5, OTA32_IMG_UNDEFINED);
    CHECK(ota32_ota_entry_valid(&e));
    e.state = OTA32_IMG_VALID;
    CHECK(ota32_ota_entry_valid(&e));
    e.state = OTA32_IMG_NEW;
    CHECK(ota32_ota_entry_valid(&e));
    e.state = OTA32_IMG_PENDING_VERIFY;
    CHECK(ota32_ota_entry_valid(&e));
    e.state = OTA32_IMG_INVALID;
    CHECK(!ota32_ota_entry_valid(&e));
    e.state = OTA32_IMG_ABORTED;
    CHECK(!ota32_ota_entry_valid(&e));
    e = entry(5, OTA32_IMG_VALID);
    e.crc ^= 1;
    CHECK(!ota32_ota_entry_valid(&e));
    e = entry(0xFFFFFFFF, OTA32_IMG_VALID);
    CHECK(!ota32_ota_entry_valid(&e));
    CHECK_STR(ota32_img_state_name(OTA32_IMG_PENDING_VERIFY), "PENDING_VERIFY");
    CHECK_STR(ota32_img_state_name(OTA32_IMG_UNDEFINED), "UNDEFINED");
    CHECK(ota32_img_state_name(7) == NULL);
}

TEST(active_entry_selection)
{
    ota32_ota_entry e[2] = {entry(3, OTA32_IMG_VALID), entry(4, OTA32_IMG_VALID)};
    CHECK_EQ(ota32_otadata_active(e), 1);
    e[1] = entry(3, OTA32_IMG_VALID);
    CHECK_EQ(ota32_otadata_active(e), 0); /* tie -> copy 0 */
    e[0] = entry(9, OTA32_IMG_ABORTED);
    CHECK_EQ(ota32_otadata_active(e), 1);
    e[1].crc = 0;
    CHECK_EQ(ota32_otadata_active(e), -1);
    e[0] = entry(2, OTA32_IMG_INVALID);
    e[1] = entry(1, OTA32_IMG_UNDEFINED);
    CHECK_EQ(ota32_otadata_active(e), 1);
    CHECK_EQ(ota32_otadata_slot(&e[1], 2), 0);
    ota32_ota_entry s = entry(7, OTA32_IMG_VALID);
    CHECK_EQ(ota32_otadata_slot(&s, 3), 0);
    CHECK_EQ(ota32_otadata_slot(&s, 4), 2);
}

TEST(seq_formula_matches_esp_ota_set_boot_partition)
{
    ota32_ota_entry e[2] = {entry(5, OTA32_IMG_VALID), entry(4, OTA32_IMG_VALID)};
    ota32_ota_entry out;
    unsigned copy = 9;
    /* Active is copy 0 (seq 5, slot 0 of 2). Boot slot 1: smallest 2+2i >= 5 = 6. */
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 1, 2, true, &copy, &out), 0);
    CHECK_EQ(copy, 1);
    CHECK_EQ(out.seq, 6);
    CHECK_EQ(out.state, OTA32_IMG_NEW);
    CHECK_EQ(ota32_otadata_slot(&out, 2), 1);
    /* Boot slot 0 again (already active): v5.5.5 writes seq 5 to the other
     * copy; the tie then goes to copy 0. */
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 0, 2, false, &copy, &out), 0);
    CHECK_EQ(copy, 1);
    CHECK_EQ(out.seq, 5);
    CHECK_EQ(out.state, OTA32_IMG_UNDEFINED);
    /* Three slots, active seq 5 (slot 1): slot 2 -> base 0: 6; slot 0 -> base 1: 7. */
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 2, 3, false, &copy, &out), 0);
    CHECK_EQ(out.seq, 6);
    CHECK_EQ(ota32_otadata_slot(&out, 3), 2);
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 0, 3, false, &copy, &out), 0);
    CHECK_EQ(out.seq, 7);
    /* seq_label is kept from the replaced record. */
    e[1].seq_label[0] = 0x41;
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 1, 2, false, &copy, &out), 0);
    CHECK_EQ(out.seq_label[0], 0x41);
    /* Neither valid: seq slot+1 into copy 0. */
    e[0].crc ^= 1;
    e[1] = entry(0xFFFFFFFF, OTA32_IMG_UNDEFINED);
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 1, 2, false, &copy, &out), 0);
    CHECK_EQ(copy, 0);
    CHECK_EQ(out.seq, 2);
    CHECK_EQ(out.crc, entry(2, 0).crc);
    /* Bad arguments and a seq that would become 0xFFFFFFFF. */
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 2, 2, false, &copy, &out), OTA32_ERR_INVALID_ARG);
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 0, 0, false, &copy, &out), OTA32_ERR_INVALID_ARG);
    e[0] = entry(0xFFFFFFFE, OTA32_IMG_VALID);
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 1, 2, false, &copy, &out), 0);
    CHECK_EQ(out.seq, 0xFFFFFFFEu);
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 0, 2, false, &copy, &out), OTA32_ERR_RANGE);
    /* An active seq of 0 (crc32 of 0 is 0xFFFFFFFF): slot n-1 would get seq 0. */
    e[0] = entry(0, OTA32_IMG_VALID);
    CHECK_EQ(e[0].crc, 0xFFFFFFFFu);
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 2, 3, false, &copy, &out), OTA32_ERR_RANGE);
    CHECK_EQ(ota32_otadata_plan_set_boot(e, 0, 3, false, &copy, &out), 0);
    CHECK_EQ(out.seq, 1);
}

TEST(mark_valid_and_invalid_rewrite_the_active_copy)
{
    ota32_flash_ops f;
    ram *r = ram_new(&f);
    CHECK_EQ(ota32_otadata_set_state(&f, PART, OTA32_IMG_VALID), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(ota32_otadata_set_boot(&f, PART, 0, 2, true), 0);
    CHECK_EQ(ota32_otadata_set_boot(&f, PART, 1, 2, true), 0);
    uint8_t before0[32];
    memcpy(before0, r->mem + PART, 32);
    r->log[0] = 0;
    CHECK_EQ(ota32_otadata_set_state(&f, PART, OTA32_IMG_VALID), 0);
    CHECK_STR(r->log, "E3000 P3000+32 ");
    CHECK_EQ(ota32_le32(r->mem + PART + 0x1000), 2);
    CHECK_EQ(ota32_le32(r->mem + PART + 0x1000 + 24), OTA32_IMG_VALID);
    CHECK_MEM(r->mem + PART, before0, 32);
    /* Already valid: nothing written. */
    r->log[0] = 0;
    CHECK_EQ(ota32_otadata_set_state(&f, PART, OTA32_IMG_VALID), 0);
    CHECK_STR(r->log, "");
    /* Invalid: the other copy (seq 1, slot 0) becomes active. */
    CHECK_EQ(ota32_otadata_set_state(&f, PART, OTA32_IMG_INVALID), 0);
    CHECK_EQ(ota32_le32(r->mem + PART + 0x1000 + 24), OTA32_IMG_INVALID);
    ota32_ota_entry e[2];
    CHECK_EQ(ota32_otadata_read(&f, PART, e), 0);
    CHECK_EQ(ota32_otadata_active(e), 0);
    CHECK_EQ(ota32_otadata_slot(&e[0], 2), 0);
    free(r);
}

TEST(flash_errors_are_returned)
{
    ota32_flash_ops f;
    ram *r = ram_new(&f);
    vdev_nor_arm_cut(&r->nor, 0, VDEV_CUT_BEFORE, 0);
    CHECK_EQ(ota32_otadata_set_boot(&f, PART, 0, 2, false), OTA32_ERR_IO);
    CHECK(vdev_nor_power_lost(&r->nor));
    CHECK_STR(r->log, ""); /* nothing written */
    vdev_nor_power_on(&r->nor);
    vdev_nor_fail(&r->nor, VDEV_OP_PROGRAM, PART + 16); /* a bad page, power stays on */
    CHECK_EQ(ota32_otadata_set_boot(&f, PART, 0, 2, false), OTA32_ERR_IO);
    CHECK(!vdev_nor_power_lost(&r->nor));
    CHECK_STR(r->log, "E2000 "); /* the erase ran, the program failed */
    CHECK_EQ(ota32_otadata_set_boot(&f, PART, 0, 2, false), OTA32_OK); /* control */
    CHECK_EQ(ota32_otadata_read(&f, 0x800, NULL), OTA32_ERR_RANGE);
    CHECK_EQ(ota32_otadata_read(&f, RAM_SIZE - 0x1000, NULL), OTA32_ERR_RANGE);
    free(r);
}

RUN_TESTS(CASE(vectors_reproduced_from_blank_without_rollback),
          CASE(rollback_differs_only_in_state), CASE(validity_rules), CASE(active_entry_selection),
          CASE(seq_formula_matches_esp_ota_set_boot_partition),
          CASE(mark_valid_and_invalid_rewrite_the_active_copy), CASE(flash_errors_are_returned))
