/*
 * engine_submit.c — the public ways in: embed (texts or token ids) and BERTScore, async with
 * a done callback, and the sync wrappers that wait for it.
 *
 * Async calls never block on a model: a job for a model that is not loaded waits in the
 * queue while the loader thread loads it (and fails with the load's error if that fails).
 * They copy their inputs, so the caller may free texts at once; `out` (and P/R/F) must stay
 * valid until done is called. Sync embed tokenizes on the calling thread, which spreads
 * tokenization over the callers instead of the device workers.
 */
#include "engine_internal.h"

#include "vkb_runtime.h"
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- waiting for a done callback */

typedef struct sync_wait {
    pthread_mutex_t m;
    pthread_cond_t c;
    int finished, status;
    char err[512];
} sync_wait;

static void sync_init(sync_wait *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->m, NULL);
    pthread_cond_init(&w->c, NULL);
}

static void sync_done(void *user, int status, const char *err)
{
    sync_wait *w = user;
    pthread_mutex_lock(&w->m);
    w->status = status;
    snprintf(w->err, sizeof w->err, "%s", err ? err : "");
    w->finished = 1;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

static int sync_wait_for(sync_wait *w, char *err, size_t errlen)
{
    pthread_mutex_lock(&w->m);
    while (!w->finished)
        pthread_cond_wait(&w->c, &w->m);
    pthread_mutex_unlock(&w->m);
    pthread_cond_destroy(&w->c);
    pthread_mutex_destroy(&w->m);
    if (w->status != VKB_OK)
        vkb_set_err(err, errlen, "%s", w->err);
    return w->status;
}

/* ---- queueing */

static engine_job *job_alloc(job_kind kind, int n)
{
    engine_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = kind;
    j->n = n;
    return j;
}

static char *copy_text(const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

/* Queues j for `model`, loading it on demand. Frees j and returns an error if not queued. */
static int queue_async(vkb_engine *e, const char *model, engine_job *j)
{
    pthread_mutex_lock(&e->lock);
    int rc = VKB_OK;
    if (e->stopping)
        rc = VKB_EBUSY;
    else if (!engine_find_model(e, model) && resolve_check_name(model, NULL, 0) != VKB_OK)
        rc = VKB_EINVAL; /* never queue a load for a name that is not one */
    else if (!(j->model = engine_model_for_job(e, model)))
        rc = VKB_ENOMEM;
    if (rc == VKB_OK)
        engine_enqueue(e, j);
    pthread_mutex_unlock(&e->lock);
    if (rc != VKB_OK)
        engine_job_free(j);
    return rc;
}

/* The job's own copies of opts' strings; 0 or VKB_ENOMEM. */
static int copy_opts(engine_job *j, const vkb_embed_opts *opts)
{
    if (opts && opts->prompt_name && !(j->prompt_name = strdup(opts->prompt_name)))
        return VKB_ENOMEM;
    if (opts && opts->prompt && !(j->prompt = strdup(opts->prompt)))
        return VKB_ENOMEM;
    return VKB_OK;
}

int vkb_engine_embed_async(vkb_engine *e, const char *model, const char *const *texts,
                           const size_t *lens, int n, float *out, long *n_tokens,
                           vkb_progress_fn progress, vkb_embed_done_fn done, void *user)
{
    return vkb_engine_embed_opts_async(e, model, texts, lens, n, NULL, out, n_tokens, progress,
                                       done, user);
}

int vkb_engine_embed_opts_async(vkb_engine *e, const char *model, const char *const *texts,
                                const size_t *lens, int n, const vkb_embed_opts *opts,
                                float *out, long *n_tokens, vkb_progress_fn progress,
                                vkb_embed_done_fn done, void *user)
{
    if (!e || !model || n <= 0 || !texts || !out)
        return VKB_EINVAL;
    for (int i = 0; i < n; i++)
        if (!texts[i])
            return VKB_EINVAL;
    engine_job *j = job_alloc(JOB_EMBED, n);
    if (!j)
        return VKB_ENOMEM;
    if (copy_opts(j, opts) != VKB_OK) {
        engine_job_free(j);
        return VKB_ENOMEM;
    }
    j->texts = calloc((size_t)n, sizeof *j->texts);
    j->text_lens = calloc((size_t)n, sizeof *j->text_lens);
    if (!j->texts || !j->text_lens) {
        engine_job_free(j);
        return VKB_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        j->text_lens[i] = lens ? lens[i] : strlen(texts[i]);
        if (!(j->texts[i] = copy_text(texts[i], j->text_lens[i]))) {
            engine_job_free(j);
            return VKB_ENOMEM;
        }
    }
    j->state = JOB_NEW;
    j->out = out;
    j->n_tokens_out = n_tokens;
    j->progress = progress;
    j->done = done;
    j->user = user;
    return queue_async(e, model, j);
}

/* A READY model with one users reference taken (loading it if need be), for the sync paths
 * that tokenize on the calling thread. */
static int hold_model(vkb_engine *e, const char *model, engine_model **out, char *err,
                      size_t errlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&e->lock);
        engine_model *em = engine_find_model(e, model);
        if (em && em->state == MODEL_READY) {
            em->users++;
            pthread_mutex_unlock(&e->lock);
            *out = em;
            return VKB_OK;
        }
        pthread_mutex_unlock(&e->lock);
        int rc = vkb_engine_load(e, model, err, errlen);
        if (rc != VKB_OK)
            return rc;
    }
    vkb_set_err(err, errlen, "model '%s' was unloaded meanwhile", model);
    return VKB_ENOTFOUND;
}

/* Queues a READY job whose model reference is held and waits for it. */
static int run_sync(vkb_engine *e, engine_job *j, char *err, size_t errlen)
{
    sync_wait w;
    sync_init(&w);
    j->done = sync_done;
    j->user = &w;
    pthread_mutex_lock(&e->lock);
    if (e->stopping) {
        engine_model_release(e, j->model);
        pthread_mutex_unlock(&e->lock);
        engine_job_free(j);
        sync_done(&w, VKB_EBUSY, "the engine is shutting down");
        return sync_wait_for(&w, err, errlen);
    }
    engine_enqueue(e, j);
    pthread_mutex_unlock(&e->lock);
    return sync_wait_for(&w, err, errlen);
}

static void release_held(vkb_engine *e, engine_model *em)
{
    pthread_mutex_lock(&e->lock);
    engine_model_release(e, em);
    pthread_mutex_unlock(&e->lock);
}

/* A job that was never queued: give back its model reference and free it. */
static void drop_unqueued(vkb_engine *e, engine_job *j)
{
    release_held(e, j->model);
    engine_job_free(j);
}

int vkb_engine_embed(vkb_engine *e, const char *model, const char *const *texts,
                     const size_t *lens, int n, float *out, long *n_tokens, char *err,
                     size_t errlen)
{
    return vkb_engine_embed_opts(e, model, texts, lens, n, NULL, out, n_tokens, err, errlen);
}

int vkb_engine_embed_opts(vkb_engine *e, const char *model, const char *const *texts,
                          const size_t *lens, int n, const vkb_embed_opts *opts, float *out,
                          long *n_tokens, char *err, size_t errlen)
{
    if (n_tokens)
        *n_tokens = 0;
    if (!e || !model || n < 0 || (n > 0 && (!texts || !out))) {
        vkb_set_err(err, errlen, "vkb_engine_embed: bad arguments");
        return VKB_EINVAL;
    }
    for (int i = 0; i < n; i++)
        if (!texts[i]) {
            vkb_set_err(err, errlen, "text %d is NULL", i);
            return VKB_EINVAL;
        }
    engine_model *em;
    int rc = hold_model(e, model, &em, err, errlen);
    if (rc != VKB_OK)
        return rc;
    const char *prompt; /* an unknown prompt name is an error even with no texts */
    rc = model_prompt(em->m, opts ? opts->prompt_name : NULL, opts ? opts->prompt : NULL,
                      &prompt, err, errlen);
    if (rc != VKB_OK || n == 0) { /* nothing to do, but an unknown model is still an error */
        release_held(e, em);
        return rc;
    }
    engine_job *j = job_alloc(JOB_EMBED, n);
    if (j)
        j->model = em;
    if (!j || !(j->ids = calloc((size_t)n, sizeof *j->ids)) ||
        !(j->n_ids = calloc((size_t)n, sizeof *j->n_ids))) {
        vkb_set_err(err, errlen, "out of memory");
        if (j)
            drop_unqueued(e, j);
        else
            release_held(e, em);
        return VKB_ENOMEM;
    }
    for (int i = 0; i < n && rc == VKB_OK; i++) {
        rc = model_tokenize_embed_prompt(em->m, prompt, texts[i], lens ? lens[i] : strlen(texts[i]),
                                         &j->ids[i], &j->n_ids[i]);
        if (rc != VKB_OK)
            vkb_set_err(err, errlen, "cannot tokenize text %d: %s", i, vkb_status_str(rc));
    }
    if (rc == VKB_OK && (rc = engine_job_prepare(j)) != VKB_OK)
        vkb_set_err(err, errlen, "out of memory");
    if (rc != VKB_OK) {
        drop_unqueued(e, j);
        return rc;
    }
    j->state = JOB_READY;
    j->out = out;
    j->n_tokens_out = n_tokens;
    return run_sync(e, j, err, errlen);
}

int vkb_engine_embed_ids(vkb_engine *e, const char *model, const int32_t *const *ids,
                         const int *n_ids, int n, float *out, long *n_tokens, char *err,
                         size_t errlen)
{
    if (!e || !model || n < 0 || (n > 0 && (!ids || !n_ids || !out))) {
        vkb_set_err(err, errlen, "vkb_engine_embed_ids: bad arguments");
        return VKB_EINVAL;
    }
    engine_model *em;
    int rc = hold_model(e, model, &em, err, errlen);
    engine_job *j = rc == VKB_OK ? job_alloc(JOB_EMBED, n) : NULL;
    if (rc != VKB_OK)
        return rc;
    if (!j) {
        release_held(e, em);
        return VKB_ENOMEM;
    }
    j->model = em;
    if (n == 0) {
        drop_unqueued(e, j);
        return VKB_OK;
    }
    /* Ids the model cannot embed are refused here, so they never fail a shared batch. */
    int vocab = model_id_limit(em->m);
    j->ids = calloc((size_t)n, sizeof *j->ids);
    j->n_ids = calloc((size_t)n, sizeof *j->n_ids);
    if (!j->ids || !j->n_ids)
        rc = VKB_ENOMEM;
    for (int i = 0; i < n && rc == VKB_OK; i++) {
        if (n_ids[i] < 0 || (n_ids[i] > 0 && !ids[i])) {
            vkb_set_err(err, errlen, "input %d: bad token array", i);
            rc = VKB_EINVAL;
            break;
        }
        for (int t = 0; t < n_ids[i]; t++)
            if (ids[i][t] < 0 || ids[i][t] >= vocab) {
                vkb_set_err(err, errlen, "input %d: token id %d outside the vocabulary (0..%d)",
                            i, (int)ids[i][t], vocab - 1);
                rc = VKB_EINVAL;
                break;
            }
        if (rc == VKB_OK)
            rc = model_wrap_ids(em->m, ids[i], n_ids[i], &j->ids[i], &j->n_ids[i]);
    }
    if (rc == VKB_OK)
        rc = engine_job_prepare(j);
    if (rc != VKB_OK) {
        if (rc == VKB_ENOMEM)
            vkb_set_err(err, errlen, "out of memory");
        drop_unqueued(e, j);
        return rc;
    }
    j->state = JOB_READY;
    j->out = out;
    j->n_tokens_out = n_tokens;
    return run_sync(e, j, err, errlen);
}

int vkb_engine_bertscore_async(vkb_engine *e, const char *model, const char *const *cands,
                               const char *const *refs, const size_t *cand_lens,
                               const size_t *ref_lens, int n, const vkb_bertscore_opts *opts,
                               float *P, float *R, float *F, vkb_progress_fn progress,
                               vkb_embed_done_fn done, void *user)
{
    if (!e || !model || n <= 0 || !cands || !refs || !P || !R || !F)
        return VKB_EINVAL;
    for (int i = 0; i < n; i++)
        if (!cands[i] || !refs[i])
            return VKB_EINVAL;
    engine_job *j = job_alloc(JOB_BERTSCORE, n);
    if (!j)
        return VKB_ENOMEM;
    j->cands = calloc((size_t)n, sizeof *j->cands);
    j->refs = calloc((size_t)n, sizeof *j->refs);
    j->cand_lens = calloc((size_t)n, sizeof *j->cand_lens);
    j->ref_lens = calloc((size_t)n, sizeof *j->ref_lens);
    if (opts)
        j->bs_opts = *opts;
    j->bs_lang = j->bs_opts.lang ? strdup(j->bs_opts.lang) : NULL;
    j->bs_opts.lang = j->bs_lang;
    int ok = j->cands && j->refs && j->cand_lens && j->ref_lens &&
             (!opts || !opts->lang || j->bs_lang);
    for (int i = 0; ok && i < n; i++) {
        j->cand_lens[i] = cand_lens ? cand_lens[i] : strlen(cands[i]);
        j->ref_lens[i] = ref_lens ? ref_lens[i] : strlen(refs[i]);
        ok = (j->cands[i] = copy_text(cands[i], j->cand_lens[i])) &&
             (j->refs[i] = copy_text(refs[i], j->ref_lens[i]));
    }
    if (!ok) {
        engine_job_free(j);
        return VKB_ENOMEM;
    }
    j->state = JOB_READY;
    j->P = P;
    j->R = R;
    j->F = F;
    j->progress = progress;
    j->done = done;
    j->user = user;
    return queue_async(e, model, j);
}

int vkb_engine_bertscore(vkb_engine *e, const char *model, const char *const *cands,
                         const char *const *refs, const size_t *cand_lens,
                         const size_t *ref_lens, int n, const vkb_bertscore_opts *opts,
                         float *P, float *R, float *F, char *err, size_t errlen)
{
    if (n == 0)
        return VKB_OK;
    /* Loading here first gives a not-found its own message before anything is queued. */
    int rc = e && model ? vkb_engine_load(e, model, err, errlen) : VKB_EINVAL;
    if (rc != VKB_OK) {
        if (!e || !model)
            vkb_set_err(err, errlen, "vkb_engine_bertscore: bad arguments");
        return rc;
    }
    sync_wait w;
    sync_init(&w);
    rc = vkb_engine_bertscore_async(e, model, cands, refs, cand_lens, ref_lens, n, opts, P, R, F,
                                    NULL, sync_done, &w);
    if (rc != VKB_OK) {
        vkb_set_err(err, errlen, "cannot queue BERTScore: %s", vkb_status_str(rc));
        sync_done(&w, rc, err);
    }
    return sync_wait_for(&w, err, errlen);
}

int vkb_engine_hidden_states(vkb_engine *e, const char *model, const char *text, size_t len,
                             int layer, float **out, int *n_tokens, char *err, size_t errlen)
{
    if (!e || !model || !text || !out || !n_tokens) {
        vkb_set_err(err, errlen, "vkb_engine_hidden_states: bad arguments");
        return VKB_EINVAL;
    }
    *out = NULL;
    *n_tokens = 0;
    int rc = vkb_engine_load(e, model, err, errlen);
    if (rc != VKB_OK)
        return rc;
    engine_job *j = job_alloc(JOB_HIDDEN, 1);
    if (j) {
        j->texts = calloc(1, sizeof *j->texts);
        j->text_lens = calloc(1, sizeof *j->text_lens);
        if (!j->texts || !j->text_lens || !(j->texts[0] = copy_text(text, len))) {
            engine_job_free(j);
            j = NULL;
        }
    }
    if (!j) {
        vkb_set_err(err, errlen, "out of memory");
        return VKB_ENOMEM;
    }
    j->text_lens[0] = len;
    j->hs_layer = layer;
    j->hs_out = out;
    j->hs_ntok = n_tokens;
    j->state = JOB_READY;
    sync_wait w;
    sync_init(&w);
    j->done = sync_done;
    j->user = &w;
    rc = queue_async(e, model, j);
    if (rc != VKB_OK) {
        vkb_set_err(err, errlen, "cannot queue the job: %s", vkb_status_str(rc));
        sync_done(&w, rc, err);
    }
    return sync_wait_for(&w, err, errlen);
}
