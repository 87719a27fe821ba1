/*
 * test_encoder_oracle.c — the encoder against the independent reference outputs in
 * testdata/oracle/{tiny-bert,tiny-roberta,tiny-bert-dense,tiny-xlmr,tiny-deberta,
 * tiny-deberta-v2,tiny-distilbert,tiny-mpnet}.json, on the CPU backend and on Vulkan when a
 * device exists (Dense, DeBERTa, DistilBERT and MPNet with both kernel families,
 * VKB_KERNELS=cpu|gpu):
 *   - hidden_states[0..n] of the oracle's input_ids, the batch as given and one text at a
 *     time (batching must not move any number by more than 1e-6);
 *   - sentence embeddings from the oracle's input_ids (the encoder alone), batched and one at
 *     a time, and from the oracle's texts through the model's tokenizer (ids must equal the
 *     oracle's, then the vectors).
 *   - tiny-bert-dense (BERT, CLS pooling, a 32 -> 16 tanh Dense, Normalize, prompts with a
 *     default): the same, plus every case of embeddings_with_prompt (default prompt, each
 *     named prompt, no prompt): the prompt text, the ids, the vectors; on Vulkan with both
 *     kernel families (VKB_KERNELS=cpu and gpu).
 * Tolerance per the testdata README: max|got - want| <= 1e-4 * max(1, max|want|) per vector.
 */
#include "model.h"
#include "testlib.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4
#define BATCH_TOL 1e-6
/* The CPU backend's sgemm (OpenBLAS) picks its blocking by matrix size, so a dot product's
 * summation order may change with the batch's padded length: up to 1.4e-6 seen with
 * tiny-deberta's 220-token text (its position products are L x 2L). Vulkan stays at 0. */
#define BATCH_TOL_CPU 2e-6

/* A list of id lists from JSON, with lengths (mask: count only attention_mask 1s). */
typedef struct id_batch {
    int n;
    int32_t **ids;
    int *lens;
} id_batch;

static void id_batch_free(id_batch *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->ids[i]);
    free(b->ids);
    free(b->lens);
}

static id_batch read_ids(json_t *ids, json_t *mask)
{
    id_batch b = {.n = (int)json_array_size(ids)};
    b.ids = calloc(b.n, sizeof *b.ids);
    b.lens = calloc(b.n, sizeof *b.lens);
    for (int i = 0; i < b.n; i++) {
        json_t *row = json_array_get(ids, i);
        int n = (int)json_array_size(row);
        if (mask) {
            n = 0;
            json_t *mrow = json_array_get(mask, i);
            for (size_t j = 0; j < json_array_size(mrow); j++)
                n += (int)json_integer_value(json_array_get(mrow, j));
        }
        b.ids[i] = malloc(sizeof(int32_t) * (n ? n : 1));
        for (int j = 0; j < n; j++)
            b.ids[i][j] = (int32_t)json_integer_value(json_array_get(row, j));
        b.lens[i] = n;
    }
    return b;
}

/* max|got - want| / max(1, max|want|) over a JSON vector. */
static double vec_err(const float *got, json_t *want)
{
    double maxd = 0, maxw = 1;
    for (size_t i = 0; i < json_array_size(want); i++) {
        double w = json_number_value(json_array_get(want, i));
        double d = fabs(got[i] - w);
        maxd = d > maxd || isnan(d) ? (isnan(d) ? INFINITY : d) : maxd;
        maxw = fabs(w) > maxw ? fabs(w) : maxw;
    }
    return maxd / maxw;
}

/* Batched vs single, vector by vector (rows of width w), with the README's scaling:
 * max over vectors of max|a - b| / max(1, max|b|). */
static double max_rel_diff(const float *a, const float *b, size_t n, size_t w)
{
    double m = 0;
    for (size_t v = 0; v < n; v += w) {
        double maxd = 0, maxb = 1;
        for (size_t i = v; i < v + w && i < n; i++) {
            double d = fabs((double)a[i] - b[i]);
            maxd = d > maxd || isnan(d) ? (isnan(d) ? INFINITY : d) : maxd;
            maxb = fabs(b[i]) > maxb ? fabs(b[i]) : maxb;
        }
        m = maxd / maxb > m || isnan(maxd) ? maxd / maxb : m;
    }
    return m;
}

static void check_hidden_states(model_replica *r, json_t *hs, const char *tag)
{
    id_batch b = read_ids(json_object_get(hs, "input_ids"), json_object_get(hs, "attention_mask"));
    json_t *layers = json_object_get(hs, "hidden_states");
    int C = model_facts(model_replica_model(r))->hidden;
    for (int layer = 0; layer < (int)json_array_size(layers); layer++) {
        float *all = NULL;
        int L = 0;
        int rc = encoder_hidden_states(r, (const int32_t *const *)b.ids, b.lens, b.n, layer, &all,
                                       &L);
        if (!CHECK(rc == 0, "%s: hidden_states[%d] batched: %s", tag, layer, vkb_status_str(rc)))
            continue;
        double worst = 0, worst_batch = 0;
        for (int i = 0; i < b.n; i++) {
            json_t *want = json_array_get(json_array_get(layers, layer), i);
            for (int t = 0; t < b.lens[i]; t++) {
                double e = vec_err(all + ((size_t)i * L + t) * C, json_array_get(want, t));
                worst = e > worst ? e : worst;
            }
            /* The same text alone must give the same numbers. */
            float *one = NULL;
            int L1 = 0;
            rc = encoder_hidden_states(r, (const int32_t *const *)&b.ids[i], &b.lens[i], 1, layer,
                                       &one, &L1);
            if (CHECK(rc == 0 && L1 == b.lens[i], "%s: text %d alone: %s", tag, i,
                      vkb_status_str(rc))) {
                double d = max_rel_diff(one, all + (size_t)i * L * C, (size_t)L1 * C, C);
                worst_batch = d > worst_batch ? d : worst_batch;
            }
            free(one);
        }
        CHECK(worst <= TOL, "%s: hidden_states[%d] off by %.3g (tolerance %g)", tag, layer, worst,
              TOL);
        double btol = strstr(tag, "@cpu") ? BATCH_TOL_CPU : BATCH_TOL;
        CHECK(worst_batch <= btol, "%s: hidden_states[%d]: batching moved a number by %.3g",
              tag, layer, worst_batch);
        printf("%s hidden_states[%d]: max rel err %.2e, batch vs single %.2e\n", tag, layer,
               worst, worst_batch);
        free(all);
    }
    id_batch_free(&b);
}

/* Embeddings of b's sequences, in device batches of at most `chunk`. */
static int embed_ids(model_replica *r, const id_batch *b, int chunk, float *out)
{
    int dim = model_facts(model_replica_model(r))->dim;
    for (int i = 0; i < b->n; i += chunk) {
        int n = b->n - i < chunk ? b->n - i : chunk;
        int rc = encoder_embed(r, (const int32_t *const *)b->ids + i, b->lens + i, n,
                               out + (size_t)i * dim);
        if (rc)
            return rc;
    }
    return 0;
}

static void check_embeddings(model_replica *r, json_t *emb, const char *tag)
{
    const vkb_model *m = model_replica_model(r);
    int dim = model_facts(m)->dim;
    json_t *want = json_object_get(emb, "embeddings");
    id_batch b = read_ids(json_object_get(emb, "input_ids"), NULL);
    float *batched = calloc((size_t)b.n * dim, sizeof(float));
    float *single = calloc((size_t)b.n * dim, sizeof(float));
    int rc = embed_ids(r, &b, b.n, batched);
    CHECK(rc == 0, "%s: embeddings of %d sequences in one batch: %s", tag, b.n,
          vkb_status_str(rc));
    rc = embed_ids(r, &b, 1, single);
    CHECK(rc == 0, "%s: embeddings one at a time: %s", tag, vkb_status_str(rc));
    double worst = 0;
    for (int i = 0; i < b.n; i++) {
        double e = vec_err(batched + (size_t)i * dim, json_array_get(want, i));
        CHECK(e <= TOL, "%s: embedding %d (from ids) off by %.3g", tag, i, e);
        worst = e > worst ? e : worst;
    }
    double bd = max_rel_diff(single, batched, (size_t)b.n * dim, dim);
    /* The CPU backend's sgemm blocking follows the matrix size (BATCH_TOL_CPU): 1.2e-6 seen
     * in CI for tiny-distilbert's embeddings on OpenBLAS. */
    double btol = strstr(tag, "@cpu") ? BATCH_TOL_CPU : BATCH_TOL;
    CHECK(bd <= btol, "%s: batching moved an embedding value by %.3g", tag, bd);
    printf("%s embeddings from ids: max rel err %.2e, batch vs single %.2e\n", tag, worst, bd);

    /* Through the tokenizer: the same ids, then the same vectors. */
    json_t *texts = json_object_get(emb, "texts");
    id_batch tb = {.n = b.n};
    tb.ids = calloc(b.n, sizeof *tb.ids);
    tb.lens = calloc(b.n, sizeof *tb.lens);
    int ids_ok = 1;
    for (int i = 0; i < b.n; i++) {
        json_t *t = json_array_get(texts, i);
        rc = model_tokenize_embed(m, json_string_value(t), json_string_length(t), &tb.ids[i],
                                  &tb.lens[i]);
        int same = rc == 0 && tb.lens[i] == b.lens[i] &&
                   !memcmp(tb.ids[i], b.ids[i], sizeof(int32_t) * b.lens[i]);
        ids_ok &= CHECK(same, "%s: text %d tokenizes to %d ids, oracle has %d (rc %d)", tag, i,
                        tb.lens[i], b.lens[i], rc);
    }
    if (ids_ok) {
        rc = embed_ids(r, &tb, 16, batched);
        CHECK(rc == 0, "%s: embeddings from texts: %s", tag, vkb_status_str(rc));
        worst = 0;
        for (int i = 0; i < b.n; i++) {
            double e = vec_err(batched + (size_t)i * dim, json_array_get(want, i));
            CHECK(e <= TOL, "%s: embedding %d (from text) off by %.3g", tag, i, e);
            worst = e > worst ? e : worst;
        }
        printf("%s embeddings from texts: max rel err %.2e\n", tag, worst);
    }
    id_batch_free(&tb);
    id_batch_free(&b);
    free(batched);
    free(single);
}

/* embeddings_with_prompt: each case's request resolved to its prompt, its texts tokenized
 * with it (ids equal the oracle's), embedded in one batch (vectors within TOL). */
static void check_prompts(model_replica *r, json_t *ewp, const char *tag)
{
    const vkb_model *m = model_replica_model(r);
    int dim = model_facts(m)->dim;
    json_t *cases = json_object_get(ewp, "cases");
    CHECK(json_array_size(cases) >= 4, "%s: %zu prompt cases", tag, json_array_size(cases));
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *c = json_array_get(cases, k), *req = json_object_get(c, "request");
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *text = NULL;
        char err[256] = "";
        int rc = model_prompt(m, json_string_value(json_object_get(req, "prompt_name")),
                              json_string_value(json_object_get(req, "prompt")), &text, err,
                              sizeof err);
        const char *want_prompt = json_string_value(json_object_get(c, "prompt"));
        if (!CHECK(rc == 0 && want_prompt && !strcmp(text, want_prompt),
                   "%s: case %s resolves to prompt '%s' (want '%s'): %s", tag, name,
                   rc == 0 ? text : "", want_prompt ? want_prompt : "?", err))
            continue;
        json_t *texts = json_object_get(c, "texts"), *want = json_object_get(c, "embeddings");
        id_batch b = read_ids(json_object_get(c, "input_ids"), NULL);
        id_batch tb = {.n = b.n};
        tb.ids = calloc(b.n, sizeof *tb.ids);
        tb.lens = calloc(b.n, sizeof *tb.lens);
        int ids_ok = (int)json_array_size(texts) == b.n;
        for (int i = 0; i < b.n && ids_ok; i++) {
            json_t *t = json_array_get(texts, i);
            rc = model_tokenize_embed_prompt(m, text, json_string_value(t), json_string_length(t),
                                             &tb.ids[i], &tb.lens[i]);
            ids_ok &= CHECK(rc == 0 && tb.lens[i] == b.lens[i] &&
                                !memcmp(tb.ids[i], b.ids[i], sizeof(int32_t) * b.lens[i]),
                            "%s: case %s text %d: %d ids, oracle %d (rc %d)", tag, name, i,
                            tb.lens[i], b.lens[i], rc);
        }
        float *got = calloc((size_t)b.n * dim + 1, sizeof(float));
        if (ids_ok) {
            rc = embed_ids(r, &tb, b.n, got);
            double worst = 0;
            for (int i = 0; rc == 0 && i < b.n; i++) {
                double e = vec_err(got + (size_t)i * dim, json_array_get(want, i));
                CHECK(e <= TOL, "%s: case %s embedding %d off by %.3g", tag, name, i, e);
                worst = e > worst ? e : worst;
            }
            CHECK(rc == 0, "%s: case %s embeds: %s", tag, name, vkb_status_str(rc));
            printf("%s prompt case %-9s: %d texts, max rel err %.2e\n", tag, name, b.n, worst);
        }
        free(got);
        id_batch_free(&tb);
        id_batch_free(&b);
    }
    const char *text;
    char err[256] = "";
    CHECK(model_prompt(m, "no-such-prompt", NULL, &text, err, sizeof err) == VKB_EINVAL &&
              strstr(err, "no-such-prompt") && strstr(err, "query") && strstr(err, "document"),
          "%s: an unknown prompt_name is refused naming the known ones: %s", tag, err);
}

/* model_tokenize_bertscore against every sentence as bert_score encodes it (strip, prefix
 * space for byte-level BPE, truncation to 512 keeping the closing special). */
static void check_bertscore_tokens(const vkb_model *m, json_t *bs, const char *name)
{
    json_t *tk = json_object_get(bs, "tokenization");
    int bad = 0;
    for (size_t i = 0; i < json_array_size(tk); i++) {
        json_t *e = json_array_get(tk, i), *t = json_object_get(e, "text");
        json_t *one = json_pack("[O]", json_object_get(e, "ids"));
        id_batch want = read_ids(one, NULL);
        json_decref(one);
        int32_t *ids = NULL;
        int n = 0;
        int rc = model_tokenize_bertscore(m, json_string_value(t), json_string_length(t), &ids,
                                          &n);
        bad += !CHECK(rc == 0 && n == want.lens[0] &&
                          !memcmp(ids, want.ids[0], sizeof(int32_t) * n),
                      "%s: BERTScore tokenization of sentence %zu: %d ids, want %d", name, i, n,
                      want.lens[0]);
        free(ids);
        id_batch_free(&want);
    }
    printf("%s: %zu BERTScore tokenizations checked, %d wrong\n", name, json_array_size(tk),
           bad);
}

static void check_facts(const vkb_model *m, json_t *oracle, const char *name)
{
    json_t *cfg = json_object_get(oracle, "config"), *emb = json_object_get(oracle, "embeddings");
    const vkb_model_facts *f = model_facts(m);
    /* DistilBERT spells them dim and n_layers */
    json_t *hidden = json_object_get(cfg, "hidden_size"), *layers =
                     json_object_get(cfg, "num_hidden_layers");
    hidden = hidden ? hidden : json_object_get(cfg, "dim");
    layers = layers ? layers : json_object_get(cfg, "n_layers");
    CHECK(f->hidden == json_integer_value(hidden), "%s hidden", name);
    CHECK(f->num_layers == json_integer_value(layers), "%s layers", name);
    CHECK(f->max_seq_length == json_integer_value(json_object_get(emb, "max_seq_length")),
          "%s max_seq_length %d", name, f->max_seq_length);
    CHECK(f->dim == (int)json_array_size(json_array_get(json_object_get(emb, "embeddings"), 0)),
          "%s dim %d", name, f->dim);
    CHECK(!strcmp(f->model_type, json_string_value(json_object_get(cfg, "model_type"))),
          "%s model_type %s", name, f->model_type);
}

/* both_families: on Vulkan run once per kernel family (VKB_KERNELS=cpu, gpu). */
static void run_model(const char *td, const char *name, const char *const *devices, int nd,
                      int both_families)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/oracle/%s.json", td, name);
    json_error_t jerr;
    json_t *oracle = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!CHECK(oracle != NULL, "%s: %s", path, jerr.text))
        return;
    snprintf(path, sizeof path, "%s/models/%s", td, name);
    char err[512] = "";
    vkb_model *m = NULL;
    int rc = model_load(path, NULL, &m, err, sizeof err);
    if (CHECK(rc == 0, "model_load %s: %s", path, err)) {
        check_facts(m, oracle, name);
        check_bertscore_tokens(m, json_object_get(oracle, "bertscore"), name);
        /* runs: (device, kernel family or NULL for the device's default) */
        const char *run_dev[8], *run_fam[8];
        int runs = 0;
        for (int d = 0; d < nd && runs < 6; d++) {
            int vulkan = !strcmp(devices[d], "vulkan");
            for (int fam = 0; fam < (vulkan && both_families ? 2 : 1); fam++) {
                run_dev[runs] = devices[d];
                run_fam[runs++] = vulkan && both_families ? (fam ? "gpu" : "cpu") : NULL;
            }
        }
        for (int k = 0; k < runs; k++) {
            const char *fam = run_fam[k];
            int d = 0;
            while (strcmp(devices[d], run_dev[k]))
                d++;
            if (fam)
                setenv("VKB_KERNELS", fam, 1);
            vkb_backend *b = NULL;
            int open_rc = vkb_backend_open(devices[d], &b, err, sizeof err);
            unsetenv("VKB_KERNELS");
            if (open_rc != 0) {
                printf("SKIP %s on %s: %s\n", name, devices[d], err);
                continue;
            }
            model_replica *r = NULL;
            rc = model_replica_create(m, b, &r, err, sizeof err);
            if (CHECK(rc == 0, "replica on %s: %s", devices[d], err)) {
                char tag[128];
                snprintf(tag, sizeof tag, "%s@%s%s%s%s", name, vkb_backend_id(b),
                         fam ? "(" : "", fam ? fam : "", fam ? " kernels)" : "");
                check_hidden_states(r, json_object_get(oracle, "hidden_states"), tag);
                check_embeddings(r, json_object_get(oracle, "embeddings"), tag);
                json_t *ewp = json_object_get(oracle, "embeddings_with_prompt");
                if (ewp)
                    check_prompts(r, ewp, tag);
            }
            model_replica_free(r);
            vkb_backend_close(b);
        }
    }
    model_free(m);
    json_decref(oracle);
}

int main(void)
{
    const char *td = tl_testdata("encoder oracle");
    if (!td)
        return tl_finish();
    const char *devices[] = {"cpu", "vulkan"};
    run_model(td, "tiny-bert", devices, 2, 0);
    run_model(td, "tiny-roberta", devices, 2, 0);
    run_model(td, "tiny-bert-dense", devices, 2, 1);
    run_model(td, "tiny-xlmr", devices, 2, 0); /* XLM-R: RoBERTa layout, Unigram tokenizer */
    /* DeBERTa's disentangled attention with both kernel families on Vulkan */
    run_model(td, "tiny-deberta", devices, 2, 1);
    run_model(td, "tiny-deberta-v2", devices, 2, 1);
    run_model(td, "tiny-distilbert", devices, 2, 1); /* no token types, its own names */
    run_model(td, "tiny-mpnet", devices, 2, 1);      /* relative-position bias, 148 tokens */
    CHECK(vkb_vulkan_validation_errors() == 0, "Vulkan validation errors: %d",
          vkb_vulkan_validation_errors());
    return tl_finish();
}
