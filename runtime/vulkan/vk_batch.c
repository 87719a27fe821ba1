/*
 * vk_batch.c — recording: one command buffer per batch, one submit, one fence wait.
 *
 * Every op between vkb_batch_begin and vkb_batch_end records its dispatches here. Barriers
 * are inserted only where needed: the batch remembers which buffer ranges were written and
 * read since the last barrier, and a dispatch that reads what was written (RAW), or writes
 * what was read or written (WAR, WAW), gets one global memory barrier first. Independent
 * dispatches (Q/K/V-style siblings) then run without one. (On lavapipe a barrier is a
 * flush; with timestamps off, dropping every barrier of a one-sentence MiniLM forward changed
 * nothing measurable, so their cost there is small next to the dispatches'.)
 *
 * Descriptor sets come from pools that are reset at batch begin (no per-op pool or set
 * frees); a pool that runs out is followed by a new one. With timing on (vkb_backend_set_timing)
 * each dispatch is bracketed by two timestamps (bottom of pipe: "all earlier work done") when
 * the queue supports them; off by default, since lavapipe flushes at every timestamp.
 */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

#define VK_SETS_PER_POOL 512
/* A batch waits this long for the device before calling it lost (ns): 10 minutes. */
#define VK_FENCE_TIMEOUT_NS (600ull * 1000 * 1000 * 1000)

static int add_desc_pool(vk_ctx *c)
{
    if (c->n_desc_pools == VK_MAX_DESC_POOLS)
        return VKB_ENOMEM;
    VkDescriptorPoolSize sizes[3] = {
        {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_SETS_PER_POOL * VK_MAX_BINDINGS},
        {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_SETS_PER_POOL * 4},
        {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, VK_SETS_PER_POOL * 2},
    };
    VkDescriptorPoolCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = VK_SETS_PER_POOL,
        .poolSizeCount = 3,
        .pPoolSizes = sizes,
    };
    if (c->fn.CreateDescriptorPool(c->dev, &ci, NULL, &c->desc_pools[c->n_desc_pools]) !=
        VK_SUCCESS)
        return VKB_ENOMEM;
    c->n_desc_pools++;
    return VKB_OK;
}

int vk_batch_init(vk_ctx *c, char *err, size_t errlen)
{
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = c->queue_family,
    };
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    /* The positive control of the synchronization checks (tests/test_vk_sync.c): a switch
     * that drops one needed barrier, which the validation layer must then report. */
    const char *drop = getenv("VKB_TEST_DROP_BARRIER");
    c->drop_barrier = drop ? atoi(drop) : 0;
    if (c->drop_barrier > 0)
        vkb_log(VKB_LOG_WARN, "vulkan: VKB_TEST_DROP_BARRIER=%d: barrier %d of every batch is "
                              "left out (tests only: results may be wrong on a real GPU)",
                c->drop_barrier, c->drop_barrier);
    if (c->fn.CreateCommandPool(c->dev, &pci, NULL, &c->cmd_pool) != VK_SUCCESS)
        goto fail;
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = c->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    if (c->fn.AllocateCommandBuffers(c->dev, &ai, &c->cmd) != VK_SUCCESS ||
        c->fn.CreateFence(c->dev, &fci, NULL, &c->fence) != VK_SUCCESS || add_desc_pool(c))
        goto fail;
    if (c->timestamps) {
        c->max_queries = 2 * VKB_MAX_TIMINGS;
        VkQueryPoolCreateInfo qci = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = c->max_queries,
        };
        if (c->fn.CreateQueryPool(c->dev, &qci, NULL, &c->queries) != VK_SUCCESS) {
            c->queries = VK_NULL_HANDLE;
            c->timestamps = 0;
        }
    }
    return VKB_OK;
fail:
    vkb_set_err(err, errlen, "cannot create Vulkan command objects");
    return VKB_EDEVICE;
}

static void free_temps(vk_ctx *c)
{
    for (int i = 0; i < c->n_temps; i++)
        vkb_tensor_free(c->temps[i]);
    c->n_temps = 0;
    for (int i = 0; i < c->n_deferred; i++) {
        vk_mem_free(c, c->deferred[i]);
        free(c->deferred[i]);
    }
    c->n_deferred = 0;
}

void vk_mem_release(vk_ctx *c, vk_mem *m)
{
    if (c->recording) {
        if (c->n_deferred == c->cap_deferred) {
            int cap = c->cap_deferred ? 2 * c->cap_deferred : 16;
            vk_mem **d = realloc(c->deferred, (size_t)cap * sizeof *d);
            if (d) {
                c->deferred = d;
                c->cap_deferred = cap;
            }
        }
        if (c->n_deferred < c->cap_deferred) {
            c->deferred[c->n_deferred++] = m;
            return;
        }
        /* No room to defer: wait for nothing, but keep memory valid by leaking it rather
         * than freeing what the command buffer may read. */
        vkb_log(VKB_LOG_ERROR, "vulkan: out of host memory deferring a tensor free");
        return;
    }
    vk_mem_free(c, m);
    free(m);
}

void vk_batch_destroy(vk_ctx *c)
{
    free_temps(c);
    free(c->temps);
    c->temps = NULL;
    c->cap_temps = 0;
    free(c->deferred);
    c->deferred = NULL;
    c->cap_deferred = 0;
    if (c->queries)
        c->fn.DestroyQueryPool(c->dev, c->queries, NULL);
    for (int i = 0; i < c->n_desc_pools; i++)
        c->fn.DestroyDescriptorPool(c->dev, c->desc_pools[i], NULL);
    c->n_desc_pools = 0;
    if (c->fence)
        c->fn.DestroyFence(c->dev, c->fence, NULL);
    if (c->cmd_pool)
        c->fn.DestroyCommandPool(c->dev, c->cmd_pool, NULL);
    c->queries = VK_NULL_HANDLE;
    c->fence = VK_NULL_HANDLE;
    c->cmd_pool = VK_NULL_HANDLE;
}

static int begin_cmd(vk_ctx *c)
{
    if (c->lost)
        return VKB_EDEVICE;
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    if (c->fn.ResetCommandBuffer(c->cmd, 0) != VK_SUCCESS ||
        c->fn.BeginCommandBuffer(c->cmd, &bi) != VK_SUCCESS)
        return VKB_EDEVICE;
    return VKB_OK;
}

/* Makes every shader/transfer write visible to the host, ends, submits, waits. */
static int submit_wait(vk_ctx *c)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    c->fn.CmdPipelineBarrier(c->cmd,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    if (c->fn.EndCommandBuffer(c->cmd) != VK_SUCCESS)
        return VKB_EDEVICE;
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &c->cmd,
    };
    VkResult r = c->fn.QueueSubmit(c->queue, 1, &si, c->fence);
    if (r == VK_SUCCESS)
        r = c->fn.WaitForFences(c->dev, 1, &c->fence, VK_TRUE, VK_FENCE_TIMEOUT_NS);
    if (r == VK_SUCCESS)
        c->fn.ResetFences(c->dev, 1, &c->fence);
    if (r != VK_SUCCESS) {
        /* The command buffer may still be pending: nothing may touch it again. */
        c->lost = 1;
        vkb_log(VKB_LOG_ERROR, "vulkan: submit/wait failed on %s: %s; the device is unusable",
                c->b->id, vk_result_str(r));
        return r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY
                   ? VKB_ENOMEM
                   : VKB_EDEVICE;
    }
    return VKB_OK;
}

int vk_oneshot_begin(vk_ctx *c) { return begin_cmd(c); }
int vk_oneshot_submit(vk_ctx *c) { return submit_wait(c); }

int vk_batch_begin(vkb_backend *b)
{
    vk_ctx *c = vk_ctx_of(b);
    if (c->lost)
        return VKB_EDEVICE;
    for (int i = 0; i < c->n_desc_pools; i++)
        c->fn.ResetDescriptorPool(c->dev, c->desc_pools[i], 0);
    c->cur_desc_pool = 0;
    int rc = begin_cmd(c);
    if (rc != VKB_OK)
        return rc;
    c->stamping = c->timestamps && b->timing;
    if (c->stamping)
        c->fn.CmdResetQueryPool(c->cmd, c->queries, 0, c->max_queries);
    c->n_queries = 0;
    c->n_written = c->n_read = 0;
    c->n_barriers = 0;
    c->op_name = NULL;
    c->recording = 1;
    return VKB_OK;
}

static void read_timings(vk_ctx *c)
{
    vkb_backend *b = c->b;
    if (!c->stamping || c->n_queries == 0)
        return;
    uint64_t *stamps = malloc(sizeof(uint64_t) * c->n_queries);
    if (!stamps)
        return;
    if (c->fn.GetQueryPoolResults(c->dev, c->queries, 0, c->n_queries,
                                  sizeof(uint64_t) * c->n_queries, stamps, sizeof(uint64_t),
                                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) ==
        VK_SUCCESS) {
        /* Timings entry i owns queries 2i (start) and 2i+1 (end). */
        for (int i = 0; i < b->n_timings && (uint32_t)(2 * i + 1) < c->n_queries; i++)
            b->timing_ms[i] = (double)(stamps[2 * i + 1] - stamps[2 * i]) * c->timestamp_ns / 1e6;
    }
    free(stamps);
}

int vk_batch_end(vkb_backend *b)
{
    vk_ctx *c = vk_ctx_of(b);
    int rc = submit_wait(c);
    c->recording = 0;
    if (rc == VKB_OK)
        read_timings(c);
    /* A lost device may still be running the command buffer: its memory stays (leaked)
     * rather than being freed under it. */
    if (!c->lost)
        free_temps(c);
    /* New pipelines were compiled for this batch: keep them on disk now, not only at close
     * (a killed process never closes). */
    vk_pipeline_cache_save(c);
    return rc;
}

void vk_op_begin(vk_ctx *c, const char *name)
{
    c->op_name = name;
}

void vk_op_end(vk_ctx *c)
{
    c->op_name = NULL;
}

/* Opens the timings entry of the dispatch or copy about to be recorded (after its barrier, so
 * the barrier's wait is not counted): returns its index, or -1 when the entries ran out. */
static int timing_begin(vk_ctx *c, const char *fallback)
{
    vkb_backend *b = c->b;
    if (b->n_timings >= VKB_MAX_TIMINGS)
        return -1;
    int i = b->n_timings++;
    b->timing_names[i] = c->op_name ? c->op_name : fallback;
    b->timing_ms[i] = -1;
    if (c->stamping) {
        c->fn.CmdWriteTimestamp(c->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, c->queries,
                                (uint32_t)(2 * i));
        c->n_queries = (uint32_t)(2 * i + 2);
    }
    return i;
}

static void timing_end(vk_ctx *c, int i)
{
    if (i >= 0 && c->stamping)
        c->fn.CmdWriteTimestamp(c->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, c->queries,
                                (uint32_t)(2 * i + 1));
}

static int overlaps(const vk_range_use *list, int n, VkBuffer buf, VkDeviceSize begin,
                    VkDeviceSize end)
{
    for (int i = 0; i < n; i++)
        if (list[i].buffer == buf && begin < list[i].end && list[i].begin < end)
            return 1;
    return 0;
}

/* A barrier is needed before a step touching these ranges if it conflicts with what ran
 * since the last one (or the lists are full). */
static int needs_barrier(const vk_ctx *c, const vk_bind *binds, int n)
{
    for (int i = 0; i < n; i++) {
        VkDeviceSize end = binds[i].offset + binds[i].range;
        if (overlaps(c->written, c->n_written, binds[i].buffer, binds[i].offset, end))
            return 1;
        if (binds[i].writes && overlaps(c->read, c->n_read, binds[i].buffer, binds[i].offset, end))
            return 1;
    }
    return c->n_written + n > VK_MAX_HAZARDS || c->n_read + n > VK_MAX_HAZARDS;
}

static void barrier(vk_ctx *c)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    VkPipelineStageFlags stages =
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    if (++c->n_barriers != c->drop_barrier)
        c->fn.CmdPipelineBarrier(c->cmd, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
    c->n_written = c->n_read = 0;
}

static void track(vk_ctx *c, const vk_bind *binds, int n)
{
    if (needs_barrier(c, binds, n))
        barrier(c);
    for (int i = 0; i < n; i++) {
        vk_range_use u = {binds[i].buffer, binds[i].offset, binds[i].offset + binds[i].range};
        if (binds[i].writes)
            c->written[c->n_written++] = u;
        else
            c->read[c->n_read++] = u;
    }
}

static VkDescriptorSet alloc_set(vk_ctx *c, VkDescriptorSetLayout layout)
{
    for (;;) {
        VkDescriptorSetAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = c->desc_pools[c->cur_desc_pool],
            .descriptorSetCount = 1,
            .pSetLayouts = &layout,
        };
        VkDescriptorSet set;
        VkResult r = c->fn.AllocateDescriptorSets(c->dev, &ai, &set);
        if (r == VK_SUCCESS)
            return set;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return VK_NULL_HANDLE;
        if (c->cur_desc_pool + 1 == c->n_desc_pools && add_desc_pool(c) != VKB_OK)
            return VK_NULL_HANDLE;
        c->cur_desc_pool++;
    }
}

int vk_dispatch(vk_ctx *c, vk_kernel_id k, const uint32_t *spec, int n_spec,
                const vk_bind *binds, int n_binds, const void *push, uint32_t push_bytes,
                uint32_t gx, uint32_t gy, uint32_t gz)
{
    if (gx == 0 || gy == 0 || gz == 0)
        return VKB_OK;
    if (gx > c->max_groups[0] || gy > c->max_groups[1] || gz > c->max_groups[2]) {
        vkb_log(VKB_LOG_ERROR, "vulkan: %s needs %ux%ux%u workgroups, more than the device allows",
                vk_kernel_name(k), gx, gy, gz);
        return VKB_EUNSUPPORTED;
    }
    VkPipeline pipe = vk_pipeline_get(c, k, spec, n_spec);
    if (!pipe)
        return VKB_EDEVICE;
    VkDescriptorSet set = alloc_set(c, c->kernels[k].set_layout);
    if (!set)
        return VKB_ENOMEM;
    VkWriteDescriptorSet writes[VK_MAX_BINDINGS];
    VkDescriptorBufferInfo infos[VK_MAX_BINDINGS];
    for (int i = 0; i < n_binds; i++) {
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = (uint32_t)i,
            .descriptorCount = 1,
        };
        writes[i].descriptorType = vk_descriptor_type(c->kernels[k].bindings[i]);
        if (writes[i].descriptorType == VK_DESCRIPTOR_TYPE_STORAGE_BUFFER) {
            infos[i] = (VkDescriptorBufferInfo){binds[i].buffer, binds[i].offset, binds[i].range};
            writes[i].pBufferInfo = &infos[i];
        } else {
            writes[i].pTexelBufferView = &binds[i].view;
        }
    }
    c->fn.UpdateDescriptorSets(c->dev, (uint32_t)n_binds, writes, 0, NULL);
    track(c, binds, n_binds);
    int timing = timing_begin(c, vk_kernel_name(k));
    c->fn.CmdBindPipeline(c->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
    c->fn.CmdBindDescriptorSets(c->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->kernels[k].layout, 0,
                                1, &set, 0, NULL);
    if (push_bytes)
        c->fn.CmdPushConstants(c->cmd, c->kernels[k].layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                               push_bytes, push);
    c->fn.CmdDispatch(c->cmd, gx, gy, gz);
    timing_end(c, timing);
    return VKB_OK;
}

int vk_record_copy(vk_ctx *c, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
                   VkDeviceSize dst_off, VkDeviceSize bytes)
{
    vk_bind binds[2] = {
        {.buffer = src, .offset = src_off, .range = bytes},
        {.buffer = dst, .offset = dst_off, .range = bytes, .writes = 1},
    };
    track(c, binds, 2);
    int timing = timing_begin(c, "copy");
    VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = bytes};
    c->fn.CmdCopyBuffer(c->cmd, src, dst, 1, &region);
    timing_end(c, timing);
    return VKB_OK;
}

vkb_tensor *vk_batch_temp(vk_ctx *c, vkb_dtype dtype, size_t n)
{
    if (c->n_temps == c->cap_temps) {
        int cap = c->cap_temps ? 2 * c->cap_temps : 16;
        vkb_tensor **t = realloc(c->temps, (size_t)cap * sizeof *t);
        if (!t)
            return NULL;
        c->temps = t;
        c->cap_temps = cap;
    }
    vkb_tensor *t = vkb_tensor_new(c->b, dtype, n);
    if (t)
        c->temps[c->n_temps++] = t;
    return t;
}
