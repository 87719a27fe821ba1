/*
 * bench_bertscore.c — `vkbridge bench bertscore`: BERTScore throughput, pairs/s.
 *
 * Models: the all-MiniLM-L6-v2 and roberta-large shapes, and when named the
 * microsoft/deberta-xlarge-mnli shape, with random weights (generated into a temporary folder
 * by gen_model_write, unless --model names a folder). Input: --pairs
 * (default 100) candidate/reference pairs of ~30-word English sentences, the reference a
 * paraphrase-like edit of the candidate, all distinct, made from a fixed seed. Each
 * (backend, model) cell runs one untimed warm-up request of 8 pairs (pipelines, scratch),
 * then whole requests through bertscore_run (tokenize, dedup, encode up to num_layers,
 * device greedy matching, P/R/F read back) until --seconds have passed (at least one).
 * num_layers: bert_score's default for roberta-large (17) and deberta-xlarge-mnli (40); all
 * 6 layers for MiniLM, which is not in bert_score's table.
 */
#include "bertscore.h"
#include "vkb_platform.h"
#include "commands.h"
#include "gen_model.h"
#include "model.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { MAX_DEVICES = 8, WORDS_MIN = 26, WORDS_SPAN = 9 };

typedef struct shape {
    const char *gen_shape; /* gen_model_write shape (and the temporary folder's name) */
    const char *name;      /* model name: the key of bert_score's tables */
    int num_layers;        /* 0: bert_score's default */
} shape;

enum { N_SHAPES = 3 };
static const shape SHAPES[N_SHAPES] = {
    {"minilm", "all-MiniLM-L6-v2", 6},
    {"roberta-large", "roberta-large", 0},
    /* DeBERTa v1 48 x 1024, bert_score's layer 40; only when asked for (--shape) */
    {"deberta-xlarge-mnli", "microsoft/deberta-xlarge-mnli", 0},
};

typedef struct bench_opts {
    const char *devices[MAX_DEVICES];
    int n_devices;
    int use_shape[N_SHAPES];
    const char *model; /* a real folder instead of the generated shapes */
    int num_layers;    /* with --model */
    int pairs, batch_size, weights_f16, json;
    double seconds;
} bench_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vkbridge bench bertscore [--device cpu|vulkan|vulkan:N]... [--json]\n"
            "          [--shape minilm|roberta-large|deberta-xlarge-mnli]... [--pairs N]\n"
            "          [--seconds S]\n"
            "          [--batch-size N] [--weights f32|f16] [--model DIR --num-layers N]\n\n"
            "BERTScore pairs/s of ~30-word sentence pairs on the all-MiniLM-L6-v2 and\n"
            "roberta-large shapes (random weights, generated into a temporary folder) per\n"
            "backend. Default: both shapes, 100 pairs, the CPU backend and the first Vulkan\n"
            "device if there is one, one timed request per cell (--seconds S: repeat for S s).\n"
            "deberta-xlarge-mnli (48 x 1024, layer 40) runs only when named. Each result has\n"
            "the backend's peak device bytes and the process's peak host RSS so far.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* 0 ok, 1 help printed, -1 bad usage. */
static int parse_args(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->pairs = 100;
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
        if (i + 1 >= argc) {
            fprintf(stderr, "bench bertscore: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        int ok = 1;
        if (!strcmp(a, "--device") && o->n_devices < MAX_DEVICES)
            o->devices[o->n_devices++] = v;
        else if (!strcmp(a, "--shape")) {
            ok = 0;
            for (int s = 0; s < N_SHAPES; s++)
                if (!strcmp(v, SHAPES[s].gen_shape))
                    ok = o->use_shape[s] = 1;
        }
        else if (!strcmp(a, "--model"))
            o->model = v;
        else if (!strcmp(a, "--num-layers"))
            ok = !parse_int(v, 0, 1000, &o->num_layers);
        else if (!strcmp(a, "--pairs"))
            ok = !parse_int(v, 1, 100000, &o->pairs);
        else if (!strcmp(a, "--batch-size"))
            ok = !parse_int(v, 1, 4096, &o->batch_size);
        else if (!strcmp(a, "--weights") && (!strcmp(v, "f32") || !strcmp(v, "f16")))
            o->weights_f16 = !strcmp(v, "f16");
        else if (!strcmp(a, "--seconds"))
            ok = (o->seconds = atof(v)) >= 0;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "bench bertscore: bad option %s %s\n", a, v);
            usage(stderr);
            return -1;
        }
    }
    if (!o->use_shape[0] && !o->use_shape[1] && !o->use_shape[2])
        o->use_shape[0] = o->use_shape[1] = 1;
    if (!o->n_devices) {
        o->devices[o->n_devices++] = "cpu";
        o->devices[o->n_devices++] = "vulkan";
    }
    return 0;
}

/* ---- the sentences: words the generated vocabulary holds whole (gen_model_tokenizer.c's
 * common words), as a real vocabulary would, so a word is about one token */

static const char *const WORDS[] = {
    "the", "people", "city", "water", "small", "house", "river", "morning", "light", "story",
    "old", "new", "green", "children", "road", "found", "under", "after", "before", "every",
    "little", "great", "school", "friend", "family", "table", "music", "again", "always",
    "never", "often", "dark", "mountain", "letter", "read", "book", "paper", "night", "day",
    "year", "time", "work", "world", "life", "hand", "part", "place", "week", "question",
    "number", "point", "home", "room", "mother", "father", "area", "money", "right", "study",
    "word", "side", "kind", "head", "car", "power", "hour", "line", "end", "name", "idea",
    "body", "back", "face", "door", "person", "war", "tree", "farm", "sea", "horse", "song",
    "voice", "town", "field", "star", "rain", "king", "ship", "fire", "ground", "travel",
    "love", "machine", "began", "heard", "remember", "listen", "brown", "black", "white",
    "early", "young", "large", "country", "answer", "picture", "animal", "earth", "plant",
    "food", "sun", "bird", "dog", "wind", "rock", "south", "north", "west", "problem", "piece",
    "space", "interest", "center", "notice", "drive", "front", "teach", "cold", "simple",
    "several", "toward", "stood", "told", "knew",
};
enum { N_WORDS = sizeof WORDS / sizeof WORDS[0] };

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* A sentence of WORDS_MIN..+WORDS_SPAN words; with `from`, the same words with about a
 * third replaced (a paraphrase-like reference). Returns a malloc'd string. */
static char *make_sentence(unsigned *seed, const int *from, int n_from, int *words, int *n)
{
    *n = from ? n_from : WORDS_MIN + (int)(next_rand(seed) % WORDS_SPAN);
    for (int i = 0; i < *n; i++)
        words[i] = from && next_rand(seed) % 3 ? from[i] : (int)(next_rand(seed) % N_WORDS);
    size_t len = 2;
    for (int i = 0; i < *n; i++)
        len += strlen(WORDS[words[i]]) + 1;
    char *s = malloc(len), *p = s;
    for (int i = 0; s && i < *n; i++)
        p += sprintf(p, "%s%s", i ? " " : "", WORDS[words[i]]);
    if (s) {
        strcpy(p, ".");
        s[0] = (char)(s[0] - 'a' + 'A');
    }
    return s;
}

typedef struct corpus {
    char **cands, **refs;
    int n;
} corpus;

static void corpus_free(corpus *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->cands ? c->cands[i] : NULL);
        free(c->refs ? c->refs[i] : NULL);
    }
    free(c->cands);
    free(c->refs);
}

static int corpus_make(corpus *c, int n, unsigned seed)
{
    c->n = n;
    c->cands = calloc((size_t)n, sizeof *c->cands);
    c->refs = calloc((size_t)n, sizeof *c->refs);
    if (!c->cands || !c->refs)
        return -1;
    int a[WORDS_MIN + WORDS_SPAN], b[WORDS_MIN + WORDS_SPAN], na, nb;
    for (int i = 0; i < n; i++) {
        c->cands[i] = make_sentence(&seed, NULL, 0, a, &na);
        c->refs[i] = make_sentence(&seed, a, na, b, &nb);
        if (!c->cands[i] || !c->refs[i])
            return -1;
    }
    return 0;
}

/* ---- one cell */

typedef struct cell {
    double seconds; /* per request */
    int reps, num_layers;
    long tokens;    /* tokens of the distinct sentences of one request */
    double mean_f1;
} cell;

static long count_tokens(const vkb_model *m, const corpus *c)
{
    long total = 0;
    bertscore_text *d = NULL;
    int nd = 0, *ci = malloc(sizeof(int) * (size_t)c->n), *ri = malloc(sizeof(int) * (size_t)c->n);
    if (ci && ri && !bertscore_dedup((const char *const *)c->cands, (const char *const *)c->refs,
                                     NULL, NULL, c->n, &d, &nd, ci, ri)) {
        for (int s = 0; s < nd; s++) {
            int32_t *ids = NULL;
            int n = 0;
            if (!model_tokenize_bertscore(m, d[s].s, d[s].len, &ids, &n))
                total += n;
            free(ids);
        }
    }
    free(d);
    free(ci);
    free(ri);
    return total;
}

static int run_cell(model_replica *r, const char *name, const bench_opts *o, int num_layers,
                    const corpus *c, cell *out)
{
    char err[512] = "";
    int n = c->n;
    float *P = malloc(sizeof(float) * (size_t)n * 3), *R = P + n, *F = P + 2 * n;
    if (!P)
        return -1;
    vkb_bertscore_opts opts = {.num_layers = num_layers, .batch_size = o->batch_size};
    const char *const *cands = (const char *const *)c->cands;
    const char *const *refs = (const char *const *)c->refs;
    int warm = n < 8 ? n : 8;
    int rc = bertscore_run(r, &opts, NULL, name, cands, refs, NULL, NULL, warm, P, R, F, NULL,
                           NULL, err, sizeof err);
    double t0 = bench_now(), t = 0;
    out->reps = 0;
    while (!rc && (out->reps == 0 || t < o->seconds)) {
        rc = bertscore_run(r, &opts, NULL, name, cands, refs, NULL, NULL, n, P, R, F, NULL,
                           NULL, err, sizeof err);
        out->reps++;
        t = bench_now() - t0;
    }
    if (rc) {
        fprintf(stderr, "bench bertscore: %s\n", err);
    } else {
        out->seconds = t / out->reps;
        double s = 0;
        for (int i = 0; i < n; i++)
            s += F[i];
        out->mean_f1 = s / n;
        bertscore_resolve_layers(name, num_layers, 0, &out->num_layers, err, sizeof err);
    }
    free(P);
    return rc;
}

/* The process's peak resident set so far (getrusage: kilobytes on Linux). */
static long long peak_rss_bytes(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (long long)ru.ru_maxrss * 1024 : -1;
}

/* Runs every backend on one model folder; appends a result object per backend. */
static int run_model(const char *dir, const char *name, int num_layers, const bench_opts *o,
                     const corpus *c, json_t *results)
{
    char err[512] = "";
    int failed = 0;
    model_load_opts lo = {.weights_f16 = o->weights_f16};
    vkb_model *m = NULL;
    if (model_load(dir, &lo, &m, err, sizeof err)) {
        fprintf(stderr, "bench bertscore: %s\n", err);
        return 1;
    }
    long tokens = count_tokens(m, c);
    for (int d = 0; d < o->n_devices; d++) {
        vkb_backend *be = NULL;
        model_replica *r = NULL;
        if (vkb_backend_open(o->devices[d], &be, err, sizeof err)) {
            fprintf(stderr, "bench bertscore: skipping %s: %s\n", o->devices[d], err);
            continue;
        }
        cell x = {0};
        if (model_replica_create(m, be, &r, err, sizeof err)) {
            fprintf(stderr, "bench bertscore: %s: %s\n", vkb_backend_id(be), err);
            failed = 1;
        } else if (run_cell(r, name, o, num_layers, c, &x) == 0) {
            x.tokens = tokens;
            json_array_append_new(
                results,
                json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:f, s:f, s:f, s:i, s:f, s:I, s:I}",
                          "model", name, "device", vkb_backend_id(be), "device_name",
                          vkb_backend_device_name(be), "weights", o->weights_f16 ? "f16" : "f32",
                          "pairs", c->n, "num_layers", x.num_layers, "tokens",
                          (json_int_t)x.tokens, "seconds_per_request", x.seconds,
                          "pairs_per_s", c->n / x.seconds, "tokens_per_s",
                          x.tokens / x.seconds, "reps", x.reps, "mean_f1", x.mean_f1,
                          "peak_device_bytes", (json_int_t)vkb_backend_bytes_peak(be),
                          "peak_host_rss_bytes", (json_int_t)peak_rss_bytes()));
            if (!o->json) {
                printf("%-18s %-10s L%-2d %d pairs (%ld tokens): %8.3f s/request %9.2f pairs/s "
                       "%9.0f tokens/s, peak device %.0f MiB, peak RSS %.0f MiB\n", name,
                       vkb_backend_id(be), x.num_layers, c->n, x.tokens, x.seconds,
                       c->n / x.seconds, x.tokens / x.seconds,
                       vkb_backend_bytes_peak(be) / 1048576.0, peak_rss_bytes() / 1048576.0);
                fflush(stdout);
            }
        } else {
            failed = 1;
        }
        model_replica_free(r);
        vkb_backend_close(be);
    }
    model_free(m);
    return failed;
}

int bench_bertscore(int argc, char **argv)
{
    bench_opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc)
        return prc > 0 ? 0 : 2;
    corpus c = {0};
    if (corpus_make(&c, o.pairs, 12345u)) {
        fprintf(stderr, "bench bertscore: out of memory\n");
        corpus_free(&c);
        return 1;
    }
    json_t *results = json_array();
    int rc = 0;
    char tmp[1024];
    if (o.model) {
        const char *slash = strrchr(o.model, '/');
        rc |= run_model(o.model, slash && slash[1] ? slash + 1 : o.model, o.num_layers, &o, &c,
                        results);
    } else if (!vkb_make_temp_dir("vkb-bench-bs-", tmp, sizeof tmp)) {
        perror("bench bertscore: mkdtemp");
        rc = 1;
    } else {
        for (int s = 0; s < N_SHAPES; s++) {
            if (!o.use_shape[s])
                continue;
            char dir[1100], err[512] = "";
            snprintf(dir, sizeof dir, "%s/%s", tmp, SHAPES[s].gen_shape);
            gen_model_spec spec = {.out = dir, .shape = SHAPES[s].gen_shape, .dtype = "f32",
                                   .seed = 1};
            if (gen_model_write(&spec, err, sizeof err)) {
                fprintf(stderr, "bench bertscore: generating %s: %s\n", SHAPES[s].name, err);
                rc = 1;
                continue;
            }
            rc |= run_model(dir, SHAPES[s].name, SHAPES[s].num_layers, &o, &c, results);
            bench_remove_dir(dir, "bench bertscore"); /* 1.4 GB for roberta-large, 2.9 GB
                                                         for deberta-xlarge-mnli */
        }
        if (rmdir(tmp) != 0)
            fprintf(stderr, "bench bertscore: could not remove %s\n", tmp);
    }
    if (o.json) {
        json_t *doc = json_pack("{s:s, s:s, s:o}", "bench", "bertscore", "input",
                                "~30-word English sentence pairs, random-weight models",
                                "results", results);
        bench_print_json(doc);
    } else {
        json_decref(results);
    }
    corpus_free(&c);
    return rc;
}
