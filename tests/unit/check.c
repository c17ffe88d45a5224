#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* tests/ of the source tree (set by tests/CMakeLists.txt); $OTA32_TESTS
 * overrides it. */
#ifndef OTA32_TESTS_DIR
#define OTA32_TESTS_DIR "tests"
#endif

int check_failures;
static char tmpdir_path[256];
static int interop_mode; /* running the INTEROP_CASE cases (--interop) */

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

const char *check_vector_path(const char *name)
{
    static char buf[4][1024];
    static int next;
    const char *base = getenv("OTA32_TESTS");
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/vectors/%s", base && *base ? base : OTA32_TESTS_DIR, name);
    return out;
}

/* $OTA32_INTEROP_DIR, else the build's setting (OTA32_INTEROP_DEFAULT, which
 * ctest passes only to the interop tests); NULL when neither is set. */
static const char *interop_dir(void)
{
    const char *dir = getenv("OTA32_INTEROP_DIR");
    if (!dir || !*dir)
        dir = getenv("OTA32_INTEROP_DEFAULT");
    return dir && *dir ? dir : NULL;
}

const char *check_interop_path(const char *rel)
{
    static char buf[4][1024];
    static int next;
    char *out = buf[next++ % 4];
    const char *dir = interop_dir();
    if (!interop_mode || !dir) {
        /* A CASE that reaches for an interop file would pass only where the
         * file happens to be: make it fail everywhere instead. */
        check_fail(__FILE__, __LINE__, "%s: interop file read outside an INTEROP_CASE", rel);
        snprintf(out, sizeof buf[0], "/nonexistent/%s", rel);
        return out;
    }
    snprintf(out, sizeof buf[0], "%s/%s", dir, rel);
    return out;
}

/* Why the interop cases cannot run here, or NULL when they can. */
static const char *interop_missing(char *why, size_t size)
{
    static const char *const need[] = {"esp-images", "vectors"};
    const char *dir = interop_dir();
    struct stat st;
    if (!dir) {
        snprintf(why, size, "OTA32_INTEROP_DIR is not set");
        return why;
    }
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, need[i]);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(why, size, "%s not found (OTA32_INTEROP_DIR=%s)", path, dir);
            return why;
        }
    }
    return NULL;
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

int check_run(const char *suite, const check_case *cases, size_t n, int argc, char **argv)
{
    int passed = 0, failed = 0;
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--interop") != 0)) {
        fprintf(stderr, "usage: %s [--interop]\n", argv[0]);
        return 2;
    }
    interop_mode = argc == 2;
    if (interop_mode) {
        char why[1200];
        if (interop_missing(why, sizeof why)) {
            const char *base = strrchr(suite, '/');
            printf("SKIP: %s: the interop cases need ESP-IDF's and esptool's reference files: "
                   "%s\n",
                   base ? base + 1 : suite, why);
            return CHECK_SKIP;
        }
    }
    printf("%s%s\n", suite, interop_mode ? " (interop cases)" : "");
    for (size_t i = 0; i < n; i++) {
        if (cases[i].interop != interop_mode)
            continue;
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
