/* svc_config.c — `vkbridge serve` configuration: defaults < environment < flags.
 * One table lists every setting once, with its flag, its variable and how to read it, so
 * --help, the environment and the command line cannot drift apart. */
#include "vkb_service.h"
#include "vkb_runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_STRING, KIND_INT, KIND_SIZE, KIND_FLAG, KIND_DEVICE, KIND_TORCH_DEVICE,
               KIND_LOG_LEVEL, KIND_WEIGHTS } setting_kind;

typedef struct setting {
    const char *flag;     /* "--port"; NULL for environment-only settings */
    const char *env;      /* "GPU_MAX_CONCURRENT"; NULL for flag-only settings */
    setting_kind kind;
    size_t offset;        /* of the field in vkb_service_config */
    long lo, hi;          /* bounds of KIND_INT */
    const char *help;
} setting;

#define FIELD(name) offsetof(vkb_service_config, name)

static const setting settings[] = {
    {"--host", "VKB_HOST", KIND_STRING, FIELD(host), 0, 0, "address to listen on (default 127.0.0.1)"},
    {"--port", "VKB_PORT", KIND_INT, FIELD(port), 0, 65535, "port (default 8765; 0 = any free port)"},
    {"--tls-cert", NULL, KIND_STRING, FIELD(tls_cert), 0, 0, "PEM certificate chain: serve HTTPS (ALPN h2, http/1.1)"},
    {"--tls-key", NULL, KIND_STRING, FIELD(tls_key), 0, 0, "PEM private key for --tls-cert"},
    {"--api-key", "API_KEY", KIND_STRING, FIELD(api_key), 0, 0, "shared secret for X-API-Key / Authorization: Bearer (default: no auth)"},
    {"--max-concurrent", "GPU_MAX_CONCURRENT", KIND_INT, FIELD(max_concurrent), 1, 4096, "compute slots; a request waits up to 1 s for one, then 503 (default 2)"},
    {"--max-batch-size", "GPU_MAX_BATCH_SIZE", KIND_INT, FIELD(max_batch_size), 1, 1000000, "max items per request (default 100)"},
    {"--max-text-length", "GPU_MAX_TEXT_LENGTH", KIND_INT, FIELD(max_text_length), 1, 100000000, "max characters per text (default 10000)"},
    {"--embed-batch", "GPU_EMBED_BATCH", KIND_INT, FIELD(embed_batch), 1, 4096, "sequences per device batch (default 32)"},
    {"--model-embed", "MODEL_EMBED", KIND_STRING, FIELD(model_embed), 0, 0, "embedding model loaded at start (default all-MiniLM-L6-v2; empty: none)"},
    {"--model-bertscore", "MODEL_BERTSCORE", KIND_STRING, FIELD(model_bertscore), 0, 0, "BERTScore model loaded at start (default roberta-large; empty: none)"},
    {"--bertscore-layers", "VKB_BERTSCORE_LAYERS", KIND_INT, FIELD(bertscore_layers), 1, 1000, "layer MODEL_BERTSCORE scores with when a request sends no num_layers (default: bert_score's table; required for a model not in it)"},
    {NULL, "TORCH_DEVICE", KIND_TORCH_DEVICE, FIELD(device), 0, 0, "compatibility: cuda = first GPU, cuda:N = GPU N, cpu"},
    {"--device", "VKB_DEVICE", KIND_DEVICE, FIELD(device), 0, 0, "auto, cpu, vulkan:N, all, or a list (vulkan:0,vulkan:1); cuda, cuda:N too; wins over TORCH_DEVICE"},
    {"--weights", "VKB_WEIGHTS", KIND_WEIGHTS, FIELD(weights_f16), 0, 0, "auto (checkpoint precision, default) or f16 (F32 weights stored as f16 where the device allows)"},
    {"--model-dir", "VKB_MODEL_DIR", KIND_STRING, FIELD(model_dir), 0, 0, "folder of model folders (the Hugging Face cache is searched too)"},
    {"--baseline-dir", "VKB_BASELINE_DIR", KIND_STRING, FIELD(baseline_dir), 0, 0, "BERTScore rescale baselines (bert_score layout)"},
    {"--docs-assets", "VKB_DOCS_ASSETS", KIND_STRING, FIELD(docs_assets), 0, 0, "swagger-ui-dist folder: /docs serves its swagger-ui-bundle.js and .css (offline hosts), not the CDN's"},
    {"--pull", "VKB_PULL", KIND_FLAG, FIELD(allow_pull), 0, 0, "download missing models from the Hugging Face hub"},
    {"--max-body", "VKB_MAX_BODY", KIND_SIZE, FIELD(max_body), 0, 0, "largest request body, bytes or with k/M suffix (default 16M)"},
    {"--log-level", "VKB_LOG_LEVEL", KIND_LOG_LEVEL, FIELD(log_level), 0, 0, "error, warn, info (access log, default) or debug"},
    {"--drain-timeout", "VKB_DRAIN_TIMEOUT", KIND_INT, FIELD(drain_timeout_s), 1, 86400, "seconds to finish accepted requests after SIGTERM (default 120)"},
    {"--timeout", NULL, KIND_INT, FIELD(io_timeout_s), 1, 86400, "HTTP/1 request and HTTP/2 idle timeout in seconds (default 65)"},
};

static void set_defaults(vkb_service_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "127.0.0.1";
    cfg->port = 8765;
    cfg->max_concurrent = 2;
    cfg->max_batch_size = 100;
    cfg->max_text_length = 10000;
    cfg->embed_batch = 32;
    cfg->model_embed = "all-MiniLM-L6-v2";
    cfg->model_bertscore = "roberta-large";
    cfg->device = "auto";
    cfg->max_body = 16u << 20;
    cfg->log_level = 2;
    cfg->admission_wait_ms = 1000;
    cfg->retry_after_s = 5;
    cfg->drain_timeout_s = 120;
    cfg->io_timeout_s = 65;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "16777216", "512k", "16M", "1G" (binary multiples). */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned long long mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1ull << 10;
    else if (*end == 'm' || *end == 'M')
        mult = 1ull << 20;
    else if (*end == 'g' || *end == 'G')
        mult = 1ull << 30;
    if (mult != 1)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v > (1ull << 30) / mult || v * mult < 1024)
        return -1; /* 1 KiB .. 1 GiB */
    *out = (size_t)(v * mult);
    return 0;
}

static int parse_log_level(const char *s, int *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]) || (s[0] == '0' + i && !s[1])) {
            *out = i;
            return 0;
        }
    if (!strcmp(s, "warning")) {
        *out = 1;
        return 0;
    }
    return -1;
}

/* TORCH_DEVICE, the original service's setting: cuda -> vulkan:0, cuda:N -> vulkan:N
 * (N digits only, 0..VKB_MAX_VULKAN_INDEX like vulkan:N), cpu -> cpu, auto/"" -> auto. */
static int map_torch_device(const char *s, vkb_service_config *cfg)
{
    long n;
    if (!*s || !strcmp(s, "auto")) {
        cfg->device = "auto";
    } else if (!strcmp(s, "cpu")) {
        cfg->device = "cpu";
    } else if (!strcmp(s, "cuda")) {
        cfg->device = "vulkan:0";
    } else if (!strncmp(s, "cuda:", 5) && s[5] >= '0' && s[5] <= '9' &&
               parse_long(s + 5, 0, VKB_MAX_VULKAN_INDEX, &n) == 0) {
        snprintf(cfg->device_buf, sizeof(cfg->device_buf), "vulkan:%ld", n);
        cfg->device = cfg->device_buf;
    } else {
        return -1;
    }
    return 0;
}

/* VKB_DEVICE / --device: the engine's device-spec grammar (vkb_device_spec_parse, so the
 * engine will read the spec exactly as checked here), or a cuda form read like TORCH_DEVICE.
 * why receives the reason a spec is refused. */
static int check_device(const char *s, vkb_service_config *cfg, char *why, size_t whylen)
{
    if (!strncmp(s, "cuda", 4)) {
        if (map_torch_device(s, cfg) == 0)
            return 0;
        snprintf(why, whylen, "bad device '%s': want cuda or cuda:N (N from 0 to %d)", s,
                 VKB_MAX_VULKAN_INDEX);
        return -1;
    }
    if (vkb_device_spec_parse(s, NULL, why, whylen) != VKB_OK)
        return -1;
    cfg->device = s;
    return 0;
}

static int apply(const setting *st, const char *value, const char *source,
                 vkb_service_config *cfg, char *err, size_t errlen)
{
    char *field = (char *)cfg + st->offset;
    long n;
    int ok = 0;
    char why[256] = "";
    switch (st->kind) {
    case KIND_STRING:
        *(const char **)field = value;
        ok = 1;
        break;
    case KIND_INT:
        ok = parse_long(value, st->lo, st->hi, &n) == 0;
        if (ok)
            *(int *)field = (int)n;
        break;
    case KIND_SIZE:
        ok = parse_size(value, (size_t *)field) == 0;
        break;
    case KIND_FLAG:
        ok = 1;
        *(int *)field = !(value && (!strcmp(value, "0") || !strcmp(value, "false") || !*value));
        break;
    case KIND_DEVICE:
        ok = check_device(value, cfg, why, sizeof(why)) == 0;
        break;
    case KIND_TORCH_DEVICE:
        ok = map_torch_device(value, cfg) == 0;
        break;
    case KIND_LOG_LEVEL:
        ok = parse_log_level(value, (int *)field) == 0;
        break;
    case KIND_WEIGHTS:
        ok = !strcmp(value, "auto") || !strcmp(value, "f16");
        if (ok)
            *(int *)field = !strcmp(value, "f16");
        break;
    }
    if (ok)
        return 0;
    if (st->kind == KIND_INT)
        snprintf(err, errlen, "%s=%s: expected an integer from %ld to %ld", source, value, st->lo,
                 st->hi);
    else if (st->kind == KIND_SIZE)
        snprintf(err, errlen, "%s=%s: expected a size from 1k to 1G (e.g. 16M)", source, value);
    else if (st->kind == KIND_LOG_LEVEL)
        snprintf(err, errlen, "%s=%s: expected error, warn, info or debug", source, value);
    else if (st->kind == KIND_WEIGHTS)
        snprintf(err, errlen, "%s=%s: expected auto or f16", source, value);
    else if (st->kind == KIND_DEVICE)
        snprintf(err, errlen, "%s=%s: %s", source, value, why);
    else
        snprintf(err, errlen, "%s=%s: expected auto, cpu, cuda or cuda:N", source, value);
    return -1;
}

/* Clients of the original service cannot send num_layers, so a BERTScore model the service
 * loads itself must have a layer without one: from bert_score's table or from
 * --bertscore-layers. Refused here rather than answering every such request 400. */
static int check_bertscore_layers(const vkb_service_config *cfg, char *err, size_t errlen)
{
    int has_model = cfg->model_bertscore && *cfg->model_bertscore;
    if (!has_model && cfg->bertscore_layers) {
        snprintf(err, errlen, "--bertscore-layers (VKB_BERTSCORE_LAYERS) needs a MODEL_BERTSCORE "
                              "(--model-bertscore) to apply to");
        return -1;
    }
    if (has_model && !cfg->bertscore_layers && vkb_bertscore_table_layers(cfg->model_bertscore) < 0) {
        snprintf(err, errlen,
                 "MODEL_BERTSCORE '%.200s' is not in bert_score's num_layers table: set "
                 "--bertscore-layers N (or VKB_BERTSCORE_LAYERS=N) to the layer it scores with",
                 cfg->model_bertscore);
        return -1;
    }
    return 0;
}

static const setting *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < sizeof(settings) / sizeof(*settings); i++)
        if (settings[i].flag && strlen(settings[i].flag) == len &&
            !strncmp(settings[i].flag, arg, len))
            return &settings[i];
    return NULL;
}

int vkb_service_config_load(vkb_service_config *cfg, int argc, char **argv,
                            char *(*getenv_fn)(const char *), char *err, size_t errlen)
{
    set_defaults(cfg);
    /* TORCH_DEVICE comes before VKB_DEVICE in the table, so VKB_DEVICE wins */
    for (size_t i = 0; i < sizeof(settings) / sizeof(*settings); i++) {
        const setting *st = &settings[i];
        const char *value = st->env && getenv_fn ? getenv_fn(st->env) : NULL;
        if (!value)
            continue;
        if (st->kind == KIND_STRING && !*value && st->offset == FIELD(api_key))
            continue; /* API_KEY="" means no auth, as in the original */
        if (apply(st, value, st->env, cfg, err, errlen))
            return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
            return 1;
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const setting *st = strncmp(arg, "--", 2) ? NULL : find_flag(arg, name_len);
        if (!st) {
            snprintf(err, errlen, "unknown option '%s' (see vkbridge serve --help)", arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && st->kind != KIND_FLAG) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value", st->flag);
                return -1;
            }
            value = argv[++i];
        }
        if (apply(st, value, st->flag, cfg, err, errlen))
            return -1;
    }
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (cfg->api_key && !*cfg->api_key)
        cfg->api_key = NULL;
    return check_bertscore_layers(cfg, err, errlen);
}

void vkb_service_usage(FILE *f)
{
    fprintf(f, "usage: vkbridge serve [OPTIONS]\n\n"
               "Serves embeddings and BERTScore over HTTP/1.1 and HTTP/2 (h2c prior knowledge;\n"
               "h2 over TLS with --tls-cert/--tls-key): /health /info /status /embed /bertscore\n"
               "/v1/embeddings /v1/models /metrics /openapi.json /docs. Flags win over the\n"
               "environment. SIGTERM/SIGINT finish accepted requests, then exit 0.\n\n");
    for (size_t i = 0; i < sizeof(settings) / sizeof(*settings); i++) {
        const setting *st = &settings[i];
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", st->flag ? st->flag : "",
                 st->flag && st->kind != KIND_FLAG ? " X" : "", st->flag ? "" : "(env only)");
        fprintf(f, "  %-22s %-20s %s\n", left, st->env ? st->env : "", st->help);
    }
    fprintf(f, "  %-22s %-20s %s\n", "-h, --help", "", "this text");
}
