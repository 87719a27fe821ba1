/*
 * vk_internal.h — internal to the Vulkan backend (vk_*.c): the vocabulary of the runtime.
 *
 *   vk_ctx     one opened device: VkDevice, queue, memory, kernels, the recording state.
 *   vk_block   one VkDeviceMemory with one VkBuffer spanning it; tensors are sub-ranges.
 *   vk_mem     a tensor's range inside a block (vkb_tensor.impl), plus its cached texel views.
 *   vk_kernel  one embedded shader: descriptor layout, pipeline layout, shader module.
 *   vk_bind    what one dispatch binds at one binding: a storage range or a texel view.
 *
 * Files: vk_backend.c (open/close, the ops table), vk_memory.c (blocks, sub-allocation,
 * staging), vk_pipeline.c (kernels, specialised pipelines, the on-disk pipeline cache),
 * vk_batch.c (one command buffer per batch, descriptors, barriers, timestamps), vk_ops.c and
 * vk_ops_*.c (each op: which kernel, which bindings, how many workgroups).
 */
#ifndef VKB_VK_INTERNAL_H
#define VKB_VK_INTERNAL_H

#include "backend.h"
#include "vk_loader.h"

/* ---------------------------------------------------------------- memory */

/* Every sub-allocation starts at a multiple of this: it satisfies the largest
 * minStorageBufferOffsetAlignment / minTexelBufferOffsetAlignment the spec allows (256). */
#define VK_MEM_ALIGN 256u

typedef struct vk_free_range {
    VkDeviceSize offset, size;
    struct vk_free_range *next; /* sorted by offset, never adjacent (merged on free) */
} vk_free_range;

typedef struct vk_block {
    VkDeviceMemory memory;
    VkBuffer buffer;       /* spans the whole block */
    VkDeviceSize size;
    void *mapped;          /* host pointer when the memory is host-visible and coherent */
    vk_free_range *free;
    int n_live;            /* sub-allocations in use */
    struct vk_block *next;
} vk_block;

/* Texel-view formats the CPU-type kernels read through (RGBA for 4-wide loads). */
typedef enum { VK_VIEW_R32F = 0, VK_VIEW_RGBA32F, VK_VIEW_R16F, VK_VIEW_RGBA16F,
               VK_VIEW_R32I, VK_VIEW_COUNT } vk_view_format;

typedef struct vk_mem {
    vk_block *block;
    VkDeviceSize offset;   /* within block->buffer, multiple of VK_MEM_ALIGN */
    VkDeviceSize size;     /* bytes of the tensor */
    VkBufferView views[VK_VIEW_COUNT]; /* whole-tensor views, created on first use */
} vk_mem;

/* ---------------------------------------------------------------- kernels */

/* The embedded shaders. Names are the basenames of the shaders/ *.comp files. "gpu" variants (storage
 * buffers, shared-memory tiling) target real GPUs; "_texel" variants (texel-buffer loads, no
 * shared-memory tiling) target CPU-type devices like lavapipe. */
typedef enum {
    VK_K_MATMUL = 0, VK_K_MATMUL_TEXEL,
    VK_K_ATTENTION, VK_K_ATTENTION_TEXEL,
    VK_K_ATTENTION_REL, VK_K_ATTENTION_REL_TEXEL,
    VK_K_LAYERNORM, VK_K_LAYERNORM_TEXEL,
    VK_K_EMBED, VK_K_EMBED_TEXEL, VK_K_POOL, VK_K_GREEDY_MATCH,
    VK_K_COUNT
} vk_kernel_id;

#define VK_MAX_BINDINGS 12
#define VK_MAX_SPEC 12

typedef struct vk_kernel {
    const char *bindings;  /* one letter per binding: see vk_pipeline.c */
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkShaderModule module;
} vk_kernel;

typedef struct vk_pipeline {
    vk_kernel_id kernel;
    uint32_t spec[VK_MAX_SPEC];
    VkPipeline pipeline;
} vk_pipeline;

/* One binding of one dispatch: a storage range (buffer, offset, range) or a texel view
 * (read through a uniform texel buffer, or written through a storage texel buffer: which
 * one is the kernel's binding letter). */
typedef struct vk_bind {
    VkBuffer buffer;
    VkDeviceSize offset, range;
    VkBufferView view;     /* texel bindings only */
    int writes;            /* the dispatch writes this range (for barrier tracking) */
} vk_bind;

/* ---------------------------------------------------------------- the device */

#define VK_MAX_HAZARDS 64
#define VK_MAX_DESC_POOLS 64

typedef struct vk_range_use {
    VkBuffer buffer;
    VkDeviceSize begin, end;
} vk_range_use;

typedef struct vk_ctx {
    vkb_backend *b;
    const vk_instance *inst;
    VkPhysicalDevice pd;
    VkDevice dev;
    vk_device_fns fn;
    VkQueue queue;
    uint32_t queue_family;

    /* limits and choices */
    VkDeviceSize storage_align, max_storage_range, max_alloc;
    uint32_t max_texel_elements;
    uint32_t max_groups[3];
    uint32_t max_invocations; /* maxComputeWorkGroupInvocations */
    int texel_kernels;     /* 1: the CPU-type (texel-buffer) kernel variants */
    VkBufferUsageFlags tensor_usage; /* of every tensor buffer (texel kernels add storage
                                        texel buffers: they write through texel views) */
    int subgroups;         /* subgroup arithmetic usable (VKB_SUBGROUPS=0 turns it off) */
    int fixed_subgroup;    /* every workgroup of subgroup_size invocations is one subgroup */
    int timestamps;  /* the queue has timestamp queries (a query pool exists) */
    int stamping;    /* this batch writes them (timestamps && the backend's timing switch) */
    double timestamp_ns;

    /* memory (vk_memory.c) */
    uint32_t mem_type;     /* for tensors */
    int mem_mapped;        /* tensors are host-visible + coherent and mapped */
    uint32_t staging_type; /* host-visible + coherent, for staging */
    vk_block *blocks;
    VkDeviceSize block_size;
    VkBuffer staging;
    VkDeviceMemory staging_memory;
    void *staging_mapped;
    VkDeviceSize staging_size;
    vk_mem dummy;          /* a small zeroed range bound where an op has no input tensor */
    vk_mem sink;           /* a small range bound where a kernel has an unused output */

    /* kernels and pipelines (vk_pipeline.c) */
    vk_kernel kernels[VK_K_COUNT];
    vk_pipeline *pipelines;
    int n_pipelines, cap_pipelines;
    VkPipelineCache cache;
    int cache_dirty;
    char cache_path[1024];

    /* recording (vk_batch.c) */
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    VkDescriptorPool desc_pools[VK_MAX_DESC_POOLS];
    int n_desc_pools, cur_desc_pool;
    VkQueryPool queries;
    uint32_t max_queries, n_queries;
    int recording;
    int lost;              /* a submit failed or timed out: the device is unusable */
    const char *op_name;   /* the op being recorded (names its dispatches' timings), or NULL */
    /* ranges written / read since the last barrier */
    vk_range_use written[VK_MAX_HAZARDS], read[VK_MAX_HAZARDS];
    int n_written, n_read;
    int n_barriers;        /* recorded in this batch */
    int drop_barrier;      /* tests only (VKB_TEST_DROP_BARRIER=n): the n-th barrier of every
                              batch is left out, so the validation layer must report it */
    /* tensors freed at batch end (scratch space of ops) */
    vkb_tensor **temps;
    int n_temps, cap_temps;
    /* tensor memory freed while recording: the command buffer may still use it */
    vk_mem **deferred;
    int n_deferred, cap_deferred;
} vk_ctx;

static inline vk_ctx *vk_ctx_of(const vkb_backend *b) { return (vk_ctx *)b->impl; }
static inline vk_mem *vk_mem_of(const vkb_tensor *t) { return (vk_mem *)t->impl; }

/* vk_memory.c */
int vk_memory_init(vk_ctx *c, char *err, size_t errlen);
/* 1 if every vk_view_format can be a storage texel buffer on this device. */
int vk_storage_texel_views(vk_ctx *c);
void vk_memory_destroy(vk_ctx *c);
int vk_mem_alloc(vk_ctx *c, VkDeviceSize bytes, vk_mem *m);
void vk_mem_free(vk_ctx *c, vk_mem *m);
int vk_mem_upload(vk_ctx *c, vk_mem *m, VkDeviceSize off, const void *src, VkDeviceSize bytes);
int vk_mem_download(vk_ctx *c, const vk_mem *m, VkDeviceSize off, void *dst, VkDeviceSize bytes);
/* The whole-tensor texel view in format f (cached on m); VK_NULL_HANDLE if the tensor has
 * more texels than maxTexelBufferElements or creation fails. */
VkBufferView vk_mem_view(vk_ctx *c, vk_mem *m, vk_view_format f);

/* vk_pipeline.c */
int vk_kernels_init(vk_ctx *c, char *err, size_t errlen);
void vk_kernels_destroy(vk_ctx *c);
/* The pipeline of kernel k specialised with spec[0..n_spec) (constant ids 0..n_spec-1),
 * created on first use; VK_NULL_HANDLE on failure. */
VkPipeline vk_pipeline_get(vk_ctx *c, vk_kernel_id k, const uint32_t *spec, int n_spec);
const char *vk_kernel_name(vk_kernel_id k);
/* The descriptor type of a binding letter of the kernel table (S, T, I). */
VkDescriptorType vk_descriptor_type(char letter);
/* Writes the pipeline cache to disk if it changed. */
void vk_pipeline_cache_save(vk_ctx *c);

/* vk_batch.c */
int vk_batch_init(vk_ctx *c, char *err, size_t errlen);
void vk_batch_destroy(vk_ctx *c);
int vk_batch_begin(vkb_backend *b);
int vk_batch_end(vkb_backend *b);
/* Brackets one op's dispatches and copies: each becomes a timings entry named name, with its
 * GPU time where the device has timestamps. */
void vk_op_begin(vk_ctx *c, const char *name);
void vk_op_end(vk_ctx *c);
/* Records one dispatch of kernel k: binds binds[0..n_binds) at bindings 0..n-1, pushes
 * push[0..push_bytes), dispatches groups; inserts a barrier first when a binding touches a
 * range an earlier dispatch of the batch wrote (or writes a range one read). */
int vk_dispatch(vk_ctx *c, vk_kernel_id k, const uint32_t *spec, int n_spec,
                const vk_bind *binds, int n_binds, const void *push, uint32_t push_bytes,
                uint32_t gx, uint32_t gy, uint32_t gz);
/* Records a buffer copy with the same hazard tracking. */
int vk_record_copy(vk_ctx *c, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
                   VkDeviceSize dst_off, VkDeviceSize bytes);
/* Frees m (and its struct) now, or at batch end while recording. */
void vk_mem_release(vk_ctx *c, vk_mem *m);
/* A scratch tensor that lives until the end of the current batch. */
vkb_tensor *vk_batch_temp(vk_ctx *c, vkb_dtype dtype, size_t n);
/* Outside a batch: begin the command buffer for a one-off transfer; then submit and wait. */
int vk_oneshot_begin(vk_ctx *c);
int vk_oneshot_submit(vk_ctx *c);

/* Shared by the op files (vk_ops*.c): workgroup counts, chunk sizes, and the lanes of one
 * subgroup (the texel kernels' workgroups are one subgroup wide). */
static inline uint32_t div_up(size_t a, size_t b) { return (uint32_t)((a + b - 1) / b); }
static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static inline uint32_t texel_lanes(const vk_ctx *c)
{
    return c->b->info.subgroup_size ? c->b->info.subgroup_size : 8;
}

/* vk_bind.c */
/* Rows of row_bytes bytes one storage binding can always cover, wherever it starts. */
size_t vk_rows_per_binding(const vk_ctx *c, size_t row_bytes);
/* Storage window over elements [first, first+count) of t; *shift (may be NULL) receives the
 * elements between the window's aligned start and `first`. VKB_EUNSUPPORTED if the window
 * exceeds maxStorageBufferRange. For all three binders, t == NULL (an absent optional
 * operand such as a bias or residual) binds the dummy range with shift 0. */
int vk_bind_storage(vk_ctx *c, const vkb_tensor *t, size_t first, size_t count, int writes,
                    vk_bind *out, uint32_t *shift);
int vk_bind_whole(vk_ctx *c, const vkb_tensor *t, int writes, vk_bind *out);
/* Whole-tensor texel view of t in format f (read-only). */
int vk_bind_texel(vk_ctx *c, const vkb_tensor *t, vk_view_format f, vk_bind *out);
/* The whole-tensor view in format f as a storage texel buffer the dispatch writes;
 * t == NULL (an output binding the kernel's variant does not use) binds the sink instead. */
int vk_bind_texel_out(vk_ctx *c, vkb_tensor *t, vk_view_format f, vk_bind *out);
/* The output pair of the texel kernels: out[0] an RGBA32F image (vec4 != 0) and out[1] an
 * R32F image (vec4 == 0), the unused one bound to the sink. */
int vk_bind_out_images(vk_ctx *c, vkb_tensor *t, int vec4, vk_bind out[2]);
/* A small zeroed range for input bindings an op does not use (bias, residual). Never
 * written, so any number of dispatches read it without a barrier. */
vk_bind vk_bind_dummy(vk_ctx *c);
vk_bind vk_bind_dummy_texel(vk_ctx *c, vk_view_format f);
/* A small range for output bindings a kernel's variant does not use (matmul_texel's Y4 or
 * Y1, the texel kernels' ctx4 or ctx1). It is marked as written, as the validation layer
 * counts it (the shader's store is compiled in, only a specialisation constant turns it
 * off), so two dispatches binding it get a barrier between them; it is never read, so
 * the dummy's zeros and readers stay independent of it. */
vk_bind vk_bind_sink(vk_ctx *c);

/* The largest attention head size this device's attention kernel takes: both keep a query
 * row in registers (at most VK_ATTENTION_MAX_D); the tiled one also needs K and V tiles of at
 * least one key in shared memory (2 * d floats). */
#define VK_ATTENTION_MAX_D 256
static inline int vk_attention_max_head(const vk_ctx *c)
{
    uint32_t by_shared = c->b->info.max_shared_memory / (2 * sizeof(float));
    if (c->texel_kernels || by_shared >= VK_ATTENTION_MAX_D)
        return VK_ATTENTION_MAX_D;
    return (int)by_shared;
}

/* vk_<op>.c: which kernel variant the op runs on this device, with its sizes, in a few
 * words (vk_backend.c logs them as one line per opened device). */
void vk_matmul_describe(const vk_ctx *c, char *buf, size_t len);
void vk_attention_describe(const vk_ctx *c, char *buf, size_t len);
void vk_attention_rel_describe(const vk_ctx *c, char *buf, size_t len);
void vk_layernorm_describe(const vk_ctx *c, char *buf, size_t len);
void vk_embed_describe(const vk_ctx *c, char *buf, size_t len);
void vk_pool_describe(const vk_ctx *c, char *buf, size_t len);
void vk_greedy_match_describe(const vk_ctx *c, char *buf, size_t len);
/* vk_ops*.c: the op set (semantics in vkb_runtime.h) and the weight layout it reads */
int vk_weight_layout(vkb_backend *b, vkb_dtype dtype, int N, int K, int *lanes, int *rn);
int vk_matmul(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
              const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K, vkb_act act);
int vk_attention_rel(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                     const vkb_tensor *lengths, const vkb_tensor *pos, const vkb_tensor *rel,
                     const vkb_rel_attn *ra, int B, int L, int H, int d);
int vk_attention(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                 const vkb_tensor *lengths, int B, int L, int H, int d,
                 const vkb_attn_desc *desc);
int vk_layernorm(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                 const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols, float eps);
int vk_embed(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
             const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
             const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
             vkb_pos_mode pos_mode, int pad_id, float eps);
int vk_pool(vkb_backend *b, vkb_tensor *out, const vkb_tensor *H, const vkb_tensor *lengths,
            int B, int L, int C, int modes, int normalize);
int vk_greedy_match(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T, const vkb_tensor *w,
                    const vkb_tensor *pairs, int P, int C, int max_len);
int vk_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
            size_t src_off, size_t n);

#endif
