/*
 * engine_internal.h — the engine's state, shared by engine*.c (see vkb_runtime.h, layer 2).
 *
 * Threads: one worker per device, one loader thread for models requested by async calls,
 * and the callers. One mutex (engine.lock) guards everything below except what a worker
 * owns while it runs a batch (its scratch, and the backend, guarded by device.use).
 *
 * The queue is shared by all devices: a worker that falls idle takes the next batch, so each
 * batch goes to a device that is free (the least-loaded one), and jobs that arrived while
 * every device was busy are merged into the next batch (dynamic batching).
 *
 * Invariants:
 *   - every job in the queue holds one `users` reference on its model, until it finishes;
 *   - a job is in the queue while it has sequences nobody has taken (or, for BERTScore, until
 *     a worker takes it); taken-but-unfinished sequences are counted in job.inflight;
 *   - a job's done callback runs exactly once, after its last progress callback, and the job
 *     is freed right after it by the thread that ran it.
 */
#ifndef VKB_ENGINE_INTERNAL_H
#define VKB_ENGINE_INTERNAL_H

#include "model.h"
#include "vkb_runtime.h"

#include <pthread.h>

enum { ENGINE_MAX_DEVICES = VKB_MAX_DEVICES };

typedef enum { MODEL_LOADING, MODEL_READY, MODEL_FAILED, MODEL_UNLOADING } model_state;

typedef struct engine_model {
    struct engine_model *next;
    char *name;                  /* the name callers use */
    char *dir;                   /* explicit folder (vkb_engine_load_dir), else NULL: resolve */
    model_state state;
    vkb_model *m;                /* READY: loaded */
    model_replica *replicas[ENGINE_MAX_DEVICES]; /* READY: one per device */
    int users;                   /* queued/running jobs holding it */
    int waiters;                 /* vkb_engine_load callers waiting for LOADING to end */
    int queued_for_loader;       /* on the loader thread's list */
    struct engine_model *load_next;
    int status;                  /* FAILED: why */
    char err[512];
} engine_model;

typedef enum { JOB_EMBED, JOB_BERTSCORE, JOB_HIDDEN } job_kind;
typedef enum { JOB_NEW, JOB_TOKENIZING, JOB_READY } job_state;

typedef struct engine_job {
    struct engine_job *prev, *next; /* the queue */
    struct engine_job *tok_next;    /* a worker's list of jobs it tokenizes */
    job_kind kind;
    job_state state;
    engine_model *model;
    int n;                          /* sequences (embed) or pairs (BERTScore) */
    /* embed, NEW: owned copies of the texts (tokenized by a worker) */
    char **texts;
    size_t *text_lens;
    char *prompt_name, *prompt;     /* vkb_embed_opts, owned copies (NULL: not given) */
    /* embed, READY: ids[i] of n_ids[i] tokens; order = indices by length, longest first */
    int32_t **ids;
    int *n_ids;
    int *order;
    unsigned char *taken;           /* taken[i]: sequence i handed to a device */
    int first_open;                 /* order[0 .. first_open) are all taken */
    int n_taken, inflight, n_done;
    long tokens;
    float *out;                     /* n * dim, the caller's */
    long *n_tokens_out;
    /* BERTScore: owned copies, cands[i] of cand_lens[i] bytes (may hold NULs) */
    char **cands, **refs;
    size_t *cand_lens, *ref_lens;
    vkb_bertscore_opts bs_opts;
    char *bs_lang;
    float *P, *R, *F;
    /* hidden states: texts[0] (one text), the layer, where to put (n_tokens, hidden) */
    int hs_layer;
    float **hs_out;
    int *hs_ntok;
    /* completion */
    vkb_progress_fn progress;
    vkb_embed_done_fn done;
    void *user;
    int status;
    char err[512];
    int in_queue;
    int started;                    /* counted active (left queued_jobs) */
    int tok_rc;                     /* the tokenizing worker's result */
    int batch_mark;                 /* 1 + its index among a forming batch's distinct jobs;
                                     * set and cleared inside one locked region */
    int callbacks_busy;             /* progress calls running outside the lock */
    int done_called;
} engine_job;

typedef struct engine_device {
    struct vkb_engine *e;
    int index;
    vkb_backend *b;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t use;            /* held while the backend runs anything */
    /* under engine.lock */
    int busy;
    uint64_t batches;
    uint64_t bytes_in_use, bytes_peak;
    /* the worker's own scratch, grown on demand and reused */
    engine_job **cand_job;          /* candidates for the next batch (4 x embed_batch) */
    int *cand_seq, *cand_len, *cand_rank;
    const int32_t **batch_ids;      /* the batch (embed_batch) */
    int *batch_lens, *batch_seq, *batch_dist;
    engine_job **batch_job;
    engine_job **dist_job;          /* the batch's distinct jobs, with per-job counts */
    int *dist_count, *dist_done, *dist_rc;
    float *out;                     /* (batch, dim) embeddings read back */
    size_t out_cap;
} engine_device;

struct vkb_engine {
    pthread_mutex_t lock;
    pthread_cond_t work;            /* queue changed, a model became ready, or stopping */
    pthread_cond_t models_changed;  /* a model's state changed, or its users dropped */
    char *model_dir, *baseline_dir;
    int embed_batch, weights_f16, allow_pull;
    engine_device devices[ENGINE_MAX_DEVICES];
    int n_devices;
    engine_model *models;
    engine_model *load_head, *load_tail; /* the loader thread's list */
    pthread_t loader;
    int loader_started;
    engine_job *head, *tail;        /* the queue */
    int stopping;
    /* stats */
    int queued_jobs, active_jobs;
    uint64_t batches, sequences, tokens;
};

/* engine_models.c */
/* Finds a model by name (not UNLOADING) or NULL. Under lock. */
engine_model *engine_find_model(vkb_engine *e, const char *name);
/* Returns a READY or LOADING entry for name with one `users` reference taken, creating a
 * LOADING entry handed to the loader thread when absent. Under lock. NULL: ENOMEM. */
engine_model *engine_model_for_job(vkb_engine *e, const char *name);
void *engine_loader_main(void *arg);
/* Drops a job's reference (under lock). */
void engine_model_release(vkb_engine *e, engine_model *em);
void engine_free_model(vkb_engine *e, engine_model *em);

/* engine_jobs.c */
void engine_job_free(engine_job *j);
/* Appends j to the queue (under lock) and wakes a worker. */
void engine_enqueue(vkb_engine *e, engine_job *j);
void engine_dequeue(vkb_engine *e, engine_job *j);
/* Marks j failed (first error wins) and takes its untaken sequences out of play. Under lock. */
void engine_job_fail(vkb_engine *e, engine_job *j, int status, const char *err);
/* If j is complete and no callback of it runs, claims its done call: returns 1 and the caller
 * must call engine_job_finish(j) after unlocking. Under lock. */
int engine_job_claim_done(vkb_engine *e, engine_job *j);
/* Runs the done callback and frees j. Outside the lock. */
void engine_job_finish(vkb_engine *e, engine_job *j);
/* Tokenizes a NEW embed job (outside the lock; the model is READY); on failure j->err says
 * why. */
int engine_job_tokenize(engine_job *j);
/* From ids/n_ids: the length order, taken flags, token count (state is the caller's). */
int engine_job_prepare(engine_job *j);

/* engine_worker.c */
void *engine_worker_main(void *arg);
/* The worker's scratch for batches of up to embed_batch sequences (before it starts). */
int engine_device_alloc_scratch(engine_device *d, int embed_batch);
void engine_device_free_scratch(engine_device *d);

/* engine.c */
/* Copies the backend's byte counters into d->bytes_*. Call holding d->use (the backend is
 * quiet) and e->lock (the copies are read by stats). */
void engine_device_snapshot(engine_device *d);

#endif
