/*
 * The engine's life cycle and decisions: what a boot means (probation,
 * rollback, an interrupted confirmation), when to update, and when to wait.
 */
#include "svc_backoff.h"
#include "svc_internal.h"

#include "ota32/otadata.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* 64 KB: four times fewer WINDOW_UPDATE round trips than 16 KB for the same
 * peak heap (the body is never buffered here: what the window lets in sits
 * in the transport, see bench/bench_ota_heap.sh). */
#define DEFAULT_WINDOW (64u * 1024u)
#define MAX_WINDOW (64u * 1024u)
#define DAY_MS (24ull * 60 * 60 * 1000)

void svc_log(ota32_service *s, ota32_log_level lvl, const char *fmt, ...)
{
    if (!s->plat->log.log)
        return;
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->plat->log.log(s->plat->log.ctx, lvl, line);
}

int svc_ident(ota32_service *s, const ota32_ota_config *cfg, uint8_t out[OTA32_SHA256_LEN])
{
    const ota32_hash_ops *h = &s->plat->hash;
    void *c = h->start(h->ctx, OTA32_HASH_SHA256);
    if (!c)
        return OTA32_ERR_NO_MEM;
    int rc = h->update(h->ctx, c, cfg->url, strlen(cfg->url));
    if (rc == OTA32_OK)
        rc = h->update(h->ctx, c, "\n", 1);
    if (rc == OTA32_OK)
        rc = h->update(h->ctx, c, cfg->version, strlen(cfg->version));
    int frc = h->finish(h->ctx, c, rc == OTA32_OK ? out : NULL);
    return rc != OTA32_OK ? rc : frc;
}

/* ota32_http_get as a download hook (it needs no context). */
static int http_get_hook(void *ctx, const ota32_platform *plat, const ota32_http_request *req,
                         const ota32_http_opts *opts, const ota32_http_callbacks *cb,
                         ota32_http_response *resp, ota32_diag *diag)
{
    (void)ctx;
    return ota32_http_get(plat, req, opts, cb, resp, diag);
}

static bool platform_complete(const ota32_platform *p)
{
    return p->flash.read && p->flash.program && p->flash.erase_sector && p->flash.erase_block &&
           p->kv.get_str && p->kv.set_str && p->kv.get_blob && p->kv.set_blob && p->kv.erase_key &&
           p->boot.running_slot && p->boot.update_slot && p->boot.set_boot && p->boot.mark_valid &&
           p->boot.reboot && p->clock.now_ms && p->clock.sleep_ms && p->clock.random &&
           p->hash.start && p->hash.update && p->hash.finish && p->hash.clone && p->alloc.malloc &&
           p->alloc.free;
}

int ota32_service_new(const ota32_platform *plat, const ota32_service_opts *opts,
                      ota32_service **out)
{
    if (!plat || !out || !platform_complete(plat))
        return OTA32_ERR_INVALID_ARG;
    ota32_service *s = plat->alloc.malloc(plat->alloc.ctx, sizeof *s);
    if (!s)
        return OTA32_ERR_NO_MEM;
    memset(s, 0, sizeof *s);
    s->plat = plat;
    if (opts)
        s->o = *opts;
    ota32_service_opts *o = &s->o;
    if (!o->window)
        o->window = DEFAULT_WINDOW;
    if (o->window > MAX_WINDOW)
        o->window = MAX_WINDOW;
    if (!o->retry_base_ms)
        o->retry_base_ms = 1000;
    if (!o->retry_max_ms)
        o->retry_max_ms = 5 * 60 * 1000;
    if (o->retry_max_ms < o->retry_base_ms)
        o->retry_max_ms = o->retry_base_ms;
    if (!o->max_retries)
        o->max_retries = 6;
    if (!o->failed_backoff_ms)
        o->failed_backoff_ms = DAY_MS;
    if (!o->progress_interval)
        o->progress_interval = 256u * 1024u;
    if (o->progress_interval < SVC_WRITE_BUF)
        o->progress_interval = SVC_WRITE_BUF;
    if (!o->min_rate)
        o->min_rate = 1024;
    if (!o->rate_window_ms)
        o->rate_window_ms = 60u * 1000u;
    if (!o->request_timeout_ms)
        o->request_timeout_ms = 10u * 60u * 1000u;
    if (!o->attempt_timeout_ms)
        o->attempt_timeout_ms = 30u * 60u * 1000u;
    if (!o->fault_backoff_ms)
        o->fault_backoff_ms = 60u * 60u * 1000u;
    if (!o->get)
        o->get = http_get_hook;
    svc_poll_defaults(o);
    s->st.old_slot = s->st.new_slot = -1;
    s->st.image_len = -1;
    *out = s;
    return OTA32_OK;
}

void ota32_service_free(ota32_service *s)
{
    if (!s)
        return;
    s->plat->alloc.free(s->plat->alloc.ctx, s);
}

static int get_version(ota32_service *s, char *buf, size_t cap)
{
    int rc =
        s->plat->kv.get_str(s->plat->kv.ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION, buf, cap);
    if (rc == OTA32_ERR_NOT_FOUND) {
        buf[0] = '\0';
        return OTA32_OK;
    }
    return rc;
}

/* Rollback back-off: failed_backoff_ms, doubled per repeated failure of the
 * same version up to 8x, counted from this boot (the clock is monotonic per
 * boot, so a reset never shortens the wait). */
static void arm_failed_backoff(ota32_service *s)
{
    unsigned shift = s->failed.count > 1 ? s->failed.count - 1 : 0;
    if (shift > 3)
        shift = 3;
    s->failed_until_ms =
        s->plat->clock.now_ms(s->plat->clock.ctx) + (s->o.failed_backoff_ms << shift);
}

static const char *state_name(uint32_t st)
{
    const char *n = ota32_img_state_name(st);
    return n ? n : "?";
}

/* The pending version is running and was marked valid, but a reset came
 * before the version was recorded: record it now. */
static int finish_confirm(ota32_service *s, const svc_pending *p)
{
    int rc = s->plat->kv.set_str(s->plat->kv.ctx, OTA32_NVS_NAMESPACE, OTA32_NVS_KEY_VERSION,
                                 p->version);
    if (rc == OTA32_OK && s->have_failed && !strcmp(s->failed.version, p->version)) {
        rc = svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_FAILED);
        s->have_failed = false;
    }
    if (rc == OTA32_OK)
        rc = svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_PENDING);
    return rc;
}

/* An armed pending record for another slot than the running one: either
 * the new firmware failed (the bootloader marked its entry ABORTED, or it
 * marked itself INVALID), or the switch never took hold: no intact otadata
 * entry selects the slot, because a power cut tore a rewrite of it (the
 * bootloader's NEW -> PENDING_VERIFY, or the confirmation's) and the
 * bootloader fell back to the other copy, as ESP-IDF's does. The image is
 * still in the slot and its progress record complete: the next check
 * re-verifies it from flash and switches again, at once. (A reset with the
 * entry intact in PENDING_VERIFY, even one just before the confirmation
 * erased it, is a rollback: ESP-IDF's bootloader cannot tell it from a
 * crash either, and marks the entry ABORTED.) */
static bool switch_lost(ota32_service *s, const svc_pending *p)
{
    const ota32_boot_ops *b = &s->plat->boot;
    if (!b->slot_state)
        return false; /* cannot tell: a rollback */
    ota32_slot slot;
    memset(&slot, 0, sizeof slot);
    slot.index = p->slot_index;
    slot.offset = p->slot_offset;
    uint32_t st = OTA32_IMG_UNDEFINED;
    int rc = b->slot_state(b->ctx, &slot, &st);
    if (rc != OTA32_OK && rc != OTA32_ERR_NOT_FOUND)
        return false;
    if (rc == OTA32_OK && (st == OTA32_IMG_ABORTED || st == OTA32_IMG_INVALID))
        return false;
    svc_log(s, OTA32_LOG_WARN,
            "ota: the switch to ota_%u for \"%s\" did not take (otadata entry %s, a torn "
            "write): not a failed firmware; switching again from the image in flash",
            (unsigned)p->slot_index, p->version, rc == OTA32_OK ? state_name(st) : "torn");
    return true;
}

/* The version that was rolled back, if recorded; an unreadable record goes. */
static int load_failed(ota32_service *s)
{
    svc_failed f;
    int rc = svc_failed_load(&s->plat->kv, &f);
    if (rc == OTA32_OK) {
        s->failed = f;
        s->have_failed = true;
    } else if (rc == OTA32_ERR_CORRUPT) {
        svc_log(s, OTA32_LOG_WARN, "ota: unreadable failed-version record dropped");
        return svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_FAILED);
    }
    return OTA32_OK;
}

/* We switched to the pending slot, yet the old one runs: the new firmware
 * never confirmed and the bootloader rolled back. */
static int record_rollback(ota32_service *s, const svc_pending *p)
{
    svc_failed nf;
    memset(&nf, 0, sizeof nf);
    nf.count = s->have_failed && !strcmp(s->failed.version, p->version) ? s->failed.count + 1 : 1;
    memcpy(nf.version, p->version, sizeof nf.version);
    int rc = svc_failed_store(&s->plat->kv, &nf);
    if (rc == OTA32_OK)
        rc = svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_PENDING);
    if (rc != OTA32_OK)
        return rc;
    s->failed = nf;
    s->have_failed = true;
    return OTA32_OK;
}

/* What the pending record says about this boot: confirmed, on probation,
 * rolled back, or an update interrupted before the switch. */
static int check_pending(ota32_service *s, ota32_boot_status *st)
{
    svc_pending p;
    int rc = svc_pending_load(&s->plat->kv, &p);
    if (rc == OTA32_ERR_CORRUPT) {
        svc_log(s, OTA32_LOG_WARN, "ota: unreadable pending record dropped");
        return svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_PENDING);
    }
    if (rc == OTA32_ERR_NOT_FOUND)
        return OTA32_OK;
    if (rc != OTA32_OK)
        return rc;
    if (p.slot_index == s->running.index && p.slot_offset == s->running.offset) {
        if (s->running_state == OTA32_IMG_VALID) {
            rc = finish_confirm(s, &p);
            if (rc != OTA32_OK)
                return rc;
            *st = OTA32_BOOT_CONFIRMED;
            svc_log(s, OTA32_LOG_INFO, "ota: %s version \"%s\" confirmed (finished after a reset)",
                    s->running.label, p.version);
        } else {
            s->probation = true;
            s->pending = p;
            *st = OTA32_BOOT_PROBATION;
            svc_log(s, OTA32_LOG_INFO,
                    "ota: running %s version \"%s\" on probation (state %s): "
                    "confirm once healthy",
                    s->running.label, p.version, state_name(s->running_state));
        }
        return OTA32_OK;
    }
    if (p.armed && switch_lost(s, &p))
        return svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_PENDING);
    if (p.armed) {
        rc = record_rollback(s, &p);
        if (rc == OTA32_OK)
            *st = OTA32_BOOT_ROLLED_BACK;
        return rc;
    }
    /* Reset between recording the pending version and the switch. */
    svc_log(s, OTA32_LOG_INFO, "ota: update to \"%s\" was interrupted before the switch",
            p.version);
    return svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_PENDING);
}

int ota32_service_boot(ota32_service *s, ota32_boot_status *status)
{
    if (!s)
        return OTA32_ERR_INVALID_ARG;
    const ota32_platform *plat = s->plat;
    ota32_boot_status st = OTA32_BOOT_NORMAL;
    s->probation = false;
    s->have_failed = false;
    int rc = plat->boot.running_slot(plat->boot.ctx, &s->running, &s->running_state);
    if (rc != OTA32_OK)
        return rc;
    s->booted = true;
    rc = load_failed(s);
    if (rc == OTA32_OK)
        rc = check_pending(s, &st);
    if (rc != OTA32_OK)
        return rc;
    if (s->have_failed) {
        arm_failed_backoff(s);
        uint64_t now = plat->clock.now_ms(plat->clock.ctx);
        if (st == OTA32_BOOT_ROLLED_BACK)
            svc_log(s, OTA32_LOG_WARN,
                    "ota: version \"%s\" never confirmed: rolled back to %s "
                    "(failure %" PRIu32 "); not retrying it for %llu s unless the config changes",
                    s->failed.version, s->running.label, s->failed.count,
                    (unsigned long long)((s->failed_until_ms - now) / 1000));
    }
    if (!s->probation && s->running_state == OTA32_IMG_PENDING_VERIFY) {
        /* Switched to by something else (a tool): still needs confirming. */
        s->probation = true;
        memset(&s->pending, 0, sizeof s->pending);
        s->pending.slot_index = SVC_SLOT_NONE;
        st = OTA32_BOOT_PROBATION;
        svc_log(s, OTA32_LOG_INFO, "ota: running %s unconfirmed (no pending version)",
                s->running.label);
    }
    s->boot_status = st;
    if (status)
        *status = st;
    return OTA32_OK;
}

int ota32_service_confirm(ota32_service *s)
{
    if (!s)
        return OTA32_ERR_INVALID_ARG;
    if (!s->booted || !s->probation)
        return OTA32_ERR_STATE;
    int rc = s->plat->boot.mark_valid(s->plat->boot.ctx);
    if (rc != OTA32_OK) {
        svc_log(s, OTA32_LOG_ERROR, "ota: marking %s valid failed: %s", s->running.label,
                ota32_strerror(rc));
        return rc;
    }
    s->running_state = OTA32_IMG_VALID;
    if (s->pending.slot_index != SVC_SLOT_NONE) {
        rc = finish_confirm(s, &s->pending);
        if (rc != OTA32_OK)
            return rc;
    }
    s->probation = false;
    svc_log(s, OTA32_LOG_INFO, "ota: %s confirmed: version \"%s\" is VALID", s->running.label,
            s->pending.version);
    return OTA32_OK;
}

static int deferred(ota32_service *s, ota32_apply_result *result, uint64_t until, uint64_t now,
                    const char *why)
{
    if (!s->deferred_logged)
        svc_log(s, OTA32_LOG_INFO, "ota: %s: next attempt in %llu s", why,
                (unsigned long long)((until - now + 999) / 1000));
    s->deferred_logged = true;
    *result = OTA32_APPLY_DEFERRED;
    return OTA32_OK;
}

/* How long apply waits after a failed attempt: none when it was stopped for
 * a config change, long when the server made it fail, short and growing
 * for the network, longest for a rejected image or a 4xx. */
static uint64_t failure_wait(ota32_service *s, int rc)
{
    if (rc == OTA32_ERR_ABORTED)
        return 0;
    if (s->server_fault)
        return s->o.fault_backoff_ms;
    if (!svc_error_transient(rc, s->last_status))
        return s->o.failed_backoff_ms;
    uint64_t wait = svc_backoff_delay(s->o.retry_base_ms, s->o.retry_max_ms,
                                      SVC_APPLY_BACKOFF_FROM + s->fail_streak,
                                      s->plat->clock.random(s->plat->clock.ctx));
    s->fail_streak++;
    return wait;
}

int ota32_service_apply_config(ota32_service *s, const ota32_ota_config *cfg,
                               ota32_apply_result *result, ota32_diag *diag)
{
    ota32_apply_result dummy;
    if (!result)
        result = &dummy;
    if (!s || !cfg)
        return OTA32_ERR_INVALID_ARG;
    if (!s->booted) {
        int rc = ota32_service_boot(s, NULL);
        if (rc != OTA32_OK)
            return ota32_diag_fail(diag, rc, 0, -1, "reading the boot state: %s",
                                   ota32_strerror(rc));
    }
    if (s->probation) {
        *result = OTA32_APPLY_PROBATION;
        return OTA32_OK;
    }
    char stored[OTA32_CONFIG_VERSION_MAX + 2];
    int rc = get_version(s, stored, sizeof stored);
    if (rc != OTA32_OK) {
        svc_log(s, OTA32_LOG_WARN, "ota: stored version unreadable (%s): treated as \"\"",
                ota32_strerror(rc));
        stored[0] = '\0';
    }
    if (!strcmp(stored, cfg->version)) {
        if (s->next_attempt_ms || s->have_ident)
            svc_log(s, OTA32_LOG_INFO, "ota: version \"%s\" installed: up to date", stored);
        s->next_attempt_ms = 0;
        s->fail_streak = 0;
        s->have_ident = false;
        *result = OTA32_APPLY_UP_TO_DATE;
        return OTA32_OK;
    }

    uint8_t ident[OTA32_SHA256_LEN];
    rc = svc_ident(s, cfg, ident);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "hashing the config: %s", ota32_strerror(rc));
    if (!s->have_ident || memcmp(ident, s->ident, sizeof ident) != 0) {
        /* A new target: earlier back-off does not apply to it. */
        memcpy(s->ident, ident, sizeof ident);
        s->have_ident = true;
        s->next_attempt_ms = 0;
        s->fail_streak = 0;
        s->deferred_logged = false;
    }
    ota32_url_redact(cfg->url, s->url_log, sizeof s->url_log);
    uint64_t now = s->plat->clock.now_ms(s->plat->clock.ctx);
    if (now < s->next_attempt_ms)
        return deferred(s, result, s->next_attempt_ms, now, "backing off after a failure");
    if (s->have_failed && !strcmp(s->failed.version, cfg->version) && now < s->failed_until_ms)
        return deferred(s, result, s->failed_until_ms, now, "this version was rolled back");
    s->deferred_logged = false;

    ota32_diag local;
    if (!diag) {
        diag = &local;
    }
    ota32_diag_clear(diag);
    rc = svc_download(s, cfg, stored, ident, diag);
    now = s->plat->clock.now_ms(s->plat->clock.ctx);
    if (rc == OTA32_OK) {
        s->next_attempt_ms = 0;
        s->fail_streak = 0;
        *result = OTA32_APPLY_REBOOT;
        return OTA32_OK;
    }
    uint64_t wait = failure_wait(s, rc);
    s->next_attempt_ms = now + wait;
    svc_log(s, OTA32_LOG_ERROR, "ota: update to \"%s\" failed: %s; next attempt in %llu s",
            cfg->version, diag->msg[0] ? diag->msg : ota32_strerror(rc),
            (unsigned long long)((wait + 999) / 1000));
    return rc;
}

int ota32_service_apply(ota32_service *s, const char *json, size_t len, ota32_apply_result *result,
                        ota32_diag *diag)
{
    ota32_apply_result dummy;
    if (!result)
        result = &dummy;
    if (!s || !json)
        return OTA32_ERR_INVALID_ARG;
    int rc = ota32_config_parse(json, len, &s->plat->alloc, &s->cfg, diag);
    if (rc == OTA32_ERR_NOT_FOUND) {
        if (diag && diag->msg[0])
            svc_log(s, OTA32_LOG_WARN, "ota: no OTA service in the config: %s", diag->msg);
        *result = OTA32_APPLY_NO_SERVICE;
        return OTA32_OK;
    }
    if (rc != OTA32_OK) {
        svc_log(s, OTA32_LOG_ERROR, "ota: config rejected: %s",
                diag && diag->msg[0] ? diag->msg : ota32_strerror(rc));
        return rc;
    }
    return ota32_service_apply_config(s, &s->cfg, result, diag);
}

uint64_t ota32_service_next_attempt(const ota32_service *s)
{
    return s->next_attempt_ms;
}

void ota32_service_get_stats(const ota32_service *s, ota32_service_stats *out)
{
    *out = s->st;
}
