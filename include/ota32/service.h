/*
 * The OTA service engine: machine config -> version check -> HTTP/2 streaming
 * download into the inactive slot -> verify -> switch -> confirm or roll back.
 *
 * Portable: every platform access goes through the ota32_platform handed to
 * ota32_service_new (flash, NVS, boot control, transport, clock, hash,
 * allocator, log); all memory comes from plat->alloc and stays bounded
 * whatever the image size (a 4 KB write buffer, the image parser, and the
 * HTTP/2 client's window).
 *
 * Life cycle on a device (opts.source says where the config comes from):
 *
 *     ota32_service_new(&plat, &opts, &svc);
 *     for (;;) {
 *         ota32_service_poll(svc, &res, &diag);  // boot state, config, confirm,
 *                                                // apply, probation timeout
 *         sleep(res.next_poll_ms);
 *     }
 *
 * ota32_service_boot, _confirm and _apply are the steps poll is made of, for
 * tools that inspect one of them.
 *
 * NVS keys (namespace OTA32_NVS_NAMESPACE, "VIAM_NS"):
 *   OTA_VERSION   string  version installed and confirmed (as Micro-RDK)
 *   OTA_PENDING   blob    version + slot written, switched to, not yet confirmed
 *   OTA_FAILED    blob    version that was rolled back, with an attempt count
 *   OTA_PROGRESS  blob    download progress, for resuming after a reset
 *
 * Order of the switch, so that a reset at any point is understood on the
 * next boot: progress record marked complete -> OTA_PENDING (not armed) ->
 * set_boot (otadata NEW) -> OTA_PENDING armed -> reboot. The complete
 * progress record stays, so that a switch lost to a torn otadata rewrite
 * (no intact entry selects the slot, boot.slot_state) is made again from
 * the image in flash, at once, instead of counting as a rollback. At boot, a pending record for the running slot means probation
 * (or, if already VALID, a confirmation to finish); an armed record for
 * another slot means the new firmware never confirmed and the bootloader
 * rolled back (recorded in OTA_FAILED); an unarmed one means the reset came
 * before the switch, and the next check re-verifies the slot from flash and
 * switches without downloading again.
 */
#ifndef OTA32_SERVICE_H
#define OTA32_SERVICE_H

#include "ota32/ota32.h"
#include "ota32/http.h"
#include "ota32/platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- machine config ---------------------------------------------------- */

#define OTA32_CONFIG_VERSION_MAX 128u        /* bytes, as Micro-RDK */
#define OTA32_CONFIG_URL_MAX 3072u           /* bytes */
#define OTA32_CONFIG_NAME_MAX 63u            /* service name kept for logs */
#define OTA32_CONFIG_TEXT_MAX (256u * 1024u) /* whole config JSON */

typedef struct ota32_ota_config {
    char url[OTA32_CONFIG_URL_MAX + 1];
    char version[OTA32_CONFIG_VERSION_MAX + 1];
    char name[OTA32_CONFIG_NAME_MAX + 1]; /* "" when the service has no name */
    int index;                            /* position in "services", -1 for a bare service object */
} ota32_ota_config;

/* Parse a whole machine config ({"services":[...]}) or one service object and
 * extract the OTA service: model "ota_service" with namespace "rdk" and type
 * "generic", or model "rdk:builtin:ota_service" (namespace/type optional but
 * checked when present). No parse tree and no global state: the text is
 * validated (RFC 8259, nesting at most 64 deep) and the OTA service's strings
 * decoded into *out, so memory does not grow with the config; `alloc`
 * (required) gives the URL check its scratch (about 2.6 KB). Safe to call
 * from several tasks at once.
 * Returns:
 *   OTA32_OK              *out filled
 *   OTA32_ERR_NOT_FOUND   valid config without an OTA service (nothing to do);
 *                         diag names a service that looks meant to be it and
 *                         why it was skipped (model "ota_servic", or
 *                         "ota_service" under another namespace or type),
 *                         else is empty
 *   OTA32_ERR_CONFIG      rejected; diag names the field and the problem,
 *                         e.g. "services[2].attributes.version: 131 bytes, at most 128"
 *   OTA32_ERR_NO_MEM      the allocator ran out
 *   OTA32_ERR_INVALID_ARG a NULL argument */
int ota32_config_parse(const char *json, size_t len, const ota32_alloc_ops *alloc,
                       ota32_ota_config *out, ota32_diag *diag);

/* ---- engine ------------------------------------------------------------ */

typedef struct ota32_service ota32_service;

/* Replaceable download function (defaults to ota32_http_get). Tests and
 * benchmarks plug in a scripted source here; the contract is ota32_http_get's.
 * `ctx` is ota32_service_opts.get_ctx. */
typedef int (*ota32_service_get_fn)(void *ctx, const ota32_platform *plat,
                                    const ota32_http_request *req, const ota32_http_opts *opts,
                                    const ota32_http_callbacks *cb, ota32_http_response *resp,
                                    ota32_diag *diag);

/* Where ota32_service_poll gets the machine config. */
typedef struct ota32_config_source {
    void *ctx;
    /* Copy the config into buf (cap bytes) and set *len (at most cap - 1; a
     * NUL follows). OTA32_OK, OTA32_ERR_TOO_BIG when it does not fit, or
     * another error with diag (network down, server unreachable, no config
     * stored). */
    int (*fetch)(void *ctx, char *buf, size_t cap, size_t *len, ota32_diag *diag);
    /* true when a successful fetch came from the server over the network:
     * that proves what a new firmware must prove before it confirms (the
     * network, TLS and the server work). false for a local copy (NVS, a
     * file): confirmation then takes a HEAD request to the OTA url that the
     * server answers, or the health callback's verdict. */
    bool remote;
} ota32_config_source;

/* ota32_service_opts.probation_timeout_ms: never roll back on a timer. */
#define OTA32_PROBATION_NEVER UINT32_MAX

/* Zero means "default" for every field. */
typedef struct ota32_service_opts {
    uint16_t chip_id;            /* OTA32_CHIP_*; 0 = ESP32 */
    const char *ca_file;         /* TLS trust anchors; NULL: platform default */
    bool insecure;               /* skip certificate checks (development only) */
    uint32_t window;             /* HTTP/2 stream window; default and max 64 KB */
    uint32_t connect_timeout_ms; /* default 10 s */
    uint32_t stall_timeout_ms;   /* default 30 s */
    uint32_t retry_base_ms;      /* first retry delay; default 1 s */
    uint32_t retry_max_ms;       /* cap of the exponential back-off; default 5 min */
    unsigned max_retries;        /* consecutive failed attempts without progress
                                    before apply gives up; default 6 */
    uint64_t failed_backoff_ms;  /* long back-off after a rejected image, a 4xx or
                                    a rollback (doubled per repeated rollback of
                                    the same version, up to 8x, counted from the
                                    boot that saw it); default 24 h */
    uint32_t progress_interval;  /* bytes between progress records in NVS;
                                    default 256 KB */
    bool require_same_project;   /* refuse an image whose project_name differs from
                                    the running app's (before any erase) */
    bool require_https;          /* refuse http:// URLs (production: no image or
                                    credentials in cleartext); redirects from
                                    https:// to http:// are always refused */
    uint32_t min_rate;           /* body bytes/s a request must average over
                                    rate_window_ms, whatever else the server
                                    sends (PINGs, 1xx); default 1024 */
    uint32_t rate_window_ms;     /* default 60 s */
    uint32_t request_timeout_ms; /* deadline of one request; default 10 min */
    uint32_t attempt_timeout_ms; /* deadline of one update attempt (every request
                                    and retry of one apply); default 30 min */
    uint64_t fault_backoff_ms;   /* long back-off after an attempt the server made
                                    fail: 3x the image received without a whole
                                    one, HTTP/2 protocol violations, the attempt
                                    deadline; default 1 h */
    /* Asked about once a second during a download (may be NULL): false stops
     * it (OTA32_ERR_ABORTED, no back-off), e.g. when the machine config has
     * changed since apply was called. */
    bool (*still_wanted)(void *user);
    ota32_service_get_fn get;    /* NULL: ota32_http_get */
    void *get_ctx;               /* handed to get */
    /* Called as bytes are written (for a progress bar); may be NULL. */
    void (*on_progress)(void *user, uint64_t done, int64_t total);
    void *user;

    /* The device life cycle (ota32_service_poll). */
    ota32_config_source source;    /* required by ota32_service_poll */
    uint32_t config_max;           /* largest config in bytes; default 16 KB,
                                      at most OTA32_CONFIG_TEXT_MAX */
    uint32_t poll_interval_ms;     /* between config checks; default 60 s */
    uint32_t probation_timeout_ms; /* a new firmware that has not confirmed this
                                      long after it booted rejects itself;
                                      default 15 min, OTA32_PROBATION_NEVER: wait
                                      for a reset (the bootloader rolls back) */
    /* Optional: the application's verdict on a new firmware, asked before it
     * confirms. OTA32_OK: healthy; an error (with diag) postpones the
     * confirmation to the next poll. With a local config source it replaces
     * the probe of the OTA server. */
    int (*health)(void *user, ota32_diag *diag);
    /* Optional: every config fetched, before the engine looks at it. */
    void (*on_config)(void *user, const char *json, size_t len);
} ota32_service_opts;

/* Allocate an engine (through plat->alloc). `plat` must outlive it. */
int ota32_service_new(const ota32_platform *plat, const ota32_service_opts *opts,
                      ota32_service **out);
void ota32_service_free(ota32_service *svc);

typedef enum ota32_boot_status {
    OTA32_BOOT_NORMAL = 0,  /* nothing pending */
    OTA32_BOOT_PROBATION,   /* new firmware not yet confirmed: call confirm once healthy */
    OTA32_BOOT_ROLLED_BACK, /* the update did not confirm and was rolled back */
    OTA32_BOOT_CONFIRMED,   /* finished a confirmation a reset had interrupted */
} ota32_boot_status;

/* Look at the running slot and the pending record; record a rollback (as
 * OTA_FAILED) or finish an interrupted confirmation. Call once per boot,
 * before apply. */
int ota32_service_boot(ota32_service *svc, ota32_boot_status *status);

/* The app is healthy: mark the running slot VALID, then record its version as
 * OTA_VERSION and clear the pending record. OTA32_ERR_STATE when not on
 * probation. */
int ota32_service_confirm(ota32_service *svc);

typedef enum ota32_apply_result {
    OTA32_APPLY_UP_TO_DATE = 0, /* stored version equals the config's */
    OTA32_APPLY_NO_SERVICE,     /* the config has no OTA service */
    OTA32_APPLY_DEFERRED,       /* backing off; see ota32_service_next_attempt */
    OTA32_APPLY_PROBATION,      /* running firmware not yet confirmed: no update now */
    OTA32_APPLY_REBOOT,         /* installed and switched; plat->boot.reboot called */
} ota32_apply_result;

/* One config check: parse the JSON (see ota32_config_parse), compare versions,
 * and when they differ download, verify and switch, retrying transient
 * failures (connection, timeout, 5xx) with exponential back-off and resuming
 * with Range. Returns OK with *result, or a negative error with diag (a
 * rejected config, a rejected image, retries exhausted, a flash failure).
 * After a failure the next attempt waits (short back-off for transient
 * errors, failed_backoff_ms for 4xx and bad images) unless the config's url
 * or version changes. */
int ota32_service_apply(ota32_service *svc, const char *json, size_t len,
                        ota32_apply_result *result, ota32_diag *diag);

/* The same with an already parsed config. */
int ota32_service_apply_config(ota32_service *svc, const ota32_ota_config *cfg,
                               ota32_apply_result *result, ota32_diag *diag);

/* ---- the device life cycle ---------------------------------------------- */

/* What one ota32_service_poll did. */
typedef struct ota32_poll_result {
    ota32_boot_status boot;   /* what this boot is (set by the first poll) */
    bool first;               /* this poll read the boot state */
    bool config_fetched;      /* the config source delivered a config */
    bool confirmed;           /* this poll confirmed the running firmware */
    bool probation;           /* still on probation afterwards */
    ota32_apply_result apply; /* when the config was applied */
    bool applied;             /* apply ran (its error, if any, is the return value) */
    bool rejected;            /* the running firmware was rejected (rollback) */
    bool reboot;              /* plat->boot.reboot was called */
    uint32_t next_poll_ms;    /* sleep this long, then poll again */
} ota32_poll_result;

/* One step of the device's life, the whole policy in one place; a firmware
 * calls it in a loop and sleeps next_poll_ms between calls:
 *   first call: read the boot state (ota32_service_boot);
 *   every call: fetch the config (opts.source), and on probation confirm once
 *   the fetch proved the network (or the probe / health callback did), then
 *   apply it (download, verify, switch, reboot); a new firmware that has not
 *   confirmed probation_timeout_ms after it booted is rejected (rolled back).
 * Returns OTA32_OK, or the error of this step (config unavailable, rejected,
 * update failed) with diag; `res` is filled either way, next_poll_ms always. */
int ota32_service_poll(ota32_service *svc, ota32_poll_result *res, ota32_diag *diag);

/* The application rejects the running firmware (its own checks failed):
 * a firmware on probation is marked invalid and the device restarts into the
 * previous one (plat->boot.mark_invalid, then plat->boot.reboot where that
 * returns). `why` is logged. OTA32_ERR_STATE when the running firmware is
 * already confirmed (a confirmed firmware is replaced by an update, not
 * rolled back), or the error of mark_invalid. */
int ota32_service_reject(ota32_service *svc, const char *why);

/* Monotonic time (plat->clock) before which apply returns DEFERRED; 0 = none. */
uint64_t ota32_service_next_attempt(const ota32_service *svc);

typedef struct ota32_service_stats {
    uint64_t bytes_received; /* body bytes received, every attempt */
    uint64_t bytes_written;  /* image bytes now in the slot */
    uint64_t resumed_from;   /* offset of the last resume (0: none) */
    int64_t image_len;       /* from the server; -1 unknown */
    unsigned attempts;       /* HTTP requests made */
    unsigned resumes;        /* requests continued with Range */
    unsigned restarts;       /* downloads started over from byte 0 */
    uint64_t erases_sector, erases_block, programs;
    uint64_t started_ms, finished_ms;
    int old_slot, new_slot; /* N of ota_N; -1 unknown */
    char old_version[OTA32_CONFIG_VERSION_MAX + 1];
    char new_version[OTA32_CONFIG_VERSION_MAX + 1];
} ota32_service_stats;

/* Figures of the last (or current) download. */
void ota32_service_get_stats(const ota32_service *svc, ota32_service_stats *out);

/* NVS key names, for tools that inspect a device. */
#define OTA32_NVS_KEY_PENDING "OTA_PENDING"
#define OTA32_NVS_KEY_FAILED "OTA_FAILED"
#define OTA32_NVS_KEY_PROGRESS "OTA_PROGRESS"

#ifdef __cplusplus
}
#endif
#endif
