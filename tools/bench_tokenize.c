/*
 * bench_tokenize.c — `vkbridge bench tokenize`: single-threaded tokenizer throughput.
 *
 * For each (tokenizer, corpus) pair: the "text" of every line of the golden corpus, repeated
 * until about --mb megabytes, each encoded with special tokens; one untimed pass over the
 * corpus first (the BPE word cache starts warm, as it is in a running service). Prints JSON:
 * tokens/s, texts/s and MB/s per pair. tools/bench_hf_tokenizers.js measures the Rust
 * tokenizers library on the same texts for comparison.
 */
#include "commands.h"
#include "vkb_runtime.h"
#include "vkb_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The "text" of every line of the golden corpus at path; *bytes gets their total length. */
static int corpus_load(text_list *c, const char *path, size_t *bytes)
{
    char err[512];
    if (text_list_read_file(path, 1, c, err, sizeof(err)) != VKB_OK) {
        fprintf(stderr, "vkbridge bench tokenize: %s\n", err);
        return -1;
    }
    if (c->n == 0) {
        fprintf(stderr, "vkbridge bench tokenize: no texts in %s\n", path);
        return -1;
    }
    *bytes = 0;
    for (int i = 0; i < c->n; i++)
        *bytes += c->len[i];
    return 0;
}

/* Encodes the corpus `passes` times; returns the token count (or -1 on failure). */
static long long encode_all(const vkb_tokenizer *t, const text_list *c, int passes)
{
    long long tokens = 0;
    for (int p = 0; p < passes; p++)
        for (int i = 0; i < c->n; i++) {
            vkb_encoding e;
            if (vkb_tokenizer_encode(t, c->text[i], c->len[i], 1, 0, &e))
                return -1;
            tokens += e.n;
            vkb_encoding_free(&e);
        }
    return tokens;
}

static int run_pair(const char *name, const char *tok_path, const char *corpus_path, double mb,
                    int first)
{
    text_list c = {0};
    size_t corpus_bytes = 0;
    vkb_tokenizer *t = NULL;
    char err[512];
    int rc = 1;
    if (vkb_tokenizer_load(tok_path, NULL, &t, err, sizeof(err))) {
        fprintf(stderr, "vkbridge bench tokenize: %s\n", err);
        goto cleanup;
    }
    if (corpus_load(&c, corpus_path, &corpus_bytes))
        goto cleanup;
    int passes = (int)(mb * 1e6 / (double)corpus_bytes + 0.999);
    if (passes < 1)
        passes = 1;
    if (encode_all(t, &c, 1) < 0) /* warm-up */
        goto cleanup;
    double t0 = bench_now();
    long long tokens = encode_all(t, &c, passes);
    double secs = bench_now() - t0;
    if (tokens < 0) {
        fprintf(stderr, "vkbridge bench tokenize: encoding failed\n");
        goto cleanup;
    }
    double bytes = (double)corpus_bytes * passes;
    printf("%s    {\"tokenizer\": \"%s\", \"corpus\": \"%s\", \"texts\": %d, \"passes\": %d, "
           "\"bytes\": %.0f, \"tokens\": %lld, \"seconds\": %.4f, \"tokens_per_s\": %.0f, "
           "\"texts_per_s\": %.0f, \"mb_per_s\": %.2f}",
           first ? "" : ",\n", name, corpus_path, c.n, passes, bytes, tokens, secs,
           (double)tokens / secs, (double)c.n * passes / secs, bytes / 1e6 / secs);
    fflush(stdout);
    rc = 0;
cleanup:
    vkb_tokenizer_free(t);
    text_list_free(&c);
    return rc;
}

int bench_tokenize(int argc, char **argv)
{
    const char *testdata = getenv("VKB_TESTDATA");
    if (!testdata)
        testdata = "../shared/testdata";
    double mb = 10;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--testdata") && i + 1 < argc) {
            testdata = argv[++i];
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--mb") && i + 1 < argc) {
            mb = atof(argv[++i]);
        } else {
            int help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
            fprintf(help ? stdout : stderr,
                    "usage: vkbridge bench tokenize [--testdata DIR] [--mb MB] [--only TEXT]\n"
                    "  DIR: the shared test data (default $VKB_TESTDATA or ../shared/testdata)\n"
                    "  MB: megabytes of text per tokenizer (the corpus repeated), default 10\n"
                    "  TEXT: run only the tokenizers whose name contains TEXT\n");
            return help ? 0 : 2;
        }
    }
    if (mb <= 0 || mb > 10000) {
        fprintf(stderr, "vkbridge bench tokenize: --mb must be in (0, 10000]\n");
        return 2;
    }
    static const char *const pairs[][3] = {
        {"bert-base-uncased", "bert-base-uncased/tokenizer.json", "golden-bert-base-uncased.jsonl"},
        {"roberta-base", "roberta-base/tokenizer.json", "golden-roberta-base.jsonl"},
        {"unigram-xlmr-like", "unigram-xlmr-like/tokenizer.json", "golden-unigram-xlmr-like.jsonl"},
        {"unigram-xlmr-like-legacy", "unigram-xlmr-like-legacy/tokenizer.json",
         "golden-unigram-xlmr-like-legacy.jsonl"},
        {"unigram-deberta-v3-like", "unigram-deberta-v3-like/tokenizer.json",
         "golden-unigram-deberta-v3-like.jsonl"},
        {"unigram-identity", "unigram-identity/tokenizer.json", "golden-unigram-identity.jsonl"},
        {"unigram-byte-fallback", "unigram-byte-fallback/tokenizer.json",
         "golden-unigram-byte-fallback.jsonl"},
    };
    printf("{\"bench\": \"tokenize\", \"threads\": 1, \"results\": [\n");
    int rc = 0, first = 1;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]) && !rc; i++) {
        if (only && !strstr(pairs[i][0], only))
            continue;
        char tok[4096], cor[4096];
        snprintf(tok, sizeof(tok), "%s/tokenizers/%s", testdata, pairs[i][1]);
        snprintf(cor, sizeof(cor), "%s/tokenizers/%s", testdata, pairs[i][2]);
        rc = run_pair(pairs[i][0], tok, cor, mb, first);
        first = 0;
    }
    printf("\n]}\n");
    return rc;
}
