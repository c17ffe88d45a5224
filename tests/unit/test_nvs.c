/* NVS: reading what ESP-IDF's generator wrote, writing as nvs_flash does,
 * page reclaim over thousands of updates, and power cuts at every flash
 * operation of an update (before the operation and torn inside it), on the
 * virtual device's NOR emulation. */
#include "check.h"

#include <stdlib.h>

#include "bytes.h"
#include "ota32/crc.h"
#include "ota32/nvs.h"
#include "vdev.h"

/* 64 KB of RAM under the virtual device's NOR emulation, which cuts power
 * at an armed operation. */
#define RAM_SIZE 0x10000u
#define PART 0x9000u
#define PSIZE 0x6000u

typedef struct ram {
    uint8_t mem[RAM_SIZE];
    vdev_nor nor;
} ram;

static ota32_flash_ops ram_ops(ram *r)
{
    return *vdev_nor_flash(&r->nor);
}

static ram *ram_new(void)
{
    ram *r = calloc(1, sizeof *r);
    memset(r->mem, 0xFF, sizeof r->mem);
    vdev_nor_init(&r->nor, r->mem, RAM_SIZE, NULL);
    return r;
}

static uint8_t *vector(const char *name, size_t *len)
{
    uint8_t *v = check_read_file(check_vector_path(name), len);
    CHECK(v != NULL);
    return v;
}

static ota32_nvs nvs; /* about 7 KB: keep it off the stack */

TEST(reads_what_the_generator_wrote)
{
    size_t len = 0;
    uint8_t *v = vector("nvs_ota.bin", &len);
    if (!v)
        return;
    ram *r = ram_new();
    memcpy(r->mem + PART, v, len);
    ota32_flash_ops f = ram_ops(r);
    ota32_diag d;
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, (uint32_t)len, &d), 0);
    char s[64];
    size_t n = 0;
    CHECK_EQ(ota32_nvs_get_str(&nvs, "ota", "fw_url", s, sizeof s, &n), 0);
    CHECK_STR(s, "https://example.com/fw.bin");
    CHECK_EQ(n, 27);
    uint64_t u = 0;
    CHECK_EQ(ota32_nvs_get_int(&nvs, "ota", "boot_count", OTA32_NVS_U32, &u), 0);
    CHECK_EQ(u, 7);
    CHECK_EQ(ota32_nvs_get_int(&nvs, "ota", "boot_count", OTA32_NVS_U8, &u), OTA32_ERR_INVALID_ARG);
    CHECK_EQ(ota32_nvs_get_int(&nvs, "ota", "nope", OTA32_NVS_U32, &u), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(ota32_nvs_get_int(&nvs, "other", "boot_count", OTA32_NVS_U32, &u),
             OTA32_ERR_NOT_FOUND);
    CHECK_EQ(ota32_nvs_get_str(&nvs, "ota", "fw_url", s, 10, &n), OTA32_ERR_TOO_BIG);
    /* Opening changed nothing. */
    CHECK_MEM(r->mem + PART, v, len);
    free(v);

    v = vector("nvs_blob.bin", &len);
    if (v) {
        memcpy(r->mem + PART, v, len);
        CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, (uint32_t)len, &d), 0);
        uint8_t b[16];
        CHECK_EQ(ota32_nvs_get_blob(&nvs, "ota", "blb", b, sizeof b, &n), 0);
        CHECK_EQ(n, 5);
        CHECK_MEM(b, "\x01\x02\x03\x04\x05", 5);
        free(v);
    }
    free(r);
}

TEST(device_writes_match_the_generator_entries)
{
    /* Writing what nvs_ota.csv holds onto a blank partition yields the
     * generator's page 0 byte for byte (same header: ACTIVE, seq 0). */
    size_t len = 0;
    uint8_t *v = vector("nvs_ota.bin", &len);
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ(ota32_nvs_set_str(&nvs, "ota", "fw_url", "https://example.com/fw.bin"), 0);
    CHECK_EQ(ota32_nvs_set_int(&nvs, "ota", "boot_count", OTA32_NVS_U32, 7), 0);
    if (v)
        CHECK_MEM(r->mem + PART, v, PSIZE);
    /* Writing the same value again writes nothing. */
    uint64_t ops = r->nor.stats.ops;
    CHECK_EQ(ota32_nvs_set_int(&nvs, "ota", "boot_count", OTA32_NVS_U32, 7), 0);
    CHECK_EQ(ota32_nvs_set_str(&nvs, "ota", "fw_url", "https://example.com/fw.bin"), 0);
    CHECK_EQ(r->nor.stats.ops, ops);
    free(v);
    free(r);
}

TEST(integers_strings_blobs_namespaces)
{
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    static const struct {
        ota32_nvs_type t;
        uint64_t v;
    } ints[] = {
        {OTA32_NVS_U8, 255},
        {OTA32_NVS_I8, (uint64_t)-128},
        {OTA32_NVS_U16, 65535},
        {OTA32_NVS_I16, (uint64_t)-2},
        {OTA32_NVS_U32, 0xDEADBEEF},
        {OTA32_NVS_I32, (uint64_t)-7},
        {OTA32_NVS_U64, 0x0123456789ABCDEFull},
        {OTA32_NVS_I64, (uint64_t)INT64_MIN},
    };
    for (unsigned i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%u", i);
        CHECK_EQ(ota32_nvs_set_int(&nvs, "ints", key, ints[i].t, ints[i].v), 0);
    }
    CHECK_EQ(ota32_nvs_set_int(&nvs, "ints", "bad", OTA32_NVS_U8, 256), OTA32_ERR_INVALID_ARG);
    CHECK_EQ(ota32_nvs_set_int(&nvs, "ints", "bad", OTA32_NVS_I8, 128), OTA32_ERR_INVALID_ARG);
    CHECK_EQ(ota32_nvs_set_str(&nvs, "s", "k", "x"), 0);
    CHECK_EQ(ota32_nvs_set_str(&nvs, "s", "sixteen_chars_xx", "x"), OTA32_ERR_INVALID_ARG);
    uint8_t big[5000];
    for (unsigned i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    CHECK_EQ(ota32_nvs_set_blob(&nvs, "b", "big", big, sizeof big), 0);
    CHECK_EQ(ota32_nvs_set_blob(&nvs, "b", "empty", "", 0), 0);
    /* Reopen and read everything back. */
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    for (unsigned i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        char key[8];
        uint64_t v = 0;
        snprintf(key, sizeof key, "k%u", i);
        CHECK_EQ(ota32_nvs_get_int(&nvs, "ints", key, ints[i].t, &v), 0);
        CHECK_EQ(v, ints[i].v);
    }
    uint8_t back[5000];
    size_t n = 0;
    CHECK_EQ(ota32_nvs_get_blob(&nvs, "b", "big", back, sizeof back, &n), 0);
    CHECK_EQ(n, sizeof big);
    CHECK_MEM(back, big, sizeof big);
    CHECK_EQ(ota32_nvs_get_blob(&nvs, "b", "empty", back, sizeof back, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(ota32_nvs_erase_key(&nvs, "s", "k"), 0);
    CHECK_EQ(ota32_nvs_get_str(&nvs, "s", "k", NULL, 0, &n), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(ota32_nvs_erase_key(&nvs, "s", "k"), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ(ota32_nvs_get_str(&nvs, "s", "k", NULL, 0, &n), OTA32_ERR_NOT_FOUND);
    free(r);
}

typedef struct tally {
    unsigned items, ns;
    char names[4][16];
} tally;

static int count_cb(void *arg, const ota32_nvs_item *it)
{
    tally *t = arg;
    t->items++;
    if (it->ns_index == 0 && t->ns < 4)
        memcpy(t->names[t->ns++], it->key, 16);
    return 0;
}

TEST(namespace_gets_lowest_free_index)
{
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ(ota32_nvs_set_int(&nvs, "a", "x", OTA32_NVS_U8, 1), 0);
    CHECK_EQ(ota32_nvs_set_int(&nvs, "b", "x", OTA32_NVS_U8, 2), 0);
    /* Entry 0 is namespace "a" -> 1, entry 2 namespace "b" -> 2. */
    const uint8_t *e0 = r->mem + PART + 64, *e2 = r->mem + PART + 64 + 2 * 32;
    CHECK_EQ(e0[0], 0);
    CHECK_STR((const char *)e0 + 8, "a");
    CHECK_EQ(e0[24], 1);
    CHECK_STR((const char *)e2 + 8, "b");
    CHECK_EQ(e2[24], 2);
    CHECK_EQ((r->mem + PART + 64 + 3 * 32)[0], 2); /* "x" in namespace 2 */
    tally t = {0};
    CHECK_EQ(ota32_nvs_foreach(&nvs, count_cb, &t), 0);
    CHECK_EQ(t.items, 4);
    CHECK_EQ(t.ns, 2);
    CHECK_STR(t.names[1], "b");
    free(r);
}

static void make_blob(uint8_t *b, size_t len, unsigned gen)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(gen * 31 + i);
}

TEST(thousands_of_updates_reclaim_pages)
{
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ(ota32_nvs_set_str(&nvs, "VIAM_NS", "keep", "unchanged"), 0);
    unsigned fails = 0;
    for (unsigned i = 0; i < 2500 && fails < 5; i++) {
        uint8_t blob[100], back[100];
        char ver[40], got[40];
        make_blob(blob, sizeof blob, i);
        snprintf(ver, sizeof ver, "1.2.%u", i);
        int a = ota32_nvs_set_blob(&nvs, "VIAM_NS", "progress", blob, sizeof blob);
        int b = ota32_nvs_set_str(&nvs, "VIAM_NS", "OTA_VERSION", ver);
        if (a || b) {
            fails++;
            CHECK_EQ(a, 0);
            CHECK_EQ(b, 0);
        }
        if (i % 97 == 0 || i == 2499) {
            CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
            size_t n = 0;
            CHECK_EQ(ota32_nvs_get_blob(&nvs, "VIAM_NS", "progress", back, sizeof back, &n), 0);
            CHECK_EQ(n, sizeof blob);
            CHECK_MEM(back, blob, sizeof blob);
            CHECK_EQ(ota32_nvs_get_str(&nvs, "VIAM_NS", "OTA_VERSION", got, sizeof got, &n), 0);
            CHECK_STR(got, ver);
            CHECK_EQ(ota32_nvs_get_str(&nvs, "VIAM_NS", "keep", got, sizeof got, &n), 0);
            CHECK_STR(got, "unchanged");
        }
    }
    /* One page stays blank; sequence numbers only grow. */
    unsigned blank = 0;
    for (unsigned p = 0; p < PSIZE / 0x1000; p++) {
        const uint8_t *pg = r->mem + PART + p * 0x1000;
        unsigned ff = 0;
        while (ff < 0x1000 && pg[ff] == 0xFF)
            ff++;
        blank += ff == 0x1000;
    }
    CHECK(blank >= 1);
    free(r);
}

/* When set, every state must also hold exactly the long-lived keys
 * other/i<k> = k for k % 8 == 7, k < 560. */
static bool check_long_lived;

static int long_lived_cb(void *arg, const ota32_nvs_item *it)
{
    unsigned *count = arg, k;
    if (strcmp(it->ns, "other") != 0)
        return 0;
    if (it->type != OTA32_NVS_U32 || sscanf(it->key, "i%u", &k) != 1 || k % 8 != 7 ||
        it->int_val != k)
        return 1;
    ++*count;
    return 0;
}

/* Read the two values; each must be exactly the old or the new one. */
static int state_of(ota32_flash_ops *f, const char *old_s, const char *new_s, const uint8_t *old_b,
                    const uint8_t *new_b, size_t blen, int *which_b)
{
    ota32_diag d;
    int rc = ota32_nvs_open(&nvs, f, PART, PSIZE, &d);
    CHECK_EQ(rc, 0);
    if (rc)
        return -1;
    char s[64];
    uint8_t b[256];
    size_t n = 0;
    int which = -1;
    CHECK_EQ(ota32_nvs_get_str(&nvs, "VIAM_NS", "OTA_VERSION", s, sizeof s, &n), 0);
    if (!strcmp(s, old_s))
        which = 0;
    else if (!strcmp(s, new_s))
        which = 1;
    CHECK(which >= 0);
    *which_b = -1;
    CHECK_EQ(ota32_nvs_get_blob(&nvs, "VIAM_NS", "progress", b, sizeof b, &n), 0);
    if (n == blen && !memcmp(b, old_b, blen))
        *which_b = 0;
    else if (n == blen && !memcmp(b, new_b, blen))
        *which_b = 1;
    CHECK(*which_b >= 0);
    CHECK_EQ(ota32_nvs_get_str(&nvs, "VIAM_NS", "keep", s, sizeof s, &n), 0);
    CHECK_STR(s, "unchanged");
    if (check_long_lived) {
        unsigned count = 0;
        CHECK_EQ(ota32_nvs_foreach(&nvs, long_lived_cb, &count), 0);
        CHECK_EQ(count, 70);
    }
    return which;
}

/* Cut power at every operation of one update (string then blob), starting
 * from `base`, for both cut kinds; after reboot each value is old or new,
 * and once an update's last write happened the new value stays. */
static unsigned long cuts_tested;
static long max_ops; /* most flash operations one update took */

static void cut_everywhere(ram *r, const uint8_t *base, unsigned gen)
{
    ota32_flash_ops f = ram_ops(r);
    char old_s[32], new_s[32];
    uint8_t old_b[100], new_b[100];
    snprintf(old_s, sizeof old_s, "v%u", gen);
    snprintf(new_s, sizeof new_s, "v%u-next", gen + 1);
    make_blob(old_b, sizeof old_b, gen);
    make_blob(new_b, sizeof new_b, gen + 1);
    /* Lost before the operation, or with only its first or second half done
     * (an erase that leaves the page header and bitmap). */
    static const vdev_cut_kind kinds[] = {VDEV_CUT_BEFORE, VDEV_CUT_FIRST_HALF,
                                          VDEV_CUT_SECOND_HALF};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (long cut = 0; cut < 2000; cut++) {
            memcpy(r->mem + PART, base, PSIZE);
            vdev_nor_power_on(&r->nor);
            uint64_t ops0 = r->nor.stats.ops;
            CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
            vdev_nor_arm_cut(&r->nor, (uint64_t)cut, kinds[k], 0);
            int a = ota32_nvs_set_str(&nvs, "VIAM_NS", "OTA_VERSION", new_s);
            int b = a ? a : ota32_nvs_set_blob(&nvs, "VIAM_NS", "progress", new_b, sizeof new_b);
            bool cut_happened = vdev_nor_power_lost(&r->nor);
            if (!cut_happened && (long)(r->nor.stats.ops - ops0) > max_ops)
                max_ops = (long)(r->nor.stats.ops - ops0);
            vdev_nor_power_on(&r->nor);
            int wb = -1;
            int ws = state_of(&f, old_s, new_s, old_b, new_b, sizeof old_b, &wb);
            if (!cut_happened) {
                CHECK_EQ(a, 0);
                CHECK_EQ(b, 0);
                CHECK_EQ(ws, 1);
                CHECK_EQ(wb, 1);
                break; /* every op of the update has been cut once */
            }
            CHECK(a == OTA32_ERR_IO || b == OTA32_ERR_IO);
            cuts_tested++;
            if (a == 0)
                CHECK_EQ(ws, 1); /* the string update had completed */
            if (a != 0)
                CHECK_EQ(wb, 0); /* the blob update never started */
            /* After the reboot, writing goes on normally. */
            CHECK_EQ(ota32_nvs_set_str(&nvs, "VIAM_NS", "OTA_VERSION", "after"), 0);
            CHECK_EQ(ota32_nvs_set_blob(&nvs, "VIAM_NS", "progress", new_b, 50), 0);
            CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
            char s[16];
            size_t n = 0;
            CHECK_EQ(ota32_nvs_get_str(&nvs, "VIAM_NS", "OTA_VERSION", s, sizeof s, &n), 0);
            CHECK_STR(s, "after");
        }
    }
}

TEST(power_cut_at_every_operation)
{
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    uint8_t *base = malloc(PSIZE);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ(ota32_nvs_set_str(&nvs, "VIAM_NS", "keep", "unchanged"), 0);
    /* Walk through many updates so cuts also land in page changes and
     * reclaims: test every cut point at several stages. */
    unsigned tested = 0;
    for (unsigned gen = 0; gen < 200; gen++) {
        char s[32];
        uint8_t b[100];
        snprintf(s, sizeof s, "v%u", gen);
        make_blob(b, sizeof b, gen);
        CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
        CHECK_EQ(ota32_nvs_set_str(&nvs, "VIAM_NS", "OTA_VERSION", s), 0);
        CHECK_EQ(ota32_nvs_set_blob(&nvs, "VIAM_NS", "progress", b, sizeof b), 0);
        {
            memcpy(base, r->mem + PART, PSIZE);
            cut_everywhere(r, base, gen);
            memcpy(r->mem + PART, base, PSIZE);
            vdev_nor_power_on(&r->nor);
            tested++;
        }
    }
    CHECK_EQ(tested, 200);
    CHECK(cuts_tested > 6000);
    CHECK(max_ops > 18); /* some updates changed pages */
    printf("  %lu power cuts tested; longest update %ld operations\n", cuts_tested, max_ops);
    free(base);
    free(r);
}

TEST(power_cut_while_reclaiming_a_page)
{
    /* Every page holds live items, so each reclaim copies many of them. */
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    uint8_t *base = malloc(PSIZE);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ(ota32_nvs_set_str(&nvs, "VIAM_NS", "keep", "unchanged"), 0);
    for (unsigned i = 0; i < 560; i++) {
        char key[8];
        snprintf(key, sizeof key, "i%u", i);
        CHECK_EQ(ota32_nvs_set_int(&nvs, "other", key, OTA32_NVS_U32, i), 0);
    }
    for (unsigned i = 0; i < 560; i++) {
        if (i % 8 == 7)
            continue;
        char key[8];
        snprintf(key, sizeof key, "i%u", i);
        CHECK_EQ(ota32_nvs_erase_key(&nvs, "other", key), 0);
    }
    max_ops = 0;
    check_long_lived = true;
    for (unsigned gen = 0; gen < 30; gen++) {
        char s[32];
        uint8_t b[100];
        snprintf(s, sizeof s, "v%u", gen);
        make_blob(b, sizeof b, gen);
        CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
        CHECK_EQ(ota32_nvs_set_str(&nvs, "VIAM_NS", "OTA_VERSION", s), 0);
        CHECK_EQ(ota32_nvs_set_blob(&nvs, "VIAM_NS", "progress", b, sizeof b), 0);
        memcpy(base, r->mem + PART, PSIZE);
        cut_everywhere(r, base, gen);
        memcpy(r->mem + PART, base, PSIZE);
        vdev_nor_power_on(&r->nor);
    }
    check_long_lived = false;
    CHECK(max_ops > 40); /* reclaims moved items */
    /* The long-lived keys all survived. */
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    for (unsigned i = 0; i < 560; i++) {
        char key[8];
        uint64_t v = 0;
        snprintf(key, sizeof key, "i%u", i);
        int rc = ota32_nvs_get_int(&nvs, "other", key, OTA32_NVS_U32, &v);
        CHECK_EQ(rc, i % 8 == 7 ? 0 : OTA32_ERR_NOT_FOUND);
        if (i % 8 == 7)
            CHECK_EQ(v, i);
    }
    printf("  longest update %ld operations\n", max_ops);
    free(base);
    free(r);
}

static int chunk_cb(void *arg, const ota32_nvs_item *it)
{
    int *out = arg; /* [0] last BLOB_DATA chunk index, [2] BLOB_DATA items */
    if (it->type == OTA32_NVS_BLOB_DATA) {
        out[0] = it->chunk_index;
        out[2]++;
    }
    return 0;
}

TEST(blob_versions_toggle_and_old_chunks_go)
{
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    static const int want[] = {0x00, 0x80, 0x00};
    for (int i = 0; i < 3; i++) {
        uint8_t b[40];
        memset(b, i, sizeof b);
        CHECK_EQ(ota32_nvs_set_blob(&nvs, "n", "b", b, sizeof b), 0);
        int seen[3] = {-1, -1, 0};
        CHECK_EQ(ota32_nvs_foreach(&nvs, chunk_cb, seen), 0);
        CHECK_EQ(seen[0], want[i]);
        CHECK_EQ(seen[2], 1); /* the previous version's chunk is gone */
    }
    /* An index claiming a range no ESP-IDF writes (start 0x70, 32 chunks,
     * straddling both versions): overwriting still yields one clean blob. */
    uint8_t *e = NULL;
    for (unsigned i = 0; i < 126 && !e; i++) {
        uint8_t *c = r->mem + PART + 64 + i * 32;
        if (c[1] == OTA32_NVS_BLOB_IDX && ((r->mem[PART + 32 + i / 4] >> (i % 4 * 2)) & 3) == 2)
            e = c;
    }
    CHECK(e != NULL);
    if (e) {
        uint8_t tmp[32];
        memcpy(tmp, e, 32);
        tmp[28] = 0x20;
        tmp[29] = 0x70;
        uint32_t crc = ota32_crc32_le(ota32_crc32_le(0xFFFFFFFFu, tmp, 4), tmp + 8, 24);
        ota32_put_le32(tmp + 4, crc);
        memcpy(e, tmp, 32); /* test-only: rewrite bits a NOR flash could not */
        CHECK_EQ(ota32_nvs_get_blob(&nvs, "n", "b", NULL, 0, NULL), 0);
        CHECK_EQ(ota32_nvs_set_blob(&nvs, "n", "b", "new", 3), 0);
        int seen[3] = {-1, -1, 0};
        CHECK_EQ(ota32_nvs_foreach(&nvs, chunk_cb, seen), 0);
        CHECK_EQ(seen[0], 0x80);
        CHECK_EQ(seen[2], 1);
        uint8_t b[8];
        size_t n = 0;
        CHECK_EQ(ota32_nvs_get_blob(&nvs, "n", "b", b, sizeof b, &n), 0);
        CHECK_EQ(n, 3);
        CHECK_MEM(b, "new", 3);
    }
    free(r);
}

TEST(half_written_item_is_erased_on_open)
{
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ(ota32_nvs_set_str(&nvs, "n", "k", "old"), 0);
    /* Entry 2 (the string) is WRITTEN; flip a byte of its key: bad CRC. */
    uint8_t *e = r->mem + PART + 64 + 1 * 32;
    CHECK_STR((char *)e + 8, "k");
    e[9] = 0; /* still a valid key, CRC now wrong */
    e[8] = 'j';
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    size_t n;
    CHECK_EQ(ota32_nvs_get_str(&nvs, "n", "j", NULL, 0, &n), OTA32_ERR_NOT_FOUND);
    /* Bitmap: entry 1 is now ERASED (00), its data entry too. */
    CHECK_EQ((r->mem[PART + 32] >> 2) & 3, 0);
    CHECK_EQ((r->mem[PART + 32] >> 4) & 3, 0);
    /* Garbage after the last written entry with an EMPTY state is erased too. */
    r->mem[PART + 64 + 10 * 32] = 0x12;
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ((r->mem[PART + 32 + 2] >> 4) & 3, 0); /* entry 10 */
    CHECK_EQ(ota32_nvs_set_str(&nvs, "n", "k", "new"), 0);
    char s[8];
    CHECK_EQ(ota32_nvs_get_str(&nvs, "n", "k", s, sizeof s, &n), 0);
    CHECK_STR(s, "new");
    CHECK_EQ(nvs.page_next[0], 13); /* written after the erased garbage */
    free(r);
}

TEST(duplicate_keeps_the_newer)
{
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    CHECK_EQ(ota32_nvs_set_int(&nvs, "n", "k", OTA32_NVS_U32, 1), 0);
    uint8_t saved[0x1000];
    memcpy(saved, r->mem + PART, sizeof saved);
    CHECK_EQ(ota32_nvs_set_int(&nvs, "n", "k", OTA32_NVS_U32, 2), 0);
    /* Resurrect the old item (as if the erase never happened). */
    r->mem[PART + 32] |= 2u << 2;
    CHECK_EQ(saved[32], r->mem[PART + 32] | 0x30); /* only entry 2 differs */
    CHECK_EQ((r->mem[PART + 32] >> 2) & 3, 2);
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, NULL), 0);
    uint64_t v = 0;
    CHECK_EQ(ota32_nvs_get_int(&nvs, "n", "k", OTA32_NVS_U32, &v), 0);
    CHECK_EQ(v, 2);
    CHECK_EQ((r->mem[PART + 32] >> 2) & 3, 0);
    free(r);
}

TEST(rejects_bad_geometry_and_newer_versions)
{
    ram *r = ram_new();
    ota32_flash_ops f = ram_ops(r);
    ota32_diag d;
    CHECK_EQ(ota32_nvs_open(&nvs, &f, PART + 1, PSIZE, &d), OTA32_ERR_INVALID_ARG);
    CHECK_CONTAINS(d.msg, "multiples of 0x1000");
    CHECK_EQ(ota32_nvs_open(&nvs, &f, 0xF000, 0x2000, &d), OTA32_ERR_RANGE);
    CHECK_CONTAINS(d.msg, "ends past the flash");
    size_t len;
    uint8_t *v = vector("nvs_ota.bin", &len);
    if (v) {
        v[8] = 0xFD; /* newer format; the header CRC still matches */
        ota32_put_le32(v + 28, ota32_crc32_esp(v + 4, 24));
        memcpy(r->mem + PART, v, len);
        CHECK_EQ(ota32_nvs_open(&nvs, &f, PART, PSIZE, &d), OTA32_ERR_UNSUPPORTED);
        CHECK_CONTAINS(d.msg, "offset 0x9008: NVS page version 0xfd");
        free(v);
    }
    free(r);
}

RUN_TESTS(CASE(reads_what_the_generator_wrote), CASE(device_writes_match_the_generator_entries),
          CASE(integers_strings_blobs_namespaces), CASE(namespace_gets_lowest_free_index),
          CASE(thousands_of_updates_reclaim_pages), CASE(power_cut_at_every_operation),
          CASE(power_cut_while_reclaiming_a_page), CASE(blob_versions_toggle_and_old_chunks_go),
          CASE(half_written_item_is_erased_on_open), CASE(duplicate_keeps_the_newer),
          CASE(rejects_bad_geometry_and_newer_versions))
