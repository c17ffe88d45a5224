/* Encoding of the engine's NVS records (see svc_records.h). */
#include "svc_records.h"

#include <string.h>

#include "bytes.h"

#define MAGIC_PROGRESS 0x3150544Fu /* "OTP1" */
#define MAGIC_PENDING 0x3144504Fu  /* "OPD1" */
#define MAGIC_FAILED 0x3146544Fu   /* "OTF1" */

/* Every record starts with its magic (4 bytes, little-endian). */
#define R_MAGIC 0

/* OTA_PROGRESS: where a download stands. */
enum {
    PR_SLOT_INDEX = 4,
    PR_SLOT_OFFSET = 8, /* after 3 reserved bytes */
    PR_OFFSET = 12,
    PR_TOTAL = 16,
    PR_IDENT = 20,
    PR_DIGEST = 52,
    PR_VALIDATOR = 84, /* length byte, then SVC_VALIDATOR_MAX bytes */
    PR_END = PR_VALIDATOR + 1 + SVC_VALIDATOR_MAX,
};
_Static_assert(PR_DIGEST - PR_IDENT == 32 && PR_VALIDATOR - PR_DIGEST == 32, "SHA-256 fields");
_Static_assert(PR_END == SVC_PROGRESS_LEN && SVC_PROGRESS_LEN == 212, "progress record layout");

/* OTA_PENDING: the version switched to and not yet confirmed. */
enum {
    PE_SLOT_INDEX = 4,
    PE_ARMED = 5,
    PE_SLOT_OFFSET = 8, /* after 2 reserved bytes */
    PE_VERSION = 12,    /* length byte, then OTA32_CONFIG_VERSION_MAX bytes */
    PE_END = PE_VERSION + 1 + OTA32_CONFIG_VERSION_MAX,
};
_Static_assert(PE_END == SVC_PENDING_LEN && SVC_PENDING_LEN == 141, "pending record layout");

/* OTA_FAILED: the version that was rolled back, and how often. */
enum {
    FA_COUNT = 4,
    FA_VERSION = 8, /* length byte, then OTA32_CONFIG_VERSION_MAX bytes */
    FA_END = FA_VERSION + 1 + OTA32_CONFIG_VERSION_MAX,
};
_Static_assert(FA_END == SVC_FAILED_LEN && SVC_FAILED_LEN == 137, "failed record layout");

static int load(const ota32_kv_ops *kv, const char *key, uint8_t *buf, size_t want)
{
    size_t len = 0;
    int rc = kv->get_blob(kv->ctx, OTA32_NVS_NAMESPACE, key, buf, want, &len);
    if (rc != OTA32_OK)
        return rc == OTA32_ERR_NOT_FOUND ? rc : OTA32_ERR_CORRUPT;
    return len == want ? OTA32_OK : OTA32_ERR_CORRUPT;
}

/* A length-prefixed string field of `cap` bytes. */
static void put_str(uint8_t *p, const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n > cap)
        n = cap;
    p[0] = (uint8_t)n;
    memset(p + 1, 0, cap);
    memcpy(p + 1, s, n);
}

static int get_str(const uint8_t *p, char *s, size_t cap)
{
    size_t n = p[0];
    if (n > cap)
        return OTA32_ERR_CORRUPT;
    memcpy(s, p + 1, n);
    s[n] = '\0';
    return memchr(s, '\0', n) ? OTA32_ERR_CORRUPT : OTA32_OK;
}

int svc_progress_load(const ota32_kv_ops *kv, svc_progress *p)
{
    uint8_t b[SVC_PROGRESS_LEN];
    int rc = load(kv, OTA32_NVS_KEY_PROGRESS, b, sizeof b);
    if (rc != OTA32_OK)
        return rc;
    if (ota32_le32(b + R_MAGIC) != MAGIC_PROGRESS)
        return OTA32_ERR_CORRUPT;
    p->slot_index = b[PR_SLOT_INDEX];
    p->slot_offset = ota32_le32(b + PR_SLOT_OFFSET);
    p->offset = ota32_le32(b + PR_OFFSET);
    p->total = ota32_le32(b + PR_TOTAL);
    memcpy(p->ident, b + PR_IDENT, sizeof p->ident);
    memcpy(p->digest, b + PR_DIGEST, sizeof p->digest);
    return get_str(b + PR_VALIDATOR, p->validator, SVC_VALIDATOR_MAX);
}

int svc_progress_store(const ota32_kv_ops *kv, const svc_progress *p)
{
    uint8_t b[SVC_PROGRESS_LEN] = {0};
    ota32_put_le32(b + R_MAGIC, MAGIC_PROGRESS);
    b[PR_SLOT_INDEX] = p->slot_index;
    ota32_put_le32(b + PR_SLOT_OFFSET, p->slot_offset);
    ota32_put_le32(b + PR_OFFSET, p->offset);
    ota32_put_le32(b + PR_TOTAL, p->total);
    memcpy(b + PR_IDENT, p->ident, sizeof p->ident);
    memcpy(b + PR_DIGEST, p->digest, sizeof p->digest);
    put_str(b + PR_VALIDATOR, p->validator, SVC_VALIDATOR_MAX);
    return kv->set_blob(kv->ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_PROGRESS, b, sizeof b);
}

int svc_pending_load(const ota32_kv_ops *kv, svc_pending *p)
{
    uint8_t b[SVC_PENDING_LEN];
    int rc = load(kv, OTA32_NVS_KEY_PENDING, b, sizeof b);
    if (rc != OTA32_OK)
        return rc;
    if (ota32_le32(b + R_MAGIC) != MAGIC_PENDING || b[PE_ARMED] > 1)
        return OTA32_ERR_CORRUPT;
    p->slot_index = b[PE_SLOT_INDEX];
    p->armed = b[PE_ARMED] == 1;
    p->slot_offset = ota32_le32(b + PE_SLOT_OFFSET);
    return get_str(b + PE_VERSION, p->version, OTA32_CONFIG_VERSION_MAX);
}

int svc_pending_store(const ota32_kv_ops *kv, const svc_pending *p)
{
    uint8_t b[SVC_PENDING_LEN] = {0};
    ota32_put_le32(b + R_MAGIC, MAGIC_PENDING);
    b[PE_SLOT_INDEX] = p->slot_index;
    b[PE_ARMED] = p->armed ? 1 : 0;
    ota32_put_le32(b + PE_SLOT_OFFSET, p->slot_offset);
    put_str(b + PE_VERSION, p->version, OTA32_CONFIG_VERSION_MAX);
    return kv->set_blob(kv->ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_PENDING, b, sizeof b);
}

int svc_failed_load(const ota32_kv_ops *kv, svc_failed *f)
{
    uint8_t b[SVC_FAILED_LEN];
    int rc = load(kv, OTA32_NVS_KEY_FAILED, b, sizeof b);
    if (rc != OTA32_OK)
        return rc;
    if (ota32_le32(b + R_MAGIC) != MAGIC_FAILED)
        return OTA32_ERR_CORRUPT;
    f->count = ota32_le32(b + FA_COUNT);
    return get_str(b + FA_VERSION, f->version, OTA32_CONFIG_VERSION_MAX);
}

int svc_failed_store(const ota32_kv_ops *kv, const svc_failed *f)
{
    uint8_t b[SVC_FAILED_LEN] = {0};
    ota32_put_le32(b + R_MAGIC, MAGIC_FAILED);
    ota32_put_le32(b + FA_COUNT, f->count);
    put_str(b + FA_VERSION, f->version, OTA32_CONFIG_VERSION_MAX);
    return kv->set_blob(kv->ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_FAILED, b, sizeof b);
}

int svc_kv_erase(const ota32_kv_ops *kv, const char *key)
{
    int rc = kv->erase_key(kv->ctx, OTA32_NVS_NAMESPACE, key);
    return rc == OTA32_ERR_NOT_FOUND ? OTA32_OK : rc;
}
