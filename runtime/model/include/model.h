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

/* ---------------------------------------------------------------- model families
 * A family is data: this descriptor (model_family.c holds one per family) plus, at most, a
 * short function that records one layer. The config reader, the tensor binder, the replica
 * upload, the encoder and `vkbridge gen-model` all read the same tables, so a new family is
 * a table (and maybe a recorder), not an edit in seven places.
 *
 * Shapes are written in units of the config (model_dim); a tensor row names the slot it fills
 * (MW_* for model-wide tensors, LW_* for per-layer ones). Slots are shared by every family:
 * DistilBERT's `attention.q_lin.weight` fills LW_Q_W like BERT's `attention.self.query.weight`.
 *
 * Growing it for a new architecture (written with DeBERTa in mind):
 *   - new tensors get new slots at the end of MW_* / LW_* (DeBERTa: MW_REL_EMB and the optional
 *     MW_REL_LN_G/B for `encoder.rel_embeddings` and its LayerNorm; LW_IN_PROJ, LW_Q_BIAS,
 *     LW_V_BIAS for v1's packed projection, LW_POS_K_W ... for the position projections);
 *   - a tensor read only under some configuration carries a feature bit in `when` (MF_*) that
 *     the config reader sets (DeBERTa's position table: MF_ABS_POS only when
 *     position_biased_input; the rel LayerNorm: a new MF_REL_NORM when norm_rel_ebd says so);
 *   - keys the common reader does not know go through parse_config (it sees the parsed JSON
 *     object and fills model_config's `rel` fields: DeBERTa's max_relative_positions,
 *     position_buckets, pos_att_type, share_att_key);
 *   - a layer that is not "BERT with another attention bias" gets its own record_layer
 *     (DeBERTa: projections, c2p/p2c scores through the attention descriptor, then the BERT
 *     tail); an embedding output multiplied by the attention mask (DeBERTa) is a new field
 *     here read by encoder.c's record_forward, with the op that does it. */

/* Sizes a tensor's shape is written in. MD_NONE as cols: the tensor is a vector. */
typedef enum {
    MD_NONE = 0,
    MD_C,        /* hidden size */
    MD_I,        /* feed-forward width */
    MD_V,        /* vocabulary (vocab_size) */
    MD_P,        /* position table rows (max_position_embeddings) */
    MD_T,        /* token types (type_vocab_size) */
    MD_HEADS,    /* attention heads */
    MD_BUCKETS,  /* relative-position buckets (MPNet: relative_attention_num_buckets) */
    MD_C3,       /* three times the hidden size (DeBERTa v1's packed in_proj) */
    MD_REL_ROWS, /* DeBERTa's relative table: 2S rows (S: position_buckets, else the range) */
} model_dim;

/* How gen-model fills a tensor (HF's initialisation, roughly). */
typedef enum { MI_WEIGHT, MI_BIAS, MI_GAMMA, MI_BETA } model_init;

/* Absolute positions added in the embeddings. */
typedef enum {
    MP_ABSOLUTE,  /* position of token t is t (BERT, DistilBERT) */
    MP_ROBERTA,   /* real token t: pad + 1 + t, padding: pad (RoBERTa family, MPNet) */
    MP_NONE,      /* no position table (relative-only architectures) */
} model_pos;

/* A bias added to the attention scores that depends on the query and key positions. */
typedef enum {
    MR_NONE,
    MR_T5_BUCKETS, /* one (buckets, heads) table shared by every layer, indexed by HF's
                      bidirectional relative_position_bucket(j - i) (MPNet) */
} model_rel;

/* Padded tokens an encoder batch may hold, per sequence of its batch size: what a full batch
 * held when inputs stopped at 512, so a batch of long inputs holds fewer sequences and the
 * scratch stays the size short batches use (the engine's choose_batch, BERTScore's
 * score_chunk). */
enum { MODEL_BATCH_TOKENS_PER_SEQ = 512 };

/* Where the LayerNorms sit. Only post-LN today: LN(x + sublayer(x)). */
typedef enum { MN_POST } model_norm;

/* Slots: the model-wide tensors ... */
enum {
    MW_WORD, MW_POS, MW_TYPE, MW_EMB_LN_G, MW_EMB_LN_B, MW_REL_BIAS,
    MW_REL_EMB, MW_REL_LN_G, MW_REL_LN_B, /* DeBERTa: encoder.rel_embeddings, encoder.LayerNorm */
    MW_COUNT
};
/* ... and one layer's. */
enum {
    LW_Q_W, LW_Q_B, LW_K_W, LW_K_B, LW_V_W, LW_V_B, /* query, key, value projections */
    LW_O_W, LW_O_B, LW_LN1_G, LW_LN1_B,             /* attention output, its LayerNorm */
    LW_I_W, LW_I_B,                                 /* feed-forward in */
    LW_F_W, LW_F_B, LW_LN2_G, LW_LN2_B,             /* feed-forward out, its LayerNorm */
    LW_IN_PROJ, LW_Q_BIAS, LW_V_BIAS,               /* DeBERTa v1: in_proj, q_bias, v_bias */
    LW_PK_W, LW_PK_B, LW_PQ_W, LW_PQ_B,             /* DeBERTa position key / query dense */
    LW_COUNT
};

/* Config features a tensor may depend on (model_tensor_def.when). */
enum {
    MF_ABS_POS = 1, MF_TOKEN_TYPES = 2, MF_REL_BIAS = 4,
    /* DeBERTa: the relative table's LayerNorm (norm_rel_ebd), the c2p / p2c terms, and
     * position projections of their own (v1 always, v2 without share_att_key) */
    MF_REL_NORM = 8, MF_C2P = 16, MF_P2C = 32, MF_POS_PROJ = 64,
};

typedef struct model_tensor_def {
    int slot;             /* MW_* or LW_* */
    const char *name;     /* after the prefix (per layer: after layer_prefix "N.") */
    const char *alt;      /* an older spelling (LayerNorm.gamma / .beta), or NULL */
    model_dim rows, cols; /* cols MD_NONE: a vector of rows */
    model_init init;      /* for gen-model */
    unsigned when;        /* MF_* bits the config must have for the tensor to be read; 0: always */
    int optional;         /* may be absent: the slot stays NULL (the op treats it as zero) */
} model_tensor_def;

/* config.json key names; alt: the same setting under another name (or NULL). */
typedef struct model_key {
    const char *name, *alt;
} model_key;

struct model_config;
struct json_t;
struct uploader; /* model_replica.c's upload helpers (model_internal.h) */

typedef struct model_family {
    const char *name;               /* "bert" */
    const char *const *model_types; /* config model_type values it reads, NULL-terminated */
    const char *architecture;       /* config "architectures" entry gen-model writes */
    const char *default_prefix;     /* tensor prefix gen-model writes ("roberta.", "") */
    model_key hidden, layers, heads, intermediate, act, eps;
    float fixed_eps;                /* > 0: LayerNorm eps built into the architecture (the
                                       config's is ignored: DistilBERT 1e-12) */
    float default_eps;              /* when the config has no eps key */
    int default_pad_id;             /* when the config has no pad_token_id */
    model_pos positions;
    int position_pad;               /* >= 0: the padding index the position rule uses whatever
                                       pad_token_id says (MPNet: 1); -1: pad_token_id */
    int token_types;                /* type_vocab_size read, token type 0 added */
    model_rel rel;
    model_norm norm;
    int bertscore_prefix_space;     /* bert_score encodes byte-level BPE with add_prefix_space */
    const char *layer_prefix;       /* "encoder.layer." */
    const model_tensor_def *tensors;
    int n_tensors;
    const model_tensor_def *layer_tensors;
    int n_layer_tensors;
    /* Family keys the common reader does not know (config already holds the common ones);
     * VKB_EUNSUPPORTED naming the key for settings this build cannot run. NULL: none. */
    int (*parse_config)(const struct json_t *config, struct model_config *cfg, char *err,
                        size_t errlen);
    /* Records layer l of the forward on the replica's scratch (see encoder.c). */
    int (*record_layer)(model_replica *r, int l, int B, int L);
    /* Optional, for families with state beyond the tables (DeBERTa's relative table and
     * per-batch index): after the tables' uploads; before the replica's tensors are freed;
     * per batch of longest length L before it is recorded (uploads allowed). */
    int (*replica_extra)(struct uploader *u, model_replica *r);
    void (*replica_extra_free)(model_replica *r);
    int (*stage_batch)(model_replica *r, int L);
    /* config.json keys gen-model adds for the family (a JSON object), or NULL. */
    const char *gen_config;
} model_family;

/* The family reading config model_type `type`, or NULL. */
const model_family *model_family_find(const char *type);
/* Every family, for gen-model and for error messages. */
const model_family *const *model_families(int *n);

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
