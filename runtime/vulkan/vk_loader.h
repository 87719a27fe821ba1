/*
 * vk_loader.h — internal: the Vulkan loader opened at run time, its function tables, and the
 * one process-wide VkInstance the Vulkan backends share.
 *
 * No file links against libvulkan: vk_loader.c dlopen()s libvulkan.so.1 (vulkan-1.dll on
 * Windows) once and fetches every entry point through vkGetInstanceProcAddr /
 * vkGetDeviceProcAddr into the tables below. Each backend (device) has its own device table,
 * so two devices never share dispatch.
 */
#ifndef VKB_VK_LOADER_H
#define VKB_VK_LOADER_H

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

/* X-lists of entry points: one place names each function, the tables and the loading code
 * are generated from them. */
#define VK_INSTANCE_FUNCS(X)                                                                    \
    X(DestroyInstance)                                                                          \
    X(EnumeratePhysicalDevices)                                                                 \
    X(GetPhysicalDeviceProperties)                                                              \
    X(GetPhysicalDeviceProperties2)                                                             \
    X(GetPhysicalDeviceFeatures2)                                                               \
    X(GetPhysicalDeviceMemoryProperties)                                                        \
    X(GetPhysicalDeviceMemoryProperties2)                                                       \
    X(GetPhysicalDeviceQueueFamilyProperties)                                                   \
    X(GetPhysicalDeviceFormatProperties)                                                        \
    X(EnumerateDeviceExtensionProperties)                                                       \
    X(CreateDevice)                                                                             \
    X(GetDeviceProcAddr)

#define VK_DEVICE_FUNCS(X)                                                                      \
    X(DestroyDevice)                                                                            \
    X(GetDeviceQueue)                                                                           \
    X(DeviceWaitIdle)                                                                           \
    X(AllocateMemory)                                                                           \
    X(FreeMemory)                                                                               \
    X(MapMemory)                                                                                \
    X(UnmapMemory)                                                                              \
    X(CreateBuffer)                                                                             \
    X(DestroyBuffer)                                                                            \
    X(GetBufferMemoryRequirements)                                                              \
    X(BindBufferMemory)                                                                         \
    X(CreateBufferView)                                                                         \
    X(DestroyBufferView)                                                                        \
    X(CreateShaderModule)                                                                       \
    X(DestroyShaderModule)                                                                      \
    X(CreatePipelineCache)                                                                      \
    X(DestroyPipelineCache)                                                                     \
    X(GetPipelineCacheData)                                                                     \
    X(CreateComputePipelines)                                                                   \
    X(DestroyPipeline)                                                                          \
    X(CreatePipelineLayout)                                                                     \
    X(DestroyPipelineLayout)                                                                    \
    X(CreateDescriptorSetLayout)                                                                \
    X(DestroyDescriptorSetLayout)                                                               \
    X(CreateDescriptorPool)                                                                     \
    X(DestroyDescriptorPool)                                                                    \
    X(ResetDescriptorPool)                                                                      \
    X(AllocateDescriptorSets)                                                                   \
    X(UpdateDescriptorSets)                                                                     \
    X(CreateCommandPool)                                                                        \
    X(DestroyCommandPool)                                                                       \
    X(AllocateCommandBuffers)                                                                   \
    X(ResetCommandBuffer)                                                                       \
    X(BeginCommandBuffer)                                                                       \
    X(EndCommandBuffer)                                                                         \
    X(CmdBindPipeline)                                                                          \
    X(CmdBindDescriptorSets)                                                                    \
    X(CmdPushConstants)                                                                         \
    X(CmdDispatch)                                                                              \
    X(CmdPipelineBarrier)                                                                       \
    X(CmdCopyBuffer)                                                                            \
    X(CmdWriteTimestamp)                                                                        \
    X(CmdResetQueryPool)                                                                        \
    X(CreateQueryPool)                                                                          \
    X(DestroyQueryPool)                                                                         \
    X(GetQueryPoolResults)                                                                      \
    X(QueueSubmit)                                                                              \
    X(CreateFence)                                                                              \
    X(DestroyFence)                                                                             \
    X(WaitForFences)                                                                            \
    X(ResetFences)

#define VK_DECLARE_FN(name) PFN_vk##name name;

/* Instance-level entry points of the shared instance. */
typedef struct vk_instance_fns {
    VK_INSTANCE_FUNCS(VK_DECLARE_FN)
} vk_instance_fns;

/* Device-level entry points of one VkDevice. */
typedef struct vk_device_fns {
    VK_DEVICE_FUNCS(VK_DECLARE_FN)
} vk_device_fns;

/* The shared instance (one per process). */
typedef struct vk_instance {
    VkInstance instance;
    uint32_t api_version;    /* what the instance was created with */
    int validation;          /* VK_LAYER_KHRONOS_validation enabled */
    int sync_validation;     /* ... with synchronization validation (VK_EXT_validation_features) */
    vk_instance_fns fn;
} vk_instance;

/* Opens the loader and returns the shared instance, both created on the first call and kept
 * for the life of the process (see vk_loader.c for why). Thread-safe. Returns NULL
 * with one clear line in err when there is no loader or the instance cannot be created.
 * With env VKB_VALIDATION=1 (or =gpu) and the Khronos validation layer installed, the instance
 * has the layer, synchronization validation (GPU-assisted validation too with =gpu) and a
 * debug-utils messenger that logs and counts every warning and error. */
const vk_instance *vk_instance_get(char *err, size_t errlen);

/* Loads every device-level entry point of dev; 0 on success, -1 if one is missing. */
int vk_load_device_fns(const vk_instance *inst, VkDevice dev, vk_device_fns *fn);

/* Validation-layer warnings and errors seen so far in this process (0 without the layer). */
int vk_validation_messages(void);

/* "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc. */
const char *vk_result_str(VkResult r);

#endif
