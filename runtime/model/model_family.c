/*
 * model_family.c — the model families as data (the descriptor is documented in model.h):
 * BERT, the RoBERTa family (roberta, xlm-roberta, camembert), DistilBERT and MPNet. Each is a
 * table of its config keys, its tensors (names after the prefix, shapes in units of the
 * config) and its position / attention rules; all record their layers with the post-LN
 * recorder of encoder.c. Adding a family: docs/ARCHITECTURE.md, "Adding a model family".
 */
#include "model_internal.h"

#include "vkb_runtime.h"

#include <jansson.h>
#include <string.h>

/* ---- BERT and the RoBERTa family: one tensor layout, two position rules */

static const model_tensor_def bert_tensors[] = {
    {MW_WORD, "embeddings.word_embeddings.weight", NULL, MD_V, MD_C, MI_WEIGHT, 0, 0},
    {MW_POS, "embeddings.position_embeddings.weight", NULL, MD_P, MD_C, MI_WEIGHT, MF_ABS_POS, 0},
    {MW_TYPE, "embeddings.token_type_embeddings.weight", NULL, MD_T, MD_C, MI_WEIGHT,
     MF_TOKEN_TYPES, 0},
    {MW_EMB_LN_G, "embeddings.LayerNorm.weight", "embeddings.LayerNorm.gamma", MD_C, MD_NONE,
     MI_GAMMA, 0, 0},
    {MW_EMB_LN_B, "embeddings.LayerNorm.bias", "embeddings.LayerNorm.beta", MD_C, MD_NONE,
     MI_BETA, 0, 0},
};

static const model_tensor_def bert_layer[] = {
    {LW_Q_W, "attention.self.query.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_Q_B, "attention.self.query.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_K_W, "attention.self.key.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_K_B, "attention.self.key.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_V_W, "attention.self.value.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_V_B, "attention.self.value.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_O_W, "attention.output.dense.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_O_B, "attention.output.dense.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_LN1_G, "attention.output.LayerNorm.weight", "attention.output.LayerNorm.gamma", MD_C,
     MD_NONE, MI_GAMMA, 0, 0},
    {LW_LN1_B, "attention.output.LayerNorm.bias", "attention.output.LayerNorm.beta", MD_C,
     MD_NONE, MI_BETA, 0, 0},
    {LW_I_W, "intermediate.dense.weight", NULL, MD_I, MD_C, MI_WEIGHT, 0, 0},
    {LW_I_B, "intermediate.dense.bias", NULL, MD_I, MD_NONE, MI_BIAS, 0, 0},
    {LW_F_W, "output.dense.weight", NULL, MD_C, MD_I, MI_WEIGHT, 0, 0},
    {LW_F_B, "output.dense.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_LN2_G, "output.LayerNorm.weight", "output.LayerNorm.gamma", MD_C, MD_NONE, MI_GAMMA, 0,
     0},
    {LW_LN2_B, "output.LayerNorm.bias", "output.LayerNorm.beta", MD_C, MD_NONE, MI_BETA, 0, 0},
};

/* position_embedding_type: only absolute ("relative_key" BERTs would need another bias). */
static int parse_bert(const struct json_t *c, struct model_config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    json_t *pe = json_object_get(c, "position_embedding_type");
    if (pe && !json_is_null(pe) &&
        (!json_is_string(pe) || strcmp(json_string_value(pe), "absolute"))) {
        vkb_set_err(err, errlen, "config.json: position_embedding_type '%.64s' is not supported "
                    "(only absolute)", json_is_string(pe) ? json_string_value(pe) : "?");
        return VKB_EUNSUPPORTED;
    }
    return VKB_OK;
}

#define N_OF(a) ((int)(sizeof(a) / sizeof *(a)))

static const char *const bert_types[] = {"bert", NULL};
static const model_family bert = {
    .name = "bert",
    .model_types = bert_types,
    .architecture = "BertModel",
    .default_prefix = "",
    .hidden = {"hidden_size", NULL},
    .layers = {"num_hidden_layers", NULL},
    .heads = {"num_attention_heads", NULL},
    .intermediate = {"intermediate_size", NULL},
    .act = {"hidden_act", NULL},
    .eps = {"layer_norm_eps", NULL},
    .default_eps = 1e-12f,
    .default_pad_id = 0,
    .positions = MP_ABSOLUTE,
    .position_pad = -1,
    .token_types = 1,
    .rel = MR_NONE,
    .norm = MN_POST,
    .bertscore_prefix_space = 1,
    .layer_prefix = "encoder.layer.",
    .tensors = bert_tensors,
    .n_tensors = N_OF(bert_tensors),
    .layer_tensors = bert_layer,
    .n_layer_tensors = N_OF(bert_layer),
    .parse_config = parse_bert,
    .record_layer = encoder_record_post_ln,
};

static const char *const roberta_types[] = {"roberta", "xlm-roberta", "camembert", NULL};
static const model_family roberta = {
    .name = "roberta",
    .model_types = roberta_types,
    .architecture = "RobertaModel",
    .default_prefix = "roberta.",
    .hidden = {"hidden_size", NULL},
    .layers = {"num_hidden_layers", NULL},
    .heads = {"num_attention_heads", NULL},
    .intermediate = {"intermediate_size", NULL},
    .act = {"hidden_act", NULL},
    .eps = {"layer_norm_eps", NULL},
    .default_eps = 1e-12f,
    .default_pad_id = 1,
    .positions = MP_ROBERTA,
    .position_pad = -1,
    .token_types = 1,
    .rel = MR_NONE,
    .norm = MN_POST,
    .bertscore_prefix_space = 1,
    .layer_prefix = "encoder.layer.",
    .tensors = bert_tensors,
    .n_tensors = N_OF(bert_tensors),
    .layer_tensors = bert_layer,
    .n_layer_tensors = N_OF(bert_layer),
    .parse_config = parse_bert,
    .record_layer = encoder_record_post_ln,
};

/* ---- DistilBERT: BERT's computation under other names, no token types, eps fixed */

static const model_tensor_def distilbert_tensors[] = {
    {MW_WORD, "embeddings.word_embeddings.weight", NULL, MD_V, MD_C, MI_WEIGHT, 0, 0},
    {MW_POS, "embeddings.position_embeddings.weight", NULL, MD_P, MD_C, MI_WEIGHT, MF_ABS_POS, 0},
    {MW_EMB_LN_G, "embeddings.LayerNorm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},
    {MW_EMB_LN_B, "embeddings.LayerNorm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0},
};

static const model_tensor_def distilbert_layer[] = {
    {LW_Q_W, "attention.q_lin.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_Q_B, "attention.q_lin.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_K_W, "attention.k_lin.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_K_B, "attention.k_lin.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_V_W, "attention.v_lin.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_V_B, "attention.v_lin.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_O_W, "attention.out_lin.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_O_B, "attention.out_lin.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_LN1_G, "sa_layer_norm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},
    {LW_LN1_B, "sa_layer_norm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0},
    {LW_I_W, "ffn.lin1.weight", NULL, MD_I, MD_C, MI_WEIGHT, 0, 0},
    {LW_I_B, "ffn.lin1.bias", NULL, MD_I, MD_NONE, MI_BIAS, 0, 0},
    {LW_F_W, "ffn.lin2.weight", NULL, MD_C, MD_I, MI_WEIGHT, 0, 0},
    {LW_F_B, "ffn.lin2.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_LN2_G, "output_layer_norm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},
    {LW_LN2_B, "output_layer_norm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0},
};

/* sinusoidal_pos_embds: a fixed sine table computed at load; no checkpoint here needs it. */
static int parse_distilbert(const struct json_t *c, struct model_config *cfg, char *err,
                            size_t errlen)
{
    (void)cfg;
    if (json_is_true(json_object_get(c, "sinusoidal_pos_embds"))) {
        vkb_set_err(err, errlen, "config.json: sinusoidal_pos_embds true is not supported (only "
                    "a learned position table)");
        return VKB_EUNSUPPORTED;
    }
    return VKB_OK;
}

static const char *const distilbert_types[] = {"distilbert", NULL};
static const model_family distilbert = {
    .name = "distilbert",
    .model_types = distilbert_types,
    .architecture = "DistilBertModel",
    .default_prefix = "distilbert.",
    .hidden = {"dim", NULL},
    .layers = {"n_layers", NULL},
    .heads = {"n_heads", NULL},
    .intermediate = {"hidden_dim", NULL},
    .act = {"activation", NULL},
    .eps = {NULL, NULL},
    .fixed_eps = 1e-12f,
    .default_pad_id = 0,
    .positions = MP_ABSOLUTE,
    .position_pad = -1,
    .token_types = 0,
    .rel = MR_NONE,
    .norm = MN_POST,
    .bertscore_prefix_space = 1,
    .layer_prefix = "transformer.layer.",
    .tensors = distilbert_tensors,
    .n_tensors = N_OF(distilbert_tensors),
    .layer_tensors = distilbert_layer,
    .n_layer_tensors = N_OF(distilbert_layer),
    .parse_config = parse_distilbert,
    .record_layer = encoder_record_post_ln,
};

/* ---- MPNet: RoBERTa positions (padding index 1 whatever pad_token_id says), no token types,
 * one bucketed relative-position bias shared by every layer */

static const model_tensor_def mpnet_tensors[] = {
    {MW_WORD, "embeddings.word_embeddings.weight", NULL, MD_V, MD_C, MI_WEIGHT, 0, 0},
    {MW_POS, "embeddings.position_embeddings.weight", NULL, MD_P, MD_C, MI_WEIGHT, MF_ABS_POS, 0},
    {MW_EMB_LN_G, "embeddings.LayerNorm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},
    {MW_EMB_LN_B, "embeddings.LayerNorm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0},
    {MW_REL_BIAS, "encoder.relative_attention_bias.weight", NULL, MD_BUCKETS, MD_HEADS,
     MI_WEIGHT, MF_REL_BIAS, 0},
};

static const model_tensor_def mpnet_layer[] = {
    {LW_Q_W, "attention.attn.q.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_Q_B, "attention.attn.q.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_K_W, "attention.attn.k.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_K_B, "attention.attn.k.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_V_W, "attention.attn.v.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_V_B, "attention.attn.v.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_O_W, "attention.attn.o.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_O_B, "attention.attn.o.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_LN1_G, "attention.LayerNorm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},
    {LW_LN1_B, "attention.LayerNorm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0},
    {LW_I_W, "intermediate.dense.weight", NULL, MD_I, MD_C, MI_WEIGHT, 0, 0},
    {LW_I_B, "intermediate.dense.bias", NULL, MD_I, MD_NONE, MI_BIAS, 0, 0},
    {LW_F_W, "output.dense.weight", NULL, MD_C, MD_I, MI_WEIGHT, 0, 0},
    {LW_F_B, "output.dense.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_LN2_G, "output.LayerNorm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},
    {LW_LN2_B, "output.LayerNorm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0},
};

/* relative_attention_num_buckets sizes the table; HF's MPNet always buckets with 32 buckets
 * and a maximal distance of 128, so a smaller table cannot be indexed (the reference fails
 * with an index error) and is refused; a larger one leaves rows unused. */
static int parse_mpnet(const struct json_t *c, struct model_config *cfg, char *err,
                       size_t errlen)
{
    cfg->rel_rule_buckets = 32;
    cfg->rel_max_distance = 128;
    int rc = model_config_int(c, "relative_attention_num_buckets", 0, 32, 1, 1 << 16,
                              &cfg->rel_buckets, err, errlen);
    if (rc == VKB_OK && cfg->rel_buckets < cfg->rel_rule_buckets) {
        vkb_set_err(err, errlen, "config.json: relative_attention_num_buckets %d is below the "
                    "32 buckets MPNet's position bias indexes", cfg->rel_buckets);
        rc = VKB_EUNSUPPORTED;
    }
    return rc;
}

static const char *const mpnet_types[] = {"mpnet", NULL};
static const model_family mpnet = {
    .name = "mpnet",
    .model_types = mpnet_types,
    .architecture = "MPNetModel",
    .default_prefix = "",
    .hidden = {"hidden_size", NULL},
    .layers = {"num_hidden_layers", NULL},
    .heads = {"num_attention_heads", NULL},
    .intermediate = {"intermediate_size", NULL},
    .act = {"hidden_act", NULL},
    .eps = {"layer_norm_eps", NULL},
    .default_eps = 1e-12f,
    .default_pad_id = 1,
    .positions = MP_ROBERTA,
    .position_pad = 1,
    .token_types = 0,
    .rel = MR_T5_BUCKETS,
    .norm = MN_POST,
    .bertscore_prefix_space = 1,
    .layer_prefix = "encoder.layer.",
    .tensors = mpnet_tensors,
    .n_tensors = N_OF(mpnet_tensors),
    .layer_tensors = mpnet_layer,
    .n_layer_tensors = N_OF(mpnet_layer),
    .parse_config = parse_mpnet,
    .record_layer = encoder_record_post_ln,
};

/* ---- DeBERTa v1 and v2 (also DeBERTa-v3): BERT's layer with disentangled attention; the
 * keys, the relative table and the per-batch index are deberta.c's. Tensors a configuration
 * does not read carry its feature bits: the absolute position table (position_biased_input,
 * published checkpoints carry it anyway), the token types (type_vocab_size > 0), the
 * position projections (per term; v2 only without share_att_key), the table's LayerNorm.
 * DeBERTa multiplies its embedding output by the attention mask; without a conv layer
 * (refused at load) no real token depends on that and padded rows are never output, so the
 * encoder does not. */

static const model_tensor_def deberta_tensors[] = {
    {MW_WORD, "embeddings.word_embeddings.weight", NULL, MD_V, MD_C, MI_WEIGHT, 0, 0},
    {MW_POS, "embeddings.position_embeddings.weight", NULL, MD_P, MD_C, MI_WEIGHT, MF_ABS_POS, 0},
    {MW_TYPE, "embeddings.token_type_embeddings.weight", NULL, MD_T, MD_C, MI_WEIGHT,
     MF_TOKEN_TYPES, 0},
    {MW_EMB_LN_G, "embeddings.LayerNorm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},
    {MW_EMB_LN_B, "embeddings.LayerNorm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0},
    {MW_REL_EMB, "encoder.rel_embeddings.weight", NULL, MD_REL_ROWS, MD_C, MI_WEIGHT, 0, 0},
    {MW_REL_LN_G, "encoder.LayerNorm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, MF_REL_NORM, 0},
    {MW_REL_LN_B, "encoder.LayerNorm.bias", NULL, MD_C, MD_NONE, MI_BETA, MF_REL_NORM, 0},
};

/* BERT's attention output and feed-forward rows, shared by both versions */
#define DEBERTA_TAIL                                                                          \
    {LW_O_W, "attention.output.dense.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},             \
    {LW_O_B, "attention.output.dense.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},              \
    {LW_LN1_G, "attention.output.LayerNorm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},     \
    {LW_LN1_B, "attention.output.LayerNorm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0},        \
    {LW_I_W, "intermediate.dense.weight", NULL, MD_I, MD_C, MI_WEIGHT, 0, 0},                 \
    {LW_I_B, "intermediate.dense.bias", NULL, MD_I, MD_NONE, MI_BIAS, 0, 0},                  \
    {LW_F_W, "output.dense.weight", NULL, MD_C, MD_I, MI_WEIGHT, 0, 0},                       \
    {LW_F_B, "output.dense.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},                        \
    {LW_LN2_G, "output.LayerNorm.weight", NULL, MD_C, MD_NONE, MI_GAMMA, 0, 0},               \
    {LW_LN2_B, "output.LayerNorm.bias", NULL, MD_C, MD_NONE, MI_BETA, 0, 0}

/* v1: in_proj (3C rows grouped per head: q, k, v of head 0, then head 1 ...) without bias,
 * q_bias and v_bias; pos_proj (c2p, no bias) and pos_q_proj (p2c). */
static const model_tensor_def deberta_layer[] = {
    {LW_IN_PROJ, "attention.self.in_proj.weight", NULL, MD_C3, MD_C, MI_WEIGHT, 0, 0},
    {LW_Q_BIAS, "attention.self.q_bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_V_BIAS, "attention.self.v_bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_PK_W, "attention.self.pos_proj.weight", NULL, MD_C, MD_C, MI_WEIGHT, MF_C2P | MF_POS_PROJ,
     0},
    {LW_PQ_W, "attention.self.pos_q_proj.weight", NULL, MD_C, MD_C, MI_WEIGHT,
     MF_P2C | MF_POS_PROJ, 0},
    {LW_PQ_B, "attention.self.pos_q_proj.bias", NULL, MD_C, MD_NONE, MI_BIAS,
     MF_P2C | MF_POS_PROJ, 0},
    DEBERTA_TAIL,
};

/* v2: query_proj, key_proj, value_proj with biases; pos_key_proj / pos_query_proj only
 * without share_att_key. */
static const model_tensor_def deberta_v2_layer[] = {
    {LW_Q_W, "attention.self.query_proj.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_Q_B, "attention.self.query_proj.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_K_W, "attention.self.key_proj.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_K_B, "attention.self.key_proj.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_V_W, "attention.self.value_proj.weight", NULL, MD_C, MD_C, MI_WEIGHT, 0, 0},
    {LW_V_B, "attention.self.value_proj.bias", NULL, MD_C, MD_NONE, MI_BIAS, 0, 0},
    {LW_PK_W, "attention.self.pos_key_proj.weight", NULL, MD_C, MD_C, MI_WEIGHT,
     MF_C2P | MF_POS_PROJ, 0},
    {LW_PK_B, "attention.self.pos_key_proj.bias", NULL, MD_C, MD_NONE, MI_BIAS,
     MF_C2P | MF_POS_PROJ, 0},
    {LW_PQ_W, "attention.self.pos_query_proj.weight", NULL, MD_C, MD_C, MI_WEIGHT,
     MF_P2C | MF_POS_PROJ, 0},
    {LW_PQ_B, "attention.self.pos_query_proj.bias", NULL, MD_C, MD_NONE, MI_BIAS,
     MF_P2C | MF_POS_PROJ, 0},
    DEBERTA_TAIL,
};

static const char *const deberta_types[] = {"deberta", NULL};
static const model_family deberta = {
    .name = "deberta",
    .model_types = deberta_types,
    .architecture = "DebertaModel",
    .default_prefix = "deberta.",
    .hidden = {"hidden_size", NULL},
    .layers = {"num_hidden_layers", NULL},
    .heads = {"num_attention_heads", NULL},
    .intermediate = {"intermediate_size", NULL},
    .act = {"hidden_act", NULL},
    .eps = {"layer_norm_eps", NULL},
    .default_eps = 1e-7f,
    .default_pad_id = 0,
    .positions = MP_ABSOLUTE, /* unless position_biased_input is false (deberta.c) */
    .position_pad = -1,
    .token_types = 0,         /* type_vocab_size defaults to 0 (deberta.c reads it) */
    .rel = MR_NONE,
    .norm = MN_POST,
    .bertscore_prefix_space = 0,
    .layer_prefix = "encoder.layer.",
    .tensors = deberta_tensors,
    .n_tensors = N_OF(deberta_tensors),
    .layer_tensors = deberta_layer,
    .n_layer_tensors = N_OF(deberta_layer),
    .parse_config = deberta_config_parse,
    .record_layer = deberta_record_layer,
    .replica_extra = deberta_replica_upload,
    .replica_extra_free = deberta_replica_free,
    .stage_batch = deberta_stage_batch,
    /* as microsoft/deberta-xlarge-mnli writes them */
    .gen_config = "{\"relative_attention\": true, \"pos_att_type\": \"c2p|p2c\", "
                  "\"max_relative_positions\": -1, \"position_biased_input\": false, "
                  "\"type_vocab_size\": 0}",
};

static const char *const deberta_v2_types[] = {"deberta-v2", NULL};
static const model_family deberta_v2 = {
    .name = "deberta-v2",
    .model_types = deberta_v2_types,
    .architecture = "DebertaV2Model",
    .default_prefix = "deberta.",
    .hidden = {"hidden_size", NULL},
    .layers = {"num_hidden_layers", NULL},
    .heads = {"num_attention_heads", NULL},
    .intermediate = {"intermediate_size", NULL},
    .act = {"hidden_act", NULL},
    .eps = {"layer_norm_eps", NULL},
    .default_eps = 1e-7f,
    .default_pad_id = 0,
    .positions = MP_ABSOLUTE,
    .position_pad = -1,
    .token_types = 0,
    .rel = MR_NONE,
    .norm = MN_POST,
    .bertscore_prefix_space = 0,
    .layer_prefix = "encoder.layer.",
    .tensors = deberta_tensors,
    .n_tensors = N_OF(deberta_tensors),
    .layer_tensors = deberta_v2_layer,
    .n_layer_tensors = N_OF(deberta_v2_layer),
    .parse_config = deberta_config_parse,
    .record_layer = deberta_record_layer,
    .replica_extra = deberta_replica_upload,
    .replica_extra_free = deberta_replica_free,
    .stage_batch = deberta_stage_batch,
    /* as microsoft/deberta-v3-* write them */
    .gen_config = "{\"relative_attention\": true, \"pos_att_type\": \"p2c|c2p\", "
                  "\"max_relative_positions\": -1, \"position_biased_input\": false, "
                  "\"position_buckets\": 256, \"share_att_key\": true, "
                  "\"norm_rel_ebd\": \"layer_norm\", \"type_vocab_size\": 0}",
};

static const model_family *const families[] = {&bert,    &roberta,   &distilbert,
                                               &mpnet,   &deberta,   &deberta_v2};

const model_family *const *model_families(int *n)
{
    *n = N_OF(families);
    return families;
}

const model_family *model_family_find(const char *type)
{
    for (int f = 0; type && f < N_OF(families); f++)
        for (const char *const *t = families[f]->model_types; *t; t++)
            if (!strcmp(*t, type))
                return families[f];
    return NULL;
}
