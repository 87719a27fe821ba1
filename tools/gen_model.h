/*
 * gen_model.h — writes a random-weight Hugging Face model folder of a given shape
 * (config.json, model.safetensors or shards, tokenizer files, sentence-transformers files)
 * that model_load reads like a downloaded one. For self-contained tests and benches.
 */
#ifndef VKB_GEN_MODEL_H
#define VKB_GEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct gen_model_spec {
    const char *out;        /* folder to create (missing parents too) */
    const char *shape;      /* "minilm" (all-MiniLM-L6-v2), "roberta-large", "mpnet-base"
                               (all-mpnet-base-v2), "distilbert-base", "tiny" */
    const char *family;     /* a config model_type (model.h's families); NULL: the shape's */
    int layers, hidden, heads, intermediate; /* 0: the shape's value */
    int max_tokens;         /* token positions and max_seq_length; 0: the shape's (512) */
    const char *vocab_from; /* a tokenizer.json, vocab.txt or tokenizer folder to copy; NULL:
                               generate a WordPiece vocab.txt + tokenizer.json */
    const char *dtype;      /* "f32" (default), "f16", "bf16" */
    uint64_t seed;
    int shards;             /* > 1: model-0000i-of-0000N.safetensors + index.json */
    const char *prefix;     /* tensor-name prefix; NULL: the family's (model_family) */
} gen_model_spec;

int gen_model_write(const gen_model_spec *spec, char *err, size_t errlen);

/* The tokenizer part alone: a WordPiece vocab.txt + tokenizer.json + tokenizer_config.json
 * of `size` tokens in dir. roberta_ids: special tokens at RoBERTa's ids (pad = 1). */
int gen_wordpiece_tokenizer(const char *dir, int size, int roberta_ids, char *err, size_t errlen);
/* Copies a tokenizer into dir: from is a tokenizer.json, a vocab.txt, or a folder holding
 * tokenizer.json / vocab.txt / vocab.json + merges.txt; tokenizer_config.json and
 * special_tokens_map.json beside it come along. */
int gen_copy_tokenizer(const char *dir, const char *from, char *err, size_t errlen);

#endif
