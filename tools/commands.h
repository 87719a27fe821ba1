/*
 * commands.h — the subcommands of the vkbridge binary. Each lives in tools/cmd_NAME.c as
 * int cmd_NAME(int argc, char **argv) with argv[0] the subcommand name, and returns the
 * process exit code. The table in vkbridge.c lists them.
 */
#ifndef VKB_COMMANDS_H
#define VKB_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_bertscore(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_gen_model(int argc, char **argv);

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

#endif
