/*
 * test_op_checks.c — the op set's argument checks (runtime/core/backend.c) on the CPU
 * backend: a refused call returns VKB_EINVAL and vkb_backend_op_error names the op, the
 * operand and the sizes; the optional operands (embed's pos/type/beta, layernorm's beta)
 * really are optional and equal a zero table; the attention descriptor is checked, and its
 * T5/MPNet bucket rule gives the rows the testdata README lists.
 */
#include "testlib.h"
#include "vkb_runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static vkb_tensor *f32(vkb_backend *b, size_t n, float v)
{
    vkb_tensor *t = vkb_tensor_new(b, VKB_F32, n);
    float *h = malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        h[i] = v == 0 ? tl_randf(-1, 1) : v;
    vkb_tensor_upload(t, 0, h, n);
    free(h);
    return t;
}

static vkb_tensor *i32(vkb_backend *b, size_t n, int32_t v)
{
    vkb_tensor *t = vkb_tensor_new(b, VKB_I32, n);
    int32_t *h = malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        h[i] = v;
    vkb_tensor_upload(t, 0, h, n);
    free(h);
    return t;
}

/* rc is VKB_EINVAL and the message holds every one of the words. */
static void expect_refused(vkb_backend *b, int rc, const char *what, const char *w1,
                           const char *w2, const char *w3)
{
    const char *msg = vkb_backend_op_error(b);
    CHECK(rc == VKB_EINVAL, "%s: refused (rc %d)", what, rc);
    CHECK(strstr(msg, w1) && strstr(msg, w2) && (!w3 || strstr(msg, w3)),
          "%s: message '%s' names '%s', '%s'%s%s", what, msg, w1, w2, w3 ? " and " : "",
          w3 ? w3 : "");
}

static void test_messages(vkb_backend *b)
{
    const int B = 2, L = 4, H = 4, d = 4, C = H * d;
    vkb_tensor *qkv = f32(b, (size_t)B * L * 3 * C, 0), *ctx = f32(b, (size_t)B * L * C, 0);
    vkb_tensor *small = f32(b, 96, 0), *lens = i32(b, B, L);
    int rc = vkb_op_attention(b, ctx, small, lens, B, L, H, d);
    expect_refused(b, rc, "attention short qkv", "attention: qkv", "holds 96",
                   "B*L*3*H*d = 2*4*3*4*4");
    rc = vkb_op_attention(b, ctx, qkv, ctx, B, L, H, d);
    expect_refused(b, rc, "attention lengths F32", "attention: lengths", "is F32", "needs I32");
    rc = vkb_op_attention(b, qkv, qkv, lens, B, L, H, d);
    expect_refused(b, rc, "attention aliasing", "attention: ctx", "alias qkv", NULL);
    /* Past the backend's capabilities (vkb_backend_caps) is "unsupported", not "invalid". */
    rc = vkb_op_attention(b, ctx, qkv, lens, B, 8193, H, d);
    CHECK(rc == VKB_EUNSUPPORTED, "attention L 8193: unsupported (rc %d)", rc);
    CHECK(strstr(vkb_backend_op_error(b), "attention: sequence length 8193 is over the 8192"),
          "attention L 8193: message '%s'", vkb_backend_op_error(b));
    /* The T5 bucket rule is exact to 1024 (core/backend.h): one past it is refused. */
    {
        const int LL = 1025;
        vkb_tensor *q2 = f32(b, (size_t)LL * 3 * C, 0), *c2 = f32(b, (size_t)LL * C, 0);
        vkb_tensor *l2 = i32(b, 1, LL), *tb = f32(b, 32 * H, 0);
        vkb_attn_desc t5l = {.bias = tb, .rule = VKB_ATTN_BIAS_T5, .buckets = 32,
                             .max_distance = 128};
        rc = vkb_op_attention_ex(b, c2, q2, l2, 1, LL, H, d, &t5l);
        expect_refused(b, rc, "attention T5 L 1025", "attention: L 1025", "over the 1024",
                       "T5 bucket rule");
        vkb_tensor *l3[] = {q2, c2, l2, tb};
        for (size_t i = 0; i < sizeof l3 / sizeof *l3; i++)
            vkb_tensor_free(l3[i]);
    }

    vkb_attn_desc bad_rule = {.rule = (vkb_attn_bias_rule)7};
    rc = vkb_op_attention_ex(b, ctx, qkv, lens, B, L, H, d, &bad_rule);
    expect_refused(b, rc, "attention unknown rule", "attention: descriptor", "rule 7", NULL);
    vkb_tensor *bias = f32(b, 8 * H, 0);
    vkb_attn_desc t5 = {.bias = bias, .rule = VKB_ATTN_BIAS_T5, .buckets = 32,
                        .max_distance = 128};
    rc = vkb_op_attention_ex(b, ctx, qkv, lens, B, L, H, d, &t5);
    expect_refused(b, rc, "attention short bias", "attention: bias", "holds 32",
                   "buckets*H = 32*4");
    vkb_attn_desc no_rule = {.bias = bias};
    rc = vkb_op_attention_ex(b, ctx, qkv, lens, B, L, H, d, &no_rule);
    expect_refused(b, rc, "attention bias without rule", "attention:", "without a rule", NULL);

    vkb_tensor *w = f32(b, 10, 0);
    rc = vkb_op_matmul(b, ctx, qkv, w, NULL, NULL, B * L, C, C, VKB_ACT_NONE);
    expect_refused(b, rc, "matmul short W", "matmul: W", "holds 10", "N*K = 16*16");
    rc = vkb_op_layernorm(b, ctx, qkv, NULL, w, NULL, B * L, C, 1e-5f);
    expect_refused(b, rc, "layernorm short gamma", "layernorm: gamma", "holds 10", "cols = 16");
    vkb_tensor *ids = i32(b, (size_t)B * L, 0);
    rc = vkb_op_embed(b, ctx, ids, lens, qkv, w, NULL, bias, NULL, B, L, C, VKB_POS_ROBERTA, 1,
                      1e-5f);
    vkb_tensor_free(ids);
    expect_refused(b, rc, "embed short pos", "embed: pos", "holds 10", "pad_id + L = 1 + 4");
    rc = vkb_op_copy(b, ctx, 100, qkv, 0, 100);
    expect_refused(b, rc, "copy past the end", "copy:", "dst[100]", "holds 128");
    vkb_tensor *list[] = {qkv, ctx, small, lens, bias, w};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++)
        vkb_tensor_free(list[i]);
}

/* embed with pos / type / beta NULL equals embed with zero tables; layernorm likewise. */
static void test_optional_operands(vkb_backend *b)
{
    const int B = 2, L = 5, C = 12, V = 20;
    vkb_tensor *Y1 = f32(b, (size_t)B * L * C, NAN), *Y2 = f32(b, (size_t)B * L * C, NAN);
    vkb_tensor *ids = i32(b, (size_t)B * L, 3), *lens = i32(b, B, 4);
    vkb_tensor *word = f32(b, (size_t)V * C, 0), *pos = f32(b, (size_t)(L + 2) * C, 0);
    vkb_tensor *g = f32(b, C, 0), *zeros = vkb_tensor_new(b, VKB_F32, (size_t)(L + 2) * C);
    float *z = calloc((size_t)(L + 2) * C, sizeof *z);
    vkb_tensor_upload(zeros, 0, z, (size_t)(L + 2) * C);
    int rc1 = vkb_op_embed(b, Y1, ids, lens, word, pos, NULL, g, NULL, B, L, C, VKB_POS_ROBERTA,
                           1, 1e-5f);
    int rc2 = vkb_op_embed(b, Y2, ids, lens, word, pos, zeros, g, zeros, B, L, C,
                           VKB_POS_ROBERTA, 1, 1e-5f);
    float *a = malloc(sizeof(float) * B * L * C), *c = malloc(sizeof(float) * B * L * C);
    vkb_tensor_download(Y1, 0, a, (size_t)B * L * C);
    vkb_tensor_download(Y2, 0, c, (size_t)B * L * C);
    CHECK(rc1 == 0 && rc2 == 0 && tl_rel_err(a, c, (size_t)B * L * C) == 0,
          "embed: NULL type and beta equal zero tables (rc %d %d)", rc1, rc2);
    rc1 = vkb_op_embed(b, Y1, ids, lens, word, NULL, NULL, g, NULL, B, L, C, VKB_POS_BERT, 0,
                       1e-5f);
    rc2 = vkb_op_embed(b, Y2, ids, lens, word, zeros, zeros, g, zeros, B, L, C, VKB_POS_BERT, 0,
                       1e-5f);
    vkb_tensor_download(Y1, 0, a, (size_t)B * L * C);
    vkb_tensor_download(Y2, 0, c, (size_t)B * L * C);
    CHECK(rc1 == 0 && rc2 == 0 && tl_rel_err(a, c, (size_t)B * L * C) == 0,
          "embed: NULL pos equals a zero table (rc %d %d)", rc1, rc2);
    rc1 = vkb_op_layernorm(b, Y1, word, NULL, g, NULL, 5, C, 1e-5f);
    rc2 = vkb_op_layernorm(b, Y2, word, NULL, g, zeros, 5, C, 1e-5f);
    vkb_tensor_download(Y1, 0, a, 5 * C);
    vkb_tensor_download(Y2, 0, c, 5 * C);
    CHECK(rc1 == 0 && rc2 == 0 && tl_rel_err(a, c, 5 * C) == 0,
          "layernorm: NULL beta equals zeros (rc %d %d)", rc1, rc2);
    free(a);
    free(c);
    free(z);
    vkb_tensor *list[] = {Y1, Y2, ids, lens, word, pos, g, zeros};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++)
        vkb_tensor_free(list[i]);
}

/* MPNet's buckets as the testdata README tabulates them (d = key - query). */
static void test_bucket_rule(void)
{
    vkb_attn_desc t5 = {.rule = VKB_ATTN_BIAS_T5, .buckets = 32, .max_distance = 128};
    static const struct { int lo, hi, bucket; } table[] = {
        {0, 7, -1}, {8, 11, 8}, {12, 15, 9}, {16, 22, 10}, {23, 31, 11}, {32, 45, 12},
        {46, 63, 13}, {64, 90, 14}, {91, 1023, 15},
    };
    int bad = 0;
    for (size_t k = 0; k < sizeof table / sizeof *table; k++)
        for (int a = table[k].lo; a <= table[k].hi; a++) {
            int want = table[k].bucket < 0 ? a : table[k].bucket;
            /* query 1500 - a ... : key before the query gives want, after it 16 + want */
            bad += vkb_attn_bias_row(&t5, 1500, 1500 - a) != want;
            bad += a > 0 && vkb_attn_bias_row(&t5, 1500, 1500 + a) != 16 + want;
        }
    CHECK(bad == 0, "T5 buckets: %d distances off the README's table", bad);
    CHECK(vkb_attn_bias_row(&t5, 10, 11) == 17 && vkb_attn_bias_row(&t5, 10, 9) == 1 &&
              vkb_attn_bias_row(&t5, 0, 200) == 31 && vkb_attn_bias_row(&t5, 5, 5) == 0,
          "T5 buckets: d = +1 -> 17, -1 -> 1, +200 -> 31, 0 -> 0");
    CHECK(vkb_attn_bias_row(NULL, 0, 3) == -1, "no descriptor: no row");
}

int main(void)
{
    tl_seed(11);
    char err[256];
    vkb_backend *b = NULL;
    if (!CHECK(vkb_backend_open("cpu", &b, err, sizeof err) == 0, "cpu backend: %s", err))
        return tl_finish();
    test_messages(b);
    test_optional_operands(b);
    test_bucket_rule();
    vkb_backend_close(b);
    return tl_finish();
}
