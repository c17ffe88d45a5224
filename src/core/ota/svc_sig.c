/* The signature and anti-rollback steps of a download (svc_sig.h). The core
 * decides; the platform holds the keys, the counter and the arithmetic. */
#include "svc_sig.h"

#include <inttypes.h>
#include <string.h>

#include "svc_internal.h"

static bool is_https(const char *url)
{
    static const char want[] = "https://";
    for (size_t i = 0; i < sizeof want - 1; i++)
        if (url[i] != want[i] && url[i] != want[i] - ('a' - 'A'))
            return false;
    return true;
}

int svc_sig_start(ota32_service *s, const ota32_ota_config *cfg, ota32_diag *diag)
{
    const ota32_secure_ops *sec = &s->plat->secure;
    memset(&s->sig, 0, sizeof s->sig);
    if (s->o.require_https && !is_https(cfg->url))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "the OTA url is not https:// and this device requires https "
                               "(require_https): %s",
                               s->url_log);
    if (!sec->trusted_keys)
        return OTA32_OK;
    int rc = sec->trusted_keys(sec->ctx, &s->sig.keys);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "reading the trusted key digests: %s",
                               ota32_strerror(rc));
    if (s->sig.keys.count > OTA32_TRUSTED_KEYS_MAX)
        s->sig.keys.count = OTA32_TRUSTED_KEYS_MAX;
    s->sig.required = s->sig.keys.count > 0;
    return OTA32_OK;
}

/* Stream offset of the signature sector: the image end rounded up to 4 KB,
 * known once the parser has seen the whole image (0 before). */
static uint32_t sector_at(const ota32_service *s)
{
    if (ota32_image_parser_stage(&s->parser) != OTA32_IMAGE_STAGE_DONE)
        return 0;
    uint32_t end = s->parser.info.image_len;
    return (end + OTA32_SIG_SECTOR_ALIGN - 1) & ~(OTA32_SIG_SECTOR_ALIGN - 1);
}

static int note_digest(ota32_service *s)
{
    const ota32_hash_ops *h = &s->plat->hash;
    void *c = h->clone(h->ctx, s->stream_hash);
    if (!c)
        return OTA32_ERR_NO_MEM;
    int rc = h->finish(h->ctx, c, s->sig.digest);
    s->sig.have_digest = rc == OTA32_OK;
    return rc;
}

int svc_stream_update(ota32_service *s, uint32_t pos, const uint8_t *data, size_t len)
{
    const ota32_hash_ops *h = &s->plat->hash;
    if (pos == 0)
        s->sig.have_digest = false;
    uint32_t at = s->sig.have_digest ? 0 : sector_at(s);
    if (at == 0 || at < pos || (uint64_t)at > (uint64_t)pos + len)
        return h->update(h->ctx, s->stream_hash, data, len);
    size_t head = at - pos;
    int rc = h->update(h->ctx, s->stream_hash, data, head);
    if (rc == OTA32_OK)
        rc = note_digest(s);
    if (rc == OTA32_OK && head < len)
        rc = h->update(h->ctx, s->stream_hash, data + head, len - head);
    return rc;
}

int svc_sig_prefix(ota32_service *s, ota32_diag *diag)
{
    const ota32_app_desc *a = &s->parser.info.app_desc;
    const ota32_secure_ops *sec = &s->plat->secure;
    if (sec->min_secure_version) {
        uint32_t min = 0;
        int rc = sec->min_secure_version(sec->ctx, &min);
        if (rc != OTA32_OK)
            return ota32_diag_fail(diag, rc, 0, -1, "reading the secure version: %s",
                                   ota32_strerror(rc));
        if (a->secure_version < min)
            return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, 0x24,
                                   "image rejected (anti-rollback): its secure_version %" PRIu32
                                   " is below the device's %" PRIu32 " (eFuse)",
                                   a->secure_version, min);
    }
    if (s->o.require_same_project && s->plat->boot.running_app) {
        ota32_app_desc run;
        int rc = s->plat->boot.running_app(s->plat->boot.ctx, &run);
        if (rc != OTA32_OK)
            return ota32_diag_fail(diag, rc, 0, -1, "reading the running app's descriptor: %s",
                                   ota32_strerror(rc));
        if (strcmp(run.project_name, a->project_name) != 0)
            return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, 0x50,
                                   "image rejected: its project_name \"%s\" is not the running "
                                   "app's \"%s\"",
                                   a->project_name, run.project_name);
    }
    return OTA32_OK;
}

/* The sector, as it is in flash, into s->buf (free after the read-back). */
static int read_sector(ota32_service *s, uint32_t at, ota32_sig_sector *sec, ota32_diag *diag)
{
    int rc = s->plat->flash.read(s->plat->flash.ctx, s->target.offset + at, s->buf,
                                 OTA32_SIG_SECTOR_LEN);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, (long)at, "reading the signature sector: %s",
                               ota32_strerror(rc));
    ota32_diag d;
    ota32_diag_clear(&d);
    rc = ota32_sig_sector_parse(s->buf, OTA32_SIG_SECTOR_LEN, sec, &d);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, (long)at + d.offset,
                               "image rejected: malformed signature sector at 0x%" PRIx32 ": %s",
                               at, d.msg);
    return OTA32_OK;
}

static int check_sector(ota32_service *s, ota32_diag *diag);

int svc_sig_verify(ota32_service *s, ota32_diag *diag)
{
    int rc = check_sector(s, diag);
    if (rc == OTA32_ERR_VERIFY) /* rejected: no resuming into it either */
        svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_PROGRESS);
    return rc;
}

static int check_sector(ota32_service *s, ota32_diag *diag)
{
    const ota32_image_info *in = &s->parser.info;
    if (!s->sig.required)
        return OTA32_OK;
    if (!in->sig_present)
        return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, -1,
                               "image rejected: it is not signed (no Secure Boot v2 signature "
                               "sector after its %" PRIu32 " bytes) and this device takes only "
                               "signed images",
                               in->image_len);
    if (s->offset != in->sig_offset + OTA32_SIG_SECTOR_LEN || !s->sig.have_digest)
        return ota32_diag_fail(diag, OTA32_ERR_VERIFY, 0, (long)in->sig_offset,
                               "image rejected: the signature sector at 0x%" PRIx32 " has %" PRIu32
                               " bytes, not %u",
                               in->sig_offset, s->offset - in->sig_offset, OTA32_SIG_SECTOR_LEN);
    ota32_sig_sector sec;
    int rc = read_sector(s, in->sig_offset, &sec, diag);
    if (rc != OTA32_OK)
        return rc;
    ota32_sig_result res;
    ota32_diag d;
    ota32_diag_clear(&d);
    rc = ota32_sig_check(&sec, s->sig.digest, NULL, &s->plat->hash, &s->plat->secure, &s->sig.keys,
                         &res, &d);
    if (rc == OTA32_ERR_VERIFY)
        return ota32_diag_fail(diag, rc, 0, -1, "image rejected: %s", d.msg);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "checking the signature: %s", ota32_strerror(rc));
    const uint8_t *k = res.key_digest[res.block];
    svc_log(s, OTA32_LOG_INFO,
            "ota: signature block %d (%s) verified with trusted key %d "
            "(digest %02x%02x%02x%02x%02x%02x%02x%02x...)",
            res.block, ota32_sig_scheme_name(sec.blocks[res.block].scheme), res.key_slot, k[0],
            k[1], k[2], k[3], k[4], k[5], k[6], k[7]);
    return OTA32_OK;
}
