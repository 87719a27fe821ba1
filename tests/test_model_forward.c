/*
 * test_model_forward.c — the encoder on generated models against a reference forward
 * written here the obvious way in double precision (one sequence at a time, no padding),
 * reading the weights straight from the checkpoint. Covers what the oracle files do not:
 * F16 and BF16 checkpoints, --weights f16 (equal to the F16 checkpoint of the same seed),
 * sharded checkpoints (bit-identical to unsharded), a RoBERTa-shaped model with the
 * "roberta." prefix, hidden states at every layer, and scratch reuse (no device allocation
 * once a batch shape has been seen). CPU backend always, Vulkan when a device exists.
 */
#include "model_internal.h"
#include "testlib.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4

static char root[] = "/tmp/vkb-fwd-XXXXXX";

static const char *gen(const char *name, const char *args)
{
    static char path[512];
    char cmd[1024];
    snprintf(path, sizeof path, "%s/%s", root, name);
    snprintf(cmd, sizeof cmd, "'%s' gen-model --out '%s' %s", tl_binary(), path, args);
    CHECK(system(cmd) == 0, "gen-model %s", args);
    return path;
}

/* ---------------------------------------------------------------- reference forward */

typedef struct ref_model {
    const vkb_model *m;
    const model_config *c;
    const st_archive *st;
    const char *prefix;
} ref_model;

/* The tensor prefix + printf(fmt) as doubles (malloc'd). */
static double *weights(const ref_model *r, const char *fmt, ...)
{
    char name[256], full[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s%s", r->prefix, name);
    const st_tensor *t = st_find(r->st, full);
    if (!CHECK(t != NULL, "reference: no tensor %s", full))
        exit(1);
    float *f = malloc(t->count * sizeof *f);
    double *d = malloc(t->count * sizeof *d);
    st_read_f32(t, 0, t->count, f);
    for (size_t i = 0; i < t->count; i++)
        d[i] = f[i];
    free(f);
    return d;
}

static void layernorm(double *x, int C, const double *g, const double *b, double eps)
{
    double mean = 0, var = 0;
    for (int i = 0; i < C; i++)
        mean += x[i];
    mean /= C;
    for (int i = 0; i < C; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= C;
    for (int i = 0; i < C; i++)
        x[i] = (x[i] - mean) / sqrt(var + eps) * g[i] + b[i];
}

// y (n, out) = x (n, in) · W (out, in)ᵀ + b
static void linear(double *y, const double *x, int n, int in, const double *W, const double *b,
                   int out)
{
    for (int t = 0; t < n; t++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < in; i++)
                s += x[(size_t)t * in + i] * W[(size_t)o * in + i];
            y[(size_t)t * out + o] = s;
        }
}

static double act(double x, vkb_act a)
{
    if (a == VKB_ACT_GELU_ERF)
        return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    if (a == VKB_ACT_GELU_TANH)
        return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    return x > 0 ? x : 0;
}

/* hidden_states[layers] of one unpadded sequence: h is (n, C). */
static void ref_forward(const ref_model *r, const int32_t *ids, int n, int layers, double *h)
{
    const model_config *c = r->c;
    const int C = c->hidden, I = c->intermediate, H = c->heads, d = C / H;
    double *word = weights(r, "embeddings.word_embeddings.weight");
    double *pos = weights(r, "embeddings.position_embeddings.weight");
    double *type = weights(r, "embeddings.token_type_embeddings.weight");
    double *g = weights(r, "embeddings.LayerNorm.weight");
    double *b = weights(r, "embeddings.LayerNorm.bias");
    for (int t = 0; t < n; t++) {
        int p = c->pos_mode == VKB_POS_ROBERTA ? c->pad_id + 1 + t : t;
        for (int i = 0; i < C; i++)
            h[(size_t)t * C + i] = word[(size_t)ids[t] * C + i] + pos[(size_t)p * C + i] + type[i];
        layernorm(h + (size_t)t * C, C, g, b, c->eps);
    }
    free(word), free(pos), free(type), free(g), free(b);
    double *q = malloc(sizeof(double) * n * C), *k = malloc(sizeof(double) * n * C);
    double *v = malloc(sizeof(double) * n * C), *ctx = malloc(sizeof(double) * n * C);
    double *a = malloc(sizeof(double) * n * C), *f = malloc(sizeof(double) * n * I);
    double *s = malloc(sizeof(double) * n);
    for (int l = 0; l < layers; l++) {
        const char *L = "encoder.layer";
        double *Wq = weights(r, "%s.%d.attention.self.query.weight", L, l);
        double *bq = weights(r, "%s.%d.attention.self.query.bias", L, l);
        double *Wk = weights(r, "%s.%d.attention.self.key.weight", L, l);
        double *bk = weights(r, "%s.%d.attention.self.key.bias", L, l);
        double *Wv = weights(r, "%s.%d.attention.self.value.weight", L, l);
        double *bv = weights(r, "%s.%d.attention.self.value.bias", L, l);
        double *Wo = weights(r, "%s.%d.attention.output.dense.weight", L, l);
        double *bo = weights(r, "%s.%d.attention.output.dense.bias", L, l);
        double *g1 = weights(r, "%s.%d.attention.output.LayerNorm.weight", L, l);
        double *b1 = weights(r, "%s.%d.attention.output.LayerNorm.bias", L, l);
        double *Wi = weights(r, "%s.%d.intermediate.dense.weight", L, l);
        double *bi = weights(r, "%s.%d.intermediate.dense.bias", L, l);
        double *Wf = weights(r, "%s.%d.output.dense.weight", L, l);
        double *bf = weights(r, "%s.%d.output.dense.bias", L, l);
        double *g2 = weights(r, "%s.%d.output.LayerNorm.weight", L, l);
        double *b2 = weights(r, "%s.%d.output.LayerNorm.bias", L, l);
        linear(q, h, n, C, Wq, bq, C);
        linear(k, h, n, C, Wk, bk, C);
        linear(v, h, n, C, Wv, bv, C);
        for (int hh = 0; hh < H; hh++)
            for (int t = 0; t < n; t++) {
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < n; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++)
                        dot += q[(size_t)t * C + hh * d + e] * k[(size_t)j * C + hh * d + e];
                    s[j] = dot / sqrt((double)d);
                    mx = s[j] > mx ? s[j] : mx;
                }
                for (int j = 0; j < n; j++)
                    sum += s[j] = exp(s[j] - mx);
                for (int e = 0; e < d; e++) {
                    double o = 0;
                    for (int j = 0; j < n; j++)
                        o += s[j] / sum * v[(size_t)j * C + hh * d + e];
                    ctx[(size_t)t * C + hh * d + e] = o;
                }
            }
        linear(a, ctx, n, C, Wo, bo, C);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < C; i++)
                a[(size_t)t * C + i] += h[(size_t)t * C + i];
            layernorm(a + (size_t)t * C, C, g1, b1, c->eps);
        }
        linear(f, a, n, C, Wi, bi, I);
        for (size_t i = 0; i < (size_t)n * I; i++)
            f[i] = act(f[i], c->act);
        linear(h, f, n, I, Wf, bf, C);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < C; i++)
                h[(size_t)t * C + i] += a[(size_t)t * C + i];
            layernorm(h + (size_t)t * C, C, g2, b2, c->eps);
        }
        double *all[] = {Wq, bq, Wk, bk, Wv, bv, Wo, bo, g1, b1, Wi, bi, Wf, bf, g2, b2};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            free(all[i]);
    }
    free(q), free(k), free(v), free(ctx), free(a), free(f), free(s);
}

/* Mean pooling (the generated models' mode) + Normalize. */
static void ref_embed(const ref_model *r, const int32_t *ids, int n, float *out)
{
    const int C = r->c->hidden;
    double *h = malloc(sizeof(double) * n * C), norm = 0;
    ref_forward(r, ids, n, r->c->layers, h);
    for (int i = 0; i < C; i++) {
        double s = 0;
        for (int t = 0; t < n; t++)
            s += h[(size_t)t * C + i];
        out[i] = (float)(s / n);
        norm += (s / n) * (s / n);
    }
    for (int i = 0; i < C && r->c->normalize; i++)
        out[i] = (float)(out[i] / fmax(sqrt(norm), 1e-12));
    free(h);
}

/* ---------------------------------------------------------------- the checks */

static const char *texts[] = {
    "The quick brown fox jumps over the lazy dog.",
    "hello",
    "",
    "What would people think about the new computer model and its language data?",
    /* long: past max_seq_length 128, so truncated */
    "the city and the sea and the mountain and the river and the tree and the farm and the "
    "school and the house and the door and the room and the book and the paper and the music "
    "and the fire and the rain and the wind and the star and the sun and the earth and the "
    "animal and the bird and the fish and the horse and the dog and the king and the man and "
    "the girl and the boy and the mother and the father and the friend and the family and the "
    "people and the country and the state and the town and the road and the car and the ship "
    "and the machine and the power and the money and the product and the group and the class",
};
enum { N_TEXTS = sizeof texts / sizeof *texts };

typedef struct batch {
    int32_t *ids[N_TEXTS];
    int lens[N_TEXTS];
} batch;

static void tokenize_all(const vkb_model *m, batch *b)
{
    for (int i = 0; i < N_TEXTS; i++)
        CHECK(model_tokenize_embed(m, texts[i], strlen(texts[i]), &b->ids[i], &b->lens[i]) == 0,
              "tokenize text %d", i);
    int msl = model_facts(m)->max_seq_length;
    CHECK(msl > 200 || b->lens[4] == msl, "long text truncated to %d, got %d", msl, b->lens[4]);
}

static void free_batch(batch *b)
{
    for (int i = 0; i < N_TEXTS; i++)
        free(b->ids[i]);
}

static double vec_err(const float *got, const float *want, int n)
{
    return tl_rel_err(got, want, (size_t)n);
}

/* Embeddings of the texts on backend `dev`, batched; NULL if the device is absent. */
/* want_matrices: the dtype the weight matrices must get on the device, or -1 for any
 * (BF16 tensors become F16 only when every value converts exactly). */
static float *embed_on(vkb_model *m, const char *dev, const batch *b, int want_matrices)
{
    vkb_backend *be = NULL;
    char err[256] = "";
    if (vkb_backend_open(dev, &be, err, sizeof err) != 0) {
        printf("SKIP %s: %s\n", dev, err);
        return NULL;
    }
    model_replica *r = NULL;
    float *out = NULL;
    if (CHECK(model_replica_create(m, be, &r, err, sizeof err) == 0, "replica: %s", err)) {
        CHECK(want_matrices < 0 || (vkb_tensor_dtype(r->layers[0].qkv_w) == (vkb_dtype)want_matrices &&
                                    vkb_tensor_dtype(r->word) == (vkb_dtype)want_matrices),
              "%s: matrices uploaded as %d, wanted %d", dev, vkb_tensor_dtype(r->layers[0].qkv_w),
              want_matrices);
        out = calloc((size_t)N_TEXTS * model_facts(m)->dim, sizeof *out);
        int rc = encoder_embed(r, (const int32_t *const *)b->ids, b->lens, N_TEXTS, out);
        CHECK(rc == 0, "encoder_embed on %s: %s", dev, vkb_status_str(rc));
    }
    model_replica_free(r);
    vkb_backend_close(be);
    return out;
}

/* Reference vs encoder for every text and layer on one backend. */
static void check_model(const char *dir, const model_load_opts *opts, int matrices,
                        const char *dev, const char *tag, double tol)
{
    vkb_model *m = NULL;
    char err[512] = "";
    if (!CHECK(model_load(dir, opts, &m, err, sizeof err) == 0, "%s: %s", tag, err))
        return;
    batch b;
    tokenize_all(m, &b);
    ref_model rm = {.m = m, .c = &m->cfg, .st = m->st, .prefix = m->w.prefix};
    const int C = m->cfg.hidden, dim = m->cfg.dim;
    float *got = embed_on(m, dev, &b, matrices);
    if (got) {
        double worst = 0;
        float *want = malloc(sizeof(float) * dim);
        for (int i = 0; i < N_TEXTS; i++) {
            ref_embed(&rm, b.ids[i], b.lens[i], want);
            double e = vec_err(got + (size_t)i * dim, want, dim);
            CHECK(e <= tol, "%s on %s: embedding %d off by %.3g", tag, dev, i, e);
            worst = e > worst ? e : worst;
        }
        printf("%s on %s: embeddings max rel err %.2e\n", tag, dev, worst);
        free(want);
    }
    free(got);
    /* Hidden states at every layer, batched with padding. */
    vkb_backend *be = NULL;
    model_replica *r = NULL;
    if (vkb_backend_open(dev, &be, err, sizeof err) == 0 &&
        model_replica_create(m, be, &r, err, sizeof err) == 0) {
        for (int layer = 0; layer <= m->cfg.layers; layer++) {
            float *h = NULL;
            int L = 0;
            int rc = encoder_hidden_states(r, (const int32_t *const *)b.ids, b.lens, N_TEXTS,
                                           layer, &h, &L);
            if (!CHECK(rc == 0, "%s hidden_states[%d]", tag, layer))
                continue;
            double worst = 0;
            for (int i = 0; i < N_TEXTS; i++) {
                double *want = malloc(sizeof(double) * b.lens[i] * C);
                float *wf = malloc(sizeof(float) * b.lens[i] * C);
                ref_forward(&rm, b.ids[i], b.lens[i], layer, want);
                for (int j = 0; j < b.lens[i] * C; j++)
                    wf[j] = (float)want[j];
                for (int t = 0; t < b.lens[i]; t++) {
                    double e = vec_err(h + ((size_t)i * L + t) * C, wf + (size_t)t * C, C);
                    worst = e > worst ? e : worst;
                }
                free(want);
                free(wf);
            }
            CHECK(worst <= tol, "%s on %s: hidden_states[%d] off by %.3g", tag, dev, layer,
                  worst);
            free(h);
        }
    }
    model_replica_free(r);
    vkb_backend_close(be);
    free_batch(&b);
    model_free(m);
}

/* Two folders of the same seed must give the same numbers (up to tol) on the CPU. */
static void check_same(const char *dir_a, const char *dir_b, double tol, const char *what)
{
    vkb_model *a = NULL, *bm = NULL;
    char err[512] = "";
    if (!CHECK(model_load(dir_a, NULL, &a, err, sizeof err) == 0, "%s: %s", what, err) ||
        !CHECK(model_load(dir_b, NULL, &bm, err, sizeof err) == 0, "%s: %s", what, err)) {
        model_free(a);
        return;
    }
    batch b;
    tokenize_all(a, &b);
    float *ea = embed_on(a, "cpu", &b, VKB_F32), *eb = embed_on(bm, "cpu", &b, VKB_F32);
    if (ea && eb) {
        double e = tl_rel_err(ea, eb, (size_t)N_TEXTS * a->cfg.dim);
        CHECK(e <= tol, "%s: differ by %.3g", what, e);
        printf("%s: max rel diff %.2e\n", what, e);
    }
    free(ea);
    free(eb);
    free_batch(&b);
    model_free(a);
    model_free(bm);
}

/* Steady state: after one batch, batches no larger allocate nothing on the device. */
static void check_scratch_reuse(const char *dir)
{
    vkb_model *m = NULL;
    vkb_backend *be = NULL;
    model_replica *r = NULL;
    char err[512] = "";
    if (model_load(dir, NULL, &m, err, sizeof err) || vkb_backend_open("cpu", &be, err, sizeof err) ||
        model_replica_create(m, be, &r, err, sizeof err)) {
        CHECK(0, "scratch test setup: %s", err);
        goto cleanup;
    }
    batch b;
    tokenize_all(m, &b);
    float *out = malloc(sizeof(float) * N_TEXTS * m->cfg.dim);
    CHECK(encoder_embed(r, (const int32_t *const *)b.ids, b.lens, N_TEXTS, out) == 0, "first");
    uint64_t bytes = vkb_backend_bytes_in_use(be);
    for (int rep = 0; rep < 20; rep++) {
        int n = 1 + rep % N_TEXTS;
        CHECK(encoder_embed(r, (const int32_t *const *)b.ids, b.lens, n, out) == 0, "rep %d", rep);
        vkb_tensor *h;
        int L;
        CHECK(encoder_forward(r, (const int32_t *const *)b.ids, b.lens, n, 1, 0, &h, &L) == 0,
              "forward %d", rep);
    }
    CHECK(vkb_backend_bytes_in_use(be) == bytes, "device bytes grew from %llu to %llu",
          (unsigned long long)bytes, (unsigned long long)vkb_backend_bytes_in_use(be));
    /* Bad batches are refused without leaving a recording open. */
    int32_t bad[2] = {2, 99999};
    const int32_t *bp = bad;
    int len2 = 2, len0 = 0;
    CHECK(encoder_embed(r, &bp, &len2, 1, out) == VKB_EINVAL, "out-of-vocab id refused");
    CHECK(encoder_embed(r, &bp, &len0, 1, out) == VKB_EINVAL, "empty sequence refused");
    vkb_tensor *h;
    int L;
    CHECK(encoder_forward(r, (const int32_t *const *)b.ids, b.lens, 1, 3, 0, &h, &L) ==
              VKB_EINVAL, "n_layers beyond the model refused");
    CHECK(encoder_forward(r, (const int32_t *const *)b.ids, b.lens, 1, 1, 1, &h, &L) == 0,
          "record_only leaves the batch open");
    CHECK(vkb_batch_end(be) == 0, "caller closes it");
    CHECK(encoder_embed(r, (const int32_t *const *)b.ids, b.lens, N_TEXTS, out) == 0,
          "still works after refusals");
    free(out);
    free_batch(&b);
cleanup:
    model_replica_free(r);
    vkb_backend_close(be);
    model_free(m);
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    char tiny[512], f16[512], bf16[512], shard[512], rob[512];
    snprintf(tiny, sizeof tiny, "%s", gen("tiny", "--shape tiny --seed 3"));
    snprintf(f16, sizeof f16, "%s", gen("f16", "--shape tiny --seed 3 --dtype f16"));
    snprintf(bf16, sizeof bf16, "%s", gen("bf16", "--shape tiny --seed 3 --dtype bf16"));
    snprintf(shard, sizeof shard, "%s", gen("shard", "--shape tiny --seed 3 --shards 4"));
    snprintf(rob, sizeof rob, "%s",
             gen("rob", "--shape roberta-large --layers 2 --hidden 48 --heads 3 "
                        "--intermediate 80 --seed 5"));
    const char *devs[] = {"cpu", "vulkan"};
    model_load_opts half = {.weights_f16 = 1};
    for (int d = 0; d < 2; d++) {
        check_model(tiny, NULL, VKB_F32, devs[d], "tiny-f32", TOL);
        check_model(f16, NULL, VKB_F16, devs[d], "tiny-f16", TOL);
        check_model(bf16, NULL, -1, devs[d], "tiny-bf16", TOL);
        check_model(rob, NULL, VKB_F32, devs[d], "roberta-shape", TOL);
        /* Weights rounded to f16, activations f32: the README's reduced-precision bound. */
        check_model(tiny, &half, VKB_F16, devs[d], "tiny --weights f16", 2e-3);
    }
    check_same(shard, tiny, 0.0, "sharded vs single file");
    check_scratch_reuse(tiny);
    CHECK(vkb_vulkan_validation_errors() == 0, "Vulkan validation errors");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "cleanup");
    return tl_finish();
}
