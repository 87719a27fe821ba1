/* test_service_validate.c — request validation and error shapes of the service, no network. */
#include "svc_errors.h"
#include "svc_validate.h"
#include "testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const svc_limits limits = {.max_batch_size = 3, .max_text_length = 5};

/* Parses body as /embed and returns the error status (0 on success). */
static int embed_status(const char *body, svc_error *err)
{
    svc_embed_request r;
    svc_error_clear(err);
    if (svc_parse_embed(body, strlen(body), &limits, &r, err) == 0) {
        svc_embed_request_free(&r);
        return 0;
    }
    return err->status;
}

/* The first item's field, from the FastAPI-shaped body. */
static int first_item_is(const svc_error *err, const char *type, const char *loc_json)
{
    size_t len;
    char *body = svc_error_body(err, SVC_API_FASTAPI, &len);
    json_t *root = json_loads(body, 0, NULL);
    json_t *item = json_array_get(json_object_get(root, "detail"), 0);
    char *loc = json_dumps(json_object_get(item, "loc"), JSON_COMPACT);
    int ok = item && !strcmp(json_string_value(json_object_get(item, "type")), type) &&
             json_is_string(json_object_get(item, "msg")) && loc && !strcmp(loc, loc_json);
    if (!ok)
        fprintf(stderr, "  body was %s\n", body);
    free(loc);
    json_decref(root);
    free(body);
    return ok;
}

static void test_embed(void)
{
    svc_error err;
    svc_error_init(&err);
    svc_embed_request r;
    const char *ok = "{\"texts\":[\"a\",\"h\\u00e9llo\",\"\"],\"model\":\"org/tiny-bert\"}";
    CHECK(svc_parse_embed(ok, strlen(ok), &limits, &r, &err) == 0, "valid /embed accepted");
    CHECK(r.n == 3 && r.lens[1] == 6 && !memcmp(r.texts[1], "h\xc3\xa9llo", 6),
          "texts point at the decoded UTF-8");
    CHECK(r.model && !strcmp(r.model, "org/tiny-bert"), "model kept");
    svc_embed_request_free(&r);

    /* NUL inside a text is data, not the end of it */
    const char *nul = "{\"texts\":[\"a\\u0000b\"]}";
    CHECK(svc_parse_embed(nul, strlen(nul), &limits, &r, &err) == 0 && r.lens[0] == 3,
          "NUL kept with its length");
    svc_embed_request_free(&r);

    CHECK(embed_status("", &err) == 422 && first_item_is(&err, "missing", "[\"body\"]"),
          "empty body");
    CHECK(embed_status("{\"texts\":[\"a\"", &err) == 422 && first_item_is(&err, "json_invalid", "[\"body\",13]"),
          "broken JSON");
    CHECK(embed_status("[1,2]", &err) == 422 && first_item_is(&err, "model_attributes_type", "[\"body\"]"),
          "JSON that is not an object");
    CHECK(embed_status("{}", &err) == 422 && first_item_is(&err, "missing", "[\"body\",\"texts\"]"),
          "missing texts");
    CHECK(embed_status("{\"texts\":\"abc\"}", &err) == 422 && first_item_is(&err, "list_type", "[\"body\",\"texts\"]"),
          "texts not a list");
    CHECK(embed_status("{\"texts\":[]}", &err) == 0, "an empty list is valid (v0.2 answers 200)");
    CHECK(embed_status("{\"texts\":[\"a\",\"b\",\"c\",\"d\"]}", &err) == 422 &&
              first_item_is(&err, "too_long", "[\"body\",\"texts\"]"),
          "more than max_batch_size texts");
    CHECK(embed_status("{\"texts\":[\"a\",3]}", &err) == 422 &&
              first_item_is(&err, "string_type", "[\"body\",\"texts\",1]"),
          "non-string text");
    CHECK(embed_status("{\"texts\":[\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"]}", &err) == 0,
          "5 two-byte characters fit a 5-character limit");
    CHECK(embed_status("{\"texts\":[\"ok\",\"abcdef\"]}", &err) == 422 &&
              first_item_is(&err, "string_too_long", "[\"body\",\"texts\",1]"),
          "6 characters exceed the limit");
    CHECK(embed_status("{\"texts\":[\"a\"],\"model\":5}", &err) == 422 &&
              first_item_is(&err, "string_type", "[\"body\",\"model\"]"),
          "model not a string");
    CHECK(embed_status("{\"texts\":[\"a\"],\"model\":\"../etc\"}", &err) == 400, "path escape .. is 400");
    CHECK(strstr(err.message, "Invalid model name") != NULL, "400 says why: %s", err.message);
    CHECK(embed_status("{\"texts\":[\"a\"],\"model\":\"/abs\"}", &err) == 400, "absolute path is 400");
    CHECK(embed_status("{\"texts\":[\"a\"],\"model\":\"a\\\\b\"}", &err) == 400, "backslash is 400");
    CHECK(embed_status("{\"texts\":[\"a\"],\"model\":null}", &err) == 0, "model null = default");
    svc_error_clear(&err);
}

static void test_model_names(void)
{
    char why[128];
    CHECK(svc_model_name_ok("all-MiniLM-L6-v2", why, sizeof(why)), "plain name");
    CHECK(svc_model_name_ok("sentence-transformers/all-MiniLM-L6-v2", why, sizeof(why)), "org/name");
    CHECK(!svc_model_name_ok("a//b", why, sizeof(why)), "empty part");
    CHECK(!svc_model_name_ok("a/", why, sizeof(why)), "trailing slash");
    CHECK(!svc_model_name_ok("a/..", why, sizeof(why)), "dot-dot part");
    CHECK(!svc_model_name_ok(".hidden", why, sizeof(why)), "leading dot");
    CHECK(!svc_model_name_ok("", why, sizeof(why)), "empty");
    CHECK(!svc_model_name_ok("a b", why, sizeof(why)), "space");
    char longname[260];
    memset(longname, 'a', 201);
    longname[201] = 0;
    CHECK(!svc_model_name_ok(longname, why, sizeof(why)), "over 200 bytes");
}

static void test_bertscore(void)
{
    svc_error err;
    svc_error_init(&err);
    svc_bertscore_request r;
    const char *ok = "{\"candidates\":[\"a\",\"b\"],\"references\":[\"c\",\"d\"],\"lang\":\"de\","
                     "\"model_type\":\"tiny-roberta\",\"num_layers\":2.0,\"idf\":true,"
                     "\"rescale_with_baseline\":1,\"batch_size\":8}";
    CHECK(svc_parse_bertscore(ok, strlen(ok), &limits, &r, &err) == 0, "valid /bertscore");
    CHECK(r.n == 2 && !strcmp(r.cands[1], "b") && !strcmp(r.refs[0], "c"), "pairs");
    CHECK(!strcmp(r.lang, "de") && !strcmp(r.model, "tiny-roberta"), "lang and model");
    CHECK(r.num_layers == 2 && r.idf == 1 && r.rescale_with_baseline == 1 && r.batch_size == 8,
          "options");
    svc_bertscore_request_free(&r);

    const char *defaults = "{\"candidates\":[\"a\"],\"references\":[\"b\"]}";
    CHECK(svc_parse_bertscore(defaults, strlen(defaults), &limits, &r, &err) == 0 &&
              !strcmp(r.lang, "en") && !r.model && r.num_layers == 0 && !r.idf,
          "defaults");
    svc_bertscore_request_free(&r);

    const char *unequal = "{\"candidates\":[\"a\"],\"references\":[\"b\",\"c\"]}";
    CHECK(svc_parse_bertscore(unequal, strlen(unequal), &limits, &r, &err) == -1 &&
              err.status == 400 &&
              !strcmp(err.message, "candidates and references must have equal length"),
          "unequal lengths are 400 with the original message");
    svc_error_clear(&err);

    const char *both_missing = "{}";
    CHECK(svc_parse_bertscore(both_missing, 2, &limits, &r, &err) == -1 && err.status == 422 &&
              json_array_size(err.items) == 2,
          "both lists missing: two items");
    svc_error_clear(&err);

    const char *bad_types = "{\"candidates\":[\"a\"],\"references\":[\"b\"],\"idf\":\"yes\","
                            "\"num_layers\":1.5}";
    CHECK(svc_parse_bertscore(bad_types, strlen(bad_types), &limits, &r, &err) == -1 &&
              err.status == 422 && json_array_size(err.items) == 2,
          "bad idf and fractional num_layers");
    svc_error_clear(&err);

    const char *zero_layers = "{\"candidates\":[\"a\"],\"references\":[\"b\"],\"num_layers\":0}";
    CHECK(svc_parse_bertscore(zero_layers, strlen(zero_layers), &limits, &r, &err) == -1 &&
              first_item_is(&err, "greater_than_equal", "[\"body\",\"num_layers\"]"),
          "num_layers 0 rejected");
    svc_error_clear(&err);
}

static void test_openai(void)
{
    svc_error err;
    svc_error_init(&err);
    svc_openai_request r;
    const char *s = "{\"input\":\"hello\",\"model\":\"tiny-bert\",\"encoding_format\":\"base64\","
                    "\"dimensions\":8}";
    CHECK(svc_parse_openai(s, strlen(s), &limits, &r, &err) == 0 && r.n == 1 && r.texts &&
              !r.ids && r.base64 && r.dimensions == 8,
          "string input");
    svc_openai_request_free(&r);

    const char *arr = "{\"input\":[\"a\",\"b\"]}";
    CHECK(svc_parse_openai(arr, strlen(arr), &limits, &r, &err) == 0 && r.n == 2 && !r.model,
          "array of strings");
    svc_openai_request_free(&r);

    const char *ids = "{\"input\":[101,2023,102]}";
    CHECK(svc_parse_openai(ids, strlen(ids), &limits, &r, &err) == 0 && r.n == 1 &&
              r.n_ids[0] == 3 && r.ids[0][1] == 2023,
          "one token list");
    svc_openai_request_free(&r);

    /* one list of more ids than GPU_MAX_BATCH_SIZE (3) but within GPU_MAX_TEXT_LENGTH (5) */
    const char *long_ids = "{\"input\":[1,2,3,4,5]}";
    CHECK(svc_parse_openai(long_ids, strlen(long_ids), &limits, &r, &err) == 0 && r.n == 1 &&
              r.n_ids[0] == 5,
          "one token list longer than the batch limit");
    svc_openai_request_free(&r);
    const char *too_long_ids = "{\"input\":[1,2,3,4,5,6]}";
    CHECK(svc_parse_openai(too_long_ids, strlen(too_long_ids), &limits, &r, &err) == -1 &&
              svc_error_status(&err, SVC_API_OPENAI) == 400,
          "one token list over the text limit is 400");
    size_t elen;
    char *ebody = svc_error_body(&err, SVC_API_OPENAI, &elen);
    CHECK(ebody && strstr(ebody, "at most 5 token ids"), "the limit named is the token one: %s",
          ebody ? ebody : "(null)");
    free(ebody);
    svc_error_clear(&err);

    const char *nested = "{\"input\":[[1,2],[3]]}";
    CHECK(svc_parse_openai(nested, strlen(nested), &limits, &r, &err) == 0 && r.n == 2 &&
              r.n_ids[1] == 1 && r.ids[1][0] == 3,
          "array of token lists");
    svc_openai_request_free(&r);

    const char *cases[] = {
        "{}", "{\"input\":[]}", "{\"input\":5}", "{\"input\":[1,[2]]}", "{\"input\":[[]]}",
        "{\"input\":[-1]}", "{\"input\":[1.5]}", "{\"input\":[true]}", "{\"input\":\"abcdef\"}",
        "{\"input\":[1,2,3,4,5,6]}", "{\"input\":\"a\",\"encoding_format\":\"hex\"}",
        "{\"input\":\"a\",\"dimensions\":0}", "{\"input\":\"a\",\"model\":\"..\"}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        int rc = svc_parse_openai(cases[i], strlen(cases[i]), &limits, &r, &err);
        CHECK(rc == -1 && svc_error_status(&err, SVC_API_OPENAI) == 400,
              "OpenAI bad input is 400: %s", cases[i]);
        size_t len;
        char *body = svc_error_body(&err, SVC_API_OPENAI, &len);
        json_t *root = json_loads(body, 0, NULL);
        json_t *e = json_object_get(root, "error");
        CHECK(json_is_string(json_object_get(e, "message")) &&
                  !strcmp(json_string_value(json_object_get(e, "type")), "invalid_request_error") &&
                  json_object_get(e, "param") && json_object_get(e, "code"),
              "OpenAI error shape: %s", body);
        json_decref(root);
        free(body);
        svc_error_clear(&err);
    }

    const char *text_param = "{\"input\":[\"a\",7]}";
    svc_parse_openai(text_param, strlen(text_param), &limits, &r, &err);
    char *body = svc_error_body(&err, SVC_API_OPENAI, NULL);
    CHECK(strstr(body, "\"param\":\"input[1]\"") != NULL, "param names the item: %s", body);
    free(body);
    svc_error_clear(&err);
}

static void test_error_bodies(void)
{
    svc_error err;
    svc_error_init(&err);
    svc_error_set(&err, 401, "Unauthorized");
    char *body = svc_error_body(&err, SVC_API_FASTAPI, NULL);
    CHECK(!strcmp(body, "{\"detail\":\"Unauthorized\"}"), "FastAPI 401: %s", body);
    free(body);
    snprintf(err.code, sizeof(err.code), "invalid_api_key");
    body = svc_error_body(&err, SVC_API_OPENAI, NULL);
    CHECK(strstr(body, "\"type\":\"invalid_request_error\"") && strstr(body, "\"code\":\"invalid_api_key\""),
          "OpenAI 401: %s", body);
    free(body);
    /* a message cut inside a UTF-8 sequence must not lose the key */
    svc_error_set(&err, 404, "Model '%.1s' not found", "\xc3\xa9");
    body = svc_error_body(&err, SVC_API_FASTAPI, NULL);
    CHECK(body && strstr(body, "\"detail\":"), "detail kept for broken UTF-8: %s", body);
    free(body);
    svc_error_clear(&err);
    for (int i = 0; i < 50; i++)
        svc_error_add_item(&err, json_pack("[si]", "body", i), "x", "y", NULL);
    CHECK(err.status == 422 && json_array_size(err.items) == 20, "items capped at 20");
    svc_error_clear(&err);
}

int main(void)
{
    test_embed();
    test_model_names();
    test_bertscore();
    test_openai();
    test_error_bodies();
    return tl_finish();
}
