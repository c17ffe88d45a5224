/*
 * One update: stream the image from the server through the image parser into
 * the inactive slot, resume with Range/If-Range when the connection drops (or
 * from the progress record after a reset), verify the stream and then the
 * flash, switch the boot slot and request a reboot.
 *
 * Invariants:
 *   - nothing is erased before the image prefix (header, first segment
 *     header, app descriptor) has been accepted: the writer is armed only
 *     once the parser is past it, and its 4 KB buffer is larger than it;
 *   - the progress record only ever describes bytes that are in flash, and
 *     it is erased before a restart from byte 0 re-erases the slot;
 *   - the pending record is written before the switch, so any reboot after
 *     the switch finds it.
 */
#include "svc_backoff.h"
#include "svc_internal.h"
#include "svc_sig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_REQUESTS 64u /* per apply, whatever happens */
#define MB (1024u * 1024u)
/* An attempt receives at most this many times the image: restarts, ignored
 * ranges and drops cannot turn one update into an unbounded download. */
#define RX_BUDGET_FACTOR 3u
/* Requests in a row broken by HTTP/2 protocol violations before giving up:
 * the server is at fault, and retrying at the network's pace cannot help. */
#define PROTOCOL_RETRIES 2u

static bool weak_etag(const char *etag)
{
    return etag[0] == 'W' && etag[1] == '/';
}

static void release_stream(ota32_service *s)
{
    if (s->parser_live) {
        ota32_image_parser_abort(&s->parser);
        s->parser_live = false;
    }
    if (s->stream_hash) {
        s->plat->hash.finish(s->plat->hash.ctx, s->stream_hash, NULL);
        s->stream_hash = NULL;
    }
}

static void parser_start(ota32_service *s)
{
    ota32_image_opts io = {
        .chip_id = s->o.chip_id,
        .chip_rev_full = 0,
        .max_len = s->target.size,
        .require_app_desc = true,
        .hash = &s->plat->hash,
    };
    ota32_image_parser_init(&s->parser, &io);
    s->parser_live = true;
}

static int on_flush(void *user, const uint8_t *data, size_t len)
{
    ota32_service *s = user;
    return svc_stream_update(s, svc_writer_flushed(s->w), data, len);
}

/* Forget everything received, in memory: the next byte is byte 0 again. */
static int reset_stream(ota32_service *s)
{
    release_stream(s);
    parser_start(s);
    s->stream_hash = s->plat->hash.start(s->plat->hash.ctx, OTA32_HASH_SHA256);
    if (!s->stream_hash)
        return OTA32_ERR_NO_MEM;
    svc_writer_start_over(s->w);
    s->offset = 0;
    s->last_saved = 0;
    s->total = -1;
    s->validator[0] = '\0';
    s->next_pct = 10;
    s->next_mb = MB;
    return OTA32_OK;
}

/* Start over from byte 0. The progress record goes first, so it never
 * describes sectors about to be re-erased. */
static int start_fresh(ota32_service *s)
{
    int rc = svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_PROGRESS);
    return rc == OTA32_OK ? reset_stream(s) : rc;
}

/* SHA-256 of the stream so far, leaving the running hash untouched. */
static int stream_digest(ota32_service *s, uint8_t out[OTA32_SHA256_LEN])
{
    void *h = s->plat->hash.clone(s->plat->hash.ctx, s->stream_hash);
    if (!h)
        return OTA32_ERR_NO_MEM;
    return s->plat->hash.finish(s->plat->hash.ctx, h, out);
}

static int save_progress(ota32_service *s, const uint8_t ident[OTA32_SHA256_LEN])
{
    svc_progress p;
    memset(&p, 0, sizeof p);
    p.slot_index = s->target.index;
    p.slot_offset = s->target.offset;
    p.offset = svc_writer_flushed(s->w);
    p.total = s->total >= 0 ? (uint32_t)s->total : SVC_TOTAL_UNKNOWN;
    memcpy(p.ident, ident, OTA32_SHA256_LEN);
    memcpy(p.validator, s->validator, sizeof p.validator);
    int rc = stream_digest(s, p.digest);
    if (rc == OTA32_OK)
        rc = svc_progress_store(&s->plat->kv, &p);
    if (rc == OTA32_OK)
        s->last_saved = svc_writer_flushed(s->w);
    return rc;
}

/* The read-back's one SHA-256 pass: the parser's hash over [0, checksum]
 * and the stream hash over the whole image are the same bytes from 0 on, so
 * the parser is given these ops, which feed its bytes to the stream hash and
 * answer its digest with a copy of the stream hash at that point; the bytes
 * it does not hash (appended digest, trailer, all after the header when no
 * digest is appended) are hashed by the caller. */
typedef struct shared_hash {
    ota32_hash_ops ops; /* ops.ctx is this struct */
    ota32_service *s;
    uint32_t hashed; /* bytes of the stream hash, from byte 0 */
    bool live;       /* the parser's hash is running */
} shared_hash;

static void *sh_start(void *ctx, ota32_hash_alg alg)
{
    shared_hash *sh = ctx;
    if (alg != OTA32_HASH_SHA256 || sh->live || sh->hashed != 0)
        return NULL;
    sh->live = true;
    return sh;
}

static int sh_update(void *ctx, void *h, const void *data, size_t len)
{
    shared_hash *sh = ctx;
    (void)h;
    int rc = svc_stream_update(sh->s, sh->hashed, data, len);
    if (rc == OTA32_OK)
        sh->hashed += (uint32_t)len;
    return rc;
}

static int sh_finish(void *ctx, void *h, uint8_t *out)
{
    shared_hash *sh = ctx;
    (void)h;
    sh->live = false;
    if (!out)
        return OTA32_OK;
    const ota32_hash_ops *real = &sh->s->plat->hash;
    void *c = real->clone(real->ctx, sh->s->stream_hash);
    if (!c)
        return OTA32_ERR_NO_MEM;
    return real->finish(real->ctx, c, out);
}

static void *sh_clone(void *ctx, void *h)
{
    (void)ctx;
    (void)h;
    return NULL; /* the parser never clones */
}

/* Read [0, len) of the target slot back, as it is in flash, through
 * s->parser and the stream hash (the buffer is the writer's, not in use
 * here). With `sh` (the parser started on sh->ops), each byte is hashed once:
 * only the bytes the parser's hash did not cover go to the stream hash. With
 * sh NULL, every byte goes to both. */
static int reread(ota32_service *s, shared_hash *sh, uint32_t len, ota32_diag *diag)
{
    for (uint32_t pos = 0; pos < len;) {
        uint32_t n = len - pos < SVC_WRITE_BUF ? len - pos : SVC_WRITE_BUF;
        int rc = s->plat->flash.read(s->plat->flash.ctx, s->target.offset + pos, s->buf, n);
        if (rc != OTA32_OK)
            return ota32_diag_fail(diag, rc, 0, (long)pos,
                                   "reading back 0x%" PRIx32 " bytes at 0x%08" PRIx32 ": %s", n,
                                   s->target.offset + pos, ota32_strerror(rc));
        size_t used;
        rc = ota32_image_parser_feed(&s->parser, s->buf, n, &used, diag);
        if (rc != OTA32_OK)
            return rc;
        pos += n;
        uint32_t hashed = sh ? sh->hashed : pos - n;
        if (hashed < pos) {
            /* Only bytes the parser's hash no longer covers, from where it
             * stopped: the hash stays in stream order. */
            if (sh && (sh->live || hashed < pos - n))
                return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, (long)hashed,
                                       "read-back hash out of step");
            uint32_t skip = hashed - (pos - n);
            rc = svc_stream_update(s, pos - n + skip, s->buf + skip, n - skip);
            if (rc != OTA32_OK)
                return rc;
            if (sh)
                sh->hashed = pos;
        }
    }
    return OTA32_OK;
}

/* After a reset: continue from the progress record if it belongs to this
 * download and the flash still holds what it describes. Returns OK with
 * s->offset set (0 = start over). Only flash and allocator errors fail. */
static int resume_from_record(ota32_service *s, const uint8_t ident[OTA32_SHA256_LEN])
{
    svc_progress p;
    int rc = svc_progress_load(&s->plat->kv, &p);
    if (rc == OTA32_ERR_NOT_FOUND)
        return reset_stream(s);
    if (rc != OTA32_OK)
        return start_fresh(s); /* unreadable: drop it */
    /* Kept while it checks out: resuming at p.offset erases nothing below it. */
    rc = reset_stream(s);
    if (rc != OTA32_OK)
        return rc;
    bool complete = p.total != SVC_TOTAL_UNKNOWN && p.offset == p.total;
    const char *why = NULL;
    if (memcmp(p.ident, ident, OTA32_SHA256_LEN) != 0)
        why = "it belongs to another url or version";
    else if (p.slot_index != s->target.index || p.slot_offset != s->target.offset)
        why = "it belongs to another slot";
    else if (p.offset == 0 || p.offset > s->target.size ||
             (p.offset % SVC_WRITE_BUF != 0 && !complete) ||
             (p.total != SVC_TOTAL_UNKNOWN && (p.offset > p.total || p.total > s->target.size)))
        why = "its offsets do not fit the slot";
    else if (!p.validator[0] && !complete)
        why = "the server gave no validator for If-Range";
    if (why) {
        svc_log(s, OTA32_LOG_INFO, "ota: not resuming from the saved progress: %s", why);
        return start_fresh(s);
    }

    ota32_diag d;
    ota32_diag_clear(&d);
    rc = reread(s, NULL, p.offset, &d);
    uint8_t digest[OTA32_SHA256_LEN];
    if (rc == OTA32_OK)
        rc = stream_digest(s, digest);
    if (rc == OTA32_OK && memcmp(digest, p.digest, sizeof digest) != 0)
        rc = ota32_diag_fail(&d, OTA32_ERR_VERIFY, 0, -1,
                             "the first %" PRIu32 " bytes in flash differ from what was downloaded",
                             p.offset);
    if (rc == OTA32_ERR_NO_MEM)
        return rc;
    if (rc != OTA32_OK) {
        svc_log(s, OTA32_LOG_WARN, "ota: saved progress rejected (%s): starting over",
                d.msg[0] ? d.msg : ota32_strerror(rc));
        return start_fresh(s);
    }
    rc = svc_writer_resume(s->w, p.offset, complete);
    if (rc != OTA32_OK)
        return start_fresh(s);
    s->offset = p.offset;
    s->last_saved = p.offset;
    s->total = p.total == SVC_TOTAL_UNKNOWN ? -1 : (int64_t)p.total;
    svc_writer_set_total(s->w, s->total);
    memcpy(s->validator, p.validator, sizeof s->validator);
    s->st.resumed_from = p.offset;
    while (s->total > 0 && s->next_pct <= 100 &&
           (uint64_t)s->offset * 100 >= (uint64_t)s->total * s->next_pct)
        s->next_pct += 10;
    while (s->next_mb <= s->offset)
        s->next_mb += MB;
    svc_log(s, OTA32_LOG_INFO,
            "ota: resuming after a reset at %" PRIu32 " of %lld bytes (flash re-checked)", p.offset,
            (long long)s->total);
    return OTA32_OK;
}

/* ---- HTTP callbacks ----------------------------------------------------- */

static int cb_fail(ota32_service *s, int err)
{
    s->cb_err = err;
    return err;
}

/* Whether a 206 answers what was asked: the offset, the validator sent in
 * If-Range (a server ignoring If-Range would splice two files), and the
 * length known so far (an unknown total, "*" after the slash, changes nothing). */
static bool range_mismatch(ota32_service *s, const ota32_http_response *resp, char *why, size_t cap)
{
    const char *v = s->validator;
    bool etag = v[0] == '"' || weak_etag(v);
    const char *got = etag ? resp->etag : resp->last_modified;
    if (resp->range_start != s->offset)
        snprintf(why, cap, "server resumed at %llu, asked for %" PRIu32,
                 (unsigned long long)resp->range_start, s->offset);
    else if (strcmp(got, v) != 0)
        snprintf(why, cap, "the 206's %s \"%.40s\" is not the If-Range sent, \"%.40s\"",
                 etag ? "ETag" : "Last-Modified", got, v);
    else if (s->total >= 0 && resp->total_length >= 0 && resp->total_length != s->total)
        snprintf(why, cap, "file length changed (%lld -> %lld)", (long long)s->total,
                 (long long)resp->total_length);
    else
        return false;
    return true;
}

static int on_response(void *user, const ota32_http_response *resp)
{
    ota32_service *s = user;
    ota32_diag *d = &s->cb_diag;
    if (resp->status == 206) {
        char why[160];
        if (range_mismatch(s, resp, why, sizeof why)) {
            /* The server is inconsistent, the image is not bad: start over. */
            svc_log(s, OTA32_LOG_WARN, "ota: %s: starting over", why);
            return cb_fail(s, ota32_diag_fail(d, OTA32_ERR_AGAIN, 0, -1, "%s", why));
        }
        s->st.resumes++;
        s->st.resumed_from = s->offset;
        svc_log(s, OTA32_LOG_INFO, "ota: resumed at byte %" PRIu32 " of %lld (206)", s->offset,
                (long long)resp->total_length);
    } else {
        if (s->offset > 0) {
            svc_log(s, OTA32_LOG_WARN,
                    "ota: server sent the whole file (%d) instead of bytes %" PRIu32
                    "-: starting over",
                    resp->status, s->offset);
            int rc = start_fresh(s);
            if (rc != OTA32_OK)
                return cb_fail(s, rc);
            s->st.restarts++;
        }
        const char *v = resp->etag[0] && !weak_etag(resp->etag) ? resp->etag : resp->last_modified;
        size_t n = strlen(v);
        if (n > SVC_VALIDATOR_MAX)
            n = 0; /* too long to keep: no resume across resets for this one */
        memcpy(s->validator, v, n);
        s->validator[n] = '\0';
    }
    int64_t total = resp->total_length;
    if (resp->status == 206 && total < 0)
        total = s->total; /* unknown length ("bytes X-Y/" then "*"): not a change */
    if (total > (int64_t)s->target.size)
        return cb_fail(s, ota32_diag_fail(d, OTA32_ERR_TOO_BIG, 0, -1,
                                          "image is %lld bytes, larger than %s (%" PRIu32 " bytes)",
                                          (long long)total, s->target.label, s->target.size));
    if (total >= 0 && total < (int64_t)OTA32_IMAGE_PREFIX_LEN)
        return cb_fail(s, ota32_diag_fail(d, OTA32_ERR_CORRUPT, 0, -1,
                                          "image is %lld bytes, shorter than an app image's "
                                          "first %u",
                                          (long long)total, OTA32_IMAGE_PREFIX_LEN));
    s->total = total;
    s->st.image_len = total;
    if (total > 0 && (uint64_t)total * RX_BUDGET_FACTOR < s->rx_budget)
        s->rx_budget = (uint64_t)total * RX_BUDGET_FACTOR;
    svc_writer_set_total(s->w, total);
    return OTA32_OK;
}

static void report_progress(ota32_service *s)
{
    if (s->o.on_progress)
        s->o.on_progress(s->o.user, s->offset, s->total);
    if (s->total > 0) {
        if (s->next_pct > 100 || (uint64_t)s->offset * 100 < (uint64_t)s->total * s->next_pct)
            return;
        while (s->next_pct <= 100 && (uint64_t)s->offset * 100 >= (uint64_t)s->total * s->next_pct)
            s->next_pct += 10;
        svc_log(s, OTA32_LOG_INFO, "ota: %u%% (%" PRIu32 " of %lld bytes)",
                (unsigned)((uint64_t)s->offset * 100 / (uint64_t)s->total), s->offset,
                (long long)s->total);
    } else if (s->offset >= s->next_mb) {
        while (s->next_mb <= s->offset)
            s->next_mb += MB;
        svc_log(s, OTA32_LOG_INFO, "ota: %" PRIu32 " bytes", s->offset);
    }
}

static int on_data(void *user, const uint8_t *data, size_t len)
{
    ota32_service *s = user;
    ota32_diag *d = &s->cb_diag;
    s->rx += len;
    if (s->rx > s->rx_budget) {
        s->server_fault = true;
        return cb_fail(s, ota32_diag_fail(d, OTA32_ERR_HTTP, 0, (long)s->offset,
                                          "%llu bytes received, %ux the image, without a whole "
                                          "image: the server keeps dropping or restarting it",
                                          (unsigned long long)s->rx, RX_BUDGET_FACTOR));
    }
    if ((uint64_t)s->offset + len > s->target.size)
        return cb_fail(s, ota32_diag_fail(d, OTA32_ERR_TOO_BIG, 0, (long)s->offset,
                                          "server sent more than %s holds (%" PRIu32 " bytes)",
                                          s->target.label, s->target.size));
    size_t used;
    int rc = ota32_image_parser_feed(&s->parser, data, len, &used, d);
    if (rc != OTA32_OK)
        return cb_fail(s, rc);
    if (!svc_writer_armed(s->w) &&
        ota32_image_parser_stage(&s->parser) >= OTA32_IMAGE_STAGE_BODY) {
        rc = svc_sig_prefix(s, d); /* before the first erase */
        if (rc != OTA32_OK)
            return cb_fail(s, rc);
        svc_writer_arm(s->w);
    }
    rc = svc_writer_write(s->w, data, len, d);
    if (rc != OTA32_OK)
        return cb_fail(s, rc);
    s->offset += (uint32_t)len;
    report_progress(s);
    return OTA32_OK;
}

/* Progress records are written between callbacks' flushes, at most once per
 * interval: checked after each on_data through this wrapper. */
typedef struct dl_ctx {
    ota32_service *s;
    const uint8_t *ident;
} dl_ctx;

static int on_data_saving(void *user, const uint8_t *data, size_t len)
{
    dl_ctx *c = user;
    int rc = on_data(c->s, data, len);
    if (rc == OTA32_OK &&
        svc_writer_flushed(c->s->w) - c->s->last_saved >= c->s->o.progress_interval) {
        rc = save_progress(c->s, c->ident);
        if (rc != OTA32_OK)
            rc = cb_fail(c->s, ota32_diag_fail(&c->s->cb_diag, rc, 0, -1,
                                               "saving progress to NVS: %s", ota32_strerror(rc)));
    }
    return rc;
}

static int on_response_ctx(void *user, const ota32_http_response *resp)
{
    dl_ctx *c = user;
    return on_response(c->s, resp);
}

/* The config may have changed while a slow download runs. */
static bool still_wanted(ota32_service *s)
{
    return !s->o.still_wanted || s->o.still_wanted(s->o.user);
}

static int stopped(ota32_service *s, ota32_diag *d)
{
    return ota32_diag_fail(d, OTA32_ERR_ABORTED, 0, -1,
                           "stopped at byte %" PRIu32 ": the update is no longer wanted",
                           s->offset);
}

static int on_tick_ctx(void *user)
{
    dl_ctx *c = user;
    if (still_wanted(c->s))
        return OTA32_OK;
    return cb_fail(c->s, stopped(c->s, &c->s->cb_diag));
}

/* ---- the request loop --------------------------------------------------- */

bool svc_error_transient(int rc, int http_status)
{
    switch (rc) {
    case OTA32_ERR_NET:
    case OTA32_ERR_TIMEOUT:
    case OTA32_ERR_TLS:
    case OTA32_ERR_IO:
    case OTA32_ERR_NO_MEM:
    case OTA32_ERR_AGAIN:
        return true;
    case OTA32_ERR_HTTP:
        return http_status == 0 || http_status >= 500 || http_status == 408 || http_status == 429;
    default:
        return false;
    }
}

static int fetch_with(ota32_service *s, const ota32_url *url, const uint8_t ident[OTA32_SHA256_LEN],
                      ota32_http_response *resp_buf, ota32_diag *diag);

/* The response record (~2.3 KB with its Location buffer) lives on the heap,
 * not on a small device task stack. */
static int fetch(ota32_service *s, const ota32_url *url, const uint8_t ident[OTA32_SHA256_LEN],
                 ota32_diag *diag)
{
    ota32_http_response *resp = s->plat->alloc.malloc(s->plat->alloc.ctx, sizeof *resp);
    if (!resp)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "out of memory");
    s->high_water = s->offset;
    int rc = fetch_with(s, url, ident, resp, diag);
    s->plat->alloc.free(s->plat->alloc.ctx, resp);
    return rc;
}

static int attempt_deadline(ota32_service *s, ota32_diag *diag)
{
    s->server_fault = true;
    return ota32_diag_fail(diag, OTA32_ERR_TIMEOUT, 0, -1,
                           "no whole image within %" PRIu32 " ms (at byte %" PRIu32 ")",
                           s->o.attempt_timeout_ms, s->offset);
}

/* Before each request: the request count, the attempt deadline, and a
 * resume that would need a validator the server never gave. */
static int before_request(ota32_service *s, unsigned req_no, ota32_diag *diag)
{
    if (req_no >= MAX_REQUESTS) {
        s->server_fault = true;
        return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "gave up after %u requests",
                               MAX_REQUESTS);
    }
    if (s->plat->clock.now_ms(s->plat->clock.ctx) >= s->deadline_ms)
        return attempt_deadline(s, diag);
    if (!still_wanted(s))
        return stopped(s, diag);
    if (s->offset > 0 && !s->validator[0]) {
        /* Without a validator a range could splice two different files. */
        svc_log(s, OTA32_LOG_WARN,
                "ota: no ETag or Last-Modified to resume safely: "
                "starting over");
        int rc = start_fresh(s);
        if (rc != OTA32_OK)
            return rc;
        s->st.restarts++;
    }
    return OTA32_OK;
}

/* One request from s->offset on. Returns its outcome with the diag saying
 * why it failed: the callbacks' (image, flash) or the client's. */
static int request(ota32_service *s, const ota32_url *url, ota32_http_opts *ho,
                   const ota32_http_callbacks *cb, ota32_http_response *resp, ota32_diag *why)
{
    ota32_http_request req = {
        .url = url,
        .range_start = s->offset,
        .if_range = s->offset > 0 ? s->validator : NULL,
    };
    uint64_t now = s->plat->clock.now_ms(s->plat->clock.ctx);
    ho->deadline_ms = now + s->o.request_timeout_ms;
    if (ho->deadline_ms > s->deadline_ms)
        ho->deadline_ms = s->deadline_ms;
    memset(resp, 0, sizeof *resp);
    s->cb_err = 0;
    ota32_diag_clear(&s->cb_diag);
    ota32_diag_clear(why);
    s->st.attempts++;
    int rc = s->o.get(s->o.get_ctx, s->plat, &req, ho, cb, resp, why);
    s->st.bytes_received += resp->body_bytes;
    s->last_status = resp->status;
    if (s->cb_err) {
        rc = s->cb_err;
        *why = s->cb_diag;
    }
    if (rc == OTA32_OK && s->total >= 0 && s->offset != (uint64_t)s->total)
        rc = ota32_diag_fail(why, OTA32_ERR_NET, 0, -1, "stream ended at %" PRIu32 " of %lld bytes",
                             s->offset, (long long)s->total);
    return rc;
}

/* The server contradicted itself (a file that changed, a range no longer
 * valid, a 206 that is not the range asked for): start over from byte 0. */
static bool needs_restart(const ota32_service *s, int rc, const ota32_http_response *resp)
{
    if (rc == OTA32_ERR_AGAIN)
        return true;
    return rc == OTA32_ERR_HTTP && !resp->protocol_error && s->cb_err == 0 &&
           (resp->status == 416 || resp->status == 206);
}

/* Sleep before the next request, within the attempt deadline, asking
 * whether the update is still wanted about once a second. */
static void retry_sleep(ota32_service *s, uint32_t delay)
{
    const ota32_clock_ops *c = &s->plat->clock;
    uint64_t now = c->now_ms(c->ctx);
    if (now + delay > s->deadline_ms)
        delay = now < s->deadline_ms ? (uint32_t)(s->deadline_ms - now) : 0;
    uint32_t step = s->o.still_wanted ? 1000u : delay;
    while (delay > 0 && still_wanted(s)) {
        uint32_t d = delay < step ? delay : step;
        c->sleep_ms(c->ctx, d);
        delay -= d;
    }
}

static int fetch_with(ota32_service *s, const ota32_url *url, const uint8_t ident[OTA32_SHA256_LEN],
                      ota32_http_response *resp, ota32_diag *diag)
{
    ota32_http_opts ho = {
        .window = s->o.window,
        .connect_timeout_ms = s->o.connect_timeout_ms,
        .stall_timeout_ms = s->o.stall_timeout_ms,
        .min_rate = s->o.min_rate,
        .rate_window_ms = s->o.rate_window_ms,
        .ca_file = s->o.ca_file,
        .insecure = s->o.insecure,
    };
    dl_ctx c = {s, ident};
    ota32_http_callbacks cb = {&c, on_response_ctx, on_data_saving, on_tick_ctx};
    unsigned streak = 0, violations = 0; /* failed requests in a row without progress */

    for (unsigned req_no = 0;; req_no++) {
        if (s->total >= 0 && s->offset == (uint64_t)s->total && s->offset > 0)
            return OTA32_OK; /* complete (e.g. resumed from a finished download) */
        int rc = before_request(s, req_no, diag);
        if (rc != OTA32_OK)
            return rc;
        ota32_diag why;
        rc = request(s, url, &ho, &cb, resp, &why);
        if (rc == OTA32_OK)
            return OTA32_OK;
        /* Progress is going past the furthest byte reached, not the bytes
         * received again after a restart. */
        streak = s->offset > s->high_water ? 0 : streak + 1;
        if (s->offset > s->high_water)
            s->high_water = s->offset;
        bool violation = false;
        if (needs_restart(s, rc, resp)) {
            int frc = start_fresh(s);
            if (frc != OTA32_OK)
                return frc;
            s->st.restarts++;
            if (streak == 0)
                continue;
        } else {
            /* Only the network and the server are retried here: a
             * callback's error is the image's or the flash's. */
            bool from_callback = s->cb_err != 0;
            violation = resp->protocol_error && !from_callback;
            if (from_callback || (!violation && !svc_error_transient(rc, resp->status))) {
                if (diag)
                    *diag = why;
                return rc;
            }
        }
        violations = violation ? violations + 1 : 0;
        if (s->plat->clock.now_ms(s->plat->clock.ctx) >= s->deadline_ms)
            return attempt_deadline(s, diag);
        if (streak > s->o.max_retries || violations > PROTOCOL_RETRIES) {
            s->server_fault = violations > 0;
            if (diag)
                *diag = why;
            return rc;
        }
        unsigned step = (streak ? streak - 1 : 0) + (violation ? 2u : 0u);
        uint32_t delay = svc_backoff_delay(s->o.retry_base_ms, s->o.retry_max_ms, step,
                                           s->plat->clock.random(s->plat->clock.ctx));
        svc_log(s, OTA32_LOG_WARN, "ota: %s at byte %" PRIu32 "; retrying in %" PRIu32 " ms",
                why.msg[0] ? why.msg : ota32_strerror(rc), s->offset, delay);
        retry_sleep(s, delay);
    }
}

/* Read back what is in flash: a fresh parser (checksum, SHA-256 against the
 * appended digest) and the stream hash (started by the caller), sharing one
 * SHA-256 pass; `again` receives the stream hash. */
static int read_back(ota32_service *s, uint8_t again[OTA32_SHA256_LEN], ota32_diag *d)
{
    shared_hash sh = {
        .ops = {.ctx = &sh,
                .start = sh_start,
                .update = sh_update,
                .finish = sh_finish,
                .clone = sh_clone},
        .s = s,
    };
    ota32_image_opts io = {
        .chip_id = s->o.chip_id,
        .chip_rev_full = 0,
        .max_len = s->target.size,
        .require_app_desc = true,
        .hash = &sh.ops,
    };
    ota32_image_parser_init(&s->parser, &io);
    int rc = reread(s, &sh, s->offset, d);
    if (rc == OTA32_OK)
        rc = ota32_image_parser_finish(&s->parser, d);
    /* sh lives in this frame: the parser is done with it whatever happened. */
    ota32_image_parser_abort(&s->parser);
    s->parser_live = false;
    if (rc == OTA32_OK) {
        rc = s->plat->hash.finish(s->plat->hash.ctx, s->stream_hash, again);
        s->stream_hash = NULL;
    }
    return rc;
}

/* Mark the download complete, so a reset before the switch re-checks the
 * flash instead of downloading again. */
static int record_complete(ota32_service *s, const uint8_t ident[OTA32_SHA256_LEN],
                           const uint8_t digest[OTA32_SHA256_LEN])
{
    svc_progress p;
    memset(&p, 0, sizeof p);
    p.slot_index = s->target.index;
    p.slot_offset = s->target.offset;
    p.offset = p.total = s->offset;
    memcpy(p.ident, ident, OTA32_SHA256_LEN);
    memcpy(p.digest, digest, OTA32_SHA256_LEN);
    memcpy(p.validator, s->validator, sizeof p.validator);
    return svc_progress_store(&s->plat->kv, &p);
}

/* The image is complete in flash: check the stream, then read the slot back
 * through a fresh parser and hash and compare. */
static int verify(ota32_service *s, const uint8_t ident[OTA32_SHA256_LEN], ota32_diag *diag)
{
    int rc = svc_writer_finish(s->w, diag);
    if (rc != OTA32_OK)
        return rc;
    rc = ota32_image_parser_finish(&s->parser, diag);
    s->parser_live = false;
    if (rc != OTA32_OK)
        return rc;
    char app_ver[sizeof s->parser.info.app_desc.version];
    memcpy(app_ver, s->parser.info.app_desc.version, sizeof app_ver);
    uint8_t digest[OTA32_SHA256_LEN], again[OTA32_SHA256_LEN];
    rc = s->plat->hash.finish(s->plat->hash.ctx, s->stream_hash, digest);
    s->stream_hash = NULL;
    if (rc != OTA32_OK)
        return rc;

    s->stream_hash = s->plat->hash.start(s->plat->hash.ctx, OTA32_HASH_SHA256);
    if (!s->stream_hash)
        return OTA32_ERR_NO_MEM;
    ota32_diag d;
    ota32_diag_clear(&d);
    rc = read_back(s, again, &d);
    if (rc == OTA32_OK && memcmp(digest, again, sizeof digest) != 0)
        rc = OTA32_ERR_IO;
    if (rc != OTA32_OK) {
        /* Bad flash, not a bad image: the quick back-off applies. */
        ota32_diag_fail(diag, OTA32_ERR_IO, 0, -1,
                        "%s read back from flash does not match the "
                        "download%s%s",
                        s->target.label, d.msg[0] ? ": " : "", d.msg);
        /* Without the record the next attempt downloads again from byte 0;
         * if it stays, the re-check at resume rejects it anyway. */
        if (svc_kv_erase(&s->plat->kv, OTA32_NVS_KEY_PROGRESS) != OTA32_OK)
            svc_log(s, OTA32_LOG_WARN, "ota: could not drop the progress record");
        return OTA32_ERR_IO;
    }
    rc = record_complete(s, ident, digest);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "saving progress to NVS: %s", ota32_strerror(rc));
    svc_log(s, OTA32_LOG_INFO,
            "ota: image verified (%" PRIu32 " bytes, app version \"%.32s\", flash "
            "read back ok)",
            s->offset, app_ver);
    return OTA32_OK;
}

/* Pending record (not armed), switch, pending armed. The progress record
 * (complete) stays: should a power cut tear the otadata rewrites that
 * follow, the next check switches again from the image in flash. It
 * belongs to this slot, so the next update (to the other slot) drops it. */
static int switch_slot(ota32_service *s, const ota32_ota_config *cfg, ota32_diag *diag)
{
    svc_pending p;
    memset(&p, 0, sizeof p);
    p.slot_index = s->target.index;
    p.slot_offset = s->target.offset;
    p.armed = false;
    memcpy(p.version, cfg->version, sizeof p.version);
    int rc = svc_pending_store(&s->plat->kv, &p);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "recording the pending version: %s",
                               ota32_strerror(rc));
    rc = s->plat->boot.set_boot(s->plat->boot.ctx, &s->target);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "selecting %s for the next boot: %s",
                               s->target.label, ota32_strerror(rc));
    svc_log(s, OTA32_LOG_INFO, "ota: next boot: %s (state NEW, rollback armed)", s->target.label);
    p.armed = true;
    rc = svc_pending_store(&s->plat->kv, &p);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "recording the switch: %s", ota32_strerror(rc));
    return OTA32_OK;
}

static int run(ota32_service *s, const ota32_ota_config *cfg, const uint8_t *ident,
               ota32_diag *diag)
{
    /* ota32_url is ~2.6 KB: allocator, not stack. */
    ota32_url *url = s->plat->alloc.malloc(s->plat->alloc.ctx, sizeof *url);
    if (!url)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "out of memory");
    int rc = ota32_url_parse(cfg->url, url, diag);
    if (rc == OTA32_OK)
        rc = resume_from_record(s, ident);
    if (rc == OTA32_OK)
        rc = fetch(s, url, ident, diag);
    s->plat->alloc.free(s->plat->alloc.ctx, url);
    if (rc == OTA32_OK)
        rc = verify(s, ident, diag);
    if (rc == OTA32_OK)
        rc = svc_sig_verify(s, diag); /* on the bytes verify read back */
    if (rc == OTA32_OK)
        rc = switch_slot(s, cfg, diag);
    return rc;
}

void svc_reference_erase_whole_slot(ota32_service *s, bool on)
{
    if (s)
        s->erase_whole_slot = on;
}

int svc_download(ota32_service *s, const ota32_ota_config *cfg, const char *old_version,
                 const uint8_t ident[OTA32_SHA256_LEN], ota32_diag *diag)
{
    const ota32_platform *plat = s->plat;
    s->server_fault = false;
    int rc = plat->boot.update_slot(plat->boot.ctx, &s->target);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, rc, 0, -1, "no slot to update: %s", ota32_strerror(rc));
    if (s->target.offset % OTA32_FLASH_SECTOR != 0 || s->target.size < OTA32_FLASH_SECTOR ||
        (uint64_t)s->target.offset + s->target.size > plat->flash.size)
        return ota32_diag_fail(diag, OTA32_ERR_RANGE, 0, -1,
                               "%s (0x%" PRIx32 " bytes at 0x%08" PRIx32 ") does not fit the flash",
                               s->target.label, s->target.size, s->target.offset);
    s->buf = plat->alloc.malloc(plat->alloc.ctx, SVC_WRITE_BUF);
    if (!s->buf)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "out of memory");
    s->w = svc_writer_new(&plat->alloc, &plat->flash, s->target.offset, s->target.size, s->buf,
                          SVC_WRITE_BUF);
    if (!s->w) {
        plat->alloc.free(plat->alloc.ctx, s->buf);
        s->buf = NULL;
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "out of memory");
    }
    if (s->erase_whole_slot)
        svc_writer_erase_whole_slot(s->w);
    svc_writer_on_flush(s->w, on_flush, s);

    rc = svc_sig_start(s, cfg, diag);
    if (rc != OTA32_OK) {
        svc_writer_free(s->w, &plat->alloc);
        s->w = NULL;
        plat->alloc.free(plat->alloc.ctx, s->buf);
        s->buf = NULL;
        return rc;
    }
    memset(&s->st, 0, sizeof s->st);
    s->st.image_len = -1;
    s->st.started_ms = plat->clock.now_ms(plat->clock.ctx);
    s->rx = 0;
    s->rx_budget = (uint64_t)s->target.size * RX_BUDGET_FACTOR;
    s->deadline_ms = s->st.started_ms + s->o.attempt_timeout_ms;
    s->st.old_slot = s->booted ? s->running.index : -1;
    s->st.new_slot = s->target.index;
    snprintf(s->st.old_version, sizeof s->st.old_version, "%s", old_version);
    snprintf(s->st.new_version, sizeof s->st.new_version, "%s", cfg->version);
    svc_log(s, OTA32_LOG_INFO,
            "ota: updating \"%s\" -> \"%s\" from %s into %s (0x%" PRIx32 " bytes at "
            "0x%08" PRIx32 ")",
            old_version, cfg->version, s->url_log, s->target.label, s->target.size,
            s->target.offset);

    rc = run(s, cfg, ident, diag);

    s->st.bytes_written = svc_writer_flushed(s->w);
    svc_writer_counts wc;
    svc_writer_get_counts(s->w, &wc);
    s->st.erases_sector = wc.sector_erases;
    s->st.erases_block = wc.block_erases;
    s->st.programs = wc.programs;
    s->st.finished_ms = plat->clock.now_ms(plat->clock.ctx);
    release_stream(s);
    svc_writer_free(s->w, &plat->alloc);
    s->w = NULL;
    plat->alloc.free(plat->alloc.ctx, s->buf);
    s->buf = NULL;
    if (rc != OTA32_OK)
        return rc;

    uint64_t ms = s->st.finished_ms - s->st.started_ms;
    uint64_t kbps = ms ? (uint64_t)s->offset * 1000 / ms / 1024 : 0;
    svc_log(s, OTA32_LOG_INFO,
            "ota: update complete: %" PRIu32 " bytes in %llu.%03llu s (%llu KiB/s, "
            "%llu bytes received), ota_%d -> ota_%d, version \"%s\" -> \"%s\"; rebooting",
            s->offset, (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
            (unsigned long long)kbps, (unsigned long long)s->st.bytes_received, s->st.old_slot,
            s->st.new_slot, old_version, cfg->version);
    plat->boot.reboot(plat->boot.ctx);
    return OTA32_OK;
}
