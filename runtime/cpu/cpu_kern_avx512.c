/*
 * cpu_kern_avx512.c — the AVX-512 kernels (every function compiled for avx512f+fma by its
 * target attribute, called only when the CPU has them: cpu_isa.c).
 *
 * tile: 8 rows of X times a panel of NR = 32 columns of W (two zmm): 16 accumulators, per
 * step of k two panel loads, eight broadcasts of X and sixteen FMAs. The same arithmetic as
 * cpu_kern_generic.c's loops, summed in the same k order per output.
 * exp and GELU: cpu_math.h's algorithms on 16 lanes.
 */
#if defined(__x86_64__) || defined(__i386__) /* other CPUs build without this file's table */
#include "cpu_internal.h"
#include "cpu_math.h"

#include <immintrin.h>

#define NR 32
#define MR 8
#define TARGET __attribute__((target("avx512f,fma")))

TARGET static void tile_avx512(int K, const float *A, size_t lda, int rows, const float *panel,
                               float *tile)
{
    const float *a[MR];
    for (int i = 0; i < MR; i++)
        a[i] = A + (size_t)(i < rows ? i : rows - 1) * lda; /* extra rows redo the last one */
    __m512 c[MR][2];
    for (int i = 0; i < MR; i++)
        c[i][0] = c[i][1] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_load_ps(panel + (size_t)k * NR);
        __m512 b1 = _mm512_load_ps(panel + (size_t)k * NR + 16);
        for (int i = 0; i < MR; i++) {
            __m512 x = _mm512_set1_ps(a[i][k]);
            c[i][0] = _mm512_fmadd_ps(x, b0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(x, b1, c[i][1]);
        }
    }
    for (int i = 0; i < MR; i++)
        if (i < rows) {
            _mm512_storeu_ps(tile + (size_t)i * NR, c[i][0]);
            _mm512_storeu_ps(tile + (size_t)i * NR + 16, c[i][1]);
        }
}

TARGET static inline __m512 exp16(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(CPU_EXP_HI)), _mm512_set1_ps(CPU_EXP_LO));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(CPU_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CPU_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CPU_LN2_LO), r);
    __m512 p = _mm512_set1_ps(CPU_EXP_P5);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CPU_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CPU_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CPU_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CPU_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CPU_EXP_P0));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

TARGET static inline __m512 gelu_erf16(__m512 x)
{
    __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(cpu_erfc_coef[9]);
    for (int i = 8; i >= 0; i--)
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(cpu_erfc_coef[i]));
    __m512 q = _mm512_mul_ps(t, exp16(_mm512_fnmadd_ps(z, z, p)));
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    q = _mm512_mask_sub_ps(q, pos, _mm512_set1_ps(2.0f), q);
    return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), q);
}

/* x (1 + tanh u) / 2 = x e / (1 + e) with e = exp(2u) = x - x / (1 + e) */
TARGET static inline __m512 gelu_tanh16(__m512 x)
{
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 u = _mm512_mul_ps(_mm512_set1_ps(2.0f * 0.7978845608028654f),
                             _mm512_fmadd_ps(x3, _mm512_set1_ps(0.044715f), x));
    __m512 e = exp16(u);
    return _mm512_sub_ps(x, _mm512_div_ps(x, _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
}

/* tanh x = 1 - 2 / (1 + e) with e = exp(2x) (the same exp as GELU's; absolute error a few
 * 1e-7, the saturated ends exact). */
TARGET static inline __m512 tanh16(__m512 x)
{
    __m512 e = exp16(_mm512_add_ps(x, x));
    return _mm512_sub_ps(_mm512_set1_ps(1.0f),
                         _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
}

TARGET static inline __m512 act16(__m512 v, vkb_act act)
{
    switch (act) {
    case VKB_ACT_GELU_ERF:
        return gelu_erf16(v);
    case VKB_ACT_GELU_TANH:
        return gelu_tanh16(v);
    case VKB_ACT_TANH:
        return tanh16(v);
    case VKB_ACT_RELU:
        return _mm512_max_ps(v, _mm512_setzero_ps());
    default:
        return v;
    }
}

TARGET static void epilogue_avx512(float *y, const float *acc, const float *bias, const float *r,
                                   int n, vkb_act act)
{
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, acc + j);
        if (bias)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + j));
        v = act16(v, act);
        if (r)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, r + j));
        _mm512_mask_storeu_ps(y + j, m, v);
    }
}

TARGET static float exp_sub_sum_avx512(float *x, int n, float sub)
{
    __m512 s = _mm512_set1_ps(sub), sum = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), s));
        e = _mm512_maskz_mov_ps(m, e);
        sum = _mm512_add_ps(sum, e);
        _mm512_mask_storeu_ps(x + j, m, e);
    }
    return _mm512_reduce_add_ps(sum);
}

const cpu_kernels cpu_kernels_avx512 = {
    .isa = CPU_ISA_AVX512,
    .name = "avx512",
    .mr = MR,
    .nr = NR,
    .tile = tile_avx512,
    .epilogue = epilogue_avx512,
    .exp_sub_sum = exp_sub_sum_avx512,
};

#endif
