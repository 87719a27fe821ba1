/*
 * cpu_backend.c — the CPU backend's plumbing: tensors in host memory, batches that run each
 * op as it is recorded. The ops themselves are in cpu_<op>.c, the kernels by instruction set
 * in cpu_kern_*.c (cpu_isa.c picks them), the thread pool in cpu_threads.c.
 *
 * Matmul weights (vkb_weight_new) are stored as the tile kernels read them: weights.c hands
 * over blocks of nr rows ([K/4][nr][4], lanes = nr, rn = 1) and cpu_upload rewrites each into
 * a k-major panel ([K][nr], cpu_gemm.c), once at load.
 *
 * F16 tensors keep their halves (what was uploaded) plus an f32 copy widened at upload time,
 * so products run through sgemm at full speed; widening is exact, so results equal the
 * f32 math on the same (rounded) weights.
 */
#include "cpu_internal.h"
#include "vkb_platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cpu_tensor_alloc(vkb_backend *b, vkb_tensor *t)
{
    (void)b;
    cpu_tensor *ct = calloc(1, sizeof *ct);
    if (!ct)
        return VKB_ENOMEM;
    /* 64-byte alignment suits AVX-512 loads in OpenBLAS and our loops. */
    size_t bytes = (t->bytes + 63) & ~(size_t)63;
    ct->data = vkb_aligned_alloc(64, bytes);
    if (t->dtype == VKB_F16)
        ct->wide = vkb_aligned_alloc(64, ((t->n * 4) + 63) & ~(size_t)63);
    if (!ct->data || (t->dtype == VKB_F16 && !ct->wide)) {
        vkb_aligned_free(ct->data);
        vkb_aligned_free(ct->wide);
        free(ct);
        return VKB_ENOMEM;
    }
    t->impl = ct;
    return VKB_OK;
}

static void cpu_tensor_free(vkb_tensor *t)
{
    cpu_tensor *ct = t->impl;
    if (!ct)
        return;
    vkb_aligned_free(ct->data);
    vkb_aligned_free(ct->wide);
    free(ct);
}

/* One block of a packed weight (vkb_weight_upload_rows writes whole blocks). */
static int cpu_upload_block(vkb_tensor *t, size_t off, const void *src, size_t bytes)
{
    cpu_tensor *ct = t->impl;
    int nr = t->pack_lanes, K = t->w_cols;
    size_t n = (size_t)nr * K;
    if (t->pack_rn != 1 || bytes != n * vkb_dtype_size(t->dtype) || off % bytes)
        return VKB_EINVAL;
    if (t->dtype == VKB_F32) {
        cpu_panel_from_blocked((float *)((char *)ct->data + off), src, nr, K);
        return VKB_OK;
    }
    memcpy((char *)ct->data + off, src, bytes); /* the halves as uploaded; only wide is read */
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return VKB_ENOMEM;
    for (size_t i = 0; i < n; i++)
        tmp[i] = vkb_f16_to_f32(((const uint16_t *)src)[i]);
    cpu_panel_from_blocked(ct->wide + off / 2, tmp, nr, K);
    free(tmp);
    return VKB_OK;
}

static int cpu_upload(vkb_tensor *t, size_t off, const void *src, size_t bytes)
{
    cpu_tensor *ct = t->impl;
    if (t->pack_lanes)
        return cpu_upload_block(t, off, src, bytes);
    memcpy((char *)ct->data + off, src, bytes);
    if (t->dtype == VKB_F16) {
        const uint16_t *h = (const uint16_t *)((const char *)ct->data + off);
        float *w = ct->wide + off / 2;
        for (size_t i = 0; i < bytes / 2; i++)
            w[i] = vkb_f16_to_f32(h[i]);
    }
    return VKB_OK;
}

static int cpu_download(const vkb_tensor *t, size_t off, void *dst, size_t bytes)
{
    const cpu_tensor *ct = t->impl;
    memcpy(dst, (const char *)ct->data + off, bytes);
    return VKB_OK;
}

/* Panels of the kernel table's nr columns when K comes in fours (weights.c's blocks);
 * row-major (packed per call) otherwise, and always on the OpenBLAS path. */
static int cpu_weight_layout(vkb_backend *b, vkb_dtype dtype, int N, int K, int *lanes, int *rn)
{
    (void)b;
    (void)dtype;
    (void)N;
    const cpu_kernels *k = cpu_kernels_get();
    if (k->isa == CPU_ISA_OPENBLAS || K % 4 != 0)
        return 0;
    *lanes = k->nr;
    *rn = 1;
    return 1;
}

static int cpu_batch_begin(vkb_backend *b)
{
    (void)b;
    return VKB_OK;
}

static int cpu_batch_end(vkb_backend *b)
{
    (void)b;
    return VKB_OK;
}

static void cpu_close(vkb_backend *b) { (void)b; }

static const vkb_backend_ops cpu_ops = {
    .close = cpu_close,
    .tensor_alloc = cpu_tensor_alloc,
    .tensor_free = cpu_tensor_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .weight_layout = cpu_weight_layout,
    .batch_begin = cpu_batch_begin,
    .batch_end = cpu_batch_end,
    .matmul = cpu_matmul,
    .attention = cpu_attention,
    .attention_rel = cpu_attention_rel,
    .layernorm = cpu_layernorm,
    .embed = cpu_embed,
    .pool = cpu_pool,
    .greedy_match = cpu_greedy_match,
    .copy = cpu_copy,
};

int cpu_backend_open(vkb_backend *b, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    b->ops = &cpu_ops;
    strcpy(b->id, "cpu");
    const cpu_kernels *k = cpu_kernels_get();
    if (k->isa == CPU_ISA_OPENBLAS)
        snprintf(b->device_name, sizeof b->device_name, "CPU (OpenBLAS)");
    else
        snprintf(b->device_name, sizeof b->device_name, "CPU (%s kernels, %d threads)", k->name,
                 cpu_threads());
    b->supports_f16 = 1;
    return VKB_OK;
}
