/* test_service_tokenizer_refusal.c — a text the tokenizer refuses is the request's fault, for
 * /bertscore as for /embed: VKB_EINVAL from the library, 400 over HTTP, never the 500 of a
 * device failure.
 *
 * The refusal is a real one: a generated model whose tokenizer.json has one added token
 * ("[EXTRA]") past the model's vocab_size, the case model_load warns about ("texts that
 * produce the extra ids will be refused"). Any text holding "[EXTRA]" tokenizes to an id
 * the embedding table lacks; every other text works, which the control requests check. */
#include "test_service_client.h"
#include "vkb_runtime.h"

static char models_root[600];
static const char *const MODEL = "refusing";
static const char *const REFUSED = "hello [EXTRA] world";

/* `vkbridge gen-model` a tiny BERT, then give its tokenizer the token past the vocabulary. */
static int make_refusing_model(void)
{
    char cmd[2000], path[800];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && '%s' gen-model --out '%s/%s' --shape tiny >/dev/null",
             models_root, tc_binary(), models_root, MODEL);
    if (!CHECK(system(cmd) == 0, "gen-model made a tiny model"))
        return -1;
    snprintf(path, sizeof path, "%s/%s/config.json", models_root, MODEL);
    json_t *cfg = json_load_file(path, 0, NULL);
    json_int_t vocab = json_integer_value(json_object_get(cfg, "vocab_size"));
    json_decref(cfg);
    snprintf(path, sizeof path, "%s/%s/tokenizer.json", models_root, MODEL);
    json_t *tok = json_load_file(path, 0, NULL);
    json_t *added = json_object_get(tok, "added_tokens");
    int ok = vocab > 0 && json_is_array(added) &&
             json_array_append_new(added, json_pack("{s:I, s:s, s:b, s:b, s:b, s:b, s:b}", "id",
                                                    vocab, "content", "[EXTRA]", "special", 1,
                                                    "single_word", 0, "lstrip", 0, "rstrip", 0,
                                                    "normalized", 0)) == 0 &&
             json_dump_file(tok, path, JSON_COMPACT) == 0;
    json_decref(tok);
    return CHECK(ok, "added [EXTRA] as id %lld to %s", (long long)vocab, path) ? 0 : -1;
}

/* ---------------------------------------------------------------- through the library */

static void check_library(void)
{
    char dir[800], err[512] = "";
    snprintf(dir, sizeof dir, "%s/%s", models_root, MODEL);
    vkb_engine_config cfg = {.device = "cpu"};
    vkb_engine *e = NULL;
    if (!CHECK(vkb_engine_create(&cfg, &e, err, sizeof err) == VKB_OK &&
                   vkb_engine_load_dir(e, MODEL, dir, err, sizeof err) == VKB_OK,
               "engine with the refusing model: %s", err)) {
        vkb_engine_destroy(e);
        return;
    }
    vkb_model_facts facts;
    vkb_engine_model_facts(e, MODEL, &facts, err, sizeof err);
    float *vec = calloc((size_t)facts.dim, sizeof *vec);
    const char *texts[] = {REFUSED};
    int rc = vkb_engine_embed(e, MODEL, texts, NULL, 1, vec, NULL, err, sizeof err);
    CHECK(rc == VKB_EINVAL, "embed refuses the text with VKB_EINVAL: %s (%s)",
          vkb_status_str(rc), err);

    vkb_bertscore_opts opts = {.num_layers = 1};
    float P[2], R[2], F[2];
    const char *ok_side[] = {"hello world", "a cat"}, *bad_side[] = {"a cat", REFUSED};
    err[0] = '\0';
    rc = vkb_engine_bertscore(e, MODEL, bad_side, ok_side, NULL, NULL, 2, &opts, P, R, F,
                              err, sizeof err);
    CHECK(rc == VKB_EINVAL && strstr(err, "tokeniz"),
          "bertscore refuses a candidate the way embed does: %s (%s)", vkb_status_str(rc), err);
    err[0] = '\0';
    rc = vkb_engine_bertscore(e, MODEL, ok_side, bad_side, NULL, NULL, 2, &opts, P, R, F,
                              err, sizeof err);
    CHECK(rc == VKB_EINVAL, "bertscore refuses a reference the way embed does: %s (%s)",
          vkb_status_str(rc), err);
    rc = vkb_engine_bertscore(e, MODEL, ok_side, ok_side, NULL, NULL, 2, &opts, P, R, F,
                              err, sizeof err);
    CHECK(rc == VKB_OK && F[0] > 0.999f && F[1] > 0.999f,
          "the same model scores texts it can tokenize: %s, F %.4f %.4f", vkb_status_str(rc),
          rc ? 0.0 : F[0], rc ? 0.0 : F[1]);
    free(vec);
    vkb_engine_destroy(e);
}

/* ---------------------------------------------------------------- through HTTP */

static long post(CURL *h, const svc_proc *p, tc_proto proto, const char *path, json_t *req,
                 char *detail, size_t detail_len)
{
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    tc_reply r;
    long status = tc_request(h, p, proto, "POST", path, body, NULL, &r);
    json_t *root = tc_json(&r);
    const char *d = json_string_value(json_object_get(root, "detail"));
    snprintf(detail, detail_len, "%s", d ? d : tc_body(&r));
    json_decref(root);
    tc_reply_free(&r);
    free(body);
    return status;
}

static json_t *bertscore_request(const char *cand, const char *ref)
{
    return json_pack("{s:[s], s:[s], s:s, s:i}", "candidates", cand, "references", ref,
                     "model_type", MODEL, "num_layers", 1);
}

static void check_http(void)
{
    char dir_env[700];
    snprintf(dir_env, sizeof dir_env, "VKB_MODEL_DIR=%s", models_root);
    const char *env[] = {"MODEL_EMBED=refusing", "MODEL_BERTSCORE=refusing", "VKB_BERTSCORE_LAYERS=1",
                         dir_env, NULL};
    const char *args[] = {"--device", "cpu", NULL};
    svc_proc p;
    if (!CHECK(tc_start(&p, "refusal", env, args) == 0 && tc_wait_ready(&p, 120, NULL),
               "server starts with the refusing model")) {
        tc_stop(&p, SIGKILL, 5);
        return;
    }
    CURL *h = curl_easy_init();
    char detail[600];
    for (tc_proto proto = TC_H1; proto <= TC_H2C; proto++) {
        const char *pn = tc_proto_names[proto];
        long st = post(h, &p, proto, "/embed", json_pack("{s:[s]}", "texts", REFUSED), detail,
                       sizeof detail);
        CHECK(st == 400, "[%s] /embed of a refused text: %ld %s", pn, st, detail);
        st = post(h, &p, proto, "/bertscore", bertscore_request(REFUSED, "hello world"), detail,
                  sizeof detail);
        CHECK(st == 400 && strstr(detail, "tokeniz"),
              "[%s] /bertscore of a refused candidate answers as /embed does: %ld %s", pn, st,
              detail);
        st = post(h, &p, proto, "/bertscore", bertscore_request("hello world", REFUSED), detail,
                  sizeof detail);
        CHECK(st == 400, "[%s] /bertscore of a refused reference: %ld %s", pn, st, detail);
        st = post(h, &p, proto, "/embed", json_pack("{s:[s]}", "texts", "hello world"), detail,
                  sizeof detail);
        CHECK(st == 200, "[%s] /embed of an ordinary text: %ld", pn, st);
        st = post(h, &p, proto, "/bertscore", bertscore_request("hello world", "a cat"), detail,
                  sizeof detail);
        CHECK(st == 200, "[%s] /bertscore of ordinary texts: %ld %.200s", pn, st, detail);
    }
    curl_easy_cleanup(h);
    CHECK(!tc_log_has(&p, "job-"), "a refused text is not logged as a server fault (a 5xx is)");
    CHECK(tc_stop(&p, SIGTERM, 30) == 0, "server exits 0 on SIGTERM");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    signal(SIGPIPE, SIG_IGN);
    vkb_log_set_level(VKB_LOG_ERROR); /* the model's vocab warning is expected */
    snprintf(models_root, sizeof models_root, "%s/models", tc_scratch());
    if (make_refusing_model() == 0) {
        check_library();
        check_http();
    }
    curl_global_cleanup();
    tc_cleanup();
    return tl_finish();
}
