/*
 * backend.h — internal: what a backend implementation provides (the CPU one in cpu_*.c, the
 * Vulkan one in vk_*.c). backend.c owns the public vkb_backend_* / vkb_tensor_* / vkb_op_*
 * functions: it checks arguments (sizes, dtypes, aliasing) once, then calls the backend's
 * table, so implementations can trust their inputs.
 */
#ifndef VKB_BACKEND_H
#define VKB_BACKEND_H

#include "vkb_runtime.h"

struct vkb_tensor {
    vkb_backend *b;
    vkb_dtype dtype;
    size_t n;     /* elements */
    size_t bytes; /* n * dtype size */
    void *impl;   /* backend-private: host memory for the CPU, buffer range for Vulkan */
    /* Weights made by vkb_weight_new: W is w_rows x w_cols (N x K). pack_lanes > 0: stored in
     * column blocks of pack_lanes * pack_rn rows (the layout is in weights.c); 0: row-major. */
    int w_rows, w_cols, pack_lanes, pack_rn;
};

typedef struct vkb_backend_ops {
    void (*close)(vkb_backend *b);
    /* Allocate / free t->impl for t->bytes bytes. */
    int (*tensor_alloc)(vkb_backend *b, vkb_tensor *t);
    void (*tensor_free)(vkb_tensor *t);
    /* Byte ranges, already bounds-checked. */
    int (*upload)(vkb_tensor *t, size_t off, const void *src, size_t bytes);
    int (*download)(const vkb_tensor *t, size_t off, void *dst, size_t bytes);
    /* Optional: the layout W (N,K) of dtype should have for this backend's matmul. Returns 1
     * and sets *lanes, *rn for column blocks (weights.c), 0 for row-major. */
    int (*weight_layout)(vkb_backend *b, vkb_dtype dtype, int N, int K, int *lanes, int *rn);
    /* Optional: the limits of this backend's kernels (vkb_caps); NULL: the op set's own. */
    void (*caps)(const vkb_backend *b, vkb_caps *out);
    int (*batch_begin)(vkb_backend *b);
    int (*batch_end)(vkb_backend *b);
    /* The op set; semantics and layouts in vkb_runtime.h. */
    int (*matmul)(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
                  const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K, vkb_act act);
    /* desc: NULL or checked (a bias only with its rule); NULL means BERT's attention. */
    int (*attention)(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                     const vkb_tensor *lengths, int B, int L, int H, int d,
                     const vkb_attn_desc *desc);
    int (*attention_rel)(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                         const vkb_tensor *lengths, const vkb_tensor *pos,
                         const vkb_tensor *rel, const vkb_rel_attn *ra, int B, int L, int H,
                         int d);
    int (*layernorm)(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                     const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols,
                     float eps);
    int (*embed)(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
                 const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
                 const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
                 vkb_pos_mode pos_mode, int pad_id, float eps);
    int (*pool)(vkb_backend *b, vkb_tensor *out, const vkb_tensor *H, const vkb_tensor *lengths,
                int B, int L, int C, int modes, int normalize);
    int (*greedy_match)(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T,
                        const vkb_tensor *w, const vkb_tensor *pairs, int P, int C,
                        int max_len);
    int (*copy)(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
                size_t src_off, size_t n);
} vkb_backend_ops;

#define VKB_MAX_TIMINGS 4096
/* The op set's own limit on attention's sequence length: bge-m3's 8192 positions. Every
 * attention kernel streams the keys with the online softmax (nothing of size L x L is
 * stored), so the limit is not memory but lavapipe's budget of 65535 loop iterations per
 * invocation: the tiled kernel iterates about 3L times, the texel kernels L/8 (shaders/). */
#define VKB_ATTENTION_MAX_L 8192
/* The T5/MPNet bucket rule is exact in float32 only for |j - i| < 1024 (position_bias.glsl);
 * MPNet's table has 514 positions, so no model meets this limit. */
#define VKB_ATTENTION_T5_MAX_L 1024

struct vkb_backend {
    const vkb_backend_ops *ops;
    char id[32];            /* "cpu", "vulkan:0" */
    char device_name[256];
    char choice[256];       /* opened as "auto": which device and why (vkb_device_auto) */
    int has_info;
    vkb_device_info info;   /* valid when has_info */
    int supports_f16;
    uint64_t bytes_in_use, bytes_peak;
    int recording;          /* between vkb_batch_begin and vkb_batch_end */
    int auto_batch;         /* the current recording was opened by a lone op */
    int batch_status;       /* first error recorded in this batch */
    int timing;             /* vkb_backend_set_timing: timestamp the dispatches */
    /* Timings of the last batch: names of recorded ops and GPU ms (-1 unknown). */
    int n_timings;
    const char *timing_names[VKB_MAX_TIMINGS];
    double timing_ms[VKB_MAX_TIMINGS];
    char op_error[256];     /* why the last refused op was refused (vkb_backend_op_error) */
    void *impl;             /* backend-private state */
};

/* Implementations' open functions: fill b (ops, id, names, impl). */
int cpu_backend_open(vkb_backend *b, char *err, size_t errlen);
/* device_index < 0: best device. Returns VKB_EDEVICE with a clear line when Vulkan or the
 * device is unavailable. */
int vk_backend_open(vkb_backend *b, int device_index, char *err, size_t errlen);

/* vkb_set_err (the runtime libraries' snprintf-into-err helper) is in vkb_runtime.h. */

#endif
