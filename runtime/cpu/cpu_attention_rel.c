/*
 * cpu_attention_rel.c — DeBERTa's disentangled attention on the CPU (semantics in
 * vkb_runtime.h, vkb_op_attention_rel). The oracle of attention_rel*.comp; its own proof
 * against a double-precision loop is tests/test_op_attention_rel.c.
 *
 * Per (sequence, head) three products go to sgemm: Q·Kᵀ and Q·Pkᵀ per block of QBLOCK
 * queries, (qb, n) and (qb, P), and K·Pqᵀ (n, P) once; the position terms are then gathered
 * from the last two by the relative index, so nothing beyond (max(qb, n), max(n, P)) is
 * stored: never (L, L).
 */
#include "cpu_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { QBLOCK = 256 }; /* queries per block */

static void softmax_row(float *x, int n)
{
    float mx = x[0];
    for (int j = 1; j < n; j++)
        mx = x[j] > mx ? x[j] : mx;
    double sum = 0;
    for (int j = 0; j < n; j++) {
        x[j] = expf(x[j] - mx);
        sum += x[j];
    }
    float inv = (float)(1.0 / sum);
    for (int j = 0; j < n; j++)
        x[j] *= inv;
}

// qkv is (B*L, 3*H*d), pos is (P, ld), rel is (2L-1), ctx is (B*L, H*d)
int cpu_attention_rel(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                      const vkb_tensor *lengths, const vkb_tensor *pos, const vkb_tensor *rel,
                      const vkb_rel_attn *ra, int B, int L, int H, int d)
{
    (void)b;
    const float *in = cpu_f32(qkv), *pt = pos ? cpu_f32(pos) : NULL;
    const int32_t *len = cpu_i32(lengths), *ri = cpu_i32(rel);
    float *out = cpu_f32_mut(ctx);
    const int hd = H * d, ld_in = 3 * hd, P = pos ? ra->rows : 1;
    const int c2p = pos && ra->pk_col >= 0, p2c = pos && ra->pq_col >= 0;
    int rc = VKB_OK;
    const int qb = L < QBLOCK ? L : QBLOCK;
    float *scores = malloc(sizeof(float) * (size_t)qb * L);           // (qb queries, n keys)
    float *qp = c2p ? malloc(sizeof(float) * (size_t)qb * P) : NULL;  // (qb, P): q_i · Pk[r]
    float *kp = p2c ? malloc(sizeof(float) * (size_t)L * P) : NULL;   // (n, P): k_j · Pq[r]
    int32_t *row = malloc(sizeof(int32_t) * (size_t)(2 * L - 1));     // rel, clamped to 0..P-1
    if (!scores || !row || (c2p && !qp) || (p2c && !kp)) {
        rc = VKB_ENOMEM;
        goto cleanup;
    }
    for (int i = 0; i < 2 * L - 1; i++)
        row[i] = ri[i] < 0 ? 0 : ri[i] >= P ? P - 1 : ri[i];
    for (int bi = 0; bi < B; bi++) {
        int n = len[bi] < 0 ? 0 : len[bi] > L ? L : len[bi];
        const float *base = in + (size_t)bi * L * ld_in;
        float *obase = out + (size_t)bi * L * hd;
        for (int h = 0; h < H; h++) {
            const float *q = base + h * d, *k = base + hd + h * d, *v = base + 2 * hd + h * d;
            float *o = obase + h * d;
            if (n == 0) { /* no real key: nothing to attend to */
                for (int t = 0; t < L; t++)
                    memset(o + (size_t)t * hd, 0, sizeof(float) * d);
                continue;
            }
            if (p2c)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, P, d, 1.0f, k, ld_in,
                            pt + ra->pq_col + h * d, ra->ld, 0.0f, kp, P);
            for (int t0 = 0; t0 < L; t0 += qb) {
                int m = L - t0 < qb ? L - t0 : qb;
                const float *qt = q + (size_t)t0 * ld_in;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, d, 1.0f, qt, ld_in, k,
                            ld_in, 0.0f, scores, n);
                if (c2p)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, P, d, 1.0f, qt,
                                ld_in, pt + ra->pk_col + h * d, ra->ld, 0.0f, qp, P);
                for (int tt = 0; tt < m; tt++) {
                    int t = t0 + tt;
                    float *s = scores + (size_t)tt * n;
                    for (int j = 0; j < n; j++) {
                        int r = row[t - j + L - 1];
                        float x = s[j];
                        if (c2p)
                            x += qp[(size_t)tt * P + r];
                        if (p2c)
                            x += kp[(size_t)j * P + r];
                        s[j] = x * ra->scale;
                    }
                    softmax_row(s, n);
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, n, 1.0f, scores, n,
                            v, ld_in, 0.0f, o + (size_t)t0 * hd, hd);
            }
        }
    }
cleanup:
    free(scores);
    free(qp);
    free(kp);
    free(row);
    return rc;
}
