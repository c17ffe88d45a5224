/*
 * Fixture shared by the engine's tests: a virtual ESP32 with the seed's
 * partition table and an app in ota_0, a scripted image server plugged in
 * through ota32_service_opts.get (drops, ignored ranges, changed files,
 * statuses, any frame size), and a virtual clock that records sleeps.
 */
#ifndef OTA32_TEST_SERVICE_FIXTURE_H
#define OTA32_TEST_SERVICE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ota32/image.h"
#include "ota32/nvs.h"
#include "ota32/partition.h"
#include "ota32/service.h"
#include "image_build.h"
#include "partition_csv.h"
#include "posix_alloc.h"
#include "posix_hash.h"
#include "vdev.h"

#define FX_SLOT0 0x20000u
#define FX_SLOT1 0x3A0000u
#define FX_SLOT_SIZE 0x377000u

static const char fx_csv[] = "nvs,data,nvs,0x9000,0x6000,\n"
                             "otadata,data,ota,0xF000,0x2000,\n"
                             "phy_init,data,phy,0x11000,0x1000,\n"
                             "ota_0,app,ota_0,,0x377000,\n"
                             "ota_1,app,ota_1,,0x377000,\n";

/* ---- images -------------------------------------------------------------- */

static inline uint8_t *fx_image(const char *version, uint32_t size)
{
    uint8_t *buf = malloc(size);
    ota32_image_build_opts o = {
        .version = version,
        .project_name = "ota32-test",
        .size = size,
        .chip_id = OTA32_CHIP_ESP32,
        .hash = ota32_posix_hash(),
    };
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = ota32_image_build(&o, buf, size, &d);
    if (rc != OTA32_OK) {
        fprintf(stderr, "image build: %s\n", d.msg);
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- device -------------------------------------------------------------- */

static inline int fx_device_create(const char *path, const uint8_t *app, size_t app_len)
{
    ota32_diag d;
    ota32_diag_clear(&d);
    vdev_opts vo = {.flash_size = 8u << 20};
    int rc = vdev_create(path, &vo, true, &d);
    if (rc != OTA32_OK)
        return rc;
    static ota32_ptable t;
    rc = ota32_pt_parse_csv(fx_csv, strlen(fx_csv), NULL, &t, &d);
    if (rc != OTA32_OK)
        return rc;
    uint8_t bin[OTA32_PT_BIN_LEN];
    rc = ota32_pt_to_bin(&t, true, ota32_posix_hash(), bin, &d);
    if (rc != OTA32_OK)
        return rc;
    vdev *dev = NULL;
    rc = vdev_open(&dev, path, NULL, &d);
    if (rc != OTA32_OK)
        return rc;
    const ota32_flash_ops *f = vdev_flash(dev);
    rc = f->program(f->ctx, OTA32_PT_OFFSET_DEFAULT, bin, sizeof bin);
    if (rc == OTA32_OK)
        rc = f->program(f->ctx, FX_SLOT0, app, app_len);
    vdev_close(dev);
    return rc;
}

/* ---- scripted server ------------------------------------------------------ */

typedef struct fx_source {
    const uint8_t *file;
    size_t len;
    char etag[64];
    const uint8_t *next_file; /* served from request `change_at` on */
    size_t next_len;
    unsigned change_at;    /* 1-based request number; 0 = never */
    int status;            /* forced final status; 0 = serve the file */
    bool ignore_range;     /* answer 200 to a range request */
    bool no_validator;     /* send neither ETag nor Last-Modified */
    int64_t claim_len;     /* announced length override; 0 = real */
    size_t drop_after[16]; /* per request (0-based): cut after N body bytes; 0 = none */
    size_t frame;          /* max bytes per on_data; 0 = pseudo-random 1..20000 */
    const char *range_etag; /* the ETag a 206 carries; NULL: the file's */
    bool range_total_star; /* 206 with an unknown total ("*" after the slash) */
    uint64_t range_skew;   /* a 206 starts this many bytes after the range asked */
    uint32_t stall_ms;     /* each request waits this long (virtual clock), then
                              times out without a byte */
    bool protocol_error;   /* every request fails with an HTTP/2 protocol error */
    uint32_t rng;
    bool down; /* the network is down: every request fails to connect */
    /* observed */
    unsigned heads;   /* HEAD requests answered */
    unsigned refused; /* requests while down */
    unsigned requests;
    unsigned range_requests;
    uint64_t body_sent;
    uint64_t last_range;
} fx_source;

static inline uint32_t fx_rand(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static inline int fx_get(void *ctx, const ota32_platform *plat, const ota32_http_request *req,
                         const ota32_http_opts *opts, const ota32_http_callbacks *cb,
                         ota32_http_response *resp, ota32_diag *diag)
{
    (void)opts;
    fx_source *s = ctx;
    if (s->down) {
        s->refused++;
        return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "connect to fw.local:80: refused");
    }
    if (req->head) {
        s->heads++;
        memset(resp, 0, sizeof *resp);
        resp->status = 200;
        resp->content_length = resp->total_length = (int64_t)s->len;
        return OTA32_OK;
    }
    unsigned n = s->requests++;
    if (s->stall_ms) {
        plat->clock.sleep_ms(plat->clock.ctx, s->stall_ms);
        return ota32_diag_fail(diag, OTA32_ERR_TIMEOUT, 0, -1, "no data for %u ms", s->stall_ms);
    }
    if (s->protocol_error) {
        memset(resp, 0, sizeof *resp);
        resp->protocol_error = true;
        return ota32_diag_fail(diag, OTA32_ERR_HTTP, 0, -1,
                               "HTTP/2 protocol error from http://fw.local/fw.bin: "
                               "WINDOW_UPDATE: window_size_increment == 0");
    }
    if (s->change_at && s->requests == s->change_at) {
        s->file = s->next_file;
        s->len = s->next_len;
        snprintf(s->etag, sizeof s->etag, "\"changed-%u\"", s->requests);
    }
    memset(resp, 0, sizeof *resp);
    resp->content_length = -1;
    resp->total_length = -1;
    if (s->status) {
        resp->status = s->status;
        return ota32_diag_fail(diag, OTA32_ERR_HTTP, 0, -1, "server answered %d", s->status);
    }
    uint64_t start = 0;
    resp->status = 200;
    if (req->range_start > 0) {
        s->range_requests++;
        s->last_range = req->range_start;
        bool match = !req->if_range || !strcmp(req->if_range, s->etag);
        if (!s->ignore_range && match) {
            if (req->range_start >= s->len) {
                resp->status = 416;
                return ota32_diag_fail(diag, OTA32_ERR_HTTP, 0, -1, "server answered 416");
            }
            start = req->range_start + s->range_skew;
            resp->status = 206;
        }
    }
    resp->range_start = start;
    resp->content_length = (int64_t)(s->len - start);
    resp->total_length = s->claim_len ? s->claim_len : (int64_t)s->len;
    if (resp->status == 206 && s->range_total_star)
        resp->total_length = -1;
    if (!s->no_validator)
        snprintf(resp->etag, sizeof resp->etag, "%s",
                 resp->status == 206 && s->range_etag ? s->range_etag : s->etag);
    if (cb->on_response) {
        int rc = cb->on_response(cb->user, resp);
        if (rc != OTA32_OK)
            return rc;
    }
    size_t drop = n < 16 ? s->drop_after[n] : 0;
    size_t pos = start;
    while (pos < s->len) {
        size_t chunk = s->frame ? s->frame : 1 + fx_rand(&s->rng) % 20000;
        if (chunk > s->len - pos)
            chunk = s->len - pos;
        if (drop && resp->body_bytes + chunk > drop)
            chunk = drop - resp->body_bytes;
        if (chunk && cb->on_tick) {
            int rc = cb->on_tick(cb->user);
            if (rc != OTA32_OK)
                return rc;
        }
        if (chunk) {
            int rc = cb->on_data(cb->user, s->file + pos, chunk);
            if (rc != OTA32_OK)
                return rc;
            pos += chunk;
            resp->body_bytes += chunk;
            s->body_sent += chunk;
        }
        if (drop && resp->body_bytes >= drop)
            return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "connection reset after %zu bytes",
                                   drop);
    }
    return OTA32_OK;
}

/* ---- virtual clock --------------------------------------------------------- */

typedef struct fx_clock {
    uint64_t now;
    uint64_t slept;
    unsigned sleeps;
    uint32_t last_sleep;
    uint32_t rng;
} fx_clock;

static inline uint64_t fx_now(void *ctx)
{
    return ((fx_clock *)ctx)->now;
}

static inline void fx_sleep(void *ctx, uint32_t ms)
{
    fx_clock *c = ctx;
    c->now += ms;
    c->slept += ms;
    c->sleeps++;
    c->last_sleep = ms;
}

static inline uint32_t fx_random(void *ctx)
{
    return fx_rand(&((fx_clock *)ctx)->rng);
}

/* ---- the device with its platform ---------------------------------------- */

typedef struct fx_dev {
    const char *path;
    fx_source *src; /* the scripted server (ota32_service_opts.get_ctx) */
    vdev *d;
    vdev_boot boot;
    ota32_platform plat;
    ota32_posix_alloc alloc;
    fx_clock clock;
    bool verbose;
    char last_log[512];
    /* power cut scheduled at the cut_at-th flash operation from now, over
     * power cycles (the count carries across reboots) */
    bool cut_pending;
    uint64_t cut_at;
    vdev_cut_kind cut_kind;
    uint64_t cut_seed;
    uint64_t ops_total; /* counted flash operations over all power cycles */
    vdev_stats stats;   /* of the last power cycle */
} fx_dev;

static inline void fx_log(void *ctx, ota32_log_level lvl, const char *msg)
{
    fx_dev *x = ctx;
    snprintf(x->last_log, sizeof x->last_log, "%s", msg);
    if (x->verbose || getenv("OTA32_TEST_VERBOSE"))
        fprintf(stderr, "  log%d: %s\n", (int)lvl, msg);
}

/* Power on: open the flash file and run the bootloader. */
static inline int fx_power_on(fx_dev *x)
{
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = vdev_open(&x->d, x->path, NULL, &d);
    if (rc != OTA32_OK)
        return rc;
    if (x->cut_pending)
        vdev_arm_cut(x->d, x->cut_at, x->cut_kind, x->cut_seed);
    rc = vdev_boot_once(x->d, true, &x->boot, &d);
    if (rc != OTA32_OK)
        return rc;
    if (x->boot.bricked)
        return OTA32_ERR_STATE;
    memset(&x->plat, 0, sizeof x->plat);
    rc = vdev_platform(x->d, &x->plat);
    x->plat.alloc = ota32_posix_alloc_ops(&x->alloc);
    x->plat.clock = (ota32_clock_ops){&x->clock, fx_now, fx_sleep, fx_random};
    x->plat.log = (ota32_log_ops){x, fx_log};
    return rc;
}

static inline void fx_power_off(fx_dev *x)
{
    if (!x->d)
        return;
    vdev_get_stats(x->d, &x->stats);
    uint64_t ops = x->stats.ops;
    x->ops_total += ops;
    if (x->cut_pending) {
        if (vdev_power_lost(x->d))
            x->cut_pending = false;
        else
            x->cut_at -= ops < x->cut_at ? ops : x->cut_at;
    }
    vdev_close(x->d);
    x->d = NULL;
}

static inline int fx_reboot(fx_dev *x)
{
    fx_power_off(x);
    return fx_power_on(x);
}

static inline void fx_opts(ota32_service_opts *o, fx_dev *x)
{
    memset(o, 0, sizeof *o);
    o->get = fx_get;
    o->get_ctx = x->src;
    o->retry_base_ms = 1000;
    o->progress_interval = 16 * 1024;
}

/* A config source for ota32_service_poll: `json` as the server (remote) or
 * NVS (local) would give it; unavailable while `net` is down (remote) or
 * when json is NULL. */
typedef struct fx_cfg {
    const char *json;
    fx_source *net;
    unsigned fetches, failures;
} fx_cfg;

static inline int fx_cfg_fetch(void *ctx, char *buf, size_t cap, size_t *len, ota32_diag *diag)
{
    fx_cfg *c = ctx;
    c->fetches++;
    if (!c->json || (c->net && c->net->down)) {
        c->failures++;
        return ota32_diag_fail(diag, OTA32_ERR_NET, 0, -1, "config: network unreachable");
    }
    size_t n = strlen(c->json);
    if (n >= cap)
        return ota32_diag_fail(diag, OTA32_ERR_TOO_BIG, 0, -1, "config: %zu bytes", n);
    memcpy(buf, c->json, n + 1);
    *len = n;
    return OTA32_OK;
}

/* Options for ota32_service_poll with the config of `c`. */
static inline void fx_poll_opts(ota32_service_opts *o, fx_dev *x, fx_cfg *c, bool remote)
{
    fx_opts(o, x);
    o->source = (ota32_config_source){c, fx_cfg_fetch, remote};
}

static inline int fx_get_str(fx_dev *x, const char *key, char *buf, size_t cap)
{
    return x->plat.kv.get_str(x->plat.kv.ctx, OTA32_NVS_NAMESPACE, key, buf, cap);
}

static inline bool fx_slot_equals(fx_dev *x, uint32_t slot, const uint8_t *img, size_t len)
{
    uint8_t *buf = malloc(len);
    const ota32_flash_ops *f = vdev_flash(x->d);
    bool ok = f->read(f->ctx, slot, buf, len) == OTA32_OK && !memcmp(buf, img, len);
    free(buf);
    return ok;
}

static const char *fx_config(char *buf, size_t cap, const char *url, const char *version)
{
    snprintf(buf, cap,
             "{\"services\":[{\"name\":\"OTA\",\"namespace\":\"rdk\",\"type\":\"generic\","
             "\"model\":\"ota_service\",\"attributes\":{\"url\":\"%s\",\"version\":\"%s\"}}]}",
             url, version);
    return buf;
}

#endif
