/*
 * vk_layernorm.c — layernorm on Vulkan: Y = LN(X + R) * gamma + beta per row.
 * Shaders: shaders/layernorm.comp, shaders/layernorm_texel.comp.
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
#include <stdio.h>
#include <string.h>

/* layernorm.comp: one workgroup of LN_WG per row, shared-memory reductions.
 * layernorm_texel.comp: one subgroup per row with the row in registers, subgroup reductions,
 * up to LNT_MAX_CHUNKS chunks per lane (cols <= 2048 at 8 lanes); wider rows take
 * layernorm.comp, which has no such bound. */
enum { LN_WG = 128, LNT_MAX_CHUNKS = 64 };

static uint32_t layernorm_chunks(const vk_ctx *c, int cols)
{
    return div_up((size_t)cols, texel_lanes(c) * (cols % 4 == 0 ? 4 : 1));
}

static int layernorm_texel(vk_ctx *c, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                           const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols,
                           float eps)
{
    int vec4 = cols % 4 == 0;
    vk_view_format f = vec4 ? VK_VIEW_RGBA32F : VK_VIEW_R32F;
    const uint32_t spec[] = {texel_lanes(c), (uint32_t)vec4, layernorm_chunks(c, cols), R != NULL,
                             !c->fixed_subgroup, beta != NULL};
    size_t chunk = min_size(vk_rows_per_binding(c, sizeof(float) * (size_t)cols),
                            c->max_groups[0]);
    vk_bind binds[5];
    int rc = vk_bind_texel(c, X, f, &binds[0]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, R, f, &binds[1]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, gamma, f, &binds[2]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, beta, f, &binds[3]);
    for (size_t r0 = 0; rc == VKB_OK && r0 < (size_t)rows; r0 += chunk) {
        size_t rc_rows = min_size(chunk, (size_t)rows - r0);
        layernorm_push p = {.cols = (uint32_t)cols, .has_res = R != NULL, .eps = eps,
                            .x_off = (uint32_t)(r0 * cols), .r_off = (uint32_t)(r0 * cols),
                            .rows = (uint32_t)rc_rows};
        rc = vk_bind_storage(c, Y, r0 * cols, rc_rows * cols, 1, &binds[4], &p.y_off);
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_LAYERNORM_TEXEL, spec, 6, binds, 5, &p, sizeof p,
                             (uint32_t)rc_rows, 1, 1);
    }
    return rc;
}

static int layernorm_tiled(vk_ctx *c, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                           const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols,
                           float eps)
{
    const uint32_t spec[] = {LN_WG, beta != NULL};
    size_t chunk = min_size(vk_rows_per_binding(c, sizeof(float) * (size_t)cols),
                            c->max_groups[0]);
    vk_bind binds[5];
    int rc = vk_bind_whole(c, gamma, 0, &binds[2]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, beta, 0, &binds[3]);
    for (size_t r0 = 0; rc == VKB_OK && r0 < (size_t)rows; r0 += chunk) {
        size_t n = min_size(chunk, (size_t)rows - r0);
        layernorm_push p = {.cols = (uint32_t)cols, .has_res = R != NULL, .eps = eps,
                            .rows = (uint32_t)n};
        rc = vk_bind_storage(c, X, r0 * cols, n * cols, 0, &binds[0], &p.x_off);
        if (rc == VKB_OK)
            rc = vk_bind_storage(c, R, r0 * cols, n * cols, 0, &binds[1], &p.r_off);
        if (rc == VKB_OK)
            rc = vk_bind_storage(c, Y, r0 * cols, n * cols, 1, &binds[4], &p.y_off);
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_LAYERNORM, spec, 2, binds, 5, &p, sizeof p, (uint32_t)n, 1,
                             1);
    }
    return rc;
}

int vk_layernorm(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                 const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols, float eps)
{
    vk_ctx *c = vk_ctx_of(b);
    if (vk_rows_per_binding(c, sizeof(float) * (size_t)cols) == 0)
        return VKB_EUNSUPPORTED;
    vk_op_begin(c, "layernorm");
    /* The subgroup kernel wherever subgroup arithmetic exists (lavapipe and real GPUs alike),
     * the shared-memory one elsewhere and for very wide rows. */
    int texel = (c->texel_kernels || c->subgroups) && layernorm_chunks(c, cols) <= LNT_MAX_CHUNKS;
    int rc = texel ? layernorm_texel(c, Y, X, R, gamma, beta, rows, cols, eps)
                   : layernorm_tiled(c, Y, X, R, gamma, beta, rows, cols, eps);
    vk_op_end(c);
    return rc;
}

/* vk_describe_ops' words for layernorm on this device. */
void vk_layernorm_describe(const vk_ctx *c, char *buf, size_t len)
{
    if (c->texel_kernels || c->subgroups)
        snprintf(buf, len, "layernorm_texel (subgroup reductions, rows up to %u columns; "
                           "layernorm above)", texel_lanes(c) * 4 * LNT_MAX_CHUNKS);
    else
        snprintf(buf, len, "layernorm (%u invocations, shared-memory reductions)",
                 (uint32_t)LN_WG);
}
