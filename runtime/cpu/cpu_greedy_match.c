/*
 * cpu_greedy_match.c — greedy_match in plain C: BERTScore's greedy cosine matching.
 *
 * The reference twin of the Vulkan op (vulkan/vk_greedy_match.c), tested against naive
 * double-precision loops in tests/test_cpu_ops.c; layouts and semantics are in vkb_runtime.h.
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
                     const vkb_tensor *pairs, int P, int C, int max_len)
{
    (void)b;
    (void)max_len; /* a hint for the device kernels' work split: nothing to split here */
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
