/*
 * A minimal test harness. Each tests/unit/test_*.c defines TEST(name) cases
 * and ends with RUN_TESTS(...). A failed CHECK prints file:line and the
 * values, and the case continues; the executable prints "N passed, N failed"
 * and exits non-zero when anything failed.
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
} check_case;

#define TEST(name) static void name(void)
#define CASE(name) {#name, name}

int check_run(const char *suite, const check_case *cases, size_t n);

#define RUN_TESTS(...)                                                                     \
    int main(void)                                                                         \
    {                                                                                      \
        static const check_case cases_[] = {__VA_ARGS__};                                  \
        return check_run(__FILE__, cases_, sizeof cases_ / sizeof cases_[0]);              \
    }

/* Helpers for test data. */
/* $OTA32_SHARED/<rel>, or NULL-free path into a static buffer. */
const char *check_shared_path(const char *rel);
/* Read a whole file; returns malloc'd buffer (caller frees) or NULL. */
unsigned char *check_read_file(const char *path, size_t *len);
/* A fresh temporary directory for this test executable (removed at exit). */
const char *check_tmpdir(void);
/* <check_tmpdir()>/<name> in a static buffer (four in rotation). */
const char *check_tmp_path(const char *name);

#endif
