/* The option parser of the ota32 commands: the input is an argument list,
 * the arguments separated by NUL bytes, parsed against a table with every
 * kind of option. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

enum { F_OUT, F_NUM, F_SIZE, F_CHOICE, F_FLAG_CHOICE, F_FLAG, F_ESPTOOL, F_COUNT };

static const opt_def table[F_COUNT] = {
    [F_OUT] = {"-o --output|--old-output", OPT_STRING, "FILE", "out", 0, 0, NULL, "file"},
    [F_NUM] = {"--count", OPT_NUMBER, "N", "n", 1, 1000, NULL, NULL},
    [F_SIZE] = {"--window", OPT_SIZE, "BYTES", "w", 1024, 65536, NULL, NULL},
    [F_CHOICE] = {"--mode", OPT_STRING, "M", "m", 0, 0, "a b", NULL},
    [F_FLAG_CHOICE] = {"--secure", OPT_FLAG, "v1|v2", "s", 0, 0, "v1 v2", NULL},
    [F_FLAG] = {"-q --quiet", OPT_FLAG, NULL, "q", 0, 0, NULL, NULL},
    [F_ESPTOOL] = {"-fm --flash-mode", OPT_STRING, "MODE", "f", 0, 0, NULL, NULL},
};

static const opt_cmd cmd = {"fuzz", "IN [OUT]", "about", table, F_COUNT, 1, 2, NULL, true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[65] = {"fuzz"};
    int argc = 1;
    for (size_t i = 0; i <= size && argc < 64;) {
        argv[argc++] = copy + i;
        i += strlen(copy + i) + 1;
    }
    static FILE *null;
    if (!null)
        null = fopen("/dev/null", "w");
    FILE *out = stdout, *err = stderr;
    stdout = stderr = null;
    opt_value v[F_COUNT];
    const char *pos[65];
    unsigned npos;
    int rc = opts_parse(&cmd, argc, argv, v, pos, &npos);
    stdout = out;
    stderr = err;
    if (rc == OPTS_OK) {
        if (npos < 1 || npos > 2)
            abort();
        for (unsigned k = 0; k < F_COUNT; k++)
            if (v[k].set && table[k].kind == OPT_NUMBER && (v[k].num < 1 || v[k].num > 1000))
                abort();
        if (v[F_SIZE].set && (v[F_SIZE].num < 1024 || v[F_SIZE].num > 65536))
            abort();
    }
    free(copy);
    return 0;
}
