/* ota32_serve_run: checks, listeners, the banner a developer copies from,
 * signals and the shutdown summary. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <dirent.h>

#include <openssl/err.h>

#include "json_out.h"
#include "serve_internal.h"

#define MAX_ADDRS 8
#define ADDR_MAX (INET6_ADDRSTRLEN + 2) /* "[v6]" */

static bool is_private_v4(uint32_t a)
{
    return (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1u) || (a >> 16) == (192u << 8 | 168u);
}

/* The IPv4 addresses a device could reach this machine at: the private
 * LAN ones (10/8, 172.16/12, 192.168/16) when there are any, else every
 * other address that is not loopback or link-local. *private_out tells
 * which kind was found. */
static unsigned device_addresses(char out[][ADDR_MAX], unsigned max, bool *private_out)
{
    struct ifaddrs *ifs = NULL;
    unsigned n = 0;
    *private_out = false;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (int want_private = 1; want_private >= 0 && n == 0; want_private--) {
        for (struct ifaddrs *i = ifs; i && n < max; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
                !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
                continue;
            const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)i->ifa_addr;
            uint32_t a = ntohl(in->sin_addr.s_addr);
            if ((a >> 24) == 127 || (a >> 16) == (169u << 8 | 254u) || a == 0 ||
                is_private_v4(a) != (want_private == 1))
                continue;
            char t[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &in->sin_addr, t, sizeof t);
            bool dup = false;
            for (unsigned j = 0; j < n; j++)
                dup = dup || !strcmp(out[j], t);
            if (!dup)
                snprintf(out[n++], ADDR_MAX, "%s", t);
        }
        if (n > 0)
            *private_out = want_private == 1;
    }
    freeifaddrs(ifs);
    return n;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char ours[] = "\x02h2\x08http/1.1";
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* no common protocol: HTTP/1.1 without ALPN */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *tls_context(const ota32_serve_opts *o, char *msg, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *what = "cannot create a TLS context";
    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); /* RFC 9113 section 9.2 */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    what = o->tls_cert;
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1)
        goto fail;
    what = o->tls_key;
    if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    return ctx;
fail:;
    char err[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, err, sizeof err);
    snprintf(msg, cap, "%s: %s", what, err[0] ? err : "TLS setup failed");
    SSL_CTX_free(ctx);
    return NULL;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int addrlen, void *arg)
{
    (void)l;
    serve_conn_accept(arg, fd, addr, addrlen);
}

void serve_accept_enable(server *s, bool on)
{
    for (unsigned i = 0; i < s->nlisteners; i++) {
        if (on)
            evconnlistener_enable(s->listeners[i]);
        else
            evconnlistener_disable(s->listeners[i]);
    }
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    server *s = arg;
    if (!s->accept_full)
        serve_accept_enable(s, true);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void)l;
    server *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    /* Typically out of descriptors: the pending connection stays in the
     * backlog and would wake the loop again at once, so stop accepting for
     * a moment instead of spinning (and logging) at full speed. */
    fprintf(s->opts->log, "ota32 serve: accept: %s; pausing for 100 ms\n",
            evutil_socket_error_to_string(e));
    serve_accept_enable(s, false);
    struct timeval tv = {.tv_usec = 100000};
    if (!s->accept_pause)
        s->accept_pause = evtimer_new(s->base, accept_resume_cb, s);
    if (s->accept_pause)
        event_add(s->accept_pause, &tv);
}

static void summary(server *s)
{
    uint64_t ms = serve_now_ms() - s->start_ms;
    fprintf(s->opts->out,
            "ota32 serve: stopped after %" PRIu64 ".%01" PRIu64 " s: %" PRIu64
            " requests (2xx %" PRIu64 ", 3xx %" PRIu64 ", 4xx %" PRIu64 ", 5xx %" PRIu64
            "), %" PRIu64 " body bytes, %" PRIu64 " connections (h2 %" PRIu64 ", h2c %" PRIu64
            ", http/1.1 %" PRIu64 ")\n",
            ms / 1000, (ms % 1000) / 100, s->stats.requests, s->stats.by_class[2],
            s->stats.by_class[3], s->stats.by_class[4], s->stats.by_class[5], s->stats.bytes,
            s->stats.conns, s->stats.conns_h2, s->stats.conns_h2c, s->stats.conns_h1);
    fflush(s->opts->out);
}

static void stop_listening(server *s)
{
    for (unsigned i = 0; i < s->nlisteners; i++)
        evconnlistener_free(s->listeners[i]);
    s->nlisteners = 0;
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    server *s = arg;
    fprintf(s->opts->log, "ota32 serve: closing %u connections still open after %d s\n",
            s->nconns, SERVE_DRAIN_S);
    serve_conns_free_all(s);
    event_base_loopexit(s->base, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    server *s = arg;
    if (s->draining) { /* a second signal: stop now */
        serve_conns_free_all(s);
        event_base_loopexit(s->base, NULL);
        return;
    }
    s->draining = true;
    fprintf(s->opts->log, "ota32 serve: %s: finishing %u open connections\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", s->nconns);
    stop_listening(s);
    serve_conns_drain(s);
    if (s->nconns == 0) {
        event_base_loopexit(s->base, NULL);
        return;
    }
    struct timeval tv = {.tv_sec = SERVE_DRAIN_S};
    s->drain_timer = evtimer_new(s->base, drain_timeout_cb, s);
    if (s->drain_timer)
        event_add(s->drain_timer, &tv);
}

/* Bind every address the --bind name resolves to. Returns the port bound
 * (the same for all), or 0 with a message. */
static uint16_t listen_all(server *s, char *bound, size_t bcap, char *msg, size_t cap)
{
    const ota32_serve_opts *o = s->opts;
    const char *host = o->bind ? o->bind : "0.0.0.0";
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(msg, cap, "--bind %s: %s", host, gai_strerror(rc));
        return 0;
    }
    uint16_t chosen = o->port;
    for (struct addrinfo *ai = res; ai && s->nlisteners < SERVE_MAX_LISTENERS; ai = ai->ai_next) {
        if (chosen && ai->ai_family == AF_INET)
            ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_port = htons(chosen);
        else if (chosen && ai->ai_family == AF_INET6)
            ((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_port = htons(chosen);
        struct evconnlistener *l = evconnlistener_new_bind(
            s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
            ai->ai_addr, (int)ai->ai_addrlen);
        if (!l) {
            snprintf(msg, cap, "cannot listen on %s port %s: %s", host, port,
                     strerror(errno));
            freeaddrinfo(res);
            return 0;
        }
        evconnlistener_set_error_cb(l, accept_error_cb);
        s->listeners[s->nlisteners++] = l;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &sl);
        char a[INET6_ADDRSTRLEN] = "?";
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
            chosen = ntohs(in->sin_port);
            snprintf(bound, bcap, "%s", a);
        } else {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
            chosen = ntohs(in6->sin6_port);
            snprintf(bound, bcap, "[%s]", a);
        }
        fprintf(o->out, "ota32 serve: listening on %s://%s:%u (%s)\n", s->ssl ? "https" : "http",
                bound, (unsigned)chosen,
                s->ssl ? "h2 and http/1.1 by ALPN" : "h2c prior knowledge, http/1.1");
    }
    freeaddrinfo(res);
    return chosen;
}

/* Check one file at start-up. Returns false when it must not be served. */
static bool check_at_start(server *s, const char *path, serve_verdict *out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        memset(out, 0, sizeof *out);
        out->err = OTA32_ERR_IO;
        snprintf(out->msg, sizeof out->msg, "%s", strerror(errno));
        return false;
    }
    const serve_verdict *v = serve_files_verdict(s, fd, &st);
    close(fd);
    if (!v) {
        memset(out, 0, sizeof *out);
        out->err = OTA32_ERR_NO_MEM;
        snprintf(out->msg, sizeof out->msg, "out of memory");
        return false;
    }
    *out = *v;
    return out->err == 0;
}

/* The URL of a served path in the service block: under --public-url, or
 * on the chosen address. */
static void device_url(server *s, const char *base, const char *url_path, char *out, size_t cap)
{
    const char *pub = s->opts->public_url;
    if (pub) {
        size_t n = strlen(pub);
        while (n > 0 && pub[n - 1] == '/')
            n--;
        snprintf(out, cap, "%.*s%s", (int)n, pub, url_path);
    } else {
        snprintf(out, cap, "%s%s", base, url_path);
    }
}

static void print_file(server *s, const char *url_path, const serve_verdict *v,
                       char addrs[][ADDR_MAX], unsigned naddr, uint16_t port, const char *base)
{
    FILE *f = s->opts->out;
    const char *scheme = s->ssl ? "https" : "http";
    const char *chip = ota32_chip_name(v->chip_id);
    if (v->has_desc)
        fprintf(f, "\n%s: %s app \"%s\", version \"%s\"\n", url_path + 1, chip ? chip : "?",
                v->project, v->version);
    else
        fprintf(f, "\n%s:\n", url_path + 1);
    char url[SERVE_PATH_MAX + 1024];
    if (s->opts->public_url) {
        device_url(s, base, url_path, url, sizeof url);
        fprintf(f, "  %s\n", url);
    }
    for (unsigned i = 0; i < naddr; i++)
        fprintf(f, "  %s://%s:%u%s\n", scheme, addrs[i], (unsigned)port, url_path);
    const char *version = s->opts->version ? s->opts->version : v->version;
    device_url(s, base, url_path, url, sizeof url);
    fprintf(f, "service for the machine config (\"services\" list):\n");
    fprintf(f, "{\n  \"name\": \"OTA\",\n  \"namespace\": \"rdk\",\n  \"type\": \"generic\",\n"
               "  \"model\": \"ota_service\",\n  \"attributes\": {\n    \"url\": ");
    ota32_json_str(f, url);
    fprintf(f, ",\n    \"version\": ");
    ota32_json_str(f, version);
    fprintf(f, "\n  }\n}\n");
}

/* One line of JSON once the server listens: what a script needs to use it. */
static void print_ready_json(server *s, const serve_verdict *verdicts, char addrs[][ADDR_MAX],
                             unsigned naddr, const char *bound, uint16_t port, const char *base)
{
    FILE *f = s->opts->json;
    const char *scheme = s->ssl ? "https" : "http";
    fprintf(f, "{\"scheme\": \"%s\", \"port\": %u, \"bind\": ", scheme, (unsigned)port);
    ota32_json_str(f, bound);
    fprintf(f, ", \"addresses\": [");
    for (unsigned i = 0; i < naddr; i++) {
        fprintf(f, "%s", i ? ", " : "");
        ota32_json_str(f, addrs[i]);
    }
    fprintf(f, "], \"files\": [");
    for (unsigned i = 0; i < s->nfiles; i++) {
        const char *version = s->opts->version ? s->opts->version : verdicts[i].version;
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        ota32_json_str(f, s->files[i].url + 1);
        fprintf(f, ", \"version\": ");
        ota32_json_str(f, verdicts[i].has_desc || s->opts->version ? version : "");
        fprintf(f, ", \"urls\": [");
        for (unsigned k = 0; k < naddr; k++) {
            char url[SERVE_PATH_MAX + ADDR_MAX + 32];
            snprintf(url, sizeof url, "%s://%s:%u%s", scheme, addrs[k], (unsigned)port,
                     s->files[i].url);
            fprintf(f, "%s", k ? ", " : "");
            ota32_json_str(f, url);
        }
        /* the URL of the printed service block (--public-url, or urls[0]) */
        char service[SERVE_PATH_MAX + 1024];
        device_url(s, base, s->files[i].url, service, sizeof service);
        fprintf(f, "], \"service_url\": ");
        ota32_json_str(f, service);
        fprintf(f, "}");
    }
    fprintf(f, "]");
    char url[1024 + SERVE_PATH_MAX];
    if (s->dir_real) {
        device_url(s, base, "/", url, sizeof url);
        fprintf(f, ", \"dir_url\": ");
        ota32_json_str(f, url);
    }
    if (s->opts->config) {
        device_url(s, base, "/config", url, sizeof url);
        fprintf(f, ", \"config_url\": ");
        ota32_json_str(f, url);
    }
    fprintf(f, "}\n");
    fflush(f);
}

int ota32_serve_run(const ota32_serve_opts *o)
{
    server *s = calloc(1, sizeof *s);
    if (!s) {
        fprintf(o->log, "ota32: serve: out of memory\n");
        return 1;
    }
    s->opts = o;
    s->idle_s = o->idle_timeout_s ? o->idle_timeout_s : 60;
    s->start_ms = serve_now_ms();
    s->max_per_client = o->max_conns_per_client ? o->max_conns_per_client
                                                : SERVE_CONNS_PER_CLIENT;
    /* Descriptors: SERVE_FDS_RESERVED for listeners, the event loop and
     * the config; open files (a quarter of the rest at most); two per
     * connection (serve_internal.h). */
    struct rlimit rl;
    s->max_conns = o->max_conns && o->max_conns < SERVE_MAX_CONNS ? o->max_conns
                                                                 : SERVE_MAX_CONNS;
    s->open_max = SERVE_OPEN_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rlim_t avail = rl.rlim_cur > SERVE_FDS_RESERVED + 4 ? rl.rlim_cur - SERVE_FDS_RESERVED : 4;
        if (avail / 4 < s->open_max)
            s->open_max = (unsigned)(avail / 4);
        rlim_t conns = (avail - s->open_max) / SERVE_FDS_PER_CONN;
        if (conns < s->max_conns)
            s->max_conns = conns ? (unsigned)conns : 1;
    }
    int status = 1;
    char msg[1024] = "";
    serve_verdict *verdicts = calloc(OTA32_SERVE_MAX_FILES, sizeof *verdicts);
    if (!verdicts || serve_files_init(s, msg, sizeof msg) != 0) {
        fprintf(o->log, "ota32: %s\n", verdicts ? msg : "out of memory");
        goto out;
    }

    bool refused = false;
    for (unsigned i = 0; i < s->nfiles; i++) {
        if (check_at_start(s, s->files[i].path, &verdicts[i]))
            continue;
        fprintf(o->log, "ota32: %s: %s%s\n", o->files[i], o->force ? "warning: " : "",
                verdicts[i].msg);
        refused = refused || !o->force;
    }
    if (refused) {
        fprintf(o->log, "ota32: not serving (--force serves such files anyway)\n");
        goto out;
    }
    if (s->dir_real) {
        /* Report the top level of --dir now; files added later are checked
         * when first requested. */
        DIR *d = opendir(s->dir_real);
        struct dirent *e;
        unsigned seen = 0;
        while (d && (e = readdir(d)) != NULL && seen < 256) {
            if (e->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", s->dir_real, e->d_name);
            struct stat st;
            if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            seen++;
            serve_verdict v;
            if (!check_at_start(s, p, &v))
                fprintf(o->log, "ota32: %s: %s%s\n", p, o->force ? "warning: " : "not served: ",
                        v.msg);
        }
        if (d)
            closedir(d);
    }

    if (o->tls_cert && !(s->ssl = tls_context(o, msg, sizeof msg))) {
        fprintf(o->log, "ota32: %s\n", msg);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    s->base = event_base_new();
    if (!s->base) {
        fprintf(o->log, "ota32: serve: cannot create the event loop\n");
        goto out;
    }
    char bound[INET6_ADDRSTRLEN + 2] = "";
    uint16_t port = listen_all(s, bound, sizeof bound, msg, sizeof msg);
    if (!port) {
        fprintf(o->log, "ota32: %s\n", msg);
        goto out;
    }

    char addrs[MAX_ADDRS][ADDR_MAX];
    unsigned naddr;
    bool wildcard = !o->bind || !strcmp(o->bind, "0.0.0.0") || !strcmp(o->bind, "::");
    const char *scheme = s->ssl ? "https" : "http";
    if (wildcard) {
        bool lan = false;
        naddr = device_addresses(addrs, MAX_ADDRS, &lan);
        if (naddr == 0) {
            fprintf(o->out, "ota32 serve: no network address besides loopback: devices cannot "
                            "reach this machine; 127.0.0.1 is shown for local testing%s\n",
                    o->public_url ? "" : " (--public-url sets the URL devices use)");
            snprintf(addrs[0], sizeof addrs[0], "127.0.0.1");
            naddr = 1;
        } else if (!lan && !o->public_url) {
            fprintf(o->out, "ota32 serve: no private LAN IPv4 address found; the service block "
                            "uses %s, this machine's first address besides loopback (%u "
                            "found, listed below). Devices must be able to reach it, or "
                            "give the URL they use with --public-url\n",
                    addrs[0], naddr);
        }
    } else {
        snprintf(addrs[0], sizeof addrs[0], "%s", bound);
        naddr = 1;
    }
    char base[ADDR_MAX + 32];
    snprintf(base, sizeof base, "%s://%s:%u", scheme, addrs[0], (unsigned)port);
    if (o->public_url)
        fprintf(o->out, "ota32 serve: the service block uses --public-url %s\n", o->public_url);
    else if (naddr > 1)
        fprintf(o->out, "ota32 serve: the service block uses %s (of %u addresses; "
                        "--public-url sets another)\n", addrs[0], naddr);
    for (unsigned i = 0; i < s->nfiles; i++)
        print_file(s, s->files[i].url, &verdicts[i], addrs, naddr, port, base);
    char url[1024 + SERVE_PATH_MAX];
    if (s->dir_real) {
        device_url(s, base, "/<name>", url, sizeof url);
        fprintf(o->out, "\nfiles under %s: %s\n", s->dir_real, url);
    }
    if (o->config) {
        device_url(s, base, "/config", url, sizeof url);
        fprintf(o->out, "\nmachine config %s: %s\n", o->config, url);
    }
    if (s->max_conns < 1000)
        fprintf(o->out, "\nota32 serve: the open-file limit allows %u connections at once "
                        "(others wait); raise it with `ulimit -n`\n", s->max_conns);
    fprintf(o->out, "\nota32 serve: ready (Ctrl-C stops)\n");
    fflush(o->out);
    if (o->json)
        print_ready_json(s, verdicts, addrs, naddr, bound, port, base);

    s->sig_int = evsignal_new(s->base, SIGINT, signal_cb, s);
    s->sig_term = evsignal_new(s->base, SIGTERM, signal_cb, s);
    if (!s->sig_int || !s->sig_term || event_add(s->sig_int, NULL) != 0 ||
        event_add(s->sig_term, NULL) != 0) {
        fprintf(o->log, "ota32: serve: cannot install signal handlers\n");
        goto out;
    }
    event_base_dispatch(s->base);
    summary(s);
    status = 0;
out:
    stop_listening(s);
    serve_conns_free_all(s);
    if (s->sig_int)
        event_free(s->sig_int);
    if (s->sig_term)
        event_free(s->sig_term);
    if (s->drain_timer)
        event_free(s->drain_timer);
    if (s->accept_pause)
        event_free(s->accept_pause);
    if (s->room_timer)
        event_free(s->room_timer);
    if (s->base)
        event_base_free(s->base);
    SSL_CTX_free(s->ssl);
    serve_files_free(s);
    free(verdicts);
    free(s);
    return status;
}
