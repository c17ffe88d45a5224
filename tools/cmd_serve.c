/* ota32 serve: command-line front end of the firmware server (server/). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "serve.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ota32 serve [FILE ...] [--dir DIR] [--port 3001] [--bind ADDR]\n"
            "                   [--tls-cert CERT --tls-key KEY] [--partitions CSV]\n"
            "                   [--config machine.json] [--version V] [--force]\n"
            "                   [--idle-timeout S] [--quiet]\n"
            "\n"
            "Serve ESP32 app images to devices over HTTP/2: h2c with prior knowledge on\n"
            "plain TCP (what a device speaks for http:// URLs), h2 over TLS with ALPN, and\n"
            "HTTP/1.1 for other clients. Each FILE is served at /<basename>; GET and HEAD,\n"
            "single byte ranges, ETag, Last-Modified and If-Range.\n"
            "\n"
            "Every file is checked first: a merged image (bootloader + partition table +\n"
            "app, for `make flash-esp32-bin`) or anything that is not a valid app image is\n"
            "refused; host the app image from `make build-esp32-ota`.\n"
            "\n"
            "  FILE               app image to serve (several allowed)\n"
            "  --dir DIR          also serve the regular files under DIR (no symlinks out)\n"
            "  --port N           TCP port (default 3001; 0 picks a free one)\n"
            "  --bind ADDR        listen address (default 0.0.0.0)\n"
            "  --tls-cert C, --tls-key K   serve https (PEM certificate chain and key)\n"
            "  --partitions CSV   refuse images larger than the smallest ota_N partition\n"
            "  --require-signed   refuse images without Secure Boot v2 signature blocks\n"
            "                     made over their bytes (`ota32 image sign`)\n"
            "  --config FILE      serve this machine config at /config (re-read on change)\n"
            "  --version V        version for the printed service block (default: the\n"
            "                     image's app descriptor)\n"
            "  --force            serve refused files anyway, with a warning\n"
            "  --idle-timeout S   close connections idle for S seconds (default 60)\n"
            "  --quiet            no access log\n"
            "\n"
            "Prints \"listening on ...\" lines, the URL for each file on this machine's LAN\n"
            "addresses, and the service block to paste into the machine config. Access log\n"
            "on stderr. SIGINT/SIGTERM finish open transfers, then print a summary.\n");
}

int cmd_serve(int argc, char **argv)
{
    if (util_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    ota32_serve_opts o = {.port = 3001, .out = stdout, .log = stderr};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t v;
#define TAKE()                                                                         \
    do {                                                                               \
        if (!next) {                                                                   \
            fprintf(stderr, "ota32: serve: %s needs a value\n", a);                    \
            return 2;                                                                  \
        }                                                                              \
        i++;                                                                           \
    } while (0)
        if (!strcmp(a, "--dir")) {
            TAKE();
            o.dir = next;
        } else if (!strcmp(a, "--port")) {
            TAKE();
            if (!util_parse_uint(next, 65535, &v)) {
                fprintf(stderr, "ota32: serve: --port %s: expected 0..65535\n", next);
                return 2;
            }
            o.port = (uint16_t)v;
        } else if (!strcmp(a, "--bind")) {
            TAKE();
            o.bind = next;
        } else if (!strcmp(a, "--tls-cert")) {
            TAKE();
            o.tls_cert = next;
        } else if (!strcmp(a, "--tls-key")) {
            TAKE();
            o.tls_key = next;
        } else if (!strcmp(a, "--partitions")) {
            TAKE();
            o.partitions_csv = next;
        } else if (!strcmp(a, "--config")) {
            TAKE();
            o.config = next;
        } else if (!strcmp(a, "--version")) {
            TAKE();
            o.version = next;
        } else if (!strcmp(a, "--idle-timeout")) {
            TAKE();
            if (!util_parse_uint(next, 86400, &v) || v == 0) {
                fprintf(stderr, "ota32: serve: --idle-timeout %s: expected 1..86400 s\n",
                        next);
                return 2;
            }
            o.idle_timeout_s = (unsigned)v;
        } else if (!strcmp(a, "--force")) {
            o.force = true;
        } else if (!strcmp(a, "--require-signed")) {
            o.require_signed = true;
        } else if (!strcmp(a, "--quiet")) {
            o.quiet = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ota32: serve: unknown option %s (see --help)\n", a);
            return 2;
        } else {
            if (o.nfiles >= OTA32_SERVE_MAX_FILES) {
                fprintf(stderr, "ota32: serve: at most %u files\n", OTA32_SERVE_MAX_FILES);
                return 2;
            }
            o.files[o.nfiles++] = a;
        }
#undef TAKE
    }
    if (!o.nfiles && !o.dir && !o.config) {
        fprintf(stderr, "ota32: serve: nothing to serve: give FILE, --dir or --config\n");
        usage(stderr);
        return 2;
    }
    if (!o.tls_cert != !o.tls_key) {
        fprintf(stderr, "ota32: serve: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (o.version && strlen(o.version) > 128) {
        fprintf(stderr, "ota32: serve: --version has %zu characters; devices accept at "
                        "most 128\n", strlen(o.version));
        return 2;
    }
    return ota32_serve_run(&o);
}
