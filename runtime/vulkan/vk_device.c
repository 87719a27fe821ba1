/*
 * vk_device.c — the device inventory: what each Vulkan physical device is and can do.
 *
 * Everything vkb_device_info holds comes from the core 1.1 property/feature chains plus
 * VK_KHR_driver_properties (core in 1.2), VK_KHR_shader_float16_int8 (core in 1.2) and
 * VK_EXT_memory_budget, each chained only where the device offers it so a 1.1 driver is
 * never handed structures it does not know.
 */
#include "vk_device.h"
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vk_physical_devices(const vk_instance *inst, VkPhysicalDevice **out, int *n, char *err,
                        size_t errlen)
{
    *out = NULL;
    *n = 0;
    uint32_t count = 0;
    VkResult r = inst->fn.EnumeratePhysicalDevices(inst->instance, &count, NULL);
    if (r != VK_SUCCESS || count == 0) {
        vkb_set_err(err, errlen, "no Vulkan device (the loader lists %u physical devices)",
                    count);
        return VKB_EDEVICE;
    }
    VkPhysicalDevice *pds = calloc(count, sizeof *pds);
    if (!pds)
        return VKB_ENOMEM;
    r = inst->fn.EnumeratePhysicalDevices(inst->instance, &count, pds);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(pds);
        vkb_set_err(err, errlen, "vkEnumeratePhysicalDevices failed: %s", vk_result_str(r));
        return VKB_EDEVICE;
    }
    *out = pds;
    *n = (int)count;
    return VKB_OK;
}

int vk_device_has_extension(const vk_instance *inst, VkPhysicalDevice pd, const char *name)
{
    uint32_t n = 0;
    if (inst->fn.EnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || !n)
        return 0;
    VkExtensionProperties *props = calloc(n, sizeof *props);
    int found = 0;
    if (props && inst->fn.EnumerateDeviceExtensionProperties(pd, NULL, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = !strcmp(props[i].extensionName, name);
    free(props);
    return found;
}

static const char *vendor_name(uint32_t id)
{
    switch (id) {
    case 0x10DE: return "nvidia";
    case 0x1002: return "amd";
    case 0x8086: return "intel";
    case 0x10005: return "mesa";
    case 0x13B5: return "arm";
    case 0x5143: return "qualcomm";
    case 0x106B: return "apple";
    case 0x1AE0: return "google";
    case 0x14E4: return "broadcom";
    case 0x1010: return "imgtec";
    case 0x19E5: return "huawei";
    case 0x1D17: return "zhaoxin";
    default: return "unknown";
    }
}

static const char *type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

/* Drivers encode their version each their own way; these are the known conventions. */
static void decode_driver_version(uint32_t vendor, uint32_t v, char *out, size_t len)
{
    if (vendor == 0x10DE)
        snprintf(out, len, "%u.%u.%u.%u", (v >> 22) & 0x3FF, (v >> 14) & 0xFF, (v >> 6) & 0xFF,
                 v & 0x3F);
#ifdef _WIN32
    else if (vendor == 0x8086)
        snprintf(out, len, "%u.%u", v >> 14, v & 0x3FFF);
#endif
    else
        snprintf(out, len, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
                 VK_API_VERSION_PATCH(v));
}

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}

static void describe_features(const vk_instance *inst, VkPhysicalDevice pd, int has_f16_int8,
                              vkb_device_info *info)
{
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
    };
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = has_f16_int8 ? &f16 : NULL,
    };
    VkPhysicalDeviceFeatures2 f2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
        .pNext = &s16,
    };
    inst->fn.GetPhysicalDeviceFeatures2(pd, &f2);
    info->fp16 = has_f16_int8 && f16.shaderFloat16;
    info->int8 = has_f16_int8 && f16.shaderInt8;
    info->storage16 = s16.storageBuffer16BitAccess;
}

static void describe_memory(const vk_instance *inst, VkPhysicalDevice pd, int has_budget,
                            vkb_device_info *info)
{
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
    };
    VkPhysicalDeviceMemoryProperties2 mem = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
        .pNext = has_budget ? &budget : NULL,
    };
    inst->fn.GetPhysicalDeviceMemoryProperties2(pd, &mem);
    const VkPhysicalDeviceMemoryProperties *mp = &mem.memoryProperties;
    info->has_memory_budget = has_budget;
    info->n_heaps = (int)(mp->memoryHeapCount < VKB_MAX_HEAPS ? mp->memoryHeapCount
                                                                : VKB_MAX_HEAPS);
    for (int h = 0; h < info->n_heaps; h++) {
        info->heaps[h].size = mp->memoryHeaps[h].size;
        info->heaps[h].device_local =
            !!(mp->memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
        info->heaps[h].budget = has_budget ? budget.heapBudget[h] : 0;
        info->heaps[h].usage = has_budget ? budget.heapUsage[h] : 0;
    }
}

static int compute_queue_has_timestamps(const vk_instance *inst, VkPhysicalDevice pd)
{
    uint32_t n = 0;
    inst->fn.GetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    int ok = 0;
    if (q) {
        inst->fn.GetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
        for (uint32_t i = 0; i < n && !ok; i++)
            ok = (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && q[i].timestampValidBits > 0;
    }
    free(q);
    return ok;
}

/* VK_EXT_subgroup_size_control (core in 1.3): the range of subgroup sizes the driver may
 * choose. Where min == max (lavapipe at any LP_NATIVE_VECTOR_WIDTH, most NVIDIA drivers) a
 * workgroup of subgroup_size invocations is exactly one subgroup. */
static void describe_subgroup_size_control(const vk_instance *inst, VkPhysicalDevice pd,
                                           uint32_t api, vkb_device_info *info)
{
    if (api < VK_API_VERSION_1_3 &&
        !vk_device_has_extension(inst, pd, "VK_EXT_subgroup_size_control"))
        return;
    VkPhysicalDeviceSubgroupSizeControlProperties ssc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES,
    };
    VkPhysicalDeviceProperties2 p2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
        .pNext = &ssc,
    };
    inst->fn.GetPhysicalDeviceProperties2(pd, &p2);
    if (ssc.minSubgroupSize && ssc.maxSubgroupSize) {
        info->subgroup_size_control = 1;
        info->min_subgroup_size = ssc.minSubgroupSize;
        info->max_subgroup_size = ssc.maxSubgroupSize;
    }
}

/* Tests only: VKB_TEST_MIN_LIMITS=1 makes every device report the smallest compute limits the
 * Vulkan spec allows (16 KiB of shared memory, 128 invocations per workgroup, 128 x 128 x 64
 * workgroup sizes), so lavapipe proves that the kernels size themselves from the device and
 * that a model the limits cannot run fails its load clearly. */
static void fake_minimum_limits(vkb_device_info *info)
{
    const char *env = getenv("VKB_TEST_MIN_LIMITS");
    if (!env || strcmp(env, "1"))
        return;
    static const uint32_t wg[3] = {128, 128, 64};
    if (info->max_shared_memory > 16384)
        info->max_shared_memory = 16384;
    if (info->max_invocations > 128)
        info->max_invocations = 128;
    for (int i = 0; i < 3; i++)
        if (info->max_workgroup_size[i] > wg[i])
            info->max_workgroup_size[i] = wg[i];
    info->limits_faked = 1;
}

void vk_describe_device(const vk_instance *inst, VkPhysicalDevice pd, int index,
                        vkb_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->index = index;
    VkPhysicalDeviceProperties base;
    inst->fn.GetPhysicalDeviceProperties(pd, &base);
    int v12 = base.apiVersion >= VK_API_VERSION_1_2;
    int has_driver_props = v12 || vk_device_has_extension(inst, pd, "VK_KHR_driver_properties");
    int has_f16_int8 = v12 || vk_device_has_extension(inst, pd, "VK_KHR_shader_float16_int8");
    int has_budget = vk_device_has_extension(inst, pd, "VK_EXT_memory_budget");

    VkPhysicalDeviceDriverProperties driver = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
    };
    VkPhysicalDeviceSubgroupProperties subgroup = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
        .pNext = has_driver_props ? &driver : NULL,
    };
    VkPhysicalDeviceProperties2 props = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
        .pNext = &subgroup,
    };
    inst->fn.GetPhysicalDeviceProperties2(pd, &props);
    const VkPhysicalDeviceProperties *p = &props.properties;

    copy_str(info->name, sizeof info->name, p->deviceName);
    info->vendor_id = p->vendorID;
    info->device_id = p->deviceID;
    copy_str(info->vendor, sizeof info->vendor, vendor_name(p->vendorID));
    copy_str(info->type, sizeof info->type, type_name(p->deviceType));
    if (has_driver_props) {
        copy_str(info->driver_name, sizeof info->driver_name, driver.driverName);
        copy_str(info->driver_info, sizeof info->driver_info, driver.driverInfo);
    }
    info->driver_version = p->driverVersion;
    decode_driver_version(p->vendorID, p->driverVersion, info->driver_version_str,
                          sizeof info->driver_version_str);
    info->api_version = p->apiVersion;
    snprintf(info->api_version_str, sizeof info->api_version_str, "%u.%u.%u",
             VK_API_VERSION_MAJOR(p->apiVersion), VK_API_VERSION_MINOR(p->apiVersion),
             VK_API_VERSION_PATCH(p->apiVersion));
    info->subgroup_size = subgroup.subgroupSize;
    info->subgroup_ops = subgroup.supportedOperations;
    info->subgroup_arithmetic =
        (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
        (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    info->min_subgroup_size = info->max_subgroup_size = subgroup.subgroupSize;
    describe_subgroup_size_control(inst, pd, p->apiVersion, info);
    info->max_shared_memory = p->limits.maxComputeSharedMemorySize;
    info->max_invocations = p->limits.maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++)
        info->max_workgroup_size[i] = p->limits.maxComputeWorkGroupSize[i];
    fake_minimum_limits(info);
    info->max_storage_buffer_range = p->limits.maxStorageBufferRange;
    info->max_texel_buffer_elements = p->limits.maxTexelBufferElements;
    info->timestamp_period_ns = p->limits.timestampPeriod;
    info->timestamps = compute_queue_has_timestamps(inst, pd) && p->limits.timestampPeriod > 0;
    describe_features(inst, pd, has_f16_int8, info);
    describe_memory(inst, pd, has_budget, info);
}

static int type_rank(const char *type)
{
    static const char *order[] = {"discrete", "integrated", "virtual", "cpu"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(type, order[i]))
            return i;
    return 4;
}

int vk_pick_device(const vkb_device_info *infos, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (infos[i].api_version >= VK_API_VERSION_1_1 &&
            (best < 0 || type_rank(infos[i].type) < type_rank(infos[best].type)))
            best = i;
    return best;
}

int vkb_vulkan_devices(vkb_device_info **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    const vk_instance *inst = vk_instance_get(err, errlen);
    if (!inst)
        return VKB_EDEVICE;
    VkPhysicalDevice *pds = NULL;
    int count = 0;
    int rc = vk_physical_devices(inst, &pds, &count, err, errlen);
    vkb_device_info *infos = NULL;
    if (rc == VKB_OK) {
        infos = calloc((size_t)count, sizeof *infos);
        if (!infos)
            rc = VKB_ENOMEM;
    }
    for (int i = 0; rc == VKB_OK && i < count; i++)
        vk_describe_device(inst, pds[i], i, &infos[i]);
    free(pds);
    if (rc != VKB_OK) {
        free(infos);
        return rc;
    }
    *out = infos;
    *n = count;
    return VKB_OK;
}
