/* Fakes of the ESP-IDF API for test_port.c (see esp_fakes.h). */
#include "esp_fakes.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "esp_crt_bundle.h"
#include "esp_flash.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_wifi.h"
#include "protocol_examples_common.h"
#include "esp_random.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "lwip/sockets.h"
#include "mbedtls/md5.h"
#include "mbedtls/sha256.h"
#include "mbedtls/ssl.h"
#include "nvs.h"
#include "image_build.h"
#include "ota32/image.h"
#include "ota32/otadata.h"
#include "ota32/partition.h"
#include "posix_hash.h"
#include "vdev.h"

fake_state fake;

static void part(int i, esp_partition_type_t type, int subtype, uint32_t addr, uint32_t size,
                 const char *label)
{
    esp_partition_t *p = &fake.parts[i];
    p->type = type;
    p->subtype = (esp_partition_subtype_t)subtype;
    p->address = addr;
    p->size = size;
    p->erase_size = 0x1000;
    snprintf(p->label, sizeof p->label, "%s", label);
}

/* ESP-IDF's limits: strings up to 4000 bytes with their NUL; blobs span
 * pages (up to 508000 bytes; this store keeps 32 KB). */
#define NVS_STR_MAX 4000u
#define NVS_BLOB_MAX (32u * 1024u)

static void write_table(void);

static struct nvs_entry {
    char ns[16], key[16];
    bool is_str;
    size_t len;
    uint8_t val[NVS_BLOB_MAX];
} nvs[16];
static unsigned nvs_count;

void fake_reset(void)
{
    memset(&fake, 0, sizeof fake);
    memset(fake.flash, 0xFF, sizeof fake.flash);
    part(FAKE_NVS, ESP_PARTITION_TYPE_DATA, 0x02, 0x9000, 0x6000, "nvs");
    part(FAKE_OTADATA, ESP_PARTITION_TYPE_DATA, 0x00, 0xF000, 0x2000, "otadata");
    part(FAKE_PHY, ESP_PARTITION_TYPE_DATA, 0x01, 0x11000, 0x1000, "phy_init");
    part(FAKE_OTA0, ESP_PARTITION_TYPE_APP, 0x10, 0x20000, 0x377000, "ota_0");
    part(FAKE_OTA1, ESP_PARTITION_TYPE_APP, 0x11, 0x3A0000, 0x377000, "ota_1");
    write_table();
    if (fake_install_app(FAKE_OTA0, "v1", 0) != OTA32_OK)
        abort();
    fake_boot(); /* first boot: otadata[0] seq 1 VALID */
    fake.connect_ret = 1;
    fake.alpn = "h2";
    memset(nvs, 0, sizeof nvs);
    nvs_count = 0;
}

const char *esp_err_to_name(esp_err_t code)
{
    switch (code) {
    case ESP_OK:
        return "ESP_OK";
    case ESP_FAIL:
        return "ESP_FAIL";
    case ESP_ERR_INVALID_SIZE:
        return "ESP_ERR_INVALID_SIZE";
    case ESP_ERR_NOT_FOUND:
        return "ESP_ERR_NOT_FOUND";
    case ESP_ERR_OTA_VALIDATE_FAILED:
        return "ESP_ERR_OTA_VALIDATE_FAILED";
    case ESP_ERR_OTA_SMALL_SEC_VER:
        return "ESP_ERR_OTA_SMALL_SEC_VER";
    case ESP_ERR_OTA_ROLLBACK_FAILED:
        return "ESP_ERR_OTA_ROLLBACK_FAILED";
    case ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME:
        return "ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME";
    default:
        return "ESP_ERR_OTHER";
    }
}

void _esp_error_check_failed(esp_err_t rc, const char *file, int line, const char *function,
                             const char *expression)
{
    fprintf(stderr, "ESP_ERROR_CHECK failed: %d at %s:%d %s: %s\n", rc, file, line, function,
            expression);
    abort();
}

void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, format);
    vsnprintf(msg, sizeof msg, format, ap);
    va_end(ap);
    fake.last_log_level = (int)level;
    snprintf(fake.last_log, sizeof fake.last_log, "%s: %s", tag, msg);
    size_t used = strlen(fake.log), need = strlen(fake.last_log) + 2;
    if (used + need > sizeof fake.log) { /* keep the newer half */
        size_t keep = used / 2;
        memmove(fake.log, fake.log + used - keep, keep + 1);
        used = keep;
    }
    snprintf(fake.log + used, sizeof fake.log - used, "%s\n", fake.last_log);
}

/* ---- partitions and flash ---------------------------------------------- */

struct esp_partition_iterator_opaque_ {
    int next;
    esp_partition_type_t type;
};

static esp_partition_iterator_t advance(esp_partition_iterator_t it)
{
    for (; it->next < FAKE_NPART; it->next++)
        if (it->type == ESP_PARTITION_TYPE_ANY || fake.parts[it->next].type == it->type)
            return it;
    free(it);
    return NULL;
}

esp_partition_iterator_t esp_partition_find(esp_partition_type_t type,
                                            esp_partition_subtype_t subtype, const char *label)
{
    (void)subtype;
    (void)label;
    esp_partition_iterator_t it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->type = type;
    return advance(it);
}

const esp_partition_t *esp_partition_get(esp_partition_iterator_t it)
{
    return &fake.parts[it->next];
}

esp_partition_iterator_t esp_partition_next(esp_partition_iterator_t it)
{
    it->next++;
    return advance(it);
}

void esp_partition_iterator_release(esp_partition_iterator_t it)
{
    free(it);
}

static esp_err_t flash_check(const esp_partition_t *p, size_t off, size_t size)
{
    esp_err_t e = fake.next_flash_error;
    fake.next_flash_error = ESP_OK;
    if (e != ESP_OK)
        return e;
    if (off > p->size || size > p->size - off)
        return ESP_ERR_INVALID_SIZE;
    return ESP_OK;
}

esp_err_t esp_partition_read(const esp_partition_t *p, size_t off, void *dst, size_t size)
{
    fake.last_read = (fake_call){p, off, size};
    esp_err_t e = flash_check(p, off, size);
    if (e == ESP_OK)
        memcpy(dst, fake.flash + p->address + off, size);
    return e;
}

esp_err_t esp_partition_write(const esp_partition_t *p, size_t off, const void *src, size_t size)
{
    fake.last_write = (fake_call){p, off, size};
    fake.writes++;
    esp_err_t e = flash_check(p, off, size);
    if (e == ESP_OK)
        for (size_t i = 0; i < size; i++) /* NOR: programming clears bits */
            fake.flash[p->address + off + i] &= ((const uint8_t *)src)[i];
    return e;
}

esp_err_t esp_partition_erase_range(const esp_partition_t *p, size_t off, size_t size)
{
    fake.last_erase = (fake_call){p, off, size};
    fake.erases++;
    /* As esp_partition.c: whole erase units only. */
    if (off % p->erase_size != 0)
        return ESP_ERR_INVALID_ARG;
    if (size % p->erase_size != 0)
        return ESP_ERR_INVALID_SIZE;
    esp_err_t e = flash_check(p, off, size);
    if (e == ESP_OK)
        memset(fake.flash + p->address + off, 0xFF, size);
    return e;
}

esp_err_t esp_flash_get_size(esp_flash_t *chip, uint32_t *out_size)
{
    (void)chip;
    *out_size = FAKE_FLASH_SIZE;
    return ESP_OK;
}

/* ---- esp_ota over an otadata model ---------------------------------------
 *
 * otadata lives in the fake flash in ESP-IDF's format; the bootloader's
 * choice (selection, NEW -> PENDING_VERIFY, a reset while PENDING_VERIFY
 * aborts, first boot writes seq 1 VALID) is the virtual device's model of
 * bootloader_utility.c, and the esp_ota_* calls follow esp_ota_ops.c: each
 * partition has its own state, set_boot verifies the image, mark_valid fails
 * where ESP-IDF fails. */

#define FAKE_TABLE_OFFSET 0x8000u
#define FAKE_APP_COUNT 2u

static vdev_mem fake_mem;
static ota32_flash_ops fake_fops;

static const ota32_flash_ops *fops(void)
{
    vdev_mem_flash(&fake_mem, fake.flash, FAKE_FLASH_SIZE, &fake_fops);
    return &fake_fops;
}

static uint32_t otadata_at(void)
{
    return fake.parts[FAKE_OTADATA].address;
}

static int ota_slot_of(const esp_partition_t *p)
{
    if (!p || p->type != ESP_PARTITION_TYPE_APP || p->subtype < ESP_PARTITION_SUBTYPE_APP_OTA_MIN ||
        p->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_MIN + FAKE_APP_COUNT)
        return -1;
    return (int)(p->subtype - ESP_PARTITION_SUBTYPE_APP_OTA_MIN);
}

/* The binary partition table of fake.parts at 0x8000, for the bootloader. */
static void write_table(void)
{
    static ota32_ptable t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < FAKE_NPART; i++) {
        ota32_partition *e = &t.entries[i];
        snprintf(e->label, sizeof e->label, "%s", fake.parts[i].label);
        e->type = (uint8_t)fake.parts[i].type;
        e->subtype = (uint8_t)fake.parts[i].subtype;
        e->offset = fake.parts[i].address;
        e->size = fake.parts[i].size;
    }
    t.count = FAKE_NPART;
    ota32_diag d;
    uint8_t bin[OTA32_PT_BIN_LEN];
    if (ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d) != OTA32_OK)
        abort();
    memcpy(fake.flash + FAKE_TABLE_OFFSET, bin, sizeof bin);
}

int fake_install_app(int part, const char *version, uint32_t secure_version)
{
    const esp_partition_t *p = &fake.parts[part];
    ota32_image_build_opts o = {.version = version,
                                .project_name = "ota32-port",
                                .size = FAKE_APP_LEN,
                                .secure_version = secure_version,
                                .chip_id = OTA32_CHIP_ESP32,
                                .hash = ota32_posix_hash()};
    ota32_diag d;
    memset(fake.flash + p->address, 0xFF, FAKE_APP_LEN);
    return ota32_image_build(&o, fake.flash + p->address, FAKE_APP_LEN, &d);
}

void fake_boot(void)
{
    static vdev_boot b;
    ota32_diag d;
    ota32_diag_clear(&d);
    if (vdev_boot_select(fops(), FAKE_TABLE_OFFSET, true, false, &b, &d) != OTA32_OK || b.bricked) {
        fprintf(stderr, "fake bootloader: nothing boots: %s%s\n", d.msg, b.reason);
        abort();
    }
    fake.running = NULL;
    for (int i = 0; i < FAKE_NPART; i++)
        if (fake.parts[i].address == b.offset)
            fake.running = &fake.parts[i];
    fake.boots++;
}

const esp_partition_t *esp_ota_get_running_partition(void)
{
    return fake.running;
}

const esp_partition_t *esp_ota_get_next_update_partition(const esp_partition_t *start_from)
{
    (void)start_from;
    return fake.running == &fake.parts[FAKE_OTA0] ? &fake.parts[FAKE_OTA1] : &fake.parts[FAKE_OTA0];
}

esp_err_t esp_ota_get_state_partition(const esp_partition_t *p, esp_ota_img_states_t *st)
{
    if (!p || !st)
        return ESP_ERR_INVALID_ARG;
    int slot = ota_slot_of(p);
    if (slot < 0)
        return ESP_ERR_NOT_SUPPORTED;
    if (fake.state_error != ESP_OK)
        return fake.state_error;
    ota32_ota_entry e[2];
    if (ota32_otadata_read(fops(), otadata_at(), e) != OTA32_OK)
        return ESP_ERR_NOT_FOUND;
    /* The entry of this slot whose CRC is right, whatever its state. */
    for (int i = 0; i < 2; i++) {
        ota32_ota_entry probe = e[i];
        probe.state = OTA32_IMG_VALID;
        if (ota32_ota_entry_valid(&probe) && (int)ota32_otadata_slot(&e[i], FAKE_APP_COUNT) == slot) {
            *st = (esp_ota_img_states_t)e[i].state;
            return ESP_OK;
        }
    }
    return ESP_ERR_NOT_FOUND;
}

/* image_validate, and with anti-rollback the eFuse secure version: a lower
 * one gets the partition erased. */
static esp_err_t validate_for_boot(const esp_partition_t *p)
{
    ota32_image_info info;
    ota32_diag d;
    ota32_diag_clear(&d);
    if (vdev_verify_app(fops(), p->address, p->size, &info, &d) != OTA32_OK)
        return ESP_ERR_OTA_VALIDATE_FAILED;
    if (info.has_app_desc && info.app_desc.secure_version < fake.efuse_secure_version) {
        memset(fake.flash + p->address, 0xFF, p->size);
        return ESP_ERR_OTA_SMALL_SEC_VER;
    }
    return ESP_OK;
}

esp_err_t esp_ota_set_boot_partition(const esp_partition_t *p)
{
    fake.set_boot_calls++;
    if (fake.set_boot_error != ESP_OK)
        return fake.set_boot_error;
    int slot = ota_slot_of(p);
    if (slot < 0)
        return ESP_ERR_INVALID_ARG;
    esp_err_t e = validate_for_boot(p);
    if (e != ESP_OK)
        return e;
    if (ota32_otadata_set_boot(fops(), otadata_at(), (unsigned)slot, FAKE_APP_COUNT, true) !=
        OTA32_OK)
        return ESP_FAIL;
    fake.boot_set = p;
    return ESP_OK;
}

esp_err_t esp_ota_mark_app_valid_cancel_rollback(void)
{
    fake.marked_valid++;
    ota32_ota_entry e[2];
    if (ota32_otadata_read(fops(), otadata_at(), e) != OTA32_OK)
        return ESP_ERR_NOT_FOUND;
    int active = ota32_otadata_active(e);
    if (active < 0)
        return ESP_FAIL; /* "Running firmware is factory" */
    if (e[active].state == OTA32_IMG_VALID)
        return ESP_OK;
    return ota32_otadata_set_state(fops(), otadata_at(), OTA32_IMG_VALID) == OTA32_OK ? ESP_OK
                                                                                    : ESP_FAIL;
}

/* esp_ota_check_rollback_is_possible: the other entry is valid and its app
 * verifies. */
static bool rollback_possible(const ota32_ota_entry e[2], int active)
{
    const ota32_ota_entry *other = &e[active ^ 1];
    if (!ota32_ota_entry_valid(other))
        return false;
    unsigned slot = ota32_otadata_slot(other, FAKE_APP_COUNT);
    const esp_partition_t *p = &fake.parts[slot ? FAKE_OTA1 : FAKE_OTA0];
    ota32_diag d;
    return vdev_verify_app(fops(), p->address, p->size, NULL, &d) == OTA32_OK;
}

esp_err_t esp_ota_mark_app_invalid_rollback_and_reboot(void)
{
    fake.marked_invalid++;
    ota32_ota_entry e[2];
    if (ota32_otadata_read(fops(), otadata_at(), e) != OTA32_OK)
        return ESP_ERR_NOT_FOUND;
    int active = ota32_otadata_active(e);
    if (active < 0)
        return ESP_FAIL;
    if (!rollback_possible(e, active))
        return ESP_ERR_OTA_ROLLBACK_FAILED;
    if (ota32_otadata_set_state(fops(), otadata_at(), OTA32_IMG_INVALID) != OTA32_OK)
        return ESP_FAIL;
    esp_restart();
    return ESP_OK; /* only when esp_restart returns: never on a device */
}

const esp_app_desc_t *esp_app_get_description(void)
{
    static esp_app_desc_t d = {.version = "test", .project_name = "test"};
    return &d;
}

void esp_restart(void)
{
    fake.restarts++;
    if (fake.restart_armed) {
        fake.restart_armed = false;
        longjmp(fake.restart_jmp, 1);
    }
    fprintf(stderr, "esp_restart called\n");
    exit(3);
}

/* ---- NVS: handle = 1 + namespace index --------------------------------- */

static char namespaces[8][16];
static unsigned nns;

esp_err_t nvs_open(const char *ns, nvs_open_mode_t mode, nvs_handle_t *out)
{
    for (unsigned i = 0; i < nns; i++)
        if (!strcmp(namespaces[i], ns)) {
            *out = i + 1;
            return ESP_OK;
        }
    if (mode == NVS_READONLY)
        return ESP_ERR_NVS_NOT_FOUND;
    if (nns == 8 || strlen(ns) >= 16)
        return ESP_ERR_NVS_INVALID_NAME;
    snprintf(namespaces[nns], 16, "%s", ns);
    *out = ++nns;
    return ESP_OK;
}

static struct nvs_entry *find(nvs_handle_t h, const char *key)
{
    for (unsigned i = 0; i < nvs_count; i++)
        if (!strcmp(nvs[i].ns, namespaces[h - 1]) && !strcmp(nvs[i].key, key))
            return &nvs[i];
    return NULL;
}

static esp_err_t set(nvs_handle_t h, const char *key, const void *v, size_t len, bool is_str)
{
    if (len > (is_str ? NVS_STR_MAX : NVS_BLOB_MAX))
        return ESP_ERR_NVS_VALUE_TOO_LONG;
    struct nvs_entry *e = find(h, key);
    if (!e) {
        if (nvs_count == 16)
            return ESP_ERR_NVS_NOT_ENOUGH_SPACE;
        e = &nvs[nvs_count++];
        snprintf(e->ns, sizeof e->ns, "%s", namespaces[h - 1]);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    if (len > (is_str ? NVS_STR_MAX : NVS_BLOB_MAX))
        return ESP_ERR_NVS_VALUE_TOO_LONG;
    e->is_str = is_str;
    e->len = len;
    memcpy(e->val, v, len);
    return ESP_OK;
}

static esp_err_t get(nvs_handle_t h, const char *key, void *out, size_t *len, bool is_str)
{
    struct nvs_entry *e = find(h, key);
    if (!e)
        return ESP_ERR_NVS_NOT_FOUND;
    if (e->is_str != is_str)
        return ESP_ERR_NVS_TYPE_MISMATCH;
    if (!out) {
        *len = e->len;
        return ESP_OK;
    }
    if (*len < e->len)
        return ESP_ERR_NVS_INVALID_LENGTH;
    memcpy(out, e->val, e->len);
    *len = e->len;
    return ESP_OK;
}

esp_err_t nvs_get_str(nvs_handle_t h, const char *key, char *out, size_t *len)
{
    return get(h, key, out, len, true);
}

esp_err_t nvs_set_str(nvs_handle_t h, const char *key, const char *value)
{
    return set(h, key, value, strlen(value) + 1, true);
}

esp_err_t nvs_get_blob(nvs_handle_t h, const char *key, void *out, size_t *len)
{
    return get(h, key, out, len, false);
}

esp_err_t nvs_set_blob(nvs_handle_t h, const char *key, const void *value, size_t len)
{
    return set(h, key, value, len, false);
}

esp_err_t nvs_erase_key(nvs_handle_t h, const char *key)
{
    struct nvs_entry *e = find(h, key);
    if (!e)
        return ESP_ERR_NVS_NOT_FOUND;
    *e = nvs[--nvs_count];
    return ESP_OK;
}

esp_err_t nvs_commit(nvs_handle_t h)
{
    (void)h;
    fake.nvs_commits++;
    return ESP_OK;
}

void nvs_close(nvs_handle_t h)
{
    (void)h;
}

esp_err_t nvs_flash_init(void)
{
    return ESP_OK;
}

esp_err_t nvs_flash_erase(void)
{
    return ESP_OK;
}

/* ---- clock, tasks ------------------------------------------------------- */

int64_t esp_timer_get_time(void)
{
    return (int64_t)fake.now_us;
}

uint32_t esp_random(void)
{
    return 4; /* chosen by fair dice roll */
}

void vTaskDelay(const TickType_t ticks)
{
    if (fake.delays < 8)
        fake.delayed_ticks[fake.delays] = ticks;
    fake.delays++;
    fake.now_us += (uint64_t)ticks * 1000000u / configTICK_RATE_HZ;
}

BaseType_t xTaskCreate(TaskFunction_t fn, const char *const name,
                       const configSTACK_DEPTH_TYPE depth, void *const arg, UBaseType_t prio,
                       TaskHandle_t *const out)
{
    (void)fn, (void)name, (void)depth, (void)prio, (void)out;
    if (fake.task_refused)
        return pdFALSE;
    fake.tasks_created++;
    fake.task_arg = arg; /* the task itself is not run on the host */
    return pdPASS;
}

UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t t)
{
    (void)t;
    return fake.stack_unused;
}

void vTaskDelete(TaskHandle_t t)
{
    (void)t;
}

/* ---- hashes, by OpenSSL ------------------------------------------------- */

/* The OpenSSL handle lives in the context's bytes (copied: the stand-in
 * contexts promise no pointer alignment). */
_Static_assert(sizeof(mbedtls_md5_context) >= sizeof(EVP_MD_CTX *), "room for a handle");

static EVP_MD_CTX *get_md(const void *ctx)
{
    EVP_MD_CTX *m;
    memcpy(&m, ctx, sizeof m);
    return m;
}

static void put_md(void *ctx, EVP_MD_CTX *m)
{
    memcpy(ctx, &m, sizeof m);
}

static int md_start(void *ctx, const EVP_MD *type)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    put_md(ctx, m);
    return m && EVP_DigestInit_ex(m, type, NULL) == 1 ? 0 : -1;
}

static void md_clone(void *dst, const void *src)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (m && EVP_MD_CTX_copy_ex(m, get_md(src)) != 1) {
        EVP_MD_CTX_free(m);
        m = NULL;
    }
    put_md(dst, m);
}

static void md_free(void *ctx)
{
    EVP_MD_CTX_free(get_md(ctx));
    put_md(ctx, NULL);
}

void mbedtls_sha256_init(mbedtls_sha256_context *c)
{
    memset(c, 0, sizeof *c);
}

void mbedtls_sha256_free(mbedtls_sha256_context *c)
{
    md_free(c);
}

void mbedtls_sha256_clone(mbedtls_sha256_context *dst, const mbedtls_sha256_context *src)
{
    md_clone(dst, src);
}

int mbedtls_sha256_starts(mbedtls_sha256_context *c, int is224)
{
    return md_start(c, is224 ? EVP_sha224() : EVP_sha256());
}

int mbedtls_sha256_update(mbedtls_sha256_context *c, const unsigned char *in, size_t n)
{
    return EVP_DigestUpdate(get_md(c), in, n) == 1 ? 0 : -1;
}

int mbedtls_sha256_finish(mbedtls_sha256_context *c, unsigned char *out)
{
    return EVP_DigestFinal_ex(get_md(c), out, NULL) == 1 ? 0 : -1;
}

void mbedtls_md5_init(mbedtls_md5_context *c)
{
    memset(c, 0, sizeof *c);
}

void mbedtls_md5_free(mbedtls_md5_context *c)
{
    md_free(c);
}

void mbedtls_md5_clone(mbedtls_md5_context *dst, const mbedtls_md5_context *src)
{
    md_clone(dst, src);
}

int mbedtls_md5_starts(mbedtls_md5_context *c)
{
    return md_start(c, EVP_md5());
}

int mbedtls_md5_update(mbedtls_md5_context *c, const unsigned char *in, size_t n)
{
    return EVP_DigestUpdate(get_md(c), in, n) == 1 ? 0 : -1;
}

int mbedtls_md5_finish(mbedtls_md5_context *c, unsigned char out[16])
{
    return EVP_DigestFinal_ex(get_md(c), out, NULL) == 1 ? 0 : -1;
}

/* ---- esp-tls, scripted -------------------------------------------------- */

struct esp_tls {
    int sockfd;
};
struct esp_tls_last_error {
    int unused;
};
static struct esp_tls_last_error last_error;
static int ssl_context_marker;

esp_err_t esp_crt_bundle_attach(void *conf)
{
    (void)conf;
    return ESP_OK;
}

esp_tls_t *esp_tls_init(void)
{
    esp_tls_t *t = calloc(1, sizeof *t);
    if (t)
        t->sockfd = -1;
    return t;
}

int esp_tls_conn_new_sync(const char *host, int hostlen, int port, const esp_tls_cfg_t *cfg,
                          esp_tls_t *tls)
{
    fake.tls_cfg = *cfg;
    snprintf(fake.tls_host, sizeof fake.tls_host, "%.*s", hostlen, host);
    fake.tls_port = port;
    if (fake.connect_ret == 1)
        tls->sockfd = 42;
    return fake.connect_ret;
}

int esp_tls_conn_destroy(esp_tls_t *tls)
{
    fake.destroyed++;
    free(tls);
    return 0;
}

esp_err_t esp_tls_get_conn_sockfd(esp_tls_t *tls, int *fd)
{
    *fd = tls->sockfd;
    return ESP_OK;
}

void *esp_tls_get_ssl_context(esp_tls_t *tls)
{
    (void)tls;
    return &ssl_context_marker;
}

const char *mbedtls_ssl_get_alpn_protocol(const mbedtls_ssl_context *ssl)
{
    return ssl == (const void *)&ssl_context_marker ? fake.alpn : "wrong context";
}

esp_err_t esp_tls_get_error_handle(esp_tls_t *tls, esp_tls_error_handle_t *h)
{
    (void)tls;
    *h = &last_error;
    return ESP_OK;
}

esp_err_t esp_tls_get_and_clear_last_error(esp_tls_error_handle_t h, int *code, int *flags)
{
    (void)h;
    if (code)
        *code = -0x2700;
    if (flags)
        *flags = fake.connect_flags;
    return fake.connect_error;
}

static ssize_t scripted(void *buf, size_t len, bool writing)
{
    if (fake.io_pos >= fake.nio) {
        /* Script exhausted: block for the whole socket timeout. */
        fake.now_us += (uint64_t)(writing ? fake.sndtimeo_ms : fake.rcvtimeo_ms) * 1000u;
        return writing ? ESP_TLS_ERR_SSL_WANT_WRITE : ESP_TLS_ERR_SSL_WANT_READ;
    }
    const fake_io *io = &fake.io[fake.io_pos++];
    fake.now_us += (uint64_t)io->takes_ms * 1000u;
    errno = io->err_no;
    if (io->ret > 0 && io->data && buf)
        memcpy(buf, io->data, (size_t)io->ret < len ? (size_t)io->ret : len);
    return io->ret;
}

ssize_t esp_tls_conn_read(esp_tls_t *tls, void *data, size_t len)
{
    (void)tls;
    return scripted(data, len, false);
}

ssize_t esp_tls_conn_write(esp_tls_t *tls, const void *data, size_t len)
{
    (void)tls;
    (void)data;
    return scripted(NULL, len, true);
}

int setsockopt(int s, int level, int opt, const void *val, socklen_t len)
{
    (void)s;
    fake.setsockopts++;
    if (level == SOL_SOCKET && (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO) &&
        len == sizeof(struct timeval)) {
        const struct timeval *tv = val;
        int ms = (int)(tv->tv_sec * 1000 + tv->tv_usec / 1000);
        if (opt == SO_RCVTIMEO)
            fake.rcvtimeo_ms = ms;
        else
            fake.sndtimeo_ms = ms;
    }
    return 0;
}

/* ---- network bring-up, events, timers (for the example's app_main) ------ */

esp_event_base_t const WIFI_EVENT = "WIFI_EVENT";
esp_event_base_t const IP_EVENT = "IP_EVENT";

esp_err_t example_connect(void)
{
    return fake.example_connect_result;
}

esp_err_t esp_netif_init(void)
{
    return ESP_OK;
}

esp_err_t esp_event_loop_create_default(void)
{
    return ESP_OK;
}

esp_err_t esp_event_handler_register(esp_event_base_t base, int32_t id, esp_event_handler_t fn,
                                     void *arg)
{
    (void)arg;
    if (base == WIFI_EVENT && id == WIFI_EVENT_STA_DISCONNECTED)
        fake.on_wifi_lost = fn;
    else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP)
        fake.on_got_ip = fn;
    else
        return ESP_ERR_INVALID_ARG;
    return ESP_OK;
}

struct esp_timer {
    int unused;
};
static struct esp_timer the_timer;

esp_err_t esp_timer_create(const esp_timer_create_args_t *args, esp_timer_handle_t *out)
{
    fake.timer_cb = args->callback;
    fake.timer_arg = args->arg;
    *out = &the_timer;
    return ESP_OK;
}

esp_err_t esp_timer_start_once(esp_timer_handle_t t, uint64_t timeout_us)
{
    if (t != &the_timer || fake.timer_armed)
        return ESP_ERR_INVALID_STATE;
    fake.timer_armed = true;
    fake.timer_us = timeout_us;
    return ESP_OK;
}

esp_err_t esp_timer_stop(esp_timer_handle_t t)
{
    if (t != &the_timer || !fake.timer_armed)
        return ESP_ERR_INVALID_STATE;
    fake.timer_armed = false;
    return ESP_OK;
}

esp_err_t esp_wifi_connect(void)
{
    fake.wifi_connects++;
    return ESP_OK;
}
