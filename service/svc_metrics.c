/* svc_metrics.c — see svc_metrics.h. */
#include "svc_metrics.h"
#include "svc_buf.h"

#include <stdlib.h>
#include <string.h>

/* Upper bounds: latency in seconds, items per request. */
static const double latency_bounds[SVC_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double items_bounds[SVC_ITEMS_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
                                                       1024, 4096};

static const char *labels[SVC_EP_COUNT] = {
    "/health", "/info", "/status", "/embed", "/bertscore", "/v1/embeddings", "/v1/models",
    "/metrics", "/openapi.json", "/docs", "/docs/assets", "other"};

void svc_metrics_init(svc_metrics *m, double now)
{
    memset(m, 0, sizeof(*m));
    m->started_at = now;
}

static void observe(svc_histogram *h, const double *bounds, int n_bounds, double v)
{
    int i = 0;
    while (i < n_bounds && v > bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void svc_metrics_request(svc_metrics *m, svc_endpoint ep, int status, double seconds)
{
    if (ep < 0 || ep >= SVC_EP_COUNT)
        ep = SVC_EP_OTHER;
    if (status >= 100 && status < 600)
        m->requests[ep][status]++;
    observe(&m->latency[ep], latency_bounds, SVC_LATENCY_BUCKETS, seconds);
}

void svc_metrics_items(svc_metrics *m, svc_endpoint ep, int items)
{
    if (ep < 0 || ep >= SVC_EP_COUNT)
        return;
    observe(&m->items[ep], items_bounds, SVC_ITEMS_BUCKETS, items);
    m->items_total[ep] += (uint64_t)items;
}

static void header(svc_buf *b, const char *name, const char *type, const char *help)
{
    svc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram(svc_buf *b, const char *name, const char *ep, const svc_histogram *h,
                      const double *bounds, int n_bounds)
{
    uint64_t cumulative = 0;
    for (int i = 0; i < n_bounds; i++) {
        cumulative += h->counts[i];
        svc_buf_printf(b, "%s_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n", name, ep, bounds[i],
                       (unsigned long long)cumulative);
    }
    cumulative += h->counts[n_bounds];
    svc_buf_printf(b, "%s_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n", name, ep,
                   (unsigned long long)cumulative);
    svc_buf_printf(b, "%s_sum{endpoint=\"%s\"} %.9g\n", name, ep, h->sum);
    svc_buf_printf(b, "%s_count{endpoint=\"%s\"} %llu\n", name, ep,
                   (unsigned long long)h->count);
}

/* Label values are device ids and names from the driver: escape what the format needs. */
static void label_value(svc_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            svc_buf_putc(b, '\\');
        if (*s == '\n') {
            svc_buf_puts(b, "\\n");
            continue;
        }
        svc_buf_putc(b, *s);
    }
}

static void engine_metrics(svc_buf *b, const vkb_engine_stats *e)
{
    header(b, "vkbridge_engine_queued_jobs", "gauge", "Jobs waiting in the engine's device queues.");
    svc_buf_printf(b, "vkbridge_engine_queued_jobs %d\n", e->queued_jobs);
    header(b, "vkbridge_engine_active_jobs", "gauge", "Jobs running on devices now.");
    svc_buf_printf(b, "vkbridge_engine_active_jobs %d\n", e->active_jobs);
    header(b, "vkbridge_engine_batches_total", "counter", "Device batches run.");
    svc_buf_printf(b, "vkbridge_engine_batches_total %llu\n", (unsigned long long)e->batches);
    header(b, "vkbridge_engine_sequences_total", "counter",
           "Sequences encoded (sequences_total / batches_total = mean device batch size).");
    svc_buf_printf(b, "vkbridge_engine_sequences_total %llu\n", (unsigned long long)e->sequences);
    header(b, "vkbridge_engine_tokens_total", "counter", "Tokens encoded.");
    svc_buf_printf(b, "vkbridge_engine_tokens_total %llu\n", (unsigned long long)e->tokens);

    int n = e->n_devices; /* at most VKB_MAX_DEVICES, the size of e->devices */
    static const char *names[] = {"vkbridge_device_memory_bytes", "vkbridge_device_memory_peak_bytes",
                                  "vkbridge_device_queued_jobs", "vkbridge_device_busy"};
    static const char *helps[] = {"Bytes of tensors allocated on the device.",
                                  "Peak bytes of tensors allocated on the device.",
                                  "Jobs queued for the device.",
                                  "1 while the device runs a batch."};
    for (int k = 0; k < 4; k++) {
        header(b, names[k], "gauge", helps[k]);
        for (int i = 0; i < n; i++) {
            svc_buf_printf(b, "%s{device=\"", names[k]);
            label_value(b, e->devices[i].id);
            svc_buf_puts(b, "\",name=\"");
            label_value(b, e->devices[i].name);
            unsigned long long v = k == 0   ? e->devices[i].bytes_in_use
                                   : k == 1 ? e->devices[i].bytes_peak
                                   : k == 2 ? (unsigned long long)e->devices[i].queued
                                            : (unsigned long long)e->devices[i].busy;
            svc_buf_printf(b, "\"} %llu\n", v);
        }
    }
}

char *svc_metrics_render(const svc_metrics *m, const svc_metrics_live *live,
                         const vkb_engine_stats *engine, size_t *len)
{
    svc_buf b;
    svc_buf_init(&b);
    svc_buf_reserve(&b, 16384);

    header(&b, "vkbridge_http_requests_total", "counter", "HTTP requests by endpoint and status.");
    for (int ep = 0; ep < SVC_EP_COUNT; ep++)
        for (int s = 100; s < 600; s++)
            if (m->requests[ep][s])
                svc_buf_printf(&b, "vkbridge_http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                               labels[ep], s, (unsigned long long)m->requests[ep][s]);

    header(&b, "vkbridge_http_request_duration_seconds", "histogram",
           "Time from the request's arrival at the handler to its response.");
    for (int ep = 0; ep < SVC_EP_COUNT; ep++)
        if (m->latency[ep].count)
            histogram(&b, "vkbridge_http_request_duration_seconds", labels[ep], &m->latency[ep],
                      latency_bounds, SVC_LATENCY_BUCKETS);

    header(&b, "vkbridge_request_items", "histogram",
           "Texts (or candidate/reference pairs) per compute request.");
    for (int ep = 0; ep < SVC_EP_COUNT; ep++)
        if (m->items[ep].count)
            histogram(&b, "vkbridge_request_items", labels[ep], &m->items[ep], items_bounds,
                      SVC_ITEMS_BUCKETS);
    header(&b, "vkbridge_request_items_total", "counter", "Texts or pairs received.");
    for (int ep = 0; ep < SVC_EP_COUNT; ep++)
        if (m->items[ep].count)
            svc_buf_printf(&b, "vkbridge_request_items_total{endpoint=\"%s\"} %llu\n", labels[ep],
                           (unsigned long long)m->items_total[ep]);

    header(&b, "vkbridge_compute_slots", "gauge", "GPU_MAX_CONCURRENT.");
    svc_buf_printf(&b, "vkbridge_compute_slots %d\n", live->slots);
    header(&b, "vkbridge_compute_slots_in_use", "gauge", "Requests holding a compute slot (in flight).");
    svc_buf_printf(&b, "vkbridge_compute_slots_in_use %d\n", live->slots_in_use);
    header(&b, "vkbridge_queue_waiting", "gauge", "Requests waiting for a compute slot.");
    svc_buf_printf(&b, "vkbridge_queue_waiting %d\n", live->waiting);
    header(&b, "vkbridge_rejected_busy_total", "counter", "Requests answered 503 after waiting 1 s for a slot.");
    svc_buf_printf(&b, "vkbridge_rejected_busy_total %llu\n", (unsigned long long)m->rejected_busy);
    header(&b, "vkbridge_http_requests_in_flight", "gauge", "HTTP requests being served.");
    svc_buf_printf(&b, "vkbridge_http_requests_in_flight %d\n", live->requests_in_flight);
    header(&b, "vkbridge_models_loaded", "gauge", "Models loaded in the engine.");
    svc_buf_printf(&b, "vkbridge_models_loaded %d\n", live->models_loaded);
    header(&b, "vkbridge_ready", "gauge", "1 once the start-up models are loaded (/health 200).");
    svc_buf_printf(&b, "vkbridge_ready %d\n", live->ready);
    header(&b, "vkbridge_uptime_seconds", "gauge", "Seconds since start.");
    svc_buf_printf(&b, "vkbridge_uptime_seconds %.3f\n", live->now - m->started_at);

    if (engine)
        engine_metrics(&b, engine);
    return svc_buf_take(&b, len);
}
