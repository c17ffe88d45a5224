/*
 * The command-line convention of every `ota32` command, from one table per
 * command: `--name VALUE`, `--name=VALUE`, `-x VALUE`, `--` ends the options,
 * `-h`/`--help` prints the help generated from the same table. The man page
 * and the bash completion are generated from these tables too.
 */
#ifndef OTA32_TOOLS_OPTS_H
#define OTA32_TOOLS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum opt_kind {
    OPT_FLAG,   /* no value */
    OPT_STRING, /* any text */
    OPT_NUMBER, /* a decimal or 0x integer within [min, max] */
    OPT_SIZE,   /* bytes: 4096, 0x1000, 4K, 8MB ... within [min, max] */
} opt_kind;

typedef struct opt_def {
    /* Spellings separated by spaces, the first long one is the name shown
     * ("-o --output"). Spellings after a '|' are accepted but not shown
     * (old names kept for scripts: "--stall-timeout|--stall"). */
    const char *names;
    opt_kind kind;
    const char *arg;  /* the value's placeholder in the help: "FILE" */
    const char *help; /* one or more lines; NULL hides the option */
    uint64_t min, max; /* OPT_NUMBER, OPT_SIZE; max 0 means no limit */
    /* OPT_STRING: the allowed values, separated by spaces (NULL: any).
     * An OPT_FLAG with choices takes a value only when the next argument
     * is one of them ("--secure" or "--secure v2"). */
    const char *choices;
    /* For completion: "file" when the value is a path. */
    const char *complete;
} opt_def;

typedef struct opt_cmd {
    const char *name;  /* "part gen" (after "ota32 ") */
    const char *usage; /* "IN OUT [options]" (one or more lines) */
    const char *about; /* what it does, shown under the usage line */
    const opt_def *opts;
    size_t nopts;
    unsigned min_pos, max_pos; /* positional arguments accepted */
    const char *more;          /* text after the options (exit status ...) */
    /* esptool's spelling rules: '_' in a long name reads as '-'. */
    bool esptool_names;
} opt_cmd;

typedef struct opt_value {
    bool set;
    const char *str; /* the text given (flags with choices: the choice) */
    uint64_t num;    /* OPT_NUMBER and OPT_SIZE */
} opt_value;

/* What opts_parse found: the values, one per table entry, and the
 * positional arguments in order. */
typedef struct opt_result {
    opt_value *v;
    const char **pos;
    unsigned npos;
} opt_result;

/* Parse argv[1..argc-1] against `c`. `vals` has c->nopts entries and `pos`
 * room for argc entries. Returns OPTS_OK, OPTS_HELP after printing the help
 * on stdout (exit status 0), or OPTS_USAGE after printing
 * "ota32 NAME: what went wrong" and a pointer to --help on stderr (exit
 * status 2). */
enum { OPTS_OK = 0, OPTS_HELP = -1, OPTS_USAGE = 2 };
int opts_parse(const opt_cmd *c, int argc, char **argv, opt_value *vals, const char **pos,
               unsigned *npos);

/* The exit status for a return value of opts_parse other than OPTS_OK. */
static inline int opts_exit(int rc)
{
    return rc == OPTS_HELP ? 0 : 2;
}

/* A usage error of command `c` in opts_parse's form (exit status 2). */
int opts_usage_error(const opt_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The help text of `c`: usage, about, options, more. */
void opts_help(const opt_cmd *c, FILE *f);

/* One option's name as shown ("--output"), for messages. */
const char *opts_name(const opt_def *d, char *buf, size_t cap);

/* A command group ("part", "image", ...) of sub-commands, or a single
 * command when `subs` is empty. */
typedef struct opt_group {
    const char *name;
    const char *summary;
    const opt_cmd *const *subs;
    size_t nsubs;
    int (*run)(int argc, char **argv);
} opt_group;

/* The help of a group: its sub-commands and their one-line usages. */
void opts_group_help(const opt_group *g, FILE *f);

/* Dispatch argv (argv[0] is the group's name) to `run_sub(i, ...)` for the
 * sub-command named by argv[1], with argv from the sub-command's name on.
 * Handles `--help` and unknown names. */
int opts_dispatch(const opt_group *g, int argc, char **argv,
                  int (*const *run_sub)(int argc, char **argv));

/* Write the man page (roff) or the bash completion of all groups. */
void opts_man(const opt_group *const *groups, size_t n, const char *version, FILE *f);
void opts_bash_completion(const opt_group *const *groups, size_t n, FILE *f);

#endif
