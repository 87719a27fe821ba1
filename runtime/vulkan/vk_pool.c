/*
 * vk_pool.c — pool on Vulkan: CLS / mean / max pooling over each sequence's real tokens, optional
 * L2 normalisation.
 * Shaders: shaders/pool.comp.
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

enum { POOL_WG = 128 };

int vk_pool(vkb_backend *b, vkb_tensor *out, const vkb_tensor *H, const vkb_tensor *lengths,
            int B, int L, int C, int modes, int normalize)
{
    vk_ctx *c = vk_ctx_of(b);
    const uint32_t spec[] = {POOL_WG};
    size_t width = (size_t)vkb_pool_mode_count(modes) * C;
    size_t chunk = min_size(vk_rows_per_binding(c, sizeof(float) * (size_t)L * C),
                            c->max_groups[0]);
    if (chunk == 0)
        return VKB_EUNSUPPORTED;
    vk_bind binds[3];
    vk_op_begin(c, "pool");
    int rc = vk_bind_whole(c, lengths, 0, &binds[1]);
    for (size_t b0 = 0; rc == VKB_OK && b0 < (size_t)B; b0 += chunk) {
        size_t nb = min_size(chunk, (size_t)B - b0);
        pool_push p = {.L = (uint32_t)L, .C = (uint32_t)C, .modes = (uint32_t)modes,
                       .normalize = (uint32_t)normalize, .b0 = (uint32_t)b0};
        rc = vk_bind_storage(c, H, b0 * L * C, nb * L * C, 0, &binds[0], &p.h_off);
        if (rc == VKB_OK)
            rc = vk_bind_storage(c, out, b0 * width, nb * width, 1, &binds[2], &p.o_off);
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_POOL, spec, 1, binds, 3, &p, sizeof p, (uint32_t)nb, 1, 1);
    }
    vk_op_end(c);
    return rc;
}
