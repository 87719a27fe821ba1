/*
 * cpu_internal.h — internal to the CPU backend (cpu_backend.c and one cpu_<op>.c per op family).
 */
#ifndef VKB_CPU_INTERNAL_H
#define VKB_CPU_INTERNAL_H

#include "backend.h"

typedef struct cpu_tensor {
    void *data;  /* t->bytes of the tensor's dtype */
    float *wide; /* F16 tensors only: the same values widened to f32 */
} cpu_tensor;

/* The tensor's values as f32 (F32 data, or the widened copy of F16). */
static inline const float *cpu_f32(const vkb_tensor *t)
{
    const cpu_tensor *ct = t->impl;
    return t->dtype == VKB_F16 ? ct->wide : (const float *)ct->data;
}
static inline float *cpu_f32_mut(vkb_tensor *t) { return (float *)((cpu_tensor *)t->impl)->data; }
static inline const int32_t *cpu_i32(const vkb_tensor *t)
{
    return (const int32_t *)((const cpu_tensor *)t->impl)->data;
}

/* One row: y = (x - mean) / sqrt(var + eps) * g + beta (beta may be NULL); shared by
 * layernorm and embed. */
void cpu_layernorm_row(float *y, const float *x, const float *g, const float *beta, int n,
                       float eps);

int cpu_matmul(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
               const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K, vkb_act act);
int cpu_attention_rel(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                      const vkb_tensor *lengths, const vkb_tensor *pos, const vkb_tensor *rel,
                      const vkb_rel_attn *ra, int B, int L, int H, int d);
int cpu_attention(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                  const vkb_tensor *lengths, int B, int L, int H, int d,
                  const vkb_attn_desc *desc);
int cpu_layernorm(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                  const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols, float eps);
int cpu_embed(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
              const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
              const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
              vkb_pos_mode pos_mode, int pad_id, float eps);
int cpu_pool(vkb_backend *b, vkb_tensor *out, const vkb_tensor *H, const vkb_tensor *lengths,
             int B, int L, int C, int modes, int normalize);
int cpu_greedy_match(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T, const vkb_tensor *w,
                     const vkb_tensor *pairs, int P, int C);
int cpu_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
             size_t src_off, size_t n);

#endif
