#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

int check_failures;
static char tmpdir_path[256];

void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    check_failures++;
}

void check_mem_fail(const char *file, int line, const char *expr, const void *a, const void *b,
                    size_t len)
{
    const unsigned char *pa = a, *pb = b;
    size_t i = 0;
    while (i < len && pa[i] == pb[i])
        i++;
    check_fail(file, line, "%s: first difference at offset %zu (0x%zx): 0x%02x != 0x%02x", expr,
               i, i, pa[i], pb[i]);
}

static void remove_tmpdir(void)
{
    if (tmpdir_path[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_path);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir_path);
    }
}

const char *check_tmpdir(void)
{
    if (!tmpdir_path[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir_path, sizeof tmpdir_path, "%s/ota32-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir_path)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(remove_tmpdir);
    }
    return tmpdir_path;
}

const char *check_tmp_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", check_tmpdir(), name);
    return out;
}

const char *check_shared_path(const char *rel)
{
    static char buf[4][1024];
    static int next;
    const char *base = getenv("OTA32_SHARED");
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", base ? base : "../shared", rel);
    return out;
}

unsigned char *check_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "  cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf && len)
        *len = (size_t)n;
    return buf;
}

int check_run(const char *suite, const check_case *cases, size_t n)
{
    int passed = 0, failed = 0;
    printf("%s\n", suite);
    for (size_t i = 0; i < n; i++) {
        check_failures = 0;
        cases[i].fn();
        if (check_failures) {
            printf("  not ok  %s (%d failed checks)\n", cases[i].name, check_failures);
            failed++;
        } else {
            printf("  ok      %s\n", cases[i].name);
            passed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
