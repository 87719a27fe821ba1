/*
 * cmd_man.c — `vkbridge man [FILE]` (hidden): writes the man page vkbridge.1 as roff.
 *
 * The page is not written by hand: it is the command tables (vkb_commands, vkb_benches)
 * and what each command prints for --help, captured by running the command itself, so the
 * man page and --help cannot drift apart. The build runs this on the binary it just linked
 * (cmake/install.cmake); tests/test_install.sh checks every flag of every --help is there.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What `run(NAME --help)` writes to stdout, as a malloc'd string; NULL if it failed
 * (non-zero exit, or stdout could not be redirected). The commands print through stdio,
 * so fd 1 is pointed at a temporary file for the call and put back afterwards. */
static char *capture_help(int (*run)(int, char **), const char *name)
{
    char *text = NULL;
    int saved = -1, rc = -1;
    FILE *tmp = tmpfile();
    if (!tmp)
        goto cleanup;
    fflush(stdout);
    saved = dup(1);
    if (saved < 0 || dup2(fileno(tmp), 1) < 0)
        goto cleanup;
    char *argv[] = {(char *)name, "--help", NULL};
    rc = run(2, argv);
    fflush(stdout);
    dup2(saved, 1);
    if (rc != 0)
        goto cleanup;
    struct stat st; /* what went through fd 1 is in the file, not in tmp's stdio buffer */
    if (fstat(fileno(tmp), &st) != 0 || !(text = malloc((size_t)st.st_size + 1)))
        goto cleanup;
    size_t n = (size_t)st.st_size;
    rewind(tmp);
    if (fread(text, 1, n, tmp) != n) {
        free(text);
        text = NULL;
        goto cleanup;
    }
    text[n] = 0;
cleanup:
    if (saved >= 0)
        close(saved);
    if (tmp)
        fclose(tmp);
    if (!text)
        fprintf(stderr, "vkbridge man: '%s --help' failed (exit %d)\n", name, rc);
    return text;
}

/* Text as roff no-fill lines: backslashes and hyphens escaped (so flags render as ASCII
 * '-' and can be searched), a line starting with '.' or '\'' kept from being a request. */
static void put_roff(FILE *out, const char *text)
{
    int line_start = 1;
    for (const char *p = text; *p; p++) {
        if (line_start && (*p == '.' || *p == '\''))
            fputs("\\&", out);
        line_start = *p == '\n';
        if (*p == '\\')
            fputs("\\e", out);
        else if (*p == '-')
            fputs("\\-", out);
        else
            putc(*p, out);
    }
    if (!line_start)
        putc('\n', out);
}

/* One subsection: its title, the one-line summary, then the --help text verbatim. */
static int put_command(FILE *out, const char *title, const char *summary,
                       int (*run)(int, char **), const char *name)
{
    char *help = capture_help(run, name);
    if (!help)
        return -1;
    fprintf(out, ".SS \"%s\"\n", title);
    put_roff(out, summary);
    fputs(".PP\n.nf\n", out);
    put_roff(out, help);
    fputs(".fi\n", out);
    free(help);
    return 0;
}

int cmd_man(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))) {
        fprintf(argc > 2 ? stderr : stdout, "usage: vkbridge man [FILE]   (roff to FILE or stdout)\n");
        return argc > 2 ? 2 : 0;
    }
    FILE *out = argc == 2 ? fopen(argv[1], "w") : stdout;
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    int rc = 0;
    fprintf(out, ".TH VKBRIDGE 1 \"\" \"vkbridge %s\" \"User Commands\"\n", VKB_VERSION);
    fputs(".SH NAME\nvkbridge \\- transformer encoders on any GPU through Vulkan compute: "
          "text embeddings and BERTScore over HTTP/2\n"
          ".SH SYNOPSIS\n.B vkbridge\n.I COMMAND\n.RI [ ARGS ]\n"
          ".SH DESCRIPTION\n.nf\n", out);
    char *top = NULL;
    size_t top_len = 0;
    FILE *mem = open_memstream(&top, &top_len);
    if (!mem) {
        rc = 1;
        goto cleanup;
    }
    vkbridge_usage(mem);
    fclose(mem);
    put_roff(out, top);
    free(top);
    fputs(".fi\n.SH COMMANDS\n", out);
    for (const vkb_command *c = vkb_commands; c->name && !rc; c++) {
        if (!c->help)
            continue; /* hidden, like this one */
        char title[64];
        snprintf(title, sizeof title, "vkbridge %s", c->name);
        rc = put_command(out, title, c->help, c->run, c->name);
        if (c->run != cmd_bench)
            continue;
        for (const vkb_command *b = vkb_benches; b->name && !rc; b++) {
            snprintf(title, sizeof title, "vkbridge bench %s", b->name);
            rc = put_command(out, title, b->help, b->run, b->name);
        }
    }
    fputs(".SH FILES\n"
          ".TP\n.I /etc/vkbridge/vkbridge.env\n"
          "the environment of the systemd unit \\fBvkbridge.service\\fR (API_KEY, MODEL_*, VKB_*)\n"
          ".SH SEE ALSO\n"
          "The interactive API documentation at \\fI/docs\\fR of a running service, and "
          "\\fI/openapi.json\\fR.\n", out);
cleanup:
    if (out != stdout && fclose(out) != 0)
        rc = 1;
    if (out == stdout)
        fflush(stdout);
    return rc ? 1 : 0;
}
