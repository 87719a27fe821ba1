/*
 * cpu_kern_generic.c — the plain C kernels: the readable reference for the AVX2 and AVX-512
 * ones (cpu_kern_avx2.c, cpu_kern_avx512.c) and what CPUs without AVX2+FMA run.
 *
 * A tile is CPU_MAX_MR rows of X times one panel of NR = 16 columns of W, the panel packed
 * k-major (panel[k*16 + j] = W[n0 + j, k]) so each step of k reads 16 consecutive floats.
 * GELU uses libm's erff, tanhf; the exp for softmax libm's expf.
 */
#include "cpu_internal.h"

#include <math.h>
#include <string.h>

#define NR 16
#define MR 4

/* Loops of constant trip counts (rows past the end redo the last row), so the compiler
 * unrolls the rows and vectorises the 16 columns for whatever vector unit the target has. */
static void tile_generic(int K, const float *A, size_t lda, int rows, const float *panel,
                         float *tile)
{
    for (int r0 = 0; r0 < rows; r0 += MR) {
        const float *a[MR];
        for (int i = 0; i < MR; i++)
            a[i] = A + (size_t)(r0 + i < rows ? r0 + i : rows - 1) * lda;
        float acc[MR][NR] = {{0}};
        for (int k = 0; k < K; k++) {
            const float *w = panel + (size_t)k * NR;
            for (int i = 0; i < MR; i++) {
                float x = a[i][k];
                for (int j = 0; j < NR; j++)
                    acc[i][j] += x * w[j];
            }
        }
        for (int i = 0; i < MR && r0 + i < rows; i++)
            memcpy(tile + (size_t)(r0 + i) * NR, acc[i], sizeof acc[i]);
    }
}

float cpu_act_ref(float x, vkb_act act)
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
    case VKB_ACT_TANH:
        return tanhf(x);
    default:
        return x;
    }
}

static void epilogue_generic(float *y, const float *acc, const float *bias, const float *r, int n,
                             vkb_act act)
{
    for (int j = 0; j < n; j++) {
        float v = cpu_act_ref(acc[j] + (bias ? bias[j] : 0.0f), act);
        y[j] = r ? v + r[j] : v;
    }
}

static float exp_sub_sum_generic(float *x, int n, float sub)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - sub);
        sum += x[i];
    }
    return (float)sum;
}

const cpu_kernels cpu_kernels_generic = {
    .isa = CPU_ISA_GENERIC,
    .name = "generic",
    .mr = CPU_MAX_MR,
    .nr = NR,
    .tile = tile_generic,
    .epilogue = epilogue_generic,
    .exp_sub_sum = exp_sub_sum_generic,
};
