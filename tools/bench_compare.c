/*
 * bench_compare.c — `vkbridge bench compare`: the peer workloads (../shared/peers: W1 256
 * sentences, W2 one sentence, W3 32 passages) through the warm engine, measured as the peer
 * script bench_ort.js measures ONNX Runtime, so the side-by-side is one command on each side:
 * W1 and W3 all texts in one call (the engine sorts by length and batches --batch at a time),
 * median of --rounds runs after a warm-up; W2 one text, median of 50 calls after 5. Unlike the
 * peer, tokenization is inside the timed region (it is part of the engine's call).
 *
 * The model is the all-MiniLM-L6-v2 shape with random weights (generated into a temporary
 * folder) unless --model names a folder. Prints one JSON object.
 */
#include "commands.h"
#include "vkb_platform.h"
#include "gen_model.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkb_runtime.h"

typedef struct workload {
    const char *name;
    char **texts;
    size_t *lens;
    int n;
} workload;

static void usage(FILE *f)
{
    fprintf(f, "usage: vkbridge bench compare [--device SPEC] [--model DIR] [--workloads DIR]\n"
               "          [--rounds N] [--batch B]\n\n"
               "W1/W2/W3 (w1.json, w2.json, w3.json in --workloads, default ../shared/peers)\n"
               "through the warm engine: sentences/s for W1 and W3 (median of --rounds, default\n"
               "5), ms for W2 (median of 50). Same model and method as bench_ort.js there.\n");
}

static int load_workload(const char *dir, const char *name, workload *w, char *err, size_t errlen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!json_is_array(root) || json_array_size(root) == 0) {
        snprintf(err, errlen, "%.300s: %.150s", path, root ? "want a non-empty list of strings" : je.text);
        json_decref(root);
        return -1;
    }
    w->name = name;
    w->n = (int)json_array_size(root);
    w->texts = calloc((size_t)w->n, sizeof *w->texts);
    w->lens = calloc((size_t)w->n, sizeof *w->lens);
    for (int i = 0; w->texts && w->lens && i < w->n; i++) {
        json_t *s = json_array_get(root, (size_t)i);
        if (!json_is_string(s)) {
            snprintf(err, errlen, "%.400s: item %d is not a string", path, i);
            json_decref(root);
            return -1;
        }
        w->lens[i] = json_string_length(s);
        w->texts[i] = malloc(w->lens[i] + 1);
        if (w->texts[i])
            memcpy(w->texts[i], json_string_value(s), w->lens[i] + 1);
    }
    json_decref(root);
    return 0;
}

static void free_workload(workload *w)
{
    for (int i = 0; w->texts && i < w->n; i++)
        free(w->texts[i]);
    free(w->texts);
    free(w->lens);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and range of n timed calls embedding w (or its first text when one), seconds. */
static int time_runs(vkb_engine *e, const char *model, const workload *w, int n_texts, int runs,
                     float *out, double *med, double *lo, double *hi, char *err, size_t errlen)
{
    double *t = malloc(sizeof(double) * (size_t)runs);
    if (!t)
        return VKB_ENOMEM;
    int rc = VKB_OK;
    for (int i = 0; i < runs && rc == VKB_OK; i++) {
        double t0 = bench_now();
        rc = vkb_engine_embed(e, model, (const char *const *)w->texts, w->lens, n_texts, out, NULL,
                              err, errlen);
        t[i] = bench_now() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    *med = t[runs / 2], *lo = t[0], *hi = t[runs - 1];
    free(t);
    return rc;
}

int bench_compare(int argc, char **argv)
{
    const char *device = "cpu", *model_dir = NULL, *wdir = "../shared/peers";
    int rounds = 5, batch = 32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench compare: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--device"))
            device = v;
        else if (!strcmp(a, "--model"))
            model_dir = v;
        else if (!strcmp(a, "--workloads"))
            wdir = v;
        else if (!strcmp(a, "--rounds") && atoi(v) >= 1 && atoi(v) <= 1000)
            rounds = atoi(v);
        else if (!strcmp(a, "--batch") && atoi(v) >= 1 && atoi(v) <= 1024)
            batch = atoi(v);
        else {
            fprintf(stderr, "bench compare: bad option %s %s\n", a, v);
            usage(stderr);
            return 2;
        }
    }
    char err[512] = "", tmp[1024] = "", gen_path[1100];
    workload w[3] = {{0}};
    const char *names[3] = {"w1", "w2", "w3"};
    vkb_engine *e = NULL;
    float *out = NULL;
    int rc = 1, made_tmp = 0;
    for (int i = 0; i < 3; i++)
        if (load_workload(wdir, names[i], &w[i], err, sizeof err) != 0) {
            fprintf(stderr, "bench compare: %s\n", err);
            goto cleanup;
        }
    if (!model_dir) {
        if (!vkb_make_temp_dir("vkb-compare-", tmp, sizeof tmp)) {
            perror("bench compare: temp folder");
            goto cleanup;
        }
        made_tmp = 1;
        snprintf(gen_path, sizeof gen_path, "%s/minilm", tmp);
        gen_model_spec spec = {.out = gen_path, .shape = "minilm", .dtype = "f32", .seed = 1};
        if (gen_model_write(&spec, err, sizeof err) != 0) {
            fprintf(stderr, "bench compare: generating the model: %s\n", err);
            goto cleanup;
        }
        model_dir = gen_path;
    }
    vkb_engine_config cfg = {.device = device, .embed_batch = batch};
    vkb_model_facts facts;
    if (vkb_engine_create(&cfg, &e, err, sizeof err) != VKB_OK ||
        vkb_engine_load_dir(e, "m", model_dir, err, sizeof err) != VKB_OK ||
        vkb_engine_model_facts(e, "m", &facts, err, sizeof err) != VKB_OK) {
        fprintf(stderr, "bench compare: %s\n", err);
        goto cleanup;
    }
    int most = w[0].n > w[2].n ? w[0].n : w[2].n;
    out = malloc(sizeof(float) * (size_t)facts.dim * (size_t)most);
    if (!out)
        goto cleanup;
    vkb_engine_stats st;
    vkb_engine_get_stats(e, &st);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "bench", "compare", "device",
                            st.n_devices ? st.devices[0].id : device, "device_name",
                            st.n_devices ? st.devices[0].name : "", "device_choice",
                            st.device_choice, "model",
                            made_tmp ? "all-MiniLM-L6-v2 shape, random weights" : model_dir,
                            "batch", batch, "rounds", rounds);
    /* warm-up as the peer does: a batch of W1 and two passages */
    double med, lo, hi;
    rc = time_runs(e, "m", &w[0], batch < w[0].n ? batch : w[0].n, 1, out, &med, &lo, &hi, err,
                   sizeof err);
    if (rc == VKB_OK)
        rc = time_runs(e, "m", &w[2], 2, 1, out, &med, &lo, &hi, err, sizeof err);
    for (int i = 0; i < 3 && rc == VKB_OK; i += 2) {
        rc = time_runs(e, "m", &w[i], w[i].n, rounds, out, &med, &lo, &hi, err, sizeof err);
        json_object_set_new(doc, names[i],
                            json_pack("{s:i, s:f, s:f, s:f, s:f}", "texts", w[i].n, "median_s",
                                      med, "sent_per_s", w[i].n / med, "min_s", lo, "max_s", hi));
    }
    if (rc == VKB_OK)
        rc = time_runs(e, "m", &w[1], 1, 5, out, &med, &lo, &hi, err, sizeof err);
    if (rc == VKB_OK) {
        rc = time_runs(e, "m", &w[1], 1, 50, out, &med, &lo, &hi, err, sizeof err);
        json_object_set_new(doc, "w2", json_pack("{s:f, s:f, s:f}", "median_ms", 1e3 * med,
                                                 "min_ms", 1e3 * lo, "max_ms", 1e3 * hi));
    }
    if (rc != VKB_OK) {
        fprintf(stderr, "bench compare: %s\n", err);
        json_decref(doc);
        rc = 1;
        goto cleanup;
    }
    bench_print_json(doc);
    rc = 0;
cleanup:
    vkb_engine_destroy(e);
    free(out);
    for (int i = 0; i < 3; i++)
        free_workload(&w[i]);
    if (made_tmp)
        bench_remove_dir(tmp, "bench compare");
    return rc;
}
