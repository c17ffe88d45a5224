/* Encoding of the engine's NVS records (see svc_records.h). */
#include "svc_records.h"

#include <string.h>

#include "bytes.h"

#define MAGIC_PROGRESS 0x3150544Fu /* "OTP1" */
#define MAGIC_PENDING 0x3144504Fu  /* "OPD1" */
#define MAGIC_FAILED 0x3146544Fu   /* "OTF1" */

_Static_assert(SVC_PROGRESS_LEN == 212, "progress record layout");
_Static_assert(SVC_PENDING_LEN == 141, "pending record layout");
_Static_assert(SVC_FAILED_LEN == 137, "failed record layout");

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
    if (ota32_le32(b) != MAGIC_PROGRESS)
        return OTA32_ERR_CORRUPT;
    p->slot_index = b[4];
    p->slot_offset = ota32_le32(b + 8);
    p->offset = ota32_le32(b + 12);
    p->total = ota32_le32(b + 16);
    memcpy(p->ident, b + 20, 32);
    memcpy(p->digest, b + 52, 32);
    return get_str(b + 84, p->validator, SVC_VALIDATOR_MAX);
}

int svc_progress_store(const ota32_kv_ops *kv, const svc_progress *p)
{
    uint8_t b[SVC_PROGRESS_LEN] = {0};
    ota32_put_le32(b, MAGIC_PROGRESS);
    b[4] = p->slot_index;
    ota32_put_le32(b + 8, p->slot_offset);
    ota32_put_le32(b + 12, p->offset);
    ota32_put_le32(b + 16, p->total);
    memcpy(b + 20, p->ident, 32);
    memcpy(b + 52, p->digest, 32);
    put_str(b + 84, p->validator, SVC_VALIDATOR_MAX);
    return kv->set_blob(kv->ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_PROGRESS, b, sizeof b);
}

int svc_pending_load(const ota32_kv_ops *kv, svc_pending *p)
{
    uint8_t b[SVC_PENDING_LEN];
    int rc = load(kv, OTA32_NVS_KEY_PENDING, b, sizeof b);
    if (rc != OTA32_OK)
        return rc;
    if (ota32_le32(b) != MAGIC_PENDING || b[5] > 1)
        return OTA32_ERR_CORRUPT;
    p->slot_index = b[4];
    p->armed = b[5] == 1;
    p->slot_offset = ota32_le32(b + 8);
    return get_str(b + 12, p->version, OTA32_CONFIG_VERSION_MAX);
}

int svc_pending_store(const ota32_kv_ops *kv, const svc_pending *p)
{
    uint8_t b[SVC_PENDING_LEN] = {0};
    ota32_put_le32(b, MAGIC_PENDING);
    b[4] = p->slot_index;
    b[5] = p->armed ? 1 : 0;
    ota32_put_le32(b + 8, p->slot_offset);
    put_str(b + 12, p->version, OTA32_CONFIG_VERSION_MAX);
    return kv->set_blob(kv->ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_PENDING, b, sizeof b);
}

int svc_failed_load(const ota32_kv_ops *kv, svc_failed *f)
{
    uint8_t b[SVC_FAILED_LEN];
    int rc = load(kv, OTA32_NVS_KEY_FAILED, b, sizeof b);
    if (rc != OTA32_OK)
        return rc;
    if (ota32_le32(b) != MAGIC_FAILED)
        return OTA32_ERR_CORRUPT;
    f->count = ota32_le32(b + 4);
    return get_str(b + 8, f->version, OTA32_CONFIG_VERSION_MAX);
}

int svc_failed_store(const ota32_kv_ops *kv, const svc_failed *f)
{
    uint8_t b[SVC_FAILED_LEN] = {0};
    ota32_put_le32(b, MAGIC_FAILED);
    ota32_put_le32(b + 4, f->count);
    put_str(b + 8, f->version, OTA32_CONFIG_VERSION_MAX);
    return kv->set_blob(kv->ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_FAILED, b, sizeof b);
}

int svc_kv_erase(const ota32_kv_ops *kv, const char *key)
{
    int rc = kv->erase_key(kv->ctx, OTA32_NVS_NAMESPACE, key);
    return rc == OTA32_ERR_NOT_FOUND ? OTA32_OK : rc;
}
