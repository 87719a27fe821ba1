/*
 * test_deberta_config.c — DeBERTa's pieces that need no device:
 *   - v2's log buckets against the values the testdata README lists and against exact
 *     arithmetic for every distance up to 511 (M = 512, 256 buckets), and the table row of
 *     a distance: v1 clamped to [-M, M-1], v2 bucketed then clamped;
 *   - config.json as published: pos_att_type as "c2p|p2c" (any case, spaces) or a list,
 *     the defaults of keys a config does not list, and the refusals of what this encoder
 *     cannot run, each naming the key (conv_kernel_size, embedding_size,
 *     attention_head_size, relative_attention false, unknown position terms, norm_rel_ebd);
 *   - tensors: a v2 config without share_att_key needs pos_key_proj / pos_query_proj and
 *     says which is missing (testdata models, SKIP without them).
 */
#include "model_internal.h"
#include "testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[256];

static void test_buckets(void)
{
    static const int cases[][2] = {{0, 0},     {1, 1},     {-1, -1},   {127, 127}, {128, 128},
                                   {129, 129}, {150, 143}, {200, 169}, {300, 207}, {511, 255},
                                   {-511, -255}, {-129, -129}, {-150, -143}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int got = deberta_log_bucket(cases[i][0], 256, 512);
        CHECK(got == cases[i][1], "bucket(%d) = %d, README says %d", cases[i][0], got,
              cases[i][1]);
    }
    int bad = 0;
    for (int delta = -511; delta <= 511; delta++) {
        int a = abs(delta), mid = 128, want = delta;
        if (a > mid) {
            double lp = ceil(log((double)a / mid) / log(511.0 / mid) * (mid - 1)) + mid;
            want = (int)lp * (delta < 0 ? -1 : 1);
        }
        bad += deberta_log_bucket(delta, 256, 512) != want;
    }
    CHECK(bad == 0, "%d distances in -511..511 bucket differently from exact arithmetic", bad);

    rel_config v1 = {.kind = 1, .max_rel = 512, .span = 512};
    CHECK(deberta_rel_row(&v1, 0) == 512 && deberta_rel_row(&v1, -512) == 0 &&
              deberta_rel_row(&v1, -600) == 0 && deberta_rel_row(&v1, 511) == 1023 &&
              deberta_rel_row(&v1, 700) == 1023 && deberta_rel_row(&v1, -5) == 507,
          "v1 rows: M + delta clamped to 0..2M-1");
    rel_config small = {.kind = 1, .max_rel = 4, .span = 4};
    CHECK(deberta_rel_row(&small, 10) == 7 && deberta_rel_row(&small, -10) == 0 &&
              deberta_rel_row(&small, 3) == 7 && deberta_rel_row(&small, -4) == 0,
          "v1 rows with M = 4 clamp at distances 4 and -5");
    rel_config v2 = {.kind = 2, .max_rel = 512, .buckets = 256, .span = 256};
    CHECK(deberta_rel_row(&v2, 0) == 256 && deberta_rel_row(&v2, 200) == 256 + 169 &&
              deberta_rel_row(&v2, -511) == 1 && deberta_rel_row(&v2, 511) == 511,
          "v2 rows: bucket + S, inside 0..2S-1");
    rel_config v2n = {.kind = 2, .max_rel = 8, .span = 8};
    CHECK(deberta_rel_row(&v2n, 20) == 15 && deberta_rel_row(&v2n, -3) == 5,
          "v2 rows without buckets: delta + M clamped");
}

/* Writes scratch/config.json (a DeBERTa config with extra keys) and loads it. */
static int load_config(const char *model_type, const char *extra, model_config *cfg, char *err,
                       size_t errlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", scratch);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"model_type\": \"%s\", \"hidden_size\": 32, \"num_hidden_layers\": 2, "
            "\"num_attention_heads\": 4, \"intermediate_size\": 64, \"vocab_size\": 100, "
            "\"max_position_embeddings\": 512%s%s}", model_type, *extra ? ", " : "", extra);
    fclose(f);
    return model_config_load(scratch, cfg, err, errlen);
}

static void expect_refused(const char *type, const char *extra, const char *key)
{
    model_config cfg;
    char err[512] = "";
    int rc = load_config(type, extra, &cfg, err, sizeof err);
    CHECK(rc != VKB_OK && strstr(err, key), "%s with %s is refused naming %s: rc %d '%s'", type,
          extra, key, rc, err);
}

static void test_config(void)
{
    model_config cfg;
    char err[512] = "";
    int rc = load_config("deberta", "\"relative_attention\": true, \"pos_att_type\": \"C2P | p2c\"",
                         &cfg, err, sizeof err);
    CHECK(rc == VKB_OK && cfg.rel.kind == 1 && cfg.rel.c2p && cfg.rel.p2c &&
              cfg.rel.max_rel == 512 && cfg.rel.span == 512 && cfg.rel.abs_pos == 1 &&
              cfg.type_vocab == 0 && fabsf(cfg.eps - 1e-7f) < 1e-12f,
          "v1 defaults: M from max_position_embeddings, absolute positions on, no token types, "
          "eps 1e-7 (rc %d %s)", rc, err);
    rc = load_config("deberta-v2", "\"relative_attention\": true, \"pos_att_type\": [\"p2c\"], "
                     "\"max_relative_positions\": 256, \"position_buckets\": 64, "
                     "\"share_att_key\": true, \"norm_rel_ebd\": \"layer_norm\", "
                     "\"position_biased_input\": false, \"conv_kernel_size\": 0",
                     &cfg, err, sizeof err);
    CHECK(rc == VKB_OK && cfg.rel.kind == 2 && !cfg.rel.c2p && cfg.rel.p2c &&
              cfg.rel.max_rel == 256 && cfg.rel.buckets == 64 && cfg.rel.span == 64 &&
              cfg.rel.share_att_key && cfg.rel.norm_rel_ebd && !cfg.rel.abs_pos,
          "v2 keys read (rc %d %s)", rc, err);
    rc = load_config("deberta-v2", "\"relative_attention\": true", &cfg, err, sizeof err);
    CHECK(rc == VKB_OK && !cfg.rel.c2p && !cfg.rel.p2c && !cfg.rel.buckets &&
              !cfg.rel.share_att_key && !cfg.rel.norm_rel_ebd && cfg.rel.span == 512,
          "v2 defaults: no terms, no buckets, no sharing, no LayerNorm (rc %d %s)", rc, err);

    const char *rel = "\"relative_attention\": true, ";
    char extra[256];
    expect_refused("deberta-v2", "\"relative_attention\": true, \"conv_kernel_size\": 3",
                   "conv_kernel_size");
    snprintf(extra, sizeof extra, "%s\"embedding_size\": 128", rel);
    expect_refused("deberta", extra, "embedding_size");
    snprintf(extra, sizeof extra, "%s\"attention_head_size\": 16", rel);
    expect_refused("deberta-v2", extra, "attention_head_size");
    expect_refused("deberta", "\"relative_attention\": false", "relative_attention");
    expect_refused("deberta", "\"pos_att_type\": \"c2p\"", "relative_attention"); /* default */
    snprintf(extra, sizeof extra, "%s\"pos_att_type\": \"c2p|p2p\"", rel);
    expect_refused("deberta", extra, "pos_att_type");
    snprintf(extra, sizeof extra, "%s\"pos_att_type\": [\"c2p\", \"c2p\"]", rel);
    expect_refused("deberta-v2", extra, "pos_att_type");
    snprintf(extra, sizeof extra, "%s\"norm_rel_ebd\": \"batch_norm\"", rel);
    expect_refused("deberta-v2", extra, "norm_rel_ebd");
    snprintf(extra, sizeof extra, "%s\"position_buckets\": 1", rel);
    expect_refused("deberta-v2", extra, "position_buckets");
    snprintf(extra, sizeof extra, "%s\"share_att_key\": \"yes\"", rel);
    expect_refused("deberta-v2", extra, "share_att_key");
}

/* tiny-deberta-v2 with share_att_key off: its checkpoint has no pos_key_proj. */
static void test_missing_tensor(void)
{
    const char *td = tl_testdata("DeBERTa tensor binding");
    if (!td)
        return;
    char dir[300], cmd[4096];
    snprintf(dir, sizeof dir, "%s/v2", scratch);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && for f in '%s'/models/tiny-deberta-v2/*; do cp -r \"$f\" '%s'/; "
             "done && chmod -R u+w '%s' && rm '%s/config.json' && "
             "sed 's/\"share_att_key\": true/\"share_att_key\": false/' "
             "'%s/models/tiny-deberta-v2/config.json' > '%s/config.json'",
             dir, td, dir, dir, dir, td, dir);
    if (!CHECK(system(cmd) == 0, "copy tiny-deberta-v2"))
        return;
    vkb_model *m = NULL;
    char err[512] = "";
    int rc = model_load(dir, NULL, &m, err, sizeof err);
    CHECK(rc != VKB_OK && strstr(err, "pos_key_proj.weight"),
          "share_att_key false without pos_*_proj tensors: refused naming one (%s)", err);
    model_free(m);
    snprintf(dir, sizeof dir, "%s/models/tiny-deberta", td);
    rc = model_load(dir, NULL, &m, err, sizeof err);
    CHECK(rc == VKB_OK && m->w.glob[MW_POS] == NULL && m->w.glob[MW_TYPE] == NULL &&
              m->w.layer[0][LW_IN_PROJ] && m->w.layer[1][LW_PQ_B] && !m->w.layer[0][LW_Q_W],
          "tiny-deberta: its position table is ignored (position_biased_input false), v1 "
          "tensors bound (%s)", err);
    model_free(m);
}

int main(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/vkb-deberta-cfg-XXXXXX");
    if (!CHECK(mkdtemp(scratch) != NULL, "scratch folder"))
        return tl_finish();
    test_buckets();
    test_config();
    test_missing_tensor();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    CHECK(system(cmd) == 0, "clean scratch");
    return tl_finish();
}
