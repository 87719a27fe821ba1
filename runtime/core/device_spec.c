/*
 * device_spec.c — the one parser of device specs ("auto", "all", "vulkan:0, vulkan:1", ...).
 * The engine opens what it returns and the service checks VKB_DEVICE / --device with it at
 * start-up, so both read a spec the same way. The grammar is written in vkb_runtime.h.
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct span {
    const char *p;
    size_t len;
} span;

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static span trim(const char *p, size_t len)
{
    while (len && is_blank(*p)) {
        p++;
        len--;
    }
    while (len && is_blank(p[len - 1]))
        len--;
    return (span){p, len};
}

static int span_is(span s, const char *word)
{
    return s.len == strlen(word) && !memcmp(s.p, word, s.len);
}

/* "vulkan:N" with N all digits and at most VKB_MAX_VULKAN_INDEX: its index, else -1. */
static int vulkan_index(span s)
{
    static const char prefix[] = "vulkan:";
    size_t plen = sizeof prefix - 1;
    if (s.len <= plen || memcmp(s.p, prefix, plen))
        return -1;
    int n = 0;
    for (size_t i = plen; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        n = n * 10 + (s.p[i] - '0');
        if (n > VKB_MAX_VULKAN_INDEX)
            return -1;
    }
    return n;
}

/* One list item into its canonical form; 0 if it is not cpu, vulkan or vulkan:N. */
static int parse_item(span item, char *out, size_t outlen)
{
    if (span_is(item, "cpu") || span_is(item, "vulkan")) {
        snprintf(out, outlen, "%.*s", (int)item.len, item.p);
        return 1;
    }
    int index = vulkan_index(item);
    if (index < 0)
        return 0;
    snprintf(out, outlen, "vulkan:%d", index);
    return 1;
}

int vkb_device_spec_parse(const char *spec, vkb_device_spec *out, char *err, size_t errlen)
{
    vkb_device_spec local;
    vkb_device_spec *ds = out ? out : &local;
    memset(ds, 0, sizeof *ds);
    if (!spec || !*spec)
        return VKB_OK; /* VKB_SPEC_AUTO */
    span whole = trim(spec, strlen(spec));
    if (span_is(whole, "auto"))
        return VKB_OK;
    if (span_is(whole, "all")) {
        ds->kind = VKB_SPEC_ALL;
        return VKB_OK;
    }
    ds->kind = VKB_SPEC_LIST;
    const char *p = spec;
    for (int pos = 1;; pos++) {
        const char *comma = strchr(p, ',');
        span item = trim(p, comma ? (size_t)(comma - p) : strlen(p));
        if (item.len == 0) {
            vkb_set_err(err, errlen, "bad device list '%s': item %d is empty", spec, pos);
            return VKB_EINVAL;
        }
        if (span_is(item, "auto") || span_is(item, "all")) {
            vkb_set_err(err, errlen, "bad device list '%s': '%.*s' stands alone", spec,
                        (int)item.len, item.p);
            return VKB_EINVAL;
        }
        if (ds->n == VKB_MAX_DEVICES) {
            vkb_set_err(err, errlen, "bad device list '%s': more than %d devices", spec,
                        VKB_MAX_DEVICES);
            return VKB_EINVAL;
        }
        if (!parse_item(item, ds->items[ds->n], sizeof ds->items[ds->n])) {
            vkb_set_err(err, errlen,
                        "bad device '%.*s': want auto, all, or a comma list of cpu, vulkan "
                        "and vulkan:N (N from 0 to %d)",
                        (int)item.len, item.p, VKB_MAX_VULKAN_INDEX);
            return VKB_EINVAL;
        }
        ds->n++;
        if (!comma)
            return VKB_OK;
        p = comma + 1;
    }
}

/* A real GPU first (discrete > integrated > virtual > other), else the CPU backend: a
 * CPU-type Vulkan device (lavapipe) runs the same math slower than the CPU backend's own
 * kernels (docs/PERF.md), so "auto" takes it only when asked for by name (vulkan:N). */
#define VKB_VK_API_1_1 ((1u << 22) | (1u << 12)) /* VK_API_VERSION_1_1 */

static int gpu_rank(const char *type)
{
    static const char *order[] = {"discrete", "integrated", "virtual", "other"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(type, order[i]))
            return i;
    return -1; /* "cpu" */
}

void vkb_device_auto(char *one, size_t onelen, char *why, size_t whylen)
{
    vkb_device_info *info = NULL;
    int n = 0, best = -1, cpu_type = -1;
    char err[256] = "";
    if (vkb_vulkan_devices(&info, &n, err, sizeof err) != VKB_OK)
        n = 0;
    for (int i = 0; i < n; i++) {
        int r = gpu_rank(info[i].type);
        if (r < 0 && cpu_type < 0)
            cpu_type = i;
        if (r >= 0 && info[i].api_version >= VKB_VK_API_1_1 &&
            (best < 0 || r < gpu_rank(info[best].type)))
            best = i;
    }
    if (best >= 0) {
        snprintf(one, onelen, "vulkan:%d", info[best].index);
        snprintf(why, whylen, "auto: vulkan:%d, a %s GPU (%s)", info[best].index,
                 info[best].type, info[best].name);
    } else if (cpu_type >= 0) {
        snprintf(one, onelen, "cpu");
        snprintf(why, whylen,
                 "auto: cpu, the CPU backend; the only Vulkan device is CPU-type (vulkan:%d, %s), "
                 "slower than the CPU backend: ask for vulkan:%d to use it",
                 info[cpu_type].index, info[cpu_type].name, info[cpu_type].index);
    } else {
        snprintf(one, onelen, "cpu");
        snprintf(why, whylen, "auto: cpu, the CPU backend; no Vulkan device (%s)",
                 err[0] ? err : "none found");
    }
    free(info);
}
