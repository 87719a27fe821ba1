/* test_service_shape.c — response bodies of the service, parsed back and checked. */
#include "svc_shape.h"
#include "testlib.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *parse(char *text)
{
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return root;
}

static void test_embed_and_bertscore(void)
{
    float v[6] = {0.1f, -0.2f, 0.3f, 1e-7f, 2.5f, -3.0f};
    size_t len;
    char *text = svc_shape_embed(v, 2, 3, "tiny-bert", &len);
    CHECK(text && len == strlen(text), "embed body");
    json_t *root = parse(text);
    json_t *emb = json_object_get(root, "embeddings");
    CHECK(json_array_size(emb) == 2 && json_array_size(json_array_get(emb, 1)) == 3, "(n, dim)");
    int same = 1;
    for (int i = 0; i < 6; i++)
        same &= (float)json_number_value(json_array_get(json_array_get(emb, i / 3), i % 3)) == v[i];
    CHECK(same, "floats read back exactly");
    CHECK(!strcmp(json_string_value(json_object_get(root, "model")), "tiny-bert") &&
              json_integer_value(json_object_get(root, "dimensions")) == 3,
          "model and dimensions");
    json_decref(root);

    float P[2] = {0.9f, 0.5f}, R[2] = {0.8f, 0.25f}, F[2] = {0.85f, 0.3333f};
    root = parse(svc_shape_bertscore(P, R, F, 2, "tiny-roberta", NULL));
    CHECK((float)json_real_value(json_array_get(json_object_get(root, "recall"), 1)) == 0.25f &&
              (float)json_real_value(json_array_get(json_object_get(root, "f1"), 1)) == 0.3333f &&
              json_array_size(json_object_get(root, "precision")) == 2 &&
              !strcmp(json_string_value(json_object_get(root, "model")), "tiny-roberta"),
          "bertscore body");
    json_decref(root);
}

static void test_openai(void)
{
    /* rows (3,4,0,0) and (0,0,0,2): keep 2 -> (0.6,0.8) and (0,0) (norm floored) */
    float v[8] = {3, 4, 0, 0, 0, 0, 0, 2};
    svc_truncate_renormalise(v, 2, 4, 2);
    CHECK(fabsf(v[0] - 0.6f) < 1e-7f && fabsf(v[1] - 0.8f) < 1e-7f && v[2] == 0 && v[3] == 0,
          "truncate + renormalise packs rows: %g %g %g %g", v[0], v[1], v[2], v[3]);

    float w[4] = {1.0f, -2.0f, 0.5f, 0.25f};
    json_t *root = parse(svc_shape_openai_embeddings(w, 2, 2, 0, "m", 7, NULL));
    json_t *d1 = json_array_get(json_object_get(root, "data"), 1);
    CHECK(!strcmp(json_string_value(json_object_get(root, "object")), "list") &&
              !strcmp(json_string_value(json_object_get(d1, "object")), "embedding") &&
              json_integer_value(json_object_get(d1, "index")) == 1 &&
              json_real_value(json_array_get(json_object_get(d1, "embedding"), 1)) == 0.25,
          "OpenAI float shape");
    json_t *usage = json_object_get(root, "usage");
    CHECK(json_integer_value(json_object_get(usage, "prompt_tokens")) == 7 &&
              json_integer_value(json_object_get(usage, "total_tokens")) == 7,
          "usage");
    json_decref(root);

    root = parse(svc_shape_openai_embeddings(w, 2, 2, 1, "m", 7, NULL));
    const char *b64 = json_string_value(
        json_object_get(json_array_get(json_object_get(root, "data"), 0), "embedding"));
    /* 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 */
    CHECK(b64 && !strcmp(b64, "AACAPwAAAMA="), "base64 of little-endian float32: %s", b64 ? b64 : "");
    json_decref(root);
}

static void test_small_documents(void)
{
    json_t *root = parse(svc_shape_health(0, "vulkan:0", NULL));
    CHECK(!strcmp(json_string_value(json_object_get(root, "status")), "loading") &&
              !strcmp(json_string_value(json_object_get(root, "device")), "vulkan:0"),
          "health loading");
    json_decref(root);

    svc_job_view jobs[1] = {{7, "embed", 1700000000.1234, 40, "tiny-bert", 8, 32}};
    svc_status_view sv = {2, 1, 1, 3, jobs, 1};
    root = parse(svc_shape_status(&sv, NULL));
    json_t *q = json_object_get(root, "queue");
    json_t *j = json_array_get(json_object_get(root, "active_jobs"), 0);
    CHECK(json_integer_value(json_object_get(q, "max_concurrent")) == 2 &&
              json_integer_value(json_object_get(q, "in_flight")) == 1 &&
              json_integer_value(json_object_get(q, "available_slots")) == 1 &&
              json_integer_value(json_object_get(q, "waiting_estimate")) == 3,
          "status queue");
    CHECK(!strcmp(json_string_value(json_object_get(j, "id")), "job-7") &&
              json_integer_value(json_object_get(j, "items")) == 40 &&
              json_real_value(json_object_get(j, "progress")) == 0.25 &&
              !strcmp(json_string_value(json_object_get(j, "started_at")), "2023-11-14T22:13:20.123Z"),
          "status job");
    json_decref(root);

    vkb_device_info dev;
    memset(&dev, 0, sizeof(dev));
    dev.index = 0;
    snprintf(dev.name, sizeof(dev.name), "llvmpipe");
    snprintf(dev.type, sizeof(dev.type), "cpu");
    dev.n_heaps = 1;
    dev.heaps[0].size = 2048ull << 20;
    dev.heaps[0].usage = 100ull << 20;
    dev.heaps[0].device_local = 1;
    dev.has_memory_budget = 1;
    vkb_engine_stats es;
    memset(&es, 0, sizeof(es));
    es.n_devices = 1;
    snprintf(es.devices[0].id, sizeof(es.devices[0].id), "vulkan:0");
    snprintf(es.devices[0].name, sizeof(es.devices[0].name), "llvmpipe");
    const char *loaded[] = {"bertscore:tiny-roberta", "embed:tiny-bert"};
    svc_info_view iv = {"vulkan:0", loaded, 2, "0.1.0", "1.3.239", &dev, 1, &es};
    root = parse(svc_shape_info(&iv, NULL));
    const char *keys[] = {"device", "device_name", "vram_total_mb", "vram_used_mb",
                          "pytorch_version", "cuda_version", "loaded_models", "runtime",
                          "vulkan_version", "devices"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
        CHECK(json_object_get(root, keys[k]) != NULL, "/info has %s", keys[k]);
    CHECK(json_is_null(json_object_get(root, "cuda_version")), "cuda_version null");
    CHECK(json_real_value(json_object_get(root, "vram_total_mb")) == 2048 &&
              json_real_value(json_object_get(root, "vram_used_mb")) == 100,
          "VRAM of the device in use");
    CHECK(strstr(json_string_value(json_object_get(root, "pytorch_version")), "no PyTorch") != NULL,
          "pytorch_version says there is none");
    json_t *d0 = json_array_get(json_object_get(root, "devices"), 0);
    CHECK(json_is_true(json_object_get(d0, "in_use")) &&
              !strcmp(json_string_value(json_object_get(d0, "name")), "llvmpipe"),
          "inventory entry");
    json_decref(root);

    /* The CPU backend: host memory in the same fields, what the engine holds as used */
    snprintf(es.devices[0].id, sizeof(es.devices[0].id), "cpu");
    es.devices[0].bytes_in_use = 300ull << 20;
    svc_info_view cv = {"cpu", loaded, 2, "0.1.0", "none", NULL, 0, &es};
    root = parse(svc_shape_info(&cv, NULL));
    double host_mb = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
    CHECK(fabs(json_real_value(json_object_get(root, "vram_total_mb")) - host_mb) < 1 &&
              json_real_value(json_object_get(root, "vram_used_mb")) == 300,
          "CPU backend: host memory %.1f MiB as vram_total_mb, engine bytes as vram_used_mb",
          json_real_value(json_object_get(root, "vram_total_mb")));
    json_decref(root);

    const char *avail[] = {"tiny-bert", "tiny-roberta"};
    const char *ld[] = {"tiny-bert"};
    root = parse(svc_shape_models(ld, 1, avail, 2, NULL));
    json_t *data = json_object_get(root, "data");
    CHECK(json_array_size(data) == 2 &&
              json_is_true(json_object_get(json_array_get(data, 0), "loaded")) &&
              json_is_false(json_object_get(json_array_get(data, 1), "loaded")) &&
              !strcmp(json_string_value(json_object_get(json_array_get(data, 1), "object")), "model"),
          "models list, loaded first, no duplicates");
    json_decref(root);
}

int main(void)
{
    test_embed_and_bertscore();
    test_openai();
    test_small_documents();
    return tl_finish();
}
