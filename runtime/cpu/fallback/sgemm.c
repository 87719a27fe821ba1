/*
 * sgemm.c — a plain C cblas_sgemm for builds without OpenBLAS (cmake/windows.cmake).
 *
 * Correct first: the loops are ordered so the innermost one walks contiguous memory in the
 * two shapes the backend uses (X·Wᵀ: a dot product of two rows, in eight partial sums; P·V:
 * a row of B scaled into a row of C), with float accumulators like OpenBLAS's. Not tuned: the vectorised CPU kernels
 * are another piece of work. tests/test_cpu_ops.c (run under wine by tests/test_windows.sh)
 * checks every op built on it against double-precision loops.
 */
#include "cblas.h"

#include <stddef.h>

/* a · b over K floats. Eight partial sums, one per lane, so the compiler can keep them in
 * vector registers (a single running sum is a chain of dependent adds it may not reorder). */
static float dot(const float *a, const float *b, int K)
{
    float lane[8] = {0};
    int k = 0;
    for (; k + 8 <= K; k += 8)
        for (int j = 0; j < 8; j++)
            lane[j] += a[k + j] * b[k + j];
    float acc = 0.0f;
    for (; k < K; k++)
        acc += a[k] * b[k];
    return acc + ((lane[0] + lane[4]) + (lane[1] + lane[5])) +
           ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

/* Row-major only; column-major calls are turned into it below. */
static void sgemm_rows(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int m = 0; m < M; m++) {
        float *c = C + (size_t)m * ldc;
        for (int n = 0; n < N; n++)
            c[n] = beta == 0.0f ? 0.0f : beta * c[n];
        if (tb && !ta) { // B is (N,K): C[m][n] += alpha * dot(A row m, B row n)
            for (int n = 0; n < N; n++)
                c[n] += alpha * dot(A + (size_t)m * lda, B + (size_t)n * ldb, K);
        } else if (tb) {
            for (int n = 0; n < N; n++) {
                const float *b = B + (size_t)n * ldb;
                float acc = 0.0f;
                for (int k = 0; k < K; k++)
                    acc += (ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k]) * b[k];
                c[n] += alpha * acc;
            }
        } else { // B is (K,N): C row m += alpha * op(A)[m][k] * B row k
            for (int k = 0; k < K; k++) {
                float a = alpha * (ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k]);
                const float *b = B + (size_t)k * ldb;
                for (int n = 0; n < N; n++)
                    c[n] += a * b[n];
            }
        }
    }
}

void cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b, int M,
                 int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc)
{
    int ta = trans_a != CblasNoTrans, tb = trans_b != CblasNoTrans;
    if (M <= 0 || N <= 0)
        return;
    if (order == CblasRowMajor)
        sgemm_rows(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else // column-major C is row-major Cᵀ = op(B)ᵀ op(A)ᵀ
        sgemm_rows(tb, ta, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc);
}
