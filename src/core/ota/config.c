/*
 * Machine config -> the OTA service's url and version.
 *
 * Strict by design: a config that names an OTA service but gets anything
 * wrong is rejected with the field's path, so a typo never starts a download.
 *
 * No parse tree and no global state: the document is validated in one pass
 * (json_scan.c), then walked with a cursor that decodes only the strings of
 * the OTA service into fixed buffers. Memory does not grow with the config;
 * the one allocation is the URL parser's scratch.
 */
#include "ota32/service.h"

#include <stdio.h>
#include <string.h>

#include "json_scan.h"

#define MODEL_SHORT "ota_service"
#define MODEL_TRIPLET "rdk:builtin:ota_service"
#define PATH_MAX_LEN 48
#define KEY_MAX 16u   /* longer keys are none of ours */
#define IDENT_MAX 64u /* namespace/type kept for the message */

typedef enum ftype { F_ABSENT = 0, F_STRING, F_OBJECT, F_OTHER } ftype;

typedef struct field {
    ftype t;
    size_t len; /* decoded length of a string */
} field;

/* What one service object holds, the first occurrence of each key (as
 * cJSON-style lookups have it): model, namespace and type here; name, url
 * and version go straight to the output while no OTA service was found. */
typedef struct svc_scan {
    field model, ns, type, name, attrs, url, version;
    char model_v[IDENT_MAX + 1];
    char ns_v[IDENT_MAX + 1], type_v[IDENT_MAX + 1];
} svc_scan;

static bool key_is(const char *key, size_t len, const char *name)
{
    return len == strlen(name) && !memcmp(key, name, len);
}

/* Read a string member (the first of its name), or note another type. */
static void read_field(json_cur *c, field *f, char *buf, size_t cap)
{
    if (f->t != F_ABSENT) {
        json_skip(c);
        return;
    }
    if (json_peek(c) == '"') {
        f->t = F_STRING;
        f->len = json_string(c, buf, cap);
    } else {
        f->t = F_OTHER;
        json_skip(c);
    }
}

static void scan_attrs(json_cur *c, svc_scan *sv, ota32_ota_config *out, bool capture)
{
    char key[KEY_MAX];
    size_t klen;
    while (json_member(c, key, sizeof key, &klen)) {
        if (key_is(key, klen, "url"))
            read_field(c, &sv->url, capture ? out->url : NULL, capture ? sizeof out->url : 0);
        else if (key_is(key, klen, "version"))
            read_field(c, &sv->version, capture ? out->version : NULL,
                       capture ? sizeof out->version : 0);
        else
            json_skip(c);
    }
}

/* One service object at the cursor. */
static void scan_service(json_cur *c, svc_scan *sv, ota32_ota_config *out, bool capture)
{
    memset(sv, 0, sizeof *sv);
    char key[KEY_MAX];
    size_t klen;
    while (json_member(c, key, sizeof key, &klen)) {
        if (key_is(key, klen, "model")) {
            read_field(c, &sv->model, sv->model_v, sizeof sv->model_v);
        } else if (key_is(key, klen, "namespace")) {
            read_field(c, &sv->ns, sv->ns_v, sizeof sv->ns_v);
        } else if (key_is(key, klen, "type")) {
            read_field(c, &sv->type, sv->type_v, sizeof sv->type_v);
        } else if (key_is(key, klen, "name")) {
            read_field(c, &sv->name, capture ? out->name : NULL, capture ? sizeof out->name : 0);
        } else if (key_is(key, klen, "attributes") && sv->attrs.t == F_ABSENT) {
            sv->attrs.t = json_peek(c) == '{' ? F_OBJECT : F_OTHER;
            if (sv->attrs.t == F_OBJECT)
                scan_attrs(c, sv, out, capture);
            else
                json_skip(c);
        } else {
            json_skip(c);
        }
    }
}

static bool string_is(const field *f, const char *v, const char *want)
{
    return f->t == F_STRING && f->len == strlen(want) && !memcmp(v, want, f->len);
}

static bool is_ota_model(const svc_scan *sv)
{
    return string_is(&sv->model, sv->model_v, MODEL_SHORT) ||
           string_is(&sv->model, sv->model_v, MODEL_TRIPLET);
}

/* "services[2]." or "" for a bare service object. */
static void path_prefix(char *out, size_t cap, int index)
{
    if (index < 0)
        out[0] = '\0';
    else
        snprintf(out, cap, "services[%d].", index);
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
static bool near_miss(const svc_scan *sv, int index, ota32_diag *diag)
{
    if (sv->model.t != F_STRING || sv->model.len >= sizeof sv->model_v)
        return false;
    const char *m = sv->model_v, *last = strrchr(m, ':');
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
static int check_ident(const field *f, const char *v, const char *pfx, const char *name,
                       const char *want, bool required, ota32_diag *diag)
{
    if (f->t == F_ABSENT) {
        if (!required)
            return OTA32_OK;
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%s%s: missing (the OTA service is %s \"%s\")", pfx, name, name,
                               want);
    }
    if (f->t != F_STRING)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%s%s: not a string", pfx, name);
    if (!string_is(f, v, want))
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%s%s: \"%.64s\", expected \"%s\" for model %s", pfx, name, v, want,
                               MODEL_SHORT);
    return OTA32_OK;
}

/* A string attribute: present, a string, within `max` bytes, no NUL. */
static int check_string(const field *f, const char *v, const char *pfx, const char *name,
                        size_t max, ota32_diag *diag)
{
    if (f->t == F_ABSENT)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes.%s: missing", pfx,
                               name);
    if (f->t != F_STRING)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes.%s: not a string",
                               pfx, name);
    if (f->len > max)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%sattributes.%s: %zu bytes, at most %zu", pfx, name, f->len, max);
    if (strlen(v) != f->len)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%sattributes.%s: contains a NUL character", pfx, name);
    return OTA32_OK;
}

static int check_url(const char *url, const char *pfx, const ota32_alloc_ops *alloc,
                     ota32_diag *diag)
{
    /* ota32_url is ~2.6 KB: take it from the allocator, not the stack. */
    ota32_url *parsed = alloc->malloc(alloc->ctx, sizeof *parsed);
    if (!parsed)
        return ota32_diag_fail(diag, OTA32_ERR_NO_MEM, 0, -1, "config: out of memory");
    ota32_diag ud;
    ota32_diag_clear(&ud);
    int rc = ota32_url_parse(url, parsed, &ud);
    alloc->free(alloc->ctx, parsed);
    if (rc != OTA32_OK)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes.url: %s", pfx,
                               ud.msg[0] ? ud.msg : ota32_strerror(rc));
    return OTA32_OK;
}

/* The OTA service found: every field checked, in a fixed order. */
static int extract(const svc_scan *sv, int index, const ota32_alloc_ops *alloc,
                   ota32_ota_config *out, ota32_diag *diag)
{
    char pfx[PATH_MAX_LEN];
    path_prefix(pfx, sizeof pfx, index);
    bool triplet = string_is(&sv->model, sv->model_v, MODEL_TRIPLET);
    int rc = check_ident(&sv->ns, sv->ns_v, pfx, "namespace", "rdk", !triplet, diag);
    if (rc == OTA32_OK)
        rc = check_ident(&sv->type, sv->type_v, pfx, "type", "generic", !triplet, diag);
    if (rc != OTA32_OK)
        return rc;
    if (sv->name.t == F_OTHER)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sname: not a string", pfx);
    if (sv->attrs.t == F_ABSENT)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                               "%sattributes: missing (needs \"url\" and \"version\")", pfx);
    if (sv->attrs.t != F_OBJECT)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "%sattributes: not an object", pfx);
    rc = check_string(&sv->url, out->url, pfx, "url", OTA32_CONFIG_URL_MAX, diag);
    if (rc == OTA32_OK)
        rc = check_url(out->url, pfx, alloc, diag);
    if (rc == OTA32_OK)
        rc = check_string(&sv->version, out->version, pfx, "version", OTA32_CONFIG_VERSION_MAX,
                          diag);
    if (rc != OTA32_OK)
        return rc;
    if (sv->name.t == F_ABSENT)
        out->name[0] = '\0'; /* (a service before may have left one) */
    out->index = index;
    return OTA32_OK;
}

static int scan_services(json_cur *c, const ota32_alloc_ops *alloc, ota32_ota_config *out,
                         ota32_diag *diag)
{
    char first = json_peek(c);
    if (first == 'n')
        return OTA32_ERR_NOT_FOUND;
    if (first != '[')
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "services: not an array");
    int index = 0, found = -1;
    bool noted = false;
    svc_scan sv;
    for (; json_element(c); index++) {
        if (json_peek(c) != '{')
            return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "services[%d]: not an object",
                                   index);
        scan_service(c, &sv, out, found < 0);
        if (!is_ota_model(&sv)) {
            noted = noted || near_miss(&sv, index, diag);
            continue;
        }
        if (found >= 0)
            return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1,
                                   "services[%d]: a second OTA service (the first is "
                                   "services[%d])",
                                   index, found);
        int rc = extract(&sv, index, alloc, out, diag);
        if (rc != OTA32_OK)
            return rc;
        found = index;
    }
    if (found >= 0)
        ota32_diag_clear(diag); /* a near miss beside the real one is no news */
    return found >= 0 ? OTA32_OK : OTA32_ERR_NOT_FOUND;
}

/* The root object: its "services", or a bare service object. */
static int find_service(json_cur *root, const ota32_alloc_ops *alloc, ota32_ota_config *out,
                        ota32_diag *diag)
{
    json_cur c = *root;
    size_t services = 0;
    bool has_services = false, has_model = false;
    char key[KEY_MAX];
    size_t klen;
    while (json_member(&c, key, sizeof key, &klen)) {
        if (!has_services && key_is(key, klen, "services")) {
            has_services = true;
            services = c.pos;
        }
        has_model |= key_is(key, klen, "model");
        json_skip(&c);
    }
    if (has_services) {
        c.pos = services;
        return scan_services(&c, alloc, out, diag);
    }
    if (!has_model)
        return OTA32_ERR_NOT_FOUND;
    c = *root;
    svc_scan sv;
    scan_service(&c, &sv, out, true);
    if (is_ota_model(&sv))
        return extract(&sv, -1, alloc, out, diag);
    near_miss(&sv, -1, diag);
    return OTA32_ERR_NOT_FOUND;
}

static int syntax_error(const char *json, size_t len, size_t off, bool deep, ota32_diag *diag)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        line += json[i] == '\n';
    if (deep)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, line, (long)off,
                               "config: line %d, offset %zu: nested deeper than %u levels", line,
                               off, JSON_MAX_DEPTH);
    return ota32_diag_fail(diag, OTA32_ERR_CONFIG, line, (long)off,
                           "config: line %d, offset %zu: not valid JSON", line, off);
}

int ota32_config_parse(const char *json, size_t len, const ota32_alloc_ops *alloc,
                       ota32_ota_config *out, ota32_diag *diag)
{
    if (!json || !out || !alloc || !alloc->malloc || !alloc->free)
        return OTA32_ERR_INVALID_ARG;
    if (len > OTA32_CONFIG_TEXT_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "config: %zu bytes, at most %u", len,
                               OTA32_CONFIG_TEXT_MAX);
    /* The text ends at a NUL, as a C string would. */
    const char *nul = memchr(json, '\0', len);
    if (nul)
        len = (size_t)(nul - json);
    size_t end = 0, err = 0;
    bool deep = false;
    if (!json_validate(json, len, &end, &err, &deep))
        return syntax_error(json, len, err, deep, diag);
    /* Anything but whitespace after the value is an error too. */
    size_t used = end;
    while (used < len && (json[used] == ' ' || json[used] == '\t' || json[used] == '\r' ||
                          json[used] == '\n'))
        used++;
    if (used < len)
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, (long)used,
                               "config: offset %zu: unexpected data after the JSON value", used);
    json_cur c = {json, len, 0};
    if (json_peek(&c) != '{')
        return ota32_diag_fail(diag, OTA32_ERR_CONFIG, 0, -1, "config: not a JSON object");
    return find_service(&c, alloc, out, diag);
}
