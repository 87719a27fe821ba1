/*
 * engine_models.c — models by name: load once (concurrent callers wait for the one load),
 * load on demand for async jobs (the loader thread), unload after in-flight jobs, facts.
 *
 * An entry's life: LOADING (one thread resolves the name, maybe pulls it, loads the folder
 * and uploads a replica to every device) -> READY, or -> FAILED (waiters read the error, the
 * jobs waiting for it fail, the last one out frees it so a later call can try again).
 * READY -> UNLOADING (no new jobs; freed once its users reach 0).
 */
#include "engine_internal.h"

#include "vkb_runtime.h"
#include "hub.h"
#include "resolve.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

engine_model *engine_find_model(vkb_engine *e, const char *name)
{
    for (engine_model *em = e->models; em; em = em->next)
        if ((em->state == MODEL_LOADING || em->state == MODEL_READY) && !strcmp(em->name, name))
            return em;
    return NULL;
}

static engine_model *new_entry(vkb_engine *e, const char *name, const char *dir)
{
    engine_model *em = calloc(1, sizeof *em);
    if (!em)
        return NULL;
    em->name = strdup(name);
    em->dir = dir ? strdup(dir) : NULL;
    if (!em->name || (dir && !em->dir)) {
        free(em->name);
        free(em->dir);
        free(em);
        return NULL;
    }
    em->state = MODEL_LOADING;
    em->next = e->models;
    e->models = em;
    return em;
}

static void unlink_entry(vkb_engine *e, engine_model *em)
{
    for (engine_model **p = &e->models; *p; p = &(*p)->next)
        if (*p == em) {
            *p = em->next;
            return;
        }
}

/* Frees replica r of device i under the device's use lock, then refreshes the device's
 * memory numbers (for /status and /metrics). Not under e->lock. */
static void free_replica(vkb_engine *e, int i, model_replica *r)
{
    engine_device *d = &e->devices[i];
    pthread_mutex_lock(&d->use);
    model_replica_free(r);
    pthread_mutex_lock(&e->lock);
    engine_device_snapshot(d);
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_unlock(&d->use);
}

/* Frees replicas, the model and the entry. Not under e->lock; em is already unlinked. */
void engine_free_model(vkb_engine *e, engine_model *em)
{
    for (int i = 0; i < e->n_devices; i++)
        if (em->replicas[i])
            free_replica(e, i, em->replicas[i]);
    model_free(em->m);
    free(em->name);
    free(em->dir);
    free(em);
}

/* A FAILED entry goes once nobody looks at it any more. Under lock; returns 1 if the caller
 * must free it (after unlocking). */
static int failed_entry_done(vkb_engine *e, engine_model *em)
{
    if (em->state != MODEL_FAILED || em->waiters || em->users || em->queued_for_loader)
        return 0;
    unlink_entry(e, em);
    return 1;
}

void engine_model_release(vkb_engine *e, engine_model *em)
{
    em->users--;
    if (em->users == 0)
        pthread_cond_broadcast(&e->models_changed);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Resolve (and pull), load the folder, upload a replica per device. Not under e->lock. */
static int load_entry(vkb_engine *e, engine_model *em, char *err, size_t errlen)
{
    double t0 = now_ms();
    char dir[PATH_MAX];
    const char *folder = em->dir;
    int rc = VKB_OK;
    if (!folder) {
        rc = resolve_model(e->model_dir, em->name, dir, sizeof dir, err, errlen);
        if (rc == VKB_ENOTFOUND && e->allow_pull) {
            vkb_log(VKB_LOG_INFO, "model '%s' is not here; pulling it from the hub", em->name);
            hub_opts o = {.progress = isatty(STDERR_FILENO)};
            char pulled[PATH_MAX];
            rc = hub_pull(em->name, &o, pulled, sizeof pulled, err, errlen);
            if (rc == VKB_OK)
                rc = resolve_model(e->model_dir, em->name, dir, sizeof dir, err, errlen);
        }
        folder = dir;
    }
    if (rc != VKB_OK)
        return rc;
    vkb_model *m = NULL;
    model_replica *reps[ENGINE_MAX_DEVICES] = {0};
    model_load_opts mo = {.weights_f16 = e->weights_f16};
    rc = model_load(folder, &mo, &m, err, errlen);
    for (int i = 0; rc == VKB_OK && i < e->n_devices; i++) {
        engine_device *d = &e->devices[i];
        pthread_mutex_lock(&d->use);
        rc = model_replica_create(m, d->b, &reps[i], err, errlen);
        pthread_mutex_lock(&e->lock);
        engine_device_snapshot(d);
        pthread_mutex_unlock(&e->lock);
        pthread_mutex_unlock(&d->use);
    }
    if (rc != VKB_OK) {
        for (int i = 0; i < e->n_devices; i++)
            if (reps[i])
                free_replica(e, i, reps[i]);
        model_free(m);
        return rc;
    }
    em->m = m;
    memcpy(em->replicas, reps, sizeof reps);
    const vkb_model_facts *f = model_facts(m);
    vkb_log(VKB_LOG_INFO, "engine: loaded '%s' from %s (%s, %d layers, dim %d) on %d device%s "
            "in %.0f ms", em->name, folder, f->model_type, f->num_layers, f->dim, e->n_devices,
            e->n_devices == 1 ? "" : "s", now_ms() - t0);
    return VKB_OK;
}

/* Publishes a load's outcome; on failure fails the jobs that waited for it. */
static void finish_load(vkb_engine *e, engine_model *em, int rc, const char *err)
{
    engine_job *done_list = NULL;
    pthread_mutex_lock(&e->lock);
    if (rc == VKB_OK) {
        em->state = MODEL_READY;
    } else {
        em->state = MODEL_FAILED;
        em->status = rc;
        snprintf(em->err, sizeof em->err, "%s", err && *err ? err : vkb_status_str(rc));
        for (engine_job *j = e->head, *next; j; j = next) {
            next = j->next;
            if (j->model != em)
                continue;
            engine_job_fail(e, j, rc, em->err);
            if (engine_job_claim_done(e, j)) {
                j->tok_next = done_list;
                done_list = j;
            }
        }
    }
    pthread_cond_broadcast(&e->models_changed);
    pthread_cond_broadcast(&e->work);
    int free_it = failed_entry_done(e, em);
    pthread_mutex_unlock(&e->lock);
    while (done_list) {
        engine_job *j = done_list;
        done_list = j->tok_next;
        engine_job_finish(e, j);
    }
    if (free_it)
        engine_free_model(e, em);
}

engine_model *engine_model_for_job(vkb_engine *e, const char *name)
{
    engine_model *em = engine_find_model(e, name);
    if (!em) {
        em = new_entry(e, name, NULL);
        if (!em)
            return NULL;
        em->queued_for_loader = 1;
        if (e->load_tail)
            e->load_tail->load_next = em;
        else
            e->load_head = em;
        e->load_tail = em;
        pthread_cond_broadcast(&e->work);
    }
    em->users++;
    return em;
}

void *engine_loader_main(void *arg)
{
    vkb_engine *e = arg;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        engine_model *em = e->load_head;
        if (!em) {
            if (e->stopping)
                break;
            pthread_cond_wait(&e->work, &e->lock);
            continue;
        }
        e->load_head = em->load_next;
        if (!e->load_head)
            e->load_tail = NULL;
        pthread_mutex_unlock(&e->lock);
        char err[512] = "";
        int rc = load_entry(e, em, err, sizeof err);
        if (rc != VKB_OK)
            vkb_log(VKB_LOG_WARN, "engine: cannot load '%s': %s", em->name, err);
        pthread_mutex_lock(&e->lock);
        em->queued_for_loader = 0;
        pthread_mutex_unlock(&e->lock);
        finish_load(e, em, rc, err);
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* The one load path for callers: find, wait, or load here. */
static int load_common(vkb_engine *e, const char *name, const char *dir, char *err,
                       size_t errlen)
{
    pthread_mutex_lock(&e->lock);
    engine_model *em = engine_find_model(e, name);
    if (em) {
        em->waiters++;
        while (em->state == MODEL_LOADING)
            pthread_cond_wait(&e->models_changed, &e->lock);
        int rc = em->state == MODEL_READY ? VKB_OK : em->status ? em->status : VKB_ENOTFOUND;
        if (rc != VKB_OK)
            vkb_set_err(err, errlen, "%s", em->err[0] ? em->err : "model was unloaded");
        em->waiters--;
        int free_it = failed_entry_done(e, em);
        pthread_mutex_unlock(&e->lock);
        if (free_it)
            engine_free_model(e, em);
        return rc;
    }
    if (e->stopping) {
        pthread_mutex_unlock(&e->lock);
        vkb_set_err(err, errlen, "the engine is shutting down");
        return VKB_EBUSY;
    }
    em = new_entry(e, name, dir);
    pthread_mutex_unlock(&e->lock);
    if (!em)
        return VKB_ENOMEM;
    char why[512] = "";
    int rc = load_entry(e, em, why, sizeof why);
    if (rc != VKB_OK)
        vkb_set_err(err, errlen, "%s", why);
    finish_load(e, em, rc, why);
    return rc;
}

int vkb_engine_load(vkb_engine *e, const char *name, char *err, size_t errlen)
{
    int rc = resolve_check_name(name, err, errlen);
    if (rc != VKB_OK)
        return rc;
    return load_common(e, name, NULL, err, errlen);
}

int vkb_engine_load_dir(vkb_engine *e, const char *name, const char *dir, char *err,
                        size_t errlen)
{
    if (!name || !*name || strlen(name) > 1024 || !dir || !*dir) {
        vkb_set_err(err, errlen, "vkb_engine_load_dir: need a name and a folder");
        return VKB_EINVAL;
    }
    return load_common(e, name, dir, err, errlen);
}

int vkb_engine_unload(vkb_engine *e, const char *name)
{
    if (!name)
        return VKB_EINVAL;
    pthread_mutex_lock(&e->lock);
    engine_model *em = engine_find_model(e, name);
    if (em && em->state == MODEL_LOADING) {
        em->waiters++;
        while (em->state == MODEL_LOADING)
            pthread_cond_wait(&e->models_changed, &e->lock);
        em->waiters--;
        if (em->state != MODEL_READY) {
            int free_it = failed_entry_done(e, em);
            pthread_mutex_unlock(&e->lock);
            if (free_it)
                engine_free_model(e, em);
            return VKB_ENOTFOUND;
        }
    }
    if (!em) {
        pthread_mutex_unlock(&e->lock);
        return VKB_ENOTFOUND;
    }
    em->state = MODEL_UNLOADING; /* no new jobs; queued ones still run */
    while (em->users > 0 || em->waiters > 0)
        pthread_cond_wait(&e->models_changed, &e->lock);
    unlink_entry(e, em);
    pthread_mutex_unlock(&e->lock);
    engine_free_model(e, em);
    vkb_log(VKB_LOG_INFO, "engine: unloaded '%s'", name);
    return VKB_OK;
}

int vkb_engine_loaded_models(vkb_engine *e, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    pthread_mutex_lock(&e->lock);
    int count = 0;
    for (engine_model *em = e->models; em; em = em->next)
        count += em->state == MODEL_READY;
    char **out = calloc((size_t)count + 1, sizeof *out);
    int k = 0, rc = out ? VKB_OK : VKB_ENOMEM;
    for (engine_model *em = e->models; out && em; em = em->next) {
        if (em->state != MODEL_READY)
            continue;
        if (!(out[k] = strdup(em->name))) {
            rc = VKB_ENOMEM;
            break;
        }
        k++;
    }
    pthread_mutex_unlock(&e->lock);
    if (rc != VKB_OK) {
        vkb_engine_free_names(out, k);
        return rc;
    }
    *names = out;
    *n = k;
    return VKB_OK;
}

void vkb_engine_free_names(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int vkb_engine_model_facts(vkb_engine *e, const char *name, vkb_model_facts *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&e->lock);
        engine_model *em = name ? engine_find_model(e, name) : NULL;
        if (em && em->state == MODEL_READY) {
            *out = *model_facts(em->m);
            pthread_mutex_unlock(&e->lock);
            return VKB_OK;
        }
        pthread_mutex_unlock(&e->lock);
        /* Not loaded (or loading): facts of a loadable model come from loading it. */
        int rc = vkb_engine_load(e, name, err, errlen);
        if (rc != VKB_OK)
            return rc;
    }
    vkb_set_err(err, errlen, "model '%s' was unloaded meanwhile", name);
    return VKB_ENOTFOUND;
}
