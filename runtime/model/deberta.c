/*
 * deberta.c — DeBERTa v1 (model_type deberta) and v2 (deberta-v2, also DeBERTa-v3) on top of
 * the BERT encoder: what differs is the config keys, the attention projections and the
 * disentangled attention (vkb_op_attention_rel). The semantics are written down in
 * ../shared/testdata/README.md ("DeBERTa semantics"); the short version:
 *
 *   relative distance δ = i - j (query minus key); row(δ) of the relative table R (2S rows):
 *     v1: clamp(δ + M, 0, 2M-1); v2: clamp(bucket(δ) + S, 0, 2S-1), bucket = δ without buckets
 *   Pk = R · Wpkᵀ (+b), Pq = R · Wpqᵀ + b   (v2 share_att_key: the layer's key / query dense)
 *   score(i, j) = (q_i·k_j + q_i·Pk[row] (c2p) + k_j·Pq[row] (p2c)) / sqrt(d · (1 + terms))
 *
 * Per batch of longest length L only the rows row(-(L-1)) .. row(L-1) are reachable: that
 * window (P <= 2L-1 rows) is copied out of R once, projected per layer by one matmul into
 * pos = [Pq | Pk] (or, sharing the key, [Pq | Pk | unused] from the packed QKV weights), and
 * the index rel[δ + L-1] = row(δ) - row0 goes up with the token ids.
 *
 * v1's in_proj groups its 3C rows per head (head h: q, k, v of d rows each); the upload
 * reorders them into the packed [Q; K; V] layout the encoder's QKV matmul makes, with bias
 * [q_bias; 0; v_bias]. A config this file cannot run (a conv layer, an embedding projection,
 * unknown position terms) is refused at load with the key's name.
 */
#include "model_internal.h"

#include "vkb_runtime.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- config */

/* One pos_att_type entry (lowercased, spaces stripped, as the HF config does). */
static int add_term(rel_config *rc, const char *s, size_t n, char *err, size_t errlen)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char t[8] = "";
    for (size_t i = 0; i < n && i < sizeof t - 1; i++)
        t[i] = (char)tolower((unsigned char)s[i]);
    int *flag = n == 3 && !strcmp(t, "c2p") ? &rc->c2p : n == 3 && !strcmp(t, "p2c") ? &rc->p2c
                                                                                     : NULL;
    if (!flag || *flag) {
        vkb_set_err(err, errlen, "config.json: pos_att_type entry '%.*s' is not supported "
                    "(c2p and p2c, each at most once)", (int)(n > 32 ? 32 : n), s);
        return VKB_EUNSUPPORTED;
    }
    *flag = 1;
    return VKB_OK;
}

static int parse_terms(json_t *v, rel_config *rc, char *err, size_t errlen)
{
    if (!v || json_is_null(v))
        return VKB_OK; /* no position terms: plain attention at 1/sqrt(d) */
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (;;) {
            const char *bar = strchr(s, '|');
            size_t n = bar ? (size_t)(bar - s) : strlen(s);
            int r = add_term(rc, s, n, err, errlen);
            if (r != VKB_OK || !bar)
                return r;
            s = bar + 1;
        }
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_string(e)) {
                vkb_set_err(err, errlen, "config.json: pos_att_type entries must be strings");
                return VKB_EINVAL;
            }
            int r = add_term(rc, json_string_value(e), strlen(json_string_value(e)), err,
                             errlen);
            if (r != VKB_OK)
                return r;
        }
        return VKB_OK;
    }
    vkb_set_err(err, errlen, "config.json: pos_att_type must be a string (\"c2p|p2c\") or a "
                "list");
    return VKB_EINVAL;
}

/* A boolean key with its default; anything but true/false is refused by name. */
static int get_bool(json_t *c, const char *key, int dflt, int *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(c, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return VKB_OK;
    }
    if (!json_is_boolean(v)) {
        vkb_set_err(err, errlen, "config.json: \"%s\" must be true or false", key);
        return VKB_EINVAL;
    }
    *out = json_is_true(v);
    return VKB_OK;
}

/* An integer key (JSON integer) with its default. */
static int get_integer(json_t *c, const char *key, long dflt, long *out, char *err,
                       size_t errlen)
{
    json_t *v = json_object_get(c, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return VKB_OK;
    }
    if (!json_is_integer(v)) {
        vkb_set_err(err, errlen, "config.json: \"%s\" must be an integer", key);
        return VKB_EINVAL;
    }
    *out = (long)json_integer_value(v);
    return VKB_OK;
}

int deberta_config_parse(json_t *c, model_config *cfg, char *err, size_t errlen)
{
    rel_config *rc = &cfg->rel;
    int v2 = rc->kind == 2, rel_on, r;
    long max_rel, buckets, conv, size;
    if ((r = get_bool(c, "relative_attention", 0, &rel_on, err, errlen)))
        return r;
    if (!rel_on) {
        vkb_set_err(err, errlen, "config.json: \"relative_attention\": false is not supported "
                    "(every published DeBERTa uses relative attention)");
        return VKB_EUNSUPPORTED;
    }
    if ((r = parse_terms(json_object_get(c, "pos_att_type"), rc, err, errlen)) ||
        (r = get_bool(c, "position_biased_input", 1, &rc->abs_pos, err, errlen)) ||
        (r = get_integer(c, "max_relative_positions", -1, &max_rel, err, errlen)))
        return r;
    rc->max_rel = max_rel < 1 ? cfg->max_pos_emb : (int)(max_rel > 1 << 20 ? 1 << 20 : max_rel);
    /* Keys that would change the computation in ways this encoder does not implement. */
    if ((r = get_integer(c, "embedding_size", cfg->hidden, &size, err, errlen)))
        return r;
    if (size != cfg->hidden) {
        vkb_set_err(err, errlen, "config.json: \"embedding_size\" %ld differs from hidden_size "
                    "%d (an embedding projection): not supported", size, cfg->hidden);
        return VKB_EUNSUPPORTED;
    }
    rc->span = rc->max_rel;
    if (!v2)
        return VKB_OK;
    if ((r = get_integer(c, "attention_head_size", cfg->hidden / cfg->heads, &size, err,
                         errlen)))
        return r;
    if (size != cfg->hidden / cfg->heads) {
        vkb_set_err(err, errlen, "config.json: \"attention_head_size\" %ld is not hidden_size / "
                    "num_attention_heads (%d): not supported", size, cfg->hidden / cfg->heads);
        return VKB_EUNSUPPORTED;
    }
    if ((r = get_integer(c, "conv_kernel_size", 0, &conv, err, errlen)))
        return r;
    if (conv > 0) {
        vkb_set_err(err, errlen, "config.json: \"conv_kernel_size\" %ld (DeBERTa-v2's "
                    "convolution after the first layer) is not supported yet", conv);
        return VKB_EUNSUPPORTED;
    }
    if ((r = get_integer(c, "position_buckets", -1, &buckets, err, errlen)) ||
        (r = get_bool(c, "share_att_key", 0, &rc->share_att_key, err, errlen)))
        return r;
    if (buckets > 0) {
        /* the log rule needs a middle of >= 1 and room above it */
        if (buckets < 2 || buckets / 2 >= rc->max_rel - 1 || buckets > 1 << 20) {
            vkb_set_err(err, errlen, "config.json: \"position_buckets\" %ld does not fit "
                        "max_relative_positions %d", buckets, rc->max_rel);
            return VKB_EINVAL;
        }
        rc->buckets = (int)buckets;
        rc->span = rc->buckets;
    }
    json_t *norm = json_object_get(c, "norm_rel_ebd");
    if (norm && !json_is_null(norm)) {
        if (!json_is_string(norm)) {
            vkb_set_err(err, errlen, "config.json: \"norm_rel_ebd\" must be a string");
            return VKB_EINVAL;
        }
        /* "|"-separated, lowercased; "layer_norm" switches the LayerNorm on, "none" is none */
        const char *s = json_string_value(norm);
        for (;;) {
            const char *bar = strchr(s, '|');
            size_t n = bar ? (size_t)(bar - s) : strlen(s);
            while (n && isspace((unsigned char)*s))
                s++, n--;
            while (n && isspace((unsigned char)s[n - 1]))
                n--;
            if (n == 10 && !strncasecmp(s, "layer_norm", 10))
                rc->norm_rel_ebd = 1;
            else if (!(n == 4 && !strncasecmp(s, "none", 4))) {
                vkb_set_err(err, errlen, "config.json: \"norm_rel_ebd\" '%.32s' is not "
                            "supported (layer_norm or none)", json_string_value(norm));
                return VKB_EUNSUPPORTED;
            }
            if (!bar)
                break;
            s = bar + 1;
        }
    }
    return VKB_OK;
}

/* ---------------------------------------------------------------- relative positions */

int deberta_log_bucket(int delta, int buckets, int max_rel)
{
    /* make_log_bucket_position, step by step in float32 like the reference */
    int mid = buckets / 2;
    int sign = delta > 0 ? 1 : delta < 0 ? -1 : 0;
    int a = delta < mid && delta > -mid ? mid - 1 : abs(delta);
    if (a <= mid)
        return delta;
    float num = logf((float)a / (float)mid);
    float den = logf((float)((double)(max_rel - 1) / mid));
    float log_pos = ceilf(num / den * (float)(mid - 1)) + (float)mid;
    return (int)log_pos * sign;
}

int deberta_rel_row(const rel_config *rc, int delta)
{
    int b = rc->buckets > 0 ? deberta_log_bucket(delta, rc->buckets, rc->max_rel) : delta;
    int r = b + rc->span;
    return r < 0 ? 0 : r > 2 * rc->span - 1 ? 2 * rc->span - 1 : r;
}

/* ---------------------------------------------------------------- tensors */

const char *deberta_qkv_name(const model_config *cfg, int k)
{
    static const char *const v2[] = {
        [LW_Q_W] = "attention.self.query_proj.weight", [LW_Q_B] = "attention.self.query_proj.bias",
        [LW_K_W] = "attention.self.key_proj.weight",   [LW_K_B] = "attention.self.key_proj.bias",
        [LW_V_W] = "attention.self.value_proj.weight", [LW_V_B] = "attention.self.value_proj.bias",
    };
    return cfg->rel.kind == 2 && k >= LW_Q_W && k <= LW_V_B ? v2[k] : NULL;
}

int deberta_weights_bind(const st_archive *st, const model_config *cfg, model_weights *w,
                         char *err, size_t errlen)
{
    const rel_config *rc = &cfg->rel;
    const char *p = w->prefix;
    const int64_t C = cfg->hidden;
    int r;
    w->dlayer = calloc((size_t)cfg->layers, sizeof *w->dlayer);
    if (!w->dlayer)
        return VKB_ENOMEM;
    /* name suffixes in encoder.layer.N.attention.self., shape (rows, cols; 0 = a vector),
     * and whether this config reads them */
    const int v1 = rc->kind == 1, own = !v1 && !rc->share_att_key;
    const struct {
        int slot;
        const char *name;
        int64_t rows, cols;
        int used;
    } t[] = {
        {DW_IN_PROJ, "in_proj.weight", 3 * C, C, v1},
        {DW_Q_BIAS, "q_bias", C, 0, v1},
        {DW_V_BIAS, "v_bias", C, 0, v1},
        {DW_PK_W, v1 ? "pos_proj.weight" : "pos_key_proj.weight", C, C, rc->c2p && (v1 || own)},
        {DW_PK_B, "pos_key_proj.bias", C, 0, rc->c2p && own},
        {DW_PQ_W, v1 ? "pos_q_proj.weight" : "pos_query_proj.weight", C, C,
         rc->p2c && (v1 || own)},
        {DW_PQ_B, v1 ? "pos_q_proj.bias" : "pos_query_proj.bias", C, 0, rc->p2c && (v1 || own)},
    };
    for (int l = 0; l < cfg->layers; l++)
        for (size_t k = 0; k < sizeof t / sizeof *t; k++) {
            if (!t[k].used)
                continue;
            char name[256];
            snprintf(name, sizeof name, "encoder.layer.%d.attention.self.%s", l, t[k].name);
            if ((r = weights_bind_one(st, p, name, NULL, t[k].rows, t[k].cols,
                                      &w->dlayer[l][t[k].slot], err, errlen)))
                return r;
        }
    if ((r = weights_bind_one(st, p, "encoder.rel_embeddings.weight", NULL, 2 * (int64_t)rc->span,
                              C, &w->denc[DE_REL], err, errlen)))
        return r;
    if (rc->norm_rel_ebd &&
        ((r = weights_bind_one(st, p, "encoder.LayerNorm.weight", NULL, C, 0, &w->denc[DE_LN_G],
                               err, errlen)) ||
         (r = weights_bind_one(st, p, "encoder.LayerNorm.bias", NULL, C, 0, &w->denc[DE_LN_B],
                               err, errlen))))
        return r;
    return VKB_OK;
}

/* ---------------------------------------------------------------- replica */

/* n floats of t, malloc'd (NULL: out of memory). */
static float *read_all(const st_tensor *t)
{
    float *v = malloc(t->count * sizeof *v);
    if (v)
        st_read_f32(t, 0, t->count, v);
    return v;
}

/* v1: in_proj (3C, C) grouped per head -> packed [Q; K; V], bias [q_bias; 0; v_bias]. */
static int upload_in_proj(uploader *u, const st_tensor *const *dw, int C, int H,
                          layer_tensors *lt)
{
    int d = C / H, rc = VKB_ENOMEM;
    float *src = read_all(dw[DW_IN_PROJ]), *dst = malloc(sizeof(float) * 3 * (size_t)C * C);
    float *bias = calloc(3 * (size_t)C, sizeof *bias);
    if (!src || !dst || !bias)
        goto cleanup;
    for (int h = 0; h < H; h++)
        for (int part = 0; part < 3; part++) /* q, k, v */
            for (int i = 0; i < d; i++)
                memcpy(dst + ((size_t)part * C + h * d + i) * C,
                       src + ((size_t)3 * d * h + part * d + i) * C, sizeof(float) * C);
    st_read_f32(dw[DW_Q_BIAS], 0, C, bias);
    st_read_f32(dw[DW_V_BIAS], 0, C, bias + 2 * C);
    vkb_dtype dt = upload_matrix_dtype(u, &dw[DW_IN_PROJ], 1);
    if ((lt->qkv_w = upload_host_weight(u, dt, dst, 3 * C, C, dw[DW_IN_PROJ]->name)) &&
        (lt->qkv_b = upload_host_f32(u, bias, 3 * (size_t)C, dw[DW_Q_BIAS]->name)))
        rc = VKB_OK;
cleanup:
    free(src);
    free(dst);
    free(bias);
    return rc;
}

/* The position projections [Pq; Pk] (the terms that are on) and their bias (v1's pos_proj
 * has none: zeros). */
static int upload_pos_proj(uploader *u, const rel_config *rc, const st_tensor *const *dw, int C,
                           layer_tensors *lt)
{
    const st_tensor *ws[2];
    int n = 0;
    if (rc->p2c)
        ws[n++] = dw[DW_PQ_W];
    if (rc->c2p)
        ws[n++] = dw[DW_PK_W];
    if (!n)
        return VKB_OK;
    float *bias = calloc((size_t)n * C, sizeof *bias);
    if (!bias)
        return VKB_ENOMEM;
    if (rc->p2c)
        st_read_f32(dw[DW_PQ_B], 0, C, bias);
    if (rc->c2p && dw[DW_PK_B])
        st_read_f32(dw[DW_PK_B], 0, C, bias + (size_t)(n - 1) * C);
    int ok = (lt->pos_w = upload_weight(u, ws, n, C)) &&
             (lt->pos_b = upload_host_f32(u, bias, (size_t)n * C, ws[0]->name));
    free(bias);
    return ok ? VKB_OK : VKB_ENOMEM;
}

/* The relative table, v2 with norm_rel_ebd after encoder.LayerNorm (in double: the table
 * is input to a matmul, so it is F32 whatever the checkpoint's dtype). */
static int upload_rel_table(uploader *u, model_replica *r)
{
    const model_config *cfg = &r->m->cfg;
    const st_tensor *const *de = r->m->w.denc;
    int C = cfg->hidden, rows = 2 * cfg->rel.span;
    float *t = read_all(de[DE_REL]), *g = NULL, *b = NULL;
    int rc = VKB_ENOMEM;
    if (!t)
        goto cleanup;
    if (cfg->rel.norm_rel_ebd) {
        if (!(g = read_all(de[DE_LN_G])) || !(b = read_all(de[DE_LN_B])))
            goto cleanup;
        for (int i = 0; i < rows; i++) {
            float *x = t + (size_t)i * C;
            double s = 0, v = 0;
            for (int c = 0; c < C; c++)
                s += x[c];
            double mean = s / C;
            for (int c = 0; c < C; c++)
                v += (x[c] - mean) * (x[c] - mean);
            double inv = 1.0 / sqrt(v / C + cfg->eps);
            for (int c = 0; c < C; c++)
                x[c] = (float)((x[c] - mean) * inv * g[c] + b[c]);
        }
    }
    if ((r->rel_table = upload_host_f32(u, t, (size_t)rows * C, de[DE_REL]->name)))
        rc = VKB_OK;
cleanup:
    free(t);
    free(g);
    free(b);
    return rc;
}

int deberta_replica_upload(uploader *u, model_replica *r)
{
    const model_config *cfg = &r->m->cfg;
    const rel_config *rc = &cfg->rel;
    int C = cfg->hidden, st;
    for (int l = 0; l < cfg->layers; l++) {
        const st_tensor *const *dw = r->m->w.dlayer[l];
        if (rc->kind == 1 && (st = upload_in_proj(u, dw, C, cfg->heads, &r->layers[l])))
            return st;
        if (!rc->share_att_key && (st = upload_pos_proj(u, rc, dw, C, &r->layers[l])))
            return st;
    }
    if ((st = upload_rel_table(u, r)))
        return st;
    /* Absent tables (no absolute positions, no token types) become zero tables for
     * vkb_op_embed: adding 0.0 changes no value. */
    float *zero = calloc((size_t)cfg->max_tokens * C, sizeof *zero);
    if (!zero)
        return VKB_ENOMEM;
    int ok = (r->pos || (r->pos = upload_host_f32(u, zero, (size_t)cfg->max_tokens * C,
                                                  "zero position table"))) &&
             (r->type || (r->type = upload_host_f32(u, zero, (size_t)C, "zero type table")));
    free(zero);
    return ok ? VKB_OK : VKB_ENOMEM;
}

void deberta_replica_free(model_replica *r)
{
    vkb_tensor *ts[] = {r->rel_table, r->rel_win, r->pos_proj, r->rel_idx};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
        vkb_tensor_free(ts[i]);
    r->rel_table = r->rel_win = r->pos_proj = r->rel_idx = NULL;
    for (int l = 0; r->layers && l < r->m->cfg.layers; l++) {
        vkb_tensor_free(r->layers[l].pos_w);
        vkb_tensor_free(r->layers[l].pos_b);
        r->layers[l].pos_w = r->layers[l].pos_b = NULL;
    }
    free(r->host_rel);
    r->host_rel = NULL;
    r->cap_rel_L = 0;
}

/* Floats per row of pos and where each term starts (pq_col 0, pk_col after it). */
static int pos_width(const model_config *cfg, int *pk_col, int *pq_col)
{
    const rel_config *rc = &cfg->rel;
    int C = cfg->hidden;
    *pq_col = rc->p2c ? 0 : -1;
    if (rc->share_att_key) { /* x · [Wq; Wk; Wv]ᵀ: Pq, then Pk */
        *pk_col = rc->c2p ? C : -1;
        return 3 * C;
    }
    *pk_col = rc->c2p ? (rc->p2c ? C : 0) : -1;
    return (rc->c2p + rc->p2c) * C;
}

int deberta_stage_batch(model_replica *r, int L)
{
    const model_config *cfg = &r->m->cfg;
    int C = cfg->hidden, pk, pq, ld = pos_width(cfg, &pk, &pq);
    if (L > r->cap_rel_L) {
        int cap = (L + 63) & ~63;
        cap = cap > cfg->max_tokens ? cfg->max_tokens : cap;
        cap = cap < L ? L : cap;
        size_t rows = 2 * (size_t)cap - 1;
        vkb_tensor *old[] = {r->rel_win, r->pos_proj, r->rel_idx};
        for (size_t i = 0; i < sizeof old / sizeof *old; i++)
            vkb_tensor_free(old[i]);
        r->rel_win = r->pos_proj = r->rel_idx = NULL;
        r->cap_rel_L = 0;
        int32_t *h = realloc(r->host_rel, rows * sizeof *h);
        if (!h)
            return VKB_ENOMEM;
        r->host_rel = h;
        if (!(r->rel_win = vkb_tensor_new(r->b, VKB_F32, rows * C)) ||
            (ld && !(r->pos_proj = vkb_tensor_new(r->b, VKB_F32, rows * ld))) ||
            !(r->rel_idx = vkb_tensor_new(r->b, VKB_I32, rows)))
            return VKB_ENOMEM;
        r->cap_rel_L = cap;
    }
    /* row(δ) never decreases with δ, so the window runs from row(-(L-1)) to row(L-1) */
    int row0 = deberta_rel_row(&cfg->rel, -(L - 1));
    r->rel_row0 = row0;
    r->rel_rows = deberta_rel_row(&cfg->rel, L - 1) - row0 + 1;
    r->pos_ld = ld;
    for (int i = 0; i < 2 * L - 1; i++)
        r->host_rel[i] = deberta_rel_row(&cfg->rel, i - (L - 1)) - row0;
    return vkb_tensor_upload(r->rel_idx, 0, r->host_rel, 2 * (size_t)L - 1);
}

int deberta_record_window(model_replica *r)
{
    size_t C = (size_t)r->m->cfg.hidden;
    return vkb_op_copy(r->b, r->rel_win, 0, r->rel_table, (size_t)r->rel_row0 * C,
                       (size_t)r->rel_rows * C);
}

int deberta_record_attention(model_replica *r, const layer_tensors *w, int B, int L)
{
    const model_config *cfg = &r->m->cfg;
    vkb_backend *b = r->b;
    int C = cfg->hidden, H = cfg->heads, d = C / H, rows = B * L, rc;
    int pk, pq, ld = pos_width(cfg, &pk, &pq), terms = cfg->rel.c2p + cfg->rel.p2c;
    if ((rc = vkb_op_matmul(b, r->qf, r->x, w->qkv_w, w->qkv_b, NULL, rows, 3 * C, C,
                            VKB_ACT_NONE)))
        return rc;
    if (terms) {
        const vkb_tensor *pw = cfg->rel.share_att_key ? w->qkv_w : w->pos_w;
        const vkb_tensor *pb = cfg->rel.share_att_key ? w->qkv_b : w->pos_b;
        if ((rc = vkb_op_matmul(b, r->pos_proj, r->rel_win, pw, pb, NULL, r->rel_rows, ld, C,
                                VKB_ACT_NONE)))
            return rc;
    }
    vkb_rel_attn ra = {.rows = r->rel_rows, .ld = ld, .pk_col = pk, .pq_col = pq,
                       .scale = (float)(1.0 / sqrt((double)d * (1 + terms)))};
    return vkb_op_attention_rel(b, r->ca, r->qf, r->lengths, terms ? r->pos_proj : NULL,
                                r->rel_idx, &ra, B, L, H, d);
}
