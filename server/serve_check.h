/*
 * What the server checks before it hands a file to devices: that it is an
 * app image (not a merged flash image), valid (header, segments, app
 * descriptor, checksum, SHA-256, through the core's streaming parser), and
 * that it fits the smallest ota_N partition when a table is known, and
 * (--require-signed) that it carries Secure Boot v2 signature blocks made over
 * its bytes (which keys signed it is the device's to judge).
 */
#ifndef OTA32_SERVER_SERVE_CHECK_H
#define OTA32_SERVER_SERVE_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "ota32/image.h"

#define SERVE_CHECK_MSG_MAX 768

typedef struct serve_limits {
    uint32_t max_app_size;  /* smallest ota_N partition; 0: unknown */
    char max_label[17];     /* its label */
    const char *table_name; /* where the table came from, for messages */
    uint16_t chip_id;       /* the devices' chip; OTA32_CHIP_ANY: any */
    bool require_signed;    /* a well-formed signature sector with at least one
                               block signed over this image */
} serve_limits;

typedef struct serve_verdict {
    int err;                 /* 0: fit to serve; else a negative ota32_err */
    bool merged;             /* looks like a merged (whole-flash) image */
    char msg[SERVE_CHECK_MSG_MAX]; /* why not, when err != 0 */
    bool has_desc;
    char version[33];
    char project[33];
    uint16_t chip_id;
    uint32_t image_len;
} serve_verdict;

/* Partition-table magic bytes of an entry at the start of the table. */
#define SERVE_PT_MAGIC0 0xAAu
#define SERVE_PT_MAGIC1 0x50u

/* Check the `size`-byte file open at `fd` (read with pread; the file offset
 * is not used). Fills *v and returns v->err. `lim` NULL: no size or chip
 * requirement. */
int serve_check_image(int fd, uint64_t size, const serve_limits *lim, serve_verdict *v);

/* Smallest ota_N partition of a CSV partition table. Returns 0, or a
 * negative error with a message in `msg`. */
int serve_limits_from_csv(const char *path, serve_limits *lim, char *msg, size_t cap);

#endif
