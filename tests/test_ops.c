/*
 * test_ops.c — every op on Vulkan against its CPU twin, for both kernel variants.
 *
 * The variants are forced with VKB_KERNELS=cpu (texel-buffer kernels, lavapipe's default) and
 * VKB_KERNELS=gpu (shared-memory tiled kernels, real GPUs' default), so both are proven here,
 * and once more with VKB_SUBGROUPS=0 (reductions through shared memory only).
 * Inputs are random and never zero, shapes are not multiples of any tile (M = 1, 7, 129,
 * 4099; K = 383; N = 1537; L = 1, 13, 512), outputs are poisoned with NaN before each run, and
 * the relative error must stay within 1e-4 (f32 weights) or 2e-3 (f16 weights). A third pass
 * caps maxStorageBufferRange (VKB_MAX_STORAGE_RANGE) so every op splits its work into windows.
 * Any validation-layer message fails the test. No Vulkan: a SKIP line, and pass.
 */
#include "cpu_internal.h"
#include "helper_ops.h"
#include "testlib.h"
#include "vkb_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* VKB_TEST_VERBOSE=1 prints each case with its wall time (to find slow shaders). */
static void progress(const char *what)
{
    static double last;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = ts.tv_sec + ts.tv_nsec * 1e-9;
    const char *v = getenv("VKB_TEST_VERBOSE");
    if (v && !strcmp(v, "1") && what)
        printf("  %-40s %8.1f ms\n", what, (now - last) * 1e3);
    last = now;
}

static const vkb_act acts[] = {VKB_ACT_NONE, VKB_ACT_GELU_ERF, VKB_ACT_GELU_TANH, VKB_ACT_RELU,
                                VKB_ACT_TANH};

/* How W reaches the matmul: a plain tensor, or a vkb_weight (the encoder's way: on the
 * texel kernels blocked by columns when K % 4 == 0) written in one call or row step by row
 * step. */
enum { W_PLAIN, W_WEIGHT, W_WEIGHT_CHUNKED };
static const char *const w_layouts[] = {"plain", "weight", "weight-chunked"};

static void test_matmul(ops_pair *op, int M, int N, int K, vkb_act act, int with_bias,
                        int with_res, vkb_dtype wtype, int layout)
{
    float *x = ops_rand(M * (size_t)K), *w = ops_rand(N * (size_t)K);
    float *bias = ops_rand(N), *r = ops_rand(M * (size_t)N);
    ops_twin X = ops_twin_f32(op, x, M * (size_t)K);
    ops_twin W = layout != W_PLAIN ? ops_twin_weight(op, w, N, K, wtype, layout == W_WEIGHT_CHUNKED)
                 : wtype == VKB_F16 ? ops_twin_f16(op, w, N * (size_t)K)
                                    : ops_twin_f32(op, w, N * (size_t)K);
    ops_twin Bt = ops_twin_f32(op, bias, N), R = ops_twin_f32(op, r, M * (size_t)N);
    ops_twin Y = ops_twin_poison(op, M * (size_t)N);
    int rc_c = vkb_op_matmul(op->cpu, Y.cpu, X.cpu, W.cpu, with_bias ? Bt.cpu : NULL,
                             with_res ? R.cpu : NULL, M, N, K, act);
    int rc_v = vkb_op_matmul(op->vk, Y.vk, X.vk, W.vk, with_bias ? Bt.vk : NULL,
                             with_res ? R.vk : NULL, M, N, K, act);
    double tol = wtype == VKB_F16 ? 2e-3 : 1e-4;
    double e = ops_compare(&Y, M * (size_t)N);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= tol,
          "%s matmul M=%d N=%d K=%d act=%d bias=%d res=%d w=%s %s: rc %d/%d rel err %.3g",
          op->name, M, N, K, act, with_bias, with_res, wtype == VKB_F16 ? "f16" : "f32",
          w_layouts[layout], rc_c, rc_v, e);
    progress(__func__);
    ops_twin_free(&X);
    ops_twin_free(&W);
    ops_twin_free(&Bt);
    ops_twin_free(&R);
    ops_twin_free(&Y);
    free(x);
    free(w);
    free(bias);
    free(r);
}

static void test_attention(ops_pair *op, int B, int L, int H, int d)
{
    size_t rows = (size_t)B * L;
    float *qkv = ops_rand(rows * 3 * H * d);
    int32_t *len = malloc(sizeof *len * B);
    for (int b = 0; b < B; b++) /* full, partial, and (for B >= 3) empty sequences */
        len[b] = b == 0 ? L : b == 2 ? 0 : 1 + (int)(tl_randu() % (uint32_t)L);
    ops_twin Q = ops_twin_f32(op, qkv, rows * 3 * H * d), N = ops_twin_i32(op, len, B);
    ops_twin C = ops_twin_poison(op, rows * H * d);
    int rc_c = vkb_op_attention(op->cpu, C.cpu, Q.cpu, N.cpu, B, L, H, d);
    int rc_v = vkb_op_attention(op->vk, C.vk, Q.vk, N.vk, B, L, H, d);
    double e = ops_compare(&C, rows * H * d);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
          "%s attention B=%d L=%d H=%d d=%d: rc %d/%d rel err %.3g", op->name, B, L, H, d, rc_c,
          rc_v, e);
    progress(__func__);
    ops_twin_free(&Q);
    ops_twin_free(&N);
    ops_twin_free(&C);
    free(qkv);
    free(len);
}

/* Attention with MPNet's position bias (vkb_attn_desc, T5 buckets of j - i, one (buckets, H)
 * table) and a non-default scale, against the CPU twin. L up to 150 reaches every bucket. */
static void test_attention_bias(ops_pair *op, int B, int L, int H, int d, int table_rows)
{
    size_t rows = (size_t)B * L;
    float *qkv = ops_rand(rows * 3 * H * d), *bias = ops_rand((size_t)table_rows * H);
    for (size_t i = 0; i < (size_t)table_rows * H; i++)
        bias[i] *= 4.0f; /* large enough that a wrong bucket moves the output visibly */
    int32_t *len = malloc(sizeof *len * B);
    for (int b = 0; b < B; b++) /* full, partial, and (for B >= 3) empty sequences */
        len[b] = b == 0 ? L : b == 2 ? 0 : 1 + (int)(tl_randu() % (uint32_t)L);
    ops_twin Q = ops_twin_f32(op, qkv, rows * 3 * H * d), N = ops_twin_i32(op, len, B);
    ops_twin T = ops_twin_f32(op, bias, (size_t)table_rows * H);
    ops_twin C = ops_twin_poison(op, rows * H * d);
    vkb_attn_desc dc = {.scale = 0.3f, .bias = T.cpu, .rule = VKB_ATTN_BIAS_T5, .buckets = 32,
                        .max_distance = 128};
    vkb_attn_desc dv = dc;
    dv.bias = T.vk;
    int rc_c = vkb_op_attention_ex(op->cpu, C.cpu, Q.cpu, N.cpu, B, L, H, d, &dc);
    int rc_v = vkb_op_attention_ex(op->vk, C.vk, Q.vk, N.vk, B, L, H, d, &dv);
    double e = ops_compare(&C, rows * H * d);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
          "%s attention+T5 bias B=%d L=%d H=%d d=%d rows=%d: rc %d/%d rel err %.3g", op->name, B,
          L, H, d, table_rows, rc_c, rc_v, e);
    /* the bias must matter: the same op without it differs (one key: softmax is 1 anyway) */
    ops_twin C0 = ops_twin_poison(op, rows * H * d);
    vkb_op_attention_ex(op->cpu, C0.cpu, Q.cpu, N.cpu, B, L, H, d,
                        &(vkb_attn_desc){.scale = 0.3f});
    float *with = ops_download(C.cpu), *without = ops_download(C0.cpu);
    CHECK(L == 1 || (with && without && tl_rel_err(with, without, (size_t)len[0] * H * d) > 1e-3),
          "%s attention: the bias changes the result", op->name);
    free(with);
    free(without);
    progress(__func__);
    ops_twin_free(&Q);
    ops_twin_free(&N);
    ops_twin_free(&T);
    ops_twin_free(&C);
    ops_twin_free(&C0);
    free(qkv);
    free(bias);
    free(len);
}

/* embed without pos / type / beta (DistilBERT and MPNet have no token types) and layernorm
 * without beta, against the CPU twin. */
static void test_optional_operands(ops_pair *op, int B, int L, int C, int V)
{
    size_t rows = (size_t)B * L;
    int P = L + 2;
    float *w = ops_rand((size_t)V * C), *p = ops_rand((size_t)P * C), *g = ops_rand(C);
    int32_t *ids = malloc(sizeof *ids * rows), *len = malloc(sizeof *len * B);
    for (size_t i = 0; i < rows; i++)
        ids[i] = (int32_t)(tl_randu() % (uint32_t)V);
    for (int b = 0; b < B; b++)
        len[b] = 1 + (int)(tl_randu() % (uint32_t)L);
    ops_twin W = ops_twin_f32(op, w, (size_t)V * C), Pt = ops_twin_f32(op, p, (size_t)P * C);
    ops_twin G = ops_twin_f32(op, g, C), I = ops_twin_i32(op, ids, rows);
    ops_twin N = ops_twin_i32(op, len, B);
    for (int k = 0; k < 2; k++) { /* k 0: no type, no beta; k 1: no pos either */
        ops_twin Y = ops_twin_poison(op, rows * C);
        vkb_pos_mode mode = k ? VKB_POS_BERT : VKB_POS_ROBERTA;
        int rc_c = vkb_op_embed(op->cpu, Y.cpu, I.cpu, N.cpu, W.cpu, k ? NULL : Pt.cpu, NULL,
                                G.cpu, NULL, B, L, C, mode, 1, 1e-5f);
        int rc_v = vkb_op_embed(op->vk, Y.vk, I.vk, N.vk, W.vk, k ? NULL : Pt.vk, NULL, G.vk,
                                NULL, B, L, C, mode, 1, 1e-5f);
        double e = ops_compare(&Y, rows * C);
        CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
              "%s embed without %s B=%d L=%d C=%d: rc %d/%d rel err %.3g", op->name,
              k ? "pos, type, beta" : "type, beta", B, L, C, rc_c, rc_v, e);
        ops_twin_free(&Y);
    }
    ops_twin Y = ops_twin_poison(op, (size_t)V * C);
    int rc_c = vkb_op_layernorm(op->cpu, Y.cpu, W.cpu, NULL, G.cpu, NULL, V, C, 1e-5f);
    int rc_v = vkb_op_layernorm(op->vk, Y.vk, W.vk, NULL, G.vk, NULL, V, C, 1e-5f);
    double e = ops_compare(&Y, (size_t)V * C);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
          "%s layernorm without beta %dx%d: rc %d/%d rel err %.3g", op->name, V, C, rc_c, rc_v,
          e);
    progress(__func__);
    ops_twin twins[] = {W, Pt, G, I, N, Y};
    for (size_t i = 0; i < sizeof twins / sizeof *twins; i++)
        ops_twin_free(&twins[i]);
    free(w);
    free(p);
    free(g);
    free(ids);
    free(len);
}

static void test_layernorm(ops_pair *op, int rows, int cols, int with_res)
{
    size_t n = (size_t)rows * cols;
    float *x = ops_rand(n), *r = ops_rand(n), *g = ops_rand(cols), *bt = ops_rand(cols);
    for (size_t i = 0; i < n; i++) /* an offset mean makes a one-pass variance visibly wrong */
        x[i] = 3.0f + x[i];
    ops_twin X = ops_twin_f32(op, x, n), R = ops_twin_f32(op, r, n);
    ops_twin G = ops_twin_f32(op, g, cols), Bt = ops_twin_f32(op, bt, cols);
    ops_twin Y = ops_twin_poison(op, n);
    int rc_c = vkb_op_layernorm(op->cpu, Y.cpu, X.cpu, with_res ? R.cpu : NULL, G.cpu, Bt.cpu,
                                rows, cols, 1e-5f);
    int rc_v = vkb_op_layernorm(op->vk, Y.vk, X.vk, with_res ? R.vk : NULL, G.vk, Bt.vk, rows,
                                cols, 1e-5f);
    double e = ops_compare(&Y, n);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
          "%s layernorm %dx%d res=%d: rc %d/%d rel err %.3g", op->name, rows, cols, with_res,
          rc_c, rc_v, e);
    progress(__func__);
    ops_twin_free(&X);
    ops_twin_free(&R);
    ops_twin_free(&G);
    ops_twin_free(&Bt);
    ops_twin_free(&Y);
    free(x);
    free(r);
    free(g);
    free(bt);
}

static void test_embed(ops_pair *op, int B, int L, int C, int V, vkb_pos_mode mode,
                       vkb_dtype wtype)
{
    int pad = mode == VKB_POS_ROBERTA ? 1 : 0;
    int P = mode == VKB_POS_ROBERTA ? L + 2 : L;
    size_t rows = (size_t)B * L;
    int32_t *ids = malloc(sizeof *ids * rows), *len = malloc(sizeof *len * B);
    for (int b = 0; b < B; b++) {
        len[b] = b == 0 ? L : 1 + (int)(tl_randu() % (uint32_t)L);
        for (int t = 0; t < L; t++)
            ids[(size_t)b * L + t] = t < len[b] ? (int32_t)(tl_randu() % (uint32_t)V) : pad;
    }
    ids[0] = V - 1; /* the last row of the table (the last window when split) */
    float *word = ops_rand((size_t)V * C), *pos = ops_rand((size_t)P * C);
    float *type = ops_rand(2 * (size_t)C), *g = ops_rand(C), *bt = ops_rand(C);
    ops_twin I = ops_twin_i32(op, ids, rows), N = ops_twin_i32(op, len, B);
    ops_twin Wd = wtype == VKB_F16 ? ops_twin_f16(op, word, (size_t)V * C)
                                   : ops_twin_f32(op, word, (size_t)V * C);
    ops_twin Ps = wtype == VKB_F16 ? ops_twin_f16(op, pos, (size_t)P * C)
                                   : ops_twin_f32(op, pos, (size_t)P * C);
    ops_twin Ty = ops_twin_f32(op, type, 2 * (size_t)C);
    ops_twin G = ops_twin_f32(op, g, C), Bt = ops_twin_f32(op, bt, C);
    ops_twin Y = ops_twin_poison(op, rows * C);
    int rc_c = vkb_op_embed(op->cpu, Y.cpu, I.cpu, N.cpu, Wd.cpu, Ps.cpu, Ty.cpu, G.cpu, Bt.cpu,
                            B, L, C, mode, pad, 1e-12f);
    int rc_v = vkb_op_embed(op->vk, Y.vk, I.vk, N.vk, Wd.vk, Ps.vk, Ty.vk, G.vk, Bt.vk, B, L, C,
                            mode, pad, 1e-12f);
    double e = ops_compare(&Y, rows * C);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= (wtype == VKB_F16 ? 2e-3 : 1e-4),
          "%s embed B=%d L=%d C=%d V=%d mode=%d w=%s: rc %d/%d rel err %.3g", op->name, B, L, C,
          V, mode, wtype == VKB_F16 ? "f16" : "f32", rc_c, rc_v, e);
    progress(__func__);
    ops_twin_free(&I);
    ops_twin_free(&N);
    ops_twin_free(&Wd);
    ops_twin_free(&Ps);
    ops_twin_free(&Ty);
    ops_twin_free(&G);
    ops_twin_free(&Bt);
    ops_twin_free(&Y);
    free(ids);
    free(len);
    free(word);
    free(pos);
    free(type);
    free(g);
    free(bt);
}

static void test_pool(ops_pair *op, int B, int L, int C, int modes, int normalize)
{
    int nm = 0;
    for (int m = 1; m <= 8; m <<= 1)
        nm += !!(modes & m);
    size_t rows = (size_t)B * L;
    float *h = ops_rand(rows * C);
    int32_t *len = malloc(sizeof *len * B);
    for (int b = 0; b < B; b++)
        len[b] = b == 0 ? L : 1 + (int)(tl_randu() % (uint32_t)L);
    ops_twin H = ops_twin_f32(op, h, rows * C), N = ops_twin_i32(op, len, B);
    ops_twin O = ops_twin_poison(op, (size_t)B * nm * C);
    int rc_c = vkb_op_pool(op->cpu, O.cpu, H.cpu, N.cpu, B, L, C, modes, normalize);
    int rc_v = vkb_op_pool(op->vk, O.vk, H.vk, N.vk, B, L, C, modes, normalize);
    double e = ops_compare(&O, (size_t)B * nm * C);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
          "%s pool B=%d L=%d C=%d modes=%d norm=%d: rc %d/%d rel err %.3g", op->name, B, L, C,
          modes, normalize, rc_c, rc_v, e);
    progress(__func__);
    ops_twin_free(&H);
    ops_twin_free(&N);
    ops_twin_free(&O);
    free(h);
    free(len);
}

/* One pair of two long sentences: n x m tokens of C (n = m = 512 at C = 1024: the plain
 * path's loop-count worst case; past it the chunked one), max_len hint given to Vulkan
 * (0: the table's rows). */
static void test_greedy_long(ops_pair *op, int n, int m, int C, int hint)
{
    int rows = n + m;
    int32_t pairs[4] = {0, n, n, m};
    float *t = ops_rand((size_t)rows * C), *w = ops_rand(rows);
    for (int i = 0; i < rows; i++)
        w[i] = fabsf(w[i]) + 0.1f;
    ops_twin T = ops_twin_f32(op, t, (size_t)rows * C), W = ops_twin_f32(op, w, rows);
    ops_twin Pr = ops_twin_i32(op, pairs, 4), O = ops_twin_poison(op, 3);
    int rc_c = vkb_op_greedy_match(op->cpu, O.cpu, T.cpu, W.cpu, Pr.cpu, 1, C, n > m ? n : m);
    int rc_v = vkb_op_greedy_match(op->vk, O.vk, T.vk, W.vk, Pr.vk, 1, C, hint);
    double e = ops_compare(&O, 3);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
          "%s greedy_match %dx%d tokens C=%d max_len %d: rc %d/%d rel err %.3g", op->name, n, m,
          C, hint, rc_c, rc_v, e);
    progress(__func__);
    ops_twin_free(&T);
    ops_twin_free(&W);
    ops_twin_free(&Pr);
    ops_twin_free(&O);
    free(t);
    free(w);
}

static void test_greedy_match(ops_pair *op, int C)
{
    /* Pairs over one table: ordinary, a one-token side, an empty candidate, an empty
     * reference, and a pair that overlaps another's rows. */
    static const int32_t pairs[] = {0, 13, 13, 9, 22, 1, 23, 30, 53, 0, 0, 5, 5, 7, 60, 0,
                                    40, 20, 10, 25};
    int P = (int)(sizeof pairs / sizeof pairs[0]) / 4, rows = 64;
    float *t = ops_rand((size_t)rows * C), *w = ops_rand(rows);
    for (int i = 0; i < rows; i++) /* idf-like positive weights, special tokens weigh 0 */
        w[i] = i % 11 == 0 ? 0.0f : fabsf(w[i]) + 0.1f;
    ops_twin T = ops_twin_f32(op, t, (size_t)rows * C), W = ops_twin_f32(op, w, rows);
    ops_twin Pr = ops_twin_i32(op, pairs, (size_t)P * 4), O = ops_twin_poison(op, (size_t)P * 3);
    int rc_c = vkb_op_greedy_match(op->cpu, O.cpu, T.cpu, W.cpu, Pr.cpu, P, C, 30);
    int rc_v = vkb_op_greedy_match(op->vk, O.vk, T.vk, W.vk, Pr.vk, P, C, 30);
    double e = ops_compare(&O, (size_t)P * 3);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
          "%s greedy_match P=%d C=%d: rc %d/%d rel err %.3g", op->name, P, C, rc_c, rc_v, e);
    progress(__func__);
    ops_twin_free(&T);
    ops_twin_free(&W);
    ops_twin_free(&Pr);
    ops_twin_free(&O);
    free(t);
    free(w);
}

static void test_copy(ops_pair *op)
{
    size_t n = 1000;
    float *v = ops_rand(n);
    ops_twin S = ops_twin_f32(op, v, n), D = ops_twin_poison(op, n);
    int rc_c = vkb_op_copy(op->cpu, D.cpu, 3, S.cpu, 500, 497);
    int rc_v = vkb_op_copy(op->vk, D.vk, 3, S.vk, 500, 497);
    int rc2_c = vkb_op_copy(op->cpu, D.cpu, 500, S.cpu, 0, 500);
    int rc2_v = vkb_op_copy(op->vk, D.vk, 500, S.vk, 0, 500);
    /* elements 0..2 stay NaN on both: compare the written part */
    float *a = ops_download(D.cpu), *b = ops_download(D.vk);
    double e = tl_rel_err(b + 3, a + 3, n - 3);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && rc2_c == VKB_OK && rc2_v == VKB_OK && e == 0,
          "%s copy: rel err %.3g", op->name, e);
    progress(__func__);
    free(a);
    free(b);
    ops_twin_free(&S);
    ops_twin_free(&D);
    free(v);
}

/* The weight API's rules on the CPU and the Vulkan backend: the row step (blocks only on the
 * texel kernels, and only when K % 4 == 0), whole steps per upload, and a blocked weight
 * refused everywhere but as matmul's W with its own N and K. */
static void test_weight_api(ops_pair *op, int texel)
{
    vkb_backend *bs[2] = {op->cpu, op->vk};
    enum { N = 100, K = 96 };
    float *v = ops_rand((size_t)N * K);
    for (int i = 0; i < 2; i++) {
        vkb_backend *b = bs[i];
        const char *id = vkb_backend_id(b);
        /* lavapipe's texel kernels and the CPU backend's own (not its OpenBLAS path) block W */
        int blocked = i == 1 ? texel : cpu_kernels_get()->isa != CPU_ISA_OPENBLAS;
        vkb_tensor *w = vkb_weight_new(b, VKB_F32, N, K), *odd = vkb_weight_new(b, VKB_F32, N, 95);
        vkb_tensor *X = vkb_tensor_new(b, VKB_F32, 2 * K), *Y = vkb_tensor_new(b, VKB_F32, 2 * N);
        vkb_tensor *plain = vkb_tensor_new(b, VKB_F32, (size_t)N * K);
        vkb_tensor *g = vkb_tensor_new(b, VKB_F32, K);
        int step = vkb_weight_row_step(w);
        CHECK(w && odd && X && Y && plain && g, "%s: weights and tensors made", id);
        CHECK(blocked ? step > 1 && N % step != 0 : step == 1, "%s: row step %d", id, step);
        CHECK(vkb_weight_row_step(odd) == 1, "%s: K %% 4 != 0 keeps rows", id);
        CHECK(!vkb_weight_new(b, VKB_F32, 0, K) && !vkb_weight_new(b, VKB_F32, N, 0) &&
                  !vkb_weight_new(b, VKB_I32, N, K) && !vkb_weight_new(NULL, VKB_F32, N, K),
              "%s: bad weight shapes and dtypes refused", id);
        CHECK(vkb_weight_upload_rows(w, 0, N + 1, v) == VKB_EINVAL &&
                  vkb_weight_upload_rows(w, -1, 2, v) == VKB_EINVAL &&
                  vkb_weight_upload_rows(w, 0, 0, v) == VKB_EINVAL &&
                  vkb_weight_upload_rows(w, 0, N, NULL) == VKB_EINVAL &&
                  vkb_weight_upload_rows(plain, 0, 1, v) == VKB_EINVAL,
              "%s: uploads past the rows, empty, or to a plain tensor refused", id);
        if (blocked) {
            CHECK(vkb_weight_upload_rows(w, 1, step, v) == VKB_EINVAL &&
                      vkb_weight_upload_rows(w, 0, step - 1, v) == VKB_EINVAL,
                  "%s: uploads that split a block refused", id);
            CHECK(vkb_tensor_upload(w, 0, v, 4) == VKB_EINVAL &&
                      vkb_tensor_download(w, 0, v, 4) == VKB_EINVAL &&
                      vkb_op_copy(b, plain, 0, w, 0, 4) == VKB_EINVAL &&
                      vkb_op_copy(b, w, 0, plain, 0, 4) == VKB_EINVAL,
                  "%s: a blocked weight is not read or written as a flat tensor", id);
            CHECK(vkb_op_layernorm(b, plain, w, NULL, g, g, 2, K, 1e-5f) == VKB_EINVAL,
                  "%s: a blocked weight as another op's input refused", id);
        }
        CHECK(vkb_weight_upload_rows(w, 0, N, v) == VKB_OK, "%s: whole upload", id);
        CHECK(vkb_op_matmul(b, Y, X, w, NULL, NULL, 2, N, K, VKB_ACT_NONE) == VKB_OK &&
                  vkb_op_matmul(b, Y, X, w, NULL, NULL, 2, N - 1, K, VKB_ACT_NONE) == VKB_EINVAL &&
                  vkb_op_matmul(b, Y, X, w, NULL, NULL, 2, N, K - 4, VKB_ACT_NONE) == VKB_EINVAL,
              "%s: a weight is matmul's W only at its own N and K", id);
        vkb_tensor *ts[] = {w, odd, X, Y, plain, g};
        for (size_t t = 0; t < sizeof ts / sizeof *ts; t++)
            vkb_tensor_free(ts[t]);
    }
    free(v);
}

/* The whole op set on one Vulkan backend configuration. `big` adds the large shapes. */
static void run_all(ops_pair *op, int big)
{
    for (int i = 0; i < 4; i++) {
        static const int Ms[] = {1, 7, 129, 33};
        test_matmul(op, Ms[i], 1537, 383, acts[i], i != 1, i >= 2, VKB_F32, i % 3);
        test_matmul(op, Ms[i], 1537, 383, acts[(i + 1) % 4], 1, i % 2, VKB_F16, (i + 1) % 3);
    }
    /* 4-wide loads, each shape with a plain W and a weight (blocked on the texel kernels; N
     * is never a whole number of blocks here but 1152, so the last block is padded) */
    for (int layout = W_PLAIN; layout <= W_WEIGHT_CHUNKED; layout++) {
        test_matmul(op, 129, 385, 384, VKB_ACT_GELU_ERF, 1, 1, VKB_F32, layout);
        test_matmul(op, 129, 385, 384, VKB_ACT_GELU_TANH, 1, 0, VKB_F16, layout);
        /* N a multiple of 4: the texel kernel's 4-column epilogue (bias, residual, stores) */
        test_matmul(op, 131, 388, 384, VKB_ACT_GELU_ERF, 1, 1, VKB_F32, layout);
        test_matmul(op, 37, 100, 96, VKB_ACT_GELU_TANH, 1, 0, VKB_F16, layout);
        test_matmul(op, 70, 1152, 384, VKB_ACT_NONE, 1, 0, VKB_F32, layout);
        test_matmul(op, 45, 64, 383, VKB_ACT_RELU, 0, 1, VKB_F32, layout);
        /* a Dense module after pooling: few rows, tanh (and 4-wide and odd N) */
        test_matmul(op, 3, 16, 32, VKB_ACT_TANH, 1, 0, VKB_F32, layout);
        test_matmul(op, 5, 17, 33, VKB_ACT_TANH, 1, 1, VKB_F16, layout);
        /* one short sentence (16 and 1 rows: the smallest row tiles) */
        test_matmul(op, 16, 1536, 384, VKB_ACT_GELU_ERF, 1, 0, VKB_F32, layout);
        test_matmul(op, 1, 384, 384, VKB_ACT_NONE, 1, 1, VKB_F32, layout);
        /* K = 4096 (roberta-large's FFN output): the longest loop of the matmul kernels, and
         * rows 4 KiB apart (a plain W takes the skewed path, a blocked one shares X rows) */
        test_matmul(op, 33, 65, 4096, VKB_ACT_NONE, 1, 1, VKB_F32, layout);
        test_matmul(op, 33, 65, 4096, VKB_ACT_RELU, 0, 0, VKB_F16, layout);
    }
    if (big) {
        test_matmul(op, 4099, 1537, 383, VKB_ACT_NONE, 1, 1, VKB_F32, W_PLAIN);
        test_matmul(op, 4099, 1537, 384, VKB_ACT_GELU_ERF, 1, 0, VKB_F16, W_PLAIN);
        test_matmul(op, 4099, 1537, 384, VKB_ACT_NONE, 1, 1, VKB_F32, W_WEIGHT);
    }
    test_attention(op, 3, 13, 4, 32);
    test_attention(op, 1, 1, 2, 64);
    test_attention(op, 4, 13, 3, 6); /* a head size that is not a multiple of 4 */
    /* MPNet's position bias: every bucket (L 150 > 91 + 16), odd L and head sizes, a table
     * with more rows than the rule indexes */
    test_attention_bias(op, 3, 150, 4, 8, 32);
    test_attention_bias(op, 2, 37, 3, 6, 40);
    test_attention_bias(op, 1, 1, 2, 32, 32);
    test_optional_operands(op, 3, 11, 36, 50);
    test_optional_operands(op, 2, 7, 37, 20); /* C not in fours: the storage-buffer kernels */
    if (big) {
        test_attention(op, 2, 512, 2, 64);
        test_attention(op, 1, 512, 1, 128);
        /* The bias at the T5 rule's limit of 1024, past the CPU twin's 256-query blocks. */
        test_attention_bias(op, 2, 1024, 2, 16, 32);
    }
    /* Long inputs (issue 13): L past 4096 (odd, a partial second sequence) and bge-m3's
     * 8192, where the tiled kernel's loops come nearest lavapipe's iteration budget. Once,
     * in the run at lavapipe's default width (the loop budget does not depend on the width;
     * these cost a minute on 2 cores). */
    if (big && !getenv("LP_NATIVE_VECTOR_WIDTH")) {
        test_attention(op, 2, 4099, 2, 64);
        test_attention(op, 1, 8192, 1, 64);
    }
    test_layernorm(op, 1, 383, 0);
    test_layernorm(op, 7, 384, 1);
    test_layernorm(op, 129, 1024, 1);
    if (big) {
        test_layernorm(op, 4099, 383, 1);
        test_layernorm(op, 70001, 8, 1); /* more rows than 65535 workgroups */
    }
    test_embed(op, 3, 13, 384, 1000, VKB_POS_BERT, VKB_F32);
    test_embed(op, 3, 13, 383, 999, VKB_POS_ROBERTA, VKB_F32);
    test_embed(op, 2, 7, 384, 500, VKB_POS_ROBERTA, VKB_F16);
    /* the texel variant's masked tail chunks (C/4 not a multiple of the lanes) and its
     * widest row (roberta-large's 1024) */
    test_embed(op, 2, 9, 388, 300, VKB_POS_ROBERTA, VKB_F32);
    test_embed(op, 3, 5, 36, 40, VKB_POS_BERT, VKB_F16);
    test_embed(op, 2, 6, 1024, 70, VKB_POS_BERT, VKB_F32);
    for (int modes = 1; modes <= 15; modes += 3)
        test_pool(op, 3, 13, 383, modes, modes & 1);
    test_pool(op, 2, 9, 384, VKB_POOL_MEAN, 1);
    test_greedy_match(op, 383);
    test_greedy_match(op, 1024);
    if (big) {
        test_greedy_long(op, 512, 512, 1024, 512);
        /* Long inputs (issue 13): past the plain path's budget, the chunked one, with the
         * hint exact and unknown (0), and an empty side. */
        test_greedy_long(op, 3001, 8191, 32, 8191);
        test_greedy_long(op, 700, 1500, 384, 0);
        test_greedy_long(op, 0, 2000, 64, 2000);
    }
    test_copy(op);
}

/* Shapes for a 64 KiB maxStorageBufferRange: outputs and activations split into several
 * windows, the word table into four; weights still fit (every real device allows 128 MiB,
 * far above any weight matrix). */
/* The lone op just run on op->vk split into windows: a timings entry per dispatch, each
 * named by the op and timed where the device has timestamps. */
static void check_window_timings(ops_pair *op, const char *name)
{
    const char **names;
    const double *ms;
    int n = vkb_batch_timings(op->vk, &names, &ms);
    int timed = vkb_backend_device_info(op->vk)->timestamps, ok = n > 1;
    for (int i = 0; ok && i < n; i++)
        ok = !strcmp(names[i], name) && (timed ? ms[i] >= 0 : ms[i] == -1);
    CHECK(ok, "%s %s: one timings entry per window dispatch (%d)", op->name, name, n);
}

static void run_windows(ops_pair *op)
{
    vkb_backend_set_timing(op->vk, 1);
    test_matmul(op, 700, 37, 383, VKB_ACT_GELU_ERF, 1, 1, VKB_F32, W_PLAIN);
    test_matmul(op, 700, 37, 384, VKB_ACT_NONE, 0, 1, VKB_F16, W_PLAIN);
    test_matmul(op, 700, 37, 384, VKB_ACT_NONE, 1, 1, VKB_F32, W_WEIGHT_CHUNKED);
    /* columns in fours: the texel kernel writes Y through storage windows of whole tiles */
    test_matmul(op, 700, 388, 36, VKB_ACT_GELU_TANH, 1, 1, VKB_F32, W_WEIGHT);
    test_attention(op, 40, 13, 2, 32);
    test_attention_bias(op, 40, 13, 2, 32, 32);
    test_layernorm(op, 300, 383, 1);
    test_layernorm(op, 300, 384, 0);
    check_window_timings(op, "layernorm");
    test_embed(op, 20, 13, 384, 150, VKB_POS_BERT, VKB_F32);
    test_embed(op, 20, 13, 383, 150, VKB_POS_ROBERTA, VKB_F16);
    test_pool(op, 20, 13, 383, VKB_POOL_MEAN | VKB_POOL_MAX, 1);
    test_greedy_match(op, 200);
    test_copy(op);
}

int main(void)
{
    tl_seed(2);
    static const char *variants[] = {"cpu", "gpu"};
    for (int v = 0; v < 2; v++) {
        ops_pair op;
        setenv("VKB_KERNELS", variants[v], 1);
        if (ops_pair_open(&op, variants[v]) != VKB_OK) {
            printf("SKIP test_ops: no Vulkan device (%s)\n", op.err);
            return tl_finish();
        }
        progress(NULL);
        run_all(&op, 1);
        test_weight_api(&op, v == 0);
        ops_pair_close(&op);
    }
    /* A device without subgroup arithmetic: the shared-memory reductions. */
    setenv("VKB_KERNELS", "gpu", 1);
    setenv("VKB_SUBGROUPS", "0", 1);
    ops_pair plain;
    if (ops_pair_open(&plain, "gpu-no-subgroups") == VKB_OK) {
        run_all(&plain, 0);
        ops_pair_close(&plain);
    }
    unsetenv("VKB_SUBGROUPS");
    /* Windows: a 64 KiB range forces every op (and embed's word table) to split. */
    setenv("VKB_MAX_STORAGE_RANGE", "65536", 1);
    for (int v = 0; v < 2; v++) {
        ops_pair op;
        setenv("VKB_KERNELS", variants[v], 1);
        if (ops_pair_open(&op, v ? "gpu+windows" : "cpu+windows") == VKB_OK) {
            run_windows(&op);
            ops_pair_close(&op);
        }
    }
    unsetenv("VKB_MAX_STORAGE_RANGE");
    unsetenv("VKB_KERNELS");
    CHECK(vkb_vulkan_validation_errors() == 0, "validation layer messages: %d",
          vkb_vulkan_validation_errors());
    return tl_finish();
}
