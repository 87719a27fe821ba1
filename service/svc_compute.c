/* svc_compute.c — /embed, /bertscore and /v1/embeddings on the loop.
 *
 * A job's life, every step on the loop thread unless marked:
 *   handle: validate the body -> job -> a free slot? begin : join the line + arm the 1 s timer
 *   timer fires first: leave the line, 503 + Retry-After, free the job
 *   begin: model known? run : load on a pool thread [pool] -> loaded -> run
 *   run: vkb_engine_*_async [engine worker: progress, done -> post msg]; token ids: [pool]
 *   finish: give the slot back (maybe to the next in line), answer if the client is still
 *           there, free the job
 * The client may go away at any point: its call's dispose calls svc_compute_abandon, which
 * frees a job that has not begun, and otherwise only unhooks the call so the result is
 * dropped when it arrives. */
#include "svc_server.h"
#include "svc_shape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void job_begin(svc_job *job);
static void job_finish(svc_job *job);
static void note_use(svc_model *m, svc_job_kind kind);

static void job_free(svc_job *job)
{
    svc_embed_request_free(&job->embed);
    svc_bertscore_request_free(&job->bertscore);
    svc_openai_request_free(&job->openai);
    free(job->out);
    free(job->body);
    free(job);
}

/* ---------------------------------------------------------------- waiting for a slot */

static void on_wait_timeout(h2o_timeout_entry_t *entry)
{
    svc_job *job = H2O_STRUCT_FROM_MEMBER(svc_job, wait_timer, entry);
    svc_server *srv = job->srv;
    svc_admission_cancel(&srv->admission, &job->waiter);
    srv->metrics.rejected_busy++;
    svc_call *call = job->call;
    job_free(job);
    if (call) {
        call->job = NULL;
        svc_respond_detail(call, 503, "GPU busy - retry later");
    }
}

/* A slot freed: hand it to the oldest waiter, if any. */
static void release_slot(svc_server *srv)
{
    svc_waiter *w = svc_admission_release(&srv->admission);
    if (!w)
        return;
    svc_job *next = H2O_STRUCT_FROM_MEMBER(svc_job, waiter, w);
    h2o_timeout_unlink(&next->wait_timer);
    job_begin(next);
}

void svc_compute_abandon(svc_job *job)
{
    job->call = NULL;
    if (svc_admission_is_waiting(&job->waiter)) {
        svc_admission_cancel(&job->srv->admission, &job->waiter);
        h2o_timeout_unlink(&job->wait_timer);
        job_free(job);
    }
    /* else it holds a slot and something is under way: job_finish drops the result */
}

/* ---------------------------------------------------------------- results */

static void call_error(svc_call *call, int http_status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void call_error(svc_call *call, int http_status, const char *code, const char *fmt, ...)
{
    svc_error err;
    svc_error_init(&err);
    err.status = http_status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof(err.message), fmt, ap);
    va_end(ap);
    if (code)
        snprintf(err.code, sizeof(err.code), "%s", code);
    svc_respond_error(call, &err);
}

static void engine_error(svc_call *call, const svc_job *job)
{
    int http_status = svc_status_for_engine(job->status);
    if (http_status >= 500)
        vkb_log(VKB_LOG_ERROR, "job-%lu (%s): %s", job->id, job->model, job->err);
    call_error(call, http_status, http_status == 404 ? "model_not_found" : NULL, "%s", job->err);
}

/* The 200 body from the job's own fields. Runs where the result arrives (the engine's worker
 * or a pool thread), not on the loop: printing 100 x 1024 floats takes ~55 ms, which would
 * stall every connection. */
static void shape_result(svc_job *job)
{
    int dim = job->facts.dim;
    size_t len = 0;
    char *body = NULL;
    switch (job->kind) {
    case SVC_JOB_EMBED:
        body = svc_shape_embed(job->out, job->items, dim, job->model, &len);
        break;
    case SVC_JOB_BERTSCORE:
        body = svc_shape_bertscore(job->out, job->out + job->items, job->out + 2 * job->items,
                                   job->items, job->model, &len);
        break;
    case SVC_JOB_OPENAI:
        if (job->openai.dimensions) {
            svc_truncate_renormalise(job->out, job->items, dim, job->openai.dimensions);
            dim = job->openai.dimensions;
        }
        body = svc_shape_openai_embeddings(job->out, job->items, dim, job->openai.base64,
                                           job->model, job->n_tokens, &len);
        break;
    }
    job->body = body;
    job->body_len = len;
}

static void job_finish(svc_job *job)
{
    svc_server *srv = job->srv;
    if (job->prev)
        job->prev->next = job->next;
    else
        srv->running = job->next;
    if (job->next)
        job->next->prev = job->prev;
    if (job->status == VKB_OK)
        note_use(svc_models_find(srv, job->model), job->kind);
    svc_call *call = job->call;
    if (call) { /* unhook first: answering may end the request */
        job->call = NULL;
        call->job = NULL;
        if (job->status == VKB_OK) {
            svc_respond_owned(call, 200, "application/json", job->body, job->body_len);
            job->body = NULL; /* svc_respond_owned took it */
        } else
            engine_error(call, job);
    }
    job_free(job);
    srv->jobs_outstanding--;
    release_slot(srv);
}

static void on_engine_done_loop(svc_msg *msg)
{
    job_finish(H2O_STRUCT_FROM_MEMBER(svc_job, msg, msg));
}

/* Engine worker thread: only the job's own fields, then the message. */
static void on_engine_done(void *user, int status, const char *err)
{
    svc_job *job = user;
    job->status = status;
    if (status != VKB_OK)
        snprintf(job->err, sizeof(job->err), "%s", err && *err ? err : vkb_status_str(status));
    else
        shape_result(job);
    svc_msg_post(&job->srv->receiver, &job->msg);
}

static void on_engine_progress(void *user, int done, int total)
{
    svc_job *job = user;
    atomic_store(&job->done, done);
    atomic_store(&job->total, total);
}

/* ---------------------------------------------------------------- running */

/* Pool thread: token-id inputs have only a blocking engine call. */
static void run_embed_ids(svc_task *t)
{
    svc_job *job = H2O_STRUCT_FROM_MEMBER(svc_job, task, t);
    job->status = vkb_engine_embed_ids(job->srv->engine, job->model, job->openai.ids,
                                       job->openai.n_ids, job->items, job->out, &job->n_tokens,
                                       job->err, sizeof(job->err));
    if (job->status == VKB_OK)
        shape_result(job);
}

static void on_embed_ids_done(svc_msg *msg)
{
    job_finish(H2O_STRUCT_FROM_MEMBER(svc_job, task.msg, msg));
}

static void job_run(svc_job *job)
{
    svc_server *srv = job->srv;
    if (!job->call) { /* the client left while the model loaded */
        job->status = VKB_OK;
        job_finish(job);
        return;
    }
    int dim = job->facts.dim;
    if (job->kind == SVC_JOB_OPENAI && job->openai.dimensions > dim) {
        job->status = VKB_EINVAL;
        snprintf(job->err, sizeof(job->err), "dimensions must be at most %d for model '%.200s'",
                 dim, job->model);
        job_finish(job);
        return;
    }
    const char *prompt_name = job->kind == SVC_JOB_EMBED ? job->embed.prompt_name
                                                         : job->openai.prompt_name;
    const char *prompt = job->kind == SVC_JOB_EMBED ? job->embed.prompt : job->openai.prompt;
    vkb_embed_opts opts = {prompt_name, prompt};
    if (job->items == 0) { /* /embed with "texts": [] (the model is loaded and known) */
        /* no compute, but an unknown prompt_name is still an error (the engine checks) */
        job->status = vkb_engine_embed_opts(srv->engine, job->model, NULL, NULL, 0, &opts, NULL,
                                            NULL, job->err, sizeof job->err);
        if (job->status == VKB_OK)
            job->body = svc_shape_embed(NULL, 0, 0, job->model, &job->body_len);
        job_finish(job);
        return;
    }
    if (job->kind == SVC_JOB_OPENAI && job->openai.ids && (prompt_name || prompt)) {
        job->status = VKB_EINVAL;
        snprintf(job->err, sizeof job->err, "prompt_name and prompt apply to text input, not "
                 "token ids");
        job_finish(job);
        return;
    }
    size_t n_floats = job->kind == SVC_JOB_BERTSCORE ? 3 * (size_t)job->items
                                                     : (size_t)job->items * (size_t)dim;
    job->out = malloc(n_floats * sizeof(float) + 1);
    if (!job->out) {
        job->status = VKB_ENOMEM;
        snprintf(job->err, sizeof(job->err), "out of memory for %zu results", n_floats);
        job_finish(job);
        return;
    }
    job->msg.on_loop = on_engine_done_loop;
    int rc;
    if (job->kind == SVC_JOB_BERTSCORE) {
        const svc_bertscore_request *r = &job->bertscore;
        vkb_bertscore_opts opts = {r->num_layers, r->idf, r->rescale_with_baseline, r->lang,
                                   r->batch_size};
        rc = vkb_engine_bertscore_async(srv->engine, job->model, r->cands, r->refs,
                                        r->cand_lens, r->ref_lens, job->items, &opts, job->out,
                                        job->out + job->items, job->out + 2 * job->items,
                                        on_engine_progress, on_engine_done, job);
    } else if (job->kind == SVC_JOB_OPENAI && job->openai.ids) {
        job->task.run = run_embed_ids;
        job->task.msg.on_loop = on_embed_ids_done;
        svc_pool_submit(srv->pool, &job->task);
        return;
    } else {
        const char *const *texts = job->kind == SVC_JOB_EMBED ? job->embed.texts
                                                              : job->openai.texts;
        const size_t *lens = job->kind == SVC_JOB_EMBED ? job->embed.lens : job->openai.lens;
        rc = vkb_engine_embed_opts_async(srv->engine, job->model, texts, lens, job->items, &opts,
                                         job->out, &job->n_tokens, on_engine_progress,
                                         on_engine_done, job);
    }
    if (rc != VKB_OK) { /* refused at submission: the callback will not come */
        job->status = rc;
        snprintf(job->err, sizeof(job->err), "%s", vkb_status_str(rc));
        job_finish(job);
    }
}

/* Pool thread. */
static void run_model_load(svc_task *t)
{
    svc_job *job = H2O_STRUCT_FROM_MEMBER(svc_job, task, t);
    job->status = svc_models_load_blocking(job->srv->engine, job->model, &job->facts, job->err,
                                           sizeof(job->err));
}

static void note_use(svc_model *m, svc_job_kind kind)
{
    if (!m)
        return;
    if (kind == SVC_JOB_BERTSCORE)
        m->for_bertscore = 1;
    else
        m->for_embed = 1;
}

static void on_model_loaded(svc_msg *msg)
{
    svc_job *job = H2O_STRUCT_FROM_MEMBER(svc_job, task.msg, msg);
    if (job->status != VKB_OK) {
        job_finish(job);
        return;
    }
    svc_models_add(job->srv, job->model, &job->facts);
    vkb_log(VKB_LOG_INFO, "model %s loaded (dim %d, %d layers)", job->model, job->facts.dim,
            job->facts.num_layers);
    job_run(job);
}

static void job_begin(svc_job *job)
{
    svc_server *srv = job->srv;
    job->started_at = svc_now_unix();
    job->next = srv->running;
    job->prev = NULL;
    if (srv->running)
        srv->running->prev = job;
    srv->running = job;
    srv->jobs_outstanding++;
    svc_model *m = svc_models_find(srv, job->model);
    if (m) {
        job->facts = m->facts;
        job_run(job);
        return;
    }
    job->task.run = run_model_load;
    job->task.msg.on_loop = on_model_loaded;
    svc_pool_submit(srv->pool, &job->task);
}

/* ---------------------------------------------------------------- the request */

static const char *default_bertscore_model(const svc_server *srv, const char *lang)
{
    if (srv->cfg.model_bertscore && *srv->cfg.model_bertscore)
        return srv->cfg.model_bertscore;
    return vkb_bertscore_default_model(lang);
}

/* Parses the body into job; returns 0, or -1 with err set. */
static int parse_into(svc_job *job, h2o_iovec_t body, svc_error *err)
{
    svc_server *srv = job->srv;
    const char *model = NULL;
    switch (job->kind) {
    case SVC_JOB_EMBED:
        if (svc_parse_embed(body.base, body.len, &srv->limits, &job->embed, err))
            return -1;
        job->items = job->embed.n;
        model = job->embed.model ? job->embed.model : srv->cfg.model_embed;
        break;
    case SVC_JOB_BERTSCORE:
        if (svc_parse_bertscore(body.base, body.len, &srv->limits, &job->bertscore, err))
            return -1;
        job->items = job->bertscore.n;
        model = job->bertscore.model ? job->bertscore.model
                                     : default_bertscore_model(srv, job->bertscore.lang);
        /* the service's own model scores at its configured layer unless the request says */
        if (!job->bertscore.num_layers && srv->cfg.bertscore_layers && model &&
            srv->cfg.model_bertscore && !strcmp(model, srv->cfg.model_bertscore))
            job->bertscore.num_layers = srv->cfg.bertscore_layers;
        break;
    case SVC_JOB_OPENAI:
        if (svc_parse_openai(body.base, body.len, &srv->limits, &job->openai, err))
            return -1;
        job->items = job->openai.n;
        model = job->openai.model ? job->openai.model : srv->cfg.model_embed;
        break;
    }
    if (!model || !*model) {
        svc_error_set(err, 400, "no model named in the request and none configured");
        return -1;
    }
    snprintf(job->model, sizeof(job->model), "%s", model);
    return 0;
}

void svc_compute_handle(svc_call *call, svc_job_kind kind)
{
    svc_server *srv = call->srv;
    svc_job *job = calloc(1, sizeof(*job));
    if (!job) {
        svc_respond_detail(call, 500, "out of memory");
        return;
    }
    job->srv = srv;
    job->kind = kind;
    job->id = ++srv->next_job_id;
    svc_error err;
    svc_error_init(&err);
    if (parse_into(job, call->req->entity, &err)) {
        job_free(job);
        svc_respond_error(call, &err);
        return;
    }
    svc_metrics_items(&srv->metrics, call->ep, job->items);
    job->call = call;
    call->job = job;
    if (svc_admission_try_acquire(&srv->admission)) {
        job_begin(job);
        return;
    }
    svc_admission_wait(&srv->admission, &job->waiter);
    job->wait_timer.cb = on_wait_timeout;
    h2o_timeout_link(srv->loop, &srv->wait_timeout, &job->wait_timer);
}
