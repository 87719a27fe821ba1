/*
 * helper_ops.h — what the Vulkan op tests share: a CPU backend and a Vulkan backend side by
 * side, tensors uploaded to both ("twins"), outputs poisoned with NaN, and comparison.
 */
#ifndef VKB_HELPER_OPS_H
#define VKB_HELPER_OPS_H

#include "vkb_runtime.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ops_pair {
    vkb_backend *cpu, *vk;
    const char *name; /* printed in failures, e.g. "cpu" / "gpu" for the kernel variant */
    char err[256];
} ops_pair;

/* The same data on both backends. */
typedef struct ops_twin {
    vkb_tensor *cpu, *vk;
} ops_twin;

/* Opens "cpu" and "vulkan" (env VKB_KERNELS etc. apply); on failure err says why. */
int ops_pair_open(ops_pair *p, const char *name);
void ops_pair_close(ops_pair *p);

/* n random floats in [-1, 1), never zero (malloc'd). */
float *ops_rand(size_t n);
ops_twin ops_twin_f32(ops_pair *p, const float *v, size_t n);
/* v rounded to halves, uploaded as F16 on both. */
ops_twin ops_twin_f16(ops_pair *p, const float *v, size_t n);
ops_twin ops_twin_i32(ops_pair *p, const int32_t *v, size_t n);
/* v as an (N,K) matmul weight (vkb_weight_new) of dtype on both (rounded to halves for F16),
 * written in one call, or (chunked) in pieces of one row step plus a short tail. */
ops_twin ops_twin_weight(ops_pair *p, const float *v, int N, int K, vkb_dtype dtype,
                         int chunked);
/* n F32 elements, all NaN. */
ops_twin ops_twin_poison(ops_pair *p, size_t n);
void ops_twin_free(ops_twin *t);
/* The tensor's F32 contents (malloc'd), or NULL. */
float *ops_download(const vkb_tensor *t);
/* tl_rel_err(vulkan, cpu) over the first n elements; INFINITY if a download fails. */
double ops_compare(const ops_twin *t, size_t n);

#endif
