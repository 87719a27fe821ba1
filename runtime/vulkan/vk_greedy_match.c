/*
 * vk_greedy_match.c — greedy_match on Vulkan: BERTScore's idf-weighted greedy cosine matching of
 * token tables.
 * Shaders: shaders/greedy_match.comp.
 * Each op picks its kernel variant (texel for CPU-type devices, tiled for GPUs; see
 * vk_backend.c), binds its tensors, and records one dispatch per row chunk: a chunk is as
 * many rows (sequences for attention) as every storage window can hold and the workgroup
 * count limit allows, which is all of them unless a tensor exceeds maxStorageBufferRange or
 * the rows exceed maxComputeWorkGroupCount. Shapes were checked in core/backend.c; push
 * constants are in vk_push.h.
 */
#include "vk_internal.h"
#include "vk_push.h"

#include <math.h>
#include <string.h>

enum { GM_WG = 512, GM_NORM_WG = 64 };

int vk_greedy_match(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T, const vkb_tensor *w,
                    const vkb_tensor *pairs, int P, int C)
{
    vk_ctx *c = vk_ctx_of(b);
    size_t rows = T->n / (size_t)C;
    greedy_push p = {(uint32_t)rows, (uint32_t)C, (uint32_t)P};
    /* The widest power-of-two workgroup up to GM_WG the device allows (128 is guaranteed). */
    uint32_t wg = GM_WG;
    while (wg > c->max_invocations)
        wg /= 2;
    const uint32_t spec_norms[] = {GM_NORM_WG, 0}, spec_side[] = {wg, 1},
                   spec_f1[] = {GM_NORM_WG, 2};
    vk_op_begin(c, "greedy_match");
    vkb_tensor *norms = vk_batch_temp(c, VKB_F32, rows);
    int rc = norms ? VKB_OK : VKB_ENOMEM;
    vk_bind binds[5];
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, T, 0, &binds[0]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, w, 0, &binds[1]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, pairs, 0, &binds[2]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, norms, 1, &binds[3]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, prf, 1, &binds[4]);
    /* norms, then P and R of every pair (one workgroup per pair and side), then F */
    if (rc == VKB_OK)
        rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_norms, 2, binds, 5, &p, sizeof p,
                         div_up(rows, GM_NORM_WG), 1, 1);
    binds[3].writes = 0;
    if (rc == VKB_OK)
        rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_side, 2, binds, 5, &p, sizeof p,
                         (uint32_t)P, 2, 1);
    if (rc == VKB_OK)
        rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_f1, 2, binds, 5, &p, sizeof p,
                         div_up(P, GM_NORM_WG), 1, 1);
    vk_op_end(c);
    return rc;
}
