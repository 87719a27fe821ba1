/*
 * bertscore_weights.c — the host-side arithmetic of a BERTScore request that needs no model:
 * sentence dedup, idf over the references, per-token weights, and the final empty-sentence
 * rule and baseline rescaling. bertscore.c strings these around the device work.
 */
#include "bertscore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- dedup: an open-addressing set of byte strings, FNV-1a hashed */

static uint64_t hash_text(bertscore_text t)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t k = 0; k < t.len; k++)
        h = (h ^ (unsigned char)t.s[k]) * 1099511628211ull;
    return h;
}

/* Index of t in distinct, adding it when new. slots (cap, power of two) hold index + 1 or 0. */
static int intern(bertscore_text t, int *slots, size_t cap, bertscore_text *distinct, int *n)
{
    size_t i = (size_t)hash_text(t) & (cap - 1);
    for (;; i = (i + 1) & (cap - 1)) {
        if (!slots[i]) {
            distinct[*n] = t;
            slots[i] = ++*n;
            return *n - 1;
        }
        const bertscore_text *d = &distinct[slots[i] - 1];
        if (d->len == t.len && !memcmp(d->s, t.s, t.len))
            return slots[i] - 1;
    }
}

static bertscore_text text_at(const char *const *texts, const size_t *lens, int i)
{
    bertscore_text t = {texts[i], lens ? lens[i] : strlen(texts[i])};
    return t;
}

int bertscore_dedup(const char *const *cands, const char *const *refs, const size_t *cand_lens,
                    const size_t *ref_lens, int n, bertscore_text **distinct, int *n_distinct,
                    int *cand_idx, int *ref_idx)
{
    *distinct = NULL;
    *n_distinct = 0;
    if (n <= 0)
        return n < 0 ? VKB_EINVAL : VKB_OK;
    size_t cap = 16;
    while (cap < 4 * (size_t)n)
        cap *= 2;
    int *slots = calloc(cap, sizeof *slots);
    bertscore_text *d = malloc(2 * (size_t)n * sizeof *d);
    if (!slots || !d) {
        free(slots);
        free(d);
        return VKB_ENOMEM;
    }
    int nd = 0;
    for (int i = 0; i < n; i++) {
        cand_idx[i] = intern(text_at(cands, cand_lens, i), slots, cap, d, &nd);
        ref_idx[i] = intern(text_at(refs, ref_lens, i), slots, cap, d, &nd);
    }
    free(slots);
    *distinct = d;
    *n_distinct = nd;
    return VKB_OK;
}

/* ---- idf */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Every reference's distinct ids, concatenated and sorted: a run of equal ids has the length
 * df(id), since each reference contributes an id at most once. */
int bertscore_idf_build(bertscore_idf *t, const int32_t *const *docs, const int *lens,
                        int n_docs)
{
    memset(t, 0, sizeof *t);
    t->n_docs = n_docs;
    size_t total = 0;
    for (int d = 0; d < n_docs; d++)
        total += (size_t)lens[d];
    int32_t *all = malloc((total ? total : 1) * sizeof *all);
    int32_t *doc = malloc((total ? total : 1) * sizeof *doc);
    if (!all || !doc)
        goto nomem;
    size_t n_all = 0;
    for (int d = 0; d < n_docs; d++) {
        memcpy(doc, docs[d], (size_t)lens[d] * sizeof *doc);
        qsort(doc, (size_t)lens[d], sizeof *doc, cmp_i32);
        for (int i = 0; i < lens[d]; i++)
            if (i == 0 || doc[i] != doc[i - 1])
                all[n_all++] = doc[i];
    }
    qsort(all, n_all, sizeof *all, cmp_i32);
    t->ids = malloc((n_all ? n_all : 1) * sizeof *t->ids);
    t->df = malloc((n_all ? n_all : 1) * sizeof *t->df);
    if (!t->ids || !t->df)
        goto nomem;
    for (size_t i = 0; i < n_all; i++) {
        if (t->n > 0 && t->ids[t->n - 1] == all[i]) {
            t->df[t->n - 1]++;
        } else {
            t->ids[t->n] = all[i];
            t->df[t->n++] = 1;
        }
    }
    free(all);
    free(doc);
    return VKB_OK;
nomem:
    free(all);
    free(doc);
    bertscore_idf_free(t);
    return VKB_ENOMEM;
}

float bertscore_idf_of(const bertscore_idf *t, int32_t id)
{
    const int32_t *hit = bsearch(&id, t->ids, (size_t)t->n, sizeof id, cmp_i32);
    int df = hit ? t->df[hit - t->ids] : 0;
    /* bert_score: log((num_docs + 1) / (c + 1)) in double, stored as float32 */
    return (float)log((double)(t->n_docs + 1) / (double)(df + 1));
}

void bertscore_idf_free(bertscore_idf *t)
{
    free(t->ids);
    free(t->df);
    t->ids = NULL;
    t->df = NULL;
    t->n = 0;
}

void bertscore_weights(const bertscore_idf *t, int32_t cls_id, int32_t sep_id,
                       const int32_t *ids, int n, float *w)
{
    for (int i = 0; i < n; i++) {
        if (ids[i] == cls_id || ids[i] == sep_id)
            w[i] = 0.0f;
        else
            w[i] = t ? bertscore_idf_of(t, ids[i]) : 1.0f;
    }
}

/* ---- the response */

void bertscore_finish(const float *prf, const int *cand_len, const int *ref_len, int n,
                      const float *b, float *P, float *R, float *F)
{
    for (int i = 0; i < n; i++) {
        int empty = cand_len[i] == 2 || ref_len[i] == 2;
        float x[3];
        for (int k = 0; k < 3; k++) {
            x[k] = empty ? 0.0f : prf[3 * i + k];
            if (!isfinite(x[k]))
                x[k] = 0.0f;
            if (b)
                x[k] = (x[k] - b[k]) / (1.0f - b[k]);
        }
        P[i] = x[0];
        R[i] = x[1];
        F[i] = x[2];
    }
}
