/*
 * engine_worker.c — a device's worker thread: tokenizes new jobs, forms batches from the
 * shared queue (dynamic batching), runs them on its replica, hands results back.
 *
 * Forming a batch: the oldest runnable job picks the model; up to 4 x embed_batch untaken
 * sequences of that model are gathered in queue order (each job's own longest first); the
 * batch is the run of them, in length order, that contains the oldest one and spans the
 * fewest lengths (so the oldest is always served and padding stays small), as long as
 * fits: embed_batch sequences and embed_batch x 512 padded tokens. Results are copied to
 * each job's `out` at the sequence's index.
 *
 * Locks: e->lock for the queue and counters, d->use while the backend runs; d->use is never
 * taken while e->lock is held (the order is d->use, then e->lock).
 */
#include "engine_internal.h"
#include "vkb_platform.h"

#include "vkb_runtime.h"
#include "bertscore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int engine_device_alloc_scratch(engine_device *d, int embed_batch)
{
    size_t b = (size_t)embed_batch, c = 4 * b;
    d->cand_job = calloc(c, sizeof *d->cand_job);
    d->cand_seq = calloc(c, sizeof *d->cand_seq);
    d->cand_len = calloc(c, sizeof *d->cand_len);
    d->cand_rank = calloc(c, sizeof *d->cand_rank);
    d->batch_ids = calloc(b, sizeof *d->batch_ids);
    d->batch_lens = calloc(b, sizeof *d->batch_lens);
    d->batch_seq = calloc(b, sizeof *d->batch_seq);
    d->batch_dist = calloc(b, sizeof *d->batch_dist);
    d->batch_job = calloc(b, sizeof *d->batch_job);
    d->dist_job = calloc(b, sizeof *d->dist_job);
    d->dist_count = calloc(b, sizeof *d->dist_count);
    d->dist_done = calloc(b, sizeof *d->dist_done);
    d->dist_rc = calloc(b, sizeof *d->dist_rc);
    int ok = d->cand_job && d->cand_seq && d->cand_len && d->cand_rank && d->batch_ids &&
             d->batch_lens && d->batch_seq && d->batch_dist && d->batch_job && d->dist_job &&
             d->dist_count && d->dist_done && d->dist_rc;
    return ok ? VKB_OK : VKB_ENOMEM;
}

void engine_device_free_scratch(engine_device *d)
{
    free(d->cand_job);
    free(d->cand_seq);
    free(d->cand_len);
    free(d->cand_rank);
    free(d->batch_ids);
    free(d->batch_lens);
    free(d->batch_seq);
    free(d->batch_dist);
    free(d->batch_job);
    free(d->dist_job);
    free(d->dist_count);
    free(d->dist_done);
    free(d->dist_rc);
    free(d->out);
}

static int model_usable(const engine_model *em)
{
    return em->state == MODEL_READY || em->state == MODEL_UNLOADING;
}

static engine_job *first_runnable(vkb_engine *e)
{
    for (engine_job *j = e->head; j; j = j->next)
        if (j->state == JOB_READY && model_usable(j->model))
            return j;
    return NULL;
}

/* Runs the done callbacks of a list linked through tok_next. Called with e->lock held;
 * releases it around the callbacks. */
static void finish_list(vkb_engine *e, engine_job *list)
{
    if (!list)
        return;
    pthread_mutex_unlock(&e->lock);
    while (list) {
        engine_job *j = list;
        list = j->tok_next;
        engine_job_finish(e, j);
    }
    pthread_mutex_lock(&e->lock);
}

/* Tokenizes every NEW job whose model is loaded. Under lock (released while tokenizing).
 * Returns 1 if there was any. */
static int tokenize_new_jobs(vkb_engine *e)
{
    engine_job *list = NULL, **tail = &list;
    for (engine_job *j = e->head; j; j = j->next)
        if (j->state == JOB_NEW && model_usable(j->model)) {
            j->state = JOB_TOKENIZING;
            j->tok_next = NULL;
            *tail = j;
            tail = &j->tok_next;
        }
    if (!list)
        return 0;
    pthread_mutex_unlock(&e->lock);
    for (engine_job *j = list; j; j = j->tok_next)
        j->tok_rc = engine_job_tokenize(j);
    pthread_mutex_lock(&e->lock);
    engine_job *failed = NULL;
    for (engine_job *j = list, *next; j; j = next) {
        next = j->tok_next;
        j->state = JOB_READY;
        if (j->tok_rc != VKB_OK) {
            engine_job_fail(e, j, j->tok_rc, j->err);
            if (engine_job_claim_done(e, j)) {
                j->tok_next = failed;
                failed = j;
            }
        }
    }
    pthread_cond_broadcast(&e->work);
    finish_list(e, failed);
    return 1;
}

/* ---- forming a batch */

static int by_len_asc(const void *a, const void *b, void *lens)
{
    const int *len = lens;
    int x = len[*(const int *)a], y = len[*(const int *)b];
    if (x != y)
        return x < y ? -1 : 1;
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* Picks up to embed_batch candidates into the batch arrays; returns the batch size. */
static int choose_batch(vkb_engine *e, engine_device *d, engine_job *first)
{
    const int cap = 4 * e->embed_batch;
    int nc = 0;
    for (engine_job *j = first; j && nc < cap; j = j->next) {
        if (j->kind != JOB_EMBED || j->model != first->model || j->state != JOB_READY)
            continue;
        for (int k = j->first_open; k < j->n && nc < cap; k++) {
            int s = j->order[k];
            if (j->taken[s])
                continue;
            d->cand_job[nc] = j;
            d->cand_seq[nc] = s;
            d->cand_len[nc] = j->n_ids[s];
            d->cand_rank[nc] = nc;
            nc++;
        }
    }
    /* In length order, the run of B candidates holding the oldest (index 0) that spans the
     * fewest lengths, B as large as fits: at most embed_batch sequences and, past one, at
     * most embed_batch x 512 padded tokens (B x the run's longest), what a full batch held
     * before inputs could pass 512. So 8192-token inputs go a few at a time and the scratch
     * never outgrows what short batches use. */
    vkb_qsort_r(d->cand_rank, (size_t)nc, sizeof *d->cand_rank, by_len_asc, d->cand_len);
    int p = 0; /* where the oldest candidate landed */
    while (d->cand_rank[p] != 0)
        p++;
    const size_t budget = (size_t)e->embed_batch * MODEL_BATCH_TOKENS_PER_SEQ;
    int B = nc < e->embed_batch ? nc : e->embed_batch, start = p; /* B = 1: the oldest alone */
    for (; B > 1; B--) {
        int lo = p - B + 1 > 0 ? p - B + 1 : 0, hi = p < nc - B ? p : nc - B, best = -1;
        for (int s = lo; s <= hi; s++) {
            int longest = d->cand_len[d->cand_rank[s + B - 1]];
            int span = longest - d->cand_len[d->cand_rank[s]];
            if ((size_t)B * (size_t)longest <= budget && (best < 0 || span < best)) {
                best = span;
                start = s;
            }
        }
        if (best >= 0)
            break;
    }
    for (int k = 0; k < B; k++) {
        int c = d->cand_rank[start + k];
        engine_job *j = d->cand_job[c];
        int s = d->cand_seq[c];
        d->batch_job[k] = j;
        d->batch_seq[k] = s;
        d->batch_ids[k] = j->ids[s];
        d->batch_lens[k] = j->n_ids[s];
        j->taken[s] = 1;
        j->n_taken++;
        j->inflight++;
    }
    return B;
}

/* After choose_batch: the distinct jobs, queue bookkeeping. Under lock. Returns their count. */
static int account_batch(vkb_engine *e, engine_device *d, int B)
{
    int nd = 0;
    for (int k = 0; k < B; k++) {
        engine_job *j = d->batch_job[k];
        if (!j->batch_mark) {
            j->batch_mark = ++nd;
            d->dist_job[nd - 1] = j;
            d->dist_count[nd - 1] = 0;
        }
        d->batch_dist[k] = j->batch_mark - 1;
        d->dist_count[j->batch_mark - 1]++;
    }
    for (int q = 0; q < nd; q++) {
        engine_job *j = d->dist_job[q];
        j->batch_mark = 0;
        while (j->first_open < j->n && j->taken[j->order[j->first_open]])
            j->first_open++;
        if (j->n_taken == j->n)
            engine_dequeue(e, j);
        if (!j->started) {
            j->started = 1;
            e->queued_jobs--;
            e->active_jobs++;
        }
    }
    return nd;
}

/* ---- running it */

/* The batch failed as a whole: run each job's sequences alone, so one job's problem does not
 * fail the others. Rare, so it allocates. */
static void run_per_job(engine_device *d, model_replica *r, int B, int nd, int dim)
{
    for (int q = 0; q < nd; q++) {
        int m = d->dist_count[q], k2 = 0;
        const int32_t **ids = malloc(sizeof *ids * (size_t)m);
        int *lens = malloc(sizeof *lens * (size_t)m);
        float *out = malloc(sizeof *out * (size_t)m * (size_t)dim);
        int rc = ids && lens && out ? VKB_OK : VKB_ENOMEM;
        for (int k = 0; rc == VKB_OK && k < B; k++)
            if (d->batch_dist[k] == q) {
                ids[k2] = d->batch_ids[k];
                lens[k2++] = d->batch_lens[k];
            }
        if (rc == VKB_OK)
            rc = encoder_embed(r, ids, lens, m, out);
        for (int k = 0, k3 = 0; rc == VKB_OK && k < B; k++)
            if (d->batch_dist[k] == q)
                memcpy(d->out + (size_t)k * dim, out + (size_t)k3++ * dim, sizeof *out * dim);
        d->dist_rc[q] = rc;
        free(ids);
        free(lens);
        free(out);
    }
}

static void run_embed_batch(vkb_engine *e, engine_device *d, engine_job *first)
{
    engine_model *em = first->model;
    model_replica *r = em->replicas[d->index];
    const int dim = model_facts(em->m)->dim;
    int B = choose_batch(e, d, first);
    int nd = account_batch(e, d, B);
    long tokens = 0;
    for (int k = 0; k < B; k++)
        tokens += d->batch_lens[k];
    d->busy = 1;
    pthread_mutex_unlock(&e->lock);

    pthread_mutex_lock(&d->use);
    int rc = VKB_OK;
    size_t need = (size_t)B * (size_t)dim;
    if (need > d->out_cap) {
        float *o = realloc(d->out, need * sizeof *o);
        if (o) {
            d->out = o;
            d->out_cap = need;
        } else {
            rc = VKB_ENOMEM;
        }
    }
    if (rc == VKB_OK)
        rc = encoder_embed(r, d->batch_ids, d->batch_lens, B, d->out);
    for (int q = 0; q < nd; q++)
        d->dist_rc[q] = rc;
    if (rc != VKB_OK && rc != VKB_ENOMEM && nd > 1)
        run_per_job(d, r, B, nd, dim);
    for (int k = 0; k < B; k++) /* each sequence's slot belongs to this batch alone */
        if (d->dist_rc[d->batch_dist[k]] == VKB_OK)
            memcpy(d->batch_job[k]->out + (size_t)d->batch_seq[k] * dim,
                   d->out + (size_t)k * dim, sizeof(float) * dim);
    pthread_mutex_lock(&e->lock);
    engine_device_snapshot(d);
    pthread_mutex_unlock(&d->use);

    d->busy = 0;
    d->batches++;
    e->batches++;
    e->sequences += (uint64_t)B;
    e->tokens += (uint64_t)tokens;
    for (int q = 0; q < nd; q++) {
        engine_job *j = d->dist_job[q];
        j->inflight -= d->dist_count[q];
        /* Held across the unlocked progress calls, so no other worker finishes (frees) j. */
        j->callbacks_busy++;
        d->dist_done[q] = -1;
        if (d->dist_rc[q] != VKB_OK) {
            char msg[160];
            snprintf(msg, sizeof msg, "device batch failed on %s: %s", vkb_backend_id(d->b),
                     vkb_status_str(d->dist_rc[q]));
            engine_job_fail(e, j, d->dist_rc[q], msg);
            continue;
        }
        j->n_done += d->dist_count[q];
        if (j->progress && j->status == VKB_OK)
            d->dist_done[q] = j->n_done;
    }
    pthread_mutex_unlock(&e->lock);
    for (int q = 0; q < nd; q++)
        if (d->dist_done[q] >= 0)
            d->dist_job[q]->progress(d->dist_job[q]->user, d->dist_done[q], d->dist_job[q]->n);
    pthread_mutex_lock(&e->lock);
    engine_job *done = NULL;
    for (int q = 0; q < nd; q++) {
        engine_job *j = d->dist_job[q];
        j->callbacks_busy--;
        if (engine_job_claim_done(e, j)) {
            j->tok_next = done;
            done = j;
        }
    }
    finish_list(e, done);
}

/* hidden_states[j->hs_layer] of one text, tokenized as for embeddings, on replica r. */
static int run_hidden(model_replica *r, engine_job *j, char *err, size_t errlen)
{
    const vkb_model_facts *f = model_facts(model_replica_model(r));
    if (j->hs_layer < 0 || j->hs_layer > f->num_layers) {
        vkb_set_err(err, errlen, "layer %d is out of range: the model has hidden_states 0..%d",
                    j->hs_layer, f->num_layers);
        return VKB_EINVAL;
    }
    int32_t *ids = NULL;
    int n = 0, L = 0;
    float *h = NULL;
    int rc = model_tokenize_embed(model_replica_model(r), j->texts[0], j->text_lens[0], &ids, &n);
    if (rc != VKB_OK) {
        vkb_set_err(err, errlen, "cannot tokenize the text: %s", vkb_status_str(rc));
        return rc;
    }
    rc = encoder_hidden_states(r, (const int32_t *const *)&ids, &n, 1, j->hs_layer, &h, &L);
    free(ids);
    if (rc != VKB_OK) {
        vkb_set_err(err, errlen, "forward failed: %s", vkb_status_str(rc));
        return rc;
    }
    *j->hs_out = h; /* one sequence: L == n, no padding rows */
    *j->hs_ntok = n;
    return VKB_OK;
}

/* Jobs that run whole on one device (BERTScore, hidden states): no merging with others. */
static void run_whole_job(vkb_engine *e, engine_device *d, engine_job *j)
{
    engine_model *em = j->model;
    model_replica *r = em->replicas[d->index];
    j->n_taken = j->n;
    j->inflight = j->n;
    engine_dequeue(e, j);
    j->started = 1;
    e->queued_jobs--;
    e->active_jobs++;
    d->busy = 1;
    pthread_mutex_unlock(&e->lock);

    char err[512] = "";
    pthread_mutex_lock(&d->use);
    int rc = j->kind == JOB_HIDDEN
                 ? run_hidden(r, j, err, sizeof err)
                 : bertscore_run(r, &j->bs_opts, e->baseline_dir, em->name,
                                 (const char *const *)j->cands, (const char *const *)j->refs,
                                 j->cand_lens, j->ref_lens, j->n, j->P, j->R, j->F,
                                 j->progress, j->user, err, sizeof err);
    pthread_mutex_lock(&e->lock);
    engine_device_snapshot(d);
    pthread_mutex_unlock(&d->use);

    d->busy = 0;
    j->inflight = 0;
    if (rc != VKB_OK)
        engine_job_fail(e, j, rc, err);
    else
        j->n_done = j->n;
    if (engine_job_claim_done(e, j)) {
        j->tok_next = NULL;
        finish_list(e, j);
    }
}

void *engine_worker_main(void *arg)
{
    engine_device *d = arg;
    vkb_engine *e = d->e;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        if (tokenize_new_jobs(e))
            continue;
        engine_job *j = first_runnable(e);
        if (!j) {
            if (e->stopping && !e->head)
                break;
            pthread_cond_wait(&e->work, &e->lock);
            continue;
        }
        if (j->kind == JOB_EMBED)
            run_embed_batch(e, d, j);
        else
            run_whole_job(e, d, j);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}
