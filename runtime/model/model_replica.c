/*
 * model_replica.c — a model's weights on one backend, uploaded once, plus the scratch
 * tensors the forward reuses from batch to batch.
 *
 * Precision: matrices keep the checkpoint's precision. F32 stays F32 (that is what
 * sentence-transformers computes) unless opts.weights_f16 asks for a downcast; F16 stays
 * F16; BF16 becomes F16 when every value converts exactly (BF16's 8 mantissa bits fit F16's
 * 10 whenever the exponent is in F16's range), else F32. Without 16-bit storage on the
 * device everything is F32. Biases and LayerNorm parameters are always F32 (the ops want
 * them so; they are tiny). Conversion streams through a small staging buffer, so loading a
 * large checkpoint never holds a second full copy of it in host memory. The layer matrices
 * are matmul weights (vkb_weight_new): the backend may store them blocked by columns, so
 * they go up in whole row steps.
 */
#include "model_internal.h"

#include "vkb_runtime.h"

#include <stdlib.h>
#include <string.h>

#define STAGE_ELEMS UPLOAD_STAGE_ELEMS /* the uploader is in model_internal.h */

/* Whether every value of t survives the trip to F16 unchanged (no, if it cannot be read:
 * the upload that follows then reports the read error). */
static int fits_f16_exactly(const st_tensor *t, uint16_t *stage)
{
    int inexact = 0;
    for (size_t off = 0; off < t->count && !inexact; off += STAGE_ELEMS) {
        size_t n = t->count - off < STAGE_ELEMS ? t->count - off : STAGE_ELEMS;
        if (st_read_f16(t, off, n, stage, &inexact) != VKB_OK)
            return 0;
    }
    return !inexact;
}

/* The dtype a matrix made of srcs[0..n) gets on this backend (see the file comment). */
vkb_dtype upload_matrix_dtype(uploader *u, const st_tensor *const *srcs, int n)
{
    if (!vkb_backend_supports_f16(u->b))
        return VKB_F32;
    for (int i = 0; i < n; i++) {
        if (srcs[i]->dtype == ST_F32 && !u->downcast_f32)
            return VKB_F32;
        if (srcs[i]->dtype == ST_BF16 && !fits_f16_exactly(srcs[i], u->stage))
            return VKB_F32;
    }
    return VKB_F16;
}

/* Elements in srcs[0..n) together. */
static size_t stacked_count(const st_tensor *const *srcs, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += srcs[i]->count;
    return total;
}

/* Elements [off, off + count) of srcs[0..n) stacked, converted to dtype, into dst.
 * VKB_EIO when a checkpoint file cannot be read. */
static int read_stacked(vkb_dtype dtype, const st_tensor *const *srcs, int n, size_t off,
                        size_t count, void *dst)
{
    size_t es = vkb_dtype_size(dtype), base = 0;
    for (int i = 0; i < n && count; i++) {
        const st_tensor *s = srcs[i];
        if (off < base + s->count) {
            size_t from = off - base, k = s->count - from < count ? s->count - from : count;
            int rc = dtype == VKB_F16 ? st_read_f16(s, from, k, dst, NULL)
                                      : st_read_f32(s, from, k, dst);
            if (rc != VKB_OK)
                return rc;
            dst = (char *)dst + k * es;
            off += k;
            count -= k;
        }
        base += s->count;
    }
    return VKB_OK;
}

/* The tensor made for srcs[0..n) (total elements) once written with status rc: t itself, or
 * NULL with the reason in u->err (t freed). */
static vkb_tensor *upload_done(uploader *u, vkb_tensor *t, const st_tensor *const *srcs,
                               size_t total, int rc)
{
    if (!t)
        vkb_set_err(u->err, u->errlen, "%s: out of memory for tensor '%s' (%zu values)",
                    vkb_backend_id(u->b), srcs[0]->name, total);
    else if (rc == VKB_EIO)
        vkb_set_err(u->err, u->errlen, "tensor '%s': its checkpoint file cannot be read (changed "
                    "or truncated since the model was opened?)", srcs[0]->name);
    else if (rc != VKB_OK)
        vkb_set_err(u->err, u->errlen, "%s: upload of '%s' failed: %s", vkb_backend_id(u->b),
                    srcs[0]->name, vkb_status_str(rc));
    if (rc == VKB_OK)
        return t;
    vkb_tensor_free(t);
    return NULL;
}

/* A new tensor of dtype holding srcs[0..n) one after another (rows stacked). */
static vkb_tensor *upload_stacked(uploader *u, vkb_dtype dtype, const st_tensor *const *srcs,
                                  int n)
{
    size_t total = stacked_count(srcs, n);
    vkb_tensor *t = vkb_tensor_new(u->b, dtype, total);
    if (!t)
        return upload_done(u, NULL, srcs, total, VKB_ENOMEM);
    int rc = VKB_OK;
    for (size_t off = 0; off < total && rc == VKB_OK; off += STAGE_ELEMS) {
        size_t k = total - off < STAGE_ELEMS ? total - off : STAGE_ELEMS;
        rc = read_stacked(dtype, srcs, n, off, k, u->stage);
        if (rc == VKB_OK)
            rc = vkb_tensor_upload(t, off, u->stage, k);
    }
    return upload_done(u, t, srcs, total, rc);
}

static vkb_tensor *upload_matrix(uploader *u, const st_tensor *const *srcs, int n)
{
    return upload_stacked(u, upload_matrix_dtype(u, srcs, n), srcs, n);
}

/* A matmul weight (vkb_weight_new) of K columns made of srcs[0..n) stacked row-wise, written
 * in chunks of whole row steps (the backend may store it in column blocks). */
vkb_tensor *upload_weight(uploader *u, const st_tensor *const *srcs, int n, int K)
{
    vkb_dtype dtype = upload_matrix_dtype(u, srcs, n);
    size_t total = stacked_count(srcs, n);
    int N = (int)(total / (size_t)K);
    vkb_tensor *t = vkb_weight_new(u->b, dtype, N, K);
    if (!t)
        return upload_done(u, NULL, srcs, total, VKB_ENOMEM);
    int step = vkb_weight_row_step(t);
    int chunk = (int)(STAGE_ELEMS / (size_t)K) / step * step;
    if (chunk < step)
        chunk = step;
    void *buf = (size_t)chunk * K <= STAGE_ELEMS ? u->stage
                                                  : malloc((size_t)chunk * K * sizeof(float));
    int rc = buf ? VKB_OK : VKB_ENOMEM;
    for (int r = 0; r < N && rc == VKB_OK; r += chunk) {
        int rows = N - r < chunk ? N - r : chunk;
        rc = read_stacked(dtype, srcs, n, (size_t)r * K, (size_t)rows * K, buf);
        if (rc == VKB_OK)
            rc = vkb_weight_upload_rows(t, r, rows, buf);
    }
    if (buf != u->stage)
        free(buf);
    return upload_done(u, t, srcs, total, rc);
}

vkb_tensor *upload_vector(uploader *u, const st_tensor *const *srcs, int n)
{
    return upload_stacked(u, VKB_F32, srcs, n);
}

vkb_tensor *upload_host_f32(uploader *u, const float *v, size_t n, const char *what)
{
    vkb_tensor *t = vkb_tensor_new(u->b, VKB_F32, n);
    int rc = t ? vkb_tensor_upload(t, 0, v, n) : VKB_ENOMEM;
    if (rc != VKB_OK) {
        vkb_set_err(u->err, u->errlen, "%s: cannot upload %s (%zu values): %s",
                    vkb_backend_id(u->b), what, n, vkb_status_str(rc));
        vkb_tensor_free(t);
        return NULL;
    }
    return t;
}

vkb_tensor *upload_host_weight(uploader *u, vkb_dtype dtype, const float *v, int N, int K,
                               const char *what)
{
    vkb_tensor *t = vkb_weight_new(u->b, dtype, N, K);
    size_t n = (size_t)N * K;
    uint16_t *h = dtype == VKB_F16 ? malloc(n * sizeof *h) : NULL;
    int rc = !t || (dtype == VKB_F16 && !h) ? VKB_ENOMEM : VKB_OK;
    for (size_t i = 0; h && i < n; i++)
        h[i] = vkb_f32_to_f16(v[i]);
    if (rc == VKB_OK) /* all rows at once: N runs to the end, so any row step is fine */
        rc = vkb_weight_upload_rows(t, 0, N, h ? (const void *)h : (const void *)v);
    free(h);
    if (rc != VKB_OK) {
        vkb_set_err(u->err, u->errlen, "%s: cannot upload %s (%dx%d): %s", vkb_backend_id(u->b),
                    what, N, K, vkb_status_str(rc));
        vkb_tensor_free(t);
        return NULL;
    }
    return t;
}

/* The layer's tables; a family without query/key/value slots (DeBERTa v1's in_proj)
 * makes qkv_w in its replica_extra. */
static int upload_layer(uploader *u, const st_tensor *const *w, layer_tensors *lt)
{
    const st_tensor *qkv_w[3] = {w[LW_Q_W], w[LW_K_W], w[LW_V_W]};
    const st_tensor *qkv_b[3] = {w[LW_Q_B], w[LW_K_B], w[LW_V_B]};
    int C = (int)w[LW_O_W]->shape[1], I = (int)w[LW_F_W]->shape[1];
    if (w[LW_Q_W] && (!(lt->qkv_w = upload_weight(u, qkv_w, 3, C)) ||
                      !(lt->qkv_b = upload_vector(u, qkv_b, 3))))
        return VKB_ENOMEM;
    if (!(lt->o_w = upload_weight(u, &w[LW_O_W], 1, C)) ||
        !(lt->o_b = upload_vector(u, &w[LW_O_B], 1)) ||
        !(lt->ln1_g = upload_vector(u, &w[LW_LN1_G], 1)) ||
        !(lt->ln1_b = upload_vector(u, &w[LW_LN1_B], 1)) ||
        !(lt->i_w = upload_weight(u, &w[LW_I_W], 1, C)) ||
        !(lt->i_b = upload_vector(u, &w[LW_I_B], 1)) ||
        !(lt->f_w = upload_weight(u, &w[LW_F_W], 1, I)) ||
        !(lt->f_b = upload_vector(u, &w[LW_F_B], 1)) ||
        !(lt->ln2_g = upload_vector(u, &w[LW_LN2_G], 1)) ||
        !(lt->ln2_b = upload_vector(u, &w[LW_LN2_B], 1)))
        return VKB_ENOMEM;
    return VKB_OK;
}

/* The Dense modules after pooling: small, F32 and plain (they run on B rows, not B*L). */
static int upload_post(model_replica *r, char *err, size_t errlen)
{
    const st_modules *sm = &r->m->st_mods;
    r->post_width = r->m->cfg.pool_dim;
    for (int i = 0; i < r->m->cfg.n_post; i++) {
        const st_dense *d = sm->dense[i];
        if (!d)
            continue;
        r->post_width = d->out > r->post_width ? d->out : r->post_width;
        r->dense_w[i] = vkb_tensor_new(r->b, VKB_F32, (size_t)d->out * d->in);
        if (d->b)
            r->dense_b[i] = vkb_tensor_new(r->b, VKB_F32, (size_t)d->out);
        int rc = !r->dense_w[i] || (d->b && !r->dense_b[i]) ? VKB_ENOMEM : VKB_OK;
        if (rc == VKB_OK)
            rc = vkb_tensor_upload(r->dense_w[i], 0, d->w, (size_t)d->out * d->in);
        if (rc == VKB_OK && d->b)
            rc = vkb_tensor_upload(r->dense_b[i], 0, d->b, (size_t)d->out);
        if (rc != VKB_OK) {
            vkb_set_err(err, errlen, "cannot upload Dense module %s: %s",
                        r->m->cfg.post_path[i], vkb_status_str(rc));
            return rc;
        }
    }
    return VKB_OK;
}

int model_replica_create(vkb_model *m, vkb_backend *b, model_replica **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    model_replica *r = calloc(1, sizeof *r);
    uploader u = {.b = b, .downcast_f32 = m->opts.weights_f16, .err = err, .errlen = errlen};
    u.stage = malloc(STAGE_ELEMS * sizeof(float));
    int rc = VKB_ENOMEM;
    if (!r || !u.stage)
        goto fail;
    r->m = m;
    r->b = b;
    /* What the backend's kernels take (vkb_caps), checked before any upload: the longest
     * sequence this model will be given and its head size. */
    int seq = m->cfg.max_seq_length > m->cfg.bertscore_max_len ? m->cfg.max_seq_length
                                                               : m->cfg.bertscore_max_len;
    rc = vkb_backend_check_attention(b, seq, m->cfg.heads, m->cfg.hidden / m->cfg.heads, err,
                                     errlen);
    if (rc != VKB_OK)
        goto fail;
    rc = VKB_ENOMEM;
    r->layers = calloc((size_t)m->cfg.layers, sizeof *r->layers);
    if (!r->layers)
        goto fail;
    const st_tensor *const *e = m->w.glob;
    /* Slots the family does not read (or optional tensors the checkpoint lacks) stay NULL. */
    if (!(r->word = upload_matrix(&u, &e[MW_WORD], 1)) ||
        (e[MW_POS] && !(r->pos = upload_matrix(&u, &e[MW_POS], 1))) ||
        (e[MW_TYPE] && !(r->type = upload_matrix(&u, &e[MW_TYPE], 1))) ||
        !(r->emb_g = upload_vector(&u, &e[MW_EMB_LN_G], 1)) ||
        (e[MW_EMB_LN_B] && !(r->emb_b = upload_vector(&u, &e[MW_EMB_LN_B], 1))) ||
        (e[MW_REL_BIAS] && !(r->rel_bias = upload_vector(&u, &e[MW_REL_BIAS], 1))))
        goto fail;
    for (int l = 0; l < m->cfg.layers; l++)
        if ((rc = upload_layer(&u, m->w.layer[l], &r->layers[l])) != VKB_OK)
            goto fail;
    if ((rc = upload_post(r, err, errlen)) != VKB_OK)
        goto fail;
    if (m->cfg.fam->replica_extra && (rc = m->cfg.fam->replica_extra(&u, r)) != VKB_OK)
        goto fail;
    free(u.stage);
    *out = r;
    return VKB_OK;
fail:
    free(u.stage);
    model_replica_free(r);
    return rc;
}

static void free_scratch(model_replica *r)
{
    vkb_tensor **ts[] = {&r->ids, &r->lengths, &r->x,       &r->t,
                         &r->ca,  &r->qf,      &r->pooled, &r->post[0], &r->post[1]};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) {
        vkb_tensor_free(*ts[i]);
        *ts[i] = NULL;
    }
    free(r->host_ids);
    free(r->host_lens);
    r->host_ids = NULL;
    r->host_lens = NULL;
    r->cap_rows = 0;
    r->cap_seqs = 0;
}

void model_replica_free(model_replica *r)
{
    if (!r)
        return;
    free_scratch(r);
    if (r->m->cfg.fam->replica_extra_free)
        r->m->cfg.fam->replica_extra_free(r);
    vkb_tensor_free(r->word);
    vkb_tensor_free(r->pos);
    vkb_tensor_free(r->type);
    vkb_tensor_free(r->emb_g);
    vkb_tensor_free(r->emb_b);
    vkb_tensor_free(r->rel_bias);
    for (int i = 0; i < MODEL_MAX_POST; i++) {
        vkb_tensor_free(r->dense_w[i]);
        vkb_tensor_free(r->dense_b[i]);
    }
    for (int l = 0; r->layers && l < r->m->cfg.layers; l++) {
        layer_tensors *lt = &r->layers[l];
        vkb_tensor *ts[] = {lt->qkv_w, lt->qkv_b, lt->o_w,  lt->o_b,   lt->ln1_g, lt->ln1_b,
                            lt->i_w,   lt->i_b,   lt->f_w,  lt->f_b,   lt->ln2_g, lt->ln2_b};
        for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
            vkb_tensor_free(ts[i]);
    }
    free(r->layers);
    free(r);
}

vkb_backend *model_replica_backend(model_replica *r) { return r->b; }
const vkb_model *model_replica_model(const model_replica *r) { return r->m; }

/* Frees *t and allocates n elements in its place; 0 on failure. */
static int regrow(vkb_backend *b, vkb_tensor **t, vkb_dtype dtype, size_t n)
{
    vkb_tensor_free(*t);
    *t = vkb_tensor_new(b, dtype, n);
    return *t != NULL;
}

int replica_reserve(model_replica *r, int B, int L)
{
    const model_config *c = &r->m->cfg;
    size_t rows = (size_t)B * L;
    if (rows > r->cap_rows) {
        /* Round up so slightly longer batches do not each reallocate. */
        size_t cap = (rows + 255) & ~(size_t)255;
        size_t qf_width = 3 * (size_t)c->hidden > (size_t)c->intermediate
                              ? 3 * (size_t)c->hidden : (size_t)c->intermediate;
        r->cap_rows = 0;
        int32_t *h = realloc(r->host_ids, cap * sizeof *h);
        if (!h)
            return VKB_ENOMEM;
        r->host_ids = h;
        /* Free before allocating so the old and new scratch never coexist. */
        vkb_tensor *old[] = {r->ids, r->x, r->t, r->ca, r->qf};
        for (size_t i = 0; i < sizeof old / sizeof *old; i++)
            vkb_tensor_free(old[i]);
        r->ids = r->x = r->t = r->ca = r->qf = NULL;
        if (!regrow(r->b, &r->ids, VKB_I32, cap) ||
            !regrow(r->b, &r->x, VKB_F32, cap * c->hidden) ||
            !regrow(r->b, &r->t, VKB_F32, cap * c->hidden) ||
            !regrow(r->b, &r->ca, VKB_F32, cap * c->hidden) ||
            !regrow(r->b, &r->qf, VKB_F32, cap * qf_width))
            return VKB_ENOMEM;
        r->cap_rows = cap;
    }
    if (B > r->cap_seqs) {
        int cap = (B + 7) & ~7;
        r->cap_seqs = 0;
        int32_t *h = realloc(r->host_lens, (size_t)cap * sizeof *h);
        if (!h)
            return VKB_ENOMEM;
        r->host_lens = h;
        if (!regrow(r->b, &r->lengths, VKB_I32, (size_t)cap) ||
            !regrow(r->b, &r->pooled, VKB_F32, (size_t)cap * c->pool_dim))
            return VKB_ENOMEM;
        for (int i = 0; c->n_post && i < 2; i++)
            if (!regrow(r->b, &r->post[i], VKB_F32, (size_t)cap * r->post_width))
                return VKB_ENOMEM;
        r->cap_seqs = cap;
    }
    return VKB_OK;
}
