/*
 * cpu_layernorm.c — layernorm in plain C, rows split over the thread pool.
 *
 * The reference twin of the Vulkan op (vulkan/vk_layernorm.c), tested against naive
 * double-precision loops in tests/test_cpu_ops.c; layouts and semantics are in vkb_runtime.h.
 */
#include "cpu_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* y = (x - mean) / sqrt(var + eps) * g + beta over one row; sums in double, eight partial
 * sums per pass so the compiler can keep them in vector registers (one running sum is a
 * dependency chain it may not reorder). */
void cpu_layernorm_row(float *y, const float *x, const float *g, const float *beta, int n,
                       float eps)
{
    double part[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int u = 0; u < 8; u++)
            part[u] += x[i + u];
    double s = 0;
    for (; i < n; i++)
        s += x[i];
    for (int u = 0; u < 8; u++)
        s += part[u];
    double mean = s / n, v = 0;
    for (int u = 0; u < 8; u++)
        part[u] = 0;
    for (i = 0; i + 8 <= n; i += 8)
        for (int u = 0; u < 8; u++)
            part[u] += (x[i + u] - mean) * (x[i + u] - mean);
    for (; i < n; i++)
        v += (x[i] - mean) * (x[i] - mean);
    for (int u = 0; u < 8; u++)
        v += part[u];
    double inv = 1.0 / sqrt(v / n + eps);
    for (i = 0; i < n; i++)
        y[i] = (float)((x[i] - mean) * inv) * g[i] + (beta ? beta[i] : 0.0f);
}

/* Rows per pool task: a few tasks per thread at one sentence (16 rows) would be too fine, so
 * short inputs run as one or two tasks. */
#define LN_ROWS_PER_TASK 32

typedef struct ln_job {
    float *y;
    const float *x, *r, *g, *beta;
    int rows, cols;
    float eps;
    int status; /* VKB_ENOMEM when a task could not get its row buffer */
} ln_job;

static void ln_task(void *ctx, int task)
{
    ln_job *j = ctx;
    int r0 = task * LN_ROWS_PER_TASK;
    int r1 = r0 + LN_ROWS_PER_TASK < j->rows ? r0 + LN_ROWS_PER_TASK : j->rows;
    float *sum = NULL;
    if (j->r && !(sum = malloc(sizeof(float) * j->cols))) {
        j->status = VKB_ENOMEM;
        return;
    }
    for (int i = r0; i < r1; i++) {
        const float *xr = j->x + (size_t)i * j->cols;
        if (j->r) {
            const float *rr = j->r + (size_t)i * j->cols;
            for (int c = 0; c < j->cols; c++)
                sum[c] = xr[c] + rr[c];
            xr = sum;
        }
        cpu_layernorm_row(j->y + (size_t)i * j->cols, xr, j->g, j->beta, j->cols, j->eps);
    }
    free(sum);
}

// Y, X, R are (rows, cols); gamma, beta are (cols). Rows run in tasks on the thread pool.
int cpu_layernorm(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                  const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols, float eps)
{
    (void)b;
    ln_job j = {.y = cpu_f32_mut(Y), .x = cpu_f32(X), .r = R ? cpu_f32(R) : NULL,
                .g = cpu_f32(gamma), .beta = beta ? cpu_f32(beta) : NULL, .rows = rows,
                .cols = cols, .eps = eps, .status = VKB_OK};
    cpu_parallel_for((rows + LN_ROWS_PER_TASK - 1) / LN_ROWS_PER_TASK, ln_task, &j);
    return j.status;
}
