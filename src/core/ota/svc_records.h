/*
 * The engine's NVS records, each a fixed-size little-endian blob with a magic
 * so a record from another layout is ignored rather than misread:
 *   OTA_PROGRESS  where a download stands (resume after a reset)
 *   OTA_PENDING   the version switched to and not yet confirmed
 *   OTA_FAILED    the version that was rolled back, and how often
 */
#ifndef OTA32_SVC_RECORDS_H
#define OTA32_SVC_RECORDS_H

#include "ota32/nvs.h"
#include "ota32/platform.h"
#include "ota32/service.h"

#define SVC_VALIDATOR_MAX 127u
/* A record's slot index when it names no slot (the public stats say -1). */
#define SVC_SLOT_NONE 0xFFu
#define SVC_TOTAL_UNKNOWN 0xFFFFFFFFu

typedef struct svc_progress {
    uint8_t slot_index;
    uint32_t slot_offset;
    uint32_t offset;                       /* bytes in flash, a multiple of the write buffer */
    uint32_t total;                        /* SVC_TOTAL_UNKNOWN when the server gave none */
    uint8_t ident[32];                     /* SHA-256 of url "\n" version */
    uint8_t digest[32];                    /* SHA-256 of the slot's first `offset` bytes */
    char validator[SVC_VALIDATOR_MAX + 1]; /* ETag or Last-Modified, for If-Range */
} svc_progress;

typedef struct svc_pending {
    uint8_t slot_index;
    uint32_t slot_offset;
    bool armed; /* the switch (set_boot) completed */
    char version[OTA32_CONFIG_VERSION_MAX + 1];
} svc_pending;

typedef struct svc_failed {
    uint32_t count; /* rollbacks of this version */
    char version[OTA32_CONFIG_VERSION_MAX + 1];
} svc_failed;

#define SVC_PROGRESS_LEN (4 + 1 + 3 + 4 + 4 + 4 + 32 + 32 + 1 + SVC_VALIDATOR_MAX)
#define SVC_PENDING_LEN (4 + 1 + 1 + 2 + 4 + 1 + OTA32_CONFIG_VERSION_MAX)
#define SVC_FAILED_LEN (4 + 4 + 1 + OTA32_CONFIG_VERSION_MAX)

/* Load: OK, NOT_FOUND (absent), CORRUPT (present but not ours). */
int svc_progress_load(const ota32_kv_ops *kv, svc_progress *p);
int svc_progress_store(const ota32_kv_ops *kv, const svc_progress *p);
int svc_pending_load(const ota32_kv_ops *kv, svc_pending *p);
int svc_pending_store(const ota32_kv_ops *kv, const svc_pending *p);
int svc_failed_load(const ota32_kv_ops *kv, svc_failed *f);
int svc_failed_store(const ota32_kv_ops *kv, const svc_failed *f);

/* Erase a key; a missing key is success. */
int svc_kv_erase(const ota32_kv_ops *kv, const char *key);

#endif
