/*
 * HTTP request-header parsing for the firmware server, kept free of I/O so it
 * can be unit-tested and fuzzed: the Range header (RFC 9110 section 14) and
 * the If-Range validator comparison.
 */
#ifndef OTA32_SERVER_HTTP_RANGE_H
#define OTA32_SERVER_HTTP_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum http_range_result {
    HTTP_RANGE_NONE = 0,      /* no usable Range: answer 200 with the whole body */
    HTTP_RANGE_ONE,           /* one satisfiable range: answer 206 */
    HTTP_RANGE_MULTI,         /* several ranges: ota32 answers 200 with the whole body */
    HTTP_RANGE_UNSATISFIABLE, /* answer 416 with "Content-Range: bytes * /len" */
} http_range_result;

/* Longest Range value considered; longer ones are ignored (200). */
#define HTTP_RANGE_VALUE_MAX 1024u

/* Parse a Range header value (`len` bytes, need not be NUL-terminated) for a
 * representation of `size` bytes. On HTTP_RANGE_ONE, [*first, *last] is the
 * inclusive byte range, clamped to the representation. A syntactically
 * invalid value or an unknown unit yields HTTP_RANGE_NONE, as RFC 9110 asks
 * (an invalid Range is ignored). */
http_range_result http_range_parse(const char *value, size_t len, uint64_t size,
                                   uint64_t *first, uint64_t *last);

/* If-Range: true when the validator `value` matches the current
 * representation, i.e. equals the strong `etag` (weak tags never match), or
 * equals `last_modified` byte for byte. */
bool http_if_range_matches(const char *value, size_t len, const char *etag,
                           const char *last_modified);

#endif
