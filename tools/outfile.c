#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 40

/* Ctrl-C while a temporary file is open removes it, then ends the process
 * as the signal would have: nothing half-made stays behind. Only when
 * nothing else handles the signal (device run has its own handler). */
static char *volatile pending_tmp;
static bool handlers_installed;
static struct sigaction saved_int, saved_term;

static void remove_pending(int sig)
{
    char *tmp = pending_tmp;
    if (tmp)
        unlink(tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_tmp(char *tmp)
{
    struct sigaction cur;
    pending_tmp = tmp;
    if (handlers_installed || sigaction(SIGINT, NULL, &cur) != 0 || cur.sa_handler != SIG_DFL)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = remove_pending;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved_int);
    sigaction(SIGTERM, &sa, &saved_term);
    handlers_installed = true;
}

static void unguard_tmp(void)
{
    pending_tmp = NULL;
    if (!handlers_installed)
        return;
    sigaction(SIGINT, &saved_int, NULL);
    sigaction(SIGTERM, &saved_term, NULL);
    handlers_installed = false;
}

static void say(const char *name, int err)
{
    fprintf(stderr, "ota32: %s: %s\n", name, strerror(err));
}

/* `path` with every symbolic link in its last component followed (the
 * final target need not exist); malloc'd, NULL with errno set. */
static char *follow_links(const char *path)
{
    char *p = strdup(path);
    for (int hops = 0; p; hops++) {
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode))
            return p;
        if (hops == MAX_LINKS) {
            free(p);
            errno = ELOOP;
            return NULL;
        }
        char link[PATH_MAX];
        ssize_t n = readlink(p, link, sizeof link - 1);
        if (n < 0) {
            free(p);
            return NULL;
        }
        link[n] = '\0';
        char *next;
        const char *slash = strrchr(p, '/');
        if (link[0] == '/' || !slash) {
            next = strdup(link);
        } else {
            size_t dir = (size_t)(slash - p) + 1;
            next = malloc(dir + (size_t)n + 1);
            if (next) {
                memcpy(next, p, dir);
                memcpy(next + dir, link, (size_t)n + 1);
            }
        }
        free(p);
        p = next;
    }
    return NULL;
}

/* A temporary file beside `target`: "DIR/.BASE.XXXXXX". */
static int make_temp(const char *target, char **tmp)
{
    const char *slash = strrchr(target, '/');
    size_t dir = slash ? (size_t)(slash - target) + 1 : 0;
    const char *base = target + dir;
    *tmp = malloc(dir + strlen(base) + 10);
    if (!*tmp)
        return -1;
    sprintf(*tmp, "%.*s.%s.XXXXXX", (int)dir, target, base);
    return mkstemp(*tmp);
}

int out_open(out_file *o, const char *path)
{
    memset(o, 0, sizeof *o);
    o->name = path;
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    o->target = follow_links(path);
    if (!o->target) {
        say(path, errno);
        return -1;
    }
    struct stat st;
    bool exists = stat(o->target, &st) == 0;
    if (!exists && errno != ENOENT) {
        say(path, errno);
        out_abort(o);
        return -1;
    }
    if (exists && S_ISDIR(st.st_mode)) {
        say(path, EISDIR);
        out_abort(o);
        return -1;
    }
    int fd;
    if (exists && !S_ISREG(st.st_mode)) {
        /* a device, FIFO or socket: written through, never replaced */
        fd = open(o->target, O_WRONLY | O_CLOEXEC);
    } else {
        fd = make_temp(o->target, &o->tmp);
        if (fd >= 0) {
            guard_tmp(o->tmp);
            mode_t mask = umask(0);
            umask(mask);
            if (exists) {
                if (fchown(fd, st.st_uid, st.st_gid) != 0) {
                    /* not ours to give away: the new file stays ours */
                }
                fchmod(fd, st.st_mode & 07777);
            } else {
                fchmod(fd, 0666 & ~mask);
            }
        }
    }
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        say(path, e);
        out_abort(o);
        return -1;
    }
    return 0;
}

static void release(out_file *o)
{
    if (o->tmp && pending_tmp == o->tmp)
        unguard_tmp();
    free(o->target);
    free(o->tmp);
    o->target = o->tmp = NULL;
    o->f = NULL;
}

void out_abort(out_file *o)
{
    if (o->f && o->f != stdout)
        fclose(o->f);
    if (o->tmp)
        unlink(o->tmp);
    release(o);
}

int out_fail(out_file *o, int err)
{
    say(o->name, err ? err : EIO);
    out_abort(o);
    return -1;
}

int out_commit(out_file *o)
{
    if (o->f == stdout) {
        if (fflush(stdout) != 0 || ferror(stdout))
            return out_fail(o, errno);
        o->f = NULL;
        return 0;
    }
    if (fflush(o->f) != 0 || ferror(o->f))
        return out_fail(o, errno);
    if (o->tmp && fsync(fileno(o->f)) != 0)
        return out_fail(o, errno);
    FILE *f = o->f;
    o->f = NULL;
    if (fclose(f) != 0)
        return out_fail(o, errno);
    if (o->tmp && rename(o->tmp, o->target) != 0)
        return out_fail(o, errno);
    if (pending_tmp == o->tmp)
        unguard_tmp();
    free(o->tmp);
    o->tmp = NULL;
    release(o);
    return 0;
}

int out_close_stdout(void)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        say("standard output", errno ? errno : EIO);
        return -1;
    }
    return 0;
}
