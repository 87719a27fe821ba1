/*
 * model_weights.c — finds the encoder's tensors in a checkpoint whatever their prefix
 * ("bert.", "roberta.", none, ...), and checks every shape against config.json so that a
 * wrong or mismatched checkpoint is refused at load time with the tensor's name, never
 * discovered as garbage (or a crash) in the forward. Head tensors (cls.*, lm_head.*,
 * pooler.*) and buffers such as embeddings.position_ids are simply never looked up.
 */
#include "model_internal.h"

#include "vkb_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const word_suffix = "embeddings.word_embeddings.weight";

/* Finds the prefix: the part in front of embeddings.word_embeddings.weight, preferring one
 * whose position embeddings are present too (so a stray tensor cannot mislead us). */
static int find_prefix(const st_archive *st, char *prefix, size_t cap, char *err, size_t errlen)
{
    size_t sl = strlen(word_suffix);
    int found = 0;
    for (int i = 0; i < st_count(st); i++) {
        const char *name = st_at(st, i)->name;
        size_t n = strlen(name);
        if (n < sl || strcmp(name + n - sl, word_suffix) || n - sl >= cap)
            continue;
        if (n > sl && name[n - sl - 1] != '.')
            continue; /* "xembeddings...": not a prefix boundary */
        char probe[512];
        snprintf(probe, sizeof probe, "%.*sembeddings.position_embeddings.weight", (int)(n - sl),
                 name);
        int complete = st_find(st, probe) != NULL;
        if (!found || complete) { /* first candidate, or a better one */
            memcpy(prefix, name, n - sl);
            prefix[n - sl] = 0;
            found = 1;
        }
        if (complete)
            break;
    }
    if (!found) {
        vkb_set_err(err, errlen, "checkpoint has no '%s' tensor (with or without a prefix such "
                    "as bert. or roberta.): not a BERT-family encoder", word_suffix);
        return VKB_EINVAL;
    }
    return VKB_OK;
}

static int shape_str(char *buf, size_t cap, const int64_t *shape, int ndim)
{
    size_t off = 0;
    off += snprintf(buf + off, cap - off, "[");
    for (int i = 0; i < ndim && off < cap; i++)
        off += snprintf(buf + off, cap - off, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (off < cap)
        snprintf(buf + off, cap - off, "]");
    return 0;
}

/* Looks up prefix+name (or prefix+alt, old checkpoints' LayerNorm.gamma/beta) and checks it
 * is a float tensor of shape [rows] (cols == 0) or [rows, cols]. */
int weights_bind_one(const st_archive *st, const char *prefix, const char *name, const char *alt,
                int64_t rows, int64_t cols, const st_tensor **out, char *err, size_t errlen)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const st_tensor *t = st_find(st, full);
    if (!t && alt) {
        char full_alt[512];
        snprintf(full_alt, sizeof full_alt, "%s%s", prefix, alt);
        t = st_find(st, full_alt);
    }
    if (!t) {
        vkb_set_err(err, errlen, "checkpoint: tensor '%s' is missing", full);
        return VKB_EINVAL;
    }
    if (t->dtype == ST_OTHER) {
        vkb_set_err(err, errlen, "%s: tensor '%s' has dtype %s (want F32, F16 or BF16)", t->file,
                    t->name, t->dtype_name);
        return VKB_EUNSUPPORTED;
    }
    int64_t want[2] = {rows, cols};
    int want_ndim = cols ? 2 : 1;
    int ok = t->ndim == want_ndim && t->shape[0] == rows && (!cols || t->shape[1] == cols);
    if (!ok) {
        char got_s[128], want_s[64];
        shape_str(got_s, sizeof got_s, t->shape, t->ndim);
        shape_str(want_s, sizeof want_s, want, want_ndim);
        vkb_set_err(err, errlen, "%s: tensor '%s' has shape %s but config.json implies %s",
                    t->file, t->name, got_s, want_s);
        return VKB_EINVAL;
    }
    *out = t;
    return VKB_OK;
}

/* Each layer tensor: name inside encoder.layer.N., and its shape as (rows, cols) in units
 * of C (hidden) and I (intermediate); cols 0 = a vector. */
enum { DIM_C = -1, DIM_I = -2 };
static const struct {
    const char *name, *alt;
    int rows, cols;
} layer_table[LW_COUNT] = {
    [LW_Q_W] = {"attention.self.query.weight", NULL, DIM_C, DIM_C},
    [LW_Q_B] = {"attention.self.query.bias", NULL, DIM_C, 0},
    [LW_K_W] = {"attention.self.key.weight", NULL, DIM_C, DIM_C},
    [LW_K_B] = {"attention.self.key.bias", NULL, DIM_C, 0},
    [LW_V_W] = {"attention.self.value.weight", NULL, DIM_C, DIM_C},
    [LW_V_B] = {"attention.self.value.bias", NULL, DIM_C, 0},
    [LW_O_W] = {"attention.output.dense.weight", NULL, DIM_C, DIM_C},
    [LW_O_B] = {"attention.output.dense.bias", NULL, DIM_C, 0},
    [LW_LN1_G] = {"attention.output.LayerNorm.weight", "attention.output.LayerNorm.gamma", DIM_C, 0},
    [LW_LN1_B] = {"attention.output.LayerNorm.bias", "attention.output.LayerNorm.beta", DIM_C, 0},
    [LW_I_W] = {"intermediate.dense.weight", NULL, DIM_I, DIM_C},
    [LW_I_B] = {"intermediate.dense.bias", NULL, DIM_I, 0},
    [LW_F_W] = {"output.dense.weight", NULL, DIM_C, DIM_I},
    [LW_F_B] = {"output.dense.bias", NULL, DIM_C, 0},
    [LW_LN2_G] = {"output.LayerNorm.weight", "output.LayerNorm.gamma", DIM_C, 0},
    [LW_LN2_B] = {"output.LayerNorm.bias", "output.LayerNorm.beta", DIM_C, 0},
};

static int64_t resolve_dim(int d, const model_config *cfg)
{
    return d == DIM_C ? cfg->hidden : d == DIM_I ? cfg->intermediate : d;
}

int model_weights_bind(const st_archive *st, const model_config *cfg, model_weights *w,
                       char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    int rc = find_prefix(st, w->prefix, sizeof w->prefix, err, errlen);
    if (rc != VKB_OK)
        return rc;
    const char *p = w->prefix;
    const int64_t C = cfg->hidden;
    if ((rc = weights_bind_one(st, p, "embeddings.word_embeddings.weight", NULL, cfg->vocab, C,
                   &w->emb[EW_WORD], err, errlen)) ||
        /* DeBERTa may have neither (position_biased_input false, type_vocab_size 0) */
        ((!cfg->rel.kind || cfg->rel.abs_pos) &&
         (rc = weights_bind_one(st, p, "embeddings.position_embeddings.weight", NULL,
                                cfg->max_pos_emb, C, &w->emb[EW_POS], err, errlen))) ||
        (cfg->type_vocab > 0 &&
         (rc = weights_bind_one(st, p, "embeddings.token_type_embeddings.weight", NULL,
                                cfg->type_vocab, C, &w->emb[EW_TYPE], err, errlen))) ||
        (rc = weights_bind_one(st, p, "embeddings.LayerNorm.weight", "embeddings.LayerNorm.gamma", C, 0,
                   &w->emb[EW_LN_G], err, errlen)) ||
        (rc = weights_bind_one(st, p, "embeddings.LayerNorm.bias", "embeddings.LayerNorm.beta", C, 0,
                   &w->emb[EW_LN_B], err, errlen)))
        return rc;
    w->layer = calloc((size_t)cfg->layers, sizeof *w->layer);
    if (!w->layer)
        return VKB_ENOMEM;
    for (int l = 0; l < cfg->layers; l++) {
        for (int k = 0; k < LW_COUNT; k++) {
            char name[256], alt[256];
            const char *base = layer_table[k].name;
            if (cfg->rel.kind && k <= LW_V_B && !(base = deberta_qkv_name(cfg, k)))
                continue; /* DeBERTa v1: in_proj, bound by deberta_weights_bind */
            snprintf(name, sizeof name, "encoder.layer.%d.%s", l, base);
            if (layer_table[k].alt)
                snprintf(alt, sizeof alt, "encoder.layer.%d.%s", l, layer_table[k].alt);
            rc = weights_bind_one(st, p, name, layer_table[k].alt ? alt : NULL,
                      resolve_dim(layer_table[k].rows, cfg), resolve_dim(layer_table[k].cols, cfg),
                      &w->layer[l][k], err, errlen);
            if (rc != VKB_OK) {
                model_weights_release(w);
                return rc;
            }
        }
    }
    if (cfg->rel.kind && (rc = deberta_weights_bind(st, cfg, w, err, errlen)) != VKB_OK) {
        model_weights_release(w);
        return rc;
    }
    return VKB_OK;
}

void model_weights_release(model_weights *w)
{
    free(w->layer);
    free(w->dlayer);
    w->layer = NULL;
    w->dlayer = NULL;
}
