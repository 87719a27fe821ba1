/*
 * cmd_gen_model.c — `vkbridge gen-model`: writes a random-weight model folder of a given
 * shape (see gen_model.h) for benches and self-contained tests.
 */
#include "commands.h"
#include "gen_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vkbridge gen-model --out DIR\n"
            "                          --shape minilm|roberta-large|mpnet-base|distilbert-base|tiny\n"
            "                                  |deberta-xlarge-mnli|bge-m3\n"
            "                          [--family TYPE] [--layers N] [--hidden N] [--heads N]\n"
            "                          [--intermediate N] [--max-tokens N]\n"
            "                          [--vocab-from PATH] [--dtype f32|f16|bf16] [--seed N]\n"
            "                          [--shards N] [--prefix STR]\n\n"
            "Writes a Hugging Face model folder (missing parent folders too) with random\n"
            "weights: config.json,\n"
            "model.safetensors (or N shards + model.safetensors.index.json), tokenizer files\n"
            "(copied from --vocab-from: a tokenizer.json, vocab.txt or tokenizer folder; else a\n"
            "generated WordPiece vocabulary) and sentence-transformers files.\n"
            "Shapes: minilm = all-MiniLM-L6-v2 (6 x 384, 12 heads, 1536), roberta-large\n"
            "(24 x 1024, 16 heads, 4096), mpnet-base = all-mpnet-base-v2 (12 x 768, 12 heads,\n"
            "3072), distilbert-base (6 x 768, 12 heads, 3072), tiny (2 x 32, 4 heads, 64),\n"
            "deberta-xlarge-mnli (DeBERTa v1, 48 x 1024, 16 heads, 4096, c2p|p2c relative\n"
            "attention; bert_score uses layer 40; --vocab-from a DeBERTa tokenizer folder for\n"
            "its BPE), bge-m3 (XLM-R large, 24 x 1024, 16 heads, 4096, 8192 tokens;\n"
            "--vocab-from an XLM-R tokenizer folder).\n"
            "--max-tokens N: token positions (max_position_embeddings, plus the padding\n"
            "offset for the RoBERTa family) and sentence-transformers' max_seq_length.\n"
            "--family writes the shape as another family (a config model_type: bert, roberta,\n"
            "xlm-roberta, camembert, distilbert, mpnet, deberta, deberta-v2), with that\n"
            "family's config keys and\n"
            "tensor names. The same seed gives the same weights whatever --dtype (rounded)\n"
            "and --shards.\n");
}

/* A whole decimal number in lo..hi, or -1. */
static long parse_num(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return end != s && !*end && v >= lo && v <= hi ? v : -1;
}

int cmd_gen_model(int argc, char **argv)
{
    gen_model_spec spec = {.shape = NULL, .dtype = "f32", .seed = 1, .shards = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "gen-model: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        int *num = !strcmp(a, "--layers")         ? &spec.layers
                   : !strcmp(a, "--hidden")       ? &spec.hidden
                   : !strcmp(a, "--heads")        ? &spec.heads
                   : !strcmp(a, "--intermediate") ? &spec.intermediate
                   : !strcmp(a, "--shards")       ? &spec.shards
                   : !strcmp(a, "--max-tokens")   ? &spec.max_tokens
                                                  : NULL;
        if (num) {
            long n = parse_num(v, 1, 1 << 20);
            if (n < 0) {
                fprintf(stderr, "gen-model: %s wants a positive whole number, not '%s'\n", a, v);
                return 2;
            }
            *num = (int)n;
        } else if (!strcmp(a, "--out")) {
            spec.out = v;
        } else if (!strcmp(a, "--shape")) {
            spec.shape = v;
        } else if (!strcmp(a, "--family")) {
            spec.family = v;
        } else if (!strcmp(a, "--vocab-from")) {
            spec.vocab_from = v;
        } else if (!strcmp(a, "--dtype")) {
            spec.dtype = v;
        } else if (!strcmp(a, "--prefix")) {
            spec.prefix = v;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            spec.seed = strtoull(v, &end, 10);
            if (end == v || *end) {
                fprintf(stderr, "gen-model: --seed wants a whole number, not '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "gen-model: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!spec.out || !spec.shape) {
        fprintf(stderr, "gen-model: --out and --shape are required\n");
        usage(stderr);
        return 2;
    }
    char err[512] = "";
    if (gen_model_write(&spec, err, sizeof err) != 0) {
        fprintf(stderr, "gen-model: %s\n", err);
        return 1;
    }
    return 0;
}
