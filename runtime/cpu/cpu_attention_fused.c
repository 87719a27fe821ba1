/*
 * cpu_attention_fused.c — attention on the CPU backend's own kernels: one task per (batch,
 * head) on the thread pool; per query the scores over the real keys live in a task buffer of
 * n floats (never a score matrix in memory), softmax with the table's vector exp, then the
 * weighted sum of V rows.
 *
 * Per task: Kᵀ of the head, scaled, is copied into kt (d x np, np = n rounded up to 16,
 * columns past n zero), so a query's scores are 16-wide multiply-adds over contiguous rows of
 * kt; the output is 16-wide multiply-adds over V's rows. The loops are written once
 * (head_body, plain C) and compiled three times, for AVX-512, AVX2+FMA and baseline x86-64 by
 * target attributes, the table's ISA choosing which runs.
 */
#include "cpu_internal.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define VW 16 /* keys (scores) or output columns per inner block */

typedef struct attn_job {
    const cpu_kernels *k;
    float *ctx;
    const float *qkv;
    const int32_t *len;
    int B, L, H, d;
    float scale;
    int status;  /* VKB_ENOMEM when a task could not get its buffer */
} attn_job;

// qkv is (B*L, 3*H*d): row t holds Q, K, V of every head; ctx is (B*L, H*d)
static inline __attribute__((always_inline)) void head_body(attn_job *j, int task)
{
    const int L = j->L, H = j->H, d = j->d, hd = H * d, ld = 3 * hd;
    int bi = task / H, h = task % H;
    int n = j->len[bi] < 0 ? 0 : j->len[bi] > L ? L : j->len[bi];
    const float *base = j->qkv + (size_t)bi * L * ld;
    float *obase = j->ctx + (size_t)bi * L * hd + h * d;
    if (n == 0) { /* no real key: nothing to attend to */
        for (int t = 0; t < L; t++)
            memset(obase + (size_t)t * hd, 0, sizeof(float) * d);
        return;
    }
    int np = (n + VW - 1) / VW * VW;
    float *kt = malloc(sizeof(float) * ((size_t)d * np + np));
    if (!kt) {
        j->status = VKB_ENOMEM;
        return;
    }
    float *s = kt + (size_t)d * np;
    const float *kh = base + hd + h * d, *vh = base + 2 * hd + h * d;
    for (int c = 0; c < d; c++) {
        float *row = kt + (size_t)c * np;
        for (int x = 0; x < n; x++)
            row[x] = kh[(size_t)x * ld + c] * j->scale;
        for (int x = n; x < np; x++)
            row[x] = 0.0f;
    }
    for (int t = 0; t < L; t++) {
        const float *q = base + (size_t)t * ld + h * d;
        for (int x0 = 0; x0 < np; x0 += VW) {
            float acc[VW] = {0};
            for (int c = 0; c < d; c++) {
                const float *kr = kt + (size_t)c * np + x0;
                for (int u = 0; u < VW; u++)
                    acc[u] += q[c] * kr[u];
            }
            memcpy(s + x0, acc, sizeof acc);
        }
        float mx = -FLT_MAX;
        for (int x = 0; x < n; x++)
            mx = s[x] > mx ? s[x] : mx;
        float inv = 1.0f / j->k->exp_sub_sum(s, n, mx);
        float *o = obase + (size_t)t * hd;
        int c0 = 0;
        for (; c0 + VW <= d; c0 += VW) {
            float acc[VW] = {0};
            for (int x = 0; x < n; x++) {
                const float *vr = vh + (size_t)x * ld + c0;
                for (int u = 0; u < VW; u++)
                    acc[u] += s[x] * vr[u];
            }
            for (int u = 0; u < VW; u++)
                o[c0 + u] = acc[u] * inv;
        }
        for (int c = c0; c < d; c++) { /* d % 16 columns left */
            float acc = 0;
            for (int x = 0; x < n; x++)
                acc += s[x] * vh[(size_t)x * ld + c];
            o[c] = acc * inv;
        }
    }
    free(kt);
}

__attribute__((target("avx512f,fma"))) static void head_avx512(void *ctx, int task)
{
    head_body(ctx, task);
}

__attribute__((target("avx2,fma"))) static void head_avx2(void *ctx, int task)
{
    head_body(ctx, task);
}

static void head_generic(void *ctx, int task) { head_body(ctx, task); }

int cpu_attention_fused(const cpu_kernels *k, float *ctx, const float *qkv, const int32_t *len,
                        int B, int L, int H, int d, float scale)
{
    attn_job j = {.k = k, .ctx = ctx, .qkv = qkv, .len = len, .B = B, .L = L, .H = H, .d = d,
                  .scale = scale, .status = VKB_OK};
    void (*fn)(void *, int) = k->isa == CPU_ISA_AVX512 ? head_avx512
                              : k->isa == CPU_ISA_AVX2 ? head_avx2
                                                       : head_generic;
    cpu_parallel_for(B * H, fn, &j);
    return j.status;
}
