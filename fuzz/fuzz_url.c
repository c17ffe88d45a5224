/* Fuzz the URL parser, the redirect resolver and redaction. Input: a base URL
 * and a Location separated by the first newline (no newline: the whole input
 * is both). Checks invariants rather than just surviving: a parsed URL
 * formats and re-parses to the same URL, a resolved path starts with '/' and
 * a redacted URL never contains the credentials or the query. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota32/http.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static void roundtrip(const ota32_url *u)
{
    static char text[OTA32_URL_HOST_MAX + OTA32_URL_PATH_MAX + 32];
    static ota32_url again;
    check(u->host[0] != '\0', "non-empty host");
    check(u->port != 0, "non-zero port");
    check(u->path[0] == '/', "path starts with '/'");
    int n = ota32_url_format(u, text, sizeof text);
    check(n > 0, "format fits");
    check(ota32_url_parse(text, &again, NULL) == OTA32_OK, "formatted URL parses");
    check(again.tls == u->tls && again.port == u->port, "same scheme and port");
    check(!strcmp(again.host, u->host), "same host");
    check(!strcmp(again.path, u->path), "same path");
    static char red[512];
    ota32_url_redact(text, red, sizeof red);
    const char *q = strchr(text, '?');
    if (q && (size_t)(q - text) + sizeof "?<redacted>" <= sizeof red) {
        size_t keep = (size_t)(q - text);
        check(!strncmp(red, text, keep), "redaction keeps what precedes the query");
        check(!strcmp(red + keep, "?<redacted>"), "query redacted");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    char *loc = in;
    char *nl = memchr(in, '\n', size);
    if (nl) {
        *nl = '\0';
        loc = nl + 1;
    }
    static ota32_url base, out;
    ota32_diag diag;
    ota32_diag_clear(&diag);
    if (ota32_url_parse(in, &base, &diag) == OTA32_OK) {
        roundtrip(&base);
        if (base.userinfo[0]) {
            char red[512];
            ota32_url_redact(in, red, sizeof red);
            const char *auth = strstr(red, "://");
            check(auth != NULL, "redacted keeps the scheme");
            auth += 3;
            size_t auth_len = strcspn(auth, "/?#");
            check(memchr(auth, '@', auth_len) == NULL, "credentials dropped");
        }
        if (ota32_url_resolve(&base, loc, &out, &diag) == OTA32_OK)
            roundtrip(&out);
        else
            check(diag.msg[0] != '\0', "a rejection says why");
    } else {
        check(diag.msg[0] != '\0', "a rejection says why");
    }
    char red[64];
    ota32_url_redact(in, red, sizeof red);
    check(strlen(red) < sizeof red, "redact terminates");
    free(in);
    return 0;
}
