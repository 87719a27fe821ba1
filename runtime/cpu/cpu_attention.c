/*
 * cpu_attention.c — attention: softmax(Q K^T * scale + mask) V per batch and head, on our
 * kernels (cpu_attention_fused.c) or, with VKB_CPU_ISA=openblas, sgemm on strided views of
 * QKV with the score matrix in a buffer.
 *
 * The reference twin of the Vulkan op (vulkan/vk_attention.c), tested against naive
 * double-precision loops in tests/test_cpu_ops.c; layouts and semantics are in vkb_runtime.h.
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Queries per block of the sgemm path: its score buffer is (QBLOCK, n), never (L, L)
 * (at L = 8192 a whole matrix would be 256 MiB per call). */
enum { QBLOCK = 256 };

// qkv is (B*L, 3*H*d), ctx is (B*L, H*d); per (b,h): ctx = softmax(Q Kᵀ·scale + bias) V over
// real keys; bias[row(j - t), h] from desc's table (the rule's row depends only on j - t, so
// it is tabled once per call for the 2L-1 distances), or none.
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
    /* The fused kernel (never writes a score matrix) has no position bias yet: MPNet's biased
     * attention takes the sgemm path below. */
    const cpu_kernels *kern = cpu_kernels_get();
    if (kern->isa != CPU_ISA_OPENBLAS && !bias)
        return cpu_attention_fused(kern, out, in, len, B, L, H, d, scale);
    const int qb = L < QBLOCK ? L : QBLOCK;
    float *scores = malloc(sizeof(float) * (size_t)qb * L); // (qb queries, n keys)
    int *rel_row = bias ? malloc(sizeof(int) * (size_t)(2 * L - 1)) : NULL; // [j - t + L-1]
    if (!scores || (bias && !rel_row)) {
        free(scores);
        free(rel_row);
        return VKB_ENOMEM;
    }
    for (int r = 0; bias && r < 2 * L - 1; r++)
        rel_row[r] = vkb_attn_bias_row(desc, L - 1, r);
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
            for (int t0 = 0; t0 < L; t0 += qb) {
                int m = L - t0 < qb ? L - t0 : qb;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, d, scale,
                            q + (size_t)t0 * ld_in, ld_in, k, ld_in, 0.0f, scores, n);
                for (int t = 0; bias && t < m; t++) {
                    const int *rr = rel_row + (L - 1) - (t0 + t); /* rr[j] = row(j - t) */
                    for (int j = 0; j < n; j++)
                        scores[(size_t)t * n + j] += bias[(size_t)rr[j] * H + h];
                }
                for (int t = 0; t < m; t++)
                    softmax_row(scores + (size_t)t * n, n);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, n, 1.0f, scores, n,
                            v, ld_in, 0.0f, o + (size_t)t0 * hd, hd);
            }
        }
    }
    free(scores);
    free(rel_row);
    return VKB_OK;
}
