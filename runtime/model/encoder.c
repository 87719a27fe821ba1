/*
 * encoder.c — the forward on a replica, recorded as one batch of ops: the embeddings, then
 * each layer by its family's recorder (model.h's model_family.record_layer; every family
 * today uses encoder_record_post_ln below).
 *
 * One batch of B sequences is padded to L = its longest (never to max_seq_length), so the
 * tensors are (rows = B*L, width) with row b*L+t = token t of sequence b. Per layer, with
 * C = hidden, I = intermediate, x the layer input:
 *   qf  = x · Wqkvᵀ + bqkv                  (rows, 3C)   packed Q | K | V
 *   ca  = attention(qf)                      (rows, C)
 *   t   = ca · Woᵀ + bo + x                  (rows, C)    residual fused into the matmul
 *   ca  = LayerNorm(t)                       (rows, C)    context is dead: reuse its tensor
 *   qf  = act(ca · Wiᵀ + bi)                 (rows, I)    QKV is dead: reuse its tensor
 *   t   = qf · Wfᵀ + bf + ca                 (rows, C)
 *   x   = LayerNorm(t)                       (rows, C)    hidden_states[l + 1]
 * Padded rows are computed like real ones (attention never looks at padded keys), so no
 * real token's numbers depend on what else is in the batch.
 */
#include "model_internal.h"

#include "vkb_runtime.h"

#include <stdlib.h>
#include <string.h>

/* ctx = attention(qf) with the family's position bias: none (BERT), or MPNet's bucketed
 * table, the same tensor for every layer. */
static int record_attention(model_replica *r, int B, int L)
{
    const model_config *c = &r->m->cfg;
    const int C = c->hidden;
    if (c->fam->rel == MR_NONE)
        return vkb_op_attention(r->b, r->ca, r->qf, r->lengths, B, L, c->heads, C / c->heads);
    vkb_attn_desc desc = {.bias = r->rel_bias, .rule = VKB_ATTN_BIAS_T5,
                          .buckets = c->rel_rule_buckets, .max_distance = c->rel_max_distance};
    return vkb_op_attention_ex(r->b, r->ca, r->qf, r->lengths, B, L, c->heads, C / c->heads,
                               &desc);
}

int encoder_record_post_ln(model_replica *r, int l, int B, int L)
{
    const model_config *c = &r->m->cfg;
    const layer_tensors *w = &r->layers[l];
    const int rows = B * L, C = c->hidden;
    int rc;
    if ((rc = vkb_op_matmul(r->b, r->qf, r->x, w->qkv_w, w->qkv_b, NULL, rows, 3 * C, C,
                            VKB_ACT_NONE)) ||
        (rc = record_attention(r, B, L)))
        return rc;
    return encoder_record_post_ln_tail(r, l, B, L);
}

int encoder_record_post_ln_tail(model_replica *r, int l, int B, int L)
{
    const model_config *c = &r->m->cfg;
    const layer_tensors *w = &r->layers[l];
    vkb_backend *b = r->b;
    const int rows = B * L, C = c->hidden, I = c->intermediate;
    int rc;
    if ((rc = vkb_op_matmul(b, r->t, r->ca, w->o_w, w->o_b, r->x, rows, C, C, VKB_ACT_NONE)) ||
        (rc = vkb_op_layernorm(b, r->ca, r->t, NULL, w->ln1_g, w->ln1_b, rows, C, c->eps)) ||
        (rc = vkb_op_matmul(b, r->qf, r->ca, w->i_w, w->i_b, NULL, rows, I, C, c->act)) ||
        (rc = vkb_op_matmul(b, r->t, r->qf, w->f_w, w->f_b, r->ca, rows, C, I, VKB_ACT_NONE)) ||
        (rc = vkb_op_layernorm(b, r->x, r->t, NULL, w->ln2_g, w->ln2_b, rows, C, c->eps)))
        return rc;
    return VKB_OK;
}

static int record_forward(model_replica *r, int B, int L, int n_layers)
{
    const model_config *c = &r->m->cfg;
    int rc = vkb_op_embed(r->b, r->x, r->ids, r->lengths, r->word, r->pos, r->type, r->emb_g,
                          r->emb_b, B, L, c->hidden, c->pos_mode, c->pos_pad, c->eps);
    for (int l = 0; rc == VKB_OK && l < n_layers; l++)
        rc = c->fam->record_layer(r, l, B, L);
    return rc;
}

/* Checks the batch and stages it: ids padded with pad_id to (B, L), lengths (B). */
static int upload_inputs(model_replica *r, const int32_t *const *ids, const int *lens, int B,
                         int *L_out)
{
    const model_config *c = &r->m->cfg;
    if (!ids || !lens || B <= 0)
        return VKB_EINVAL;
    int L = 0;
    for (int i = 0; i < B; i++) {
        if (lens[i] < 1 || lens[i] > c->max_tokens || !ids[i])
            return VKB_EINVAL;
        for (int t = 0; t < lens[i]; t++)
            if (ids[i][t] < 0 || ids[i][t] >= c->vocab)
                return VKB_EINVAL;
        L = lens[i] > L ? lens[i] : L;
    }
    int rc = replica_reserve(r, B, L);
    if (rc != VKB_OK)
        return rc;
    for (int i = 0; i < B; i++) {
        int32_t *row = r->host_ids + (size_t)i * L;
        memcpy(row, ids[i], sizeof *row * (size_t)lens[i]);
        for (int t = lens[i]; t < L; t++)
            row[t] = c->pad_id;
        r->host_lens[i] = lens[i];
    }
    if ((rc = vkb_tensor_upload(r->ids, 0, r->host_ids, (size_t)B * L)) ||
        (rc = vkb_tensor_upload(r->lengths, 0, r->host_lens, (size_t)B)) ||
        (c->fam->stage_batch && (rc = c->fam->stage_batch(r, L))))
        return rc;
    *L_out = L;
    return VKB_OK;
}

int encoder_forward(model_replica *r, const int32_t *const *ids, const int *lens, int B,
                    int n_layers, int record_only, vkb_tensor **hidden, int *L)
{
    if (!r || !hidden || !L || n_layers < 0 || n_layers > r->m->cfg.layers)
        return VKB_EINVAL;
    *hidden = NULL;
    int rc = upload_inputs(r, ids, lens, B, L);
    if (rc != VKB_OK)
        return rc;
    if ((rc = vkb_batch_begin(r->b)) != VKB_OK)
        return rc; /* also when the caller left a recording open: see model.h */
    rc = record_forward(r, B, *L, n_layers);
    if (rc != VKB_OK || !record_only) {
        int rc2 = vkb_batch_end(r->b);
        rc = rc != VKB_OK ? rc : rc2;
    }
    if (rc == VKB_OK)
        *hidden = r->x;
    return rc;
}

/* The modules.json steps after pooling, into the open batch; returns the tensor holding the
 * (B, dim) result. Dense: post[k] = act(v · Wᵀ + b) on B rows. Normalize: the pooling op in
 * CLS mode over sequences of length 1 (L = 1; every backend clamps lengths to L), which is
 * exactly v / max(‖v‖₂, 1e-12) per row, on the device like the rest. */
static int record_post(model_replica *r, int B, vkb_tensor **result)
{
    const model_config *c = &r->m->cfg;
    vkb_tensor *v = r->pooled;
    int width = c->pool_dim, next = 0, rc = VKB_OK;
    for (int i = 0; i < c->n_post && rc == VKB_OK; i++) {
        const st_dense *d = r->m->st_mods.dense[i];
        vkb_tensor *o = r->post[next];
        if (d) {
            rc = vkb_op_matmul(r->b, o, v, r->dense_w[i], r->dense_b[i], NULL, B, d->out, d->in,
                               d->act);
            width = d->out;
        } else {
            rc = vkb_op_pool(r->b, o, v, r->lengths, B, 1, width, VKB_POOL_CLS, 1);
        }
        v = o;
        next ^= 1;
    }
    *result = v;
    return rc;
}

int encoder_embed(model_replica *r, const int32_t *const *ids, const int *lens, int B,
                  float *out)
{
    if (!r || !out)
        return VKB_EINVAL;
    const model_config *c = &r->m->cfg;
    vkb_tensor *h, *v;
    int L;
    int rc = encoder_forward(r, ids, lens, B, c->layers, 1, &h, &L);
    if (rc != VKB_OK)
        return rc;
    v = r->pooled; /* only now: the forward may have regrown the scratch */
    rc = vkb_op_pool(r->b, r->pooled, h, r->lengths, B, L, c->hidden, c->pool_modes,
                     c->normalize);
    if (rc == VKB_OK && c->n_post)
        rc = record_post(r, B, &v);
    int rc2 = vkb_batch_end(r->b);
    if (rc == VKB_OK)
        rc = rc2;
    if (rc == VKB_OK)
        rc = vkb_tensor_download(v, 0, out, (size_t)B * c->dim);
    return rc;
}

int encoder_hidden_states(model_replica *r, const int32_t *const *ids, const int *lens, int B,
                          int layer, float **out, int *L)
{
    if (!out || !L)
        return VKB_EINVAL;
    *out = NULL;
    vkb_tensor *h;
    int rc = encoder_forward(r, ids, lens, B, layer, 0, &h, L);
    if (rc != VKB_OK)
        return rc;
    size_t n = (size_t)B * *L * r->m->cfg.hidden;
    float *v = malloc(n * sizeof *v);
    if (!v)
        return VKB_ENOMEM;
    rc = vkb_tensor_download(h, 0, v, n);
    if (rc != VKB_OK) {
        free(v);
        return rc;
    }
    *out = v;
    return VKB_OK;
}
