/*
 * test_bertscore_oracle.c — bertscore_run against bert_score's own numbers for the tiny test
 * models (../shared/testdata/oracle/tiny-*.json, bertscore section), on the CPU and on every
 * Vulkan device (DeBERTa with both kernel families): every case within 1e-4 (rescaled 1e-4/(1-b)), the oracle's tokenization,
 * results independent of batch size, and the request-level errors.
 */
#include "bertscore.h"
#include "testlib.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MODELS[] = {"tiny-bert", "tiny-roberta", "tiny-xlmr", "tiny-deberta",
                                     "tiny-deberta-v2", "tiny-distilbert", "tiny-mpnet",
                                     "tiny-bert-dense"};

static void check_tokenization(const vkb_model *m, json_t *tok, const char *name)
{
    size_t i;
    json_t *e;
    int bad = 0;
    json_array_foreach(tok, i, e) {
        const char *text = json_string_value(json_object_get(e, "text"));
        json_t *ids = json_object_get(e, "ids");
        int32_t *got = NULL;
        int n = 0;
        int rc = model_tokenize_bertscore(m, text, json_string_length(json_object_get(e, "text")),
                                          &got, &n);
        int ok = rc == VKB_OK && (size_t)n == json_array_size(ids);
        for (int k = 0; ok && k < n; k++)
            ok = got[k] == json_integer_value(json_array_get(ids, (size_t)k));
        if (!ok && bad++ < 3)
            CHECK(0, "%s: tokenization of \"%.40s\" differs (%d ids, want %zu)", name, text, n,
                  json_array_size(ids));
        free(got);
    }
    CHECK(bad == 0, "%s: %d of %zu tokenizations differ", name, bad, json_array_size(tok));
}

/* strings of a JSON array, borrowed */
static const char **strings(json_t *arr)
{
    const char **v = malloc((json_array_size(arr) + 1) * sizeof *v);
    for (size_t i = 0; v && i < json_array_size(arr); i++)
        v[i] = json_string_value(json_array_get(arr, i));
    return v;
}

/* Runs one oracle case with the given batch size; returns the worst error / tolerance. */
static double run_case(model_replica *r, json_t *c, int batch_size, uint64_t table_cap,
                       double rel, const char *where)
{
    json_t *req = json_object_get(c, "request");
    json_t *jc = json_object_get(req, "candidates"), *jr = json_object_get(req, "references");
    int n = (int)json_array_size(jc);
    const char **cands = strings(jc), **refs = strings(jr);
    float *P = calloc((size_t)n, sizeof *P), *R = calloc((size_t)n, sizeof *R),
          *F = calloc((size_t)n, sizeof *F);
    vkb_bertscore_opts o = {0};
    o.num_layers = (int)json_integer_value(json_object_get(req, "num_layers"));
    o.idf = json_is_true(json_object_get(req, "idf"));
    o.rescale_with_baseline = json_is_true(json_object_get(req, "rescale_with_baseline"));
    o.lang = json_string_value(json_object_get(req, "lang"));
    o.batch_size = batch_size;
    const char *model = json_string_value(json_object_get(req, "model_type"));
    char err[512] = "";
    double worst = INFINITY;
    int rc = table_cap ? bertscore_run_capped(r, &o, NULL, model, cands, refs, NULL, NULL, n, P,
                                              R, F, NULL, NULL, table_cap, err, sizeof err)
                       : bertscore_run(r, &o, NULL, model, cands, refs, NULL, NULL, n, P, R, F,
                                       NULL, NULL, err, sizeof err);
    CHECK(rc == VKB_OK, "%s: bertscore_run: %s", where, err);
    if (rc == VKB_OK) {
        worst = 0;
        json_t *b = json_object_get(c, "baseline");
        const float *got[3] = {P, R, F};
        const char *keys[3] = {"P", "R", "F"};
        for (int k = 0; k < 3; k++) {
            double tol = rel;
            if (b)
                tol /= 1.0 - json_real_value(json_array_get(b, (size_t)k));
            json_t *want = json_object_get(c, keys[k]);
            for (int i = 0; i < n; i++) {
                double e = fabs(got[k][i] - json_number_value(json_array_get(want, (size_t)i)));
                if (e / tol > worst)
                    worst = e / tol;
                if (e > tol)
                    CHECK(0, "%s: %s[%d] = %.7f, want %.7f", where, keys[k], i, got[k][i],
                          json_number_value(json_array_get(want, (size_t)i)));
            }
        }
    }
    free(cands);
    free(refs);
    free(P);
    free(R);
    free(F);
    return worst;
}

static void check_errors(model_replica *r, const char *name, const char *where)
{
    const char *c[] = {"a b"}, *rf[] = {"a c"};
    float P, R, F;
    char err[512] = "";
    vkb_bertscore_opts o = {0};
    CHECK(bertscore_run(r, &o, NULL, name, c, rf, NULL, NULL, 1, &P, &R, &F, NULL, NULL, err,
                        sizeof err) ==
              VKB_EINVAL && strstr(err, name), "%s: no num_layers for a model outside the "
              "table: %s", where, err);
    o.num_layers = 9;
    CHECK(bertscore_run(r, &o, NULL, name, c, rf, NULL, NULL, 1, &P, &R, &F, NULL, NULL, err,
                        sizeof err) ==
              VKB_EINVAL, "%s: num_layers beyond the model: %s", where, err);
    o.num_layers = 1;
    o.rescale_with_baseline = 1;
    o.lang = "xx";
    CHECK(bertscore_run(r, &o, NULL, name, c, rf, NULL, NULL, 1, &P, &R, &F, NULL, NULL, err,
                        sizeof err) ==
              VKB_EINVAL && strstr(err, "xx/"), "%s: missing baseline names the file: %s", where,
          err);
    o.lang = "en";
    CHECK(bertscore_run(r, &o, "/nonexistent-baselines", name, c, rf, NULL, NULL, 1, &P, &R, &F,
                        NULL, NULL, err, sizeof err) == VKB_EINVAL &&
              strstr(err, "/nonexistent-baselines"),
          "%s: baseline_dir is the root: %s", where, err);
    CHECK(bertscore_run(r, &o, NULL, name, c, rf, NULL, NULL, 0, &P, &R, &F, NULL, NULL, err,
                        sizeof err) ==
              VKB_OK, "%s: zero pairs", where);
}

static int progress_calls, progress_last, progress_total;
static void on_progress(void *user, int done, int total)
{
    (void)user;
    CHECK(done >= progress_last && done <= total, "progress %d of %d after %d", done, total,
          progress_last);
    progress_calls++;
    progress_last = done;
    progress_total = total;
}

static void check_progress(model_replica *r, json_t *c, const char *where)
{
    json_t *req = json_object_get(c, "request");
    const char **cands = strings(json_object_get(req, "candidates"));
    const char **refs = strings(json_object_get(req, "references"));
    int n = (int)json_array_size(json_object_get(req, "candidates"));
    float P[64], R[64], F[64];
    char err[256];
    vkb_bertscore_opts o = {.num_layers = 1, .batch_size = 4};
    progress_calls = progress_last = progress_total = 0;
    int rc = bertscore_run(r, &o, NULL, "x", cands, refs, NULL, NULL, n, P, R, F, on_progress,
                           NULL, err, sizeof err);
    CHECK(rc == VKB_OK && progress_calls >= 2 && progress_last == n && progress_total == n,
          "%s: progress ends at %d of %d after %d calls", where, progress_last, n,
          progress_calls);
    free(cands);
    free(refs);
}

/* Weights downcast to f16 on a Vulkan device with 16-bit storage: within 2e-3. */
static void check_f16_weights(const char *dir, const char *name, json_t *bs)
{
    char err[512] = "";
    vkb_backend *be = NULL;
    vkb_model *m = NULL;
    model_replica *r = NULL;
    if (vkb_backend_open("vulkan", &be, err, sizeof err) || !vkb_backend_supports_f16(be)) {
        printf("SKIP %s with f16 weights: %s\n", name, be ? "no 16-bit storage" : err);
        vkb_backend_close(be);
        return;
    }
    model_load_opts lo = {.weights_f16 = 1};
    if (CHECK(model_load(dir, &lo, &m, err, sizeof err) == VKB_OK, "load f16 %s: %s", name,
              err) &&
        CHECK(model_replica_create(m, be, &r, err, sizeof err) == VKB_OK, "replica: %s", err)) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(bs, "cases"), i, c) {
            char where[256];
            snprintf(where, sizeof where, "%s/%s/f16 weights/%s", name, vkb_backend_id(be),
                     json_string_value(json_object_get(c, "name")));
            double worst = run_case(r, c, 0, 0, 2e-3, where);
            printf("%-40s worst error %.3f of tolerance\n", where, worst);
        }
    }
    model_replica_free(r);
    model_free(m);
    vkb_backend_close(be);
}

/* VKB_TEST_CPU_ONLY=1: the CPU backend's other kernel tables (CMakeLists.txt's
 * VKB_CPU_ISA runs) repeat only the CPU part; the Vulkan part would be the same run again. */
static int cpu_only(void)
{
    const char *v = getenv("VKB_TEST_CPU_ONLY");
    return v && !strcmp(v, "1");
}

static void check_model(const char *td, const char *name)
{
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/oracle/%s.json", td, name);
    json_error_t jerr;
    json_t *oracle = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!CHECK(oracle, "cannot read %s: %s", path, jerr.text))
        return;
    json_t *bs = json_object_get(oracle, "bertscore");
    snprintf(path, sizeof path, "%s/models/%s", td, name);
    vkb_model *m = NULL;
    if (!CHECK(model_load(path, NULL, &m, err, sizeof err) == VKB_OK, "load %s: %s", name, err)) {
        json_decref(oracle);
        return;
    }
    check_tokenization(m, json_object_get(bs, "tokenization"), name);

    /* The later families also on Vulkan's other kernel family (VKB_KERNELS=gpu; lavapipe
     * picks the texel ones by itself). */
    const char *specs[] = {"cpu", "vulkan", "vulkan"};
    int later = strcmp(name, "tiny-bert") && strcmp(name, "tiny-roberta");
    for (int s = 0; s < (cpu_only() ? 1 : 2 + later); s++) {
        vkb_backend *be = NULL;
        model_replica *r = NULL;
        if (s == 2)
            setenv("VKB_KERNELS", "gpu", 1);
        int orc = vkb_backend_open(specs[s], &be, err, sizeof err);
        unsetenv("VKB_KERNELS");
        if (orc) {
            printf("SKIP %s on %s: %s\n", name, specs[s], err);
            continue;
        }
        if (CHECK(model_replica_create(m, be, &r, err, sizeof err) == VKB_OK, "replica: %s",
                  err)) {
            size_t i;
            json_t *c;
            json_array_foreach(json_object_get(bs, "cases"), i, c) {
                char where[256];
                snprintf(where, sizeof where, "%s/%s%s/%s", name, vkb_backend_id(be),
                         s == 2 ? " kernels=gpu" : "", json_string_value(json_object_get(c, "name")));
                double worst = run_case(r, c, 0, 0, 1e-4, where);
                printf("%-40s worst error %.3f of tolerance\n", where, worst);
                /* batching must not change anything: one sentence per batch, and 5; nor
                 * splitting the pairs into chunks whose token tables fit a small cap (a
                 * sentence shared by two chunks is encoded in each) */
                if (i == 2 || i == 7) {
                    size_t len = strlen(where);
                    strcpy(where + len, " batch 1");
                    run_case(r, c, 1, 0, 1e-4, where);
                    strcpy(where + len, " batch 5");
                    run_case(r, c, 5, 0, 1e-4, where);
                    const uint64_t row_bytes = 32 * sizeof(float); /* hidden 32 */
                    strcpy(where + len, " chunks of 30 rows");
                    run_case(r, c, 0, 30 * row_bytes, 1e-4, where);
                    strcpy(where + len, " chunks of 600 rows");
                    run_case(r, c, 3, 600 * row_bytes, 1e-4, where);
                }
            }
            char where[128];
            snprintf(where, sizeof where, "%s/%s", name, vkb_backend_id(be));
            check_errors(r, name, where);
            check_progress(r, json_array_get(json_object_get(bs, "cases"), 0), where);
            model_replica_free(r);
        }
        vkb_backend_close(be);
    }
    model_free(m);
    if (!cpu_only())
        check_f16_weights(path, name, bs);
    json_decref(oracle);
}

int main(void)
{
    const char *td = tl_testdata("bertscore oracle");
    if (td)
        for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++)
            check_model(td, MODELS[i]);
    /* DeBERTa's attention has its own kernels: the GPU family too (the texel family ran
     * above, lavapipe's default) */
    if (td && cpu_only()) {
        printf("VKB_TEST_CPU_ONLY=1: the CPU backend only (VKB_CPU_ISA=%s)\n",
               getenv("VKB_CPU_ISA") ? getenv("VKB_CPU_ISA") : "default");
    } else if (td) {
        setenv("VKB_KERNELS", "gpu", 1);
        check_model(td, "tiny-deberta");
        check_model(td, "tiny-deberta-v2");
        unsetenv("VKB_KERNELS");
    }
    CHECK(vkb_vulkan_validation_errors() == 0, "Vulkan validation messages: %d",
          vkb_vulkan_validation_errors());
    return tl_finish();
}
