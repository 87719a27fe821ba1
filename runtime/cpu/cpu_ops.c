/*
 * cpu_ops.c — the op set in plain C, OpenBLAS sgemm for the products.
 *
 * These are the reference twins of the shaders: the Vulkan ops are tested against them, and
 * they serve where no GPU exists. Written the obvious way; the only speed trick is handing
 * every product to sgemm (attention too, per batch and head, with strided views of QKV).
 * Layouts and semantics are in vkb_runtime.h next to each vkb_op_*.
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float activate(float x, vkb_act act)
{
    switch (act) {
    case VKB_ACT_GELU_ERF:
        return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
    case VKB_ACT_GELU_TANH: {
        float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1.0f + tanhf(u));
    }
    case VKB_ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    default:
        return x;
    }
}

// Y is (M,N) = act(X (M,K) · W (N,K)ᵀ + bias (N)) + R (M,N)
//
// The bias (and the residual, when no activation sits between) is written into Y first and
// sgemm accumulates onto it (beta = 1): one pass over Y less than adding them afterwards,
// which is the difference between ~85% and ~95% of plain sgemm at MiniLM's 384x384.
int cpu_matmul(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
               const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K, vkb_act act)
{
    (void)b;
    float *y = cpu_f32_mut(Y);
    const float *bv = bias ? cpu_f32(bias) : NULL;
    const float *r = R ? cpu_f32(R) : NULL;
    int prefill_r = r && act == VKB_ACT_NONE;
    if (bv || prefill_r) {
        for (int m = 0; m < M; m++) {
            float *row = y + (size_t)m * N;
            const float *rrow = prefill_r ? r + (size_t)m * N : NULL;
            if (bv && rrow)
                for (int n = 0; n < N; n++)
                    row[n] = bv[n] + rrow[n];
            else
                memcpy(row, bv ? bv : rrow, sizeof(float) * N);
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, cpu_f32(X), K,
                cpu_f32(W), K, bv || prefill_r ? 1.0f : 0.0f, y, N);
    if (act == VKB_ACT_NONE)
        return VKB_OK;
    for (int m = 0; m < M; m++) {
        float *row = y + (size_t)m * N;
        const float *rrow = r ? r + (size_t)m * N : NULL;
        for (int n = 0; n < N; n++) {
            float v = activate(row[n], act);
            row[n] = rrow ? v + rrow[n] : v;
        }
    }
    return VKB_OK;
}

/* Softmax over x[0..n) in place; n == 0 leaves nothing to do. */
static void softmax_row(float *x, int n)
{
    float mx = -FLT_MAX;
    for (int j = 0; j < n; j++)
        mx = x[j] > mx ? x[j] : mx;
    double sum = 0;
    for (int j = 0; j < n; j++) {
        x[j] = expf(x[j] - mx);
        sum += x[j];
    }
    float inv = (float)(1.0 / sum);
    for (int j = 0; j < n; j++)
        x[j] *= inv;
}

// qkv is (B*L, 3*H*d), ctx is (B*L, H*d); per (b,h): ctx = softmax(Q Kᵀ·scale + bias) V over
// real keys; bias[row(t, j), h] from desc's table (row(t, j) in rows, (L, L)), or none.
int cpu_attention(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                  const vkb_tensor *lengths, int B, int L, int H, int d,
                  const vkb_attn_desc *desc)
{
    (void)b;
    const float *in = cpu_f32(qkv);
    float *out = cpu_f32_mut(ctx);
    const int32_t *len = cpu_i32(lengths);
    const int hd = H * d, ld_in = 3 * hd;
    const float scale = desc && desc->scale > 0 ? desc->scale : 1.0f / sqrtf((float)d);
    const float *bias = desc && desc->bias ? cpu_f32(desc->bias) : NULL;
    float *scores = malloc(sizeof(float) * (size_t)L * L); // (L queries, len keys)
    int *rows = bias ? malloc(sizeof(int) * (size_t)L * L) : NULL;
    if (!scores || (bias && !rows)) {
        free(scores);
        free(rows);
        return VKB_ENOMEM;
    }
    for (int t = 0; bias && t < L; t++)
        for (int j = 0; j < L; j++)
            rows[(size_t)t * L + j] = vkb_attn_bias_row(desc, t, j);
    for (int bi = 0; bi < B; bi++) {
        int n = len[bi] < 0 ? 0 : len[bi] > L ? L : len[bi];
        const float *base = in + (size_t)bi * L * ld_in;
        float *obase = out + (size_t)bi * L * hd;
        for (int h = 0; h < H; h++) {
            const float *q = base + h * d, *k = base + hd + h * d, *v = base + 2 * hd + h * d;
            float *o = obase + h * d;
            if (n == 0) { /* no real key: nothing to attend to */
                for (int t = 0; t < L; t++)
                    memset(o + (size_t)t * hd, 0, sizeof(float) * d);
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, n, d, scale, q, ld_in, k,
                        ld_in, 0.0f, scores, n);
            for (int t = 0; bias && t < L; t++)
                for (int j = 0; j < n; j++)
                    scores[(size_t)t * n + j] += bias[(size_t)rows[(size_t)t * L + j] * H + h];
            for (int t = 0; t < L; t++)
                softmax_row(scores + (size_t)t * n, n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, d, n, 1.0f, scores, n, v,
                        ld_in, 0.0f, o, hd);
        }
    }
    free(scores);
    free(rows);
    return VKB_OK;
}

/* y = (x - mean) / sqrt(var + eps) * g + beta over one row; sums in double. */
static void layernorm_row(float *y, const float *x, const float *g, const float *beta, int n,
                          float eps)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    double mean = s / n, v = 0;
    for (int i = 0; i < n; i++)
        v += (x[i] - mean) * (x[i] - mean);
    double inv = 1.0 / sqrt(v / n + eps);
    for (int i = 0; i < n; i++)
        y[i] = (float)((x[i] - mean) * inv) * g[i] + (beta ? beta[i] : 0.0f);
}

// Y, X, R are (rows, cols); gamma, beta are (cols)
int cpu_layernorm(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                  const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols, float eps)
{
    (void)b;
    const float *x = cpu_f32(X), *r = R ? cpu_f32(R) : NULL;
    const float *g = cpu_f32(gamma), *be = beta ? cpu_f32(beta) : NULL;
    float *y = cpu_f32_mut(Y);
    float *sum = malloc(sizeof(float) * cols);
    if (!sum)
        return VKB_ENOMEM;
    for (int i = 0; i < rows; i++) {
        const float *xr = x + (size_t)i * cols;
        if (r) {
            const float *rr = r + (size_t)i * cols;
            for (int j = 0; j < cols; j++)
                sum[j] = xr[j] + rr[j];
            xr = sum;
        }
        layernorm_row(y + (size_t)i * cols, xr, g, be, cols, eps);
    }
    free(sum);
    return VKB_OK;
}

// ids (B*L), lengths (B), word (V,C), pos (P,C), type (T,C) → Y (B*L, C)
int cpu_embed(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
              const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
              const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
              vkb_pos_mode pos_mode, int pad_id, float eps)
{
    (void)b;
    const int32_t *id = cpu_i32(ids), *len = cpu_i32(lengths);
    /* pos, type, beta may be NULL: that term is left out */
    const float *wt = cpu_f32(word), *pt = pos ? cpu_f32(pos) : NULL;
    const float *tt = type ? cpu_f32(type) : NULL;
    const float *g = cpu_f32(gamma), *be = beta ? cpu_f32(beta) : NULL;
    float *y = cpu_f32_mut(Y);
    size_t vocab = word->n / (size_t)C;
    float *sum = malloc(sizeof(float) * C);
    if (!sum)
        return VKB_ENOMEM;
    int rc = VKB_OK;
    for (int bi = 0; bi < B; bi++) {
        for (int t = 0; t < L; t++) {
            size_t row = (size_t)bi * L + t;
            int32_t tok = id[row];
            if (tok < 0 || (size_t)tok >= vocab) {
                rc = VKB_EINVAL;
                goto cleanup;
            }
            int p = t;
            if (pos_mode == VKB_POS_ROBERTA)
                p = t < len[bi] ? pad_id + 1 + t : pad_id;
            const float *w = wt + (size_t)tok * C, *pp = pt ? pt + (size_t)p * C : NULL;
            for (int c = 0; c < C; c++)
                sum[c] = w[c] + (pp ? pp[c] : 0.0f) + (tt ? tt[c] : 0.0f);
            layernorm_row(y + row * C, sum, g, be, C, eps);
        }
    }
cleanup:
    free(sum);
    return rc;
}

// H (B*L, C), lengths (B) → out (B, nmodes*C), modes in the order cls, max, mean, mean_sqrt
int cpu_pool(vkb_backend *b, vkb_tensor *out, const vkb_tensor *H, const vkb_tensor *lengths,
             int B, int L, int C, int modes, int normalize)
{
    (void)b;
    const float *h = cpu_f32(H);
    const int32_t *len = cpu_i32(lengths);
    float *o = cpu_f32_mut(out);
    size_t width = (size_t)vkb_pool_mode_count(modes) * C;
    for (int bi = 0; bi < B; bi++) {
        int n = len[bi] < 0 ? 0 : len[bi] > L ? L : len[bi];
        const float *rows = h + (size_t)bi * L * C;
        float *dst = o + bi * width;
        for (int c = 0; c < C; c++) {
            float mx = -FLT_MAX, s = 0.0f;
            for (int t = 0; t < n; t++) {
                float v = rows[(size_t)t * C + c];
                s += v;
                mx = v > mx ? v : mx;
            }
            float *d = dst + c;
            if (modes & VKB_POOL_CLS) {
                *d = rows[c];
                d += C;
            }
            if (modes & VKB_POOL_MAX) {
                *d = mx;
                d += C;
            }
            if (modes & VKB_POOL_MEAN) {
                *d = s / fmaxf((float)n, 1e-9f);
                d += C;
            }
            if (modes & VKB_POOL_MEAN_SQRT)
                *d = s / sqrtf((float)n);
        }
        if (normalize) {
            double ss = 0;
            for (size_t i = 0; i < width; i++)
                ss += (double)dst[i] * dst[i];
            float inv = 1.0f / fmaxf((float)sqrt(ss), 1e-12f);
            for (size_t i = 0; i < width; i++)
                dst[i] *= inv;
        }
    }
    return VKB_OK;
}

static float dot(const float *a, const float *b, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Σ_i w_i · max_j cos(a_i, b_j) / Σ_i w_i over the rows of a; 0 when Σ w = 0. */
static float greedy_side(const float *T, const float *inv_norm, const float *w, int a0, int na,
                         int b0, int nb, int C)
{
    double num = 0, den = 0;
    for (int i = a0; i < a0 + na; i++) {
        float best = -FLT_MAX;
        for (int j = b0; j < b0 + nb; j++) {
            float s = dot(T + (size_t)i * C, T + (size_t)j * C, C) * inv_norm[i] * inv_norm[j];
            best = s > best ? s : best;
        }
        if (nb == 0)
            best = 0.0f;
        num += (double)w[i] * best;
        den += w[i];
    }
    return den > 0 ? (float)(num / den) : 0.0f;
}

// T (rows, C), w (rows), pairs (P, 4) = [cand_row, cand_len, ref_row, ref_len] → prf (P, 3)
int cpu_greedy_match(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T, const vkb_tensor *w,
                     const vkb_tensor *pairs, int P, int C)
{
    (void)b;
    const float *t = cpu_f32(T), *wt = cpu_f32(w);
    const int32_t *pr = cpu_i32(pairs);
    float *o = cpu_f32_mut(prf);
    int rows = (int)(T->n / (size_t)C);
    float *inv_norm = malloc(sizeof(float) * rows);
    if (!inv_norm)
        return VKB_ENOMEM;
    for (int i = 0; i < rows; i++) {
        float nrm = sqrtf(dot(t + (size_t)i * C, t + (size_t)i * C, C));
        inv_norm[i] = nrm > 0 ? 1.0f / nrm : 0.0f;
    }
    int rc = VKB_OK;
    for (int p = 0; p < P; p++) {
        int c0 = pr[4 * p], cn = pr[4 * p + 1], r0 = pr[4 * p + 2], rn = pr[4 * p + 3];
        if (c0 < 0 || cn < 0 || r0 < 0 || rn < 0 || c0 > rows - cn || r0 > rows - rn) {
            rc = VKB_EINVAL;
            break;
        }
        float P_ = greedy_side(t, inv_norm, wt, c0, cn, r0, rn, C);
        float R_ = greedy_side(t, inv_norm, wt, r0, rn, c0, cn, C);
        float F_ = 2.0f * P_ * R_ / (P_ + R_);
        o[3 * p] = P_;
        o[3 * p + 1] = R_;
        o[3 * p + 2] = isfinite(F_) ? F_ : 0.0f;
    }
    free(inv_norm);
    return rc;
}

int cpu_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
             size_t src_off, size_t n)
{
    (void)b;
    size_t es = vkb_dtype_size(dst->dtype);
    const cpu_tensor *s = src->impl;
    cpu_tensor *d = dst->impl;
    memcpy((char *)d->data + dst_off * es, (const char *)s->data + src_off * es, n * es);
    if (dst->dtype == VKB_F16)
        memcpy(d->wide + dst_off, s->wide + src_off, n * sizeof(float));
    return VKB_OK;
}
