/*
 * cpu_attention_fused.c — attention on the CPU backend's own kernels: one task per (batch,
 * head) on the thread pool; per query the scores over the real keys live in a task buffer of
 * n floats (never a score matrix in memory), softmax with the table's vector exp, then the
 * weighted sum of V rows.
 *
 * Per task: Kᵀ of the head, scaled, is copied into kt (d x np, np = n rounded up to 16,
 * columns past n zero), so a query's scores are 16-wide multiply-adds over contiguous rows of
 * kt; the output is 16-wide multiply-adds over V's rows. head_body is written once and
 * compiled three times (AVX-512, AVX2+FMA, baseline x86-64, by target attributes; the
 * table's ISA chooses which runs) with its two inner loops passed in: explicit intrinsics for
 * AVX-512 and AVX2 (GCC vectorised the output loop only partly: AVX-512 27.7 -> 18.8 ms of
 * CPU for 32x12x128x32 on one thread, AVX2 75.5 -> see PERF.md), plain C loops the compiler
 * vectorises for the baseline.
 */
#include "cpu_internal.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define VW 16 /* keys (scores) or output columns per inner block */

typedef struct attn_job {
    const cpu_kernels *k;
    float *ctx;
    const float *qkv;
    const int32_t *len;
    int B, L, H, d;
    float scale;
    int status;  /* VKB_ENOMEM when a task could not get its buffer */
} attn_job;

// qkv is (B*L, 3*H*d): row t holds Q, K, V of every head; ctx is (B*L, H*d)
typedef float scores_fn(float *s, const float *q, const float *kt, int d, int np, int n);
typedef void context_fn(float *o, const float *p, const float *vh, size_t ld, int n, int d,
                        float inv);

/* s[0..np) = q · kt[:, x] (kt is d x np); returns the largest of s[0..n) */
static inline __attribute__((always_inline)) float scores_loops(float *s, const float *q,
                                                                const float *kt, int d, int np,
                                                                int n)
{
    for (int x0 = 0; x0 < np; x0 += VW) {
        float acc[VW] = {0};
        for (int c = 0; c < d; c++) {
            const float *kr = kt + (size_t)c * np + x0;
            for (int u = 0; u < VW; u++)
                acc[u] += q[c] * kr[u];
        }
        memcpy(s + x0, acc, sizeof acc);
    }
    float mx = -FLT_MAX;
    for (int x = 0; x < n; x++)
        mx = s[x] > mx ? s[x] : mx;
    return mx;
}

/* o[0..d) = inv * sum_x p[x] v[x] (v's rows ld apart) */
static inline __attribute__((always_inline)) void context_loops(float *o, const float *p,
                                                                const float *vh, size_t ld,
                                                                int n, int d, float inv)
{
    int c0 = 0;
    for (; c0 + VW <= d; c0 += VW) {
        float acc[VW] = {0};
        for (int x = 0; x < n; x++) {
            const float *vr = vh + (size_t)x * ld + c0;
            for (int u = 0; u < VW; u++)
                acc[u] += p[x] * vr[u];
        }
        for (int u = 0; u < VW; u++)
            o[c0 + u] = acc[u] * inv;
    }
    for (int c = c0; c < d; c++) { /* d % 16 columns left */
        float acc = 0;
        for (int x = 0; x < n; x++)
            acc += p[x] * vh[(size_t)x * ld + c];
        o[c] = acc * inv;
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TARGET512 __attribute__((target("avx512f,fma")))

/* The same sums with explicit 16-lane FMAs: GCC vectorised context_loops only partly. */
/* Lanes x0 .. x0+15 that are real keys (< n). */
TARGET512 static inline __mmask16 keys_mask(int x0, int n)
{
    return n - x0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - x0)) - 1);
}

TARGET512 static float scores_avx512(float *s, const float *q, const float *kt, int d, int np,
                                     int n)
{
    __m512 mx = _mm512_set1_ps(-FLT_MAX);
    int x0 = 0;
    for (; x0 + 4 * VW <= np; x0 += 4 * VW) { /* four key blocks share each broadcast */
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < d; c++) {
            const float *kr = kt + (size_t)c * np + x0;
            __m512 qc = _mm512_set1_ps(q[c]);
            a0 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(kr), a0);
            a1 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(kr + 16), a1);
            a2 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(kr + 32), a2);
            a3 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(kr + 48), a3);
        }
        _mm512_storeu_ps(s + x0, a0);
        _mm512_storeu_ps(s + x0 + 16, a1);
        _mm512_storeu_ps(s + x0 + 32, a2);
        _mm512_storeu_ps(s + x0 + 48, a3);
        mx = _mm512_mask_max_ps(mx, keys_mask(x0, n), mx, a0);
        mx = _mm512_mask_max_ps(mx, keys_mask(x0 + 16, n), mx, a1);
        mx = _mm512_mask_max_ps(mx, keys_mask(x0 + 32, n), mx, a2);
        mx = _mm512_mask_max_ps(mx, keys_mask(x0 + 48, n), mx, a3);
    }
    for (; x0 < np; x0 += VW) {
        __m512 a = _mm512_setzero_ps();
        for (int c = 0; c < d; c++)
            a = _mm512_fmadd_ps(_mm512_set1_ps(q[c]), _mm512_loadu_ps(kt + (size_t)c * np + x0), a);
        _mm512_storeu_ps(s + x0, a);
        mx = _mm512_mask_max_ps(mx, keys_mask(x0, n), mx, a);
    }
    return _mm512_reduce_max_ps(mx);
}

TARGET512 static void context_avx512(float *o, const float *p, const float *vh, size_t ld, int n,
                                     int d, float inv)
{
    for (int c0 = 0; c0 < d; c0 += VW) {
        __mmask16 m = d - c0 >= VW ? (__mmask16)0xffff : (__mmask16)((1u << (d - c0)) - 1);
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int x = 0;
        for (; x + 4 <= n; x += 4) { /* four chains: the FMA latency, not its rate, bound two */
            const float *v = vh + (size_t)x * ld + c0;
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(p[x]), _mm512_maskz_loadu_ps(m, v), a0);
            a1 = _mm512_fmadd_ps(_mm512_set1_ps(p[x + 1]), _mm512_maskz_loadu_ps(m, v + ld), a1);
            a2 = _mm512_fmadd_ps(_mm512_set1_ps(p[x + 2]), _mm512_maskz_loadu_ps(m, v + 2 * ld),
                                 a2);
            a3 = _mm512_fmadd_ps(_mm512_set1_ps(p[x + 3]), _mm512_maskz_loadu_ps(m, v + 3 * ld),
                                 a3);
        }
        for (; x < n; x++)
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(p[x]),
                                 _mm512_maskz_loadu_ps(m, vh + (size_t)x * ld + c0), a0);
        a0 = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
        _mm512_mask_storeu_ps(o + c0, m, _mm512_mul_ps(a0, _mm512_set1_ps(inv)));
    }
}

#define TARGET2 __attribute__((target("avx2,fma")))

/* The same sums with explicit 8-lane FMAs for AVX2 (GCC's vectorisation of the plain loops
 * ran 4x slower than the AVX-512 intrinsics, twice the lane count alone explains). Eight
 * accumulators wherever the shape allows: two FMA ports of four cycles' latency need eight
 * independent chains to stay busy. */
/* Lanes 0..n-1 of 8 (n may be <= 0 or > 8). */
TARGET2 static inline __m256i lanes8(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* m with the lanes of a that are real keys (x0 + lane < n) folded in by max */
TARGET2 static inline __m256 max_keys8(__m256 m, __m256 a, int x0, int n)
{
    __m256 real = _mm256_castsi256_ps(lanes8(n - x0));
    return _mm256_max_ps(m, _mm256_blendv_ps(_mm256_set1_ps(-FLT_MAX), a, real));
}

TARGET2 static float scores_avx2(float *s, const float *q, const float *kt, int d, int np, int n)
{
    __m256 mx = _mm256_set1_ps(-FLT_MAX);
    int x0 = 0;
    for (; x0 + 64 <= np; x0 += 64) { /* eight key blocks share each broadcast */
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m256 a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int c = 0; c < d; c++) {
            const float *kr = kt + (size_t)c * np + x0;
            __m256 qc = _mm256_broadcast_ss(q + c);
            a0 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr), a0);
            a1 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr + 8), a1);
            a2 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr + 16), a2);
            a3 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr + 24), a3);
            a4 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr + 32), a4);
            a5 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr + 40), a5);
            a6 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr + 48), a6);
            a7 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr + 56), a7);
        }
        __m256 a[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
        for (int u = 0; u < 8; u++) {
            _mm256_storeu_ps(s + x0 + 8 * u, a[u]);
            mx = max_keys8(mx, a[u], x0 + 8 * u, n);
        }
    }
    for (; x0 < np; x0 += VW) { /* the last 16, 32 or 48 keys, 16 at a time */
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        for (int c = 0; c < d; c++) {
            const float *kr = kt + (size_t)c * np + x0;
            __m256 qc = _mm256_broadcast_ss(q + c);
            a0 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr), a0);
            a1 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kr + 8), a1);
        }
        _mm256_storeu_ps(s + x0, a0);
        _mm256_storeu_ps(s + x0 + 8, a1);
        mx = max_keys8(mx, a0, x0, n);
        mx = max_keys8(mx, a1, x0 + 8, n);
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

TARGET2 static void context_avx2(float *o, const float *p, const float *vh, size_t ld, int n,
                                 int d, float inv)
{
    __m256 vinv = _mm256_set1_ps(inv);
    int c0 = 0;
    for (; c0 + 32 <= d; c0 += 32) { /* 32 columns, two keys per step: eight chains */
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int x = 0;
        for (; x + 2 <= n; x += 2) {
            const float *v = vh + (size_t)x * ld + c0, *w = v + ld;
            __m256 px = _mm256_broadcast_ss(p + x), py = _mm256_broadcast_ss(p + x + 1);
            a0 = _mm256_fmadd_ps(px, _mm256_loadu_ps(v), a0);
            a1 = _mm256_fmadd_ps(px, _mm256_loadu_ps(v + 8), a1);
            a2 = _mm256_fmadd_ps(px, _mm256_loadu_ps(v + 16), a2);
            a3 = _mm256_fmadd_ps(px, _mm256_loadu_ps(v + 24), a3);
            b0 = _mm256_fmadd_ps(py, _mm256_loadu_ps(w), b0);
            b1 = _mm256_fmadd_ps(py, _mm256_loadu_ps(w + 8), b1);
            b2 = _mm256_fmadd_ps(py, _mm256_loadu_ps(w + 16), b2);
            b3 = _mm256_fmadd_ps(py, _mm256_loadu_ps(w + 24), b3);
        }
        if (x < n) {
            const float *v = vh + (size_t)x * ld + c0;
            __m256 px = _mm256_broadcast_ss(p + x);
            a0 = _mm256_fmadd_ps(px, _mm256_loadu_ps(v), a0);
            a1 = _mm256_fmadd_ps(px, _mm256_loadu_ps(v + 8), a1);
            a2 = _mm256_fmadd_ps(px, _mm256_loadu_ps(v + 16), a2);
            a3 = _mm256_fmadd_ps(px, _mm256_loadu_ps(v + 24), a3);
        }
        _mm256_storeu_ps(o + c0, _mm256_mul_ps(_mm256_add_ps(a0, b0), vinv));
        _mm256_storeu_ps(o + c0 + 8, _mm256_mul_ps(_mm256_add_ps(a1, b1), vinv));
        _mm256_storeu_ps(o + c0 + 16, _mm256_mul_ps(_mm256_add_ps(a2, b2), vinv));
        _mm256_storeu_ps(o + c0 + 24, _mm256_mul_ps(_mm256_add_ps(a3, b3), vinv));
    }
    for (; c0 < d; c0 += 8) { /* 8 columns (the last masked), four keys per step */
        __m256i m = lanes8(d - c0);
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int x = 0;
        for (; x + 4 <= n; x += 4) {
            const float *v = vh + (size_t)x * ld + c0;
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + x), _mm256_maskload_ps(v, m), a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + x + 1), _mm256_maskload_ps(v + ld, m),
                                 a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + x + 2),
                                 _mm256_maskload_ps(v + 2 * ld, m), a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + x + 3),
                                 _mm256_maskload_ps(v + 3 * ld, m), a3);
        }
        for (; x < n; x++)
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + x),
                                 _mm256_maskload_ps(vh + (size_t)x * ld + c0, m), a0);
        a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
        _mm256_maskstore_ps(o + c0, m, _mm256_mul_ps(a0, vinv));
    }
}

#endif

static inline __attribute__((always_inline)) void head_body(attn_job *j, int task,
                                                            scores_fn *scores, context_fn *context)
{
    const int L = j->L, H = j->H, d = j->d, hd = H * d, ld = 3 * hd;
    int bi = task / H, h = task % H;
    int n = j->len[bi] < 0 ? 0 : j->len[bi] > L ? L : j->len[bi];
    const float *base = j->qkv + (size_t)bi * L * ld;
    float *obase = j->ctx + (size_t)bi * L * hd + h * d;
    if (n == 0) { /* no real key: nothing to attend to */
        for (int t = 0; t < L; t++)
            memset(obase + (size_t)t * hd, 0, sizeof(float) * d);
        return;
    }
    int np = (n + VW - 1) / VW * VW;
    float *kt = malloc(sizeof(float) * ((size_t)d * np + np));
    if (!kt) {
        j->status = VKB_ENOMEM;
        return;
    }
    float *s = kt + (size_t)d * np;
    const float *kh = base + hd + h * d, *vh = base + 2 * hd + h * d;
    for (int c = 0; c < d; c++) {
        float *row = kt + (size_t)c * np;
        for (int x = 0; x < n; x++)
            row[x] = kh[(size_t)x * ld + c] * j->scale;
        for (int x = n; x < np; x++)
            row[x] = 0.0f;
    }
    for (int t = 0; t < L; t++) {
        const float *q = base + (size_t)t * ld + h * d;
        float mx = scores(s, q, kt, d, np, n);
        float inv = 1.0f / j->k->exp_sub_sum(s, n, mx);
        context(obase + (size_t)t * hd, s, vh, (size_t)ld, n, d, inv);
    }
    free(kt);
}

#if defined(__x86_64__) || defined(__i386__)
TARGET512 static void head_avx512(void *ctx, int task)
{
    head_body(ctx, task, scores_avx512, context_avx512);
}

TARGET2 static void head_avx2(void *ctx, int task)
{
    head_body(ctx, task, scores_avx2, context_avx2);
}

#endif

static float scores_generic(float *s, const float *q, const float *kt, int d, int np, int n)
{
    return scores_loops(s, q, kt, d, np, n);
}

static void context_generic(float *o, const float *p, const float *vh, size_t ld, int n, int d,
                            float inv)
{
    context_loops(o, p, vh, ld, n, d, inv);
}

static void head_generic(void *ctx, int task) { head_body(ctx, task, scores_generic, context_generic); }

int cpu_attention_fused(const cpu_kernels *k, float *ctx, const float *qkv, const int32_t *len,
                        int B, int L, int H, int d, float scale)
{
    attn_job j = {.k = k, .ctx = ctx, .qkv = qkv, .len = len, .B = B, .L = L, .H = H, .d = d,
                  .scale = scale, .status = VKB_OK};
    void (*fn)(void *, int) = head_generic;
#if defined(__x86_64__) || defined(__i386__)
    if (k->isa == CPU_ISA_AVX512)
        fn = head_avx512;
    else if (k->isa == CPU_ISA_AVX2)
        fn = head_avx2;
#endif
    cpu_parallel_for(B * H, fn, &j);
    return j.status;
}
