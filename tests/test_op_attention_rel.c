/*
 * test_op_attention_rel.c — the disentangled-attention op family (vkb_op_attention_rel):
 *   1. the CPU twin against a naive double-precision loop written from the definition in
 *      vkb_runtime.h, with both terms, each alone, and neither, relative indices both
 *      inside and outside the table (clamped);
 *   2. Vulkan against the CPU twin for both kernel families (VKB_KERNELS=cpu|gpu) on random
 *      odd shapes with NaN-poisoned outputs: head sizes not a multiple of 4, pos rows with
 *      odd strides and column starts (the texel kernel's scalar path), empty and partial
 *      sequences, L = 1 and 512, and once more with storage windows of 64 KiB;
 *   3. the argument checks of backend.c.
 * No Vulkan: parts 2 prints a SKIP line and the rest still runs.
 */
#include "helper_ops.h"
#include "testlib.h"
#include "vkb_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rel_case {
    int B, L, H, d;
    int P, ld, pk_col, pq_col; /* pk_col / pq_col < 0: that term is off */
    int wild;                  /* rel indices outside 0..P-1 too (clamped by the op) */
} rel_case;

typedef struct rel_data {
    float *qkv, *pos;
    int32_t *len, *rel;
    vkb_rel_attn ra;
} rel_data;

static void make_data(const rel_case *k, rel_data *x)
{
    size_t rows = (size_t)k->B * k->L;
    x->qkv = ops_rand(rows * 3 * k->H * k->d);
    x->pos = ops_rand((size_t)k->P * k->ld);
    x->len = malloc(sizeof(int32_t) * k->B);
    x->rel = malloc(sizeof(int32_t) * (2 * k->L - 1));
    for (int b = 0; b < k->B; b++) /* full, partial, and (for B >= 3) empty sequences */
        x->len[b] = b == 0 ? k->L : b == 2 ? 0 : 1 + (int)(tl_randu() % (uint32_t)k->L);
    for (int i = 0; i < 2 * k->L - 1; i++) {
        /* monotone in the distance as DeBERTa's are, with a random step, or anything */
        int r = (int)((long)i * (k->P - 1) / (2 * k->L - 1 > 1 ? 2 * k->L - 2 : 1));
        x->rel[i] = k->wild ? (int)(tl_randu() % (uint32_t)(k->P + 6)) - 3 : r;
    }
    int terms = (k->pk_col >= 0) + (k->pq_col >= 0);
    x->ra = (vkb_rel_attn){.rows = k->P, .ld = k->ld, .pk_col = k->pk_col,
                           .pq_col = k->pq_col,
                           .scale = (float)(1.0 / sqrt((double)k->d * (1 + terms)))};
}

static void free_data(rel_data *x)
{
    free(x->qkv);
    free(x->pos);
    free(x->len);
    free(x->rel);
}

/* The definition, in double: for each (b, h, i) the scores over real keys, softmax, sum. */
static void naive(const rel_case *k, const rel_data *x, double *out)
{
    int hd = k->H * k->d, ld_in = 3 * hd;
    double *s = malloc(sizeof(double) * k->L);
    for (int b = 0; b < k->B; b++)
        for (int h = 0; h < k->H; h++)
            for (int i = 0; i < k->L; i++) {
                int n = x->len[b];
                const float *q = x->qkv + ((size_t)b * k->L + i) * ld_in + h * k->d;
                double *o = out + ((size_t)b * k->L + i) * hd + h * k->d;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < n; j++) {
                    const float *kk = x->qkv + ((size_t)b * k->L + j) * ld_in + hd + h * k->d;
                    int r = x->rel[i - j + k->L - 1];
                    r = r < 0 ? 0 : r >= k->P ? k->P - 1 : r;
                    const float *pr = x->pos + (size_t)r * k->ld + h * k->d;
                    double v = 0;
                    for (int c = 0; c < k->d; c++) {
                        v += (double)q[c] * kk[c];
                        if (k->pk_col >= 0)
                            v += (double)q[c] * pr[k->pk_col + c];
                        if (k->pq_col >= 0)
                            v += (double)kk[c] * pr[k->pq_col + c];
                    }
                    s[j] = v * x->ra.scale;
                    mx = s[j] > mx ? s[j] : mx;
                }
                for (int j = 0; j < n; j++)
                    sum += (s[j] = exp(s[j] - mx));
                for (int c = 0; c < k->d; c++) {
                    double acc = 0;
                    for (int j = 0; j < n; j++)
                        acc += s[j] / sum *
                               x->qkv[((size_t)b * k->L + j) * ld_in + 2 * hd + h * k->d + c];
                    o[c] = acc;
                }
            }
    free(s);
}

static void describe(const rel_case *k, char *buf, size_t n)
{
    snprintf(buf, n, "B=%d L=%d H=%d d=%d P=%d ld=%d pk=%d pq=%d%s", k->B, k->L, k->H, k->d,
             k->P, k->ld, k->pk_col, k->pq_col, k->wild ? " wild" : "");
}

static void test_cpu_vs_naive(vkb_backend *cpu, const rel_case *k)
{
    rel_data x;
    make_data(k, &x);
    size_t rows = (size_t)k->B * k->L, n_out = rows * k->H * k->d;
    vkb_tensor *Q = vkb_tensor_new(cpu, VKB_F32, rows * 3 * k->H * k->d);
    vkb_tensor *Pt = vkb_tensor_new(cpu, VKB_F32, (size_t)k->P * k->ld);
    vkb_tensor *N = vkb_tensor_new(cpu, VKB_I32, k->B);
    vkb_tensor *Rl = vkb_tensor_new(cpu, VKB_I32, 2 * k->L - 1);
    vkb_tensor *C = vkb_tensor_new(cpu, VKB_F32, n_out);
    vkb_tensor_upload(Q, 0, x.qkv, rows * 3 * k->H * k->d);
    vkb_tensor_upload(Pt, 0, x.pos, (size_t)k->P * k->ld);
    vkb_tensor_upload(N, 0, x.len, k->B);
    vkb_tensor_upload(Rl, 0, x.rel, 2 * k->L - 1);
    int rc = vkb_op_attention_rel(cpu, C, Q, N, Pt, Rl, &x.ra, k->B, k->L, k->H, k->d);
    float *got = ops_download(C);
    double *want = calloc(n_out, sizeof *want);
    naive(k, &x, want);
    double err = 0;
    for (size_t i = 0; got && i < n_out; i++) {
        size_t row = i / ((size_t)k->H * k->d);
        if (x.len[row / k->L] == 0)
            continue; /* no real key: the definition has nothing to average */
        double e = fabs(got[i] - want[i]);
        err = e > err ? e : err;
    }
    char what[128];
    describe(k, what, sizeof what);
    CHECK(rc == VKB_OK && got && err <= 2e-5, "cpu twin vs double loop %s: rc %d max err %.3g",
          what, rc, err);
    free(got);
    free(want);
    vkb_tensor_free(Q);
    vkb_tensor_free(Pt);
    vkb_tensor_free(N);
    vkb_tensor_free(Rl);
    vkb_tensor_free(C);
    free_data(&x);
}

static void test_vk_vs_cpu(ops_pair *op, const rel_case *k)
{
    rel_data x;
    make_data(k, &x);
    size_t rows = (size_t)k->B * k->L, n_out = rows * k->H * k->d;
    ops_twin Q = ops_twin_f32(op, x.qkv, rows * 3 * k->H * k->d);
    ops_twin Pt = ops_twin_f32(op, x.pos, (size_t)k->P * k->ld);
    ops_twin N = ops_twin_i32(op, x.len, k->B), Rl = ops_twin_i32(op, x.rel, 2 * k->L - 1);
    ops_twin C = ops_twin_poison(op, n_out);
    int rc_c = vkb_op_attention_rel(op->cpu, C.cpu, Q.cpu, N.cpu, Pt.cpu, Rl.cpu, &x.ra, k->B,
                                    k->L, k->H, k->d);
    int rc_v = vkb_op_attention_rel(op->vk, C.vk, Q.vk, N.vk, Pt.vk, Rl.vk, &x.ra, k->B, k->L,
                                    k->H, k->d);
    double e = ops_compare(&C, n_out);
    char what[128];
    describe(k, what, sizeof what);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4, "%s attention_rel %s: rc %d/%d rel err %.3g",
          op->name, what, rc_c, rc_v, e);
    ops_twin_free(&Q);
    ops_twin_free(&Pt);
    ops_twin_free(&N);
    ops_twin_free(&Rl);
    ops_twin_free(&C);
    free_data(&x);
}

/* Shapes: DeBERTa's pos layouts are [Pq | Pk | unused] (v2 sharing the layer's QKV weights,
 * ld = 3*H*d) and [Pq | Pk] (separate position projections, ld = 2*H*d). */
static const rel_case cases[] = {
    {3, 13, 4, 32, 25, 3 * 4 * 32, 4 * 32, 0, 0},   /* both terms, v2 layout */
    {3, 13, 4, 32, 25, 2 * 4 * 32, 4 * 32, 0, 1},   /* v1 layout, clamped indices */
    {4, 13, 3, 6, 9, 37, 1, 19, 1},                 /* d % 4 != 0, odd stride and columns */
    {2, 9, 2, 8, 17, 16, 0, -1, 0},                 /* c2p only */
    {2, 9, 2, 8, 17, 16, -1, 0, 0},                 /* p2c only */
    {2, 9, 2, 8, 17, 16, -1, -1, 0},                /* neither: plain attention, own scale */
    {1, 1, 2, 64, 1, 2 * 2 * 64, 2 * 64, 0, 0},     /* one token */
    {5, 31, 2, 16, 7, 64, 32, 0, 1},                /* few rows: many clamped */
};

static void run_vk(ops_pair *op, int big)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_vk_vs_cpu(op, &cases[i]);
    if (big) {
        rel_case long_seq = {2, 512, 2, 64, 1023, 3 * 2 * 64, 2 * 64, 0, 0};
        test_vk_vs_cpu(op, &long_seq);
    }
}

static void test_refusals(vkb_backend *cpu)
{
    vkb_tensor *Q = vkb_tensor_new(cpu, VKB_F32, 2 * 3 * 8), *C = vkb_tensor_new(cpu, VKB_F32, 16);
    vkb_tensor *N = vkb_tensor_new(cpu, VKB_I32, 1), *Rl = vkb_tensor_new(cpu, VKB_I32, 3);
    vkb_tensor *Pt = vkb_tensor_new(cpu, VKB_F32, 3 * 16), *Rf = vkb_tensor_new(cpu, VKB_F32, 3);
    int32_t len = 2, rel[3] = {0, 1, 2};
    vkb_tensor_upload(N, 0, &len, 1);
    vkb_tensor_upload(Rl, 0, rel, 3);
    vkb_rel_attn ok = {.rows = 3, .ld = 16, .pk_col = 8, .pq_col = 0, .scale = 0.3f};
    CHECK(vkb_op_attention_rel(cpu, C, Q, N, Pt, Rl, &ok, 1, 2, 1, 8) == VKB_OK,
          "a valid call is accepted");
    vkb_rel_attn bad = ok;
    bad.pk_col = 9; /* 9 + 8 > 16 */
    CHECK(vkb_op_attention_rel(cpu, C, Q, N, Pt, Rl, &bad, 1, 2, 1, 8) == VKB_EINVAL,
          "position keys past the row are refused");
    bad = ok;
    bad.rows = 4; /* pos holds 3 rows */
    CHECK(vkb_op_attention_rel(cpu, C, Q, N, Pt, Rl, &bad, 1, 2, 1, 8) == VKB_EINVAL,
          "more rows than pos holds are refused");
    bad = ok;
    bad.scale = 0;
    CHECK(vkb_op_attention_rel(cpu, C, Q, N, Pt, Rl, &bad, 1, 2, 1, 8) == VKB_EINVAL,
          "a zero scale is refused");
    CHECK(vkb_op_attention_rel(cpu, C, Q, N, NULL, Rl, &ok, 1, 2, 1, 8) == VKB_EINVAL,
          "terms on without pos are refused");
    CHECK(vkb_op_attention_rel(cpu, C, Q, N, Pt, Rf, &ok, 1, 2, 1, 8) == VKB_EINVAL,
          "an F32 rel index is refused");
    CHECK(vkb_op_attention_rel(cpu, C, Q, N, Pt, Rl, &ok, 1, 3, 1, 8) == VKB_EINVAL,
          "a rel index shorter than 2L-1 is refused");
    vkb_tensor_free(Q);
    vkb_tensor_free(C);
    vkb_tensor_free(N);
    vkb_tensor_free(Rl);
    vkb_tensor_free(Pt);
    vkb_tensor_free(Rf);
}

int main(void)
{
    tl_seed(12);
    char err[256];
    vkb_backend *cpu = NULL;
    if (vkb_backend_open("cpu", &cpu, err, sizeof err) != VKB_OK) {
        CHECK(0, "cpu backend: %s", err);
        return tl_finish();
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_cpu_vs_naive(cpu, &cases[i]);
    /* L 520: three blocks of the CPU twin's 256 queries (cpu_attention_rel.c), the last of 8 */
    rel_case long_seq = {2, 520, 2, 16, 399, 48, 16, 0, 0};
    test_cpu_vs_naive(cpu, &long_seq);
    test_refusals(cpu);
    vkb_backend_close(cpu);

    static const char *variants[] = {"cpu", "gpu"};
    for (int v = 0; v < 2; v++) {
        ops_pair op;
        setenv("VKB_KERNELS", variants[v], 1);
        if (ops_pair_open(&op, variants[v]) != VKB_OK) {
            printf("SKIP test_op_attention_rel (Vulkan part): no Vulkan device (%s)\n", op.err);
            unsetenv("VKB_KERNELS");
            return tl_finish();
        }
        run_vk(&op, 1);
        ops_pair_close(&op);
    }
    /* Windows: a 64 KiB range splits the sequences over several dispatches. */
    setenv("VKB_MAX_STORAGE_RANGE", "65536", 1);
    for (int v = 0; v < 2; v++) {
        ops_pair op;
        setenv("VKB_KERNELS", variants[v], 1);
        if (ops_pair_open(&op, v ? "gpu+windows" : "cpu+windows") == VKB_OK) {
            rel_case many = {40, 13, 2, 32, 25, 3 * 2 * 32, 2 * 32, 0, 0};
            test_vk_vs_cpu(&op, &many);
            ops_pair_close(&op);
        }
    }
    unsetenv("VKB_MAX_STORAGE_RANGE");
    unsetenv("VKB_KERNELS");
    CHECK(vkb_vulkan_validation_errors() == 0, "validation layer messages: %d",
          vkb_vulkan_validation_errors());
    return tl_finish();
}
