/* test_service_config.c — `vkbridge serve` settings from defaults, environment and flags. */
#include "testlib.h"
#include "vkb_service.h"

#include <stdio.h>
#include <string.h>

static int load(vkb_service_config *cfg, const char **env, int argc, const char **argv,
                char *err)
{
    tl_fake_env = env;
    return vkb_service_config_load(cfg, argc, (char **)argv, tl_fake_getenv, err, 256);
}

int main(void)
{
    vkb_service_config cfg;
    char err[256];
    const char *no_args[] = {"serve"};

    CHECK(load(&cfg, NULL, 1, no_args, err) == 0, "defaults load");
    CHECK(cfg.port == 8765 && !strcmp(cfg.host, "127.0.0.1") && cfg.max_concurrent == 2 &&
              cfg.max_batch_size == 100 && cfg.max_text_length == 10000 && cfg.embed_batch == 32,
          "API.md defaults");
    CHECK(!strcmp(cfg.model_embed, "all-MiniLM-L6-v2") &&
              !strcmp(cfg.model_bertscore, "roberta-large") && !strcmp(cfg.device, "auto") &&
              cfg.api_key == NULL && cfg.admission_wait_ms == 1000 && cfg.retry_after_s == 5,
          "API.md default models, device, no auth, 1 s wait, Retry-After 5");

    const char *env[] = {"API_KEY", "s3cret", "GPU_MAX_CONCURRENT", "4", "GPU_MAX_BATCH_SIZE",
                         "7", "GPU_MAX_TEXT_LENGTH", "50", "GPU_EMBED_BATCH", "16",
                         "MODEL_EMBED", "tiny-bert", "MODEL_BERTSCORE", "tiny-roberta",
                         "VKB_BERTSCORE_LAYERS", "2",
                         "TORCH_DEVICE", "cuda:1", "VKB_MODEL_DIR", "/models",
                         "VKB_BASELINE_DIR", "/baselines", "VKB_MAX_BODY", "2M",
                         "VKB_LOG_LEVEL", "warn", NULL};
    CHECK(load(&cfg, env, 1, no_args, err) == 0, "environment loads: %s", err);
    CHECK(!strcmp(cfg.api_key, "s3cret") && cfg.max_concurrent == 4 && cfg.max_batch_size == 7 &&
              cfg.max_text_length == 50 && cfg.embed_batch == 16,
          "numbers from the environment");
    CHECK(!strcmp(cfg.model_embed, "tiny-bert") && !strcmp(cfg.model_bertscore, "tiny-roberta") &&
              !strcmp(cfg.model_dir, "/models") && !strcmp(cfg.baseline_dir, "/baselines"),
          "names from the environment");
    CHECK(!strcmp(cfg.device, "vulkan:1"), "TORCH_DEVICE cuda:1 -> vulkan:1 (got %s)", cfg.device);
    CHECK(cfg.bertscore_layers == 2, "VKB_BERTSCORE_LAYERS (got %d)", cfg.bertscore_layers);

    CHECK(cfg.max_body == 2u << 20 && cfg.log_level == 1, "size suffix and log level");

    /* A BERTScore model outside bert_score's table needs a layer: refused without one. */
    CHECK(load(&cfg, NULL, 1, no_args, err) == 0 && cfg.bertscore_layers == 0,
          "roberta-large (in the table) needs no layer");
    const char *own_model[] = {"MODEL_BERTSCORE", "tiny-roberta", NULL};
    CHECK(load(&cfg, own_model, 1, no_args, err) == -1 && strstr(err, "'tiny-roberta'") &&
              strstr(err, "--bertscore-layers") && strstr(err, "VKB_BERTSCORE_LAYERS") &&
              !strchr(err, '\n'),
          "a model outside the table without a layer is refused in one line: %s", err);
    const char *hub_name[] = {"MODEL_BERTSCORE", "FacebookAI/roberta-large", NULL};
    CHECK(load(&cfg, hub_name, 1, no_args, err) == 0, "an organisation-prefixed table model: %s",
          err);
    const char *own_layers_argv[] = {"serve", "--bertscore-layers", "3"};
    CHECK(load(&cfg, own_model, 3, own_layers_argv, err) == 0 && cfg.bertscore_layers == 3,
          "--bertscore-layers makes it usable: %s", err);
    const char *zero_layers[] = {"serve", "--bertscore-layers=0"};
    CHECK(load(&cfg, own_model, 2, zero_layers, err) == -1 && strstr(err, "--bertscore-layers=0"),
          "--bertscore-layers 0 refused: %s", err);
    const char *no_model[] = {"MODEL_BERTSCORE", "", "VKB_BERTSCORE_LAYERS", "4", NULL};
    CHECK(load(&cfg, no_model, 1, no_args, err) == -1 && strstr(err, "needs a MODEL_BERTSCORE"),
          "a layer without a BERTScore model refused: %s", err);

    const char *torch_cuda[] = {"TORCH_DEVICE", "cuda", NULL};
    load(&cfg, torch_cuda, 1, no_args, err);
    CHECK(!strcmp(cfg.device, "vulkan:0"), "cuda -> first GPU (got %s)", cfg.device);
    const char *torch_cpu[] = {"TORCH_DEVICE", "cpu", "VKB_DEVICE", "all", NULL};
    load(&cfg, torch_cpu, 1, no_args, err);
    CHECK(!strcmp(cfg.device, "all"), "VKB_DEVICE wins over TORCH_DEVICE (got %s)", cfg.device);
    const char *torch_bad[] = {"TORCH_DEVICE", "mps", NULL};
    CHECK(load(&cfg, torch_bad, 1, no_args, err) == -1 && strstr(err, "TORCH_DEVICE=mps"),
          "unknown TORCH_DEVICE named: %s", err);
    /* what the systemd unit's environment file sets (docs/deploy/vkbridge.env) */
    const char *unit_env[] = {"VKB_HOST", "0.0.0.0", "VKB_PORT", "9000", "VKB_DRAIN_TIMEOUT",
                              "100", NULL};
    CHECK(load(&cfg, unit_env, 1, no_args, err) == 0 && !strcmp(cfg.host, "0.0.0.0") &&
              cfg.port == 9000 && cfg.drain_timeout_s == 100,
          "VKB_HOST, VKB_PORT, VKB_DRAIN_TIMEOUT: %s", err);
    const char *unit_flags[] = {"serve", "--port", "9001"};
    CHECK(load(&cfg, unit_env, 3, unit_flags, err) == 0 && cfg.port == 9001, "--port wins over VKB_PORT");
    const char *bad_port[] = {"VKB_PORT", "http", NULL};
    CHECK(load(&cfg, bad_port, 1, no_args, err) == -1 && strstr(err, "VKB_PORT=http"),
          "bad VKB_PORT named: %s", err);
    const char *empty_key[] = {"API_KEY", "", NULL};
    load(&cfg, empty_key, 1, no_args, err);
    CHECK(cfg.api_key == NULL, "API_KEY='' means no auth");

    const char *argv[] = {"serve", "--port", "0", "--host=0.0.0.0", "--device", "cuda:2",
                          "--max-concurrent", "9", "--pull", "--max-body", "64k",
                          "--model-embed", "", "--log-level=debug"};
    CHECK(load(&cfg, env, (int)(sizeof(argv) / sizeof(*argv)), argv, err) == 0, "flags: %s", err);
    CHECK(cfg.port == 0 && !strcmp(cfg.host, "0.0.0.0") && !strcmp(cfg.device, "vulkan:2") &&
              cfg.max_concurrent == 9 && cfg.allow_pull == 1 && cfg.max_body == 65536 &&
              !strcmp(cfg.model_embed, "") && cfg.log_level == 3,
          "flags win over the environment");
    CHECK(!strcmp(cfg.api_key, "s3cret"), "unflagged settings keep the environment's value");

    struct { const char *args[3]; const char *want; } bad[] = {
        {{"serve", "--port", "70000"}, "--port=70000"},
        {{"serve", "--max-concurrent", "0"}, "--max-concurrent=0"},
        {{"serve", "--max-body", "12x"}, "--max-body=12x"},
        {{"serve", "--bogus", NULL}, "unknown option '--bogus'"},
        {{"serve", "--port", NULL}, "--port needs a value"},
        {{"serve", "--tls-cert", "a.pem"}, "--tls-cert and --tls-key go together"},
        {{"serve", "--device", "gpu"}, "--device=gpu"},
        {{"serve", "--log-level", "loud"}, "--log-level=loud"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int argc = bad[i].args[2] ? 3 : 2;
        int rc = load(&cfg, NULL, argc, bad[i].args, err);
        CHECK(rc == -1 && strstr(err, bad[i].want), "bad flag %zu rejected with '%s' (got '%s')",
              i, bad[i].want, rc ? err : "accepted");
    }
    const char *list[] = {"serve", "--device", "vulkan:0,vulkan:1", "--weights", "f16"};
    CHECK(load(&cfg, NULL, 5, list, err) == 0 && !strcmp(cfg.device, "vulkan:0,vulkan:1") &&
              cfg.weights_f16 == 1,
          "device list and f16 weights: %s", err);
    const char *bad_list[] = {"serve", "--device", "vulkan:0,gpu"};
    CHECK(load(&cfg, NULL, 3, bad_list, err) == -1 && strstr(err, "--device=vulkan:0,gpu"),
          "a bad member of a device list is named: %s", err);
    const char *bad_weights[] = {"VKB_WEIGHTS", "bf16", NULL};
    CHECK(load(&cfg, bad_weights, 1, no_args, err) == -1 && strstr(err, "VKB_WEIGHTS=bf16"),
          "bad weights: %s", err);
    const char *help[] = {"serve", "--help"};
    CHECK(load(&cfg, NULL, 2, help, err) == 1, "--help returns 1");

    /* --help names every variable of API.md */
    char text[8192] = "";
    FILE *f = fmemopen(text, sizeof(text) - 1, "w");
    vkb_service_usage(f);
    fclose(f);
    const char *vars[] = {"API_KEY", "GPU_MAX_CONCURRENT", "GPU_MAX_BATCH_SIZE",
                          "GPU_MAX_TEXT_LENGTH", "GPU_EMBED_BATCH", "MODEL_EMBED",
                          "MODEL_BERTSCORE", "TORCH_DEVICE", "VKB_DEVICE", "VKB_MODEL_DIR",
                          "VKB_BASELINE_DIR", "VKB_BERTSCORE_LAYERS", "--bertscore-layers", "--tls-cert", "--tls-key", "--pull", "--max-body",
                          "--log-level", "--port", "--host"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
        CHECK(strstr(text, vars[i]) != NULL, "--help mentions %s", vars[i]);
    return tl_finish();
}
