/*
 * fuzz_request.c — libFuzzer target for request validation (build: CC=clang, -DVKB_FUZZ=ON):
 * the body parsers of /embed, /bertscore and /v1/embeddings and the error bodies they make.
 *
 * Input: byte 0 picks the endpoint and the limits, the rest is the body, any bytes. Checks,
 * besides ASan/UBSan: a parse either succeeds with items inside the limits (/embed may have
 * none), each text valid
 * UTF-8 of its stated length, or fails with a status of 400/422 whose body (FastAPI and OpenAI
 * shapes) is JSON; a model name that passed is one the model resolver would accept.
 */
#include "svc_errors.h"
#include "svc_validate.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_request: invariant broken: %s\n", what);
        abort();
    }
}

/* min_items: 0 for /embed (texts [] answers 200, as the v0.2 service does), else 1 */
static void check_texts(const char *const *texts, const size_t *lens, int n, int min_items,
                        const svc_limits *lim)
{
    check(n >= min_items && n <= lim->max_batch_size, "item count inside the limit");
    for (int i = 0; i < n; i++) {
        check(texts[i] != NULL, "text present");
        json_t *s = json_stringn(texts[i], lens[i]); /* NULL unless valid UTF-8 */
        check(s != NULL, "text is valid UTF-8");
        json_decref(s);
    }
}

static void check_model(const char *model)
{
    char why[128];
    if (model)
        check(svc_model_name_ok(model, why, sizeof(why)), "an accepted model name is well formed");
}

static void check_error(svc_error *err)
{
    check(err->status == 400 || err->status == 413 || err->status == 422, "status 400/413/422");
    for (int api = 0; api < 2; api++) {
        size_t len = 0;
        char *body = svc_error_body(err, api ? SVC_API_OPENAI : SVC_API_FASTAPI, &len);
        check(body != NULL, "error body made");
        json_t *root = json_loadb(body, len, 0, NULL);
        check(json_is_object(root), "error body is a JSON object");
        check(json_object_get(root, api ? "error" : "detail") != NULL, "detail / error present");
        json_decref(root);
        free(body);
        int st = svc_error_status(err, api ? SVC_API_OPENAI : SVC_API_FASTAPI);
        check(st >= 400 && st < 500, "HTTP status is a 4xx");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    svc_limits lim = {data[0] & 0x10 ? 3 : 100, data[0] & 0x20 ? 8 : 10000};
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    svc_error err;
    svc_error_init(&err);
    switch (data[0] % 3) {
    case 0: {
        svc_embed_request r;
        memset(&r, 0, sizeof(r));
        if (svc_parse_embed(body, len, &lim, &r, &err) == 0) {
            check_texts(r.texts, r.lens, r.n, 0, &lim);
            check_model(r.model);
        } else
            check_error(&err);
        svc_embed_request_free(&r);
        break;
    }
    case 1: {
        svc_bertscore_request r;
        memset(&r, 0, sizeof(r));
        if (svc_parse_bertscore(body, len, &lim, &r, &err) == 0) {
            check_texts(r.cands, r.cand_lens, r.n, 1, &lim);
            check_texts(r.refs, r.ref_lens, r.n, 1, &lim);
            check_model(r.model);
        } else
            check_error(&err);
        svc_bertscore_request_free(&r);
        break;
    }
    default: {
        svc_openai_request r;
        memset(&r, 0, sizeof(r));
        if (svc_parse_openai(body, len, &lim, &r, &err) == 0) {
            check(r.n >= 1 && r.n <= lim.max_batch_size, "OpenAI item count inside the limit");
            if (!r.ids)
                check_texts(r.texts, r.lens, r.n, 1, &lim);
            check_model(r.model);
        } else
            check_error(&err);
        svc_openai_request_free(&r);
        break;
    }
    }
    svc_error_clear(&err);
    return 0;
}
