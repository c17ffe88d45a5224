/* One form for a rejected input, shared by the tool and the server:
 *   FILE:LINE: message         (text: a CSV row)
 *   FILE: offset 0xN: message  (binary)
 *   FILE: message
 */
#ifndef OTA32_HOST_DIAG_TEXT_H
#define OTA32_HOST_DIAG_TEXT_H

#include <stddef.h>

#include "ota32/ota32.h"

/* Writes the line (no newline, no "ota32: ") for `file` rejected with `err`
 * and `d` (may be NULL) into buf; returns buf. A message that repeats its
 * line number ("Error at line 3: ...", as gen_esp32part.py words it) loses
 * that prefix, since the line is already in front. */
const char *ota32_diag_text(char *buf, size_t cap, const char *file, int err, const ota32_diag *d);

#endif
