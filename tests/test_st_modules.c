/*
 * test_st_modules.c — the sentence-transformers steps after pooling run in the order
 * modules.json lists them. Copies of testdata/models/tiny-bert-dense with modules.json
 * rewritten to Pooling+Dense (no Normalize: no normalisation), Pooling+Normalize+Dense and
 * Pooling+Dense+Normalize (as shipped); each one's embeddings of the oracle's hidden-state
 * texts (no prompt: the ids are given) against the same steps computed here in double from
 * the oracle's last hidden state (CLS pooling = token 0) and the Dense weights the model
 * loaded. On the CPU backend and on Vulkan with both kernel families.
 */
#include "model_internal.h"
#include "testlib.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4

enum { STEP_DENSE, STEP_NORM };

static const char *const layouts[][2] = {
    {"Pooling, Dense", "[\"D\"]"},
    {"Pooling, Normalize, Dense", "[\"N\", \"D\"]"},
    {"Pooling, Dense, Normalize", "[\"D\", \"N\"]"},
};

static void write_modules(const char *dir, const char *steps)
{
    json_t *order = json_loads(steps, 0, NULL);
    json_t *mods = json_pack("[{ssss}{ssss}]", "path", "", "type",
                             "sentence_transformers.models.Transformer", "path", "1_Pooling",
                             "type", "sentence_transformers.models.Pooling");
    for (size_t i = 0; i < json_array_size(order); i++) {
        int dense = !strcmp(json_string_value(json_array_get(order, i)), "D");
        json_array_append_new(mods, json_pack("{ssss}", "path", dense ? "2_Dense" : "3_Normalize",
                                              "type", dense ? "sentence_transformers.models.Dense"
                                                            : "sentence_transformers.models.Normalize"));
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/modules.json", dir);
    CHECK(json_dump_file(mods, path, JSON_INDENT(2)) == 0, "write %s", path);
    json_decref(mods);
    json_decref(order);
}

/* The expected vectors: steps applied in double to the CLS rows of the last hidden state. */
static double *expected(const vkb_model *m, json_t *last, const char *steps, int *dim)
{
    json_t *order = json_loads(steps, 0, NULL);
    const st_dense *d = NULL;
    for (int i = 0; i < MODEL_MAX_POST && !d; i++)
        d = m->st_mods.dense[i];
    int n = (int)json_array_size(last), C = m->cfg.hidden;
    *dim = d->out;
    double *out = calloc((size_t)n * d->out, sizeof *out);
    double v[256], y[256];
    for (int t = 0; t < n; t++) {
        json_t *cls = json_array_get(json_array_get(last, t), 0);
        int w = C;
        for (int c = 0; c < C; c++)
            v[c] = json_number_value(json_array_get(cls, c));
        for (size_t s = 0; s < json_array_size(order); s++) {
            if (!strcmp(json_string_value(json_array_get(order, s)), "N")) {
                double ss = 0;
                for (int c = 0; c < w; c++)
                    ss += v[c] * v[c];
                double inv = 1 / fmax(sqrt(ss), 1e-12);
                for (int c = 0; c < w; c++)
                    v[c] *= inv;
                continue;
            }
            for (int o = 0; o < d->out; o++) {
                double acc = d->b ? d->b[o] : 0;
                for (int c = 0; c < d->in; c++)
                    acc += (double)d->w[(size_t)o * d->in + c] * v[c];
                y[o] = tanh(acc); /* tiny-bert-dense's activation */
            }
            w = d->out;
            memcpy(v, y, sizeof(double) * (size_t)w);
        }
        memcpy(out + (size_t)t * d->out, v, sizeof(double) * (size_t)d->out);
    }
    json_decref(order);
    return out;
}

static void run_layout(const char *dir, json_t *hs, int k)
{
    char err[512] = "";
    vkb_model *m = NULL;
    write_modules(dir, layouts[k][1]);
    if (!CHECK(model_load(dir, NULL, &m, err, sizeof err) == 0, "%s: load: %s", layouts[k][0], err))
        return;
    json_t *layers = json_object_get(hs, "hidden_states");
    json_t *last = json_array_get(layers, json_array_size(layers) - 1);
    int dim = 0;
    double *want = expected(m, last, layouts[k][1], &dim);
    CHECK(model_facts(m)->dim == dim, "%s: dim %d", layouts[k][0], model_facts(m)->dim);
    json_t *ids = json_object_get(hs, "input_ids"), *mask = json_object_get(hs, "attention_mask");
    int n = (int)json_array_size(ids);
    int32_t *rows[16];
    int lens[16];
    for (int i = 0; i < n && i < 16; i++) {
        json_t *row = json_array_get(ids, i), *mrow = json_array_get(mask, i);
        rows[i] = malloc(sizeof(int32_t) * json_array_size(row));
        lens[i] = 0;
        for (size_t j = 0; j < json_array_size(row); j++) {
            rows[i][j] = (int32_t)json_integer_value(json_array_get(row, j));
            lens[i] += (int)json_integer_value(json_array_get(mrow, j));
        }
    }
    const char *runs[][2] = {{"cpu", NULL}, {"vulkan", "cpu"}, {"vulkan", "gpu"}};
    for (int r = 0; r < 3; r++) {
        if (runs[r][1])
            setenv("VKB_KERNELS", runs[r][1], 1);
        vkb_backend *b = NULL;
        int rc = vkb_backend_open(runs[r][0], &b, err, sizeof err);
        unsetenv("VKB_KERNELS");
        if (rc != 0) {
            printf("SKIP %s on %s: %s\n", layouts[k][0], runs[r][0], err);
            continue;
        }
        model_replica *rep = NULL;
        float *got = calloc((size_t)n * dim, sizeof *got);
        rc = model_replica_create(m, b, &rep, err, sizeof err);
        if (rc == 0)
            rc = encoder_embed(rep, (const int32_t *const *)rows, lens, n, got);
        double worst = 0, norm_off = 0;
        for (int i = 0; rc == 0 && i < n; i++) {
            double scale = 1, diff = 0, ss = 0;
            for (int c = 0; c < dim; c++) {
                double w = want[(size_t)i * dim + c], g = got[(size_t)i * dim + c];
                scale = fmax(scale, fabs(w));
                diff = fmax(diff, fabs(g - w));
                ss += g * g;
            }
            worst = fmax(worst, diff / scale);
            norm_off = fmax(norm_off, fabs(sqrt(ss) - 1));
        }
        CHECK(rc == 0 && worst <= TOL, "%s on %s%s%s: worst %.2e (%s)", layouts[k][0],
              runs[r][0], runs[r][1] ? "/" : "", runs[r][1] ? runs[r][1] : "", worst, err);
        /* only a final Normalize gives unit vectors */
        int unit = k == 2;
        CHECK(rc == 0 && (unit ? norm_off < 1e-5 : norm_off > 1e-2),
              "%s: norms %s 1 (max |norm - 1| %.3g)", layouts[k][0], unit ? "are" : "are not",
              norm_off);
        printf("%-27s on %s%s%s: max rel err %.2e, max |norm - 1| %.3g\n", layouts[k][0],
               runs[r][0], runs[r][1] ? "/" : "", runs[r][1] ? runs[r][1] : "", worst, norm_off);
        free(got);
        model_replica_free(rep);
        vkb_backend_close(b);
    }
    for (int i = 0; i < n && i < 16; i++)
        free(rows[i]);
    free(want);
    model_free(m);
}

int main(void)
{
    const char *td = tl_testdata("sentence-transformers module order");
    if (!td)
        return tl_finish();
    char path[1024], dir[] = "/tmp/vkb-st-modules-XXXXXX", cmd[2400];
    snprintf(path, sizeof path, "%s/oracle/tiny-bert-dense.json", td);
    json_t *oracle = json_load_file(path, JSON_ALLOW_NUL, NULL);
    if (!CHECK(oracle && mkdtemp(dir), "oracle %s and a temp folder", path))
        return tl_finish();
    snprintf(cmd, sizeof cmd, "cp -r '%s/models/tiny-bert-dense/.' '%s' && chmod -R u+w '%s'", td,
             dir, dir);
    if (CHECK(system(cmd) == 0, "%s", cmd))
        for (int k = 0; k < 3; k++)
            run_layout(dir, json_object_get(oracle, "hidden_states"), k);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    json_decref(oracle);
    CHECK(vkb_vulkan_validation_errors() == 0, "Vulkan validation errors: %d",
          vkb_vulkan_validation_errors());
    return tl_finish();
}
