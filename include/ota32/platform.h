/*
 * Everything the OTA engine needs from the platform, as small ops structs
 * handed over at init. Each carries a `void *ctx` given back to every call.
 * No globals, no weak symbols: a port fills these in (port/posix for the
 * virtual ESP32, port/esp-idf for real hardware).
 */
#ifndef OTA32_PLATFORM_H
#define OTA32_PLATFORM_H

#include "ota32/ota32.h"
#include "ota32/flash.h"
#include "ota32/hash.h"
#include "ota32/signature.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Counted allocator hooks: the engine and nghttp2 allocate only through
 * these, so peak heap is measurable and cappable. */
typedef struct ota32_alloc_ops {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t n, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
} ota32_alloc_ops;

/* Key-value store (NVS). Strings are NUL-terminated. get_* return
 * OTA32_ERR_NOT_FOUND for a missing key. */
typedef struct ota32_kv_ops {
    void *ctx;
    int (*get_str)(void *ctx, const char *ns, const char *key, char *buf, size_t cap);
    int (*set_str)(void *ctx, const char *ns, const char *key, const char *val);
    int (*get_blob)(void *ctx, const char *ns, const char *key, void *buf, size_t cap,
                    size_t *len);
    int (*set_blob)(void *ctx, const char *ns, const char *key, const void *data, size_t len);
    int (*erase_key)(void *ctx, const char *ns, const char *key);
} ota32_kv_ops;

/* An app slot (ota_N partition). */
typedef struct ota32_slot {
    char label[17];
    uint8_t index;   /* N of ota_N */
    uint32_t offset; /* absolute flash address */
    uint32_t size;
} ota32_slot;

/* Boot control: what esp_ota_* offers on a device. */
typedef struct ota32_boot_ops {
    void *ctx;
    /* The slot running now and its otadata state (OTA32_IMG_*; UNDEFINED
     * when the slot has no otadata entry, e.g. first boot). */
    int (*running_slot)(void *ctx, ota32_slot *slot, uint32_t *state);
    /* The slot the next update goes to (the inactive ota slot). */
    int (*update_slot)(void *ctx, ota32_slot *slot);
    /* Select `slot` for the next boot (otadata state NEW, rollback on). */
    int (*set_boot)(void *ctx, const ota32_slot *slot);
    /* Confirm the running app (PENDING_VERIFY -> VALID). */
    int (*mark_valid)(void *ctx);
    /* Reject the running app (-> INVALID) so the previous one boots. */
    int (*mark_invalid)(void *ctx);
    /* Optional: the state of the otadata entry selecting `slot`
     * (esp_ota_get_state_partition), or OTA32_ERR_NOT_FOUND when no intact
     * entry selects it, e.g. a rewrite of it was torn by a power cut. It
     * tells such a lost switch from a rollback (ABORTED or INVALID). */
    int (*slot_state)(void *ctx, const ota32_slot *slot, uint32_t *state);
    /* Restart the device. On a real device it does not return; the virtual
     * device returns and the host loop re-runs the boot. */
    void (*reboot)(void *ctx);
    /* Optional: the running app's descriptor (esp_app_get_description), for
     * the project-name check. NULL: not available. */
    int (*running_app)(void *ctx, ota32_app_desc *out);
} ota32_boot_ops;

/* A byte stream to one server: plain TCP or TLS (with ALPN). */
typedef struct ota32_transport_opts {
    const char *host;
    uint16_t port;
    bool tls;
    const char *alpn;       /* e.g. "h2"; NULL for none */
    const char *ca_file;    /* NULL: the platform's default trust store */
    bool insecure;          /* skip certificate verification (development only) */
    uint32_t timeout_ms;    /* connect + handshake */
} ota32_transport_opts;

typedef struct ota32_transport_ops {
    void *ctx;
    int (*connect)(void *ctx, const ota32_transport_opts *opts, ota32_diag *diag);
    /* Returns bytes sent (>0), OTA32_ERR_TIMEOUT, or another negative error. */
    long (*send)(void *ctx, const void *buf, size_t len, uint32_t timeout_ms);
    /* Returns bytes received (>0), 0 on orderly close, OTA32_ERR_TIMEOUT when
     * nothing arrived in time, or another negative error. */
    long (*recv)(void *ctx, void *buf, size_t len, uint32_t timeout_ms);
    void (*close)(void *ctx);
    /* Optional: the protocol the peer selected by ALPN on the open TLS
     * connection ("h2"), or NULL/"" when none. NULL op: not reported. */
    const char *(*alpn_selected)(void *ctx);
} ota32_transport_ops;

typedef struct ota32_clock_ops {
    void *ctx;
    uint64_t (*now_ms)(void *ctx);      /* monotonic */
    void (*sleep_ms)(void *ctx, uint32_t ms);
    uint32_t (*random)(void *ctx);      /* for back-off jitter */
} ota32_clock_ops;

typedef enum ota32_log_level {
    OTA32_LOG_ERROR = 0,
    OTA32_LOG_WARN = 1,
    OTA32_LOG_INFO = 2,
    OTA32_LOG_DEBUG = 3,
} ota32_log_level;

typedef struct ota32_log_ops {
    void *ctx;
    void (*log)(void *ctx, ota32_log_level level, const char *msg);
} ota32_log_ops;

/* The whole platform, as one struct handed to the engine. */
typedef struct ota32_platform {
    ota32_flash_ops flash;
    ota32_kv_ops kv;
    ota32_boot_ops boot;
    ota32_transport_ops transport;
    ota32_clock_ops clock;
    ota32_hash_ops hash;
    ota32_alloc_ops alloc;
    ota32_log_ops log;
    ota32_secure_ops secure; /* all NULL: no signatures, no anti-rollback */
} ota32_platform;

#ifdef __cplusplus
}
#endif
#endif
