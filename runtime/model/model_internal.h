/*
 * model_internal.h — the structs behind vkb_model and model_replica, shared by the model
 * layer's files: model_config.c (config.json + sentence-transformers files), model_weights.c
 * (binding and checking checkpoint tensors), model_load.c, model_tokenize.c,
 * model_replica.c (weights on a backend, scratch) and encoder.c (the forward).
 */
#ifndef VKB_MODEL_INTERNAL_H
#define VKB_MODEL_INTERNAL_H

#include "model.h"
#include "safetensors.h"

/* The longest sequence the encoder runs: vkb_op_attention's limit (core/backend.h,
 * VKB_ATTENTION_MAX_L), bge-m3's 8192. Models with a longer position table are capped here
 * (and say so in the log); MPNet's bucketed bias is exact to 1024 (VKB_ATTENTION_T5_MAX_L). */
enum { ENCODER_MAX_TOKENS = 8192, ENCODER_MAX_TOKENS_T5 = 1024 };

enum { MODEL_MAX_POST = 8 };

/* DeBERTa's disentangled attention (deberta.c; semantics in ../shared/testdata/README.md,
 * "DeBERTa semantics"). kind 0: not DeBERTa. */
typedef struct rel_config {
    int kind;           /* 0, 1 (model_type deberta) or 2 (deberta-v2) */
    int c2p, p2c;       /* pos_att_type */
    int max_rel;        /* M: max_relative_positions, or max_position_embeddings if < 1 */
    int buckets;        /* v2 position_buckets, 0: none */
    int span;           /* S: the table has 2S rows (v2 with buckets: buckets, else M) */
    int share_att_key;  /* v2: positions through the layer's own key/query projections */
    int norm_rel_ebd;   /* v2: encoder.LayerNorm on the table */
    int abs_pos;        /* position_biased_input: add the absolute position table */
} rel_config;

/* Everything config.json and the sentence-transformers files say that the forward needs. */
typedef struct model_config {
    char model_type[32];
    const model_family *fam;
    unsigned features;      /* MF_* the checkpoint's tensors depend on */
    vkb_pos_mode pos_mode;  /* BERT: 0..L-1; RoBERTa family, MPNet: pos_pad + 1 + t */
    int pos_pad;            /* the padding index of the position rule (RoBERTa: pad_id) */
    int hidden, layers, heads, intermediate;
    int vocab, type_vocab, max_pos_emb, pad_id;
    float eps;
    vkb_act act;
    /* Relative positions (fam->rel): MR_T5_BUCKETS' table rows, and the bucket rule's
     * buckets and maximal distance (MPNet's code fixes 32 and 128). */
    int rel_buckets, rel_rule_buckets, rel_max_distance;
    /* Usable token positions: max_pos_emb, less pad_id + 1 for the RoBERTa family, at most
     * ENCODER_MAX_TOKENS. */
    int max_tokens;
    /* sentence-transformers */
    int pool_modes;         /* VKB_POOL_* bits */
    int normalize;
    int lower_case;         /* sentence_bert_config do_lower_case: str.lower() first */
    int max_seq_length;     /* truncation for embeddings, specials included */
    int bertscore_max_len;  /* truncation for BERTScore (tokenizer model_max_length) */
    int pool_dim;           /* pooled width: modes * hidden */
    /* The modules.json steps after Pooling, in order: Dense folders (post_path[i] set) and
     * Normalize (post_path[i] ""). A Normalize straight after Pooling is not listed here but
     * fused into the pooling op (normalize = 1). */
    int n_post;
    char post_path[MODEL_MAX_POST][128];
    int dim;                /* embedding width: pool_dim, or the last Dense's out_features */
    rel_config rel;         /* DeBERTa only */
} model_config;

/* Reads dir/config.json, modules.json, the Pooling config, sentence_bert_config.json and
 * tokenizer_config.json. Errors name the file and the field. */
int model_config_load(const char *dir, model_config *cfg, char *err, size_t errlen);
/* An integer field of config.json for the families' parse_config: absent gives dflt unless
 * required; out of lo..hi is an error naming the key. */
int model_config_int(const struct json_t *c, const char *key, int required, int dflt, int lo,
                     int hi, int *out, char *err, size_t errlen);

/* The checkpoint tensors the encoder uses, found (any prefix) and shape-checked, by slot
 * (model.h: MW_*, LW_*); slots the family does not read, or optional tensors the checkpoint
 * lacks, are NULL. */
typedef struct model_weights {
    char prefix[64];            /* "", "bert.", "roberta.", "distilbert.", ... */
    const st_tensor *glob[MW_COUNT];
    const st_tensor *(*layer)[LW_COUNT]; /* layers entries */
} model_weights;

int model_weights_bind(const st_archive *st, const model_config *cfg, model_weights *w,
                       char *err, size_t errlen);
void model_weights_release(model_weights *w);

/* One sentence-transformers Dense module: y = act(W x + b). Host copies (they are small);
 * replicas upload them. */
typedef struct st_dense {
    int in, out;
    vkb_act act;
    float *w; /* (out, in): linear.weight as stored */
    float *b; /* (out): linear.bias, NULL when the module has no bias */
} st_dense;

/* The steps after pooling (cfg.post_path order; dense[i] NULL for a Normalize) and the
 * prompts of config_sentence_transformers.json. */
typedef struct st_modules {
    st_dense *dense[MODEL_MAX_POST];
    int n_prompts;
    char **prompt_names, **prompt_texts; /* always holds "query" and "document" */
    int default_prompt;                  /* index, or -1: no default_prompt_name */
} st_modules;

/* Reads the Dense folders cfg->post_path names (config.json + model.safetensors) and
 * config_sentence_transformers.json; sets cfg->dim to the final width. Errors name the file. */
int st_modules_load(const char *dir, model_config *cfg, st_modules *sm, char *err,
                    size_t errlen);
void st_modules_free(st_modules *sm);

struct vkb_model {
    char *dir;
    st_modules st_mods;
    model_config cfg;
    vkb_model_facts facts;
    model_load_opts opts;
    st_archive *st;       /* mmap'd checkpoint; weights are read from it at replica creation */
    model_weights w;
    vkb_tokenizer *tok;   /* as the files say (sentence embeddings) */
    vkb_tokenizer *tok_bs;/* BERTScore's: add_prefix_space for byte-level BPE; else == tok */
};

/* One layer's weights on a backend. qkv_w is (3C, C): rows Q, then K, then V, so one matmul
 * makes the packed (rows, 3C) layout vkb_op_attention reads. Matrices are F32 or F16;
 * biases and LayerNorm parameters always F32; a tensor the checkpoint may omit is NULL. */
typedef struct layer_tensors {
    vkb_tensor *qkv_w, *qkv_b;   /* (3C, C), (3C) */
    vkb_tensor *o_w, *o_b;       /* (C, C), (C) */
    vkb_tensor *ln1_g, *ln1_b;   /* (C) */
    vkb_tensor *i_w, *i_b;       /* (I, C), (I) */
    vkb_tensor *f_w, *f_b;       /* (C, I), (C) */
    vkb_tensor *ln2_g, *ln2_b;   /* (C) */
    /* DeBERTa with its own position projections: (ld, C) and (ld) making pos = [Pq | Pk]
     * (a term that is off has no rows); NULL with share_att_key (qkv_w, qkv_b instead). */
    vkb_tensor *pos_w, *pos_b;
} layer_tensors;

struct model_replica {
    vkb_model *m;
    vkb_backend *b;
    vkb_tensor *word, *pos, *type; /* (V, C), (P, C), (T, C); pos, type NULL if unused */
    vkb_tensor *emb_g, *emb_b;     /* (C) */
    vkb_tensor *rel_bias;          /* (buckets, H) MR_T5_BUCKETS, shared by every layer */
    layer_tensors *layers;
    /* Scratch, grown on demand and reused: capacity in rows (B*L) and sequences (B). */
    size_t cap_rows;
    int cap_seqs;
    vkb_tensor *ids;     /* (rows) I32 */
    vkb_tensor *lengths; /* (B) I32 */
    vkb_tensor *x;       /* (rows, C): layer input / output, hidden_states[i] */
    vkb_tensor *t;       /* (rows, C): pre-LayerNorm sums */
    vkb_tensor *ca;      /* (rows, C): attention context, then the post-attention LayerNorm */
    vkb_tensor *qf;      /* (rows, max(3C, I)): packed QKV, then the FFN activation */
    vkb_tensor *pooled;  /* (B, pool_dim) */
    /* After pooling (cfg.n_post > 0): each Dense's W (out, in) and b (out) as plain F32
     * tensors, and two (B, max width) vectors the steps ping-pong between. */
    vkb_tensor *dense_w[MODEL_MAX_POST], *dense_b[MODEL_MAX_POST];
    vkb_tensor *post[2];
    int post_width;      /* widest vector after pooling */
    int32_t *host_ids;   /* (rows) staging for ids */
    int32_t *host_lens;  /* (B) */
    /* DeBERTa: the relative table (2S, C) (v2: after its LayerNorm), and per batch the rows
     * the batch's distances reach (rel_win, P rows), their projections (pos_proj, P rows of
     * pos_ld floats) and the index (2L-1) from distance to row. */
    vkb_tensor *rel_table, *rel_win, *pos_proj, *rel_idx;
    int32_t *host_rel;
    int cap_rel_L;       /* rel_win, pos_proj and rel_idx hold a batch of this L */
    int rel_row0, rel_rows, pos_ld; /* the current batch's window */
};

/* Ensures the scratch tensors hold rows = B*L rows and B sequences. */
int replica_reserve(model_replica *r, int B, int L);

/* The post-LN layer of BERT (encoder.c): projections, attention (with the family's
 * position bias, if any), output + residual, LayerNorm, FFN + residual, LayerNorm. Every
 * family today records its layers with it. */
int encoder_record_post_ln(model_replica *r, int l, int B, int L);
/* Its second half, from r->ca holding the attention context: output + residual,
 * LayerNorm, FFN + residual, LayerNorm (DeBERTa's recorder ends with it). */
int encoder_record_post_ln_tail(model_replica *r, int l, int B, int L);

/* ---- deberta.c: DeBERTa v1 and v2 (model_type deberta, deberta-v2), the family hooks */
/* The DeBERTa keys of config.json into cfg->rel and cfg->features; a key this encoder
 * cannot run is refused with its name. */
int deberta_config_parse(const struct json_t *c, model_config *cfg, char *err, size_t errlen);
/* v2's log bucket of a relative distance delta (position_buckets, M), as the reference
 * computes it in float32. */
int deberta_log_bucket(int delta, int buckets, int max_rel);
/* The row of the relative table (0 .. 2S-1) for query minus key distance delta. */
int deberta_rel_row(const rel_config *rc, int delta);
int deberta_replica_upload(struct uploader *u, model_replica *r);
void deberta_replica_free(model_replica *r);
int deberta_stage_batch(model_replica *r, int L);
int deberta_record_layer(model_replica *r, int l, int B, int L);

/* model_replica.c's upload helpers, shared with deberta.c. */
struct uploader {
    vkb_backend *b;
    int downcast_f32;  /* opts.weights_f16 */
    void *stage;       /* UPLOAD_STAGE_ELEMS floats (or halves) */
    char *err;
    size_t errlen;
};
typedef struct uploader uploader;
#define UPLOAD_STAGE_ELEMS ((size_t)1 << 20) /* 4 MiB of staging */
vkb_dtype upload_matrix_dtype(uploader *u, const st_tensor *const *srcs, int n);
/* A matmul weight of K columns from srcs[0..n) stacked row-wise; an F32 vector of them. */
vkb_tensor *upload_weight(uploader *u, const st_tensor *const *srcs, int n, int K);
vkb_tensor *upload_vector(uploader *u, const st_tensor *const *srcs, int n);
/* From host floats: an F32 tensor of n values, and an (N, K) matmul weight of dtype
 * (rounded to halves for F16). what names it in errors. */
vkb_tensor *upload_host_f32(uploader *u, const float *v, size_t n, const char *what);
vkb_tensor *upload_host_weight(uploader *u, vkb_dtype dtype, const float *v, int N, int K,
                               const char *what);

#endif
