/* The served set: explicit files, a directory (confined with realpath), the
 * machine config, and the cache of image verdicts keyed by file identity. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "serve_internal.h"

file_key serve_file_key(const struct stat *st)
{
    file_key k = {
        .dev = st->st_dev,
        .ino = st->st_ino,
        .size = st->st_size,
        .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
    };
    return k;
}

static bool key_eq(const file_key *a, const file_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Read the config if it changed since the last look. Returns 0 when the
 * current copy is usable, -1 with a message otherwise. */
static int config_reload(server *s, struct stat *st, char *msg, size_t cap)
{
    const char *path = s->opts->config;
    struct stat now;
    if (stat(path, &now) != 0) {
        snprintf(msg, cap, "%s: %s", path, strerror(errno));
        return s->cfg_body ? 0 : -1;
    }
    file_key k = serve_file_key(&now);
    if (s->cfg_body && key_eq(&k, &s->cfg_key)) {
        *st = now;
        return 0;
    }
    if (S_ISDIR(now.st_mode)) {
        snprintf(msg, cap, "%s: %s", path, strerror(EISDIR));
        return s->cfg_body ? 0 : -1;
    }
    if (!S_ISREG(now.st_mode) || now.st_size > (off_t)SERVE_CONFIG_MAX) {
        snprintf(msg, cap, "%s: not a regular file of at most %u bytes", path,
                 SERVE_CONFIG_MAX);
        return s->cfg_body ? 0 : -1;
    }
    FILE *f = fopen(path, "rb");
    char *body = f ? malloc((size_t)now.st_size + 1) : NULL;
    size_t len = body ? fread(body, 1, (size_t)now.st_size, f) : 0;
    if (f)
        fclose(f);
    if (!body || len != (size_t)now.st_size) {
        free(body);
        snprintf(msg, cap, "%s: cannot read", path);
        return s->cfg_body ? 0 : -1;
    }
    body[len] = 0;
    cJSON *json = cJSON_ParseWithLength(body, len);
    if (!json || !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        free(body);
        if (!key_eq(&k, &s->cfg_bad_key)) {
            s->cfg_bad_key = k;
            snprintf(msg, cap, "%s: not a JSON object%s", path,
                     s->cfg_body ? "; still serving the previous version" : "");
        } else {
            msg[0] = 0;
        }
        return s->cfg_body ? 0 : -1;
    }
    cJSON_Delete(json);
    free(s->cfg_body);
    s->cfg_body = body;
    s->cfg_len = len;
    s->cfg_key = k;
    *st = now;
    return 0;
}

const char *serve_config_body(server *s, size_t *len, struct stat *st)
{
    if (!s->opts->config)
        return NULL;
    char msg[512] = "";
    memset(st, 0, sizeof *st);
    int rc = config_reload(s, st, msg, sizeof msg);
    if (msg[0])
        fprintf(s->opts->log, "ota32 serve: warning: %s\n", msg);
    if (rc != 0 || !s->cfg_body)
        return NULL;
    if (st->st_ino == 0) { /* stat failed but an old copy exists */
        st->st_size = (off_t)s->cfg_len;
        st->st_ino = s->cfg_key.ino;
        st->st_dev = s->cfg_key.dev;
        st->st_mtim.tv_sec = (time_t)(s->cfg_key.mtime_ns / 1000000000);
        st->st_mtim.tv_nsec = (long)(s->cfg_key.mtime_ns % 1000000000);
    }
    *len = s->cfg_len;
    return s->cfg_body;
}

int serve_files_init(server *s, char *msg, size_t cap)
{
    const ota32_serve_opts *o = s->opts;
    for (unsigned i = 0; i < o->nfiles && i < OTA32_SERVE_MAX_FILES; i++) {
        char *real = realpath(o->files[i], NULL);
        struct stat st;
        if (!real || stat(real, &st) != 0) {
            snprintf(msg, cap, "%s: %s", o->files[i], strerror(errno));
            free(real);
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(msg, cap, "%s: %s", o->files[i],
                     S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
            free(real);
            return -1;
        }
        served_file *f = &s->files[s->nfiles];
        int n = snprintf(f->url, sizeof f->url, "/%s", base_name(real));
        char check[SERVE_PATH_MAX];
        if (n <= 1 || (size_t)n >= sizeof f->url ||
            serve_path_decode(f->url, (size_t)n, check, sizeof check) != 0 ||
            strcmp(check, f->url) != 0 || strcmp(f->url, "/config") == 0) {
            snprintf(msg, cap, "%s: this name cannot be served as a URL path", o->files[i]);
            free(real);
            return -1;
        }
        for (unsigned j = 0; j < s->nfiles; j++) {
            if (!strcmp(s->files[j].url, f->url)) {
                snprintf(msg, cap, "%s and %s would both be served at %s", s->files[j].path,
                         real, f->url);
                free(real);
                return -1;
            }
        }
        f->path = real;
        s->nfiles++;
    }
    if (o->dir) {
        struct stat st;
        s->dir_real = realpath(o->dir, NULL);
        if (!s->dir_real || stat(s->dir_real, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(msg, cap, "%s: %s", o->dir,
                     s->dir_real ? "not a directory" : strerror(errno));
            return -1;
        }
    }
    if (o->partitions_csv &&
        serve_limits_from_csv(o->partitions_csv, &s->limits, msg, cap) != 0)
        return -1;
    s->limits.chip_id = o->chip_id;
    s->limits.require_signed = o->require_signed;
    if (o->config) {
        struct stat st;
        msg[0] = 0;
        if (config_reload(s, &st, msg, cap) != 0) {
            if (!msg[0])
                snprintf(msg, cap, "%s: not a JSON object", o->config);
            return -1;
        }
    }
    return 0;
}

void serve_files_free(server *s)
{
    for (unsigned i = 0; i < s->nfiles; i++)
        free(s->files[i].path);
    s->nfiles = 0;
    free(s->dir_real);
    s->dir_real = NULL;
    free(s->cfg_body);
    s->cfg_body = NULL;
    serve_blobs_free(s);
    serve_files_verdicts_free(s);
}

static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return (errno == EMFILE || errno == ENFILE || errno == ENOMEM) ? -2 : -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

int serve_files_open(server *s, const char *path, struct stat *st)
{
    for (unsigned i = 0; i < s->nfiles; i++)
        if (!strcmp(path, s->files[i].url))
            return open_regular(s->files[i].path, st);
    if (!s->dir_real || path[0] != '/')
        return -1;
    /* Join, resolve every symlink, and require the result to stay inside
     * the directory: a link pointing out of it is not served. */
    char joined[PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s%s", s->dir_real, path);
    if (n < 0 || (size_t)n >= sizeof joined)
        return -1;
    char *real = realpath(joined, NULL);
    if (!real)
        return -1;
    size_t dlen = strlen(s->dir_real);
    bool inside = strncmp(real, s->dir_real, dlen) == 0 &&
                  (real[dlen] == '/' || (dlen == 1 && s->dir_real[0] == '/'));
    int fd = inside ? open_regular(real, st) : -1;
    free(real);
    return fd;
}

const serve_verdict *serve_files_verdict(server *s, int fd, const struct stat *st)
{
    if (!s->checks && !(s->checks = calloc(SERVE_CHECK_CACHE, sizeof *s->checks)))
        return NULL;
    file_key k = serve_file_key(st);
    check_entry *slot = NULL;
    s->check_clock++;
    for (unsigned i = 0; i < SERVE_CHECK_CACHE; i++) {
        check_entry *e = &s->checks[i];
        if (e->verdict && key_eq(&e->key, &k)) {
            e->last_use = s->check_clock;
            return e->verdict;
        }
        /* else: the first unused entry, or the least recently used */
        if (!slot || (slot->verdict && (!e->verdict || e->last_use < slot->last_use)))
            slot = e;
    }
    if (!slot->verdict && !(slot->verdict = malloc(sizeof *slot->verdict)))
        return NULL;
    slot->key = k;
    slot->last_use = s->check_clock;
    serve_check_image(fd, (uint64_t)st->st_size, &s->limits, slot->verdict);
    return slot->verdict;
}

void serve_files_verdicts_free(server *s)
{
    if (!s->checks)
        return;
    for (unsigned i = 0; i < SERVE_CHECK_CACHE; i++)
        free(s->checks[i].verdict);
    free(s->checks);
    s->checks = NULL;
}
