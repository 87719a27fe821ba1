/*
 * cmd_info.c — `vkbridge info`: the Vulkan loader and every physical device as JSON.
 *
 * Without a loader or a device it still prints a JSON object (devices empty, "error" saying
 * why) and one line on stderr: the CPU backend serves then, which is not a failure.
 */
#include "commands.h"
#include "vkb_runtime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: vkbridge info [--compact]\n\n"
               "Prints the Vulkan loader version and every Vulkan device this process can see\n"
               "(index, name, vendor, type, driver, API version, subgroup size and operations,\n"
               "limits, fp16/int8 support, memory heaps with budget/usage where the driver has\n"
               "VK_EXT_memory_budget, else null) as one JSON object.\n\n"
               "  --compact   one line instead of indented JSON\n");
}

static json_t *subgroup_ops(uint32_t ops)
{
    /* VkSubgroupFeatureFlagBits, in bit order */
    static const char *names[] = {"basic", "vote", "arithmetic", "ballot",
                                  "shuffle", "shuffle_relative", "clustered", "quad"};
    json_t *a = json_array();
    for (int i = 0; i < 8; i++)
        if (ops & (1u << i))
            json_array_append_new(a, json_string(names[i]));
    return a;
}

/* A byte count from VK_EXT_memory_budget, or null when the driver does not say. */
static json_t *known_bytes(int known, uint64_t v)
{
    return known ? json_integer((json_int_t)v) : json_null();
}

static json_t *device_json(const vkb_device_info *d)
{
    char hex[16];
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer(d->index));
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "vendor", json_string(d->vendor));
    snprintf(hex, sizeof hex, "0x%04x", d->vendor_id);
    json_object_set_new(o, "vendor_id", json_string(hex));
    snprintf(hex, sizeof hex, "0x%04x", d->device_id);
    json_object_set_new(o, "device_id", json_string(hex));
    json_object_set_new(o, "type", json_string(d->type));
    json_object_set_new(o, "driver_name", json_string(d->driver_name));
    json_object_set_new(o, "driver_info", json_string(d->driver_info));
    json_object_set_new(o, "driver_version", json_string(d->driver_version_str));
    json_object_set_new(o, "driver_version_raw", json_integer(d->driver_version));
    json_object_set_new(o, "api_version", json_string(d->api_version_str));
    json_object_set_new(o, "subgroup_size", json_integer(d->subgroup_size));
    json_object_set_new(o, "subgroup_ops", subgroup_ops(d->subgroup_ops));
    json_object_set_new(o, "subgroup_arithmetic", json_boolean(d->subgroup_arithmetic));
    json_object_set_new(o, "subgroup_size_control", json_boolean(d->subgroup_size_control));
    json_object_set_new(o, "min_subgroup_size", json_integer(d->min_subgroup_size));
    json_object_set_new(o, "max_subgroup_size", json_integer(d->max_subgroup_size));
    json_object_set_new(o, "max_shared_memory", json_integer(d->max_shared_memory));
    json_object_set_new(o, "max_invocations", json_integer(d->max_invocations));
    json_t *wg = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(wg, json_integer(d->max_workgroup_size[i]));
    json_object_set_new(o, "max_workgroup_size", wg);
    if (d->limits_faked)
        json_object_set_new(o, "limits_faked", json_true());
    json_object_set_new(o, "max_storage_buffer_range",
                        json_integer((json_int_t)d->max_storage_buffer_range));
    json_object_set_new(o, "max_texel_buffer_elements",
                        json_integer(d->max_texel_buffer_elements));
    json_object_set_new(o, "fp16", json_boolean(d->fp16));
    json_object_set_new(o, "storage16", json_boolean(d->storage16));
    json_object_set_new(o, "int8", json_boolean(d->int8));
    json_object_set_new(o, "timestamps", json_boolean(d->timestamps));
    json_object_set_new(o, "timestamp_period_ns", json_real(d->timestamp_period_ns));
    json_object_set_new(o, "memory_budget", json_boolean(d->has_memory_budget));
    json_t *heaps = json_array();
    for (int h = 0; h < d->n_heaps; h++) {
        json_t *ho = json_object();
        json_object_set_new(ho, "size", json_integer((json_int_t)d->heaps[h].size));
        json_object_set_new(ho, "device_local", json_boolean(d->heaps[h].device_local));
        json_object_set_new(ho, "budget", known_bytes(d->has_memory_budget, d->heaps[h].budget));
        json_object_set_new(ho, "usage", known_bytes(d->has_memory_budget, d->heaps[h].usage));
        json_array_append_new(heaps, ho);
    }
    json_object_set_new(o, "heaps", heaps);
    return o;
}

int cmd_info(int argc, char **argv)
{
    size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--compact")) {
            flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
        } else {
            fprintf(stderr, "vkbridge info: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    vkb_device_info *devs = NULL;
    int n = 0;
    char err[256] = "";
    int rc = vkb_vulkan_devices(&devs, &n, err, sizeof err);
    json_t *root = json_object();
    json_object_set_new(root, "vkbridge", json_string(VKB_VERSION));
    json_object_set_new(root, "vulkan_loader", json_string(vkb_vulkan_loader_version()));
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, device_json(&devs[i]));
    json_object_set_new(root, "devices", list);
    if (rc != VKB_OK) {
        json_object_set_new(root, "error", json_string(err));
        fprintf(stderr, "vkbridge info: %s; the CPU backend serves\n", err);
    }
    char *text = json_dumps(root, flags);
    int out = 1;
    if (text) {
        puts(text);
        out = 0;
    }
    free(text);
    json_decref(root);
    free(devs);
    return out;
}
