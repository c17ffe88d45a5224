/* Base64 (RFC 4648 section 4, padded) for the Basic credentials of a URL's
 * userinfo. Internal to the HTTP client; declared here for its unit test. */
#ifndef OTA32_HTTP_BASE64_H
#define OTA32_HTTP_BASE64_H

#include <stddef.h>

/* Encode `len` bytes into `out` (NUL-terminated). Returns the text length, or
 * OTA32_ERR_TOO_BIG when `cap` < 4 * ceil(len / 3) + 1. */
int ota32_http_base64(const void *data, size_t len, char *out, size_t cap);

#endif
