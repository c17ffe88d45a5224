/* ota32: the command-line tool. Dispatches to one command group. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "sig_util.h"
#include "ota32/ota32.h"

static const struct group {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} groups[] = {
    {"part", cmd_part, "partition tables: gen CSV -> binary, show binary or CSV"},
    {"image", cmd_image, "app images: info, verify, sign, make, elf2image"},
    {"key", cmd_key, "Secure Boot v2 keys: the eFuse digest of a key"},
    {"nvs", cmd_nvs, "NVS partitions: gen from CSV, dump, get a key"},
    {"otadata", cmd_otadata, "otadata: show, switch the boot slot, mark valid/invalid"},
    {"merge", cmd_merge, "merge images into one flash image (esptool merge-bin)"},
    {"flash", cmd_flash, "whole-flash dumps: inspect"},
    {"device", cmd_device, "the virtual ESP32: create, flash, boot, run the OTA service"},
    {"fetch", cmd_fetch, "download a URL as a device would (HTTP/2), verifying the image"},
    {"serve", cmd_serve, "serve app images over HTTP/2 (and HTTP/1.1)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ota32 <command> [args...]\n\n"
               "Over-the-air updates for ESP32: ESP-IDF formats, a virtual ESP32, an HTTP/2\n"
               "firmware server and the device-side OTA service.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        fprintf(f, "  %-8s %s\n", groups[i].name, groups[i].summary);
    fprintf(f, "\n`ota32 <command> --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ota32 %s\n", OTA32_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (!strcmp(argv[1], groups[i].name))
            return groups[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ota32: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
