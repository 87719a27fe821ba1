/*
 * vk_bind.c — turning tensors into what a dispatch binds: storage windows and texel views.
 *
 * A storage binding may cover at most maxStorageBufferRange bytes (128 MiB on lavapipe) and
 * must start at a multiple of minStorageBufferOffsetAlignment. Ops that may exceed the range
 * split their work by rows and bind a window per dispatch: the window starts at the aligned
 * offset at or before the first element, and the shader gets the distance (in elements) as
 * a push constant. Texel views always cover a whole tensor (up to maxTexelBufferElements
 * texels: 2 GiB of RGBA32F on lavapipe), so texel kernels only window the outputs they write
 * through storage buffers (matmul_texel writes through a storage texel view instead).
 */
#include "vk_internal.h"

/* Offsets are aligned to at least 16 bytes so a shift is whole elements of any dtype and
 * f16 tensors read as uint[] stay on word boundaries. */
static VkDeviceSize bind_align(const vk_ctx *c)
{
    return c->storage_align > 16 ? c->storage_align : 16;
}

size_t vk_rows_per_binding(const vk_ctx *c, size_t row_bytes)
{
    VkDeviceSize usable = c->max_storage_range - bind_align(c);
    return row_bytes ? (size_t)(usable / row_bytes) : (size_t)-1;
}

int vk_bind_storage(vk_ctx *c, const vkb_tensor *t, size_t first, size_t count, int writes,
                    vk_bind *out, uint32_t *shift)
{
    if (!t) { /* an absent optional operand (bias, residual): the dummy range */
        *out = vk_bind_dummy(c);
        if (shift)
            *shift = 0;
        return VKB_OK;
    }
    const vk_mem *m = vk_mem_of(t);
    size_t es = vkb_dtype_size(t->dtype);
    VkDeviceSize begin = m->offset + (VkDeviceSize)first * es;
    VkDeviceSize aligned = begin / bind_align(c) * bind_align(c);
    VkDeviceSize end = begin + (VkDeviceSize)count * es;
    /* Whole 4-byte words, so an f16 tensor with an odd count can be read as uint[]. */
    end = (end + 3) & ~(VkDeviceSize)3;
    if (end > m->offset + ((m->size + 3) & ~(VkDeviceSize)3))
        end = m->offset + ((m->size + 3) & ~(VkDeviceSize)3);
    if (end - aligned > c->max_storage_range) {
        vkb_log(VKB_LOG_ERROR,
                "vulkan: a binding of %llu bytes exceeds maxStorageBufferRange (%llu) on %s",
                (unsigned long long)(end - aligned), (unsigned long long)c->max_storage_range,
                c->b->id);
        return VKB_EUNSUPPORTED;
    }
    *out = (vk_bind){
        .buffer = m->block->buffer,
        .offset = aligned,
        .range = end - aligned,
        .writes = writes,
    };
    if (shift)
        *shift = (uint32_t)((begin - aligned) / es);
    return VKB_OK;
}

int vk_bind_whole(vk_ctx *c, const vkb_tensor *t, int writes, vk_bind *out)
{
    return vk_bind_storage(c, t, 0, t ? t->n : 0, writes, out, NULL);
}

int vk_bind_texel(vk_ctx *c, const vkb_tensor *t, vk_view_format f, vk_bind *out)
{
    if (!t) { /* an absent optional operand: the dummy range, viewed in format f */
        *out = vk_bind_dummy_texel(c, f);
        return VKB_OK;
    }
    vk_mem *m = vk_mem_of(t);
    VkBufferView view = vk_mem_view(c, m, f);
    if (!view) {
        vkb_log(VKB_LOG_ERROR, "vulkan: cannot view a tensor of %zu bytes as a texel buffer on %s",
                t->bytes, c->b->id);
        return VKB_EUNSUPPORTED;
    }
    *out = (vk_bind){.buffer = m->block->buffer, .offset = m->offset, .range = m->size,
                     .view = view};
    return VKB_OK;
}

int vk_bind_texel_out(vk_ctx *c, vkb_tensor *t, vk_view_format f, vk_bind *out)
{
    if (!t) { /* an output the variant does not use: the sink (never the dummy, see there) */
        *out = vk_bind_sink(c);
        out->view = vk_mem_view(c, &c->sink, f);
        return out->view ? VKB_OK : VKB_EDEVICE;
    }
    int rc = vk_bind_texel(c, t, f, out);
    out->writes = 1;
    return rc;
}

int vk_bind_out_images(vk_ctx *c, vkb_tensor *t, int vec4, vk_bind out[2])
{
    int rc = vk_bind_texel_out(c, vec4 ? t : NULL, VK_VIEW_RGBA32F, &out[0]);
    return rc == VKB_OK ? vk_bind_texel_out(c, vec4 ? NULL : t, VK_VIEW_R32F, &out[1]) : rc;
}

vk_bind vk_bind_dummy(vk_ctx *c)
{
    return (vk_bind){.buffer = c->dummy.block->buffer, .offset = c->dummy.offset,
                     .range = c->dummy.size};
}

/* The validation layer counts a storage binding as written whenever the shader has a store
 * to it, even one a specialisation constant turns off; were the unused outputs bound to the
 * dummy, a later read of the dummy (a zero bias or residual) in a dispatch with no barrier
 * in between (DeBERTa's position projection next to its QKV product) would be a
 * read-after-write hazard. Hence a separate range, tracked as written. */
vk_bind vk_bind_sink(vk_ctx *c)
{
    return (vk_bind){.buffer = c->sink.block->buffer, .offset = c->sink.offset,
                     .range = c->sink.size, .writes = 1};
}

vk_bind vk_bind_dummy_texel(vk_ctx *c, vk_view_format f)
{
    vk_bind d = vk_bind_dummy(c);
    d.view = vk_mem_view(c, &c->dummy, f);
    return d;
}
