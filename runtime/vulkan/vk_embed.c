/*
 * vk_embed.c — embed on Vulkan: word + position + type embeddings, then layernorm.
 * Shaders: shaders/embed.comp, shaders/embed_texel.comp.
 * Each op picks its kernel variant (texel for CPU-type devices, tiled for GPUs; see
 * vk_backend.c), binds its tensors, and records one dispatch per row chunk: a chunk is as
 * many rows (sequences for attention) as every storage window can hold and the workgroup
 * count limit allows, which is all of them unless a tensor exceeds maxStorageBufferRange or
 * the rows exceed maxComputeWorkGroupCount. Shapes were checked in core/backend.c; push
 * constants are in vk_push.h.
 *
 * The word-embedding table may exceed maxStorageBufferRange (roberta-large: 206 MB f32 vs
 * 128 MiB on lavapipe), so embed.comp binds it as up to four row windows; texel views cover
 * it whole. The texel variant exists because embed.comp's storage-buffer loads cost 15 ms of
 * a 2048-row MiniLM batch on lavapipe.
 */
#include "vk_internal.h"
#include "vk_push.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { EMB_WG = 64, EMB_WINDOWS = 4 };

/* Binds the word table (V, C) as up to EMB_WINDOWS row windows at binds[0..3]. */
static int bind_word_windows(vk_ctx *c, const vkb_tensor *word, int C, vk_bind *binds,
                             embed_push *p)
{
    size_t V = word->n / (size_t)C;
    size_t rpc = min_size(vk_rows_per_binding(c, vkb_dtype_size(word->dtype) * (size_t)C), V);
    if (rpc == 0 || div_up(V, rpc) > EMB_WINDOWS) {
        vkb_log(VKB_LOG_ERROR, "vulkan: word table of %zu x %d is too large for %s", V, C,
                c->b->id);
        return VKB_EUNSUPPORTED;
    }
    p->rows_per_chunk = (uint32_t)rpc;
    p->n_words = (uint32_t)V;
    for (size_t k = 0; k < EMB_WINDOWS; k++) {
        size_t first = k * rpc;
        if (first >= V) {
            binds[k] = vk_bind_dummy(c);
            continue;
        }
        int rc = vk_bind_storage(c, word, first * C, min_size(rpc, V - first) * C, 0, &binds[k],
                                 &p->w_shift[k]);
        if (rc != VKB_OK)
            return rc;
    }
    return VKB_OK;
}


/* The terms both embed kernels add (their TERMS specialization constant): 1 pos, 2 type,
 * 4 beta; an absent one is bound to the dummy and never read. BERT: all three. */
static uint32_t embed_terms(const vkb_tensor *pos, const vkb_tensor *type,
                            const vkb_tensor *beta)
{
    return (pos ? 1u : 0u) | (type ? 2u : 0u) | (beta ? 4u : 0u);
}

/* The four-wide chunks each lane of embed_texel.comp holds: at most this many. */
enum { EMBT_MAX_CHUNKS = 32 };

static vk_view_format table_view(const vkb_tensor *t)
{
    return t->dtype == VKB_F16 ? VK_VIEW_RGBA16F : VK_VIEW_RGBA32F;
}

/* embed_texel.comp applies: the texel kernels (which imply workgroups of subgroup_size lanes
 * are one subgroup), C in fours, a row that fits the lanes' registers, and texel views of every
 * table (the word table is viewed whole). */
static int embed_texel_fits(vk_ctx *c, const vkb_tensor *word, const vkb_tensor *pos,
                            const vkb_tensor *type, int C)
{
    if (!c->texel_kernels || C % 4 != 0 ||
        div_up((size_t)C / 4, texel_lanes(c)) > EMBT_MAX_CHUNKS)
        return 0;
    return vk_mem_view(c, vk_mem_of(word), table_view(word)) &&
           (!pos || vk_mem_view(c, vk_mem_of(pos), table_view(pos))) &&
           (!type || vk_mem_view(c, vk_mem_of(type), table_view(type)));
}

static int embed_texel(vk_ctx *c, vkb_tensor *Y, const vkb_tensor *ids,
                       const vkb_tensor *lengths, const vkb_tensor *word, const vkb_tensor *pos,
                       const vkb_tensor *type, const vkb_tensor *gamma, const vkb_tensor *beta,
                       int B, int L, int C, vkb_pos_mode pos_mode, int pad_id, float eps)
{
    uint32_t lanes = texel_lanes(c);
    const uint32_t spec[] = {lanes, div_up((size_t)C / 4, lanes), embed_terms(pos, type, beta)};
    embed_texel_push p = {.L = (uint32_t)L, .C = (uint32_t)C, .pos_mode = pos_mode,
                          .pad_id = (uint32_t)pad_id, .eps = eps,
                          .n_words = (uint32_t)(word->n / (size_t)C)};
    vk_bind binds[8];
    int rc = vk_bind_texel(c, ids, VK_VIEW_R32I, &binds[0]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, lengths, VK_VIEW_R32I, &binds[1]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, word, table_view(word), &binds[2]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, pos, pos ? table_view(pos) : VK_VIEW_RGBA32F, &binds[3]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, type, type ? table_view(type) : VK_VIEW_RGBA32F, &binds[4]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, gamma, VK_VIEW_RGBA32F, &binds[5]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, beta, VK_VIEW_RGBA32F, &binds[6]);
    if (rc == VKB_OK)
        rc = vk_bind_texel_out(c, Y, VK_VIEW_RGBA32F, &binds[7]);
    for (size_t b0 = 0; rc == VKB_OK && b0 < (size_t)B; b0 += c->max_groups[1]) {
        size_t nb = min_size(c->max_groups[1], (size_t)B - b0);
        p.b0 = (uint32_t)b0;
        rc = vk_dispatch(c, VK_K_EMBED_TEXEL, spec, 3, binds, 8, &p, sizeof p, (uint32_t)L,
                         (uint32_t)nb, 1);
    }
    return rc;
}

int vk_embed(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
             const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
             const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
             vkb_pos_mode pos_mode, int pad_id, float eps)
{
    vk_ctx *c = vk_ctx_of(b);
    if (embed_texel_fits(c, word, pos, type, C)) {
        vk_op_begin(c, "embed");
        int rc = embed_texel(c, Y, ids, lengths, word, pos, type, gamma, beta, B, L, C, pos_mode,
                             pad_id, eps);
        vk_op_end(c);
        return rc;
    }
    const uint32_t spec[] = {EMB_WG, embed_terms(pos, type, beta)};
    size_t chunk = min_size(vk_rows_per_binding(c, sizeof(float) * (size_t)L * C),
                            c->max_groups[1]);
    if (chunk == 0)
        return VKB_EUNSUPPORTED;
    embed_push p = {
        .L = (uint32_t)L, .C = (uint32_t)C, .pos_mode = pos_mode, .pad_id = (uint32_t)pad_id,
        .eps = eps,
        .f16 = (word->dtype == VKB_F16 ? 1u : 0u) | (pos && pos->dtype == VKB_F16 ? 2u : 0u) |
               (type && type->dtype == VKB_F16 ? 4u : 0u),
    };
    vk_bind binds[11];
    vk_op_begin(c, "embed");
    int rc = vk_bind_whole(c, ids, 0, &binds[0]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, lengths, 0, &binds[1]);
    if (rc == VKB_OK)
        rc = bind_word_windows(c, word, C, &binds[2], &p);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, pos, 0, &binds[6]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, type, 0, &binds[7]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, gamma, 0, &binds[8]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, beta, 0, &binds[9]);
    for (size_t b0 = 0; rc == VKB_OK && b0 < (size_t)B; b0 += chunk) {
        size_t nb = min_size(chunk, (size_t)B - b0);
        p.b0 = (uint32_t)b0;
        rc = vk_bind_storage(c, Y, b0 * L * C, nb * L * C, 1, &binds[10], &p.y_off);
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_EMBED, spec, 2, binds, 11, &p, sizeof p, (uint32_t)L,
                             (uint32_t)nb, 1);
    }
    vk_op_end(c);
    return rc;
}

/* vk_describe_ops' words for embed on this device. */
void vk_embed_describe(const vk_ctx *c, char *buf, size_t len)
{
    if (c->texel_kernels)
        snprintf(buf, len, "embed_texel (one subgroup per token, C up to %u; embed above)",
                 texel_lanes(c) * 4 * EMBT_MAX_CHUNKS);
    else
        snprintf(buf, len, "embed (%u invocations)", (uint32_t)EMB_WG);
}
