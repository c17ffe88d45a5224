/*
 * A small JSON reader for the machine config: a validator (RFC 8259, no
 * allocation, no recursion, nesting bounded) and a cursor that walks a
 * document the validator accepted, decoding only the strings asked for into
 * caller buffers. Memory is fixed whatever the size of the document.
 */
#ifndef OTA32_JSON_SCAN_H
#define OTA32_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 64u

/* Validate the JSON value at the start of s[0..len) (leading whitespace
 * allowed). true: *end is the offset just after it. false: *err is the
 * offset of the first byte that cannot belong to a valid document (len when
 * it ends early); *deep tells when the nesting limit was the reason. */
bool json_validate(const char *s, size_t len, size_t *end, size_t *err, bool *deep);

/* A cursor over a validated value. */
typedef struct json_cur {
    const char *s;
    size_t len, pos;
} json_cur;

/* The first byte of the value at the cursor (after whitespace): '{', '[',
 * '"', 'n' (null), 't'/'f', or a number's first byte. */
char json_peek(json_cur *c);

/* Step over the value at the cursor. */
void json_skip(json_cur *c);

/* Decode the string at the cursor into out (NUL-terminated, at most cap - 1
 * bytes kept) and step over it. Returns its full decoded length in bytes
 * (UTF-8), which may exceed what was kept. out may be NULL with cap 0. */
size_t json_string(json_cur *c, char *out, size_t cap);

/* Members of the object at the cursor, one per call: each true return
 * leaves the cursor on a member's value (which the caller reads or skips)
 * with its key decoded into key (cap bytes; *key_len its full length); false at the end of the object,
 * the cursor after it. */
bool json_member(json_cur *c, char *key, size_t cap, size_t *key_len);

/* Elements of the array at the cursor, in the same way. */
bool json_element(json_cur *c);

#endif
