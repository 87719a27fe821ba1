/*
 * svc_shape.h — response bodies. Pure functions from plain data to JSON text (malloc'd,
 * free()); NULL only when out of memory. Float arrays are written directly (svc_buf), the
 * small documents through jansson.
 */
#ifndef VKB_SVC_SHAPE_H
#define VKB_SVC_SHAPE_H

#include "vkb_runtime.h"

#include <stddef.h>

/* /embed: {"embeddings": [[float]*n], "model": str, "dimensions": dim}; vecs is (n, dim). */
char *svc_shape_embed(const float *vecs, int n, int dim, const char *model, size_t *len);

/* /bertscore: {"precision": [..], "recall": [..], "f1": [..], "model": str} */
char *svc_shape_bertscore(const float *P, const float *R, const float *F, int n,
                          const char *model, size_t *len);

/* Matryoshka truncation: keeps the first `keep` of each row of vecs (n, dim), rescales each
 * row to unit L2 norm (norm floored at 1e-12), and packs the rows: vecs becomes (n, keep). */
void svc_truncate_renormalise(float *vecs, int n, int dim, int keep);

/* /v1/embeddings: {"object":"list","data":[{"object":"embedding","index":i,"embedding":..}],
 * "model":..,"usage":{"prompt_tokens":t,"total_tokens":t}}; vecs is (n, dim); an embedding is
 * a float array, or with base64 the base64 of its little-endian float32 bytes. */
char *svc_shape_openai_embeddings(const float *vecs, int n, int dim, int base64,
                                  const char *model, long prompt_tokens, size_t *len);

/* /health: {"status":"ok"|"loading","device":..,"device_choice":..}; choice says which device
 * and why ("auto: cpu, the CPU backend; ..." or "asked for: vulkan:0") */
char *svc_shape_health(int ready, const char *device, const char *choice, size_t *len);

/* One running job for /status. */
typedef struct svc_job_view {
    unsigned long id;
    const char *type;     /* "embed", "bertscore" */
    double started_at;    /* unix seconds; written as ISO 8601 UTC */
    int items;            /* texts or pairs */
    const char *model;
    int done, total;      /* engine progress; total 0 = not started */
} svc_job_view;

typedef struct svc_status_view {
    int max_concurrent, in_flight, available_slots, waiting;
    const svc_job_view *jobs;
    int n_jobs;
} svc_status_view;

/* /status: {"queue":{"max_concurrent","in_flight","available_slots","waiting_estimate"},
 *           "active_jobs":[{"id","type","started_at","items","model","progress"}]} */
char *svc_shape_status(const svc_status_view *v, size_t *len);

typedef struct svc_info_view {
    const char *device;          /* engine device ids, "vulkan:0" / "cpu" / "vulkan:0,vulkan:1" */
    const char *const *loaded;   /* "embed:NAME", "bertscore:NAME", sorted by the caller */
    int n_loaded;
    const char *runtime_version; /* vkbridge version */
    const char *vulkan_version;  /* loader instance version, or "none" */
    const vkb_device_info *devices; /* every physical device (may be 0 of them) */
    int n_devices;
    const vkb_engine_stats *engine; /* which devices the engine uses, bytes in use */
    const char *device_choice;   /* which device and why (as /health); NULL: "" */
} svc_info_view;

/* /info: the original keys (device, device_name, vram_total_mb, vram_used_mb,
 * pytorch_version, cuda_version, loaded_models) with honest values, plus runtime,
 * vulkan_version, backend devices and the device inventory. */
char *svc_shape_info(const svc_info_view *v, size_t *len);

/* /v1/models: {"object":"list","data":[{"id","object":"model","created":0,"owned_by",
 * "loaded":bool}]}; loaded first, then available-but-not-loaded names not already listed. */
char *svc_shape_models(const char *const *loaded, int n_loaded, const char *const *available,
                       int n_available, size_t *len);

#endif
