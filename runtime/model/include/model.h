/*
 * model.h — internal interface of the model layer (runtime/model/).
 * Not public: the engine (engine*.c) and BERTScore (bertscore*.c) use it; the outside world
 * goes through vkb_engine_* in vkb_runtime.h.
 *
 * A vkb_model is the host side of one model folder: config, mmap'd safetensors, tokenizer,
 * sentence-transformers settings. A model_replica is that model's weights uploaded to one
 * backend plus the scratch tensors a forward pass needs, grown on demand and reused across
 * batches (no allocation per request in steady state). A replica is used by one thread at a
 * time (its device worker).
 */
#ifndef VKB_MODEL_H
#define VKB_MODEL_H

#include "vkb_runtime.h"
#include "vkb_tokenizer.h"

typedef struct vkb_model vkb_model;
typedef struct model_replica model_replica;

typedef struct model_load_opts {
    int weights_f16; /* downcast F32 checkpoints to f16 on devices with 16-bit storage */
} model_load_opts;

/* Loads the folder `dir` (config.json, model.safetensors[.index.json], tokenizer files,
 * modules.json, 1_Pooling/config.json, sentence_bert_config.json). Errors name the file or
 * tensor at fault. */
int model_load(const char *dir, const model_load_opts *opts, vkb_model **out, char *err,
               size_t errlen);
void model_free(vkb_model *m);
const vkb_model_facts *model_facts(const vkb_model *m);
const vkb_tokenizer *model_tokenizer(const vkb_model *m);
/* The folder the model was loaded from. */
const char *model_dir(const vkb_model *m);
/* Token ids the model accepts: those its tokenizer knows that index its embedding table
 * (0 .. min(tokenizer vocabulary, config vocab_size) - 1). */
int model_id_limit(const vkb_model *m);

/* Token ids as sentence-transformers makes them: the default prompt (if the model has one)
 * in front, str.strip(), special tokens, truncated to max_seq_length (closing special kept).
 * *ids malloc'd, caller frees. */
int model_tokenize_embed(const vkb_model *m, const char *text, size_t len, int32_t **ids, int *n);
/* The same with a prompt in front of the text (sentence-transformers' prompt semantics):
 * prompt NULL = the model's default prompt (none without default_prompt_name), "" = none.
 * model_tokenize_embed is this with NULL. */
int model_tokenize_embed_prompt(const vkb_model *m, const char *prompt, const char *text,
                                size_t len, int32_t **ids, int *n);
/* The prompt text a request asks for: prompt (literal, "" = none) wins over prompt_name;
 * both NULL = the default prompt or none. *text points into the model or is prompt.
 * An unknown name is VKB_EINVAL with a message listing the model's prompt names. */
int model_prompt(const vkb_model *m, const char *prompt_name, const char *prompt,
                 const char **text, char *err, size_t errlen);
/* As bert_score makes them: strip, special tokens, RoBERTa-family with add_prefix_space,
 * truncated to the model maximum (512 or max_positions - 2 for RoBERTa-style). */
int model_tokenize_bertscore(const vkb_model *m, const char *text, size_t len, int32_t **ids,
                             int *n);
/* Wraps raw ids (no specials) with the model's special tokens and truncates like text. */
int model_wrap_ids(const vkb_model *m, const int32_t *raw, int n_raw, int32_t **ids, int *n);
/* Special-token ids: CLS/BOS and SEP/EOS, and the pad id. */
int model_cls_id(const vkb_model *m);
int model_sep_id(const vkb_model *m);
int model_pad_id(const vkb_model *m);

/* Uploads the weights to backend b (once). */
int model_replica_create(vkb_model *m, vkb_backend *b, model_replica **out, char *err,
                         size_t errlen);
void model_replica_free(model_replica *r);
vkb_backend *model_replica_backend(model_replica *r);
const vkb_model *model_replica_model(const model_replica *r);

/* One device batch of B sequences (ids[i] has lens[i] tokens, 1 <= lens[i] <= max_positions);
 * padded to L = max lens[i].
 *
 * encoder_forward runs the embeddings and the first n_layers layers (n_layers <= num_layers)
 * and returns the device tensor holding hidden_states[n_layers] as (B*L, C), padded rows
 * included. The tensor belongs to the replica and stays valid until its next forward.
 * If record_only is 1 the function uploads its inputs (token ids, lengths: uploads are not
 * allowed inside a recording), then calls vkb_batch_begin itself and returns with the batch
 * still OPEN, so the caller records more ops (pooling, greedy matching) into the same submit
 * and calls vkb_batch_end. Upload whatever else those ops need before calling this. A
 * backend that is already recording gives VKB_EINVAL. With record_only 0 the function opens
 * and ends its own batch. On error no batch is left open. */
int encoder_forward(model_replica *r, const int32_t *const *ids, const int *lens, int B,
                    int n_layers, int record_only, vkb_tensor **hidden, int *L);
/* Sentence embeddings of the batch: pooling + Normalize on the device, only (B, dim) read
 * back into out. */
int encoder_embed(model_replica *r, const int32_t *const *ids, const int *lens, int B,
                  float *out);
/* hidden_states[layer] of the batch read back as (B, L, C) into out (malloc'd, caller
 * frees), real and padded rows alike. */
int encoder_hidden_states(model_replica *r, const int32_t *const *ids, const int *lens, int B,
                          int layer, float **out, int *L);

#endif
