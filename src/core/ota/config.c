/*
 * Machine config -> the OTA service's url and version.
 *
 * Strict by design: a config that names an OTA service but gets anything
 * wrong is rejected with the field's path, so a typo never starts a download.
 */
#include "ota32/service.h"

#include <stdio.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<cjson/cJSON.h>)
#include <cjson/cJSON.h>
#else
#include "cJSON.h"
#endif
#else
#include "cJSON.h"
#endif

#define MODEL_SHORT "ota_service"
#define MODEL_TRIPLET "rdk:builtin:ota_service"
#define PATH_MAX_LEN 48

/* cJSON's allocation hooks are global; they point at the caller's allocator
 * only while ota32_config_parse runs. */
static const ota32_alloc_ops *g_alloc;
static bool g_oom;

static void *hook_malloc(size_t n)
{
    void *p = g_alloc->malloc(g_alloc->ctx, n);
    if (!p)
        g_oom = true;
    return p;
}

static void hook_free(void *p)
{
    g_alloc->free(g_alloc->ctx, p);
}

/* "services[2]." or "" for a bare service object. */
static void path_prefix(char *out, size_t cap, int index)
{
    if (index < 0)
        out[0] = '\0';
    else
        snprintf(out, cap, "services[%d].", index);
}

static bool is_ota_model(const cJSON *svc)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(svc, "model");
    return cJSON_IsString(model) &&
           (!strcmp(model->valuestring, MODEL_SHORT) || !strcmp(model->valuestring, MODEL_TRIPLET));
}

/* Edit distance between a and b, ignoring ASCII case; strings longer than
 * NEAR_MAX count as far. */
#define NEAR_MAX 40
static unsigned edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > NEAR_MAX || lb > NEAR_MAX)
        return NEAR_MAX;
    unsigned row[NEAR_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = a[i - 1], cb = b[j - 1];
            ca = (char)(ca >= 'A' && ca <= 'Z' ? ca + 32 : ca);
            cb = (char)(cb >= 'A' && cb <= 'Z' ? cb + 32 : cb);
            unsigned best = diag + (ca != cb);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = row[j];
            row[j] = best;
        }
    }
    return row[lb];
}

/* One slip from "ota_service", or up to three when it starts with "ota"
 * (so "data_service" is not taken for a typo). */
static bool near_name(const char *m)
{
    unsigned d = edit_distance(m, MODEL_SHORT);
    bool ota = (m[0] | 32) == 'o' && (m[1] | 32) == 't' && (m[2] | 32) == 'a';
    return d <= 1 || (ota && d <= 3);
}

/* A service that is not the OTA service but looks meant to be: its model
 * is "ota_service" under another namespace or type ("viam:builtin:
 * ota_service"), or a few typing slips from it ("ota_servic", "OTA_Service").
 * Records why it was skipped in diag (line 0, offset -1) and returns true. */
static bool near_miss(const cJSON *svc, int index, ota32_diag *diag)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(svc, "model");
    if (!cJSON_IsString(model))
        return false;
    const char *m = model->valuestring, *last = strrchr(m, ':');
    last = last ? last + 1 : m;
    const char *why;
    if (!strcmp(last, MODEL_SHORT))
        why = "another namespace or type than rdk:builtin";
    else if (near_name(last))
        why = "a misspelt model name?";
    else
        return false;
    char at[PATH_MAX_LEN];
    if (index < 0)
        snprintf(at, sizeof at, "the service");
    else
        snprintf(at, sizeof at, "services[%d]", index);
    ota32_diag_fail(diag, OTA32_ERR_NOT_FOUND, 0, -1,
                    "%s skipped: model \"%.64s\" is not \"%s\" or \"%s\" (%s)", at, m,
                    MODEL_SHORT, MODEL_TRIPLET, why);
    return true;
}

/* Checks "namespace"/"type": required for the short model, optional (but
 * must agree) for the triplet. */
static int check_ident(const cJSON *svc, const char *pfx, const char *field, const char *want,
                       bool required, ota32_diag *diag)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(svc, field);
    if (!v) {
        if (!required)
            return OTA32_OK;
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%s%s: missing (the OTA service is %s \"%s\")", pfx, field, field,
                               want);
    }
    if (!cJSON_IsString(v))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%s%s: not a string", pfx, field);
    if (strcmp(v->valuestring, want) != 0)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%s%s: \"%.64s\", expected \"%s\" for model %s", pfx, field,
                               v->valuestring, want, MODEL_SHORT);
    return OTA32_OK;
}

static int extract(const cJSON *svc, int index, const ota32_alloc_ops *alloc, ota32_ota_config *out,
                   ota32_diag *diag)
{
    char pfx[PATH_MAX_LEN];
    path_prefix(pfx, sizeof pfx, index);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(svc, "model");
    bool triplet = !strcmp(model->valuestring, MODEL_TRIPLET);
    int rc = check_ident(svc, pfx, "namespace", "rdk", !triplet, diag);
    if (rc == OTA32_OK)
        rc = check_ident(svc, pfx, "type", "generic", !triplet, diag);
    if (rc != OTA32_OK)
        return rc;

    const cJSON *name = cJSON_GetObjectItemCaseSensitive(svc, "name");
    if (name && !cJSON_IsString(name))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sname: not a string", pfx);

    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(svc, "attributes");
    if (!attrs)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%sattributes: missing (needs \"url\" and \"version\")", pfx);
    if (!cJSON_IsObject(attrs))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes: not an object", pfx);

    const cJSON *url = cJSON_GetObjectItemCaseSensitive(attrs, "url");
    if (!url)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes.url: missing", pfx);
    if (!cJSON_IsString(url))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes.url: not a string",
                               pfx);
    size_t url_len = strlen(url->valuestring);
    if (url_len > OTA32_CONFIG_URL_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%sattributes.url: %zu bytes, at most %u", pfx, url_len,
                               OTA32_CONFIG_URL_MAX);
    /* ota32_url is ~2.6 KB: take it from the allocator, not the stack. */
    ota32_url *parsed = alloc->malloc(alloc->ctx, sizeof *parsed);
    if (!parsed)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "config: out of memory");
    ota32_diag ud;
    ota32_diag_clear(&ud);
    rc = ota32_url_parse(url->valuestring, parsed, &ud);
    alloc->free(alloc->ctx, parsed);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes.url: %s", pfx,
                               ud.msg[0] ? ud.msg : ota32_strerror(rc));

    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(attrs, "version");
    if (!ver)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes.version: missing", pfx);
    if (!cJSON_IsString(ver))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes.version: not a string",
                               pfx);
    size_t ver_len = strlen(ver->valuestring);
    if (ver_len > OTA32_CONFIG_VERSION_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%sattributes.version: %zu bytes, at most %u", pfx, ver_len,
                               OTA32_CONFIG_VERSION_MAX);

    memcpy(out->url, url->valuestring, url_len + 1);
    memcpy(out->version, ver->valuestring, ver_len + 1);
    out->name[0] = '\0';
    if (name) {
        size_t n = strlen(name->valuestring);
        if (n > OTA32_CONFIG_NAME_MAX)
            n = OTA32_CONFIG_NAME_MAX;
        memcpy(out->name, name->valuestring, n);
        out->name[n] = '\0';
    }
    out->index = index;
    return OTA32_OK;
}

static int find_service(const cJSON *root, const ota32_alloc_ops *alloc, ota32_ota_config *out,
                        ota32_diag *diag)
{
    if (!cJSON_IsObject(root))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "config: not a JSON object");

    const cJSON *services = cJSON_GetObjectItemCaseSensitive(root, "services");
    if (!services) {
        /* A bare service object, or a machine config without services. */
        if (cJSON_GetObjectItemCaseSensitive(root, "model")) {
            if (!is_ota_model(root)) {
                near_miss(root, -1, diag);
                return OTA32_ERR_NOT_FOUND;
            }
            return extract(root, -1, alloc, out, diag);
        }
        return OTA32_ERR_NOT_FOUND;
    }
    if (cJSON_IsNull(services))
        return OTA32_ERR_NOT_FOUND;
    if (!cJSON_IsArray(services))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "services: not an array");

    int index = 0, found = -1;
    bool noted = false;
    const cJSON *svc;
    cJSON_ArrayForEach(svc, services)
    {
        if (!cJSON_IsObject(svc))
            return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "services[%d]: not an object",
                                   index);
        if (is_ota_model(svc)) {
            if (found >= 0)
                return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                                       "services[%d]: a second OTA service (the first is "
                                       "services[%d])",
                                       index, found);
            int rc = extract(svc, index, alloc, out, diag);
            if (rc != OTA32_OK)
                return rc;
            found = index;
        } else if (!noted) {
            noted = near_miss(svc, index, diag);
        }
        index++;
    }
    if (found >= 0)
        ota32_diag_clear(diag); /* a near miss beside the real one is no news */
    return found >= 0 ? OTA32_OK : OTA32_ERR_NOT_FOUND;
}

int ota32_config_parse(const char *json, size_t len, const ota32_alloc_ops *alloc,
                       ota32_ota_config *out, ota32_diag *diag)
{
    if (!json || !out || !alloc || !alloc->malloc || !alloc->free)
        return OTA32_ERR_INVALID_ARG;
    if (len > OTA32_CONFIG_TEXT_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "config: %zu bytes, at most %u", len,
                               OTA32_CONFIG_TEXT_MAX);
    /* cJSON wants no NUL inside the buffer it is told about. */
    const char *nul = memchr(json, '\0', len);
    if (nul)
        len = (size_t)(nul - json);

    cJSON_Hooks hooks = {hook_malloc, hook_free};
    g_alloc = alloc;
    g_oom = false;
    cJSON_InitHooks(&hooks);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    int rc;
    if (!root && g_oom) {
        rc = ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "config: out of memory");
    } else if (!root) {
        long off = end ? (long)(end - json) : -1;
        /* cJSON points at the offending byte; count lines for the message. */
        int line = 1;
        for (long i = 0; i < off && i < (long)len; i++)
            line += json[i] == '\n';
        rc = ota32_diag_fail(diag, OTA32_ERR_CONFIG, line, off,
                             "config: line %d, offset %ld: not valid JSON", line, off);
    } else {
        /* Anything but whitespace after the value is an error too. */
        size_t used = (size_t)(end - json);
        while (used < len && (json[used] == ' ' || json[used] == '\t' || json[used] == '\r' ||
                              json[used] == '\n'))
            used++;
        if (used < len)
            rc = ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, (long)used,
                                 "config: offset %zu: unexpected data after the JSON value", used);
        else
            rc = find_service(root, alloc, out, diag);
        cJSON_Delete(root);
    }
    cJSON_InitHooks(NULL);
    g_alloc = NULL;
    return rc;
}
