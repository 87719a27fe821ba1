/*
 * bench_encode.c — `vkbridge bench encode`: sentence-embedding throughput of the encoder.
 *
 * The model is the all-MiniLM-L6-v2 shape with random weights (generated into a temporary
 * folder unless --model names one). For each backend, weight precision, batch size B and
 * sequence length L, B sequences of exactly L tokens go through encoder_embed (the whole
 * forward + pooling + normalise, one submit, only the pooled vectors read back): one untimed
 * run, then timed runs until --seconds have passed. Reported per cell: per-batch latency,
 * sentences/s, tokens/s and the achieved GFLOP/s of the matrix products (2·M·N·K for every
 * projection and both attention products). After the grid, each backend's peak device
 * memory and the process's host RSS are reported (the largest cell, 128 x 256 by default,
 * sets both).
 */
#include "commands.h"
#include "vkb_platform.h"
#include "gen_model.h"
#include "model.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench_opts {
    const char *devices[8];
    int n_devices;
    const char *model;
    const char *weights; /* "f32", "f16", "both" */
    int batches[16], n_batches;
    int lengths[16], n_lengths;
    double seconds;
    int json;
    int profile; /* print each cell's per-op device time */
} bench_opts;

/* VmRSS or VmHWM from /proc/self/status, in bytes (0 if unknown). */
static long long proc_status_bytes(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    long long kb = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':')
            kb = atoll(line + kl + 1);
    fclose(f);
    return kb * 1024;
}

/* Multiply-add FLOPs of one forward: projections, FFN and both attention products. */
static double forward_flops(const vkb_model_facts *f, int intermediate, int B, int L)
{
    double rows = (double)B * L, C = f->hidden, I = intermediate;
    double per_layer = 2 * rows * (3 * C * C + C * C + 2 * C * I) + 4.0 * B * (double)L * L * C;
    return per_layer * f->num_layers;
}

static int parse_list(const char *s, int *out, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 8192)
            return -1;
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vkbridge bench encode [--device cpu|vulkan|vulkan:N]... [--json]\n"
               "          [--weights f32|f16|both] [--model DIR] [--batches 1,8,32,128]\n"
               "          [--lengths 16,64,128,256] [--seconds S] [--profile]\n\n"
               "Sentence-embedding throughput of the all-MiniLM-L6-v2 shape (random weights,\n"
               "generated into a temporary folder unless --model is given) per backend, batch\n"
               "size and sequence length. Default: the CPU backend and the first Vulkan device\n"
               "if there is one; weights both f32 and f16 (f16 only where the device stores\n"
               "16-bit; the CPU backend widens f16 to f32, so it runs f32 only).\n"
               "--profile prints, per cell, the device time of the last batch per op kind\n"
               "and how many dispatches it took (Vulkan devices with timestamp queries only).\n"
               "It timestamps every dispatch, which slows small batches (lavapipe flushes at\n"
               "each timestamp), so compare throughput from runs without it.\n");
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->weights = "both";
    o->seconds = 1.0;
    int defaults_b[] = {1, 8, 32, 128}, defaults_l[] = {16, 64, 128, 256};
    memcpy(o->batches, defaults_b, sizeof defaults_b);
    memcpy(o->lengths, defaults_l, sizeof defaults_l);
    o->n_batches = o->n_lengths = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (!strcmp(a, "--profile")) {
            o->profile = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench encode: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--device") && o->n_devices < 8) {
            o->devices[o->n_devices++] = v;
        } else if (!strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "--weights") &&
                   (!strcmp(v, "f32") || !strcmp(v, "f16") || !strcmp(v, "both"))) {
            o->weights = v;
        } else if (!strcmp(a, "--batches") && (o->n_batches = parse_list(v, o->batches, 16)) > 0) {
        } else if (!strcmp(a, "--lengths") && (o->n_lengths = parse_list(v, o->lengths, 16)) > 0) {
        } else if (!strcmp(a, "--seconds") && (o->seconds = atof(v)) >= 0) {
        } else {
            fprintf(stderr, "bench encode: bad option %s %s\n", a, v);
            usage(stderr);
            return -1;
        }
    }
    if (!o->n_devices) {
        o->devices[o->n_devices++] = "cpu";
        o->devices[o->n_devices++] = "vulkan";
    }
    return 0;
}

/* B sequences of L tokens: [CLS] random ids [SEP] (the ids do not change the cost). */
static int32_t **make_batch(const vkb_model *m, int B, int L, int vocab, unsigned *seed)
{
    int32_t **ids = calloc((size_t)B, sizeof *ids);
    for (int i = 0; ids && i < B; i++) {
        ids[i] = malloc(sizeof **ids * (size_t)L);
        if (!ids[i])
            return ids; /* caller checks every row */
        for (int t = 0; t < L; t++)
            ids[i][t] = 5 + (int32_t)(rand_r(seed) % (unsigned)(vocab - 5));
        ids[i][0] = model_cls_id(m);
        ids[i][L - 1] = model_sep_id(m);
    }
    return ids;
}

static void free_batch(int32_t **ids, int B)
{
    for (int i = 0; ids && i < B; i++)
        free(ids[i]);
    free(ids);
}

/* The last batch's device time per op name (summed over its dispatches), largest first. */
typedef struct op_kind {
    const char *name;
    double ms;
    int dispatches;
} op_kind;

static int by_time_desc(const void *a, const void *b)
{
    double x = ((const op_kind *)a)->ms, y = ((const op_kind *)b)->ms;
    return (x < y) - (x > y);
}

static void print_profile(const vkb_backend *b)
{
    const char **names;
    const double *ms;
    int n = vkb_batch_timings(b, &names, &ms);
    enum { MAX_KINDS = 32 };
    op_kind kinds[MAX_KINDS];
    int n_kinds = 0;
    double all = 0;
    for (int i = 0; i < n; i++) {
        if (ms[i] < 0)
            continue;
        int k = 0;
        while (k < n_kinds && strcmp(kinds[k].name, names[i]))
            k++;
        if (k == n_kinds) {
            if (n_kinds == MAX_KINDS)
                continue;
            kinds[n_kinds++] = (op_kind){.name = names[i]};
        }
        kinds[k].ms += ms[i];
        kinds[k].dispatches++;
        all += ms[i];
    }
    if (!n_kinds) {
        printf("    (no device timings: the CPU backend, or no timestamp queries)\n");
        return;
    }
    qsort(kinds, (size_t)n_kinds, sizeof kinds[0], by_time_desc);
    for (int k = 0; k < n_kinds; k++)
        printf("    %-14s %4d dispatches %9.2f ms %5.1f%%\n", kinds[k].name, kinds[k].dispatches,
               kinds[k].ms, 100 * kinds[k].ms / all);
}

/* One cell: returns seconds per batch (< 0 on failure). */
static double time_cell(model_replica *r, const vkb_model *m, int B, int L, double min_s,
                        int *reps_out)
{
    const vkb_model_facts *f = model_facts(m);
    unsigned seed = (unsigned)(B * 1000 + L);
    int32_t **ids = make_batch(m, B, L, vkb_tokenizer_vocab_size(model_tokenizer(m)), &seed);
    int *lens = malloc(sizeof *lens * (size_t)B);
    float *out = malloc(sizeof *out * (size_t)B * f->dim);
    double per_batch = -1;
    int ok = ids && lens && out;
    for (int i = 0; ok && i < B; i++)
        ok = ids[i] != NULL;
    if (ok) {
        for (int i = 0; i < B; i++)
            lens[i] = L;
        const int32_t *const *cids = (const int32_t *const *)ids;
        if (encoder_embed(r, cids, lens, B, out) == 0) { /* warm-up: scratch, caches */
            int reps = 0;
            double t0 = bench_now(), t;
            do {
                if (encoder_embed(r, cids, lens, B, out) != 0)
                    break;
                reps++;
                t = bench_now() - t0;
            } while (t < min_s);
            if (reps > 0) {
                per_batch = (bench_now() - t0) / reps;
                *reps_out = reps;
            }
        }
    }
    free_batch(ids, B);
    free(lens);
    free(out);
    return per_batch;
}

/* Runs the grid on one backend with one weight precision; appends results. */
static int run_backend(const char *dir, const char *dev, int f16, const bench_opts *o,
                       json_t *results, json_t *memory)
{
    char err[512] = "";
    vkb_backend *be = NULL;
    if (vkb_backend_open(dev, &be, err, sizeof err) != 0) {
        fprintf(stderr, "bench encode: skipping %s: %s\n", dev, err);
        return 0;
    }
    vkb_backend_set_timing(be, o->profile);
    const char *wname = f16 ? "f16" : "f32";
    if (f16 && (!vkb_backend_is_vulkan(be) || !vkb_backend_supports_f16(be))) {
        fprintf(stderr, "bench encode: %s: no f16 run (%s)\n", vkb_backend_id(be),
                vkb_backend_is_vulkan(be) ? "no 16-bit storage"
                                          : "the CPU backend widens f16 weights to f32");
        vkb_backend_close(be);
        return 0;
    }
    model_load_opts lo = {.weights_f16 = f16};
    vkb_model *m = NULL;
    model_replica *r = NULL;
    int rc = model_load(dir, &lo, &m, err, sizeof err);
    if (rc == 0)
        rc = model_replica_create(m, be, &r, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "bench encode: %s: %s\n", dev, err);
        goto cleanup;
    }
    /* The intermediate size is not in the facts; read it from the model folder's config. */
    char cfg_path[4096];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    json_t *cfg = json_load_file(cfg_path, 0, NULL);
    int inter = (int)json_integer_value(json_object_get(cfg, "intermediate_size"));
    json_decref(cfg);
    const vkb_model_facts *f = model_facts(m);
    for (int li = 0; li < o->n_lengths; li++) {
        for (int bi = 0; bi < o->n_batches; bi++) {
            int B = o->batches[bi], L = o->lengths[li];
            if (L > f->max_positions)
                continue;
            int reps = 0;
            double s = time_cell(r, m, B, L, o->seconds, &reps);
            if (s <= 0) {
                fprintf(stderr, "bench encode: %s B=%d L=%d failed\n", dev, B, L);
                rc = 1;
                continue;
            }
            double gflops = forward_flops(f, inter, B, L) / s * 1e-9;
            json_array_append_new(
                results,
                json_pack("{s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:f, s:f, s:i}", "device",
                          vkb_backend_id(be), "device_name", vkb_backend_device_name(be),
                          "weights", wname, "batch", B, "length", L, "latency_ms", s * 1e3,
                          "sentences_per_s", B / s, "tokens_per_s", B * (double)L / s,
                          "gflops", gflops, "reps", reps));
            if (!o->json) {
                printf("%-10s %-4s B=%-4d L=%-4d %9.2f ms/batch %9.1f sent/s %10.0f tok/s "
                       "%7.1f GFLOP/s\n", vkb_backend_id(be), wname, B, L, s * 1e3, B / s,
                       B * (double)L / s, gflops);
                if (o->profile)
                    print_profile(be);
                fflush(stdout);
            }
        }
    }
    json_array_append_new(memory,
                          json_pack("{s:s, s:s, s:I, s:I, s:I}", "device", vkb_backend_id(be),
                                    "weights", wname, "peak_device_bytes",
                                    (json_int_t)vkb_backend_bytes_peak(be), "host_rss_bytes",
                                    (json_int_t)proc_status_bytes("VmRSS"),
                                    "host_peak_rss_bytes",
                                    (json_int_t)proc_status_bytes("VmHWM")));
    if (!o->json)
        printf("%-10s %-4s peak device memory %.1f MiB, host RSS %.1f MiB (peak %.1f MiB)\n",
               vkb_backend_id(be), wname, vkb_backend_bytes_peak(be) / 1048576.0,
               proc_status_bytes("VmRSS") / 1048576.0, proc_status_bytes("VmHWM") / 1048576.0);
cleanup:
    model_replica_free(r);
    model_free(m);
    vkb_backend_close(be);
    return rc;
}

int bench_encode(int argc, char **argv)
{
    bench_opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc)
        return prc > 0 ? 0 : 2;
    char tmp[1024], gen_path[1100];
    const char *dir = o.model;
    int rc = 0;
    if (!dir) {
        if (!vkb_make_temp_dir("vkb-bench-", tmp, sizeof tmp)) {
            perror("bench encode: mkdtemp");
            return 1;
        }
        char err[512] = "";
        snprintf(gen_path, sizeof gen_path, "%s/minilm", tmp);
        gen_model_spec spec = {.out = gen_path, .shape = "minilm", .dtype = "f32", .seed = 1};
        if (gen_model_write(&spec, err, sizeof err) != 0) {
            fprintf(stderr, "bench encode: generating the model: %s\n", err);
            rc = 1;
            goto cleanup;
        }
        dir = gen_path;
    }
    json_t *results = json_array(), *memory = json_array();
    for (int d = 0; d < o.n_devices; d++) {
        if (strcmp(o.weights, "f16"))
            rc |= run_backend(dir, o.devices[d], 0, &o, results, memory);
        if (strcmp(o.weights, "f32"))
            rc |= run_backend(dir, o.devices[d], 1, &o, results, memory);
    }
    if (o.json) {
        json_t *doc = json_pack("{s:s, s:s, s:o, s:o}", "bench", "encode", "model",
                                o.model ? o.model : "all-MiniLM-L6-v2 shape, random weights",
                                "results", results, "memory", memory);
        bench_print_json(doc);
    } else {
        json_decref(results);
        json_decref(memory);
    }
cleanup:
    if (!o.model)
        bench_remove_dir(tmp, "bench encode");
    return rc;
}
