/* svc_shape.c — see svc_shape.h. */
#include "svc_shape.h"
#include "svc_buf.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *dump(json_t *root, size_t *len)
{
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(root);
    if (text && len)
        *len = strlen(text);
    return text;
}

char *svc_shape_embed(const float *vecs, int n, int dim, const char *model, size_t *len)
{
    svc_buf b;
    svc_buf_init(&b);
    svc_buf_reserve(&b, (size_t)n * (size_t)dim * 12 + 128);
    svc_buf_puts(&b, "{\"embeddings\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            svc_buf_putc(&b, ',');
        svc_buf_json_floats(&b, vecs + (size_t)i * dim, (size_t)dim);
    }
    svc_buf_puts(&b, "],\"model\":");
    svc_buf_json_string(&b, model, strlen(model));
    svc_buf_printf(&b, ",\"dimensions\":%d}", dim);
    return svc_buf_take(&b, len);
}

char *svc_shape_bertscore(const float *P, const float *R, const float *F, int n,
                          const char *model, size_t *len)
{
    svc_buf b;
    svc_buf_init(&b);
    svc_buf_puts(&b, "{\"precision\":");
    svc_buf_json_floats(&b, P, (size_t)n);
    svc_buf_puts(&b, ",\"recall\":");
    svc_buf_json_floats(&b, R, (size_t)n);
    svc_buf_puts(&b, ",\"f1\":");
    svc_buf_json_floats(&b, F, (size_t)n);
    svc_buf_puts(&b, ",\"model\":");
    svc_buf_json_string(&b, model, strlen(model));
    svc_buf_putc(&b, '}');
    return svc_buf_take(&b, len);
}

void svc_truncate_renormalise(float *vecs, int n, int dim, int keep)
{
    for (int i = 0; i < n; i++) {
        const float *src = vecs + (size_t)i * dim;
        float *dst = vecs + (size_t)i * keep; /* dst <= src: packing forward is safe */
        double sq = 0;
        for (int j = 0; j < keep; j++)
            sq += (double)src[j] * src[j];
        double scale = 1.0 / fmax(sqrt(sq), 1e-12);
        for (int j = 0; j < keep; j++)
            dst[j] = (float)(src[j] * scale);
    }
}

/* The embedding's float32 bytes in little-endian order, whatever the host's. */
static void base64_floats(svc_buf *b, const float *v, int n)
{
    uint8_t *bytes = malloc((size_t)n * 4 + 1);
    if (!bytes) {
        b->failed = 1;
        return;
    }
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        bytes[4 * i] = (uint8_t)u;
        bytes[4 * i + 1] = (uint8_t)(u >> 8);
        bytes[4 * i + 2] = (uint8_t)(u >> 16);
        bytes[4 * i + 3] = (uint8_t)(u >> 24);
    }
    svc_buf_putc(b, '"');
    svc_buf_base64(b, bytes, (size_t)n * 4);
    svc_buf_putc(b, '"');
    free(bytes);
}

char *svc_shape_openai_embeddings(const float *vecs, int n, int dim, int base64,
                                  const char *model, long prompt_tokens, size_t *len)
{
    svc_buf b;
    svc_buf_init(&b);
    svc_buf_reserve(&b, (size_t)n * ((size_t)dim * 12 + 64) + 128);
    svc_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < n; i++) {
        svc_buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i ? "," : "",
                       i);
        if (base64)
            base64_floats(&b, vecs + (size_t)i * dim, dim);
        else
            svc_buf_json_floats(&b, vecs + (size_t)i * dim, (size_t)dim);
        svc_buf_putc(&b, '}');
    }
    svc_buf_puts(&b, "],\"model\":");
    svc_buf_json_string(&b, model, strlen(model));
    svc_buf_printf(&b, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}", prompt_tokens,
                   prompt_tokens);
    return svc_buf_take(&b, len);
}

char *svc_shape_health(int ready, const char *device, size_t *len)
{
    return dump(json_pack("{ssss}", "status", ready ? "ok" : "loading", "device", device), len);
}

/* "2026-01-02T03:04:05.678Z" */
static void iso_time(char *out, size_t cap, double unix_seconds)
{
    time_t secs = (time_t)unix_seconds;
    int ms = (int)((unix_seconds - (double)secs) * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms < 0 ? 0 : ms > 999 ? 999 : ms);
}

char *svc_shape_status(const svc_status_view *v, size_t *len)
{
    json_t *jobs = json_array();
    for (int i = 0; i < v->n_jobs; i++) {
        const svc_job_view *j = &v->jobs[i];
        double progress = j->total > 0 ? (double)j->done / j->total : 0.0;
        char id[32], started[80];
        snprintf(id, sizeof(id), "job-%lu", j->id);
        iso_time(started, sizeof(started), j->started_at);
        json_array_append_new(jobs, json_pack("{sssssssisssf}", "id", id, "type", j->type,
                                              "started_at", started, "items", j->items, "model",
                                              j->model, "progress",
                                              round(progress * 1000) / 1000));
    }
    json_t *queue = json_pack("{sisisisi}", "max_concurrent", v->max_concurrent, "in_flight",
                              v->in_flight, "available_slots", v->available_slots,
                              "waiting_estimate", v->waiting);
    return dump(json_pack("{soso}", "queue", queue, "active_jobs", jobs), len);
}

/* The loops below trust the runtime's bounds (vkb_runtime.h): n_devices <= VKB_MAX_DEVICES,
 * n_heaps <= VKB_MAX_HEAPS, the sizes of the arrays they index. */
static double mib(uint64_t bytes) { return round((double)bytes / (1024.0 * 1024.0) * 10) / 10; }

/* Physical memory of the host in bytes (0 if the system will not say). */
static uint64_t host_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

/* Index N of an engine device id "vulkan:N"; -1 for "cpu". */
static int vulkan_index(const char *id)
{
    return strncmp(id, "vulkan:", 7) ? -1 : atoi(id + 7);
}

static int device_in_use(const vkb_engine_stats *e, int index)
{
    for (int i = 0; e && i < e->n_devices; i++)
        if (vulkan_index(e->devices[i].id) == index)
            return 1;
    return 0;
}

static json_t *inventory_entry(const vkb_device_info *d, const vkb_engine_stats *e)
{
    uint64_t total = 0, used = 0, budget = 0;
    for (int h = 0; h < d->n_heaps; h++)
        if (d->heaps[h].device_local) {
            total += d->heaps[h].size;
            used += d->heaps[h].usage;
            budget += d->heaps[h].budget;
        }
    json_t *o = json_pack("{sisssIsIssssssssssss}", "index", d->index, "name", d->name,
                          "vendor_id", (json_int_t)d->vendor_id, "device_id",
                          (json_int_t)d->device_id, "vendor", d->vendor, "type", d->type,
                          "driver_name", d->driver_name, "driver_info", d->driver_info,
                          "driver_version", d->driver_version_str, "api_version",
                          d->api_version_str);
    json_object_set_new(o, "vram_total_mb", json_real(mib(total)));
    json_object_set_new(o, "vram_used_mb", d->has_memory_budget ? json_real(mib(used)) : json_null());
    json_object_set_new(o, "vram_budget_mb", d->has_memory_budget ? json_real(mib(budget)) : json_null());
    json_object_set_new(o, "fp16", json_boolean(d->fp16));
    json_object_set_new(o, "subgroup_size", json_integer(d->subgroup_size));
    json_object_set_new(o, "in_use", json_boolean(device_in_use(e, d->index)));
    return o;
}

char *svc_shape_info(const svc_info_view *v, size_t *len)
{
    const vkb_engine_stats *e = v->engine;
    /* The original reported the one CUDA device; here: the engine's devices, summed. */
    char names[512] = "";
    uint64_t total = 0, used = 0;
    for (int i = 0; e && i < e->n_devices; i++) {
        size_t at = strlen(names);
        snprintf(names + at, sizeof(names) - at, "%s%s", i ? ", " : "", e->devices[i].name);
        int index = vulkan_index(e->devices[i].id);
        const vkb_device_info *d = NULL;
        for (int k = 0; k < v->n_devices; k++)
            if (v->devices[k].index == index)
                d = &v->devices[k];
        if (!d) {
            /* The CPU backend's "VRAM" is host memory: the fields say the same thing as for
             * a GPU (device size, what this process holds on it), so a client comparing
             * used/total across hosts (the plugin's least-busy) does not rank a CPU host last. */
            total += host_memory_bytes();
            used += e->devices[i].bytes_in_use;
            continue;
        }
        for (int h = 0; h < d->n_heaps; h++)
            if (d->heaps[h].device_local) {
                total += d->heaps[h].size;
                used += d->has_memory_budget ? d->heaps[h].usage : 0;
            }
        if (!d->has_memory_budget)
            used += e->devices[i].bytes_in_use; /* what we allocated, at least */
    }
    json_t *root = json_object();
    json_object_set_new(root, "device", json_string(v->device));
    json_object_set_new(root, "device_name", json_string(names));
    json_object_set_new(root, "vram_total_mb", json_real(mib(total)));
    json_object_set_new(root, "vram_used_mb", json_real(mib(used)));
    json_object_set_new(root, "pytorch_version",
                        json_string("none (vkbridge computes with Vulkan shaders, no PyTorch)"));
    json_object_set_new(root, "cuda_version", json_null());
    json_t *loaded = json_array();
    for (int i = 0; i < v->n_loaded; i++)
        json_array_append_new(loaded, json_string(v->loaded[i]));
    json_object_set_new(root, "loaded_models", loaded);
    json_object_set_new(root, "runtime",
                        json_pack("{ssss}", "name", "vkbridge", "version", v->runtime_version));
    json_object_set_new(root, "vulkan_version", json_string(v->vulkan_version));
    json_t *backends = json_array();
    for (int i = 0; e && i < e->n_devices; i++)
        json_array_append_new(backends,
                              json_pack("{sssssIsIsisb}", "id", e->devices[i].id, "name",
                                        e->devices[i].name, "bytes_in_use",
                                        (json_int_t)e->devices[i].bytes_in_use, "bytes_peak",
                                        (json_int_t)e->devices[i].bytes_peak, "queued",
                                        e->devices[i].queued, "busy", e->devices[i].busy));
    json_object_set_new(root, "backends", backends);
    json_t *devices = json_array();
    for (int i = 0; i < v->n_devices; i++)
        json_array_append_new(devices, inventory_entry(&v->devices[i], e));
    json_object_set_new(root, "devices", devices);
    return dump(root, len);
}

static int listed(json_t *data, const char *id)
{
    size_t i;
    json_t *m;
    json_array_foreach(data, i, m)
    {
        if (!strcmp(json_string_value(json_object_get(m, "id")), id))
            return 1;
    }
    return 0;
}

char *svc_shape_models(const char *const *loaded, int n_loaded, const char *const *available,
                       int n_available, size_t *len)
{
    json_t *data = json_array();
    for (int pass = 0; pass < 2; pass++) {
        const char *const *names = pass ? available : loaded;
        int n = pass ? n_available : n_loaded;
        for (int i = 0; i < n; i++) {
            if (listed(data, names[i]))
                continue;
            json_array_append_new(data, json_pack("{sssssisssb}", "id", names[i], "object",
                                                  "model", "created", 0, "owned_by", "vkbridge",
                                                  "loaded", pass == 0));
        }
    }
    return dump(json_pack("{ssso}", "object", "list", "data", data), len);
}
