/* test_service_e2e.c — the real `vkbridge serve` on a free port, driven with libcurl:
 * every endpoint and error path over HTTP/1.1 and h2c, with and without API_KEY, over TLS
 * (h2 via ALPN and HTTP/1.1), results against the testdata oracle and against
 * `vkbridge embed`, and start-up failures. */
#include "test_service_client.h"
#include "vkb_runtime.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>

static char models_dir[512], baseline_dir[512];
static json_t *oracle_bert, *oracle_roberta, *oracle_dense, *oracle_xlmr;
/* The model families added later (model_family.c), checked the same way; NULL without the files. */
static json_t *oracle_distilbert, *oracle_mpnet;

static int json_str_is(json_t *v, const char *want)
{
    return json_is_string(v) && !strcmp(json_string_value(v), want);
}

/* Embeddings from a /embed-shaped body ({"embeddings": [[...]]}) as floats (n, dim). */
static float *embeddings_of(json_t *root, const char *key, int *n, int *dim)
{
    json_t *rows = json_object_get(root, key);
    *n = (int)json_array_size(rows);
    *dim = (int)json_array_size(json_array_get(rows, 0));
    float *v = calloc((size_t)*n * (size_t)*dim + 1, sizeof(float));
    for (int i = 0; i < *n; i++)
        for (int j = 0; j < *dim; j++)
            v[(size_t)i * *dim + j] = (float)json_number_value(json_array_get(json_array_get(rows, i), j));
    return v;
}

/* The tolerance rule of testdata/README: per vector, max|got - exp| <= rel * max(1, max|exp|). */
static int vectors_close(const float *got, const float *want, int n, int dim, double rel,
                         double *worst)
{
    int ok = 1;
    *worst = 0;
    for (int i = 0; i < n; i++) {
        double diff = 0, scale = 1;
        for (int j = 0; j < dim; j++) {
            double d = fabs((double)got[(size_t)i * dim + j] - want[(size_t)i * dim + j]);
            diff = d > diff || isnan(d) ? d : diff;
            scale = fmax(scale, fabs(want[(size_t)i * dim + j]));
        }
        if (!(diff <= rel * scale))
            ok = 0;
        *worst = fmax(*worst, diff / scale);
    }
    return ok;
}

/* ---------------------------------------------------------------- happy paths */

static void check_embed_oracle(CURL *h, const svc_proc *p, tc_proto proto, json_t *oracle,
                               const char *model)
{
    json_t *emb = json_object_get(oracle, "embeddings");
    json_t *req = json_pack("{sOss}", "texts", json_object_get(emb, "texts"), "model", model);
    char *body = json_dumps(req, JSON_COMPACT);
    tc_reply r;
    long status = tc_request(h, p, proto, "POST", "/embed", body, NULL, &r);
    json_t *root = tc_json(&r);
    CHECK(status == 200 && root, "[%s] /embed %s: %ld %.200s", tc_proto_names[proto], model,
          status, tc_body(&r));
    int n = 0, dim = 0, on = 0, odim = 0;
    float *got = embeddings_of(root, "embeddings", &n, &dim);
    float *want = embeddings_of(emb, "embeddings", &on, &odim);
    double worst = 0;
    CHECK(n == on && dim == odim && n > 0, "[%s] %d x %d embeddings (oracle %d x %d)",
          tc_proto_names[proto], n, dim, on, odim);
    CHECK(n == on && dim == odim && vectors_close(got, want, n, dim, 1e-4, &worst),
          "[%s] /embed %s within 1e-4 of the oracle (worst %.2e)", tc_proto_names[proto], model,
          worst);
    CHECK(json_str_is(json_object_get(root, "model"), model) &&
              json_integer_value(json_object_get(root, "dimensions")) == odim,
          "[%s] /embed model and dimensions", tc_proto_names[proto]);
    CHECK(!strncmp(r.content_type, "application/json", 16), "[%s] JSON content type",
          tc_proto_names[proto]);
    free(got);
    free(want);
    json_decref(root);
    tc_reply_free(&r);
    free(body);
    json_decref(req);
}

/* Each oracle text in a request of its own: a batch of one pads nothing and shares no
 * scratch with other rows, which the batched check above never sees. */
static void check_embed_oracle_singly(CURL *h, const svc_proc *p, tc_proto proto,
                                      json_t *oracle, const char *model)
{
    json_t *emb = json_object_get(oracle, "embeddings");
    json_t *texts = json_object_get(emb, "texts");
    int on = 0, odim = 0, bad = 0;
    float *want = embeddings_of(emb, "embeddings", &on, &odim);
    double worst_all = 0;
    for (int i = 0; i < on; i++) {
        json_t *req = json_pack("{s[O]ss}", "texts", json_array_get(texts, (size_t)i), "model",
                                model);
        char *body = json_dumps(req, JSON_COMPACT);
        tc_reply r;
        long status = tc_request(h, p, proto, "POST", "/embed", body, NULL, &r);
        json_t *root = tc_json(&r);
        int n = 0, dim = 0;
        float *got = embeddings_of(root, "embeddings", &n, &dim);
        double worst = 0;
        int ok = status == 200 && n == 1 && dim == odim &&
                 vectors_close(got, want + (size_t)i * odim, 1, dim, 1e-4, &worst);
        worst_all = fmax(worst_all, worst);
        if (!ok && bad++ < 3)
            CHECK(0, "[%s] /embed %s text %d alone: %ld, %d x %d, worst %.2e %.200s",
                  tc_proto_names[proto], model, i, status, n, dim, worst, tc_body(&r));
        free(got);
        json_decref(root);
        tc_reply_free(&r);
        free(body);
        json_decref(req);
    }
    CHECK(bad == 0 && on > 0, "[%s] /embed %s one text per request: %d of %d off the oracle "
          "(worst %.2e)", tc_proto_names[proto], model, bad, on, worst_all);
    free(want);
}

static void check_bertscore_oracle(CURL *h, const svc_proc *p, tc_proto proto, json_t *oracle)
{
    json_t *cases = json_object_get(json_object_get(oracle, "bertscore"), "cases");
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        char *body = json_dumps(json_object_get(c, "request"), JSON_COMPACT);
        tc_reply r;
        long status = tc_request(h, p, proto, "POST", "/bertscore", body, NULL, &r);
        json_t *root = tc_json(&r);
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *baseline = json_object_get(c, "baseline");
        double worst = 0;
        int ok = status == 200 && root;
        const char *keys[3] = {"precision", "recall", "f1"}, *okeys[3] = {"P", "R", "F"};
        for (int k = 0; ok && k < 3; k++) {
            json_t *got = json_object_get(root, keys[k]), *want = json_object_get(c, okeys[k]);
            double tol = 1e-4 / (baseline ? 1 - json_number_value(json_array_get(baseline, k)) : 1);
            ok &= json_array_size(got) == json_array_size(want);
            for (size_t j = 0; ok && j < json_array_size(want); j++) {
                double d = fabs(json_number_value(json_array_get(got, j)) -
                                json_number_value(json_array_get(want, j)));
                worst = fmax(worst, d);
                ok &= d <= tol;
            }
        }
        CHECK(ok, "[%s] /bertscore %s %s within tolerance (status %ld, worst %.2e) %.200s",
              tc_proto_names[proto],
              json_string_value(json_object_get(json_object_get(c, "request"), "model_type")),
              name, status, worst, ok ? "" : tc_body(&r));
        json_decref(root);
        tc_reply_free(&r);
        free(body);
    }
}

/* The service's own BERTScore model (tiny-roberta, outside bert_score's table) scores at
 * VKB_BERTSCORE_LAYERS=1 for a client that cannot send num_layers, with or without naming the
 * model; an explicit num_layers still wins; another model outside the table still needs one. */
static void check_bertscore_own_layers(CURL *h, const svc_proc *p, tc_proto proto)
{
    const char *pn = tc_proto_names[proto];
    json_t *cases = json_object_get(json_object_get(oracle_roberta, "bertscore"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *c = json_array_get(cases, k);
        const char *name = json_string_value(json_object_get(c, "name"));
        int named = !strcmp(name, "L1-noidf-raw"), layer2 = !strcmp(name, "L2-noidf-raw");
        if (!named && !layer2)
            continue;
        json_t *req = json_deep_copy(json_object_get(c, "request"));
        json_object_del(req, "lang");
        if (named) {
            json_object_del(req, "num_layers"); /* the v0.2 client's request: model_type only */
            CHECK(json_object_get(req, "model_type") != NULL, "oracle case names its model");
        }
        for (int drop_model = 0; drop_model <= named; drop_model++) {
            if (drop_model)
                json_object_del(req, "model_type"); /* neither: MODEL_BERTSCORE at its layer */
            char *body = json_dumps(req, JSON_COMPACT);
            tc_reply r;
            long status = tc_request(h, p, proto, "POST", "/bertscore", body, NULL, &r);
            json_t *root = tc_json(&r);
            json_t *got = json_object_get(root, "f1"), *want = json_object_get(c, "F");
            double worst = 0;
            int ok = status == 200 && json_array_size(got) == json_array_size(want) &&
                     json_array_size(want) > 0;
            for (size_t j = 0; ok && j < json_array_size(want); j++) {
                double d = fabs(json_number_value(json_array_get(got, j)) -
                                json_number_value(json_array_get(want, j)));
                worst = fmax(worst, d);
                ok &= d <= 1e-4;
            }
            CHECK(ok && json_str_is(json_object_get(root, "model"), "tiny-roberta"),
                  "[%s] /bertscore %s equals oracle %s (status %ld, worst %.2e) %.200s", pn, body,
                  name, status, worst, ok ? "" : tc_body(&r));
            json_decref(root);
            tc_reply_free(&r);
            free(body);
        }
        json_decref(req);
    }
    tc_reply r;
    long status = tc_request(h, p, proto, "POST", "/bertscore",
                             "{\"candidates\":[\"a\"],\"references\":[\"b\"],\"model_type\":\"tiny-bert\"}",
                             NULL, &r);
    CHECK(status == 400 && strstr(tc_body(&r), "pass num_layers"),
          "[%s] another model outside the table still needs num_layers: %ld %s", pn, status,
          tc_body(&r));
    tc_reply_free(&r);
}

/* A text holding U+0000 is all its characters: "a\u0000b" scores as the tokenizer reads it
 * (tiny-bert drops the NUL: like "ab"), never cut at the NUL to "a", and one request holding
 * both "a\u0000b" and "a" keeps them apart. */
static void check_bertscore_nul(CURL *h, const svc_proc *p, tc_proto proto)
{
    const char *pn = tc_proto_names[proto];
    const char *body = "{\"candidates\":[\"a\\u0000b\",\"a\\u0000b\",\"a\",\"ab\"],"
                       "\"references\":[\"ab\",\"a\",\"a\",\"a\"],"
                       "\"model_type\":\"tiny-bert\",\"num_layers\":2}";
    tc_reply r;
    long status = tc_request(h, p, proto, "POST", "/bertscore", body, NULL, &r);
    json_t *root = tc_json(&r), *f1 = json_object_get(root, "f1");
    if (CHECK(status == 200 && json_array_size(f1) == 4,
              "[%s] /bertscore with \\u0000: %ld %.200s", pn, status, tc_body(&r))) {
        double f[4];
        for (size_t i = 0; i < 4; i++)
            f[i] = json_number_value(json_array_get(f1, i));
        CHECK(fabs(f[0] - 1) <= 1e-6, "[%s] a\\u0000b vs ab scores like ab vs ab: F %.7f", pn,
              f[0]);
        CHECK(f[1] < 1 - 1e-3 && fabs(f[1] - f[3]) <= 1e-5,
              "[%s] a\\u0000b vs a is ab vs a (%.7f), not 1: F %.7f", pn, f[3], f[1]);
        CHECK(fabs(f[2] - 1) <= 1e-6, "[%s] a vs a beside a\\u0000b: F %.7f", pn, f[2]);
    }
    json_decref(root);
    tc_reply_free(&r);
}

/* /v1/embeddings in every input form, checked against /embed of the same texts. */
static void check_openai(CURL *h, const svc_proc *p, tc_proto proto)
{
    const char *pn = tc_proto_names[proto];
    tc_reply r;
    tc_request(h, p, proto, "POST", "/embed", "{\"texts\":[\"hello world\",\"second text\"]}", NULL, &r);
    json_t *ref_root = tc_json(&r);
    int n, dim;
    float *ref = embeddings_of(ref_root, "embeddings", &n, &dim);
    tc_reply_free(&r);

    long status = tc_request(h, p, proto, "POST", "/v1/embeddings",
                             "{\"input\":[\"hello world\",\"second text\"],\"model\":\"tiny-bert\"}",
                             NULL, &r);
    json_t *root = tc_json(&r);
    json_t *data = json_object_get(root, "data");
    json_t *d1 = json_array_get(data, 1);
    json_t *usage = json_object_get(root, "usage");
    CHECK(status == 200 && json_str_is(json_object_get(root, "object"), "list") &&
              json_array_size(data) == 2 && json_str_is(json_object_get(d1, "object"), "embedding") &&
              json_integer_value(json_object_get(d1, "index")) == 1 &&
              json_str_is(json_object_get(root, "model"), "tiny-bert") &&
              json_integer_value(json_object_get(usage, "prompt_tokens")) > 0 &&
              json_integer_value(json_object_get(usage, "total_tokens")) ==
                  json_integer_value(json_object_get(usage, "prompt_tokens")),
          "[%s] /v1/embeddings shape: %.300s", pn, tc_body(&r));
    float second[64] = {0};
    for (int j = 0; j < dim && j < 64; j++)
        second[j] = (float)json_number_value(json_array_get(json_object_get(d1, "embedding"), j));
    double worst = 0;
    CHECK(dim > 0 && dim <= 64 && vectors_close(second, ref + dim, 1, dim, 1e-6, &worst),
          "[%s] OpenAI floats equal /embed (worst %.2e)", pn, worst);
    json_decref(root);
    tc_reply_free(&r);

    /* base64: little-endian float32 bytes of the same vector */
    status = tc_request(h, p, proto, "POST", "/v1/embeddings",
                        "{\"input\":\"hello world\",\"encoding_format\":\"base64\"}", NULL, &r);
    root = tc_json(&r);
    const char *b64 = json_string_value(json_object_get(json_array_get(json_object_get(root, "data"), 0), "embedding"));
    float decoded[64] = {0};
    size_t got_bytes = 0;
    if (b64) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned char *bytes = (unsigned char *)decoded;
        uint32_t acc = 0;
        int bits = 0;
        for (const char *c = b64; *c && *c != '='; c++) {
            const char *pos = strchr(alphabet, *c);
            if (!pos)
                break;
            acc = acc << 6 | (uint32_t)(pos - alphabet);
            bits += 6;
            if (bits >= 8 && got_bytes < sizeof(decoded)) {
                bits -= 8;
                bytes[got_bytes++] = (unsigned char)(acc >> bits);
            }
        }
    }
    CHECK(status == 200 && got_bytes == (size_t)dim * 4 && vectors_close(decoded, ref, 1, dim, 0, &worst),
          "[%s] base64 decodes to the same float32 bytes (%zu bytes)", pn, got_bytes);
    json_decref(root);
    tc_reply_free(&r);

    /* dimensions: truncated and renormalised */
    status = tc_request(h, p, proto, "POST", "/v1/embeddings",
                        "{\"input\":\"hello world\",\"dimensions\":8}", NULL, &r);
    root = tc_json(&r);
    json_t *e8 = json_object_get(json_array_get(json_object_get(root, "data"), 0), "embedding");
    double norm = 0, ref_norm = 0, max_diff = 0;
    for (int j = 0; j < 8; j++)
        ref_norm += (double)ref[j] * ref[j];
    for (int j = 0; j < 8; j++) {
        double v = json_number_value(json_array_get(e8, j));
        norm += v * v;
        max_diff = fmax(max_diff, fabs(v - ref[j] / sqrt(ref_norm)));
    }
    CHECK(status == 200 && json_array_size(e8) == 8 && fabs(norm - 1) < 1e-5 && max_diff < 1e-6,
          "[%s] dimensions=8: length %zu, norm %.6f, diff %.2e", pn, json_array_size(e8), norm, max_diff);
    json_decref(root);
    tc_reply_free(&r);

    /* token ids: the ids of "hello world" without the special tokens give the same vector */
    json_t *emb = json_object_get(oracle_bert, "embeddings");
    json_t *texts = json_object_get(emb, "texts"), *ids = json_object_get(emb, "input_ids");
    size_t pick = SIZE_MAX;
    for (size_t i = 0; i < json_array_size(texts) && pick == SIZE_MAX; i++) {
        size_t len = json_string_length(json_array_get(texts, i));
        size_t n_ids = json_array_size(json_array_get(ids, i));
        if (len > 8 && n_ids > 4 && n_ids < 60)
            pick = i;
    }
    if (pick != SIZE_MAX) {
        json_t *raw = json_array();
        json_t *full = json_array_get(ids, pick);
        for (size_t j = 1; j + 1 < json_array_size(full); j++)
            json_array_append(raw, json_array_get(full, j));
        json_t *req = json_pack("{s[O]}", "input", raw);
        char *body = json_dumps(req, JSON_COMPACT);
        status = tc_request(h, p, proto, "POST", "/v1/embeddings", body, NULL, &r);
        root = tc_json(&r);
        float from_ids[64] = {0}, want[64] = {0};
        json_t *v = json_object_get(json_array_get(json_object_get(root, "data"), 0), "embedding");
        json_t *want_row = json_array_get(json_object_get(emb, "embeddings"), pick);
        for (int j = 0; j < dim && j < 64; j++) {
            from_ids[j] = (float)json_number_value(json_array_get(v, j));
            want[j] = (float)json_number_value(json_array_get(want_row, j));
        }
        CHECK(status == 200 && vectors_close(from_ids, want, 1, dim, 1e-4, &worst),
              "[%s] token-id input matches the oracle text's embedding (worst %.2e): %.200s", pn,
              worst, tc_body(&r));
        CHECK(json_integer_value(json_object_get(json_object_get(root, "usage"), "prompt_tokens")) ==
                  (json_int_t)json_array_size(full),
              "[%s] token-id usage counts the special tokens", pn);
        json_decref(root);
        tc_reply_free(&r);
        free(body);
        json_decref(req);
        json_decref(raw);
    }
    free(ref);
    json_decref(ref_root);
}

static void check_reports(CURL *h, const svc_proc *p, tc_proto proto, int max_concurrent)
{
    const char *pn = tc_proto_names[proto];
    tc_reply r;
    long status = tc_request(h, p, proto, "GET", "/health", NULL, NULL, &r);
    json_t *root = tc_json(&r);
    CHECK(status == 200 && json_str_is(json_object_get(root, "status"), "ok") &&
              json_is_string(json_object_get(root, "device")),
          "[%s] /health: %ld %s", pn, status, tc_body(&r));
    CHECK(proto != TC_H2C || r.version == CURL_HTTP_VERSION_2_0, "[%s] spoke HTTP/2", pn);
    json_decref(root);
    tc_reply_free(&r);

    status = tc_request(h, p, proto, "HEAD", "/health", NULL, NULL, &r);
    CHECK(status == 200 && r.len == 0, "[%s] HEAD /health", pn);
    tc_reply_free(&r);

    status = tc_request(h, p, proto, "GET", "/info", NULL, NULL, &r);
    root = tc_json(&r);
    const char *keys[] = {"device", "device_name", "vram_total_mb", "vram_used_mb", "pytorch_version",
                          "cuda_version", "loaded_models", "runtime", "vulkan_version", "devices"};
    int has_all = root != NULL;
    for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
        has_all &= json_object_get(root, keys[k]) != NULL;
    CHECK(status == 200 && has_all, "[%s] /info has the original keys and the new ones: %.300s", pn, tc_body(&r));
    CHECK(json_is_null(json_object_get(root, "cuda_version")) &&
              strstr(json_string_value(json_object_get(root, "pytorch_version")) ?: "", "PyTorch"),
          "[%s] /info is honest about PyTorch and CUDA", pn);
    json_t *loaded = json_object_get(root, "loaded_models");
    int has_embed = 0, has_bs = 0;
    for (size_t i = 0; i < json_array_size(loaded); i++) {
        has_embed |= json_str_is(json_array_get(loaded, i), "embed:tiny-bert");
        has_bs |= json_str_is(json_array_get(loaded, i), "bertscore:tiny-roberta");
    }
    CHECK(has_embed && has_bs, "[%s] /info loaded_models lists embed:tiny-bert and bertscore:tiny-roberta", pn);
    CHECK(json_is_array(json_object_get(root, "devices")), "[%s] /info device inventory", pn);
    json_decref(root);
    tc_reply_free(&r);

    status = tc_request(h, p, proto, "GET", "/status", NULL, NULL, &r);
    root = tc_json(&r);
    json_t *q = json_object_get(root, "queue");
    CHECK(status == 200 && json_integer_value(json_object_get(q, "max_concurrent")) == max_concurrent &&
              json_object_get(q, "in_flight") && json_object_get(q, "available_slots") &&
              json_object_get(q, "waiting_estimate") && json_is_array(json_object_get(root, "active_jobs")),
          "[%s] /status: %s", pn, tc_body(&r));
    json_decref(root);
    tc_reply_free(&r);

    status = tc_request(h, p, proto, "GET", "/v1/models", NULL, NULL, &r);
    root = tc_json(&r);
    json_t *data = json_object_get(root, "data");
    int listed = 0;
    for (size_t i = 0; i < json_array_size(data); i++)
        listed |= json_str_is(json_object_get(json_array_get(data, i), "id"), "tiny-bert") &&
                  json_str_is(json_object_get(json_array_get(data, i), "object"), "model");
    CHECK(status == 200 && json_str_is(json_object_get(root, "object"), "list") && listed,
          "[%s] /v1/models: %.300s", pn, tc_body(&r));
    json_decref(root);
    tc_reply_free(&r);

    status = tc_request(h, p, proto, "GET", "/metrics", NULL, NULL, &r);
    CHECK(status == 200 && !strncmp(r.content_type, "text/plain", 10) &&
              strstr(r.body, "vkbridge_http_requests_total{endpoint=\"/embed\",status=\"200\"}") &&
              strstr(r.body, "vkbridge_http_request_duration_seconds_bucket") &&
              strstr(r.body, "vkbridge_queue_waiting") && strstr(r.body, "vkbridge_engine_tokens_total") &&
              strstr(r.body, "vkbridge_device_memory_bytes") && strstr(r.body, "vkbridge_request_items_bucket"),
          "[%s] /metrics has requests, latency, queue, tokens, memory, batch sizes", pn);
    tc_reply_free(&r);

    status = tc_request(h, p, proto, "GET", "/openapi.json", NULL, NULL, &r);
    root = tc_json(&r);
    CHECK(status == 200 && json_str_is(json_object_get(root, "openapi"), "3.0.3") &&
              json_object_get(json_object_get(root, "paths"), "/v1/embeddings"),
          "[%s] /openapi.json", pn);
    json_decref(root);
    tc_reply_free(&r);

    status = tc_request(h, p, proto, "GET", "/docs", NULL, NULL, &r);
    CHECK(status == 200 && !strncmp(r.content_type, "text/html", 9) && strstr(r.body, "/openapi.json"),
          "[%s] /docs", pn);
    tc_reply_free(&r);
}

/* ---------------------------------------------------------------- errors */

/* One error request, its shape, and then a normal request answered on the same handle. */
static void expect_error(CURL *h, const svc_proc *p, tc_proto proto, const char *method,
                         const char *path, const char *body, long want, const char *want_type,
                         const char *what)
{
    const char *pn = tc_proto_names[proto];
    tc_reply r;
    long status = tc_request(h, p, proto, method, path, body, NULL, &r);
    json_t *root = tc_json(&r);
    int openai = !strncmp(path, "/v1/", 4);
    int shaped;
    if (openai) {
        json_t *e = json_object_get(root, "error");
        shaped = json_is_string(json_object_get(e, "message")) && json_is_string(json_object_get(e, "type")) &&
                 json_object_get(e, "param") && json_object_get(e, "code");
    } else {
        json_t *detail = json_object_get(root, "detail");
        shaped = want == 422 ? json_is_array(detail) && json_array_size(detail) > 0 : json_is_string(detail);
        if (want == 422 && want_type && shaped) {
            json_t *item = json_array_get(detail, 0);
            shaped = json_str_is(json_object_get(item, "type"), want_type) &&
                     json_is_array(json_object_get(item, "loc")) && json_is_string(json_object_get(item, "msg"));
        }
    }
    CHECK(status == want && shaped && !strncmp(r.content_type, "application/json", 16),
          "[%s] %s: want %ld, got %ld %.300s", pn, what, want, status, tc_body(&r));
    json_decref(root);
    tc_reply_free(&r);
    status = tc_request(h, p, proto, "GET", "/health", NULL, NULL, &r);
    CHECK(status == 200, "[%s] served normally after: %s", pn, what);
    tc_reply_free(&r);
}

/* "texts": [] answers as the v0.2 service does (its own test expects exactly this body):
 * 200 {"embeddings": [], "model": the model asked for or the default, "dimensions": 0}.
 * The model is still resolved: an unknown one is 404, a path escape 400. */
static void check_embed_empty(CURL *h, const svc_proc *p, tc_proto proto)
{
    const char *pn = tc_proto_names[proto];
    const char *bodies[2] = {"{\"texts\":[]}", "{\"texts\":[],\"model\":\"tiny-roberta\"}"};
    const char *models[2] = {"tiny-bert", "tiny-roberta"};
    for (int i = 0; i < 2; i++) {
        tc_reply r;
        long status = tc_request(h, p, proto, "POST", "/embed", bodies[i], NULL, &r);
        json_t *root = tc_json(&r);
        json_t *emb = json_object_get(root, "embeddings");
        CHECK(status == 200 && json_is_array(emb) && json_array_size(emb) == 0 &&
                  json_str_is(json_object_get(root, "model"), models[i]) &&
                  json_is_integer(json_object_get(root, "dimensions")) &&
                  json_integer_value(json_object_get(root, "dimensions")) == 0 &&
                  json_object_size(root) == 3 && !strncmp(r.content_type, "application/json", 16),
              "[%s] /embed %s: 200 with no embeddings and dimensions 0 (got %ld %.200s)", pn,
              bodies[i], status, tc_body(&r));
        json_decref(root);
        tc_reply_free(&r);
    }
    expect_error(h, p, proto, "POST", "/embed", "{\"texts\":[],\"model\":\"no-such-model\"}", 404,
                 NULL, "empty texts for an unknown model");
    expect_error(h, p, proto, "POST", "/embed", "{\"texts\":[],\"model\":\"../x\"}", 400, NULL,
                 "empty texts with a path escape");
}

static char *repeat(const char *unit, int times, const char *prefix, const char *suffix)
{
    size_t ul = strlen(unit);
    char *s = malloc(strlen(prefix) + ul * (size_t)times + strlen(suffix) + 1);
    char *w = s + sprintf(s, "%s", prefix);
    for (int i = 0; i < times; i++, w += ul)
        memcpy(w, unit, ul);
    strcpy(w, suffix);
    return s;
}

static void check_errors(CURL *h, const svc_proc *p, tc_proto proto)
{
    expect_error(h, p, proto, "GET", "/nowhere", NULL, 404, NULL, "unknown path");
    expect_error(h, p, proto, "GET", "/embed", NULL, 405, NULL, "GET /embed");
    tc_reply r;
    tc_request(h, p, proto, "DELETE", "/health", NULL, NULL, &r);
    CHECK(r.status == 405 && strstr(r.allow, "GET"), "[%s] 405 names the allowed methods (%s)",
          tc_proto_names[proto], r.allow);
    tc_reply_free(&r);
    expect_error(h, p, proto, "POST", "/embed", "{\"texts\":[\"a\"", 422, "json_invalid", "broken JSON");
    expect_error(h, p, proto, "POST", "/embed", "[\"a\"]", 422, "model_attributes_type", "JSON that is not an object");
    expect_error(h, p, proto, "POST", "/embed", "{}", 422, "missing", "missing texts");
    expect_error(h, p, proto, "POST", "/embed", "{\"texts\":\"a\"}", 422, "list_type", "texts not a list");
    expect_error(h, p, proto, "POST", "/embed", "{\"texts\":[\"a\",1]}", 422, "string_type", "non-string text");
    check_embed_empty(h, p, proto);
    char *many = repeat("\"x\",", 50, "{\"texts\":[", "\"x\"]}"); /* 51 > GPU_MAX_BATCH_SIZE 50 */
    expect_error(h, p, proto, "POST", "/embed", many, 422, "too_long", "more than GPU_MAX_BATCH_SIZE texts");
    free(many);
    char *fits = repeat("\xc3\xa9", 6000, "{\"texts\":[\"", "\"]}"); /* 6000 characters, 12000 bytes */
    tc_request(h, p, proto, "POST", "/embed", fits, NULL, &r);
    CHECK(r.status == 200, "[%s] a text of exactly GPU_MAX_TEXT_LENGTH characters is fine (%ld)",
          tc_proto_names[proto], r.status);
    tc_reply_free(&r);
    free(fits);
    char *long_text = repeat("\xc3\xa9", 6001, "{\"texts\":[\"", "\"]}");
    expect_error(h, p, proto, "POST", "/embed", long_text, 422, "string_too_long", "text over GPU_MAX_TEXT_LENGTH characters");
    free(long_text);
    expect_error(h, p, proto, "POST", "/embed", "{\"texts\":[\"a\"],\"model\":\"../../etc\"}", 400, NULL, "path escape in the model name");
    expect_error(h, p, proto, "POST", "/embed", "{\"texts\":[\"a\"],\"model\":\"no-such-model\"}", 404, NULL, "unknown model");
    expect_error(h, p, proto, "POST", "/bertscore", "{\"candidates\":[\"a\"],\"references\":[\"a\",\"b\"]}", 400, NULL, "unequal candidates and references");
    expect_error(h, p, proto, "POST", "/bertscore", "{\"candidates\":[\"a\"],\"references\":[\"b\"],\"idf\":\"maybe\"}", 422, "bool_type", "idf not a bool");
    expect_error(h, p, proto, "POST", "/bertscore", "{\"candidates\":[\"a\"],\"references\":[\"b\"],\"model_type\":\"no-such-model\"}", 404, NULL, "unknown BERTScore model");
    tc_request(h, p, proto, "POST", "/bertscore", "{\"candidates\":[\"a\"],\"references\":[\"b\"],\"model_type\":\"tiny-bert\",\"num_layers\":9}", NULL, &r);
    CHECK(r.status == 400, "[%s] num_layers beyond the model is 400 (%ld %s)", tc_proto_names[proto], r.status, tc_body(&r));
    tc_reply_free(&r);

    /* OpenAI's shape on /v1/... */
    expect_error(h, p, proto, "POST", "/v1/embeddings", "{\"input\":[]}", 400, NULL, "OpenAI empty input");
    tc_request(h, p, proto, "POST", "/v1/embeddings", "{\"input\":[]}", NULL, &r);
    json_t *empty = tc_json(&r);
    CHECK(json_str_is(json_object_get(json_object_get(empty, "error"), "param"), "input"),
          "[%s] OpenAI empty input names param input (%s)", tc_proto_names[proto], tc_body(&r));
    json_decref(empty);
    tc_reply_free(&r);
    expect_error(h, p, proto, "POST", "/v1/embeddings", "{\"input\":5}", 400, NULL, "OpenAI input of the wrong type");
    expect_error(h, p, proto, "POST", "/v1/embeddings", "{\"input\":\"a\",\"encoding_format\":\"hex\"}", 400, NULL, "OpenAI bad encoding_format");
    expect_error(h, p, proto, "POST", "/v1/embeddings", "{\"input\":\"a\",\"dimensions\":4096}", 400, NULL, "OpenAI dimensions over the model's");
    expect_error(h, p, proto, "POST", "/v1/embeddings", "not json", 400, NULL, "OpenAI body that is not JSON");
    tc_request(h, p, proto, "POST", "/v1/embeddings", "{\"input\":\"a\",\"model\":\"no-such-model\"}", NULL, &r);
    json_t *root = tc_json(&r);
    CHECK(r.status == 404 && json_str_is(json_object_get(json_object_get(root, "error"), "code"), "model_not_found"),
          "[%s] OpenAI unknown model: 404 model_not_found (%s)", tc_proto_names[proto], tc_body(&r));
    json_decref(root);
    tc_reply_free(&r);

    /* bodies over --max-body 512k: a JSON 413 up to twice the limit on both protocols */
    char *big = repeat("a", 600 * 1024, "{\"texts\":[\"", "\"]}");
    expect_error(h, p, proto, "POST", "/embed", big, 413, NULL, "body over --max-body");
    expect_error(h, p, proto, "POST", "/v1/embeddings", big, 413, NULL, "OpenAI body over --max-body");
    free(big);
    if (proto == TC_H1) { /* beyond twice the limit h2o refuses before reading the body */
        char *huge = repeat("a", 3 * 1024 * 1024, "{\"texts\":[\"", "\"]}");
        expect_error(h, p, proto, "POST", "/embed", huge, 413, NULL, "body far over --max-body (refused unread)");
        free(huge);
    }
}

/* Several streams on one h2c connection, errors among them, with the nghttp client (libcurl
 * 7.88 cannot reuse a prior-knowledge connection). Returns the status codes, sorted (nghttp
 * lists streams in order of completion). */
static int nghttp_codes(const svc_proc *p, const char *data, const char *const *paths,
                        int *codes, int max)
{
    char cmd[2000], file[600];
    int used = 0;
    if (data) {
        snprintf(file, sizeof(file), "%s/nghttp-body.json", tc_scratch());
        FILE *f = fopen(file, "w");
        fputs(data, f);
        fclose(f);
        used = snprintf(cmd, sizeof(cmd), "nghttp -n -s -H 'content-type: application/json' -d '%s'", file);
    } else {
        used = snprintf(cmd, sizeof(cmd), "nghttp -n -s");
    }
    for (const char *const *path = paths; *path; path++)
        used += snprintf(cmd + used, sizeof(cmd) - (size_t)used, " http://127.0.0.1:%d%s", p->port, *path);
    snprintf(cmd + used, sizeof(cmd) - (size_t)used, " 2>&1");
    FILE *out = popen(cmd, "r");
    if (!out)
        return 0;
    char line[512];
    int n = 0, in_table = 0;
    while (fgets(line, sizeof(line), out)) {
        if (strstr(line, "responseEnd")) {
            in_table = 1;
            continue;
        }
        int id, code;
        char end[32], start[32], process[32];
        if (in_table && n < max &&
            sscanf(line, " %d %31s %31s %31s %d", &id, end, start, process, &code) == 5)
            codes[n++] = code;
    }
    pclose(out);
    for (int i = 1; i < n; i++) /* insertion sort of a handful */
        for (int j = i; j > 0 && codes[j - 1] > codes[j]; j--) {
            int t = codes[j];
            codes[j] = codes[j - 1];
            codes[j - 1] = t;
        }
    return n;
}

static void check_h2c_streams(const svc_proc *p)
{
    int codes[8] = {0};
    const char *gets[] = {"/nowhere", "/health", "/status", "/v1/models", NULL};
    int n = nghttp_codes(p, NULL, gets, codes, 8);
    CHECK(n == 4 && codes[0] == 200 && codes[1] == 200 && codes[2] == 200 && codes[3] == 404,
          "nghttp: 4 GET streams on one h2c connection: %d answers (%d %d %d %d)", n, codes[0],
          codes[1], codes[2], codes[3]);
    /* nghttp sends each distinct URI once: a query string keeps the two /embed apart */
    const char *posts[] = {"/embed?n=1", "/embed?n=2", "/v1/embeddings", NULL};
    n = nghttp_codes(p, "{}", posts, codes, 8);
    CHECK(n == 3 && codes[0] == 400 && codes[1] == 422 && codes[2] == 422,
          "nghttp: error streams on one h2c connection (%d: %d %d %d)", n, codes[0], codes[1], codes[2]);
    n = nghttp_codes(p, "{\"texts\":[\"one\",\"two\"],\"input\":\"three\"}", posts, codes, 8);
    CHECK(n == 3 && codes[0] == 200 && codes[1] == 200 && codes[2] == 200,
          "nghttp: concurrent compute streams on one h2c connection (%d: %d %d %d)", n, codes[0],
          codes[1], codes[2]);
}

/* tiny-bert-dense (Dense + Normalize after pooling, prompts with a default): every case of
 * the oracle's embeddings_with_prompt over /embed and /v1/embeddings (the request's
 * prompt_name / prompt passed as given; no field = the default prompt), then the errors: an
 * unknown prompt_name is 400 naming the model's prompts (also with no texts), a prompt with
 * token-id input is 400. */
static void check_embed_prompts(CURL *h, const svc_proc *p, tc_proto proto)
{
    const char *pn = tc_proto_names[proto];
    json_t *cases = json_object_get(json_object_get(oracle_dense, "embeddings_with_prompt"), "cases");
    CHECK(json_array_size(cases) >= 4, "[%s] tiny-bert-dense prompt cases", pn);
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *c = json_array_get(cases, k);
        const char *name = json_string_value(json_object_get(c, "name"));
        for (int openai = 0; openai < 2; openai++) {
            json_t *req = json_deep_copy(json_object_get(c, "request"));
            json_object_set(req, openai ? "input" : "texts", json_object_get(c, "texts"));
            json_object_set_new(req, "model", json_string("tiny-bert-dense"));
            char *body = json_dumps(req, JSON_COMPACT);
            tc_reply r;
            long status = tc_request(h, p, proto, "POST", openai ? "/v1/embeddings" : "/embed",
                                     body, NULL, &r);
            json_t *root = tc_json(&r);
            json_t *want = json_object_get(c, "embeddings");
            int n = (int)json_array_size(want), ok = status == 200 && n > 0, dim = 16;
            float *got = calloc((size_t)n * dim, sizeof(float)), *exp = calloc((size_t)n * dim, sizeof(float));
            for (int i = 0; ok && i < n; i++) {
                json_t *row = openai ? json_object_get(json_array_get(json_object_get(root, "data"), i), "embedding")
                                     : json_array_get(json_object_get(root, "embeddings"), i);
                ok &= json_array_size(row) == (size_t)dim;
                for (int j = 0; ok && j < dim; j++) {
                    got[(size_t)i * dim + j] = (float)json_number_value(json_array_get(row, j));
                    exp[(size_t)i * dim + j] = (float)json_number_value(json_array_get(json_array_get(want, i), j));
                }
            }
            double worst = 0;
            CHECK(ok && vectors_close(got, exp, n, dim, 1e-4, &worst),
                  "[%s] %s tiny-bert-dense case %s within 1e-4 (worst %.2e): %ld %.200s", pn,
                  openai ? "/v1/embeddings" : "/embed", name, worst, status, ok ? "" : tc_body(&r));
            free(got);
            free(exp);
            json_decref(root);
            tc_reply_free(&r);
            free(body);
            json_decref(req);
        }
    }
    const char *bad[][2] = {
        {"/embed", "{\"texts\":[\"a\"],\"model\":\"tiny-bert-dense\",\"prompt_name\":\"nope\"}"},
        {"/embed", "{\"texts\":[],\"model\":\"tiny-bert-dense\",\"prompt_name\":\"nope\"}"},
        {"/v1/embeddings", "{\"input\":\"a\",\"model\":\"tiny-bert-dense\",\"prompt_name\":\"nope\"}"},
    };
    for (int i = 0; i < 3; i++) {
        tc_reply r;
        long status = tc_request(h, p, proto, "POST", bad[i][0], bad[i][1], NULL, &r);
        CHECK(status == 400 && strstr(tc_body(&r), "unknown prompt_name 'nope'") &&
                  strstr(tc_body(&r), "query, document"),
              "[%s] %s %s: 400 naming the prompts (%ld %s)", pn, bad[i][0], bad[i][1], status,
              tc_body(&r));
        tc_reply_free(&r);
    }
    expect_error(h, p, proto, "POST", "/v1/embeddings",
                 "{\"input\":[101,102],\"model\":\"tiny-bert-dense\",\"prompt_name\":\"query\"}", 400,
                 NULL, "prompt_name with token ids");
    expect_error(h, p, proto, "POST", "/embed", "{\"texts\":[\"a\"],\"prompt_name\":7}", 422,
                 "string_type", "prompt_name not a string");
}

/* ---------------------------------------------------------------- scenarios */

static void test_plain_server(void)
{
    const char *env[] = {"MODEL_EMBED=tiny-bert", "MODEL_BERTSCORE=tiny-roberta",
                         "GPU_MAX_BATCH_SIZE=50", "GPU_MAX_TEXT_LENGTH=6000",
                         "GPU_MAX_CONCURRENT=3", "VKB_BERTSCORE_LAYERS=1", NULL};
    char dir_env[600], base_env[600];
    snprintf(dir_env, sizeof(dir_env), "VKB_MODEL_DIR=%s", models_dir);
    snprintf(base_env, sizeof(base_env), "VKB_BASELINE_DIR=%s", baseline_dir);
    const char *env_all[] = {env[0], env[1], env[2], env[3], env[4], env[5], dir_env, base_env, NULL};
    const char *args[] = {"--device", "cpu", "--max-body", "512k", NULL};
    svc_proc p;
    int rc = tc_start(&p, "plain", env_all, args);
    CHECK(rc == 0, "server starts (rc %d)", rc);
    if (rc != 0)
        return;
    int saw_loading = 0;
    CHECK(tc_wait_ready(&p, 120, &saw_loading), "/health becomes 200");
    printf("/health before the start-up models were loaded: %s\n",
           saw_loading ? "503 loading (seen)" : "not caught (models loaded before the first poll)");

    for (tc_proto proto = TC_H1; proto <= TC_H2C; proto++) {
        CURL *h = curl_easy_init();
        check_embed_oracle(h, &p, proto, oracle_bert, "tiny-bert");
        check_embed_oracle(h, &p, proto, oracle_roberta, "tiny-roberta"); /* loaded on demand */
        check_bertscore_oracle(h, &p, proto, oracle_bert);
        check_bertscore_oracle(h, &p, proto, oracle_roberta);
        /* XLM-R: RoBERTa layout with a SentencePiece Unigram tokenizer, loaded on demand */
        check_embed_oracle(h, &p, proto, oracle_xlmr, "tiny-xlmr");
        check_bertscore_oracle(h, &p, proto, oracle_xlmr);
        if (oracle_distilbert && oracle_mpnet) {
            check_embed_oracle(h, &p, proto, oracle_distilbert, "tiny-distilbert");
            check_embed_oracle(h, &p, proto, oracle_mpnet, "tiny-mpnet");
            check_embed_oracle_singly(h, &p, proto, oracle_distilbert, "tiny-distilbert");
            check_embed_oracle_singly(h, &p, proto, oracle_mpnet, "tiny-mpnet");
            check_bertscore_oracle(h, &p, proto, oracle_distilbert);
            check_bertscore_oracle(h, &p, proto, oracle_mpnet);
        }
        check_bertscore_nul(h, &p, proto);
        check_bertscore_own_layers(h, &p, proto);
        check_openai(h, &p, proto);
        check_reports(h, &p, proto, 3);
        check_errors(h, &p, proto);
        if (oracle_dense)
            check_embed_prompts(h, &p, proto);
        curl_easy_cleanup(h);
    }
    check_h2c_streams(&p);

    /* /embed equals `vkbridge embed` on the same device */
    json_t *texts = json_object_get(json_object_get(oracle_bert, "embeddings"), "texts");
    char in_path[600], out_path[600], cmd[2400];
    snprintf(in_path, sizeof(in_path), "%s/texts.jsonl", tc_scratch());
    snprintf(out_path, sizeof(out_path), "%s/cli.json", tc_scratch());
    FILE *f = fopen(in_path, "w");
    size_t i;
    json_t *t;
    json_array_foreach(texts, i, t)
    {
        json_t *line = json_pack("{sO}", "text", t);
        char *s = json_dumps(line, JSON_COMPACT);
        fprintf(f, "%s\n", s);
        free(s);
        json_decref(line);
    }
    fclose(f);
    snprintf(cmd, sizeof(cmd), "VKB_MODEL_DIR='%s' '%s' embed --model tiny-bert --device cpu --quiet < '%s' > '%s'",
             models_dir, tc_binary(), in_path, out_path);
    int cli_rc = system(cmd);
    char *cli_text = tc_read_file(out_path, NULL);
    json_t *cli = cli_text ? json_loads(cli_text, 0, NULL) : NULL;
    CURL *h = curl_easy_init();
    json_t *req = json_pack("{sO}", "texts", texts);
    char *body = json_dumps(req, JSON_COMPACT);
    tc_reply r;
    tc_request(h, &p, TC_H1, "POST", "/embed", body, NULL, &r);
    json_t *served = tc_json(&r);
    int n1, d1, n2, d2;
    float *a = embeddings_of(served, "embeddings", &n1, &d1);
    float *b = embeddings_of(cli, "embeddings", &n2, &d2);
    double worst = 0;
    int exact = n1 == n2 && d1 == d2 && n1 > 0 && !memcmp(a, b, sizeof(float) * (size_t)n1 * d1);
    CHECK(cli_rc == 0 && cli && n1 == n2 && d1 == d2 && vectors_close(a, b, n1, d1, 1e-6, &worst),
          "/embed equals `vkbridge embed` (rc %d, %d x %d vs %d x %d, worst %.2e, bit-exact %s)",
          cli_rc, n1, d1, n2, d2, worst, exact ? "yes" : "no");
    printf("/embed vs `vkbridge embed`: %d texts, worst relative difference %.2e, bit-exact: %s\n",
           n1, worst, exact ? "yes" : "no");
    free(a);
    free(b);
    json_decref(served);
    json_decref(cli);
    free(cli_text);
    tc_reply_free(&r);
    free(body);
    json_decref(req);
    curl_easy_cleanup(h);

    CHECK(tc_log_has(&p, "POST /embed 200"), "access log lines (method path status ms)");
    int code = tc_stop(&p, SIGTERM, 60);
    CHECK(code == 0, "SIGTERM: exit 0 (got %d)", code);
}

static void test_auth(void)
{
    char dir_env[600];
    snprintf(dir_env, sizeof(dir_env), "VKB_MODEL_DIR=%s", models_dir);
    const char *env[] = {"API_KEY=k3y-s3cret", "MODEL_EMBED=tiny-bert", "MODEL_BERTSCORE=", dir_env, NULL};
    const char *args[] = {"--device", "cpu", NULL};
    svc_proc p;
    if (tc_start(&p, "auth", env, args) != 0 || !tc_wait_ready(&p, 120, NULL)) {
        CHECK(0, "auth server starts");
        tc_stop(&p, SIGKILL, 5);
        return;
    }
    struct { const char *method, *path, *body; } eps[] = {
        {"GET", "/info", NULL}, {"GET", "/status", NULL}, {"GET", "/metrics", NULL},
        {"GET", "/v1/models", NULL}, {"GET", "/openapi.json", NULL}, {"GET", "/docs", NULL},
        {"POST", "/embed", "{\"texts\":[\"a\"]}"},
        {"POST", "/bertscore", "{\"candidates\":[\"a\"],\"references\":[\"b\"],\"model_type\":\"tiny-bert\",\"num_layers\":1}"},
        {"POST", "/v1/embeddings", "{\"input\":\"a\"}"}, {"GET", "/nowhere", NULL},
    };
    const char *good[] = {"X-API-Key: k3y-s3cret", NULL};
    const char *wrong[] = {"X-API-Key: k3y-s3creT", NULL};
    const char *bearer[] = {"Authorization: Bearer k3y-s3cret", NULL};
    for (tc_proto proto = TC_H1; proto <= TC_H2C; proto++) {
        const char *pn = tc_proto_names[proto];
        CURL *h = curl_easy_init();
        tc_reply r;
        CHECK(tc_request(h, &p, proto, "GET", "/health", NULL, NULL, &r) == 200, "[%s] /health needs no key", pn);
        tc_reply_free(&r);
        for (size_t i = 0; i < sizeof(eps) / sizeof(*eps); i++) {
            int v1 = !strncmp(eps[i].path, "/v1/", 4);
            long status = tc_request(h, &p, proto, eps[i].method, eps[i].path, eps[i].body, NULL, &r);
            json_t *root = tc_json(&r);
            int shaped = v1 ? json_str_is(json_object_get(json_object_get(root, "error"), "code"), "invalid_api_key")
                            : json_str_is(json_object_get(root, "detail"), "Unauthorized");
            CHECK(status == 401 && shaped, "[%s] %s %s without a key: 401 (%ld %s)", pn, eps[i].method, eps[i].path, status, tc_body(&r));
            json_decref(root);
            tc_reply_free(&r);
            status = tc_request(h, &p, proto, eps[i].method, eps[i].path, eps[i].body, wrong, &r);
            CHECK(status == 401, "[%s] %s with a wrong key: 401 (%ld)", pn, eps[i].path, status);
            tc_reply_free(&r);
            long want = !strcmp(eps[i].path, "/nowhere") ? 404 : 200;
            status = tc_request(h, &p, proto, eps[i].method, eps[i].path, eps[i].body, good, &r);
            CHECK(status == want, "[%s] %s with X-API-Key: %ld (got %ld %.200s)", pn, eps[i].path, want, status, tc_body(&r));
            tc_reply_free(&r);
            status = tc_request(h, &p, proto, eps[i].method, eps[i].path, eps[i].body, bearer, &r);
            long want_bearer = v1 ? want : 401;
            CHECK(status == want_bearer, "[%s] %s with Bearer: %ld (got %ld)", pn, eps[i].path, want_bearer, status);
            tc_reply_free(&r);
        }
        curl_easy_cleanup(h);
    }
    CHECK(tc_stop(&p, SIGINT, 60) == 0, "SIGINT: exit 0");
}

static int have_vulkan(void)
{
    vkb_device_info *info = NULL;
    int n = 0;
    char err[256];
    if (vkb_vulkan_devices(&info, &n, err, sizeof err) != VKB_OK)
        n = 0;
    free(info);
    return n > 0;
}

/* The default device through the real server: /health, /info and the listening line say
 * which device "auto" chose and why; with only CPU-type Vulkan devices (lavapipe) it is the
 * CPU backend. */
static void test_auto_device(void)
{
    char dir_env[600];
    snprintf(dir_env, sizeof(dir_env), "VKB_MODEL_DIR=%s", models_dir);
    const char *env[] = {"MODEL_EMBED=tiny-bert", "MODEL_BERTSCORE=", dir_env, NULL};
    const char *args[] = {NULL};
    vkb_device_info *info = NULL;
    int n = 0, gpus = 0;
    char err[256];
    if (vkb_vulkan_devices(&info, &n, err, sizeof err) != VKB_OK)
        n = 0;
    for (int i = 0; i < n; i++)
        gpus += strcmp(info[i].type, "cpu") != 0;
    free(info);
    svc_proc p;
    int rc = tc_start(&p, "auto", env, args);
    CHECK(rc == 0, "server with the default device starts (rc %d)", rc);
    if (rc != 0)
        return;
    CURL *h = curl_easy_init();
    CHECK(tc_wait_ready(&p, 120, NULL), "auto server ready");
    tc_reply r;
    long status = tc_request(h, &p, TC_H2C, "GET", "/health", NULL, NULL, &r);
    json_t *root = tc_json(&r);
    const char *dev = json_string_value(json_object_get(root, "device"));
    const char *why = json_string_value(json_object_get(root, "device_choice"));
    CHECK(status == 200 && dev && why && !strncmp(why, "auto: ", 6), "/health says auto's choice: %s",
          tc_body(&r));
    if (dev && why && gpus == 0)
        CHECK(!strcmp(dev, "cpu") && strstr(why, n ? "CPU-type" : "no Vulkan device"),
              "no GPU (%d CPU-type Vulkan devices): auto is the CPU backend, and says why: %s", n,
              why);
    if (dev && gpus > 0)
        CHECK(!strncmp(dev, "vulkan:", 7), "a GPU is there: auto takes it (%s)", dev);
    char *line = tc_log(&p);
    CHECK(line && why && strstr(line, why), "the start-up line says it too");
    free(line);
    char *why_copy = why ? strdup(why) : NULL; /* why lives in root, freed next */
    why = why_copy;
    json_decref(root);
    tc_reply_free(&r);
    status = tc_request(h, &p, TC_H2C, "GET", "/info", NULL, NULL, &r);
    root = tc_json(&r);
    CHECK(status == 200 && why && json_str_is(json_object_get(root, "device_choice"), why),
          "/info says the same: %s", tc_body(&r));
    free(why_copy);
    json_decref(root);
    tc_reply_free(&r);
    curl_easy_cleanup(h);
    CHECK(tc_stop(&p, SIGTERM, 60) == 0, "auto server: exit 0 on SIGTERM");
}

static void test_tls(void)
{
    char cmd[2000];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s/key.pem' -out '%s/cert.pem' "
             "-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             ">/dev/null 2>&1",
             tc_scratch(), tc_scratch());
    if (system(cmd) != 0) {
        CHECK(0, "openssl made a self-signed certificate");
        return;
    }
    char dir_env[600], cert[600], key[600];
    snprintf(dir_env, sizeof(dir_env), "VKB_MODEL_DIR=%s", models_dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", tc_scratch());
    snprintf(key, sizeof(key), "%s/key.pem", tc_scratch());
    const char *env[] = {"MODEL_EMBED=tiny-bert", "MODEL_BERTSCORE=tiny-roberta",
                         "VKB_BERTSCORE_LAYERS=2", dir_env, NULL};
    /* On Vulkan when there is a device (lavapipe here: "auto" no longer picks it, so ask) */
    const char *args[] = {"--tls-cert", cert, "--tls-key", key, "--device",
                          have_vulkan() ? "vulkan" : "cpu", NULL};
    svc_proc p;
    int rc = tc_start(&p, "tls", env, args);
    CHECK(rc == 0 && p.tls, "TLS server starts and says https (rc %d)", rc);
    if (rc != 0)
        return;
    CURL *h = curl_easy_init();
    tc_reply r;
    double deadline = tc_now() + 120;
    long status = 0;
    while (status != 200 && tc_now() < deadline) {
        status = tc_request(h, &p, TC_TLS_H2, "GET", "/health", NULL, NULL, &r);
        if (status != 200)
            usleep(20000);
        if (status == 200)
            CHECK(r.version == CURL_HTTP_VERSION_2_0, "ALPN picked h2 (version %ld)", r.version);
        tc_reply_free(&r);
    }
    CHECK(status == 200, "/health over TLS");
    status = tc_request(h, &p, TC_TLS_H1, "GET", "/health", NULL, NULL, &r);
    CHECK(status == 200 && r.version == CURL_HTTP_VERSION_1_1, "HTTP/1.1 over TLS (%ld, version %ld)", status, r.version);
    tc_reply_free(&r);
    check_embed_oracle(h, &p, TC_TLS_H2, oracle_bert, "tiny-bert");
    check_embed_oracle(h, &p, TC_TLS_H1, oracle_roberta, "tiny-roberta");
    if (oracle_distilbert && oracle_mpnet) { /* on the default device: lavapipe here */
        check_embed_oracle(h, &p, TC_TLS_H2, oracle_distilbert, "tiny-distilbert");
        check_embed_oracle(h, &p, TC_TLS_H2, oracle_mpnet, "tiny-mpnet");
        check_bertscore_oracle(h, &p, TC_TLS_H2, oracle_mpnet);
    }
    expect_error(h, &p, TC_TLS_H2, "POST", "/embed", "{}", 422, "missing", "validation over TLS");
    if (oracle_dense) /* this server runs on the default device: Vulkan (lavapipe) if any */
        check_embed_prompts(h, &p, TC_TLS_H2);
    curl_easy_cleanup(h);
    CHECK(tc_stop(&p, SIGTERM, 60) == 0, "TLS server: exit 0 on SIGTERM");
}

/* tiny-bert-dense's prompt cases once more with each kernel family forced on the default
 * device (lavapipe here): VKB_KERNELS reaches the server through its environment. */
static void test_dense_kernel_families(void)
{
    char dir_env[600];
    snprintf(dir_env, sizeof(dir_env), "VKB_MODEL_DIR=%s", models_dir);
    const char *families[] = {"VKB_KERNELS=cpu", "VKB_KERNELS=gpu"};
    for (int f = 0; f < 2; f++) {
        const char *env[] = {"MODEL_EMBED=tiny-bert-dense", "MODEL_BERTSCORE=", dir_env,
                             families[f], NULL};
        svc_proc p;
        int rc = tc_start(&p, f ? "dense-gpu-kernels" : "dense-cpu-kernels", env, NULL);
        CHECK(rc == 0 && tc_wait_ready(&p, 120, NULL), "%s: server starts (rc %d)", families[f], rc);
        if (rc != 0)
            continue;
        CURL *h = curl_easy_init();
        check_embed_prompts(h, &p, TC_H1);
        if (oracle_distilbert && oracle_mpnet) { /* the later families, per kernel family too */
            check_embed_oracle(h, &p, TC_H1, oracle_distilbert, "tiny-distilbert");
            check_embed_oracle(h, &p, TC_H1, oracle_mpnet, "tiny-mpnet");
            check_embed_oracle_singly(h, &p, TC_H1, oracle_distilbert, "tiny-distilbert");
            check_embed_oracle_singly(h, &p, TC_H1, oracle_mpnet, "tiny-mpnet");
            check_bertscore_oracle(h, &p, TC_H1, oracle_mpnet);
        }
        curl_easy_cleanup(h);
        CHECK(tc_stop(&p, SIGTERM, 60) == 0, "%s: SIGTERM exit 0", families[f]);
    }
    unsetenv("VKB_KERNELS");
}

static int wait_exit(svc_proc *p, double timeout_s)
{
    double deadline = tc_now() + timeout_s;
    int ws;
    while (tc_now() < deadline) {
        if (waitpid(p->pid, &ws, WNOHANG) == p->pid) {
            p->pid = 0;
            return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
        }
        usleep(20000);
    }
    return tc_stop(p, SIGKILL, 5);
}

/* Exactly one line at error level, naming the problem; a non-zero exit. */
static void expect_startup_failure(const char *name, const char *const *env, const char *const *args,
                                   const char *needle)
{
    svc_proc p;
    int rc = tc_start(&p, name, env, args);
    if (rc == 0) /* it listened: the failure must come after (model loading) */
        rc = wait_exit(&p, 60);
    char *log = tc_log(&p);
    int error_lines = 0;
    for (const char *s = log; (s = strstr(s, " error ")) != NULL; s++)
        error_lines++;
    CHECK(rc != 0 && rc != -2 && strstr(log, needle) && error_lines == 1,
          "%s: exit %d with one clear error line containing '%s':\n%s", name, rc, needle, log);
    free(log);
}

static void test_startup_failures(void)
{
    char dir_env[600];
    snprintf(dir_env, sizeof(dir_env), "VKB_MODEL_DIR=%s", models_dir);

    /* port in use */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    listen(fd, 1);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    char port[16];
    snprintf(port, sizeof(port), "%d", ntohs(addr.sin_port));
    const char *env[] = {"MODEL_EMBED=tiny-bert", "MODEL_BERTSCORE=", dir_env, NULL};
    const char *args_port[] = {"--port", port, "--device", "cpu", NULL};
    expect_startup_failure("port-in-use", env, args_port, "cannot listen");
    close(fd);

    const char *env_missing[] = {"MODEL_EMBED=no-such-model", "MODEL_BERTSCORE=", dir_env, NULL};
    const char *args_cpu[] = {"--device", "cpu", NULL};
    svc_proc p;
    int rc = tc_start(&p, "model-missing", env_missing, args_cpu);
    if (rc == 0)
        rc = wait_exit(&p, 60); /* it listens first, then the start-up load fails */
    char *log = tc_log(&p);
    CHECK(rc == 1 && strstr(log, "cannot load model 'no-such-model'"), "missing model: exit %d\n%s", rc, log);
    free(log);

    /* MODEL_BERTSCORE outside bert_score's table: refused before anything opens, unless a
     * layer is configured, and a layer beyond the model is refused once it has loaded. */
    const char *env_own[] = {"MODEL_EMBED=tiny-bert", "MODEL_BERTSCORE=tiny-roberta", dir_env, NULL};
    rc = tc_start(&p, "bertscore-no-layers", env_own, args_cpu);
    log = tc_log(&p);
    CHECK(rc == 2 && strstr(log, "MODEL_BERTSCORE 'tiny-roberta' is not in bert_score's num_layers table") &&
              strstr(log, "--bertscore-layers") && strchr(log, '\n') == log + strlen(log) - 1,
          "own BERTScore model without a layer: exit %d, one line:\n%s", rc, log);
    free(log);
    const char *args_deep[] = {"--device", "cpu", "--bertscore-layers", "3", NULL};
    expect_startup_failure("bertscore-layers-beyond", env_own, args_deep,
                           "--bertscore-layers 3 is out of range: model 'tiny-roberta' has 2 layers");

    const char *args_dev[] = {"--device", "vulkan:99", NULL};
    expect_startup_failure("no-device", env, args_dev, "cannot open device");
    const char *args_bad[] = {"--bogus", NULL};
    rc = tc_start(&p, "bad-flag", env, args_bad);
    CHECK(rc == 2 && tc_log_has(&p, "unknown option '--bogus'"), "unknown flag: exit 2 (%d)", rc);
}

int main(void)
{
    const char *td = tl_testdata("service end-to-end tests");
    if (!td)
        return tl_finish();
    snprintf(models_dir, sizeof(models_dir), "%s/models", td);
    snprintf(baseline_dir, sizeof(baseline_dir), "%s/models/rescale_baseline", td);
    char path[600];
    snprintf(path, sizeof(path), "%s/oracle/tiny-bert.json", td);
    oracle_bert = json_load_file(path, JSON_ALLOW_NUL, NULL);
    snprintf(path, sizeof(path), "%s/oracle/tiny-roberta.json", td);
    oracle_roberta = json_load_file(path, JSON_ALLOW_NUL, NULL);
    snprintf(path, sizeof(path), "%s/oracle/tiny-xlmr.json", td);
    oracle_xlmr = json_load_file(path, JSON_ALLOW_NUL, NULL);
    CHECK(oracle_bert && oracle_roberta && oracle_xlmr, "oracle files load");
    snprintf(path, sizeof(path), "%s/oracle/tiny-distilbert.json", td);
    oracle_distilbert = json_load_file(path, JSON_ALLOW_NUL, NULL);
    snprintf(path, sizeof(path), "%s/oracle/tiny-mpnet.json", td);
    oracle_mpnet = json_load_file(path, JSON_ALLOW_NUL, NULL);
    if (!oracle_distilbert || !oracle_mpnet)
        printf("SKIP DistilBERT / MPNet over HTTP: no tiny-distilbert / tiny-mpnet oracle\n");
    snprintf(path, sizeof(path), "%s/oracle/tiny-bert-dense.json", td);
    oracle_dense = json_load_file(path, JSON_ALLOW_NUL, NULL);
    if (!oracle_dense)
        printf("SKIP tiny-bert-dense over HTTP: no %s\n", path);
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    CHECK(cv->features & CURL_VERSION_HTTP2, "libcurl speaks HTTP/2 (nghttp2 %s)",
          cv->nghttp2_version ? cv->nghttp2_version : "missing");
    curl_global_init(CURL_GLOBAL_ALL);
    signal(SIGPIPE, SIG_IGN);
    if (oracle_bert && oracle_roberta && oracle_xlmr) {
        test_plain_server();
        test_auth();
        test_tls();
        if (oracle_dense)
            test_dense_kernel_families();
        test_auto_device();
        test_startup_failures();
    }
    json_decref(oracle_bert);
    json_decref(oracle_roberta);
    json_decref(oracle_distilbert);
    json_decref(oracle_mpnet);
    json_decref(oracle_dense);
    json_decref(oracle_xlmr);
    curl_global_cleanup();
    tc_cleanup();
    return tl_finish();
}
