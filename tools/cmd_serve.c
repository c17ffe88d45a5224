/* ota32 serve: command-line front end of the firmware server (server/). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "serve.h"
#include "util.h"

enum {
    S_DIR,
    S_PORT,
    S_BIND,
    S_TLS_CERT,
    S_TLS_KEY,
    S_PARTITIONS,
    S_CONFIG,
    S_VERSION,
    S_FORCE,
    S_REQUIRE_SIGNED,
    S_IDLE,
    S_QUIET,
    S_JSON,
    S_COUNT
};

static const opt_def serve_opts[S_COUNT] = {
    [S_DIR] = {"--dir", OPT_STRING, "DIR", "also serve the regular files under DIR (no symlinks out)",
               0, 0, NULL, "file"},
    [S_PORT] = {"-p --port", OPT_NUMBER, "N", "TCP port (default 3001; 0 picks a free one)", 0,
                65535, NULL, NULL},
    [S_BIND] = {"--bind", OPT_STRING, "ADDR", "listen address (default 0.0.0.0)", 0, 0, NULL, NULL},
    [S_TLS_CERT] = {"--tls-cert", OPT_STRING, "CERT",
                    "serve https: PEM certificate chain (with --tls-key)", 0, 0, NULL, "file"},
    [S_TLS_KEY] = {"--tls-key", OPT_STRING, "KEY", "the certificate's PEM private key", 0, 0, NULL,
                   "file"},
    [S_PARTITIONS] = {"--partitions", OPT_STRING, "CSV",
                      "refuse images larger than the smallest ota_N partition", 0, 0, NULL, "file"},
    [S_CONFIG] = {"--config", OPT_STRING, "FILE",
                  "serve this machine config at /config (re-read on change)", 0, 0, NULL, "file"},
    [S_VERSION] = {"--version", OPT_STRING, "V",
                   "version for the printed service block (default: the\n"
                   "image's app descriptor; at most 128 characters)",
                   0, 0, NULL, NULL},
    [S_FORCE] = {"--force", OPT_FLAG, NULL, "serve refused files anyway, with a warning", 0, 0, NULL,
                 NULL},
    [S_REQUIRE_SIGNED] = {"--require-signed", OPT_FLAG, NULL,
                          "refuse images without Secure Boot v2 signature blocks\n"
                          "made over their bytes (`ota32 image sign`)",
                          0, 0, NULL, NULL},
    [S_IDLE] = {"--idle-timeout", OPT_NUMBER, "SECONDS",
                "close connections idle this long (default 60)", 1, 86400, NULL, NULL},
    [S_QUIET] = {"-q --quiet", OPT_FLAG, NULL, "no access log", 0, 0, NULL, NULL},
    [S_JSON] = {"--json", OPT_FLAG, NULL,
                "once listening, print one JSON line on stdout (scheme,\n"
                "port, addresses, each file's URLs and version, config\n"
                "URL); the text goes to stderr",
                0, 0, NULL, NULL},
};

static const opt_cmd serve_cmd = {
    "serve", "[FILE ...] [--dir DIR] [--port 3001] [--config machine.json] [options]",
    "Serve ESP32 app images to devices over HTTP/2: h2c with prior knowledge on\n"
    "plain TCP (what a device speaks for http:// URLs), h2 over TLS with ALPN, and\n"
    "HTTP/1.1 for other clients. Each FILE is served at /<basename>; GET and HEAD,\n"
    "single byte ranges, ETag, Last-Modified and If-Range.\n"
    "\n"
    "Every file is checked first: a merged image (bootloader + partition table +\n"
    "app, for `make flash-esp32-bin`) or anything that is not a valid app image is\n"
    "refused; host the app image from `make build-esp32-ota`.",
    serve_opts, S_COUNT, 0, OTA32_SERVE_MAX_FILES,
    "Prints \"listening on ...\" lines, the URL for each file on this machine's LAN\n"
    "addresses, and the service block to paste into the machine config. Access log\n"
    "on stderr. SIGINT/SIGTERM finish open transfers, then print a summary.",
    false};

static int cmd_serve(int argc, char **argv)
{
    opt_value v[S_COUNT];
    const char *pos[OTA32_SERVE_MAX_FILES];
    unsigned npos;
    int prc = opts_parse(&serve_cmd, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    ota32_serve_opts o = {.port = 3001, .out = stdout, .log = stderr};
    for (unsigned i = 0; i < npos; i++)
        o.files[o.nfiles++] = pos[i];
    o.dir = v[S_DIR].str;
    if (v[S_PORT].set)
        o.port = (uint16_t)v[S_PORT].num;
    o.bind = v[S_BIND].str;
    o.tls_cert = v[S_TLS_CERT].str;
    o.tls_key = v[S_TLS_KEY].str;
    o.partitions_csv = v[S_PARTITIONS].str;
    o.config = v[S_CONFIG].str;
    o.version = v[S_VERSION].str;
    o.force = v[S_FORCE].set;
    o.require_signed = v[S_REQUIRE_SIGNED].set;
    o.idle_timeout_s = (unsigned)v[S_IDLE].num;
    o.quiet = v[S_QUIET].set;
    if (v[S_JSON].set) {
        o.json = stdout;
        o.out = stderr;
    }
    if (!o.nfiles && !o.dir && !o.config)
        return opts_usage_error(&serve_cmd, "nothing to serve: give FILE, --dir or --config");
    if (!o.tls_cert != !o.tls_key)
        return opts_usage_error(&serve_cmd, "--tls-cert and --tls-key go together");
    if (o.version && strlen(o.version) > 128)
        return opts_usage_error(&serve_cmd,
                                "--version has %zu characters; devices accept at most 128",
                                strlen(o.version));
    return ota32_serve_run(&o);
}

static const opt_cmd *const serve_cmds[] = {&serve_cmd};

const opt_group serve_group = {"serve", "serve app images over HTTP/2 (and HTTP/1.1)", serve_cmds,
                               1, cmd_serve};
