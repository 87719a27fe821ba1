/*
 * test_cpu_ops.c — the CPU backend is the oracle for the Vulkan ops, so it gets its own proof:
 * each op against a naive, obviously-right loop written here in double precision, on random
 * odd-sized inputs with the outputs poisoned (NaN) before each run.
 */
#include "testlib.h"
#include "vkb_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vkb_backend *cpu;

static float *rand_vec(size_t n, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = tl_randf(lo, hi);
    return v;
}

static vkb_tensor *upload_f32(const float *v, size_t n)
{
    vkb_tensor *t = vkb_tensor_new(cpu, VKB_F32, n);
    vkb_tensor_upload(t, 0, v, n);
    return t;
}

static vkb_tensor *upload_i32(const int32_t *v, size_t n)
{
    vkb_tensor *t = vkb_tensor_new(cpu, VKB_I32, n);
    vkb_tensor_upload(t, 0, v, n);
    return t;
}

static vkb_tensor *poisoned(size_t n)
{
    float *nan = malloc(n * sizeof *nan);
    for (size_t i = 0; i < n; i++)
        nan[i] = NAN;
    vkb_tensor *t = upload_f32(nan, n);
    free(nan);
    return t;
}

static float *download(const vkb_tensor *t)
{
    size_t n = vkb_tensor_count(t);
    float *v = malloc(n * sizeof *v);
    vkb_tensor_download(t, 0, v, n);
    return v;
}

static double act_ref(double x, vkb_act act)
{
    if (act == VKB_ACT_GELU_ERF)
        return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    if (act == VKB_ACT_GELU_TANH)
        return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    if (act == VKB_ACT_RELU)
        return x > 0 ? x : 0;
    if (act == VKB_ACT_TANH)
        return tanh(x);
    return x;
}

/* W as a matmul weight (vkb_weight_new): the backend stores it as its kernels read it
 * (panels of the kernel table's width when K % 4 == 0); written in chunks of two row steps so
 * a block boundary falls inside the upload loop. */
static vkb_tensor *weight_tensor(const void *w, int N, int K, vkb_dtype dt)
{
    vkb_tensor *t = vkb_weight_new(cpu, dt, N, K);
    size_t row_bytes = (size_t)K * vkb_dtype_size(dt);
    int chunk = 2 * vkb_weight_row_step(t);
    for (int r = 0; r < N; r += chunk) {
        int n = N - r < chunk ? N - r : chunk;
        CHECK(vkb_weight_upload_rows(t, r, n, (const char *)w + (size_t)r * row_bytes) == VKB_OK,
              "weight upload rows %d..%d", r, r + n);
    }
    return t;
}

static void test_matmul_w(int M, int N, int K, vkb_act act, int use_bias, int use_res, int f16,
                          int as_weight)
{
    float *x = rand_vec((size_t)M * K, -1, 1), *w = rand_vec((size_t)N * K, -1, 1);
    float *bias = rand_vec(N, -1, 1), *r = rand_vec((size_t)M * N, -1, 1);
    vkb_tensor *X = upload_f32(x, (size_t)M * K), *Bt = upload_f32(bias, N);
    vkb_tensor *R = upload_f32(r, (size_t)M * N), *Y = poisoned((size_t)M * N);
    vkb_tensor *W;
    if (f16) {
        uint16_t *h = malloc((size_t)N * K * 2);
        for (size_t i = 0; i < (size_t)N * K; i++) {
            h[i] = vkb_f32_to_f16(w[i]);
            w[i] = vkb_f16_to_f32(h[i]); /* the reference sees the rounded weights */
        }
        if (as_weight) {
            W = weight_tensor(h, N, K, VKB_F16);
        } else {
            W = vkb_tensor_new(cpu, VKB_F16, (size_t)N * K);
            vkb_tensor_upload(W, 0, h, (size_t)N * K);
        }
        free(h);
    } else {
        W = as_weight ? weight_tensor(w, N, K, VKB_F32) : upload_f32(w, (size_t)N * K);
    }
    int rc = vkb_op_matmul(cpu, Y, X, W, use_bias ? Bt : NULL, use_res ? R : NULL, M, N, K, act);
    CHECK(rc == VKB_OK, "matmul rc %d", rc);
    float *y = download(Y);
    float *ref = malloc(sizeof(float) * M * N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = use_bias ? bias[n] : 0;
            for (int k = 0; k < K; k++)
                s += (double)x[(size_t)m * K + k] * w[(size_t)n * K + k];
            s = act_ref(s, act);
            ref[(size_t)m * N + n] = (float)(s + (use_res ? r[(size_t)m * N + n] : 0));
        }
    double e = tl_rel_err(y, ref, (size_t)M * N);
    CHECK(e <= 1e-5, "matmul %dx%dx%d act %d bias %d res %d f16 %d weight %d: rel err %g", M, N,
          K, act, use_bias, use_res, f16, as_weight, e);
    free(x), free(w), free(bias), free(r), free(y), free(ref);
    vkb_tensor_free(X), vkb_tensor_free(W), vkb_tensor_free(Bt), vkb_tensor_free(R);
    vkb_tensor_free(Y);
}

static void test_matmul(int M, int N, int K, vkb_act act, int use_bias, int use_res, int f16)
{
    test_matmul_w(M, N, K, act, use_bias, use_res, f16, 0);
}

/* Q, K, V uniform in [-amp, amp]. */
static void test_attention_amp(int B, int L, int H, int d, float amp, double tol)
{
    size_t rows = (size_t)B * L, hd = (size_t)H * d;
    float *qkv = rand_vec(rows * 3 * hd, -amp, amp);
    int32_t *len = malloc(sizeof(int32_t) * B);
    for (int b = 0; b < B; b++)
        len[b] = 1 + (int)(tl_randu() % (unsigned)L);
    len[0] = L;
    vkb_tensor *Q = upload_f32(qkv, rows * 3 * hd), *Ln = upload_i32(len, B);
    vkb_tensor *O = poisoned(rows * hd);
    CHECK(vkb_op_attention(cpu, O, Q, Ln, B, L, H, d) == VKB_OK, "attention rc");
    float *o = download(O), *ref = calloc(rows * hd, sizeof(float));
    double *p = malloc(sizeof(double) * L);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < L; t++) {
                const float *q = qkv + ((size_t)b * L + t) * 3 * hd + h * d;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < len[b]; j++) {
                    const float *k = qkv + ((size_t)b * L + j) * 3 * hd + hd + h * d;
                    double s = 0;
                    for (int i = 0; i < d; i++)
                        s += (double)q[i] * k[i];
                    p[j] = s / sqrt(d);
                    mx = p[j] > mx ? p[j] : mx;
                }
                for (int j = 0; j < len[b]; j++)
                    sum += (p[j] = exp(p[j] - mx));
                for (int i = 0; i < d; i++) {
                    double acc = 0;
                    for (int j = 0; j < len[b]; j++)
                        acc += p[j] / sum * qkv[((size_t)b * L + j) * 3 * hd + 2 * hd + h * d + i];
                    ref[((size_t)b * L + t) * hd + h * d + i] = (float)acc;
                }
            }
    double e = tl_rel_err(o, ref, rows * hd);
    CHECK(e <= tol, "attention B%d L%d H%d d%d amp %g: rel err %g", B, L, H, d, amp, e);
    free(qkv), free(len), free(o), free(ref), free(p);
    vkb_tensor_free(Q), vkb_tensor_free(Ln), vkb_tensor_free(O);
}

static void test_attention(int B, int L, int H, int d) { test_attention_amp(B, L, H, d, 2, 1e-5); }

static void ln_ref(float *y, const double *x, const float *g, const float *b, int n, double eps)
{
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    for (int i = 0; i < n; i++)
        y[i] = (float)((x[i] - mean) / sqrt(var + eps) * g[i] + b[i]);
}

static void test_layernorm(int rows, int cols, int use_res)
{
    size_t n = (size_t)rows * cols;
    float *x = rand_vec(n, -3, 3), *r = rand_vec(n, -1, 1), *g = rand_vec(cols, 0.5f, 1.5f);
    float *b = rand_vec(cols, -1, 1);
    vkb_tensor *X = upload_f32(x, n), *R = upload_f32(r, n), *G = upload_f32(g, cols);
    vkb_tensor *Bt = upload_f32(b, cols), *Y = poisoned(n);
    CHECK(vkb_op_layernorm(cpu, Y, X, use_res ? R : NULL, G, Bt, rows, cols, 1e-5f) == VKB_OK,
          "layernorm rc");
    float *y = download(Y), *ref = malloc(n * sizeof(float));
    double *tmp = malloc(sizeof(double) * cols);
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++)
            tmp[j] = x[(size_t)i * cols + j] + (use_res ? r[(size_t)i * cols + j] : 0.0);
        ln_ref(ref + (size_t)i * cols, tmp, g, b, cols, 1e-5);
    }
    double e = tl_rel_err(y, ref, n);
    CHECK(e <= 1e-5, "layernorm %dx%d res %d: rel err %g", rows, cols, use_res, e);
    free(x), free(r), free(g), free(b), free(y), free(ref), free(tmp);
    vkb_tensor_free(X), vkb_tensor_free(R), vkb_tensor_free(G), vkb_tensor_free(Bt);
    vkb_tensor_free(Y);
}

static void test_embed(int B, int L, int C, vkb_pos_mode mode)
{
    int V = 97, P = L + 3, pad = 1;
    float *word = rand_vec((size_t)V * C, -1, 1), *pos = rand_vec((size_t)P * C, -1, 1);
    float *type = rand_vec((size_t)2 * C, -1, 1), *g = rand_vec(C, 0.5f, 1.5f);
    float *be = rand_vec(C, -1, 1);
    int32_t *ids = malloc(sizeof(int32_t) * B * L), *len = malloc(sizeof(int32_t) * B);
    for (int b = 0; b < B; b++) {
        len[b] = 1 + (int)(tl_randu() % (unsigned)L);
        for (int t = 0; t < L; t++)
            ids[b * L + t] = t < len[b] ? (int32_t)(tl_randu() % (unsigned)V) : pad;
    }
    vkb_tensor *Wt = upload_f32(word, (size_t)V * C), *Pt = upload_f32(pos, (size_t)P * C);
    vkb_tensor *Tt = upload_f32(type, (size_t)2 * C), *G = upload_f32(g, C), *Be = upload_f32(be, C);
    vkb_tensor *I = upload_i32(ids, (size_t)B * L), *Ln = upload_i32(len, B);
    vkb_tensor *Y = poisoned((size_t)B * L * C);
    CHECK(vkb_op_embed(cpu, Y, I, Ln, Wt, Pt, Tt, G, Be, B, L, C, mode, pad, 1e-12f) == VKB_OK,
          "embed rc");
    float *y = download(Y), *ref = malloc(sizeof(float) * B * L * C);
    double *tmp = malloc(sizeof(double) * C);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++) {
            int p = mode == VKB_POS_BERT ? t : t < len[b] ? pad + 1 + t : pad;
            for (int c = 0; c < C; c++)
                tmp[c] = (double)word[(size_t)ids[b * L + t] * C + c] + pos[(size_t)p * C + c] +
                         type[c];
            ln_ref(ref + ((size_t)b * L + t) * C, tmp, g, be, C, 1e-12);
        }
    double e = tl_rel_err(y, ref, (size_t)B * L * C);
    CHECK(e <= 1e-5, "embed B%d L%d C%d mode %d: rel err %g", B, L, C, mode, e);
    free(word), free(pos), free(type), free(g), free(be), free(ids), free(len), free(y);
    free(ref), free(tmp);
    vkb_tensor_free(Wt), vkb_tensor_free(Pt), vkb_tensor_free(Tt), vkb_tensor_free(G);
    vkb_tensor_free(Be), vkb_tensor_free(I), vkb_tensor_free(Ln), vkb_tensor_free(Y);
}

static void test_pool(int B, int L, int C, int modes, int normalize)
{
    float *h = rand_vec((size_t)B * L * C, -2, 2);
    int32_t *len = malloc(sizeof(int32_t) * B);
    for (int b = 0; b < B; b++)
        len[b] = 1 + (int)(tl_randu() % (unsigned)L);
    int nm = !!(modes & 1) + !!(modes & 2) + !!(modes & 4) + !!(modes & 8);
    size_t width = (size_t)nm * C;
    vkb_tensor *Ht = upload_f32(h, (size_t)B * L * C), *Ln = upload_i32(len, B);
    vkb_tensor *O = poisoned(B * width);
    CHECK(vkb_op_pool(cpu, O, Ht, Ln, B, L, C, modes, normalize) == VKB_OK, "pool rc");
    float *o = download(O), *ref = malloc(sizeof(float) * B * width);
    for (int b = 0; b < B; b++) {
        float *dst = ref + b * width;
        int k = 0;
        for (int m = 1; m <= 8; m <<= 1) {
            if (!(modes & m))
                continue;
            for (int c = 0; c < C; c++) {
                double s = 0, mx = -INFINITY;
                for (int t = 0; t < len[b]; t++) {
                    double v = h[((size_t)b * L + t) * C + c];
                    s += v;
                    mx = v > mx ? v : mx;
                }
                double v = m == 1 ? h[(size_t)b * L * C + c] : m == 2 ? mx : m == 4 ? s / len[b]
                                                                                  : s / sqrt(len[b]);
                dst[k * C + c] = (float)v;
            }
            k++;
        }
        if (normalize) {
            double ss = 0;
            for (size_t i = 0; i < width; i++)
                ss += (double)dst[i] * dst[i];
            for (size_t i = 0; i < width; i++)
                dst[i] = (float)(dst[i] / sqrt(ss));
        }
    }
    double e = tl_rel_err(o, ref, B * width);
    CHECK(e <= 1e-5, "pool B%d L%d C%d modes %d norm %d: rel err %g", B, L, C, modes, normalize, e);
    free(h), free(len), free(o), free(ref);
    vkb_tensor_free(Ht), vkb_tensor_free(Ln), vkb_tensor_free(O);
}

static double side_ref(const float *T, const float *w, int a0, int na, int b0, int nb, int C)
{
    double num = 0, den = 0;
    for (int i = a0; i < a0 + na; i++) {
        double best = -INFINITY;
        for (int j = b0; j < b0 + nb; j++) {
            double s = 0, ni = 0, nj = 0;
            for (int c = 0; c < C; c++) {
                s += (double)T[(size_t)i * C + c] * T[(size_t)j * C + c];
                ni += (double)T[(size_t)i * C + c] * T[(size_t)i * C + c];
                nj += (double)T[(size_t)j * C + c] * T[(size_t)j * C + c];
            }
            s /= sqrt(ni) * sqrt(nj);
            best = s > best ? s : best;
        }
        num += w[i] * best;
        den += w[i];
    }
    return num / den;
}

static void test_greedy_match(int P, int C)
{
    int32_t *pairs = malloc(sizeof(int32_t) * 4 * P);
    int rows = 0;
    for (int p = 0; p < P; p++) {
        int cn = 2 + (int)(tl_randu() % 20), rn = 2 + (int)(tl_randu() % 20);
        pairs[4 * p] = rows, pairs[4 * p + 1] = cn;
        rows += cn;
        pairs[4 * p + 2] = rows, pairs[4 * p + 3] = rn;
        rows += rn;
    }
    float *T = rand_vec((size_t)rows * C, -1, 1), *w = rand_vec(rows, 0.1f, 2);
    for (int p = 0; p < P; p++) /* special tokens weigh 0: the first of each sentence */
        w[pairs[4 * p]] = 0, w[pairs[4 * p + 2]] = 0;
    vkb_tensor *Tt = upload_f32(T, (size_t)rows * C), *Wt = upload_f32(w, rows);
    vkb_tensor *Pt = upload_i32(pairs, 4 * P), *O = poisoned(3 * P);
    CHECK(vkb_op_greedy_match(cpu, O, Tt, Wt, Pt, P, C, 0) == VKB_OK, "greedy rc");
    float *o = download(O), *ref = malloc(sizeof(float) * 3 * P);
    for (int p = 0; p < P; p++) {
        double Pr = side_ref(T, w, pairs[4 * p], pairs[4 * p + 1], pairs[4 * p + 2],
                             pairs[4 * p + 3], C);
        double Rc = side_ref(T, w, pairs[4 * p + 2], pairs[4 * p + 3], pairs[4 * p],
                             pairs[4 * p + 1], C);
        ref[3 * p] = (float)Pr, ref[3 * p + 1] = (float)Rc;
        ref[3 * p + 2] = (float)(2 * Pr * Rc / (Pr + Rc));
    }
    double e = tl_rel_err(o, ref, 3 * P);
    CHECK(e <= 1e-5, "greedy_match P%d C%d: rel err %g", P, C, e);
    free(pairs), free(T), free(w), free(o), free(ref);
    vkb_tensor_free(Tt), vkb_tensor_free(Wt), vkb_tensor_free(Pt), vkb_tensor_free(O);
}

static void test_bad_args(void)
{
    vkb_tensor *a = vkb_tensor_new(cpu, VKB_F32, 12), *b = vkb_tensor_new(cpu, VKB_F32, 12);
    vkb_tensor *y = vkb_tensor_new(cpu, VKB_F32, 12);
    CHECK(vkb_op_matmul(cpu, y, a, b, NULL, NULL, 4, 4, 3, VKB_ACT_NONE) == VKB_EINVAL, "Y too small rejected");
    CHECK(vkb_op_matmul(cpu, a, a, b, NULL, NULL, 3, 4, 4, VKB_ACT_NONE) == VKB_EINVAL,
          "aliasing rejected");
    CHECK(vkb_tensor_upload(a, 10, (float[4]){0}, 4) == VKB_EINVAL, "upload past end rejected");
    CHECK(vkb_tensor_new(cpu, VKB_F32, 0) == NULL, "empty tensor rejected");
    vkb_tensor_free(a), vkb_tensor_free(b), vkb_tensor_free(y);
}

int main(void)
{
    char err[256];
    if (vkb_backend_open("cpu", &cpu, err, sizeof err) != VKB_OK) {
        CHECK(0, "cpu backend: %s", err);
        return tl_finish();
    }
    printf("device: %s\n", vkb_backend_device_name(cpu));
    tl_seed(42);
    int shapes[][3] = {{1, 1537, 383}, {7, 33, 383}, {129, 65, 17}, {4, 5, 6}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int act = VKB_ACT_NONE; act <= VKB_ACT_TANH; act++)
            test_matmul(shapes[s][0], shapes[s][1], shapes[s][2], (vkb_act)act, act != 3, act == 0,
                        s == 1);
    test_matmul(13, 31, 37, VKB_ACT_GELU_ERF, 1, 1, 1);
    /* Weights stored by the backend: odd rows and columns around every table's tile (8x32,
     * 6x16, 4x16), K % 4 == 0 (panels) and not (row-major, packed per call). */
    int wshapes[][3] = {{1, 33, 388}, {17, 97, 132}, {9, 1536, 384}, {70, 31, 20}, {5, 45, 37}};
    for (size_t s = 0; s < sizeof wshapes / sizeof wshapes[0]; s++)
        for (int act = VKB_ACT_NONE; act <= VKB_ACT_RELU; act++)
            test_matmul_w(wshapes[s][0], wshapes[s][1], wshapes[s][2], (vkb_act)act, act != 3,
                          act != 2, (int)(s & 1), 1);
    test_attention(3, 13, 2, 8);
    test_attention(1, 1, 3, 5);
    test_attention(2, 40, 4, 16);
    test_attention(3, 37, 3, 32); /* d a multiple of the 16-wide blocks, keys past 32 */
    test_attention(2, 70, 2, 20);
    test_attention(1, 4099, 1, 32); /* a long input (issue 13): 4099 keys in the task buffer */
    /* Scores in the hundreds: exp overflows unless the softmax's max is the real one over every
     * key block (a skipped block's max goes unnoticed at small scores). The loose tolerance is
     * float's rounding of scores that large, not the kernel's. */
    test_attention_amp(3, 45, 2, 32, 16, 1e-2); /* keys only in 16-wide blocks */
    test_attention_amp(2, 70, 2, 32, 16, 1e-2);
    test_attention_amp(1, 131, 1, 20, 16, 1e-2);
    test_layernorm(129, 383, 1);
    test_layernorm(7, 32, 0);
    test_embed(3, 13, 37, VKB_POS_BERT);
    test_embed(2, 9, 32, VKB_POS_ROBERTA);
    for (int modes = 1; modes < 16; modes++)
        test_pool(3, 11, 19, modes, modes & 1);
    test_greedy_match(5, 33);
    test_bad_args();
    vkb_backend_close(cpu);
    return tl_finish();
}
