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

/* The longest sequence the encoder runs: vkb_op_attention's limit. Models with a longer
 * position table are capped here (and say so in the log). */
enum { ENCODER_MAX_TOKENS = 512 };

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
    vkb_pos_mode pos_mode;  /* BERT: 0..L-1; RoBERTa family: pad_id + 1 + t */
    int hidden, layers, heads, intermediate;
    int vocab, type_vocab, max_pos_emb, pad_id;
    float eps;
    vkb_act act;
    /* Usable token positions: max_pos_emb, less pad_id + 1 for the RoBERTa family, at most
     * ENCODER_MAX_TOKENS. */
    int max_tokens;
    /* sentence-transformers */
    int pool_modes;         /* VKB_POOL_* bits */
    int normalize;
    int lower_case;         /* sentence_bert_config do_lower_case: str.lower() first */
    int max_seq_length;     /* truncation for embeddings, specials included */
    int bertscore_max_len;  /* truncation for BERTScore (tokenizer model_max_length) */
    int dim;                /* pooled width: modes * hidden */
    rel_config rel;         /* DeBERTa only */
} model_config;

/* Reads dir/config.json, modules.json, the Pooling config, sentence_bert_config.json and
 * tokenizer_config.json. Errors name the file and the field. */
int model_config_load(const char *dir, model_config *cfg, char *err, size_t errlen);

/* One encoder layer's tensors in the checkpoint, in this order. */
enum {
    LW_Q_W, LW_Q_B, LW_K_W, LW_K_B, LW_V_W, LW_V_B, /* attention.self.{query,key,value} */
    LW_O_W, LW_O_B, LW_LN1_G, LW_LN1_B,             /* attention.output.{dense,LayerNorm} */
    LW_I_W, LW_I_B,                                 /* intermediate.dense */
    LW_F_W, LW_F_B, LW_LN2_G, LW_LN2_B,             /* output.{dense,LayerNorm} */
    LW_COUNT
};
/* The embedding block's tensors. */
enum { EW_WORD, EW_POS, EW_TYPE, EW_LN_G, EW_LN_B, EW_COUNT };

/* DeBERTa's own tensors: per layer (v1: in_proj replaces query/key/value; NULL when the
 * config does not use one), and for the whole encoder. */
enum {
    DW_IN_PROJ, DW_Q_BIAS, DW_V_BIAS,   /* v1 attention.self.{in_proj.weight,q_bias,v_bias} */
    DW_PK_W, DW_PK_B,                   /* position keys: v1 pos_proj (no bias), v2 pos_key_proj */
    DW_PQ_W, DW_PQ_B,                   /* position queries: v1 pos_q_proj, v2 pos_query_proj */
    DW_COUNT
};
enum { DE_REL, DE_LN_G, DE_LN_B, DE_COUNT }; /* encoder.rel_embeddings, encoder.LayerNorm */

/* The checkpoint tensors the encoder uses, found (any prefix) and shape-checked. */
typedef struct model_weights {
    char prefix[64];            /* "", "bert.", "roberta.", ... */
    const st_tensor *emb[EW_COUNT];       /* EW_POS, EW_TYPE NULL where DeBERTa has none */
    const st_tensor *(*layer)[LW_COUNT]; /* layers entries (DeBERTa v1: Q/K/V NULL) */
    const st_tensor *(*dlayer)[DW_COUNT];/* DeBERTa: layers entries */
    const st_tensor *denc[DE_COUNT];     /* DeBERTa */
} model_weights;

int model_weights_bind(const st_archive *st, const model_config *cfg, model_weights *w,
                       char *err, size_t errlen);
/* prefix+name (or prefix+alt) as a float tensor of shape [rows] (cols 0) or [rows, cols]. */
int weights_bind_one(const st_archive *st, const char *prefix, const char *name, const char *alt,
                     int64_t rows, int64_t cols, const st_tensor **out, char *err,
                     size_t errlen);
void model_weights_release(model_weights *w);

struct vkb_model {
    char *dir;
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
 * biases and LayerNorm parameters always F32. */
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
    vkb_tensor *word, *pos, *type; /* (V, C), (P, C), (T, C) */
    vkb_tensor *emb_g, *emb_b;     /* (C) */
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
    vkb_tensor *pooled;  /* (B, dim) */
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

/* ---- deberta.c: DeBERTa v1 and v2 (model_type deberta, deberta-v2) */
struct json_t;
/* The DeBERTa keys of config.json (c) into cfg->rel, after the common ones; a key this
 * encoder cannot run is refused with its name. */
int deberta_config_parse(struct json_t *c, model_config *cfg, char *err, size_t errlen);
/* v2's log bucket of a relative distance delta (position_buckets, M), as the reference
 * computes it in float32. */
int deberta_log_bucket(int delta, int buckets, int max_rel);
/* The row of the relative table (0 .. 2S-1) for query minus key distance delta. */
int deberta_rel_row(const rel_config *rc, int delta);
/* Name of layer tensor k (LW_Q_W .. LW_V_B) in a DeBERTa checkpoint, or NULL (v1: in_proj). */
const char *deberta_qkv_name(const model_config *cfg, int k);
/* Binds the DeBERTa-only tensors (w->dlayer, w->denc). */
int deberta_weights_bind(const st_archive *st, const model_config *cfg, model_weights *w,
                         char *err, size_t errlen);
/* Uploads what a DeBERTa replica needs beyond BERT's tensors: v1's packed QKV from in_proj,
 * the position projections, the relative table, zero tables for absent positions / types. */
typedef struct uploader uploader;
int deberta_replica_upload(uploader *u, model_replica *r);
void deberta_replica_free(model_replica *r);
/* Stages a batch of longest length L: the window of table rows and the index (uploads:
 * call before the batch is recorded). */
int deberta_stage_batch(model_replica *r, int L);
/* Records the copy of the batch's window of table rows (first op of a DeBERTa forward). */
int deberta_record_window(model_replica *r);
/* Records layer w's attention: qkv projection into r->qf, positions, attention_rel into
 * r->ca. */
int deberta_record_attention(model_replica *r, const layer_tensors *w, int B, int L);

/* model_replica.c's upload helpers, shared with deberta.c. */
struct uploader {
    vkb_backend *b;
    int downcast_f32;  /* opts.weights_f16 */
    void *stage;       /* UPLOAD_STAGE_ELEMS floats (or halves) */
    char *err;
    size_t errlen;
};
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
