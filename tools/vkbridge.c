/*
 * vkbridge.c — the binary's entry point: picks the subcommand and hands over argv.
 */
#include "commands.h"
#include "vkb_runtime.h"
#include "vkb_platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const vkb_command vkb_commands[] = {
    {"info", cmd_info, "print the Vulkan loader and device inventory as JSON"},
    {"embed", cmd_embed, "sentence embeddings of texts, printed as the /embed response"},
    {"pull", cmd_pull, "download a model folder from the Hugging Face hub into its cache"},
    {"gen-model", cmd_gen_model, "write a random-weight model folder of any shape (tests, benches)"},
    {"bertscore", cmd_bertscore, "BERTScore of candidate and reference files, like bert_score's CLI"},
    {"tokenize", cmd_tokenize, "token ids and strings for texts (JSON Lines in and out)"},
    {"bench", cmd_bench, "benchmarks, as JSON (vkbridge bench --help)"},
#ifndef _WIN32 /* the Windows build has no h2o (docs/WINDOWS.md) and no man page */
    {"serve", cmd_serve, "the HTTP/1.1 + HTTP/2 service: embeddings, BERTScore, OpenAI API"},
    {"man", cmd_man, NULL}, /* the build writes the man page with it */
#endif
    {0, 0, 0},
};

void vkbridge_usage(FILE *f)
{
    fprintf(f, "vkbridge %s — transformer encoders on any GPU through Vulkan compute\n\n"
               "usage: vkbridge COMMAND [ARGS]   (vkbridge COMMAND --help for details)\n\n",
            VKB_VERSION);
    for (const vkb_command *c = vkb_commands; c->name; c++)
        if (c->help)
            fprintf(f, "  %-10s %s\n", c->name, c->help);
}

/* lavapipe (Mesa's CPU Vulkan driver) packs 8 invocations into a SIMD vector unless
 * LP_NATIVE_VECTOR_WIDTH says otherwise; on a CPU with AVX-512, 16 run vkbridge's kernels
 * faster (MiniLM batches of 32 sentences +11%, one sentence the same: docs/PERF.md). The
 * driver reads the variable once, when it loads, so it is set here, before any thread or
 * Vulkan call. A value the user set wins; other drivers ignore it. */
static void prefer_wide_lavapipe_vectors(void)
{
#if defined(__x86_64__) && !defined(_WIN32) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx512f"))
        setenv("LP_NATIVE_VECTOR_WIDTH", "512", 0);
#endif
}

int main(int argc, char **argv)
{
    vkb_stdio_binary();
    prefer_wide_lavapipe_vectors();
    if (argc < 2) {
        vkbridge_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        vkbridge_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("vkbridge %s\n", VKB_VERSION);
        return 0;
    }
    for (const vkb_command *c = vkb_commands; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "vkbridge: unknown command '%s'\n", argv[1]);
    vkbridge_usage(stderr);
    return 2;
}
