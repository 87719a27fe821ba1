/*
 * test_bertscore_units.c — BERTScore pieces that need no model, on hand-built inputs:
 * bert_score's tables and hash line, sentence dedup (byte strings of given lengths, so
 * "a\0b" is not "a"), idf, token weights, the empty-sentence rule and rescaling, baseline
 * lookup and parsing, and greedy matching with those weights on every backend this machine
 * has (identical pairs give 1, swapping sides swaps P and R, idf-weighted scores are weighted
 * means).
 */
#include "bertscore.h"
#include "testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_tables(void)
{
    static const struct { const char *model; int layers; } want[] = {
        {"bert-base-uncased", 9},
        {"bert-large-uncased", 18},
        {"roberta-base", 10},
        {"roberta-large", 17},
        {"distilroberta-base", 5},
        {"microsoft/deberta-xlarge-mnli", 40},
        {"xlm-roberta-large", 17},
        {"bert-base-multilingual-cased", 9},
        {"bert-base-chinese", 8},
        {"allenai/scibert_scivocab_uncased", 8},
        {"khalidalt/DeBERTa-v3-large-mnli", 18},
        {"FacebookAI/roberta-large", 17}, /* today's hub name of roberta-large */
        {"no-such-model", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(vkb_bertscore_default_layers(want[i].model) == want[i].layers, "%s: %d, want %d",
              want[i].model, vkb_bertscore_default_layers(want[i].model), want[i].layers);
    CHECK(vkb_bertscore_default_layers(NULL) == 0, "NULL model");

    CHECK(!strcmp(vkb_bertscore_default_model("en"), "roberta-large"), "en");
    CHECK(!strcmp(vkb_bertscore_default_model("EN"), "roberta-large"), "EN (lowercased)");
    CHECK(!strcmp(vkb_bertscore_default_model(NULL), "roberta-large"), "default lang en");
    CHECK(!strcmp(vkb_bertscore_default_model("zh"), "bert-base-chinese"), "zh");
    CHECK(!strcmp(vkb_bertscore_default_model("tr"), "dbmdz/bert-base-turkish-cased"), "tr");
    CHECK(!strcmp(vkb_bertscore_default_model("fr"), "bert-base-multilingual-cased"), "fr");

    char err[256] = "";
    int n = -1;
    CHECK(bertscore_resolve_layers("tiny-bert", 2, 2, &n, err, sizeof err) == VKB_OK && n == 2,
          "requested layers win");
    CHECK(bertscore_resolve_layers("roberta-large", 0, 24, &n, err, sizeof err) == VKB_OK &&
              n == 17, "table default");
    CHECK(bertscore_resolve_layers("amazon/bort", 0, 4, &n, err, sizeof err) == VKB_OK && n == 0,
          "a table entry of 0 is the embeddings layer");
    CHECK(bertscore_resolve_layers("tiny-bert", 0, 2, &n, err, sizeof err) == VKB_EINVAL &&
              strstr(err, "tiny-bert") && strstr(err, "num_layers"),
          "unknown model without num_layers: %s", err);
    CHECK(bertscore_resolve_layers("tiny-bert", 3, 2, &n, err, sizeof err) == VKB_EINVAL &&
              strstr(err, "3"), "num_layers beyond the model: %s", err);
    CHECK(bertscore_resolve_layers("roberta-large", 0, 12, &n, err, sizeof err) == VKB_EINVAL,
          "table default beyond a smaller checkpoint");
    CHECK(bertscore_resolve_layers("tiny-bert", -1, 2, &n, err, sizeof err) == VKB_EINVAL,
          "negative num_layers");
}

static void test_hash(void)
{
    char h[256];
    bertscore_hash(h, sizeof h, "tiny-bert", 2, 0, 0, 0);
    CHECK(!strcmp(h, "tiny-bert_L2_no-idf_version=0.3.13(hug_trans=4.40.0)"), "%s", h);
    bertscore_hash(h, sizeof h, "roberta-large", 17, 1, 1, 1);
    CHECK(!strcmp(h, "roberta-large_L17_idf_version=0.3.13(hug_trans=4.40.0)-rescaled"
                     "_fast-tokenizer"), "%s", h);
}

static void test_dedup(void)
{
    const char *cands[] = {"a", "b", "a", ""};
    const char *refs[] = {"b", "b", "c", ""};
    bertscore_text *d = NULL;
    int nd = 0, ci[4], ri[4];
    CHECK(bertscore_dedup(cands, refs, NULL, NULL, 4, &d, &nd, ci, ri) == VKB_OK, "dedup");
    CHECK(nd == 4, "4 distinct, got %d", nd);
    if (nd == 4) {
        CHECK(!strcmp(d[0].s, "a") && !strcmp(d[1].s, "b") && !strcmp(d[2].s, "c") &&
                  !*d[3].s && d[0].len == 1 && d[3].len == 0,
              "first-seen order");
        CHECK(ci[0] == 0 && ri[0] == 1 && ci[1] == 1 && ri[1] == 1 && ci[2] == 0 && ri[2] == 2 &&
                  ci[3] == 3 && ri[3] == 3, "indices");
    }
    free(d);
    CHECK(bertscore_dedup(cands, refs, NULL, NULL, 0, &d, &nd, ci, ri) == VKB_OK && nd == 0 &&
              !d, "empty");

    /* many strings: the set grows past collisions */
    enum { N = 500 };
    static char buf[N][16];
    const char *c2[N], *r2[N];
    int ci2[N], ri2[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "s%d", i % 300);
        c2[i] = buf[i];
        r2[i] = buf[(i * 7) % N];
    }
    CHECK(bertscore_dedup(c2, r2, NULL, NULL, N, &d, &nd, ci2, ri2) == VKB_OK && nd == 300,
          "300 distinct");
    int ok = 1;
    for (int i = 0; i < N && d; i++)
        ok &= !strcmp(d[ci2[i]].s, c2[i]) && !strcmp(d[ri2[i]].s, r2[i]);
    CHECK(ok, "every index points at its string");
    free(d);
}

/* Texts with lengths are byte strings: "a\0b" is neither "a" nor "ab", and two copies of
 * "a\0b" at different addresses are one sentence. */
static void test_dedup_nul(void)
{
    static const char a_nul_b[] = "a\0b", again[] = "a\0b";
    const char *cands[] = {a_nul_b, "a", "ab", again};
    const char *refs[] = {"a", a_nul_b, "ab", "a\0c"};
    const size_t cand_lens[] = {3, 1, 2, 3}, ref_lens[] = {1, 3, 2, 3};
    bertscore_text *d = NULL;
    int nd = 0, ci[4], ri[4];
    CHECK(bertscore_dedup(cands, refs, cand_lens, ref_lens, 4, &d, &nd, ci, ri) == VKB_OK,
          "dedup with lengths");
    CHECK(nd == 4, "a\\0b, a, ab, a\\0c are 4 distinct, got %d", nd);
    if (nd == 4) {
        CHECK(ci[0] == 0 && ri[0] == 1 && ci[1] == 1 && ri[1] == 0 && ci[2] == 2 &&
                  ri[2] == 2 && ci[3] == 0 && ri[3] == 3,
              "indices: %d %d %d %d / %d %d %d %d", ci[0], ci[1], ci[2], ci[3], ri[0], ri[1],
              ri[2], ri[3]);
        CHECK(d[0].len == 3 && !memcmp(d[0].s, "a\0b", 3) && d[3].len == 3 &&
                  !memcmp(d[3].s, "a\0c", 3),
              "distinct texts keep their lengths");
    }
    free(d);
    /* one side with lengths, the other NUL-terminated */
    CHECK(bertscore_dedup(cands, refs, cand_lens, NULL, 1, &d, &nd, ci, ri) == VKB_OK &&
              nd == 2 && ci[0] == 0 && ri[0] == 1,
          "a\\0b (length 3) and \"a\" (strlen) differ");
    free(d);
}

static void test_idf(void)
{
    /* 101 = CLS, 102 = SEP, as BERT */
    const int32_t d0[] = {101, 5, 6, 5, 102}, d1[] = {101, 6, 7, 102}, d2[] = {101, 102};
    const int32_t *docs[] = {d0, d1, d2};
    const int lens[] = {5, 4, 2};
    bertscore_idf t;
    CHECK(bertscore_idf_build(&t, docs, lens, 3) == VKB_OK, "idf build");
    CHECK(t.n_docs == 3 && t.n == 5, "3 docs, 5 ids (got %d)", t.n);
    CHECK(fabsf(bertscore_idf_of(&t, 101)) < 1e-7f, "CLS in every doc: idf 0");
    CHECK(fabsf(bertscore_idf_of(&t, 5) - (float)log(4.0 / 2.0)) < 1e-6f,
          "5 twice in one doc counts once");
    CHECK(fabsf(bertscore_idf_of(&t, 6) - (float)log(4.0 / 3.0)) < 1e-6f, "6 in 2 docs");
    CHECK(fabsf(bertscore_idf_of(&t, 999) - (float)log(4.0)) < 1e-6f, "unseen: ln(M+1)");

    const int32_t cand[] = {101, 5, 999, 6, 102};
    float w[5];
    bertscore_weights(&t, 101, 102, cand, 5, w);
    CHECK(w[0] == 0 && w[4] == 0, "specials weigh 0 with idf");
    CHECK(fabsf(w[1] - (float)log(2.0)) < 1e-6f && fabsf(w[2] - (float)log(4.0)) < 1e-6f &&
              fabsf(w[3] - (float)log(4.0 / 3.0)) < 1e-6f, "idf weights");
    bertscore_weights(NULL, 101, 102, cand, 5, w);
    CHECK(w[0] == 0 && w[1] == 1 && w[2] == 1 && w[3] == 1 && w[4] == 0, "no idf: 1, specials 0");
    bertscore_idf_free(&t);

    CHECK(bertscore_idf_build(&t, NULL, NULL, 0) == VKB_OK && t.n == 0, "no references");
    CHECK(fabsf(bertscore_idf_of(&t, 3)) < 1e-7f, "M = 0: ln(1)");
    bertscore_idf_free(&t);
}

static void test_finish(void)
{
    const float prf[] = {0.9f, 0.8f, 0.85f, 0.5f, 0.7f, 0.6f, 0.4f, 0.3f, 0.35f, 1, 1, 1};
    const int cl[] = {5, 2, 7, 2}, rl[] = {6, 9, 2, 2};
    float P[4], R[4], F[4];
    bertscore_finish(prf, cl, rl, 4, NULL, P, R, F);
    CHECK(P[0] == 0.9f && R[0] == 0.8f && F[0] == 0.85f, "non-empty pair unchanged");
    for (int i = 1; i < 4; i++)
        CHECK(P[i] == 0 && R[i] == 0 && F[i] == 0, "empty pair %d scores 0", i);
    const float b[3] = {0.8f, 0.5f, 0.25f};
    bertscore_finish(prf, cl, rl, 4, b, P, R, F);
    CHECK(fabsf(P[0] - 0.5f) < 1e-6f && fabsf(R[0] - 0.6f) < 1e-6f &&
              fabsf(F[0] - 0.8f) < 1e-6f, "rescaled (x - b)/(1 - b)");
    CHECK(fabsf(P[1] + 4.0f) < 1e-5f && fabsf(R[1] + 1.0f) < 1e-6f &&
              fabsf(F[1] + 1.0f / 3.0f) < 1e-6f, "empty rescales to -b/(1-b), not clamped");
}

/* ---- baselines on a scratch folder */

static char scratch[256];

static void write_file(const char *rel, const char *text)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", scratch, rel);
    /* make parent folders */
    for (char *p = path + strlen(scratch) + 1; (p = strchr(p, '/')); p++) {
        snprintf(dir, sizeof dir, "%.*s", (int)(p - path), path);
        mkdir(dir, 0700);
    }
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

static void test_baseline(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/vkb-bs-test-XXXXXX");
    if (!CHECK(mkdtemp(scratch) != NULL, "make a scratch folder"))
        return;
    const char *tsv = "LAYER,P,R,F\n0,0.1,0.2,0.3\n1,0.85,0.5,0.25\n2,0.9,0.91,0.92\n";
    write_file("models/rescale_baseline/en/tiny.tsv", tsv);
    write_file("models/tiny/config.json", "{}");
    write_file("models/own/rescale_baseline/de.tsv", "LAYER,P,R,F\r\n0,0.5,0.5,0.5\r\n");
    write_file("bl/en/org/name.tsv", tsv);
    write_file("bl/en/flat.tsv", tsv);
    write_file("bad/en/header.tsv", "L,P,R\n0,1,2\n");
    write_file("bad/en/number.tsv", "LAYER,P,R,F\n0,0.1,x,0.3\n");
    write_file("bad/en/one.tsv", "LAYER,P,R,F\n0,1,0.5,0.5\n");
    write_file("bad/en/empty.tsv", "");

    char models[300], path[4096], err[1024], dir[400];
    snprintf(models, sizeof models, "%s/models", scratch);
    snprintf(dir, sizeof dir, "%s/tiny", models);
    CHECK(bertscore_find_baseline(NULL, dir, "en", "tiny", path, sizeof path, err, sizeof err) ==
              VKB_OK && ends_with(path, "models/rescale_baseline/en/tiny.tsv"),
          "model root default: %s", err);
    CHECK(bertscore_find_baseline(NULL, dir, NULL, "tiny", path, sizeof path, err, sizeof err) ==
              VKB_OK, "lang defaults to en");
    snprintf(dir, sizeof dir, "%s/own", models);
    CHECK(bertscore_find_baseline(NULL, dir, "de", "own", path, sizeof path, err, sizeof err) ==
              VKB_OK && ends_with(path, "own/rescale_baseline/de.tsv"),
          "model folder's own baseline: %s", err);
    char bl[300];
    snprintf(bl, sizeof bl, "%s/bl", scratch);
    CHECK(bertscore_find_baseline(bl, NULL, "en", "org/name", path, sizeof path, err,
                                  sizeof err) == VKB_OK && ends_with(path, "bl/en/org/name.tsv"),
          "bert_score's org subfolder: %s", err);
    CHECK(bertscore_find_baseline(bl, NULL, "en", "someorg/flat", path, sizeof path, err,
                                  sizeof err) == VKB_OK && ends_with(path, "bl/en/flat.tsv"),
          "name after the last '/': %s", err);
    CHECK(bertscore_find_baseline(bl, NULL, "fr", "flat", path, sizeof path, err, sizeof err) ==
              VKB_EINVAL && strstr(err, "bl/fr/flat.tsv"),
          "missing baseline names the file: %s", err);
    const char *bad_names[] = {"../tiny", "/etc/passwd", "a//b", "a/./b", "", "a\\b"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        CHECK(bertscore_find_baseline(bl, NULL, "en", bad_names[i], path, sizeof path, err,
                                      sizeof err) == VKB_EINVAL, "model name '%s' refused",
              bad_names[i]);
    CHECK(bertscore_find_baseline(bl, NULL, "../en", "flat", path, sizeof path, err,
                                  sizeof err) == VKB_EINVAL, "lang '../en' refused");

    float b[3];
    snprintf(path, sizeof path, "%s/bl/en/flat.tsv", scratch);
    CHECK(bertscore_read_baseline(path, 1, b, err, sizeof err) == VKB_OK && b[0] == 0.85f &&
              b[1] == 0.5f && b[2] == 0.25f, "row LAYER 1: %s", err);
    CHECK(bertscore_read_baseline(path, 3, b, err, sizeof err) == VKB_EINVAL &&
              strstr(err, "LAYER 3"), "missing row: %s", err);
    snprintf(path, sizeof path, "%s/models/own/rescale_baseline/de.tsv", scratch);
    CHECK(bertscore_read_baseline(path, 0, b, err, sizeof err) == VKB_OK && b[2] == 0.5f,
          "CRLF lines: %s", err);
    const char *bad[] = {"header", "number", "one", "empty", "absent"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad/en/%s.tsv", scratch, bad[i]);
        err[0] = '\0';
        CHECK(bertscore_read_baseline(path, 0, b, err, sizeof err) == VKB_EINVAL &&
                  strstr(err, bad[i]), "bad baseline %s: %s", bad[i], err);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    CHECK(system(cmd) == 0, "clean scratch");
}

/* ---- greedy matching with these weights, on each backend */

enum { C = 16 };

/* Three sentences of random token vectors: s0 (7 tokens), s1 (5), and s2 = s0 with its
 * middle tokens reversed (same set of vectors), each framed by CLS/SEP rows. */
static void check_backend(vkb_backend *be)
{
    const char *id = vkb_backend_id(be);
    const int32_t ids0[] = {101, 11, 12, 13, 14, 15, 102};
    const int32_t ids1[] = {101, 11, 16, 17, 102};
    const int32_t ids2[] = {101, 15, 14, 13, 12, 11, 102};
    const int32_t *sent[] = {ids0, ids1, ids2};
    const int lens[] = {7, 5, 7}, row0[] = {0, 7, 12}, rows = 19;
    float T[19 * C], w[19];
    tl_seed(42);
    for (int i = 0; i < 12 * C; i++)
        T[i] = tl_randf(-1, 1);
    for (int t = 0; t < 7; t++) /* s2 row t = s0 row (t in 1..5 ? 6 - t : t) */
        memcpy(T + (size_t)(12 + t) * C, T + (size_t)((t >= 1 && t <= 5) ? 6 - t : t) * C,
               sizeof(float) * C);
    bertscore_idf idf;
    const int32_t *refs[] = {ids0, ids1};
    const int rlens[] = {7, 5};
    CHECK(bertscore_idf_build(&idf, refs, rlens, 2) == VKB_OK, "idf");
    for (int s = 0; s < 3; s++)
        bertscore_weights(&idf, 101, 102, sent[s], lens[s], w + row0[s]);

    /* pairs: identical (0,0), permuted (0,2), (0,1) and its swap (1,0) */
    const int32_t pairs_h[] = {row0[0], 7, row0[0], 7, row0[0], 7, row0[2], 7,
                               row0[0], 7, row0[1], 5, row0[1], 5, row0[0], 7};
    vkb_tensor *tT = vkb_tensor_new(be, VKB_F32, (size_t)rows * C);
    vkb_tensor *tw = vkb_tensor_new(be, VKB_F32, rows);
    vkb_tensor *tp = vkb_tensor_new(be, VKB_I32, 16);
    vkb_tensor *tprf = vkb_tensor_new(be, VKB_F32, 12);
    float prf[12];
    int rc = !tT || !tw || !tp || !tprf ? VKB_ENOMEM : VKB_OK;
    if (!rc)
        rc = vkb_tensor_upload(tT, 0, T, (size_t)rows * C);
    if (!rc)
        rc = vkb_tensor_upload(tw, 0, w, rows);
    if (!rc)
        rc = vkb_tensor_upload(tp, 0, pairs_h, 16);
    if (!rc)
        rc = vkb_op_greedy_match(be, tprf, tT, tw, tp, 4, C, 0);
    if (!rc)
        rc = vkb_tensor_download(tprf, 0, prf, 12);
    CHECK(rc == VKB_OK, "%s: greedy_match ran: %s", id, vkb_status_str(rc));
    if (!rc) {
        for (int p = 0; p < 2; p++)
            for (int k = 0; k < 3; k++)
                CHECK(fabsf(prf[3 * p + k] - 1.0f) < 1e-5f,
                      "%s: pair %d (same tokens) component %d = %.7f, want 1", id, p, k,
                      prf[3 * p + k]);
        CHECK(fabsf(prf[6] - prf[10]) < 1e-6f && fabsf(prf[7] - prf[9]) < 1e-6f &&
                  fabsf(prf[8] - prf[11]) < 1e-6f, "%s: swapping sides swaps P and R", id);
        /* P of (s0, s1) by hand: idf-weighted mean of each s0 token's best cosine in s1 */
        double num = 0, den = 0;
        for (int i = 0; i < 7; i++) {
            const float *a = T + (size_t)i * C;
            double best = -2;
            for (int j = 0; j < 5; j++) {
                const float *c = T + (size_t)(row0[1] + j) * C;
                double ab = 0, aa = 0, cc = 0;
                for (int k = 0; k < C; k++) {
                    ab += (double)a[k] * c[k];
                    aa += (double)a[k] * a[k];
                    cc += (double)c[k] * c[k];
                }
                double cs = ab / sqrt(aa * cc);
                best = cs > best ? cs : best;
            }
            num += w[i] * best;
            den += w[i];
        }
        CHECK(fabs(prf[6] - num / den) < 1e-5, "%s: P = weighted mean %.7f vs %.7f", id,
              prf[6], num / den);
        CHECK(prf[6] < 0.999f, "%s: different sentences score below 1", id);
    }
    vkb_tensor_free(tT);
    vkb_tensor_free(tw);
    vkb_tensor_free(tp);
    vkb_tensor_free(tprf);
    bertscore_idf_free(&idf);
}

/* Sentences at bert_score's 512-token limit on both sides: the backend must agree with the
 * CPU twin (a long pair is where tiled kernels go wrong). */
static void check_long_pair(vkb_backend *be, vkb_backend *cpu)
{
    enum { N = 512, D = 32, ROWS = 2 * N };
    float *T = malloc(sizeof(float) * ROWS * D), *w = malloc(sizeof(float) * ROWS);
    const int32_t pair[8] = {0, N, N, N, N, N, 0, 300};
    float got[6], want[6];
    tl_seed(7);
    for (int i = 0; i < ROWS * D; i++)
        T[i] = tl_randf(-0.3f, 1.0f);
    for (int i = 0; i < ROWS; i++)
        w[i] = (i % N == 0 || i % N == N - 1) ? 0.0f : tl_randf(0.1f, 2.0f);
    vkb_backend *bs[2] = {be, cpu};
    float *out[2] = {got, want};
    for (int k = 0; k < 2; k++) {
        vkb_tensor *tT = vkb_tensor_new(bs[k], VKB_F32, (size_t)ROWS * D);
        vkb_tensor *tw = vkb_tensor_new(bs[k], VKB_F32, ROWS);
        vkb_tensor *tp = vkb_tensor_new(bs[k], VKB_I32, 8);
        vkb_tensor *to = vkb_tensor_new(bs[k], VKB_F32, 6);
        int rc = !tT || !tw || !tp || !to ? VKB_ENOMEM : VKB_OK;
        if (!rc)
            rc = vkb_tensor_upload(tT, 0, T, (size_t)ROWS * D);
        if (!rc)
            rc = vkb_tensor_upload(tw, 0, w, ROWS);
        if (!rc)
            rc = vkb_tensor_upload(tp, 0, pair, 8);
        if (!rc)
            rc = vkb_op_greedy_match(bs[k], to, tT, tw, tp, 2, D, 0);
        if (!rc)
            rc = vkb_tensor_download(to, 0, out[k], 6);
        CHECK(rc == VKB_OK, "%s: long pair: %s", vkb_backend_id(bs[k]), vkb_status_str(rc));
        if (rc)
            memset(out[k], 0, sizeof(float) * 6);
        vkb_tensor_free(tT);
        vkb_tensor_free(tw);
        vkb_tensor_free(tp);
        vkb_tensor_free(to);
    }
    for (int k = 0; k < 6; k++)
        CHECK(fabsf(got[k] - want[k]) < 1e-5f, "%s: 512-token pairs, prf[%d] = %.7f, cpu %.7f",
              vkb_backend_id(be), k, got[k], want[k]);
    free(T);
    free(w);
}

static void test_greedy(void)
{
    vkb_backend *cpu = NULL;
    char cpu_err[256];
    if (!CHECK(vkb_backend_open("cpu", &cpu, cpu_err, sizeof cpu_err) == VKB_OK, "cpu: %s",
               cpu_err))
        return;
    const char *specs[] = {"cpu", "vulkan"};
    for (int i = 0; i < 2; i++) {
        vkb_backend *be = NULL;
        char err[256];
        if (vkb_backend_open(specs[i], &be, err, sizeof err)) {
            printf("SKIP greedy matching on %s: %s\n", specs[i], err);
            continue;
        }
        check_backend(be);
        if (vkb_backend_is_vulkan(be))
            check_long_pair(be, cpu);
        vkb_backend_close(be);
    }
    vkb_backend_close(cpu);
}

int main(void)
{
    test_tables();
    test_hash();
    test_dedup();
    test_dedup_nul();
    test_idf();
    test_finish();
    test_baseline();
    test_greedy();
    return tl_finish();
}
