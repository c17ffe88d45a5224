/*
 * A minimal test harness. Each tests/unit/test_*.c defines TEST(name) cases
 * and ends with RUN_TESTS(...). A failed CHECK prints file:line and the
 * values, and the case continues; the executable prints "N passed, N failed"
 * and exits non-zero when anything failed.
 *
 * Cases listed with CASE run from the repository alone (their data is under
 * tests/vectors). Cases listed with INTEROP_CASE compare against files made
 * by or shipped with ESP-IDF and esptool that the repository cannot carry;
 * they run only with --interop, read those files from $OTA32_INTEROP_DIR,
 * and exit CHECK_SKIP (77, ctest's SKIP_RETURN_CODE) with the reason when
 * that directory is not there.
 */
#ifndef OTA32_CHECK_H
#define OTA32_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int check_failures; /* failures in the current case */

void check_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void check_mem_fail(const char *file, int line, const char *expr, const void *a, const void *b,
                    size_t len);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond))                                                                       \
            check_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long va_ = (long long)(a), vb_ = (long long)(b);                              \
        if (va_ != vb_)                                                                    \
            check_fail(__FILE__, __LINE__, "%s == %s: %lld (0x%llx) != %lld (0x%llx)", #a, \
                       #b, va_, (unsigned long long)va_, vb_, (unsigned long long)vb_);    \
    } while (0)

#define CHECK_STR(a, b)                                                                    \
    do {                                                                                   \
        const char *sa_ = (a), *sb_ = (b);                                                 \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                         \
            check_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,           \
                       sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                        \
    } while (0)

/* a contains b */
#define CHECK_CONTAINS(a, b)                                                               \
    do {                                                                                   \
        const char *sa_ = (a), *sb_ = (b);                                                 \
        if (!sa_ || !sb_ || !strstr(sa_, sb_))                                             \
            check_fail(__FILE__, __LINE__, "%s contains %s: \"%s\" lacks \"%s\"", #a, #b,  \
                       sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                        \
    } while (0)

#define CHECK_MEM(a, b, len)                                                               \
    do {                                                                                   \
        if (memcmp((a), (b), (len)) != 0)                                                  \
            check_mem_fail(__FILE__, __LINE__, #a " == " #b, (a), (b), (len));             \
    } while (0)

typedef struct check_case {
    const char *name;
    void (*fn)(void);
    int interop; /* needs $OTA32_INTEROP_DIR: runs only with --interop */
} check_case;

#define TEST(name) static void name(void)
#define CASE(name) {#name, name, 0}
#define INTEROP_CASE(name) {#name, name, 1}

/* The exit status of a suite that did not run (ctest: SKIP_RETURN_CODE). */
#define CHECK_SKIP 77

int check_run(const char *suite, const check_case *cases, size_t n, int argc, char **argv);

#define RUN_TESTS(...)                                                                     \
    int main(int argc, char **argv)                                                        \
    {                                                                                      \
        static const check_case cases_[] = {__VA_ARGS__};                                  \
        return check_run(__FILE__, cases_, sizeof cases_ / sizeof cases_[0], argc, argv);  \
    }

/* Helpers for test data. */
/* tests/vectors/<name>: reference files the repository carries (see the
 * README there), in a static buffer (four in rotation). */
const char *check_vector_path(const char *name);
/* $OTA32_INTEROP_DIR/<rel> (ESP-IDF's and esptool's own images and ELFs), in
 * a static buffer (four in rotation). Only INTEROP_CASE cases use it. */
const char *check_interop_path(const char *rel);
/* Read a whole file; returns malloc'd buffer (caller frees) or NULL. */
unsigned char *check_read_file(const char *path, size_t *len);
/* A fresh temporary directory for this test executable (removed at exit). */
const char *check_tmpdir(void);
/* <check_tmpdir()>/<name> in a static buffer (four in rotation). */
const char *check_tmp_path(const char *name);

#endif
