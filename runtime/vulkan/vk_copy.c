/*
 * vk_copy.c — copy on Vulkan: element ranges between tensors.
 */
#include "vk_internal.h"
#include "vk_push.h"

#include <math.h>
#include <string.h>

int vk_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
            size_t src_off, size_t n)
{
    vk_ctx *c = vk_ctx_of(b);
    size_t es = vkb_dtype_size(dst->dtype);
    const vk_mem *s = vk_mem_of(src), *d = vk_mem_of(dst);
    vk_op_begin(c, "copy");
    int rc = vk_record_copy(c, s->block->buffer, s->offset + src_off * es, d->block->buffer,
                            d->offset + dst_off * es, n * es);
    vk_op_end(c);
    return rc;
}
