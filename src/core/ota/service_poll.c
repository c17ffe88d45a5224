/*
 * The device life cycle in one step function: boot state, config fetch,
 * confirmation of a new firmware, applying the config, the probation
 * timeout and when to poll next. The ESP-IDF task, the virtual device and
 * the tests all drive this; no other copy of the policy exists.
 *
 * Confirmation proves what a new firmware must keep to stay updatable: the
 * network, TLS and the server work with it. A config fetched from the server
 * proves that; a local one (NVS) does not, so then the OTA url's server must
 * answer a HEAD request (or the application's health callback decides).
 */
#include "svc_backoff.h"
#include "svc_internal.h"

#include "ota32/otadata.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_POLL_MS (60u * 1000u)
#define DEFAULT_PROBATION_MS (15u * 60u * 1000u)
#define DEFAULT_CONFIG_MAX (16u * 1024u)

void svc_poll_defaults(ota32_service_opts *o)
{
    if (!o->poll_interval_ms)
        o->poll_interval_ms = DEFAULT_POLL_MS;
    if (!o->probation_timeout_ms)
        o->probation_timeout_ms = DEFAULT_PROBATION_MS;
    if (!o->config_max)
        o->config_max = DEFAULT_CONFIG_MAX;
    if (o->config_max > OTA32_CONFIG_TEXT_MAX)
        o->config_max = OTA32_CONFIG_TEXT_MAX;
}

static uint64_t now_ms(const ota32_service *s)
{
    return s->plat->clock.now_ms(s->plat->clock.ctx);
}

int ota32_service_reject(ota32_service *s, const char *why)
{
    if (!s)
        return OTA32_ERR_INVALID_ARG;
    if (!s->booted) {
        int rc = ota32_service_boot(s, &s->boot_status);
        if (rc != OTA32_OK)
            return rc;
    }
    if (!why)
        why = "by the application";
    if (!s->probation) {
        svc_log(s, OTA32_LOG_ERROR,
                "ota: %s cannot be rejected (%s): it is confirmed; an update replaces it",
                s->running.label, why);
        return OTA32_ERR_STATE;
    }
    svc_log(s, OTA32_LOG_ERROR, "ota: %s rejected: %s: rolling back", s->running.label, why);
    /* On a device this restarts into the previous firmware and returns only
     * when that cannot be armed. */
    int rc = s->plat->boot.mark_invalid(s->plat->boot.ctx);
    if (rc != OTA32_OK) {
        svc_log(s, OTA32_LOG_ERROR, "ota: marking %s invalid failed: %s", s->running.label,
                ota32_strerror(rc));
        return rc;
    }
    s->probation = false;
    s->running_state = OTA32_IMG_INVALID;
    s->plat->boot.reboot(s->plat->boot.ctx);
    return OTA32_OK;
}

/* The config, into a buffer from plat->alloc that the caller frees. */
static int fetch_config(ota32_service *s, char **out, size_t *len, ota32_diag *diag)
{
    const ota32_config_source *src = &s->o.source;
    size_t cap = (size_t)s->o.config_max + 1;
    char *buf = s->plat->alloc.malloc(s->plat->alloc.ctx, cap);
    if (!buf)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "config: out of memory (%zu bytes)",
                               cap);
    *len = 0;
    int rc = src->fetch(src->ctx, buf, cap, len, diag);
    if (rc == OTA32_OK && *len >= cap)
        rc = OTA32_ERR_TOO_BIG;
    if (rc == OTA32_ERR_TOO_BIG && !diag->msg[0])
        ota32_diag_fail(diag, rc, 0, -1, "config: larger than %lu bytes",
                        (unsigned long)s->o.config_max);
    if (rc != OTA32_OK) {
        if (!diag->msg[0])
            ota32_diag_fail(diag, rc, 0, -1, "config: %s", ota32_strerror(rc));
        s->plat->alloc.free(s->plat->alloc.ctx, buf);
        return rc;
    }
    buf[*len] = '\0';
    *out = buf;
    return OTA32_OK;
}

static int probe_ignore(void *user, const uint8_t *data, size_t len)
{
    (void)user, (void)data, (void)len;
    return OTA32_OK;
}

/* HEAD of the OTA url: any answer of the server below 500 shows that this
 * firmware reaches it (network, DNS, TLS, HTTP/2). */
static int probe_server(ota32_service *s, const ota32_ota_config *cfg, ota32_diag *diag)
{
    ota32_url *url = s->plat->alloc.malloc(s->plat->alloc.ctx, sizeof *url);
    ota32_http_response *resp = s->plat->alloc.malloc(s->plat->alloc.ctx, sizeof *resp);
    int rc = url && resp ? ota32_url_parse(cfg->url, url, diag) : OTA32_ERR_NO_MEM;
    if (rc == OTA32_OK) {
        ota32_http_request req = {.url = url, .head = true};
        ota32_http_opts ho = {
            .connect_timeout_ms = s->o.connect_timeout_ms,
            .stall_timeout_ms = s->o.stall_timeout_ms,
            .ca_file = s->o.ca_file,
            .insecure = s->o.insecure,
        };
        ota32_http_callbacks cb = {.on_data = probe_ignore};
        memset(resp, 0, sizeof *resp);
        rc = s->o.get(s->o.get_ctx, s->plat, &req, &ho, &cb, resp, diag);
        if (rc == OTA32_ERR_HTTP && resp->status >= 200 && resp->status < 500)
            rc = OTA32_OK;
    } else if (rc == OTA32_ERR_NO_MEM) {
        ota32_diag_fail(diag, rc, 0, -1, "out of memory");
    }
    s->plat->alloc.free(s->plat->alloc.ctx, url);
    s->plat->alloc.free(s->plat->alloc.ctx, resp);
    return rc;
}

/* Whether this poll proved the firmware healthy; logs why not. */
static bool healthy(ota32_service *s, const ota32_ota_config *cfg)
{
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = OTA32_OK;
    if (s->o.health)
        rc = s->o.health(s->o.user, &d);
    else if (!s->o.source.remote && !cfg)
        rc = ota32_diag_fail(&d, OTA32_ERR_STATE, 0, -1,
                             "a local config without an OTA url proves no network");
    else if (!s->o.source.remote)
        rc = probe_server(s, cfg, &d);
    if (rc != OTA32_OK)
        svc_log(s, OTA32_LOG_WARN, "ota: %s not confirmed yet: %s", s->running.label,
                d.msg[0] ? d.msg : ota32_strerror(rc));
    return rc == OTA32_OK;
}

static bool probation_over(const ota32_service *s)
{
    return s->probation && s->o.probation_timeout_ms != OTA32_PROBATION_NEVER &&
           now_ms(s) - s->boot_ms >= s->o.probation_timeout_ms;
}

/* Confirm when healthy; reject when probation has run out. */
static int settle_probation(ota32_service *s, const ota32_ota_config *cfg, bool fetched,
                            ota32_poll_result *res, ota32_diag *diag)
{
    if (fetched && healthy(s, cfg)) {
        int rc = ota32_service_confirm(s);
        if (rc != OTA32_OK)
            return ota32_diag_fail(diag, rc, 0, -1, "confirming %s: %s", s->running.label,
                                   ota32_strerror(rc));
        res->confirmed = true;
        return OTA32_OK;
    }
    if (!probation_over(s))
        return OTA32_OK;
    char why[96];
    snprintf(why, sizeof why, "not confirmed within %lu s of booting",
             (unsigned long)(s->o.probation_timeout_ms / 1000u));
    int rc = ota32_service_reject(s, why);
    if (rc == OTA32_OK) {
        res->rejected = res->reboot = true;
        rc = OTA32_ERR_TIMEOUT;
    }
    return ota32_diag_fail(diag, rc, 0, -1, "%s: %s", s->running.label, why);
}

/* Fetch, parse, settle probation, apply. */
static int poll_config(ota32_service *s, ota32_poll_result *res, ota32_diag *diag)
{
    char *json = NULL;
    size_t len = 0;
    int frc = fetch_config(s, &json, &len, diag);
    int prc = frc;
    if (frc == OTA32_OK) {
        s->fetch_fails = 0;
        res->config_fetched = true;
        if (s->o.on_config)
            s->o.on_config(s->o.user, json, len);
        prc = ota32_config_parse(json, len, &s->plat->alloc, &s->cfg, diag);
        s->plat->alloc.free(s->plat->alloc.ctx, json);
    } else {
        s->fetch_fails++;
        svc_log(s, OTA32_LOG_WARN, "ota: config not fetched: %s", diag->msg);
    }
    if (s->probation) {
        ota32_diag pd;
        ota32_diag_clear(&pd);
        int rc = settle_probation(s, prc == OTA32_OK ? &s->cfg : NULL, frc == OTA32_OK, res, &pd);
        if (rc != OTA32_OK) {
            *diag = pd;
            return rc;
        }
    }
    if (frc != OTA32_OK)
        return frc;
    res->applied = true;
    if (prc == OTA32_ERR_NOT_FOUND) {
        if (diag->msg[0]) /* a near miss: say which entry and why */
            svc_log(s, OTA32_LOG_WARN, "ota: no OTA service in the config: %s", diag->msg);
        res->apply = OTA32_APPLY_NO_SERVICE;
        return OTA32_OK;
    }
    if (prc != OTA32_OK) {
        svc_log(s, OTA32_LOG_ERROR, "ota: config rejected: %s",
                diag->msg[0] ? diag->msg : ota32_strerror(prc));
        return prc;
    }
    int rc = ota32_service_apply_config(s, &s->cfg, &res->apply, diag);
    res->reboot = rc == OTA32_OK && res->apply == OTA32_APPLY_REBOOT;
    return rc;
}

/* Sleep until the next poll: the poll interval, sooner for a retry that is
 * due earlier (a failed fetch backs off from retry_base_ms up) and never past
 * the end of probation. */
static uint32_t next_poll(const ota32_service *s, const ota32_poll_result *res)
{
    uint64_t now = now_ms(s);
    uint64_t n = s->o.poll_interval_ms;
    if (s->fetch_fails > 0) {
        uint32_t d = svc_backoff_delay(s->o.retry_base_ms, s->o.poll_interval_ms,
                                       s->fetch_fails - 1, s->plat->clock.random(s->plat->clock.ctx));
        if (d < n)
            n = d;
    }
    if (res->apply == OTA32_APPLY_DEFERRED && s->next_attempt_ms > now &&
        s->next_attempt_ms - now < n)
        n = s->next_attempt_ms - now;
    if (s->probation && s->o.probation_timeout_ms != OTA32_PROBATION_NEVER) {
        uint64_t end = s->boot_ms + s->o.probation_timeout_ms;
        uint64_t left = end > now ? end - now : 0;
        if (left < n)
            n = left;
    }
    return n ? (uint32_t)n : 1;
}

int ota32_service_poll(ota32_service *s, ota32_poll_result *res, ota32_diag *diag)
{
    ota32_poll_result lres;
    ota32_diag ldiag;
    if (!res)
        res = &lres;
    if (!diag)
        diag = &ldiag;
    memset(res, 0, sizeof *res);
    ota32_diag_clear(diag);
    if (!s || !s->o.source.fetch)
        return OTA32_ERR_INVALID_ARG;
    int rc = OTA32_OK;
    if (!s->poll_started) {
        if (!s->booted)
            rc = ota32_service_boot(s, &s->boot_status);
        if (rc == OTA32_OK) {
            s->poll_started = true;
            s->boot_ms = now_ms(s);
            res->first = true;
        } else {
            ota32_diag_fail(diag, rc, 0, -1, "reading the boot state: %s", ota32_strerror(rc));
        }
    }
    if (rc == OTA32_OK)
        rc = poll_config(s, res, diag);
    res->boot = s->boot_status;
    res->probation = s->probation;
    res->next_poll_ms = next_poll(s, res);
    return rc;
}
