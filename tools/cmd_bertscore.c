/*
 * cmd_bertscore.c — `vkbridge bertscore`: BERTScore of two files, like bert_score's CLI
 * (bert-score -c cands.txt -r refs.txt): one sentence per line (or one {"text": ...} JSON
 * object per line with --jsonl, so any character survives), printing bert_score's hash line
 * with the system-level (mean) P, R, F1, or with --json the /bertscore response object.
 */
#include "bertscore.h"
#include "commands.h"
#include "vkb_runtime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vkbridge bertscore -c CANDS -r REFS [--model M] [--num-layers N] [--idf]\n"
            "                          [--rescale] [--lang L] [--baseline-dir D] [--model-dir D]\n"
            "                          [--device D] [--batch-size N] [--jsonl] [--json] [-s]\n"
            "  -c, --cand FILE       candidates, one per line (not a file: one candidate)\n"
            "  -r, --ref FILE        references, one per line (as many as candidates)\n"
            "  -m, --model M         model name under the model roots, or a model folder\n"
            "                        (default: bert_score's model for --lang)\n"
            "  -l, --num-layers N    layer whose output is compared (default: bert_score's table)\n"
            "      --idf             idf weights over the references\n"
            "      --rescale         rescale with bert_score's baseline for (lang, model)\n"
            "      --lang L          language (default en)\n"
            "      --baseline-dir D  baseline root holding <lang>/<model>.tsv (VKB_BASELINE_DIR)\n"
            "      --model-dir D     model root (VKB_MODEL_DIR)\n"
            "      --device D        auto, cpu, vulkan:N (default auto)\n"
            "  -b, --batch-size N    sentences per device batch (default 64)\n"
            "      --jsonl           input lines are {\"text\": \"...\"}\n"
            "      --json            print {\"precision\",\"recall\",\"f1\",\"model\"}\n"
            "  -s, --seg-level       also print P, R, F1 of every pair\n");
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_model_folder(const char *path)
{
    char cfg[4096];
    struct stat st;
    snprintf(cfg, sizeof cfg, "%s/config.json", path);
    return stat(cfg, &st) == 0 && S_ISREG(st.st_mode);
}

static void print_json(const char *model, const float *P, const float *R, const float *F, int n)
{
    json_t *o = json_object(), *p = json_array(), *r = json_array(), *f = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(p, json_real(P[i]));
        json_array_append_new(r, json_real(R[i]));
        json_array_append_new(f, json_real(F[i]));
    }
    json_object_set_new(o, "precision", p);
    json_object_set_new(o, "recall", r);
    json_object_set_new(o, "f1", f);
    json_object_set_new(o, "model", json_string(model));
    char *s = json_dumps(o, JSON_REAL_PRECISION(9) | JSON_COMPACT);
    if (s)
        puts(s);
    free(s);
    json_decref(o);
}

static float mean(const float *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return n ? (float)(s / n) : 0.0f;
}

typedef struct args {
    const char *cand, *ref, *model, *lang, *baseline_dir, *model_dir, *device;
    int num_layers, idf, rescale, batch_size, jsonl, json, seg_level;
} args;

static int int_arg(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

/* Returns 0, or 2 after printing a usage error; 1 for --help. */
static int parse_args(int argc, char **argv, args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(o, "--idf")) {
            a->idf = 1, takes = 0;
        } else if (!strcmp(o, "--rescale") || !strcmp(o, "--rescale_with_baseline")) {
            a->rescale = 1, takes = 0;
        } else if (!strcmp(o, "--jsonl")) {
            a->jsonl = 1, takes = 0;
        } else if (!strcmp(o, "--json")) {
            a->json = 1, takes = 0;
        } else if (!strcmp(o, "-s") || !strcmp(o, "--seg-level") || !strcmp(o, "--seg_level")) {
            a->seg_level = 1, takes = 0;
        } else if (!v) {
            fprintf(stderr, "vkbridge bertscore: %s needs a value\n", o);
            return 2;
        } else if (!strcmp(o, "-c") || !strcmp(o, "--cand")) {
            a->cand = v;
        } else if (!strcmp(o, "-r") || !strcmp(o, "--ref")) {
            a->ref = v;
        } else if (!strcmp(o, "-m") || !strcmp(o, "--model")) {
            a->model = v;
        } else if (!strcmp(o, "--lang")) {
            a->lang = v;
        } else if (!strcmp(o, "--baseline-dir")) {
            a->baseline_dir = v;
        } else if (!strcmp(o, "--model-dir")) {
            a->model_dir = v;
        } else if (!strcmp(o, "--device")) {
            a->device = v;
        } else if (!strcmp(o, "-l") || !strcmp(o, "--num-layers") || !strcmp(o, "--num_layers")) {
            if (int_arg(v, &a->num_layers)) {
                fprintf(stderr, "vkbridge bertscore: bad --num-layers '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(o, "-b") || !strcmp(o, "--batch-size") || !strcmp(o, "--batch_size")) {
            if (int_arg(v, &a->batch_size) || a->batch_size == 0) {
                fprintf(stderr, "vkbridge bertscore: bad --batch-size '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "vkbridge bertscore: unknown option '%s'\n", o);
            usage(stderr);
            return 2;
        }
        i += takes;
    }
    if (!a->cand || !a->ref) {
        fprintf(stderr, "vkbridge bertscore: -c CANDS and -r REFS are required\n");
        usage(stderr);
        return 2;
    }
    return 0;
}

int cmd_bertscore(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!a.lang)
        a.lang = "en";
    if (!a.model)
        a.model = vkb_bertscore_default_model(a.lang);
    if (!a.model_dir)
        a.model_dir = getenv("VKB_MODEL_DIR");
    if (!a.baseline_dir)
        a.baseline_dir = getenv("VKB_BASELINE_DIR");

    /* A model folder given as a path: its parent is the model root, its name the model's
     * (the key of bert_score's tables and of the baseline file). */
    char root[4096], name[4096];
    if (strlen(a.model) >= sizeof name) {
        fprintf(stderr, "vkbridge bertscore: model name too long\n");
        return 2;
    }
    snprintf(name, sizeof name, "%s", a.model);
    if (is_model_folder(a.model)) {
        snprintf(root, sizeof root, "%s", a.model);
        size_t n = strlen(root);
        while (n > 1 && root[n - 1] == '/')
            root[--n] = '\0';
        char *slash = strrchr(root, '/');
        snprintf(name, sizeof name, "%s", slash ? slash + 1 : root);
        if (slash == root)
            root[1] = '\0';
        else if (slash)
            *slash = '\0';
        else
            snprintf(root, sizeof root, ".");
        a.model_dir = root;
    }

    char err[1024] = "";
    text_list cands = {0}, refs = {0};
    float *P = NULL, *R = NULL, *F = NULL;
    vkb_engine *e = NULL;
    rc = 1;
    if (!is_file(a.cand) && !is_file(a.ref)) {
        /* bert_score's CLI: two values that are not files are one pair of sentences */
        if (a.idf) {
            snprintf(err, sizeof err, "do not support idf mode for a single pair of sentences");
            goto cleanup;
        }
        if (text_list_push(&cands, a.cand, strlen(a.cand)) ||
            text_list_push(&refs, a.ref, strlen(a.ref))) {
            snprintf(err, sizeof err, "out of memory");
            goto cleanup;
        }
    } else {
        int read_rc = text_list_read_file(a.cand, a.jsonl, &cands, err, sizeof err);
        if (read_rc == VKB_OK)
            read_rc = text_list_read_file(a.ref, a.jsonl, &refs, err, sizeof err);
        if (read_rc != VKB_OK) {
            rc = read_rc == VKB_EINVAL ? 2 : 1; /* a bad line is bad input, as for embed */
            goto cleanup;
        }
    }
    if (cands.n != refs.n) {
        snprintf(err, sizeof err,
                 "# of sentences in %s (%d) doesn't match the # of candidates (%d)", a.ref,
                 refs.n, cands.n);
        goto cleanup;
    }
    int n = cands.n;
    P = malloc(sizeof(float) * (n ? n : 1));
    R = malloc(sizeof(float) * (n ? n : 1));
    F = malloc(sizeof(float) * (n ? n : 1));
    if (!P || !R || !F) {
        snprintf(err, sizeof err, "out of memory");
        goto cleanup;
    }
    vkb_engine_config cfg = {0};
    cfg.device = a.device ? a.device : "auto";
    cfg.model_dir = a.model_dir;
    cfg.baseline_dir = a.baseline_dir;
    if (vkb_engine_create(&cfg, &e, err, sizeof err) ||
        vkb_engine_load(e, name, err, sizeof err))
        goto cleanup;
    vkb_bertscore_opts opts = {0};
    opts.num_layers = a.num_layers;
    opts.idf = a.idf;
    opts.rescale_with_baseline = a.rescale;
    opts.lang = a.lang;
    opts.batch_size = a.batch_size;
    if (vkb_engine_bertscore(e, name, (const char *const *)cands.text,
                             (const char *const *)refs.text, cands.len, refs.len, n, &opts, P, R,
                             F, err, sizeof err))
        goto cleanup;

    if (a.json) {
        print_json(name, P, R, F, n);
    } else {
        int layers = a.num_layers;
        char hash[4200];
        if (!layers)
            bertscore_resolve_layers(name, 0, 0, &layers, err, sizeof err);
        bertscore_hash(hash, sizeof hash, name, layers, a.idf, a.rescale, 1);
        printf("%s P: %.6f R: %.6f F1: %.6f\n", hash, mean(P, n), mean(R, n), mean(F, n));
        if (a.seg_level)
            for (int i = 0; i < n; i++)
                printf("%.6f\t%.6f\t%.6f\n", P[i], R[i], F[i]);
    }
    rc = 0;
cleanup:
    if (rc)
        fprintf(stderr, "vkbridge bertscore: %s\n", err[0] ? err : "failed");
    if (e)
        vkb_engine_destroy(e);
    text_list_free(&cands);
    text_list_free(&refs);
    free(P);
    free(R);
    free(F);
    return rc;
}
