/*
 * test_engine_hidden.c — vkb_engine_hidden_states against the oracle: every layer of every
 * hidden-state text of tiny-bert and tiny-roberta, on the CPU backend and on Vulkan, through
 * the engine's worker (tokenizer included); plus the refusal of a layer out of range.
 */
#include "testlib.h"
#include "vkb_runtime.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Real tokens of text t: the count of 1s in its attention mask. */
static int real_tokens(json_t *hs, size_t t)
{
    json_t *mask = json_array_get(json_object_get(hs, "attention_mask"), t);
    int n = 0;
    for (size_t i = 0; i < json_array_size(mask); i++)
        n += (int)json_integer_value(json_array_get(mask, i));
    return n;
}

static void check_model(const char *device, const char *models, const char *oracle_path,
                        const char *name)
{
    json_error_t jerr;
    json_t *oracle = json_load_file(oracle_path, JSON_ALLOW_NUL, &jerr);
    if (!CHECK(oracle, "%s: %s", oracle_path, jerr.text))
        return;
    json_t *hs = json_object_get(oracle, "hidden_states");
    json_t *texts = json_object_get(hs, "texts"), *layers = json_object_get(hs, "hidden_states");
    vkb_engine_config c = {.device = device, .model_dir = models, .embed_batch = 8};
    vkb_engine *e;
    char err[512];
    if (vkb_engine_create(&c, &e, err, sizeof err) != VKB_OK) {
        printf("SKIP %s on %s: %s\n", name, device, err);
        json_decref(oracle);
        return;
    }
    double worst = 0;
    for (size_t layer = 0; layer < json_array_size(layers); layer++) {
        for (size_t t = 0; t < json_array_size(texts); t++) {
            const char *text = json_string_value(json_array_get(texts, t));
            json_t *want = json_array_get(json_array_get(layers, layer), t);
            float *got = NULL;
            int n = 0;
            int rc = vkb_engine_hidden_states(e, name, text, strlen(text), (int)layer, &got, &n,
                                              err, sizeof err);
            if (!CHECK(rc == VKB_OK, "%s %s layer %zu text %zu: %s", device, name, layer, t, err))
                continue;
            CHECK(n == real_tokens(hs, t) && (size_t)n == json_array_size(want),
                  "%s %s text %zu: %d tokens, oracle %zu", device, name, t, n,
                  json_array_size(want));
            size_t C = json_array_size(json_array_get(want, 0));
            double maxdiff = 0, maxref = 1;
            for (int i = 0; i < n && (size_t)i < json_array_size(want); i++)
                for (size_t k = 0; k < C; k++) {
                    double w = json_real_value(json_array_get(json_array_get(want, i), k));
                    double d = fabs(got[(size_t)i * C + k] - w);
                    maxdiff = d > maxdiff || isnan(d) ? d : maxdiff;
                    maxref = fabs(w) > maxref ? fabs(w) : maxref;
                }
            CHECK(maxdiff <= 1e-4 * maxref, "%s %s layer %zu text %zu: max diff %g", device, name,
                  layer, t, maxdiff);
            worst = maxdiff / maxref > worst ? maxdiff / maxref : worst;
            free(got);
        }
    }
    float *got = NULL;
    int n = 0;
    int bad = (int)json_array_size(layers); /* one past num_layers */
    CHECK(vkb_engine_hidden_states(e, name, "x", 1, bad, &got, &n, err, sizeof err) ==
                  VKB_EINVAL && !got && strstr(err, "out of range"),
          "%s %s: layer %d refused (%s)", device, name, bad, err);
    CHECK(vkb_engine_hidden_states(e, name, "x", 1, -1, &got, &n, err, sizeof err) == VKB_EINVAL,
          "%s %s: layer -1 refused", device, name);
    printf("%s %s: %zu layers x %zu texts, worst relative error %.2g\n", device, name,
           json_array_size(layers), json_array_size(texts), worst);
    vkb_engine_destroy(e);
    json_decref(oracle);
}

int main(void)
{
    vkb_log_set_level(VKB_LOG_WARN);
    const char *td = tl_testdata("engine hidden states vs oracle");
    if (!td)
        return tl_finish();
    char models[1024], bert[1024], roberta[1024];
    snprintf(models, sizeof models, "%s/models", td);
    snprintf(bert, sizeof bert, "%s/oracle/tiny-bert.json", td);
    snprintf(roberta, sizeof roberta, "%s/oracle/tiny-roberta.json", td);
    const char *devices[] = {"cpu", "vulkan:0"};
    for (int d = 0; d < 2; d++) {
        check_model(devices[d], models, bert, "tiny-bert");
        check_model(devices[d], models, roberta, "tiny-roberta");
    }
    CHECK(vkb_vulkan_validation_errors() == 0, "%d Vulkan validation messages",
          vkb_vulkan_validation_errors());
    return tl_finish();
}
