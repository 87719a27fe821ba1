/*
 * weights.c — matmul weight matrices (vkb_weight_*): W is (N,K), PyTorch Linear layout, and
 * the backend picks how it is stored (backend ops weight_layout).
 *
 * Row-major is the default. The Vulkan texel kernels (lavapipe) ask for column blocks
 * instead: there a workgroup of LX invocations computes NB = LX * RN output columns, lane l
 * owning columns l*RN .. l*RN+RN-1, and reads, at each step of 4 along K, 4 elements from each
 * of its NB rows of W. Row-major, those are NB streams 4*K bytes apart (more than the cache
 * prefetchers follow, and 4 KiB-aliased when K is a multiple of 1024); blocked, they are one
 * contiguous stream. On lavapipe this lifted the MiniLM products at 512 rows from 62-67 to
 * 70-80 GFLOP/s and roberta-large's from 53-56 to 74-76 (docs/PERF.md).
 *
 * The blocked layout, LX = pack_lanes, RN = pack_rn, NB = LX * RN, K4 = K / 4 (K % 4 == 0):
 * block b holds rows b*NB .. b*NB+NB-1 as NB*K consecutive elements (rows past N are zeros),
 * and within it the 4 elements starting at ((t*RN + j)*LX + l) * 4 are
 *     W[b*NB + l*RN + j, 4t .. 4t+3]
 * so for each j the LX lanes read consecutive 4-element texels, and one step t reads NB*4
 * consecutive elements. shaders/matmul_texel.comp (W_PACKED) reads exactly this.
 */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

vkb_tensor *vkb_weight_new(vkb_backend *b, vkb_dtype dtype, int N, int K)
{
    if (!b || N <= 0 || K <= 0 || (dtype != VKB_F32 && dtype != VKB_F16))
        return NULL;
    int lanes = 0, rn = 0;
    if (!b->ops->weight_layout || !b->ops->weight_layout(b, dtype, N, K, &lanes, &rn))
        lanes = rn = 0;
    size_t rows = (size_t)N;
    if (lanes) {
        size_t nb = (size_t)lanes * rn;
        rows = (rows + nb - 1) / nb * nb;
    }
    vkb_tensor *t = vkb_tensor_new(b, dtype, rows * (size_t)K);
    if (!t)
        return NULL;
    t->w_rows = N;
    t->w_cols = K;
    t->pack_lanes = lanes;
    t->pack_rn = rn;
    return t;
}

int vkb_weight_row_step(const vkb_tensor *w)
{
    return w && w->pack_lanes ? w->pack_lanes * w->pack_rn : 1;
}

/* One block: rows (< NB, the rest zeros) of K elements of es bytes from src into dst. */
static void pack_block(char *dst, const char *src, int rows, int K, int lanes, int rn, size_t es)
{
    size_t texel = 4 * es;
    for (int t = 0; t < K / 4; t++)
        for (int j = 0; j < rn; j++)
            for (int l = 0; l < lanes; l++) {
                int r = l * rn + j;
                char *d = dst + (((size_t)t * rn + j) * lanes + l) * texel;
                if (r < rows)
                    memcpy(d, src + ((size_t)r * K + 4 * (size_t)t) * es, texel);
                else
                    memset(d, 0, texel);
            }
}

int vkb_weight_upload_rows(vkb_tensor *w, int row0, int n, const void *src)
{
    if (!w || !src || !w->w_rows || row0 < 0 || n <= 0 || n > w->w_rows - row0 ||
        w->b->recording)
        return VKB_EINVAL;
    int step = vkb_weight_row_step(w);
    if (row0 % step || (n % step && row0 + n != w->w_rows))
        return VKB_EINVAL;
    size_t es = vkb_dtype_size(w->dtype), K = (size_t)w->w_cols;
    if (!w->pack_lanes)
        return w->b->ops->upload(w, (size_t)row0 * K * es, src, (size_t)n * K * es);
    size_t block_bytes = (size_t)step * K * es;
    char *buf = malloc(block_bytes);
    if (!buf)
        return VKB_ENOMEM;
    int rc = VKB_OK;
    for (int r = 0; r < n && rc == VKB_OK; r += step) {
        int rows = n - r < step ? n - r : step;
        pack_block(buf, (const char *)src + (size_t)r * K * es, rows, w->w_cols, w->pack_lanes,
                   w->pack_rn, es);
        rc = w->b->ops->upload(w, (size_t)(row0 + r) / step * block_bytes, buf, block_bytes);
    }
    free(buf);
    return rc;
}
