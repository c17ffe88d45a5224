/*
 * ota32: over-the-air firmware updates for ESP32.
 *
 * Common definitions shared by every public header: the error type and the
 * diagnostic record that every parser fills when it rejects its input.
 *
 * Conventions (all modules):
 *   - Functions return int: 0 (OTA32_OK) on success, a negative ota32_err on
 *     failure. Positive values are never errors (some functions return sizes).
 *   - A function that can reject input takes an `ota32_diag *` (may be NULL)
 *     and, on failure, writes one line saying what is wrong and where.
 *   - The core never allocates unless a function says so; callers own every
 *     context and buffer.
 */
#ifndef OTA32_OTA32_H
#define OTA32_OTA32_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_VERSION_STRING "0.1.0"

typedef enum ota32_err {
    OTA32_OK = 0,
    OTA32_ERR_INVALID_ARG = -1,  /* caller passed something impossible */
    OTA32_ERR_NO_MEM = -2,       /* an allocation or a fixed buffer ran out */
    OTA32_ERR_IO = -3,           /* flash, file or storage operation failed */
    OTA32_ERR_CORRUPT = -4,      /* input does not follow its format */
    OTA32_ERR_UNSUPPORTED = -5,  /* valid input that ota32 does not handle */
    OTA32_ERR_NOT_FOUND = -6,    /* key, partition, file or entry absent */
    OTA32_ERR_TOO_BIG = -7,      /* input larger than its destination allows */
    OTA32_ERR_RANGE = -8,        /* address or length outside its region */
    OTA32_ERR_TIMEOUT = -9,      /* stall or deadline exceeded */
    OTA32_ERR_NET = -10,         /* connect, send or receive failed */
    OTA32_ERR_TLS = -11,         /* handshake or certificate failure */
    OTA32_ERR_HTTP = -12,        /* protocol error or non-success status */
    OTA32_ERR_STATE = -13,       /* operation not allowed in this state */
    /* -14 is not assigned */
    OTA32_ERR_AGAIN = -15,       /* need more input / try again */
    OTA32_ERR_NO_SPACE = -16,    /* storage full */
    OTA32_ERR_CONFIG = -17,      /* machine config rejected */
    OTA32_ERR_CHIP = -18,        /* image built for another chip/revision */
    OTA32_ERR_VERIFY = -19,      /* checksum or hash mismatch */
    OTA32_ERR_ABORTED = -20,     /* stopped on request (still_wanted said no) */
} ota32_err;

/* A static, never-NULL description of an ota32_err (or of an unknown code). */
const char *ota32_strerror(int err);

#define OTA32_DIAG_MSG_MAX 320

/* What a parser says when it rejects input. `line` is a 1-based text line
 * (0 when not applicable); `offset` a byte offset (-1 when not applicable). */
typedef struct ota32_diag {
    char msg[OTA32_DIAG_MSG_MAX];
    int line;
    long offset;
} ota32_diag;

/* Reset to "no message". Safe on NULL. */
void ota32_diag_clear(ota32_diag *d);

/* printf-style; records the message with its line/offset and returns `err`,
 * so a parser can write `return ota32_diag_fail(d, OTA32_ERR_CORRUPT, ...)`.
 * Safe on NULL. */
int ota32_diag_fail(ota32_diag *d, int err, int line, long offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
