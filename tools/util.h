/* Small helpers shared by the ota32 commands. */
#ifndef OTA32_TOOLS_UTIL_H
#define OTA32_TOOLS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota32/flash.h"
#include "ota32/image.h"
#include "ota32/ota32.h"
#include "vdev.h"

/* Read a whole file into a malloc'd buffer (NUL-terminated for text use; the
 * terminator is not counted in *len). Prints "ota32: PATH: reason" and returns
 * NULL on failure. */
uint8_t *util_read_file(const char *path, size_t *len);

/* Write a buffer to a file (atomically: temp file + rename). Prints on error. */
int util_write_file(const char *path, const void *data, size_t len);

/* Write a file atomically as `fill` writes it to `file` (a FILE *): 0 when
 * it has written everything, > 0 on a write error (printed here as
 * "ota32: PATH: reason", as are errors of the file itself), < 0 when it
 * failed and has said why. OTA32_OK, or OTA32_ERR_IO with no file left. */
int util_write_file_with(const char *path, int (*fill)(void *arg, void *file), void *arg);

/* Parse "0x1000", "4096", "4K", "8MB", "8M", "1.5MB" -> bytes. false if bad. */
bool util_parse_size(const char *s, uint64_t *out);

/* Parse a plain integer (decimal or 0x-hex) within [0, max]. */
bool util_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Print "ota32: <context>: <diag or strerror>" to stderr. */
void util_report(const char *context, int err, const ota32_diag *diag);

/* Print an error line "ota32: ..." to stderr (printf-style). Returns 1 (the
 * exit status for failure) so commands can `return util_fail(...)`. */
int util_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same for a usage error: returns 2 (its exit status). */
int util_usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* true when argv contains -h or --help. */
bool util_wants_help(int argc, char **argv);

/* An esptool-style option argument: its name into `name` (at most cap-1
 * bytes), with '_' read as '-' past the leading dashes ("--flash_mode" and
 * "--flash-mode" are the same option, as in esptool), and in *value what
 * follows '=' ("--flash-mode=dio"), NULL when there is no '='. */
void util_esptool_option(char *name, size_t cap, const char *arg, const char **value);

/* The value of option `name` (as given: `arg`; inline value: `val`) at
 * argv[*i] of command `cmd`: `val`, else the next argument (*i moves past
 * it). Prints "ota32: CMD: unknown option" when `name` is not one of the
 * `n` value options in `names`, or "ota32: CMD: ARG needs a value", and
 * returns NULL. */
const char *util_esptool_value(const char *cmd, const char *const *names, size_t n,
                               const char *name, const char *arg, const char *val, int argc,
                               char **argv, int *i);

/* A file's bytes in memory as flash: the virtual device's NOR emulation
 * (vdev_nor) over `data`. Writes stay in `data`. */
typedef struct util_mem_flash {
    uint8_t *data;
    size_t len;
    vdev_nor nor;
} util_mem_flash;

/* Ops over `m` (which must outlive them); the flash size is `len`, at most
 * 0xFFFFFFFF. */
ota32_flash_ops util_mem_flash_ops(util_mem_flash *m);

/* An app descriptor as a JSON object (cJSON, the caller owns it): version,
 * project, idf, date, time, secure_version, elf_sha256 (hex). */
struct cJSON *util_app_desc_json(const ota32_app_desc *a);

/* Lower-case hex of `len` bytes into out (2*len+1 bytes). */
void util_hex(const uint8_t *data, size_t len, char *out);

#endif
