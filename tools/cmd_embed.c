/*
 * cmd_embed.c — `vkbridge embed --model NAME_OR_PATH [TEXT...]`: sentence embeddings through
 * the engine, printed as the /embed response object
 *   {"embeddings":[[...],...],"model":"...","dimensions":N}
 * with every float as %.9g (enough digits to read back the same float32).
 * With no TEXT, reads JSON Lines from stdin: one {"text": "..."} per line.
 */
#include "commands.h"
#include "vkb_runtime.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vkbridge embed --model NAME_OR_PATH [options] [TEXT...]\n\n"
            "Prints the sentence embeddings of the TEXTs as the /embed response:\n"
            "  {\"embeddings\": [[...]], \"model\": ..., \"dimensions\": N}\n"
            "With no TEXT, reads JSON Lines from stdin, one {\"text\": \"...\"} per line.\n\n"
            "  --model M     a model folder path, or a name resolved under VKB_MODEL_DIR and the\n"
            "                Hugging Face cache (all-MiniLM-L6-v2, org/name)\n"
            "  --device D    auto (default, or $VKB_DEVICE), cpu, vulkan:N, all, or a list\n"
            "                such as vulkan:0,vulkan:1\n"
            "  --batch N     sequences per device batch (default $GPU_EMBED_BATCH, else 32)\n"
            "  --weights W   auto (checkpoint precision, default) or f16\n"
            "  --prompt-name P  put the model's prompt P (config_sentence_transformers.json)\n"
            "                in front of every text; default: the model's default_prompt_name\n"
            "  --prompt TEXT put TEXT in front of every text instead (\"\" = no prompt)\n"
            "  --pull        download the model from the Hugging Face hub if it is missing\n"
            "  --quiet       no warnings or progress bar on stderr\n"
            "  --verbose     log what the engine does (devices, model loading)\n");
}

typedef struct embed_args {
    const char *model, *device;
    vkb_embed_opts prompt;
    int batch, weights_f16, pull, quiet, verbose;
    char **texts;
    int n_texts;
} embed_args;

static int parse_args(int argc, char **argv, embed_args *a)
{
    memset(a, 0, sizeof *a);
    a->device = getenv("VKB_DEVICE");
    const char *b = getenv("GPU_EMBED_BATCH");
    a->batch = b ? atoi(b) : 0;
    a->texts = calloc((size_t)argc, sizeof *a->texts);
    if (!a->texts)
        return 1;
    int only_texts = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_value = i + 1 < argc;
        if (only_texts || s[0] != '-' || !s[1]) {
            a->texts[a->n_texts++] = argv[i];
        } else if (!strcmp(s, "--")) {
            only_texts = 1;
        } else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(s, "--model") && has_value) {
            a->model = argv[++i];
        } else if (!strcmp(s, "--prompt-name") && has_value) {
            a->prompt.prompt_name = argv[++i];
        } else if (!strcmp(s, "--prompt") && has_value) {
            a->prompt.prompt = argv[++i];
        } else if (!strcmp(s, "--device") && has_value) {
            a->device = argv[++i];
        } else if (!strcmp(s, "--batch") && has_value) {
            a->batch = atoi(argv[++i]);
            if (a->batch <= 0) {
                fprintf(stderr, "vkbridge embed: --batch wants a positive number\n");
                return 1;
            }
        } else if (!strcmp(s, "--weights") && has_value) {
            const char *w = argv[++i];
            if (strcmp(w, "f16") && strcmp(w, "auto")) {
                fprintf(stderr, "vkbridge embed: --weights is auto or f16, not '%s'\n", w);
                return 1;
            }
            a->weights_f16 = !strcmp(w, "f16");
        } else if (!strcmp(s, "--pull")) {
            a->pull = 1;
        } else if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) {
            a->quiet = 1;
        } else if (!strcmp(s, "--verbose") || !strcmp(s, "-v")) {
            a->verbose = 1;
        } else {
            fprintf(stderr, "vkbridge embed: unknown or incomplete option '%s'\n", s);
            return 1;
        }
    }
    if (!a->model) {
        fprintf(stderr, "vkbridge embed: --model is required\n");
        return 1;
    }
    return 0;
}

/* ---- running it with a progress bar */

typedef struct run_state {
    pthread_mutex_t m;
    pthread_cond_t c;
    int finished, status, bar;
    char err[512];
} run_state;

static void on_progress(void *user, int done, int total)
{
    run_state *r = user;
    if (!r->bar)
        return;
    int width = 30, fill = total ? (int)((long)done * width / total) : 0;
    char bar[40];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    fprintf(stderr, "\r  embedding [%s] %d/%d", bar, done, total);
    fflush(stderr);
}

static void on_done(void *user, int status, const char *err)
{
    run_state *r = user;
    pthread_mutex_lock(&r->m);
    r->status = status;
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
    r->finished = 1;
    pthread_cond_signal(&r->c);
    pthread_mutex_unlock(&r->m);
}

static int embed_all(vkb_engine *e, const char *name, const vkb_embed_opts *opts, text_list *l,
                     float *out, int bar, char *err, size_t errlen)
{
    run_state r = {.bar = bar};
    pthread_mutex_init(&r.m, NULL);
    pthread_cond_init(&r.c, NULL);
    int rc = vkb_engine_embed_opts_async(e, name, (const char *const *)l->text, l->len, l->n,
                                         opts, out, NULL, on_progress, on_done, &r);
    if (rc == VKB_OK) {
        pthread_mutex_lock(&r.m);
        while (!r.finished)
            pthread_cond_wait(&r.c, &r.m);
        pthread_mutex_unlock(&r.m);
        rc = r.status;
        snprintf(err, errlen, "%s", r.err);
    } else {
        snprintf(err, errlen, "cannot queue the texts: %s", vkb_status_str(rc));
    }
    if (bar)
        fputc('\n', stderr);
    pthread_cond_destroy(&r.c);
    pthread_mutex_destroy(&r.m);
    return rc;
}

/* What cannot be a model name is meant as a folder ("./m", "/models/m", "a/b/c"). */
static int looks_like_path(const char *s)
{
    const char *slash = strchr(s, '/');
    return s[0] == '/' || s[0] == '.' || s[0] == '~' || (slash && strchr(slash + 1, '/'));
}

/* ---- output */

static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static int print_response(const char *model, const float *v, int n, int dim)
{
    for (size_t i = 0; i < (size_t)n * dim; i++)
        if (!isfinite(v[i])) {
            fprintf(stderr, "vkbridge embed: non-finite value in embedding %zu\n", i / dim);
            return 1;
        }
    fputs("{\"embeddings\":[", stdout);
    for (int i = 0; i < n; i++) {
        fputs(i ? ",[" : "[", stdout);
        for (int k = 0; k < dim; k++)
            printf(k ? ",%.9g" : "%.9g", (double)v[(size_t)i * dim + k]);
        fputc(']', stdout);
    }
    fputs("],\"model\":", stdout);
    put_json_string(stdout, model);
    printf(",\"dimensions\":%d}\n", dim);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

int cmd_embed(int argc, char **argv)
{
    embed_args a;
    int prc = parse_args(argc, argv, &a);
    if (prc) {
        free(a.texts);
        if (prc > 0)
            usage(stderr);
        return prc < 0 ? 0 : 2;
    }
    /* stdout is the answer; stderr only hears about problems unless asked for more. */
    vkb_log_set_level(a.quiet ? VKB_LOG_ERROR : a.verbose ? VKB_LOG_INFO : VKB_LOG_WARN);
    int code = 1;
    vkb_engine *e = NULL;
    float *out = NULL;
    text_list texts = {0};
    char err[1024] = "";
    for (int i = 0; i < a.n_texts; i++)
        if (text_list_push(&texts, a.texts[i], strlen(a.texts[i])) != VKB_OK) {
            fprintf(stderr, "vkbridge embed: out of memory\n");
            goto cleanup;
        }
    if (a.n_texts == 0) {
        int rc = text_list_read(stdin, "stdin", 1, &texts, err, sizeof err);
        if (rc != VKB_OK) {
            fprintf(stderr, "vkbridge embed: %s\n", err);
            code = rc == VKB_EINVAL ? 2 : 1;
            goto cleanup;
        }
    }
    vkb_engine_config cfg = {.device = a.device,
                             .model_dir = getenv("VKB_MODEL_DIR"),
                             .embed_batch = a.batch,
                             .weights_f16 = a.weights_f16,
                             .allow_pull = a.pull};
    int rc = vkb_engine_create(&cfg, &e, err, sizeof err);
    if (rc != VKB_OK) {
        fprintf(stderr, "vkbridge embed: %s\n", err);
        code = rc == VKB_EINVAL ? 2 : 1;
        goto cleanup;
    }
    /* A folder the user named is used as given (sentence-transformers does the same);
     * anything else is a model name, resolved under the model roots only. */
    struct stat st;
    if (stat(a.model, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = vkb_engine_load_dir(e, a.model, a.model, err, sizeof err);
    } else if (looks_like_path(a.model)) {
        snprintf(err, sizeof err, "%s is not a model folder", a.model);
        rc = VKB_ENOTFOUND;
    } else {
        rc = vkb_engine_load(e, a.model, err, sizeof err);
    }
    vkb_model_facts facts;
    if (rc == VKB_OK)
        rc = vkb_engine_model_facts(e, a.model, &facts, err, sizeof err);
    if (rc != VKB_OK) {
        fprintf(stderr, "vkbridge embed: %s\n", err);
        code = rc == VKB_EINVAL ? 2 : 1;
        goto cleanup;
    }
    out = calloc((size_t)(texts.n ? texts.n : 1) * facts.dim, sizeof *out);
    if (!out) {
        fprintf(stderr, "vkbridge embed: out of memory\n");
        goto cleanup;
    }
    int bar = !a.quiet && isatty(STDERR_FILENO) && texts.n > (a.batch > 0 ? a.batch : 32);
    /* an unknown --prompt-name is a usage error (exit 2), also with no texts */
    rc = vkb_engine_embed_opts(e, a.model, NULL, NULL, 0, &a.prompt, NULL, NULL, err, sizeof err);
    if (rc != VKB_OK) {
        fprintf(stderr, "vkbridge embed: %s\n", err);
        code = rc == VKB_EINVAL ? 2 : 1;
        goto cleanup;
    }
    if (texts.n > 0 &&
        embed_all(e, a.model, &a.prompt, &texts, out, bar, err, sizeof err) != VKB_OK) {
        fprintf(stderr, "vkbridge embed: %s\n", err);
        goto cleanup;
    }
    code = print_response(a.model, out, texts.n, facts.dim);
cleanup:
    vkb_engine_destroy(e);
    free(out);
    text_list_free(&texts);
    free(a.texts);
    return code;
}
