/*
 * model_weights.c — finds the encoder's tensors in a checkpoint whatever their prefix
 * ("bert.", "roberta.", "distilbert.", "mpnet.", none, ...), by the family's tables
 * (model_family.c), and checks every shape against config.json so that a wrong or
 * mismatched checkpoint is refused at load time with the tensor's name, never discovered as
 * garbage (or a crash) in the forward. Head tensors (cls.*, lm_head.*, pooler.*, vocab_*)
 * and buffers such as embeddings.position_ids are simply never looked up.
 */
#include "model_internal.h"

#include "vkb_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The family's name for a model-wide slot, or NULL. */
static const char *slot_name(const model_family *fam, int slot)
{
    for (int i = 0; i < fam->n_tensors; i++)
        if (fam->tensors[i].slot == slot)
            return fam->tensors[i].name;
    return NULL;
}

/* Finds the prefix: the part in front of the word table's name, preferring one whose first
 * layer's first tensor is present too (so a stray tensor cannot mislead us). */
static int find_prefix(const st_archive *st, const model_family *fam, char *prefix, size_t cap,
                       char *err, size_t errlen)
{
    const char *word_suffix = slot_name(fam, MW_WORD);
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
        snprintf(probe, sizeof probe, "%.*s%s0.%s", (int)(n - sl), name, fam->layer_prefix,
                 fam->layer_tensors[0].name);
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
                    "as %s): not a %s encoder", word_suffix,
                    *fam->default_prefix ? fam->default_prefix : "bert.", fam->name);
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
 * is a float tensor of shape [rows] (cols == 0) or [rows, cols]. An optional tensor that is
 * absent leaves *out NULL. */
static int bind(const st_archive *st, const char *prefix, const char *name, const char *alt,
                int optional, int64_t rows, int64_t cols, const st_tensor **out, char *err,
                size_t errlen)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const st_tensor *t = st_find(st, full);
    if (!t && alt) {
        char full_alt[512];
        snprintf(full_alt, sizeof full_alt, "%s%s", prefix, alt);
        t = st_find(st, full_alt);
    }
    if (!t && optional) {
        *out = NULL;
        return VKB_OK;
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

static int64_t resolve_dim(model_dim d, const model_config *cfg)
{
    switch (d) {
    case MD_C: return cfg->hidden;
    case MD_I: return cfg->intermediate;
    case MD_V: return cfg->vocab;
    case MD_P: return cfg->max_pos_emb;
    case MD_T: return cfg->type_vocab;
    case MD_HEADS: return cfg->heads;
    case MD_BUCKETS: return cfg->rel_buckets;
    case MD_C3: return 3 * (int64_t)cfg->hidden;
    case MD_REL_ROWS: return 2 * (int64_t)cfg->rel.span;
    default: return 0;
    }
}

/* Binds the table's rows whose features the config has; names get `head` in front (the
 * prefix, and for layer tensors "encoder.layer.N."). */
static int bind_table(const st_archive *st, const model_config *cfg, const char *prefix,
                      const char *head, const model_tensor_def *defs, int n,
                      const st_tensor **slots, char *err, size_t errlen)
{
    for (int k = 0; k < n; k++) {
        const model_tensor_def *d = &defs[k];
        if ((d->when & cfg->features) != d->when)
            continue;
        char name[256], alt[256];
        snprintf(name, sizeof name, "%s%s", head, d->name);
        if (d->alt)
            snprintf(alt, sizeof alt, "%s%s", head, d->alt);
        int rc = bind(st, prefix, name, d->alt ? alt : NULL, d->optional, resolve_dim(d->rows, cfg),
                      resolve_dim(d->cols, cfg), &slots[d->slot], err, errlen);
        if (rc != VKB_OK)
            return rc;
    }
    return VKB_OK;
}

int model_weights_bind(const st_archive *st, const model_config *cfg, model_weights *w,
                       char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    const model_family *fam = cfg->fam;
    int rc = find_prefix(st, fam, w->prefix, sizeof w->prefix, err, errlen);
    if (rc != VKB_OK)
        return rc;
    if ((rc = bind_table(st, cfg, w->prefix, "", fam->tensors, fam->n_tensors, w->glob, err,
                         errlen)))
        return rc;
    w->layer = calloc((size_t)cfg->layers, sizeof *w->layer);
    if (!w->layer)
        return VKB_ENOMEM;
    for (int l = 0; l < cfg->layers; l++) {
        char head[128];
        snprintf(head, sizeof head, "%s%d.", fam->layer_prefix, l);
        rc = bind_table(st, cfg, w->prefix, head, fam->layer_tensors, fam->n_layer_tensors,
                        w->layer[l], err, errlen);
        if (rc != VKB_OK) {
            model_weights_release(w);
            return rc;
        }
    }
    return VKB_OK;
}

void model_weights_release(model_weights *w)
{
    free(w->layer);
    w->layer = NULL;
}
