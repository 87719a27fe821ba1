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

static int parse_terms(const json_t *v, rel_config *rc, char *err, size_t errlen)
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
        json_array_foreach((json_t *)v, i, e) {
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
static int get_bool(const json_t *c, const char *key, int dflt, int *out, char *err, size_t errlen)
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
static int get_integer(const json_t *c, const char *key, long dflt, long *out, char *err,
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

/* The feature bits the tensor tables read (model_family.c). */
static void set_features(model_config *cfg)
{
    const rel_config *rc = &cfg->rel;
    cfg->features &= ~(unsigned)(MF_ABS_POS | MF_TOKEN_TYPES);
    cfg->features |= (rc->abs_pos ? MF_ABS_POS : 0) | (cfg->type_vocab > 0 ? MF_TOKEN_TYPES : 0) |
                     (rc->norm_rel_ebd ? MF_REL_NORM : 0) | (rc->c2p ? MF_C2P : 0) |
                     (rc->p2c ? MF_P2C : 0) | (rc->share_att_key ? 0 : MF_POS_PROJ);
}

static int parse_config(const json_t *c, model_config *cfg, char *err, size_t errlen)
{
    rel_config *rc = &cfg->rel;
    int v2 = rc->kind == 2, rel_on, r;
    long max_rel, buckets, conv, size, types;
    /* no token-type table unless the config asks for one (HF's default is 0) */
    if ((r = get_integer(c, "type_vocab_size", 0, &types, err, errlen)))
        return r;
    if (types < 0 || types > 1 << 24) {
        vkb_set_err(err, errlen, "config.json: \"type_vocab_size\" %ld is out of range", types);
        return VKB_EINVAL;
    }
    cfg->type_vocab = (int)types;
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
    const json_t *norm = json_object_get(c, "norm_rel_ebd");
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

int deberta_config_parse(const json_t *c, model_config *cfg, char *err, size_t errlen)
{
    memset(&cfg->rel, 0, sizeof cfg->rel);
    cfg->rel.kind = !strcmp(cfg->fam->name, "deberta") ? 1 : 2;
    int r = parse_config(c, cfg, err, errlen);
    if (r == VKB_OK)
        set_features(cfg);
    return r;
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
    float *src = read_all(dw[LW_IN_PROJ]), *dst = malloc(sizeof(float) * 3 * (size_t)C * C);
    float *bias = calloc(3 * (size_t)C, sizeof *bias);
    if (!src || !dst || !bias)
        goto cleanup;
    for (int h = 0; h < H; h++)
        for (int part = 0; part < 3; part++) /* q, k, v */
            for (int i = 0; i < d; i++)
                memcpy(dst + ((size_t)part * C + h * d + i) * C,
                       src + ((size_t)3 * d * h + part * d + i) * C, sizeof(float) * C);
    st_read_f32(dw[LW_Q_BIAS], 0, C, bias);
    st_read_f32(dw[LW_V_BIAS], 0, C, bias + 2 * C);
    vkb_dtype dt = upload_matrix_dtype(u, &dw[LW_IN_PROJ], 1);
    if ((lt->qkv_w = upload_host_weight(u, dt, dst, 3 * C, C, dw[LW_IN_PROJ]->name)) &&
        (lt->qkv_b = upload_host_f32(u, bias, 3 * (size_t)C, dw[LW_Q_BIAS]->name)))
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
        ws[n++] = dw[LW_PQ_W];
    if (rc->c2p)
        ws[n++] = dw[LW_PK_W];
    if (!n)
        return VKB_OK;
    float *bias = calloc((size_t)n * C, sizeof *bias);
    if (!bias)
        return VKB_ENOMEM;
    if (rc->p2c)
        st_read_f32(dw[LW_PQ_B], 0, C, bias);
    if (rc->c2p && dw[LW_PK_B])
        st_read_f32(dw[LW_PK_B], 0, C, bias + (size_t)(n - 1) * C);
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
    const st_tensor *const *de = r->m->w.glob;
    int C = cfg->hidden, rows = 2 * cfg->rel.span;
    float *t = read_all(de[MW_REL_EMB]), *g = NULL, *b = NULL;
    int rc = VKB_ENOMEM;
    if (!t)
        goto cleanup;
    if (cfg->rel.norm_rel_ebd) {
        if (!(g = read_all(de[MW_REL_LN_G])) || !(b = read_all(de[MW_REL_LN_B])))
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
    if ((r->rel_table = upload_host_f32(u, t, (size_t)rows * C, de[MW_REL_EMB]->name)))
        rc = VKB_OK;
cleanup:
    free(t);
    free(g);
    free(b);
    return rc;
}

int deberta_replica_upload(struct uploader *u, model_replica *r)
{
    const model_config *cfg = &r->m->cfg;
    const rel_config *rc = &cfg->rel;
    int C = cfg->hidden, st;
    for (int l = 0; l < cfg->layers; l++) {
        const st_tensor *const *dw = r->m->w.layer[l];
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

int deberta_record_layer(model_replica *r, int l, int B, int L)
{
    const model_config *cfg = &r->m->cfg;
    const layer_tensors *w = &r->layers[l];
    vkb_backend *b = r->b;
    int C = cfg->hidden, H = cfg->heads, d = C / H, rows = B * L, rc;
    int pk, pq, ld = pos_width(cfg, &pk, &pq), terms = cfg->rel.c2p + cfg->rel.p2c;
    /* the batch's window of the relative table, once per forward */
    if (l == 0 && terms &&
        (rc = vkb_op_copy(b, r->rel_win, 0, r->rel_table, (size_t)r->rel_row0 * C,
                          (size_t)r->rel_rows * C)))
        return rc;
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
    if ((rc = vkb_op_attention_rel(b, r->ca, r->qf, r->lengths, terms ? r->pos_proj : NULL,
                                   r->rel_idx, &ra, B, L, H, d)))
        return rc;
    return encoder_record_post_ln_tail(r, l, B, L);
}
