/*
 * Request targets -> names in the served set. Pure string work (no file
 * system access) so the rules can be tested and fuzzed on their own; the
 * file-system side (realpath, prefix check, regular files only) is in
 * serve_files.c.
 */
#ifndef OTA32_SERVER_SERVE_PATH_H
#define OTA32_SERVER_SERVE_PATH_H

#include <stddef.h>

#define SERVE_PATH_MAX 1024u

/* Decode the path of a request target (`len` bytes) into `out` (NUL-
 * terminated, starts with '/'). The query and fragment are dropped. Returns 0,
 * or -1 when the target must not name a served file: not absolute, longer
 * than `cap`, a malformed or forbidden escape (%00, %2F, %5C), a control byte,
 * a backslash, an empty segment, or a segment starting with '.' (".", "..",
 * hidden files, whether written plainly or percent-encoded). */
int serve_path_decode(const char *target, size_t len, char *out, size_t cap);

/* The target as an access log shows it: the query replaced by "?<redacted>"
 * (signed URLs carry credentials there), bytes outside printable ASCII
 * escaped as %XX, truncated to fit. Always NUL-terminates (cap >= 1). */
void serve_path_for_log(const char *target, size_t len, char *out, size_t cap);

#endif
