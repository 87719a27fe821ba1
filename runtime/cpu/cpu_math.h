/*
 * cpu_math.h — internal to the CPU backend: the exp and erfc approximations the AVX2 and
 * AVX-512 kernels vectorise, written once here as scalar C (the readable reference; the
 * vector code in cpu_kern_avx2.c / cpu_kern_avx512.c does the same operations in the same
 * order on 8 or 16 lanes). tests/test_cpu_math.c measures both against double precision.
 *
 * exp (Cephes expf): x clamped to [-87, 88], n = round(x log2 e), r = x - n ln 2 in two
 * parts, e^r by a degree-7 polynomial on [-ln2/2, ln2/2], times 2^n through the exponent
 * bits. Relative error <= 2e-7 on [-87, 88] (measured 1.1e-7); below -87 it returns e^-87
 * (1.6e-38), which is 0 for softmax and GELU.
 *
 * erfc (Numerical Recipes' erfcc, Chebyshev fit): for z >= 0,
 * erfc(z) = t exp(-z² + P(t)), t = 1 / (1 + z/2), fractional error < 1.2e-7 in exact
 * arithmetic; erfc(-z) = 2 - erfc(z). GELU(x) = x/2 (1 + erf(x/√2)) = x/2 erfc(-x/√2):
 * for x < 0 that is x/2 erfc(|x|/√2) with no cancellation. Stated bound, tested:
 * |gelu(x) - GELU(x)| <= 2e-7 max(1, |x|) on [-12, 12] (measured 0.95e-7 erf, 1.1e-7 tanh).
 */
#ifndef VKB_CPU_MATH_H
#define VKB_CPU_MATH_H

#include <stdint.h>
#include <string.h>

#define CPU_EXP_LO -87.0f
#define CPU_EXP_HI 88.0f
#define CPU_LOG2E 1.44269504088896341f
#define CPU_LN2_HI 0.693359375f
#define CPU_LN2_LO -2.12194440e-4f
/* e^r = 1 + r + r² (P0 + r (P1 + ... r P5)) */
#define CPU_EXP_P0 5.0000001201e-1f
#define CPU_EXP_P1 1.6666665459e-1f
#define CPU_EXP_P2 4.1665795894e-2f
#define CPU_EXP_P3 8.3334519073e-3f
#define CPU_EXP_P4 1.3981999507e-3f
#define CPU_EXP_P5 1.9875691500e-4f

/* erfcc's P(t) = E0 + t (E1 + t (E2 + ... t E9)) */
static const float cpu_erfc_coef[10] = {
    -1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
    0.27886807f,  -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f,
};

static inline float cpu_exp_approx(float x)
{
    x = x < CPU_EXP_LO ? CPU_EXP_LO : x > CPU_EXP_HI ? CPU_EXP_HI : x;
    /* nearest, ties to even (the default rounding mode); clang 14 has no roundevenf builtin */
    float n = __builtin_rintf(x * CPU_LOG2E);
    float r = x - n * CPU_LN2_HI;
    r = r - n * CPU_LN2_LO;
    float p = CPU_EXP_P5;
    p = p * r + CPU_EXP_P4;
    p = p * r + CPU_EXP_P3;
    p = p * r + CPU_EXP_P2;
    p = p * r + CPU_EXP_P1;
    p = p * r + CPU_EXP_P0;
    p = p * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* erfc(z) for z >= 0. */
static inline float cpu_erfc_pos_approx(float z)
{
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = cpu_erfc_coef[9];
    for (int i = 8; i >= 0; i--)
        p = p * t + cpu_erfc_coef[i];
    return t * cpu_exp_approx(p - z * z);
}

static inline float cpu_gelu_erf_approx(float x)
{
    float q = cpu_erfc_pos_approx(__builtin_fabsf(x) * 0.70710678118654752f);
    return 0.5f * x * (x >= 0.0f ? 2.0f - q : q);
}

#endif
