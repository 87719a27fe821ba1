/*
 * bertscore_tables.c — bert_score 0.3.13's defaults: the per-model num_layers table
 * (model2layers: the layer whose output correlated best with human judgements on WMT16, per
 * model), the default model per language (lang2model), and the hash line its CLI prints.
 */
#include "bertscore.h"
#include "vkb_runtime.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The transformers version the hash line names: the one the oracle numbers were made with. */
#define BERTSCORE_HUG_TRANS "4.40.0"

struct model_layers {
    const char *model;
    int layers;
};

/* bert_score 0.3.13 utils.model2layers, every entry, in its order. */
static const struct model_layers model2layers[] = {
    {"bert-base-uncased", 9},
    {"bert-large-uncased", 18},
    {"bert-base-cased-finetuned-mrpc", 9},
    {"bert-base-multilingual-cased", 9},
    {"bert-base-chinese", 8},
    {"roberta-base", 10},
    {"roberta-large", 17},
    {"roberta-large-mnli", 19},
    {"roberta-base-openai-detector", 7},
    {"roberta-large-openai-detector", 15},
    {"xlnet-base-cased", 5},
    {"xlnet-large-cased", 7},
    {"xlm-mlm-en-2048", 6},
    {"xlm-mlm-100-1280", 10},
    {"allenai/scibert_scivocab_uncased", 8},
    {"allenai/scibert_scivocab_cased", 9},
    {"nfliu/scibert_basevocab_uncased", 9},
    {"distilroberta-base", 5},
    {"distilbert-base-uncased", 5},
    {"distilbert-base-uncased-distilled-squad", 4},
    {"distilbert-base-multilingual-cased", 5},
    {"albert-base-v1", 10},
    {"albert-large-v1", 17},
    {"albert-xlarge-v1", 16},
    {"albert-xxlarge-v1", 8},
    {"albert-base-v2", 9},
    {"albert-large-v2", 14},
    {"albert-xlarge-v2", 13},
    {"albert-xxlarge-v2", 8},
    {"xlm-roberta-base", 9},
    {"xlm-roberta-large", 17},
    {"google/electra-small-generator", 9},
    {"google/electra-small-discriminator", 11},
    {"google/electra-base-generator", 10},
    {"google/electra-base-discriminator", 9},
    {"google/electra-large-generator", 18},
    {"google/electra-large-discriminator", 14},
    {"google/bert_uncased_L-2_H-128_A-2", 1},
    {"google/bert_uncased_L-2_H-256_A-4", 1},
    {"google/bert_uncased_L-2_H-512_A-8", 1},
    {"google/bert_uncased_L-2_H-768_A-12", 2},
    {"google/bert_uncased_L-4_H-128_A-2", 3},
    {"google/bert_uncased_L-4_H-256_A-4", 3},
    {"google/bert_uncased_L-4_H-512_A-8", 3},
    {"google/bert_uncased_L-4_H-768_A-12", 3},
    {"google/bert_uncased_L-6_H-128_A-2", 5},
    {"google/bert_uncased_L-6_H-256_A-4", 5},
    {"google/bert_uncased_L-6_H-512_A-8", 5},
    {"google/bert_uncased_L-6_H-768_A-12", 5},
    {"google/bert_uncased_L-8_H-128_A-2", 7},
    {"google/bert_uncased_L-8_H-256_A-4", 7},
    {"google/bert_uncased_L-8_H-512_A-8", 6},
    {"google/bert_uncased_L-8_H-768_A-12", 7},
    {"google/bert_uncased_L-10_H-128_A-2", 8},
    {"google/bert_uncased_L-10_H-256_A-4", 8},
    {"google/bert_uncased_L-10_H-512_A-8", 9},
    {"google/bert_uncased_L-10_H-768_A-12", 8},
    {"google/bert_uncased_L-12_H-128_A-2", 10},
    {"google/bert_uncased_L-12_H-256_A-4", 11},
    {"google/bert_uncased_L-12_H-512_A-8", 10},
    {"google/bert_uncased_L-12_H-768_A-12", 9},
    {"amazon/bort", 0},
    {"facebook/bart-base", 6},
    {"facebook/bart-large", 10},
    {"facebook/bart-large-cnn", 10},
    {"facebook/bart-large-mnli", 11},
    {"facebook/bart-large-xsum", 9},
    {"t5-small", 6},
    {"t5-base", 11},
    {"t5-large", 23},
    {"vinai/bertweet-base", 9},
    {"microsoft/deberta-base", 9},
    {"microsoft/deberta-base-mnli", 9},
    {"microsoft/deberta-large", 16},
    {"microsoft/deberta-large-mnli", 18},
    {"microsoft/deberta-xlarge", 18},
    {"microsoft/deberta-xlarge-mnli", 40},
    {"YituTech/conv-bert-base", 10},
    {"YituTech/conv-bert-small", 10},
    {"YituTech/conv-bert-medium-small", 9},
    {"microsoft/mpnet-base", 8},
    {"squeezebert/squeezebert-uncased", 9},
    {"squeezebert/squeezebert-mnli", 9},
    {"squeezebert/squeezebert-mnli-headless", 9},
    {"tuner007/pegasus_paraphrase", 15},
    {"google/pegasus-large", 8},
    {"google/pegasus-xsum", 11},
    {"sshleifer/tiny-mbart", 2},
    {"facebook/mbart-large-cc25", 12},
    {"facebook/mbart-large-50", 12},
    {"facebook/mbart-large-en-ro", 12},
    {"facebook/mbart-large-50-many-to-many-mmt", 12},
    {"facebook/mbart-large-50-one-to-many-mmt", 12},
    {"allenai/led-base-16384", 6},
    {"facebook/blenderbot_small-90M", 7},
    {"facebook/blenderbot-400M-distill", 2},
    {"microsoft/prophetnet-large-uncased", 4},
    {"microsoft/prophetnet-large-uncased-cnndm", 7},
    {"SpanBERT/spanbert-base-cased", 8},
    {"SpanBERT/spanbert-large-cased", 17},
    {"microsoft/xprophetnet-large-wiki100-cased", 7},
    {"ProsusAI/finbert", 10},
    {"Vamsi/T5_Paraphrase_Paws", 12},
    {"ramsrigouthamg/t5_paraphraser", 11},
    {"microsoft/deberta-v2-xlarge", 10},
    {"microsoft/deberta-v2-xlarge-mnli", 17},
    {"microsoft/deberta-v2-xxlarge", 21},
    {"microsoft/deberta-v2-xxlarge-mnli", 22},
    {"allenai/longformer-base-4096", 7},
    {"allenai/longformer-large-4096", 14},
    {"allenai/longformer-large-4096-finetuned-triviaqa", 14},
    {"zhiheng-huang/bert-base-uncased-embedding-relative-key", 4},
    {"zhiheng-huang/bert-base-uncased-embedding-relative-key-query", 7},
    {"zhiheng-huang/bert-large-uncased-whole-word-masking-embedding-relative-key-query", 19},
    {"google/mt5-small", 8},
    {"google/mt5-base", 11},
    {"google/mt5-large", 19},
    {"google/mt5-xl", 24},
    {"google/bigbird-roberta-base", 10},
    {"google/bigbird-roberta-large", 14},
    {"google/bigbird-base-trivia-itc", 8},
    {"princeton-nlp/unsup-simcse-bert-base-uncased", 10},
    {"princeton-nlp/unsup-simcse-bert-large-uncased", 18},
    {"princeton-nlp/unsup-simcse-roberta-base", 8},
    {"princeton-nlp/unsup-simcse-roberta-large", 13},
    {"princeton-nlp/sup-simcse-bert-base-uncased", 10},
    {"princeton-nlp/sup-simcse-bert-large-uncased", 18},
    {"princeton-nlp/sup-simcse-roberta-base", 10},
    {"princeton-nlp/sup-simcse-roberta-large", 16},
    {"dbmdz/bert-base-turkish-cased", 10},
    {"dbmdz/distilbert-base-turkish-cased", 4},
    {"google/byt5-small", 1},
    {"google/byt5-base", 17},
    {"google/byt5-large", 30},
    {"microsoft/deberta-v3-xsmall", 10},
    {"microsoft/deberta-v3-small", 4},
    {"microsoft/deberta-v3-base", 9},
    {"microsoft/mdeberta-v3-base", 10},
    {"microsoft/deberta-v3-large", 12},
    {"khalidalt/DeBERTa-v3-large-mnli", 18},
};

struct lang_model {
    const char *lang;
    const char *model;
};

/* bert_score 0.3.13 utils.lang2model; any other language gets the multilingual BERT. */
static const struct lang_model lang2model[] = {
    {"en", "roberta-large"},
    {"zh", "bert-base-chinese"},
    {"tr", "dbmdz/bert-base-turkish-cased"},
    {"en-sci", "allenai/scibert_scivocab_uncased"},
};

const char *vkb_bertscore_default_model(const char *lang)
{
    if (!lang || !*lang)
        lang = "en";
    /* bert_score lowercases lang before the lookup. */
    for (size_t i = 0; i < sizeof lang2model / sizeof lang2model[0]; i++)
        if (!strcasecmp(lang, lang2model[i].lang))
            return lang2model[i].model;
    return "bert-base-multilingual-cased";
}

static int table_layers(const char *model)
{
    for (size_t i = 0; i < sizeof model2layers / sizeof model2layers[0]; i++)
        if (!strcmp(model, model2layers[i].model))
            return model2layers[i].layers;
    return -1;
}

/* Exact name first (bert_score's lookup). Hugging Face has since moved the original models
 * under organisations ("FacebookAI/roberta-large", "google-bert/bert-base-uncased"): such a
 * name falls back to the part after its last '/' when that is an organisation-less table key.
 * Returns -1 when neither is in the table. */
static int lookup_layers(const char *model)
{
    if (!model)
        return -1;
    int n = table_layers(model);
    if (n >= 0)
        return n;
    const char *slash = strrchr(model, '/');
    return slash ? table_layers(slash + 1) : -1;
}

/* 0 also for amazon/bort, whose best layer is the embeddings (0); bertscore_resolve_layers
 * tells the two apart. */
int vkb_bertscore_default_layers(const char *model)
{
    int n = lookup_layers(model);
    return n > 0 ? n : 0;
}

int vkb_bertscore_table_layers(const char *model)
{
    return lookup_layers(model);
}

int bertscore_resolve_layers(const char *model_name, int requested, int model_layers,
                             int *num_layers, char *err, size_t errlen)
{
    int n = requested;
    if (requested < 0) {
        vkb_set_err(err, errlen, "num_layers must be >= 0 (got %d)", requested);
        return VKB_EINVAL;
    }
    if (requested == 0) {
        n = lookup_layers(model_name);
        if (n < 0) {
            vkb_set_err(err, errlen,
                        "model '%s' is not in bert_score's num_layers table; pass num_layers",
                        model_name ? model_name : "(none)");
            return VKB_EINVAL;
        }
    }
    if (model_layers > 0 && n > model_layers) {
        vkb_set_err(err, errlen, "num_layers %d is out of range: model '%s' has %d layers", n,
                    model_name ? model_name : "(none)", model_layers);
        return VKB_EINVAL;
    }
    *num_layers = n;
    return VKB_OK;
}

void bertscore_hash(char *out, size_t outlen, const char *model_name, int num_layers, int idf,
                    int rescale, int fast_tokenizer)
{
    snprintf(out, outlen, "%s_L%d%s_version=%s(hug_trans=%s)%s%s", model_name, num_layers,
             idf ? "_idf" : "_no-idf", VKB_BERTSCORE_VERSION, BERTSCORE_HUG_TRANS,
             rescale ? "-rescaled" : "", fast_tokenizer ? "_fast-tokenizer" : "");
}
