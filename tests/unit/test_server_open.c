/* The firmware server's shared open files and image verdicts: one
 * descriptor per file version whatever the number of responses, a bound on
 * the versions open at once, and a file verified once per version (a
 * version seen again is not read again), with a new version verified anew. */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve_internal.h"

static unsigned open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    unsigned n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

static int make_file(const char *name, const char *text, struct stat *st)
{
    int fd = open(check_tmp_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    CHECK_EQ(fstat(fd, st), 0);
    return fd;
}

static int reopen(const char *name)
{
    int fd = open(check_tmp_path(name), O_RDONLY);
    CHECK(fd >= 0);
    return fd;
}

TEST(one_descriptor_per_file_version)
{
    server *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    struct stat a_st, b_st;
    close(make_file("a.bin", "version a", &a_st));
    close(make_file("b.bin", "version b", &b_st));
    unsigned before = open_fds();

    /* 100 responses of one version: one descriptor, 100 refs. */
    serve_open *first = NULL;
    for (unsigned i = 0; i < 100; i++) {
        serve_open *f = serve_open_get(s, reopen("a.bin"), &a_st);
        CHECK(f != NULL);
        if (i == 0)
            first = f;
        CHECK(f == first);
    }
    CHECK_EQ(first->refs, 100u);
    CHECK_EQ(open_fds(), before + 1);
    char buf[16] = "";
    CHECK_EQ(pread(first->fd, buf, 9, 0), 9);
    CHECK_STR(buf, "version a");

    /* Another file is another entry, with its own descriptor. */
    serve_open *b = serve_open_get(s, reopen("b.bin"), &b_st);
    CHECK(b != NULL && b != first);
    CHECK_EQ(s->nopen, 2u);
    CHECK_EQ(open_fds(), before + 2);

    /* The segment for sendfile uses the entry's descriptor, no new one. */
    CHECK(serve_open_segment(first) != NULL);
    CHECK_EQ(open_fds(), before + 2);

    /* The last ref closes it. */
    for (unsigned i = 0; i < 100; i++)
        serve_open_unref(first);
    serve_open_unref(b);
    CHECK_EQ(s->nopen, 0u);
    CHECK_EQ(open_fds(), before);
    free(s);
}

TEST(open_versions_are_bounded)
{
    server *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    s->open_max = 3;
    struct stat st;
    close(make_file("v.bin", "some bytes", &st));
    unsigned before = open_fds();
    serve_open *held[3];
    for (unsigned i = 0; i < 3; i++) {
        struct stat v = st;
        v.st_mtim.tv_nsec = (long)i; /* three versions */
        held[i] = serve_open_get(s, reopen("v.bin"), &v);
        CHECK(held[i] != NULL);
    }
    /* A fourth version: refused, and its descriptor closed. */
    struct stat v4 = st;
    v4.st_mtim.tv_nsec = 3;
    CHECK(serve_open_get(s, reopen("v.bin"), &v4) == NULL);
    CHECK_EQ(open_fds(), before + 3);
    /* A version already open is still shared. */
    struct stat v1 = st;
    v1.st_mtim.tv_nsec = 1;
    CHECK(serve_open_get(s, reopen("v.bin"), &v1) == held[1]);
    serve_open_unref(held[1]);
    for (unsigned i = 0; i < 3; i++)
        serve_open_unref(held[i]);
    CHECK_EQ(open_fds(), before);
    free(s);
}

TEST(verified_once_per_version)
{
    server *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    s->limits.chip_id = OTA32_CHIP_ANY;
    struct stat st;
    int fd = make_file("img.bin", "not firmware at all", &st);
    const serve_verdict *v = serve_files_verdict(s, fd, &st);
    CHECK(v != NULL && v->err != 0);
    char first[SERVE_CHECK_MSG_MAX];
    snprintf(first, sizeof first, "%s", v ? v->msg : "");

    /* 1,000 other versions come and go; this one is not read again: its
     * bytes now differ (the image magic is there), its verdict does not. */
    for (unsigned i = 0; i < SERVE_CHECK_CACHE - 1; i++) {
        struct stat other = st;
        other.st_ino = st.st_ino + 1 + i;
        CHECK(serve_files_verdict(s, fd, &other) != NULL);
    }
    CHECK_EQ(pwrite(fd, "\xe9", 1, 0), 1);
    v = serve_files_verdict(s, fd, &st);
    CHECK(v != NULL);
    CHECK_STR(v ? v->msg : "", first);

    /* Its new version (new mtime) is verified anew and sees the new bytes. */
    CHECK_EQ(fstat(fd, &st), 0);
    st.st_mtim.tv_nsec ^= 1; /* in case the clock did not move */
    v = serve_files_verdict(s, fd, &st);
    CHECK(v != NULL && v->err != 0);
    CHECK(v && strcmp(v->msg, first) != 0);
    close(fd);
    serve_files_verdicts_free(s);
    free(s);
}

RUN_TESTS(CASE(one_descriptor_per_file_version), CASE(open_versions_are_bounded),
          CASE(verified_once_per_version))
