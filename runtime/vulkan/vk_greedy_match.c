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
#include <stdio.h>
#include <string.h>

enum { GM_WG = 512, GM_NORM_WG = 64 };

/* The widest power-of-two workgroup up to GM_WG the device allows (128 is guaranteed). */
static uint32_t greedy_wg(const vk_ctx *c)
{
    uint32_t wg = GM_WG;
    while (wg > c->max_invocations)
        wg /= 2;
    return wg;
}

/* The old path's loop count for a max_len x max_len pair (the shader's header), over which
 * long pairs take the chunked modes 3-5: lavapipe ends an invocation after 65535 iterations. */
enum { GM_LOOP_BUDGET = 60000, GM_CHUNK_LOOPS = 30000 };

int vk_greedy_match(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T, const vkb_tensor *w,
                    const vkb_tensor *pairs, int P, int C, int max_len)
{
    vk_ctx *c = vk_ctx_of(b);
    size_t rows = T->n / (size_t)C;
    uint32_t ml = max_len > 0 && (size_t)max_len < rows ? (uint32_t)max_len : (uint32_t)rows;
    greedy_push p = {.rows = (uint32_t)rows, .C = (uint32_t)C, .P = (uint32_t)P, .ML = ml};
    uint32_t wg = greedy_wg(c);
    /* Blocks of 16 products at GM_WG, wider in proportion for narrower workgroups (the
     * shader's header: lavapipe's loop-iteration limit). */
    uint32_t side_block = 16 * GM_WG / wg;
    const uint32_t spec_norms[] = {GM_NORM_WG, 0, 16}, spec_side[] = {wg, 1, side_block},
                   spec_f1[] = {GM_NORM_WG, 2, 16}, spec_clear[] = {GM_NORM_WG, 3, 16},
                   spec_chunk[] = {wg, 4, 16}, spec_reduce[] = {wg, 5, side_block};
    /* A pair of two max_len sides: each invocation of mode 1 walks ceil(ml/wg) rows x ml
     * keys x (C/block + 1) blocks. Past the budget, modes 3-5 (chunks of JC keys). */
    uint64_t loops = (uint64_t)div_up(ml, wg) * ml * ((uint64_t)C / side_block + 1);
    int chunked = loops > GM_LOOP_BUDGET;
    p.JC = (uint32_t)(GM_CHUNK_LOOPS / ((uint64_t)C / 16 + 1));
    p.JC = p.JC ? p.JC : 1;
    /* Pairs per chunked round: the row maxima of nq pairs (nq*2*ml keys) in one temp of at
     * most 8 MiB and one binding, and 2*nq workgroups in y. */
    size_t per_pair = (size_t)2 * ml * sizeof(uint32_t);
    size_t cap = min_size(8u << 20, c->max_storage_range) / per_pair;
    cap = min_size(min_size(cap ? cap : 1, (size_t)P), c->max_groups[1] / 2);
    vk_op_begin(c, "greedy_match");
    vkb_tensor *norms = vk_batch_temp(c, VKB_F32, rows);
    vkb_tensor *best = chunked ? vk_batch_temp(c, VKB_I32, cap * 2 * ml) : NULL;
    int rc = norms && (best || !chunked) ? VKB_OK : VKB_ENOMEM;
    vk_bind binds[6];
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
    if (rc == VKB_OK) /* unused by the plain path: norms again, read-only */
        rc = vk_bind_whole(c, best ? best : norms, best != NULL, &binds[5]);
    /* norms, then P and R of every pair, then F */
    if (rc == VKB_OK)
        rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_norms, 3, binds, 6, &p, sizeof p,
                         div_up(rows, GM_NORM_WG), 1, 1);
    binds[3].writes = 0;
    if (rc == VKB_OK && !chunked)
        rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_side, 3, binds, 6, &p, sizeof p,
                         (uint32_t)P, 2, 1);
    /* Long pairs: per round of nq pairs, clear the maxima, take them chunk by chunk, reduce
     * (mode 5 also writes prf). The batch puts a barrier between dispatches touching best. */
    for (size_t q0 = 0; rc == VKB_OK && chunked && q0 < (size_t)P; q0 += cap) {
        p.q0 = (uint32_t)q0;
        p.nq = (uint32_t)min_size(cap, (size_t)P - q0);
        rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_clear, 3, binds, 6, &p, sizeof p,
                         div_up((size_t)p.nq * 2 * ml, GM_NORM_WG), 1, 1);
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_chunk, 3, binds, 6, &p, sizeof p,
                             div_up(ml, wg), 2 * p.nq,
                             (uint32_t)min_size(div_up(ml, p.JC), c->max_groups[2]));
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_reduce, 3, binds, 6, &p, sizeof p,
                             p.nq, 2, 1);
    }
    if (rc == VKB_OK)
        rc = vk_dispatch(c, VK_K_GREEDY_MATCH, spec_f1, 3, binds, 6, &p, sizeof p,
                         div_up(P, GM_NORM_WG), 1, 1);
    vk_op_end(c);
    return rc;
}

/* vk_describe_ops' words for greedy_match on this device. */
void vk_greedy_match_describe(const vk_ctx *c, char *buf, size_t len)
{
    snprintf(buf, len, "greedy_match (%u invocations per side)", greedy_wg(c));
}
