/*
 * Authenticity and anti-rollback in the download: what the image stream is
 * checked against besides its own integrity.
 *   - before anything is erased (the image prefix): secure_version against
 *     the device's anti-rollback counter, project name against the running
 *     app's (when required);
 *   - on the stream: the SHA-256 of the bytes before the signature sector,
 *     taken from the running stream hash as it passes that offset;
 *   - after the read-back, before the switch: the signature sector, against
 *     the trusted key digests (plat->secure), with the platform's verify.
 */
#ifndef OTA32_SVC_SIG_H
#define OTA32_SVC_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota32/service.h"
#include "ota32/signature.h"

typedef struct ota32_service ota32_service;

typedef struct svc_sig {
    bool required; /* the device trusts keys: only signed images */
    ota32_trusted_keys keys;
    bool have_digest; /* digest holds the SHA-256 up to the sector */
    uint8_t digest[OTA32_SHA256_LEN];
} svc_sig;

/* Before one download: the URL policy (require_https) and the device's
 * trusted keys. */
int svc_sig_start(ota32_service *s, const ota32_ota_config *cfg, ota32_diag *diag);

/* Add [pos, pos+len) of the image to the stream hash (s->stream_hash),
 * noting its digest when the stream passes the signature sector's offset.
 * pos 0 starts a new stream. */
int svc_stream_update(ota32_service *s, uint32_t pos, const uint8_t *data, size_t len);

/* The image prefix (app descriptor) is known: anti-rollback and project
 * name. OTA32_ERR_VERIFY (diag says why) refuses the image before any erase. */
int svc_sig_prefix(ota32_service *s, ota32_diag *diag);

/* The image is in flash and read back: check its signature sector when the
 * device requires one. OTA32_ERR_VERIFY (diag names the key digests found)
 * refuses it before the switch. */
int svc_sig_verify(ota32_service *s, ota32_diag *diag);

#endif
