/*
 * test_model_families.c — every model family from one table: `vkbridge gen-model --family X`
 * writes each family's config keys and tensor names (into a folder whose parents do not exist
 * yet), model_load reads it back through the same descriptor, and the forward runs on the CPU
 * backend and gives finite, normalised embeddings. Also: family-specific refusals by key
 * (DistilBERT's sinusoidal table, MPNet's too-small bias table) and DistilBERT's built-in
 * eps. Self-contained: no shared test data.
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
        vkb_backend_close(cpu);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    sh(cmd);
    return tl_finish();
}
