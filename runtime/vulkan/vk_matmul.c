/*
 * vk_matmul.c — matmul on Vulkan: Y = act(X W^T + bias) + R, tiled kernel for GPUs, texel kernel
 * for CPU-type devices.
 * Shaders: shaders/matmul.comp, shaders/matmul_texel.comp.
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

/* Tile shape of matmul.comp (GPU): 64x64 outputs per workgroup of 256, 4x4 per invocation;
 * on devices allowing fewer than 256 invocations per workgroup (the Vulkan minimum is 128),
 * 8x4 per invocation in workgroups of 128 (matmul_tm). */
enum { MM_BM = 64, MM_BN = 64, MM_BK = 16, MM_TM = 4, MM_TN = 4 };

static uint32_t matmul_tm(const vk_ctx *c)
{
    return (MM_BM / MM_TM) * (MM_BN / MM_TN) <= c->max_invocations ? MM_TM : 2 * MM_TM;
}
/* matmul_texel.comp: RM x RN outputs per invocation, workgroups of LX x LY invocations.
 * lavapipe packs 8 invocations along x into one SIMD vector, so LX must be >= 8 (LX = 1 ran
 * 6x slower), and a multiple of the subgroup size (X rows are shared across the subgroup);
 * tile sizes measured in the shader's header. */
enum { MMT_LX = 8, MMT_LY = 1 };
/* With shared X rows (the subgroup fetches each row once) 32 x 8 is best; when rows are
 * 4 KiB-aliased (K = 1024, 4096) and each lane walks its own skewed X rows, every row is a
 * fetch per lane, and 16 x 12 is (roberta-large shapes: 50-52 GFLOP/s against 43-50 at
 * 32 x 8). */
enum { MMT_SHARED_RM = 32, MMT_SKEW_RM = 16, MMT_SKEW_RN = 12 };
/* With shared X rows a workgroup covers MMT_SHARED_COLS columns whatever its width: 8 per
 * lane at 8 lanes, 4 at 16 (lavapipe with LP_NATIVE_VECTOR_WIDTH=512). 8 columns per lane at
 * 16 lanes made blocks of 128 columns, too few workgroups for one short sentence (MiniLM's
 * 384 columns in 3: one sentence 7.4 -> 9.0 ms); 4 per lane kept it at 7.2-7.6 ms and
 * batches as fast as 8 did. */
enum { MMT_SHARED_COLS = 64 };

/* Rows per invocation for M rows: the largest is the fastest per row, but an invocation
 * computes all its rows even past M, so short inputs (one sentence: M = 16) take the tile
 * that wastes the least: cost ~ padded rows x relative per-row cost (32: 1, 16: 1.25,
 * 8: 1.6, measured on lavapipe at the MiniLM shapes). */
static uint32_t matmul_texel_rows(int M, uint32_t largest)
{
    static const uint32_t rm[3] = {32, 16, 8};
    static const double per_row[3] = {1.0, 1.25, 1.6};
    uint32_t best = 0;
    double best_cost = 0;
    for (int i = 0; i < 3; i++) {
        if (rm[i] > largest)
            continue;
        double cost = (double)div_up((size_t)M, rm[i]) * rm[i] * per_row[i];
        if (!best || cost < best_cost) {
            best = rm[i];
            best_cost = cost;
        }
    }
    return best;
}

static int matmul_tiled(vk_ctx *c, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
                        const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K,
                        vkb_act act)
{
    uint32_t tm = matmul_tm(c);
    const uint32_t spec[] = {MM_BM, MM_BN, MM_BK, tm, MM_TN, W->dtype == VKB_F16,
                             (MM_BM / tm) * (MM_BN / MM_TN)};
    size_t chunk = min_size(vk_rows_per_binding(c, sizeof(float) * (size_t)(K > N ? K : N)),
                            (size_t)c->max_groups[1] * MM_BM);
    if (chunk == 0)
        return VKB_EUNSUPPORTED;
    vk_bind binds[5];
    int rc = vk_bind_whole(c, W, 0, &binds[1]);
    if (rc == VKB_OK)
        rc = vk_bind_whole(c, bias, 0, &binds[2]);
    for (size_t m0 = 0; rc == VKB_OK && m0 < (size_t)M; m0 += chunk) {
        size_t mc = min_size(chunk, (size_t)M - m0);
        matmul_push p = {.M = (uint32_t)mc, .N = (uint32_t)N, .K = (uint32_t)K, .act = act,
                         .flags = (bias ? 1u : 0u) | (R ? 2u : 0u)};
        rc = vk_bind_storage(c, X, m0 * K, mc * K, 0, &binds[0], &p.x_off);
        if (rc == VKB_OK)
            rc = vk_bind_storage(c, R, m0 * N, mc * N, 0, &binds[3], &p.r_off);
        if (rc == VKB_OK)
            rc = vk_bind_storage(c, Y, m0 * N, mc * N, 1, &binds[4], &p.y_off);
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_MATMUL, spec, 7, binds, 5, &p, sizeof p, div_up(N, MM_BN),
                             div_up(mc, MM_BM), 1);
    }
    return rc;
}

/* Invocations per workgroup along N: at least 8, and a whole subgroup. */
static uint32_t matmul_texel_lx(const vk_ctx *c)
{
    uint32_t lanes = texel_lanes(c);
    return lanes > MMT_LX ? lanes : MMT_LX;
}

/* Columns per invocation with shared X rows. */
static uint32_t matmul_texel_shared_rn(const vk_ctx *c)
{
    uint32_t rn = MMT_SHARED_COLS / matmul_texel_lx(c);
    return rn < 4 ? 4 : rn;
}

/* The texel kernels read W in column blocks (weights.c) when K comes in fours: one
 * workgroup's rows of W (the shared-rows tile) as one contiguous stream. */
int vk_weight_layout(vkb_backend *b, vkb_dtype dtype, int N, int K, int *lanes, int *rn)
{
    (void)dtype;
    (void)N;
    vk_ctx *c = vk_ctx_of(b);
    if (!c->texel_kernels || K % 4 != 0)
        return 0;
    *lanes = (int)matmul_texel_lx(c);
    *rn = (int)matmul_texel_shared_rn(c);
    return 1;
}

static int matmul_texel(vk_ctx *c, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
                        const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K,
                        vkb_act act)
{
    int vec4 = K % 4 == 0, packed = W->pack_lanes > 0;
    /* Shared X rows, unless W is row-major and its rows are 4 KiB apart (then the per-lane
     * skew wins); a blocked W is one stream whatever K is. */
    int share_x = vec4 && (packed || ((size_t)K * 4) % 4096 != 0);
    uint32_t lanes = texel_lanes(c), lx = matmul_texel_lx(c);
    uint32_t rn = share_x ? matmul_texel_shared_rn(c) : MMT_SKEW_RN;
    if (packed && (W->pack_lanes != (int)lx || W->pack_rn != (int)rn || !vec4))
        return VKB_EINVAL; /* blocked for another kernel shape: cannot happen on one backend */
    /* The epilogue reads bias and residual and writes Y four columns at a time when the
     * columns come in fours. */
    int vec4_out = N % 4 == 0 && rn % 4 == 0;
    vk_view_format xf = vec4 ? VK_VIEW_RGBA32F : VK_VIEW_R32F;
    vk_view_format wf = W->dtype == VKB_F16 ? (vec4 ? VK_VIEW_RGBA16F : VK_VIEW_R16F) : xf;
    vk_view_format of = vec4_out ? VK_VIEW_RGBA32F : VK_VIEW_R32F;
    /* The inputs are whole-tensor texel views. Y is written through a storage window of
     * whole row tiles when the columns come in fours (4-wide stores: see the shader
     * header), through a whole-tensor image otherwise; the workgroup count limit and the
     * window split the rows. */
    uint32_t rm = matmul_texel_rows(M, share_x ? MMT_SHARED_RM : MMT_SKEW_RM);
    size_t chunk = (size_t)c->max_groups[1] * rm;
    if (vec4_out) {
        size_t fit = vk_rows_per_binding(c, sizeof(float) * (size_t)N) / rm * rm;
        if (fit == 0)
            return VKB_EUNSUPPORTED;
        chunk = min_size(chunk, fit);
    }
    vk_bind binds[6];
    int rc = vk_bind_texel(c, X, xf, &binds[0]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, W, wf, &binds[1]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, bias, of, &binds[2]);
    if (rc == VKB_OK)
        rc = vk_bind_texel(c, R, of, &binds[3]);
    if (rc == VKB_OK)
        rc = vk_bind_texel_out(c, vec4_out ? NULL : Y, VK_VIEW_R32F, &binds[5]);
    uint32_t flags = (bias ? 1u : 0u) | (R ? 2u : 0u);
    const uint32_t spec[] = {rm, rn, (uint32_t)vec4, lx, MMT_LY, (uint32_t)share_x, lanes,
                             (uint32_t)vec4_out, (uint32_t)packed, (uint32_t)act, flags};
    for (size_t m0 = 0; rc == VKB_OK && m0 < (size_t)M; m0 += chunk) {
        size_t mc = min_size(chunk, (size_t)M - m0);
        matmul_push p = {.M = (uint32_t)mc, .N = (uint32_t)N, .K = (uint32_t)K, .act = act,
                         .flags = flags, .x_off = (uint32_t)(m0 * K),
                         .y_off = (uint32_t)(m0 * N), .r_off = (uint32_t)(m0 * N)};
        if (vec4_out) /* y_off: from the window's start (a multiple of 4: 16-byte aligned) */
            rc = vk_bind_storage(c, Y, m0 * N, mc * N, 1, &binds[4], &p.y_off);
        else
            binds[4] = vk_bind_sink(c);
        if (rc == VKB_OK)
            rc = vk_dispatch(c, VK_K_MATMUL_TEXEL, spec, 11, binds, 6, &p, sizeof p,
                         div_up(div_up(N, rn), lx), div_up(div_up(mc, rm), MMT_LY), 1);
    }
    return rc;
}

int vk_matmul(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
              const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K, vkb_act act)
{
    vk_ctx *c = vk_ctx_of(b);
    vk_op_begin(c, "matmul");
    int rc = c->texel_kernels ? matmul_texel(c, Y, X, W, bias, R, M, N, K, act)
                              : matmul_tiled(c, Y, X, W, bias, R, M, N, K, act);
    vk_op_end(c);
    return rc;
}

/* vk_describe_ops' words for matmul on this device. */
void vk_matmul_describe(const vk_ctx *c, char *buf, size_t len)
{
    if (c->texel_kernels)
        snprintf(buf, len, "matmul_texel (%u x %u invocations, rows 32/16/8 by M, %u columns "
                           "per lane with shared X rows, %u skewed)",
                 matmul_texel_lx(c), (uint32_t)MMT_LY, matmul_texel_shared_rn(c),
                 (uint32_t)MMT_SKEW_RN);
    else
        snprintf(buf, len, "matmul (%ux%u tile, %ux%u per invocation, %u invocations)",
                 (uint32_t)MM_BM, (uint32_t)MM_BN, matmul_tm(c), (uint32_t)MM_TN,
                 (MM_BM / matmul_tm(c)) * (MM_BN / MM_TN));
}
