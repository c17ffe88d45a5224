/* Fuzz the firmware server's request parsers: the Range header, If-Range,
 * request-target decoding and the HTTP/1.1 request head: pure functions of
 * the server library, called through its headers. The first input byte
 * selects the representation size for Range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1_parse.h"
#include "http_range.h"
#include "serve_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const uint64_t sizes[] = {0, 1, 2, 100, 601808, UINT64_MAX};
    uint64_t rep = sizes[data[0] % (sizeof sizes / sizeof sizes[0])];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    uint64_t first = 0, last = 0;
    http_range_result r = http_range_parse(text, len, rep, &first, &last);
    if (r == HTTP_RANGE_ONE && (first > last || last >= rep))
        abort(); /* a satisfiable range always lies inside the representation */
    (void)http_if_range_matches(text, len, "\"1-2-3\"", "Tue, 24 Nov 2026 01:00:00 GMT");

    char path[SERVE_PATH_MAX];
    if (serve_path_decode(text, len, path, sizeof path) == 0) {
        /* what the decoder lets through never climbs out or hides */
        if (path[0] != '/' || strstr(path, "/.") || strstr(path, "//") || strchr(path, '\\'))
            abort();
    }
    char logged[256];
    serve_path_for_log(text, len, logged, sizeof logged);
    if (strlen(logged) >= sizeof logged)
        abort();

    (void)http1_check_prefix(text, len);

    /* The head parser needs the terminating blank line; give it a copy
     * that has one so every input reaches the field parsing. */
    if (len <= HTTP1_HEAD_MAX - 4) {
        char *buf = malloc(len + 4);
        if (!buf)
            return 0;
        memcpy(buf, text, len);
        memcpy(buf + len, "\r\n\r\n", 4);
        http1_request rq;
        if (http1_parse_head(buf, len + 4, &rq) == 0) {
            const char *end = buf + len + 4;
            if (rq.target.p < buf || rq.target.p + rq.target.len > end ||
                (rq.has_range && (rq.range.p < buf || rq.range.p + rq.range.len > end)))
                abort();
        }
        free(buf);
    }
    return 0;
}
