/*
 * test_engine.c — the engine against the tiny-bert oracle (CPU, Vulkan, two replicas of one
 * device), texts one by one and all together; dynamic batching (many single-text jobs merged
 * into few batches, each result equal to embedding it alone within 1e-6); progress and done
 * callbacks; load-once under concurrent loads; load on demand; errors; unload; BERTScore
 * through the engine against the oracle cases; destroy finishing queued jobs.
 */
#include "testlib.h"
#include "vkb_runtime.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *testdata;
static char models_dir[1024];

/* The oracle's sentence-embedding texts and vectors. */
static int n_texts, dim;
static const char **texts;
static size_t *text_lens;
static float *expected; /* (n_texts, dim) */
static json_t *oracle;

static int load_oracle(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/oracle/tiny-bert.json", testdata);
    json_error_t jerr;
    oracle = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!CHECK(oracle, "read %s: %s", path, jerr.text))
        return 0;
    json_t *emb = json_object_get(oracle, "embeddings");
    json_t *t = json_object_get(emb, "texts"), *v = json_object_get(emb, "embeddings");
    n_texts = (int)json_array_size(t);
    dim = (int)json_array_size(json_array_get(v, 0));
    texts = calloc((size_t)n_texts, sizeof *texts);
    text_lens = calloc((size_t)n_texts, sizeof *text_lens);
    expected = calloc((size_t)n_texts * dim, sizeof *expected);
    for (int i = 0; i < n_texts; i++) {
        texts[i] = json_string_value(json_array_get(t, i));
        text_lens[i] = json_string_length(json_array_get(t, i));
        for (int k = 0; k < dim; k++)
            expected[(size_t)i * dim + k] =
                (float)json_number_value(json_array_get(json_array_get(v, i), k));
    }
    return CHECK(n_texts >= 10 && dim == 32, "oracle has %d texts of dim %d", n_texts, dim);
}

/* NaN counts as infinitely different (fmax alone would skip it and pass a NaN vector). */
static double max_abs_diff(const float *a, const float *b, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        m = isnan(d) ? INFINITY : fmax(m, d);
        if (isinf(m))
            break;
    }
    return m;
}

/* The oracle's rule: max|got - expected| <= 1e-4 * max(1, max|expected|) per vector. */
static int close_to_oracle(const float *got, int i)
{
    const float *want = expected + (size_t)i * dim;
    double scale = 1;
    for (int k = 0; k < dim; k++)
        scale = fmax(scale, fabs(want[k]));
    return max_abs_diff(got, want, dim) <= 1e-4 * scale;
}

static vkb_engine *make_engine(const char *device, int embed_batch)
{
    vkb_engine_config c = {.device = device, .model_dir = models_dir, .embed_batch = embed_batch};
    vkb_engine *e = NULL;
    char err[512] = "";
    int rc = vkb_engine_create(&c, &e, err, sizeof err);
    if (rc != VKB_OK) {
        printf("SKIP device %s: %s\n", device, err);
        return NULL;
    }
    return e;
}

/* ---- async completion */

typedef struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done, failed, expect;
    int last_status;
    char last_err[256];
} waiter;

static void waiter_init(waiter *w, int expect)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->m, NULL);
    pthread_cond_init(&w->c, NULL);
    w->expect = expect;
}

static void on_done(void *user, int status, const char *err)
{
    waiter *w = user;
    pthread_mutex_lock(&w->m);
    w->done++;
    w->last_status = status;
    if (status != VKB_OK) {
        w->failed++;
        snprintf(w->last_err, sizeof w->last_err, "%s", err ? err : "(null)");
    }
    pthread_cond_broadcast(&w->c);
    pthread_mutex_unlock(&w->m);
}

static void waiter_wait(waiter *w)
{
    pthread_mutex_lock(&w->m);
    while (w->done < w->expect)
        pthread_cond_wait(&w->c, &w->m);
    pthread_mutex_unlock(&w->m);
    pthread_cond_destroy(&w->c);
    pthread_mutex_destroy(&w->m);
}

/* ---- the oracle, one by one and all together */

static void check_oracle(vkb_engine *e, const char *label)
{
    char err[512] = "";
    float *all = calloc((size_t)n_texts * dim, sizeof *all);
    float *one = calloc((size_t)dim, sizeof *one);
    long n_tokens = -1;
    int rc = vkb_engine_embed(e, "tiny-bert", texts, text_lens, n_texts, all, &n_tokens, err,
                              sizeof err);
    CHECK(rc == VKB_OK, "%s: embed all: %s", label, err);
    long expect_tokens = 0;
    json_t *ids = json_object_get(json_object_get(oracle, "embeddings"), "input_ids");
    for (size_t i = 0; i < json_array_size(ids); i++)
        expect_tokens += (long)json_array_size(json_array_get(ids, i));
    CHECK(n_tokens == expect_tokens, "%s: n_tokens %ld, oracle's ids count %ld", label, n_tokens,
          expect_tokens);
    int bad_all = 0, bad_one = 0, bad_same = 0;
    double worst_same = 0;
    for (int i = 0; i < n_texts; i++) {
        bad_all += !close_to_oracle(all + (size_t)i * dim, i);
        rc = vkb_engine_embed(e, "tiny-bert", &texts[i], &text_lens[i], 1, one, NULL, err,
                              sizeof err);
        CHECK(rc == VKB_OK, "%s: embed text %d alone: %s", label, i, err);
        bad_one += !close_to_oracle(one, i);
        double d = max_abs_diff(one, all + (size_t)i * dim, dim);
        worst_same = fmax(worst_same, d);
        bad_same += d > 1e-6;
    }
    CHECK(bad_all == 0, "%s: %d of %d texts off the oracle when embedded together", label,
          bad_all, n_texts);
    CHECK(bad_one == 0, "%s: %d of %d texts off the oracle when embedded alone", label, bad_one,
          n_texts);
    CHECK(bad_same == 0, "%s: batched vs alone differ by up to %.3g (> 1e-6)", label,
          worst_same);
    free(all);
    free(one);
}

/* ---- dynamic batching */

static void test_dynamic_batching(vkb_engine *e, const char *label, int expect_spread)
{
    char err[512];
    enum { BIG = 600, SINGLES = 64 };
    float *alone = calloc((size_t)n_texts * dim, sizeof *alone);
    for (int i = 0; i < n_texts; i++)
        vkb_engine_embed(e, "tiny-bert", &texts[i], &text_lens[i], 1, alone + (size_t)i * dim,
                         NULL, err, sizeof err);
    vkb_engine_stats before, after;
    vkb_engine_get_stats(e, &before);

    /* A big job first keeps the devices busy while the singles arrive: they must be merged. */
    const char **big = calloc(BIG, sizeof *big);
    size_t *big_lens = calloc(BIG, sizeof *big_lens);
    for (int i = 0; i < BIG; i++) {
        big[i] = texts[i % n_texts];
        big_lens[i] = text_lens[i % n_texts];
    }
    float *big_out = calloc((size_t)BIG * dim, sizeof *big_out);
    float *single_out = calloc((size_t)SINGLES * dim, sizeof *single_out);
    waiter w;
    waiter_init(&w, 1 + SINGLES);
    int rc = vkb_engine_embed_async(e, "tiny-bert", big, big_lens, BIG, big_out, NULL, NULL,
                                    on_done, &w);
    CHECK(rc == VKB_OK, "%s: queue the big job", label);
    for (int i = 0; i < SINGLES; i++) {
        rc = vkb_engine_embed_async(e, "tiny-bert", &texts[i % n_texts], &text_lens[i % n_texts],
                                    1, single_out + (size_t)i * dim, NULL, NULL, on_done, &w);
        CHECK(rc == VKB_OK, "%s: queue single %d", label, i);
    }
    waiter_wait(&w);
    CHECK(w.failed == 0, "%s: %d jobs failed (%s)", label, w.failed, w.last_err);
    vkb_engine_get_stats(e, &after);
    uint64_t batches = after.batches - before.batches;
    uint64_t seqs = after.sequences - before.sequences;
    CHECK(seqs == BIG + SINGLES, "%s: %llu sequences encoded, want %d", label,
          (unsigned long long)seqs, BIG + SINGLES);
    /* Unmerged, the singles alone would be 64 batches. */
    CHECK(batches < (uint64_t)SINGLES, "%s: %d single-text jobs + a %d-text job ran in %llu "
          "batches (merged: want < %d)", label, SINGLES, BIG, (unsigned long long)batches,
          SINGLES);
    printf("%s: %d jobs (%d sequences) ran in %llu device batches\n", label, 1 + SINGLES,
           BIG + SINGLES, (unsigned long long)batches);
    double worst = 0;
    for (int i = 0; i < BIG; i++)
        worst = fmax(worst, max_abs_diff(big_out + (size_t)i * dim,
                                         alone + (size_t)(i % n_texts) * dim, dim));
    for (int i = 0; i < SINGLES; i++)
        worst = fmax(worst, max_abs_diff(single_out + (size_t)i * dim,
                                         alone + (size_t)(i % n_texts) * dim, dim));
    CHECK(worst <= 1e-6, "%s: merged results vs alone: max diff %.3g (want <= 1e-6)", label,
          worst);
    if (expect_spread) {
        for (int d = 0; d < after.n_devices; d++)
            CHECK(after.devices[d].batches > before.devices[d].batches,
                  "%s: device %d (%s) ran batches too (%llu)", label, d, after.devices[d].id,
                  (unsigned long long)(after.devices[d].batches - before.devices[d].batches));
    }
    CHECK(after.queued_jobs == 0 && after.active_jobs == 0, "%s: idle after: %d queued %d active",
          label, after.queued_jobs, after.active_jobs);
    free(big);
    free(big_lens);
    free(big_out);
    free(single_out);
    free(alone);
}

/* ---- progress and done order */

typedef struct progress_log {
    int calls, last_done, monotonic, total, done_after_last;
    waiter w;
} progress_log;

static void on_progress(void *user, int done, int total)
{
    progress_log *p = user;
    pthread_mutex_lock(&p->w.m);
    if (done < p->last_done)
        p->monotonic = 0;
    p->last_done = done;
    p->total = total;
    p->calls++;
    pthread_mutex_unlock(&p->w.m);
}

static void on_progress_done(void *user, int status, const char *err)
{
    progress_log *p = user;
    p->done_after_last = p->last_done == p->total;
    on_done(&p->w, status, err);
}

static void test_progress(vkb_engine *e)
{
    enum { N = 100 };
    const char *t[N];
    for (int i = 0; i < N; i++)
        t[i] = texts[i % n_texts];
    float *out = calloc((size_t)N * dim, sizeof *out);
    progress_log p = {.monotonic = 1};
    waiter_init(&p.w, 1);
    long n_tokens = 0;
    int rc = vkb_engine_embed_async(e, "tiny-bert", t, NULL, N, out, &n_tokens, on_progress,
                                    on_progress_done, &p);
    CHECK(rc == VKB_OK, "queue a progress job");
    waiter_wait(&p.w);
    CHECK(p.w.failed == 0, "progress job ok (%s)", p.w.last_err);
    CHECK(p.calls >= 4, "100 texts in batches of 8..32: %d progress calls", p.calls);
    CHECK(p.monotonic && p.last_done == N && p.total == N, "progress rises to %d/%d", p.last_done,
          p.total);
    CHECK(p.done_after_last, "done comes after the last progress call");
    CHECK(n_tokens > N, "n_tokens filled for async: %ld", n_tokens);
    free(out);
}

/* ---- loading */

typedef struct load_arg {
    vkb_engine *e;
    int rc;
} load_arg;

static void *load_thread(void *arg)
{
    load_arg *a = arg;
    char err[256];
    a->rc = vkb_engine_load(a->e, "tiny-bert", err, sizeof err);
    return NULL;
}

static void test_load_once(void)
{
    vkb_engine *ref = make_engine("cpu", 32), *e = make_engine("cpu", 32);
    if (!ref || !e)
        return;
    char err[512];
    CHECK(vkb_engine_load(ref, "tiny-bert", err, sizeof err) == VKB_OK, "load: %s", err);
    vkb_engine_stats s_ref, s;
    vkb_engine_get_stats(ref, &s_ref);
    enum { T = 8 };
    pthread_t th[T];
    load_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (load_arg){e, -100};
        pthread_create(&th[i], NULL, load_thread, &args[i]);
    }
    int ok = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].rc == VKB_OK;
    }
    CHECK(ok == T, "%d of %d concurrent loads succeeded", ok, T);
    vkb_engine_get_stats(e, &s);
    CHECK(s.devices[0].bytes_in_use == s_ref.devices[0].bytes_in_use &&
              s.devices[0].bytes_in_use > 0,
          "8 concurrent loads hold the memory of one: %llu vs %llu bytes",
          (unsigned long long)s.devices[0].bytes_in_use,
          (unsigned long long)s_ref.devices[0].bytes_in_use);
    char **names;
    int n;
    CHECK(vkb_engine_loaded_models(e, &names, &n) == VKB_OK && n == 1 &&
              !strcmp(names[0], "tiny-bert"),
          "one model loaded");
    vkb_engine_free_names(names, n);
    vkb_model_facts f;
    CHECK(vkb_engine_model_facts(e, "tiny-bert", &f, err, sizeof err) == VKB_OK && f.dim == 32 &&
              f.num_layers == 2 && f.max_seq_length == 128 && !strcmp(f.model_type, "bert"),
          "facts: dim %d layers %d max_seq %d type %s", f.dim, f.num_layers, f.max_seq_length,
          f.model_type);

    /* Unload gives the memory back; the name can be loaded again. */
    CHECK(vkb_engine_unload(e, "tiny-bert") == VKB_OK, "unload");
    vkb_engine_get_stats(e, &s);
    CHECK(s.devices[0].bytes_in_use == 0, "no bytes after unload: %llu",
          (unsigned long long)s.devices[0].bytes_in_use);
    CHECK(vkb_engine_loaded_models(e, &names, &n) == VKB_OK && n == 0, "none loaded");
    vkb_engine_free_names(names, n);
    CHECK(vkb_engine_unload(e, "tiny-bert") == VKB_ENOTFOUND, "second unload: ENOTFOUND");
    vkb_engine_destroy(ref);

    /* Async jobs load the model on demand. */
    float out[32];
    waiter w;
    waiter_init(&w, 1);
    CHECK(vkb_engine_embed_async(e, "tiny-bert", &texts[1], &text_lens[1], 1, out, NULL, NULL,
                                 on_done, &w) == VKB_OK,
          "async embed of an unloaded model is queued");
    waiter_wait(&w);
    CHECK(w.failed == 0 && close_to_oracle(out, 1), "loaded on demand, right result (%s)",
          w.last_err);
    vkb_engine_destroy(e);
}

static void test_errors(vkb_engine *e)
{
    char err[512] = "";
    static const char *bad[] = {"../tiny-bert", "/etc", "a/b/c", "..", ".hidden", "x y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        CHECK(vkb_engine_load(e, bad[i], err, sizeof err) == VKB_EINVAL && err[0],
              "load '%s': EINVAL with a message (%s)", bad[i], err);
    }
    CHECK(vkb_engine_load(e, "no-such-model", err, sizeof err) == VKB_ENOTFOUND,
          "unknown model: ENOTFOUND (%s)", err);
    float out[64];
    const char *t = "hello";
    CHECK(vkb_engine_embed(e, "no-such-model", &t, NULL, 1, out, NULL, err, sizeof err) ==
                  VKB_ENOTFOUND && strstr(err, "no-such-model"),
          "embed unknown model: ENOTFOUND naming it (%s)", err);
    CHECK(vkb_engine_embed_async(e, "../x", &t, NULL, 1, out, NULL, NULL, on_done, NULL) ==
              VKB_EINVAL,
          "async with a bad name: EINVAL at once");
    waiter w;
    waiter_init(&w, 1);
    CHECK(vkb_engine_embed_async(e, "no-such-model", &t, NULL, 1, out, NULL, NULL, on_done, &w) ==
              VKB_OK,
          "async for an unknown model is queued");
    waiter_wait(&w);
    CHECK(w.failed == 1 && w.last_status == VKB_ENOTFOUND && strstr(w.last_err, "no-such-model"),
          "... and fails with ENOTFOUND (%s)", w.last_err);
    CHECK(vkb_engine_embed_async(e, "tiny-bert", &t, NULL, 0, out, NULL, NULL, on_done, NULL) ==
              VKB_EINVAL,
          "async with no texts: EINVAL");
    const char *null_text = NULL;
    CHECK(vkb_engine_embed(e, "tiny-bert", &null_text, NULL, 1, out, NULL, err, sizeof err) ==
              VKB_EINVAL,
          "NULL text: EINVAL");
    CHECK(vkb_engine_embed(e, "tiny-bert", &t, NULL, 0, out, NULL, err, sizeof err) == VKB_OK,
          "zero texts: OK");

    /* Token ids: raw ids of an oracle text (its specials stripped) embed like the text. */
    json_t *ids = json_object_get(json_object_get(oracle, "embeddings"), "input_ids");
    int pick = 1;
    json_t *row = json_array_get(ids, pick);
    int n = (int)json_array_size(row) - 2;
    int32_t *raw = calloc((size_t)n + 1, sizeof *raw);
    for (int k = 0; k < n; k++)
        raw[k] = (int32_t)json_integer_value(json_array_get(row, k + 1));
    const int32_t *rows[1] = {raw};
    long id_tokens = 0;
    CHECK(vkb_engine_embed_ids(e, "tiny-bert", rows, &n, 1, out, &id_tokens, err, sizeof err) ==
                  VKB_OK &&
              close_to_oracle(out, pick) && id_tokens == n + 2,
          "embed_ids of text %d's ids equals its embedding, %ld tokens with specials (%s)", pick,
          id_tokens, err);
    raw[0] = 1 << 30;
    CHECK(vkb_engine_embed_ids(e, "tiny-bert", rows, &n, 1, out, NULL, err, sizeof err) ==
                  VKB_EINVAL &&
              strstr(err, "vocabulary"),
          "an id outside the vocabulary: EINVAL (%s)", err);
    raw[0] = -1;
    CHECK(vkb_engine_embed_ids(e, "tiny-bert", rows, &n, 1, out, NULL, err, sizeof err) ==
              VKB_EINVAL,
          "a negative id: EINVAL");
    free(raw);
}

/* ---- BERTScore through the engine */

static void test_bertscore(vkb_engine *e)
{
    json_t *cases = json_object_get(json_object_get(oracle, "bertscore"), "cases");
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *cs = json_array_get(cases, c), *req = json_object_get(cs, "request");
        const char *name = json_string_value(json_object_get(cs, "name"));
        json_t *jc = json_object_get(req, "candidates"), *jr = json_object_get(req, "references");
        int n = (int)json_array_size(jc);
        const char **cands = calloc((size_t)n, sizeof *cands);
        const char **refs = calloc((size_t)n, sizeof *refs);
        float *P = calloc((size_t)n, sizeof *P), *R = calloc((size_t)n, sizeof *R),
              *F = calloc((size_t)n, sizeof *F);
        for (int i = 0; i < n; i++) {
            cands[i] = json_string_value(json_array_get(jc, i));
            refs[i] = json_string_value(json_array_get(jr, i));
        }
        vkb_bertscore_opts o = {
            .num_layers = (int)json_integer_value(json_object_get(req, "num_layers")),
            .idf = json_is_true(json_object_get(req, "idf")),
            .rescale_with_baseline = json_is_true(json_object_get(req, "rescale_with_baseline")),
            .lang = "en"};
        char err[512] = "";
        int rc = vkb_engine_bertscore(e, "tiny-bert", cands, refs, NULL, NULL, n, &o, P, R, F,
                                      err, sizeof err);
        CHECK(rc == VKB_OK, "bertscore %s: %s", name, err);
        json_t *base = json_object_get(cs, "baseline");
        double worst = 0;
        const char *keys[3] = {"P", "R", "F"};
        float *got[3] = {P, R, F};
        for (int k = 0; k < 3; k++) {
            double tol = 1e-4;
            if (base)
                tol /= 1 - json_number_value(json_array_get(base, k));
            json_t *want = json_object_get(cs, keys[k]);
            for (int i = 0; i < n; i++) {
                double d = fabs(got[k][i] - json_number_value(json_array_get(want, i)));
                worst = fmax(worst, d / tol);
            }
        }
        CHECK(rc == VKB_OK && worst <= 1, "bertscore %s: worst error %.3g x tolerance", name,
              worst);
        free(cands);
        free(refs);
        free(P);
        free(R);
        free(F);
    }
}

/* ---- many callers at once, and unload while jobs run */

typedef struct caller_arg {
    vkb_engine *e;
    int seed, bad, failed;
} caller_arg;

static void *caller_thread(void *arg)
{
    caller_arg *a = arg;
    float out[3 * 32];
    char err[256];
    for (int r = 0; r < 40; r++) {
        int i = (a->seed * 7 + r * 3) % n_texts, n = 1 + r % 3;
        const char *t[3];
        size_t l[3];
        for (int k = 0; k < n; k++) {
            t[k] = texts[(i + k) % n_texts];
            l[k] = text_lens[(i + k) % n_texts];
        }
        if (vkb_engine_embed(a->e, "tiny-bert", t, l, n, out, NULL, err, sizeof err) != VKB_OK) {
            a->failed++;
            continue;
        }
        for (int k = 0; k < n; k++)
            a->bad += !close_to_oracle(out + k * 32, (i + k) % n_texts);
    }
    return NULL;
}

static void test_concurrent_callers(void)
{
    vkb_engine *e = make_engine("cpu,cpu", 16);
    if (!e)
        return;
    enum { T = 6 };
    pthread_t th[T];
    caller_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (caller_arg){e, i, 0, 0};
        pthread_create(&th[i], NULL, caller_thread, &args[i]);
    }
    int bad = 0, failed = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        bad += args[i].bad;
        failed += args[i].failed;
    }
    CHECK(failed == 0 && bad == 0, "6 threads x 40 sync embeds: %d failed, %d wrong", failed,
          bad);

    /* Unload waits for the jobs that hold the model, then frees it. */
    enum { N = 400 };
    const char **t = calloc(N, sizeof *t);
    size_t *l = calloc(N, sizeof *l);
    for (int i = 0; i < N; i++) {
        t[i] = texts[i % n_texts];
        l[i] = text_lens[i % n_texts];
    }
    float *out = calloc((size_t)N * dim, sizeof *out);
    waiter w;
    waiter_init(&w, 1);
    CHECK(vkb_engine_embed_async(e, "tiny-bert", t, l, N, out, NULL, NULL, on_done, &w) ==
              VKB_OK,
          "queue a 400-text job");
    CHECK(vkb_engine_unload(e, "tiny-bert") == VKB_OK, "unload while it runs");
    waiter_wait(&w);
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += !close_to_oracle(out + (size_t)i * dim, i % n_texts);
    CHECK(w.failed == 0 && wrong == 0, "the job ran to the end: %d failed, %d wrong", w.failed,
          wrong);
    vkb_engine_stats s;
    vkb_engine_get_stats(e, &s);
    CHECK(s.devices[0].bytes_in_use == 0 && s.devices[1].bytes_in_use == 0,
          "both replicas freed");
    free(t);
    free(l);
    free(out);
    vkb_engine_destroy(e);
}

/* destroy finishes what was queued */
static void test_destroy_finishes(void)
{
    vkb_engine *e = make_engine("cpu", 4);
    if (!e)
        return;
    enum { J = 40 };
    float *out = calloc((size_t)J * dim, sizeof *out);
    waiter w;
    waiter_init(&w, J);
    for (int i = 0; i < J; i++)
        vkb_engine_embed_async(e, "tiny-bert", &texts[i % n_texts], &text_lens[i % n_texts], 1,
                               out + (size_t)i * dim, NULL, NULL, on_done, &w);
    vkb_engine_destroy(e);
    pthread_mutex_lock(&w.m);
    int done = w.done, failed = w.failed;
    pthread_mutex_unlock(&w.m);
    CHECK(done == J && failed == 0, "destroy ran every queued job: %d done, %d failed", done,
          failed);
    int bad = 0;
    for (int i = 0; i < J; i++)
        bad += !close_to_oracle(out + (size_t)i * dim, i % n_texts);
    CHECK(bad == 0, "%d results wrong after destroy", bad);
    waiter_wait(&w);
    free(out);
}

static void run_device(const char *device, int spread)
{
    vkb_engine *e = make_engine(device, 32);
    if (!e)
        return;
    char err[512], label[64];
    snprintf(label, sizeof label, "device %s", device);
    int rc = vkb_engine_load(e, "tiny-bert", err, sizeof err);
    if (CHECK(rc == VKB_OK, "%s: load tiny-bert: %s", label, err)) {
        check_oracle(e, label);
        test_dynamic_batching(e, label, spread);
    }
    vkb_engine_destroy(e);
}

int main(void)
{
    vkb_log_set_level(VKB_LOG_WARN);
    testdata = tl_testdata("engine oracle tests");
    if (!testdata)
        return tl_finish();
    snprintf(models_dir, sizeof models_dir, "%s/models", testdata);
    if (!load_oracle())
        return tl_finish();

    vkb_engine *e = make_engine("cpu", 8);
    if (CHECK(e, "cpu engine")) {
        char err[512];
        CHECK(vkb_engine_load(e, "tiny-bert", err, sizeof err) == VKB_OK, "load: %s", err);
        check_oracle(e, "cpu, batch 8");
        test_progress(e);
        test_errors(e);
        test_bertscore(e);
        vkb_engine_destroy(e);
    }
    run_device("cpu", 0);
    run_device("cpu,cpu", 1);
    test_load_once();
    test_concurrent_callers();
    test_destroy_finishes();
    run_device("vulkan:0", 0);
    run_device("vulkan:0,vulkan:0", 1);
    int validation = vkb_vulkan_validation_errors();
    CHECK(validation == 0, "%d Vulkan validation messages", validation);
    json_decref(oracle);
    free(texts);
    free(text_lens);
    free(expected);
    return tl_finish();
}
