/*
 * cmd_bench.c — `vkbridge bench WHAT [ARGS]`: dispatches to the benches (tools/bench_*.c),
 * each of which prints JSON. Each bench adds its row to the table below when it lands
 * (ops, encode, bertscore are added by their owners).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

const vkb_command vkb_benches[] = {
    {"ops", bench_ops, "GFLOP/s of matmul, attention ms, layernorm GB/s per backend"},
    {"tokenize", bench_tokenize, "tokens/s of the tokenizers on the golden corpora (single thread)"},
    {"encode", bench_encode, "sentence-embedding throughput of the MiniLM shape per backend"},
    {"bertscore", bench_bertscore, "BERTScore pairs/s of the MiniLM and roberta-large shapes per backend"},
    {0, 0, 0},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: vkbridge bench WHAT [ARGS]   (vkbridge bench WHAT --help for details)\n\n");
    for (const vkb_command *b = vkb_benches; b->name; b++)
        fprintf(f, "  %-10s %s\n", b->name, b->help);
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (const vkb_command *b = vkb_benches; b->name; b++)
        if (!strcmp(argv[1], b->name))
            return b->run(argc - 1, argv + 1);
    fprintf(stderr, "vkbridge bench: unknown bench '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
