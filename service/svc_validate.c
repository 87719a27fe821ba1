/* svc_validate.c — see svc_validate.h. Messages and "type" values are pydantic v2's, so
 * clients that show FastAPI errors show these the same way. */
#include "svc_validate.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t svc_utf8_length(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

int svc_model_name_ok(const char *name, char *why, size_t whylen)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200) {
        snprintf(why, whylen, "must be 1 to 200 characters");
        return 0;
    }
    size_t part_start = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        if (c == '/' || c == 0) {
            size_t part_len = i - part_start;
            if (part_len == 0) {
                snprintf(why, whylen, "has an empty path part");
                return 0;
            }
            if (name[part_start] == '.') {
                snprintf(why, whylen, "has a part starting with '.'");
                return 0;
            }
            part_start = i + 1;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok) {
            snprintf(why, whylen, "may only hold letters, digits, '.', '_', '-' and '/'");
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- building blocks */

static json_t *parse_object(const char *body, size_t len, svc_error *err)
{
    if (len == 0) {
        svc_error_add_item(err, json_pack("[s]", "body"), "missing", "Field required", NULL);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    if (!root) {
        svc_error_add_item(err, json_pack("[si]", "body", (int)jerr.position), "json_invalid",
                           "JSON decode error", json_pack("{ss}", "error", jerr.text));
        return NULL;
    }
    if (!json_is_object(root)) {
        svc_error_add_item(err, json_pack("[s]", "body"), "model_attributes_type",
                           "Input should be a valid dictionary or object to extract fields from",
                           NULL);
        json_decref(root);
        return NULL;
    }
    return root;
}

/* A list's own constraints (type, min_items..max_items with min_items 0 or 1); returns the
 * array or NULL after an item. */
static json_t *checked_list(json_t *root, const char *key, int min_items, int max_items,
                            svc_error *err)
{
    json_t *v = json_object_get(root, key);
    char msg[160];
    if (!v) {
        svc_error_add_item(err, json_pack("[ss]", "body", key), "missing", "Field required",
                           NULL);
        return NULL;
    }
    if (!json_is_array(v)) {
        svc_error_add_item(err, json_pack("[ss]", "body", key), "list_type",
                           "Input should be a valid list", NULL);
        return NULL;
    }
    size_t n = json_array_size(v);
    if (n == 0 && min_items > 0) {
        svc_error_add_item(err, json_pack("[ss]", "body", key), "too_short",
                           "List should have at least 1 item after validation, not 0",
                           json_pack("{sssisi}", "field_type", "List", "min_length", 1,
                                     "actual_length", 0));
        return NULL;
    }
    if (n > (size_t)max_items) {
        snprintf(msg, sizeof(msg), "List should have at most %d items after validation, not %zu",
                 max_items, n);
        svc_error_add_item(err, json_pack("[ss]", "body", key), "too_long", msg,
                           json_pack("{sssisI}", "field_type", "List", "max_length", max_items,
                                     "actual_length", (json_int_t)n));
        return NULL;
    }
    return v;
}

static void text_too_long(svc_error *err, json_t *loc, int max_chars)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "String should have at most %d characters", max_chars);
    svc_error_add_item(err, loc, "string_too_long", msg, json_pack("{si}", "max_length", max_chars));
}

/* A required list of strings, at least min_items long: texts[i] and lens[i] point into root
 * (the arrays are allocated even for an empty list, so NULL always means "no list"). */
static int string_list(json_t *root, const char *key, int min_items, const svc_limits *lim,
                       const char ***texts, size_t **lens, int *n, svc_error *err)
{
    json_t *arr = checked_list(root, key, min_items, lim->max_batch_size, err);
    if (!arr)
        return -1;
    size_t count = json_array_size(arr);
    const char **t = calloc(count + 1, sizeof(*t));
    size_t *l = calloc(count + 1, sizeof(*l));
    if (!t || !l) {
        free(t);
        free(l);
        svc_error_set(err, 500, "out of memory");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(arr, i);
        if (!json_is_string(item)) {
            svc_error_add_item(err, json_pack("[ssi]", "body", key, (int)i), "string_type",
                               "Input should be a valid string", NULL);
            bad = 1;
            continue;
        }
        t[i] = json_string_value(item);
        l[i] = json_string_length(item);
        if (svc_utf8_length(t[i], l[i]) > (size_t)lim->max_text_length) {
            text_too_long(err, json_pack("[ssi]", "body", key, (int)i), lim->max_text_length);
            bad = 1;
        }
    }
    if (bad) {
        free(t);
        free(l);
        return -1;
    }
    *texts = t;
    *lens = l;
    *n = (int)count;
    return 0;
}

/* Optional string: absent or null leaves *out as it is. */
static int optional_string(json_t *root, const char *key, const char **out, svc_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        svc_error_add_item(err, json_pack("[ss]", "body", key), "string_type",
                           "Input should be a valid string", NULL);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* "prompt_name" and "prompt" (sentence-transformers prompts): optional strings; a prompt
 * text is held to GPU_MAX_TEXT_LENGTH characters and may not hold U+0000 (the engine takes
 * it as a C string). Whether the name exists is the model's to say (400 from the engine). */
static int prompt_fields(json_t *root, const svc_limits *lim, const char **name,
                         const char **prompt, svc_error *err)
{
    int bad = optional_string(root, "prompt_name", name, err);
    if (optional_string(root, "prompt", prompt, err))
        return -1;
    json_t *p = json_object_get(root, "prompt");
    if (*prompt && strlen(*prompt) != json_string_length(p)) {
        svc_error_add_item(err, json_pack("[ss]", "body", "prompt"), "string_pattern_mismatch",
                           "A prompt may not contain U+0000", NULL);
        return -1;
    }
    if (*prompt && svc_utf8_length(*prompt, json_string_length(p)) > (size_t)lim->max_text_length) {
        text_too_long(err, json_pack("[ss]", "body", "prompt"), lim->max_text_length);
        return -1;
    }
    return bad;
}

/* Optional integer in [lo, hi]; integral floats count (pydantic's lax mode), bools do not. */
static int optional_int(json_t *root, const char *key, int lo, int hi, int *out, svc_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return 0;
    double x;
    if (json_is_integer(v)) {
        x = (double)json_integer_value(v);
    } else if (json_is_real(v)) {
        x = json_real_value(v);
        if (x != floor(x)) {
            svc_error_add_item(err, json_pack("[ss]", "body", key), "int_from_float",
                               "Input should be a valid integer, got a number with a fractional part",
                               NULL);
            return -1;
        }
    } else {
        svc_error_add_item(err, json_pack("[ss]", "body", key), "int_type",
                           "Input should be a valid integer", NULL);
        return -1;
    }
    char msg[96];
    if (x < lo) {
        snprintf(msg, sizeof(msg), "Input should be greater than or equal to %d", lo);
        svc_error_add_item(err, json_pack("[ss]", "body", key), "greater_than_equal", msg,
                           json_pack("{si}", "ge", lo));
        return -1;
    }
    if (x > hi) {
        snprintf(msg, sizeof(msg), "Input should be less than or equal to %d", hi);
        svc_error_add_item(err, json_pack("[ss]", "body", key), "less_than_equal", msg,
                           json_pack("{si}", "le", hi));
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* Optional bool: true/false, or the integers 0 and 1 (pydantic's lax mode). */
static int optional_bool(json_t *root, const char *key, int *out, svc_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = (int)json_integer_value(v);
        return 0;
    }
    svc_error_add_item(err, json_pack("[ss]", "body", key), "bool_type",
                       "Input should be a valid boolean", NULL);
    return -1;
}

/* 400 for names that could leave the model folders (checked after the 422 rules pass). */
static int check_model_name(const char *name, svc_error *err)
{
    char why[128];
    if (!name || svc_model_name_ok(name, why, sizeof(why)))
        return 0;
    svc_error_set(err, 400, "Invalid model name '%.80s': %s", name, why);
    return -1;
}

/* ---------------------------------------------------------------- /embed */

void svc_embed_request_free(svc_embed_request *r)
{
    json_decref(r->root);
    free(r->texts);
    free(r->lens);
    memset(r, 0, sizeof(*r));
}

int svc_parse_embed(const char *body, size_t len, const svc_limits *lim, svc_embed_request *out,
                    svc_error *err)
{
    memset(out, 0, sizeof(*out));
    out->root = parse_object(body, len, err);
    if (!out->root)
        return -1;
    int bad = 0;
    /* [] is valid: v0.2 answers {"embeddings": [], "model": ..., "dimensions": 0} */
    bad |= string_list(out->root, "texts", 0, lim, &out->texts, &out->lens, &out->n, err);
    bad |= optional_string(out->root, "model", &out->model, err);
    bad |= prompt_fields(out->root, lim, &out->prompt_name, &out->prompt, err);
    if (bad || check_model_name(out->model, err)) {
        svc_embed_request_free(out);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- /bertscore */

void svc_bertscore_request_free(svc_bertscore_request *r)
{
    json_decref(r->root);
    free(r->cands);
    free(r->refs);
    free(r->cand_lens);
    free(r->ref_lens);
    memset(r, 0, sizeof(*r));
}

int svc_parse_bertscore(const char *body, size_t len, const svc_limits *lim,
                        svc_bertscore_request *out, svc_error *err)
{
    memset(out, 0, sizeof(*out));
    out->root = parse_object(body, len, err);
    if (!out->root)
        return -1;
    out->lang = "en";
    int n_cands = 0, n_refs = 0, bad = 0;
    bad |= string_list(out->root, "candidates", 1, lim, &out->cands, &out->cand_lens, &n_cands,
                       err);
    bad |= string_list(out->root, "references", 1, lim, &out->refs, &out->ref_lens, &n_refs, err);
    bad |= optional_string(out->root, "lang", &out->lang, err);
    bad |= optional_string(out->root, "model_type", &out->model, err);
    bad |= optional_int(out->root, "num_layers", 1, 1000, &out->num_layers, err);
    bad |= optional_bool(out->root, "idf", &out->idf, err);
    bad |= optional_bool(out->root, "rescale_with_baseline", &out->rescale_with_baseline, err);
    bad |= optional_int(out->root, "batch_size", 1, 100000, &out->batch_size, err);
    if (!bad && n_cands != n_refs) {
        svc_error_set(err, 400, "candidates and references must have equal length");
        bad = 1;
    }
    if (bad || check_model_name(out->model, err)) {
        svc_bertscore_request_free(out);
        return -1;
    }
    out->n = n_cands;
    return 0;
}

/* ---------------------------------------------------------------- /v1/embeddings */

void svc_openai_request_free(svc_openai_request *r)
{
    json_decref(r->root);
    free(r->texts);
    free(r->lens);
    free(r->ids);
    free(r->n_ids);
    free(r->id_storage);
    memset(r, 0, sizeof(*r));
}

static int is_token_id(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0 &&
           json_integer_value(v) <= INT32_MAX;
}

/* [int] or [[int], ...] into r->ids; arr is the non-empty, size-checked input array. */
static int token_inputs(json_t *arr, const svc_limits *lim, svc_openai_request *r, svc_error *err)
{
    int nested = json_is_array(json_array_get(arr, 0));
    size_t n_lists = nested ? json_array_size(arr) : 1;
    size_t total = 0;
    for (size_t i = 0; i < n_lists; i++) {
        json_t *list = nested ? json_array_get(arr, i) : arr;
        if (!json_is_array(list) || json_array_size(list) == 0) {
            svc_error_add_item(err, json_pack("[ssi]", "body", "input", (int)i), "too_short",
                               "Token lists should hold at least 1 token id", NULL);
            return -1;
        }
        if (json_array_size(list) > (size_t)lim->max_text_length) {
            char msg[96];
            snprintf(msg, sizeof(msg), "Token lists should have at most %d token ids",
                     lim->max_text_length);
            svc_error_add_item(err, json_pack("[ssi]", "body", "input", (int)i), "too_long",
                               msg, NULL);
            return -1;
        }
        total += json_array_size(list);
    }
    r->ids = calloc(n_lists, sizeof(*r->ids));
    r->n_ids = calloc(n_lists, sizeof(*r->n_ids));
    r->id_storage = malloc(total * sizeof(*r->id_storage));
    if (!r->ids || !r->n_ids || !r->id_storage) {
        svc_error_set(err, 500, "out of memory");
        return -1;
    }
    size_t used = 0;
    for (size_t i = 0; i < n_lists; i++) {
        json_t *list = nested ? json_array_get(arr, i) : arr;
        r->ids[i] = r->id_storage + used;
        r->n_ids[i] = (int)json_array_size(list);
        for (size_t j = 0; j < json_array_size(list); j++) {
            json_t *v = json_array_get(list, j);
            if (!is_token_id(v)) {
                json_t *loc = nested ? json_pack("[ssii]", "body", "input", (int)i, (int)j)
                                     : json_pack("[ssi]", "body", "input", (int)j);
                svc_error_add_item(err, loc, "int_type",
                                   "Token ids should be integers from 0 to 2147483647", NULL);
                return -1;
            }
            r->id_storage[used++] = (int32_t)json_integer_value(v);
        }
    }
    r->n = (int)n_lists;
    return 0;
}

static int openai_input(json_t *root, const svc_limits *lim, svc_openai_request *r,
                        svc_error *err)
{
    json_t *input = json_object_get(root, "input");
    if (json_is_string(input)) {
        r->texts = calloc(1, sizeof(*r->texts));
        r->lens = calloc(1, sizeof(*r->lens));
        if (!r->texts || !r->lens) {
            svc_error_set(err, 500, "out of memory");
            return -1;
        }
        r->texts[0] = json_string_value(input);
        r->lens[0] = json_string_length(input);
        r->n = 1;
        if (svc_utf8_length(r->texts[0], r->lens[0]) > (size_t)lim->max_text_length) {
            text_too_long(err, json_pack("[ss]", "body", "input"), lim->max_text_length);
            return -1;
        }
        return 0;
    }
    if (input && !json_is_array(input)) {
        svc_error_add_item(err, json_pack("[ss]", "body", "input"), "input_type",
                           "Input should be a string, an array of strings, an array of token "
                           "ids or an array of arrays of token ids",
                           NULL);
        return -1;
    }
    /* [int] is one input, so GPU_MAX_BATCH_SIZE does not bound its length: token_inputs
     * holds it to GPU_MAX_TEXT_LENGTH ids. An empty array stays an error (400 in OpenAI's
     * shape), as the OpenAI API itself refuses it; only /embed accepts [] (v0.2 does). */
    int one_token_list = json_is_integer(json_array_get(input, 0));
    json_t *arr = checked_list(root, "input", 1, one_token_list ? INT_MAX : lim->max_batch_size, err);
    if (!arr)
        return -1;
    json_t *first = json_array_get(arr, 0);
    if (json_is_string(first))
        return string_list(root, "input", 1, lim, &r->texts, &r->lens, &r->n, err);
    if (json_is_integer(first) || json_is_array(first)) {
        for (size_t i = 1; i < json_array_size(arr); i++)
            if (json_is_array(json_array_get(arr, i)) != json_is_array(first)) {
                svc_error_add_item(err, json_pack("[ssi]", "body", "input", (int)i), "input_type",
                                   "Input arrays must not mix token ids and lists", NULL);
                return -1;
            }
        return token_inputs(arr, lim, r, err);
    }
    svc_error_add_item(err, json_pack("[ssi]", "body", "input", 0), "input_type",
                       "Input items should be strings, token ids or arrays of token ids", NULL);
    return -1;
}

int svc_parse_openai(const char *body, size_t len, const svc_limits *lim,
                     svc_openai_request *out, svc_error *err)
{
    memset(out, 0, sizeof(*out));
    out->root = parse_object(body, len, err);
    if (!out->root)
        return -1;
    int bad = 0;
    bad |= openai_input(out->root, lim, out, err);
    bad |= optional_string(out->root, "model", &out->model, err);
    bad |= optional_int(out->root, "dimensions", 1, 1 << 20, &out->dimensions, err);
    bad |= prompt_fields(out->root, lim, &out->prompt_name, &out->prompt, err);
    const char *format = "float";
    if (optional_string(out->root, "encoding_format", &format, err) == 0) {
        if (!strcmp(format, "base64")) {
            out->base64 = 1;
        } else if (strcmp(format, "float") != 0) {
            svc_error_add_item(err, json_pack("[ss]", "body", "encoding_format"), "enum",
                               "Input should be 'float' or 'base64'", NULL);
            bad = 1;
        }
    } else {
        bad = 1;
    }
    if (bad || check_model_name(out->model, err)) {
        svc_openai_request_free(out);
        return -1;
    }
    return 0;
}
