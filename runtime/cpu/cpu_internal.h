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

/* ---- the thread pool (cpu_threads.c) ---- */

/* Threads a loop runs on, the caller included (VKB_CPU_THREADS, default the online CPUs). */
int cpu_threads(void);
/* fn(ctx, i) for i in 0..n-1 across the pool; returns when every call has returned. */
void cpu_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx);

/* ---- kernels by instruction set (cpu_isa.c picks one table per process) ---- */

typedef enum cpu_isa { CPU_ISA_OPENBLAS, CPU_ISA_GENERIC, CPU_ISA_AVX2, CPU_ISA_AVX512 } cpu_isa;

#define CPU_MAX_MR 8
#define CPU_MAX_NR 32

typedef struct cpu_kernels {
    cpu_isa isa;
    const char *name;       /* "avx512", "avx2", "generic", "openblas" */
    int mr, nr;             /* one tile: mr rows of X times one panel of nr columns of W */
    /* tile (CPU_MAX_MR x nr, row stride nr) = A (rows x K, row stride lda) · panel, where the
     * panel is nr columns of W packed k-major (panel[k*nr + j] = W[n0 + j, k]); rows <= mr,
     * rows past it are left unwritten. */
    void (*tile)(int K, const float *A, size_t lda, int rows, const float *panel, float *tile);
    /* y[0..n) = act(acc + bias) + r; bias and r may be NULL; n <= nr. */
    void (*epilogue)(float *y, const float *acc, const float *bias, const float *r, int n,
                     vkb_act act);
    /* x[0..n) = exp(x - sub); returns their sum. */
    float (*exp_sub_sum)(float *x, int n, float sub);
} cpu_kernels;

/* act(x) with libm (cpu_kern_generic.c): the reference every table's epilogue is tested to. */
float cpu_act_ref(float x, vkb_act act);

extern const cpu_kernels cpu_kernels_generic, cpu_kernels_avx2, cpu_kernels_avx512;

/* The process's table: the best the CPU runs, or VKB_CPU_ISA=avx512|avx2|generic|openblas
 * (an ISA the CPU lacks falls back to the best it has, with a warning). openblas is the
 * previous path, kept to measure against: sgemm for every product, scalar epilogues. */
const cpu_kernels *cpu_kernels_get(void);
/* The table for one ISA, NULL when this CPU cannot run it (tests). */
const cpu_kernels *cpu_kernels_for(cpu_isa isa);

/* Y = act(X Wᵀ + bias) + R with our kernels (cpu_gemm.c); W packed (pack_lanes == k->nr) or
 * row-major (packed per call). */
int cpu_gemm(const cpu_kernels *k, float *Y, const float *X, const vkb_tensor *W,
             const float *bias, const float *R, int M, int N, int K, vkb_act act);
/* Rewrite one uploaded block of weights.c's layout (lanes = nr, rn = 1: [K/4][nr][4]) into
 * the panel layout the tile kernels read ([K][nr]). */
void cpu_panel_from_blocked(float *dst, const float *src, int nr, int K);
/* Attention with our kernels (cpu_attention_fused.c): per (batch, head) the scores live in a
 * per-task buffer, never in a tensor. */
int cpu_attention_fused(const cpu_kernels *k, float *ctx, const float *qkv, const int32_t *len,
                        int B, int L, int H, int d, float scale);

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
                     const vkb_tensor *pairs, int P, int C, int max_len);
int cpu_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
             size_t src_off, size_t n);

#endif
