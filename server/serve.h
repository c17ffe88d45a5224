/*
 * `ota32 serve`: the firmware server of the development loop. Serves app
 * images (and optionally the machine config) over HTTP/2 (h2c with prior
 * knowledge, or TLS with ALPN "h2") with an HTTP/1.1 fallback, checking that
 * what it serves is an app image a device can install.
 */
#ifndef OTA32_SERVER_SERVE_H
#define OTA32_SERVER_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define OTA32_SERVE_MAX_FILES 64u

typedef struct ota32_serve_opts {
    const char *files[OTA32_SERVE_MAX_FILES]; /* served at /<basename> */
    unsigned nfiles;
    const char *dir;            /* serve regular files under DIR; NULL: none */
    const char *bind;           /* listen address; NULL: 0.0.0.0 */
    uint16_t port;              /* 0: an ephemeral port (printed) */
    const char *tls_cert;       /* both set: TLS with ALPN h2, http/1.1 */
    const char *tls_key;
    const char *partitions_csv; /* refuse images larger than the smallest ota_N */
    const char *config;         /* machine config served at /config */
    const char *version;        /* version for the service block; NULL: app desc */
    bool force;                 /* serve rejected files anyway, with a warning */
    bool require_signed;        /* refuse images without Secure Boot v2 signatures */
    bool quiet;                 /* no access log */
    unsigned idle_timeout_s;    /* 0: the default (60 s) */
    unsigned max_conns;         /* 0: as many as the descriptor limit allows */
    unsigned max_conns_per_client; /* 0: the default (32) */
    const char *public_url;     /* base URL devices use (service block); NULL: picked */
    uint16_t chip_id;           /* devices' chip: 0 is ESP32; OTA32_CHIP_ANY: any */
    FILE *out;                  /* banner ("listening on ..."), summary */
    FILE *log;                  /* access log and warnings */
    FILE *json;                 /* when set: one JSON line once listening (port,
                                   URLs, files), for scripts */
} ota32_serve_opts;

/* Run until SIGINT or SIGTERM. Returns the process exit status: 0 after a
 * clean shutdown, 1 when the server could not start (message on opts->log). */
int ota32_serve_run(const ota32_serve_opts *opts);

#endif
