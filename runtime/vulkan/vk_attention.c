/*
 * vk_attention.c — attention on Vulkan: softmax(Q K^T * scale + mask) V per batch and head,
 * straight from packed QKV.
 * Shaders: shaders/attention.comp, shaders/attention_texel.comp.
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

/* attention.comp: QB queries per workgroup, K/V tiles of KT keys in shared memory.
 * attention_texel.comp: one subgroup of queries per workgroup, tiles of ATTT_KT keys. */
enum { ATT_QB = 64, ATT_KT = 32, ATTT_KT = 8 };

int vk_attention(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                 const vkb_tensor *lengths, int B, int L, int H, int d,
                 const vkb_attn_desc *desc)
{
    vk_ctx *c = vk_ctx_of(b);
    /* d <= vk_attention_max_head(c): vkb_op_attention checked it (vkb_caps). */
    size_t in_row = (size_t)3 * H * d, out_row = (size_t)H * d;
    int texel = c->texel_kernels;
    int vec4 = d % 4 == 0;
    /* Sequences per dispatch: every window holds whole sequences (the texel kernel's operands
     * are whole-tensor views). */
    size_t chunk = texel ? c->max_groups[2]
                         : min_size(vk_rows_per_binding(c, sizeof(float) * (size_t)L * in_row),
                                    c->max_groups[2]);
    if (chunk == 0)
        return VKB_EUNSUPPORTED;
    /* K and V tiles share the device's shared memory; shrink the tile for big heads. */
    uint32_t kt = ATT_KT;
    while (kt > 1 && 2 * kt * (uint32_t)d * sizeof(float) > b->info.max_shared_memory)
        kt /= 2;
    /* The position bias is a specialization constant: without one the pipeline is BERT's. */
    uint32_t rule = desc ? (uint32_t)desc->rule : VKB_ATTN_BIAS_NONE;
    uint32_t nbuckets = rule ? (uint32_t)desc->buckets : 32, maxdist = rule ? (uint32_t)desc->max_distance : 128;
    float scale = desc && desc->scale > 0 ? desc->scale : 1.0f / sqrtf((float)d);
    uint32_t spec_tiled[] = {(uint32_t)d, ATT_QB, kt, rule, nbuckets, maxdist};
    uint32_t lanes = texel_lanes(c);
    uint32_t spec_texel[] = {(uint32_t)d, ATTT_KT, (uint32_t)vec4, lanes, lanes, rule, nbuckets,
                             maxdist};
    const vkb_tensor *bias = rule ? desc->bias : NULL;
    vk_bind binds[5];
    vk_op_begin(c, "attention");
    int rc = VKB_OK;
    if (texel) {
        rc = vk_bind_texel(c, qkv, vec4 ? VK_VIEW_RGBA32F : VK_VIEW_R32F, &binds[0]);
        if (rc == VKB_OK)
            rc = vk_bind_texel(c, lengths, VK_VIEW_R32I, &binds[1]);
        if (rc == VKB_OK)
            rc = vk_bind_out_images(c, ctx, vec4, &binds[2]);
        if (rc == VKB_OK) /* NULL: the dummy, never read (BIAS = 0) */
            rc = vk_bind_texel(c, bias, VK_VIEW_R32F, &binds[4]);
    } else {
        rc = vk_bind_whole(c, lengths, 0, &binds[1]);
        if (rc == VKB_OK)
            rc = vk_bind_whole(c, bias, 0, &binds[3]);
    }
    for (size_t b0 = 0; rc == VKB_OK && b0 < (size_t)B; b0 += chunk) {
        size_t nb = min_size(chunk, (size_t)B - b0);
        attention_push p = {.L = (uint32_t)L, .H = (uint32_t)H,
                            .scale = scale, .b0 = (uint32_t)b0};
        if (texel) {
            p.qkv_off = (uint32_t)(b0 * L * in_row);
            p.ctx_off = (uint32_t)(b0 * L * out_row);
        } else {
            rc = vk_bind_storage(c, qkv, b0 * L * in_row, nb * L * in_row, 0, &binds[0],
                                 &p.qkv_off);
            if (rc == VKB_OK)
                rc = vk_bind_storage(c, ctx, b0 * L * out_row, nb * L * out_row, 1, &binds[2],
                                     &p.ctx_off);
        }
        if (rc == VKB_OK && texel)
            rc = vk_dispatch(c, VK_K_ATTENTION_TEXEL, spec_texel, 8, binds, 5, &p, sizeof p,
                             div_up(L, lanes), (uint32_t)H, (uint32_t)nb);
        else if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_ATTENTION, spec_tiled, 6, binds, 4, &p, sizeof p,
                             div_up(L, ATT_QB), (uint32_t)H, (uint32_t)nb);
    }
    vk_op_end(c);
    return rc;
}

/* vk_describe_ops' words for attention on this device. */
void vk_attention_describe(const vk_ctx *c, char *buf, size_t len)
{
    if (c->texel_kernels)
        snprintf(buf, len, "attention_texel (%u queries per workgroup, %u-key tiles)",
                 texel_lanes(c), (uint32_t)ATTT_KT);
    else
        snprintf(buf, len, "attention (%u queries per workgroup, %u-key tiles in shared memory, "
                           "fewer over head size %u, heads up to %d)",
                 (uint32_t)ATT_QB, (uint32_t)ATT_KT,
                 (uint32_t)(c->b->info.max_shared_memory / (2 * ATT_KT * sizeof(float))),
                 vk_attention_max_head(c));
}
