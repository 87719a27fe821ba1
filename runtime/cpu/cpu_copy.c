/*
 * cpu_copy.c — copy in plain C.
 *
 * The reference twin of the Vulkan op (vulkan/vk_copy.c), tested against naive
 * double-precision loops in tests/test_cpu_ops.c; layouts and semantics are in vkb_runtime.h.
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cpu_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
             size_t src_off, size_t n)
{
    (void)b;
    size_t es = vkb_dtype_size(dst->dtype);
    const cpu_tensor *s = src->impl;
    cpu_tensor *d = dst->impl;
    memcpy((char *)d->data + dst_off * es, (const char *)s->data + src_off * es, n * es);
    if (dst->dtype == VKB_F16)
        memcpy(d->wide + dst_off, s->wide + src_off, n * sizeof(float));
    return VKB_OK;
}
