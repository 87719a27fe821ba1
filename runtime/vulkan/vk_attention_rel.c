/*
 * vk_attention_rel.c — DeBERTa's disentangled attention on Vulkan (semantics in
 * vkb_runtime.h, vkb_op_attention_rel; kernels shaders/attention_rel*.comp; CPU twin
 * runtime/cpu/cpu_attention_rel.c; test tests/test_op_attention_rel.c).
 *
 * Like vk_attention: the texel kernel on CPU-type devices, the shared-memory one on GPUs,
 * one dispatch per chunk of whole sequences. pos and rel are small (about 2L rows) and bound
 * whole; which position terms are on is a specialisation constant, so an absent term costs
 * nothing (lavapipe would run both sides of a branch). The push-constant block is
 * attention_rel_push in vk_push.h.
 */
#include "vk_internal.h"
#include "vk_push.h"

#include <math.h>
#include <stdio.h>

/* attention_rel.comp: QB queries per workgroup, K/V tiles of KT keys in shared memory.
 * attention_rel_texel.comp: one subgroup of queries per workgroup, tiles of KT_TEXEL keys. */
enum { ATTR_QB = 64, ATTR_KT = 32, ATTR_KT_TEXEL = 8, ATTR_MAX_D = 256 };

int vk_attention_rel(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                     const vkb_tensor *lengths, const vkb_tensor *pos, const vkb_tensor *rel,
                     const vkb_rel_attn *ra, int B, int L, int H, int d)
{
    vk_ctx *c = vk_ctx_of(b);
    if (d > ATTR_MAX_D) {
        vkb_log(VKB_LOG_ERROR,
                "vulkan: attention_rel head size %d is over the %d this build supports", d,
                ATTR_MAX_D);
        return VKB_EUNSUPPORTED;
    }
    int c2p = pos && ra->pk_col >= 0, p2c = pos && ra->pq_col >= 0;
    uint32_t pk_col = c2p ? (uint32_t)ra->pk_col : 0, pq_col = p2c ? (uint32_t)ra->pq_col : 0;
    uint32_t ld = pos ? (uint32_t)ra->ld : 0, P = pos ? (uint32_t)ra->rows : 1;
    size_t in_row = (size_t)3 * H * d, out_row = (size_t)H * d;
    int texel = c->texel_kernels;
    /* The texel kernel reads 4 floats per fetch when every row and column start allows. */
    int vec4 = d % 4 == 0 && ld % 4 == 0 && pk_col % 4 == 0 && pq_col % 4 == 0;
    size_t chunk = texel ? c->max_groups[2]
                         : min_size(vk_rows_per_binding(c, sizeof(float) * (size_t)L * in_row),
                                    c->max_groups[2]);
    if (chunk == 0)
        return VKB_EUNSUPPORTED;
    uint32_t kt = ATTR_KT;
    while (kt > 1 && 2 * kt * (uint32_t)d * sizeof(float) > b->info.max_shared_memory)
        kt /= 2;
    uint32_t spec_tiled[] = {(uint32_t)d, ATTR_QB, kt, (uint32_t)c2p, (uint32_t)p2c};
    uint32_t lanes = texel_lanes(c);
    uint32_t spec_texel[] = {(uint32_t)d, ATTR_KT_TEXEL, (uint32_t)vec4, lanes, lanes,
                             (uint32_t)c2p, (uint32_t)p2c};
    vk_bind binds[6];
    vk_op_begin(c, "attention_rel");
    int rc = VKB_OK;
    vk_view_format f = vec4 ? VK_VIEW_RGBA32F : VK_VIEW_R32F;
    if (texel) {
        rc = vk_bind_texel(c, qkv, f, &binds[0]);
        if (rc == VKB_OK)
            rc = vk_bind_texel(c, lengths, VK_VIEW_R32I, &binds[1]);
        if (rc == VKB_OK)
            rc = vk_bind_texel(c, pos, f, &binds[2]);
        if (rc == VKB_OK)
            rc = vk_bind_texel(c, rel, VK_VIEW_R32I, &binds[3]);
        if (rc == VKB_OK)
            rc = vk_bind_out_images(c, ctx, vec4, &binds[4]);
    } else {
        rc = vk_bind_whole(c, lengths, 0, &binds[1]);
        if (rc == VKB_OK)
            rc = pos ? vk_bind_whole(c, pos, 0, &binds[2]) : vk_bind_storage(c, NULL, 0, 0, 0,
                                                                               &binds[2], NULL);
        if (rc == VKB_OK)
            rc = vk_bind_whole(c, rel, 0, &binds[3]);
    }
    for (size_t b0 = 0; rc == VKB_OK && b0 < (size_t)B; b0 += chunk) {
        size_t nb = min_size(chunk, (size_t)B - b0);
        attention_rel_push p = {.L = (uint32_t)L, .H = (uint32_t)H, .scale = ra->scale,
                                .b0 = (uint32_t)b0, .P = P, .ld = ld, .pk_col = pk_col,
                                .pq_col = pq_col};
        if (texel) {
            p.qkv_off = (uint32_t)(b0 * L * in_row);
            p.ctx_off = (uint32_t)(b0 * L * out_row);
            rc = vk_dispatch(c, VK_K_ATTENTION_REL_TEXEL, spec_texel, 7, binds, 6, &p, sizeof p,
                             div_up(L, lanes), (uint32_t)H, (uint32_t)nb);
            continue;
        }
        rc = vk_bind_storage(c, qkv, b0 * L * in_row, nb * L * in_row, 0, &binds[0],
                             &p.qkv_off);
        if (rc == VKB_OK)
            rc = vk_bind_storage(c, ctx, b0 * L * out_row, nb * L * out_row, 1, &binds[4],
                                 &p.ctx_off);
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_ATTENTION_REL, spec_tiled, 5, binds, 5, &p, sizeof p,
                             div_up(L, ATTR_QB), (uint32_t)H, (uint32_t)nb);
    }
    vk_op_end(c);
    return rc;
}

/* vk_describe_ops' words for attention_rel on this device. */
void vk_attention_rel_describe(const vk_ctx *c, char *buf, size_t len)
{
    if (c->texel_kernels)
        snprintf(buf, len, "attention_rel_texel (%u queries per workgroup, %u-key tiles)",
                 texel_lanes(c), (uint32_t)ATTR_KT_TEXEL);
    else
        snprintf(buf, len, "attention_rel (%u queries per workgroup, %u-key tiles in shared "
                           "memory, fewer over head size %u, heads up to %d)",
                 (uint32_t)ATTR_QB, (uint32_t)ATTR_KT,
                 (uint32_t)(c->b->info.max_shared_memory / (2 * ATTR_KT * sizeof(float))),
                 vk_attention_max_head(c));
}
