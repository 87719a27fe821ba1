/*
 * svc_metrics.h — what /metrics reports, kept by the event-loop thread (no locks) and
 * written in the Prometheus text format (version 0.0.4).
 *
 * Per endpoint: requests by status, a latency histogram; per compute endpoint: items per
 * request. Engine counters (device batches, sequences, tokens, per-device memory) are read at
 * render time from vkb_engine_stats and passed in, so this file needs no engine.
 */
#ifndef VKB_SVC_METRICS_H
#define VKB_SVC_METRICS_H

#include "vkb_runtime.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SVC_EP_HEALTH = 0,
    SVC_EP_INFO,
    SVC_EP_STATUS,
    SVC_EP_EMBED,
    SVC_EP_BERTSCORE,
    SVC_EP_V1_EMBEDDINGS,
    SVC_EP_V1_MODELS,
    SVC_EP_METRICS,
    SVC_EP_OPENAPI,
    SVC_EP_DOCS,
    SVC_EP_DOCS_ASSET, /* Swagger UI's files with --docs-assets */
    SVC_EP_OTHER, /* unknown paths share one label so scanners cannot grow the series */
    SVC_EP_COUNT
} svc_endpoint;


enum { SVC_LATENCY_BUCKETS = 16, SVC_ITEMS_BUCKETS = 12 };

typedef struct svc_histogram {
    uint64_t counts[SVC_LATENCY_BUCKETS + 1]; /* per bucket (not cumulative); last = +Inf */
    double sum;
    uint64_t count;
} svc_histogram;

typedef struct svc_metrics {
    uint64_t requests[SVC_EP_COUNT][600]; /* [endpoint][HTTP status] */
    svc_histogram latency[SVC_EP_COUNT];  /* seconds */
    svc_histogram items[SVC_EP_COUNT];    /* texts or pairs per request */
    uint64_t items_total[SVC_EP_COUNT];
    uint64_t rejected_busy;               /* 503 after waiting for a slot (the loop counts) */
    double started_at;                    /* unix seconds */
} svc_metrics;

/* Gauges sampled at render time. */
typedef struct svc_metrics_live {
    int slots, slots_in_use, waiting; /* admission */
    int requests_in_flight;           /* HTTP requests between handler and response sent */
    int models_loaded;
    int ready;                        /* start-up models loaded */
    double now;                       /* unix seconds */
} svc_metrics_live;

void svc_metrics_init(svc_metrics *m, double now);
void svc_metrics_request(svc_metrics *m, svc_endpoint ep, int status, double seconds);
void svc_metrics_items(svc_metrics *m, svc_endpoint ep, int items);

/* The exposition text; malloc'd (free()), NULL when out of memory. engine may be NULL. */
char *svc_metrics_render(const svc_metrics *m, const svc_metrics_live *live,
                         const vkb_engine_stats *engine, size_t *len);

#endif
