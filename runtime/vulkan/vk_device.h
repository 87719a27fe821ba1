/*
 * vk_device.h — internal: listing and describing Vulkan physical devices, picking one.
 */
#ifndef VKB_VK_DEVICE_H
#define VKB_VK_DEVICE_H

#include "vk_loader.h"
#include "vkb_runtime.h"

/* Every physical device of the instance, in vkEnumeratePhysicalDevices order. *out is
 * malloc'd (free()). VKB_EDEVICE with a clear line when there is none. */
int vk_physical_devices(const vk_instance *inst, VkPhysicalDevice **out, int *n, char *err,
                        size_t errlen);

/* Fills every field of info for device pd at position index. */
void vk_describe_device(const vk_instance *inst, VkPhysicalDevice pd, int index,
                        vkb_device_info *info);

int vk_device_has_extension(const vk_instance *inst, VkPhysicalDevice pd, const char *name);

/* Index of the best device: discrete > integrated > virtual > cpu > other, first wins ties. */
int vk_pick_device(const vkb_device_info *infos, int n);

#endif
