/* The option parser of the ota32 commands (tools/opts.c) and the way they
 * write outputs (tools/outfile.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "opts.h"
#include "outfile.h"

enum { T_OUT, T_COUNT_, T_SIZE, T_MODE, T_SECURE, T_VERBOSE, T_FLASH_MODE, T_NUM };

static const opt_def table[T_NUM] = {
    [T_OUT] = {"-o --output", OPT_STRING, "FILE", "where it goes", 0, 0, NULL, "file"},
    [T_COUNT_] = {"--count", OPT_NUMBER, "N", "how many", 1, 16, NULL, NULL},
    [T_SIZE] = {"--window|--win", OPT_SIZE, "BYTES", "window", 1024, 65536, NULL, NULL},
    [T_MODE] = {"--mode", OPT_STRING, "M", "a mode", 0, 0, "fast slow", NULL},
    [T_SECURE] = {"--secure", OPT_FLAG, "v1|v2", "secure", 0, 0, "v1 v2", NULL},
    [T_VERBOSE] = {"-v --verbose", OPT_FLAG, NULL, "more\nsecond line", 0, 0, NULL, NULL},
    [T_FLASH_MODE] = {"--flash-mode", OPT_STRING, "MODE", "esptool style", 0, 0, NULL, NULL},
};

static const opt_cmd cmd = {"thing do", "IN [OUT] [options]", "Does a thing.", table, T_NUM, 1, 2,
                            "exit status: 0", true};

/* Parse a NULL-terminated argument list (argv[0] is the command name). */
static int parse(opt_value *v, const char **pos, unsigned *npos, ...)
{
    char *argv[32] = {"do"};
    int argc = 1;
    va_list ap;
    va_start(ap, npos);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    /* the messages of the usage errors are checked by tests/cli */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int rc = opts_parse(&cmd, argc, argv, v, pos, npos);
    fclose(stderr);
    stderr = saved;
    return rc;
}

TEST(values_spaced_and_inline)
{
    opt_value v[T_NUM];
    const char *pos[32];
    unsigned n;
    CHECK_EQ(parse(v, pos, &n, "in.csv", "-o", "a.bin", "--count=3", "--window", "16K", NULL),
             OPTS_OK);
    CHECK_EQ(n, 1);
    CHECK_STR(pos[0], "in.csv");
    CHECK(v[T_OUT].set);
    CHECK_STR(v[T_OUT].str, "a.bin");
    CHECK_EQ(v[T_COUNT_].num, 3);
    CHECK_EQ(v[T_SIZE].num, 16384);
    CHECK(!v[T_MODE].set);
    CHECK(!v[T_VERBOSE].set);
    /* --output=FILE, the hidden old name, esptool's '_' */
    CHECK_EQ(parse(v, pos, &n, "--output=b.bin", "--win=0x400", "--flash_mode", "dio", "x", NULL),
             OPTS_OK);
    CHECK_STR(v[T_OUT].str, "b.bin");
    CHECK_EQ(v[T_SIZE].num, 1024);
    CHECK_STR(v[T_FLASH_MODE].str, "dio");
    /* a value may start with '-' when it is separate, and contain '=' */
    CHECK_EQ(parse(v, pos, &n, "x", "-o", "-", "--mode=slow", NULL), OPTS_OK);
    CHECK_STR(v[T_OUT].str, "-");
    CHECK_EQ(parse(v, pos, &n, "x", "--output=a=b", NULL), OPTS_OK);
    CHECK_STR(v[T_OUT].str, "a=b");
}

TEST(double_dash_and_stdin)
{
    opt_value v[T_NUM];
    const char *pos[32];
    unsigned n;
    CHECK_EQ(parse(v, pos, &n, "-v", "--", "-o", "--count", NULL), OPTS_OK);
    CHECK_EQ(n, 2);
    CHECK_STR(pos[0], "-o");
    CHECK_STR(pos[1], "--count");
    CHECK(v[T_VERBOSE].set);
    CHECK(!v[T_OUT].set);
    CHECK_EQ(parse(v, pos, &n, "-", NULL), OPTS_OK); /* "-" is an argument */
    CHECK_STR(pos[0], "-");
}

TEST(flag_with_optional_choice)
{
    opt_value v[T_NUM];
    const char *pos[32];
    unsigned n;
    CHECK_EQ(parse(v, pos, &n, "--secure", "in", NULL), OPTS_OK);
    CHECK(v[T_SECURE].set);
    CHECK(v[T_SECURE].str == NULL);
    CHECK_STR(pos[0], "in");
    CHECK_EQ(parse(v, pos, &n, "--secure", "V2", "in", NULL), OPTS_OK);
    CHECK_STR(v[T_SECURE].str, "V2");
    CHECK_EQ(n, 1);
    CHECK_EQ(parse(v, pos, &n, "--secure=v1", "in", NULL), OPTS_OK);
    CHECK_STR(v[T_SECURE].str, "v1");
    CHECK_EQ(parse(v, pos, &n, "--secure=v3", "in", NULL), OPTS_USAGE);
}

TEST(usage_errors)
{
    opt_value v[T_NUM];
    const char *pos[32];
    unsigned n;
    CHECK_EQ(parse(v, pos, &n, "in", "--bogus", NULL), OPTS_USAGE);
    CHECK_EQ(parse(v, pos, &n, "in", "-o", NULL), OPTS_USAGE);          /* no value */
    CHECK_EQ(parse(v, pos, &n, "in", "--count", "17", NULL), OPTS_USAGE); /* above max */
    CHECK_EQ(parse(v, pos, &n, "in", "--count", "0", NULL), OPTS_USAGE);  /* below min */
    CHECK_EQ(parse(v, pos, &n, "in", "--count", "3x", NULL), OPTS_USAGE);
    CHECK_EQ(parse(v, pos, &n, "in", "--window", "512", NULL), OPTS_USAGE);
    CHECK_EQ(parse(v, pos, &n, "in", "--window", "128K", NULL), OPTS_USAGE);
    CHECK_EQ(parse(v, pos, &n, "in", "--mode", "medium", NULL), OPTS_USAGE);
    CHECK_EQ(parse(v, pos, &n, "in", "--verbose=1", NULL), OPTS_USAGE);
    CHECK_EQ(parse(v, pos, &n, "a", "b", "c", NULL), OPTS_USAGE); /* max 2 */
    CHECK_EQ(parse(v, pos, &n, "-v", NULL), OPTS_USAGE);           /* min 1 */
    /* positive control: the same shapes, valid */
    CHECK_EQ(parse(v, pos, &n, "a", "b", "--count", "16", "--window", "64K", "--mode", "FAST",
                   NULL),
             OPTS_OK);
}

TEST(help_from_the_table)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    opts_help(&cmd, f);
    fclose(f);
    CHECK_CONTAINS(text, "usage: ota32 thing do IN [OUT] [options]\n");
    CHECK_CONTAINS(text, "\nDoes a thing.\n");
    CHECK_CONTAINS(text, "  -o, --output FILE         where it goes\n");
    CHECK_CONTAINS(text, "  -v, --verbose             more\n                            second line\n");
    CHECK_CONTAINS(text, "  --secure [v1|v2]");
    CHECK_CONTAINS(text, "  -h, --help                this help\n");
    CHECK_CONTAINS(text, "exit status: 0\n");
    CHECK(!strstr(text, "--win ")); /* hidden spellings stay hidden */
    free(text);
    /* --help anywhere prints it and asks for exit status 0 */
    opt_value v[T_NUM];
    const char *pos[32];
    unsigned n;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = parse(v, pos, &n, "--bogus-after-help-is-not-read", NULL);
    int help = parse(v, pos, &n, "in", "--help", "--bogus", NULL);
    fclose(stdout);
    stdout = saved;
    CHECK_EQ(rc, OPTS_USAGE);
    CHECK_EQ(help, OPTS_HELP);
    CHECK_EQ(opts_exit(help), 0);
    CHECK_EQ(opts_exit(OPTS_USAGE), 2);
}

/* ---- outputs ----------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    size_t n = 0;
    unsigned char *raw = check_read_file(path, &n);
    char *s = calloc(1, n + 1);
    if (raw && s)
        memcpy(s, raw, n);
    free(raw);
    return s;
}

/* Files in the scratch directory besides the ones a test made. */
static int dir_entries(void)
{
    DIR *d = opendir(check_tmpdir());
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    if (d)
        closedir(d);
    return n;
}

TEST(regular_file_replaced_when_complete)
{
    const char *p = check_tmp_path("reg.bin");
    write_text(p, "old");
    chmod(p, 0640);
    struct stat before, after;
    stat(p, &before);
    int entries = dir_entries();
    out_file o;
    CHECK_EQ(out_open(&o, p), 0);
    fputs("new contents", o.f);
    fflush(o.f);
    char *mid = slurp(p);
    CHECK_STR(mid, "old"); /* untouched until committed */
    free(mid);
    CHECK_EQ(dir_entries(), entries + 1); /* the temporary file */
    CHECK_EQ(out_commit(&o), 0);
    char *now = slurp(p);
    CHECK_STR(now, "new contents");
    free(now);
    stat(p, &after);
    CHECK(after.st_ino != before.st_ino); /* renamed over it */
    CHECK_EQ(after.st_mode & 07777, 0640);
    CHECK_EQ(dir_entries(), entries);
    /* given up: the old file stays, no temporary file is left */
    CHECK_EQ(out_open(&o, p), 0);
    fputs("half", o.f);
    out_abort(&o);
    now = slurp(p);
    CHECK_STR(now, "new contents");
    free(now);
    CHECK_EQ(dir_entries(), entries);
}

TEST(new_file_mode_follows_umask)
{
    const char *p = check_tmp_path("new.bin");
    unlink(p);
    mode_t old = umask(022);
    out_file o;
    CHECK_EQ(out_open(&o, p), 0);
    fputs("x", o.f);
    CHECK_EQ(out_commit(&o), 0);
    umask(old);
    struct stat st;
    CHECK_EQ(stat(p, &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0644);
}

TEST(symlink_target_written)
{
    const char *target = check_tmp_path("target.bin");
    const char *link = check_tmp_path("link.bin");
    write_text(target, "old");
    unlink(link);
    CHECK_EQ(symlink("target.bin", link), 0); /* relative to the link's directory */
    out_file o;
    CHECK_EQ(out_open(&o, link), 0);
    fputs("through the link", o.f);
    CHECK_EQ(out_commit(&o), 0);
    struct stat st;
    CHECK_EQ(lstat(link, &st), 0);
    CHECK(S_ISLNK(st.st_mode));
    char *s = slurp(target);
    CHECK_STR(s, "through the link");
    free(s);
    /* a dangling link: its target is created */
    unlink(target);
    CHECK_EQ(out_open(&o, link), 0);
    fputs("made", o.f);
    CHECK_EQ(out_commit(&o), 0);
    CHECK_EQ(lstat(link, &st), 0);
    CHECK(S_ISLNK(st.st_mode));
    s = slurp(target);
    CHECK_STR(s, "made");
    free(s);
}

TEST(fifo_and_device_written_through)
{
    const char *fifo = check_tmp_path("pipe");
    unlink(fifo);
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    CHECK(rd >= 0);
    int entries = dir_entries();
    out_file o;
    CHECK_EQ(out_open(&o, fifo), 0);
    CHECK(o.tmp == NULL);
    fputs("piped", o.f);
    CHECK_EQ(out_commit(&o), 0);
    char buf[16] = {0};
    CHECK_EQ(read(rd, buf, sizeof buf - 1), 5);
    CHECK_STR(buf, "piped");
    close(rd);
    struct stat st;
    CHECK_EQ(stat(fifo, &st), 0);
    CHECK(S_ISFIFO(st.st_mode)); /* still the FIFO */
    CHECK_EQ(dir_entries(), entries);

    /* /dev/null stays a device; /dev/full fails with the system's reason */
    CHECK_EQ(out_open(&o, "/dev/null"), 0);
    fputs("gone", o.f);
    CHECK_EQ(out_commit(&o), 0);
    CHECK_EQ(stat("/dev/null", &st), 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK_EQ(out_open(&o, "/dev/full"), 0);
    fputs("no room", o.f);
    FILE *saved = stderr;
    char *msg = NULL;
    size_t mlen = 0;
    stderr = open_memstream(&msg, &mlen);
    int rc = out_commit(&o);
    fclose(stderr);
    stderr = saved;
    CHECK_EQ(rc, -1);
    CHECK_CONTAINS(msg, "ota32: /dev/full: No space left on device");
    free(msg);
}

TEST(directory_refused)
{
    out_file o;
    FILE *saved = stderr;
    char *msg = NULL;
    size_t mlen = 0;
    stderr = open_memstream(&msg, &mlen);
    int rc = out_open(&o, check_tmpdir());
    fclose(stderr);
    stderr = saved;
    CHECK_EQ(rc, -1);
    CHECK_CONTAINS(msg, "Is a directory");
    free(msg);
}

RUN_TESTS(CASE(values_spaced_and_inline), CASE(double_dash_and_stdin),
          CASE(flag_with_optional_choice), CASE(usage_errors), CASE(help_from_the_table),
          CASE(regular_file_replaced_when_complete), CASE(new_file_mode_follows_umask),
          CASE(symlink_target_written), CASE(fifo_and_device_written_through),
          CASE(directory_refused))
