/* `ota32 image elf2image`: ELF -> ESP32 image, as esptool elf2image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "elf2image.h"
#include "posix_hash.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: ota32 image elf2image ELF [-o OUT] [options]\n"
           "\n"
           "Convert an ESP-IDF ELF file into an ESP32 app or bootloader image, byte for\n"
           "byte what `esptool --chip esp32 elf2image` (v5.3.1) writes.\n"
           "\n"
           "options:\n"
           "  -o, --output OUT          output file (default: ELF with .bin extension)\n"
           "  --chip esp32              target chip (only esp32)\n"
           "  --flash-mode MODE         qio (default), qout, dio, dout\n"
           "  --flash-freq FREQ         80m, 40m, 26m, 20m (default: code 0 = 40m)\n"
           "  --flash-size SIZE         1MB (default), 2MB, 4MB ... 128MB\n"
           "  --elf-sha256-offset N     write the ELF file's SHA-256 at image offset N\n"
           "                            (ESP-IDF apps: 0xb0; must hold zeros)\n"
           "  --min-rev N               legacy minimum chip revision (0-255)\n"
           "  --min-rev-full N          minimum chip revision, major*100+minor (default 0)\n"
           "  --max-rev-full N          maximum chip revision (default 65535)\n"
           "  --secure-pad              pad for secure boot v1 signing\n"
           "  --secure-pad-v2           pad so a secure boot v2 signature sector starts on\n"
           "                            the next 64 KB boundary\n"
           "  --dont-append-digest      no SHA-256 after the checksum\n"
           "  --use-segments            use ELF program headers instead of sections\n"
           "  --pad-to-size SIZE        pad the image with 0xFF to a multiple of SIZE\n"
           "\n"
           "Example (what ESP-IDF's build runs for an app):\n"
           "  ota32 image elf2image app.elf -o app.bin --flash-mode dio --flash-freq 40m \\\n"
           "      --flash-size 4MB --elf-sha256-offset 0xb0 --min-rev-full 0 --max-rev-full 399\n");
}

/* Options that take a value (the others are flags or unknown). */
static const char *const value_options[] = {"-o",
                                            "--output",
                                            "--chip",
                                            "-c",
                                            "--flash-mode",
                                            "-fm",
                                            "--flash-freq",
                                            "-ff",
                                            "--flash-size",
                                            "-fs",
                                            "--elf-sha256-offset",
                                            "--min-rev",
                                            "-r",
                                            "--min-rev-full",
                                            "--max-rev-full",
                                            "--pad-to-size"};

static char *default_output(const char *elf)
{
    size_t n = strlen(elf);
    const char *slash = strrchr(elf, '/'), *dot = strrchr(elf, '.');
    if (dot && (!slash || dot > slash))
        n = (size_t)(dot - elf);
    char *out = malloc(n + 5);
    if (out) {
        memcpy(out, elf, n);
        memcpy(out + n, ".bin", 5);
    }
    return out;
}

int cmd_image_elf2image(int argc, char **argv)
{
    if (util_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    ota32_elf2image_opts opts;
    ota32_elf2image_opts_init(&opts);
    opts.hash = ota32_posix_hash();
    const char *input = NULL, *output = NULL;
    int size_code = 0, freq_code = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !arg[1]) {
            if (input) {
                fprintf(stderr, "ota32: elf2image: unexpected argument '%s'\n", arg);
                return 2;
            }
            input = arg;
            continue;
        }
        char name[40];
        const char *val;
        util_esptool_option(name, sizeof name, arg, &val);
        /* Flags. */
        if (!strcmp(name, "--secure-pad-v2") || !strcmp(name, "--secure-pad") ||
            !strcmp(name, "--dont-append-digest") || !strcmp(name, "--use-segments")) {
            if (val) {
                fprintf(stderr, "ota32: elf2image: %s takes no value\n", name);
                return 2;
            }
            if (!strcmp(name, "--secure-pad-v2"))
                opts.secure_pad = OTA32_SECURE_PAD_V2;
            else if (!strcmp(name, "--secure-pad"))
                opts.secure_pad = opts.secure_pad ? opts.secure_pad : OTA32_SECURE_PAD_V1;
            else if (!strcmp(name, "--dont-append-digest"))
                opts.append_digest = false;
            else
                opts.use_segments = true;
            continue;
        }
        /* Options with a value. */
        val = util_esptool_value("elf2image", value_options,
                                 sizeof value_options / sizeof value_options[0], name, arg, val,
                                 argc, argv, &i);
        if (!val)
            return 2;
        uint64_t v;
        if (!strcmp(name, "-o") || !strcmp(name, "--output")) {
            output = val;
        } else if (!strcmp(name, "--chip") || !strcmp(name, "-c")) {
            if (strcmp(val, "esp32") != 0) {
                fprintf(stderr, "ota32: elf2image: chip '%s' is not supported (only esp32)\n", val);
                return 2;
            }
        } else if (!strcmp(name, "--flash-mode") || !strcmp(name, "-fm")) {
            int c = ota32_esp32_flash_mode_code(val);
            if (c < 0) {
                fprintf(stderr,
                        "ota32: elf2image: --flash-mode '%s': choose from qio, qout, "
                        "dio, dout\n",
                        val);
                return 2;
            }
            opts.flash_mode = (uint8_t)c;
        } else if (!strcmp(name, "--flash-freq") || !strcmp(name, "-ff")) {
            freq_code = ota32_esp32_flash_freq_code(val);
            if (freq_code < 0) {
                fprintf(stderr,
                        "ota32: elf2image: flash frequency '%s' is not supported by "
                        "ESP32 (80m, 40m, 26m, 20m)\n",
                        val);
                return 2;
            }
        } else if (!strcmp(name, "--flash-size") || !strcmp(name, "-fs")) {
            size_code = ota32_esp32_flash_size_code(val);
            if (size_code < 0) {
                fprintf(stderr,
                        "ota32: elf2image: flash size '%s' is not supported by ESP32 "
                        "(1MB, 2MB, 4MB, 8MB, 16MB, 32MB, 64MB, 128MB)\n",
                        val);
                return 2;
            }
        } else if (!strcmp(name, "--elf-sha256-offset")) {
            if (!util_parse_uint(val, UINT32_MAX, &v)) {
                fprintf(stderr, "ota32: elf2image: bad --elf-sha256-offset '%s'\n", val);
                return 2;
            }
            opts.elf_sha256_offset = (uint32_t)v;
        } else if (!strcmp(name, "--min-rev") || !strcmp(name, "-r")) {
            if (!util_parse_uint(val, 255, &v)) {
                fprintf(stderr, "ota32: elf2image: --min-rev '%s' is not in 0..255\n", val);
                return 2;
            }
            opts.min_rev = (uint8_t)v;
        } else if (!strcmp(name, "--min-rev-full") || !strcmp(name, "--max-rev-full")) {
            if (!util_parse_uint(val, 65535, &v)) {
                fprintf(stderr, "ota32: elf2image: %s '%s' is not in 0..65535\n", name, val);
                return 2;
            }
            if (!strcmp(name, "--min-rev-full"))
                opts.min_rev_full = (uint16_t)v;
            else
                opts.max_rev_full = (uint16_t)v;
        } else if (!strcmp(name, "--pad-to-size")) {
            if (!util_parse_size(val, &v) || v == 0 || v > UINT32_MAX) {
                fprintf(stderr, "ota32: elf2image: bad --pad-to-size '%s'\n", val);
                return 2;
            }
            opts.pad_to_size = (uint32_t)v;
        } else {
            fprintf(stderr, "ota32: elf2image: unknown option '%s' (see --help)\n", arg);
            return 2;
        }
    }
    if (!input) {
        usage(stderr);
        return 2;
    }
    opts.flash_size_freq = (uint8_t)(size_code | freq_code);

    size_t elf_len;
    uint8_t *elf = util_read_file(input, &elf_len);
    if (!elf)
        return 1;
    char *auto_out = output ? NULL : default_output(input);
    if (!output)
        output = auto_out;
    uint8_t *img = NULL;
    size_t img_len = 0;
    ota32_diag diag;
    int rc =
        output ? ota32_elf2image(elf, elf_len, &opts, &img, &img_len, &diag) : OTA32_ERR_NO_MEM;
    free(elf);
    if (rc != OTA32_OK) {
        util_report(input, rc, output ? &diag : NULL);
        free(auto_out);
        return 1;
    }
    rc = util_write_file(output, img, img_len);
    if (rc == OTA32_OK)
        printf("Wrote 0x%zx bytes to %s (ESP32 image, %u segments)\n", img_len, output, img[1]);
    free(img);
    free(auto_out);
    return rc == OTA32_OK ? 0 : 1;
}
