/* Python's text and number rules as gen_esp32part.py meets them, shared by
 * the CSV reader's sources. */
#ifndef OTA32_PT_PYTEXT_H
#define OTA32_PT_PYTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota32/partition.h"
#include "partition_csv.h"
#include "pt_keywords.h"

/* A byte span of UTF-8 text. */
typedef struct pt_span {
    const uint8_t *p;
    size_t n;
} pt_span;

/* Results of the number parsers besides 0. */
#define PT_EVALUE (-1)   /* Python's int() raises ValueError */
#define PT_EKEYWORD (-2) /* neither a number nor one of the keywords */
#define PT_ERANGE (-3)   /* beyond PT_INT_LIMIT: cannot fit any table field */

/* Every number in a table that can be serialized fits in 33 bits, so 2^62 is
 * a generous bound for the arithmetic gen_esp32part.py does on them. */
#define PT_INT_LIMIT ((int64_t)1 << 62)

/* Python's str.isspace() character at p (its length), str.strip(), and the
 * str.splitlines() boundary at p (its length, 2 for CR LF). */
size_t pt_space_at(const uint8_t *p, const uint8_t *end);
void pt_strip(const uint8_t **s, const uint8_t **e);
size_t pt_linebreak_at(const uint8_t *p, const uint8_t *end);
bool pt_utf8_valid(const uint8_t *p, size_t n);

/* int(s, 0): optional sign, 0x/0o/0b prefixes, '_' between digits. */
int pt_py_int(const uint8_t *s, size_t n, int64_t *out);

/* gen_esp32part.py's parse_int(): any number of k/m suffixes (x1024,
 * x1048576), then int(s, 0), then a case-insensitive keyword. `inner` gets
 * the string without its suffixes, which is what error messages quote. */
int pt_parse_int(const uint8_t *s, size_t n, const pt_keyword *kw, size_t nkw, int64_t *out,
                 pt_span *inner);

/* Python's '%x' of a signed value, with the 0x prefix: "0x1f", "0x-1f". */
#define PT_HEX_BUF 24
const char *pt_hex(char buf[PT_HEX_BUF], int64_t v);

#endif
