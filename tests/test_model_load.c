/*
 * test_model_load.c — model folders made by `vkbridge gen-model`, then bent: what model_load
 * accepts (facts, sentence-transformers defaults, RoBERTa family, every checkpoint dtype,
 * shards), what it refuses and with which message (the file or tensor at fault), and the
 * token ids model_tokenize_* / model_wrap_ids make (strip, specials, truncation).
 * Self-contained: no shared test data.
 */
#include "model.h"
#include "testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[] = "/tmp/vkb-model-XXXXXX";

/* Runs `vkbridge gen-model` into root/name; returns the folder path (static buffer). */
static const char *gen(const char *name, const char *args)
{
    static char path[512];
    char cmd[1024];
    snprintf(path, sizeof path, "%s/%s", root, name);
    snprintf(cmd, sizeof cmd, "'%s' gen-model --out '%s' %s", tl_binary(), path, args);
    int rc = system(cmd);
    CHECK(rc == 0, "gen-model %s failed (%d)", args, rc);
    return path;
}

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    CHECK(system(cmd) == 0, "%s", cmd);
}

/* A fresh copy of folder src at root/name (for bending). */
static const char *copy_of(const char *src, const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", root, name);
    sh("cp -r '%s' '%s'", src, path);
    return path;
}

/* Sets key in the JSON object file dir/file to v (stolen). */
static void set_json(const char *dir, const char *file, const char *key, json_t *v)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_t *j = json_load_file(path, 0, NULL);
    if (!CHECK(j != NULL, "read %s", path)) {
        json_decref(v);
        return;
    }
    json_object_set_new(j, key, v);
    CHECK(json_dump_file(j, path, JSON_INDENT(2)) == 0, "write %s", path);
    json_decref(j);
}

static void write_file(const char *dir, const char *file, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!CHECK(f != NULL, "write %s", path))
        return;
    fputs(text, f);
    fclose(f);
}

/* model_load must fail with rc_want and a message containing each needle. */
static void expect_fail(const char *dir, int rc_want, const char *needle, const char *needle2)
{
    vkb_model *m = NULL;
    char err[512] = "";
    int rc = model_load(dir, NULL, &m, err, sizeof err);
    CHECK(rc == rc_want && m == NULL, "%s: rc %d, wanted %d (%s)", dir, rc, rc_want, err);
    CHECK(strstr(err, needle) && (!needle2 || strstr(err, needle2)),
          "%s: message '%s' should name '%s'%s%s", dir, err, needle, needle2 ? " and " : "",
          needle2 ? needle2 : "");
    model_free(m);
}

/* Dense modules and prompts that cannot be run as written are refused at load, by file. */
static void check_dense_refusals(const char *tiny)
{
    static const char *const with_dense =
        "[{\"type\":\"sentence_transformers.models.Transformer\",\"path\":\"\"},"
        "{\"type\":\"sentence_transformers.models.Pooling\",\"path\":\"1_Pooling\"},"
        "{\"type\":\"sentence_transformers.models.Dense\",\"path\":\"2_Dense\"},"
        "{\"type\":\"sentence_transformers.models.Normalize\",\"path\":\"3_Normalize\"}]";
    char cfg_path[600], dense_cfg[256];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", tiny);
    json_t *c = json_load_file(cfg_path, 0, NULL);
    int hidden = (int)json_integer_value(json_object_get(c, "hidden_size"));
    json_decref(c);
    const char *d = copy_of(tiny, "dense-no-folder");
    write_file(d, "modules.json", with_dense);
    expect_fail(d, VKB_EINVAL, "2_Dense/config.json", "missing");
    d = copy_of(tiny, "dense-width");
    write_file(d, "modules.json", with_dense);
    sh("mkdir -p '%s/%s'", d, "2_Dense");
    write_file(d, "2_Dense/config.json", "{\"in_features\": 7, \"out_features\": 4, \"bias\": true,"
               " \"activation_function\": \"torch.nn.modules.activation.Tanh\"}");
    expect_fail(d, VKB_EINVAL, "in_features 7", "2_Dense/config.json");
    snprintf(dense_cfg, sizeof dense_cfg, "{\"in_features\": %d, \"out_features\": 4, \"bias\": true,"
             " \"activation_function\": \"torch.nn.modules.activation.Sigmoid\"}", hidden);
    d = copy_of(tiny, "dense-act");
    write_file(d, "modules.json", with_dense);
    sh("mkdir -p '%s/%s'", d, "2_Dense");
    write_file(d, "2_Dense/config.json", dense_cfg);
    expect_fail(d, VKB_EUNSUPPORTED, "activation_function", "Sigmoid");
    snprintf(dense_cfg, sizeof dense_cfg, "{\"in_features\": %d, \"out_features\": 4, \"bias\": true,"
             " \"activation_function\": \"torch.nn.modules.linear.Identity\"}", hidden);
    d = copy_of(tiny, "dense-pickle");
    write_file(d, "modules.json", with_dense);
    sh("mkdir -p '%s/%s'", d, "2_Dense");
    write_file(d, "2_Dense/config.json", dense_cfg);
    write_file(d, "2_Dense/pytorch_model.bin", "PK\x03\x04 not read");
    expect_fail(d, VKB_EUNSUPPORTED, "pytorch_model.bin", "model.safetensors");
    d = copy_of(tiny, "dense-no-weights");
    write_file(d, "modules.json", with_dense);
    sh("mkdir -p '%s/%s'", d, "2_Dense");
    write_file(d, "2_Dense/config.json", dense_cfg);
    expect_fail(d, VKB_EINVAL, "2_Dense/model.safetensors", "missing");
    d = copy_of(tiny, "dense-first");
    write_file(d, "modules.json",
               "[{\"type\":\"sentence_transformers.models.Dense\",\"path\":\"2_Dense\"},"
               "{\"type\":\"sentence_transformers.models.Pooling\",\"path\":\"1_Pooling\"}]");
    expect_fail(d, VKB_EUNSUPPORTED, "before Pooling", "modules.json");
    d = copy_of(tiny, "no-include-prompt");
    set_json(d, "1_Pooling/config.json", "include_prompt", json_false());
    expect_fail(d, VKB_EUNSUPPORTED, "include_prompt", "1_Pooling/config.json");
    d = copy_of(tiny, "bad-default-prompt");
    write_file(d, "config_sentence_transformers.json",
               "{\"prompts\": {\"query\": \"q: \"}, \"default_prompt_name\": \"passage\"}");
    expect_fail(d, VKB_EINVAL, "default_prompt_name", "config_sentence_transformers.json");
    d = copy_of(tiny, "bad-prompt");
    write_file(d, "config_sentence_transformers.json", "{\"prompts\": {\"query\": 3}}");
    expect_fail(d, VKB_EINVAL, "prompt \"query\" must be a string", NULL);
}

static vkb_model *load_ok(const char *dir)
{
    vkb_model *m = NULL;
    char err[512] = "";
    int rc = model_load(dir, NULL, &m, err, sizeof err);
    CHECK(rc == 0, "model_load %s: %s", dir, err);
    return m;
}

static int32_t tok_id(const vkb_model *m, const char *tok)
{
    return vkb_tokenizer_token_to_id(model_tokenizer(m), tok);
}

static void test_tokenize(const vkb_model *m)
{
    int32_t cls = model_cls_id(m), sep = model_sep_id(m), *ids = NULL;
    int n = 0;
    CHECK(cls == 2 && sep == 3 && model_pad_id(m) == 0, "special ids %d %d %d", cls, sep,
          model_pad_id(m));
    int32_t hello = tok_id(m, "hello"), world = tok_id(m, "world");
    /* Python's str.strip() set at both ends: U+3000, U+00A0, U+2029, U+001C, tabs. */
    const char *texts[] = {"hello world", "  Hello World\n", "\xe3\x80\x80\xc2\xa0hello world"
                           "\xe2\x80\xa9\x1c\t"};
    for (int i = 0; i < 3; i++) {
        int rc = model_tokenize_embed(m, texts[i], strlen(texts[i]), &ids, &n);
        CHECK(rc == 0 && n == 4 && ids[0] == cls && ids[1] == hello && ids[2] == world &&
                  ids[3] == sep, "text %d: [CLS] hello world [SEP] (n %d)", i, n);
        free(ids);
    }
    const char *empties[] = {"", "   ", "\t\n\xe3\x80\x80"};
    for (int i = 0; i < 3; i++) {
        int rc = model_tokenize_embed(m, empties[i], strlen(empties[i]), &ids, &n);
        CHECK(rc == 0 && n == 2 && ids[0] == cls && ids[1] == sep, "empty %d -> [CLS] [SEP]", i);
        free(ids);
        rc = model_tokenize_bertscore(m, empties[i], strlen(empties[i]), &ids, &n);
        CHECK(rc == 0 && n == 2 && ids[0] == cls && ids[1] == sep, "bertscore empty %d", i);
        free(ids);
    }
    /* 300 words: truncated to max_seq_length (128) for embeddings, 512 for BERTScore. */
    char *long_text = malloc(300 * 6 + 1);
    long_text[0] = 0;
    for (int i = 0; i < 300; i++)
        strcat(long_text, "hello ");
    int rc = model_tokenize_embed(m, long_text, strlen(long_text), &ids, &n);
    CHECK(rc == 0 && n == 128 && ids[0] == cls && ids[126] == hello && ids[127] == sep,
          "embed truncation keeps the closing [SEP]: n %d", n);
    free(ids);
    rc = model_tokenize_bertscore(m, long_text, strlen(long_text), &ids, &n);
    CHECK(rc == 0 && n == 302 && ids[301] == sep, "bertscore: 302 ids, got %d", n);
    free(ids);
    free(long_text);
    /* Raw ids (OpenAI token arrays). */
    int32_t raw[200];
    for (int i = 0; i < 200; i++)
        raw[i] = 10 + i;
    rc = model_wrap_ids(m, raw, 3, &ids, &n);
    CHECK(rc == 0 && n == 5 && ids[0] == cls && ids[1] == 10 && ids[3] == 12 && ids[4] == sep,
          "wrap 3 ids");
    free(ids);
    rc = model_wrap_ids(m, raw, 200, &ids, &n);
    CHECK(rc == 0 && n == 128 && ids[126] == 10 + 125 && ids[127] == sep, "wrap truncates");
    free(ids);
    rc = model_wrap_ids(m, raw, 0, &ids, &n);
    CHECK(rc == 0 && n == 2, "wrap nothing -> specials");
    free(ids);
    raw[1] = 1024; /* vocab is 1024: out of range */
    CHECK(model_wrap_ids(m, raw, 3, &ids, &n) == VKB_EINVAL && !ids, "id 1024 refused");
    raw[1] = -1;
    CHECK(model_wrap_ids(m, raw, 3, &ids, &n) == VKB_EINVAL && !ids, "id -1 refused");
    CHECK(model_wrap_ids(m, raw, -1, &ids, &n) == VKB_EINVAL, "negative count refused");
}

static void test_tiny(const char *tiny)
{
    vkb_model *m = load_ok(tiny);
    if (!m)
        return;
    const vkb_model_facts *f = model_facts(m);
    CHECK(f->dim == 32 && f->hidden == 32 && f->num_layers == 2 && f->max_seq_length == 128 &&
              f->max_positions == 512 && !strcmp(f->model_type, "bert"),
          "tiny facts: dim %d hidden %d layers %d max_seq %d max_pos %d type %s", f->dim,
          f->hidden, f->num_layers, f->max_seq_length, f->max_positions, f->model_type);
    CHECK(!strcmp(model_dir(m), tiny), "model_dir");
    test_tokenize(m);
    model_free(m);
}

static void test_refusals(const char *tiny)
{
    const char *d = copy_of(tiny, "bad-type");
    /* (distilbert was the example until it became a family; t5 is not an encoder here) */
    set_json(d, "config.json", "model_type", json_string("t5"));
    expect_fail(d, VKB_EUNSUPPORTED, "t5", "config.json");
    /* A BERT folder relabelled distilbert is read with DistilBERT's keys: refused by name. */
    d = copy_of(tiny, "bert-as-distilbert");
    set_json(d, "config.json", "model_type", json_string("distilbert"));
    expect_fail(d, VKB_EINVAL, "\"dim\"", "config.json");
    d = copy_of(tiny, "bad-act");
    set_json(d, "config.json", "hidden_act", json_string("swish"));
    expect_fail(d, VKB_EUNSUPPORTED, "swish", "hidden_act");
    d = copy_of(tiny, "bad-inter");
    set_json(d, "config.json", "intermediate_size", json_integer(80));
    expect_fail(d, VKB_EINVAL, "encoder.layer.0.intermediate.dense.weight", "[80, 32]");
    d = copy_of(tiny, "bad-layers");
    set_json(d, "config.json", "num_hidden_layers", json_integer(3));
    expect_fail(d, VKB_EINVAL, "encoder.layer.2.attention.self.query.weight", "missing");
    d = copy_of(tiny, "bad-vocab");
    set_json(d, "config.json", "vocab_size", json_integer(2000));
    expect_fail(d, VKB_EINVAL, "embeddings.word_embeddings.weight", "[1024, 32]");
    d = copy_of(tiny, "bad-heads");
    set_json(d, "config.json", "num_attention_heads", json_integer(5));
    expect_fail(d, VKB_EINVAL, "multiple", NULL);
    d = copy_of(tiny, "no-hidden");
    set_json(d, "config.json", "hidden_size", json_null());
    expect_fail(d, VKB_EINVAL, "hidden_size", NULL);
    d = copy_of(tiny, "rel-pos");
    set_json(d, "config.json", "position_embedding_type", json_string("relative_key"));
    expect_fail(d, VKB_EUNSUPPORTED, "relative_key", NULL);
    check_dense_refusals(tiny);
    d = copy_of(tiny, "escape");
    write_file(d, "modules.json",
               "[{\"type\":\"sentence_transformers.models.Pooling\",\"path\":\"../../etc\"}]");
    expect_fail(d, VKB_EINVAL, "leaves the folder", NULL);
    d = copy_of(tiny, "no-pool-mode");
    set_json(d, "1_Pooling/config.json", "pooling_mode_mean_tokens", json_false());
    expect_fail(d, VKB_EINVAL, "no pooling mode", NULL);
    d = copy_of(tiny, "pool-dim");
    set_json(d, "1_Pooling/config.json", "word_embedding_dimension", json_integer(64));
    expect_fail(d, VKB_EINVAL, "word_embedding_dimension", NULL);
    d = copy_of(tiny, "bad-json");
    write_file(d, "config.json", "{\"model_type\": \"bert\", ");
    expect_fail(d, VKB_EINVAL, "config.json", "bad JSON");
    d = copy_of(tiny, "no-config");
    sh("rm '%s/config.json'%s", d, "");
    expect_fail(d, VKB_ENOTFOUND, "config.json", NULL);
    d = copy_of(tiny, "no-weights");
    sh("rm '%s/model.safetensors'%s", d, "");
    expect_fail(d, VKB_ENOTFOUND, "model.safetensors", NULL);
    d = copy_of(tiny, "truncated");
    sh("truncate -s 5000 '%s/model.safetensors'%s", d, "");
    expect_fail(d, VKB_EINVAL, "model.safetensors", "outside");
    d = copy_of(tiny, "no-tokenizer");
    sh("rm '%s/tokenizer.json' '%s/vocab.txt'", d, d);
    expect_fail(d, VKB_ENOTFOUND, "tokenizer", NULL);
    expect_fail("/nonexistent/model", VKB_ENOTFOUND, "config.json", NULL);
}

static void test_sentence_transformers(const char *tiny)
{
    /* Without the sentence-transformers files: mean pooling, no Normalize, max length from
     * tokenizer_config.json's model_max_length (512 here). */
    const char *d = copy_of(tiny, "bare");
    sh("rm -r '%s/modules.json' '%s/1_Pooling'", d, d);
    sh("rm '%s/sentence_bert_config.json'%s", d, "");
    vkb_model *m = load_ok(d);
    if (m)
        CHECK(model_facts(m)->dim == 32 && model_facts(m)->max_seq_length == 512,
              "defaults: dim %d max_seq %d", model_facts(m)->dim, model_facts(m)->max_seq_length);
    model_free(m);
    /* HF's "no limit" (1e30) in tokenizer_config.json: 512. */
    write_file(d, "tokenizer_config.json",
               "{\"do_lower_case\": true, \"model_max_length\": 1000000000000000019884624838656}");
    m = load_ok(d);
    if (m)
        CHECK(model_facts(m)->max_seq_length == 512, "huge model_max_length -> 512, got %d",
              model_facts(m)->max_seq_length);
    model_free(m);
    /* Two pooling modes concatenate. */
    d = copy_of(tiny, "two-modes");
    set_json(d, "1_Pooling/config.json", "pooling_mode_cls_token", json_true());
    m = load_ok(d);
    if (m)
        CHECK(model_facts(m)->dim == 64, "cls + mean: dim 64, got %d", model_facts(m)->dim);
    model_free(m);
    /* max_seq_length beyond the position table is capped. */
    d = copy_of(tiny, "long-msl");
    set_json(d, "sentence_bert_config.json", "max_seq_length", json_integer(4096));
    m = load_ok(d);
    if (m)
        CHECK(model_facts(m)->max_seq_length == 512, "capped at 512, got %d",
              model_facts(m)->max_seq_length);
    model_free(m);
}

static void test_roberta(void)
{
    const char *d = gen("rob", "--shape roberta-large --layers 1 --hidden 32 --heads 2 "
                               "--intermediate 64");
    vkb_model *m = load_ok(d);
    if (m) {
        const vkb_model_facts *f = model_facts(m);
        CHECK(!strcmp(f->model_type, "roberta") && f->max_positions == 512 &&
                  f->max_seq_length == 512 && model_pad_id(m) == 1 && f->num_layers == 1,
              "roberta facts: type %s max_pos %d max_seq %d pad %d", f->model_type,
              f->max_positions, f->max_seq_length, model_pad_id(m));
    }
    model_free(m);
    const char *family[] = {"xlm-roberta", "camembert"};
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "rob-%s", family[i]);
        const char *c = copy_of(d, name);
        set_json(c, "config.json", "model_type", json_string(family[i]));
        m = load_ok(c);
        if (m)
            CHECK(model_facts(m)->max_positions == 512, "%s: RoBERTa positions", family[i]);
        model_free(m);
    }
    /* No prefix at all, and a checkpoint missing the prefix's tensors. */
    d = gen("rob-noprefix", "--shape roberta-large --layers 1 --hidden 32 --heads 2 "
                            "--intermediate 64 --prefix ''");
    m = load_ok(d);
    model_free(m);
}

static void test_dtypes(void)
{
    const char *variants[] = {"--dtype f16", "--dtype bf16", "--shards 3", "--prefix bert."};
    for (int i = 0; i < 4; i++) {
        char name[32], args[128];
        snprintf(name, sizeof name, "variant%d", i);
        snprintf(args, sizeof args, "--shape tiny %s", variants[i]);
        vkb_model *m = load_ok(gen(name, args));
        if (m)
            CHECK(model_facts(m)->dim == 32, "%s loads", variants[i]);
        model_free(m);
    }
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    const char *tiny = gen("tiny", "--shape tiny --seed 7");
    char tiny_path[512];
    snprintf(tiny_path, sizeof tiny_path, "%s", tiny);
    test_tiny(tiny_path);
    test_refusals(tiny_path);
    test_sentence_transformers(tiny_path);
    test_roberta();
    test_dtypes();
    sh("rm -rf '%s'%s", root, "");
    return tl_finish();
}
