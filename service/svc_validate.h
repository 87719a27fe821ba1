/*
 * svc_validate.h — request bodies in, typed requests or one svc_error out.
 *
 * The rules are the original service's pydantic models (see API.md "Errors"): a body that is
 * not JSON, not an object, missing fields, wrong types, empty or oversize arrays, texts longer
 * than max_text_length characters (Unicode code points, as Python's len()) are 422 with
 * FastAPI's item list. Request-level problems (unequal candidate/reference counts, model names
 * that could escape the model folders) are 400. No network, no engine: pure functions.
 *
 * A parsed request keeps the decoded JSON alive (`root`): its text pointers point into it.
 */
#ifndef VKB_SVC_VALIDATE_H
#define VKB_SVC_VALIDATE_H

#include "svc_errors.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct svc_limits {
    int max_batch_size;   /* GPU_MAX_BATCH_SIZE: items per request */
    int max_text_length;  /* GPU_MAX_TEXT_LENGTH: code points per text (tokens per id list) */
} svc_limits;

/* POST /embed: {"texts": [str], "model"?: str} */
typedef struct svc_embed_request {
    json_t *root;
    const char **texts; /* n pointers into root, each lens[i] bytes of UTF-8 */
    size_t *lens;
    int n;
    const char *model;  /* NULL: the configured default */
    const char *prompt_name, *prompt; /* NULL: not given (vkb_embed_opts) */
} svc_embed_request;

/* POST /bertscore: {"candidates": [str], "references": [str], "lang"?, "model_type"?,
 * "num_layers"?, "idf"?, "rescale_with_baseline"?, "batch_size"?} */
typedef struct svc_bertscore_request {
    json_t *root;
    const char **cands; /* n pointers into root, cand_lens[i] bytes of UTF-8 each */
    const char **refs;  /* n pointers into root, ref_lens[i] bytes each */
    size_t *cand_lens;
    size_t *ref_lens;
    int n;
    const char *lang;   /* "en" when absent */
    const char *model;  /* model_type, NULL: the default */
    int num_layers;     /* 0: the model's bert_score default */
    int idf;
    int rescale_with_baseline;
    int batch_size;     /* 0: default */
} svc_bertscore_request;

/* POST /v1/embeddings: input as str | [str] | [int] | [[int]] */
typedef struct svc_openai_request {
    json_t *root;
    int n;                 /* number of inputs */
    const char **texts;    /* text inputs (NULL when the inputs are token ids) */
    size_t *lens;
    const int32_t **ids;   /* token-id inputs (NULL when the inputs are texts) */
    int *n_ids;
    int32_t *id_storage;   /* backing store of ids */
    const char *model;     /* NULL: the configured default */
    int base64;            /* encoding_format "base64" */
    int dimensions;        /* 0: the model's full dimension */
    const char *prompt_name, *prompt; /* NULL: not given (vkb_embed_opts) */
} svc_openai_request;

/* Each returns 0 and fills *out, or -1 with *err set (out then holds nothing to free). */
int svc_parse_embed(const char *body, size_t len, const svc_limits *lim, svc_embed_request *out,
                    svc_error *err);
void svc_embed_request_free(svc_embed_request *r);

int svc_parse_bertscore(const char *body, size_t len, const svc_limits *lim,
                        svc_bertscore_request *out, svc_error *err);
void svc_bertscore_request_free(svc_bertscore_request *r);

int svc_parse_openai(const char *body, size_t len, const svc_limits *lim,
                     svc_openai_request *out, svc_error *err);
void svc_openai_request_free(svc_openai_request *r);

/* Whether name can only resolve inside a model root: 1..200 bytes of [A-Za-z0-9._-] in
 * '/'-separated parts ("org/name" like Hugging Face ids), no empty part, no "." or "..",
 * no part starting with '.'. Otherwise 0 and a reason in why. */
int svc_model_name_ok(const char *name, char *why, size_t whylen);

/* Number of Unicode code points in valid UTF-8. */
size_t svc_utf8_length(const char *s, size_t n);

#endif
