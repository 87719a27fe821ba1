/*
 * cpu_kern_avx2.c — the AVX2+FMA kernels, the x86-64 baseline (every function compiled for
 * avx2+fma by its target attribute, called only when the CPU has them: cpu_isa.c).
 *
 * tile: 6 rows of X times a panel of NR = 16 columns of W (two ymm): 12 accumulators, two
 * panel loads, one broadcast register, 15 of the 16 ymm registers. Same k order per output as
 * cpu_kern_generic.c. exp and GELU: cpu_math.h's algorithms on 8 lanes.
 */
#if defined(__x86_64__) || defined(__i386__) /* other CPUs build without this file's table */
#include "cpu_internal.h"
#include "cpu_math.h"

#include <immintrin.h>

#define NR 16
#define MR 6
#define TARGET __attribute__((target("avx2,fma")))

/* The 12 accumulators are named variables, not an array: GCC 12 kept an array's copy in
 * memory and stored all 12 after every step of k (3x slower). */
TARGET static void tile_avx2(int K, const float *A, size_t lda, int rows, const float *panel,
                             float *tile)
{
    const float *a[MR];
    for (int i = 0; i < MR; i++)
        a[i] = A + (size_t)(i < rows ? i : rows - 1) * lda; /* extra rows redo the last one */
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    for (int k = 0; k < K; k++) {
        __m256 b0 = _mm256_load_ps(panel + (size_t)k * NR);
        __m256 b1 = _mm256_load_ps(panel + (size_t)k * NR + 8);
        __m256 x = _mm256_broadcast_ss(a0 + k);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + k);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + k);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + k);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + k);
        c40 = _mm256_fmadd_ps(x, b0, c40);
        c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + k);
        c50 = _mm256_fmadd_ps(x, b0, c50);
        c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 c[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int i = 0; i < rows; i++) {
        _mm256_storeu_ps(tile + (size_t)i * NR, c[i][0]);
        _mm256_storeu_ps(tile + (size_t)i * NR + 8, c[i][1]);
    }
}

TARGET static inline __m256 exp8(__m256 x)
{
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(CPU_EXP_HI)), _mm256_set1_ps(CPU_EXP_LO));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(CPU_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(CPU_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(CPU_LN2_LO), r);
    __m256 p = _mm256_set1_ps(CPU_EXP_P5);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CPU_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CPU_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CPU_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CPU_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CPU_EXP_P0));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

TARGET static inline __m256 gelu_erf8(__m256 x)
{
    __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 z = _mm256_mul_ps(_mm256_and_ps(x, absmask), _mm256_set1_ps(0.70710678118654752f));
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f),
                             _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(cpu_erfc_coef[9]);
    for (int i = 8; i >= 0; i--)
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(cpu_erfc_coef[i]));
    __m256 q = _mm256_mul_ps(t, exp8(_mm256_fnmadd_ps(z, z, p)));
    __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
    q = _mm256_blendv_ps(q, _mm256_sub_ps(_mm256_set1_ps(2.0f), q), pos);
    return _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)), q);
}

/* x (1 + tanh u) / 2 = x e / (1 + e) with e = exp(2u) = x - x / (1 + e) */
TARGET static inline __m256 gelu_tanh8(__m256 x)
{
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608028654f),
                             _mm256_fmadd_ps(x3, _mm256_set1_ps(0.044715f), x));
    __m256 e = exp8(u);
    return _mm256_sub_ps(x, _mm256_div_ps(x, _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
}

/* tanh x = 1 - 2 / (1 + e) with e = exp(2x) (the same exp as GELU's; absolute error a few
 * 1e-7, the saturated ends exact). */
TARGET static inline __m256 tanh8(__m256 x)
{
    __m256 e = exp8(_mm256_add_ps(x, x));
    return _mm256_sub_ps(_mm256_set1_ps(1.0f),
                         _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
}

TARGET static inline __m256 act8(__m256 v, vkb_act act)
{
    switch (act) {
    case VKB_ACT_GELU_ERF:
        return gelu_erf8(v);
    case VKB_ACT_GELU_TANH:
        return gelu_tanh8(v);
    case VKB_ACT_TANH:
        return tanh8(v);
    case VKB_ACT_RELU:
        return _mm256_max_ps(v, _mm256_setzero_ps());
    default:
        return v;
    }
}

/* Lanes 0..n-1 of 8 on (n may exceed 8). */
TARGET static inline __m256i lane_mask(int n)
{
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

TARGET static void epilogue_avx2(float *y, const float *acc, const float *bias, const float *r,
                                 int n, vkb_act act)
{
    for (int j = 0; j < n; j += 8) {
        __m256i m = lane_mask(n - j);
        __m256 v = _mm256_maskload_ps(acc + j, m);
        if (bias)
            v = _mm256_add_ps(v, _mm256_maskload_ps(bias + j, m));
        v = act8(v, act);
        if (r)
            v = _mm256_add_ps(v, _mm256_maskload_ps(r + j, m));
        _mm256_maskstore_ps(y + j, m, v);
    }
}

TARGET static float exp_sub_sum_avx2(float *x, int n, float sub)
{
    __m256 s = _mm256_set1_ps(sub), sum = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8) {
        __m256i m = lane_mask(n - j);
        __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), s));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        sum = _mm256_add_ps(sum, e);
        _mm256_maskstore_ps(x + j, m, e);
    }
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

const cpu_kernels cpu_kernels_avx2 = {
    .isa = CPU_ISA_AVX2,
    .name = "avx2",
    .mr = MR,
    .nr = NR,
    .tile = tile_avx2,
    .epilogue = epilogue_avx2,
    .exp_sub_sum = exp_sub_sum_avx2,
};

#endif
