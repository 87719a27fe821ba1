/*
 * cpu_gemm.c — Y = act(X Wᵀ + bias) + R on the CPU backend's own kernels and thread pool.
 *
 * W (N,K) is read as panels of nr columns, each packed k-major: panel p holds
 * W[p*nr + j, k] at p*nr*K + k*nr + j (columns past N are zeros), so a tile kernel's step of k
 * is nr consecutive floats. Matmul weights are stored that way once at load (the backend's
 * weight_layout asks weights.c for blocks of nr rows; cpu_upload rewrites each block into a
 * panel); any other W is packed per call.
 *
 * Work split: a task is a chunk of rows times a run of panels. Within a task the tile loop
 * keeps one tile's rows of X (rows x K) hot in L1 across the run of panels, and the run
 * (at most ~512 KiB) in L2 across the rows. Small products (one sentence: M = 16) get runs
 * short enough that every thread has a few tasks. The epilogue (bias, activation, residual)
 * is applied to each tile while it is in L1: Y is written once.
 */
#include "cpu_internal.h"
#include "vkb_platform.h"

#include <stdlib.h>
#include <string.h>

#define ROWS_PER_TASK 64
#define PANEL_RUN_BYTES (512 * 1024)

void cpu_panel_from_blocked(float *dst, const float *src, int nr, int K)
{
    for (int t = 0; t < K / 4; t++)
        for (int l = 0; l < nr; l++)
            for (int i = 0; i < 4; i++)
                dst[(size_t)(4 * t + i) * nr + l] = src[((size_t)t * nr + l) * 4 + i];
}

/* Row-major W (N,K) into panels of nr columns; dst holds ceil(N/nr) * nr * K floats. */
static void pack_panels(float *dst, const float *w, int N, int K, int nr)
{
    int panels = (N + nr - 1) / nr;
    for (int p = 0; p < panels; p++) {
        float *d = dst + (size_t)p * nr * K;
        for (int j = 0; j < nr; j++) {
            int n = p * nr + j;
            for (int k = 0; k < K; k++)
                d[(size_t)k * nr + j] = n < N ? w[(size_t)n * K + k] : 0.0f;
        }
    }
}

typedef struct gemm_job {
    const cpu_kernels *k;
    float *Y;
    const float *X, *panels, *bias, *R;
    int M, N, K;
    vkb_act act;
    int n_panels, run, n_chunks, chunk_rows;
} gemm_job;

static void gemm_task(void *ctx, int i)
{
    const gemm_job *j = ctx;
    const cpu_kernels *k = j->k;
    int p0 = i / j->n_chunks * j->run, p1 = p0 + j->run < j->n_panels ? p0 + j->run : j->n_panels;
    int m0 = i % j->n_chunks * j->chunk_rows;
    int m1 = m0 + j->chunk_rows < j->M ? m0 + j->chunk_rows : j->M;
    _Alignas(64) float tile[CPU_MAX_MR * CPU_MAX_NR];
    for (int m = m0; m < m1; m += k->mr) {
        int rows = m1 - m < k->mr ? m1 - m : k->mr;
        for (int p = p0; p < p1; p++) {
            k->tile(j->K, j->X + (size_t)m * j->K, (size_t)j->K, rows,
                    j->panels + (size_t)p * k->nr * j->K, tile);
            int n0 = p * k->nr, cols = j->N - n0 < k->nr ? j->N - n0 : k->nr;
            for (int r = 0; r < rows; r++) {
                size_t at = (size_t)(m + r) * j->N + n0;
                k->epilogue(j->Y + at, tile + (size_t)r * k->nr, j->bias ? j->bias + n0 : NULL,
                            j->R ? j->R + at : NULL, cols, j->act);
            }
        }
    }
}

int cpu_gemm(const cpu_kernels *k, float *Y, const float *X, const vkb_tensor *W,
             const float *bias, const float *R, int M, int N, int K, vkb_act act)
{
    float *packed = NULL;
    const float *panels = cpu_f32(W);
    if (W->pack_lanes != k->nr) {
        if (W->pack_lanes) /* blocked for another table: cannot happen within one process */
            return VKB_EINVAL;
        size_t n = (size_t)(N + k->nr - 1) / k->nr * k->nr * K;
        packed = vkb_aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
        if (!packed)
            return VKB_ENOMEM;
        pack_panels(packed, panels, N, K, k->nr);
        panels = packed;
    }
    gemm_job j = {.k = k, .Y = Y, .X = X, .panels = panels, .bias = bias, .R = R,
                  .M = M, .N = N, .K = K, .act = act};
    j.n_panels = (N + k->nr - 1) / k->nr;
    j.chunk_rows = ROWS_PER_TASK;
    j.n_chunks = (M + j.chunk_rows - 1) / j.chunk_rows;
    size_t panel_bytes = (size_t)k->nr * K * sizeof(float);
    int run = (int)(PANEL_RUN_BYTES / panel_bytes);
    run = run < 1 ? 1 : run;
    /* At least ~4 tasks per thread when the rows alone do not give them. */
    int want = 4 * cpu_threads();
    if (j.n_chunks < want) {
        int runs = (want + j.n_chunks - 1) / j.n_chunks;
        int short_run = (j.n_panels + runs - 1) / runs;
        run = short_run < run ? short_run : run;
    }
    run = run < 1 ? 1 : run;
    int runs = (j.n_panels + run - 1) / run;
    j.run = (j.n_panels + runs - 1) / runs; /* equal runs: 12 panels as 6 + 6, not 10 + 2 */
    int tasks = j.n_chunks * ((j.n_panels + j.run - 1) / j.run);
    cpu_parallel_for(tasks, gemm_task, &j);
    vkb_aligned_free(packed);
    return VKB_OK;
}
