/*
 * commands.h — the subcommands of the vkbridge binary. Each lives in tools/cmd_NAME.c as
 * int cmd_NAME(int argc, char **argv) with argv[0] the subcommand name, and returns the
 * process exit code. The table in vkbridge.c lists them.
 */
#ifndef VKB_COMMANDS_H
#define VKB_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

/* One row of a command table: `vkbridge NAME` (vkb_commands, tools/vkbridge.c) or
 * `vkbridge bench NAME` (vkb_benches, tools/cmd_bench.c). help is the one-line summary
 * usage prints; NULL hides the row from usage. Both tables end with a NULL name. The man
 * page (tools/cmd_man.c) is written from these tables and each row's --help. */
typedef struct vkb_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} vkb_command;
extern const vkb_command vkb_commands[];
extern const vkb_command vkb_benches[];
/* The top-level usage text (`vkbridge --help`). */
void vkbridge_usage(FILE *f);

int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_bertscore(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_gen_model(int argc, char **argv);
int cmd_man(int argc, char **argv); /* hidden: writes vkbridge.1 (roff) */

/* Benches, each printing JSON (tools/bench_NAME.c), dispatched by cmd_bench. */
int bench_ops(int argc, char **argv);
int bench_tokenize(int argc, char **argv);
int bench_encode(int argc, char **argv);
int bench_bertscore(int argc, char **argv);

/* Shared by the benches (tools/bench_util.c). */
struct json_t;
double bench_now(void); /* monotonic seconds */
/* Prints doc indented with 6-digit reals, then releases it. */
void bench_print_json(struct json_t *doc);
/* rm -rf dir, saying so on stderr (prefixed by who) if it fails. */
void bench_remove_dir(const char *dir, const char *who);

/* Texts read from input (tools/text_input.c), the same way by every command. text[i] is
 * malloc'd and NUL-terminated; len[i] is its byte length (a text may hold NUL: "\u0000"). */
typedef struct text_list {
    char **text; /* (n) */
    size_t *len; /* (n) */
    int n, cap;
} text_list;
int text_list_push(text_list *l, const char *s, size_t len); /* VKB_OK or VKB_ENOMEM */
void text_list_free(text_list *l);
/* Appends the texts of in, named `name` in messages. jsonl: one {"text": "..."} per line,
 * blank lines skipped, "\u0000" allowed; else plain lines as Python's text mode splits them.
 * Returns VKB_OK; VKB_EINVAL for a bad line (err: "NAME line N: ..."); VKB_EIO; VKB_ENOMEM. */
int text_list_read(FILE *in, const char *name, int jsonl, text_list *l, char *err,
                   size_t errlen);
/* As text_list_read on the file at path (VKB_EIO naming it when it cannot be opened). */
int text_list_read_file(const char *path, int jsonl, text_list *l, char *err, size_t errlen);

#endif
