/* test_service_metrics.c — the Prometheus text of /metrics. */
#include "svc_metrics.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every line is a comment or "name{labels} value" with a number that parses. */
static int well_formed(const char *text)
{
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        if (!end)
            return 0; /* the format ends every line with \n */
        if (*line != '#') {
            const char *space = memrchr(line, ' ', (size_t)(end - line));
            if (!space)
                return 0;
            char *num_end;
            strtod(space + 1, &num_end);
            if (num_end != end)
                return 0;
        }
        line = end + 1;
    }
    return 1;
}

int main(void)
{
    static svc_metrics m; /* large: keep it off the stack */
    svc_metrics_init(&m, 1000.0);
    svc_metrics_request(&m, SVC_EP_HEALTH, 200, 0.0002);
    svc_metrics_request(&m, SVC_EP_HEALTH, 200, 0.003);
    svc_metrics_request(&m, SVC_EP_EMBED, 422, 0.001);
    svc_metrics_request(&m, SVC_EP_EMBED, 200, 0.2);
    svc_metrics_request(&m, SVC_EP_COUNT, 404, 0.0001); /* out of range -> other */
    svc_metrics_items(&m, SVC_EP_EMBED, 3);
    svc_metrics_items(&m, SVC_EP_EMBED, 64);
    m.rejected_busy = 2;

    vkb_engine_stats es;
    memset(&es, 0, sizeof(es));
    es.batches = 5;
    es.sequences = 67;
    es.tokens = 900;
    es.n_devices = 1;
    snprintf(es.devices[0].id, sizeof(es.devices[0].id), "vulkan:0");
    snprintf(es.devices[0].name, sizeof(es.devices[0].name), "llvmpipe \"x\"");
    es.devices[0].bytes_in_use = 4096;

    svc_metrics_live live = {.slots = 2, .slots_in_use = 1, .waiting = 3, .requests_in_flight = 4,
                             .models_loaded = 2, .ready = 1, .now = 1010.0};
    size_t len;
    char *text = svc_metrics_render(&m, &live, &es, &len);
    CHECK(text && len == strlen(text), "rendered");
    CHECK(well_formed(text), "every line parses");
    CHECK(strstr(text, "vkbridge_http_requests_total{endpoint=\"/health\",status=\"200\"} 2\n") != NULL,
          "requests by endpoint and status");
    CHECK(strstr(text, "vkbridge_http_requests_total{endpoint=\"/embed\",status=\"422\"} 1\n") != NULL,
          "error statuses counted");
    CHECK(strstr(text, "vkbridge_http_requests_total{endpoint=\"other\",status=\"404\"} 1\n") != NULL,
          "unknown endpoints share one label");
    CHECK(strstr(text, "vkbridge_http_request_duration_seconds_bucket{endpoint=\"/health\",le=\"0.0005\"} 1\n") &&
              strstr(text, "vkbridge_http_request_duration_seconds_bucket{endpoint=\"/health\",le=\"0.005\"} 2\n") &&
              strstr(text, "vkbridge_http_request_duration_seconds_bucket{endpoint=\"/health\",le=\"+Inf\"} 2\n") &&
              strstr(text, "vkbridge_http_request_duration_seconds_count{endpoint=\"/health\"} 2\n"),
          "latency buckets are cumulative");
    CHECK(strstr(text, "vkbridge_request_items_bucket{endpoint=\"/embed\",le=\"4\"} 1\n") &&
              strstr(text, "vkbridge_request_items_bucket{endpoint=\"/embed\",le=\"64\"} 2\n") &&
              strstr(text, "vkbridge_request_items_total{endpoint=\"/embed\"} 67\n"),
          "batch sizes per request");
    CHECK(strstr(text, "vkbridge_queue_waiting 3\n") && strstr(text, "vkbridge_compute_slots_in_use 1\n") &&
              strstr(text, "vkbridge_rejected_busy_total 2\n") && strstr(text, "vkbridge_uptime_seconds 10.000\n"),
          "queue gauges");
    CHECK(strstr(text, "vkbridge_engine_tokens_total 900\n") && strstr(text, "vkbridge_engine_batches_total 5\n"),
          "engine counters");
    CHECK(strstr(text, "vkbridge_device_memory_bytes{device=\"vulkan:0\",name=\"llvmpipe \\\"x\\\"\"} 4096\n") != NULL,
          "per-device memory with escaped label");
    CHECK(strstr(text, "# TYPE vkbridge_http_request_duration_seconds histogram\n") != NULL, "TYPE lines");
    free(text);

    text = svc_metrics_render(&m, &live, NULL, &len);
    CHECK(text && !strstr(text, "vkbridge_engine_") && well_formed(text), "without an engine");
    free(text);
    return tl_finish();
}
