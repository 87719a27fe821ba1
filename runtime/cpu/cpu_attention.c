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
    /* The fused kernel (never writes a score matrix) has no position bias yet: MPNet's biased
     * attention takes the sgemm path below. */
    const cpu_kernels *kern = cpu_kernels_get();
    if (kern->isa != CPU_ISA_OPENBLAS && !bias)
        return cpu_attention_fused(kern, out, in, len, B, L, H, d, scale);
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

