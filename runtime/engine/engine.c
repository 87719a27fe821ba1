/*
 * engine.c — creating and destroying the engine: devices from a spec, worker and loader
 * threads, and the counters /status and /metrics read. Models are in engine_models.c, jobs
 * in engine_jobs.c, the device workers and dynamic batching in engine_worker.c.
 */
#include "engine_internal.h"

#include "vkb_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static int add_device(vkb_engine *e, const char *spec, char *err, size_t errlen)
{
    if (e->n_devices == ENGINE_MAX_DEVICES) {
        vkb_set_err(err, errlen, "more than %d devices", ENGINE_MAX_DEVICES);
        return VKB_EINVAL;
    }
    engine_device *d = &e->devices[e->n_devices];
    int rc = vkb_backend_open(spec, &d->b, err, errlen);
    if (rc != VKB_OK)
        return rc;
    d->e = e;
    d->index = e->n_devices;
    pthread_mutex_init(&d->use, NULL);
    engine_device_snapshot(d);
    e->n_devices++;
    if (engine_device_alloc_scratch(d, e->embed_batch) != VKB_OK) {
        vkb_set_err(err, errlen, "out of memory");
        return VKB_ENOMEM;
    }
    vkb_log(VKB_LOG_INFO, "engine: device %d is %s (%s)%s%s", d->index, vkb_backend_id(d->b),
            vkb_backend_device_name(d->b), vkb_backend_choice(d->b)[0] ? "; " : "",
            vkb_backend_choice(d->b));
    return VKB_OK;
}

/* The spec's grammar is vkb_device_spec_parse's (vkb_runtime.h), shared with the service. */
static int open_devices(vkb_engine *e, const char *spec, char *err, size_t errlen)
{
    vkb_device_spec ds;
    int rc = vkb_device_spec_parse(spec, &ds, err, errlen);
    if (rc != VKB_OK)
        return rc;
    if (ds.kind == VKB_SPEC_AUTO)
        return add_device(e, "auto", err, errlen);
    if (ds.kind == VKB_SPEC_ALL) {
        vkb_device_info *info = NULL;
        int n = 0;
        char why[256] = "";
        if (vkb_vulkan_devices(&info, &n, why, sizeof why) != VKB_OK || n == 0) {
            free(info);
            vkb_log(VKB_LOG_WARN, "device=all: no Vulkan device (%s); using the CPU backend",
                    why[0] ? why : "none found");
            return add_device(e, "cpu", err, errlen);
        }
        for (int i = 0; i < n && rc == VKB_OK; i++) {
            char one[32];
            snprintf(one, sizeof one, "vulkan:%d", info[i].index);
            rc = add_device(e, one, err, errlen);
        }
        free(info);
        return rc;
    }
    for (int i = 0; i < ds.n && rc == VKB_OK; i++)
        rc = add_device(e, ds.items[i], err, errlen);
    return rc;
}

int vkb_engine_create(const vkb_engine_config *cfg, vkb_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    vkb_engine_config c = cfg ? *cfg : (vkb_engine_config){0};
    vkb_engine *e = calloc(1, sizeof *e);
    if (!e)
        return VKB_ENOMEM;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->work, NULL);
    pthread_cond_init(&e->models_changed, NULL);
    e->model_dir = dup_or_null(c.model_dir);
    e->baseline_dir = dup_or_null(c.baseline_dir);
    e->embed_batch = c.embed_batch > 0 ? c.embed_batch : 32;
    if (e->embed_batch > 4096)
        e->embed_batch = 4096;
    e->weights_f16 = c.weights_f16;
    e->allow_pull = c.allow_pull;
    if ((c.model_dir && *c.model_dir && !e->model_dir) ||
        (c.baseline_dir && *c.baseline_dir && !e->baseline_dir)) {
        vkb_engine_destroy(e);
        return VKB_ENOMEM;
    }
    int rc = open_devices(e, c.device, err, errlen);
    if (rc != VKB_OK) {
        vkb_engine_destroy(e);
        return rc;
    }
    for (int i = 0; i < e->n_devices; i++) {
        engine_device *d = &e->devices[i];
        if (pthread_create(&d->thread, NULL, engine_worker_main, d) != 0) {
            vkb_set_err(err, errlen, "cannot start a device worker thread");
            vkb_engine_destroy(e);
            return VKB_ENOMEM;
        }
        d->thread_started = 1;
    }
    if (pthread_create(&e->loader, NULL, engine_loader_main, e) != 0) {
        vkb_set_err(err, errlen, "cannot start the model loader thread");
        vkb_engine_destroy(e);
        return VKB_ENOMEM;
    }
    e->loader_started = 1;
    *out = e;
    return VKB_OK;
}

void vkb_engine_destroy(vkb_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->stopping = 1;
    pthread_cond_broadcast(&e->work);
    pthread_cond_broadcast(&e->models_changed);
    pthread_mutex_unlock(&e->lock);
    /* The loader finishes its list first, so jobs waiting for a model still run. */
    if (e->loader_started)
        pthread_join(e->loader, NULL);
    for (int i = 0; i < e->n_devices; i++)
        if (e->devices[i].thread_started)
            pthread_join(e->devices[i].thread, NULL);
    while (e->models) {
        engine_model *em = e->models;
        e->models = em->next;
        engine_free_model(e, em);
    }
    for (int i = 0; i < e->n_devices; i++) {
        engine_device *d = &e->devices[i];
        vkb_backend_close(d->b);
        pthread_mutex_destroy(&d->use);
        engine_device_free_scratch(d);
    }
    free(e->model_dir);
    free(e->baseline_dir);
    pthread_cond_destroy(&e->work);
    pthread_cond_destroy(&e->models_changed);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

void vkb_engine_get_stats(vkb_engine *e, vkb_engine_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->lock);
    out->queued_jobs = e->queued_jobs;
    out->active_jobs = e->active_jobs;
    out->batches = e->batches;
    out->sequences = e->sequences;
    out->tokens = e->tokens;
    out->n_devices = e->n_devices;
    for (int i = 0; i < e->n_devices; i++) {
        const engine_device *d = &e->devices[i];
        if (!out->device_choice[0])
            snprintf(out->device_choice, sizeof out->device_choice, "%s", vkb_backend_choice(d->b));
        snprintf(out->devices[i].id, sizeof out->devices[i].id, "%s", vkb_backend_id(d->b));
        snprintf(out->devices[i].name, sizeof out->devices[i].name, "%s",
                 vkb_backend_device_name(d->b));
        out->devices[i].bytes_in_use = d->bytes_in_use;
        out->devices[i].bytes_peak = d->bytes_peak;
        out->devices[i].queued = e->queued_jobs; /* one queue feeds every device */
        out->devices[i].busy = d->busy;
        out->devices[i].batches = d->batches;
    }
    pthread_mutex_unlock(&e->lock);
}

void engine_device_snapshot(engine_device *d)
{
    d->bytes_in_use = vkb_backend_bytes_in_use(d->b);
    d->bytes_peak = vkb_backend_bytes_peak(d->b);
}
