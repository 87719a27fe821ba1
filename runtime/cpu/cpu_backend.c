/*
 * cpu_backend.c — the CPU backend's plumbing: tensors in host memory, batches that run each
 * op as it is recorded. The ops themselves are in cpu_ops.c.
 *
 * F16 tensors keep their halves (what was uploaded) plus an f32 copy widened at upload time,
 * so products run through sgemm at full speed; widening is exact, so results equal the
 * f32 math on the same (rounded) weights.
 */
#include "cpu_internal.h"
#include "vkb_platform.h"

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

static int cpu_upload(vkb_tensor *t, size_t off, const void *src, size_t bytes)
{
    cpu_tensor *ct = t->impl;
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
#ifdef VKB_SGEMM_FALLBACK /* builds without OpenBLAS: cmake/windows.cmake */
    strcpy(b->device_name, "CPU (plain C sgemm)");
#else
    strcpy(b->device_name, "CPU (OpenBLAS)");
#endif
    b->supports_f16 = 1;
    return VKB_OK;
}
