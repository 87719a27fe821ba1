/*
 * cpu_pool.c — pool in plain C: CLS / mean / max over real tokens, optional L2 normalisation.
 *
 * The reference twin of the Vulkan op (vulkan/vk_pool.c), tested against naive
 * double-precision loops in tests/test_cpu_ops.c; layouts and semantics are in vkb_runtime.h.
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
