/* The engine's state, shared by service.c (life cycle, decisions) and
 * service_download.c (download, verify, switch). */
#ifndef OTA32_SVC_INTERNAL_H
#define OTA32_SVC_INTERNAL_H

#include "ota32/image.h"
#include "ota32/service.h"
#include "svc_records.h"
#include "svc_reference.h"
#include "svc_sig.h"
#include "svc_writer.h"

#define SVC_WRITE_BUF 4096u
#define SVC_LOG_URL_MAX 200u

struct ota32_service {
    const ota32_platform *plat;
    ota32_service_opts o; /* defaults filled in */
    ota32_ota_config cfg; /* scratch for ota32_service_apply */

    /* what ota32_service_boot found */
    bool booted;
    ota32_slot running;
    uint32_t running_state;
    bool probation;
    svc_pending pending; /* valid while on probation */
    bool have_failed;
    svc_failed failed;
    uint64_t failed_until_ms;

    /* the life cycle (service_poll.c) */
    bool poll_started;
    ota32_boot_status boot_status;
    uint64_t boot_ms;     /* clock at the first poll */
    unsigned fetch_fails; /* config fetches failed in a row */

    /* back-off, tied to the (url, version) it was computed for */
    uint8_t ident[OTA32_SHA256_LEN];
    bool have_ident;
    uint64_t next_attempt_ms;
    unsigned fail_streak;
    bool deferred_logged;

    /* one download */
    ota32_slot target;
    ota32_image_parser parser;
    bool parser_live;
    void *stream_hash;     /* SHA-256 of the bytes programmed so far */
    svc_sig sig;           /* trusted keys, digest up to the signature sector */
    svc_writer *w;         /* from plat->alloc, for one download */
    uint8_t *buf;          /* SVC_WRITE_BUF bytes from plat->alloc */
    int64_t total;         /* -1 unknown */
    uint32_t offset;       /* bytes accepted (parsed and buffered or written) */
    uint32_t last_saved;   /* writer position of the last progress record */
    bool erase_whole_slot; /* the benchmarks' reference strategy (svc_reference.h) */
    char validator[SVC_VALIDATOR_MAX + 1];
    int cb_err;      /* error raised inside an HTTP callback */
    int last_status; /* HTTP status of the last failed request */
    ota32_diag cb_diag;
    unsigned next_pct;
    uint64_t next_mb;
    char url_log[SVC_LOG_URL_MAX];
    ota32_service_stats st;

    /* bounds of one update cycle (one svc_download) */
    uint64_t rx;          /* body bytes received */
    uint64_t rx_budget;   /* most body bytes it may receive: 3x the image */
    uint32_t high_water;  /* furthest offset reached: progress is going past it */
    uint64_t deadline_ms; /* the attempt deadline */
    bool server_fault;    /* given up because of the server: the long back-off */
};

/* printf-style line to plat->log (no-op without a logger). */
void svc_log(ota32_service *s, ota32_log_level lvl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* SHA-256 of url "\n" version: what a download and its progress belong to. */
int svc_ident(ota32_service *s, const ota32_ota_config *cfg, uint8_t out[OTA32_SHA256_LEN]);

/* Download cfg into the update slot, verify, switch and request a reboot.
 * Retries transient failures itself. */
int svc_download(ota32_service *s, const ota32_ota_config *cfg, const char *old_version,
                 const uint8_t ident[OTA32_SHA256_LEN], ota32_diag *diag);

/* Mark the running firmware valid (confirm) or invalid (reject) through the
 * boot op; logs a failure. */
int svc_mark_running(ota32_service *s, bool valid);

/* Fill in the life cycle's defaults (poll interval, probation timeout,
 * config size). */
void svc_poll_defaults(ota32_service_opts *o);

/* Whether an error from svc_download deserves the quick back-off. */
bool svc_error_transient(int rc, int http_status);

#endif
