/*
 * bertscore.c — one BERTScore request on one replica, as bert_score 0.3.13 computes it.
 *
 * Each distinct sentence is tokenized and encoded once (bert_score dedups candidates and
 * references together); sentences go to the encoder sorted by token count, batch_size at a
 * time, running only the first num_layers layers. Each sentence's real token rows are copied
 * on the device into one packed table, and one greedy_match dispatch scores every pair: the
 * similarity matrices never leave the device and only P/R/F are read back.
 *
 * Device tensors of one chunk (a run of pairs whose table fits one storage buffer; one chunk
 * for every request short of hundreds of thousands of tokens):
 *   T     (rows, C) F32  hidden_states[num_layers] rows of the chunk's distinct sentences,
 *                        sentence s at rows row_of[s] .. row_of[s] + len[s] - 1
 *   w     (rows)    F32  token weights: 0 for CLS/SEP, else 1 or idf over the references
 *   pairs (np, 4)   I32  [cand_row, cand_len, ref_row, ref_len]
 *   prf   (np, 3)   F32  precision, recall, f1
 */
#include "bertscore.h"
#include "vkb_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_BATCH = 64, MAX_BATCH = 512 };
/* Upper bound on one packed table (the device's storage-buffer range may lower it). */
static const uint64_t TABLE_MAX_BYTES = 256ull << 20;

typedef struct request {
    model_replica *r;
    vkb_backend *be;
    int C, num_layers, batch_size;
    int32_t cls_id, sep_id;
    uint64_t table_max_bytes;
    int n;                   /* pairs */
    int *cand_idx, *ref_idx; /* (n): distinct-sentence index of each side */
    int n_sent;              /* distinct sentences */
    int32_t **ids;           /* (n_sent): token ids as bert_score encodes them */
    int *lens;               /* (n_sent) */
    bertscore_idf idf;
    int use_idf;
    int *row_of;             /* (n_sent): row in the current chunk's table, -1 outside it */
    int *chunk_sent;         /* (n_sent): sentences of the current chunk */
    float *prf;              /* (n, 3) host copy of the results */
    vkb_progress_fn progress;
    void *user;
    char *err;
    size_t errlen;
} request;

/* Device failures are internal faults, never the request's: a VKB_EINVAL out of the op layer
 * here would be our bug, so it must not turn into a 400. */
static int device_fault(request *q, int rc, const char *what)
{
    vkb_set_err(q->err, q->errlen, "bertscore: %s failed on %s: %s", what,
                vkb_backend_id(q->be), vkb_status_str(rc));
    return rc == VKB_EINVAL ? VKB_EDEVICE : rc;
}

static size_t table_row_limit(const request *q)
{
    uint64_t bytes = q->table_max_bytes;
    const vkb_device_info *info = vkb_backend_device_info(q->be);
    if (info && info->max_storage_buffer_range && info->max_storage_buffer_range < bytes)
        bytes = info->max_storage_buffer_range;
    size_t rows = (size_t)(bytes / ((uint64_t)q->C * sizeof(float)));
    return rows > 0 ? rows : 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Orders the chunk's sentences longest first (ties by index), so each encoder batch pads
 * little: sorts keys (INT32_MAX - len) << 32 | index. keys holds n scratch entries. */
static void sort_by_length(int *sent, int n, const int *lens, uint64_t *keys)
{
    for (int i = 0; i < n; i++)
        keys[i] = (uint64_t)(INT32_MAX - lens[sent[i]]) << 32 | (uint32_t)sent[i];
    qsort(keys, (size_t)n, sizeof *keys, cmp_u64);
    for (int i = 0; i < n; i++)
        sent[i] = (int)(uint32_t)keys[i];
}

/* Scores pairs [begin, end) whose n_cs distinct sentences (chunk_sent) have `rows` tokens. */
static int score_chunk(request *q, int begin, int end, int n_cs, size_t rows)
{
    int rc = VKB_OK, np = end - begin;
    vkb_tensor *T = NULL, *w = NULL, *pairs = NULL, *prf = NULL;
    float *w_host = malloc(rows * sizeof *w_host);
    int32_t *pairs_host = malloc((size_t)np * 4 * sizeof *pairs_host);
    const int32_t **batch_ids = malloc((size_t)q->batch_size * sizeof *batch_ids);
    int *batch_lens = malloc((size_t)q->batch_size * sizeof *batch_lens);
    uint64_t *keys = malloc((size_t)n_cs * sizeof *keys);
    if (!w_host || !pairs_host || !batch_ids || !batch_lens || !keys) {
        rc = VKB_ENOMEM;
        vkb_set_err(q->err, q->errlen, "bertscore: out of host memory");
        goto cleanup;
    }

    sort_by_length(q->chunk_sent, n_cs, q->lens, keys);
    size_t row = 0;
    for (int k = 0; k < n_cs; k++) {
        int s = q->chunk_sent[k];
        q->row_of[s] = (int)row;
        bertscore_weights(q->use_idf ? &q->idf : NULL, q->cls_id, q->sep_id, q->ids[s],
                          q->lens[s], w_host + row);
        row += (size_t)q->lens[s];
    }
    int max_len = 0; /* the longest side, for greedy_match's work split */
    for (int p = 0; p < np; p++) {
        int c = q->cand_idx[begin + p], r = q->ref_idx[begin + p];
        int32_t *e = pairs_host + 4 * p;
        e[0] = q->row_of[c];
        e[1] = q->lens[c];
        e[2] = q->row_of[r];
        e[3] = q->lens[r];
        max_len = e[1] > max_len ? e[1] : max_len;
        max_len = e[3] > max_len ? e[3] : max_len;
    }

    T = vkb_tensor_new(q->be, VKB_F32, rows * (size_t)q->C);
    w = vkb_tensor_new(q->be, VKB_F32, rows);
    pairs = vkb_tensor_new(q->be, VKB_I32, (size_t)np * 4);
    prf = vkb_tensor_new(q->be, VKB_F32, (size_t)np * 3);
    if (!T || !w || !pairs || !prf) {
        rc = VKB_ENOMEM;
        vkb_set_err(q->err, q->errlen, "bertscore: out of device memory for a %zu-row table",
                    rows);
        goto cleanup;
    }
    if ((rc = vkb_tensor_upload(w, 0, w_host, rows)) ||
        (rc = vkb_tensor_upload(pairs, 0, pairs_host, (size_t)np * 4))) {
        rc = device_fault(q, rc, "upload");
        goto cleanup;
    }

    /* One submit per encoder batch: forward, then copy each sentence's real rows out of the
     * replica's hidden tensor (padded (B*L, C)) into the table. The last submit also runs
     * the matching. */
    for (int k0 = 0, B = 0; k0 < n_cs; k0 += B) {
        /* The sentences are longest first, so the batch pads to its first one's length:
         * at most batch_size sentences, and at most batch_size x 512 padded tokens (what a
         * full batch held before inputs could pass 512), so long sentences go a few at a
         * time and the scratch stays the size short batches use. */
        int fit = (int)((size_t)q->batch_size * MODEL_BATCH_TOKENS_PER_SEQ /
                        (size_t)q->lens[q->chunk_sent[k0]]);
        B = n_cs - k0 < q->batch_size ? n_cs - k0 : q->batch_size;
        B = B < fit ? B : fit > 0 ? fit : 1;
        for (int j = 0; j < B; j++) {
            batch_ids[j] = q->ids[q->chunk_sent[k0 + j]];
            batch_lens[j] = q->lens[q->chunk_sent[k0 + j]];
        }
        /* record_only: the encoder uploads its inputs, opens the batch and leaves it open
         * for our ops; on its own failure it leaves no batch open. */
        vkb_tensor *hidden = NULL;
        int L = 0;
        rc = encoder_forward(q->r, batch_ids, batch_lens, B, q->num_layers, 1, &hidden, &L);
        if (rc) {
            rc = device_fault(q, rc, "encoder forward");
            goto cleanup;
        }
        const char *what = "copy";
        for (int j = 0; j < B && !rc; j++) {
            int s = q->chunk_sent[k0 + j];
            rc = vkb_op_copy(q->be, T, (size_t)q->row_of[s] * q->C, hidden,
                             (size_t)j * L * q->C, (size_t)q->lens[s] * q->C);
        }
        if (!rc && k0 + B >= n_cs) {
            what = "greedy_match";
            rc = vkb_op_greedy_match(q->be, prf, T, w, pairs, np, q->C, max_len);
        }
        int end_rc = vkb_batch_end(q->be); /* always closes the recording */
        if (rc || end_rc) {
            rc = device_fault(q, rc ? rc : end_rc, rc ? what : "batch");
            goto cleanup;
        }
        if (q->progress && k0 + B < n_cs) /* pairs are done only once matched */
            q->progress(q->user, begin + (int)((long long)np * (k0 + B) / (n_cs + 1)), q->n);
    }
    if ((rc = vkb_tensor_download(prf, 0, q->prf + 3 * (size_t)begin, (size_t)np * 3))) {
        rc = device_fault(q, rc, "download");
        goto cleanup;
    }
    if (q->progress)
        q->progress(q->user, end, q->n);

cleanup:
    vkb_tensor_free(T);
    vkb_tensor_free(w);
    vkb_tensor_free(pairs);
    vkb_tensor_free(prf);
    free(w_host);
    free(pairs_host);
    free(batch_ids);
    free(batch_lens);
    free(keys);
    return rc;
}

/* Splits the pairs into chunks whose tables fit, and scores each. A sentence shared by two
 * chunks is encoded in both; that only happens past the table cap (256 MiB of vectors). */
static int score_pairs(request *q)
{
    size_t max_rows = table_row_limit(q);
    for (int s = 0; s < q->n_sent; s++)
        q->row_of[s] = -1;
    int begin = 0;
    while (begin < q->n) {
        int end = begin, n_cs = 0;
        size_t rows = 0;
        while (end < q->n) {
            int c = q->cand_idx[end], r = q->ref_idx[end];
            size_t add = (q->row_of[c] < 0 ? (size_t)q->lens[c] : 0) +
                         (r != c && q->row_of[r] < 0 ? (size_t)q->lens[r] : 0);
            if (end > begin && rows + add > max_rows)
                break;
            if (q->row_of[c] < 0) {
                q->row_of[c] = 0; /* in this chunk; the real row comes in score_chunk */
                q->chunk_sent[n_cs++] = c;
            }
            if (q->row_of[r] < 0) {
                q->row_of[r] = 0;
                q->chunk_sent[n_cs++] = r;
            }
            rows += add;
            end++;
        }
        int rc = score_chunk(q, begin, end, n_cs, rows);
        if (rc)
            return rc;
        for (int k = 0; k < n_cs; k++)
            q->row_of[q->chunk_sent[k]] = -1;
        begin = end;
    }
    return VKB_OK;
}

/* Names the first pair side that holds distinct sentence s, for messages. */
static void name_sentence(const request *q, int s, char *out, size_t len)
{
    for (int i = 0; i < q->n; i++) {
        if (q->cand_idx[i] == s || q->ref_idx[i] == s) {
            snprintf(out, len, "%s %d", q->cand_idx[i] == s ? "candidate" : "reference", i);
            return;
        }
    }
    snprintf(out, len, "sentence %d", s);
}

/* A text the tokenizer refuses (VKB_EINVAL) is the request's fault, answered as embed answers
 * it: the code passes through unchanged, never turned into a device fault. */
static int tokenize_sentences(request *q, const vkb_model *m, const bertscore_text *text)
{
    for (int s = 0; s < q->n_sent; s++) {
        int rc = model_tokenize_bertscore(m, text[s].s, text[s].len, &q->ids[s], &q->lens[s]);
        if (rc) {
            char which[48];
            name_sentence(q, s, which, sizeof which);
            vkb_set_err(q->err, q->errlen, "bertscore: cannot tokenize %s: %s", which,
                        vkb_status_str(rc));
            return rc;
        }
    }
    return VKB_OK;
}

static int build_idf(request *q)
{
    const int32_t **docs = malloc((size_t)q->n * sizeof *docs);
    int *lens = malloc((size_t)q->n * sizeof *lens);
    int rc = VKB_ENOMEM;
    if (docs && lens) {
        for (int i = 0; i < q->n; i++) {
            docs[i] = q->ids[q->ref_idx[i]];
            lens[i] = q->lens[q->ref_idx[i]];
        }
        rc = bertscore_idf_build(&q->idf, docs, lens, q->n);
    }
    if (rc)
        vkb_set_err(q->err, q->errlen, "bertscore: out of host memory for idf");
    free(docs);
    free(lens);
    return rc;
}

static int check_args(model_replica *r, const char *const *cands, const char *const *refs,
                      int n, float *P, float *R, float *F, char *err, size_t errlen)
{
    if (!r || n < 0 || (n > 0 && (!cands || !refs || !P || !R || !F))) {
        vkb_set_err(err, errlen, "bertscore: bad arguments");
        return VKB_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        if (!cands[i] || !refs[i]) {
            vkb_set_err(err, errlen, "bertscore: %s %d is missing",
                        cands[i] ? "reference" : "candidate", i);
            return VKB_EINVAL;
        }
    }
    return VKB_OK;
}

int bertscore_run(model_replica *r, const vkb_bertscore_opts *opts, const char *baseline_dir,
                  const char *model_name, const char *const *cands, const char *const *refs,
                  const size_t *cand_lens, const size_t *ref_lens, int n, float *P, float *R,
                  float *F, vkb_progress_fn progress, void *user, char *err, size_t errlen)
{
    return bertscore_run_capped(r, opts, baseline_dir, model_name, cands, refs, cand_lens,
                                ref_lens, n, P, R, F, progress, user, TABLE_MAX_BYTES, err,
                                errlen);
}

int bertscore_run_capped(model_replica *r, const vkb_bertscore_opts *opts,
                         const char *baseline_dir, const char *model_name,
                         const char *const *cands, const char *const *refs,
                         const size_t *cand_lens, const size_t *ref_lens, int n, float *P,
                         float *R, float *F, vkb_progress_fn progress, void *user,
                         uint64_t table_max_bytes, char *err, size_t errlen)
{
    int rc = check_args(r, cands, refs, n, P, R, F, err, errlen);
    if (rc)
        return rc;
    vkb_bertscore_opts o = {0};
    if (opts)
        o = *opts;
    const vkb_model *m = model_replica_model(r);
    const vkb_model_facts *facts = model_facts(m);
    if (!model_name || !*model_name)
        model_name = facts->model_type; /* only for messages; callers pass the name */

    request q = {0};
    q.r = r;
    q.be = model_replica_backend(r);
    q.C = facts->hidden;
    q.batch_size = o.batch_size <= 0 ? DEFAULT_BATCH : o.batch_size;
    if (q.batch_size > MAX_BATCH)
        q.batch_size = MAX_BATCH;
    q.cls_id = model_cls_id(m);
    q.sep_id = model_sep_id(m);
    q.n = n;
    q.table_max_bytes = table_max_bytes;
    q.use_idf = o.idf;
    q.progress = progress;
    q.user = user;
    q.err = err;
    q.errlen = errlen;
    bertscore_text *distinct = NULL;
    float baseline[3];

    /* Request-level checks first: they cost nothing and answer 400 before any work. */
    if ((rc = bertscore_resolve_layers(model_name, o.num_layers, facts->num_layers,
                                       &q.num_layers, err, errlen)))
        return rc;
    if (o.rescale_with_baseline) {
        char path[4096];
        if ((rc = bertscore_find_baseline(baseline_dir, model_dir(m), o.lang, model_name,
                                          path, sizeof path, err, errlen)) ||
            (rc = bertscore_read_baseline(path, q.num_layers, baseline, err, errlen)))
            return rc;
    }
    if (n == 0)
        return VKB_OK;

    q.cand_idx = malloc((size_t)n * sizeof *q.cand_idx);
    q.ref_idx = malloc((size_t)n * sizeof *q.ref_idx);
    q.prf = malloc((size_t)n * 3 * sizeof *q.prf);
    rc = VKB_ENOMEM;
    if (!q.cand_idx || !q.ref_idx || !q.prf ||
        bertscore_dedup(cands, refs, cand_lens, ref_lens, n, &distinct, &q.n_sent, q.cand_idx,
                        q.ref_idx))
        goto nomem;
    q.ids = calloc((size_t)q.n_sent, sizeof *q.ids);
    q.lens = calloc((size_t)q.n_sent, sizeof *q.lens);
    q.row_of = malloc((size_t)q.n_sent * sizeof *q.row_of);
    q.chunk_sent = malloc((size_t)q.n_sent * sizeof *q.chunk_sent);
    if (!q.ids || !q.lens || !q.row_of || !q.chunk_sent)
        goto nomem;

    if ((rc = tokenize_sentences(&q, m, distinct)))
        goto cleanup;
    if (q.use_idf && (rc = build_idf(&q)))
        goto cleanup;
    if ((rc = score_pairs(&q)))
        goto cleanup;

    for (int i = 0; i < n; i++) {
        int cl = q.lens[q.cand_idx[i]], rl = q.lens[q.ref_idx[i]];
        bertscore_finish(q.prf + 3 * (size_t)i, &cl, &rl, 1,
                         o.rescale_with_baseline ? baseline : NULL, P + i, R + i, F + i);
    }
    rc = VKB_OK;
    goto cleanup;

nomem:
    rc = VKB_ENOMEM;
    vkb_set_err(err, errlen, "bertscore: out of host memory for %d pairs", n);
cleanup:
    if (q.ids)
        for (int s = 0; s < q.n_sent; s++)
            free(q.ids[s]);
    free(q.ids);
    free(q.lens);
    free(q.row_of);
    free(q.chunk_sent);
    free(q.cand_idx);
    free(q.ref_idx);
    free(q.prf);
    free(distinct);
    bertscore_idf_free(&q.idf);
    return rc;
}
