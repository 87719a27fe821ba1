/*
 * cpu_embed.c — embed in plain C: word + position + type embeddings, then layernorm.
 *
 * The reference twin of the Vulkan op (vulkan/vk_embed.c), tested against naive
 * double-precision loops in tests/test_cpu_ops.c; layouts and semantics are in vkb_runtime.h.
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cpu_embed(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
              const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
              const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
              vkb_pos_mode pos_mode, int pad_id, float eps)
{
    (void)b;
    const int32_t *id = cpu_i32(ids), *len = cpu_i32(lengths);
    /* pos, type, beta may be NULL: that term is left out */
    const float *wt = cpu_f32(word), *pt = pos ? cpu_f32(pos) : NULL;
    const float *tt = type ? cpu_f32(type) : NULL;
    const float *g = cpu_f32(gamma), *be = beta ? cpu_f32(beta) : NULL;
    float *y = cpu_f32_mut(Y);
    size_t vocab = word->n / (size_t)C;
    float *sum = malloc(sizeof(float) * C);
    if (!sum)
        return VKB_ENOMEM;
    int rc = VKB_OK;
    for (int bi = 0; bi < B; bi++) {
        for (int t = 0; t < L; t++) {
            size_t row = (size_t)bi * L + t;
            int32_t tok = id[row];
            if (tok < 0 || (size_t)tok >= vocab) {
                rc = VKB_EINVAL;
                goto cleanup;
            }
            int p = t;
            if (pos_mode == VKB_POS_ROBERTA)
                p = t < len[bi] ? pad_id + 1 + t : pad_id;
            const float *w = wt + (size_t)tok * C, *pp = pt ? pt + (size_t)p * C : NULL;
            for (int c = 0; c < C; c++)
                sum[c] = w[c] + (pp ? pp[c] : 0.0f) + (tt ? tt[c] : 0.0f);
            cpu_layernorm_row(y + row * C, sum, g, be, C, eps);
        }
    }
cleanup:
    free(sum);
    return rc;
}
