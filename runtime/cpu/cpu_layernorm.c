/*
 * cpu_layernorm.c — layernorm in plain C.
 *
 * The reference twin of the Vulkan op (vulkan/vk_layernorm.c), tested against naive
 * double-precision loops in tests/test_cpu_ops.c; layouts and semantics are in vkb_runtime.h.
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* y = (x - mean) / sqrt(var + eps) * g + beta over one row; sums in double. */
void cpu_layernorm_row(float *y, const float *x, const float *g, const float *beta, int n,
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
        cpu_layernorm_row(y + (size_t)i * cols, xr, g, be, cols, eps);
    }
    free(sum);
    return VKB_OK;
}

// ids (B*L), lengths (B), word (V,C), pos (P,C), type (T,C) → Y (B*L, C)
