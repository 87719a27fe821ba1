/*
 * vk_backend.c — opening and closing a Vulkan device as a vkb_backend, tensors, the ops table.
 *
 * Each open creates its own VkDevice, queue, memory and pipelines, so the same physical
 * device opened twice gives two independent backends (two replicas, two worker threads).
 *
 * Kernel variants are chosen per device class: CPU-type devices (lavapipe) get the texel-
 * buffer kernels, everything else the shared-memory tiled ones. VKB_KERNELS=cpu|gpu forces
 * one, which is how the tests prove both correct on lavapipe. Reductions use subgroup
 * arithmetic where the device has it, shared memory otherwise; VKB_SUBGROUPS=0 acts as if it
 * had none (so the shared-memory kernels are tested too).
 */
#include "vk_device.h"
#include "vk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tensor_alloc(vkb_backend *b, vkb_tensor *t)
{
    vk_ctx *c = vk_ctx_of(b);
    vk_mem *m = calloc(1, sizeof *m);
    if (!m)
        return VKB_ENOMEM;
    int rc = vk_mem_alloc(c, t->bytes, m);
    if (rc != VKB_OK) {
        vkb_log(VKB_LOG_ERROR, "vulkan: out of device memory for a tensor of %zu bytes on %s",
                t->bytes, b->id);
        free(m);
        return rc;
    }
    t->impl = m;
    return VKB_OK;
}

static void tensor_free(vkb_tensor *t)
{
    if (t->impl)
        vk_mem_release(vk_ctx_of(t->b), vk_mem_of(t));
    t->impl = NULL;
}

static int upload(vkb_tensor *t, size_t off, const void *src, size_t bytes)
{
    return vk_mem_upload(vk_ctx_of(t->b), vk_mem_of(t), off, src, bytes);
}

static int download(const vkb_tensor *t, size_t off, void *dst, size_t bytes)
{
    return vk_mem_download(vk_ctx_of(t->b), vk_mem_of(t), off, dst, bytes);
}

static void destroy_ctx(vk_ctx *c)
{
    if (c->dev) {
        c->fn.DeviceWaitIdle(c->dev);
        vk_batch_destroy(c);
        vk_kernels_destroy(c);
        vk_memory_destroy(c);
        c->fn.DestroyDevice(c->dev, NULL);
    }
    free(c);
}

static void backend_close(vkb_backend *b)
{
    destroy_ctx(vk_ctx_of(b));
    b->impl = NULL;
}

/* The limits of this device's kernels, in one place (vkb_caps): model load checks them. */
static void vk_caps(const vkb_backend *b, vkb_caps *out)
{
    const vk_ctx *c = vk_ctx_of(b);
    out->shared_memory = b->info.max_shared_memory;
    out->max_invocations = c->max_invocations;
    out->subgroup_size = b->info.subgroup_size;
    out->max_head_size = vk_attention_max_head(c);
    /* The tiled kernels bind one dispatch's sequences as a storage window; the texel
     * kernels view whole tensors, whose sizes the engine's token budget bounds. */
    out->max_binding = c->texel_kernels ? 0 : c->max_storage_range;
}

static const vkb_backend_ops vk_ops = {
    .close = backend_close,
    .caps = vk_caps,
    .tensor_alloc = tensor_alloc,
    .tensor_free = tensor_free,
    .upload = upload,
    .download = download,
    .weight_layout = vk_weight_layout,
    .batch_begin = vk_batch_begin,
    .batch_end = vk_batch_end,
    .matmul = vk_matmul,
    .attention = vk_attention,
    .attention_rel = vk_attention_rel,
    .layernorm = vk_layernorm,
    .embed = vk_embed,
    .pool = vk_pool,
    .greedy_match = vk_greedy_match,
    .copy = vk_copy,
};

/* A queue family with compute; one that also has timestamps wins. */
static int pick_queue_family(vk_ctx *c, uint32_t *family, int *timestamps)
{
    uint32_t n = 0;
    c->inst->fn.GetPhysicalDeviceQueueFamilyProperties(c->pd, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    if (!q)
        return -1;
    c->inst->fn.GetPhysicalDeviceQueueFamilyProperties(c->pd, &n, q);
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT))
            continue;
        if (best < 0 || (q[i].timestampValidBits && !q[best].timestampValidBits))
            best = (int)i;
    }
    if (best >= 0) {
        *family = (uint32_t)best;
        *timestamps = q[best].timestampValidBits > 0;
    }
    free(q);
    return best >= 0 ? 0 : -1;
}

static int create_device(vk_ctx *c, char *err, size_t errlen)
{
    int ts = 0;
    if (pick_queue_family(c, &c->queue_family, &ts) != 0) {
        vkb_set_err(err, errlen, "Vulkan device %s has no compute queue", c->b->info.name);
        return VKB_EDEVICE;
    }
    c->timestamps = ts && c->b->info.timestamps;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = c->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    const char *exts[2];
    uint32_t n_exts = 0;
    if (c->b->info.has_memory_budget)
        exts[n_exts++] = "VK_EXT_memory_budget";
    /* Portability drivers (MoltenVK) require this extension to be enabled when offered. */
    if (vk_device_has_extension(c->inst, c->pd, "VK_KHR_portability_subset"))
        exts[n_exts++] = "VK_KHR_portability_subset";
    /* No optional features are needed: f16 weights are unpacked from 32-bit words
     * (unpackHalf2x16) or read through RGBA16F texel views, both core. */
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = c->inst->fn.CreateDevice(c->pd, &dci, NULL, &c->dev);
    if (r != VK_SUCCESS) {
        c->dev = VK_NULL_HANDLE;
        vkb_set_err(err, errlen, "vkCreateDevice failed on %s: %s", c->b->info.name,
                    vk_result_str(r));
        return VKB_EDEVICE;
    }
    if (vk_load_device_fns(c->inst, c->dev, &c->fn) != 0) {
        vkb_set_err(err, errlen, "the Vulkan driver of %s lacks core device functions",
                    c->b->info.name);
        /* destroy_ctx would call through the incomplete table: close the device here */
        if (c->fn.DestroyDevice)
            c->fn.DestroyDevice(c->dev, NULL);
        c->dev = VK_NULL_HANDLE;
        return VKB_EDEVICE;
    }
    c->fn.GetDeviceQueue(c->dev, c->queue_family, 0, &c->queue);
    return VKB_OK;
}

static void read_limits(vk_ctx *c)
{
    VkPhysicalDeviceProperties p;
    c->inst->fn.GetPhysicalDeviceProperties(c->pd, &p);
    c->storage_align = p.limits.minStorageBufferOffsetAlignment;
    c->max_storage_range = p.limits.maxStorageBufferRange;
    /* Testing knob: a smaller range makes every op split its work into windows, so the
     * splitting is proven without allocating hundreds of megabytes. */
    const char *cap = getenv("VKB_MAX_STORAGE_RANGE");
    if (cap && strtoull(cap, NULL, 10) >= 4096 && strtoull(cap, NULL, 10) < c->max_storage_range)
        c->max_storage_range = strtoull(cap, NULL, 10);
    c->max_texel_elements = p.limits.maxTexelBufferElements;
    for (int i = 0; i < 3; i++)
        c->max_groups[i] = p.limits.maxComputeWorkGroupCount[i];
    /* vk_describe_device's (VKB_TEST_MIN_LIMITS may have lowered it) */
    c->max_invocations = c->b->info.max_invocations;
    c->timestamp_ns = p.limits.timestampPeriod;
    /* maxMemoryAllocationSize is 1.1 core but lives in a properties chain; 1 GiB is the
     * guaranteed minimum and what we assume unless the device says more. */
    VkPhysicalDeviceMaintenance3Properties m3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
    };
    VkPhysicalDeviceProperties2 p2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
        .pNext = &m3,
    };
    /* Subgroup size control (1.3 core, or the EXT) says whether a driver may pick narrower
     * subgroups than it reports; without it, assume it may. */
    VkPhysicalDeviceSubgroupSizeControlProperties ssc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES,
    };
    if (c->b->info.api_version >= VK_API_VERSION_1_3 ||
        vk_device_has_extension(c->inst, c->pd, "VK_EXT_subgroup_size_control"))
        m3.pNext = &ssc;
    c->inst->fn.GetPhysicalDeviceProperties2(c->pd, &p2);
    c->max_alloc = m3.maxMemoryAllocationSize ? m3.maxMemoryAllocationSize : (1ull << 30);
    c->fixed_subgroup = m3.pNext && ssc.minSubgroupSize == ssc.maxSubgroupSize &&
                        ssc.maxSubgroupSize == c->b->info.subgroup_size;
}

/* texel kernels on CPU-type devices, else gpu; VKB_KERNELS=cpu|gpu overrides. The texel
 * kernels reduce with subgroup arithmetic and share loads with subgroup shuffles, so a
 * device without both in compute shaders always gets the gpu kernels. */
static int want_texel_kernels(const vkb_device_info *info)
{
    const char *env = getenv("VKB_KERNELS");
    int able = info->subgroup_arithmetic && (info->subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
    if (env && !strcmp(env, "cpu"))
        return able;
    if (env && !strcmp(env, "gpu"))
        return 0;
    return !strcmp(info->type, "cpu") && able;
}

/* One line per opened device: the limits the kernels were sized from and which variant each
 * op runs (each op file describes its own). */
static void log_variants(const vk_ctx *c)
{
    static void (*const describe[])(const vk_ctx *, char *, size_t) = {
        vk_matmul_describe, vk_attention_describe, vk_attention_rel_describe,
        vk_layernorm_describe, vk_embed_describe, vk_pool_describe, vk_greedy_match_describe,
    };
    char ops[1200] = "", one[240];
    size_t used = 0;
    for (size_t i = 0; i < sizeof describe / sizeof describe[0] && used < sizeof ops; i++) {
        describe[i](c, one, sizeof one);
        used += (size_t)snprintf(ops + used, sizeof ops - used, "%s%s", i ? ", " : "", one);
    }
    const vkb_device_info *d = &c->b->info;
    vkb_log(VKB_LOG_INFO, "vulkan: %s (%s): %s kernels; subgroup %u (%u-%u%s), shared memory "
                          "%u B, %u invocations%s: %s", c->b->id, c->b->device_name,
            c->texel_kernels ? "texel" : "tiled", d->subgroup_size, d->min_subgroup_size,
            d->max_subgroup_size, d->subgroup_size_control ? ", VK_EXT_subgroup_size_control" : "",
            d->max_shared_memory, c->max_invocations,
            d->limits_faked ? " (faked: VKB_TEST_MIN_LIMITS)" : "", ops);
}

int vk_backend_open(vkb_backend *b, int device_index, char *err, size_t errlen)
{
    vk_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return VKB_ENOMEM;
    c->b = b;
    VkPhysicalDevice *pds = NULL;
    vkb_device_info *infos = NULL;
    int n = 0, rc = VKB_EDEVICE;
    c->inst = vk_instance_get(err, errlen);
    if (!c->inst)
        goto fail;
    rc = vk_physical_devices(c->inst, &pds, &n, err, errlen);
    if (rc != VKB_OK)
        goto fail;
    rc = VKB_ENOMEM;
    infos = calloc((size_t)n, sizeof *infos);
    if (!infos)
        goto fail;
    for (int i = 0; i < n; i++)
        vk_describe_device(c->inst, pds[i], i, &infos[i]);
    rc = VKB_EDEVICE;
    /* "vulkan" (no index) is the best device, or VKB_VULKAN_DEVICE's: how tools/gpu-check.sh
     * runs the whole test suite once per GPU. */
    const char *pick = getenv("VKB_VULKAN_DEVICE");
    if (device_index < 0 && pick && *pick)
        device_index = atoi(pick);
    int idx = device_index >= 0 ? device_index : vk_pick_device(infos, n);
    if (idx < 0 || idx >= n) {
        vkb_set_err(err, errlen, "no Vulkan device %d (this machine has %d)", device_index, n);
        goto fail;
    }
    if (infos[idx].api_version < VK_API_VERSION_1_1) {
        vkb_set_err(err, errlen, "Vulkan device %d (%s) is Vulkan %s; vkbridge needs 1.1", idx,
                    infos[idx].name, infos[idx].api_version_str);
        goto fail;
    }
    c->pd = pds[idx];
    b->info = infos[idx];
    b->has_info = 1;
    snprintf(b->id, sizeof b->id, "vulkan:%d", idx);
    snprintf(b->device_name, sizeof b->device_name, "%s", infos[idx].name);
    b->supports_f16 = infos[idx].storage16;
    b->impl = c;
    read_limits(c);
    const char *sg = getenv("VKB_SUBGROUPS");
    c->subgroups = b->info.subgroup_arithmetic && !(sg && !strcmp(sg, "0"));
    /* The texel kernels share rows across a subgroup with shuffles sized by subgroup_size, so
     * a workgroup of that many lanes must be one subgroup; and they write through storage
     * texel buffers, so every view format must be one (a tensor buffer with that usage may
     * only be viewed in such formats). */
    c->texel_kernels = c->subgroups && c->fixed_subgroup && want_texel_kernels(&b->info) &&
                       vk_storage_texel_views(c);
    c->tensor_usage =
        VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
        (c->texel_kernels ? VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT : 0);
    /* batch before memory: staged uploads need the command buffer */
    if ((rc = create_device(c, err, errlen)) != VKB_OK ||
        (rc = vk_batch_init(c, err, errlen)) != VKB_OK ||
        (rc = vk_memory_init(c, err, errlen)) != VKB_OK ||
        (rc = vk_kernels_init(c, err, errlen)) != VKB_OK)
        goto fail;
    b->ops = &vk_ops;
    free(pds);
    free(infos);
    log_variants(c);
    return VKB_OK;
fail:
    free(pds);
    free(infos);
    destroy_ctx(c);
    b->impl = NULL;
    b->has_info = 0;
    return rc;
}
