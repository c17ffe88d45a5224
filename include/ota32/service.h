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
 * Life cycle on a device:
 *
 *     ota32_service_new(&plat, &opts, &svc);
 *     ota32_service_boot(svc, &st);          // once, early after every boot
 *     ...app comes up, fetches its config...
 *     if (st == OTA32_BOOT_PROBATION)
 *         ota32_service_confirm(svc);        // once healthy
 *     ota32_service_apply(svc, json, len, &res, &diag);   // per config check
 *     // res == OTA32_APPLY_REBOOT: plat->boot.reboot was called
 *
 * NVS keys (namespace OTA32_NVS_NAMESPACE, "VIAM_NS"):
 *   OTA_VERSION   string  version installed and confirmed (as Micro-RDK)
 *   OTA_PENDING   blob    version + slot written, switched to, not yet confirmed
 *   OTA_FAILED    blob    version that was rolled back, with an attempt count
 *   OTA_PROGRESS  blob    download progress, for resuming after a reset
 *
 * Order of the switch, so that a reset at any point is understood on the
 * next boot: progress record marked complete -> OTA_PENDING (not armed) ->
 * set_boot (otadata NEW) -> OTA_PENDING armed -> OTA_PROGRESS erased ->
 * reboot. At boot, a pending record for the running slot means probation
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
 * checked when present). `alloc` (required) backs cJSON for the duration of
 * the call; cJSON's hooks are process-wide, so this is not thread-safe, and
 * they are reset to the C library's afterwards.
 * Returns:
 *   OTA32_OK              *out filled
 *   OTA32_ERR_NOT_FOUND   valid config without an OTA service (nothing to do)
 *   OTA32_ERR_CONFIG      rejected; diag names the field and the problem,
 *                         e.g. "services[2].attributes.version: 131 bytes, at most 128"
 *   OTA32_ERR_NO_MEM      the allocator ran out
 *   OTA32_ERR_INVALID_ARG a NULL argument */
int ota32_config_parse(const char *json, size_t len, const ota32_alloc_ops *alloc,
                       ota32_ota_config *out, ota32_diag *diag);

/* ---- engine ------------------------------------------------------------ */

typedef struct ota32_service ota32_service;

/* Replaceable download function (defaults to ota32_http_get). Tests and
 * benchmarks plug in a scripted source here; the contract is ota32_http_get's. */
typedef int (*ota32_service_get_fn)(const ota32_platform *plat, const ota32_http_request *req,
                                    const ota32_http_opts *opts, const ota32_http_callbacks *cb,
                                    ota32_http_response *resp, ota32_diag *diag);

/* Zero means "default" for every field. */
typedef struct ota32_service_opts {
    uint16_t chip_id;            /* OTA32_CHIP_*; 0 = ESP32 */
    const char *ca_file;         /* TLS trust anchors; NULL: platform default */
    bool insecure;               /* skip certificate checks (tests only) */
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
    bool erase_whole_slot;       /* erase the whole slot before writing instead of
                                    ahead of the write position (benchmark only) */
    ota32_service_get_fn get;    /* NULL: ota32_http_get */
    /* Called as bytes are written (for a progress bar); may be NULL. */
    void (*on_progress)(void *user, uint64_t done, int64_t total);
    void *user;
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
