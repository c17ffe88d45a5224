/* The option parser and the help, man page and completion written from the
 * option tables (see opts.h). */
#include "opts.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define HELP_COLUMN 28

/* ---- spellings ------------------------------------------------------------ */

/* The next spelling of `names` from *p: its text and length; *hidden once
 * past the '|'. false at the end. */
static bool next_name(const char **p, const char **name, size_t *len, bool *hidden)
{
    const char *s = *p;
    while (*s == ' ' || *s == '|') {
        if (*s == '|')
            *hidden = true;
        s++;
    }
    if (!*s)
        return false;
    *name = s;
    while (*s && *s != ' ' && *s != '|')
        s++;
    *len = (size_t)(s - *name);
    *p = s;
    return true;
}

static bool same_name(const char *want, size_t wlen, const char *got, size_t glen, bool esptool)
{
    if (wlen != glen)
        return false;
    for (size_t i = 0; i < wlen; i++) {
        char g = got[i];
        if (esptool && i > 1 && g == '_')
            g = '-';
        if (g != want[i])
            return false;
    }
    return true;
}

/* The table entry spelled got[0..glen), or -1. */
static int find_opt(const opt_cmd *c, const char *got, size_t glen)
{
    for (size_t i = 0; i < c->nopts; i++) {
        if (!c->opts[i].names) /* a slot of a shared enum this command lacks */
            continue;
        const char *p = c->opts[i].names, *n;
        size_t len;
        bool hidden = false;
        while (next_name(&p, &n, &len, &hidden))
            if (same_name(n, len, got, glen, c->esptool_names && got[1] == '-'))
                return (int)i;
    }
    return -1;
}

const char *opts_name(const opt_def *d, char *buf, size_t cap)
{
    const char *p = d->names, *n, *first = NULL;
    size_t len, first_len = 0;
    bool hidden = false;
    while (next_name(&p, &n, &len, &hidden) && !hidden) {
        if (!first)
            first = n, first_len = len;
        if (len > 2 && n[1] == '-') {
            first = n, first_len = len;
            break;
        }
    }
    if (!first) /* only hidden spellings */
        next_name(&(const char *){d->names}, &first, &first_len, &hidden);
    snprintf(buf, cap, "%.*s", (int)first_len, first);
    return buf;
}

static bool in_choices(const char *choices, const char *v)
{
    const char *p = choices, *n;
    size_t len;
    bool hidden = false;
    while (next_name(&p, &n, &len, &hidden))
        if (strlen(v) == len && strncasecmp(n, v, len) == 0)
            return true;
    return false;
}

/* ---- errors --------------------------------------------------------------- */

static void vusage(const opt_cmd *c, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vusage(const opt_cmd *c, const char *fmt, va_list ap)
{
    fprintf(stderr, "ota32 %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(`ota32 %s --help` lists the options)\n", c->name);
}

int opts_usage_error(const opt_cmd *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vusage(c, fmt, ap);
    va_end(ap);
    return OPTS_USAGE;
}

static void human(uint64_t v, bool size, char *buf, size_t cap)
{
    if (size && v >= 1024 * 1024 && v % (1024 * 1024) == 0)
        snprintf(buf, cap, "%lluM", (unsigned long long)(v >> 20));
    else if (size && v >= 1024 && v % 1024 == 0)
        snprintf(buf, cap, "%lluK", (unsigned long long)(v >> 10));
    else
        snprintf(buf, cap, "%llu", (unsigned long long)v);
}

/* Check and store the value of table entry i. */
static int take_value(const opt_cmd *c, const opt_def *d, const char *shown, const char *val,
                      opt_value *out)
{
    out->set = true;
    out->str = val;
    if (d->kind == OPT_STRING) {
        if (d->choices && !in_choices(d->choices, val))
            return opts_usage_error(c, "%s '%s' is not supported (choose from %s)", shown, val,
                                    d->choices);
        return OPTS_OK;
    }
    uint64_t v, max = d->max ? d->max : UINT64_MAX;
    bool ok = d->kind == OPT_SIZE ? util_parse_size(val, &v) : util_parse_uint(val, max, &v);
    if (!ok || v < d->min || v > max) {
        char lo[24], hi[24];
        human(d->min, d->kind == OPT_SIZE, lo, sizeof lo);
        human(max, d->kind == OPT_SIZE, hi, sizeof hi);
        if (d->kind == OPT_SIZE)
            return opts_usage_error(c, "%s '%s': expected a size in bytes from %s to %s "
                                       "(such as 4096, 0x1000, 64K, 4MB)",
                                    shown, val, lo, d->max ? hi : "any");
        return opts_usage_error(c, "%s '%s': expected a number from %s to %s", shown, val, lo,
                                d->max ? hi : "any");
    }
    out->num = v;
    return OPTS_OK;
}

static void usage_lines(const opt_cmd *c, FILE *f);

int opts_parse(const opt_cmd *c, int argc, char **argv, opt_value *vals, const char **pos,
               unsigned *npos)
{
    memset(vals, 0, c->nopts * sizeof *vals);
    *npos = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos >= c->max_pos)
                return opts_usage_error(c, "unexpected argument '%s'", a);
            pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            opts_help(c, stdout);
            return OPTS_HELP;
        }
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        int k = find_opt(c, a, nlen);
        if (k < 0)
            return opts_usage_error(c, "unknown option '%.*s'", (int)nlen, a);
        const opt_def *d = &c->opts[k];
        char shown[48];
        snprintf(shown, sizeof shown, "%.*s", (int)nlen, a);
        if (d->kind == OPT_FLAG) {
            const char *v = NULL;
            if (eq && !d->choices)
                return opts_usage_error(c, "%s takes no value", shown);
            if (eq)
                v = eq + 1;
            else if (d->choices && i + 1 < argc && in_choices(d->choices, argv[i + 1]))
                v = argv[++i];
            if (v && !in_choices(d->choices, v))
                return opts_usage_error(c, "%s '%s' is not supported (choose from %s)", shown, v,
                                        d->choices);
            vals[k].set = true;
            vals[k].str = v;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc)
                return opts_usage_error(c, "%s needs a value (%s)", shown, d->arg ? d->arg : "");
            v = argv[++i];
        }
        int rc = take_value(c, d, shown, v, &vals[k]);
        if (rc != OPTS_OK)
            return rc;
    }
    if (*npos < c->min_pos) {
        usage_lines(c, stderr);
        fprintf(stderr, "(`ota32 %s --help` describes it)\n", c->name);
        return OPTS_USAGE;
    }
    return OPTS_OK;
}

/* ---- help ----------------------------------------------------------------- */

/* "-o, --output FILE": the shown spellings and the placeholder. */
static void left_column(const opt_def *d, char *buf, size_t cap)
{
    const char *p = d->names, *n;
    size_t len, k = 0;
    bool hidden = false;
    buf[0] = '\0';
    while (next_name(&p, &n, &len, &hidden) && !hidden)
        k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, "%s%.*s", k ? ", " : "", (int)len,
                              n);
    if (d->kind != OPT_FLAG && d->arg && k < cap)
        snprintf(buf + k, cap - k, " %s", d->arg);
    else if (d->kind == OPT_FLAG && d->choices && d->arg && k < cap)
        snprintf(buf + k, cap - k, " [%s]", d->arg);
}

static void print_lines(FILE *f, const char *text, int indent, bool first_indented)
{
    const char *s = text;
    bool first = true;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        if (!first || first_indented)
            fprintf(f, "%*s", indent, "");
        fprintf(f, "%.*s\n", (int)n, s);
        first = false;
        s += n + (nl ? 1 : 0);
    }
}

static void usage_lines(const opt_cmd *c, FILE *f)
{
    const char *s = c->usage;
    bool first = true;
    do {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        fprintf(f, "%s ota32 %s %.*s\n", first ? "usage:" : "      ", c->name, (int)n, s);
        first = false;
        s += n + (nl ? 1 : 0);
    } while (*s);
}

void opts_help(const opt_cmd *c, FILE *f)
{
    usage_lines(c, f);
    if (c->about) {
        fputc('\n', f);
        print_lines(f, c->about, 0, false);
    }
    fprintf(f, "\noptions:\n");
    for (size_t i = 0; i < c->nopts + 1; i++) {
        static const opt_def help = {"-h --help", OPT_FLAG, NULL, "this help", 0, 0, NULL, NULL};
        const opt_def *d = i < c->nopts ? &c->opts[i] : &help;
        if (!d->names || !d->help)
            continue;
        char left[80];
        left_column(d, left, sizeof left);
        if (strlen(left) + 2 > HELP_COLUMN - 2) {
            fprintf(f, "  %s\n", left);
            print_lines(f, d->help, HELP_COLUMN, true);
        } else {
            fprintf(f, "  %-*s", HELP_COLUMN - 2, left);
            print_lines(f, d->help, HELP_COLUMN, false);
        }
    }
    if (c->more) {
        fputc('\n', f);
        print_lines(f, c->more, 0, false);
    }
}

void opts_group_help(const opt_group *g, FILE *f)
{
    fprintf(f, "usage: ota32 %s <command> [args...]\n\n%s\n\ncommands:\n", g->name, g->summary);
    for (size_t i = 0; i < g->nsubs; i++) {
        const opt_cmd *c = g->subs[i];
        const char *nl = strchr(c->usage, '\n');
        fprintf(f, "  ota32 %s %.*s\n", c->name, nl ? (int)(nl - c->usage) : (int)strlen(c->usage),
                c->usage);
    }
    fprintf(f, "\n`ota32 %s <command> --help` describes each.\n", g->name);
}

int opts_dispatch(const opt_group *g, int argc, char **argv,
                  int (*const *run_sub)(int argc, char **argv))
{
    if (argc < 2) {
        opts_group_help(g, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        opts_group_help(g, stdout);
        return 0;
    }
    size_t glen = strlen(g->name);
    for (size_t i = 0; i < g->nsubs; i++) {
        const char *name = g->subs[i]->name + glen + 1; /* "part gen" -> "gen" */
        if (!strcmp(sub, name))
            return run_sub[i](argc - 1, argv + 1);
    }
    fprintf(stderr, "ota32 %s: unknown subcommand '%s'\n\n", g->name, sub);
    opts_group_help(g, stderr);
    return 2;
}

/* ---- man page --------------------------------------------------------------- */

/* Text for roff: backslashes and dashes escaped, a leading '.' or '\''
 * guarded. */
static void roff(FILE *f, const char *s, size_t n)
{
    bool line_start = true;
    for (size_t i = 0; i < n && s[i]; i++) {
        char ch = s[i];
        if (line_start && (ch == '.' || ch == '\''))
            fputs("\\&", f);
        if (ch == '\\')
            fputs("\\e", f);
        else if (ch == '-')
            fputs("\\-", f);
        else
            fputc(ch, f);
        line_start = ch == '\n';
    }
}

static void roff_str(FILE *f, const char *s)
{
    roff(f, s, strlen(s));
}

static void man_cmd(const opt_cmd *c, FILE *f)
{
    fprintf(f, ".SS \"");
    roff_str(f, "ota32 ");
    roff_str(f, c->name);
    fprintf(f, "\"\n.nf\n");
    const char *s = c->usage;
    do {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        fprintf(f, "\\fBota32 ");
        roff_str(f, c->name);
        fprintf(f, "\\fR ");
        roff(f, s, n);
        fputc('\n', f);
        s += n + (nl ? 1 : 0);
    } while (*s);
    fprintf(f, ".fi\n");
    if (c->about) {
        fprintf(f, ".PP\n");
        roff_str(f, c->about);
        fputc('\n', f);
    }
    for (size_t i = 0; i < c->nopts; i++) {
        const opt_def *d = &c->opts[i];
        if (!d->names || !d->help)
            continue;
        char left[80];
        left_column(d, left, sizeof left);
        fprintf(f, ".TP\n\\fB");
        roff_str(f, left);
        fprintf(f, "\\fR\n");
        roff_str(f, d->help);
        fputc('\n', f);
    }
    if (c->more) {
        fprintf(f, ".PP\n.nf\n");
        roff_str(f, c->more);
        fprintf(f, "\n.fi\n");
    }
}

void opts_man(const opt_group *const *groups, size_t n, const char *version, FILE *f)
{
    fprintf(f, ".TH OTA32 1 \"\" \"ota32 %s\" \"User Commands\"\n", version);
    fprintf(f, ".SH NAME\nota32 \\- over\\-the\\-air updates for ESP32: ESP\\-IDF formats, a "
               "virtual ESP32, an HTTP/2 firmware server and the device\\-side OTA service\n");
    fprintf(f, ".SH SYNOPSIS\n.B ota32\n.I command\n[\\fIargs\\fR...]\n.br\n"
               ".B ota32 \\-\\-help\n.br\n.B ota32 \\-\\-version\n");
    fprintf(f, ".SH CONVENTIONS\nEvery command takes \\fB\\-\\-name VALUE\\fR and "
               "\\fB\\-\\-name=VALUE\\fR; \\fB\\-\\-\\fR ends the options; \\fB\\-\\-help\\fR "
               "describes the command. A command that writes a file takes it as \\fB\\-o "
               "FILE\\fR (\\fBpart gen\\fR and \\fBnvs gen\\fR also as their positional OUT, as "
               "ESP\\-IDF's tools do); \\fB\\-\\fR is standard output. A regular file is "
               "replaced only when the command succeeds; devices, FIFOs and standard output "
               "are written through, and a symbolic link's target is written, not the link. "
               "Commands that report something take \\fB\\-\\-json\\fR. Sizes are bytes: "
               "4096, 0x1000, 64K, 4MB. Colour and progress bars appear only on a terminal, "
               "never with \\fBNO_COLOR\\fR set.\n");
    fprintf(f, ".SH EXIT STATUS\n0 success, 1 failure (the message says what and where), 2 "
               "usage error.\n");
    for (size_t i = 0; i < n; i++) {
        const opt_group *g = groups[i];
        fprintf(f, ".SH \"");
        roff_str(f, "ota32 ");
        roff_str(f, g->name);
        fprintf(f, "\"\n");
        roff_str(f, g->summary);
        fputc('\n', f);
        for (size_t k = 0; k < g->nsubs; k++)
            man_cmd(g->subs[k], f);
    }
    fprintf(f, ".SH ENVIRONMENT\n.TP\n.B NO_COLOR\nno colour in any output\n");
    fprintf(f, ".SH SEE ALSO\nesptool(1), the README and docs/ of ota32\n");
}

/* ---- bash completion ----------------------------------------------------------- */

static void spellings(FILE *f, const char *names, const char *sep, bool with_hidden)
{
    const char *p = names, *n;
    size_t len;
    bool hidden = false, first = true;
    while (next_name(&p, &n, &len, &hidden)) {
        if (hidden && !with_hidden)
            break;
        fprintf(f, "%s%.*s", first ? "" : sep, (int)len, n);
        first = false;
    }
}

static void completion_cmd(const opt_group *g, const opt_cmd *c, FILE *f)
{
    const char *sub = g->nsubs > 1 || strcmp(c->name, g->name) ? c->name + strlen(g->name) : "";
    fprintf(f, "    \"%s%s\")\n        opts=\"--help", g->name, sub);
    for (size_t i = 0; i < c->nopts; i++) {
        if (!c->opts[i].names || !c->opts[i].help)
            continue;
        fputc(' ', f);
        spellings(f, c->opts[i].names, " ", false);
    }
    fprintf(f, "\"\n        case $prev in\n");
    for (size_t i = 0; i < c->nopts; i++) {
        const opt_def *d = &c->opts[i];
        if (!d->names || d->kind == OPT_FLAG)
            continue;
        fprintf(f, "        ");
        spellings(f, d->names, "|", true);
        if (d->choices)
            fprintf(f, ") COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n", d->choices);
        else if (d->complete && !strcmp(d->complete, "file"))
            fprintf(f, ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n");
        else
            fprintf(f, ") return ;;\n");
    }
    fprintf(f, "        esac ;;\n");
}

void opts_bash_completion(const opt_group *const *groups, size_t n, FILE *f)
{
    fprintf(f, "# bash completion for ota32 (written by `ota32 --completion bash`)\n"
               "_ota32() {\n"
               "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
               "    local cmd=${COMP_WORDS[1]} key opts\n"
               "    COMPREPLY=()\n"
               "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
               "        COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s ", groups[i]->name);
    fprintf(f, "--help --version\" -- \"$cur\"))\n        return\n    fi\n    key=$cmd\n"
               "    case $cmd in\n");
    for (size_t i = 0; i < n; i++) {
        const opt_group *g = groups[i];
        if (g->nsubs == 1 && !strcmp(g->subs[0]->name, g->name))
            continue;
        fprintf(f, "    %s)\n        if [ \"$COMP_CWORD\" -eq 2 ]; then\n"
                   "            COMPREPLY=($(compgen -W \"",
                g->name);
        for (size_t k = 0; k < g->nsubs; k++)
            fprintf(f, "%s ", g->subs[k]->name + strlen(g->name) + 1);
        fprintf(f, "--help\" -- \"$cur\"))\n            return\n        fi\n"
                   "        key=\"$cmd ${COMP_WORDS[2]}\" ;;\n");
    }
    fprintf(f, "    esac\n    case $key in\n");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < groups[i]->nsubs; k++)
            completion_cmd(groups[i], groups[i]->subs[k], f);
    fprintf(f, "    *) return ;;\n    esac\n"
               "    if [[ $cur == -* ]]; then\n"
               "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
               "    else\n"
               "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
               "    fi\n"
               "}\n"
               "complete -o filenames -F _ota32 ota32\n");
}
