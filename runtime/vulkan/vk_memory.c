/*
 * vk_memory.c — device memory for tensors: large blocks, sub-allocated; staging transfers.
 *
 * Why blocks: vkAllocateMemory is slow and drivers cap the number of allocations (4096 is
 * common), while a model has hundreds of tensors. Each block is one VkDeviceMemory with one
 * VkBuffer over all of it; a tensor is (block, offset, size) with offsets on VK_MEM_ALIGN.
 * Tensors larger than a quarter of a block get a block of their own. A block whose last
 * tensor is freed is released, except the first (it stays for the next tensor).
 *
 * Host access: when the tensor memory type is host-visible and coherent (lavapipe, UMA
 * GPUs) blocks are mapped once and uploads/downloads are memcpy. Otherwise (discrete GPUs)
 * data goes through a host-visible staging buffer and a copy command. VKB_FORCE_STAGING=1
 * takes the staging path everywhere, so tests can prove it on lavapipe.
 */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

#define VK_BLOCK_SIZE ((VkDeviceSize)128 << 20)
#define VK_STAGING_SIZE ((VkDeviceSize)32 << 20)

static const VkFormat view_formats[VK_VIEW_COUNT] = {
    VK_FORMAT_R32_SFLOAT, VK_FORMAT_R32G32B32A32_SFLOAT, VK_FORMAT_R16_SFLOAT,
    VK_FORMAT_R16G16B16A16_SFLOAT, VK_FORMAT_R32_SINT,
};
static const VkDeviceSize view_texel_bytes[VK_VIEW_COUNT] = {4, 16, 2, 8, 4};

int vk_storage_texel_views(vk_ctx *c)
{
    for (int f = 0; f < VK_VIEW_COUNT; f++) {
        VkFormatProperties fp;
        c->inst->fn.GetPhysicalDeviceFormatProperties(c->pd, view_formats[f], &fp);
        if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT))
            return 0;
    }
    return 1;
}

static VkDeviceSize round_up(VkDeviceSize x, VkDeviceSize a) { return (x + a - 1) / a * a; }

/* First memory type in type_bits with all of want (and none of avoid). */
static int find_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t type_bits,
                     VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid)
{
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
        if ((type_bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want &&
            !(mp->memoryTypes[i].propertyFlags & avoid))
            return (int)i;
    return -1;
}

/* Creates a buffer of `size` bytes with usage, bound to fresh memory of type `type`. */
static int create_buffer(vk_ctx *c, VkDeviceSize size, VkBufferUsageFlags usage, uint32_t type,
                         VkBuffer *buf, VkDeviceMemory *mem)
{
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    *buf = VK_NULL_HANDLE;
    *mem = VK_NULL_HANDLE;
    if (c->fn.CreateBuffer(c->dev, &bci, NULL, buf) != VK_SUCCESS)
        return VKB_ENOMEM;
    VkMemoryRequirements req;
    c->fn.GetBufferMemoryRequirements(c->dev, *buf, &req);
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = type,
    };
    if (!(req.memoryTypeBits & (1u << type)) ||
        c->fn.AllocateMemory(c->dev, &mai, NULL, mem) != VK_SUCCESS ||
        c->fn.BindBufferMemory(c->dev, *buf, *mem, 0) != VK_SUCCESS) {
        if (*mem)
            c->fn.FreeMemory(c->dev, *mem, NULL);
        c->fn.DestroyBuffer(c->dev, *buf, NULL);
        *buf = VK_NULL_HANDLE;
        *mem = VK_NULL_HANDLE;
        return VKB_ENOMEM;
    }
    return VKB_OK;
}

/* Which memory types the tensor buffers may use, from a probe buffer's requirements. */
static int tensor_type_bits(vk_ctx *c, uint32_t *bits)
{
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = 4096,
        .usage = c->tensor_usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkBuffer probe;
    if (c->fn.CreateBuffer(c->dev, &bci, NULL, &probe) != VK_SUCCESS)
        return -1;
    VkMemoryRequirements req;
    c->fn.GetBufferMemoryRequirements(c->dev, probe, &req);
    c->fn.DestroyBuffer(c->dev, probe, NULL);
    *bits = req.memoryTypeBits;
    return 0;
}

int vk_memory_init(vk_ctx *c, char *err, size_t errlen)
{
    VkPhysicalDeviceMemoryProperties mp;
    c->inst->fn.GetPhysicalDeviceMemoryProperties(c->pd, &mp);
    uint32_t bits = 0;
    if (tensor_type_bits(c, &bits) != 0) {
        vkb_set_err(err, errlen, "vkCreateBuffer failed for a probe buffer");
        return VKB_EDEVICE;
    }
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const char *force = getenv("VKB_FORCE_STAGING");
    int force_staging = force && !strcmp(force, "1");
    /* Discrete GPUs: device-local memory that is not host-visible (a ReBAR window is small
     * and reads from it are uncached). Others: the first device-local type, mapped if it
     * is host-visible and coherent (lavapipe, integrated GPUs). */
    int t = -1;
    if (!strcmp(c->b->info.type, "discrete"))
        t = find_type(&mp, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    if (t < 0)
        t = find_type(&mp, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    if (t < 0)
        t = find_type(&mp, bits, 0, 0);
    int s = find_type(&mp, bits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0);
    if (s < 0)
        s = find_type(&mp, bits, host, 0);
    if (t < 0 || s < 0) {
        vkb_set_err(err, errlen, "no usable Vulkan memory type for storage buffers");
        return VKB_EDEVICE;
    }
    c->mem_type = (uint32_t)t;
    c->staging_type = (uint32_t)s;
    c->mem_mapped = !force_staging && (mp.memoryTypes[t].propertyFlags & host) == host;
    c->block_size = VK_BLOCK_SIZE < c->max_alloc ? VK_BLOCK_SIZE : c->max_alloc;
    if (vk_mem_alloc(c, VK_MEM_ALIGN, &c->dummy) != VKB_OK ||
        vk_mem_alloc(c, VK_MEM_ALIGN, &c->sink) != VKB_OK) {
        vkb_set_err(err, errlen, "cannot allocate Vulkan device memory");
        return VKB_ENOMEM;
    }
    static const uint8_t zeros[VK_MEM_ALIGN];
    return vk_mem_upload(c, &c->dummy, 0, zeros, sizeof zeros);
}

static void destroy_block(vk_ctx *c, vk_block *blk)
{
    while (blk->free) {
        vk_free_range *f = blk->free;
        blk->free = f->next;
        free(f);
    }
    if (blk->mapped)
        c->fn.UnmapMemory(c->dev, blk->memory);
    c->fn.DestroyBuffer(c->dev, blk->buffer, NULL);
    c->fn.FreeMemory(c->dev, blk->memory, NULL);
    free(blk);
}

void vk_memory_destroy(vk_ctx *c)
{
    if (c->dummy.block)
        vk_mem_free(c, &c->dummy);
    if (c->sink.block)
        vk_mem_free(c, &c->sink);
    while (c->blocks) {
        vk_block *blk = c->blocks;
        c->blocks = blk->next;
        destroy_block(c, blk);
    }
    if (c->staging_mapped)
        c->fn.UnmapMemory(c->dev, c->staging_memory);
    if (c->staging)
        c->fn.DestroyBuffer(c->dev, c->staging, NULL);
    if (c->staging_memory)
        c->fn.FreeMemory(c->dev, c->staging_memory, NULL);
    c->staging = VK_NULL_HANDLE;
    c->staging_memory = VK_NULL_HANDLE;
    c->staging_mapped = NULL;
}

static vk_block *new_block(vk_ctx *c, VkDeviceSize size)
{
    vk_block *blk = calloc(1, sizeof *blk);
    vk_free_range *f = calloc(1, sizeof *f);
    if (!blk || !f)
        goto fail;
    if (create_buffer(c, size, c->tensor_usage, c->mem_type, &blk->buffer, &blk->memory) != VKB_OK)
        goto fail;
    if (c->mem_mapped &&
        c->fn.MapMemory(c->dev, blk->memory, 0, VK_WHOLE_SIZE, 0, &blk->mapped) != VK_SUCCESS) {
        c->fn.DestroyBuffer(c->dev, blk->buffer, NULL);
        c->fn.FreeMemory(c->dev, blk->memory, NULL);
        goto fail;
    }
    blk->size = size;
    f->offset = 0;
    f->size = size;
    blk->free = f;
    blk->next = c->blocks;
    c->blocks = blk;
    return blk;
fail:
    free(blk);
    free(f);
    return NULL;
}

/* First fit in blk; 0 and *off on success. */
static int take_range(vk_block *blk, VkDeviceSize size, VkDeviceSize *off)
{
    for (vk_free_range **pp = &blk->free; *pp; pp = &(*pp)->next) {
        vk_free_range *f = *pp;
        if (f->size < size)
            continue;
        *off = f->offset;
        f->offset += size;
        f->size -= size;
        if (f->size == 0) {
            *pp = f->next;
            free(f);
        }
        blk->n_live++;
        return 0;
    }
    return -1;
}

int vk_mem_alloc(vk_ctx *c, VkDeviceSize bytes, vk_mem *m)
{
    memset(m, 0, sizeof *m);
    VkDeviceSize size = round_up(bytes ? bytes : 1, VK_MEM_ALIGN);
    if (size > c->max_alloc)
        return VKB_ENOMEM;
    VkDeviceSize off = 0;
    vk_block *blk = NULL;
    if (size <= c->block_size / 4)
        for (blk = c->blocks; blk; blk = blk->next)
            if (take_range(blk, size, &off) == 0)
                break;
    if (!blk) {
        VkDeviceSize bsize = size > c->block_size / 4 ? size : c->block_size;
        blk = new_block(c, bsize);
        if (!blk || take_range(blk, size, &off) != 0)
            return VKB_ENOMEM;
    }
    m->block = blk;
    m->offset = off;
    m->size = bytes;
    return VKB_OK;
}

/* Returns [off, off+size) to blk's free list, merging with its neighbours. */
static void give_range(vk_block *blk, VkDeviceSize off, VkDeviceSize size)
{
    vk_free_range *prev = NULL, *next = blk->free;
    while (next && next->offset < off) {
        prev = next;
        next = next->next;
    }
    if (prev && prev->offset + prev->size == off) {
        prev->size += size;
        if (next && prev->offset + prev->size == next->offset) {
            prev->size += next->size;
            prev->next = next->next;
            free(next);
        }
    } else if (next && off + size == next->offset) {
        next->offset = off;
        next->size += size;
    } else {
        vk_free_range *f = malloc(sizeof *f);
        if (f) { /* on failure the range is lost until the block is released: no corruption */
            f->offset = off;
            f->size = size;
            f->next = next;
            if (prev)
                prev->next = f;
            else
                blk->free = f;
        }
    }
    blk->n_live--;
}

void vk_mem_free(vk_ctx *c, vk_mem *m)
{
    if (!m->block)
        return;
    for (int i = 0; i < VK_VIEW_COUNT; i++)
        if (m->views[i])
            c->fn.DestroyBufferView(c->dev, m->views[i], NULL);
    vk_block *blk = m->block;
    give_range(blk, m->offset, round_up(m->size ? m->size : 1, VK_MEM_ALIGN));
    memset(m, 0, sizeof *m);
    /* Release an empty block unless it is the only one. */
    if (blk->n_live == 0 && !(c->blocks == blk && !blk->next)) {
        for (vk_block **pp = &c->blocks; *pp; pp = &(*pp)->next)
            if (*pp == blk) {
                *pp = blk->next;
                break;
            }
        destroy_block(c, blk);
    }
}

static int ensure_staging(vk_ctx *c)
{
    if (c->staging)
        return VKB_OK;
    int rc = create_buffer(c, VK_STAGING_SIZE,
                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                           c->staging_type, &c->staging, &c->staging_memory);
    if (rc != VKB_OK)
        return rc;
    if (c->fn.MapMemory(c->dev, c->staging_memory, 0, VK_WHOLE_SIZE, 0, &c->staging_mapped) !=
        VK_SUCCESS) {
        c->fn.DestroyBuffer(c->dev, c->staging, NULL);
        c->fn.FreeMemory(c->dev, c->staging_memory, NULL);
        c->staging = VK_NULL_HANDLE;
        c->staging_memory = VK_NULL_HANDLE;
        return VKB_EDEVICE;
    }
    c->staging_size = VK_STAGING_SIZE;
    return VKB_OK;
}

/* One staged chunk: tensor range <-> staging[0..bytes). */
static int staged_copy(vk_ctx *c, const vk_mem *m, VkDeviceSize off, VkDeviceSize bytes,
                       int to_device)
{
    int rc = vk_oneshot_begin(c);
    if (rc != VKB_OK)
        return rc;
    VkBufferCopy region = {
        .srcOffset = to_device ? 0 : m->offset + off,
        .dstOffset = to_device ? m->offset + off : 0,
        .size = bytes,
    };
    if (to_device)
        c->fn.CmdCopyBuffer(c->cmd, c->staging, m->block->buffer, 1, &region);
    else
        c->fn.CmdCopyBuffer(c->cmd, m->block->buffer, c->staging, 1, &region);
    return vk_oneshot_submit(c);
}

int vk_mem_upload(vk_ctx *c, vk_mem *m, VkDeviceSize off, const void *src, VkDeviceSize bytes)
{
    if (m->block->mapped) {
        memcpy((char *)m->block->mapped + m->offset + off, src, bytes);
        return VKB_OK;
    }
    int rc = ensure_staging(c);
    for (VkDeviceSize done = 0; rc == VKB_OK && done < bytes;) {
        VkDeviceSize n = bytes - done < c->staging_size ? bytes - done : c->staging_size;
        memcpy(c->staging_mapped, (const char *)src + done, n);
        rc = staged_copy(c, m, off + done, n, 1);
        done += n;
    }
    return rc;
}

int vk_mem_download(vk_ctx *c, const vk_mem *m, VkDeviceSize off, void *dst, VkDeviceSize bytes)
{
    if (m->block->mapped) {
        memcpy(dst, (const char *)m->block->mapped + m->offset + off, bytes);
        return VKB_OK;
    }
    int rc = ensure_staging(c);
    for (VkDeviceSize done = 0; rc == VKB_OK && done < bytes;) {
        VkDeviceSize n = bytes - done < c->staging_size ? bytes - done : c->staging_size;
        rc = staged_copy(c, m, off + done, n, 0);
        if (rc == VKB_OK)
            memcpy((char *)dst + done, c->staging_mapped, n);
        done += n;
    }
    return rc;
}

VkBufferView vk_mem_view(vk_ctx *c, vk_mem *m, vk_view_format f)
{
    if (m->views[f])
        return m->views[f];
    VkDeviceSize texels = m->size / view_texel_bytes[f];
    if (texels == 0 || texels > c->max_texel_elements)
        return VK_NULL_HANDLE;
    VkBufferViewCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
        .buffer = m->block->buffer,
        .format = view_formats[f],
        .offset = m->offset,
        .range = texels * view_texel_bytes[f],
    };
    if (c->fn.CreateBufferView(c->dev, &ci, NULL, &m->views[f]) != VK_SUCCESS)
        m->views[f] = VK_NULL_HANDLE;
    return m->views[f];
}
