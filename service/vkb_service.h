/*
 * vkb_service.h — the one public header of service/: `vkbridge serve`, an h2o HTTP/1.1 +
 * HTTP/2 server that is a drop-in for the Python GPU-bridge service (API.md), plus OpenAI
 * embeddings, Prometheus metrics and an OpenAPI document.
 *
 * Configuration comes from the environment variables of API.md and from flags (flags win);
 * vkb_service_run owns everything from there: the engine, the listener, the event loop, the
 * start-up model loads, and a graceful stop on SIGTERM/SIGINT.
 */
#ifndef VKB_SERVICE_H
#define VKB_SERVICE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vkb_service_config {
    const char *host;            /* --host, default 127.0.0.1 */
    int port;                    /* --port, default 8765; 0 = any free port (logged) */
    const char *tls_cert;        /* --tls-cert: PEM chain; with tls_key the port speaks TLS */
    const char *tls_key;         /* --tls-key */
    const char *api_key;         /* API_KEY / --api-key; NULL = no auth */
    int max_concurrent;          /* GPU_MAX_CONCURRENT, default 2 */
    int max_batch_size;          /* GPU_MAX_BATCH_SIZE, default 100 */
    int max_text_length;         /* GPU_MAX_TEXT_LENGTH, default 10000 (code points) */
    int embed_batch;             /* GPU_EMBED_BATCH, default 32 */
    const char *model_embed;     /* MODEL_EMBED, default all-MiniLM-L6-v2; "" = none at start */
    const char *model_bertscore; /* MODEL_BERTSCORE, default roberta-large; "" = none at start */
    int bertscore_layers;        /* --bertscore-layers / VKB_BERTSCORE_LAYERS: num_layers for
                                  * model_bertscore when a request sends none (wins over
                                  * bert_score's table); 0 = the table. Required when
                                  * model_bertscore is not in the table. */
    const char *device;          /* engine device spec: VKB_DEVICE, else TORCH_DEVICE mapped;
                                  * auto, cpu, vulkan:N, all or a comma list */
    const char *model_dir;       /* VKB_MODEL_DIR */
    const char *baseline_dir;    /* VKB_BASELINE_DIR */
    const char *docs_assets;     /* --docs-assets / VKB_DOCS_ASSETS: local Swagger UI files */
    int allow_pull;              /* --pull / VKB_PULL=1: fetch missing models from the hub */
    int weights_f16;             /* --weights f16 / VKB_WEIGHTS=f16: F32 checkpoints as f16 */
    size_t max_body;             /* --max-body / VKB_MAX_BODY, bytes, default 16 MiB */
    int log_level;               /* --log-level / VKB_LOG_LEVEL: 0 error .. 3 debug, default 2 */
    int admission_wait_ms;       /* how long a request waits for a compute slot: 1000 */
    int retry_after_s;           /* Retry-After of the 503 that follows: 5 */
    int drain_timeout_s;         /* --drain-timeout: longest wait for accepted requests on stop */
    int io_timeout_s;            /* HTTP/1 request and HTTP/2 idle timeout, default 65 */
    const char *version;         /* vkbridge version for /info and /openapi.json (caller sets) */
    char device_buf[32];         /* storage for a device spec mapped from TORCH_DEVICE */
} vkb_service_config;

/* Defaults, then the environment (getenv_fn, usually getenv), then argv (argv[0] is the
 * subcommand name). Returns 0 when the config is ready, 1 when --help was asked (nothing
 * else to do), -1 with one line in err for a bad flag or value. Strings point into argv,
 * the environment or static storage. */
int vkb_service_config_load(vkb_service_config *cfg, int argc, char **argv,
                            char *(*getenv_fn)(const char *), char *err, size_t errlen);
/* The --help text: every flag with its environment variable and default. */
void vkb_service_usage(FILE *f);
/* Runs the service until SIGTERM/SIGINT and every accepted request is answered. Returns the
 * process exit code: 0 after a clean stop, 1 after a start-up failure (one clear log line). */
int vkb_service_run(const vkb_service_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
