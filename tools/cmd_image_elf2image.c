/* `ota32 image elf2image`: ELF -> ESP32 image, as esptool elf2image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "elf2image.h"
#include "posix_hash.h"
#include "opts.h"
#include "util.h"

enum {
    E_OUTPUT,
    E_CHIP,
    E_MODE,
    E_FREQ,
    E_SIZE,
    E_SHA_OFFSET,
    E_MIN_REV,
    E_MIN_REV_FULL,
    E_MAX_REV_FULL,
    E_SECURE_PAD,
    E_SECURE_PAD_V2,
    E_NO_DIGEST,
    E_USE_SEGMENTS,
    E_PAD_TO_SIZE,
    E_COUNT
};

static const opt_def elf_opts[E_COUNT] = {
    [E_OUTPUT] = {"-o --output", OPT_STRING, "OUT", "output file (default: ELF with .bin extension)",
                  0, 0, NULL, "file"},
    [E_CHIP] = {"-c --chip", OPT_STRING, "CHIP", "target chip (only esp32)", 0, 0, "esp32", NULL},
    [E_MODE] = {"-fm --flash-mode", OPT_STRING, "MODE", "qio (default), qout, dio, dout", 0, 0,
                "qio qout dio dout", NULL},
    [E_FREQ] = {"-ff --flash-freq", OPT_STRING, "FREQ", "80m, 40m, 26m, 20m (default: code 0 = 40m)",
                0, 0, NULL, NULL},
    [E_SIZE] = {"-fs --flash-size", OPT_STRING, "SIZE", "1MB (default), 2MB, 4MB ... 128MB", 0, 0,
                NULL, NULL},
    [E_SHA_OFFSET] = {"--elf-sha256-offset", OPT_NUMBER, "N",
                      "write the ELF file's SHA-256 at image offset N\n"
                      "(ESP-IDF apps: 0xb0; must hold zeros)",
                      0, UINT32_MAX, NULL, NULL},
    [E_MIN_REV] = {"-r --min-rev", OPT_NUMBER, "N", "legacy minimum chip revision (0-255)", 0, 255,
                   NULL, NULL},
    [E_MIN_REV_FULL] = {"--min-rev-full", OPT_NUMBER, "N",
                        "minimum chip revision, major*100+minor (default 0)", 0, 65535, NULL, NULL},
    [E_MAX_REV_FULL] = {"--max-rev-full", OPT_NUMBER, "N", "maximum chip revision (default 65535)",
                        0, 65535, NULL, NULL},
    [E_SECURE_PAD] = {"--secure-pad", OPT_FLAG, NULL, "pad for secure boot v1 signing", 0, 0, NULL,
                      NULL},
    [E_SECURE_PAD_V2] = {"--secure-pad-v2", OPT_FLAG, NULL,
                         "pad so a secure boot v2 signature sector starts on\n"
                         "the next 64 KB boundary",
                         0, 0, NULL, NULL},
    [E_NO_DIGEST] = {"--dont-append-digest", OPT_FLAG, NULL, "no SHA-256 after the checksum", 0, 0,
                     NULL, NULL},
    [E_USE_SEGMENTS] = {"--use-segments", OPT_FLAG, NULL,
                        "use ELF program headers instead of sections", 0, 0, NULL, NULL},
    [E_PAD_TO_SIZE] = {"--pad-to-size", OPT_SIZE, "SIZE",
                       "pad the image with 0xFF to a multiple of SIZE", 1, UINT32_MAX, NULL, NULL},
};

const opt_cmd image_elf2image_cmd = {
    "image elf2image", "ELF [-o OUT] [options]",
    "Convert an ESP-IDF ELF file into an ESP32 app or bootloader image, byte for\n"
    "byte what `esptool --chip esp32 elf2image` (v5.3.1) writes. As in esptool,\n"
    "--flash_mode is --flash-mode.",
    elf_opts, E_COUNT, 1, 1,
    "Example (what ESP-IDF's build runs for an app):\n"
    "  ota32 image elf2image app.elf -o app.bin --flash-mode dio --flash-freq 40m \\\n"
    "      --flash-size 4MB --elf-sha256-offset 0xb0 --min-rev-full 0 --max-rev-full 399",
    true};

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
    const opt_cmd *c = &image_elf2image_cmd;
    opt_value v[E_COUNT];
    const char *pos[1];
    unsigned npos;
    int prc = opts_parse(c, argc, argv, v, pos, &npos);
    if (prc != OPTS_OK)
        return opts_exit(prc);
    ota32_elf2image_opts opts;
    ota32_elf2image_opts_init(&opts);
    opts.hash = ota32_posix_hash();
    const char *input = pos[0], *output = v[E_OUTPUT].str;
    int size_code = 0, freq_code = 0;
    if (v[E_SECURE_PAD_V2].set)
        opts.secure_pad = OTA32_SECURE_PAD_V2;
    else if (v[E_SECURE_PAD].set)
        opts.secure_pad = OTA32_SECURE_PAD_V1;
    if (v[E_NO_DIGEST].set)
        opts.append_digest = false;
    if (v[E_USE_SEGMENTS].set)
        opts.use_segments = true;
    if (v[E_MODE].set)
        opts.flash_mode = (uint8_t)ota32_esp32_flash_mode_code(v[E_MODE].str);
    if (v[E_FREQ].set && (freq_code = ota32_esp32_flash_freq_code(v[E_FREQ].str)) < 0)
        return opts_usage_error(c, "flash frequency '%s' is not supported by ESP32 (80m, 40m, "
                                   "26m, 20m)",
                                v[E_FREQ].str);
    if (v[E_SIZE].set && (size_code = ota32_esp32_flash_size_code(v[E_SIZE].str)) < 0)
        return opts_usage_error(c, "flash size '%s' is not supported by ESP32 (1MB, 2MB, 4MB, "
                                   "8MB, 16MB, 32MB, 64MB, 128MB)",
                                v[E_SIZE].str);
    if (v[E_SHA_OFFSET].set)
        opts.elf_sha256_offset = (uint32_t)v[E_SHA_OFFSET].num;
    if (v[E_MIN_REV].set)
        opts.min_rev = (uint8_t)v[E_MIN_REV].num;
    if (v[E_MIN_REV_FULL].set)
        opts.min_rev_full = (uint16_t)v[E_MIN_REV_FULL].num;
    if (v[E_MAX_REV_FULL].set)
        opts.max_rev_full = (uint16_t)v[E_MAX_REV_FULL].num;
    if (v[E_PAD_TO_SIZE].set)
        opts.pad_to_size = (uint32_t)v[E_PAD_TO_SIZE].num;
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
        fprintf(strcmp(output, "-") ? stdout : stderr, "Wrote 0x%zx bytes to %s (ESP32 image, %u segments)\n", img_len, output, img[1]);
    free(img);
    free(auto_out);
    return rc == OTA32_OK ? 0 : 1;
}
