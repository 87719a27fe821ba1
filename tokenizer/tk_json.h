/*
 * tk_json.h — the JSON fields both loaders read (load_json.c for tokenizer.json, load_legacy.c
 * for vocab.json and tokenizer_config.json), written once in json_fields.c.
 */
#ifndef TK_JSON_H
#define TK_JSON_H

#include "tk_internal.h"

#include <jansson.h>

/* The boolean o[key]; def when o is not an object or the field is absent, null or not a
 * boolean. */
int tk_json_bool(json_t *o, const char *key, int def);

/* Puts each "token": id pair of the JSON object obj into vocab. Every id must be an integer in
 * [0, TK_MAX_IDS). 0, or -1 with err "<path>: vocab entry '<token>' has no valid id" or
 * "<path>: out of memory" (obj must be an object: callers word that error for their file). */
int tk_json_vocab(tk_strmap *vocab, json_t *obj, const char *path, char *err, size_t errlen);

/* load_unigram.c: model.vocab / unk_id / byte_fallback of a Unigram model into t->unigram
 * and t->vocab; json is the raw file text (the scores are re-read from it the way tokenizers
 * reads them). 0, or -1 with err naming what is wrong. */
int tk_load_unigram(vkb_tokenizer *t, json_t *model, const char *json, size_t len,
                    const char *path, char *err, size_t errlen);

#endif
