/*
 * test_bertscore_nul.c — BERTScore texts holding U+0000 through the engine (sync and async,
 * CPU and Vulkan): with lengths a text is all its bytes, so "a\0b" is scored as the tokenizer
 * reads it (BERT's normalizer drops the NUL: like "ab"), never cut at the NUL to "a"; dedup
 * keeps "a\0b" and "a" apart within one request; NULL lengths still mean C strings.
 */
#include "testlib.h"
#include "vkb_runtime.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char models_dir[1024];
static const char A_NUL_B[] = "a\0b"; /* 3 bytes */

/* ---- async completion */

typedef struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done, status;
} waiter;

static void on_done(void *user, int status, const char *err)
{
    waiter *w = user;
    if (status != VKB_OK)
        printf("async bertscore failed: %s\n", err ? err : "");
    pthread_mutex_lock(&w->m);
    w->status = status;
    w->done = 1;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

/* F of one (cand, ref) pair given with lengths, through the sync or the async call. */
static int score(vkb_engine *e, int async, const char *cand, size_t cand_len, const char *ref,
                 size_t ref_len, float prf[3])
{
    vkb_bertscore_opts o = {.num_layers = 2};
    char err[512] = "";
    if (!async) {
        int rc = vkb_engine_bertscore(e, "tiny-bert", &cand, &ref, &cand_len, &ref_len, 1, &o,
                                      &prf[0], &prf[1], &prf[2], err, sizeof err);
        if (rc != VKB_OK)
            printf("bertscore failed: %s\n", err);
        return rc;
    }
    waiter w = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};
    int rc = vkb_engine_bertscore_async(e, "tiny-bert", &cand, &ref, &cand_len, &ref_len, 1, &o,
                                        &prf[0], &prf[1], &prf[2], NULL, on_done, &w);
    if (rc != VKB_OK)
        return rc;
    pthread_mutex_lock(&w.m);
    while (!w.done)
        pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    return w.status;
}

static int near(const float a[3], const float b[3], double tol)
{
    for (int k = 0; k < 3; k++)
        if (!(fabs((double)a[k] - (double)b[k]) <= tol))
            return 0;
    return 1;
}

static void check_pairs(vkb_engine *e, const char *label, int async)
{
    const float ones[3] = {1, 1, 1};
    float nul_ab[3], ab_ab[3], nul_a[3], ab_a[3], a_nul[3];
    int ok = score(e, async, A_NUL_B, 3, "ab", 2, nul_ab) == VKB_OK &&
             score(e, async, "ab", 2, "ab", 2, ab_ab) == VKB_OK &&
             score(e, async, A_NUL_B, 3, "a", 1, nul_a) == VKB_OK &&
             score(e, async, "ab", 2, "a", 1, ab_a) == VKB_OK &&
             score(e, async, "a", 1, A_NUL_B, 3, a_nul) == VKB_OK;
    if (!CHECK(ok, "%s: every pair scores", label))
        return;
    CHECK(near(nul_ab, ones, 1e-6) && near(ab_ab, ones, 1e-6),
          "%s: a\\0b vs ab scores like ab vs ab (1): P %.7f R %.7f F %.7f", label, nul_ab[0],
          nul_ab[1], nul_ab[2]);
    CHECK(nul_a[2] < 1 - 1e-3, "%s: a\\0b vs a is not 1 (the text is not cut at the NUL): F %.7f",
          label, nul_a[2]);
    CHECK(near(nul_a, ab_a, 1e-5), "%s: a\\0b vs a scores like ab vs a: F %.7f vs %.7f", label,
          nul_a[2], ab_a[2]);
    CHECK(fabs(a_nul[0] - nul_a[1]) <= 1e-5 && fabs(a_nul[1] - nul_a[0]) <= 1e-5,
          "%s: a NUL in the reference counts too (sides swapped: P %.7f R %.7f)", label,
          a_nul[0], a_nul[1]);
}

/* One request where "a\0b" and "a" both occur: dedup must keep them apart. */
static void check_one_request(vkb_engine *e, const char *label)
{
    const char *cands[] = {"a", A_NUL_B, "a", A_NUL_B};
    const char *refs[] = {"a", "a", A_NUL_B, A_NUL_B};
    const size_t cand_lens[] = {1, 3, 1, 3}, ref_lens[] = {1, 1, 3, 3};
    float P[4], R[4], F[4], ab_a[3];
    vkb_bertscore_opts o = {.num_layers = 2};
    char err[512] = "";
    int rc = vkb_engine_bertscore(e, "tiny-bert", cands, refs, cand_lens, ref_lens, 4, &o, P, R,
                                  F, err, sizeof err);
    if (!CHECK(rc == VKB_OK, "%s: mixed request: %s", label, err) ||
        !CHECK(score(e, 0, "ab", 2, "a", 1, ab_a) == VKB_OK, "%s: ab vs a", label))
        return;
    CHECK(fabs(F[0] - 1) <= 1e-6 && fabs(F[3] - 1) <= 1e-6, "%s: a/a and a\\0b/a\\0b score 1: "
          "%.7f %.7f", label, F[0], F[3]);
    CHECK(fabs(F[1] - ab_a[2]) <= 1e-5 && F[1] < 1 - 1e-3,
          "%s: a\\0b vs a in a request that also holds a: F %.7f, alone %.7f", label, F[1],
          ab_a[2]);
    CHECK(fabs(P[2] - R[1]) <= 1e-5 && fabs(R[2] - P[1]) <= 1e-5,
          "%s: a vs a\\0b is a\\0b vs a swapped: P %.7f R %.7f", label, P[2], R[2]);

    /* NULL lengths: C strings, as before (here "a\0b" ends at its NUL and is "a") */
    const char *c_str[] = {A_NUL_B}, *r_str[] = {"a"};
    rc = vkb_engine_bertscore(e, "tiny-bert", c_str, r_str, NULL, NULL, 1, &o, P, R, F, err,
                              sizeof err);
    CHECK(rc == VKB_OK && fabs(F[0] - 1) <= 1e-6,
          "%s: NULL lengths read NUL-terminated strings: F %.7f (%s)", label, F[0], err);
}

static void run_device(const char *device)
{
    vkb_engine_config c = {.device = device, .model_dir = models_dir};
    vkb_engine *e = NULL;
    char err[512] = "";
    if (vkb_engine_create(&c, &e, err, sizeof err) != VKB_OK) {
        printf("SKIP device %s: %s\n", device, err);
        return;
    }
    if (CHECK(vkb_engine_load(e, "tiny-bert", err, sizeof err) == VKB_OK, "%s: load: %s",
              device, err)) {
        char label[64];
        snprintf(label, sizeof label, "%s sync", device);
        check_pairs(e, label, 0);
        snprintf(label, sizeof label, "%s async", device);
        check_pairs(e, label, 1);
        check_one_request(e, device);
    }
    vkb_engine_destroy(e);
}

int main(void)
{
    vkb_log_set_level(VKB_LOG_WARN);
    const char *td = tl_testdata("BERTScore with U+0000");
    if (!td)
        return tl_finish();
    snprintf(models_dir, sizeof models_dir, "%s/models", td);
    run_device("cpu");
    run_device("vulkan:0");
    return tl_finish();
}
