/*
 * test_tokenizer_golden.c — exact parity with Hugging Face tokenizers on the shared goldens:
 * every line of golden-*.jsonl (ids and token strings, with special tokens), the llama.cpp
 * cases (ids without special tokens), the older file formats (vocab.txt; vocab.json +
 * merges.txt) on the same goldens, and all-MiniLM-L6-v2's tokenizer.json (which sets
 * truncation and padding that encoding must ignore). Prints "NAME: passed/total" per set.
 */
#include "tokenizer_testutil.h"
#include "vkb_tokenizer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *testdir;

static const char *tpath(const char *rel)
{
    static char buf[8][4096];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof(buf[0]), "%s/tokenizers/%s", testdir, rel);
    return b;
}

static vkb_tokenizer *load(const char *path, int prefix_space)
{
    vkb_tokenizer_options opts = {prefix_space};
    vkb_tokenizer *t = NULL;
    char err[512];
    int rc = vkb_tokenizer_load(path, &opts, &t, err, sizeof(err));
    CHECK(rc == 0, "load %s: %s", path, err);
    return t;
}

static void print_ids(const char *what, const int32_t *ids, int n)
{
    fprintf(stderr, "  %s:", what);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* Encodes every golden line; counts lines whose ids (and, if check_tokens, token strings)
 * match exactly. */
static void run_golden(const char *name, vkb_tokenizer *t, const char *golden, int check_tokens)
{
    if (!t)
        return;
    FILE *f = fopen(golden, "r");
    if (!CHECK(f != NULL, "open %s", golden))
        return;
    char *line = NULL;
    size_t cap = 0;
    int total = 0, passed = 0, shown = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *j = json_loads(line, JSON_ALLOW_NUL, &jerr);
        if (!CHECK(j != NULL, "%s line %d: %s", golden, total + 1, jerr.text))
            continue;
        total++;
        json_t *text = json_object_get(j, "text");
        json_t *ids = json_object_get(j, "ids");
        json_t *toks = json_object_get(j, "tokens");
        vkb_encoding e;
        char **strs = NULL;
        int rc = vkb_tokenizer_encode_tokens(t, json_string_value(text), json_string_length(text),
                                             1, 0, &e, &strs);
        int ok = rc == 0 && (size_t)e.n == json_array_size(ids);
        for (int i = 0; ok && i < e.n; i++) {
            ok = e.ids[i] == json_integer_value(json_array_get(ids, (size_t)i));
            if (ok && check_tokens)
                ok = !strcmp(strs[i], json_string_value(json_array_get(toks, (size_t)i)));
        }
        if (ok) {
            passed++;
        } else if (shown++ < 5) {
            fprintf(stderr, "%s: line %d differs (rc %d): %.200s\n", name, total, rc,
                    json_string_value(text));
            int32_t want[4096];
            int nw = 0;
            for (size_t i = 0; i < json_array_size(ids) && nw < 4096; i++)
                want[nw++] = (int32_t)json_integer_value(json_array_get(ids, i));
            print_ids("want", want, nw < 60 ? nw : 60);
            print_ids("got ", e.ids, e.n < 60 ? e.n : 60);
            for (int i = 0; check_tokens && i < e.n && i < 40; i++)
                fprintf(stderr, " [%s]", strs[i]);
            fputc('\n', stderr);
        }
        vkb_tokens_free(strs, e.n);
        vkb_encoding_free(&e);
        json_decref(j);
    }
    free(line);
    fclose(f);
    printf("%s: %d/%d\n", name, passed, total);
    CHECK(total > 0 && passed == total, "%s: %d of %d lines differ", name, total - passed, total);
}

/* llama.cpp cases: .inp texts separated by "\n__ggml_vocab_test__\n", .out ids per line. */
static void run_llama(const char *name, vkb_tokenizer *t, const char *inp_path, const char *out_path)
{
    if (!t)
        return;
    size_t n_inp = 0, n_out = 0;
    char *inp = NULL, *out = NULL;
    FILE *f = fopen(inp_path, "rb");
    if (f) {
        inp = malloc(1 << 20);
        n_inp = fread(inp, 1, (1 << 20) - 1, f);
        inp[n_inp] = 0;
        fclose(f);
    }
    f = fopen(out_path, "rb");
    if (f) {
        out = malloc(1 << 20);
        n_out = fread(out, 1, (1 << 20) - 1, f);
        out[n_out] = 0;
        fclose(f);
    }
    if (!CHECK(inp && out, "read %s / %s", inp_path, out_path))
        goto cleanup;
    const char *sep = "\n__ggml_vocab_test__\n";
    char *p = inp, *o = out;
    int total = 0, passed = 0;
    for (;;) {
        char *end = strstr(p, sep);
        if (!end)
            break; /* the text after the last separator is not a case */
        char *nl = strchr(o, '\n');
        if (!CHECK(nl != NULL, "%s: fewer output lines than cases", out_path))
            break;
        *nl = 0;
        total++;
        vkb_encoding e;
        int ok = vkb_tokenizer_encode(t, p, (size_t)(end - p), 0, 0, &e) == 0;
        char *q = o;
        int i = 0;
        for (; ok; i++) {
            char *next;
            long v = strtol(q, &next, 10);
            if (next == q)
                break;
            ok = i < e.n && e.ids[i] == v;
            q = next;
        }
        ok = ok && i == e.n;
        if (ok)
            passed++;
        else
            fprintf(stderr, "%s case %d differs: [%.*s]\n  want: %s\n", name, total,
                    (int)(end - p), p, o);
        vkb_encoding_free(&e);
        p = end + strlen(sep);
        o = nl + 1;
    }
    printf("%s: %d/%d\n", name, passed, total);
    CHECK(total == 46 && passed == total, "%s: %d of %d cases differ", name, total - passed, total);
cleanup:
    free(inp);
    free(out);
}

int main(void)
{
    const char *td = tl_testdata("tokenizer goldens");
    if (!td)
        return tl_finish();
    testdir = td;

    vkb_tokenizer *bert = load(tpath("bert-base-uncased/tokenizer.json"), -1);
    vkb_tokenizer *roberta = load(tpath("roberta-base/tokenizer.json"), -1);
    vkb_tokenizer *roberta_ps = load(tpath("roberta-base/tokenizer-prefix-space.json"), -1);
    run_golden("bert golden", bert, tpath("golden-bert-base-uncased.jsonl"), 1);
    run_golden("roberta golden", roberta, tpath("golden-roberta-base.jsonl"), 1);
    run_golden("roberta prefix-space golden", roberta_ps,
               tpath("golden-roberta-base-prefix-space.jsonl"), 1);
    run_llama("llama.cpp bert-bge", bert, tpath("llama.cpp-cases/ggml-vocab-bert-bge.gguf.inp"),
              tpath("llama.cpp-cases/ggml-vocab-bert-bge.gguf.out"));
    run_llama("llama.cpp roberta-bpe", roberta,
              tpath("llama.cpp-cases/ggml-vocab-roberta-bpe.gguf.inp"),
              tpath("llama.cpp-cases/ggml-vocab-roberta-bpe.gguf.out"));

    /* The older formats must give the same ids (and strings) on the same goldens. */
    vkb_tokenizer *bert_txt = load(tpath("bert-base-uncased/vocab.txt"), -1);
    /* Controls that are also whitespace vanish (Hugging Face tokenizers gives these tokens for
     * "form\ffeed"); \t stays a separator. Both file formats share the normalizer. */
    vkb_tokenizer *berts[2] = {bert, bert_txt};
    for (int i = 0; i < 2; i++) {
        if (!berts[i])
            continue;
        TT_EXPECT(berts[i], "form\ffeed", 1, "[CLS]|form|##fe|##ed|[SEP]");
        TT_EXPECT(berts[i], "form\vfeed", 1, "[CLS]|form|##fe|##ed|[SEP]");
        TT_EXPECT(berts[i], "form\xc2\x85" "feed", 1, "[CLS]|form|##fe|##ed|[SEP]");
        TT_EXPECT(berts[i], "form\tfeed", 1, "[CLS]|form|feed|[SEP]");
    }
    vkb_tokenizer *roberta_bpe = load(tpath("roberta-base/vocab.json"), -1);
    vkb_tokenizer *roberta_bpe_ps = load(tpath("roberta-base/vocab.json"), 1);
    vkb_tokenizer *roberta_forced = load(tpath("roberta-base/tokenizer.json"), 1);
    run_golden("bert vocab.txt golden", bert_txt, tpath("golden-bert-base-uncased.jsonl"), 1);
    run_golden("roberta vocab.json+merges.txt golden", roberta_bpe,
               tpath("golden-roberta-base.jsonl"), 1);
    run_golden("roberta vocab.json+merges.txt prefix-space golden", roberta_bpe_ps,
               tpath("golden-roberta-base-prefix-space.jsonl"), 1);
    run_golden("roberta tokenizer.json forced prefix-space golden", roberta_forced,
               tpath("golden-roberta-base-prefix-space.jsonl"), 1);

    /* all-MiniLM-L6-v2: the bert-base-uncased vocabulary with truncation 128 and padding
     * Fixed 128 set in the file; encode ignores both, so the ids equal the bert golden. */
    vkb_tokenizer *minilm = load(tpath("all-MiniLM-L6-v2/tokenizer.json"), -1);
    run_golden("all-MiniLM-L6-v2 on bert golden", minilm, tpath("golden-bert-base-uncased.jsonl"), 1);
    if (minilm) {
        CHECK(vkb_tokenizer_pad_id(minilm) == 0, "MiniLM pad id %d", vkb_tokenizer_pad_id(minilm));
        CHECK(vkb_tokenizer_cls_id(minilm) == 101 && vkb_tokenizer_sep_id(minilm) == 102,
              "MiniLM cls/sep");
    }
    if (bert && roberta) {
        CHECK(vkb_tokenizer_vocab_size(bert) == 30522, "bert vocab %d", vkb_tokenizer_vocab_size(bert));
        CHECK(vkb_tokenizer_vocab_size(roberta) == 50265, "roberta vocab %d",
              vkb_tokenizer_vocab_size(roberta));
        CHECK(vkb_tokenizer_pad_id(roberta) == 1 && vkb_tokenizer_cls_id(roberta) == 0 &&
                  vkb_tokenizer_sep_id(roberta) == 2,
              "roberta pad/cls/sep");
        CHECK(!strcmp(vkb_tokenizer_kind(bert), "wordpiece") && !strcmp(vkb_tokenizer_kind(roberta), "bpe"),
              "kinds");
    }
    vkb_tokenizer_free(bert);
    vkb_tokenizer_free(roberta);
    vkb_tokenizer_free(roberta_ps);
    vkb_tokenizer_free(bert_txt);
    vkb_tokenizer_free(roberta_bpe);
    vkb_tokenizer_free(roberta_bpe_ps);
    vkb_tokenizer_free(roberta_forced);
    vkb_tokenizer_free(minilm);
    return tl_finish();
}
