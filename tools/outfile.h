/*
 * Writing a command's output without destroying what was there. A regular
 * file (or a new path) is written to a temporary file beside it and renamed
 * over it only when everything was written; a device, a FIFO or "-"
 * (standard output) is written through; a symbolic link's target is
 * written, not the link. Errors are printed as "ota32: NAME: reason" with
 * the system's reason.
 */
#ifndef OTA32_TOOLS_OUTFILE_H
#define OTA32_TOOLS_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct out_file {
    FILE *f;          /* write here */
    const char *name; /* as given, for messages */
    char *target;     /* the path written (links followed); NULL for stdout */
    char *tmp;        /* the temporary file; NULL when written through */
} out_file;

/* Open `path` for writing ("-": standard output). 0, or -1 with the error
 * printed. */
int out_open(out_file *o, const char *path);

/* Finish: flush, sync and close, then rename the temporary file over the
 * target. 0, or -1 with the error printed and nothing left behind. */
int out_commit(out_file *o);

/* Give up: close and remove the temporary file (or a path this output
 * created). Prints nothing. */
void out_abort(out_file *o);

/* Report a write error `err` (an errno value) on `o`, then give up.
 * Returns -1. */
int out_fail(out_file *o, int err);

/* Flush standard output at exit: 0, or -1 with "ota32: standard output:
 * reason" printed. */
int out_close_stdout(void);

#endif
