/* A small GET into a caller's buffer with the ota32 HTTP/2 client: how the
 * update task reads the machine config. */
#include <string.h>

#include "ota32/http.h"
#include "sdkconfig.h"

#include "ota32_esp.h"

typedef struct sink {
    char *buf;
    size_t cap, len;
} sink;

static int on_data(void *user, const uint8_t *data, size_t n)
{
    sink *s = user;
    if (n >= s->cap - s->len) /* keep one byte for the NUL */
        return OTA32_ERR_TOO_BIG;
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return OTA32_OK;
}

int ota32_esp_fetch(const ota32_platform *plat, const char *url, char *buf, size_t cap, size_t *len,
                    ota32_diag *diag)
{
    if (!plat || !url || !buf || cap == 0)
        return OTA32_ERR_INVALID_ARG;
    buf[0] = '\0';
    /* ota32_url is about 2.6 KB: from the counted heap, not the task stack. */
    ota32_url *u = plat->alloc.malloc(plat->alloc.ctx, sizeof *u);
    ota32_http_response *resp = plat->alloc.malloc(plat->alloc.ctx, sizeof *resp);
    int rc = u && resp ? OTA32_OK : OTA32_ERR_NO_MEM;
    if (rc == OTA32_OK)
        rc = ota32_url_parse(url, u, diag);
    sink s = {.buf = buf, .cap = cap, .len = 0};
    if (rc == OTA32_OK) {
        ota32_http_request req = {.url = u};
        ota32_http_callbacks cb = {.user = &s, .on_data = on_data};
        ota32_http_opts opts = {
            .connect_timeout_ms = CONFIG_OTA32_CONNECT_TIMEOUT_MS,
            .stall_timeout_ms = CONFIG_OTA32_STALL_TIMEOUT_MS,
        };
        rc = ota32_http_get(plat, &req, &opts, &cb, resp, diag);
        if (rc == OTA32_ERR_TOO_BIG)
            ota32_diag_fail(diag, rc, 0, -1, "config larger than %u bytes", (unsigned)(cap - 1));
    }
    buf[rc == OTA32_OK ? s.len : 0] = '\0';
    if (len)
        *len = rc == OTA32_OK ? s.len : 0;
    plat->alloc.free(plat->alloc.ctx, resp);
    plat->alloc.free(plat->alloc.ctx, u);
    return rc;
}
