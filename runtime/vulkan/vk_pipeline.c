/*
 * vk_pipeline.c — kernels from the embedded SPIR-V, specialised pipelines, the pipeline cache.
 *
 * A kernel is one shaders/NAME.comp: its descriptor layout is written in kernel_table below
 * (one letter per binding: S storage buffer, T uniform texel buffer, I storage texel buffer)
 * and must match the comment block at the top of the shader. Pipelines are created on first
 * use for each set of specialisation constants (tile sizes, head dim, modes) and kept until
 * close.
 *
 * The VkPipelineCache is loaded from and saved to $XDG_CACHE_HOME/vkbridge (default
 * ~/.cache/vkbridge), one file per device and driver, so a restart skips shader compilation.
 * It is written after any batch that compiled new pipelines and at close. The driver
 * validates the blob's header itself and ignores a stale one. (lavapipe keeps only a header
 * there and caches its LLVM output in Mesa's own disk cache instead.)
 */
#include "vk_internal.h"
#include "vkb_platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct vkb_embedded_shader {
    const char *name;
    const uint32_t *words;
    const size_t *size;
};
extern const struct vkb_embedded_shader vkb_embedded_shaders[];

static const struct {
    const char *name;
    const char *bindings;  /* S storage buffer, T uniform texel buffer, I storage texel buffer */
    uint32_t push_bytes;   /* size of the shader's push-constant block */
} kernel_table[VK_K_COUNT] = {
    [VK_K_MATMUL] = {"matmul", "SSSSS", 32},
    [VK_K_MATMUL_TEXEL] = {"matmul_texel", "TTTTSI", 32},
    [VK_K_ATTENTION] = {"attention", "SSSS", 24},
    [VK_K_ATTENTION_TEXEL] = {"attention_texel", "TTIIT", 24},
    [VK_K_ATTENTION_REL] = {"attention_rel", "SSSSS", 40},
    [VK_K_ATTENTION_REL_TEXEL] = {"attention_rel_texel", "TTTTII", 40},
    [VK_K_LAYERNORM] = {"layernorm", "SSSSS", 28},
    [VK_K_LAYERNORM_TEXEL] = {"layernorm_texel", "TTTTS", 28},
    [VK_K_EMBED] = {"embed", "SSSSSSSSSSS", 56},
    [VK_K_EMBED_TEXEL] = {"embed_texel", "TTTTTTTI", 28},
    [VK_K_POOL] = {"pool", "SSS", 28},
    [VK_K_GREEDY_MATCH] = {"greedy_match", "SSSSSS", 28},
};

/* The specialization constant ids of each kernel's local_size_x and local_size_y (-1: 1), as
 * the shaders' layout lines declare them: a pipeline whose workgroup the device does not
 * allow (maxComputeWorkGroupInvocations / Size, lowered by VKB_TEST_MIN_LIMITS in tests) is
 * refused here, naming the kernel, instead of being created against the device's limits. */
static const int8_t local_size_ids[VK_K_COUNT][2] = {
    [VK_K_MATMUL] = {6, -1},          [VK_K_MATMUL_TEXEL] = {3, 4},
    [VK_K_ATTENTION] = {1, -1},       [VK_K_ATTENTION_TEXEL] = {3, -1},
    [VK_K_ATTENTION_REL] = {1, -1},   [VK_K_ATTENTION_REL_TEXEL] = {3, -1},
    [VK_K_LAYERNORM] = {0, -1},       [VK_K_LAYERNORM_TEXEL] = {0, -1},
    [VK_K_EMBED] = {0, -1},           [VK_K_EMBED_TEXEL] = {0, -1},
    [VK_K_POOL] = {0, -1},            [VK_K_GREEDY_MATCH] = {0, -1},
};

static int workgroup_allowed(const vk_ctx *c, vk_kernel_id k, const uint32_t *spec, int n_spec)
{
    int ix = local_size_ids[k][0], iy = local_size_ids[k][1];
    if (ix >= n_spec || iy >= n_spec)
        return 1; /* the shader's default sizes (none of the ops relies on them) */
    uint32_t x = spec[ix], y = iy >= 0 ? spec[iy] : 1;
    const vkb_device_info *d = &c->b->info;
    if ((uint64_t)x * y <= c->max_invocations && x <= d->max_workgroup_size[0] &&
        y <= d->max_workgroup_size[1])
        return 1;
    vkb_log(VKB_LOG_ERROR, "vulkan: %s: a workgroup of %u x %u invocations is over what %s "
                           "allows (%u invocations, %u x %u)", kernel_table[k].name, x, y,
            c->b->id, c->max_invocations, d->max_workgroup_size[0], d->max_workgroup_size[1]);
    return 0;
}

VkDescriptorType vk_descriptor_type(char letter)
{
    return letter == 'T'   ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
           : letter == 'I' ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                           : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

static const struct vkb_embedded_shader *find_shader(const char *name)
{
    for (const struct vkb_embedded_shader *s = vkb_embedded_shaders; s->name; s++)
        if (!strcmp(s->name, name))
            return s;
    return NULL;
}

static int create_kernel(vk_ctx *c, vk_kernel_id id, char *err, size_t errlen)
{
    vk_kernel *k = &c->kernels[id];
    const char *letters = kernel_table[id].bindings;
    const struct vkb_embedded_shader *src = find_shader(kernel_table[id].name);
    if (!src) {
        vkb_set_err(err, errlen, "shader %s is not embedded in this build", kernel_table[id].name);
        return VKB_EDEVICE;
    }
    k->bindings = letters;
    VkDescriptorSetLayoutBinding binds[VK_MAX_BINDINGS];
    uint32_t n = (uint32_t)strlen(letters);
    for (uint32_t i = 0; i < n; i++)
        binds[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = vk_descriptor_type(letters[i]),
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    VkDescriptorSetLayoutCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = n,
        .pBindings = binds,
    };
    VkPushConstantRange push = {
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        .size = kernel_table[id].push_bytes,
    };
    VkShaderModuleCreateInfo sci = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = *src->size,
        .pCode = src->words,
    };
    if (c->fn.CreateDescriptorSetLayout(c->dev, &dci, NULL, &k->set_layout) != VK_SUCCESS)
        goto fail;
    VkPipelineLayoutCreateInfo lci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &k->set_layout,
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &push,
    };
    if (c->fn.CreatePipelineLayout(c->dev, &lci, NULL, &k->layout) != VK_SUCCESS ||
        c->fn.CreateShaderModule(c->dev, &sci, NULL, &k->module) != VK_SUCCESS)
        goto fail;
    return VKB_OK;
fail:
    vkb_set_err(err, errlen, "cannot create Vulkan objects for shader %s", kernel_table[id].name);
    return VKB_EDEVICE;
}

/* $XDG_CACHE_HOME/vkbridge, else ~/.cache/vkbridge; created if missing. 0 on success. */
static int cache_dir(char *out, size_t len)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = vkb_home_dir();
    int n;
    if (xdg && *xdg)
        n = snprintf(out, len, "%s/vkbridge", xdg);
    else if (home && *home)
        n = snprintf(out, len, "%s/.cache/vkbridge", home);
    else
        return -1;
    if (n < 0 || (size_t)n >= len)
        return -1;
    /* mkdir -p: create each missing component */
    for (char *p = out + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int bad = vkb_mkdir(out) != 0 && errno != EEXIST;
        *p = '/';
        if (bad)
            return -1;
    }
    return vkb_mkdir(out) != 0 && errno != EEXIST ? -1 : 0;
}

static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *data = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n);
        if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    *size = data ? (size_t)n : 0;
    return data;
}

static void open_cache(vk_ctx *c)
{
    VkPhysicalDeviceProperties p;
    c->inst->fn.GetPhysicalDeviceProperties(c->pd, &p);
    char dir[900];
    c->cache_path[0] = 0;
    if (cache_dir(dir, sizeof dir) == 0) {
        char uuid[2 * VK_UUID_SIZE + 1];
        for (unsigned i = 0; i < VK_UUID_SIZE; i++)
            snprintf(uuid + 2 * i, 3, "%02x", p.pipelineCacheUUID[i]);
        snprintf(c->cache_path, sizeof c->cache_path, "%s/pipelines-%04x-%04x-%08x-%s.bin", dir,
                 p.vendorID, p.deviceID, p.driverVersion, uuid);
    }
    size_t size = 0;
    void *data = c->cache_path[0] ? read_file(c->cache_path, &size) : NULL;
    VkPipelineCacheCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = size,
        .pInitialData = data,
    };
    if (c->fn.CreatePipelineCache(c->dev, &ci, NULL, &c->cache) != VK_SUCCESS) {
        /* A corrupt blob must not stop us: start empty. */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        if (c->fn.CreatePipelineCache(c->dev, &ci, NULL, &c->cache) != VK_SUCCESS)
            c->cache = VK_NULL_HANDLE;
    }
    free(data);
    if (size)
        vkb_log(VKB_LOG_DEBUG, "vulkan: pipeline cache %s (%zu bytes)", c->cache_path, size);
}

void vk_pipeline_cache_save(vk_ctx *c)
{
    if (!c->cache || !c->cache_dirty || !c->cache_path[0])
        return;
    size_t size = 0;
    if (c->fn.GetPipelineCacheData(c->dev, c->cache, &size, NULL) != VK_SUCCESS || !size)
        return;
    void *data = malloc(size);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", c->cache_path, (long)getpid());
    FILE *f = NULL;
    if (data && c->fn.GetPipelineCacheData(c->dev, c->cache, &size, data) == VK_SUCCESS &&
        (f = fopen(tmp, "wb"))) {
        int ok = fwrite(data, 1, size, f) == size;
        ok &= fclose(f) == 0;
        /* rename is atomic: a concurrent reader sees the old blob or the new, never half. */
        if (!ok || vkb_rename_replace(tmp, c->cache_path) != 0) {
            remove(tmp);
            vkb_log(VKB_LOG_WARN, "vulkan: cannot write pipeline cache %s", c->cache_path);
        } else {
            c->cache_dirty = 0;
        }
    }
    free(data);
}

int vk_kernels_init(vk_ctx *c, char *err, size_t errlen)
{
    for (int k = 0; k < VK_K_COUNT; k++) {
        /* x and y never share an id: equal ones are a kernel left out of local_size_ids
         * (zero-filled), whose check would read the wrong constants */
        if (local_size_ids[k][0] == local_size_ids[k][1]) {
            vkb_set_err(err, errlen, "kernel %s has no entry in local_size_ids",
                         kernel_table[k].name);
            return VKB_EDEVICE;
        }
        int rc = create_kernel(c, (vk_kernel_id)k, err, errlen);
        if (rc != VKB_OK)
            return rc;
    }
    open_cache(c);
    return VKB_OK;
}

void vk_kernels_destroy(vk_ctx *c)
{
    vk_pipeline_cache_save(c);
    for (int i = 0; i < c->n_pipelines; i++)
        c->fn.DestroyPipeline(c->dev, c->pipelines[i].pipeline, NULL);
    free(c->pipelines);
    c->pipelines = NULL;
    c->n_pipelines = c->cap_pipelines = 0;
    for (int k = 0; k < VK_K_COUNT; k++) {
        vk_kernel *kn = &c->kernels[k];
        if (kn->module)
            c->fn.DestroyShaderModule(c->dev, kn->module, NULL);
        if (kn->layout)
            c->fn.DestroyPipelineLayout(c->dev, kn->layout, NULL);
        if (kn->set_layout)
            c->fn.DestroyDescriptorSetLayout(c->dev, kn->set_layout, NULL);
        memset(kn, 0, sizeof *kn);
    }
    if (c->cache)
        c->fn.DestroyPipelineCache(c->dev, c->cache, NULL);
    c->cache = VK_NULL_HANDLE;
}

VkPipeline vk_pipeline_get(vk_ctx *c, vk_kernel_id k, const uint32_t *spec, int n_spec)
{
    uint32_t key[VK_MAX_SPEC] = {0};
    memcpy(key, spec, sizeof(uint32_t) * (size_t)n_spec);
    for (int i = 0; i < c->n_pipelines; i++)
        if (c->pipelines[i].kernel == k && !memcmp(c->pipelines[i].spec, key, sizeof key))
            return c->pipelines[i].pipeline;
    if (!workgroup_allowed(c, k, spec, n_spec))
        return VK_NULL_HANDLE;
    if (c->n_pipelines == c->cap_pipelines) {
        int cap = c->cap_pipelines ? 2 * c->cap_pipelines : 32;
        vk_pipeline *p = realloc(c->pipelines, (size_t)cap * sizeof *p);
        if (!p)
            return VK_NULL_HANDLE;
        c->pipelines = p;
        c->cap_pipelines = cap;
    }
    VkSpecializationMapEntry entries[VK_MAX_SPEC];
    for (int i = 0; i < n_spec; i++)
        entries[i] = (VkSpecializationMapEntry){.constantID = (uint32_t)i,
                                                 .offset = (uint32_t)(4 * i), .size = 4};
    VkSpecializationInfo si = {
        .mapEntryCount = (uint32_t)n_spec,
        .pMapEntries = entries,
        .dataSize = 4 * (size_t)n_spec,
        .pData = key,
    };
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = c->kernels[k].module,
            .pName = "main",
            .pSpecializationInfo = n_spec ? &si : NULL,
        },
        .layout = c->kernels[k].layout,
    };
    VkPipeline pipe;
    VkResult r = c->fn.CreateComputePipelines(c->dev, c->cache, 1, &ci, NULL, &pipe);
    if (r != VK_SUCCESS) {
        vkb_log(VKB_LOG_ERROR, "vulkan: cannot create pipeline %s: %s", kernel_table[k].name,
                vk_result_str(r));
        return VK_NULL_HANDLE;
    }
    vk_pipeline *p = &c->pipelines[c->n_pipelines++];
    p->kernel = k;
    memcpy(p->spec, key, sizeof key);
    p->pipeline = pipe;
    c->cache_dirty = 1;
    return pipe;
}

const char *vk_kernel_name(vk_kernel_id k) { return kernel_table[k].name; }
