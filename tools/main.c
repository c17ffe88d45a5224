/* ota32: the command-line tool. Dispatches to one command group. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ota32/ota32.h"
#include "outfile.h"

static const opt_group *const groups[] = {
    &part_group,  &image_group, &key_group,   &nvs_group,   &otadata_group,
    &merge_group, &flash_group, &device_group, &fetch_group, &serve_group,
};
#define NGROUPS (sizeof groups / sizeof groups[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: ota32 <command> [args...]\n"
               "       ota32 --help | --version\n\n"
               "Over-the-air updates for ESP32: ESP-IDF formats, a virtual ESP32, an HTTP/2\n"
               "firmware server and the device-side OTA service.\n\ncommands:\n");
    for (size_t i = 0; i < NGROUPS; i++)
        fprintf(f, "  %-8s %s\n", groups[i]->name, groups[i]->summary);
    fprintf(f, "\noptions:\n"
               "  -h, --help     this help\n"
               "  --version      the version of ota32\n"
               "\n`ota32 <command> --help` describes each command; `man ota32` all of them.\n");
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *a = argv[1];
    if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(a, "--version")) {
        printf("ota32 %s\n", OTA32_VERSION_STRING);
        return 0;
    }
    /* written at build time, installed by `make install` */
    if (!strcmp(a, "--man")) {
        opts_man(groups, NGROUPS, OTA32_VERSION_STRING, stdout);
        return 0;
    }
    if (!strcmp(a, "--completion") && argc == 3 && !strcmp(argv[2], "bash")) {
        opts_bash_completion(groups, NGROUPS, stdout);
        return 0;
    }
    for (size_t i = 0; i < NGROUPS; i++)
        if (!strcmp(a, groups[i]->name))
            return groups[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "ota32: unknown command '%s'\n\n", a);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int status = run(argc, argv);
    /* what was printed must have arrived: `ota32 ... > /dev/full` fails */
    if (out_close_stdout() != 0 && status == 0)
        status = 1;
    return status;
}
