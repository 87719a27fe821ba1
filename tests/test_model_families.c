/*
 * test_model_families.c — every model family from one table: `vkbridge gen-model --family X`
 * writes each family's config keys and tensor names (into a folder whose parents do not exist
 * yet), model_load reads it back through the same descriptor, and the forward runs on the CPU
 * backend and gives finite, normalised embeddings. Also: family-specific refusals by key
 * (DistilBERT's sinusoidal table, MPNet's too-small bias table), DistilBERT's built-in
 * eps, and a DistilBERT checkpoint without its "distilbert." prefix giving the prefixed one's
 * numbers. Self-contained: no shared test data.
 */
#include "model_internal.h"
#include "testlib.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char root[] = "/tmp/vkb-families-XXXXXX";

static int sh(const char *cmd)
{
    int rc = system(cmd);
    CHECK(rc == 0, "%s (rc %d)", cmd, rc);
    return rc;
}

/* Expected names: the config key for the hidden size and a layer-0 tensor. */
static const struct {
    const char *type, *hidden_key, *tensor;
} cases[] = {
    {"bert", "hidden_size", "encoder.layer.0.attention.self.query.weight"},
    {"roberta", "hidden_size", "roberta.encoder.layer.0.attention.self.query.weight"},
    {"xlm-roberta", "hidden_size", "roberta.encoder.layer.0.attention.self.query.weight"},
    {"camembert", "hidden_size", "roberta.encoder.layer.0.attention.self.query.weight"},
    {"distilbert", "dim", "distilbert.transformer.layer.0.attention.q_lin.weight"},
    {"mpnet", "hidden_size", "encoder.relative_attention_bias.weight"},
};

static void check_family(int k, vkb_backend *cpu)
{
    char dir[512], cmd[1400], err[512] = "";
    snprintf(dir, sizeof dir, "%s/not/yet/%s", root, cases[k].type);
    snprintf(cmd, sizeof cmd, "'%s' gen-model --out '%s' --shape tiny --family %s --seed 3",
             tl_binary(), dir, cases[k].type);
    if (sh(cmd))
        return;
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *c = json_load_file(path, 0, NULL);
    CHECK(c && json_integer_value(json_object_get(c, cases[k].hidden_key)) == 32 &&
              !strcmp(json_string_value(json_object_get(c, "model_type")), cases[k].type),
          "%s: config.json has model_type and %s", cases[k].type, cases[k].hidden_key);
    json_decref(c);
    vkb_model *m = NULL;
    if (!CHECK(model_load(dir, NULL, &m, err, sizeof err) == 0, "%s: load: %s", cases[k].type,
               err))
        return;
    CHECK(st_find(m->st, cases[k].tensor) != NULL, "%s: checkpoint holds %s", cases[k].type,
          cases[k].tensor);
    CHECK(!strcmp(model_facts(m)->model_type, cases[k].type) && m->cfg.fam &&
              model_family_find(cases[k].type) == m->cfg.fam,
          "%s: read with its family", cases[k].type);
    int has_types = !strcmp(cases[k].type, "distilbert") || !strcmp(cases[k].type, "mpnet");
    CHECK((m->w.glob[MW_TYPE] == NULL) == has_types, "%s: token types %s", cases[k].type,
          has_types ? "absent" : "bound");
    CHECK((m->w.glob[MW_REL_BIAS] != NULL) == !strcmp(cases[k].type, "mpnet"),
          "%s: relative bias bound only for MPNet", cases[k].type);
    model_replica *r = NULL;
    if (CHECK(model_replica_create(m, cpu, &r, err, sizeof err) == 0, "%s: replica: %s",
              cases[k].type, err)) {
        int32_t a[] = {model_cls_id(m), 40, 41, 42, 43, 44, model_sep_id(m)};
        int32_t b[] = {model_cls_id(m), 50, model_sep_id(m)};
        const int32_t *ids[] = {a, b};
        int lens[] = {7, 3};
        float out[2 * 32];
        int rc = encoder_embed(r, ids, lens, 2, out);
        double n0 = 0, n1 = 0;
        for (int i = 0; i < 32; i++) {
            n0 += (double)out[i] * out[i];
            n1 += (double)out[32 + i] * out[32 + i];
        }
        CHECK(rc == 0 && fabs(n0 - 1) < 1e-5 && fabs(n1 - 1) < 1e-5,
              "%s: forward on the CPU (rc %d, norms %.6f %.6f)", cases[k].type, rc, n0, n1);
    }
    model_replica_free(r);
    model_free(m);
}

/* Edits config.json of dir: key = v (stolen). */
static void set_key(const char *dir, const char *key, json_t *v)
{
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *c = json_load_file(path, 0, NULL);
    json_object_set_new(c, key, v);
    json_dump_file(c, path, JSON_INDENT(2));
    json_decref(c);
}

static void expect_refusal(const char *dir, int want, const char *word)
{
    vkb_model *m = NULL;
    char err[512] = "";
    int rc = model_load(dir, NULL, &m, err, sizeof err);
    CHECK(rc == want && strstr(err, word), "%s: refused with %d naming %s (rc %d: %s)", dir,
          want, word, rc, err);
    model_free(m);
}

static void check_refusals(void)
{
    char dir[512], cmd[1400];
    snprintf(dir, sizeof dir, "%s/not/yet/distilbert", root);
    set_key(dir, "sinusoidal_pos_embds", json_true());
    expect_refusal(dir, VKB_EUNSUPPORTED, "sinusoidal_pos_embds");
    set_key(dir, "sinusoidal_pos_embds", json_false());
    /* DistilBERT's eps is built in: a config eps changes nothing (loaded, 1e-12). */
    set_key(dir, "layer_norm_eps", json_real(0.5));
    vkb_model *m = NULL;
    char err[512] = "";
    CHECK(model_load(dir, NULL, &m, err, sizeof err) == 0 && m->cfg.eps == 1e-12f,
          "distilbert: eps fixed at 1e-12 whatever the config says (%s)", err);
    model_free(m);

    snprintf(dir, sizeof dir, "%s/not/yet/mpnet", root);
    set_key(dir, "relative_attention_num_buckets", json_integer(16));
    expect_refusal(dir, VKB_EUNSUPPORTED, "relative_attention_num_buckets");
    /* a bigger table than the rule indexes is fine, once the checkpoint has it */
    snprintf(dir, sizeof dir, "%s/mpnet-wrong-table", root);
    snprintf(cmd, sizeof cmd, "'%s' gen-model --out '%s' --shape tiny --family mpnet >/dev/null",
             tl_binary(), dir);
    sh(cmd);
    set_key(dir, "relative_attention_num_buckets", json_integer(40));
    expect_refusal(dir, VKB_EINVAL, "relative_attention_bias");
}

/* The whole file at path (malloc'd), its size in *n; NULL if unreadable. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)size);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    *n = buf ? (size_t)size : 0;
    return buf;
}

/* Rewrites dir/model.safetensors with prefix cut from the front of every tensor name; the
 * data is copied as is (offsets are relative to it). The header is padded with spaces to a
 * multiple of 8, as Hugging Face writes it, so the data stays aligned. */
static int strip_prefix(const char *dir, const char *prefix)
{
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    size_t n = 0;
    char *buf = slurp(path, &n);
    uint64_t hn = 0;
    if (!buf || n < 8)
        return free(buf), -1;
    memcpy(&hn, buf, 8); /* little-endian, as the hosts that run this */
    json_t *h = hn <= n - 8 ? json_loadb(buf + 8, (size_t)hn, 0, NULL) : NULL, *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(h, key, v) {
        size_t pl = strlen(prefix);
        json_object_set(out, strncmp(key, prefix, pl) ? key : key + pl, v);
    }
    char *text = h ? json_dumps(out, JSON_COMPACT) : NULL;
    FILE *f = text ? fopen(path, "wb") : NULL;
    int rc = -1;
    if (f) {
        size_t tl = strlen(text), pad = (8 - tl % 8) % 8;
        uint64_t nn = tl + pad;
        rc = fwrite(&nn, 8, 1, f) == 1 && fwrite(text, 1, tl, f) == tl &&
                     fprintf(f, "%*s", (int)pad, "") == (int)pad &&
                     fwrite(buf + 8 + hn, 1, n - 8 - hn, f) == n - 8 - hn
                 ? 0
                 : -1;
        rc = fclose(f) || rc ? -1 : 0;
    }
    free(text);
    json_decref(out);
    json_decref(h);
    free(buf);
    return rc;
}

/* Every hidden state and the embeddings of one small batch, into out (malloc'd). */
static float *forward_all(vkb_model *m, vkb_backend *cpu, size_t *count)
{
    char err[512] = "";
    model_replica *r = NULL;
    int32_t a[] = {model_cls_id(m), 40, 41, 42, 43, 44, model_sep_id(m)};
    int32_t b[] = {model_cls_id(m), 50, model_sep_id(m)};
    const int32_t *ids[] = {a, b};
    int lens[] = {7, 3}, C = m->cfg.hidden, layers = m->cfg.layers;
    size_t per = 2 * 7 * (size_t)C;
    float *all = calloc(per * (size_t)(layers + 1) + 2 * (size_t)C, sizeof *all);
    int rc = all ? model_replica_create(m, cpu, &r, err, sizeof err) : VKB_ENOMEM;
    for (int l = 0; rc == VKB_OK && l <= layers; l++) {
        float *h = NULL;
        int L = 0;
        rc = encoder_hidden_states(r, ids, lens, 2, l, &h, &L);
        if (rc == VKB_OK && L == 7)
            memcpy(all + per * (size_t)l, h, per * sizeof *h);
        rc = rc == VKB_OK && L != 7 ? VKB_EINVAL : rc;
        free(h);
    }
    if (rc == VKB_OK)
        rc = encoder_embed(r, ids, lens, 2, all + per * (size_t)(layers + 1));
    CHECK(rc == VKB_OK, "distilbert forward: rc %d %s", rc, err);
    model_replica_free(r);
    *count = per * (size_t)(layers + 1) + 2 * (size_t)C;
    return all;
}

/* DistilBERT saved from DistilBertModel itself (as sentence-transformers checkpoints are)
 * has no "distilbert." prefix: the same weights without it must give the same numbers,
 * every hidden state and the embeddings, bit for bit. */
static void check_distilbert_no_prefix(vkb_backend *cpu)
{
    char with[300], bare[300], cmd[1400], err[512] = "";
    snprintf(with, sizeof with, "%s/distilbert-prefixed", root);
    snprintf(bare, sizeof bare, "%s/distilbert-bare", root);
    snprintf(cmd, sizeof cmd, "'%s' gen-model --out '%s' --shape tiny --family distilbert "
             "--seed 5 >/dev/null && cp -r '%s' '%s'", tl_binary(), with, with, bare);
    if (sh(cmd) || !CHECK(strip_prefix(bare, "distilbert.") == 0, "rewrite %s", bare))
        return;
    vkb_model *mw = NULL, *mb = NULL;
    if (CHECK(model_load(with, NULL, &mw, err, sizeof err) == 0, "prefixed: %s", err) &&
        CHECK(model_load(bare, NULL, &mb, err, sizeof err) == 0, "no prefix: %s", err)) {
        CHECK(!strcmp(mw->w.prefix, "distilbert.") && !mb->w.prefix[0] &&
                  st_find(mb->st, "transformer.layer.0.attention.q_lin.weight") &&
                  !st_find(mb->st, "distilbert.embeddings.word_embeddings.weight"),
              "distilbert: prefixes '%s' and '%s'", mw->w.prefix, mb->w.prefix);
        size_t nw = 0, nb = 0;
        float *fw = forward_all(mw, cpu, &nw), *fb = forward_all(mb, cpu, &nb);
        size_t diff = 0;
        for (size_t i = 0; fw && fb && i < nw && nw == nb; i++)
            diff += memcmp(&fw[i], &fb[i], sizeof *fw) != 0;
        CHECK(fw && fb && nw == nb && nw > 0 && diff == 0,
              "distilbert without its prefix: %zu of %zu hidden-state/embedding values differ",
              diff, nw);
        free(fw);
        free(fb);
    }
    model_free(mw);
    model_free(mb);
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    vkb_backend *cpu = NULL;
    char err[256];
    if (CHECK(vkb_backend_open("cpu", &cpu, err, sizeof err) == 0, "cpu: %s", err)) {
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
            check_family((int)k, cpu);
        check_refusals();
        check_distilbert_no_prefix(cpu);
        vkb_backend_close(cpu);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    sh(cmd);
    return tl_finish();
}
