/*
 * cblas.h — the one CBLAS function the CPU backend calls, for builds without OpenBLAS (the
 * Windows cross build: cmake/windows.cmake). Same declaration as the CBLAS standard, so the
 * backend's code is the same on every platform; the definition is sgemm.c.
 */
#ifndef VKB_FALLBACK_CBLAS_H
#define VKB_FALLBACK_CBLAS_H

typedef enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 } CBLAS_ORDER;
typedef enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 } CBLAS_TRANSPOSE;

/* C (M,N) = alpha op(A) op(B) + beta C, op(A) (M,K), op(B) (K,N); lda/ldb/ldc are row (or,
 * column-major, column) strides. beta == 0 overwrites C without reading it, as BLAS does. */
void cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b, int M,
                 int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);

#endif
