/*
 * bench_ops.c — `vkbridge bench ops`: speed of the single ops per backend.
 *
 * matmul: Y = X·Wᵀ + b at M = 4096 tokens for the all-MiniLM-L6-v2 shapes (N x K = 384x384,
 * 1536x384, 384x1536) and the roberta-large shapes (1024x1024, 4096x1024, 1024x4096), f32 and
 * f16 weights, in GFLOP/s (2·M·N·K per run); on the CPU backend also plain OpenBLAS sgemm as
 * the baseline it should match. attention: B=32, H=12, L=128, d=32 from packed QKV, in ms.
 * layernorm: [4096, 384] with a residual, in GB/s (X and R read, Y written).
 *
 * Each op runs as a batch of its own (record, submit, wait): warm-up runs first (pipeline
 * compilation, first touches), then --repeats timed runs; the median wall time is reported,
 * with the median GPU timestamp time beside it where the device has timestamps.
 */
#include "commands.h"
#include "vkb_runtime.h"

#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bench_cfg {
    const char *devices[8];
    int n_devices;
    int repeats, warmup;
    int json;
    const char *only; /* --op: one op, or NULL for all */
    int shapes[8][3]; /* --shape MxNxK: matmul shapes instead of the default ones */
    int n_shapes;
} bench_cfg;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vkbridge bench ops [--json] [--device cpu|vulkan|vulkan:N]... [--repeats N]\n"
            "                          [--warmup N] [--op matmul|attention|layernorm]\n"
            "                          [--shape MxNxK]...\n\n"
            "Times matmul (MiniLM and roberta-large shapes at 4096 tokens, f32 and f16\n"
            "weights), attention (32x12x128x32) and layernorm (4096x384) on each backend:\n"
            "median of N runs (default 5) after warm-up runs (default 1). Without --device:\n"
            "the CPU backend and the default Vulkan device (when there is one).\n\n"
            "Each result has ms (median wall time, submit and wait included), gpu_ms (median\n"
            "GPU timestamp time, null without timestamps) and cpu_ms (median CPU time of the\n"
            "whole process: on a CPU-type device like lavapipe, what the op cost the cores,\n"
            "which stays meaningful when other processes share them).\n\n"
            "  --json      one JSON object {\"device\": {...}, \"results\": [...]}\n"
            "  --op NAME   only this op\n"
            "  --shape MxNxK  time matmul at these shapes (up to 8) instead of the default ones\n");
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A tensor of n random values in [-1, 1) (halves for F16), or NULL. weight_cols > 0: a
 * matmul weight of n / weight_cols rows (vkb_weight_new), laid out as the encoder's are. */
static vkb_tensor *random_tensor(vkb_backend *b, vkb_dtype dt, size_t n, int weight_cols)
{
    vkb_tensor *t = weight_cols ? vkb_weight_new(b, dt, (int)(n / (size_t)weight_cols), weight_cols)
                                : vkb_tensor_new(b, dt, n);
    void *host = malloc(n * 4);
    if (!t || !host) {
        vkb_tensor_free(t);
        free(host);
        return NULL;
    }
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float v = (float)(s >> 8) / 8388608.0f - 1.0f;
        if (dt == VKB_F16)
            ((uint16_t *)host)[i] = vkb_f32_to_f16(v);
        else if (dt == VKB_I32)
            ((int32_t *)host)[i] = 128; /* lengths: full sequences */
        else
            ((float *)host)[i] = v;
    }
    int rc = weight_cols ? vkb_weight_upload_rows(t, 0, (int)(n / (size_t)weight_cols), host)
                         : vkb_tensor_upload(t, 0, host, n);
    free(host);
    if (rc != VKB_OK) {
        vkb_tensor_free(t);
        return NULL;
    }
    return t;
}

/* What one timed op needs: its tensors and how to run it once. */
typedef struct op_case {
    const char *op;
    int M, N, K;            /* matmul */
    vkb_dtype wtype;
    int B, L, H, d;         /* attention */
    int rows, cols;         /* layernorm */
    vkb_tensor *t[6];
} op_case;

static int run_once(vkb_backend *b, op_case *c)
{
    if (!strcmp(c->op, "matmul"))
        return vkb_op_matmul(b, c->t[0], c->t[1], c->t[2], c->t[3], NULL, c->M, c->N, c->K,
                             VKB_ACT_NONE);
    if (!strcmp(c->op, "attention"))
        return vkb_op_attention(b, c->t[0], c->t[1], c->t[2], c->B, c->L, c->H, c->d);
    return vkb_op_layernorm(b, c->t[0], c->t[1], c->t[2], c->t[3], c->t[4], c->rows, c->cols,
                            1e-5f);
}

static int make_tensors(vkb_backend *b, op_case *c)
{
    if (!strcmp(c->op, "matmul")) {
        c->t[0] = vkb_tensor_new(b, VKB_F32, (size_t)c->M * c->N);
        c->t[1] = random_tensor(b, VKB_F32, (size_t)c->M * c->K, 0);
        c->t[2] = random_tensor(b, c->wtype, (size_t)c->N * c->K, c->K);
        c->t[3] = random_tensor(b, VKB_F32, (size_t)c->N, 0);
        return c->t[0] && c->t[1] && c->t[2] && c->t[3] ? VKB_OK : VKB_ENOMEM;
    }
    if (!strcmp(c->op, "attention")) {
        size_t rows = (size_t)c->B * c->L;
        c->t[0] = vkb_tensor_new(b, VKB_F32, rows * c->H * c->d);
        c->t[1] = random_tensor(b, VKB_F32, rows * 3 * c->H * c->d, 0);
        c->t[2] = random_tensor(b, VKB_I32, (size_t)c->B, 0);
        return c->t[0] && c->t[1] && c->t[2] ? VKB_OK : VKB_ENOMEM;
    }
    size_t n = (size_t)c->rows * c->cols;
    c->t[0] = vkb_tensor_new(b, VKB_F32, n);
    c->t[1] = random_tensor(b, VKB_F32, n, 0);
    c->t[2] = random_tensor(b, VKB_F32, n, 0);
    c->t[3] = random_tensor(b, VKB_F32, (size_t)c->cols, 0);
    c->t[4] = random_tensor(b, VKB_F32, (size_t)c->cols, 0);
    return c->t[0] && c->t[1] && c->t[2] && c->t[3] && c->t[4] ? VKB_OK : VKB_ENOMEM;
}

static void free_tensors(op_case *c)
{
    for (int i = 0; i < 6; i++) {
        vkb_tensor_free(c->t[i]);
        c->t[i] = NULL;
    }
}

/* Median times of one op over cfg->repeats runs, in milliseconds. */
typedef struct op_times {
    double ms, gpu_ms, cpu_ms; /* gpu_ms = -1 without timestamps */
} op_times;

static int time_case(vkb_backend *b, op_case *c, const bench_cfg *cfg, op_times *out)
{
    int rc = make_tensors(b, c);
    double wall[256], gpu[256], cpu[256];
    int n = cfg->repeats;
    for (int i = 0; rc == VKB_OK && i < cfg->warmup; i++)
        rc = run_once(b, c);
    for (int i = 0; rc == VKB_OK && i < n; i++) {
        double t0 = bench_now(), c0 = cpu_s();
        rc = run_once(b, c);
        wall[i] = (bench_now() - t0) * 1e3;
        cpu[i] = (cpu_s() - c0) * 1e3;
        const char **names;
        const double *tms;
        int nt = vkb_batch_timings(b, &names, &tms); /* one entry per dispatch */
        gpu[i] = nt > 0 ? 0 : -1;
        for (int d = 0; d < nt && gpu[i] >= 0; d++)
            gpu[i] = tms[d] < 0 ? -1 : gpu[i] + tms[d];
    }
    free_tensors(c);
    if (rc != VKB_OK)
        return rc;
    out->ms = median(wall, n);
    out->gpu_ms = gpu[0] < 0 ? -1 : median(gpu, n);
    out->cpu_ms = median(cpu, n);
    return VKB_OK;
}

/* Plain cblas_sgemm of the same product: the CPU backend's baseline. */
static op_times time_sgemm(const op_case *c, const bench_cfg *cfg)
{
    op_times t = {-1, -1, -1};
    size_t mk = (size_t)c->M * c->K, nk = (size_t)c->N * c->K, mn = (size_t)c->M * c->N;
    float *x = malloc(mk * 4), *w = malloc(nk * 4), *y = malloc(mn * 4);
    double wall[256], cpu[256];
    if (!x || !w || !y) {
        free(x);
        free(w);
        free(y);
        return t;
    }
    for (size_t i = 0; i < mk; i++)
        x[i] = (float)(i % 7) * 0.1f - 0.3f;
    for (size_t i = 0; i < nk; i++)
        w[i] = (float)(i % 5) * 0.1f - 0.2f;
    for (int i = 0; i < cfg->warmup + cfg->repeats; i++) {
        double t0 = bench_now(), c0 = cpu_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->M, c->N, c->K, 1.0f, x, c->K, w,
                    c->K, 0.0f, y, c->N);
        if (i >= cfg->warmup) {
            wall[i - cfg->warmup] = (bench_now() - t0) * 1e3;
            cpu[i - cfg->warmup] = (cpu_s() - c0) * 1e3;
        }
    }
    free(x);
    free(w);
    free(y);
    t.ms = median(wall, cfg->repeats);
    t.cpu_ms = median(cpu, cfg->repeats);
    return t;
}

static json_t *result_row(const char *backend, const op_case *c, op_times t)
{
    double ms = t.ms;
    json_t *r = json_object();
    json_object_set_new(r, "op", json_string(c->op));
    json_object_set_new(r, "backend", json_string(backend));
    if (!strcmp(c->op, "matmul")) {
        json_object_set_new(r, "M", json_integer(c->M));
        json_object_set_new(r, "N", json_integer(c->N));
        json_object_set_new(r, "K", json_integer(c->K));
        json_object_set_new(r, "weights", json_string(c->wtype == VKB_F16 ? "f16" : "f32"));
    } else if (!strcmp(c->op, "attention")) {
        json_object_set_new(r, "B", json_integer(c->B));
        json_object_set_new(r, "H", json_integer(c->H));
        json_object_set_new(r, "L", json_integer(c->L));
        json_object_set_new(r, "d", json_integer(c->d));
    } else {
        json_object_set_new(r, "rows", json_integer(c->rows));
        json_object_set_new(r, "cols", json_integer(c->cols));
    }
    json_object_set_new(r, "ms", json_real(ms));
    json_object_set_new(r, "gpu_ms", t.gpu_ms >= 0 ? json_real(t.gpu_ms) : json_null());
    json_object_set_new(r, "cpu_ms", json_real(t.cpu_ms));
    if (!strcmp(c->op, "matmul"))
        json_object_set_new(r, "gflops", json_real(2.0 * c->M * c->N * c->K / (ms * 1e6)));
    else if (!strcmp(c->op, "attention"))
        json_object_set_new(r, "gflops",
                            json_real(4.0 * c->B * c->H * c->L * c->L * c->d / (ms * 1e6)));
    else
        json_object_set_new(r, "gbps", json_real(3.0 * 4 * c->rows * c->cols / (ms * 1e6)));
    return r;
}

static void print_row(const json_t *r)
{
    const char *op = json_string_value(json_object_get(r, "op"));
    char shape[64];
    if (!strcmp(op, "matmul"))
        snprintf(shape, sizeof shape, "%lldx%lldx%lld %s",
                 json_integer_value(json_object_get(r, "M")),
                 json_integer_value(json_object_get(r, "N")),
                 json_integer_value(json_object_get(r, "K")),
                 json_string_value(json_object_get(r, "weights")));
    else if (!strcmp(op, "attention"))
        snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld",
                 json_integer_value(json_object_get(r, "B")),
                 json_integer_value(json_object_get(r, "H")),
                 json_integer_value(json_object_get(r, "L")),
                 json_integer_value(json_object_get(r, "d")));
    else
        snprintf(shape, sizeof shape, "%lldx%lld",
                 json_integer_value(json_object_get(r, "rows")),
                 json_integer_value(json_object_get(r, "cols")));
    json_t *gf = json_object_get(r, "gflops");
    printf("%-10s %-9s %-22s %10.3f ms %9.2f %-7s (cpu %.1f ms)\n", op,
           json_string_value(json_object_get(r, "backend")), shape,
           json_real_value(json_object_get(r, "ms")),
           gf ? json_real_value(gf) : json_real_value(json_object_get(r, "gbps")),
           gf ? "GFLOP/s" : "GB/s", json_real_value(json_object_get(r, "cpu_ms")));
    fflush(stdout);
}

static json_t *device_object(vkb_backend *b)
{
    json_t *d = json_object();
    json_object_set_new(d, "id", json_string(vkb_backend_id(b)));
    json_object_set_new(d, "name", json_string(vkb_backend_device_name(b)));
    const vkb_device_info *info = vkb_backend_device_info(b);
    if (info) {
        json_object_set_new(d, "type", json_string(info->type));
        json_object_set_new(d, "vendor", json_string(info->vendor));
        json_object_set_new(d, "driver", json_string(info->driver_info[0] ? info->driver_info
                                                                          : info->driver_name));
        json_object_set_new(d, "api_version", json_string(info->api_version_str));
        json_object_set_new(d, "subgroup_size", json_integer(info->subgroup_size));
    }
    return d;
}

static int bench_backend(vkb_backend *b, const bench_cfg *cfg, json_t *results)
{
    static const int shapes[6][2] = {{384, 384}, {1536, 384}, {384, 1536},
                                     {1024, 1024}, {4096, 1024}, {1024, 4096}};
    const char *backend = vkb_backend_is_vulkan(b) ? "vulkan" : "cpu";
    op_case cases[24];
    int n = 0;
    for (int w = 0; w < 2; w++) {
        if (cfg->n_shapes) {
            for (int s = 0; s < cfg->n_shapes; s++)
                cases[n++] = (op_case){.op = "matmul", .M = cfg->shapes[s][0],
                                       .N = cfg->shapes[s][1], .K = cfg->shapes[s][2],
                                       .wtype = w ? VKB_F16 : VKB_F32};
            continue;
        }
        for (int s = 0; s < 6; s++)
            cases[n++] = (op_case){.op = "matmul", .M = 4096, .N = shapes[s][0],
                                   .K = shapes[s][1], .wtype = w ? VKB_F16 : VKB_F32};
    }
    cases[n++] = (op_case){.op = "attention", .B = 32, .L = 128, .H = 12, .d = 32};
    cases[n++] = (op_case){.op = "layernorm", .rows = 4096, .cols = 384};
    for (int i = 0; i < n; i++) {
        op_times t;
        if ((cases[i].wtype == VKB_F16 && !vkb_backend_supports_f16(b)) ||
            (cfg->only && strcmp(cfg->only, cases[i].op)))
            continue;
        int rc = time_case(b, &cases[i], cfg, &t);
        if (rc != VKB_OK) {
            fprintf(stderr, "vkbridge bench ops: %s on %s failed: %s\n", cases[i].op,
                    vkb_backend_id(b), vkb_status_str(rc));
            return rc;
        }
        json_t *row = result_row(backend, &cases[i], t);
        json_object_set_new(row, "device", json_string(vkb_backend_id(b)));
        if (!cfg->json)
            print_row(row);
        json_array_append_new(results, row);
        if (!vkb_backend_is_vulkan(b) && !strcmp(cases[i].op, "matmul") &&
            cases[i].wtype == VKB_F32) {
            json_t *base = result_row("openblas", &cases[i], time_sgemm(&cases[i], cfg));
            if (!cfg->json)
                print_row(base);
            json_array_append_new(results, base);
        }
    }
    return VKB_OK;
}

static int parse_args(int argc, char **argv, bench_cfg *cfg)
{
    *cfg = (bench_cfg){.repeats = 5, .warmup = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            cfg->json = 1;
        } else if (!strcmp(a, "--op") && i + 1 < argc) {
            cfg->only = argv[++i];
            if (strcmp(cfg->only, "matmul") && strcmp(cfg->only, "attention") &&
                strcmp(cfg->only, "layernorm")) {
                fprintf(stderr, "vkbridge bench ops: unknown op '%s'\n", cfg->only);
                return 2;
            }
        } else if (!strcmp(a, "--shape") && i + 1 < argc) {
            int *sh = cfg->shapes[cfg->n_shapes];
            char tail;
            if (cfg->n_shapes == 8 ||
                sscanf(argv[++i], "%dx%dx%d%c", &sh[0], &sh[1], &sh[2], &tail) != 3 ||
                sh[0] < 1 || sh[1] < 1 || sh[2] < 1 || sh[0] > 65536 || sh[1] > 65536 ||
                sh[2] > 65536) {
                fprintf(stderr, "vkbridge bench ops: --shape wants MxNxK, up to 8 ('%s')\n",
                        argv[i]);
                return 2;
            }
            cfg->n_shapes++;
        } else if (!strcmp(a, "--device") && i + 1 < argc && cfg->n_devices < 8) {
            cfg->devices[cfg->n_devices++] = argv[++i];
        } else if ((!strcmp(a, "--repeats") || !strcmp(a, "--warmup")) && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            int warm = !strcmp(a, "--warmup");
            if (*end || v < (warm ? 0 : 1) || v > 256) {
                fprintf(stderr, "vkbridge bench ops: %s wants 1..256 ('%s')\n", a, argv[i]);
                return 2;
            }
            *(warm ? &cfg->warmup : &cfg->repeats) = (int)v;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else {
            fprintf(stderr, "vkbridge bench ops: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

int bench_ops(int argc, char **argv)
{
    bench_cfg cfg;
    int prc = parse_args(argc, argv, &cfg);
    if (prc)
        return prc == 1 ? 0 : prc;
    vkb_backend *backends[8];
    int n = 0;
    char err[256];
    if (cfg.n_devices == 0) {
        if (vkb_backend_open("cpu", &backends[n], err, sizeof err) == VKB_OK)
            n++;
        if (vkb_backend_open("vulkan", &backends[n], err, sizeof err) == VKB_OK)
            n++;
        else
            fprintf(stderr, "vkbridge bench ops: %s; benchmarking the CPU backend only\n", err);
    }
    for (int i = 0; i < cfg.n_devices; i++) {
        if (vkb_backend_open(cfg.devices[i], &backends[n], err, sizeof err) != VKB_OK) {
            fprintf(stderr, "vkbridge bench ops: %s\n", err);
            for (int k = 0; k < n; k++)
                vkb_backend_close(backends[k]);
            return 1;
        }
        n++;
    }
    for (int i = 0; i < n; i++) /* the gpu_ms column */
        vkb_backend_set_timing(backends[i], 1);
    /* "device" names the Vulkan device when one is benchmarked, else the CPU backend. */
    vkb_backend *primary = n ? backends[n - 1] : NULL;
    json_t *root = json_object(), *results = json_array();
    json_object_set_new(root, "device", primary ? device_object(primary) : json_null());
    json_object_set_new(root, "results", results);
    int rc = VKB_OK;
    for (int i = 0; i < n && rc == VKB_OK; i++)
        rc = bench_backend(backends[i], &cfg, results);
    if (cfg.json && rc == VKB_OK) {
        char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text)
            puts(text);
        free(text);
    }
    json_decref(root);
    for (int i = 0; i < n; i++)
        vkb_backend_close(backends[i]);
    return rc == VKB_OK ? 0 : 1;
}
