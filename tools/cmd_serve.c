/* ota32 serve: command-line front end of the firmware server (server/). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ota32/image.h"
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
    S_PUBLIC_URL,
    S_CHIP,
    S_MAX_CONNS,
    S_MAX_PER_CLIENT,
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
                "close a connection after this long without progress (no\n"
                "request under way, or no body byte sent); PINGs and other\n"
                "frames do not count (default 60)",
                1, 86400, NULL, NULL},
    [S_QUIET] = {"-q --quiet", OPT_FLAG, NULL, "no access log", 0, 0, NULL, NULL},
    [S_JSON] = {"--json", OPT_FLAG, NULL,
                "once listening, print one JSON line on stdout (scheme,\n"
                "port, addresses, each file's URLs, service URL and\n"
                "version, config URL); the text goes to stderr",
                0, 0, NULL, NULL},
    [S_PUBLIC_URL] = {"--public-url", OPT_STRING, "URL",
                      "base URL devices reach this server at (a name, a NAT or\n"
                      "a proxy in between), used in the printed service block",
                      0, 0, NULL, NULL},
    [S_CHIP] = {"--chip", OPT_STRING, "CHIP",
                "the devices' chip: refuse apps for another (default esp32;\n"
                "esp32s2, esp32s3, esp32c3, ..., or any)",
                0, 0, NULL, NULL},
    [S_MAX_CONNS] = {"--max-conns", OPT_NUMBER, "N",
                     "connections served at once (default: what the open-file\n"
                     "limit allows, at most 8192)",
                     1, 100000, NULL, NULL},
    [S_MAX_PER_CLIENT] = {"--max-conns-per-client", OPT_NUMBER, "N",
                          "connections one client address (IPv6: its /64) may hold\n"
                          "(default 32); at the limit, one idle for 0.2 s is closed,\n"
                          "else the new one is refused",
                          1, 100000, NULL, NULL},
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
    "refused, and so is an app for another chip than --chip; host the app image\n"
    "from `make build-esp32-ota`.",
    serve_opts, S_COUNT, 0, OTA32_SERVE_MAX_FILES,
    "Prints \"listening on ...\" lines, the URL for each file on this machine's\n"
    "addresses (private LAN ones when it has any), which one the service block uses,\n"
    "and the service block to paste into the machine config. A refused file is\n"
    "answered 403 with the reason in an ota32-reason header, which devices log.\n"
    "Access log on stderr. SIGINT/SIGTERM finish open transfers, then print a\n"
    "summary.",
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
    o.public_url = v[S_PUBLIC_URL].str;
    o.max_conns = (unsigned)v[S_MAX_CONNS].num;
    o.max_conns_per_client = (unsigned)v[S_MAX_PER_CLIENT].num;
    const char *chip = v[S_CHIP].str;
    if (chip && !strcmp(chip, "any"))
        o.chip_id = OTA32_CHIP_ANY;
    else if (chip && ota32_chip_from_name(chip, &o.chip_id) != 0)
        return opts_usage_error(&serve_cmd,
                                "--chip %s: unknown chip (esp32, esp32s2, esp32s3, "
                                "esp32c3, ..., or any)",
                                chip);
    if (o.public_url && ((strncmp(o.public_url, "http://", 7) &&
                          strncmp(o.public_url, "https://", 8)) ||
                         strpbrk(o.public_url, "?# \t") || strlen(o.public_url) > 512))
        return opts_usage_error(&serve_cmd,
                                "--public-url %s: expected http://HOST[:PORT][/PATH] or "
                                "https://..., without a query",
                                o.public_url);
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
