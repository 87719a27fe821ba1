/*
 * engine_jobs.c — a job's life: queued, tokenized, its sequences taken by device batches,
 * failed or completed, its done callback, freed. See engine_internal.h for the invariants.
 */
#include "engine_internal.h"

#include "vkb_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void engine_job_free(engine_job *j)
{
    if (!j)
        return;
    for (int i = 0; i < j->n; i++) {
        if (j->texts)
            free(j->texts[i]);
        if (j->ids)
            free(j->ids[i]);
        if (j->cands)
            free(j->cands[i]);
        if (j->refs)
            free(j->refs[i]);
    }
    free(j->texts);
    free(j->text_lens);
    free(j->ids);
    free(j->n_ids);
    free(j->order);
    free(j->taken);
    free(j->cands);
    free(j->refs);
    free(j->cand_lens);
    free(j->ref_lens);
    free(j->bs_lang);
    free(j->prompt_name);
    free(j->prompt);
    free(j);
}

void engine_enqueue(vkb_engine *e, engine_job *j)
{
    j->prev = e->tail;
    j->next = NULL;
    if (e->tail)
        e->tail->next = j;
    else
        e->head = j;
    e->tail = j;
    j->in_queue = 1;
    e->queued_jobs++;
    pthread_cond_broadcast(&e->work);
}

void engine_dequeue(vkb_engine *e, engine_job *j)
{
    if (!j->in_queue)
        return;
    if (j->prev)
        j->prev->next = j->next;
    else
        e->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        e->tail = j->prev;
    j->prev = j->next = NULL;
    j->in_queue = 0;
}

void engine_job_fail(vkb_engine *e, engine_job *j, int status, const char *err)
{
    if (j->status == VKB_OK) {
        j->status = status ? status : VKB_EDEVICE;
        if (err != j->err) /* a tokenizer failure has written j->err already */
            snprintf(j->err, sizeof j->err, "%s", err && *err ? err : vkb_status_str(j->status));
    }
    j->n_taken = j->n; /* nothing more of it runs; sequences in flight still come back */
    engine_dequeue(e, j);
}

int engine_job_claim_done(vkb_engine *e, engine_job *j)
{
    if (j->done_called || j->in_queue || j->n_taken < j->n || j->inflight > 0 ||
        j->callbacks_busy > 0 || j->state == JOB_TOKENIZING)
        return 0;
    j->done_called = 1;
    if (j->started)
        e->active_jobs--;
    else
        e->queued_jobs--;
    engine_model_release(e, j->model);
    return 1;
}

void engine_job_finish(vkb_engine *e, engine_job *j)
{
    (void)e;
    if (j->status == VKB_OK && j->n_tokens_out)
        *j->n_tokens_out = j->tokens;
    if (j->done)
        j->done(j->user, j->status, j->status == VKB_OK ? NULL : j->err);
    engine_job_free(j);
}

/* Sequence indices by length, longest first (ties by index): batches then take neighbours
 * of similar length, so padding stays small. */
typedef struct len_idx {
    int len, idx;
} len_idx;

static int by_len_desc(const void *a, const void *b)
{
    const len_idx *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

int engine_job_prepare(engine_job *j)
{
    j->order = malloc(sizeof *j->order * (size_t)j->n);
    j->taken = calloc((size_t)j->n, 1);
    len_idx *tmp = malloc(sizeof *tmp * (size_t)j->n);
    if (!j->order || !j->taken || !tmp) {
        free(tmp);
        return VKB_ENOMEM;
    }
    j->tokens = 0;
    for (int i = 0; i < j->n; i++) {
        tmp[i] = (len_idx){j->n_ids[i], i};
        j->tokens += j->n_ids[i];
    }
    qsort(tmp, (size_t)j->n, sizeof *tmp, by_len_desc);
    for (int i = 0; i < j->n; i++)
        j->order[i] = tmp[i].idx;
    free(tmp);
    return VKB_OK; /* the caller marks it READY, under the lock if the job is queued */
}

int engine_job_tokenize(engine_job *j)
{
    const vkb_model *m = j->model->m;
    j->ids = calloc((size_t)j->n, sizeof *j->ids);
    j->n_ids = calloc((size_t)j->n, sizeof *j->n_ids);
    if (!j->ids || !j->n_ids) {
        snprintf(j->err, sizeof j->err, "out of memory tokenizing %d texts", j->n);
        return VKB_ENOMEM;
    }
    const char *prompt;
    int rc = model_prompt(m, j->prompt_name, j->prompt, &prompt, j->err, sizeof j->err);
    if (rc != VKB_OK)
        return rc;
    for (int i = 0; i < j->n; i++) {
        rc = model_tokenize_embed_prompt(m, prompt, j->texts[i], j->text_lens[i], &j->ids[i],
                                         &j->n_ids[i]);
        if (rc != VKB_OK) {
            snprintf(j->err, sizeof j->err, "cannot tokenize text %d: %s", i, vkb_status_str(rc));
            return rc;
        }
        free(j->texts[i]);
        j->texts[i] = NULL;
    }
    rc = engine_job_prepare(j);
    if (rc != VKB_OK)
        snprintf(j->err, sizeof j->err, "out of memory preparing %d texts", j->n);
    return rc;
}
