/* Small helpers shared by the ota32 commands. */
#ifndef OTA32_TOOLS_UTIL_H
#define OTA32_TOOLS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota32/ota32.h"

/* Read a whole file into a malloc'd buffer (NUL-terminated for text use; the
 * terminator is not counted in *len). Prints "ota32: PATH: reason" and returns
 * NULL on failure. */
uint8_t *util_read_file(const char *path, size_t *len);

/* Write a buffer to a file (atomically: temp file + rename). Prints on error. */
int util_write_file(const char *path, const void *data, size_t len);

/* Parse "0x1000", "4096", "4K", "8MB", "8M", "1.5MB" -> bytes. false if bad. */
bool util_parse_size(const char *s, uint64_t *out);

/* Parse a plain integer (decimal or 0x-hex) within [0, max]. */
bool util_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Print "ota32: <context>: <diag or strerror>" to stderr. */
void util_report(const char *context, int err, const ota32_diag *diag);

/* Print an error line "ota32: ..." to stderr (printf-style). Returns 1 (the
 * exit status for failure) so commands can `return util_fail(...)`. */
int util_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* true when argv contains -h or --help. */
bool util_wants_help(int argc, char **argv);

/* Lower-case hex of `len` bytes into out (2*len+1 bytes). */
void util_hex(const uint8_t *data, size_t len, char *out);

/* Print a JSON string literal (with quotes, escaped) to f. */
void util_json_str(void *file, const char *s);

#endif
